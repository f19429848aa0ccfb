//! The audit against the adversaries it claims to resist (DESIGN §1a): the chip's owner, up to
//! `f` faulty landmark operators, certificates in any order. Each test is the attacker's best
//! move from the issue that found it, with real keys, real signatures and a real log: no chip
//! outside the permitted region comes out verified.

use ed25519_dalek::SigningKey;
use lightcone::{
    DeviceCertificate, LandmarkId, LogRecord, ModelName, ResponseTiming, Signer, Validity, Wire,
};
use lightcone_verifier::audit::model::{AuditReport, ChipStatus, FindingKind};
use lightcone_verifier::audit::{audit, AuditOptions, AuditRules};
use lightcone_verifier::geo::Policy;
use lightcone_verifier::log::Log;
use lightcone_verifier::registry::Trust;
use lightcone_verifier::synth::{long_validity, SynthFleet};
use proptest::prelude::*;
use rand_core::{CryptoRng, RngCore, SeedableRng};

const T0_NS: u64 = 1_790_000_000 * 1_000_000_000;
const HOUR_NS: u64 = 3600 * 1_000_000_000;

const FRA_A: (f64, f64) = (50.11, 8.68);
const FRA_B: (f64, f64) = (50.12, 8.70);
const PARIS: (f64, f64) = (48.86, 2.35);
const LONDON: (f64, f64) = (51.51, -0.13);
const SINGAPORE: (f64, f64) = (1.35, 103.82);
const KUALA_LUMPUR: (f64, f64) = (3.139, 101.687);
const TOKYO: (f64, f64) = (35.68, 139.69);
const SEOUL: (f64, f64) = (37.57, 126.98);
const SEOUL_B: (f64, f64) = (37.55, 126.99);
const BEIJING: (f64, f64) = (39.90, 116.40);
const BEIJING_B: (f64, f64) = (39.95, 116.30);
const URUMQI: (f64, f64) = (43.83, 87.62);

const POLICY: &str = r#"
permitted = ["*"]
forbidden = ["CN", "RU"]
sea = "permitted"
faulty_operators = 1
[audit]
epoch_minutes = 15
freshness_hours = 24
heartbeat_hours = 48
"#;

/// A fleet, a log being written and the trust an auditor holds.
struct Attack {
    fleet: SynthFleet,
    rng: rand_chacha::ChaCha20Rng,
    records: Vec<LogRecord>,
    trust: Trust,
}

impl Attack {
    /// Landmarks `(registered = true position, operator)` and one chip, certificates logged.
    fn new(seed: u64, landmarks: &[((f64, f64), &str)]) -> Attack {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        let mut fleet = SynthFleet::new(&mut rng, &[], 1).unwrap();
        for (at, op) in landmarks {
            fleet
                .add_landmark(SigningKey::generate(&mut rng), *at, op)
                .unwrap();
        }
        let records = fleet.certificate_records();
        let trust = fleet.trust();
        Attack {
            fleet,
            rng,
            records,
            trust,
        }
    }

    /// Landmark `l` honestly measures the chip at `at`, `delay_ns` added by the owner.
    fn honest(&mut self, l: usize, at: (f64, f64), t: u64, delay_ns: u64) {
        let m = self
            .fleet
            .measure(&mut self.rng, (l, 0), at, t, delay_ns)
            .unwrap();
        self.records.push(LogRecord::Measurement(m));
    }

    /// Landmark `l` logs the chip's genuine answer with an RTT and a time of its choosing.
    fn lie(&mut self, l: usize, rtt_ns: u64, t: u64) {
        let m = self
            .fleet
            .measure_as_liar(&mut self.rng, (l, 0), rtt_ns, t)
            .unwrap();
        self.records.push(LogRecord::Measurement(m));
    }

    fn cross(&mut self, a: usize, b: usize, t: u64) {
        let m = self.fleet.cross_measure(&mut self.rng, a, b, t).unwrap();
        self.records.push(LogRecord::Measurement(m));
    }

    fn audit(&self) -> AuditReport {
        audit_records(&self.records, &self.fleet, &self.trust, POLICY)
    }

