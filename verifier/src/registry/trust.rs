//! The trust file (TOML): the roots an auditor or a landmark checks everything against.
//!
//! ```toml
//! format = "lightcone-trust-v1"
//!
//! [registry]
//! public_key = "<hex>"
//!
//! [[vendor]]
//! name = "acme"
//! public_key = "<hex>"
//!
//! [log]                       # optional: the log's checkpoint verifier key
//! verifier_key = "<name>+<hex key id>+<base64>"
//!
//! # or, to audit several logs together, one [[log]] per log (instead of [log]); the key's
//! # name is the log's origin, which picks the key for each audited log:
//! # [[log]]
//! # verifier_key = "<origin A>+<hex key id>+<base64>"
//! # [[log]]
//! # verifier_key = "<origin B>+<hex key id>+<base64>"
//!
//! [witnesses]                 # optional: audits demand `quorum` of these cosignatures
//! quorum = 2
//! keys = ["<name>+<hex key id>+<base64(0x04 ‖ key)>", "…"]
//!
//! [[x509_root]]               # optional: X.509 roots of vendor attestation chains
//! name = "nvidia-device-identity-ca"
//! sha256 = "<hex SHA-256 of the certificate's DER>"
//! certificate = """
//! -----BEGIN CERTIFICATE-----
//! ...
//! -----END CERTIFICATE-----
//! """
//! ```

use std::path::Path;

use lightcone::{DeviceCertificate, IssuerId, LandmarkCertificate, PublicKey, Verified};
use serde::{Deserialize, Serialize};

use super::error::RegistryError;
use super::pubfile::{parse_public_key, read_toml, write_new};
use crate::evidence::x509::{parse_pem_chain, Cert};

/// The `format` value of a trust file.
pub const TRUST_FORMAT: &str = "lightcone-trust-v1";

/// A trust file as written on disk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustFile {
    /// Always [`TRUST_FORMAT`].
    pub format: String,
    /// The landmark registry.
    pub registry: RegistryEntry,
    /// Trusted vendor roots, by name.
    #[serde(default, rename = "vendor")]
    pub vendors: Vec<VendorEntry>,
    /// The log (`[log]`) or logs (`[[log]]`) whose checkpoints the auditor trusts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<LogEntries>,
    /// X.509 roots of vendor attestation chains (e.g. the NVIDIA Device Identity CA).
    #[serde(default, rename = "x509_root", skip_serializing_if = "Vec::is_empty")]
    pub x509_roots: Vec<X509RootEntry>,
    /// The witnesses whose cosignatures an audit demands on the checkpoint, and how many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub witnesses: Option<WitnessesEntry>,
}

/// The `[witnesses]` table: `quorum` of the witness `keys` must cosign a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessesEntry {
    /// How many distinct witnesses must have cosigned (k of n).
    pub quorum: usize,
    /// Their cosignature keys (`name+id+base64(0x04 ‖ key)`).
    pub keys: Vec<String>,
}

/// The witness policy of a trust file, checked: quorum k of the n keys.
#[derive(Clone, Debug)]
pub struct WitnessPolicy {
    /// k.
    pub quorum: usize,
    /// The n keys.
    pub keys: Vec<crate::log::witness::CosignerKey>,
}

impl WitnessPolicy {
    /// The trust file's `[witnesses]` table, checked (1 ≤ k ≤ n, keys parse, names unique);
    /// `None` if it has none.
    pub fn load(path: &Path) -> Result<Option<WitnessPolicy>, RegistryError> {
        let file = read_toml::<TrustFile>(path)?;
        let Some(w) = file.witnesses else {
            return Ok(None);
        };
        let mut keys: Vec<crate::log::witness::CosignerKey> = Vec::with_capacity(w.keys.len());
        for k in &w.keys {
            let key = crate::log::witness::CosignerKey::parse(k).map_err(|e| {
                RegistryError::malformed(path, format!("[witnesses] key {k:?}: {e}"))
            })?;
            if keys.iter().any(|o| o.name() == key.name()) {
                return Err(RegistryError::malformed(
                    path,
                    format!("[witnesses] names {} twice", key.name()),
                ));
            }
            keys.push(key);
        }
        if w.quorum == 0 || w.quorum > keys.len() {
            return Err(RegistryError::malformed(
                path,
                format!("[witnesses] quorum {} must be 1..={}", w.quorum, keys.len()),
            ));
        }
        Ok(Some(WitnessPolicy {
            quorum: w.quorum,
            keys,
        }))
    }
}

