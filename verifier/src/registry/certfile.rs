//! Certificate files: TOML that shows every decoded field, plus `encoded`, the base64 of the
//! certificate's canonical bytes (`Wire::encode`), which are authoritative.
//!
//! Loading decodes `encoded` (canonically), rebuilds the shown fields from it and refuses the
//! file if any shown field differs, so what a person reads is what is signed. Signatures are
//! checked separately, against a [`Trust`](super::Trust).
//!
//! ```toml
//! format = "lightcone-device-certificate-v3"
//! chip_id = "…"            # hex
//! key_algorithm = "ed25519" # or "ecdsa-p384-sha384", "ecdsa-p256-sha256"
//! device_key = "…"         # hex (32 bytes; SEC1 uncompressed for ECDSA)
//! issuer = "…"             # hex id of the vendor root
//! model = "LC-H200"
//! min_response_ns = 20000
//! max_processing_ns = 20000
//! clock_tolerance_ppm = 0
//! not_before = 1790000000  # Unix seconds
//! not_after = 1821536000
//! signature = "…"          # hex
//! encoded = "…"            # base64 of the canonical bytes
//! ```
//!
//! A model endorsement file (`lightcone-model-endorsement-v3`, the registry's timing for a GPU
//! model) has `issuer`, `model`, `x509_root_sha256`, `leaf_cn_prefix`, the timing, the validity,
//! `signature` and `encoded`.
//!
//! A landmark certificate file has `landmark_id`, `landmark_key`, `issuer`, `operator`,
//! `latitude` and
//! `longitude` (decimal degrees as exact strings of microdegrees, e.g. `"48.856600"`),
//! `uncertainty_m`, the validity, `signature` and `encoded`.

use std::path::Path;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use lightcone::evidence::ModelEndorsement;
use lightcone::{DeviceCertificate, LandmarkCertificate, Wire};
use serde::{Deserialize, Serialize};

use super::error::RegistryError;
use super::pubfile::{read_toml, write_new};

/// The `format` value of a device certificate file.
pub const DEVICE_CERT_FORMAT: &str = "lightcone-device-certificate-v3";
/// The `format` value of a landmark certificate file.
pub const LANDMARK_CERT_FORMAT: &str = "lightcone-landmark-certificate-v3";

/// The human-readable view of a device certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceCertificateView {
    /// Always [`DEVICE_CERT_FORMAT`].
    pub format: String,
    /// Chip id, hex.
    pub chip_id: String,
    /// The device key's algorithm ([`lightcone::Algorithm::name`]).
    pub key_algorithm: String,
    /// Device public key, hex (without the algorithm tag).
    pub device_key: String,
    /// Vendor root id, hex.
    pub issuer: String,
    /// Chip model.
    pub model: String,
    /// Vendor-endorsed minimum response time, ns.
    pub min_response_ns: u64,
    /// Most self-reported processing time ever credited, ns.
    pub max_processing_ns: u64,
    /// Chip timer tolerance, ppm.
    pub clock_tolerance_ppm: u32,
    /// First valid Unix second.
    pub not_before: u64,
    /// Last valid Unix second.
    pub not_after: u64,
    /// Vendor signature, hex.
    pub signature: String,
    /// Base64 of the canonical encoding: the authoritative bytes.
    pub encoded: String,
}

impl From<&DeviceCertificate> for DeviceCertificateView {
    fn from(c: &DeviceCertificate) -> Self {
        let b = &c.body;
        DeviceCertificateView {
            format: DEVICE_CERT_FORMAT.to_owned(),
            chip_id: b.chip_id.to_string(),
            key_algorithm: b.device_key.algorithm().name().to_owned(),
            device_key: hex::encode(b.device_key.as_bytes()),
            issuer: b.issuer.to_string(),
            model: b.model.as_str().to_owned(),
            min_response_ns: b.timing.min_response_ns,
            max_processing_ns: b.timing.max_processing_ns,
            clock_tolerance_ppm: b.timing.clock_tolerance_ppm,
            not_before: b.validity.not_before,
            not_after: b.validity.not_after,
            signature: hex::encode(c.signature.to_bytes()),
            encoded: B64.encode(c.to_vec()),
        }
    }
}

/// The human-readable view of a landmark certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LandmarkCertificateView {
    /// Always [`LANDMARK_CERT_FORMAT`].
    pub format: String,
    /// Landmark id, hex.
    pub landmark_id: String,
    /// Landmark public key, hex.
    pub landmark_key: String,
    /// Registry key id, hex.
    pub issuer: String,
    /// Who runs the landmark (registry-certified).
    pub operator: String,
    /// Surveyed latitude, decimal degrees (exact microdegrees).
    pub latitude: String,
    /// Surveyed longitude, decimal degrees (exact microdegrees).
    pub longitude: String,
    /// Position uncertainty, metres.
    pub uncertainty_m: u32,
    /// First valid Unix second.
    pub not_before: u64,
    /// Last valid Unix second.
    pub not_after: u64,
    /// Registry signature, hex.
    pub signature: String,
    /// Base64 of the canonical encoding: the authoritative bytes.
    pub encoded: String,
}