    fn landmark_id(&self, l: usize) -> String {
        self.fleet.landmarks[l].cert.body.landmark_id.to_string()
    }
}

fn audit_records(
    records: &[LogRecord],
    fleet: &SynthFleet,
    trust: &Trust,
    policy: &str,
) -> AuditReport {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::init(dir.path().join("log"), &fleet.origin, fleet.log_key.clone()).unwrap();
    let entries: Vec<Vec<u8>> = records.iter().map(|r| r.to_vec()).collect();
    log.append_batch(&entries).unwrap();
    let latest = records
        .iter()
        .filter_map(|r| match r {
            LogRecord::Measurement(m) => Some(m.body.sent_at_ns),
            _ => None,
        })
        .max()
        .unwrap_or(T0_NS);
    let policy_parsed = Policy::from_toml_str(policy).unwrap();
    let options = AuditOptions {
        log_dir: &dir.path().join("log"),
        trust,
        policy: &policy_parsed,
        rules: AuditRules::from_toml_str(policy).unwrap(),
        now_ns: Some(latest + 60_000_000_000),
        threads: Some(2),
        since: None,
    };
    audit(&options, &mut |_, _| {}).unwrap()
}

fn chip(report: &AuditReport) -> &lightcone_verifier::audit::model::ChipReport {
    assert_eq!(report.chips.len(), 1, "{:#?}", report.chips);
    &report.chips[0]
}

fn has(report: &AuditReport, kind: FindingKind) -> bool {
    report.findings.iter().any(|f| f.kind == kind)
}

/// What a verdict is made of, for comparing reports of one log in different orders.
fn essence(report: &AuditReport) -> String {
    let chips: Vec<String> = report
        .chips
        .iter()
        .map(|c| {
            let epochs: Vec<String> = c
                .epochs
                .iter()
                .map(|e| {
                    format!(
                        "{}:{}:{:?}:{:?}",
                        e.start_ns,
                        e.verdict,
                        e.robustness,
                        e.caps
                            .iter()
                            .map(|k| (k.landmark_id.clone(), k.lat, k.lon, k.radius_m))
                            .collect::<Vec<_>>()
                    )
                })
                .collect();
            format!(
                "{} {:?} {:?} {} {:?} {}",
                c.chip_id, c.status, c.robustness, c.model, epochs, c.reason
            )
        })
        .collect();
    let landmarks: Vec<String> = report
        .landmarks
        .iter()
        .map(|l| {
            format!(
                "{} {} {} {} {} {}",
                l.landmark_id, l.operator, l.lat, l.lon, l.status, l.uncertainty_m
            )
        })
        .collect();
    let mut findings: Vec<String> = report
        .findings
        .iter()
        .map(|f| {
            format!(
                "{:?} {:?} {:?} {}",
                f.kind, f.chip_id, f.landmark_id, f.detail
            )
        })
        .collect();
    findings.sort();
    format!("{chips:#?}\n{landmarks:#?}\n{findings:#?}")
}

/// Validity `[from_s, to_s]`.
fn validity(from_s: u64, to_s: u64) -> Validity {
    Validity {
        not_before: from_s,
        not_after: to_s,
    }
}

