//! Errors of the registry area: key, certificate and trust files.

use std::path::PathBuf;

/// Why a provisioning step or a key, certificate or trust file failed. Every variant that
/// concerns a file names it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file that provisioning would create already exists; keys are never overwritten.
    #[error("{path}: already exists (refusing to overwrite)")]
    AlreadyExists {
        /// The file.
        path: PathBuf,
    },
    /// A secret key file can be read by group or others.
    #[error("{path}: secret key file has mode {mode:o}; it must not be readable by group or others (chmod 600)")]
    InsecurePermissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A file does not have the expected format.
    #[error("{path}: malformed: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A certificate file's shown fields disagree with its canonical bytes.
    #[error("{path}: field `{field}` disagrees with the encoded certificate")]
    FieldMismatch {
        /// The file.
        path: PathBuf,
        /// The first field that disagrees.
        field: String,
    },
    /// A certificate was issued by a key the trust file does not know.
    #[error("certificate issuer {issuer} is not a trusted {role}")]
    UnknownIssuer {
        /// The issuer id, hex.
        issuer: String,
        /// "vendor root" or "registry".
        role: &'static str,
    },
    /// An argument to a provisioning step is out of range.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A core check (signature, encoding, field) failed.
    #[error("{context}: {source}")]
    Core {
        /// What was being checked (often a file name).
        context: String,
        /// The core error.
        source: lightcone::Error,
    },
}

impl RegistryError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        let path = path.into();
        match crate::bounded_file::refusal(&source) {
            Some(&crate::bounded_file::Refused::InsecureMode { mode }) => {
                RegistryError::InsecurePermissions { path, mode }
            }
            _ => RegistryError::Io { path, source },
        }
    }

    /// A malformed file.
    pub fn malformed(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        RegistryError::Malformed {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// A core error while checking `context`.
    pub fn core(context: impl Into<String>, source: lightcone::Error) -> Self {
        RegistryError::Core {
            context: context.into(),
            source,
        }
    }
}
