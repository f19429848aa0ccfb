//! The audit on generated logs holding each fraud case: each is reported with the right reason,
//! and nothing else is flagged.

use std::collections::BTreeSet;

use lightcone::{LogRecord, Measurement, Wire};
use lightcone_verifier::audit::model::{AuditReport, ChipStatus, FindingKind};
use lightcone_verifier::audit::{audit, AuditOptions, AuditRules};
use lightcone_verifier::geo::Policy;
use lightcone_verifier::log::Log;
use lightcone_verifier::synth::{ChipKey, SynthFleet};
use rand_core::{OsRng, SeedableRng};

const T0_NS: u64 = 1_790_000_000 * 1_000_000_000;
const MIN_NS: u64 = 60 * 1_000_000_000;
const FRANKFURT: (f64, f64) = (50.11, 8.68);
const PARIS: (f64, f64) = (48.86, 2.35);
const SINGAPORE: (f64, f64) = (1.35, 103.82);
const LANDMARKS: [(f64, f64); 7] = [
    FRANKFURT,
    PARIS,
    (51.51, -0.13), // London
    (52.23, 21.01), // Warsaw
    SINGAPORE,
    (3.139, 101.687), // Kuala Lumpur
    (40.42, -3.70),   // Madrid
];
/// Where the honest chips are: Frankfurt, Paris, Singapore.
const CHIP_SITES: [(f64, f64); 3] = [(50.12, 8.70), (48.85, 2.30), (1.30, 103.80)];
const POLICY: &str = r#"
permitted = ["*"]
forbidden = ["CN", "RU"]
sea = "permitted"
faulty_operators = 1
[audit]
epoch_minutes = 15
heartbeat_hours = 6
freshness_hours = 24
"#;

struct Case {
    fleet: SynthFleet,
    rng: rand_chacha::ChaCha20Rng,
    records: Vec<LogRecord>,
}

impl Case {
    fn new(seed: u64) -> Case {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        let fleet = SynthFleet::new(&mut rng, &LANDMARKS, CHIP_SITES.len()).unwrap();
        let records = fleet.certificate_records();
        Case {
            fleet,
            rng,
            records,
        }
    }

    /// A mixed log: chip 0 holds an Ed25519 key, chips 1 and 2 the ECDSA P-384 keys of a
    /// Caliptra-style root of trust (same vendor, same sites as [`Case::new`]).
    fn mixed(seed: u64) -> Case {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        let mut fleet = SynthFleet::new(&mut rng, &LANDMARKS, 1).unwrap();
        for _ in 1..CHIP_SITES.len() {
            fleet.add_chip(ChipKey::generate_p384(&mut rng)).unwrap();
        }
        assert_eq!(
            fleet.chips[1].cert.body.device_key.algorithm(),
            lightcone::Algorithm::EcdsaP384Sha384
        );
        let records = fleet.certificate_records();
        Case {
            fleet,
            rng,
            records,
        }
    }

    /// Every landmark near enough measures chip `c` at `at` once, at time `t`.
    fn epoch(&mut self, c: usize, at: (f64, f64), t: u64) -> Vec<Measurement> {
        let mut out = Vec::new();
        for l in 0..LANDMARKS.len() {
            let m = self
                .fleet
                .measure(&mut self.rng, (l, c), at, t + l as u64 * 1_000_000, 0)
                .unwrap();
            self.records.push(LogRecord::Measurement(m));
            out.push(m);
        }
        out
    }

    /// The honest chips, each measured in `epochs` epochs an hour apart.
    fn honest(&mut self, epochs: u64) {
        for e in 0..epochs {
            for (c, at) in CHIP_SITES.iter().enumerate() {
                self.epoch(c, *at, T0_NS + e * 60 * MIN_NS + c as u64 * 10_000_000);
            }
        }
    }

