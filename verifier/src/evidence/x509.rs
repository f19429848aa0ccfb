//! X.509 certificate chains of attestation keys (an NVIDIA GPU's, leaf first, up to the NVIDIA
//! Device Identity CA), checked against one trusted root.
//!
//! Parsing is RustCrypto's `x509-cert` (strict DER, the same family as the core's `p384`): each
//! certificate must re-encode to exactly its input bytes, so the `tbsCertificate` whose hash is
//! checked is the one that was read. Signatures are verified by the core's ECDSA path
//! (`lightcone::ecdsa`), after a strict DER decoding of `ECDSA-Sig-Value` here.
//!
//! The rules, for a chain `c₀ (leaf), c₁, …, cₖ` and a root `R` (RFC 5280 §6.1, the subset an
//! attestation chain needs, every deviation on the refusing side):
//!
//! 0. The chain holds at most [`MAX_CHAIN_LEN`] certificates.
//! 1. The chain runs up to the root: either `cₖ` is byte for byte `R`, or `cₖ` is issued by `R`.
//!    A chain that stops short of it, or passes through another anchor, is refused.
//! 2. Each `cᵢ` (and `R`) is X.509 v3, valid at the given time (`notBefore ≤ t ≤ notAfter`),
//!    with its outer and inner signature algorithms equal, and no critical extension other than
//!    basicConstraints and keyUsage, and no extension twice.
//! 3. Each `cᵢ` names its issuer's subject exactly (DER-equal names) and its signature verifies
//!    under the issuer's key: ecdsa-with-SHA384 under a P-384 key, or ecdsa-with-SHA256 under a
//!    P-256 key; no other pair.
//! 4. Each issuer (every `cᵢ` with `i ≥ 1`, and `R`) has basicConstraints with `cA` true and a
//!    keyUsage with keyCertSign; a `pathLenConstraint` of `p` at position `i` allows at most `p`
//!    CA certificates below it, not counting the leaf (`i − 1 ≤ p`; self-issued intermediates
//!    count too, which only refuses more).
//! 5. The leaf has a keyUsage with digitalSignature, and a P-384 key: that key signs the SPDM
//!    report.
//!
//! Not checked: revocation (NVIDIA publishes an OCSP service; a recorded report is judged
//! offline), name constraints and policies (none in NVIDIA's chains; a critical one is refused
//! by rule 2), and the root's self-signature (the root is trusted because the trust file names
//! it, not because it signs itself).

use der::{Decode, Encode, Reader, SliceReader};
use lightcone::ecdsa::{
    P256PublicKey, P256Signature, P384PublicKey, P384Signature, P256_SIGNATURE_LEN,
    P384_SIGNATURE_LEN,
};
use sha2::{Digest, Sha256, Sha384};
use std::fmt;
use x509_cert::der::asn1::{ObjectIdentifier, UintRef};
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage};
use x509_cert::Certificate;

const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const PRIME256V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const ID_CE_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const ID_CE_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");

/// The most certificates a chain may hold, root included. NVIDIA's GPU chains hold 5; the bound
/// caps the signature checks a hostile chain file can ask for.
pub const MAX_CHAIN_LEN: usize = 10;

