//! C2SP `signed-note` with Ed25519: note parsing, signing and opening, verifier keys in the
//! standard `<name>+<hex key id>+<base64(0x01 ‖ public key)>` form, and the signer key form
//! `PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 ‖ seed)>` used by the Go `sumdb/note` package.
//!
//! Opening a note follows the spec: signatures from unknown keys are ignored; a signature from
//! a known key (same name and key ID) must verify, or the whole note is rejected; at least one
//! known key must have signed.

use super::error::{LogError, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Signature type byte for Ed25519 in key IDs and encoded keys.
pub const ALG_ED25519: u8 = 0x01;
/// Most signature lines a note may carry (the Go reference's limit; the spec requires ≥ 16).
pub const MAX_SIGNATURES: usize = 100;
/// Largest note accepted, in bytes.
pub const MAX_NOTE_SIZE: usize = 1 << 20;
/// The em dash and space that begin a signature line.
pub const SIG_PREFIX: &str = "\u{2014} ";

/// Whether `name` is a valid key name: non-empty, no Unicode white space, no `+`.
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

/// Key ID: the first four bytes, big-endian, of `SHA-256(name ‖ 0x0A ‖ type ‖ public key)`.
pub fn key_id(name: &str, alg: u8, public_key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([0x0A, alg]);
    h.update(public_key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// A trusted Ed25519 note verifier key: name, key ID and public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl VerifierKey {
    /// A verifier key given on a command line: the key itself (`name+hexid+base64`), or else
    /// the path of a file holding one. Errors about a file name the file.
    pub fn from_arg(arg: &str) -> Result<Self> {
        if let Ok(key) = VerifierKey::parse(arg.trim()) {
            return Ok(key);
        }
        let path = std::path::Path::new(arg);
        let text = crate::bounded_file::read_to_string(
            path,
            crate::bounded_file::KEY_OR_CERT_MAX,
            crate::bounded_file::Links::Follow,
        )
        .map_err(|e| LogError::io(path, e))?;
        VerifierKey::parse(text.trim()).map_err(|e| e.in_file(path))
    }

    /// The verifier key for `name` and an Ed25519 public key.
    pub fn new(name: &str, key: VerifyingKey) -> Result<Self> {
        if !is_valid_key_name(name) {
            return Err(LogError::MalformedKey("invalid key name"));
        }
        let id = key_id(name, ALG_ED25519, key.as_bytes());
        Ok(VerifierKey {
            name: name.to_owned(),
            id,
            key,
        })
    }

    /// Parses `<name>+<8 hex digits>+<base64(0x01 ‖ 32-byte key)>`, checking the key ID.
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim_end_matches('\n');
        let mut parts = s.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(LogError::MalformedKey("expected name+keyid+key"));
        };
        let id = parse_key_id(id_hex)?;
        let raw = B64
            .decode(b64)
            .map_err(|_| LogError::MalformedKey("key is not base64"))?;
        let Some((&alg, key)) = raw.split_first() else {
            return Err(LogError::MalformedKey("empty key"));
        };
        if alg != ALG_ED25519 {
            return Err(LogError::MalformedKey("unknown key algorithm"));
        }
        let key: [u8; 32] = key
            .try_into()
            .map_err(|_| LogError::MalformedKey("Ed25519 key must be 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&key)
            .map_err(|_| LogError::MalformedKey("not an Ed25519 public key"))?;
        let vk = VerifierKey::new(name, key)?;
        if vk.id != id {
            return Err(LogError::MalformedKey("key ID does not match name and key"));
        }
        Ok(vk)
    }

    /// The key name (for a log: its origin).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 32-bit key ID.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The Ed25519 public key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// Verifies an Ed25519 signature over `msg` (strict: no malleable or small-order forms).
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let Ok(sig) = Signature::from_slice(sig) else {
            return false;
        };
        self.key.verify_strict(msg, &sig).is_ok()
    }
}

impl std::fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut raw = Vec::with_capacity(33);
        raw.push(ALG_ED25519);
        raw.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{:08x}+{}", self.name, self.id, B64.encode(raw))
    }
}

fn parse_key_id(s: &str) -> Result<u32> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(LogError::MalformedKey("key ID must be 8 hex digits"));
    }
    u32::from_str_radix(s, 16).map_err(|_| LogError::MalformedKey("bad key ID"))
}

