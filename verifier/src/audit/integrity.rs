//! Landmark integrity from the landmarks' measurements of each other (DESIGN §4).
//!
//! An RTT between two landmarks faster than light allows for their registered positions says
//! that one of the two is faulty: the measurer signed a time it did not see, or one of them is
//! not where the registry put it. It never says which on its own. The rules:
//!
//! - An impossible RTT signed by one measurer alone blames **the measurer** (it may be lying
//!   about time), never the responder: a peer's word is not evidence against another.
//! - Seen in **both directions** (each measured the other impossibly fast), it is evidence
//!   against both: two clocks agree that the registered positions are too far apart.
//! - A landmark is **convicted** (mispositioned or lying; its caps are excluded) only when the
//!   evidence against it comes from landmarks of at least `f + 1` other operators. At most `f`
//!   operators are faulty, so at least one of them is honest, and an honest, correctly placed
//!   partner makes the landmark the faulty one. A tie convicts nobody.
//!
//! Excluding caps is not needed for soundness (verdicts already tolerate `f` faulty operators);
//! it keeps a convicted landmark from using up that tolerance.
//!
//! Each landmark is also *confirmed* by peers of other operators: a peer that measured it bounds
//! its true position to within the peer's distance bound of the peer, so to within
//! `bound + distance(peer, registered position)` of where the registry put it. The
//! confirmation radius is the (f + 1)-th smallest such radius over distinct operators (it holds
//! whatever `f` operators sign); a landmark with fewer confirming operators is *unconfirmed*.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use lightcone::{LandmarkId, OperatorName};

use super::aggregate::CrossCheck;
use super::model::{Finding, FindingKind};

/// What the cross-checks say about every landmark.
#[derive(Default)]
pub struct Integrity {
    /// Convicted landmarks and why; their caps do not count.
    pub convicted: HashMap<LandmarkId, String>,
    /// Cross-checks each landmark took part in: (checked, impossible).
    pub tally: HashMap<LandmarkId, (u64, u64)>,
    /// How well each landmark's position is confirmed by other operators.
    pub confirmation: HashMap<LandmarkId, Confirmation>,
}

/// How well other operators' measurements pin a landmark's registered position.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Confirmation {
    /// Distinct other operators whose landmarks measured it (consistently with light).
    pub operators: usize,
    /// The true position is within this distance of the registered one, metres, whatever `f`
    /// operators sign (`None` with `f` or fewer confirming operators).
    pub within_m: Option<f64>,
}

/// Judges the cross-checks with `faulty` = f; findings are appended in a stable order.
pub fn judge_landmarks(
    checks: &[CrossCheck],
    faulty: usize,
    findings: &mut Vec<Finding>,
) -> Integrity {
    judge_landmarks_named(checks, faulty, findings, &|i| i.to_string())
}

/// [`judge_landmarks`], with `name` saying which entry an index is (the origin and index in
/// its log, when several logs are audited together).
pub fn judge_landmarks_named(
    checks: &[CrossCheck],
    faulty: usize,
    findings: &mut Vec<Finding>,
    name: &dyn Fn(u64) -> String,
) -> Integrity {
    let mut out = Integrity::default();
    // (measurer, responder) → the first impossible check in that direction.
    let mut impossible: BTreeMap<(LandmarkId, LandmarkId), &CrossCheck> = BTreeMap::new();
    // Per landmark, per other operator, the smallest confirmation radius.
    let mut confirm: HashMap<LandmarkId, BTreeMap<OperatorName, f64>> = HashMap::new();
    for c in checks {
        let bad = (c.rtt_ns as f64) < c.min_rtt_ns;
        for id in [c.measurer, c.responder] {
            let t = out.tally.entry(id).or_default();
            t.0 += 1;
            t.1 += u64::from(bad);
        }
        if bad {
            impossible.entry((c.measurer, c.responder)).or_insert(c);
        } else if c.measurer_operator != c.responder_operator {
            let r = c.bound_m + c.registered_apart_m;
            let slot = confirm
                .entry(c.responder)
                .or_default()
                .entry(c.measurer_operator)
                .or_insert(f64::INFINITY);
            *slot = slot.min(r);
        }
    }
    let mut blame: BTreeMap<LandmarkId, BTreeSet<OperatorName>> = BTreeMap::new();
    let mut why: BTreeMap<LandmarkId, &CrossCheck> = BTreeMap::new();
    for (&(m, r), c) in &impossible {
        let both = impossible.contains_key(&(r, m));
        findings.push(impossible_finding(c, both));
        if c.measurer_operator != c.responder_operator {
            blame.entry(m).or_default().insert(c.responder_operator);
            why.entry(m).or_insert(c);
            if both {
                blame.entry(r).or_default().insert(c.measurer_operator);
                why.entry(r).or_insert(c);
            }
        }
    }
    for (id, operators) in &blame {
        if operators.len() > faulty {
            let names: Vec<String> = operators
                .iter()
                .map(|o| format!("{:?}", o.as_str()))
                .collect();
            let example = why.get(id).map_or(0, |c| c.index);
            let detail = format!(
                "impossible RTTs with landmarks of {} other operator(s) ({}), more than the {faulty} that may be faulty: \
                 it is not where it is registered, or lies about time (e.g. log entry {}); its measurements are excluded",
                operators.len(),
                names.join(", "),
                name(example)
            );
            findings.push(Finding {
                kind: FindingKind::MispositionedLandmark,
                chip_id: None,
                landmark_id: Some(id.to_string()),
                log_index: Some(example),
                log_origin: None,
                detail: detail.clone(),
            });
            out.convicted.insert(*id, detail);
        }
    }
    for (id, per_operator) in confirm {
        let mut radii: Vec<f64> = per_operator.into_values().collect();
        radii.sort_by(f64::total_cmp);
        out.confirmation.insert(
            id,
            Confirmation {
                operators: radii.len(),
                within_m: radii.get(faulty).copied(),
            },
        );
    }
    out
}

