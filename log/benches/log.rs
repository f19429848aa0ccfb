//! Attestation log hot paths: durable batched appends (fsync per batch), and inclusion-proof
//! verification (bare RFC 9162 path, and a full tlog-proof check with its Ed25519 signature).
//!
//! Run: `cargo bench -p lightcone-log --bench log -- --warm-up-time 1 --measurement-time 3`
// criterion_group! generates an undocumented pub fn.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ed25519_dalek::SigningKey;
use lightcone_log::hash::{leaf_hash, Hash};
use lightcone_log::proof::{inclusion_proof, verify_inclusion, MemoryTree};
use lightcone_log::{check_tlog_proof, Log, LogReader};
use std::hint::black_box;

/// A measurement-sized entry (a signed measurement record is a few hundred bytes).
fn entry(i: u64) -> Vec<u8> {
    let mut e = i.to_le_bytes().to_vec();
    e.resize(256, 0xab);
    e
}

fn appends(c: &mut Criterion) {
    let mut g = c.benchmark_group("log_append");
    g.sample_size(10);
    for batch in [1u64, 100, 1000, 4000] {
        let tmp = tempfile::tempdir().unwrap();
        let mut log = Log::init(
            tmp.path().join("log"),
            "bench.example/log",
            SigningKey::from_bytes(&[3; 32]),
        )
        .unwrap();
        let mut next = 0u64;
        g.throughput(Throughput::Elements(batch));
        g.bench_function(format!("durable batch of {batch}"), |b| {
            b.iter_batched(
                || {
                    let es: Vec<Vec<u8>> = (next..next + batch).map(entry).collect();
                    next += batch;
                    es
                },
                |es| log.append_batch(&es).unwrap(),
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

fn inclusion(c: &mut Criterion) {
    let mut g = c.benchmark_group("log_inclusion");
    let n: u64 = 1 << 20;
    let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&entry(i))).collect();
    let mut tree = MemoryTree::from_leaf_hashes(leaves.clone());
    let root = tree.root(n).unwrap();
    let index = 777_777;
    let proof = inclusion_proof(&mut tree, index, n).unwrap();
    let leaf = leaves[index as usize];
    // Baseline: hashing the entry, which every check does anyway.
    g.bench_function("baseline: leaf hash of one entry", |b| {
        b.iter(|| leaf_hash(black_box(&entry(index))))
    });
    g.bench_function("verify inclusion, 2^20 leaves (20 hashes)", |b| {
        b.iter(|| {
            verify_inclusion(
                black_box(index),
                n,
                black_box(&leaf),
                black_box(&proof),
                &root,
            )
            .unwrap()
        })
    });

    // A full offline check of a tlog-proof from an on-disk log: Ed25519 + path.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let mut log = Log::init(&dir, "bench.example/log", SigningKey::from_bytes(&[3; 32])).unwrap();
    let es: Vec<Vec<u8>> = (0..70_000).map(entry).collect();
    log.append_batch(&es).unwrap();
    let vkey = log.verifier_key().clone();
    drop(log);
    let reader = LogReader::open(&dir).unwrap();
    let tproof = reader.prove(54_321).unwrap();
    let e = entry(54_321);
    g.bench_function("check tlog-proof (signature + path), 70000 entries", |b| {
        b.iter(|| check_tlog_proof(black_box(&tproof), black_box(&e), &vkey).unwrap())
    });
    g.bench_function("prove inclusion from tiles, 70000 entries", |b| {
        b.iter(|| reader.inclusion_proof(black_box(54_321)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, appends, inclusion);
criterion_main!(benches);
