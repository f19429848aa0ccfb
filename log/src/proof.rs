//! Inclusion and consistency proofs: generation by the recursive definitions of RFC 6962 §2.1.1
//! and §2.1.2 (over any source of perfect-subtree hashes, e.g. tiles), verification by the
//! algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2, and the text forms other tools read:
//! C2SP `tlog-proof@v1` for inclusion, and the `old <size>` + hashes + checkpoint body of C2SP
//! `tlog-witness` for consistency.

use super::error::{LogError, Result};
use super::hash::{hash_from_base64, hash_to_base64, node_hash, split_point, Hash};
use base64::Engine as _;

/// Longest proof the verifiers accept: a tree of at most 2^64 leaves needs at most 64 hashes.
pub const MAX_PROOF_HASHES: usize = 64;

/// A source of perfect-subtree hashes: `perfect_hash(h, i)` is
/// `MTH(D[i·2^h : (i+1)·2^h])`, the root of the `i`-th perfect subtree of height `h`.
pub trait HashReader {
    /// The hash of the perfect subtree of height `height` at position `index`.
    fn perfect_hash(&mut self, height: u32, index: u64) -> Result<Hash>;
}

/// An in-memory tree of leaf hashes: a [`HashReader`] for tests, benches and small tools.
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    /// `levels[h][i]` is the hash of perfect subtree `i` of height `h`.
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    /// A tree with these leaf hashes.
    pub fn from_leaf_hashes(leaves: Vec<Hash>) -> Self {
        let mut levels = vec![leaves];
        while let Some(last) = levels.last() {
            if last.len() < 2 {
                break;
            }
            let next: Vec<Hash> = last
                .chunks_exact(2)
                .filter_map(|p| match p {
                    [l, r] => Some(node_hash(l, r)),
                    _ => None,
                })
                .collect();
            levels.push(next);
        }
        MemoryTree { levels }
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Root of the first `size` leaves.
    pub fn root(&mut self, size: u64) -> Result<Hash> {
        tree_root(self, size)
    }
}

impl HashReader for MemoryTree {
    fn perfect_hash(&mut self, height: u32, index: u64) -> Result<Hash> {
        self.levels
            .get(height as usize)
            .and_then(|l| l.get(usize::try_from(index).ok()?))
            .copied()
            .ok_or(LogError::Internal("node not in memory tree"))
    }
}

/// `MTH(D[start:end])` for a range produced by the RFC 6962 recursion (`start` aligned to the
/// largest power of two not above `end - start`).
pub fn subtree_hash<R: HashReader + ?Sized>(r: &mut R, start: u64, end: u64) -> Result<Hash> {
    let n = end
        .checked_sub(start)
        .filter(|n| *n > 0)
        .ok_or(LogError::Internal("empty subtree range"))?;
    if n.is_power_of_two() {
        let height = n.trailing_zeros();
        if start % n != 0 {
            return Err(LogError::Internal("unaligned perfect subtree"));
        }
        return r.perfect_hash(height, start >> height);
    }
    let k = split_point(n);
    let left = subtree_hash(r, start, start + k)?;
    let right = subtree_hash(r, start + k, end)?;
    Ok(node_hash(&left, &right))
}

/// `MTH(D[0:size])` from a hash source; the empty tree has the RFC 6962 empty root.
pub fn tree_root<R: HashReader + ?Sized>(r: &mut R, size: u64) -> Result<Hash> {
    if size == 0 {
        return Ok(super::hash::empty_root());
    }
    subtree_hash(r, 0, size)
}

