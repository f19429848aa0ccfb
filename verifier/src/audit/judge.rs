//! From aggregated measurements to judgements: epoch verdicts that tolerate `f` faulty
//! operators, chip status, impossible travel, counters and silence. Landmark cross-checks are
//! in [`super::integrity`].

use std::collections::{BTreeMap, HashMap};

use lightcone::{ChipId, LandmarkId, OperatorName};
use rayon::prelude::*;

use super::aggregate::{counter_rollback_named, BestBound, CapKey, ChipState, CounterVerdict};
use super::certificates::Certificates;
use super::model::{
    CapReport, ChipReport, ChipStatus, EpochReport, Finding, FindingKind, RegionReport,
    WitnessReport,
};
use super::rules::AuditRules;
use crate::geo::{self, Cap, Policy, VerdictKind, World};

/// Mean Earth radius used for spherical distances, metres.
const EARTH_RADIUS_M: f64 = 6_371_008.8;
/// Spherical distance over-estimates the WGS84 geodesic by at most this factor (the ratio
/// spans 0.9955–1.0057, DESIGN §4): divide by it for a lower bound on geodesic distance.
const SPHERICAL_OVER_GEODESIC_MAX: f64 = 1.0057;

/// A lower bound on the WGS84 geodesic distance between two points, metres.
pub fn geodesic_lower_bound_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dlat = p2 - p1;
    let dlon = (lon2 - lon1).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dlon / 2.0).sin().powi(2);
    let central = 2.0 * h.sqrt().min(1.0).asin();
    // Shave a further metre per 10 000 km for float rounding.
    (central * EARTH_RADIUS_M / SPHERICAL_OVER_GEODESIC_MAX) * (1.0 - 1e-7)
}

/// What the judge needs besides one chip's state.
pub struct JudgeContext<'a> {
    /// Certificates of the log.
    pub certs: &'a Certificates,
    /// Landmarks whose caps do not count, and why.
    pub excluded: &'a HashMap<LandmarkId, String>,
    /// Chips certified by several vendor roots, with the vendors' names.
    pub conflicting_issuers: &'a HashMap<ChipId, Vec<String>>,
    /// The policy.
    pub policy: &'a Policy,
    /// Its borders.
    pub world: &'a World,
    /// The audit rules.
    pub rules: &'a AuditRules,
    /// The time freshness and silence are judged against, Unix ns.
    pub audit_time_ns: u64,
    /// Names an entry by its index (origin and index in its log when several are audited).
    pub entry_name: &'a (dyn Fn(u64) -> String + Sync),
}

