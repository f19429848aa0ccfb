//! The audit of a log that mixes Ed25519 chips, P-384 chips and GPUs that answer with SPDM
//! evidence (X.509 chain, registry timing endorsement), played against: every fraud and
//! soundness case of the audit, for the new kind — a lying landmark with delayed honest ones,
//! a replayed or swapped report, a cloned GPU key, a chain under an untrusted root, a second
//! and more favourable endorsement in either order, the real H100 sample replayed under a
//! fresh challenge — and the honest fleet verified with no finding.

#[path = "evidence_support/mod.rs"]
mod evidence_support;

use std::collections::BTreeSet;

use evidence_support::{ca_exts, key, leaf_exts, Spec, Synthetic};
use lightcone::evidence::spdm::{
    answer_measurements, challenge_nonce, GetMeasurements, MeasurementBlock,
};
use lightcone::evidence::{gpu_chip_id, GpuChain, LeafCnPrefix, ModelEndorsement, SpdmMeasurement};
use lightcone::{ChipId, LogEntry, LogRecord, ModelName, ResponseTiming, Wire};
use lightcone_verifier::audit::model::{AuditReport, ChipStatus, FindingKind};
use lightcone_verifier::audit::{audit, AuditOptions, AuditRules};
use lightcone_verifier::evidence::gpu::der_chain;
use lightcone_verifier::evidence::x509::Cert;
use lightcone_verifier::geo::Policy;
use lightcone_verifier::log::Log;
use lightcone_verifier::registry::Trust;
use lightcone_verifier::synth::{internet_rtt_ns, long_validity, ChipKey, SynthFleet};
use p384::ecdsa::SigningKey;
use rand_core::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};

const T0_NS: u64 = 1_790_000_000 * 1_000_000_000;
const MIN_NS: u64 = 60 * 1_000_000_000;
const FRANKFURT: (f64, f64) = (50.11, 8.68);
const SINGAPORE: (f64, f64) = (1.35, 103.82);
const BEIJING: (f64, f64) = (39.90, 116.40);
const LANDMARKS: [(f64, f64); 7] = [
    FRANKFURT,
    (48.86, 2.35),  // Paris
    (51.51, -0.13), // London
    (52.23, 21.01), // Warsaw
    SINGAPORE,
    (3.139, 101.687), // Kuala Lumpur
    (40.42, -3.70),   // Madrid
];
/// Where the GPUs are: Frankfurt and Singapore.
const GPU_SITES: [(f64, f64); 2] = [(50.12, 8.70), (1.30, 103.80)];
/// What a GPU really takes to answer (the simulated path adds it to the light time).
const GPU_ANSWER_NS: u64 = 1_550_000;
/// What the registry endorses as the model's minimum.
const ENDORSED_MIN_NS: u64 = 1_500_000;
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

/// A simulated GPU: its chain's leaf key signs SPDM reports.
struct Gpu {
    key: SigningKey,
    chain_der: Vec<u8>,
    id: ChipId,
}

struct Case {
    fleet: SynthFleet,
    rng: rand_chacha::ChaCha20Rng,
    root: Cert,
    gpus: Vec<Gpu>,
    entries: Vec<Vec<u8>>,
}

impl Case {
    /// An Ed25519 chip and a P-384 chip (lightcone responses), two GPUs under a synthetic
    /// X.509 root with leaves named like an H100's, and the registry's endorsement of that
    /// model, all logged before any measurement.
    fn new(seed: u64) -> Case {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        let mut fleet = SynthFleet::new(&mut rng, &LANDMARKS, 1).unwrap();
        fleet.add_chip(ChipKey::generate_p384(&mut rng)).unwrap();
        let mut synthetic = Synthetic::new();
        let (_, root) = synthetic.build();
        let gpus = (0..2u8)
            .map(|g| {
                synthetic.leaf_key = key(0x40 + g);
                synthetic.leaf.subject =
                    format!("CN=GH100 A01 GSP FMC LF,O=lightcone,serialNumber={g}");
                gpu_from(&synthetic)
            })
            .collect();
        let mut case = Case {
            entries: fleet
                .certificate_records()
                .iter()
                .map(Wire::to_vec)
                .collect(),
            fleet,
            rng,
            root,
            gpus,
        };
        for g in 0..case.gpus.len() {
            let chain = GpuChain::new(&case.gpus[g].chain_der).unwrap();
            case.entries.push(LogEntry::GpuChain(chain).to_vec());
        }
        let endorsement = case.endorsement(ENDORSED_MIN_NS);
        case.entries
            .push(LogRecord::ModelEndorsement(endorsement).to_vec());
        case
    }

