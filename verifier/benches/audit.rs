//! The audit's hot path, in one group so the ratios come from one run: raw Ed25519 `verify`
//! (the baseline), verifying one measurement (two signatures, single path), and auditing a
//! 10 000-measurement log, per measurement, on one thread and on all cores; then the same for
//! P-384 chips: ring's P-384 verify as the baseline (C and assembly, what rustls uses), the
//! core's P-384 device-signature verify, and a 10 000-measurement log of P-384 chips; then GPUs
//! that answer with SPDM evidence: ring's P-384 verify over an H100-shaped report's transcript
//! as the baseline, and a 10 000-measurement log of such GPUs.
#![allow(missing_docs)]

use std::time::Duration;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ed25519_dalek::{Signer as _, SigningKey, Verifier as _};
use lightcone::Signer as _;
use lightcone::{LogRecord, Wire};
use lightcone_verifier::audit::{audit, AuditOptions, AuditRules};
use lightcone_verifier::geo::Policy;
use lightcone_verifier::log::Log;
use lightcone_verifier::registry::Trust;
use lightcone_verifier::synth::{ChipKey, SynthFleet, SAMPLE_LANDMARKS};
use rand_core::SeedableRng;

const MEASUREMENTS: usize = 10_000;
const T0_NS: u64 = 1_790_000_000 * 1_000_000_000;
const LANDMARKS: [(f64, f64); 8] = SAMPLE_LANDMARKS;
const POLICY: &str = "permitted = [\"*\"]\nforbidden = [\"CN\", \"RU\"]\n";

