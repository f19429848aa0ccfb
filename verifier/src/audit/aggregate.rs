//! Folding accepted measurements into per-chip state in bounded memory: the best bound per
//! landmark per epoch, counter observations, and nonces seen.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use lightcone::{ChipId, DistanceBound, LandmarkId, OperatorName, Speed};

use super::certificates::{Certificates, LandmarkView};
use super::ingest::{Accepted, Responder};
use super::judge::geodesic_lower_bound_m;
use super::model::{Finding, FindingKind};
use super::rules::AuditRules;

/// Which cap a bound belongs to: the landmark and the position its certificates gave it at
/// the measurement's time (a landmark re-certified elsewhere within an epoch has two caps).
pub type CapKey = (LandmarkId, lightcone::Position);

/// The best bound one landmark obtained on one chip in one epoch, from one registered
/// position.
#[derive(Clone, Copy, Debug)]
pub struct BestBound {
    /// Who runs the landmark (by the certificates valid at the measurement's time).
    pub operator: lightcone::OperatorName,
    /// Smallest distance bound, metres.
    pub radius_m: u64,
    /// RTT of that measurement, ns.
    pub rtt_ns: u64,
    /// Measurements this landmark made in the epoch.
    pub count: u32,
}

/// When a chip signed, as far as the landmarks can tell, and with which counter.
#[derive(Clone, Copy, Debug)]
pub struct CounterObservation {
    /// The landmark whose clock dated it.
    pub landmark: LandmarkId,
    /// Its operator.
    pub operator: lightcone::OperatorName,
    /// The chip's counter.
    pub counter: u64,
    /// Challenge sent (landmark wall clock), ns.
    pub sent_ns: u64,
    /// Response received (sent + RTT), ns.
    pub received_ns: u64,
    /// Log index, for the finding.
    pub index: u64,
}

/// Everything the audit keeps about one chip while streaming.
#[derive(Default)]
pub struct ChipState {
    /// Epoch index → (landmark, registered position) → best bound.
    pub epochs: BTreeMap<u64, HashMap<CapKey, BestBound>>,
    /// Epoch index → (first, last) measurement time, ns.
    pub epoch_times: BTreeMap<u64, (u64, u64)>,
    /// Every counter observation.
    pub counters: Vec<CounterObservation>,
    /// Accepted measurements.
    pub accepted: u64,
    /// Rejected measurements.
    pub rejected: u64,
    /// Whether any failure was the chip's own fault.
    pub invalid_reason: Option<String>,
}

/// One landmark measuring another, with both positions as their certificates gave them at the
/// measurement's time.
#[derive(Clone, Copy, Debug)]
pub struct CrossCheck {
    /// The measuring landmark.
    pub measurer: LandmarkId,
    /// The landmark that answered.
    pub responder: LandmarkId,
    /// The measurer's operator.
    pub measurer_operator: lightcone::OperatorName,
    /// The responder's operator.
    pub responder_operator: lightcone::OperatorName,
    /// The RTT, ns.
    pub rtt_ns: u64,
    /// The least RTT light allows between the registered positions (uncertainties
    /// subtracted), ns.
    pub min_rtt_ns: f64,
    /// The measurer's bound on its distance to the responder, metres (c · RTT / 2 plus the
    /// measurer's uncertainty).
    pub bound_m: f64,
    /// An upper bound on the distance between the registered positions, metres.
    pub registered_apart_m: f64,
    /// Log index.
    pub index: u64,
}

/// The streaming fold over all measurement outcomes.
pub struct Aggregate<'a> {
    rules: &'a AuditRules,
    speed: Speed,
    certs: &'a Certificates,
    nonces: HashSet<(LandmarkId, [u8; 32])>,
    /// Per-chip state.
    pub chips: HashMap<ChipId, ChipState>,
    /// Landmark-to-landmark measurements.
    pub cross_checks: Vec<CrossCheck>,
    /// Accepted measurements per measuring landmark.
    pub per_landmark: HashMap<LandmarkId, u64>,
    /// Latest measurement time seen, ns.
    pub latest_ns: u64,
}

impl<'a> Aggregate<'a> {
    /// An empty fold.
    pub fn new(rules: &'a AuditRules, speed: Speed, certs: &'a Certificates) -> Self {
        Aggregate {
            rules,
            speed,
            certs,
            nonces: HashSet::new(),
            chips: HashMap::new(),
            cross_checks: Vec::new(),
            per_landmark: HashMap::new(),
            latest_ns: 0,
        }
    }

    /// Notes a rejected measurement of `chip`.
    pub fn reject(&mut self, chip: Option<ChipId>) {
        if let Some(c) = chip {
            self.chips.entry(c).or_default().rejected += 1;
        }
    }

