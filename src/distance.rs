//! From a measured round-trip time to an upper bound on distance (DESIGN §3).
//!
//! Every step rounds toward a *larger* radius: the verifier may only ever over-estimate how far
//! a chip can be, never under-estimate it, or a chip far away could pass as near.

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Speed of light in vacuum, metres per second (exact by SI definition).
pub const SPEED_OF_LIGHT_M_PER_S: u64 = 299_792_458;

/// A signal propagation speed in metres per second, at most the speed of light.
///
/// The default, [`Speed::LIGHT`], is sound against every medium (fibre, microwave, free space).
/// [`Speed::FIBRE`] (2c/3) is tighter but unsound against microwave or laser links; reports label
/// it as such.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Speed(u64);

impl Speed {
    /// c, the speed of light in vacuum: sound against any medium.
    pub const LIGHT: Speed = Speed(SPEED_OF_LIGHT_M_PER_S);
    /// 2c/3, light in glass fibre, rounded up so the bound stays conservative for fibre.
    pub const FIBRE: Speed = Speed(SPEED_OF_LIGHT_M_PER_S.div_ceil(3) * 2);

    /// A custom speed in m/s; rejects zero and anything faster than light.
    pub const fn from_m_per_s(m_per_s: u64) -> Result<Self, Error> {
        if m_per_s == 0 || m_per_s > SPEED_OF_LIGHT_M_PER_S {
            Err(Error::InvalidSpeed)
        } else {
            Ok(Speed(m_per_s))
        }
    }

    /// The speed in metres per second.
    pub const fn m_per_s(self) -> u64 {
        self.0
    }

    /// Whether this speed is sound against every medium (i.e. it is c).
    pub const fn is_light(self) -> bool {
        self.0 == SPEED_OF_LIGHT_M_PER_S
    }

    /// Metres a signal covers in `ns` nanoseconds one way, rounded up.
    pub const fn metres_in(self, ns: u64) -> u64 {
        let m = (self.0 as u128 * ns as u128).div_ceil(1_000_000_000);
        if m > u64::MAX as u128 {
            u64::MAX
        } else {
            m as u64
        }
    }
}

impl Default for Speed {
    fn default() -> Self {
        Speed::LIGHT
    }
}

/// How much of the round trip the verifier credits to the chip's own processing.
///
/// Crediting more processing time shrinks the bound, so the safe default credits only the
/// vendor-endorsed minimum of the chip model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ProcessingCredit {
    /// Subtract only the vendor-endorsed minimum response time (sound; the default).
    #[default]
    EndorsedMinimum,
    /// Opt-in: also trust the chip's self-reported processing time, capped at the endorsed
    /// maximum and derated by the endorsed clock tolerance. A glitched or sped-up timer could
    /// inflate the report, so policies must choose this explicitly.
    TrustSelfReported,
}

/// What the chip model's vendor endorses about its response time (from the device certificate).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ResponseTiming {
    /// The fastest the model can possibly answer, in ns.
    pub min_response_ns: u64,
    /// The most self-reported processing time the verifier will ever credit, in ns.
    pub max_processing_ns: u64,
    /// The worst-case error of the chip's timer, in parts per million.
    pub clock_tolerance_ppm: u32,
}

impl ResponseTiming {
    /// Timing that credits exactly `min_response_ns` and nothing self-reported.
    pub const fn minimum_only(min_response_ns: u64) -> Self {
        ResponseTiming {
            min_response_ns,
            max_processing_ns: min_response_ns,
            clock_tolerance_ppm: 0,
        }
    }

    /// Nanoseconds of the round trip the verifier attributes to processing, not travel.
    ///
    /// With [`ProcessingCredit::TrustSelfReported`], the report is capped at the endorsed
    /// maximum, then derated by the clock tolerance (rounded down), and never credited below
    /// the endorsed minimum.
    pub const fn credited_ns(self, self_reported_ns: u64, credit: ProcessingCredit) -> u64 {
        match credit {
            ProcessingCredit::EndorsedMinimum => self.min_response_ns,
            ProcessingCredit::TrustSelfReported => {
                let capped = if self_reported_ns < self.max_processing_ns {
                    self_reported_ns
                } else {
                    self.max_processing_ns
                };
                let ppm = if self.clock_tolerance_ppm > 1_000_000 {
                    1_000_000
                } else {
                    self.clock_tolerance_ppm
                };
                let derated = (capped as u128 * (1_000_000 - ppm) as u128) / 1_000_000;
                let derated = derated as u64; // derated <= capped, fits
                if derated > self.min_response_ns {
                    derated
                } else {
                    self.min_response_ns
                }
            }
        }
    }
}

