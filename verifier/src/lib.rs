//! `lightcone-verifier`: the std side of lightcone — landmarks, the transparency log, region
//! verdicts, audits and reports. The `lightcone` command is a thin shell over this library.
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod audit;
pub mod demo;
pub mod error;
pub mod evidence;
pub mod net;
pub mod registry;
pub mod report;
pub mod synth;

pub use error::Error;
/// Reading hostile files (bounded, regular files only): the `lightcone-files` crate.
pub use lightcone_files as bounded_file;
/// Borders, policies and verdicts: the `lightcone-geo` crate.
pub use lightcone_geo as geo;
/// The transparency log, its own crate (`lightcone-log`); `crate::log::…` paths keep working.
pub use lightcone_log as log;
/// Secret key files created with owner-only access (lives in `lightcone-log`).
pub use lightcone_log::secret_file;