    fn root_sha256(&self) -> [u8; 32] {
        Sha256::digest(self.root.der()).into()
    }

    /// The registry's endorsement of the H100 model with minimum `min_ns`.
    fn endorsement(&mut self, min_ns: u64) -> ModelEndorsement {
        let root = self.root_sha256();
        ModelEndorsement::issue(
            &mut self.fleet.registry,
            ModelName::new("H100").unwrap(),
            root,
            LeafCnPrefix::new("GH100").unwrap(),
            ResponseTiming::minimum_only(min_ns),
            long_validity(),
        )
        .unwrap()
    }

    fn trust(&self) -> Trust {
        let mut trust = self.fleet.trust();
        trust.x509_roots = vec![("test-gpu-root".into(), self.root.clone())];
        trust
    }

    /// GPU `g`'s SPDM report for `nonce`: every block (`OPERATION_ALL`), four of them.
    fn report(&mut self, g: usize, nonce: [u8; 32]) -> Vec<u8> {
        self.report_shaped(g, nonce, 0xff, 4)
    }

    /// Landmark `l` measures GPU `g` at `at`, sent at `t`, with `extra_ns` of added delay
    /// (delay can be added, never removed); `rtt_ns` overrides the RTT (a lying landmark).
    fn spdm(
        &mut self,
        (l, g): (usize, usize),
        at: (f64, f64),
        t: u64,
        rtt_ns: Option<u64>,
    ) -> Vec<u8> {
        let challenge = self.fleet.landmarks[l]
            .landmark
            .challenge(self.gpus[g].id, &mut self.rng)
            .unwrap();
        let report = self.report(g, challenge_nonce(&challenge).unwrap());
        let true_rtt = internet_rtt_ns(self.fleet.landmarks[l].true_position, at, GPU_ANSWER_NS);
        let rtt = rtt_ns.unwrap_or(true_rtt);
        let m = SpdmMeasurement::sign(&mut self.fleet.landmarks[l].key, challenge, &report, rtt, t)
            .unwrap();
        LogEntry::Spdm(m).to_vec()
    }

    /// Every landmark measures GPU `g` at `at` once, at time `t`.
    fn gpu_epoch(&mut self, g: usize, at: (f64, f64), t: u64) {
        for l in 0..LANDMARKS.len() {
            let e = self.spdm((l, g), at, t + l as u64 * 1_000_000, None);
            self.entries.push(e);
        }
    }

    /// The lightcone chips (Frankfurt) and the GPUs (their sites), `epochs` epochs an hour
    /// apart.
    fn honest(&mut self, epochs: u64) {
        for e in 0..epochs {
            let t = T0_NS + e * 60 * MIN_NS;
            for c in 0..self.fleet.chips.len() {
                for l in 0..LANDMARKS.len() {
                    let when = t + (c * 10 + l) as u64 * 1_000_000;
                    let m = self
                        .fleet
                        .measure(&mut self.rng, (l, c), FRANKFURT, when, 0)
                        .unwrap();
                    self.entries.push(LogRecord::Measurement(m).to_vec());
                }
            }
            for (g, at) in GPU_SITES.iter().enumerate() {
                self.gpu_epoch(g, *at, t + (g as u64 + 1) * 100_000_000);
            }
        }
    }

    fn latest_ns(&self) -> u64 {
        self.entries
            .iter()
            .filter_map(|e| match LogEntry::decode(e) {
                Ok(LogEntry::Record(LogRecord::Measurement(m))) => Some(m.body.sent_at_ns),
                Ok(LogEntry::Spdm(m)) => Some(m.measurement.body.sent_at_ns),
                _ => None,
            })
            .max()
            .unwrap_or(T0_NS)
    }