/// `PATH(index, D[size])` (RFC 6962 §2.1.1): the inclusion proof for leaf `index`, leaf's
/// sibling first. Rejects `index ≥ size`.
pub fn inclusion_proof<R: HashReader + ?Sized>(
    r: &mut R,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>> {
    if index >= size {
        return Err(LogError::IndexOutOfRange { index, size });
    }
    let mut out = Vec::new();
    path(r, index, 0, size, &mut out)?;
    Ok(out)
}

fn path<R: HashReader + ?Sized>(
    r: &mut R,
    m: u64,
    start: u64,
    end: u64,
    out: &mut Vec<Hash>,
) -> Result<()> {
    let n = end - start;
    if n <= 1 {
        return Ok(());
    }
    let k = split_point(n);
    if m < start + k {
        path(r, m, start, start + k, out)?;
        out.push(subtree_hash(r, start + k, end)?);
    } else {
        path(r, m, start + k, end, out)?;
        out.push(subtree_hash(r, start, start + k)?);
    }
    Ok(())
}

/// `PROOF(old, D[new])` (RFC 6962 §2.1.2): the consistency proof from tree size `old` to `new`.
/// Empty when `old == 0` or `old == new`; rejects `old > new`.
pub fn consistency_proof<R: HashReader + ?Sized>(
    r: &mut R,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>> {
    if old > new {
        return Err(LogError::SizeOutOfRange { old, new });
    }
    let mut out = Vec::new();
    if old == 0 || old == new {
        return Ok(out);
    }
    subproof(r, old, 0, new, true, &mut out)?;
    Ok(out)
}

fn subproof<R: HashReader + ?Sized>(
    r: &mut R,
    m: u64,
    start: u64,
    end: u64,
    b: bool,
    out: &mut Vec<Hash>,
) -> Result<()> {
    if m == end {
        if !b {
            out.push(subtree_hash(r, start, end)?);
        }
        return Ok(());
    }
    let k = split_point(end - start);
    if m <= start + k {
        subproof(r, m, start, start + k, b, out)?;
        out.push(subtree_hash(r, start + k, end)?);
    } else {
        subproof(r, m, start + k, end, false, out)?;
        out.push(subtree_hash(r, start, start + k)?);
    }
    Ok(())
}

/// Recomputes the root from an inclusion proof (RFC 9162 §2.1.3.2, steps 1–4).
pub fn root_from_inclusion_proof(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
) -> Result<Hash> {
    if index >= size {
        return Err(LogError::IndexOutOfRange { index, size });
    }
    if proof.len() > MAX_PROOF_HASHES {
        return Err(LogError::ProofFailed("inclusion proof too long"));
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(LogError::ProofFailed("inclusion proof too long"));
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(LogError::ProofFailed("inclusion proof too short"));
    }
    Ok(r)
}

/// Verifies that `leaf` is the leaf hash at `index` in the tree of `size` with `root`
/// (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<()> {
    if root_from_inclusion_proof(index, size, leaf, proof)? != *root {
        return Err(LogError::ProofFailed(
            "inclusion proof gives a different root",
        ));
    }
    Ok(())
}

/// Verifies that the tree of `new_size` with `new_root` extends the tree of `old_size` with
/// `old_root` (RFC 9162 §2.1.4.2). Equal sizes need equal roots and an empty proof; an old size
/// of 0 needs an empty proof and the empty-tree root.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<()> {
    if old_size > new_size {
        return Err(LogError::SizeOutOfRange {
            old: old_size,
            new: new_size,
        });
    }
    if proof.len() > MAX_PROOF_HASHES {
        return Err(LogError::ProofFailed("consistency proof too long"));
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(LogError::ProofFailed(
                "proof between equal sizes must be empty",
            ));
        }
        if old_root != new_root {
            return Err(LogError::ProofFailed("equal sizes with different roots"));
        }
        return Ok(());
    }
    if old_size == 0 {
        if !proof.is_empty() {
            return Err(LogError::ProofFailed(
                "proof from the empty tree must be empty",
            ));
        }
        if *old_root != super::hash::empty_root() {
            return Err(LogError::ProofFailed("old root is not the empty-tree root"));
        }
        return Ok(());
    }
    // 1. An empty path fails.
    let Some((first, rest)) = proof.split_first() else {
        return Err(LogError::ProofFailed("empty consistency proof"));
    };
    // 2. If old_size is a power of two, the path implicitly starts with old_root.
    let (seed, path): (&Hash, &[Hash]) = if old_size.is_power_of_two() {
        (old_root, proof)
    } else {
        (first, rest)
    };
    // 3.–4.
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    // 5.
    let (mut fr, mut sr) = (*seed, *seed);
    // 6.
    for c in path {
        if sn == 0 {
            return Err(LogError::ProofFailed("consistency proof too long"));
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // 7.
    if sn != 0 {
        return Err(LogError::ProofFailed("consistency proof too short"));
    }
    if fr != *old_root {
        return Err(LogError::ProofFailed(
            "consistency proof gives a different old root",
        ));
    }
    if sr != *new_root {
        return Err(LogError::ProofFailed(
            "consistency proof gives a different new root",
        ));
    }
    Ok(())
}

/// First line of a C2SP `tlog-proof@v1` inclusion proof.
pub const TLOG_PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";

/// An inclusion proof in C2SP `tlog-proof@v1` text form: index, proof hashes and the signed
/// checkpoint they lead to, checkable offline with only the log's verifier key and the entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogProof {
    /// Optional opaque, unauthenticated extra data.
    pub extra: Option<Vec<u8>>,
    /// Index of the entry.
    pub index: u64,
    /// The inclusion proof, leaf's sibling first.
    pub hashes: Vec<Hash>,
    /// The signed checkpoint, verbatim.
    pub checkpoint: Vec<u8>,
}

