//! Criterion bench of the core's ECDSA P-384/SHA-384 verification (`lightcone::ecdsa`, pure
//! Rust RustCrypto `p384`) against `ring`'s (C and assembly, the code rustls relies on) as the
//! baseline in the same group, plus the whole check of an SPDM report of the NVIDIA sample's
//! shape (64 blocks, ~4 KB: transcript hash and signature).
#![allow(missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use lightcone::ecdsa::{P384PublicKey, P384Signature};
use lightcone::evidence::spdm::{
    encode_unsigned_measurements, GetMeasurements, MeasurementBlock, SpdmEvidence,
};
use p384::ecdsa::signature::hazmat::PrehashSigner as _;
use p384::ecdsa::SigningKey;
use sha2::{Digest, Sha384};

fn signing_key() -> SigningKey {
    let mut secret = [0x5cu8; 48];
    secret[0] = 0x01;
    SigningKey::from_slice(&secret).unwrap()
}

fn sign(sk: &SigningKey, digest: &[u8; 48]) -> [u8; 96] {
    let sig: p384::ecdsa::Signature = sk.sign_prehash(digest).unwrap();
    let mut out = [0u8; 96];
    out.copy_from_slice(&sig.to_bytes());
    out
}

fn bench_p384(c: &mut Criterion) {
    let mut group = c.benchmark_group("ecdsa_p384_verify");
    let sk = signing_key();
    let pk_bytes = sk
        .verifying_key()
        .to_encoded_point(false)
        .as_bytes()
        .to_vec();
    let msg = [7u8; 86];
    let sig_bytes = sign(&sk, &Sha384::digest(msg).into());

    let ring_key = ring::signature::UnparsedPublicKey::new(
        &ring::signature::ECDSA_P384_SHA384_FIXED,
        pk_bytes.clone(),
    );
    assert!(ring_key.verify(&msg, &sig_bytes).is_ok());
    group.bench_function("baseline_ring_verify_86B", |b| {
        b.iter(|| {
            ring_key
                .verify(black_box(&msg), black_box(&sig_bytes))
                .unwrap()
        })
    });

    let key = P384PublicKey::from_sec1(&pk_bytes).unwrap();
    let sig = P384Signature::from_slice(&sig_bytes).unwrap();
    assert!(key.verify(&msg, &sig).is_ok());
    group.bench_function("core_verify_86B", |b| {
        b.iter(|| key.verify(black_box(&msg), black_box(&sig)).unwrap())
    });
    group.bench_function("core_parse_key_and_verify_86B", |b| {
        b.iter(|| {
            let key = P384PublicKey::from_sec1(black_box(&pk_bytes)).unwrap();
            let sig = P384Signature::from_slice(black_box(&sig_bytes)).unwrap();
            key.verify(black_box(&msg), &sig).unwrap()
        })
    });

    // An SPDM report of the NVIDIA sample's shape: 64 SHA-384 blocks, 422 bytes of opaque data.
    let request = GetMeasurements::new(0xFF, [0x42; 32], 0).unwrap();
    let values: Vec<[u8; 48]> = (0..64u8).map(|i| [i; 48]).collect();
    let blocks: Vec<MeasurementBlock<'_>> = values
        .iter()
        .zip(1u8..)
        .map(|(v, index)| MeasurementBlock {
            index,
            value_type: 1,
            value: v,
        })
        .collect();
    let mut buf = vec![0u8; 8192];
    let unsigned =
        encode_unsigned_measurements(&request, &blocks, &[9; 32], &[0xee; 422], &mut buf).unwrap();
    let digest: [u8; 48] = Sha384::new()
        .chain_update(request.as_bytes())
        .chain_update(unsigned)
        .finalize()
        .into();
    let report = [request.as_bytes(), unsigned, &sign(&sk, &digest)[..]].concat();
    assert_eq!(report.len(), 4117);
    group.bench_function("core_spdm_report_parse_and_verify_4117B", |b| {
        b.iter(|| {
            let e = SpdmEvidence::parse_concatenated(black_box(&report)).unwrap();
            e.verify(&key, &[0x42; 32]).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench_p384);
criterion_main!(benches);