/// Judges one chip: epoch verdicts, status, travel, counter and silence findings.
pub fn judge_chip(
    chip: &ChipId,
    mut state: ChipState,
    cx: &JudgeContext<'_>,
) -> (ChipReport, Vec<Finding>) {
    let mut findings = Vec::new();
    let hex = chip.to_string();
    let faulty = cx.policy.faulty_operators;
    let chip_finding = |kind, detail: String| Finding {
        kind,
        chip_id: Some(hex.clone()),
        landmark_id: None,
        log_index: None,
        log_origin: None,
        detail,
    };

    match counter_rollback_named(
        &mut state.counters,
        cx.rules.clock_skew_ns,
        faulty,
        cx.entry_name,
    ) {
        CounterVerdict::Clean => {}
        CounterVerdict::ChipAtFault(why) => {
            findings.push(chip_finding(FindingKind::CounterRollback, why.clone()));
            state.invalid_reason.get_or_insert(why);
        }
        CounterVerdict::TimingConflict { detail, landmarks } => {
            let names: Vec<String> = landmarks.iter().map(ToString::to_string).collect();
            findings.push(chip_finding(
                FindingKind::TimingConflict,
                format!(
                    "{detail}. Up to {faulty} faulty operator(s) could have dated these measurements \
                     (landmarks {}), so the chip is not blamed",
                    names.join(", ")
                ),
            ));
        }
    }
    state.counters = Vec::new();

    let epoch_list: Vec<(u64, Vec<(CapKey, BestBound)>)> = state
        .epochs
        .iter()
        .map(|(e, m)| {
            let mut bounds: Vec<(CapKey, BestBound)> = m
                .iter()
                .filter(|(k, _)| !cx.excluded.contains_key(&k.0))
                .map(|(k, b)| (*k, *b))
                .collect();
            bounds.sort_by_key(|((id, p), _)| (*id, p.lat, p.lon));
            (*e, bounds)
        })
        .collect();
    let judged: Vec<(EpochReport, Vec<Finding>)> = epoch_list
        .par_iter()
        .map(|(e, bounds)| judge_epoch(*e, bounds, cx, &hex))
        .collect();
    let mut epochs = Vec::with_capacity(judged.len());
    for (e, mut f) in judged {
        epochs.push(e);
        findings.append(&mut f);
    }
    epochs.sort_by_key(|e| e.start_ns);
    // Exact robustness (a search above f) and the jurisdiction claim only where the report
    // reads them: the latest compliant epoch.
    let mut jurisdiction = None;
    if let Some(latest) = epochs.iter_mut().rev().find(|e| e.verdict == "compliant") {
        let epoch = latest.start_ns / cx.rules.epoch_ns.max(1);
        if let Some((_, bounds)) = epoch_list.iter().find(|(e, _)| *e == epoch) {
            let (_, groups) = operator_groups(bounds);
            let f = cx.policy.faulty_operators;
            if let Ok(best) = geo::tolerant::robustness_above(
                cx.world,
                cx.policy,
                &groups,
                f,
                latest.constraining_operators,
            ) {
                latest.robustness = Some(best);
            }
            let point = latest.region.as_ref().map(|r| (r.lat, r.lon));
            jurisdiction = geo::answer::jurisdiction(cx.world, &groups, f, point)
                .ok()
                .flatten();
        }
    }

    let travel = impossible_travel(&epochs, &state, cx.rules);
    findings.extend(
        travel
            .iter()
            .map(|t| chip_finding(FindingKind::ImpossibleTravel, t.detail.clone())),
    );
    findings.extend(
        silence(&epochs, &state, cx)
            .into_iter()
            .map(|d| chip_finding(FindingKind::Silence, d)),
    );

    let (status, reason) = status(chip, &state, &epochs, &travel, cx);
    let fresh_from = cx.audit_time_ns.saturating_sub(cx.rules.freshness_ns);
    let latest_compliant = epochs
        .iter()
        .filter(|e| e.verdict == "compliant")
        .max_by_key(|e| e.start_ns);
    let robustness = latest_compliant
        .filter(|e| e.end_ns >= fresh_from)
        .and_then(|e| e.robustness);
    let (model, vendor) = model_and_vendor(cx.certs, cx.conflicting_issuers, chip);
    let (key_algorithm, evidence) = key_and_evidence(cx.certs, chip);
    let report = ChipReport {
        chip_id: hex,
        model,
        vendor,
        key_algorithm,
        evidence,
        status,
        rats_tier: status.rats_tier(state.accepted > 0),
        jurisdiction: jurisdiction.filter(|_| status == ChipStatus::Verified),
        reason,
        robustness,
        last_compliant_ns: latest_compliant.map(|e| e.start_ns),
        measurements: state.accepted,
        rejected: state.rejected,
        epochs,
    };
    (report, findings)
}

/// The device key's algorithm and the chip's evidence kind: from its first device certificate
/// in canonical order (every certificate of one chip id certifies the same key), or, for a GPU,
/// its chain's P-384 leaf key and SPDM evidence.
pub fn key_and_evidence(certs: &Certificates, chip: &ChipId) -> (String, String) {
    let lightcone = certs
        .chips
        .get(chip)
        .and_then(|list| list.first())
        .map(|c| {
            (
                c.cert.body.device_key.algorithm().name().to_owned(),
                "lightcone-response",
            )
        });
    let gpu = certs.gpus.get(chip).is_some_and(|list| !list.is_empty());
    match (lightcone, gpu) {
        (Some((key, _)), true) => (key, "lightcone-response+spdm-1.1-measurements".to_owned()),
        (Some((key, kind)), false) => (key, kind.to_owned()),
        (None, true) => (
            lightcone::Algorithm::EcdsaP384Sha384.name().to_owned(),
            "spdm-1.1-measurements".to_owned(),
        ),
        (None, false) => Default::default(),
    }
}

