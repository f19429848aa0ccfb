//! Vendor attestation evidence as a chip's answer (DESIGN §2): an SPDM 1.1 measurement report
//! signed by a GPU's attestation key, and the X.509 chain that vouches for that key.
//!
//! [`check_spdm_report`] is the whole check of a recorded report, in this order: the SPDM
//! request and response parse strictly (`lightcone::evidence::spdm`); the request's nonce is the
//! one expected (when one is given: for a lightcone round, `challenge_nonce` of the challenge);
//! the chain verifies up to the trusted root ([`x509`]); and the leaf key's P-384 signature over
//! SHA-384 of the request and the unsigned response holds.

use lightcone::evidence::spdm::{SpdmEvidence, NONCE_LEN};
use std::path::{Path, PathBuf};

pub mod gpu;
pub mod nvidia;
pub mod responder;
pub mod simulated;
pub mod synthetic;
pub mod x509;

pub use gpu::chip_id_of_chain;
pub use nvidia::NvidiaGpu;
pub use responder::{SpdmResponder, SpdmResponderError};
pub use simulated::SimulatedGpu;

use x509::{Cert, ChainError, VerifiedChain};

/// Input that cannot be judged at all: a file missing, unreadable, or not in its format.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvidenceError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// No NVIDIA GPU can be asked for a report here (no driver, no GPU at that index, a driver
    /// without confidential computing attestation).
    #[error("no usable NVIDIA GPU: {0}")]
    NoGpu(String),
    /// A file is not in the format it should be (hex report, PEM certificates, hex nonce).
    #[error("{path}: {why}")]
    Format {
        /// The file (or the option) at fault.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
}

/// Largest SPDM report (hex) or PEM certificate file read: far above any real report or chain
/// (an H100's are a few KiB), so that a FIFO, a device or a huge file is refused unread.
pub const EVIDENCE_FILE_MAX: u64 = 1 << 20;

/// Reads an evidence file as text: bounded, regular files only, errors naming the file.
fn read_evidence_text(path: &Path) -> Result<String, EvidenceError> {
    crate::bounded_file::read_to_string(path, EVIDENCE_FILE_MAX, crate::bounded_file::Links::Follow)
        .map_err(|source| EvidenceError::Io {
            path: path.to_path_buf(),
            source,
        })
}

/// Reads a recorded SPDM report: hex of the request followed by the response, as NVIDIA's
/// tools write it (surrounding whitespace allowed, nothing else).
pub fn read_report_hex(path: &Path) -> Result<Vec<u8>, EvidenceError> {
    let text = read_evidence_text(path)?;
    hex::decode(text.trim()).map_err(|e| EvidenceError::Format {
        path: path.to_path_buf(),
        why: format!("not a hex SPDM report: {e}"),
    })
}

/// Reads a PEM file of certificates (leaf first, for a chain).
pub fn read_pem_certs(path: &Path) -> Result<Vec<Cert>, EvidenceError> {
    let text = read_evidence_text(path)?;
    x509::parse_pem_chain(&text).map_err(|e| EvidenceError::Format {
        path: path.to_path_buf(),
        why: e.to_string(),
    })
}

/// Reads a root file: exactly one PEM certificate.
pub fn read_root(path: &Path) -> Result<Cert, EvidenceError> {
    let mut certs = read_pem_certs(path)?;
    match certs.pop() {
        Some(root) if certs.is_empty() => Ok(root),
        popped => Err(EvidenceError::Format {
            path: path.to_path_buf(),
            why: ChainError::RootCount(certs.len() + usize::from(popped.is_some())).to_string(),
        }),
    }
}

/// Parses a 32-byte nonce given as 64 hex digits.
pub fn parse_nonce_hex(text: &str) -> Result<[u8; NONCE_LEN], EvidenceError> {
    let bad = |why: String| EvidenceError::Format {
        path: PathBuf::from("--nonce"),
        why,
    };
    let bytes = hex::decode(text.trim()).map_err(|e| bad(format!("not hex: {e}")))?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| bad(format!("{} bytes, not {NONCE_LEN}", b.len())))
}

/// The judgement of one recorded SPDM report.
#[derive(Clone, Debug)]
pub struct SpdmReport {
    /// Whether every check passed.
    pub valid: bool,
    /// The first check that failed, when one did.
    pub reason: Option<String>,
    /// The requester nonce of the `GET_MEASUREMENTS` request, when the request parses.
    pub nonce: Option<[u8; NONCE_LEN]>,
    /// The responder's own nonce in `MEASUREMENTS`, when the response parses.
    pub responder_nonce: Option<[u8; NONCE_LEN]>,
    /// The number of measurement blocks, when the response parses.
    pub blocks: Option<u8>,
    /// The leaf certificate's subject (the GPU's attestation key), when the chain has one.
    pub leaf_subject: Option<String>,
    /// The chain that verified, when it did.
    pub chain: Option<VerifiedChain>,
}

