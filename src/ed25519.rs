//! The one Ed25519 verification rule of lightcone, shared by single and batch verification.
//!
//! Strict single verification (`verify_strict`) is cofactorless, while batch verification is
//! not exactly equivalent to it: a key holder can craft a signature whose `R` carries a small
//! torsion component, which a cofactorless batch accepts or rejects depending on its random
//! weights. An auditor must never get different answers from different batch sizes, so both our
//! paths use the same, fully specified rule (the cofactored equation of RFC 8032 §5.1.7, with
//! strict encodings, in the spirit of ZIP-215 but rejecting every non-canonical encoding):
//!
//! 1. `S` is canonical (`S < ℓ`);
//! 2. `A` and `R` are canonical encodings (`y < p`), decompress, and are not of small order;
//! 3. `[8]([S]B − [k]A − R) = 0` with `k = SHA-512(R ‖ A ‖ M) mod ℓ`.
//!
//! A batch checks `[8](Σ zᵢ([Sᵢ]B − [kᵢ]Aᵢ − Rᵢ)) = 0` with independent random 128-bit `zᵢ`,
//! which holds for a set of signatures exactly when each one satisfies rule 3, except with
//! probability about 2⁻¹²⁸: multiplying by the cofactor removes every torsion component, so what
//! remains lies in the prime-order group, where random weights cannot cancel. Honest signatures
//! (`R = [r]B`) pass both, as with any Ed25519 verifier.
//!
//! What this rule is not: it is not `verify_strict`. It accepts mixed-order keys and `R` values
//! that `verify_strict` refuses, and signatures are not unique per message: a key holder can
//! add a torsion component to `R` and get a second valid signature of the same message. Nothing
//! in lightcone relies on signature uniqueness (log entries are deduplicated by their bytes,
//! challenges by `(landmark, nonce)`).

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use sha2::{Digest, Sha512};

use crate::error::Error;
use crate::ids::PublicKey;
use crate::signing::Signature;

/// A public key that passed every key check: canonical and not of small order. Parse each key
/// once and reuse it: decompression is a noticeable share of a verification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PreparedKey {
    point: EdwardsPoint,
    bytes: [u8; 32],
}

impl PreparedKey {
    /// Checks and decompresses `key`; `InvalidPublicKey` for any key that fails rule 2.
    pub fn new(key: &PublicKey) -> Result<Self, Error> {
        let bytes = key.to_bytes();
        let point = decompress_canonical(&bytes).ok_or(Error::InvalidPublicKey)?;
        if point.is_small_order() {
            return Err(Error::InvalidPublicKey);
        }
        Ok(PreparedKey { point, bytes })
    }

    /// The decompressed point (for batch verifiers).
    pub const fn point(&self) -> &EdwardsPoint {
        &self.point
    }

    /// The key's 32-byte encoding.
    pub const fn bytes(&self) -> &[u8; 32] {
        &self.bytes
    }
}

/// A signature that passed the encoding checks (rules 1 and 2), with its parts decoded.
#[derive(Clone, Copy, Debug)]
pub struct PreparedSignature {
    /// The commitment point `R`.
    pub r: EdwardsPoint,
    /// The response scalar `S`.
    pub s: Scalar,
    r_bytes: [u8; 32],
}

impl PreparedSignature {
    /// Checks `S < ℓ`, `R` canonical and not of small order; `BadSignature` otherwise.
    pub fn new(signature: &Signature) -> Result<Self, Error> {
        let bytes = signature.to_bytes();
        let (r_part, s_part) = bytes.split_at(32);
        let r_bytes: [u8; 32] = r_part.try_into().map_err(|_| Error::BadSignature)?;
        let s_bytes: [u8; 32] = s_part.try_into().map_err(|_| Error::BadSignature)?;
        let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes))
            .ok_or(Error::BadSignature)?;
        let r = decompress_canonical(&r_bytes).ok_or(Error::BadSignature)?;
        if r.is_small_order() {
            return Err(Error::BadSignature);
        }
        Ok(PreparedSignature { r, s, r_bytes })
    }

    /// The challenge scalar `k = SHA-512(R ‖ A ‖ M) mod ℓ` of this signature over `message`.
    pub fn challenge(&self, key: &PreparedKey, message: &[u8]) -> Scalar {
        let mut hash = Sha512::new();
        hash.update(self.r_bytes);
        hash.update(key.bytes);
        hash.update(message);
        Scalar::from_bytes_mod_order_wide(&hash.finalize().into())
    }
}

