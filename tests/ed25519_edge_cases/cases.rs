//! Hand-made Ed25519 edge cases, shared by the core's test (`tests/ed25519_edge_cases.rs`) and
//! the audit's batch test (`verifier/tests/audit_edge_cases.rs`), each with the outcome
//! lightcone's rule must give (see `src/ed25519.rs`) and where the case comes from.
//!
//! Signatures are made by hand from known scalars (`A = [a]B`, `R = [r]B (+ T)`,
//! `S = r + k·a`), so a case can be built for any `R` whose discrete log we know, including
//! ones no honest signer would produce. Sources:
//! - RFC 8032 §5.1.3 (decoding, `y < p`) and §5.1.7 (verification, `S < ℓ`, the cofactored
//!   equation);
//! - Chalkias, Garillot, Nikolaenko, "Taming the many EdDSAs" (2020), the small-order and
//!   non-canonical cases; the 8 torsion points are curve25519-dalek's `EIGHT_TORSION`;
//! - ZIP-215 and Henry de Valence, "It's 255:19AM" (2020), mixed-order `R`, the case where
//!   cofactored and cofactorless verification differ.
#![allow(dead_code)]

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT as B, EIGHT_TORSION};
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use sha2::{Digest, Sha512};

/// ℓ, the order of the prime subgroup, little-endian.
pub const ELL: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// One case: a key encoding, a signature, a message, and whether lightcone's rule accepts.
#[derive(Clone, Debug)]
pub struct Case {
    pub name: String,
    pub key: [u8; 32],
    pub sig: [u8; 64],
    pub msg: Vec<u8>,
    /// The outcome lightcone's rule must give.
    pub accept: bool,
    /// Why, and where the case comes from.
    pub source: &'static str,
}

/// `SHA-512(R ‖ A ‖ M) mod ℓ`, over the encodings as given (canonical or not).
pub fn challenge(r: &[u8; 32], a: &[u8; 32], msg: &[u8]) -> Scalar {
    let mut h = Sha512::new();
    h.update(r);
    h.update(a);
    h.update(msg);
    Scalar::from_bytes_mod_order_wide(&h.finalize().into())
}

/// A signature with commitment encoding `r_enc` (for the point `[r]B + T`), made with secret
/// scalar `a` for the key encoding `a_enc`: `S = r + k·a`.
pub fn sign_raw(a: Scalar, a_enc: &[u8; 32], r: Scalar, r_enc: &[u8; 32], msg: &[u8]) -> [u8; 64] {
    let k = challenge(r_enc, a_enc, msg);
    let s = r + k * a;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(r_enc);
    sig[32..].copy_from_slice(s.as_bytes());
    sig
}

pub fn scalar(n: u64) -> Scalar {
    // Large, unstructured scalars from a small seed.
    Scalar::hash_from_bytes::<Sha512>(&n.to_le_bytes())
}

/// `le + p` for a 255-bit little-endian `y`, if it still fits in 255 bits (only `y < 19`).
pub fn plus_p(y: u8) -> Option<[u8; 32]> {
    // p = 2^255 - 19; y + p = 2^255 - 19 + y < 2^255 iff y < 19.
    if y >= 19 {
        return None;
    }
    let mut out = [0xffu8; 32];
    out[31] = 0x7f;
    out[0] = 0xed + y; // 0xed + 18 = 0xff, no carry
    Some(out)
}

/// The 8 torsion points' canonical encodings (identity, order 2, two of order 4, four of order
/// 8).
pub fn torsion_encodings() -> Vec<[u8; 32]> {
    EIGHT_TORSION
        .iter()
        .map(|t| t.compress().to_bytes())
        .collect()
}

/// Every non-canonical encoding that still decodes: `y + p` for `y < 19` (both sign bits), and
/// the "negative zero" `x = 0` with the sign bit set (points with `y = ±1`).
pub fn non_canonical_encodings() -> Vec<([u8; 32], EdwardsPoint)> {
    let mut out = Vec::new();
    for y in 0..19u8 {
        for sign in [0u8, 0x80] {
            let mut enc = plus_p(y).unwrap();
            enc[31] |= sign;
            if let Some(point) = CompressedEdwardsY(enc).decompress() {
                if point.compress().to_bytes() != enc {
                    out.push((enc, point));
                }
            }
        }
    }
    for canonical in [EIGHT_TORSION[0], EIGHT_TORSION[4]] {
        // y = 1 (identity) and y = -1 (order 2) have x = 0; setting the sign bit is non-canonical.
        let mut enc = canonical.compress().to_bytes();
        enc[31] |= 0x80;
        if let Some(point) = CompressedEdwardsY(enc).decompress() {
            out.push((enc, point));
        }
    }
    out
}

