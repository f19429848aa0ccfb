//! Provisioning steps over a directory layout a person can keep:
//!
//! ```text
//! vendor/    vendor.key (0600)     vendor.pub.toml
//! registry/  registry.key (0600)   registry.pub.toml
//! chip-1/    device.key (0600)     device.cert.toml     (signed by a vendor)
//! paris/     landmark.key (0600)   landmark.cert.toml   (signed by the registry)
//! trust.toml                       vendor roots, registry key, log verifier key
//! ```
//!
//! Nothing is ever overwritten: every step refuses a file that already exists.

use std::fs;
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use lightcone::{
    DeviceCertificate, LandmarkCertificate, ModelName, OperatorName, Position, PublicKey,
    ResponseTiming, Signer, Validity,
};

use super::certfile::{
    load_device_certificate, load_landmark_certificate, write_device_certificate,
    write_landmark_certificate,
};
use super::error::RegistryError;
use super::keyfile::{generate_key, read_secret_key, write_secret_key};
use super::pubfile::{PublicKeyFile, Role};
use super::trust::TrustFile;
use super::unix_now_s;

/// Vendor secret key file name.
pub const VENDOR_KEY: &str = "vendor.key";
/// Vendor public key file name.
pub const VENDOR_PUB: &str = "vendor.pub.toml";
/// Registry secret key file name.
pub const REGISTRY_KEY: &str = "registry.key";
/// Registry public key file name.
pub const REGISTRY_PUB: &str = "registry.pub.toml";
/// Chip device key file name.
pub const DEVICE_KEY: &str = "device.key";
/// Chip device certificate file name.
pub const DEVICE_CERT: &str = "device.cert.toml";
/// Landmark key file name.
pub const LANDMARK_KEY: &str = "landmark.key";
/// Landmark certificate file name.
pub const LANDMARK_CERT: &str = "landmark.cert.toml";

/// A validity window from one day ago (tolerating clock skew) to `days` days from now.
pub fn validity_days(days: u64) -> Validity {
    let now = unix_now_s();
    Validity {
        not_before: now.saturating_sub(86_400),
        not_after: now.saturating_add(days.saturating_mul(86_400)),
    }
}

fn create_dir(dir: &Path) -> Result<(), RegistryError> {
    fs::create_dir_all(dir).map_err(|e| RegistryError::io(dir, e))
}

fn init_authority(
    dir: &Path,
    name: &str,
    role: Role,
    key_file: &str,
    pub_file: &str,
) -> Result<PublicKey, RegistryError> {
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(RegistryError::InvalidArgument(format!(
            "name `{name}` must be non-empty without spaces"
        )));
    }
    create_dir(dir)?;
    let pub_path = dir.join(pub_file);
    if pub_path.exists() {
        return Err(RegistryError::AlreadyExists { path: pub_path });
    }
    let key = generate_key();
    write_secret_key(&dir.join(key_file), &key)?;
    let public = key.public_key();
    PublicKeyFile::new(role, name, public).write(&pub_path)?;
    Ok(public)
}

/// `lightcone vendor init`: a new vendor root key in `dir`.
pub fn vendor_init(dir: &Path, name: &str) -> Result<PublicKey, RegistryError> {
    init_authority(dir, name, Role::Vendor, VENDOR_KEY, VENDOR_PUB)
}

/// `lightcone registry init`: a new registry key in `dir`.
pub fn registry_init(dir: &Path, name: &str) -> Result<PublicKey, RegistryError> {
    init_authority(dir, name, Role::Registry, REGISTRY_KEY, REGISTRY_PUB)
}

/// Loads an authority's secret key and checks it matches its public key file.
fn load_authority(
    dir: &Path,
    role: Role,
    key_file: &str,
    pub_file: &str,
) -> Result<(String, SigningKey), RegistryError> {
    let (file, public) = PublicKeyFile::load(&dir.join(pub_file), role)?;
    let key_path = dir.join(key_file);
    let key = read_secret_key(&key_path)?;
    if key.public_key() != public {
        return Err(RegistryError::malformed(
            key_path,
            format!("key does not match {pub_file}"),
        ));
    }
    Ok((file.name, key))
}

/// The vendor's name and secret key from a vendor directory.
pub fn load_vendor(dir: &Path) -> Result<(String, SigningKey), RegistryError> {
    load_authority(dir, Role::Vendor, VENDOR_KEY, VENDOR_PUB)
}

/// The registry's name and secret key from a registry directory.
pub fn load_registry(dir: &Path) -> Result<(String, SigningKey), RegistryError> {
    load_authority(dir, Role::Registry, REGISTRY_KEY, REGISTRY_PUB)
}