// 1. A landmark re-certified at a new site with the same key: its cap is centred where the
// certificate valid at the measurement puts it, whichever certificate the log shows first.
#[test]
fn a_recertified_landmark_is_where_its_current_certificate_says() {
    let mut a = Attack::new(11, &[(FRA_A, "alpha"), (FRA_B, "beta")]);
    a.records.clear();
    let t0_s = T0_NS / 1_000_000_000;
    let mut old = Vec::new();
    let mut new = Vec::new();
    for (l, (fra, beijing, op)) in [(FRA_A, BEIJING, "alpha"), (FRA_B, BEIJING_B, "beta")]
        .into_iter()
        .enumerate()
    {
        let before = validity(long_validity().not_before, t0_s - 1);
        old.push(a.fleet.recertify_landmark(l, fra, op, before).unwrap());
        let after = validity(t0_s, long_validity().not_after);
        new.push(a.fleet.recertify_landmark(l, beijing, op, after).unwrap());
    }
    let device = LogRecord::DeviceCertificate(a.fleet.chips[0].cert);
    let certs_old_first: Vec<LogRecord> = old
        .iter()
        .chain(&new)
        .map(|c| LogRecord::LandmarkCertificate(*c))
        .chain([device])
        .collect();
    a.records = certs_old_first.clone();
    // The chip sits in Beijing, next to both landmarks' new sites.
    a.honest(0, (39.92, 116.38), T0_NS + 60_000_000_000, 0);
    a.honest(1, (39.92, 116.38), T0_NS + 61_000_000_000, 0);
    let report = a.audit();
    assert_eq!(
        chip(&report).status,
        ChipStatus::Violation,
        "{:#?}",
        report.chips
    );
    // The same entries with the new certificates first: the same report.
    let measurements: Vec<LogRecord> = a.records[certs_old_first.len()..].to_vec();
    let mut reordered: Vec<LogRecord> = certs_old_first.iter().rev().copied().collect();
    reordered.extend(measurements);
    let again = audit_records(&reordered, &a.fleet, &a.trust, POLICY);
    assert_eq!(essence(&report), essence(&again));
    // The landmark table shows the current site.
    let l0 = report
        .landmarks
        .iter()
        .find(|l| l.landmark_id == a.landmark_id(0))
        .unwrap();
    assert!((l0.lat - BEIJING.0).abs() < 1e-3, "{l0:?}");
}

// 2. One lying operator signs 120 µs RTTs for a chip in Beijing; the owner delays every honest
// landmark by 150 ms, so their caps exceed a hemisphere and constrain nothing.
#[test]
fn one_lying_operator_and_delayed_honest_landmarks_do_not_verify() {
    let landmarks = [
        (FRA_A, "rogue"),
        (FRA_B, "rogue"), // a second key in the same rack
        (TOKYO, "tokyo-ix"),
        (SEOUL, "seoul-ix"),
        (SINGAPORE, "sg-ix"),
    ];
    let mut a = Attack::new(12, &landmarks);
    let t = T0_NS + 60_000_000_000;
    a.lie(0, 120_000, t);
    a.lie(1, 120_000, t + 1_000_000);
    for l in 2..5 {
        a.honest(l, BEIJING, t + l as u64 * 1_000_000, 150_000_000);
    }
    let report = a.audit();
    let c = chip(&report);
    assert_ne!(c.status, ChipStatus::Verified, "{c:#?}");
    let e = &c.epochs[0];
    assert_eq!(e.constraining_operators, 1, "{e:#?}");
    assert_eq!(e.verdict, "inconclusive");
    // The liar's caps alone would make it compliant: the report names that operator.
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::UncorroboratedEvidence && f.detail.contains("rogue")),
        "{:#?}",
        report.findings
    );
}

// 2b. Outside the model: two lying operators with f = 1. They are not caught (nothing can
// tell two agreeing liars from two honest landmarks), but the contradiction with the honest
// landmark is reported.
#[test]
fn two_lying_operators_are_reported_not_caught() {
    let landmarks = [(FRA_A, "rogue-1"), (FRA_B, "rogue-2"), (TOKYO, "tokyo-ix")];
    let mut a = Attack::new(13, &landmarks);
    let t = T0_NS + 60_000_000_000;
    a.lie(0, 120_000, t);
    a.lie(1, 120_000, t + 1_000_000);
    a.honest(2, BEIJING, t + 2_000_000, 0);
    let report = a.audit();
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::UncorroboratedEvidence),
        "{:#?}",
        report.findings
    );
}