impl From<&LandmarkCertificate> for LandmarkCertificateView {
    fn from(c: &LandmarkCertificate) -> Self {
        let b = &c.body;
        LandmarkCertificateView {
            format: LANDMARK_CERT_FORMAT.to_owned(),
            landmark_id: b.landmark_id.to_string(),
            landmark_key: hex::encode(b.landmark_key.to_bytes()),
            issuer: b.issuer.to_string(),
            operator: b.operator.as_str().to_owned(),
            latitude: microdegrees_text(b.position.lat.microdegrees()),
            longitude: microdegrees_text(b.position.lon.microdegrees()),
            uncertainty_m: b.uncertainty_m,
            not_before: b.validity.not_before,
            not_after: b.validity.not_after,
            signature: hex::encode(c.signature.to_bytes()),
            encoded: B64.encode(c.to_vec()),
        }
    }
}

/// The `format` value of a GPU model endorsement file.
pub const MODEL_ENDORSEMENT_FORMAT: &str = "lightcone-model-endorsement-v3";

/// The human-readable view of a registry's GPU model endorsement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelEndorsementView {
    /// Always [`MODEL_ENDORSEMENT_FORMAT`].
    pub format: String,
    /// Registry key id, hex.
    pub issuer: String,
    /// The GPU model's name.
    pub model: String,
    /// SHA-256 of the X.509 root's DER the GPU's chain must end at, hex.
    pub x509_root_sha256: String,
    /// The leaf certificate's common name must start with this.
    pub leaf_cn_prefix: String,
    /// Registry-measured minimum response time, ns.
    pub min_response_ns: u64,
    /// Most self-reported processing credited, ns (GPUs report none).
    pub max_processing_ns: u64,
    /// Timer tolerance, ppm.
    pub clock_tolerance_ppm: u32,
    /// First valid Unix second.
    pub not_before: u64,
    /// Last valid Unix second.
    pub not_after: u64,
    /// Registry signature, hex.
    pub signature: String,
    /// Base64 of the canonical encoding: the authoritative bytes.
    pub encoded: String,
}

impl From<&ModelEndorsement> for ModelEndorsementView {
    fn from(e: &ModelEndorsement) -> Self {
        let b = &e.body;
        ModelEndorsementView {
            format: MODEL_ENDORSEMENT_FORMAT.to_owned(),
            issuer: b.issuer.to_string(),
            model: b.model.as_str().to_owned(),
            x509_root_sha256: hex::encode(b.x509_root.0),
            leaf_cn_prefix: b.leaf_cn_prefix.as_str().to_owned(),
            min_response_ns: b.timing.min_response_ns,
            max_processing_ns: b.timing.max_processing_ns,
            clock_tolerance_ppm: b.timing.clock_tolerance_ppm,
            not_before: b.validity.not_before,
            not_after: b.validity.not_after,
            signature: hex::encode(e.signature.to_bytes()),
            encoded: B64.encode(e.to_vec()),
        }
    }
}

/// Writes a model endorsement file; refuses to overwrite.
pub fn write_model_endorsement(path: &Path, e: &ModelEndorsement) -> Result<(), RegistryError> {
    write_view(path, &ModelEndorsementView::from(e))
}

/// Reads a model endorsement file: decodes `encoded` and checks every shown field against it.
/// The registry's signature is checked by the audit, against the trust file's registry key.
pub fn load_model_endorsement(path: &Path) -> Result<ModelEndorsement, RegistryError> {
    let shown: toml::Table = read_toml(path)?;
    let e = ModelEndorsement::decode(&encoded_bytes(&shown, path)?)
        .map_err(|e| RegistryError::core(path.display().to_string(), e))?;
    check_shown(&shown, &ModelEndorsementView::from(&e), path)?;
    Ok(e)
}

/// Microdegrees as exact decimal degrees with six places, e.g. `-0.000002`.
pub fn microdegrees_text(micro: i32) -> String {
    let sign = if micro < 0 { "-" } else { "" };
    let abs = micro.unsigned_abs();
    format!("{sign}{}.{:06}", abs / 1_000_000, abs % 1_000_000)
}

/// Writes a device certificate file; refuses to overwrite.
pub fn write_device_certificate(
    path: &Path,
    cert: &DeviceCertificate,
) -> Result<(), RegistryError> {
    write_view(path, &DeviceCertificateView::from(cert))
}

/// Writes a landmark certificate file; refuses to overwrite.
pub fn write_landmark_certificate(
    path: &Path,
    cert: &LandmarkCertificate,
) -> Result<(), RegistryError> {
    write_view(path, &LandmarkCertificateView::from(cert))
}