impl SpdmReport {
    fn refuse(mut self, reason: impl Into<String>) -> Self {
        self.valid = false;
        self.reason = Some(reason.into());
        self
    }
}

/// What can be read off a report and a chain before any check: the nonces, the block count,
/// the leaf's subject. `valid` is true until a check refuses.
fn describe(report: &[u8], chain: &[Cert]) -> SpdmReport {
    let mut out = SpdmReport {
        valid: true,
        reason: None,
        nonce: None,
        responder_nonce: None,
        blocks: None,
        leaf_subject: chain.first().map(Cert::subject),
        chain: None,
    };
    if let Some(request) = report.get(..lightcone::evidence::spdm::GET_MEASUREMENTS_LEN) {
        out.nonce = lightcone::evidence::spdm::GetMeasurements::parse(request)
            .ok()
            .map(|r| *r.nonce());
    }
    if let Ok(evidence) = SpdmEvidence::parse_concatenated(report) {
        out.responder_nonce = Some(*evidence.response().responder_nonce());
        out.blocks = Some(evidence.response().number_of_blocks());
    }
    out
}

/// Checks a recorded report against a chain (leaf first) and a trusted root at `at` (Unix
/// seconds), and the request nonce against `expected_nonce` when one is given (module docs).
pub fn check_spdm_report(
    report: &[u8],
    chain: &[Cert],
    root: &Cert,
    expected_nonce: Option<&[u8; NONCE_LEN]>,
    at: u64,
) -> SpdmReport {
    let mut out = describe(report, chain);
    let evidence = match SpdmEvidence::parse_concatenated(report) {
        Ok(e) => e,
        Err(e) => return out.refuse(format!("SPDM report does not parse: {e}")),
    };
    if let Some(expected) = expected_nonce {
        if evidence.check_nonce(expected).is_err() {
            return out.refuse(format!(
                "the request's nonce {} is not the expected {}",
                hex::encode(evidence.request().nonce()),
                hex::encode(expected)
            ));
        }
    }
    let verified = match x509::verify_chain(chain, root, at) {
        Ok(v) => v,
        Err(e) => return out.refuse(format!("certificate chain: {e}")),
    };
    if evidence.verify_signature(&verified.leaf_key).is_err() {
        out.chain = Some(verified);
        return out.refuse(
            "the SPDM signature does not verify under the leaf certificate's key (ECDSA P-384, SHA-384 of request and response)",
        );
    }
    out.chain = Some(verified);
    out
}

/// Checks a recorded report against a chain and whichever of the named `roots` the chain ends
/// at (a trust file's `[[x509_root]]` entries): a root is a candidate when the chain's last
/// certificate is that root, or names it as its issuer. The report is valid under the first
/// candidate it verifies under; with no candidate it is invalid. Returns the judgement and the
/// name of the root it was judged under.
pub fn check_spdm_report_with_roots(
    report: &[u8],
    chain: &[Cert],
    roots: &[(String, Cert)],
    expected_nonce: Option<&[u8; NONCE_LEN]>,
    at: u64,
) -> (SpdmReport, Option<String>) {
    let last = chain.last().map(|c| {
        let tbs = &c.certificate().tbs_certificate;
        (c.der().to_vec(), der::Encode::to_der(&tbs.issuer).ok())
    });
    let candidates = roots.iter().filter(|(_, root)| {
        let subject = der::Encode::to_der(&root.certificate().tbs_certificate.subject).ok();
        last.as_ref().is_some_and(|(der, issuer)| {
            der == root.der() || (issuer.is_some() && *issuer == subject)
        })
    });
    let mut judged = None;
    for (name, root) in candidates {
        let r = check_spdm_report(report, chain, root, expected_nonce, at);
        let valid = r.valid;
        judged = Some((r, Some(name.clone())));
        if valid {
            break;
        }
    }
    judged.unwrap_or_else(|| {
        let names: Vec<&str> = roots.iter().map(|(n, _)| n.as_str()).collect();
        let r = describe(report, chain).refuse(format!(
            "certificate chain: it does not end at a trusted X.509 root ({})",
            names.join(", ")
        ));
        (r, None)
    })
}

/// The chip id of a GPU: `ChipId::of` its P-384 attestation key (DESIGN §6: ids hash the key's
/// SEC1 bytes, the form X.509 carries).
pub fn chip_id_of_key(key: &lightcone::ecdsa::P384PublicKey) -> lightcone::ChipId {
    lightcone::evidence::gpu_chip_id(key)
}