    fn audit_with(&self, entries: &[Vec<u8>], trust: &Trust) -> AuditReport {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::init(
            dir.path().join("log"),
            &self.fleet.origin,
            self.fleet.log_key.clone(),
        )
        .unwrap();
        log.append_batch(entries).unwrap();
        let policy = Policy::from_toml_str(POLICY).unwrap();
        let options = AuditOptions {
            log_dir: &dir.path().join("log"),
            trust,
            policy: &policy,
            rules: AuditRules::from_toml_str(POLICY).unwrap(),
            now_ns: Some(self.latest_ns()),
            threads: Some(2),
            since: None,
        };
        audit(&options, &mut |_, _| {}).unwrap()
    }

    fn audit(&self) -> AuditReport {
        self.audit_with(&self.entries, &self.trust())
    }
}

fn gpu_from(s: &Synthetic) -> Gpu {
    let (chain, _) = s.build();
    let leaf = lightcone::ecdsa::P384PublicKey::from_sec1(
        s.leaf_key
            .verifying_key()
            .to_encoded_point(false)
            .as_bytes(),
    )
    .unwrap();
    Gpu {
        key: s.leaf_key.clone(),
        chain_der: der_chain(&chain),
        id: gpu_chip_id(&leaf),
    }
}

fn kinds(report: &AuditReport) -> BTreeSet<FindingKind> {
    report.findings.iter().map(|f| f.kind).collect()
}

fn chip(report: &AuditReport, id: ChipId) -> &lightcone_verifier::audit::model::ChipReport {
    let id = id.to_string();
    report.chips.iter().find(|c| c.chip_id == id).unwrap()
}

#[test]
fn a_mixed_honest_fleet_is_verified_and_the_report_names_each_kind() {
    let mut case = Case::new(1);
    case.honest(3);
    let report = case.audit();
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    assert_eq!(report.counts.gpu_chains, 2);
    assert_eq!(report.counts.model_endorsements, 1);
    for g in 0..2 {
        let c = chip(&report, case.gpus[g].id);
        assert_eq!(c.status, ChipStatus::Verified, "GPU {g}: {c:#?}");
        assert_eq!(c.key_algorithm, "ecdsa-p384-sha384");
        assert_eq!(c.evidence, "spdm-1.1-measurements");
        assert_eq!(
            (c.vendor.as_str(), c.model.as_str()),
            ("test-gpu-root", "H100")
        );
        assert_eq!(c.measurements, 3 * LANDMARKS.len() as u64);
    }
    for c in &case.fleet.chips {
        let r = chip(&report, ChipId::of(&lightcone::Signer::public_key(&c.key)));
        assert_eq!(r.status, ChipStatus::Verified);
        assert_eq!(r.evidence, "lightcone-response");
    }
    // Every measurement has two signatures (landmark + chip or GPU).
    assert_eq!(
        report.counts.signatures_verified,
        2 * report.counts.measurements
    );
}

#[test]
fn the_endorsed_minimum_is_subtracted_and_nothing_without_an_endorsement() {
    let mut case = Case::new(2);
    case.honest(1);
    let with = case.audit();
    let without: Vec<Vec<u8>> = case
        .entries
        .iter()
        .filter(|e| e.first() != Some(&3))
        .cloned()
        .collect();
    let without = case.audit_with(&without, &case.trust());
    let radius = |r: &AuditReport| -> Vec<u64> {
        chip(r, case.gpus[0].id).epochs[0]
            .caps
            .iter()
            .map(|c| c.radius_m)
            .collect()
    };
    // 1.5 ms at c, one way: 224.8 km less per cap with the endorsement, never more.
    for (a, b) in radius(&with).iter().zip(radius(&without)) {
        assert!(b >= a + 224_000, "with {a} m, without {b} m");
    }
}