/// The model (of the first certificate in canonical order, or for a GPU what the registry's
/// endorsements call it) and every vendor (or X.509 root) that certified the chip.
pub fn model_and_vendor(
    certs: &Certificates,
    conflicting: &HashMap<ChipId, Vec<String>>,
    chip: &ChipId,
) -> (String, String) {
    let first_cert = certs.chips.get(chip).and_then(|list| list.first());
    let first_gpu = certs.gpus.get(chip).and_then(|list| list.first());
    let model = match (first_cert, first_gpu) {
        (Some(c), _) => c.cert.body.model.as_str().to_owned(),
        (None, Some(g)) => crate::audit::gpus::model_of(&certs.endorsements, &g.identity),
        (None, None) => String::new(),
    };
    let vendor = match (conflicting.get(chip), first_cert, first_gpu) {
        (Some(vendors), _, _) => vendors.join(" + "),
        (None, Some(c), _) => c.vendor.clone(),
        (None, None, Some(g)) => g.identity.root_name.clone(),
        (None, None, None) => String::new(),
    };
    (model, vendor)
}

/// The chip's standing, and why, in the order evidence outranks evidence.
fn status(
    chip: &ChipId,
    state: &ChipState,
    epochs: &[EpochReport],
    travel: &[Travel],
    cx: &JudgeContext<'_>,
) -> (ChipStatus, String) {
    let fresh_from = cx.audit_time_ns.saturating_sub(cx.rules.freshness_ns);
    let last_compliant = epochs
        .iter()
        .filter(|e| e.verdict == "compliant")
        .map(|e| e.start_ns)
        .max();
    let fresh_travel = travel.iter().find(|t| t.later_end_ns >= fresh_from);
    if let Some(why) = &state.invalid_reason {
        return (ChipStatus::Invalid, why.clone());
    }
    if !cx.certs.is_certified(chip) {
        return (
            ChipStatus::Invalid,
            "no valid device certificate or GPU chain in the log".to_owned(),
        );
    }
    if let Some(v) = epochs.iter().find(|e| e.verdict == "violation") {
        return (
            ChipStatus::Violation,
            format!(
                "epoch starting {} lies wholly outside the permitted regions, with up to {} faulty operator(s)",
                v.start_ns, v.faulty_operators
            ),
        );
    }
    if let Some(vendors) = cx.conflicting_issuers.get(chip) {
        return (
            ChipStatus::Unverified,
            format!(
                "certified by {} vendor roots ({}); each vendor is trusted for its own chips only, so the chip cannot be verified while both stand",
                vendors.len(),
                vendors.join(", ")
            ),
        );
    }
    if let Some(t) = fresh_travel {
        return (
            ChipStatus::Inconsistent,
            format!(
                "impossible travel between the epochs starting {} and {}: a cloned key or lying landmarks",
                t.earlier_start_ns, t.later_start_ns
            ),
        );
    }
    if last_compliant.is_some_and(|t| t.saturating_add(cx.rules.epoch_ns) >= fresh_from) {
        return (
            ChipStatus::Verified,
            format!(
                "a compliant epoch within the freshness window, holding with up to {} faulty operator(s)",
                cx.policy.faulty_operators
            ),
        );
    }
    if epochs.iter().any(|e| e.verdict == "inconsistent") {
        return (
            ChipStatus::Inconsistent,
            format!(
                "its measurements contradict each other beyond {} faulty operator(s) (cloned key or lying landmarks)",
                cx.policy.faulty_operators
            ),
        );
    }
    let why = if last_compliant.is_some() {
        "its last compliant epoch is older than the freshness window"
    } else if epochs.is_empty() {
        "no accepted measurements"
    } else {
        "no compliant epoch: the evidence never excluded a disallowed place"
    };
    (ChipStatus::Unverified, why.to_owned())
}

/// Two epochs of one chip too far apart for any plausible transport.
struct Travel {
    earlier_start_ns: u64,
    later_start_ns: u64,
    later_end_ns: u64,
    detail: String,
}