/// An Ed25519 note signer: the log's private key and its name. The key zeroizes on drop and
/// never appears in `Debug` output.
#[derive(Clone)]
pub struct NoteSigner {
    verifier: VerifierKey,
    key: SigningKey,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoteSigner")
            .field("verifier", &self.verifier.to_string())
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// A signer named `name` with this Ed25519 key.
    pub fn new(name: &str, key: SigningKey) -> Result<Self> {
        let verifier = VerifierKey::new(name, key.verifying_key())?;
        Ok(NoteSigner { verifier, key })
    }

    /// The matching verifier key.
    pub fn verifier_key(&self) -> &VerifierKey {
        &self.verifier
    }

    /// The Ed25519 signing key.
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// Parses `PRIVATE+KEY+<name>+<hex id>+<base64(0x01 ‖ seed)>`, checking the key ID against
    /// the derived public key.
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim_end_matches('\n');
        let rest = s
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(LogError::MalformedKey(
                "signer key must start with PRIVATE+KEY+",
            ))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(LogError::MalformedKey(
                "expected PRIVATE+KEY+name+keyid+key",
            ));
        };
        let id = parse_key_id(id_hex)?;
        let raw = Zeroizing::new(
            B64.decode(b64)
                .map_err(|_| LogError::MalformedKey("key is not base64"))?,
        );
        let Some((&alg, seed)) = raw.split_first() else {
            return Err(LogError::MalformedKey("empty key"));
        };
        if alg != ALG_ED25519 {
            return Err(LogError::MalformedKey("unknown key algorithm"));
        }
        let seed: Zeroizing<[u8; 32]> = Zeroizing::new(
            seed.try_into()
                .map_err(|_| LogError::MalformedKey("Ed25519 seed must be 32 bytes"))?,
        );
        let signer = NoteSigner::new(name, SigningKey::from_bytes(&seed))?;
        if signer.verifier.id != id {
            return Err(LogError::MalformedKey("key ID does not match name and key"));
        }
        Ok(signer)
    }

    /// The `PRIVATE+KEY+…` form (secret: zeroized when dropped). Every
    /// intermediate holding the seed is zeroized too, and the text is sized once so that it
    /// never reallocates (which would leave a copy of the secret behind).
    pub fn to_private_string(&self) -> Zeroizing<String> {
        let mut raw = Zeroizing::new(Vec::with_capacity(33));
        raw.push(ALG_ED25519);
        raw.extend_from_slice(self.key.as_bytes());
        let head = format!(
            "PRIVATE+KEY+{}+{:08x}+",
            self.verifier.name, self.verifier.id
        );
        let mut out = Zeroizing::new(String::with_capacity(head.len() + 44));
        out.push_str(&head);
        B64.encode_string(raw.as_slice(), &mut out);
        out
    }

    /// Signs `text` as a note with this one signature; `text` must be valid note text.
    pub fn sign(&self, text: &str) -> Result<Vec<u8>> {
        check_text(text)?;
        let sig = self.key.sign(text.as_bytes());
        let mut blob = Vec::with_capacity(68);
        blob.extend_from_slice(&self.verifier.id.to_be_bytes());
        blob.extend_from_slice(&sig.to_bytes());
        let mut out = String::with_capacity(text.len() + 120);
        out.push_str(text);
        out.push('\n');
        out.push_str(SIG_PREFIX);
        out.push_str(&self.verifier.name);
        out.push(' ');
        out.push_str(&B64.encode(blob));
        out.push('\n');
        Ok(out.into_bytes())
    }
}

fn check_text(text: &str) -> Result<()> {
    if !text.ends_with('\n') {
        return Err(LogError::MalformedNote("text must end with a newline"));
    }
    if text.chars().any(|c| c < ' ' && c != '\n') {
        return Err(LogError::MalformedNote("control character in note"));
    }
    Ok(())
}

/// One signature line of a note, not yet verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// Key name.
    pub name: String,
    /// Key ID.
    pub id: u32,
    /// The signature bytes (after the key ID).
    pub signature: Vec<u8>,
}

/// A syntactically valid signed note whose signatures have not been checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The note text, including its final newline.
    pub text: String,
    /// The signature lines, in order.
    pub signatures: Vec<NoteSignature>,
}

