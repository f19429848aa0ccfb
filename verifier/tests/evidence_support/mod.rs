//! Shared by the evidence tests: where the NVIDIA samples are, and synthetic P-384
//! certificates made here (a fake root, chains that break one rule each).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::str::FromStr;

use der::asn1::{BitString, ObjectIdentifier, OctetString};
use der::{Any, Encode};
use lightcone_verifier::evidence::x509::Cert;
use p384::ecdsa::signature::Signer as _;
use p384::ecdsa::{DerSignature, SigningKey};
use x509_cert::certificate::{Certificate, TbsCertificate, Version};
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::time::{Time, Validity};

/// The three files of one NVIDIA sample.
pub struct Sample {
    pub report: PathBuf,
    pub chain: PathBuf,
    pub root: PathBuf,
}

/// `shared/vectors/nvidia-hopper/`, beside the repository (never copied into it).
pub fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/nvidia-hopper")
}

/// The sample `hopper` or `2023`, or `None` (with a message) when its files are missing
/// outside CI; with `CI=true` a missing file fails the test.
pub fn sample(name: &str) -> Option<Sample> {
    let dir = vectors_dir();
    let s = match name {
        "hopper" => Sample {
            report: dir.join("hopperAttestationReport.txt"),
            chain: dir.join("hopperCertChain.txt"),
            root: dir.join("verifier_device_root.pem"),
        },
        "2023" => Sample {
            report: dir.join("2023/attestationReport.txt"),
            chain: dir.join("2023/gpuAkCertChain.txt"),
            root: dir.join("verifier_device_root.pem"),
        },
        other => panic!("no sample {other}"),
    };
    for f in [&s.report, &s.chain, &s.root] {
        if !f.is_file() {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("CI: NVIDIA sample file missing: {}", f.display());
            }
            eprintln!("skipping: NVIDIA sample file missing: {}", f.display());
            return None;
        }
    }
    Some(s)
}

pub const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");

/// A deterministic P-384 key.
pub fn key(seed: u8) -> SigningKey {
    let mut secret = [seed; 48];
    secret[0] = 0x01;
    SigningKey::from_slice(&secret).unwrap()
}

pub fn spki(key: &SigningKey) -> SubjectPublicKeyInfoOwned {
    let point = key.verifying_key().to_encoded_point(false);
    SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: ID_EC_PUBLIC_KEY,
            parameters: Some(Any::from(&SECP384R1)),
        },
        subject_public_key: BitString::from_bytes(point.as_bytes()).unwrap(),
    }
}

pub fn ext<T: Encode>(oid: ObjectIdentifier, critical: bool, value: &T) -> Extension {
    Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value.to_der().unwrap()).unwrap(),
    }
}

pub fn ca_exts(path_len: Option<u8>) -> Vec<Extension> {
    vec![
        ext(
            BASIC_CONSTRAINTS,
            true,
            &BasicConstraints {
                ca: true,
                path_len_constraint: path_len,
            },
        ),
        ext(
            KEY_USAGE,
            true,
            &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
        ),
    ]
}

pub fn leaf_exts() -> Vec<Extension> {
    vec![ext(
        KEY_USAGE,
        true,
        &KeyUsage(KeyUsages::DigitalSignature.into()),
    )]
}

/// One certificate description; [`Spec::sign`] turns it into a certificate.
#[derive(Clone)]
pub struct Spec {
    pub subject: String,
    pub issuer: String,
    pub not_before: u64,
    pub not_after: u64,
    pub extensions: Vec<Extension>,
    pub version: Version,
}

impl Spec {
    pub fn new(subject: &str, issuer: &str, extensions: Vec<Extension>) -> Self {
        Spec {
            subject: subject.into(),
            issuer: issuer.into(),
            not_before: 1_600_000_000,
            not_after: 2_000_000_000,
            extensions,
            version: Version::V3,
        }
    }

    /// A certificate for `subject_key`, signed by `issuer_key`.
    pub fn sign(&self, subject_key: &SigningKey, issuer_key: &SigningKey) -> Cert {
        let time = |secs| {
            Time::try_from(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs)).unwrap()
        };
        let alg = AlgorithmIdentifierOwned {
            oid: ECDSA_WITH_SHA384,
            parameters: None,
        };
        let tbs = TbsCertificate {
            version: self.version,
            serial_number: SerialNumber::new(&[0x01, 0x23]).unwrap(),
            signature: alg.clone(),
            issuer: Name::from_str(&self.issuer).unwrap(),
            validity: Validity {
                not_before: time(self.not_before),
                not_after: time(self.not_after),
            },
            subject: Name::from_str(&self.subject).unwrap(),
            subject_public_key_info: spki(subject_key),
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: (!self.extensions.is_empty()).then(|| self.extensions.clone()),
        };
        let sig: DerSignature = issuer_key.sign(&tbs.to_der().unwrap());
        let cert = Certificate {
            tbs_certificate: tbs,
            signature_algorithm: alg,
            signature: BitString::from_bytes(sig.as_bytes()).unwrap(),
        };
        Cert::from_der(&cert.to_der().unwrap(), 0).unwrap()
    }
}

/// A freshly made, self-signed P-384 CA with exactly `root`'s subject name.
pub fn fake_root_named_like(root: &Cert) -> Cert {
    let name = root.certificate().tbs_certificate.subject.to_string();
    let k = key(0x77);
    Spec::new(&name, &name, ca_exts(None)).sign(&k, &k)
}

/// A well-formed synthetic chain: root CA → intermediate CA → leaf, and the three keys.
pub struct Synthetic {
    pub root_key: SigningKey,
    pub ca_key: SigningKey,
    pub leaf_key: SigningKey,
    pub root: Spec,
    pub ca: Spec,
    pub leaf: Spec,
}

impl Synthetic {
    pub fn new() -> Self {
        Synthetic {
            root_key: key(0x10),
            ca_key: key(0x20),
            leaf_key: key(0x30),
            root: Spec::new(
                "CN=Test Root,O=lightcone",
                "CN=Test Root,O=lightcone",
                ca_exts(Some(1)),
            ),
            ca: Spec::new(
                "CN=Test ICA,O=lightcone",
                "CN=Test Root,O=lightcone",
                ca_exts(Some(0)),
            ),
            leaf: Spec::new(
                "CN=Test GPU,O=lightcone",
                "CN=Test ICA,O=lightcone",
                leaf_exts(),
            ),
        }
    }

    /// (chain leaf first, root).
    pub fn build(&self) -> (Vec<Cert>, Cert) {
        let root = self.root.sign(&self.root_key, &self.root_key);
        let ca = self.ca.sign(&self.ca_key, &self.root_key);
        let leaf = self.leaf.sign(&self.leaf_key, &self.ca_key);
        (vec![leaf, ca], root)
    }
}