// 3. Landmarks registered in Frankfurt that really sit in Urumqi pass the one-way cross-checks;
// with one operator they are one faulty operator, and the chip there is not verified.
#[test]
fn misplaced_landmarks_of_one_operator_do_not_verify_a_chip_in_urumqi() {
    let landmarks = [
        (FRA_A, "rogue"),
        (FRA_B, "rogue"),
        (TOKYO, "tokyo-ix"),
        (SEOUL, "seoul-ix"),
        (SINGAPORE, "sg-ix"),
        (LONDON, "lonely"), // measures nobody and is measured by nobody
    ];
    let mut a = Attack::new(14, &landmarks);
    a.fleet.misplace_landmark(0, URUMQI);
    a.fleet.misplace_landmark(1, (43.80, 87.60));
    let t = T0_NS + 60_000_000_000;
    for l in 0..5 {
        for m in 0..5 {
            if l != m {
                a.cross(l, m, t);
            }
        }
    }
    for l in 0..5 {
        a.honest(l, (43.82, 87.61), t + 10_000_000 * l as u64, 0);
    }
    let report = a.audit();
    assert_ne!(
        chip(&report).status,
        ChipStatus::Verified,
        "{:#?}",
        report.chips
    );
    let lonely = report
        .landmarks
        .iter()
        .find(|l| l.landmark_id == a.landmark_id(5))
        .unwrap();
    assert_eq!(lonely.status, "unconfirmed", "{lonely:?}");
}

// 3b. Placed in Beijing, the misplaced pair contradicts honest Tokyo in both directions: Tokyo,
// the one honest witness, must not be the one excluded, and the chip is not verified.
#[test]
fn the_honest_witness_is_not_blamed_for_exposing_misplaced_landmarks() {
    let landmarks = [(FRA_A, "rogue"), (FRA_B, "rogue"), (TOKYO, "tokyo-ix")];
    let mut a = Attack::new(15, &landmarks);
    a.fleet.misplace_landmark(0, BEIJING);
    a.fleet.misplace_landmark(1, BEIJING_B);
    let t = T0_NS + 60_000_000_000;
    for (x, y) in [(0, 2), (2, 0), (1, 2), (2, 1), (0, 1), (1, 0)] {
        a.cross(x, y, t);
    }
    for l in 0..3 {
        a.honest(l, (39.92, 116.38), t + 10_000_000 * l as u64, 0);
    }
    let report = a.audit();
    assert_ne!(
        chip(&report).status,
        ChipStatus::Verified,
        "{:#?}",
        report.chips
    );
    assert!(has(&report, FindingKind::ImpossibleRtt));
    let tokyo = report
        .landmarks
        .iter()
        .find(|l| l.landmark_id == a.landmark_id(2))
        .unwrap();
    assert_ne!(tokyo.status, "excluded", "{tokyo:?}");
}

// 3c. Two colluding operators each sign one fabricated short RTT to an honest landmark: the
// honest landmark is not excluded, and neither is anyone on a tie.
#[test]
fn fabricated_short_rtts_cannot_get_an_honest_landmark_excluded() {
    let landmarks = [
        (FRA_A, "honest-a"),
        (PARIS, "honest-b"),
        (LONDON, "rogue-x"),
        (SINGAPORE, "rogue-y"),
    ];
    let mut a = Attack::new(16, &landmarks);
    let t = T0_NS + 60_000_000_000;
    // Liars x and y "measure" Frankfurt at 50 µs: physically impossible from their sites.
    for liar in [2, 3] {
        let lb = a.fleet.landmarks[0].key.clone();
        let frankfurt_key = lb.public_key();
        let mut responder = lightcone::Responder::new(lb, lightcone::RamCounter::default());
        let lm = &mut a.fleet.landmarks[liar];
        let challenge = lm
            .landmark
            .challenge(responder.chip_id(), &mut a.rng)
            .unwrap();
        let mut out = [0u8; lightcone::Response::MAX_SIZE];
        let n = responder
            .respond(&challenge.to_vec(), || 0, &mut out)
            .unwrap();
        let response = lm
            .landmark
            .check_response_from_key(&challenge, &out[..n], &frankfurt_key)
            .unwrap();
        let m = lm.landmark.measure(&response, 50_000, t).unwrap();
        a.records.push(LogRecord::Measurement(m));
    }
    a.cross(0, 1, t);
    a.cross(1, 0, t);
    let report = a.audit();
    let excluded: Vec<&str> = report
        .landmarks
        .iter()
        .filter(|l| l.status == "excluded")
        .map(|l| l.landmark_id.as_str())
        .collect();
    assert!(
        !excluded.contains(&a.landmark_id(0).as_str()),
        "{:#?}",
        report.landmarks
    );
    assert_eq!(
        report
            .findings
            .iter()
            .filter(|f| f.kind == FindingKind::ImpossibleRtt)
            .count(),
        2
    );
}

