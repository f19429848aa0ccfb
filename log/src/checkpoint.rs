//! C2SP `tlog-checkpoint`: the signed tree head. The note text is the origin line, the tree size
//! in decimal, the base64 root hash, then optional extension lines; the log signs it as a
//! signed note whose key name is the origin.

use super::error::{LogError, Result};
use super::hash::{hash_from_base64, hash_to_base64, leaf_hash, Hash};
use super::note::{open_note, NoteSigner, VerifierKey};
use super::proof::{verify_consistency, verify_inclusion, ConsistencyProofText, TlogProof};

/// A tree head: which log, how many entries, and the Merkle root over them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin line (also its key name).
    pub origin: String,
    /// Number of entries.
    pub size: u64,
    /// RFC 6962 root hash of the first `size` entries.
    pub root: Hash,
    /// Opaque extension lines (not written by this log; kept when read).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The checkpoint note text (ends with a newline).
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            hash_to_base64(&self.root)
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// Parses checkpoint note text: at least three non-empty lines; a non-empty origin; a size
    /// with no leading zeros; a canonical base64 32-byte root; non-empty extension lines.
    pub fn parse_text(text: &str) -> Result<Checkpoint> {
        let body = text
            .strip_suffix('\n')
            .ok_or(LogError::MalformedCheckpoint(
                "text must end with a newline",
            ))?;
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        if origin.is_empty() {
            return Err(LogError::MalformedCheckpoint("empty origin"));
        }
        let size_line = lines
            .next()
            .ok_or(LogError::MalformedCheckpoint("missing tree size"))?;
        let size = super::proof::parse_decimal(size_line).map_err(|_| {
            LogError::MalformedCheckpoint("tree size must be decimal without leading zeros")
        })?;
        let root_line = lines
            .next()
            .ok_or(LogError::MalformedCheckpoint("missing root hash"))?;
        let root = hash_from_base64(root_line)
            .map_err(|_| LogError::MalformedCheckpoint("root hash must be base64 of 32 bytes"))?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(LogError::MalformedCheckpoint("empty extension line"));
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// Signs the checkpoint with the log key, whose name must be the origin.
    pub fn sign(&self, signer: &NoteSigner) -> Result<Vec<u8>> {
        if signer.verifier_key().name() != self.origin {
            return Err(LogError::KeyMismatch(format!(
                "key is named {:?} but the checkpoint origin is {:?}",
                signer.verifier_key().name(),
                self.origin
            )));
        }
        signer.sign(&self.to_text())
    }
}

/// A checkpoint whose signature by the log's key has been verified: only
/// [`open_checkpoint`] makes one, so holding one means the check was done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    checkpoint: Checkpoint,
    note: Vec<u8>,
}

impl VerifiedCheckpoint {
    /// The verified tree head.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The signed note bytes it was read from.
    pub fn note(&self) -> &[u8] {
        &self.note
    }

    /// Tree size.
    pub fn size(&self) -> u64 {
        self.checkpoint.size
    }

    /// Root hash.
    pub fn root(&self) -> &Hash {
        &self.checkpoint.root
    }

    /// Origin.
    pub fn origin(&self) -> &str {
        &self.checkpoint.origin
    }
}

/// Opens a signed checkpoint: the note must carry a valid signature by `key` (other signers are
/// ignored), and the origin line must be the key's name.
pub fn open_checkpoint(note: &[u8], key: &VerifierKey) -> Result<VerifiedCheckpoint> {
    let opened = open_note(note, std::slice::from_ref(key))?;
    let checkpoint = Checkpoint::parse_text(&opened.text)?;
    if checkpoint.origin != key.name() {
        return Err(LogError::KeyMismatch(format!(
            "checkpoint origin {:?} is not the key name {:?}",
            checkpoint.origin,
            key.name()
        )));
    }
    Ok(VerifiedCheckpoint {
        checkpoint,
        note: note.to_vec(),
    })
}

/// Parses a signed checkpoint without checking any signature (for displaying or locating data;
/// never for trusting it).
pub fn parse_unverified(note: &[u8]) -> Result<Checkpoint> {
    let parsed = super::note::parse_note(note)?;
    Checkpoint::parse_text(&parsed.text)
}

/// Checks a `tlog-proof@v1` inclusion proof offline: the checkpoint is signed by `key` and the
/// entry is at the proof's index in that tree. Returns the verified checkpoint.
pub fn check_tlog_proof(
    proof: &TlogProof,
    entry: &[u8],
    key: &VerifierKey,
) -> Result<VerifiedCheckpoint> {
    let cp = open_checkpoint(&proof.checkpoint, key)?;
    verify_inclusion(
        proof.index,
        cp.size(),
        &leaf_hash(entry),
        &proof.hashes,
        cp.root(),
    )?;
    Ok(cp)
}

/// Checks a consistency proof offline: the new checkpoint is signed by `key`, and it extends the
/// tree of `proof.old_size` entries with `old_root`. Returns the verified new checkpoint.
pub fn check_consistency_proof(
    proof: &ConsistencyProofText,
    old_root: &Hash,
    key: &VerifierKey,
) -> Result<VerifiedCheckpoint> {
    let cp = open_checkpoint(&proof.checkpoint, key)?;
    verify_consistency(
        proof.old_size,
        cp.size(),
        old_root,
        cp.root(),
        &proof.hashes,
    )?;
    Ok(cp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_roundtrip_and_rejects() {
        let cp = Checkpoint {
            origin: "example.com/behind-the-sofa".into(),
            size: 20852163,
            root: hash_from_base64("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=").unwrap(),
            extensions: vec![],
        };
        let text = cp.to_text();
        assert_eq!(
            text,
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
        );
        assert_eq!(Checkpoint::parse_text(&text).unwrap(), cp);
        for bad in [
            "",
            "\n",
            "o\n1\n",
            "o\n01\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
            "o\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
            "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n",
            "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",
            "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n",
            "\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
            "o\n18446744073709551616\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        ] {
            assert!(Checkpoint::parse_text(bad).is_err(), "{bad:?}");
        }
        let ext = Checkpoint::parse_text("o\n0\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\nx\n")
            .unwrap();
        assert_eq!(ext.extensions, vec!["x".to_string()]);
    }
}