#[test]
fn a_second_more_favourable_endorsement_never_shrinks_a_bound_in_either_order() {
    let mut case = Case::new(3);
    case.honest(1);
    let favourable = case.endorsement(ENDORSED_MIN_NS + 400_000);
    let base = case.audit();
    let mut first = case.entries.clone();
    first.insert(0, LogRecord::ModelEndorsement(favourable).to_vec());
    let mut last = case.entries.clone();
    last.push(LogRecord::ModelEndorsement(favourable).to_vec());
    for entries in [first, last] {
        let report = case.audit_with(&entries, &case.trust());
        for g in 0..2 {
            let caps = |r: &AuditReport| -> Vec<u64> {
                chip(r, case.gpus[g].id).epochs[0]
                    .caps
                    .iter()
                    .map(|c| c.radius_m)
                    .collect()
            };
            assert_eq!(caps(&report), caps(&base));
        }
    }
}

#[test]
fn a_gpu_in_beijing_with_one_lying_landmark_and_delayed_honest_ones_is_not_verified() {
    // The owner's best move with f = 1: one landmark operator (Frankfurt) signs the RTT a GPU
    // in Frankfurt would have; every honest landmark's round is delayed to look like Europe
    // from afar. Delay only grows bounds, so the honest caps all hold Beijing.
    let mut case = Case::new(4);
    let g = 0;
    let t = T0_NS + 90 * MIN_NS;
    let lie = case.spdm(
        (0, g),
        BEIJING,
        t,
        Some(internet_rtt_ns(FRANKFURT, GPU_SITES[0], GPU_ANSWER_NS)),
    );
    case.entries.push(lie);
    for (l, site) in LANDMARKS.iter().enumerate().skip(1) {
        let honest = internet_rtt_ns(*site, BEIJING, GPU_ANSWER_NS) + 5_000_000;
        let e = case.spdm((l, g), BEIJING, t + l as u64 * 1_000_000, Some(honest));
        case.entries.push(e);
    }
    let report = case.audit();
    let c = chip(&report, case.gpus[g].id);
    let last = c.epochs.last().unwrap();
    assert_ne!(last.verdict, "compliant", "{last:#?}");
    assert_ne!(c.status, ChipStatus::Verified, "{c:#?}");
}

#[test]
fn a_report_made_for_another_challenge_or_gpu_is_blamed_on_the_landmark() {
    let mut case = Case::new(5);
    case.honest(2);
    let t = T0_NS + 30 * MIN_NS;
    // Landmark 1 reuses a genuine report of GPU 0 made for an earlier challenge…
    let challenge = case.fleet.landmarks[1]
        .landmark
        .challenge(case.gpus[0].id, &mut case.rng)
        .unwrap();
    let mut earlier = challenge;
    earlier.nonce.0 .0[7] ^= 0x10;
    let stale = case.report(0, challenge_nonce(&earlier).unwrap());
    let m = SpdmMeasurement::sign(
        &mut case.fleet.landmarks[1].key,
        challenge,
        &stale,
        50_000_000,
        t,
    )
    .unwrap();
    case.entries.push(LogEntry::Spdm(m).to_vec());
    // …and landmark 2 logs GPU 1's genuine report as GPU 0's answer.
    let challenge = case.fleet.landmarks[2]
        .landmark
        .challenge(case.gpus[0].id, &mut case.rng)
        .unwrap();
    let other = case.report(1, challenge_nonce(&challenge).unwrap());
    let m = SpdmMeasurement::sign(
        &mut case.fleet.landmarks[2].key,
        challenge,
        &other,
        50_000_000,
        t + 1,
    )
    .unwrap();
    case.entries.push(LogEntry::Spdm(m).to_vec());
    let report = case.audit();
    let bad: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::InvalidSignature)
        .collect();
    assert_eq!(bad.len(), 2, "{:#?}", report.findings);
    assert!(bad[0].detail.contains("challenge"), "{}", bad[0].detail);
    assert!(bad.iter().all(|f| f.detail.contains("landmark is blamed")));
    assert_eq!(
        kinds(&report),
        BTreeSet::from([FindingKind::InvalidSignature])
    );
    // Blamed on the landmark, so the GPU stays verified on the honest rounds.
    assert_eq!(chip(&report, case.gpus[0].id).status, ChipStatus::Verified);
}

