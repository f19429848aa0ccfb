//! Findings capped per kind: a log of garbage must not make the audit hold (or a report print)
//! one finding per entry. The first [`FINDINGS_PER_KIND`] findings of each kind are kept; the
//! rest are counted, and [`CappedFindings::finish`] adds one finding per capped kind that says
//! how many more there were. Counts (`rejected`, …) are never capped.

use std::collections::{BTreeMap, HashMap};

use super::model::{Finding, FindingKind};

/// Findings of one kind kept in memory and in every report.
pub const FINDINGS_PER_KIND: usize = 1000;

/// Findings, at most [`FINDINGS_PER_KIND`] of each kind, and the number left out of each.
#[derive(Debug, Default)]
pub struct CappedFindings {
    kept: Vec<Finding>,
    per_kind: HashMap<FindingKind, usize>,
    left_out: BTreeMap<FindingKind, u64>,
}

impl CappedFindings {
    /// Keeps `finding` if its kind has room, else counts it.
    pub fn push(&mut self, finding: Finding) {
        let n = self.per_kind.entry(finding.kind).or_insert(0);
        if *n < FINDINGS_PER_KIND {
            *n += 1;
            self.kept.push(finding);
        } else {
            *self.left_out.entry(finding.kind).or_insert(0) += 1;
        }
    }

    /// [`CappedFindings::push`] of each finding.
    pub fn extend(&mut self, findings: impl IntoIterator<Item = Finding>) {
        for f in findings {
            self.push(f);
        }
    }

    /// The kept findings, then one per capped kind saying how many more there were.
    pub fn finish(self) -> Vec<Finding> {
        let mut out = self.kept;
        for (kind, n) in self.left_out {
            out.push(Finding {
                kind,
                chip_id: None,
                landmark_id: None,
                log_index: None,
                log_origin: None,
                detail: left_out_detail(n),
            });
        }
        out
    }
}

/// The detail of the finding that stands for `n` findings left out.
pub fn left_out_detail(n: u64) -> String {
    format!(
        "{n} more finding(s) of this kind are not listed: at most {FINDINGS_PER_KIND} of each kind are kept (every one is counted in the counts)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(kind: FindingKind, i: u64) -> Finding {
        Finding {
            kind,
            chip_id: None,
            landmark_id: None,
            log_index: Some(i),
            log_origin: None,
            detail: String::new(),
        }
    }

    #[test]
    fn each_kind_is_capped_and_the_rest_counted() {
        let mut c = CappedFindings::default();
        for i in 0..(FINDINGS_PER_KIND as u64 + 250) {
            c.push(finding(FindingKind::MalformedEntry, i));
        }
        c.push(finding(FindingKind::NonceReuse, 0));
        let out = c.finish();
        assert_eq!(out.len(), FINDINGS_PER_KIND + 2);
        let last = out.last().unwrap();
        assert_eq!(last.kind, FindingKind::MalformedEntry);
        assert!(last.detail.starts_with("250 more"), "{}", last.detail);
    }
}