/// `lightcone chip provision`: a new device key in `chip_dir` and its certificate, signed by
/// the vendor in `vendor_dir`.
pub fn chip_provision(
    vendor_dir: &Path,
    chip_dir: &Path,
    model: &str,
    timing: ResponseTiming,
    validity: Validity,
) -> Result<DeviceCertificate, RegistryError> {
    let (_, mut vendor) = load_vendor(vendor_dir)?;
    let model = ModelName::new(model).map_err(|_| {
        RegistryError::InvalidArgument(format!("model `{model}`: 1–16 printable ASCII characters"))
    })?;
    let device = generate_key();
    let cert = DeviceCertificate::issue(&mut vendor, device.public_key(), model, timing, validity)
        .map_err(|e| RegistryError::core("issuing device certificate", e))?;
    create_dir(chip_dir)?;
    let cert_path = chip_dir.join(DEVICE_CERT);
    if cert_path.exists() {
        return Err(RegistryError::AlreadyExists { path: cert_path });
    }
    write_secret_key(&chip_dir.join(DEVICE_KEY), &device)?;
    write_device_certificate(&cert_path, &cert)?;
    Ok(cert)
}

/// `lightcone landmark provision`: a new landmark key in `landmark_dir` and its certificate,
/// run by `operator`, at `position` ± `uncertainty_m`, signed by the registry in `registry_dir`.
pub fn landmark_provision(
    registry_dir: &Path,
    landmark_dir: &Path,
    operator: &str,
    position: Position,
    uncertainty_m: u32,
    validity: Validity,
) -> Result<LandmarkCertificate, RegistryError> {
    let (_, mut registry) = load_registry(registry_dir)?;
    let operator = OperatorName::new(operator).map_err(|_| {
        RegistryError::InvalidArgument(format!(
            "operator `{operator}`: 1–32 printable ASCII characters"
        ))
    })?;
    let key = generate_key();
    let cert = LandmarkCertificate::issue(
        &mut registry,
        key.public_key(),
        operator,
        position,
        uncertainty_m,
        validity,
    )
    .map_err(|e| RegistryError::core("issuing landmark certificate", e))?;
    create_dir(landmark_dir)?;
    let cert_path = landmark_dir.join(LANDMARK_CERT);
    if cert_path.exists() {
        return Err(RegistryError::AlreadyExists { path: cert_path });
    }
    write_secret_key(&landmark_dir.join(LANDMARK_KEY), &key)?;
    write_landmark_certificate(&cert_path, &cert)?;
    Ok(cert)
}

/// A chip's device key and certificate from its directory; checks they belong together.
pub fn load_chip(chip_dir: &Path) -> Result<(SigningKey, DeviceCertificate), RegistryError> {
    let key_path = chip_dir.join(DEVICE_KEY);
    let key = read_secret_key(&key_path)?;
    let cert = load_device_certificate(&chip_dir.join(DEVICE_CERT))?;
    if cert.body.device_key != key.public_key() {
        return Err(RegistryError::malformed(
            key_path,
            format!("key does not match {DEVICE_CERT}"),
        ));
    }
    Ok((key, cert))
}

/// A landmark's key and certificate from its directory; checks they belong together.
pub fn load_landmark(
    landmark_dir: &Path,
) -> Result<(SigningKey, LandmarkCertificate), RegistryError> {
    let key_path = landmark_dir.join(LANDMARK_KEY);
    let key = read_secret_key(&key_path)?;
    let cert = load_landmark_certificate(&landmark_dir.join(LANDMARK_CERT))?;
    if cert.body.landmark_key != key.public_key() {
        return Err(RegistryError::malformed(
            key_path,
            format!("key does not match {LANDMARK_CERT}"),
        ));
    }
    Ok((key, cert))
}

/// Writes a trust file at `out` from a registry directory, vendor directories and an optional
/// log verifier key (`<name>+<hexid>+<base64>`).
pub fn write_trust(
    out: &Path,
    registry_dir: &Path,
    vendor_dirs: &[PathBuf],
    log_verifier_key: Option<String>,
) -> Result<TrustFile, RegistryError> {
    let (_, registry) = PublicKeyFile::load(&registry_dir.join(REGISTRY_PUB), Role::Registry)?;
    let mut vendors = Vec::with_capacity(vendor_dirs.len());
    for dir in vendor_dirs {
        let (file, key) = PublicKeyFile::load(&dir.join(VENDOR_PUB), Role::Vendor)?;
        vendors.push((file.name, key));
    }
    let trust = TrustFile::new(registry, &vendors, log_verifier_key);
    trust.check(out)?;
    trust.write(out)?;
    Ok(trust)
}