    /// Folds one accepted measurement in; a reused nonce, or a landmark its certificates
    /// cannot attribute to one operator, returns a finding instead.
    pub fn accept(&mut self, a: &Accepted) -> Option<Finding> {
        let m = &a.measurement;
        let challenge = &m.challenge;
        // The full (landmark, nonce): a landmark that saw another's challenge cannot craft a
        // colliding key and get honest measurements dropped as repeats.
        if !self
            .nonces
            .insert((challenge.landmark_id, challenge.nonce.0 .0))
        {
            return Some(
                self.finding(
                    a,
                    FindingKind::NonceReuse,
                    "this challenge (landmark, nonce) was already answered earlier in the log; \
                 the repeat is not counted"
                        .into(),
                ),
            );
        }
        let sent = m.sent_at_ns;
        let sent_s = sent / 1_000_000_000;
        let landmark = match self.certs.landmark_view_at(&a.landmark, sent_s) {
            Ok(Some(view)) => view,
            Ok(None) => return None, // unreachable: ingest checked the certificate
            Err(why) => {
                return Some(self.finding(
                    a,
                    FindingKind::ConflictingCertificates,
                    format!("the measuring landmark's {why}: the measurement is not counted"),
                ))
            }
        };
        self.latest_ns = self.latest_ns.max(sent);
        *self.per_landmark.entry(a.landmark).or_default() += 1;
        match a.responder {
            Responder::Landmark(responder) => {
                let peer = match self.certs.landmark_view_at(&responder, sent_s) {
                    Ok(Some(view)) => view,
                    Ok(None) => return None,
                    Err(why) => {
                        return Some(self.finding(
                            a,
                            FindingKind::ConflictingCertificates,
                            format!(
                                "the answering landmark's {why}: the cross-check is not counted"
                            ),
                        ))
                    }
                };
                self.cross_checks
                    .push(cross_check(a, &landmark, &peer, responder));
            }
            Responder::Chip(chip) => {
                let Some(timing) = self.certs.device_timing_at(&chip, sent_s) else {
                    return None; // unreachable: ingest checked the certificate
                };
                let processing = timing
                    .credited_ns(m.response.map_or(0, |r| r.processing_ns), self.rules.credit);
                let bound = DistanceBound::from_rtt(
                    m.rtt_ns,
                    processing,
                    landmark.uncertainty_m,
                    self.speed,
                );
                self.fold_chip_bound(a, chip, &landmark, bound.metres());
            }
        }
        None
    }

    fn fold_chip_bound(&mut self, a: &Accepted, chip: ChipId, lm: &LandmarkView, radius_m: u64) {
        let m = &a.measurement;
        let sent = m.sent_at_ns;
        let epoch = sent / self.rules.epoch_ns.max(1);
        let state = self.chips.entry(chip).or_default();
        state.accepted += 1;
        let best = state
            .epochs
            .entry(epoch)
            .or_default()
            .entry((a.landmark, lm.position))
            .or_insert(BestBound {
                operator: lm.operator,
                radius_m: u64::MAX,
                rtt_ns: 0,
                count: 0,
            });
        best.count = best.count.saturating_add(1);
        // Ties go to the smaller RTT, so the report does not depend on log order.
        if (radius_m, m.rtt_ns) < (best.radius_m, best.rtt_ns) {
            best.radius_m = radius_m;
            best.rtt_ns = m.rtt_ns;
        }
        let times = state.epoch_times.entry(epoch).or_insert((sent, sent));
        times.0 = times.0.min(sent);
        times.1 = times.1.max(sent);
        // SPDM evidence carries no counter: its freshness rests on the derived nonce alone.
        if let Some(response) = m.response {
            state.counters.push(CounterObservation {
                landmark: a.landmark,
                operator: lm.operator,
                counter: response.counter,
                sent_ns: sent,
                received_ns: sent.saturating_add(m.rtt_ns),
                index: a.index,
            });
        }
    }

    fn finding(&self, a: &Accepted, kind: FindingKind, detail: String) -> Finding {
        Finding {
            kind,
            chip_id: Some(a.measurement.chip_id().to_string()),
            landmark_id: Some(a.landmark.to_string()),
            log_index: Some(a.index),
            log_origin: None,
            detail,
        }
    }
}

