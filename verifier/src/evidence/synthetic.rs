//! Self-made P-384 X.509 certificates: the chain of a simulated GPU (root CA → intermediate CA
//! → attestation leaf, shaped like NVIDIA's), and the building blocks the evidence tests use to
//! break one chain rule at a time. Never a trust anchor of anything real: every key is made
//! here, and a landmark trusts such a root only when its trust file names it.

use std::str::FromStr as _;

use der::asn1::{BitString, ObjectIdentifier, OctetString};
use der::{Any, Encode};
use p384::ecdsa::signature::Signer as _;
use p384::ecdsa::{DerSignature, SigningKey};
use x509_cert::certificate::{Certificate, TbsCertificate, Version};
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::time::{Time, Validity};

use super::x509::Cert;

/// `ecdsa-with-SHA384`.
pub const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
/// `id-ce-basicConstraints`.
pub const BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
/// `id-ce-keyUsage`.
pub const KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");

/// Why a synthetic certificate could not be made (a bad name, a time out of range, DER).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("making a synthetic certificate: {0}")]
pub struct SyntheticError(pub String);

fn err(e: impl std::fmt::Display) -> SyntheticError {
    SyntheticError(e.to_string())
}

/// A deterministic P-384 key from one seed byte (tests and reproducible fixtures only).
pub fn seeded_key(seed: u8) -> Result<SigningKey, SyntheticError> {
    let mut secret = [seed; 48];
    secret[0] = 0x01;
    SigningKey::from_slice(&secret).map_err(err)
}

/// The SubjectPublicKeyInfo of a P-384 key (uncompressed point, named curve secp384r1).
pub fn p384_spki(key: &SigningKey) -> Result<SubjectPublicKeyInfoOwned, SyntheticError> {
    let point = key.verifying_key().to_encoded_point(false);
    Ok(SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: ID_EC_PUBLIC_KEY,
            parameters: Some(Any::from(&SECP384R1)),
        },
        subject_public_key: BitString::from_bytes(point.as_bytes()).map_err(err)?,
    })
}

/// An extension whose value is the DER of `value`.
pub fn extension<T: Encode>(
    oid: ObjectIdentifier,
    critical: bool,
    value: &T,
) -> Result<Extension, SyntheticError> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value.to_der().map_err(err)?).map_err(err)?,
    })
}

/// The extensions of a CA: critical basicConstraints (`cA`, `path_len`) and keyUsage
/// keyCertSign + cRLSign.
pub fn ca_extensions(path_len: Option<u8>) -> Result<Vec<Extension>, SyntheticError> {
    Ok(vec![
        extension(
            BASIC_CONSTRAINTS,
            true,
            &BasicConstraints {
                ca: true,
                path_len_constraint: path_len,
            },
        )?,
        extension(
            KEY_USAGE,
            true,
            &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
        )?,
    ])
}

/// The extensions of an attestation leaf: critical keyUsage digitalSignature.
pub fn leaf_extensions() -> Result<Vec<Extension>, SyntheticError> {
    Ok(vec![extension(
        KEY_USAGE,
        true,
        &KeyUsage(KeyUsages::DigitalSignature.into()),
    )?])
}

/// One certificate to make; [`CertSpec::sign`] issues it.
#[derive(Clone, Debug)]
pub struct CertSpec {
    /// Subject, RFC 4514 text.
    pub subject: String,
    /// Issuer, RFC 4514 text (the issuer's subject).
    pub issuer: String,
    /// Start of validity, Unix seconds.
    pub not_before: u64,
    /// End of validity, Unix seconds.
    pub not_after: u64,
    /// Extensions, in order.
    pub extensions: Vec<Extension>,
    /// X.509 version.
    pub version: Version,
    /// Serial number bytes (positive, big-endian).
    pub serial: Vec<u8>,
}

impl CertSpec {
    /// A v3 certificate valid from 2020-09-13 to 2033-05-18 with serial `0x0123`.
    pub fn new(subject: &str, issuer: &str, extensions: Vec<Extension>) -> Self {
        CertSpec {
            subject: subject.into(),
            issuer: issuer.into(),
            not_before: 1_600_000_000,
            not_after: 2_000_000_000,
            extensions,
            version: Version::V3,
            serial: vec![0x01, 0x23],
        }
    }