    /// Audits the case at `now_ns`, by default at its latest measurement (the log is from T0,
    /// and the audit's own default is the wall clock).
    fn audit(&self, now_ns: Option<u64>) -> AuditReport {
        let latest = self
            .records
            .iter()
            .filter_map(|r| match r {
                LogRecord::Measurement(m) => Some(m.body.sent_at_ns),
                _ => None,
            })
            .max()
            .unwrap_or(T0_NS);
        let now_ns = Some(now_ns.unwrap_or(latest));
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::init(
            dir.path().join("log"),
            &self.fleet.origin,
            self.fleet.log_key.clone(),
        )
        .unwrap();
        let entries: Vec<Vec<u8>> = self.records.iter().map(|r| r.to_vec()).collect();
        log.append_batch(&entries).unwrap();
        let trust = self.fleet.trust();
        let policy = Policy::from_toml_str(POLICY).unwrap();
        let options = AuditOptions {
            log_dir: &dir.path().join("log"),
            trust: &trust,
            policy: &policy,
            rules: AuditRules::from_toml_str(POLICY).unwrap(),
            now_ns,
            threads: Some(2),
            since: None,
        };
        audit(&options, &mut |_, _| {}).unwrap()
    }
}

fn kinds(report: &AuditReport) -> BTreeSet<FindingKind> {
    report.findings.iter().map(|f| f.kind).collect()
}

fn status_of(report: &AuditReport, case: &Case, c: usize) -> ChipStatus {
    let id =
        lightcone::ChipId::of(&lightcone::Signer::public_key(&case.fleet.chips[c].key)).to_string();
    report
        .chips
        .iter()
        .find(|r| r.chip_id == id)
        .unwrap()
        .status
}

fn assert_honest_verified(report: &AuditReport, case: &Case, chips: &[usize]) {
    for &c in chips {
        assert_eq!(
            status_of(report, case, c),
            ChipStatus::Verified,
            "honest chip {c}: {:#?}",
            report.chips
        );
    }
}

#[test]
fn an_honest_fleet_is_verified_with_no_findings() {
    let mut case = Case::new(1);
    case.honest(3);
    let report = case.audit(None);
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    assert_honest_verified(&report, &case, &[0, 1, 2]);
    assert_eq!(report.counts.measurements, 3 * 3 * LANDMARKS.len() as u64);
    assert_eq!(
        report.counts.signatures_verified,
        2 * report.counts.measurements
    );
}

#[test]
fn a_cloned_key_is_flagged_for_travel_and_counters() {
    let mut case = Case::new(2);
    case.honest(3);
    // Chip 0's key also runs on a second device in Singapore, answering 15 minutes later.
    let clone = case.fleet.clone_chip(0).unwrap();
    case.epoch(clone, SINGAPORE, T0_NS + 15 * MIN_NS);
    let report = case.audit(None);
    assert_eq!(
        kinds(&report),
        BTreeSet::from([FindingKind::CounterRollback, FindingKind::ImpossibleTravel])
    );
    assert!(report.findings.iter().all(|f| f.chip_id.as_deref()
        == Some(
            lightcone::ChipId::of(&lightcone::Signer::public_key(&case.fleet.chips[0].key))
                .to_string()
                .as_str()
        )));
    assert_eq!(status_of(&report, &case, 0), ChipStatus::Invalid);
    assert_honest_verified(&report, &case, &[1, 2]);
}

#[test]
fn a_mispositioned_landmark_is_named_and_excluded() {
    let mut case = Case::new(3);
    // The "Madrid" landmark (index 6) really sits in Frankfurt.
    case.fleet.misplace_landmark(6, (50.10, 8.60));
    case.honest(2);
    for a in 0..LANDMARKS.len() {
        for b in 0..LANDMARKS.len() {
            if a != b {
                let m = case
                    .fleet
                    .cross_measure(&mut case.rng, a, b, T0_NS + 2 * MIN_NS)
                    .unwrap();
                case.records.push(LogRecord::Measurement(m));
            }
        }
    }
    let report = case.audit(None);
    assert_eq!(
        kinds(&report),
        BTreeSet::from([
            FindingKind::ImpossibleRtt,
            FindingKind::MispositionedLandmark,
            FindingKind::ExcludedMeasurement
        ])
    );
    // Every impossible RTT involves Madrid: no honest pair is reported.
    let madrid_id = lightcone::LandmarkId::of(&case.fleet.landmarks[6].cert.body.landmark_key);
    for f in report
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::ImpossibleRtt)
    {
        assert!(
            f.landmark_id.as_deref() == Some(&madrid_id.to_string())
                || f.detail.contains(&madrid_id.to_string()),
            "{f:?}"
        );
    }
    let madrid =
        lightcone::LandmarkId::of(&case.fleet.landmarks[6].cert.body.landmark_key).to_string();
    let flagged: Vec<_> = report
        .landmarks
        .iter()
        .filter(|l| l.status == "excluded")
        .map(|l| l.landmark_id.clone())
        .collect();
    assert_eq!(flagged, vec![madrid]);
    // Without exclusion Madrid's tiny caps would make the Frankfurt chip's regions empty.
    assert_honest_verified(&report, &case, &[0, 1, 2]);
}

