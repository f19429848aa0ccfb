//! `lightcone demo`: the whole system for real on one machine, on an embedded default fleet.
//!
//! A vendor, a registry and a log are provisioned; 18 landmarks of four operators in real
//! cities (one registered in Cairo while it really sits in Frankfurt, one in Seoul whose
//! operator signs short RTTs for a smuggled chip), 39 chips at real datacenter sites and two
//! simulated NVIDIA-style GPUs answering with SPDM evidence (one honest in Ashburn, one smuggled
//! to Hong Kong) each get their own UDP endpoint on loopback. Every chip and GPU is reached
//! through the delay relay with a one-way delay derived from its true geodesic distance to that
//! landmark as the internet would show it (fibre at 2c/3, a path-stretch factor, jitter). Landmarks measure
//! each other, then probe every chip concurrently in a few cycles, one per audit epoch; the
//! signed measurements go to the transparency log; the audit runs on the log; the report is
//! written; and the findings are compared with the fleet's ground truth.
//!
//! - [`scenario`]: the fleet (cities, sites, roles), the path model, the demo policy.
//! - [`gpus`]: the simulated GPUs' endorsement, trust entry, agents, routes, chains, submissions.
//! - [`run`]: provisioning, agents, relay, probing, logging, audit, report files.
//! - [`truth`]: what the audit must find, and the comparison.

pub mod gpus;
pub mod run;
pub mod scenario;
pub mod service;
pub mod truth;

use std::path::PathBuf;

pub use run::{run, DemoOptions, DemoOutcome};
pub use truth::Comparison;

/// Why the demo could not run (what it found is in the outcome, not here).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// A file or folder could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The output folder exists and is not empty.
    #[error("{0}: the output folder exists and is not empty; choose another --out")]
    OutputExists(PathBuf),
    /// The options cannot make a meaningful demo.
    #[error("demo options: {0}")]
    Options(String),
    /// A worker thread panicked or a shared lock was poisoned.
    #[error("demo worker: {0}")]
    Worker(String),
    /// A core protocol step failed (key, certificate, challenge, measurement).
    #[error(transparent)]
    Core(#[from] lightcone::Error),
    /// A network component failed locally.
    #[error(transparent)]
    Net(#[from] crate::net::NetError),
    /// The log failed.
    #[error(transparent)]
    Log(#[from] crate::log::LogError),
    /// The trust file could not be written.
    #[error(transparent)]
    Registry(#[from] crate::registry::RegistryError),
    /// The policy or the borders were unusable.
    #[error(transparent)]
    Geo(#[from] crate::geo::GeoError),
    /// The audit could not be completed.
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
    /// A report file could not be written.
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
}
