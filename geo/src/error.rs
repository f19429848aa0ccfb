//! The one error type of the geo module: every hostile input (policy, scenario, GeoJSON) maps to
//! a variant with a message a user can act on.

use std::path::PathBuf;

/// Anything that can go wrong reading borders, policies or scenarios.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GeoError {
    /// A coordinate was NaN, infinite, or out of range.
    #[error("invalid coordinate: {0}")]
    BadCoordinate(String),
    /// A radius or distance was negative or not finite.
    #[error("invalid radius: {0}")]
    BadRadius(String),
    /// Border data (TopoJSON or GeoJSON) could not be decoded.
    #[error("border data: {0}")]
    Borders(String),
    /// A policy named a country or region that the border data does not have.
    #[error("unknown country or region {name:?}{}", suggestions_text(.suggestions))]
    UnknownRegion {
        /// The name as written.
        name: String,
        /// Close matches, best first.
        suggestions: Vec<String>,
    },
    /// The policy file is malformed.
    #[error("policy: {0}")]
    Policy(String),
    /// The scenario file is malformed.
    #[error("scenario: {0}")]
    Scenario(String),
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

fn suggestions_text(s: &[String]) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!(
            "; did you mean {}?",
            s.iter()
                .map(|x| format!("{x:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// Checks a latitude/longitude pair in degrees: finite, |lat| ≤ 90, |lon| ≤ 180.
pub fn check_lat_lon(lat: f64, lon: f64) -> Result<(), GeoError> {
    if !lat.is_finite() || !lon.is_finite() || lat.abs() > 90.0 || lon.abs() > 180.0 {
        return Err(GeoError::BadCoordinate(format!(
            "lat {lat}, lon {lon} (need finite degrees, |lat| ≤ 90, |lon| ≤ 180)"
        )));
    }
    Ok(())
}