#[test]
fn a_replayed_nonce_is_reported_once_and_not_counted() {
    let mut case = Case::new(4);
    case.honest(2);
    let replay = case
        .records
        .iter()
        .rev()
        .find(|r| matches!(r, LogRecord::Measurement(_)))
        .copied()
        .unwrap();
    case.records.push(replay);
    let report = case.audit(None);
    assert_eq!(kinds(&report), BTreeSet::from([FindingKind::NonceReuse]));
    assert_eq!(report.findings.len(), 1);
    assert_honest_verified(&report, &case, &[0, 1, 2]);
}

#[test]
fn a_rolled_back_counter_is_reported() {
    let mut case = Case::new(5);
    case.fleet.chips[1].responder = lightcone::Responder::new(
        case.fleet.chips[1].key.clone(),
        lightcone::RamCounter::starting_after(1000),
    );
    case.honest(1);
    // The device is reset to an older counter state and keeps answering an hour later.
    case.fleet.chips[1].responder = lightcone::Responder::new(
        case.fleet.chips[1].key.clone(),
        lightcone::RamCounter::starting_after(500),
    );
    case.epoch(1, CHIP_SITES[1], T0_NS + 60 * MIN_NS);
    let report = case.audit(None);
    assert_eq!(
        kinds(&report),
        BTreeSet::from([FindingKind::CounterRollback])
    );
    assert_eq!(status_of(&report, &case, 1), ChipStatus::Invalid);
    assert!(
        report.findings[0].detail.contains("backwards"),
        "{}",
        report.findings[0].detail
    );
}

#[test]
fn tampered_entries_fail_their_signature_check() {
    let mut case = Case::new(6);
    case.honest(2);
    let mut forged_landmark = case.epoch(2, CHIP_SITES[2], T0_NS + 70 * MIN_NS)[0];
    forged_landmark.body.rtt_ns /= 10; // a landmark operator shrinks an RTT after signing
    case.records.push(LogRecord::Measurement(forged_landmark));
    let mut forged_chip = case.epoch(1, CHIP_SITES[1], T0_NS + 80 * MIN_NS)[0];
    let original = forged_chip.body.response.signature;
    let mut sig = original.as_bytes().to_vec();
    sig[5] ^= 0x40;
    forged_chip.body.response.signature =
        lightcone::AnySignature::from_parts(original.algorithm(), &sig).unwrap();
    // Re-sign as the landmark so only the chip's signature is wrong.
    forged_chip =
        lightcone::Signed::sign(forged_chip.body, &mut case.fleet.landmarks[0].key.clone())
            .unwrap();
    case.records.push(LogRecord::Measurement(forged_chip));
    case.records.push(LogRecord::Measurement(forged_landmark)); // same nonce, but rejected first
    let report = case.audit(None);
    assert_eq!(
        kinds(&report),
        BTreeSet::from([FindingKind::InvalidSignature])
    );
    assert_eq!(report.findings.len(), 3);
    // A bad chip signature inside a good landmark signature can only come from the landmark
    // (the chip's key signs only genuine responses): one faulty landmark must not be able to
    // make an honest chip invalid.
    assert_eq!(
        status_of(&report, &case, 1),
        ChipStatus::Verified,
        "a landmark that logs a response the chip did not sign frames nobody"
    );
    assert!(report
        .findings
        .iter()
        .any(|f| f.detail.contains("the landmark is blamed")));
    assert_eq!(
        status_of(&report, &case, 2),
        ChipStatus::Verified,
        "a landmark's forgery is not the chip's fault"
    );
}