#[test]
fn every_changed_byte_of_the_report_in_the_log_is_refused() {
    let mut case = Case::new(6);
    case.honest(1);
    let index = case
        .entries
        .iter()
        .position(|e| e.first() == Some(&5))
        .unwrap();
    let entry = case.entries[index].clone();
    // Bytes of the report (after tag, version, the landmark's body and signature): a sample
    // across request, measurement blocks, nonce and the GPU's signature.
    let report_len = match LogEntry::decode(&entry).unwrap() {
        LogEntry::Spdm(m) => m.report.len(),
        _ => unreachable!(),
    };
    let start = entry.len() - report_len;
    for offset in [
        0,
        1,
        5,
        36,
        37,
        45,
        120,
        report_len - 130,
        report_len - 96,
        report_len - 1,
    ] {
        let mut entries = case.entries.clone();
        entries[index][start + offset] ^= 0x01;
        let report = case.audit_with(&entries, &case.trust());
        let bad: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.kind == FindingKind::InvalidSignature)
            .collect();
        assert_eq!(bad.len(), 1, "report byte {offset}: {:#?}", report.findings);
        assert_eq!(bad[0].log_index, Some(index as u64));
        assert!(bad[0].detail.contains("landmark"), "{}", bad[0].detail);
        // One cap fewer may leave an epoch on one operator's word; nothing else is found.
        assert!(kinds(&report).is_subset(&BTreeSet::from([
            FindingKind::InvalidSignature,
            FindingKind::UncorroboratedEvidence
        ])));
    }
}

#[test]
fn a_repeated_spdm_round_is_a_reused_nonce() {
    let mut case = Case::new(7);
    case.honest(1);
    let index = case
        .entries
        .iter()
        .position(|e| e.first() == Some(&5))
        .unwrap();
    let again = case.entries[index].clone();
    case.entries.push(again);
    let report = case.audit();
    assert_eq!(kinds(&report), BTreeSet::from([FindingKind::NonceReuse]));
}

#[test]
fn a_cloned_gpu_key_is_impossible_travel() {
    // GPU 0's attestation key also answers from Singapore 15 minutes after Frankfurt: SPDM
    // carries no counter, so travel is what finds it.
    let mut case = Case::new(8);
    case.honest(2);
    case.gpu_epoch(0, SINGAPORE, T0_NS + 15 * MIN_NS);
    let report = case.audit();
    assert_eq!(
        kinds(&report),
        BTreeSet::from([FindingKind::ImpossibleTravel])
    );
    assert_ne!(chip(&report, case.gpus[0].id).status, ChipStatus::Verified);
    assert_eq!(chip(&report, case.gpus[1].id).status, ChipStatus::Verified);
}

#[test]
fn a_chain_under_an_untrusted_root_or_an_endorsement_by_a_stranger_counts_for_nothing() {
    let mut case = Case::new(9);
    case.honest(1);
    // Trust another root only: the GPUs' chains are refused, and so are their measurements.
    let mut stranger_ca = Synthetic::new();
    stranger_ca.root_key = key(0x66);
    let (_, other_root) = stranger_ca.build();
    let mut trust = case.trust();
    trust.x509_roots = vec![("other-root".into(), other_root)];
    let report = case.audit_with(&case.entries, &trust);
    assert!(kinds(&report).contains(&FindingKind::InvalidCertificate));
    assert!(kinds(&report).contains(&FindingKind::UnknownCertificate));
    for g in 0..2 {
        assert_ne!(chip(&report, case.gpus[g].id).status, ChipStatus::Verified);
    }
    // An endorsement signed by a key that is not the registry's is refused; the GPUs are
    // credited nothing, so their bounds are the whole RTT.
    let mut forger = case.fleet.registry.clone();
    forger = ed25519_dalek::SigningKey::from_bytes(&{
        let mut b = forger.to_bytes();
        b[0] ^= 1;
        b
    });
    let forged = ModelEndorsement::issue(
        &mut forger,
        ModelName::new("H100").unwrap(),
        case.root_sha256(),
        LeafCnPrefix::new("GH100").unwrap(),
        ResponseTiming::minimum_only(50_000_000),
        long_validity(),
    )
    .unwrap();
    let mut entries = case.entries.clone();
    entries.push(LogRecord::ModelEndorsement(forged).to_vec());
    let report = case.audit_with(&entries, &case.trust());
    assert_eq!(
        kinds(&report),
        BTreeSet::from([FindingKind::InvalidCertificate])
    );
    assert_eq!(chip(&report, case.gpus[0].id).status, ChipStatus::Verified);
}

