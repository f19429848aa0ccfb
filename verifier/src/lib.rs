//! `lightcone-verifier`: the std side of lightcone — landmarks, the transparency log, region
//! verdicts, audits and reports. The `lightcone` command is a thin shell over this library.
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod audit;
pub mod demo;
pub mod error;
pub mod evidence;
pub mod geo;
pub mod net;
pub mod registry;
pub mod report;
pub mod synth;

pub use error::Error;

/// The transparency log, its own crate (`lightcone-log`); `crate::log::…` paths keep working.
pub use lightcone_log as log;
/// Bounded reads of files handed to the verifier (lives in `lightcone-log`, which needs it too).
pub use lightcone_log::bounded_file;
/// Secret key files created with owner-only access (lives in `lightcone-log`).
pub use lightcone_log::secret_file;
