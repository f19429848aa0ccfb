//! Shared by the evidence tests: where the NVIDIA samples are, and synthetic P-384
//! certificates (the library's `evidence::synthetic` builder, unwrapped: a fake root, chains
//! that break one rule each).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use der::asn1::ObjectIdentifier;
use der::Encode;
use lightcone_verifier::evidence::synthetic;
use lightcone_verifier::evidence::x509::Cert;
use p384::ecdsa::SigningKey;
use x509_cert::ext::Extension;
use x509_cert::spki::SubjectPublicKeyInfoOwned;

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

#[allow(unused_imports)]
pub use lightcone_verifier::evidence::synthetic::{CertSpec as Spec, ECDSA_WITH_SHA384};

/// A deterministic P-384 key.
pub fn key(seed: u8) -> SigningKey {
    synthetic::seeded_key(seed).unwrap()
}

pub fn spki(key: &SigningKey) -> SubjectPublicKeyInfoOwned {
    synthetic::p384_spki(key).unwrap()
}

pub fn ext<T: Encode>(oid: ObjectIdentifier, critical: bool, value: &T) -> Extension {
    synthetic::extension(oid, critical, value).unwrap()
}

pub fn ca_exts(path_len: Option<u8>) -> Vec<Extension> {
    synthetic::ca_extensions(path_len).unwrap()
}

pub fn leaf_exts() -> Vec<Extension> {
    synthetic::leaf_extensions().unwrap()
}

/// A freshly made, self-signed P-384 CA with exactly `root`'s subject name.
pub fn fake_root_named_like(root: &Cert) -> Cert {
    let name = root.certificate().tbs_certificate.subject.to_string();
    let k = key(0x77);
    Spec::new(&name, &name, ca_exts(None)).sign(&k, &k).unwrap()
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
        let c = synthetic::SyntheticChain::fixed().unwrap();
        Synthetic {
            root_key: c.root_key,
            ca_key: c.ca_key,
            leaf_key: c.leaf_key,
            root: c.root,
            ca: c.ca,
            leaf: c.leaf,
        }
    }

    /// (chain leaf first, root).
    pub fn build(&self) -> (Vec<Cert>, Cert) {
        let root = self.root.sign(&self.root_key, &self.root_key).unwrap();
        let ca = self.ca.sign(&self.ca_key, &self.root_key).unwrap();
        let leaf = self.leaf.sign(&self.leaf_key, &self.ca_key).unwrap();
        (vec![leaf, ca], root)
    }
}
