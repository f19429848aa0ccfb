//! Human-facing renderings of an audit: a terminal summary ([`summary`]), JSON ([`to_json`]) and
//! one self-contained HTML page with a world map ([`render_html`]). All are pure functions of an
//! [`AuditReport`]; none fetches anything or trusts the report's free text (it is escaped).

pub mod error;
pub mod html;
pub mod json;
pub mod svg;
pub mod text;

pub use error::ReportError;
pub use html::{escape, render_html, write_html};
pub use json::{to_json, write_json};
pub use text::summary;

use crate::audit::model::{
    AuditReport, ChipReport, ChipStatus, EpochReport, FindingKind, RegionReport,
};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Every status, in the order a regulator reads them: the verified, then the worst first.
pub(crate) const STATUS_ORDER: [ChipStatus; 5] = [
    ChipStatus::Verified,
    ChipStatus::Violation,
    ChipStatus::Invalid,
    ChipStatus::Inconsistent,
    ChipStatus::Unverified,
];

/// How many chips have each status, in [`STATUS_ORDER`].
pub(crate) fn status_counts(report: &AuditReport) -> Vec<(ChipStatus, usize)> {
    STATUS_ORDER
        .iter()
        .map(|&s| (s, report.chips.iter().filter(|c| c.status == s).count()))
        .collect()
}

/// The kind's name as it appears in the JSON (kebab-case), e.g. `counter-rollback`.
pub(crate) fn kind_name(kind: FindingKind) -> String {
    match serde_json::to_value(kind) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{kind:?}"),
    }
}

/// What a finding of this kind means, in a few words.
pub(crate) fn kind_meaning(kind: FindingKind) -> &'static str {
    match kind {
        FindingKind::MalformedEntry => "an entry is not a canonical log record",
        FindingKind::InvalidCertificate => {
            "a certificate failed verification against the trust roots"
        }
        FindingKind::UnknownCertificate => {
            "a measurement names a chip or landmark with no valid certificate"
        }
        FindingKind::InvalidSignature => "a landmark or chip signature failed",
        FindingKind::TimestampOutOfRange => {
            "a measurement's time is outside its certificates' validity or after the audit time"
        }
        FindingKind::NonceReuse => "the same challenge appears more than once (replay)",
        FindingKind::CounterRollback => {
            "a chip's counter went backwards: cloned key or reset device"
        }
        FindingKind::ImpossibleTravel => {
            "a chip moved faster than plausible transport: cloned key?"
        }
        FindingKind::Silence => "a chip had no valid epoch for longer than the heartbeat",
        FindingKind::ImpossibleRtt => {
            "a landmark signed an RTT to another faster than light: one of the two is faulty"
        }
        FindingKind::MispositionedLandmark => {
            "more operators than may be faulty convict a landmark: mispositioned or lying"
        }
        FindingKind::ExcludedMeasurement => {
            "measurements were excluded: their landmark is convicted or unconfirmed"
        }
        FindingKind::ConflictingCertificates => {
            "a landmark's certificates valid at one time name different operators"
        }
        FindingKind::ConflictingIssuers => {
            "one chip key is certified by several vendor roots: it cannot be verified"
        }
        FindingKind::TimingConflict => {
            "counters contradict landmark clocks that f operators could have forged"
        }
        FindingKind::UncorroboratedEvidence => {
            "a region rests on one operator's word: what a lying operator looks like"
        }
        FindingKind::StaleLog => "the log's newest measurement is older than the freshness window",
    }
}

/// The chip's latest epoch that has a feasible region, with that region (an epoch whose region
/// is empty, e.g. an inconsistent one, has none; then an earlier epoch's region is the latest
/// known whereabouts).
pub(crate) fn latest_region(chip: &ChipReport) -> Option<(&EpochReport, &RegionReport)> {
    chip.epochs
        .iter()
        .rev()
        .find_map(|e| e.region.as_ref().map(|r| (e, r)))
}

/// A Unix time in nanoseconds as `YYYY-MM-DD hh:mm:ss UTC`.
pub(crate) fn utc(ns: u64) -> String {
    let secs = ns / 1_000_000_000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm, proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A duration in seconds in the largest unit that divides it: `1 d`, `6 h`, `15 min`, `90 s`.
pub(crate) fn duration(s: u64) -> String {
    if s == 0 {
        "0 s".to_owned()
    } else if s % 86_400 == 0 {
        format!("{} d", s / 86_400)
    } else if s % 3_600 == 0 {
        format!("{} h", s / 3_600)
    } else if s % 60 == 0 {
        format!("{} min", s / 60)
    } else {
        format!("{s} s")
    }
}

/// The speed of light in vacuum, m/s.
const C_M_PER_S: u64 = 299_792_458;

/// The policy speed with its fraction of c, e.g. `299792458 m/s (c)` or `200000000 m/s (0.667 c)`.
pub(crate) fn speed(m_per_s: u64) -> String {
    if m_per_s == C_M_PER_S {
        format!("{m_per_s} m/s (c)")
    } else {
        format!("{m_per_s} m/s ({:.3} c)", m_per_s as f64 / C_M_PER_S as f64)
    }
}

/// A position as `lat, lon` with four decimals, or a note that it is not a valid coordinate
/// (NaN or infinite numbers in a report are shown as such, never drawn).
pub(crate) fn coord(lat: f64, lon: f64) -> String {
    if lat.is_finite() && lon.is_finite() {
        format!("{lat:.4}, {lon:.4}")
    } else {
        "(invalid coordinates)".to_owned()
    }
}

/// A list of region names, or `(none)`.
pub(crate) fn names(list: &[String]) -> String {
    if list.is_empty() {
        "(none)".to_owned()
    } else {
        list.join(", ")
    }
}

/// Writes `bytes` to `path` atomically: a temporary sibling, fsync, rename over `path`. Readers
/// see the old file or the new one, never half of one.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// Like [`write_atomic`], with the content streamed by `write` (large reports never need to
/// exist in memory as one string).
pub(crate) fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), ReportError> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| ReportError::Io { path: p, source }
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp: PathBuf = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let result = File::create(&tmp)
        .and_then(|f| {
            let mut buffered = std::io::BufWriter::new(f);
            write(&mut buffered)?;
            buffered
                .into_inner()
                .map_err(|e| e.into_error())?
                .sync_all()
        })
        .map_err(io(&tmp))
        .and_then(|()| fs::rename(&tmp, path).map_err(io(path)));
    if result.is_err() {
        // Best effort: do not leave the temporary file behind; the first error is the one to
        // report.
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// The policy's sea rule in words.
fn sea_rule(p: &crate::audit::model::PolicySummary) -> String {
    match (p.sea_permitted, p.sea_buffer_nm > 0.0) {
        (false, _) => "not permitted".to_owned(),
        (true, false) => "permitted".to_owned(),
        (true, true) => format!(
            "open sea permitted; sea within {} nmi of a region not allowed is not",
            p.sea_buffer_nm
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400_000_000_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_795_000_000_000_000_000), "2026-11-18 11:06:40 UTC");
        assert_eq!(utc(u64::MAX), "2554-07-21 23:34:33 UTC");
    }

    #[test]
    fn durations_use_the_largest_unit() {
        assert_eq!(duration(0), "0 s");
        assert_eq!(duration(86_400), "1 d");
        assert_eq!(duration(7_200), "2 h");
        assert_eq!(duration(900), "15 min");
        assert_eq!(duration(90), "90 s");
    }
}