/// A log of 10 000 measurements (5 rounds × chips × 8 landmarks) in a temporary directory.
fn build_log(p384: bool) -> (tempfile::TempDir, SynthFleet, Vec<LogRecord>) {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
    let chips = MEASUREMENTS / LANDMARKS.len() / 5;
    let mut fleet = SynthFleet::new(&mut rng, &LANDMARKS, if p384 { 0 } else { chips }).unwrap();
    if p384 {
        for _ in 0..chips {
            fleet.add_chip(ChipKey::generate_p384(&mut rng)).unwrap();
        }
    }
    let mut records = fleet.certificate_records();
    for round in 0..5u64 {
        for chip in 0..chips {
            for l in 0..LANDMARKS.len() {
                let t = T0_NS + round * 60_000_000_000 + (chip * 8 + l) as u64 * 1_000_000;
                let m = fleet
                    .measure(&mut rng, (l, chip), (50.0, 8.0), t, 0)
                    .unwrap();
                records.push(LogRecord::Measurement(m));
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let mut log = Log::init(&path, &fleet.origin, fleet.log_key.clone()).unwrap();
    let entries: Vec<Vec<u8>> = records.iter().map(|r| r.to_vec()).collect();
    log.append_batch(&entries).unwrap();
    (dir, fleet, records)
}

fn bench_audit(c: &mut Criterion) {
    let (dir, fleet, records) = build_log(false);
    let chips = MEASUREMENTS / LANDMARKS.len() / 5;
    let path = dir.path().join("log");
    let trust = fleet.trust();
    let policy = Policy::from_toml_str(POLICY).unwrap();

    let mut group = c.benchmark_group("audit");
    group.warm_up_time(Duration::from_secs(1));

    let key = SigningKey::from_bytes(&[9; 32]);
    let public = key.verifying_key();
    let message = [5u8; 200];
    let signature = key.sign(&message);
    group.throughput(Throughput::Elements(1));
    group.bench_function("baseline_ed25519_verify", |b| {
        b.iter(|| public.verify(black_box(&message), &signature).unwrap())
    });

    let LogRecord::Measurement(m) = records[records.len() - 1] else {
        panic!("measurement")
    };
    let device = fleet.chips[chips - 1]
        .cert
        .verify(&fleet.vendor.public_key(), 1_790_000_000)
        .unwrap();
    let landmark = fleet.landmarks[LANDMARKS.len() - 1]
        .cert
        .verify(&fleet.registry.public_key(), 1_790_000_000)
        .unwrap();
    group.bench_function("verify_one_measurement_single", |b| {
        b.iter(|| black_box(&m).verify(&landmark, &device).unwrap())
    });

    group.sample_size(10);
    group.measurement_time(Duration::from_secs(15));
    group.throughput(Throughput::Elements(MEASUREMENTS as u64));
    audit_10k(
        &mut group,
        "audit_10k_per_measurement",
        &path,
        &trust,
        &policy,
    );

    // P-384 chips.
    let (dir, fleet, records) = build_log(true);
    let path = dir.path().join("log");
    let trust = fleet.trust();
    let LogRecord::Measurement(m) = records[records.len() - 1] else {
        panic!("measurement")
    };
    let device = fleet.chips[chips - 1]
        .cert
        .verify(&fleet.vendor.public_key(), 1_790_000_000)
        .unwrap();
    let landmark = fleet.landmarks[LANDMARKS.len() - 1]
        .cert
        .verify(&fleet.registry.public_key(), 1_790_000_000)
        .unwrap();
    let response = m.body.response;
    let message = response.with_signed_message(|m| Ok(m.to_vec())).unwrap();
    let key_bytes = device.body.device_key.as_bytes().to_vec();
    let sig_bytes = response.signature.as_bytes().to_vec();
    let ring_key = ring::signature::UnparsedPublicKey::new(
        &ring::signature::ECDSA_P384_SHA384_FIXED,
        key_bytes,
    );
    ring_key.verify(&message, &sig_bytes).unwrap();
    group.sample_size(100);
    group.measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(1));
    group.bench_function("baseline_ring_p384_verify", |b| {
        b.iter(|| {
            ring_key
                .verify(black_box(&message), black_box(&sig_bytes))
                .unwrap()
        })
    });
    let prepared = lightcone::PreparedAnyKey::new(&device.body.device_key).unwrap();
    group.bench_function("p384_device_signature_verify", |b| {
        b.iter(|| {
            prepared
                .verify(black_box(&message), black_box(&response.signature))
                .unwrap()
        })
    });
    group.bench_function("verify_one_p384_measurement_single", |b| {
        b.iter(|| black_box(&m).verify(&landmark, &device).unwrap())
    });
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(MEASUREMENTS as u64));
    audit_10k(
        &mut group,
        "audit_10k_p384_per_measurement",
        &path,
        &trust,
        &policy,
    );
    bench_spdm(&mut group, &policy);
    group.finish();
}

/// 10 000 SPDM measurements (5 rounds × 250 GPUs × 8 landmarks) of simulated GPUs under one
/// root, 64-block H100-shaped reports, the registry's endorsement; the trust, the entries and
/// the last measured GPU's key.
fn build_spdm_log() -> (
    tempfile::TempDir,
    Trust,
    Vec<Vec<u8>>,
    lightcone::ecdsa::P384PublicKey,
) {
    use lightcone::evidence::spdm::challenge_nonce;
    use lightcone::evidence::{GpuChain, LeafCnPrefix, ModelEndorsement, SpdmMeasurement};
    use lightcone::LogEntry;
    use lightcone_verifier::evidence::gpu::der_chain;
    use lightcone_verifier::evidence::simulated::SimulatedGpu;
    use lightcone_verifier::evidence::synthetic::{seeded_key, SyntheticChain};
    use lightcone_verifier::evidence::SpdmResponder as _;
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
    let gpus_n = MEASUREMENTS / LANDMARKS.len() / 5;
    let mut fleet = SynthFleet::new(&mut rng, &LANDMARKS, 0).unwrap();
    let mut gpus = Vec::with_capacity(gpus_n);
    let mut root = None;
    for g in 0..gpus_n {
        let leaf = p384::ecdsa::SigningKey::random(&mut rng);
        let chain = SyntheticChain::with_keys(
            "bench",
            &format!("GH100 {g}"),
            seeded_key(0x10).unwrap(),
            seeded_key(0x20).unwrap(),
            leaf,
        )
        .unwrap();
        let gpu = SimulatedGpu::from_chain(&format!("gpu-{g}"), &chain).unwrap();
        root = gpu.root().cloned();
        gpus.push(gpu);
    }
    let root = root.unwrap();
    let mut trust = fleet.trust();
    trust.x509_roots = vec![("bench-root".into(), root.clone())];
    let root_sha256: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(root.der()).into();
    let endorsement = ModelEndorsement::issue(
        &mut fleet.registry,
        lightcone::ModelName::new("H100").unwrap(),
        root_sha256,
        LeafCnPrefix::new("bench GPU GH100").unwrap(),
        lightcone::ResponseTiming::minimum_only(300_000),
        lightcone_verifier::synth::long_validity(),
    )
    .unwrap();
    let mut entries: Vec<Vec<u8>> = fleet
        .certificate_records()
        .iter()
        .map(Wire::to_vec)
        .collect();
    entries.push(LogRecord::ModelEndorsement(endorsement).to_vec());
    for gpu in &gpus {
        let der = der_chain(gpu.chain());
        entries.push(LogEntry::GpuChain(GpuChain::new(&der).unwrap()).to_vec());
    }
    for round in 0..5u64 {
        for (g, gpu) in gpus.iter_mut().enumerate() {
            let id = lightcone::evidence::gpu_chip_id(
                &lightcone::ecdsa::P384PublicKey::from_sec1(
                    gpu.key().verifying_key().to_encoded_point(false).as_bytes(),
                )
                .unwrap(),
            );
            for (l, lm) in fleet.landmarks.iter_mut().enumerate() {
                let t = T0_NS + round * 60_000_000_000 + (g * 8 + l) as u64 * 1_000_000;
                let challenge = lm.landmark.challenge(id, &mut rng).unwrap();
                let report = gpu.measure(&challenge_nonce(&challenge).unwrap()).unwrap();
                let rtt = lightcone_verifier::synth::internet_rtt_ns(
                    lm.true_position,
                    (50.0, 8.0),
                    300_000,
                );
                let m = SpdmMeasurement::sign(&mut lm.key, challenge, &report, rtt, t).unwrap();
                entries.push(LogEntry::Spdm(m).to_vec());
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::init(dir.path().join("log"), &fleet.origin, fleet.log_key.clone()).unwrap();
    log.append_batch(&entries).unwrap();
    let last = gpus
        .last()
        .unwrap()
        .key()
        .verifying_key()
        .to_encoded_point(false);
    let last_key = lightcone::ecdsa::P384PublicKey::from_sec1(last.as_bytes()).unwrap();
    (dir, trust, entries, last_key)
}

/// The SPDM part of the `audit` group: the baseline is ring's P-384 verify over one report's
/// transcript (what the audit's GPU signature check costs at least).
fn bench_spdm(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    policy: &Policy,
) {
    let (dir, trust, entries, last_key) = build_spdm_log();
    let path = dir.path().join("log");
    let last = entries.last().unwrap();
    let lightcone::LogEntry::Spdm(m) = lightcone::LogEntry::decode(last).unwrap() else {
        panic!("SPDM measurement")
    };
    let evidence = lightcone::evidence::spdm::SpdmEvidence::parse_concatenated(m.report).unwrap();
    let transcript = m.transcript().to_vec();
    let signature = evidence.response().signature_bytes().to_vec();
    let ring_key = ring::signature::UnparsedPublicKey::new(
        &ring::signature::ECDSA_P384_SHA384_FIXED,
        last_key.to_sec1().to_vec(),
    );
    ring_key.verify(&transcript, &signature).unwrap();
    group.sample_size(100);
    group.measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(1));
    group.bench_function(
        format!(
            "baseline_ring_p384_verify_spdm_transcript_{}B",
            transcript.len()
        ),
        |b| {
            b.iter(|| {
                ring_key
                    .verify(black_box(&transcript), black_box(&signature))
                    .unwrap()
            })
        },
    );
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(MEASUREMENTS as u64));
    audit_10k(
        group,
        "audit_10k_spdm_per_measurement",
        &path,
        &trust,
        policy,
    );
}

/// Audits the 10 000-measurement log at `path` per measurement, on one thread and on all
/// cores, judged at the log's end (the default is the wall clock; the log is from T0).
fn audit_10k(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    prefix: &str,
    path: &std::path::Path,
    trust: &Trust,
    policy: &Policy,
) {
    for (suffix, threads) in [("1_thread", Some(1)), ("all_cores", None)] {
        let options = AuditOptions {
            log_dir: path,
            trust,
            policy,
            rules: AuditRules::default(),
            now_ns: Some(T0_NS + 5 * 60_000_000_000),
            threads,
            since: None,
        };
        group.bench_function(format!("{prefix}_{suffix}"), |b| {
            b.iter(|| {
                let report = audit(&options, &mut |_, _| {}).unwrap();
                assert_eq!(report.counts.measurements_accepted, MEASUREMENTS as u64);
            })
        });
    }
}

criterion_group!(benches, bench_audit);
criterion_main!(benches);
