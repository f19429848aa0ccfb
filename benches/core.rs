//! Criterion benches of the core's hot paths: a chip signing a response, a verifier checking a
//! measurement, with raw Ed25519 sign/verify as the baseline in the same groups.
#![allow(missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use ed25519_dalek::{Signer as _, SigningKey};
use lightcone::{
    DeviceCertificate, Landmark, LandmarkCertificate, ModelName, Position, RamCounter, Responder,
    ResponseTiming, Signer, Validity, Wire,
};

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn bench_sign(c: &mut Criterion) {
    let mut group = c.benchmark_group("chip_sign");
    let raw = key(1);
    group.bench_function("baseline_ed25519_sign_86B", |b| {
        b.iter(|| raw.sign(black_box(&[7u8; 86])))
    });
    let mut responder = Responder::new(key(1), RamCounter::default());
    let mut lm = Landmark::new(key(2));
    let challenge = lm
        .challenge(
            responder.chip_id(),
            &mut rand_chacha::ChaCha20Rng::from_seed([3; 32]),
        )
        .unwrap();
    let mut cbuf = [0u8; lightcone::Challenge::MAX_SIZE];
    let cbytes = challenge.encode(&mut cbuf).unwrap().to_vec();
    let mut out = [0u8; lightcone::Response::MAX_SIZE];
    group.bench_function("respond", |b| {
        b.iter(|| {
            responder
                .respond(black_box(&cbytes), || 0, &mut out)
                .unwrap()
        })
    });
    let _ = &mut lm;
    group.finish();
}

fn bench_verify(c: &mut Criterion) {
    let mut group = c.benchmark_group("verify_measurement");
    let mut vendor = key(10);
    let mut registry = key(11);
    let chip = key(12);
    let lm_key = key(13);
    let validity = Validity {
        not_before: 0,
        not_after: u64::MAX,
    };
    let device = DeviceCertificate::issue(
        &mut vendor,
        chip.public_key(),
        ModelName::new("bench-chip").unwrap(),
        ResponseTiming::minimum_only(10_000),
        validity,
    )
    .unwrap()
    .verify(&vendor.public_key(), 1)
    .unwrap();
    let landmark_cert = LandmarkCertificate::issue(
        &mut registry,
        lm_key.public_key(),
        lightcone::OperatorName::new("bench-operator").unwrap(),
        Position::from_degrees(50.1109, 8.6821).unwrap(),
        100,
        validity,
    )
    .unwrap()
    .verify(&registry.public_key(), 1)
    .unwrap();
    let mut responder = Responder::new(chip, RamCounter::default());
    let mut lm = Landmark::new(lm_key);
    let challenge = lm
        .challenge(
            responder.chip_id(),
            &mut rand_chacha::ChaCha20Rng::from_seed([4; 32]),
        )
        .unwrap();
    let mut cbuf = [0u8; lightcone::Challenge::MAX_SIZE];
    let cbytes = challenge.encode(&mut cbuf).unwrap().to_vec();
    let mut out = [0u8; lightcone::Response::MAX_SIZE];
    let n = responder.respond(&cbytes, || 0, &mut out).unwrap();
    let response = lm.check_response(&challenge, &out[..n], &device).unwrap();
    let measurement = lm.measure(&response, 1_000_000, 1).unwrap();
    let mut mbuf = [0u8; lightcone::Measurement::MAX_SIZE];
    let mbytes = measurement.encode(&mut mbuf).unwrap().to_vec();

    let raw = key(20);
    let raw_pub = raw.verifying_key();
    let raw_sig = raw.sign(&[9u8; 200]);
    group.bench_function("baseline_ed25519_verify_strict", |b| {
        b.iter(|| {
            raw_pub
                .verify_strict(black_box(&[9u8; 200]), &raw_sig)
                .unwrap()
        })
    });
    group.bench_function("decode_and_verify_measurement", |b| {
        b.iter(|| {
            let m = lightcone::Measurement::decode(black_box(&mbytes)).unwrap();
            m.verify(&landmark_cert, &device).unwrap()
        })
    });
    group.finish();
}

use rand_chacha::rand_core::SeedableRng;

criterion_group!(benches, bench_sign, bench_verify);
criterion_main!(benches);
