//! The audit's batch verifier (`audit::batch::verify_all`) accepts exactly what the core's
//! single verification (`lightcone::ed25519::verify`) accepts, on the hand-made Ed25519 edge
//! cases of `tests/ed25519_edge_cases/cases.rs` (small-order and mixed-order keys and R,
//! non-canonical S, A and R, flipped bits), in batches of many sizes that mix good and bad
//! signatures, including its single-verification fallback (any bad signature in a batch sends
//! the whole batch there).
//!
//! Keys are prepared (checked) once before batching, as the audit does; a case whose key fails
//! that check never reaches either path, and must be one the core rejects.

#[path = "../../tests/ed25519_edge_cases/cases.rs"]
mod cases;

use lightcone::ed25519::{verify, PreparedKey};
use lightcone::wire::Bytes;
use lightcone::{PublicKey, Signature};
use lightcone_verifier::audit::batch::{verify_all, Item};

struct Prepared {
    name: String,
    key: PreparedKey,
    msg: Vec<u8>,
    sig: Signature,
    single: bool,
}

fn prepared_cases() -> Vec<Prepared> {
    let mut out = Vec::new();
    for c in cases::handmade() {
        let Ok(key) = PreparedKey::new(&PublicKey::from(c.key)) else {
            assert!(
                !c.accept,
                "{}: key refused but the case should verify",
                c.name
            );
            continue;
        };
        let sig = Signature(Bytes(c.sig));
        let single = verify(&key, &c.msg, &sig).is_ok();
        assert_eq!(single, c.accept, "{}: single verification", c.name);
        out.push(Prepared {
            name: c.name,
            key,
            msg: c.msg,
            sig,
            single,
        });
    }
    out
}

fn batch(cases: &[&Prepared]) -> Vec<bool> {
    let items: Vec<Item<'_>> = cases
        .iter()
        .map(|c| Item {
            key: &c.key,
            message: &c.msg,
            signature: c.sig,
        })
        .collect();
    verify_all(&items)
}

fn check(cases: &[&Prepared]) {
    let got = batch(cases);
    assert_eq!(got.len(), cases.len());
    for (c, ok) in cases.iter().zip(got) {
        assert_eq!(
            ok,
            c.single,
            "{}: batch of {} says {ok}, single says {}",
            c.name,
            cases.len(),
            c.single
        );
    }
}

/// A small deterministic generator for batch composition (xorshift64*).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn the_whole_set_in_one_batch_and_each_case_alone() {
    let cases = prepared_cases();
    assert!(cases.iter().any(|c| c.single) && cases.iter().any(|c| !c.single));
    let all: Vec<&Prepared> = cases.iter().collect();
    check(&all);
    for c in &cases {
        check(&[c]);
    }
}

#[test]
fn mixed_batches_of_many_sizes_agree_with_single_verification() {
    let cases = prepared_cases();
    let good: Vec<&Prepared> = cases.iter().filter(|c| c.single).collect();
    let bad: Vec<&Prepared> = cases.iter().filter(|c| !c.single).collect();
    let mut rng = Rng(0x1d8e_4e27_c47d_124f);
    for size in [2usize, 3, 4, 7, 8, 16, 31, 64, 100] {
        for round in 0..6 {
            // Round 0: only accepted signatures (the batch equation must hold, no fallback);
            // round 1: one bad signature among good ones; later rounds: random mixes.
            let batch: Vec<&Prepared> = (0..size)
                .map(|i| match round {
                    0 => good[rng.below(good.len())],
                    1 if i == size / 2 => bad[rng.below(bad.len())],
                    1 => good[rng.below(good.len())],
                    _ => cases.get(rng.below(cases.len())).unwrap(),
                })
                .collect();
            check(&batch);
        }
    }
}

/// Mixed-order R is the case where cofactorless batch verifiers give different answers for
/// different random weights; ours must accept it in every batch, every time.
#[test]
fn mixed_order_r_is_accepted_in_every_batch() {
    let cases = prepared_cases();
    let mixed: Vec<&Prepared> = cases
        .iter()
        .filter(|c| c.name.starts_with("mixed-order R"))
        .collect();
    assert_eq!(mixed.len(), 7);
    for _ in 0..20 {
        let got = batch(&mixed);
        assert!(got.iter().all(|ok| *ok), "{got:?}");
    }
}