/// Why a certificate file or a chain was refused. `position` counts from the leaf (0); the
/// root is `position == chain length` when it is not part of the chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// The PEM text is not a sequence of `CERTIFICATE` blocks.
    #[error("not a PEM certificate file: {0}")]
    Pem(String),
    /// A certificate is not strict DER X.509.
    #[error("certificate {position}: not a DER X.509 certificate: {why}")]
    Der {
        /// Where in the file.
        position: usize,
        /// What the decoder said.
        why: String,
    },
    /// The chain file holds no certificate.
    #[error("the chain is empty")]
    Empty,
    /// The chain holds more than [`MAX_CHAIN_LEN`] certificates.
    #[error("the chain holds {0} certificates, more than {MAX_CHAIN_LEN}")]
    TooLong(usize),
    /// The root file does not hold exactly one certificate.
    #[error("the root file must hold exactly one certificate, it holds {0}")]
    RootCount(usize),
    /// A certificate is not X.509 v3.
    #[error("certificate {0}: not X.509 v3")]
    NotV3(usize),
    /// A certificate is not valid at the time of the check.
    #[error("certificate {position} ({subject}): not valid at {at} (valid {not_before}..={not_after}, Unix seconds)")]
    NotValidAt {
        /// Where in the chain.
        position: usize,
        /// Its subject.
        subject: String,
        /// The time of the check, Unix seconds.
        at: u64,
        /// notBefore, Unix seconds.
        not_before: u64,
        /// notAfter, Unix seconds.
        not_after: u64,
    },
    /// A certificate's signature algorithm or key is not one this verifier supports.
    #[error("certificate {position}: unsupported algorithm: {why}")]
    Unsupported {
        /// Where in the chain.
        position: usize,
        /// What is unsupported.
        why: &'static str,
    },
    /// A certificate does not name the next one's subject as its issuer.
    #[error("certificate {0}: its issuer is not the subject of the next certificate")]
    IssuerMismatch(usize),
    /// A certificate's signature does not verify under its issuer's key.
    #[error("certificate {0}: signature does not verify under the issuer's key")]
    BadSignature(usize),
    /// An issuer is not a CA (basicConstraints cA missing or false).
    #[error("certificate {0}: issues a certificate but is not a CA (basicConstraints)")]
    NotCa(usize),
    /// An issuer's keyUsage lacks keyCertSign, or the leaf's lacks digitalSignature.
    #[error("certificate {position}: keyUsage lacks {needed}")]
    KeyUsage {
        /// Where in the chain.
        position: usize,
        /// The usage missing.
        needed: &'static str,
    },
    /// An issuer's pathLenConstraint is exceeded.
    #[error("certificate {position}: pathLenConstraint {limit} exceeded by {below} CA certificates below it")]
    PathLen {
        /// Where in the chain.
        position: usize,
        /// Its constraint.
        limit: u8,
        /// CA certificates between it and the leaf.
        below: usize,
    },
    /// A critical extension this verifier does not understand, or an extension twice.
    #[error("certificate {position}: {why} extension {oid}")]
    Extension {
        /// Where in the chain.
        position: usize,
        /// The extension.
        oid: String,
        /// "unknown critical" or "duplicate" (or "malformed").
        why: &'static str,
    },
    /// The chain does not end at the trusted root.
    #[error("the chain does not end at the trusted root ({0})")]
    UntrustedRoot(String),
}

/// One parsed certificate and the exact DER it was parsed from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cert {
    der: Vec<u8>,
    cert: Certificate,
}

impl Cert {
    /// Parses one strict DER certificate, refusing any that does not re-encode to its input.
    pub fn from_der(der: &[u8], position: usize) -> Result<Self, ChainError> {
        let bad = |why: String| ChainError::Der { position, why };
        let cert = Certificate::from_der(der).map_err(|e| bad(e.to_string()))?;
        let again = cert.to_der().map_err(|e| bad(e.to_string()))?;
        if again != der {
            return Err(bad("not the canonical DER encoding".into()));
        }
        Ok(Cert {
            der: der.to_vec(),
            cert,
        })
    }

    /// The certificate's DER bytes.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The parsed certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.cert
    }

    /// The subject, as RFC 4514 text.
    pub fn subject(&self) -> String {
        self.cert.tbs_certificate.subject.to_string()
    }

    /// SHA-256 of the DER, hex (how a certificate is named in reports and trust files).
    pub fn fingerprint(&self) -> String {
        hex::encode(Sha256::digest(&self.der))
    }
}

