//! Folding accepted measurements into per-chip state in bounded memory: the best bound per
//! landmark per epoch, counter observations, and nonces seen.

use std::collections::{BTreeMap, HashMap, HashSet};

use lightcone::{ChipId, DistanceBound, LandmarkId, Speed};

use super::certificates::Certificates;
use super::ingest::{Accepted, Responder};
use super::model::{Finding, FindingKind};
use super::rules::AuditRules;

/// The best bound one landmark obtained on one chip in one epoch.
#[derive(Clone, Copy, Debug)]
pub struct BestBound {
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
    /// Epoch index → landmark → best bound.
    pub epochs: BTreeMap<u64, HashMap<LandmarkId, BestBound>>,
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

/// One landmark measuring another.
#[derive(Clone, Copy, Debug)]
pub struct CrossCheck {
    /// The measuring landmark.
    pub measurer: LandmarkId,
    /// The landmark that answered.
    pub responder: LandmarkId,
    /// The RTT, ns.
    pub rtt_ns: u64,
    /// Log index.
    pub index: u64,
}

/// The streaming fold over all measurement outcomes.
pub struct Aggregate<'a> {
    rules: &'a AuditRules,
    speed: Speed,
    certs: &'a Certificates,
    nonces: HashSet<u128>,
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
    pub fn reject(&mut self, chip: Option<ChipId>, chip_at_fault: Option<ChipId>, why: &str) {
        if let Some(c) = chip {
            self.chips.entry(c).or_default().rejected += 1;
        }
        if let Some(c) = chip_at_fault {
            let state = self.chips.entry(c).or_default();
            state.invalid_reason.get_or_insert_with(|| why.to_owned());
        }
    }

    /// Folds one accepted measurement in; a reused nonce returns a finding instead.
    pub fn accept(&mut self, a: &Accepted) -> Option<Finding> {
        let m = &a.measurement;
        let challenge = &m.body.response.body.challenge;
        let nonce = challenge.nonce.0 .0;
        let mut key = [0u8; 16];
        for (k, (n, l)) in key
            .iter_mut()
            .zip(nonce.iter().zip(challenge.landmark_id.to_bytes()))
        {
            *k = n ^ l;
        }
        if !self.nonces.insert(u128::from_le_bytes(key)) {
            return Some(Finding {
                kind: FindingKind::NonceReuse,
                chip_id: Some(m.chip_id().to_string()),
                landmark_id: Some(a.landmark.to_string()),
                log_index: Some(a.index),
                detail:
                    "this challenge (landmark, nonce) was already answered earlier in the log; \
                         the repeat is not counted"
                        .into(),
            });
        }
        let sent = m.body.sent_at_ns;
        self.latest_ns = self.latest_ns.max(sent);
        *self.per_landmark.entry(a.landmark).or_default() += 1;
        match a.responder {
            Responder::Landmark(responder) => {
                self.cross_checks.push(CrossCheck {
                    measurer: a.landmark,
                    responder,
                    rtt_ns: m.body.rtt_ns,
                    index: a.index,
                });
            }
            Responder::Chip(chip) => {
                let sent_s = sent / 1_000_000_000;
                let (Some(device), Some(landmark)) = (
                    self.certs.chip_at(&chip, sent_s),
                    self.certs.landmark_at(&a.landmark, sent_s),
                ) else {
                    return None; // unreachable: ingest checked both
                };
                let processing = device
                    .cert
                    .body
                    .timing
                    .credited_ns(m.body.response.body.processing_ns, self.rules.credit);
                let bound = DistanceBound::from_rtt(
                    m.body.rtt_ns,
                    processing,
                    u64::from(landmark.cert.body.uncertainty_m),
                    self.speed,
                );
                let epoch = sent / self.rules.epoch_ns.max(1);
                let state = self.chips.entry(chip).or_default();
                state.accepted += 1;
                let best = state
                    .epochs
                    .entry(epoch)
                    .or_default()
                    .entry(a.landmark)
                    .or_insert(BestBound {
                        radius_m: u64::MAX,
                        rtt_ns: 0,
                        count: 0,
                    });
                best.count = best.count.saturating_add(1);
                if bound.metres() < best.radius_m {
                    best.radius_m = bound.metres();
                    best.rtt_ns = m.body.rtt_ns;
                }
                let times = state.epoch_times.entry(epoch).or_insert((sent, sent));
                times.0 = times.0.min(sent);
                times.1 = times.1.max(sent);
                state.counters.push(CounterObservation {
                    counter: m.body.response.body.counter,
                    sent_ns: sent,
                    received_ns: sent.saturating_add(m.body.rtt_ns),
                    index: a.index,
                });
            }
        }
        None
    }
}

/// Counter rollback: the chip signed `i` before `j` when `counter_i < counter_j`, so challenge
/// `i` was sent before response `j` arrived. A pair where response `j` arrived (by one landmark's
/// clock) more than the tolerated skew before challenge `i` was sent (by another's), or two
/// responses with one counter value, cannot come from one honest device.
pub fn counter_rollback(observations: &mut [CounterObservation], skew_ns: u64) -> Option<String> {
    observations.sort_by_key(|o| (o.counter, o.sent_ns));
    let mut latest_sent: Option<&CounterObservation> = None;
    for pair in observations.windows(2) {
        if let [a, b] = pair {
            if a.counter == b.counter {
                return Some(format!(
                    "counter {} appears in two responses (log entries {} and {}): a cloned key or a reset device",
                    a.counter, a.index, b.index
                ));
            }
        }
    }
    for o in observations.iter() {
        if let Some(prev) = latest_sent {
            if o.received_ns.saturating_add(skew_ns) < prev.sent_ns {
                return Some(format!(
                    "counter went backwards: response with counter {} (entry {}) arrived before the challenge answered \
                     with the lower counter {} (entry {}) was sent",
                    o.counter, o.index, prev.counter, prev.index
                ));
            }
        }
        if latest_sent.is_none_or(|p| o.sent_ns > p.sent_ns) {
            latest_sent = Some(o);
        }
    }
    None
}
