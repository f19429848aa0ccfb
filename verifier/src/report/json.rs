//! The audit as JSON: the [`AuditReport`] serialized as is (pretty), for machines and archives.

use super::{write_atomic_with, ReportError};
use crate::audit::model::AuditReport;
use std::path::Path;

/// The report as pretty-printed JSON (field names as in [`AuditReport`]; non-finite
/// coordinates, which JSON cannot hold, become `null`).
///
/// Encoding a report cannot fail in practice (it has no maps with non-string keys); if it ever
/// did, the result is a JSON object with one `error` field saying why, never a panic.
pub fn to_json(report: &AuditReport) -> String {
    match serde_json::to_string_pretty(report) {
        Ok(mut s) => {
            s.push('\n');
            s
        }
        Err(e) => serde_json::json!({ "error": format!("cannot encode report: {e}") }).to_string(),
    }
}

/// Writes [`to_json`] of the report to `path` atomically (temporary file, then rename),
/// streaming it: a million-measurement audit's JSON never sits in memory as one string.
pub fn write_json(report: &AuditReport, path: &Path) -> Result<(), ReportError> {
    write_atomic_with(path, |w| {
        serde_json::to_writer_pretty(&mut *w, report).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    })
}