#[test]
fn the_real_h100_report_replayed_under_a_fresh_challenge_is_refused() {
    // A real H100 chain in the log under the real NVIDIA root, and its genuine recorded
    // report logged as the answer to a new challenge: the report's nonce is not the one
    // derived from the challenge, so the landmark that logged it is blamed.
    let Some(sample) = evidence_support::sample("hopper") else {
        return;
    };
    let chain = lightcone_verifier::evidence::read_pem_certs(&sample.chain).unwrap();
    let root = lightcone_verifier::evidence::read_root(&sample.root).unwrap();
    let report = lightcone_verifier::evidence::read_report_hex(&sample.report).unwrap();
    let chain_der = der_chain(&chain);
    let gpu = lightcone_verifier::evidence::gpu::identify_gpu(
        &chain_der,
        &[("nvidia-device-identity-ca".into(), root.clone())],
    )
    .unwrap();
    let mut case = Case::new(10);
    case.honest(1);
    case.entries
        .push(LogEntry::GpuChain(GpuChain::new(&chain_der).unwrap()).to_vec());
    let challenge = case.fleet.landmarks[0]
        .landmark
        .challenge(gpu.chip_id, &mut case.rng)
        .unwrap();
    let m = SpdmMeasurement::sign(
        &mut case.fleet.landmarks[0].key,
        challenge,
        &report,
        3_000_000,
        T0_NS + MIN_NS,
    )
    .unwrap();
    case.entries.push(LogEntry::Spdm(m).to_vec());
    let mut trust = case.trust();
    trust
        .x509_roots
        .push(("nvidia-device-identity-ca".into(), root));
    let audited = case.audit_with(&case.entries, &trust);
    let f: Vec<_> = audited.findings.iter().collect();
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].kind, FindingKind::InvalidSignature);
    assert!(f[0].detail.contains("challenge"), "{}", f[0].detail);
    let h100 = chip(&audited, gpu.chip_id);
    assert_eq!(h100.evidence, "spdm-1.1-measurements");
    assert_eq!(h100.vendor, "nvidia-device-identity-ca");
    assert_ne!(h100.status, ChipStatus::Verified);
}

impl Case {
    /// GPU `g`'s report for `nonce` with request operation `operation` and `blocks` blocks.
    fn report_shaped(&mut self, g: usize, nonce: [u8; 32], operation: u8, n: u8) -> Vec<u8> {
        let request = GetMeasurements::new(operation, nonce, 0).unwrap();
        let first = if operation == 0xff || operation == 0 {
            1
        } else {
            operation
        };
        let blocks: Vec<MeasurementBlock<'_>> = (first..first + n)
            .map(|index| MeasurementBlock {
                index,
                value_type: 0x01,
                value: &[0x5c; 48],
            })
            .collect();
        let mut responder_nonce = [0u8; 32];
        self.rng.fill_bytes(&mut responder_nonce);
        let mut out = vec![0u8; 4096];
        let gpu = &mut self.gpus[g].key;
        answer_measurements(gpu, &request, &blocks, &responder_nonce, b"", &mut out)
            .unwrap()
            .to_vec()
    }
}

