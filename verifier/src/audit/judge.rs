//! From aggregated measurements to judgements: landmark cross-checks, epoch verdicts, chip
//! status, impossible travel and silence.

use std::collections::{HashMap, HashSet};

use lightcone::{ChipId, LandmarkId, Speed};
use rayon::prelude::*;

use super::aggregate::{counter_rollback, ChipState, CrossCheck};
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

/// Landmarks whose RTT to another landmark is faster than light allows for their registered
/// positions. Each impossible pair blames the member with more distinct impossible partners
/// (both on a tie).
pub fn mispositioned_landmarks(
    checks: &[CrossCheck],
    certs: &Certificates,
    findings: &mut Vec<Finding>,
) -> (HashMap<LandmarkId, String>, HashMap<LandmarkId, (u64, u64)>) {
    let mut partners: HashMap<LandmarkId, HashSet<LandmarkId>> = HashMap::new();
    let mut tally: HashMap<LandmarkId, (u64, u64)> = HashMap::new();
    let mut bad_pairs: Vec<(LandmarkId, LandmarkId, u64, u64, f64)> = Vec::new();
    for c in checks {
        let (Some(a), Some(b)) = (
            certs.landmarks.get(&c.measurer),
            certs.landmarks.get(&c.responder),
        ) else {
            continue;
        };
        let (Some(a), Some(b)) = (a.first(), b.first()) else {
            continue;
        };
        let (pa, pb) = (a.cert.body.position, b.cert.body.position);
        let d = geodesic_lower_bound_m(
            pa.lat.degrees(),
            pa.lon.degrees(),
            pb.lat.degrees(),
            pb.lon.degrees(),
        ) - f64::from(a.cert.body.uncertainty_m)
            - f64::from(b.cert.body.uncertainty_m);
        // Light needs 2d/c for the round trip; any processing only adds to the RTT.
        let min_rtt_ns = (2.0 * d.max(0.0) / Speed::LIGHT.m_per_s() as f64) * 1e9;
        let impossible = (c.rtt_ns as f64) < min_rtt_ns;
        for id in [c.measurer, c.responder] {
            let t = tally.entry(id).or_default();
            t.0 += 1;
            t.1 += u64::from(impossible);
        }
        if impossible {
            partners.entry(c.measurer).or_default().insert(c.responder);
            partners.entry(c.responder).or_default().insert(c.measurer);
            bad_pairs.push((c.measurer, c.responder, c.rtt_ns, c.index, min_rtt_ns));
        }
    }
    let degree = |id: &LandmarkId| partners.get(id).map_or(0, HashSet::len);
    let mut blamed: HashMap<LandmarkId, String> = HashMap::new();
    for (a, b, rtt, index, min_rtt) in &bad_pairs {
        let (da, db) = (degree(a), degree(b));
        for (id, other) in [(a, b), (b, a)] {
            let mine = if id == a { da } else { db };
            let theirs = if id == a { db } else { da };
            if mine >= theirs && !blamed.contains_key(id) {
                let why = format!(
                    "RTT {rtt} ns to landmark {other} (log entry {index}) is below the light-speed minimum \
                     {min_rtt:.0} ns for their registered positions; impossible with {mine} landmark(s)"
                );
                findings.push(Finding {
                    kind: FindingKind::MispositionedLandmark,
                    chip_id: None,
                    landmark_id: Some(id.to_string()),
                    log_index: Some(*index),
                    detail: format!("{why}: its measurements are excluded"),
                });
                blamed.insert(*id, why);
            }
        }
    }
    (blamed, tally)
}

