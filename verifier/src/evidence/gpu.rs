//! Who a GPU is, from the X.509 chain a `GpuChain` log record carries (DESIGN §2): the chain
//! verified up to one of the trusted `[[x509_root]]`s, the chip id derived from the leaf's
//! P-384 key, the leaf's common name (which a registry endorsement matches on), and the window
//! in which every certificate of the path is valid.

use der::{Reader, SliceReader};
use lightcone::cert::Validity;
use lightcone::ecdsa::P384PublicKey;
use lightcone::evidence::gpu_chip_id;
use lightcone::ChipId;
use sha2::{Digest, Sha256};

use super::x509::{verify_chain, Cert, ChainError, VerifiedChain, MAX_CHAIN_LEN};

/// OID of the X.520 common name attribute (2.5.4.3).
const COMMON_NAME: der::asn1::ObjectIdentifier = der::asn1::ObjectIdentifier::new_unwrap("2.5.4.3");

/// A GPU whose chain verified.
#[derive(Clone, Debug)]
pub struct GpuIdentity {
    /// `SHA-256(leaf key's SEC1 point)[..16]`, as for any P-384 device key.
    pub chip_id: ChipId,
    /// The leaf's attestation key, which signs the SPDM reports.
    pub leaf_key: P384PublicKey,
    /// The leaf's common name (empty if it has none).
    pub leaf_cn: String,
    /// The trust file's name of the root the chain ends at.
    pub root_name: String,
    /// SHA-256 of that root's DER.
    pub root_sha256: [u8; 32],
    /// When every certificate of the path, root included, is valid (Unix seconds).
    pub validity: Validity,
    /// The verified path.
    pub chain: VerifiedChain,
}

/// Splits concatenated DER certificates (leaf first) into strictly parsed certificates.
pub fn parse_der_chain(bytes: &[u8]) -> Result<Vec<Cert>, ChainError> {
    let der_error = |position, e: der::Error| ChainError::Der {
        position,
        why: e.to_string(),
    };
    let mut reader = SliceReader::new(bytes).map_err(|e| der_error(0, e))?;
    let mut certs = Vec::new();
    while !reader.is_finished() {
        if certs.len() == MAX_CHAIN_LEN {
            return Err(ChainError::TooLong(certs.len() + 1));
        }
        let position = certs.len();
        let tlv = reader.tlv_bytes().map_err(|e| der_error(position, e))?;
        certs.push(Cert::from_der(tlv, position)?);
    }
    if certs.is_empty() {
        return Err(ChainError::Empty);
    }
    Ok(certs)
}

/// The concatenated DER of `certs` (what a `GpuChain` record carries).
pub fn der_chain(certs: &[Cert]) -> Vec<u8> {
    certs.iter().flat_map(|c| c.der().iter().copied()).collect()
}

/// The chip id of the GPU whose chain (concatenated DER, leaf first) this is, by its leaf key
/// alone; the chain is not verified here ([`identify_gpu`] does that).
pub fn chip_id_of_chain(chain_der: &[u8]) -> Result<ChipId, ChainError> {
    let certs = parse_der_chain(chain_der)?;
    let leaf = certs.first().ok_or(ChainError::Empty)?;
    Ok(gpu_chip_id(&leaf_p384_key(leaf)?))
}

fn leaf_p384_key(leaf: &Cert) -> Result<P384PublicKey, ChainError> {
    let spki = &leaf.certificate().tbs_certificate.subject_public_key_info;
    let bits = spki.subject_public_key.as_bytes().unwrap_or_default();
    P384PublicKey::from_sec1(bits).map_err(|_| ChainError::Unsupported {
        position: 0,
        why: "the leaf key is not an uncompressed P-384 point",
    })
}

/// Verifies a GPU's chain up to whichever of `roots` it ends at (the chain's last certificate
/// is that root, or names it as its issuer), at the start of the window in which the whole
/// path is valid. The first root it verifies under wins; with none, the error of the last
/// candidate, or `UntrustedRoot` if no root is a candidate.
pub fn identify_gpu(chain_der: &[u8], roots: &[(String, Cert)]) -> Result<GpuIdentity, ChainError> {
    let chain = parse_der_chain(chain_der)?;
    let mut last_error = ChainError::UntrustedRoot(format!(
        "it ends at none of the trusted X.509 roots ({})",
        roots
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    for (name, root) in roots.iter().filter(|(_, r)| ends_at(&chain, r)) {
        let Some(validity) = path_validity(&chain, root) else {
            last_error = ChainError::UntrustedRoot(format!(
                "no moment at which every certificate up to {name} is valid"
            ));
            continue;
        };
        match verify_chain(&chain, root, validity.not_before) {
            Ok(verified) => {
                let leaf = chain.first().ok_or(ChainError::Empty)?;
                return Ok(GpuIdentity {
                    chip_id: gpu_chip_id(&verified.leaf_key),
                    leaf_key: verified.leaf_key,
                    leaf_cn: common_name(leaf).unwrap_or_default(),
                    root_name: name.clone(),
                    root_sha256: Sha256::digest(root.der()).into(),
                    validity,
                    chain: verified,
                });
            }
            Err(e) => last_error = e,
        }
    }
    Err(last_error)
}

/// Whether `chain` ends at `root`: its last certificate is the root, or names it as issuer.
fn ends_at(chain: &[Cert], root: &Cert) -> bool {
    let Some(last) = chain.last() else {
        return false;
    };
    let issuer = der::Encode::to_der(&last.certificate().tbs_certificate.issuer).ok();
    let subject = der::Encode::to_der(&root.certificate().tbs_certificate.subject).ok();
    last.der() == root.der() || (issuer.is_some() && issuer == subject)
}

/// The intersection of the validity of every certificate of the path (the chain, and the root
/// if the chain does not end with it); `None` if empty.
fn path_validity(chain: &[Cert], root: &Cert) -> Option<Validity> {
    let mut window = Validity {
        not_before: 0,
        not_after: u64::MAX,
    };
    for cert in chain.iter().chain(std::iter::once(root)) {
        let v = &cert.certificate().tbs_certificate.validity;
        window.not_before = window
            .not_before
            .max(v.not_before.to_unix_duration().as_secs());
        window.not_after = window
            .not_after
            .min(v.not_after.to_unix_duration().as_secs());
    }
    (window.not_before <= window.not_after).then_some(window)
}

/// The first common name of a certificate's subject, as text.
pub fn common_name(cert: &Cert) -> Option<String> {
    let subject = &cert.certificate().tbs_certificate.subject;
    subject
        .0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|atv| atv.oid == COMMON_NAME)
        .and_then(|atv| {
            atv.value
                .decode_as::<der::asn1::Utf8StringRef<'_>>()
                .map(|s| s.as_str().to_owned())
                .or_else(|_| {
                    atv.value
                        .decode_as::<der::asn1::PrintableStringRef<'_>>()
                        .map(|s| s.as_str().to_owned())
                })
                .ok()
        })
}