/// The chip agent (the owner) builds the GET_MEASUREMENTS request from the landmark's
/// challenge (`GetMeasurements::new`: "a landmark (or the chip agent on its behalf)"), so it
/// picks the operation. A count-only request (Param2 = 0) yields a response with no
/// measurement block at all: the cheapest thing the GPU can sign. The registry's endorsement
/// says nothing about the request shape it was measured with, yet the audit accepts such a
/// report as evidence and credits it the full endorsed minimum. Expected: a report that is not
/// the shape the endorsement was measured for is refused (or credited nothing).
#[test]
fn a_count_only_report_with_no_measurement_block_is_not_credited_the_endorsed_minimum() {
    let mut case = Case::new(21);
    let t = T0_NS + 30 * MIN_NS;
    let g = 0;
    for l in 0..LANDMARKS.len() {
        let challenge = case.fleet.landmarks[l]
            .landmark
            .challenge(case.gpus[g].id, &mut case.rng)
            .unwrap();
        let report = case.report_shaped(g, challenge_nonce(&challenge).unwrap(), 0x00, 0);
        assert!(
            report.len() < 37 + 8 + 32 + 2 + 96 + 1,
            "{} bytes",
            report.len()
        );
        let rtt = internet_rtt_ns(
            case.fleet.landmarks[l].true_position,
            GPU_SITES[0],
            GPU_ANSWER_NS,
        );
        let m = SpdmMeasurement::sign(
            &mut case.fleet.landmarks[l].key,
            challenge,
            &report,
            rtt,
            t + l as u64 * 1_000_000,
        )
        .unwrap();
        case.entries.push(LogEntry::Spdm(m).to_vec());
    }
    let report = case.audit();
    let c = chip(&report, case.gpus[g].id);
    eprintln!(
        "status {:?}: {}; findings {:?}",
        c.status,
        c.reason,
        kinds(&report)
    );
    eprintln!(
        "caps {:?}",
        c.epochs
            .iter()
            .flat_map(|e| e.caps.iter().map(|c| c.radius_m))
            .collect::<Vec<_>>()
    );
    assert_ne!(
        c.status,
        ChipStatus::Verified,
        "a GPU that signed only a measurement count (0 blocks) is verified with the endorsed minimum subtracted"
    );
}

/// Chains of ten certificates: nine attacker CAs with good signatures, the last naming the
/// trusted root as its issuer (so `ends_at` picks the root) but not signed by it. Each
/// distinct chain costs the audit ten P-384 verifications (pure-Rust core path) before it
/// fails at the root; the attacker pays one signature per chain (a new leaf). Any landmark
/// relays any GpuChain record (net/submit.rs) and the log operator is untrusted, and no one is
/// blamed. Expected: a bogus chain costs the audit one P-384 verification, at the root link.
#[test]
fn distinct_bogus_long_chains_are_refused_at_the_root_link_first() {
    const N: usize = 100;
    let mut case = Case::new(22);
    case.honest(1);
    let root_name = "CN=Test Root,O=lightcone";
    let cas: Vec<SigningKey> = (0..9u8).map(|i| key(0x90 + i)).collect();
    // A9 (index 8) names the trusted root; A1 (index 0) issues the leaves.
    let mut upper: Vec<Cert> = Vec::new();
    for i in (0..9).rev() {
        let subject = format!("CN=Attacker CA {i},O=x");
        let issuer = if i == 8 {
            root_name.to_owned()
        } else {
            format!("CN=Attacker CA {},O=x", i + 1)
        };
        let signer = if i == 8 {
            key(0xee)
        } else {
            cas[i + 1].clone()
        };
        upper.insert(
            0,
            Spec::new(&subject, &issuer, ca_exts(None))
                .sign(&cas[i], &signer)
                .unwrap(),
        );
    }
    let mut bogus = Vec::new();
    for n in 0..N {
        let leaf = Spec::new(
            &format!("CN=GH100 A01 GSP FMC LF,serialNumber={n}"),
            "CN=Attacker CA 0,O=x",
            leaf_exts(),
        )
        // Signed by none of the chain's keys: a walk from the leaf up would stop here, so the
        // finding below says which link the audit checked first.
        .sign(&key(0x30), &key(0x31))
        .unwrap();
        let mut chain = vec![leaf];
        chain.extend(upper.iter().cloned());
        assert_eq!(chain.len(), 10);
        let der = der_chain(&chain);
        bogus.push(LogEntry::GpuChain(GpuChain::new(&der).unwrap()).to_vec());
    }
    let trust = case.trust();
    let t0 = std::time::Instant::now();
    let base = case.audit_with(&case.entries, &trust);
    let base_s = t0.elapsed().as_secs_f64();
    let mut entries = case.entries.clone();
    entries.extend(bogus);
    let t1 = std::time::Instant::now();
    let attacked = case.audit_with(&entries, &trust);
    let attacked_s = t1.elapsed().as_secs_f64();
    let per_chain_ms = (attacked_s - base_s) * 1e3 / N as f64;
    eprintln!(
        "base {base_s:.3} s, with {N} bogus chains {attacked_s:.3} s: {per_chain_ms:.2} ms per chain (2 threads)"
    );
    assert_eq!(attacked.counts.rejected, base.counts.rejected + N as u64);
    // Blamed on no one.
    assert!(attacked
        .findings
        .iter()
        .filter(|f| f.detail.contains("GPU certificate chain rejected"))
        .all(|f| f.landmark_id.is_none()));
    // The root link is checked first, so each bogus chain is refused at its first signature
    // check (measured: 64.7 ms per chain before, 3.7 ms after, in a debug build under load).
    assert!(attacked
        .findings
        .iter()
        .filter(|f| f.detail.contains("GPU certificate chain rejected"))
        .all(|f| f.detail.contains("does not verify under the root")));
}