/// Impossible travel between consecutive epochs with a located region. Regions are `F_f`, so
/// up to `f` lying operators cannot move them away from the chip: the finding rests on more
/// than their word.
fn impossible_travel(epochs: &[EpochReport], state: &ChipState, rules: &AuditRules) -> Vec<Travel> {
    let located: Vec<(&EpochReport, &RegionReport, (u64, u64))> = epochs
        .iter()
        .filter(|e| e.verdict != "inconsistent")
        .filter_map(|e| {
            let region = e.region.as_ref()?;
            let times = state
                .epoch_times
                .get(&(e.start_ns / rules.epoch_ns.max(1)))?;
            Some((e, region, *times))
        })
        .collect();
    let mut out = Vec::new();
    for pair in located.windows(2) {
        let [(a, ra, ta), (b, rb, tb)] = pair else {
            continue;
        };
        let gap_m =
            geodesic_lower_bound_m(ra.circle_lat, ra.circle_lon, rb.circle_lat, rb.circle_lon)
                - ra.circle_radius_m
                - rb.circle_radius_m;
        // The longest the chip could have had: from the first measurement of one epoch to the
        // last of the next, plus clock skew.
        let seconds = (tb
            .1
            .saturating_sub(ta.0)
            .saturating_add(rules.clock_skew_ns)) as f64
            / 1e9;
        let reachable_m = rules.max_travel_m_per_s * seconds;
        if gap_m > reachable_m {
            out.push(Travel {
                earlier_start_ns: a.start_ns,
                later_start_ns: b.start_ns,
                later_end_ns: b.end_ns,
                detail: format!(
                    "feasible regions of epochs starting {} and {} are at least {:.0} km apart, \
                     but only {:.0} km are reachable in {:.0} s at {:.0} km/h: a cloned key or lying landmarks",
                    a.start_ns,
                    b.start_ns,
                    gap_m / 1000.0,
                    reachable_m / 1000.0,
                    seconds,
                    rules.max_travel_m_per_s * 3.6
                ),
            });
        }
    }
    out
}

/// Silence: gaps between valid epochs (enough operators constrain, consistent), and since the
/// last one.
fn silence(epochs: &[EpochReport], state: &ChipState, cx: &JudgeContext<'_>) -> Vec<String> {
    let rules = cx.rules;
    let valid_starts: Vec<u64> = epochs
        .iter()
        .filter(|e| e.constraining_operators > e.faulty_operators && e.verdict != "inconsistent")
        .map(|e| e.start_ns)
        .collect();
    let mut out = Vec::new();
    let mut previous: Option<u64> = None;
    for &t in valid_starts
        .iter()
        .chain(std::iter::once(&cx.audit_time_ns))
    {
        if let Some(p) = previous {
            let gap = t.saturating_sub(p.saturating_add(rules.epoch_ns));
            if gap > rules.heartbeat_ns {
                out.push(format!(
                    "no valid epoch for {:.1} h (heartbeat {:.1} h)",
                    gap as f64 / 3.6e12,
                    rules.heartbeat_ns as f64 / 3.6e12
                ));
            }
        }
        previous = Some(t);
    }
    if valid_starts.is_empty() && state.accepted > 0 {
        out.push(format!(
            "no valid epoch at all: never bounded by more than {} operator(s) at once",
            cx.policy.faulty_operators
        ));
    }
    out
}