/// Parses a PEM file of `CERTIFICATE` blocks (whitespace between them, nothing else).
pub fn parse_pem_chain(text: &str) -> Result<Vec<Cert>, ChainError> {
    const BEGIN: &str = "-----BEGIN ";
    const END: &str = "-----END CERTIFICATE-----";
    let mut certs = Vec::new();
    let mut rest = text;
    loop {
        let trimmed = rest.trim_start();
        if trimmed.is_empty() {
            break;
        }
        if !trimmed.starts_with(BEGIN) {
            return Err(ChainError::Pem("text outside PEM blocks".into()));
        }
        let end = trimmed
            .find(END)
            .ok_or_else(|| ChainError::Pem("a block has no END CERTIFICATE line".into()))?;
        let (block, after) = trimmed.split_at(end + END.len());
        let (label, der) =
            der::pem::decode_vec(block.as_bytes()).map_err(|e| ChainError::Pem(e.to_string()))?;
        if label != "CERTIFICATE" {
            return Err(ChainError::Pem(format!("unexpected PEM label {label}")));
        }
        if certs.len() == MAX_CHAIN_LEN {
            return Err(ChainError::TooLong(MAX_CHAIN_LEN + 1));
        }
        certs.push(Cert::from_der(&der, certs.len())?);
        rest = after;
    }
    Ok(certs)
}

/// A chain that passed every rule of the module docs.
#[derive(Clone, Debug)]
pub struct VerifiedChain {
    /// The leaf's key, which signs the SPDM report.
    pub leaf_key: P384PublicKey,
    /// The subjects, leaf first, ending with the root's.
    pub subjects: Vec<String>,
    /// SHA-256 of the root's DER, hex.
    pub root_fingerprint: String,
}

impl VerifiedChain {
    /// The leaf's subject.
    pub fn leaf_subject(&self) -> &str {
        self.subjects.first().map(String::as_str).unwrap_or("")
    }
}

/// A public key an issuer can verify with.
enum IssuerKey {
    P384(P384PublicKey),
    P256(P256PublicKey),
}

fn issuer_key(cert: &Certificate, position: usize) -> Result<IssuerKey, ChainError> {
    let unsupported = |why| ChainError::Unsupported { position, why };
    let spki = &cert.tbs_certificate.subject_public_key_info;
    if spki.algorithm.oid != ID_EC_PUBLIC_KEY {
        return Err(unsupported("public key is not an EC key"));
    }
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
        .ok_or_else(|| unsupported("EC key without a named curve"))?;
    let point = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| unsupported("public key bit string is not whole bytes"))?;
    let bad_key = || unsupported("public key is not a valid uncompressed point");
    match curve {
        c if c == SECP384R1 => Ok(IssuerKey::P384(
            P384PublicKey::from_sec1(point).map_err(|_| bad_key())?,
        )),
        c if c == PRIME256V1 => Ok(IssuerKey::P256(
            P256PublicKey::from_sec1(point).map_err(|_| bad_key())?,
        )),
        _ => Err(unsupported("EC curve other than P-384 or P-256")),
    }
}

/// Decodes a DER `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` into fixed-size
/// `r ‖ s` of `N` bytes, strictly: minimal non-negative integers, nothing after the sequence,
/// each integer at most `N/2` bytes. The core then checks `1 ≤ r, s < n`.
pub fn der_signature_to_fixed<const N: usize>(der_sig: &[u8]) -> Option<[u8; N]> {
    let half = N / 2;
    let mut reader = SliceReader::new(der_sig).ok()?;
    let (r, s) = reader
        .sequence(|seq| Ok((UintRef::decode(seq)?, UintRef::decode(seq)?)))
        .ok()?;
    reader.finish(()).ok()?;
    let mut out = [0u8; N];
    for (int, slot) in [(r, 0), (s, half)] {
        let bytes = int.as_bytes();
        let pad = half.checked_sub(bytes.len())?;
        out.get_mut(slot + pad..slot + half)?.copy_from_slice(bytes);
    }
    Some(out)
}