/// Judges one chip: epoch verdicts, status, travel and silence findings.
#[allow(clippy::too_many_arguments)]
pub fn judge_chip(
    chip: &ChipId,
    mut state: ChipState,
    certs: &Certificates,
    excluded: &HashMap<LandmarkId, String>,
    policy: &Policy,
    world: &World,
    rules: &AuditRules,
    audit_time_ns: u64,
) -> (ChipReport, Vec<Finding>) {
    let mut findings = Vec::new();
    let hex = chip.to_string();
    let (model, vendor) = certs
        .chips
        .get(chip)
        .and_then(|v| v.first())
        .map(|c| (c.cert.body.model.as_str().to_owned(), c.vendor.clone()))
        .unwrap_or_default();

    if let Some(why) = counter_rollback(&mut state.counters, rules.clock_skew_ns) {
        findings.push(Finding {
            kind: FindingKind::CounterRollback,
            chip_id: Some(hex.clone()),
            landmark_id: None,
            log_index: None,
            detail: why.clone(),
        });
        state.invalid_reason.get_or_insert(why);
    }
    state.counters = Vec::new();

    let epoch_list: Vec<(u64, Vec<(LandmarkId, super::aggregate::BestBound)>)> = state
        .epochs
        .iter()
        .map(|(e, m)| {
            (
                *e,
                m.iter()
                    .filter(|(l, _)| !excluded.contains_key(*l))
                    .map(|(l, b)| (*l, *b))
                    .collect(),
            )
        })
        .collect();
    let mut epochs: Vec<EpochReport> = epoch_list
        .par_iter()
        .map(|(e, bounds)| judge_epoch(*e, bounds, certs, policy, world, rules))
        .collect();
    epochs.sort_by_key(|e| e.start_ns);

    // Impossible travel between consecutive epochs with a located region.
    let located: Vec<(&EpochReport, (u64, u64))> = epochs
        .iter()
        .filter(|e| e.region.is_some() && e.verdict != "inconsistent")
        .filter_map(|e| {
            state
                .epoch_times
                .get(&(e.start_ns / rules.epoch_ns.max(1)))
                .map(|t| (e, *t))
        })
        .collect();
    for pair in located.windows(2) {
        let [(a, ta), (b, tb)] = pair else { continue };
        let (Some(ra), Some(rb)) = (&a.region, &b.region) else {
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
            findings.push(Finding {
                kind: FindingKind::ImpossibleTravel,
                chip_id: Some(hex.clone()),
                landmark_id: None,
                log_index: None,
                detail: format!(
                    "feasible regions of epochs starting {} and {} are at least {:.0} km apart, \
                     but only {:.0} km are reachable in {:.0} s at {:.0} km/h: a cloned key or a lying landmark",
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

    // Silence: gaps between valid (quorate, consistent) epochs, and since the last one.
    let valid_starts: Vec<u64> = epochs
        .iter()
        .filter(|e| e.caps.len() >= rules.min_landmarks && e.verdict != "inconsistent")
        .map(|e| e.start_ns)
        .collect();
    let mut previous: Option<u64> = None;
    for &t in valid_starts.iter().chain(std::iter::once(&audit_time_ns)) {
        if let Some(p) = previous {
            let gap = t.saturating_sub(p.saturating_add(rules.epoch_ns));
            if gap > rules.heartbeat_ns {
                findings.push(Finding {
                    kind: FindingKind::Silence,
                    chip_id: Some(hex.clone()),
                    landmark_id: None,
                    log_index: None,
                    detail: format!(
                        "no valid epoch for {:.1} h (heartbeat {:.1} h)",
                        gap as f64 / 3.6e12,
                        rules.heartbeat_ns as f64 / 3.6e12
                    ),
                });
            }
        }
        previous = Some(t);
    }
    if valid_starts.is_empty() && state.accepted > 0 {
        findings.push(Finding {
            kind: FindingKind::Silence,
            chip_id: Some(hex.clone()),
            landmark_id: None,
            log_index: None,
            detail: format!(
                "no valid epoch at all: never bounded by {} landmark(s) at once",
                rules.min_landmarks
            ),
        });
    }

    let fresh_from = audit_time_ns.saturating_sub(rules.freshness_ns);
    let last_compliant = epochs
        .iter()
        .filter(|e| e.verdict == "compliant")
        .map(|e| e.start_ns)
        .max();
    let violation = epochs.iter().find(|e| e.verdict == "violation");
    let inconsistent = epochs.iter().any(|e| e.verdict == "inconsistent");
    let (status, reason) = if let Some(why) = &state.invalid_reason {
        (ChipStatus::Invalid, why.clone())
    } else if !certs.chips.contains_key(chip) {
        (
            ChipStatus::Invalid,
            "no valid device certificate in the log".to_owned(),
        )
    } else if let Some(v) = violation {
        (
            ChipStatus::Violation,
            format!(
                "epoch starting {} lies wholly outside the permitted regions",
                v.start_ns
            ),
        )
    } else if last_compliant.is_some_and(|t| t.saturating_add(rules.epoch_ns) >= fresh_from) {
        (
            ChipStatus::Verified,
            "a compliant epoch within the freshness window".to_owned(),
        )
    } else if inconsistent {
        (
            ChipStatus::Inconsistent,
            "its measurements contradict each other (cloned key or lying landmark)".to_owned(),
        )
    } else if last_compliant.is_some() {
        (
            ChipStatus::Unverified,
            "its last compliant epoch is older than the freshness window".to_owned(),
        )
    } else if epochs.is_empty() {
        (
            ChipStatus::Unverified,
            "no accepted measurements".to_owned(),
        )
    } else {
        (
            ChipStatus::Unverified,
            "no compliant epoch: the evidence never excluded a disallowed place".to_owned(),
        )
    };
    let report = ChipReport {
        chip_id: hex,
        model,
        vendor,
        status,
        reason,
        last_compliant_ns: last_compliant,
        measurements: state.accepted,
        rejected: state.rejected,
        epochs,
    };
    (report, findings)
}

fn judge_epoch(
    epoch: u64,
    bounds: &[(LandmarkId, super::aggregate::BestBound)],
    certs: &Certificates,
    policy: &Policy,
    world: &World,
    rules: &AuditRules,
) -> EpochReport {
    let start_ns = epoch.saturating_mul(rules.epoch_ns);
    let mut caps = Vec::new();
    let mut cap_reports = Vec::new();
    for (id, best) in bounds {
        let Some(lm) = certs.landmarks.get(id).and_then(|v| v.first()) else {
            continue;
        };
        let p = lm.cert.body.position;
        caps.push(Cap {
            center_lat: p.lat.degrees(),
            center_lon: p.lon.degrees(),
            radius_m: best.radius_m as f64,
        });
        cap_reports.push(CapReport {
            landmark_id: id.to_string(),
            lat: p.lat.degrees(),
            lon: p.lon.degrees(),
            radius_m: best.radius_m,
            rtt_ns: best.rtt_ns,
            measurements: best.count,
        });
    }
    cap_reports.sort_by_key(|c| c.radius_m);
    let region = geo::feasible_region_summary(&caps)
        .ok()
        .flatten()
        .map(|r| RegionReport {
            lat: r.lat,
            lon: r.lon,
            circle_lat: r.enclosing.center_lat,
            circle_lon: r.enclosing.center_lon,
            circle_radius_m: r.enclosing.radius_m,
        });
    let (verdict, witness) = match geo::evaluate(world, policy, &caps) {
        Ok(v) if v.kind == VerdictKind::Inconsistent => ("inconsistent", None),
        // Quorum: too few landmarks make the evidence too weak to decide either way.
        Ok(_) if caps.len() < rules.min_landmarks => ("inconclusive", None),
        Ok(v) => (
            v.kind.as_str(),
            v.witness.map(|w| WitnessReport {
                lat: w.lat,
                lon: w.lon,
                region: w.region,
            }),
        ),
        Err(_) => ("inconclusive", None),
    };
    EpochReport {
        start_ns,
        end_ns: start_ns.saturating_add(rules.epoch_ns),
        verdict: verdict.to_owned(),
        witness,
        caps: cap_reports,
        region,
    }
}
