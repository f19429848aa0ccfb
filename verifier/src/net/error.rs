//! Errors of the network area. Hostile input never becomes one of these: a bad datagram is a
//! counted [`DiscardReason`](super::DiscardReason); these are for local failures (bind, config).

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::registry::RegistryError;

/// A local failure of a network component.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// A socket or thread operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A core operation (signing, challenge generation) failed.
    #[error("{context}: {source}")]
    Core {
        /// What was being done.
        context: String,
        /// The core error.
        source: lightcone::Error,
    },
    /// Loading or checking provisioning material failed.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A fleet file or argument is invalid.
    #[error("{path}: {reason}")]
    Config {
        /// The file (or argument name).
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Appending to or reading the transparency log failed.
    #[error(transparent)]
    Log(#[from] crate::log::LogError),
    /// A key and a certificate do not belong together.
    #[error("key mismatch: {0}")]
    KeyMismatch(String),
    /// A chip did not send a valid device certificate in time.
    #[error("no valid device certificate from {addr} ({attempts} attempts)")]
    NoCertificate {
        /// The chip's address.
        addr: SocketAddr,
        /// Requests sent.
        attempts: u32,
    },
    /// A GPU agent did not send a chain that verifies under a trusted X.509 root in time.
    #[error("no GPU certificate chain that verifies from {addr} ({attempts} attempts)")]
    NoChain {
        /// The GPU agent's address.
        addr: SocketAddr,
        /// Requests sent.
        attempts: u32,
    },
}

impl NetError {
    /// An I/O error while doing `context`.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        NetError::Io {
            context: context.into(),
            source,
        }
    }

    /// A core error while doing `context`.
    pub fn core(context: impl Into<String>, source: lightcone::Error) -> Self {
        NetError::Core {
            context: context.into(),
            source,
        }
    }
}
