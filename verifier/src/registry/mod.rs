//! Provisioning and trust material as files a person can keep in a directory.
//!
//! - [`keyfile`]: secret key files (`lightcone-secret-key-v1`), created `0600`, refused when
//!   group- or world-readable.
//! - [`pubfile`]: public key files (TOML) of vendor roots and the registry.
//! - [`certfile`]: device and landmark certificates as TOML that shows every decoded field next
//!   to the authoritative canonical bytes; loading checks the two agree.
//! - [`trust`]: the auditor's and landmark's trust file: vendor roots, registry key, log key.
//! - [`provision`]: the provisioning steps behind `lightcone vendor|chip|registry|landmark`.

pub mod certfile;
pub mod error;
pub mod keyfile;
pub mod provision;
pub mod pubfile;
pub mod trust;

/// The software signing key of vendors, the registry, chips and landmarks (Ed25519; zeroized
/// on drop). Re-exported so users of this crate need not name `ed25519-dalek` themselves.
pub use ed25519_dalek::SigningKey;

pub use certfile::{load_device_certificate, load_landmark_certificate};
pub use error::RegistryError;
pub use keyfile::{generate_key, read_secret_key, write_secret_key};
pub use pubfile::{PublicKeyFile, Role};
pub use trust::{LogEntries, LogEntry, Trust, TrustFile, WitnessPolicy, WitnessesEntry};

/// The current time in Unix seconds (0 if the clock is before 1970).
pub fn unix_now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