/// Chip 0's key certified again by `vendor` with `min_response_ns`, valid for all of 2020–2100.
fn second_certificate(a: &Attack, vendor: &mut SigningKey, min_response_ns: u64) -> LogRecord {
    let cert = DeviceCertificate::issue(
        vendor,
        a.fleet.chips[0].key.public_key(),
        ModelName::new("LC-SLOW").unwrap(),
        ResponseTiming::minimum_only(min_response_ns),
        long_validity(),
    )
    .unwrap();
    LogRecord::DeviceCertificate(cert)
}

// 4. A second certificate for the chip key with an 80 ms endorsed minimum, from a second
// trusted vendor or re-issued by the first: the most conservative timing applies in either
// log order, and two issuers for one key are a finding that blocks verification.
#[test]
fn the_most_favourable_certificate_does_not_win() {
    for second_vendor in [true, false] {
        for slow_first in [true, false] {
            let mut a = Attack::new(17, &[(SEOUL, "seoul-ix"), (SEOUL_B, "kr-net")]);
            let mut other = SigningKey::generate(&mut a.rng);
            let mut vendor = a.fleet.vendor.clone();
            let issuer = if second_vendor {
                &mut other
            } else {
                &mut vendor
            };
            let slow = second_certificate(&a, issuer, 80_000_000);
            if second_vendor {
                a.trust
                    .vendors
                    .push(("second-vendor".into(), other.public_key()));
            }
            let at = if slow_first { 0 } else { a.records.len() };
            a.records.insert(at, slow);
            let t = T0_NS + 60_000_000_000;
            a.honest(0, BEIJING, t, 0);
            a.honest(1, BEIJING, t + 1_000_000, 0);
            let report = a.audit();
            let c = chip(&report);
            assert_ne!(
                c.status,
                ChipStatus::Verified,
                "{second_vendor} {slow_first}: {c:#?}"
            );
            assert_eq!(has(&report, FindingKind::ConflictingIssuers), second_vendor);
            // Caps use the 20 µs minimum: far larger than 100 m.
            assert!(
                c.epochs[0].caps.iter().all(|k| k.radius_m > 1_000_000),
                "{c:#?}"
            );
        }
    }
}

/// Five landmarks of five operators around Frankfurt and Singapore.
fn two_hubs(seed: u64) -> Attack {
    Attack::new(
        seed,
        &[
            (FRA_A, "de-ix"),
            (PARIS, "fr-ix"),
            (LONDON, "uk-ix"),
            (SINGAPORE, "sg-ix"),
            (KUALA_LUMPUR, "my-ix"),
        ],
    )
}

// 5. A chip seen in Frankfurt and an hour later in Singapore is not verified.
#[test]
fn impossible_travel_blocks_verification() {
    let mut a = two_hubs(18);
    for l in 0..5 {
        a.honest(l, (50.12, 8.70), T0_NS + l as u64 * 1_000_000, 0);
    }
    for l in 0..5 {
        a.honest(l, (1.30, 103.80), T0_NS + HOUR_NS + l as u64 * 1_000_000, 0);
    }
    let report = a.audit();
    let c = chip(&report);
    assert!(c.epochs.iter().all(|e| e.verdict == "compliant"), "{c:#?}");
    assert!(has(&report, FindingKind::ImpossibleTravel));
    assert_eq!(c.status, ChipStatus::Inconsistent, "{c:#?}");
    assert!(c.reason.contains("impossible travel"), "{}", c.reason);
}