/// Landmark 1 (a faulty operator) logs a genuine GPU report made for a challenge that names
/// landmark 0, signing it with its own key. The audit checks the signature under landmark 0's
/// key (the challenge's landmark id), which fails, and names landmark 0 in the finding: the
/// honest landmark is blamed for an entry it never signed (anyone, the log operator included,
/// can make such an entry). Expected: an entry whose landmark signature does not verify under
/// the landmark it names is not attributed to that landmark.
#[test]
fn an_entry_signed_by_another_landmark_is_not_blamed_on_the_landmark_it_names() {
    let mut case = Case::new(23);
    case.honest(1);
    let t = T0_NS + 30 * MIN_NS;
    let challenge = case.fleet.landmarks[0]
        .landmark
        .challenge(case.gpus[0].id, &mut case.rng)
        .unwrap();
    let report = case.report(0, challenge_nonce(&challenge).unwrap());
    let m = SpdmMeasurement::sign(
        &mut case.fleet.landmarks[1].key,
        challenge,
        &report,
        50_000_000,
        t,
    )
    .unwrap();
    case.entries.push(LogEntry::Spdm(m).to_vec());
    let report = case.audit();
    let honest = case.fleet.landmarks[0].landmark.id().to_string();
    let bad: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::InvalidSignature)
        .collect();
    eprintln!("{bad:#?}");
    assert_eq!(bad.len(), 1);
    assert_ne!(bad[0].landmark_id.as_deref(), Some(honest.as_str()));
}

/// A log that repeats one GPU chain record many times (an untrusted log operator's cheap way
/// to make an auditor hold or check it over and over): every repeat is counted, the chain is
/// checked once, and a bad one is reported once.
#[test]
fn a_repeated_chain_is_counted_but_checked_and_reported_once() {
    let mut case = Case::new(24);
    case.honest(1);
    let mut stranger = Synthetic::new();
    stranger.root_key = key(0x67);
    stranger.ca_key = key(0x68);
    let (chain, _) = stranger.build();
    let record = LogEntry::GpuChain(GpuChain::new(&der_chain(&chain)).unwrap()).to_vec();
    let mut entries = case.entries.clone();
    entries.extend(std::iter::repeat_n(record, 300));
    let report = case.audit_with(&entries, &case.trust());
    assert_eq!(report.counts.gpu_chains, 2 + 300);
    let refused: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::InvalidCertificate)
        .collect();
    assert_eq!(refused.len(), 1, "{refused:#?}");
    for g in 0..2 {
        assert_eq!(chip(&report, case.gpus[g].id).status, ChipStatus::Verified);
    }
}