impl TlogProof {
    /// The text form.
    pub fn to_text(&self) -> Vec<u8> {
        let mut s = String::from(TLOG_PROOF_HEADER);
        s.push('\n');
        if let Some(extra) = &self.extra {
            s.push_str("extra ");
            s.push_str(&base64::engine::general_purpose::STANDARD.encode(extra));
            s.push('\n');
        }
        s.push_str(&format!("index {}\n", self.index));
        push_hash_lines(&mut s, &self.hashes);
        s.push('\n');
        let mut out = s.into_bytes();
        out.extend_from_slice(&self.checkpoint);
        out
    }

    /// Parses the text form (syntax only; see [`super::checkpoint::check_tlog_proof`]).
    pub fn parse(text: &[u8]) -> Result<TlogProof> {
        let mut lines = Lines::new(text);
        if lines.next_line()? != TLOG_PROOF_HEADER {
            return Err(LogError::MalformedProof(
                "first line must be c2sp.org/tlog-proof@v1",
            ));
        }
        let mut line = lines.next_line()?;
        let mut extra = None;
        if let Some(b64) = line.strip_prefix("extra ") {
            extra = Some(
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|_| LogError::MalformedProof("extra is not base64"))?,
            );
            line = lines.next_line()?;
        }
        let index = line
            .strip_prefix("index ")
            .ok_or(LogError::MalformedProof("missing index line"))
            .and_then(parse_decimal)?;
        let hashes = lines.hash_lines()?;
        Ok(TlogProof {
            extra,
            index,
            hashes,
            checkpoint: lines.rest().to_vec(),
        })
    }
}

/// A consistency proof in the text form of a C2SP `tlog-witness` `add-checkpoint` body:
/// `old <size>`, one base64 hash per line, an empty line, then the new signed checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsistencyProofText {
    /// The older tree size the proof starts from.
    pub old_size: u64,
    /// The consistency proof hashes.
    pub hashes: Vec<Hash>,
    /// The newer signed checkpoint, verbatim.
    pub checkpoint: Vec<u8>,
}

impl ConsistencyProofText {
    /// The text form.
    pub fn to_text(&self) -> Vec<u8> {
        let mut s = format!("old {}\n", self.old_size);
        push_hash_lines(&mut s, &self.hashes);
        s.push('\n');
        let mut out = s.into_bytes();
        out.extend_from_slice(&self.checkpoint);
        out
    }

    /// Parses the text form (syntax only).
    pub fn parse(text: &[u8]) -> Result<ConsistencyProofText> {
        let mut lines = Lines::new(text);
        let old_size = lines
            .next_line()?
            .strip_prefix("old ")
            .ok_or(LogError::MalformedProof("first line must be old <size>"))
            .and_then(parse_decimal)?;
        let hashes = lines.hash_lines()?;
        Ok(ConsistencyProofText {
            old_size,
            hashes,
            checkpoint: lines.rest().to_vec(),
        })
    }
}

fn push_hash_lines(s: &mut String, hashes: &[Hash]) {
    for h in hashes {
        s.push_str(&hash_to_base64(h));
        s.push('\n');
    }
}