/// Checks `child`'s signature under `issuer`'s key.
fn check_signature(child: &Cert, issuer: &Certificate, position: usize) -> Result<(), ChainError> {
    let unsupported = |why| ChainError::Unsupported { position, why };
    let alg = &child.cert.signature_algorithm;
    if alg != &child.cert.tbs_certificate.signature {
        return Err(unsupported("outer and inner signature algorithms differ"));
    }
    if alg.parameters.is_some() {
        return Err(unsupported("ECDSA signature algorithm with parameters"));
    }
    let tbs = child
        .cert
        .tbs_certificate
        .to_der()
        .map_err(|_| ChainError::BadSignature(position))?;
    let sig = child
        .cert
        .signature
        .as_bytes()
        .ok_or(ChainError::BadSignature(position))?;
    let bad = ChainError::BadSignature(position);
    match issuer_key(issuer, position + 1)? {
        IssuerKey::P384(key) if alg.oid == ECDSA_WITH_SHA384 => {
            let fixed = der_signature_to_fixed::<P384_SIGNATURE_LEN>(sig).ok_or(bad.clone())?;
            let sig = P384Signature::from_slice(&fixed).map_err(|_| bad.clone())?;
            key.verify_prehash(&Sha384::digest(&tbs).into(), &sig)
                .map_err(|_| bad)
        }
        IssuerKey::P256(key) if alg.oid == ECDSA_WITH_SHA256 => {
            let fixed = der_signature_to_fixed::<P256_SIGNATURE_LEN>(sig).ok_or(bad.clone())?;
            let sig = P256Signature::from_slice(&fixed).map_err(|_| bad.clone())?;
            key.verify_prehash(&Sha256::digest(&tbs).into(), &sig)
                .map_err(|_| bad)
        }
        _ => Err(unsupported(
            "signature algorithm is not ecdsa-with-SHA384 under P-384 or ecdsa-with-SHA256 under P-256",
        )),
    }
}

/// The extensions this verifier reads, after rule 2's checks.
struct Exts {
    basic: Option<BasicConstraints>,
    key_usage: Option<KeyUsage>,
}

fn extensions(cert: &Certificate, position: usize) -> Result<Exts, ChainError> {
    let mut seen: Vec<ObjectIdentifier> = Vec::new();
    let mut out = Exts {
        basic: None,
        key_usage: None,
    };
    for ext in cert.tbs_certificate.extensions.iter().flatten() {
        let fail = |why| ChainError::Extension {
            position,
            oid: ext.extn_id.to_string(),
            why,
        };
        if seen.contains(&ext.extn_id) {
            return Err(fail("duplicate"));
        }
        seen.push(ext.extn_id);
        let value = ext.extn_value.as_bytes();
        if ext.extn_id == ID_CE_BASIC_CONSTRAINTS {
            out.basic = Some(BasicConstraints::from_der(value).map_err(|_| fail("malformed"))?);
        } else if ext.extn_id == ID_CE_KEY_USAGE {
            out.key_usage = Some(KeyUsage::from_der(value).map_err(|_| fail("malformed"))?);
        } else if ext.critical {
            return Err(fail("unknown critical"));
        }
    }
    Ok(out)
}

/// Rule 2 for one certificate, returning its extensions.
fn check_one(cert: &Cert, position: usize, at: u64) -> Result<Exts, ChainError> {
    let tbs = &cert.cert.tbs_certificate;
    if tbs.version != x509_cert::Version::V3 {
        return Err(ChainError::NotV3(position));
    }
    let not_before = tbs.validity.not_before.to_unix_duration().as_secs();
    let not_after = tbs.validity.not_after.to_unix_duration().as_secs();
    if at < not_before || at > not_after {
        return Err(ChainError::NotValidAt {
            position,
            subject: cert.subject(),
            at,
            not_before,
            not_after,
        });
    }
    extensions(&cert.cert, position)
}

/// Rule 4 for an issuer at `position` (≥ 1).
fn check_issuer(exts: &Exts, position: usize) -> Result<(), ChainError> {
    let basic = exts
        .basic
        .as_ref()
        .filter(|b| b.ca)
        .ok_or(ChainError::NotCa(position))?;
    if !exts.key_usage.as_ref().is_some_and(|k| k.key_cert_sign()) {
        return Err(ChainError::KeyUsage {
            position,
            needed: "keyCertSign",
        });
    }
    let below = position.saturating_sub(1);
    if let Some(limit) = basic.path_len_constraint {
        if below > usize::from(limit) {
            return Err(ChainError::PathLen {
                position,
                limit,
                below,
            });
        }
    }
    Ok(())
}