/// A cross-check between two landmarks at the positions their certificates gave them.
fn cross_check(
    a: &Accepted,
    measurer: &LandmarkView,
    peer: &LandmarkView,
    responder: LandmarkId,
) -> CrossCheck {
    let deg = |p: lightcone::Position| (p.lat.degrees(), p.lon.degrees());
    let (pa, pb) = (deg(measurer.position), deg(peer.position));
    let d = geodesic_lower_bound_m(pa.0, pa.1, pb.0, pb.1)
        - measurer.uncertainty_m as f64
        - peer.uncertainty_m as f64;
    let c = Speed::LIGHT.m_per_s() as f64;
    // Light needs 2d/c for the round trip; any processing only adds to the RTT.
    let min_rtt_ns = (2.0 * d.max(0.0) / c) * 1e9;
    let rtt = a.measurement.rtt_ns;
    CrossCheck {
        measurer: a.landmark,
        responder,
        measurer_operator: measurer.operator,
        responder_operator: peer.operator,
        rtt_ns: rtt,
        min_rtt_ns,
        bound_m: c * (rtt as f64 / 1e9) / 2.0 + measurer.uncertainty_m as f64 + 1.0,
        registered_apart_m: crate::geo::tolerant::geodesic_upper_bound_m(pa, pb),
        index: a.index,
    }
}

/// What a chip's counters say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CounterVerdict {
    /// Nothing wrong.
    Clean,
    /// Evidence against the chip that does not rest on the clocks of `f` operators: a cloned
    /// key or a reset device.
    ChipAtFault(String),
    /// Counter order contradicts the landmarks' clocks, but `f` operators could have forged it
    /// by dating their own measurements: the landmarks named are reported, the chip is not
    /// blamed.
    TimingConflict {
        /// What conflicts, in a sentence.
        detail: String,
        /// The landmarks whose timestamps take part.
        landmarks: Vec<LandmarkId>,
    },
}

/// Counter rollback. A counter repeated over two different challenges is the chip's own doing
/// (no clock is involved). The chip signed `i` before `j` when `counter_i < counter_j`, so
/// challenge `i` was sent before response `j` arrived: a pair where response `j` arrived (by
/// one landmark's clock) more than the tolerated skew before challenge `i` was sent (by
/// another's) cannot come from one honest device, or else one of the two clocks lies. Each such
/// pair is an edge between the two landmarks' operators; the chip is blamed only when no set of
/// `faulty` operators touches every edge (so the evidence survives any `faulty` liars).
pub fn counter_rollback(
    observations: &mut [CounterObservation],
    skew_ns: u64,
    faulty: usize,
) -> CounterVerdict {
    counter_rollback_named(observations, skew_ns, faulty, &|i| i.to_string())
}

/// [`counter_rollback`], with `name` saying which entry an index is (the origin and index in
/// its log, when several logs are audited together).
pub fn counter_rollback_named(
    observations: &mut [CounterObservation],
    skew_ns: u64,
    faulty: usize,
    name: &dyn Fn(u64) -> String,
) -> CounterVerdict {
    observations.sort_by_key(|o| (o.counter, o.sent_ns));
    for pair in observations.windows(2) {
        if let [a, b] = pair {
            if a.counter == b.counter {
                return CounterVerdict::ChipAtFault(format!(
                    "counter {} appears in two responses to different challenges (log entries {} and {}): \
                     a cloned key or a reset device",
                    a.counter,
                    name(a.index),
                    name(b.index)
                ));
            }
        }
    }
    let edges = ordering_conflicts(observations, skew_ns);
    let Some((_, &(later, earlier))) = edges.iter().next() else {
        return CounterVerdict::Clean;
    };
    let detail = format!(
        "counter went backwards: response with counter {} (entry {}, landmark {}) arrived before the \
         challenge answered with the lower counter {} (entry {}, landmark {}) was sent",
        later.counter,
        name(later.index),
        later.landmark,
        earlier.counter,
        name(earlier.index),
        earlier.landmark
    );
    let operator_edges: BTreeSet<(OperatorName, OperatorName)> = edges
        .values()
        .map(|(a, b)| order_pair(a.operator, b.operator))
        .collect();
    if has_small_cover(&operator_edges, faulty) {
        let mut landmarks: Vec<LandmarkId> = edges
            .values()
            .flat_map(|(a, b)| [a.landmark, b.landmark])
            .collect();
        landmarks.sort();
        landmarks.dedup();
        CounterVerdict::TimingConflict { detail, landmarks }
    } else {
        CounterVerdict::ChipAtFault(format!(
            "{detail}; seen by the clocks of more operators than may be faulty: a cloned key or a reset device"
        ))
    }
}

