//! The one error type of the report module.

use std::path::PathBuf;

/// Anything that can go wrong writing a report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The report file (or its temporary sibling) could not be written or renamed into place.
    #[error("cannot write report {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The report could not be encoded as JSON.
    #[error("cannot encode report as JSON: {0}")]
    Json(#[from] serde_json::Error),
}
