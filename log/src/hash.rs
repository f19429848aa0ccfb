//! RFC 6962 §2.1 Merkle tree hashing with SHA-256: leaves are hashed with prefix 0x00, interior
//! nodes with prefix 0x01, and the empty tree hashes to SHA-256 of nothing. The prefixes keep
//! a leaf from ever being confused with an interior node (second-preimage resistance).

use super::error::{LogError, Result};
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Length of every hash in the log (SHA-256).
pub const HASH_SIZE: usize = 32;

/// A SHA-256 Merkle tree hash.
pub type Hash = [u8; HASH_SIZE];

/// `MTH({d})`: the hash of one log entry, `SHA-256(0x00 || entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(entry);
    h.finalize().into()
}

/// The hash of an interior node, `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// `MTH({})`: the root of the empty tree, SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Copies a 32-byte hash out of a slice; any other length is an error, never a panic.
pub fn hash_from_slice(bytes: &[u8]) -> Result<Hash> {
    Hash::try_from(bytes).map_err(|_| LogError::BadHashLength(bytes.len()))
}

/// Standard (RFC 4648 §4) base64 of a hash, as checkpoints and proofs carry it.
pub fn hash_to_base64(hash: &Hash) -> String {
    base64::engine::general_purpose::STANDARD.encode(hash)
}

/// Parses a standard-base64 hash; rejects bad base64 and any length but 32 bytes.
pub fn hash_from_base64(s: &str) -> Result<Hash> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|_| LogError::MalformedProof("hash is not valid base64"))?;
    hash_from_slice(&bytes)
}

/// The largest power of two strictly below `n` (the RFC 6962 split point `k`); `n` must be ≥ 2.
pub(crate) fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The root of a perfect subtree whose leaves (at any height) are `hashes`.
///
/// `hashes.len()` must be a power of two; other lengths are an internal error.
pub fn perfect_root(hashes: &[Hash]) -> Result<Hash> {
    if hashes.is_empty() || !hashes.len().is_power_of_two() {
        return Err(LogError::Internal(
            "perfect_root needs a power-of-two count",
        ));
    }
    let mut level: Vec<Hash> = hashes.to_vec();
    while level.len() > 1 {
        let mut next = Vec::with_capacity(level.len() / 2);
        for pair in level.chunks_exact(2) {
            if let [left, right] = pair {
                next.push(node_hash(left, right));
            }
        }
        level = next;
    }
    level
        .first()
        .copied()
        .ok_or(LogError::Internal("perfect_root on empty level"))
}

/// `MTH(D[n])` computed directly from all leaf hashes by the recursive RFC 6962 §2.1 definition.
///
/// Holds the whole tree in memory: meant for tests, tools and small trees; the on-disk log
/// computes roots incrementally instead.
pub fn root_from_leaf_hashes(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => empty_root(),
        [one] => *one,
        _ => {
            let k = split_point(leaves.len() as u64) as usize;
            let (left, right) = leaves.split_at(k);
            node_hash(&root_from_leaf_hashes(left), &root_from_leaf_hashes(right))
        }
    }
}

/// Folds the perfect subtrees of a tree's binary decomposition, given left (largest) to right
/// (smallest), into the tree's root; the empty list gives the empty-tree root.
pub fn fold_right_edge(subtrees: &[Hash]) -> Hash {
    let mut iter = subtrees.iter().rev();
    let Some(last) = iter.next() else {
        return empty_root();
    };
    iter.fold(*last, |acc, left| node_hash(left, &acc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(h: &Hash) -> String {
        h.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn split_point_is_largest_power_of_two_below() {
        assert_eq!(split_point(2), 1);
        assert_eq!(split_point(3), 2);
        assert_eq!(split_point(4), 2);
        assert_eq!(split_point(5), 4);
        assert_eq!(split_point(1 << 40), 1 << 39);
        assert_eq!(split_point((1 << 40) + 1), 1 << 40);
        assert_eq!(split_point(u64::MAX), 1 << 63);
    }

    #[test]
    fn empty_tree_and_empty_leaf() {
        // RFC 6962 test vectors as used by the reference implementation (certificate-transparency
        // and transparency-dev/merkle): MTH({}) and MTH({""}).
        assert_eq!(
            hex(&empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex(&leaf_hash(b"")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
    }

    #[test]
    fn fold_matches_recursive_definition() {
        let leaves: Vec<Hash> = (0u32..21).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        for n in 0..leaves.len() {
            let slice = leaves.get(..n).unwrap();
            // Decompose n into perfect subtrees, largest first.
            let mut subtrees = Vec::new();
            let mut start = 0usize;
            for bit in (0..8).rev() {
                if n & (1 << bit) != 0 {
                    let part = slice.get(start..start + (1 << bit)).unwrap();
                    subtrees.push(perfect_root(part).unwrap());
                    start += 1 << bit;
                }
            }
            assert_eq!(
                fold_right_edge(&subtrees),
                root_from_leaf_hashes(slice),
                "n={n}"
            );
        }
    }

    #[test]
    fn wrong_hash_lengths_are_errors() {
        assert!(matches!(
            hash_from_slice(&[0; 31]),
            Err(LogError::BadHashLength(31))
        ));
        assert!(matches!(
            hash_from_slice(&[0; 33]),
            Err(LogError::BadHashLength(33))
        ));
        assert!(hash_from_base64("AAAA").is_err());
        assert!(perfect_root(&[[0; 32]; 3]).is_err());
    }
}