/// Verifies `chain` (leaf first) up to `root` at `at` (Unix seconds), by the rules of the
/// module docs.
pub fn verify_chain(chain: &[Cert], root: &Cert, at: u64) -> Result<VerifiedChain, ChainError> {
    let leaf = chain.first().ok_or(ChainError::Empty)?;
    if chain.len() > MAX_CHAIN_LEN {
        return Err(ChainError::TooLong(chain.len()));
    }
    // Rule 1: the path is the chain without a trailing copy of the root, then the root.
    let body = match chain.split_last() {
        Some((last, rest)) if last.der == root.der => rest,
        _ => chain,
    };
    if body.is_empty() {
        return Err(ChainError::UntrustedRoot(
            "the chain holds only the root, no attestation key".into(),
        ));
    }
    let path: Vec<&Cert> = body.iter().chain(std::iter::once(root)).collect();
    // The link to the trusted root first: a chain that does not reach the root costs one
    // signature check, however many certificates of the attacker's own it holds.
    if let Some((position, last)) = body.iter().enumerate().next_back() {
        check_root_link(last, root, position)?;
    }
    for (position, cert) in path.iter().enumerate() {
        let exts = check_one(cert, position, at)?;
        if position == 0 {
            if !exts
                .key_usage
                .as_ref()
                .is_some_and(|k| k.digital_signature())
            {
                return Err(ChainError::KeyUsage {
                    position,
                    needed: "digitalSignature",
                });
            }
        } else {
            check_issuer(&exts, position)?;
        }
        if let Some(issuer) = path.get(position + 1) {
            let issuer_subject = issuer.cert.tbs_certificate.subject.to_der();
            let named = cert.cert.tbs_certificate.issuer.to_der();
            let is_root = position + 1 == path.len() - 1;
            match (named, issuer_subject) {
                (Ok(a), Ok(b)) if a == b => {}
                _ if is_root => {
                    return Err(ChainError::UntrustedRoot(format!(
                        "the last certificate, {}, is not issued by the root {}",
                        cert.subject(),
                        root.subject()
                    )))
                }
                _ => return Err(ChainError::IssuerMismatch(position)),
            }
            check_signature(cert, &issuer.cert, position).map_err(|e| match e {
                ChainError::BadSignature(_) if is_root => ChainError::UntrustedRoot(format!(
                    "the last certificate's signature does not verify under the root {}",
                    root.subject()
                )),
                other => other,
            })?;
        }
    }
    let leaf_key = match issuer_key(&leaf.cert, 0)? {
        IssuerKey::P384(key) => key,
        IssuerKey::P256(_) => {
            return Err(ChainError::Unsupported {
                position: 0,
                why: "the leaf key is P-256; SPDM evidence is signed with P-384",
            })
        }
    };
    Ok(VerifiedChain {
        leaf_key,
        subjects: path.iter().map(|c| c.subject()).collect(),
        root_fingerprint: root.fingerprint(),
    })
}

/// Whether `last` (at `position`, the chain's last certificate below the root) names `root` as
/// its issuer and is signed by it.
fn check_root_link(last: &Cert, root: &Cert, position: usize) -> Result<(), ChainError> {
    let named = last.cert.tbs_certificate.issuer.to_der();
    let subject = root.cert.tbs_certificate.subject.to_der();
    match (named, subject) {
        (Ok(a), Ok(b)) if a == b => {}
        _ => {
            return Err(ChainError::UntrustedRoot(format!(
                "the last certificate, {}, is not issued by the root {}",
                last.subject(),
                root.subject()
            )))
        }
    }
    check_signature(last, &root.cert, position).map_err(|e| match e {
        ChainError::BadSignature(_) => ChainError::UntrustedRoot(format!(
            "the last certificate's signature does not verify under the root {}",
            root.subject()
        )),
        other => other,
    })
}

impl fmt::Display for VerifiedChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.subjects.join(" <- "))
    }
}

/// The P-384 key a certificate certifies (for a GPU's leaf: its attestation key), without
/// checking anything else; `Unsupported` for any other key.
pub fn p384_key_of(cert: &Cert, position: usize) -> Result<P384PublicKey, ChainError> {
    match issuer_key(&cert.cert, position)? {
        IssuerKey::P384(key) => Ok(key),
        IssuerKey::P256(_) => Err(ChainError::Unsupported {
            position,
            why: "the key is P-256; SPDM evidence is signed with P-384",
        }),
    }
}