/// Reads a device certificate file: decodes `encoded` and checks every shown field against it.
/// The signature is not checked here (see [`Trust::verify_device`](super::Trust::verify_device)).
pub fn load_device_certificate(path: &Path) -> Result<DeviceCertificate, RegistryError> {
    let shown: toml::Table = read_toml(path)?;
    let cert = DeviceCertificate::decode(&encoded_bytes(&shown, path)?)
        .map_err(|e| RegistryError::core(path.display().to_string(), e))?;
    check_shown(&shown, &DeviceCertificateView::from(&cert), path)?;
    Ok(cert)
}

/// Reads a landmark certificate file: decodes `encoded` and checks every shown field against it.
pub fn load_landmark_certificate(path: &Path) -> Result<LandmarkCertificate, RegistryError> {
    let shown: toml::Table = read_toml(path)?;
    let cert = LandmarkCertificate::decode(&encoded_bytes(&shown, path)?)
        .map_err(|e| RegistryError::core(path.display().to_string(), e))?;
    check_shown(&shown, &LandmarkCertificateView::from(&cert), path)?;
    Ok(cert)
}

fn write_view<T: Serialize>(path: &Path, view: &T) -> Result<(), RegistryError> {
    let text = toml::to_string(view).map_err(|e| RegistryError::malformed(path, e.to_string()))?;
    write_new(path, text.as_bytes())
}

fn encoded_bytes(shown: &toml::Table, path: &Path) -> Result<Vec<u8>, RegistryError> {
    let text = shown
        .get("encoded")
        .and_then(toml::Value::as_str)
        .ok_or_else(|| RegistryError::malformed(path, "missing string field `encoded`"))?;
    B64.decode(text)
        .map_err(|_| RegistryError::malformed(path, "`encoded` is not base64"))
}

/// Compares the file's table with the view rebuilt from the decoded bytes, key by key.
fn check_shown<T: Serialize>(
    shown: &toml::Table,
    view: &T,
    path: &Path,
) -> Result<(), RegistryError> {
    let expected =
        toml::Table::try_from(view).map_err(|e| RegistryError::malformed(path, e.to_string()))?;
    let mismatch = |field: &str| RegistryError::FieldMismatch {
        path: path.to_path_buf(),
        field: field.to_owned(),
    };
    for (key, value) in &expected {
        if shown.get(key) != Some(value) {
            return Err(mismatch(key));
        }
    }
    if let Some(extra) = shown.keys().find(|k| !expected.contains_key(*k)) {
        return Err(mismatch(extra));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lightcone::{ModelName, Position, ResponseTiming, Signer, Validity};

    #[test]
    fn microdegrees() {
        assert_eq!(microdegrees_text(-2), "-0.000002");
        assert_eq!(microdegrees_text(48_856_600), "48.856600");
        assert_eq!(microdegrees_text(-180_000_000), "-180.000000");
    }

    #[test]
    fn tampered_fields_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut vendor = ed25519_dalek::SigningKey::from_bytes(&[1; 32]);
        let chip = ed25519_dalek::SigningKey::from_bytes(&[2; 32]);
        let validity = Validity {
            not_before: 1,
            not_after: 2,
        };
        let cert = DeviceCertificate::issue(
            &mut vendor,
            chip.public_key(),
            ModelName::new("LC-1").unwrap(),
            ResponseTiming::minimum_only(1000),
            validity,
        )
        .unwrap();
        let path = dir.path().join("device.cert.toml");
        write_device_certificate(&path, &cert).unwrap();
        assert_eq!(load_device_certificate(&path).unwrap(), cert);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(
            &path,
            text.replace("min_response_ns = 1000", "min_response_ns = 10"),
        )
        .unwrap();
        let err = load_device_certificate(&path).unwrap_err();
        assert!(
            matches!(&err, RegistryError::FieldMismatch { field, .. } if field == "min_response_ns"),
            "{err}"
        );

        let mut registry = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
        let lm = ed25519_dalek::SigningKey::from_bytes(&[4; 32]);
        let pos = Position::from_degrees(48.8566, 2.3522).unwrap();
        let lcert = LandmarkCertificate::issue(
            &mut registry,
            lm.public_key(),
            lightcone::OperatorName::new("test-operator").unwrap(),
            pos,
            50,
            validity,
        )
        .unwrap();
        let lpath = dir.path().join("landmark.cert.toml");
        write_landmark_certificate(&lpath, &lcert).unwrap();
        assert_eq!(load_landmark_certificate(&lpath).unwrap(), lcert);
        let text = std::fs::read_to_string(&lpath).unwrap();
        assert!(text.contains("latitude = \"48.856600\""), "{text}");
        std::fs::write(&lpath, text.replace("48.856600", "38.856600")).unwrap();
        assert!(matches!(
            load_landmark_certificate(&lpath),
            Err(RegistryError::FieldMismatch { .. })
        ));
    }
}