/// One X.509 root in a trust file: a vendor CA whose chains vouch for GPUs' attestation keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct X509RootEntry {
    /// The root's name, as reports show it.
    pub name: String,
    /// SHA-256 of the certificate's DER, hex: the pin a person compares with the vendor's.
    pub sha256: String,
    /// The certificate, PEM (exactly one).
    pub certificate: String,
}

/// The registry's key in a trust file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryEntry {
    /// Ed25519 public key, hex.
    pub public_key: String,
}

/// One vendor root in a trust file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VendorEntry {
    /// The vendor's name.
    pub name: String,
    /// Ed25519 public key, hex.
    pub public_key: String,
}

/// The log's checkpoint key in a trust file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogEntry {
    /// C2SP note verifier key: `<name>+<hex key id>+<base64(0x01 ‖ key)>`.
    pub verifier_key: String,
}

/// `[log]` (one log) or `[[log]]` (several logs, each its own key).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LogEntries {
    /// `[log]`: one log.
    One(LogEntry),
    /// `[[log]]`: several logs.
    Many(Vec<LogEntry>),
}

impl LogEntries {
    /// The entries, in file order.
    pub fn entries(&self) -> &[LogEntry] {
        match self {
            LogEntries::One(e) => std::slice::from_ref(e),
            LogEntries::Many(v) => v,
        }
    }
}

/// Parsed, checked trust roots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trust {
    /// The registry key.
    pub registry: PublicKey,
    /// Vendor roots with their names.
    pub vendors: Vec<(String, PublicKey)>,
    /// The log verifier key string, if any (parse it with the log module): the first of
    /// [`Trust::log_verifier_keys`].
    pub log_verifier_key: Option<String>,
    /// Every log verifier key (`[log]` or each `[[log]]`), in file order; a key's name is its
    /// log's origin.
    pub log_verifier_keys: Vec<String>,
    /// X.509 roots of GPU attestation chains (`[[x509_root]]`), by name: each is trusted for
    /// the chains that end at it.
    pub x509_roots: Vec<(String, Cert)>,
}

impl TrustFile {
    /// A trust file for these keys.
    pub fn new(
        registry: PublicKey,
        vendors: &[(String, PublicKey)],
        log_verifier_key: Option<String>,
    ) -> Self {
        TrustFile {
            format: TRUST_FORMAT.to_owned(),
            registry: RegistryEntry {
                public_key: hex::encode(registry.to_bytes()),
            },
            vendors: vendors
                .iter()
                .map(|(name, key)| VendorEntry {
                    name: name.clone(),
                    public_key: hex::encode(key.to_bytes()),
                })
                .collect(),
            log: log_verifier_key.map(|verifier_key| LogEntries::One(LogEntry { verifier_key })),
            x509_roots: Vec::new(),
            witnesses: None,
        }
    }

    /// The X.509 roots, parsed and checked: one PEM certificate each, matching its `sha256`,
    /// names unique.
    pub fn x509_roots(&self, path: &Path) -> Result<Vec<(String, Cert)>, RegistryError> {
        let mut roots: Vec<(String, Cert)> = Vec::with_capacity(self.x509_roots.len());
        for entry in &self.x509_roots {
            let bad = |why: String| {
                RegistryError::malformed(path, format!("[[x509_root]] `{}`: {why}", entry.name))
            };
            if entry.name.is_empty() {
                return Err(bad("`name` is empty".into()));
            }
            if roots.iter().any(|(name, _)| name == &entry.name) {
                return Err(bad("listed twice".into()));
            }
            let mut certs = parse_pem_chain(&entry.certificate).map_err(|e| bad(e.to_string()))?;
            let cert = match certs.pop() {
                Some(cert) if certs.is_empty() => cert,
                _ => {
                    return Err(bad(
                        "`certificate` must hold exactly one PEM certificate".into()
                    ))
                }
            };
            if !cert.fingerprint().eq_ignore_ascii_case(entry.sha256.trim()) {
                return Err(bad(format!(
                    "`sha256` {} does not match the certificate's {}",
                    entry.sha256,
                    cert.fingerprint()
                )));
            }
            roots.push((entry.name.clone(), cert));
        }
        Ok(roots)
    }