#[test]
fn tampering_with_the_log_files_fails_the_audit() {
    let mut case = Case::new(7);
    case.honest(1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let mut log = Log::init(&path, &case.fleet.origin, case.fleet.log_key.clone()).unwrap();
    let entries: Vec<Vec<u8>> = case.records.iter().map(|r| r.to_vec()).collect();
    log.append_batch(&entries).unwrap();
    drop(log);
    let bundle = path
        .join("tile/entries/000.p")
        .read_dir()
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&bundle).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 1;
    std::fs::write(&bundle, bytes).unwrap();
    let trust = case.fleet.trust();
    let policy = Policy::from_toml_str(POLICY).unwrap();
    let options = AuditOptions {
        log_dir: &path,
        trust: &trust,
        policy: &policy,
        rules: AuditRules::default(),
        now_ns: None,
        threads: Some(1),
        since: None,
    };
    assert!(audit(&options, &mut |_, _| {}).is_err());
}

#[test]
fn a_forged_certificate_is_rejected_and_its_chip_is_invalid() {
    let mut case = Case::new(8);
    case.honest(2);
    // A rogue "vendor" certifies a new chip; its certificate and measurements enter the log.
    let genuine_vendor = case.fleet.vendor.clone();
    case.fleet.vendor = ed25519_dalek::SigningKey::generate(&mut OsRng);
    let rogue = case
        .fleet
        .add_chip(ed25519_dalek::SigningKey::generate(&mut OsRng))
        .unwrap();
    case.records
        .push(LogRecord::DeviceCertificate(case.fleet.chips[rogue].cert));
    case.epoch(rogue, FRANKFURT, T0_NS + 5 * MIN_NS);
    case.fleet.vendor = genuine_vendor;
    let report = case.audit(None);
    assert_eq!(
        kinds(&report),
        BTreeSet::from([
            FindingKind::InvalidCertificate,
            FindingKind::UnknownCertificate
        ])
    );
    assert_eq!(status_of(&report, &case, rogue), ChipStatus::Invalid);
    assert_honest_verified(&report, &case, &[0, 1, 2]);
}

#[test]
fn a_silent_chip_is_reported_and_unverified() {
    let mut case = Case::new(9);
    // Chips 0 and 1 answer every hour for 30 hours; chip 2 stops after the first hour.
    for e in 0..30u64 {
        for (c, site) in CHIP_SITES.iter().enumerate() {
            if c == 2 && e > 0 {
                continue;
            }
            case.epoch(c, *site, T0_NS + e * 60 * MIN_NS + c as u64 * 10_000_000);
        }
    }
    let report = case.audit(None);
    assert_eq!(kinds(&report), BTreeSet::from([FindingKind::Silence]));
    assert_eq!(report.findings.len(), 1);
    assert_eq!(status_of(&report, &case, 2), ChipStatus::Unverified);
    assert_honest_verified(&report, &case, &[0, 1]);
}

// The fraud cases again, on a log that mixes Ed25519 and P-384 chips: P-384 signatures are
// verified singly, Ed25519 ones in batches, and every rule holds for both.

#[test]
fn a_mixed_fleet_is_verified_with_no_findings() {
    let mut case = Case::mixed(11);
    case.honest(3);
    let report = case.audit(None);
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    assert_honest_verified(&report, &case, &[0, 1, 2]);
    assert_eq!(report.counts.measurements, 3 * 3 * LANDMARKS.len() as u64);
    assert_eq!(
        report.counts.signatures_verified,
        2 * report.counts.measurements
    );
}