/// An upper bound, in whole metres, on the distance between a landmark's surveyed position and
/// the chip that answered it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DistanceBound(u64);

impl DistanceBound {
    /// `r = v · max(0, rtt − processing) / 2 + uncertainty`, rounded up, saturating.
    ///
    /// `processing_ns` is what the verifier credits to the chip (see
    /// [`ResponseTiming::credited_ns`]); `uncertainty_m` is the landmark's position uncertainty.
    pub const fn from_rtt(
        rtt_ns: u64,
        processing_ns: u64,
        uncertainty_m: u64,
        speed: Speed,
    ) -> Self {
        let travel_ns = rtt_ns.saturating_sub(processing_ns);
        let round_trip_m = (speed.0 as u128 * travel_ns as u128).div_ceil(2_000_000_000);
        let one_way_m = if round_trip_m > u64::MAX as u128 {
            u64::MAX
        } else {
            round_trip_m as u64
        };
        DistanceBound(one_way_m.saturating_add(uncertainty_m))
    }

    /// A bound of exactly `metres` (for tests and for bounds read back from storage).
    pub const fn from_metres(metres: u64) -> Self {
        DistanceBound(metres)
    }

    /// The bound in metres.
    pub const fn metres(self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_millisecond_at_c_is_149_897_m() {
        // 299 792 458 m/s × 0.5 ms = 149 896.229 m, rounded up.
        assert_eq!(
            DistanceBound::from_rtt(1_000_000, 0, 0, Speed::LIGHT).metres(),
            149_897
        );
    }

    #[test]
    fn processing_and_uncertainty() {
        // 1 ms RTT, 200 µs endorsed processing: 0.8 ms travel → 119 916.9832 m → 119 917, +50 m.
        assert_eq!(
            DistanceBound::from_rtt(1_000_000, 200_000, 50, Speed::LIGHT).metres(),
            119_967
        );
        // Processing longer than the RTT clamps at zero travel, never negative.
        assert_eq!(
            DistanceBound::from_rtt(10, 1_000, 7, Speed::LIGHT).metres(),
            7
        );
    }

    #[test]
    fn fibre_is_two_thirds_rounded_up() {
        assert_eq!(Speed::FIBRE.m_per_s(), 199_861_640);
        assert!(Speed::FIBRE.m_per_s() * 3 >= SPEED_OF_LIGHT_M_PER_S * 2);
    }

    #[test]
    fn saturates() {
        let b = DistanceBound::from_rtt(u64::MAX, 0, u64::MAX, Speed::LIGHT);
        assert_eq!(b.metres(), u64::MAX);
    }

    #[test]
    fn self_reported_credit_is_capped_and_derated() {
        let t = ResponseTiming {
            min_response_ns: 1_000,
            max_processing_ns: 50_000,
            clock_tolerance_ppm: 100_000, // 10 %
        };
        assert_eq!(
            t.credited_ns(999_999, ProcessingCredit::EndorsedMinimum),
            1_000
        );
        assert_eq!(
            t.credited_ns(999_999, ProcessingCredit::TrustSelfReported),
            45_000
        );
        assert_eq!(
            t.credited_ns(20_000, ProcessingCredit::TrustSelfReported),
            18_000
        );
        assert_eq!(t.credited_ns(0, ProcessingCredit::TrustSelfReported), 1_000);
    }

    #[test]
    fn speed_validation() {
        assert!(Speed::from_m_per_s(0).is_err());
        assert!(Speed::from_m_per_s(SPEED_OF_LIGHT_M_PER_S + 1).is_err());
        assert_eq!(
            Speed::from_m_per_s(SPEED_OF_LIGHT_M_PER_S).ok(),
            Some(Speed::LIGHT)
        );
    }
}