/// Verifies one signature by the rule above.
pub fn verify(key: &PreparedKey, message: &[u8], signature: &Signature) -> Result<(), Error> {
    let sig = PreparedSignature::new(signature)?;
    let k = sig.challenge(key, message);
    // [S]B − [k]A
    let expected_r = EdwardsPoint::vartime_double_scalar_mul_basepoint(&-k, &key.point, &sig.s);
    if (expected_r - sig.r).mul_by_cofactor().is_identity() {
        Ok(())
    } else {
        Err(Error::BadSignature)
    }
}

/// Decompresses a point only from its canonical encoding: `y < p = 2²⁵⁵ − 19`. (The other
/// non-canonical form, a sign bit on `x = 0`, only encodes `y = ±1`, points of small order that
/// every caller refuses anyway.)
fn decompress_canonical(bytes: &[u8; 32]) -> Option<EdwardsPoint> {
    if !y_is_canonical(bytes) {
        return None;
    }
    CompressedEdwardsY(*bytes).decompress()
}

/// Whether the 255-bit `y` in `bytes` (little-endian, top bit = sign of x) is below `p`.
/// `y ≥ p` exactly when the top byte is 0x7f (sign bit ignored), bytes 1..=30 are 0xff, and the
/// low byte is at least 0xed.
fn y_is_canonical(bytes: &[u8; 32]) -> bool {
    let top = bytes.last().map_or(0, |b| b & 0x7f);
    let middle_all_ones = bytes
        .get(1..31)
        .is_some_and(|m| m.iter().all(|&b| b == 0xff));
    let low = bytes.first().copied().unwrap_or(0);
    !(top == 0x7f && middle_all_ones && low >= 0xed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::Signer as _;

    #[test]
    fn honest_signatures_verify_and_agree_with_dalek() {
        let sk = ed25519_dalek::SigningKey::from_bytes(&[5; 32]);
        let key = PreparedKey::new(&PublicKey::from(&sk.verifying_key())).unwrap();
        let sig = sk.sign(b"hello");
        let ours = Signature(crate::wire::Bytes(sig.to_bytes()));
        assert!(verify(&key, b"hello", &ours).is_ok());
        assert!(sk.verifying_key().verify_strict(b"hello", &sig).is_ok());
        assert_eq!(verify(&key, b"hellp", &ours), Err(Error::BadSignature));
    }

    #[test]
    fn the_byte_test_agrees_with_recompression() {
        // Edge encodings around p, and points whose re-compression is the reference answer.
        let mut cases: std::vec::Vec<[u8; 32]> = std::vec::Vec::new();
        for low in [0xeb, 0xec, 0xed, 0xee, 0xff] {
            for sign in [0x7f, 0xff] {
                let mut b = [0xffu8; 32];
                b[0] = low;
                b[31] = sign;
                cases.push(b);
            }
        }
        for seed in 0u8..64 {
            let sk = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
            cases.push(sk.verifying_key().to_bytes());
        }
        for bytes in cases {
            let reference = CompressedEdwardsY(bytes)
                .decompress()
                .map(|p| p.compress().to_bytes() == bytes);
            let ours = decompress_canonical(&bytes).map(|_| true);
            match reference {
                // Decompressible: canonical iff it re-compresses to itself (x = 0 aside).
                Some(same) => {
                    let x_zero_alias = !same && (bytes[31] & 0x80) != 0 && y_is_canonical(&bytes);
                    assert_eq!(ours.is_some(), same || x_zero_alias, "{bytes:02x?}");
                }
                None => assert!(ours.is_none()),
            }
        }
    }

    #[test]
    fn small_order_and_non_canonical_keys_are_refused() {
        // The identity (y = 1), encoded canonically and as y = 1 + p (non-canonical).
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(
            PreparedKey::new(&PublicKey::from(identity)),
            Err(Error::InvalidPublicKey)
        );
        let mut non_canonical = [0xffu8; 32];
        non_canonical[0] = 0xee; // p + 1 = 2^255 - 18
        non_canonical[31] = 0x7f;
        assert_eq!(
            PreparedKey::new(&PublicKey::from(non_canonical)),
            Err(Error::InvalidPublicKey)
        );
    }
}