#[test]
fn a_forged_p384_chip_signature_is_caught_and_blamed_on_the_landmark() {
    let mut case = Case::mixed(12);
    case.honest(2);
    // Chip 1 (P-384): its signature altered inside a landmark signature that is valid.
    let mut forged = case.epoch(1, CHIP_SITES[1], T0_NS + 80 * MIN_NS)[0];
    let original = forged.body.response.signature;
    assert_eq!(original.algorithm(), lightcone::Algorithm::EcdsaP384Sha384);
    let mut sig = original.as_bytes().to_vec();
    sig[60] ^= 0x01;
    forged.body.response.signature =
        lightcone::AnySignature::from_parts(original.algorithm(), &sig).unwrap();
    forged =
        lightcone::Signed::sign(forged.body, &mut case.fleet.landmarks[0].key.clone()).unwrap();
    case.records.push(LogRecord::Measurement(forged));
    // The same P-384 response relabelled as another algorithm: never verifies.
    let mut relabelled = case.epoch(2, CHIP_SITES[2], T0_NS + 90 * MIN_NS)[1];
    relabelled.body.response.signature = lightcone::AnySignature::Ed25519(lightcone::wire::Bytes(
        relabelled.body.response.signature.as_bytes()[..64]
            .try_into()
            .unwrap(),
    ));
    relabelled =
        lightcone::Signed::sign(relabelled.body, &mut case.fleet.landmarks[1].key.clone()).unwrap();
    case.records.push(LogRecord::Measurement(relabelled));
    // A landmark shrinks an RTT of a P-384 chip after signing.
    let mut shrunk = case.epoch(2, CHIP_SITES[2], T0_NS + 100 * MIN_NS)[2];
    shrunk.body.rtt_ns /= 10;
    case.records.push(LogRecord::Measurement(shrunk));
    let report = case.audit(None);
    assert_eq!(
        kinds(&report),
        BTreeSet::from([FindingKind::InvalidSignature])
    );
    assert_eq!(report.findings.len(), 3, "{:#?}", report.findings);
    assert_eq!(
        report
            .findings
            .iter()
            .filter(|f| f.detail.contains("the landmark is blamed"))
            .count(),
        2
    );
    assert_honest_verified(&report, &case, &[0, 1, 2]);
}

#[test]
fn a_replayed_p384_measurement_is_reported_once() {
    let mut case = Case::mixed(13);
    case.honest(2);
    let replay = case
        .records
        .iter()
        .rev()
        .find(|r| matches!(r, LogRecord::Measurement(m) if m.chip_id() == case.fleet.chips[2].cert.body.chip_id))
        .copied()
        .unwrap();
    case.records.push(replay);
    let report = case.audit(None);
    assert_eq!(kinds(&report), BTreeSet::from([FindingKind::NonceReuse]));
    assert_eq!(report.findings.len(), 1);
    assert_honest_verified(&report, &case, &[0, 1, 2]);
}

#[test]
fn a_rolled_back_p384_counter_is_reported() {
    let mut case = Case::mixed(14);
    case.fleet.chips[1].responder = lightcone::Responder::new(
        case.fleet.chips[1].key.clone(),
        lightcone::RamCounter::starting_after(1000),
    );
    case.honest(1);
    case.fleet.chips[1].responder = lightcone::Responder::new(
        case.fleet.chips[1].key.clone(),
        lightcone::RamCounter::starting_after(500),
    );
    case.epoch(1, CHIP_SITES[1], T0_NS + 60 * MIN_NS);
    let report = case.audit(None);
    assert_eq!(
        kinds(&report),
        BTreeSet::from([FindingKind::CounterRollback])
    );
    assert_eq!(status_of(&report, &case, 1), ChipStatus::Invalid);
    assert_honest_verified(&report, &case, &[0, 2]);
}

#[test]
fn a_cloned_p384_key_is_flagged_for_travel_and_counters() {
    let mut case = Case::mixed(15);
    case.honest(3);
    let clone = case.fleet.clone_chip(1).unwrap();
    case.epoch(clone, SINGAPORE, T0_NS + 15 * MIN_NS);
    let report = case.audit(None);
    assert_eq!(
        kinds(&report),
        BTreeSet::from([FindingKind::CounterRollback, FindingKind::ImpossibleTravel])
    );
    assert_eq!(status_of(&report, &case, 1), ChipStatus::Invalid);
    assert_honest_verified(&report, &case, &[0, 2]);
}