/// Parses a decimal with no leading zeros (except "0") into a u64.
pub(crate) fn parse_decimal(s: &str) -> Result<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return Err(LogError::MalformedProof(
            "expected a decimal number without leading zeros",
        ));
    }
    s.parse::<u64>()
        .map_err(|_| LogError::MalformedProof("number out of range"))
}

struct Lines<'a> {
    rest: &'a [u8],
}

impl<'a> Lines<'a> {
    fn new(text: &'a [u8]) -> Self {
        Lines { rest: text }
    }

    /// The next newline-terminated line, without its newline.
    fn next_line(&mut self) -> Result<&'a str> {
        let Some(i) = self.rest.iter().position(|b| *b == b'\n') else {
            return Err(LogError::MalformedProof("unterminated line"));
        };
        let (line, tail) = self.rest.split_at(i);
        self.rest = tail.get(1..).unwrap_or_default();
        std::str::from_utf8(line).map_err(|_| LogError::MalformedProof("line is not UTF-8"))
    }

    /// Hash lines up to and including the empty separator line.
    fn hash_lines(&mut self) -> Result<Vec<Hash>> {
        let mut hashes = Vec::new();
        loop {
            let line = self.next_line()?;
            if line.is_empty() {
                return Ok(hashes);
            }
            if hashes.len() >= MAX_PROOF_HASHES {
                return Err(LogError::MalformedProof("too many proof hashes"));
            }
            let h = hash_from_base64(line)
                .map_err(|_| LogError::MalformedProof("proof line is not a base64 SHA-256 hash"))?;
            hashes.push(h);
        }
    }

    fn rest(&self) -> &'a [u8] {
        self.rest
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{leaf_hash, root_from_leaf_hashes};

    fn tree(n: u64) -> (MemoryTree, Vec<Hash>) {
        let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&i.to_le_bytes())).collect();
        (MemoryTree::from_leaf_hashes(leaves.clone()), leaves)
    }

    #[test]
    fn all_small_proofs_verify() {
        let (mut t, leaves) = tree(70);
        for size in 1..=70u64 {
            let root = t.root(size).unwrap();
            assert_eq!(root, root_from_leaf_hashes(&leaves[..size as usize]));
            for i in 0..size {
                let p = inclusion_proof(&mut t, i, size).unwrap();
                verify_inclusion(i, size, &leaves[i as usize], &p, &root).unwrap();
            }
            for old in 0..=size {
                let p = consistency_proof(&mut t, old, size).unwrap();
                let old_root = t.root(old).unwrap();
                verify_consistency(old, size, &old_root, &root, &p).unwrap();
            }
        }
    }

    #[test]
    fn out_of_range() {
        let (mut t, leaves) = tree(5);
        assert!(matches!(
            inclusion_proof(&mut t, 5, 5),
            Err(LogError::IndexOutOfRange { index: 5, size: 5 })
        ));
        let root = t.root(5).unwrap();
        assert!(verify_inclusion(5, 5, &leaves[0], &[], &root).is_err());
        assert!(verify_inclusion(0, 0, &leaves[0], &[], &root).is_err());
        assert!(consistency_proof(&mut t, 6, 5).is_err());
        assert!(verify_consistency(6, 5, &root, &root, &[]).is_err());
    }

    #[test]
    fn text_roundtrip() {
        let p = TlogProof {
            extra: Some(b"hello".to_vec()),
            index: 73894,
            hashes: vec![[1; 32], [2; 32]],
            checkpoint: b"example.com/log\n1\nAQ==\n\n\xe2\x80\x94 sig\n".to_vec(),
        };
        assert_eq!(TlogProof::parse(&p.to_text()).unwrap(), p);
        let c = ConsistencyProofText {
            old_size: 0,
            hashes: vec![],
            checkpoint: b"cp\n".to_vec(),
        };
        assert_eq!(ConsistencyProofText::parse(&c.to_text()).unwrap(), c);
        assert!(TlogProof::parse(b"c2sp.org/tlog-proof@v1\nindex 01\n\n").is_err());
        assert!(TlogProof::parse(b"c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n\n").is_err());
        assert!(ConsistencyProofText::parse(b"old 5").is_err());
    }
}