// 6. One operator logs a genuine late response with a backdated sent_at: the counter seems to
// go backwards, but only that operator's clock says so. The chip is not made invalid.
#[test]
fn one_operator_cannot_frame_an_honest_chip_with_a_backdated_time() {
    let mut a = two_hubs(19);
    for e in 0..2 {
        for l in 0..3 {
            a.honest(
                l,
                (50.12, 8.70),
                T0_NS + e * HOUR_NS + l as u64 * 1_000_000,
                0,
            );
        }
    }
    // Answered last (highest counter), logged as sent half an hour before the first epoch.
    a.lie(4, 200_000_000, T0_NS - HOUR_NS / 2);
    let report = a.audit();
    let c = chip(&report);
    assert_ne!(c.status, ChipStatus::Invalid, "{c:#?}");
    assert_eq!(c.status, ChipStatus::Verified, "{c:#?}");
    assert!(
        has(&report, FindingKind::TimingConflict),
        "{:#?}",
        report.findings
    );
    assert!(!has(&report, FindingKind::CounterRollback));
    // Trusting every operator, the same log does blame the chip.
    let trusting = POLICY.replace("faulty_operators = 1", "faulty_operators = 0");
    let report = audit_records(&a.records, &a.fleet, &a.trust, &trusting);
    assert_eq!(chip(&report).status, ChipStatus::Invalid);
}

/// A "random" source that hands out one chosen nonce.
struct Chosen([u8; 32]);

