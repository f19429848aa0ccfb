//! The log's one error type: every failure of hashing, proofs, tiles, notes, checkpoints and
//! storage is a [`LogError`], and file-related variants carry the path so an operator can act.

use std::path::PathBuf;

/// Anything that can go wrong in the attestation log.
///
/// Hostile input (bytes from disk, proofs, notes, keys) always ends here as a typed value,
/// never as a panic.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// An I/O operation on a log file failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file was refused unread: not a regular file, a symlink inside the log directory, or
    /// larger than any legal file of its kind.
    #[error("{path}: {reason}")]
    Refused {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: crate::bounded_file::Refused,
    },
    /// A file of the log gave other bytes than an earlier read of it by the same reader: the
    /// log changed under the audit, which reports nothing from it.
    #[error("{path} changed while it was being read (the log is being rewritten, or served inconsistently): nothing from this read is reported")]
    ChangedWhileRead {
        /// The file.
        path: PathBuf,
    },
    /// A file the checkpoint requires is missing.
    #[error("missing file {path}")]
    MissingFile {
        /// The path that should exist.
        path: PathBuf,
    },
    /// A tile or entry bundle has the wrong length or does not parse (a torn write).
    #[error("torn tile {path}: {reason}")]
    TornTile {
        /// The damaged file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A tile on disk differs from the one re-derived from the entries.
    #[error("tile {path} does not match the tile re-derived from the entries")]
    TileMismatch {
        /// The tile that differs.
        path: PathBuf,
    },
    /// An immutable file already exists with different bytes; it is never overwritten.
    #[error("immutable file {path} already exists with different contents; refusing to overwrite")]
    ImmutableConflict {
        /// The existing file.
        path: PathBuf,
    },
    /// The root derived from the log's data differs from the root in the checkpoint.
    #[error(
        "root mismatch at tree size {size}: checkpoint says {expected}, data gives {computed}"
    )]
    RootMismatch {
        /// Tree size of the checkpoint.
        size: u64,
        /// Base64 root hash in the checkpoint.
        expected: String,
        /// Base64 root hash computed from tiles or entries.
        computed: String,
    },
    /// A signature from a known key did not verify.
    #[error("bad signature from known key {key}")]
    BadSignature {
        /// The key, as `name+hexid`.
        key: String,
    },
    /// No signature in the note is from a known key.
    #[error("note has no signature from a known key")]
    NoKnownSignature,
    /// Two known verifier keys share a name and key ID.
    #[error("ambiguous verifier keys for {key}")]
    AmbiguousKey {
        /// The key, as `name+hexid`.
        key: String,
    },
    /// The bytes are not a well-formed C2SP signed note.
    #[error("malformed note: {0}")]
    MalformedNote(&'static str),
    /// The note text is not a well-formed C2SP checkpoint.
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(&'static str),
    /// A verifier or signer key string is malformed.
    #[error("malformed key: {0}")]
    MalformedKey(&'static str),
    /// The signing key or verifier key does not belong to this log.
    #[error("key mismatch: {0}")]
    KeyMismatch(String),
    /// A tile path is not a canonical C2SP tlog-tiles path.
    #[error("malformed tile path: {0}")]
    MalformedTilePath(&'static str),
    /// A proof's text form is malformed.
    #[error("malformed proof: {0}")]
    MalformedProof(&'static str),
    /// A proof is well-formed but does not verify.
    #[error("proof does not verify: {0}")]
    ProofFailed(&'static str),
    /// A leaf index is not inside the tree.
    #[error("index {index} is out of range for tree size {size}")]
    IndexOutOfRange {
        /// The requested index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A pair of tree sizes is not valid for a consistency proof.
    #[error("invalid tree sizes: old {old} must not exceed new {new}")]
    SizeOutOfRange {
        /// The older tree size.
        old: u64,
        /// The newer tree size.
        new: u64,
    },
    /// A hash has the wrong length.
    #[error("hash must be 32 bytes, got {0}")]
    BadHashLength(usize),
    /// An entry is longer than the 16-bit length prefix of an entry bundle allows.
    #[error("entry of {0} bytes exceeds the 65535-byte limit of tlog-tiles entry bundles")]
    EntryTooLarge(usize),
    /// `init` found an existing log.
    #[error("{path} already holds a log")]
    AlreadyExists {
        /// The existing checkpoint.
        path: PathBuf,
    },
    /// Another process holds the writer lock.
    #[error("log {path} is locked by another writer")]
    Locked {
        /// The log directory.
        path: PathBuf,
    },
    /// The writer's recovery record is inconsistent with the checkpoint.
    #[error("recovery record {path} is inconsistent with the checkpoint: {reason}")]
    BadRecoveryRecord {
        /// The record file.
        path: PathBuf,
        /// What is inconsistent.
        reason: String,
    },
    /// The checkpoint lacks the witness quorum the trust file demands.
    #[error("the checkpoint carries valid cosignatures of {have} of the trusted witnesses ({names}); the trust file demands {need}: a view no quorum of witnesses checked is not audited")]
    WitnessQuorum {
        /// Distinct trusted witnesses that cosigned.
        have: usize,
        /// The quorum.
        need: usize,
        /// Who cosigned (or "none").
        names: String,
    },
    /// An HTTP exchange with a log server failed (connection, timeout, malformed answer).
    #[error("{url}: {reason}")]
    Http {
        /// The URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// A log server answered with an HTTP status other than success.
    #[error("{url}: HTTP {status}: {reason}")]
    HttpStatus {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
        /// The server's reason (its body, shortened).
        reason: String,
    },
    /// An earlier append failed part-way; reopen the log to recover before appending again.
    #[error("an earlier append failed part-way; reopen the log to recover")]
    Poisoned,
    /// A file's contents were unusable (a key file, a checkpoint): the cause, with the file.
    #[error("{path}: {source}")]
    InFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with its contents.
        source: Box<LogError>,
    },
    /// An internal invariant failed (a bug, reported instead of panicking).
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl LogError {
    /// Wraps an I/O error with the path it happened on; a missing file gets its own variant.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        let path = path.into();
        if let Some(reason) = crate::bounded_file::refusal(&source) {
            LogError::Refused {
                path,
                reason: reason.clone(),
            }
        } else if source.kind() == std::io::ErrorKind::NotFound {
            LogError::MissingFile { path }
        } else {
            LogError::Io { path, source }
        }
    }
}

impl LogError {
    /// Names the file whose contents caused this error (I/O errors already carry their path).
    pub fn in_file(self, path: impl Into<PathBuf>) -> Self {
        match self {
            e @ (LogError::Io { .. }
            | LogError::MissingFile { .. }
            | LogError::Refused { .. }
            | LogError::InFile { .. }) => e,
            other => LogError::InFile {
                path: path.into(),
                source: Box::new(other),
            },
        }
    }
}

/// Result with [`LogError`].
pub type Result<T, E = LogError> = std::result::Result<T, E>;