    /// Writes the file; refuses to overwrite.
    pub fn write(&self, path: &Path) -> Result<(), RegistryError> {
        let text =
            toml::to_string(self).map_err(|e| RegistryError::malformed(path, e.to_string()))?;
        write_new(path, text.as_bytes())
    }

    /// Checks every key (valid strong points, unique vendor names) and returns the roots.
    pub fn check(&self, path: &Path) -> Result<Trust, RegistryError> {
        if self.format != TRUST_FORMAT {
            return Err(RegistryError::malformed(
                path,
                format!("format is not {TRUST_FORMAT}"),
            ));
        }
        let registry = parse_public_key(&self.registry.public_key, path)?;
        let mut vendors = Vec::with_capacity(self.vendors.len());
        for v in &self.vendors {
            if vendors.iter().any(|(name, _)| name == &v.name) {
                return Err(RegistryError::malformed(
                    path,
                    format!("vendor `{}` listed twice", v.name),
                ));
            }
            vendors.push((v.name.clone(), parse_public_key(&v.public_key, path)?));
        }
        let logs = self.log.as_ref().map_or(&[][..], LogEntries::entries);
        let mut origins: Vec<String> = Vec::with_capacity(logs.len());
        for log in logs {
            let key = crate::log::VerifierKey::parse(&log.verifier_key)
                .map_err(|e| RegistryError::malformed(path, format!("[log] verifier_key: {e}")))?;
            if origins.iter().any(|o| o == key.name()) {
                return Err(RegistryError::malformed(
                    path,
                    format!("[[log]] `{}` listed twice", key.name()),
                ));
            }
            origins.push(key.name().to_owned());
        }
        let x509_roots = self.x509_roots(path)?;
        let log_verifier_keys: Vec<String> = logs.iter().map(|l| l.verifier_key.clone()).collect();
        Ok(Trust {
            registry,
            vendors,
            log_verifier_key: log_verifier_keys.first().cloned(),
            log_verifier_keys,
            x509_roots,
        })
    }
}

impl Trust {
    /// Loads and checks a trust file.
    pub fn load(path: &Path) -> Result<Trust, RegistryError> {
        read_toml::<TrustFile>(path)?.check(path)
    }

    /// Loads and checks a trust file, and returns its X.509 roots with their names.
    pub fn load_x509_roots(path: &Path) -> Result<Vec<(String, Cert)>, RegistryError> {
        let file = read_toml::<TrustFile>(path)?;
        file.check(path)?;
        file.x509_roots(path)
    }

    /// The vendor root whose id is `issuer`, with its name.
    pub fn vendor(&self, issuer: &IssuerId) -> Option<(&str, &PublicKey)> {
        self.vendors
            .iter()
            .find(|(_, key)| IssuerId::of(key) == *issuer)
            .map(|(name, key)| (name.as_str(), key))
    }

    /// Verifies a device certificate against the vendor root that issued it, at `at_unix_s`.
    pub fn verify_device(
        &self,
        cert: &DeviceCertificate,
        at_unix_s: u64,
    ) -> Result<Verified<DeviceCertificate>, RegistryError> {
        let (_, root) =
            self.vendor(&cert.body.issuer)
                .ok_or_else(|| RegistryError::UnknownIssuer {
                    issuer: cert.body.issuer.to_string(),
                    role: "vendor root",
                })?;
        cert.verify(root, at_unix_s).map_err(|e| {
            RegistryError::core(
                format!("device certificate of chip {}", cert.body.chip_id),
                e,
            )
        })
    }

    /// Verifies a landmark certificate against the registry key, at `at_unix_s`.
    pub fn verify_landmark(
        &self,
        cert: &LandmarkCertificate,
        at_unix_s: u64,
    ) -> Result<Verified<LandmarkCertificate>, RegistryError> {
        if cert.body.issuer != IssuerId::of(&self.registry) {
            return Err(RegistryError::UnknownIssuer {
                issuer: cert.body.issuer.to_string(),
                role: "registry",
            });
        }
        cert.verify(&self.registry, at_unix_s).map_err(|e| {
            RegistryError::core(
                format!("landmark certificate of {}", cert.body.landmark_id),
                e,
            )
        })
    }
}