/// One epoch: caps grouped by operator, the verdict on `F_f`, its robustness, and a finding
/// naming the operator when the chip would be compliant (or consistent) only on its word.
fn judge_epoch(
    epoch: u64,
    bounds: &[(CapKey, BestBound)],
    cx: &JudgeContext<'_>,
    chip_hex: &str,
) -> (EpochReport, Vec<Finding>) {
    let start_ns = epoch.saturating_mul(cx.rules.epoch_ns);
    let faulty = cx.policy.faulty_operators;
    let mut cap_reports = Vec::new();
    for ((id, position), best) in bounds {
        let (lat, lon) = (position.lat.degrees(), position.lon.degrees());
        cap_reports.push(CapReport {
            landmark_id: id.to_string(),
            operator: best.operator.as_str().to_owned(),
            lat,
            lon,
            radius_m: best.radius_m,
            rtt_ns: best.rtt_ns,
            measurements: best.count,
        });
    }
    cap_reports.sort_by(|a, b| (a.radius_m, &a.landmark_id).cmp(&(b.radius_m, &b.landmark_id)));
    let (operators, groups) = operator_groups(bounds);
    let judged = geo::tolerant::judge_with_robustness_below(cx.world, cx.policy, &groups, faulty);
    let mut findings = Vec::new();
    let (verdict, witness, constraining, robustness, region) = match judged {
        Ok((v, robustness)) => {
            let compliant = v.verdict.kind == VerdictKind::Compliant;
            // A compliant F_f with f > 0 may still rest on contradictory evidence (F_0 empty):
            // more operators lie than assumed, or one does and the rest outvote it. Say so.
            if !compliant || faulty > 0 {
                let named = uncorroborated(cx, &groups, &operators, start_ns, chip_hex, compliant);
                findings.extend(named);
            }
            let region = v.enclosing.map(|c| RegionReport {
                lat: v.verdict.point.map_or(c.center_lat, |p| p.0),
                lon: v.verdict.point.map_or(c.center_lon, |p| p.1),
                circle_lat: c.center_lat,
                circle_lon: c.center_lon,
                circle_radius_m: c.radius_m,
            });
            let witness = v.verdict.witness.map(|w| WitnessReport {
                lat: w.lat,
                lon: w.lon,
                region: w.region,
            });
            (v.verdict.kind, witness, v.constraining, robustness, region)
        }
        Err(_) => (VerdictKind::Inconclusive, None, 0, None, None),
    };
    let (kind, verdict) = (verdict, verdict.as_str());
    let report = EpochReport {
        start_ns,
        end_ns: start_ns.saturating_add(cx.rules.epoch_ns),
        verdict: verdict.to_owned(),
        rats_tier: geo::answer::rats_tier(kind),
        faulty_operators: faulty,
        constraining_operators: constraining,
        robustness,
        witness,
        caps: cap_reports,
        region,
    };
    (report, findings)
}

/// An epoch's caps grouped by operator, in operator order.
fn operator_groups(bounds: &[(CapKey, BestBound)]) -> (Vec<OperatorName>, Vec<Vec<Cap>>) {
    let mut groups: BTreeMap<OperatorName, Vec<Cap>> = BTreeMap::new();
    for ((_, position), best) in bounds {
        groups.entry(best.operator).or_default().push(Cap {
            center_lat: position.lat.degrees(),
            center_lon: position.lon.degrees(),
            radius_m: best.radius_m as f64,
        });
    }
    (
        groups.keys().copied().collect(),
        groups.into_values().collect(),
    )
}

/// When `F_f` is not compliant but trusting everyone would make it compliant (or would make it
/// empty), the operators whose caps alone make that difference: their evidence is what a
/// lying operator's looks like, and it is named.
fn uncorroborated(
    cx: &JudgeContext<'_>,
    groups: &[Vec<Cap>],
    operators: &[OperatorName],
    start_ns: u64,
    chip_hex: &str,
    ff_compliant: bool,
) -> Option<Finding> {
    let all: Vec<Cap> = groups.iter().flatten().copied().collect();
    let f0 = geo::evaluate(cx.world, cx.policy, &all).ok()?.kind;
    let worth_naming = match f0 {
        VerdictKind::Compliant => !ff_compliant,
        VerdictKind::Inconsistent => true,
        _ => false,
    };
    if !worth_naming {
        return None;
    }
    let mut decisive = Vec::new();
    for (i, op) in operators.iter().enumerate() {
        let rest: Vec<Cap> = groups
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .flat_map(|(_, g)| g.iter().copied())
            .collect();
        let without = geo::evaluate(cx.world, cx.policy, &rest).ok()?.kind;
        let differs = match f0 {
            VerdictKind::Compliant => without != VerdictKind::Compliant,
            _ => without != VerdictKind::Inconsistent,
        };
        if differs {
            decisive.push(op.as_str().to_owned());
        }
    }
    if decisive.is_empty() {
        return None;
    }
    let what = if f0 == VerdictKind::Compliant {
        "compliant only on the word of"
    } else {
        "contradicted, beyond every other operator's caps, by"
    };
    Some(Finding {
        kind: FindingKind::UncorroboratedEvidence,
        chip_id: Some(chip_hex.to_owned()),
        landmark_id: None,
        log_index: None,
        log_origin: None,
        detail: format!(
            "epoch starting {start_ns}: the chip's region is {what} operator(s) {}; with up to {} faulty operator(s) that is not enough",
            decisive.iter().map(|d| format!("{d:?}")).collect::<Vec<_>>().join(", "),
            cx.policy.faulty_operators
        ),
    })
}