/// Parses a signed note's syntax: valid UTF-8 without control characters other than newline,
/// text ending in a newline, a blank line, then 1 to 100 `— <name> <base64>` lines.
pub fn parse_note(msg: &[u8]) -> Result<Note> {
    if msg.len() > MAX_NOTE_SIZE {
        return Err(LogError::MalformedNote("note too large"));
    }
    let s = std::str::from_utf8(msg).map_err(|_| LogError::MalformedNote("not UTF-8"))?;
    if s.chars().any(|c| c < ' ' && c != '\n') {
        return Err(LogError::MalformedNote("control character in note"));
    }
    let split = s
        .rfind("\n\n")
        .ok_or(LogError::MalformedNote("no blank line before signatures"))?;
    let (text, sigs) = (
        s.get(..split + 1).unwrap_or_default(),
        s.get(split + 2..).unwrap_or_default(),
    );
    if sigs.is_empty() || !sigs.ends_with('\n') {
        return Err(LogError::MalformedNote(
            "signature block must end with a newline",
        ));
    }
    let mut signatures = Vec::new();
    for line in sigs.split_terminator('\n') {
        if signatures.len() >= MAX_SIGNATURES {
            return Err(LogError::MalformedNote("too many signatures"));
        }
        let line = line
            .strip_prefix(SIG_PREFIX)
            .ok_or(LogError::MalformedNote(
                "signature line must start with an em dash",
            ))?;
        let (name, b64) = line.split_once(' ').ok_or(LogError::MalformedNote(
            "signature line needs a name and a signature",
        ))?;
        if !is_valid_key_name(name) {
            return Err(LogError::MalformedNote("invalid key name"));
        }
        let raw = B64
            .decode(b64)
            .map_err(|_| LogError::MalformedNote("signature is not base64"))?;
        let Some((id, sig)) = raw.split_first_chunk::<4>() else {
            return Err(LogError::MalformedNote("signature too short"));
        };
        if sig.is_empty() {
            return Err(LogError::MalformedNote("signature too short"));
        }
        signatures.push(NoteSignature {
            name: name.to_owned(),
            id: u32::from_be_bytes(*id),
            signature: sig.to_vec(),
        });
    }
    Ok(Note {
        text: text.to_owned(),
        signatures,
    })
}

/// A note with at least one verified signature from a known key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedNote {
    /// The authenticated note text.
    pub text: String,
    /// The known keys (as `name+hexid`) whose signatures verified.
    pub verified_by: Vec<String>,
}

/// Parses `msg` and checks its signatures against `known` keys, per the signed-note spec.
pub fn open_note(msg: &[u8], known: &[VerifierKey]) -> Result<VerifiedNote> {
    let note = parse_note(msg)?;
    let mut verified_by: Vec<String> = Vec::new();
    for sig in &note.signatures {
        let mut matching = known
            .iter()
            .filter(|k| k.name == sig.name && k.id == sig.id);
        let Some(key) = matching.next() else {
            continue; // unknown signer: ignored
        };
        let label = format!("{}+{:08x}", sig.name, sig.id);
        if matching.any(|k| k.key != key.key) {
            return Err(LogError::AmbiguousKey { key: label });
        }
        if !key.verify(note.text.as_bytes(), &sig.signature) {
            return Err(LogError::BadSignature { key: label });
        }
        if !verified_by.contains(&label) {
            verified_by.push(label);
        }
    }
    if verified_by.is_empty() {
        return Err(LogError::NoKnownSignature);
    }
    Ok(VerifiedNote {
        text: note.text,
        verified_by,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_roundtrip() {
        let signer = NoteSigner::new("example.com/log", SigningKey::from_bytes(&[7; 32])).unwrap();
        let vk = VerifierKey::parse(&signer.verifier_key().to_string()).unwrap();
        assert_eq!(&vk, signer.verifier_key());
        let again = NoteSigner::parse(&signer.to_private_string()).unwrap();
        assert_eq!(again.verifier_key(), signer.verifier_key());
        let note = signer.sign("hello\n").unwrap();
        let opened = open_note(&note, &[vk]).unwrap();
        assert_eq!(opened.text, "hello\n");
        assert!(format!("{signer:?}").contains("example.com/log"));
        assert!(!format!("{signer:?}").contains("PRIVATE"));
    }

    #[test]
    fn names() {
        assert!(is_valid_key_name("example.com/log42"));
        for bad in ["", "a b", "a+b", "a\u{a0}b", "a\u{2028}b", "a\tb"] {
            assert!(!is_valid_key_name(bad), "{bad:?}");
        }
    }
}
