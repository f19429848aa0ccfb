//! Surveyed positions as validated fixed-point integers (no floats on the wire, DESIGN §3).

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Fixed-point units per degree: coordinates are stored in microdegrees (≈ 0.11 m of latitude).
pub const MICRODEGREES_PER_DEGREE: i32 = 1_000_000;

/// A latitude in microdegrees, within ±90°. Construction and decoding reject anything else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i32", into = "i32")]
pub struct Latitude(i32);

/// A longitude in microdegrees, within [−180°, 180°]. Construction and decoding reject anything
/// else. (−180° and 180° name the same meridian; both are accepted.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i32", into = "i32")]
pub struct Longitude(i32);

macro_rules! bounded_angle {
    ($name:ident, $limit_deg:expr) => {
        impl $name {
            /// The largest magnitude allowed, in microdegrees.
            pub const LIMIT: i32 = $limit_deg * MICRODEGREES_PER_DEGREE;

            /// From microdegrees; `InvalidCoordinate` when out of range.
            pub const fn from_microdegrees(value: i32) -> Result<Self, Error> {
                if value < -Self::LIMIT || value > Self::LIMIT {
                    Err(Error::InvalidCoordinate)
                } else {
                    Ok($name(value))
                }
            }

            /// From decimal degrees, rounded to the nearest microdegree; rejects NaN and
            /// out-of-range values.
            pub fn from_degrees(degrees: f64) -> Result<Self, Error> {
                let micro = degrees * f64::from(MICRODEGREES_PER_DEGREE);
                // The range check also rejects NaN (every comparison with NaN is false).
                if !(micro >= -f64::from(Self::LIMIT) - 0.5
                    && micro <= f64::from(Self::LIMIT) + 0.5)
                {
                    return Err(Error::InvalidCoordinate);
                }
                #[allow(clippy::cast_possible_truncation)] // in range, checked above
                let rounded = libm_round(micro) as i32;
                Self::from_microdegrees(rounded)
            }

            /// The value in microdegrees.
            pub const fn microdegrees(self) -> i32 {
                self.0
            }

            /// The value in decimal degrees.
            pub fn degrees(self) -> f64 {
                f64::from(self.0) / f64::from(MICRODEGREES_PER_DEGREE)
            }
        }

        impl TryFrom<i32> for $name {
            type Error = Error;
            fn try_from(value: i32) -> Result<Self, Error> {
                Self::from_microdegrees(value)
            }
        }

        impl From<$name> for i32 {
            fn from(value: $name) -> i32 {
                value.0
            }
        }
    };
}

bounded_angle!(Latitude, 90);
bounded_angle!(Longitude, 180);

/// Round half away from zero without `std` (core has no `f64::round`).
fn libm_round(x: f64) -> f64 {
    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
    let truncated = x as i64 as f64;
    let frac = x - truncated;
    if frac >= 0.5 {
        truncated + 1.0
    } else if frac <= -0.5 {
        truncated - 1.0
    } else {
        truncated
    }
}

/// A point on the Earth's surface (WGS84 latitude and longitude).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Position {
    /// Latitude.
    pub lat: Latitude,
    /// Longitude.
    pub lon: Longitude,
}

impl Position {
    /// From decimal degrees; rejects NaN and out-of-range values.
    pub fn from_degrees(lat: f64, lon: f64) -> Result<Self, Error> {
        Ok(Position {
            lat: Latitude::from_degrees(lat)?,
            lon: Longitude::from_degrees(lon)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert!(Latitude::from_microdegrees(90_000_000).is_ok());
        assert_eq!(
            Latitude::from_microdegrees(90_000_001),
            Err(Error::InvalidCoordinate)
        );
        assert_eq!(
            Longitude::from_microdegrees(-180_000_001),
            Err(Error::InvalidCoordinate)
        );
        assert_eq!(
            Latitude::from_degrees(f64::NAN),
            Err(Error::InvalidCoordinate)
        );
        assert_eq!(
            Longitude::from_degrees(f64::INFINITY),
            Err(Error::InvalidCoordinate)
        );
        assert_eq!(
            Latitude::from_degrees(50.1109).unwrap().microdegrees(),
            50_110_900
        );
        assert_eq!(
            Longitude::from_degrees(-0.0000015).unwrap().microdegrees(),
            -2
        );
    }

    #[test]
    fn decoding_rejects_out_of_range() {
        let bytes = postcard::to_slice(&91_000_000i32, &mut [0u8; 8])
            .unwrap()
            .to_vec();
        assert!(postcard::from_bytes::<Latitude>(&bytes).is_err());
        assert!(postcard::from_bytes::<Longitude>(&bytes).is_ok());
    }
}