impl RngCore for Chosen {
    fn next_u32(&mut self) -> u32 {
        0
    }
    fn next_u64(&mut self) -> u64 {
        0
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for (d, s) in dest.iter_mut().zip(self.0) {
            *d = s;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
impl CryptoRng for Chosen {}

// 7. A landmark that saw another's challenge crafts a nonce whose 128-bit fold with its own id
// equals the honest one's, and logs it first: the honest measurements must still count.
#[test]
fn crafted_nonces_do_not_drop_honest_measurements() {
    let landmarks = [(BEIJING, "cn-a"), (BEIJING_B, "cn-b"), (SEOUL, "rogue")];
    let mut a = Attack::new(20, &landmarks);
    let t = T0_NS + 60_000_000_000;
    a.honest(0, (39.91, 116.39), t, 0);
    a.honest(1, (39.91, 116.39), t + 1_000_000, 0);
    let honest: Vec<LogRecord> = a.records.split_off(a.records.len() - 2);
    let rogue_id: LandmarkId = a.fleet.landmarks[2].cert.body.landmark_id;
    for (k, r) in honest.iter().enumerate() {
        let LogRecord::Measurement(m) = r else {
            unreachable!()
        };
        let c = m.body.response.body.challenge;
        let mut nonce = c.nonce.0 .0;
        for ((n, x), y) in nonce
            .iter_mut()
            .zip(c.landmark_id.to_bytes())
            .zip(rogue_id.to_bytes())
        {
            *n ^= x ^ y;
        }
        let lm = &mut a.fleet.landmarks[2];
        let chip = &mut a.fleet.chips[0];
        let challenge = lm
            .landmark
            .challenge(chip.responder.chip_id(), &mut Chosen(nonce))
            .unwrap();
        let mut out = [0u8; lightcone::Response::MAX_SIZE];
        let n = chip
            .responder
            .respond(&challenge.to_vec(), || 0, &mut out)
            .unwrap();
        let response = lightcone::Response::decode(&out[..n]).unwrap();
        let body = lightcone::message::MeasurementBody {
            version: lightcone::PROTOCOL_VERSION,
            response,
            rtt_ns: 30_000_000,
            sent_at_ns: t - 1_000_000 + k as u64,
        };
        let forged = lightcone::Signed::sign(body, &mut lm.key).unwrap();
        a.records.push(LogRecord::Measurement(forged));
    }
    a.records.extend(honest);
    let report = a.audit();
    assert!(
        !has(&report, FindingKind::NonceReuse),
        "{:#?}",
        report.findings
    );
    assert_eq!(
        chip(&report).status,
        ChipStatus::Violation,
        "{:#?}",
        report.chips
    );
}

// Self-reported processing is an opt-in with a banner stating its worst case.
#[test]
fn self_reported_processing_is_announced_with_its_worst_case() {
    let mut a = two_hubs(21);
    for l in 0..5 {
        a.honest(l, (50.12, 8.70), T0_NS + l as u64 * 1_000_000, 0);
    }
    let policy = format!("{POLICY}processing = \"self-reported\"\n");
    let report = audit_records(&a.records, &a.fleet, &a.trust, &policy);
    assert!(report.policy.self_reported_worst_case_km.is_some());
    let summary = lightcone_verifier::report::text::summary(&report);
    assert!(
        summary.contains("WARNING: self-reported processing"),
        "{summary}"
    );
    let plain = lightcone_verifier::report::text::summary(&a.audit());
    assert!(!plain.contains("self-reported processing time is credited"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    /// Any order of a log's certificate entries gives the same report: a log with re-certified
    /// landmarks and a chip certified twice.
    #[test]
    fn certificate_order_never_changes_the_report(seed in 0u64..1000, order in Just(()).prop_perturb(|_, mut rng| {
        let mut v: Vec<u32> = (0..16).map(|_| rng.next_u32()).collect();
        v.truncate(16);
        v
    })) {
        let mut a = two_hubs(seed);
        let t0_s = T0_NS / 1_000_000_000;
        let moved = a.fleet.recertify_landmark(2, (51.0, 0.0), "uk-ix", validity(t0_s - 100, long_validity().not_after)).unwrap();
        a.records.push(LogRecord::LandmarkCertificate(moved));
        let mut v = a.fleet.vendor.clone();
        let slow = second_certificate(&a, &mut v, 5_000_000);
        a.records.push(slow);
        let certs = a.records.len();
        for l in 0..5 {
            a.honest(l, (50.12, 8.70), T0_NS + l as u64 * 1_000_000, 0);
        }
        let base = essence(&a.audit());
        // Permute the certificate entries by sorting them on the random keys.
        let mut keyed: Vec<(u32, LogRecord)> = a.records[..certs]
            .iter()
            .enumerate()
            .map(|(i, r)| (order.get(i).copied().unwrap_or(i as u32), *r))
            .collect();
        keyed.sort_by_key(|(k, _)| *k);
        let mut shuffled: Vec<LogRecord> = keyed.into_iter().map(|(_, r)| r).collect();
        shuffled.extend_from_slice(&a.records[certs..]);
        let again = essence(&audit_records(&shuffled, &a.fleet, &a.trust, POLICY));
        prop_assert_eq!(base, again);
    }
}

// A landmark sold to another operator (re-certified, moved) whose old operator kept the key:
// two lies dated either side of the hand-over, one under each certificate, must not count as
// two operators.
#[test]
fn one_key_under_two_operators_is_one_party() {
    let landmarks = [
        (FRA_A, "old-owner"),
        (TOKYO, "tokyo-ix"),
        (SEOUL, "seoul-ix"),
        (SINGAPORE, "sg-ix"),
    ];
    let mut a = Attack::new(22, &landmarks);
    a.records.clear();
    let hand_over_s = (T0_NS + 60_000_000_000) / 1_000_000_000;
    let before = validity(long_validity().not_before, hand_over_s - 1);
    let old = a
        .fleet
        .recertify_landmark(0, FRA_A, "old-owner", before)
        .unwrap();
    let after = validity(hand_over_s, long_validity().not_after);
    let new = a
        .fleet
        .recertify_landmark(0, FRA_B, "new-owner", after)
        .unwrap();
    let mut records = vec![
        LogRecord::LandmarkCertificate(old),
        LogRecord::LandmarkCertificate(new),
    ];
    records.extend(a.fleet.certificate_records().into_iter().skip(1));
    a.records = records;
    let t = hand_over_s * 1_000_000_000;
    a.lie(0, 120_000, t - 1_000_000_000);
    a.lie(0, 120_000, t + 1_000_000_000);
    for l in 1..4 {
        a.honest(l, BEIJING, t + l as u64 * 1_000_000, 150_000_000);
    }
    let report = a.audit();
    let c = chip(&report);
    assert_ne!(c.status, ChipStatus::Verified, "{c:#?}");
    assert_eq!(c.epochs[0].constraining_operators, 1, "{c:#?}");
}