fn impossible_finding(c: &CrossCheck, both_directions: bool) -> Finding {
    let (kind, whom) = if both_directions {
        (
            FindingKind::ImpossibleRtt,
            "seen in both directions: one of the two is not where it is registered",
        )
    } else {
        (
            FindingKind::ImpossibleRtt,
            "signed by the measurer alone: the measurer is blamed (its clock or its position), not the responder",
        )
    };
    Finding {
        kind,
        chip_id: None,
        landmark_id: Some(c.measurer.to_string()),
        log_index: Some(c.index),
        log_origin: None,
        detail: format!(
            "RTT {} ns to landmark {} is below the light-speed minimum {:.0} ns for their registered positions; {whom}",
            c.rtt_ns, c.responder, c.min_rtt_ns
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(m: u8, mo: &str, r: u8, ro: &str, impossible: bool) -> CrossCheck {
        CrossCheck {
            measurer: LandmarkId::from([m; 16]),
            responder: LandmarkId::from([r; 16]),
            measurer_operator: OperatorName::new(mo).unwrap(),
            responder_operator: OperatorName::new(ro).unwrap(),
            rtt_ns: if impossible { 1_000 } else { 10_000_000 },
            min_rtt_ns: 5_000_000.0,
            bound_m: 1_500_000.0,
            registered_apart_m: 700_000.0,
            index: u64::from(m) * 10 + u64::from(r),
        }
    }

    fn convicted(checks: &[CrossCheck], f: usize) -> Vec<u8> {
        let mut v: Vec<u8> = judge_landmarks(checks, f, &mut Vec::new())
            .convicted
            .keys()
            .map(|id| id.to_bytes()[0])
            .collect();
        v.sort();
        v
    }

    #[test]
    fn colluding_measurers_cannot_get_an_honest_landmark_excluded() {
        // Landmarks 1 and 2 (operators X, Y) each sign one fabricated short RTT to honest 3.
        let checks = [check(1, "X", 3, "H", true), check(2, "Y", 3, "H", true)];
        assert_eq!(convicted(&checks, 1), Vec::<u8>::new());
        // ... and with f = 1 each liar is blamed by one operator only: no conviction either.
        let findings = &mut Vec::new();
        judge_landmarks(&checks, 1, findings);
        assert!(findings
            .iter()
            .all(|f| f.kind == FindingKind::ImpossibleRtt));
        assert_eq!(findings.len(), 2);
    }

    #[test]
    fn a_single_liar_takes_nobody_down_on_a_tie() {
        let checks = [check(1, "X", 2, "H", true), check(2, "H", 1, "X", false)];
        assert_eq!(convicted(&checks, 1), Vec::<u8>::new());
        // Trusting every operator (f = 0), the lone measurer is the one convicted.
        assert_eq!(convicted(&checks, 0), vec![1]);
    }

    #[test]
    fn a_misplaced_landmark_seen_by_two_honest_operators_is_convicted() {
        // Landmark 1 (operator M) is not where registered: it and honest 2 (A) and 3 (B) see
        // each other impossibly fast in both directions.
        let checks = [
            check(1, "M", 2, "A", true),
            check(2, "A", 1, "M", true),
            check(1, "M", 3, "B", true),
            check(3, "B", 1, "M", true),
        ];
        assert_eq!(convicted(&checks, 1), vec![1]);
        assert_eq!(convicted(&checks, 2), Vec::<u8>::new());
    }

    #[test]
    fn confirmation_needs_f_plus_one_other_operators() {
        let checks = [
            check(1, "A", 3, "C", false),
            check(2, "B", 3, "C", false),
            check(4, "C", 3, "C", false), // same operator: does not confirm
        ];
        let i = judge_landmarks(&checks, 1, &mut Vec::new());
        let c = i.confirmation[&LandmarkId::from([3; 16])];
        assert_eq!(c.operators, 2);
        assert_eq!(c.within_m, Some(2_200_000.0));
        let i = judge_landmarks(&checks[..1], 1, &mut Vec::new());
        assert_eq!(i.confirmation[&LandmarkId::from([3; 16])].within_m, None);
    }
}