/// Observation pairs (later counter, earlier counter) in contradiction with their timestamps,
/// one example per pair of landmarks. `observations` is sorted by counter, counters distinct.
#[allow(clippy::type_complexity)]
fn ordering_conflicts(
    observations: &[CounterObservation],
    skew_ns: u64,
) -> BTreeMap<(LandmarkId, LandmarkId), (CounterObservation, CounterObservation)> {
    // Per landmark, the observation with the latest send time among lower counters.
    let mut latest: HashMap<LandmarkId, CounterObservation> = HashMap::new();
    let mut out = BTreeMap::new();
    for o in observations {
        for prev in latest.values() {
            if o.received_ns.saturating_add(skew_ns) < prev.sent_ns {
                out.entry((o.landmark, prev.landmark))
                    .or_insert((*o, *prev));
            }
        }
        let slot = latest.entry(o.landmark).or_insert(*o);
        if o.sent_ns > slot.sent_ns {
            *slot = *o;
        }
    }
    out
}

fn order_pair(a: OperatorName, b: OperatorName) -> (OperatorName, OperatorName) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

/// Whether at most `k` operators touch every edge (a vertex cover of size ≤ k; a loop needs
/// its operator). Exhaustive over the operators involved; `k` is at most 3.
fn has_small_cover(edges: &BTreeSet<(OperatorName, OperatorName)>, k: usize) -> bool {
    let vertices: Vec<OperatorName> = edges
        .iter()
        .flat_map(|(a, b)| [*a, *b])
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let covers = |set: &[OperatorName]| {
        edges
            .iter()
            .all(|(a, b)| set.contains(a) || set.contains(b))
    };
    fn choose(
        vertices: &[OperatorName],
        k: usize,
        chosen: &mut Vec<OperatorName>,
        covers: &dyn Fn(&[OperatorName]) -> bool,
    ) -> bool {
        if covers(chosen) {
            return true;
        }
        if k == 0 {
            return false;
        }
        for (i, v) in vertices.iter().enumerate() {
            chosen.push(*v);
            let rest = vertices.get(i + 1..).unwrap_or(&[]);
            if choose(rest, k - 1, chosen, covers) {
                return true;
            }
            chosen.pop();
        }
        false
    }
    choose(&vertices, k, &mut Vec::new(), &covers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(l: u8, op: &str, counter: u64, sent_s: u64) -> CounterObservation {
        CounterObservation {
            landmark: LandmarkId::from([l; 16]),
            operator: OperatorName::new(op).unwrap(),
            counter,
            sent_ns: sent_s * 1_000_000_000,
            received_ns: sent_s * 1_000_000_000 + 1_000_000,
            index: u64::from(l) * 100 + counter,
        }
    }

    #[test]
    fn one_backdating_operator_cannot_frame_the_chip() {
        // Honest landmark 1 (operator A) sees counters 1..3 at 100..300 s; landmark 2 (operator
        // B) logs counter 10, really signed later, as sent at 50 s.
        let mut o = vec![
            obs(1, "A", 1, 100),
            obs(1, "A", 2, 200),
            obs(1, "A", 3, 300),
            obs(2, "B", 10, 50),
        ];
        let v = counter_rollback(&mut o, 1_000_000_000, 1);
        assert!(matches!(v, CounterVerdict::TimingConflict { .. }), "{v:?}");
        // Trusting every operator (f = 0), the same evidence blames the chip.
        let v0 = counter_rollback(&mut o, 1_000_000_000, 0);
        assert!(matches!(v0, CounterVerdict::ChipAtFault(_)), "{v0:?}");
    }

    #[test]
    fn a_clone_seen_by_independent_operator_pairs_is_the_chip() {
        // Two boards with one key answer from one counter start: operators A/B see one board,
        // C/D the other; conflicts span disjoint operator pairs.
        let mut o = vec![
            obs(1, "A", 1, 100),
            obs(2, "B", 2, 200),
            obs(3, "C", 1, 150),
        ];
        // A repeated counter is the chip's, whoever dated it.
        assert!(matches!(
            counter_rollback(&mut o, 1_000_000_000, 3),
            CounterVerdict::ChipAtFault(_)
        ));
        let mut o = vec![
            obs(1, "A", 5, 500),
            obs(2, "B", 6, 600),
            obs(3, "C", 7, 100),
            obs(4, "D", 8, 110),
        ];
        // (7 @C, 5 @A), (7 @C, 6 @B), (8 @D, 5 @A), (8 @D, 6 @B): no single operator covers.
        assert!(matches!(
            counter_rollback(&mut o, 1_000_000_000, 1),
            CounterVerdict::ChipAtFault(_)
        ));
        assert!(matches!(
            counter_rollback(&mut o, 1_000_000_000, 2),
            CounterVerdict::TimingConflict { .. }
        ));
    }

    #[test]
    fn honest_order_is_clean() {
        let mut o = vec![
            obs(1, "A", 1, 100),
            obs(2, "B", 2, 101),
            obs(1, "A", 3, 102),
        ];
        assert_eq!(
            counter_rollback(&mut o, 1_000_000_000, 1),
            CounterVerdict::Clean
        );
    }
}