/// All hand-made cases.
pub fn handmade() -> Vec<Case> {
    let mut cases = Vec::new();
    let msg = b"lightcone edge case".to_vec();
    let a = scalar(1);
    let a_point = B * a;
    let a_enc = a_point.compress().to_bytes();

    // Honest signatures under a few keys and messages.
    for i in 0..4u64 {
        let a = scalar(100 + i);
        let a_enc = (B * a).compress().to_bytes();
        let r = scalar(200 + i);
        let m = format!("honest {i}").into_bytes();
        cases.push(Case {
            name: format!("honest {i}"),
            key: a_enc,
            sig: sign_raw(a, &a_enc, r, &(B * r).compress().to_bytes(), &m),
            msg: m,
            accept: true,
            source: "RFC 8032 §5.1.6 signature with R = [r]B: every Ed25519 verifier accepts",
        });
    }

    // Small-order public keys (the 8 torsion points, canonical and aliased). With A of small
    // order, [8][k]A = 0, so `R = [s]B, S = s` satisfies the cofactored equation for every
    // message: a key that "signs" everything. The key check must refuse it.
    let small_keys: Vec<([u8; 32], &str)> = torsion_encodings()
        .into_iter()
        .map(|e| (e, "canonical"))
        .chain(
            non_canonical_encodings()
                .into_iter()
                .filter(|(_, p)| p.is_small_order())
                .map(|(e, _)| (e, "non-canonical")),
        )
        .collect();
    for (i, (key, kind)) in small_keys.iter().enumerate() {
        let s = scalar(300 + i as u64);
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&(B * s).compress().to_bytes());
        sig[32..].copy_from_slice(s.as_bytes());
        cases.push(Case {
            name: format!("small-order key {i} ({kind}) {}", hex::encode(key)),
            key: *key,
            sig,
            msg: msg.clone(),
            accept: false,
            source: "Taming the many EdDSAs: small-order A (signs every message); rule 2 refuses",
        });
    }

    // Small-order R: R = T, S = k·a. [S]B − [k]A − T = −T vanishes under [8]; for T = identity
    // even the cofactorless equation holds. Rule 2 refuses small-order R.
    for (i, t) in EIGHT_TORSION.iter().enumerate() {
        let r_enc = t.compress().to_bytes();
        cases.push(Case {
            name: format!("small-order R {i} {}", hex::encode(r_enc)),
            key: a_enc,
            sig: sign_raw(a, &a_enc, Scalar::ZERO, &r_enc, &msg),
            msg: msg.clone(),
            accept: false,
            source: "Taming the many EdDSAs: small-order R; rule 2 refuses",
        });
    }

    // Mixed-order R: R = [r]B + T with T of order 2, 4 or 8, S = r + k·a. The cofactored
    // equation holds, the cofactorless one does not: lightcone's rule (like ZIP-215 and every
    // batch verifier) accepts. Only the key holder can make such a signature, and it cannot be
    // made to verify differently in a batch, which is why src/ed25519.rs chose this rule.
    for (i, t) in EIGHT_TORSION.iter().enumerate().skip(1) {
        let r = scalar(400 + i as u64);
        let r_enc = (B * r + t).compress().to_bytes();
        cases.push(Case {
            name: format!("mixed-order R with torsion {i}"),
            key: a_enc,
            sig: sign_raw(a, &a_enc, r, &r_enc, &msg),
            msg: msg.clone(),
            accept: true,
            source: "ZIP-215 / It's 255:19AM: mixed-order R; cofactored rule accepts (intended, src/ed25519.rs), verify_strict rejects",
        });
    }

    // Mixed-order A: A = [a]B + T. The cofactored equation clears T, so the rule accepts, as it
    // does mixed-order R (src/ed25519.rs); batch and single agree on it either way.
    for (i, t) in EIGHT_TORSION.iter().enumerate().skip(1) {
        let key = (a_point + t).compress().to_bytes();
        let r = scalar(500 + i as u64);
        cases.push(Case {
            name: format!("mixed-order A with torsion {i}"),
            key,
            sig: sign_raw(a, &key, r, &(B * r).compress().to_bytes(), &msg),
            msg: msg.clone(),
            accept: true,
            source: "Taming the many EdDSAs: mixed-order A; cofactored rule accepts (intended, src/ed25519.rs), verify_strict rejects unless k kills the torsion",
        });
    }

    // Non-canonical S: S + ℓ (same scalar mod ℓ, so the equation holds), S = ℓ, high bits set.
    let r = scalar(600);
    let good = sign_raw(a, &a_enc, r, &(B * r).compress().to_bytes(), &msg);
    let s = Scalar::from_canonical_bytes(good[32..].try_into().unwrap()).unwrap();
    let s_plus_ell = add_le(s.as_bytes(), &ELL);
    for (name, s_bytes) in [
        ("S + ℓ", s_plus_ell),
        ("S = ℓ", ELL),
        ("S with bit 255 set", {
            let mut b = *s.as_bytes();
            b[31] |= 0x80;
            b
        }),
        ("S = 2^256 - 1", [0xff; 32]),
    ] {
        let mut sig = good;
        sig[32..].copy_from_slice(&s_bytes);
        cases.push(Case {
            name: format!("non-canonical {name}"),
            key: a_enc,
            sig,
            msg: msg.clone(),
            accept: false,
            source: "RFC 8032 §5.1.7 step 1: S must be < ℓ (malleability); rule 1 refuses",
        });
    }

    // Non-canonical encodings of A and R (y ≥ p, or x = 0 with the sign bit set).
    for (i, (enc, point)) in non_canonical_encodings().into_iter().enumerate() {
        // As R: for a small-order point we know R's "discrete log" up to torsion (R = T), so
        // S = k·a satisfies the cofactored equation with k over the non-canonical bytes; for a
        // large-order point the signature cannot be completed, and the encoding check alone
        // must refuse it.
        let sig = sign_raw(a, &a_enc, Scalar::ZERO, &enc, &msg);
        cases.push(Case {
            name: format!(
                "non-canonical R {i} {} ({})",
                hex::encode(enc),
                if point.is_small_order() {
                    "small order"
                } else {
                    "large order"
                }
            ),
            key: a_enc,
            sig,
            msg: msg.clone(),
            accept: false,
            source: "RFC 8032 §5.1.3: y must be < p; rule 2 refuses non-canonical R",
        });
        if !point.is_small_order() {
            let r = scalar(700 + i as u64);
            cases.push(Case {
                name: format!("non-canonical A {i} {}", hex::encode(enc)),
                key: enc,
                sig: sign_raw(a, &enc, r, &(B * r).compress().to_bytes(), &msg),
                msg: msg.clone(),
                accept: false,
                source: "RFC 8032 §5.1.3: y must be < p; rule 2 refuses non-canonical A",
            });
        }
    }

    // Not a point at all (no square root for x): as A and as R.
    let not_a_point = (2u8..=255)
        .map(|y| {
            let mut e = [0u8; 32];
            e[0] = y;
            e
        })
        .find(|e| CompressedEdwardsY(*e).decompress().is_none())
        .unwrap();
    cases.push(Case {
        name: "A not on the curve".into(),
        key: not_a_point,
        sig: good,
        msg: msg.clone(),
        accept: false,
        source: "RFC 8032 §5.1.3: decoding fails",
    });
    let mut sig = good;
    sig[..32].copy_from_slice(&not_a_point);
    cases.push(Case {
        name: "R not on the curve".into(),
        key: a_enc,
        sig,
        msg: msg.clone(),
        accept: false,
        source: "RFC 8032 §5.1.3: decoding fails",
    });

    // Wrong message, flipped bits in R and S.
    cases.push(Case {
        name: "honest signature, other message".into(),
        key: a_enc,
        sig: good,
        msg: b"lightcone edge casf".to_vec(),
        accept: false,
        source: "basic soundness",
    });
    for bit in [0usize, 100, 255, 256, 300, 500] {
        let mut sig = good;
        sig[bit / 8] ^= 1 << (bit % 8);
        cases.push(Case {
            name: format!("honest signature, bit {bit} flipped"),
            key: a_enc,
            sig,
            msg: msg.clone(),
            accept: false,
            source: "basic soundness",
        });
    }
    cases
}

/// Little-endian addition of two 256-bit numbers (no overflow for S < ℓ plus ℓ).
pub fn add_le(x: &[u8; 32], y: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let v = u16::from(x[i]) + u16::from(y[i]) + carry;
        out[i] = v as u8;
        carry = v >> 8;
    }
    out
}
