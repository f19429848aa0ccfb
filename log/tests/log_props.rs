//! Property tests: for random trees up to a few thousand leaves every inclusion and consistency
//! proof verifies, and any single-bit change to a proof, a root, a size, an index or a leaf
//! makes verification fail.

use lightcone_log::checkpoint::{check_consistency_proof, check_tlog_proof, Checkpoint};
use lightcone_log::hash::{leaf_hash, Hash};
use lightcone_log::proof::{
    consistency_proof, inclusion_proof, verify_consistency, verify_inclusion, MemoryTree,
};
use lightcone_log::{ConsistencyProofText, NoteSigner, TlogProof};
use proptest::prelude::*;

fn entries(n: u64, seed: u64) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| format!("entry {i} of tree {seed}").into_bytes())
        .collect()
}

fn tree(n: u64, seed: u64) -> (MemoryTree, Vec<Hash>) {
    let leaves: Vec<Hash> = entries(n, seed).iter().map(|e| leaf_hash(e)).collect();
    (MemoryTree::from_leaf_hashes(leaves.clone()), leaves)
}

fn flip(h: &Hash, bit: usize) -> Hash {
    let mut h = *h;
    h[(bit / 8) % 32] ^= 1 << (bit % 8);
    h
}

/// Tree sizes weighted toward interesting shapes: small, around powers of two and tile edges,
/// and up to a few thousand.
fn tree_size() -> impl Strategy<Value = u64> {
    prop_oneof![
        1u64..40,
        (1u32..12).prop_flat_map(|k| ((1u64 << k) - 1)..=((1u64 << k) + 1)),
        200u64..300,
        1u64..4000,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn every_proof_verifies(n in tree_size(), seed in any::<u64>()) {
        let (mut t, leaves) = tree(n, seed);
        let root = t.root(n).unwrap();
        for i in 0..n {
            let p = inclusion_proof(&mut t, i, n).unwrap();
            prop_assert!(verify_inclusion(i, n, &leaves[i as usize], &p, &root).is_ok());
        }
        for old in 0..=n {
            let p = consistency_proof(&mut t, old, n).unwrap();
            let old_root = t.root(old).unwrap();
            prop_assert!(verify_consistency(old, n, &old_root, &root, &p).is_ok());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn inclusion_bit_flips_fail(
        n in tree_size(), seed in any::<u64>(), pick in any::<u64>(), bit in 0usize..256,
        which in 0usize..4, size_bit in 0u32..12,
    ) {
        let (mut t, leaves) = tree(n, seed);
        let index = pick % n;
        let root = t.root(n).unwrap();
        let proof = inclusion_proof(&mut t, index, n).unwrap();
        let leaf = leaves[index as usize];
        prop_assert!(verify_inclusion(index, n, &leaf, &proof, &root).is_ok());
        let result = match which {
            0 if !proof.is_empty() => {
                let mut p = proof.clone();
                let k = bit % p.len();
                p[k] = flip(&p[k], bit);
                verify_inclusion(index, n, &leaf, &p, &root)
            }
            0 | 1 => verify_inclusion(index, n, &leaf, &proof, &flip(&root, bit)),
            2 => verify_inclusion(index, n, &flip(&leaf, bit), &proof, &root),
            _ => {
                // A different index in the same tree: its leaf position, so its hash order,
                // differs (out-of-range indices are rejected outright).
                let other = index ^ (1 << (size_bit % 12));
                verify_inclusion(other, n, &leaf, &proof, &root)
            }
        };
        prop_assert!(result.is_err());
    }

    #[test]
    fn consistency_bit_flips_fail(
        n in tree_size(), seed in any::<u64>(), pick in any::<u64>(), bit in 0usize..256,
        which in 0usize..4, size_bit in 0u32..12,
    ) {
        prop_assume!(n >= 2);
        let old = 1 + pick % (n - 1);
        let (mut t, _) = tree(n, seed);
        let (old_root, root) = (t.root(old).unwrap(), t.root(n).unwrap());
        let proof = consistency_proof(&mut t, old, n).unwrap();
        prop_assert!(verify_consistency(old, n, &old_root, &root, &proof).is_ok());
        let result = match which {
            0 => {
                let mut p = proof.clone();
                let k = bit % p.len();
                p[k] = flip(&p[k], bit);
                verify_consistency(old, n, &old_root, &root, &p)
            }
            1 => verify_consistency(old, n, &flip(&old_root, bit), &root, &proof),
            2 => verify_consistency(old, n, &old_root, &flip(&root, bit), &proof),
            _ => verify_consistency(old ^ (1 << size_bit), n, &old_root, &root, &proof),
        };
        prop_assert!(result.is_err());
    }

}

proptest! {
    // Each case signs once and verifies ~20 Ed25519 signatures (slow in debug builds).
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// In the signed text forms every single-bit change fails: proof lines, index, old size,
    /// and the checkpoint's size, root and signature (the tree size is bound by the signature,
    /// which the bare RFC 9162 algorithm cannot do alone, see `bare_inclusion_does_not_bind_size`).
    #[test]
    fn signed_proof_text_bit_flips_fail(
        n in 2u64..300, seed in any::<u64>(), pick in any::<u64>(), flips in proptest::collection::vec(any::<usize>(), 8),
    ) {
        let signer = NoteSigner::new("example.com/log", ed25519_dalek::SigningKey::from_bytes(&[9; 32])).unwrap();
        let key = signer.verifier_key().clone();
        let data = entries(n, seed);
        let (mut t, _) = tree(n, seed);
        let cp = Checkpoint { origin: "example.com/log".into(), size: n, root: t.root(n).unwrap(), extensions: vec![] };
        let note = cp.sign(&signer).unwrap();
        let index = pick % n;
        let proof = TlogProof { extra: None, index, hashes: inclusion_proof(&mut t, index, n).unwrap(), checkpoint: note.clone() };
        let text = proof.to_text();
        prop_assert!(check_tlog_proof(&TlogProof::parse(&text).unwrap(), &data[index as usize], &key).is_ok());
        let old = 1 + pick % (n - 1);
        let old_root = t.root(old).unwrap();
        let cproof = ConsistencyProofText { old_size: old, hashes: consistency_proof(&mut t, old, n).unwrap(), checkpoint: note };
        let ctext = cproof.to_text();
        prop_assert!(check_consistency_proof(&ConsistencyProofText::parse(&ctext).unwrap(), &old_root, &key).is_ok());
        for f in flips {
            let mut bad = text.clone();
            let bit = f % (bad.len() * 8);
            bad[bit / 8] ^= 1 << (bit % 8);
            let ok = TlogProof::parse(&bad).and_then(|p| check_tlog_proof(&p, &data[index as usize], &key)).is_ok();
            prop_assert!(!ok, "inclusion proof accepted with bit {} flipped", bit);
            let mut bad = ctext.clone();
            let bit = f % (bad.len() * 8);
            bad[bit / 8] ^= 1 << (bit % 8);
            let ok = ConsistencyProofText::parse(&bad).and_then(|p| check_consistency_proof(&p, &old_root, &key)).is_ok();
            prop_assert!(!ok, "consistency proof accepted with bit {} flipped", bit);
        }
    }
}

/// Documents a property of RFC 9162 §2.1.3.2 and §2.1.4.2 themselves: the bare algorithms do
/// not bind the (newer) tree size. The proof of leaf 0 in a tree of 5 also verifies as "leaf 0
/// of a tree of 7" against the same root, because both walks make three right-sibling steps;
/// likewise a consistency proof 1 -> 5. The size is bound by the signed checkpoint, which is
/// why our proofs always travel with one (tlog-proof@v1, `old N` + checkpoint) and why the
/// signed-form property above flips every bit, size included.
#[test]
fn bare_rfc9162_does_not_bind_new_size() {
    let (mut t, leaves) = tree(7, 0);
    let root5 = t.root(5).unwrap();
    let p = inclusion_proof(&mut t, 0, 5).unwrap();
    assert!(verify_inclusion(0, 5, &leaves[0], &p, &root5).is_ok());
    assert!(verify_inclusion(0, 7, &leaves[0], &p, &root5).is_ok());
    let c = consistency_proof(&mut t, 1, 5).unwrap();
    let root1 = t.root(1).unwrap();
    assert!(verify_consistency(1, 5, &root1, &root5, &c).is_ok());
    assert!(verify_consistency(1, 7, &root1, &root5, &c).is_ok());
}
