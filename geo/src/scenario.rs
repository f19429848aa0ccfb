//! The JSON scenario of `lightcone verdict`: landmarks and round-trip measurements, turned into
//! distance bounds by the core crate's conservative arithmetic.
//!
//! ```json
//! {"landmarks": [{"id": "fra", "lat": 50.1109, "lon": 8.6821, "uncertainty_m": 100,
//!                 "operator": "example-dc"}],
//!  "measurements": [{"landmark": "fra", "rtt_ns": 3000000, "min_response_ns": 20000}],
//!  "speed": "c"}
//! ```

use super::error::{check_lat_lon, GeoError};
use super::policy::SpeedSpec;
use super::region::Cap;
use lightcone::{DistanceBound, Speed};
use serde::Deserialize;
use std::collections::BTreeMap;

/// A landmark at a surveyed position.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Landmark {
    /// Name used by measurements.
    pub id: String,
    /// Latitude, decimal degrees.
    pub lat: f64,
    /// Longitude, decimal degrees.
    pub lon: f64,
    /// Position uncertainty, metres (added to every bound from this landmark).
    #[serde(default)]
    pub uncertainty_m: u64,
    /// Who runs the landmark; landmarks of one operator count as one party when up to `f`
    /// operators may be faulty. Default: the landmark's own id (every landmark its own
    /// operator).
    #[serde(default)]
    pub operator: Option<String>,
}

impl Landmark {
    /// The landmark's operator: as given, else its id.
    pub fn operator(&self) -> &str {
        self.operator.as_deref().unwrap_or(&self.id)
    }
}

/// One timed challenge-response round.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Measurement {
    /// The landmark's id.
    pub landmark: String,
    /// Round-trip time, nanoseconds.
    pub rtt_ns: u64,
    /// Vendor-endorsed minimum response time of the chip, nanoseconds (0 if absent: crediting
    /// less processing is the safe side).
    #[serde(default)]
    pub min_response_ns: u64,
}

/// Landmarks and measurements for one chip and epoch.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The landmarks.
    pub landmarks: Vec<Landmark>,
    /// The measurements.
    pub measurements: Vec<Measurement>,
    /// Optional speed overriding the policy's.
    #[serde(default)]
    pub speed: Option<SpeedSpec>,
}

/// Most landmarks or measurements accepted in one scenario.
pub const MAX_ENTRIES: usize = 100_000;

impl Scenario {
    /// Parses and validates a scenario (coordinates in range, ids unique, every measurement's
    /// landmark known).
    pub fn from_json_str(text: &str) -> Result<Scenario, GeoError> {
        let s: Scenario =
            serde_json::from_str(text).map_err(|e| GeoError::Scenario(e.to_string()))?;
        s.validate()?;
        Ok(s)
    }

    /// Checks coordinates, uniqueness of landmark ids and references.
    pub fn validate(&self) -> Result<(), GeoError> {
        if self.landmarks.len() > MAX_ENTRIES || self.measurements.len() > MAX_ENTRIES {
            return Err(GeoError::Scenario(format!(
                "more than {MAX_ENTRIES} landmarks or measurements"
            )));
        }
        let mut seen = BTreeMap::new();
        for l in &self.landmarks {
            check_lat_lon(l.lat, l.lon)
                .map_err(|e| GeoError::Scenario(format!("landmark {:?}: {e}", l.id)))?;
            if seen.insert(l.id.as_str(), ()).is_some() {
                return Err(GeoError::Scenario(format!(
                    "landmark id {:?} appears twice",
                    l.id
                )));
            }
        }
        for m in &self.measurements {
            if !seen.contains_key(m.landmark.as_str()) {
                return Err(GeoError::Scenario(format!(
                    "measurement refers to unknown landmark {:?}",
                    m.landmark
                )));
            }
        }
        if self.measurements.is_empty() {
            return Err(GeoError::Scenario("no measurements".into()));
        }
        Ok(())
    }

    /// The speed to use: the scenario's if given, else `policy_speed`.
    pub fn speed_or(&self, policy_speed: Speed) -> Result<Speed, GeoError> {
        match &self.speed {
            Some(s) => s.resolve().map_err(|e| GeoError::Scenario(e.to_string())),
            None => Ok(policy_speed),
        }
    }

    /// The caps grouped by operator (in order of first appearance), for
    /// [`evaluate_tolerant`](super::evaluate_tolerant).
    pub fn operator_groups(&self, speed: Speed) -> Result<Vec<Vec<Cap>>, GeoError> {
        let caps = self.caps(speed)?;
        let measured: Vec<&Landmark> = self
            .landmarks
            .iter()
            .filter(|l| self.measurements.iter().any(|m| m.landmark == l.id))
            .collect();
        let mut groups: Vec<(&str, Vec<Cap>)> = Vec::new();
        for (l, cap) in measured.into_iter().zip(caps) {
            match groups.iter_mut().find(|(op, _)| *op == l.operator()) {
                Some((_, g)) => g.push(cap),
                None => groups.push((l.operator(), vec![cap])),
            }
        }
        Ok(groups.into_iter().map(|(_, g)| g).collect())
    }

    /// One cap per measured landmark: `r = v·max(0, rtt − min_response)/2 + uncertainty`,
    /// rounded up ([`DistanceBound::from_rtt`]); of several measurements from one landmark the
    /// smallest bound wins.
    pub fn caps(&self, speed: Speed) -> Result<Vec<Cap>, GeoError> {
        self.validate()?;
        let index: BTreeMap<&str, &Landmark> =
            self.landmarks.iter().map(|l| (l.id.as_str(), l)).collect();
        let mut best: BTreeMap<&str, u64> = BTreeMap::new();
        for m in &self.measurements {
            let Some(l) = index.get(m.landmark.as_str()).copied() else {
                continue;
            };
            let r = DistanceBound::from_rtt(m.rtt_ns, m.min_response_ns, l.uncertainty_m, speed)
                .metres();
            best.entry(l.id.as_str())
                .and_modify(|b| *b = (*b).min(r))
                .or_insert(r);
        }
        let mut caps = Vec::new();
        for l in &self.landmarks {
            if let Some(&r) = best.get(l.id.as_str()) {
                caps.push(Cap::new(l.lat, l.lon, r as f64)?);
            }
        }
        Ok(caps)
    }
}