    /// The certificate for `subject_key`, signed (ecdsa-with-SHA384) by `issuer_key`.
    pub fn sign(
        &self,
        subject_key: &SigningKey,
        issuer_key: &SigningKey,
    ) -> Result<Cert, SyntheticError> {
        let time = |secs| {
            Time::try_from(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
                .map_err(err)
        };
        let alg = AlgorithmIdentifierOwned {
            oid: ECDSA_WITH_SHA384,
            parameters: None,
        };
        let tbs = TbsCertificate {
            version: self.version,
            serial_number: SerialNumber::new(&self.serial).map_err(err)?,
            signature: alg.clone(),
            issuer: Name::from_str(&self.issuer).map_err(err)?,
            validity: Validity {
                not_before: time(self.not_before)?,
                not_after: time(self.not_after)?,
            },
            subject: Name::from_str(&self.subject).map_err(err)?,
            subject_public_key_info: p384_spki(subject_key)?,
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: (!self.extensions.is_empty()).then(|| self.extensions.clone()),
        };
        let sig: DerSignature = issuer_key.sign(&tbs.to_der().map_err(err)?);
        let cert = Certificate {
            tbs_certificate: tbs,
            signature_algorithm: alg,
            signature: BitString::from_bytes(sig.as_bytes()).map_err(err)?,
        };
        Cert::from_der(&cert.to_der().map_err(err)?, 0).map_err(err)
    }
}

/// A three-level chain like an NVIDIA GPU's: a root CA, an intermediate CA, and the leaf that
/// holds the attestation key; the three keys and the three descriptions.
pub struct SyntheticChain {
    /// The root CA's key.
    pub root_key: SigningKey,
    /// The intermediate CA's key.
    pub ca_key: SigningKey,
    /// The leaf's key: the GPU's attestation key.
    pub leaf_key: SigningKey,
    /// The root's description.
    pub root: CertSpec,
    /// The intermediate's description.
    pub ca: CertSpec,
    /// The leaf's description.
    pub leaf: CertSpec,
}

impl SyntheticChain {
    /// A chain of the given keys, named under `name` (e.g. `lightcone test`): root
    /// `CN=<name> Root`, intermediate `CN=<name> ICA`, leaf `CN=<name> GPU <leaf_cn>`.
    pub fn with_keys(
        name: &str,
        leaf_cn: &str,
        root_key: SigningKey,
        ca_key: SigningKey,
        leaf_key: SigningKey,
    ) -> Result<Self, SyntheticError> {
        let root_name = format!("CN={name} Root,O=lightcone");
        let ca_name = format!("CN={name} ICA,O=lightcone");
        let leaf_name = format!("CN={name} GPU {leaf_cn},O=lightcone");
        Ok(SyntheticChain {
            root_key,
            ca_key,
            leaf_key,
            root: CertSpec::new(&root_name, &root_name, ca_extensions(Some(1))?),
            ca: CertSpec::new(&ca_name, &root_name, ca_extensions(Some(0))?),
            leaf: CertSpec::new(&leaf_name, &ca_name, leaf_extensions()?),
        })
    }

    /// The fixed chain of the evidence tests (`CN=Test Root` → `CN=Test ICA` → `CN=Test GPU`,
    /// keys from seeds 0x10, 0x20, 0x30).
    pub fn fixed() -> Result<Self, SyntheticError> {
        let mut s = SyntheticChain::with_keys(
            "Test",
            "",
            seeded_key(0x10)?,
            seeded_key(0x20)?,
            seeded_key(0x30)?,
        )?;
        s.leaf.subject = "CN=Test GPU,O=lightcone".into();
        Ok(s)
    }

    /// Issues the three certificates: (chain leaf first, without the root; the root).
    pub fn build(&self) -> Result<(Vec<Cert>, Cert), SyntheticError> {
        let root = self.root.sign(&self.root_key, &self.root_key)?;
        let ca = self.ca.sign(&self.ca_key, &self.root_key)?;
        let leaf = self.leaf.sign(&self.leaf_key, &self.ca_key)?;
        Ok((vec![leaf, ca], root))
    }
}

/// PEM text of certificates, one `CERTIFICATE` block each, in order.
pub fn to_pem(certs: &[Cert]) -> Result<String, SyntheticError> {
    let mut out = String::new();
    for c in certs {
        out.push_str(
            &der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, c.der())
                .map_err(err)?,
        );
    }
    Ok(out)
}
