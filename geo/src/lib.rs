//! Regions and verdicts on real country borders (DESIGN §4): where can a chip be, given signed
//! distance bounds, and is every such place allowed by the policy?
//!
//! - [`World`]: regions as great-circle rings; [`World::embedded`] is Natural Earth 1:10m
//!   admin-0 (world-atlas 2.0.2) compiled into the binary.
//! - [`Policy`]: permitted/forbidden countries, sea, speed, border margin (TOML).
//! - [`Cap`], [`evaluate`] → [`Verdict`]: `compliant`, `violation`, `inconclusive` (with a
//!   [`Witness`]) or `inconsistent`; sound on the WGS84 ellipsoid (proof in [`region`]).
//! - [`evaluate_tolerant`]: the verdict on `F_f`, the places a chip may be when up to `f`
//!   landmark operators are faulty, and [`robustness`], the largest f that stays compliant.
//! - [`Scenario`]: the JSON input of `lightcone verdict`.

pub mod answer;
pub mod borders;
pub mod codes;
pub mod error;
pub mod jurisdiction;
pub mod names;
pub mod policy;
pub mod region;
pub mod scenario;
pub mod sphere;
pub mod tolerant;
pub mod validate;
pub mod verdict;
pub mod world;

pub use error::GeoError;
pub use jurisdiction::Names;
pub use policy::{Policy, SpeedSpec};
pub use region::{feasible_region_summary, Cap, RegionSummary};
pub use scenario::Scenario;
pub use tolerant::{evaluate_tolerant, robustness, TolerantVerdict, MAX_FAULTY_OPERATORS};
pub use verdict::{evaluate, Verdict, VerdictKind, Witness};
pub use world::{Feature, Territory, World};
