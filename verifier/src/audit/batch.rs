//! Batch signature verification that accepts exactly what single verification accepts.
//!
//! Both use lightcone's one Ed25519 rule ([`lightcone::ed25519`]): a batch checks
//! `[8](Σ zᵢ([Sᵢ]B − [kᵢ]Aᵢ − Rᵢ)) = 0` with fresh random 128-bit weights `zᵢ`. When a batch
//! fails, every signature in it is checked singly, so the culprits are named and the accepted
//! set is the same as if each had been checked alone.

use std::collections::HashMap;

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use lightcone::ed25519::{self, PreparedKey, PreparedSignature};
use lightcone::Signature;
use rand_core::{OsRng, RngCore};

/// One signature to check: the key (already prepared), the exact signed message, the signature.
pub struct Item<'a> {
    /// The signer's prepared key.
    pub key: &'a PreparedKey,
    /// The signed message (`domain ‖ postcard(body)`).
    pub message: &'a [u8],
    /// The signature.
    pub signature: Signature,
}

/// Checks every item; `result[i]` is whether item `i` is valid, exactly as
/// [`lightcone::ed25519::verify`] would say.
pub fn verify_all(items: &[Item<'_>]) -> Vec<bool> {
    let mut prepared = Vec::with_capacity(items.len());
    let mut ok = vec![true; items.len()];
    for (i, item) in items.iter().enumerate() {
        match PreparedSignature::new(&item.signature) {
            Ok(sig) => prepared.push((i, sig)),
            Err(_) => set(&mut ok, i, false),
        }
    }
    if prepared.is_empty() || batch_holds(items, &prepared) {
        return ok;
    }
    for (i, _) in &prepared {
        if let Some(item) = items.get(*i) {
            let valid = ed25519::verify(item.key, item.message, &item.signature).is_ok();
            set(&mut ok, *i, valid);
        }
    }
    ok
}

fn set(flags: &mut [bool], i: usize, value: bool) {
    if let Some(flag) = flags.get_mut(i) {
        *flag = value;
    }
}

/// Whether the weighted sum of all verification equations vanishes.
///
/// Signatures by one key share its term: `Σ zᵢkᵢAᵢ` is summed per distinct key first, so a batch
/// of `n` signatures by `m` keys is one multiscalar multiplication over `n + m + 1` points, not
/// `2n + 1` (a log holds many signatures by each landmark and chip). The equation is the same.
fn batch_holds(items: &[Item<'_>], prepared: &[(usize, PreparedSignature)]) -> bool {
    let n = prepared.len();
    let mut weights = vec![0u8; 16 * n];
    OsRng.fill_bytes(&mut weights);
    let mut scalars = Vec::with_capacity(2 * n + 1);
    let mut points: Vec<EdwardsPoint> = Vec::with_capacity(2 * n + 1);
    let mut key_slots: HashMap<&[u8; 32], usize> = HashMap::new();
    let mut b_coefficient = Scalar::ZERO;
    for ((i, sig), z) in prepared.iter().zip(weights.chunks_exact(16)) {
        let Some(item) = items.get(*i) else {
            return false;
        };
        let z = weight(z);
        let k = sig.challenge(item.key, item.message);
        b_coefficient += z * sig.s;
        let slot = *key_slots.entry(item.key.bytes()).or_insert_with(|| {
            scalars.push(Scalar::ZERO);
            points.push(*item.key.point());
            scalars.len() - 1
        });
        let Some(key_coefficient) = scalars.get_mut(slot) else {
            return false;
        };
        *key_coefficient -= z * k;
        scalars.push(-z);
        points.push(sig.r);
    }
    scalars.push(b_coefficient);
    points.push(ED25519_BASEPOINT_POINT);
    EdwardsPoint::vartime_multiscalar_mul(&scalars, &points)
        .mul_by_cofactor()
        .is_identity()
}

/// A non-zero 128-bit weight from 16 bytes of the OS CSPRNG. Weights must be unpredictable to
/// whoever made the signatures, or they could be ground to cancel.
fn weight(bytes: &[u8]) -> Scalar {
    let mut b = [0u8; 16];
    b.copy_from_slice(bytes.get(..16).unwrap_or(&[1u8; 16]));
    Scalar::from(u128::from_le_bytes(b) | 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer as _, SigningKey};
    use lightcone::PublicKey;

    fn signed(seed: u8, msg: &[u8]) -> (PreparedKey, Signature) {
        let sk = SigningKey::from_bytes(&[seed; 32]);
        let key = PreparedKey::new(&PublicKey::from(&sk.verifying_key())).unwrap();
        let sig = Signature(lightcone::wire::Bytes(sk.sign(msg).to_bytes()));
        (key, sig)
    }

    /// Batch items for `signed[i]` over `msgs[i]`.
    fn items<'a>(signed: &'a [(PreparedKey, Signature)], msgs: &'a [Vec<u8>]) -> Vec<Item<'a>> {
        signed
            .iter()
            .zip(msgs)
            .map(|((key, sig), m)| Item {
                key,
                message: m,
                signature: *sig,
            })
            .collect()
    }

    #[test]
    fn batch_names_exactly_the_bad_signatures() {
        let msgs: Vec<Vec<u8>> = (0..20u8).map(|i| vec![i; 50]).collect();
        let keys: Vec<(PreparedKey, Signature)> = msgs
            .iter()
            .enumerate()
            .map(|(i, m)| signed(i as u8 + 1, m))
            .collect();
        let mut items = items(&keys, &msgs);
        assert!(verify_all(&items).iter().all(|&v| v));
        let mut bad = items[3].signature.to_bytes();
        bad[40] ^= 1;
        items[3].signature = Signature(lightcone::wire::Bytes(bad));
        items[11].message = &msgs[12];
        let result = verify_all(&items);
        for (i, v) in result.iter().enumerate() {
            assert_eq!(*v, i != 3 && i != 11, "item {i}");
        }
        assert!(verify_all(&[]).is_empty());
    }

    /// Signatures by one key share one term of the batch equation; a bad one among many by the
    /// same key must still be caught and named, wherever it sits.
    #[test]
    fn shared_keys_still_name_the_bad_signature() {
        let msgs: Vec<Vec<u8>> = (0..40u8).map(|i| vec![i; 30]).collect();
        let signed_by_three: Vec<(PreparedKey, Signature)> = msgs
            .iter()
            .enumerate()
            .map(|(i, m)| signed(i as u8 % 3 + 1, m))
            .collect();
        for bad_at in [0usize, 1, 20, 39] {
            let mut items = items(&signed_by_three, &msgs);
            assert!(verify_all(&items).iter().all(|&v| v));
            // The same key's signature over another message it also signed.
            items[bad_at].message = &msgs[(bad_at + 3) % msgs.len()];
            let result = verify_all(&items);
            for (i, v) in result.iter().enumerate() {
                assert_eq!(*v, i != bad_at, "bad at {bad_at}, item {i}");
            }
        }
    }
}
