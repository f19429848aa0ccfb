//! Public key files (TOML) for vendor roots and the registry: what an operator hands to
//! auditors and landmarks, readable by eye.
//!
//! ```toml
//! format = "lightcone-public-key-v1"
//! role = "vendor"
//! name = "acme"
//! public_key = "<64 hex digits>"
//! id = "<32 hex digits: SHA-256(public_key)[..16]>"
//! ```

use std::fs;
use std::path::Path;

use lightcone::{IssuerId, PublicKey};
use serde::{Deserialize, Serialize};

use super::error::RegistryError;

/// The `format` value of a public key file.
pub const PUBLIC_KEY_FORMAT: &str = "lightcone-public-key-v1";

/// Whose key a public key file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A chip vendor's root key, which signs device certificates.
    Vendor,
    /// The landmark registry's key, which signs landmark certificates.
    Registry,
}

/// A named public key with its role; `id` is shown for people and checked on load.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicKeyFile {
    /// Always [`PUBLIC_KEY_FORMAT`].
    pub format: String,
    /// Vendor root or registry.
    pub role: Role,
    /// A human name (e.g. the vendor's), used in the trust file.
    pub name: String,
    /// The Ed25519 public key, hex.
    pub public_key: String,
    /// The issuer id bound to the key, hex.
    pub id: String,
}

impl PublicKeyFile {
    /// The file content for `key`.
    pub fn new(role: Role, name: &str, key: PublicKey) -> Self {
        PublicKeyFile {
            format: PUBLIC_KEY_FORMAT.to_owned(),
            role,
            name: name.to_owned(),
            public_key: hex::encode(key.to_bytes()),
            id: IssuerId::of(&key).to_string(),
        }
    }

    /// The checked public key.
    pub fn key(&self, path: &Path) -> Result<PublicKey, RegistryError> {
        let key = parse_public_key(&self.public_key, path)?;
        if IssuerId::of(&key).to_string() != self.id {
            return Err(RegistryError::FieldMismatch {
                path: path.to_path_buf(),
                field: "id".into(),
            });
        }
        Ok(key)
    }

    /// Writes the file; refuses to overwrite.
    pub fn write(&self, path: &Path) -> Result<(), RegistryError> {
        let text =
            toml::to_string(self).map_err(|e| RegistryError::malformed(path, e.to_string()))?;
        write_new(path, text.as_bytes())
    }

    /// Reads and checks a public key file, expecting `role`.
    pub fn load(path: &Path, role: Role) -> Result<(Self, PublicKey), RegistryError> {
        let file: PublicKeyFile = read_toml(path)?;
        if file.format != PUBLIC_KEY_FORMAT {
            return Err(RegistryError::malformed(
                path,
                format!("format is not {PUBLIC_KEY_FORMAT}"),
            ));
        }
        if file.role != role {
            return Err(RegistryError::malformed(
                path,
                format!("expected a {role:?} key"),
            ));
        }
        let key = file.key(path)?;
        Ok((file, key))
    }
}

/// Parses 64 hex digits as an Ed25519 public key and checks it is a valid, strong point.
pub fn parse_public_key(text: &str, path: &Path) -> Result<PublicKey, RegistryError> {
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(text, &mut bytes)
        .map_err(|_| RegistryError::malformed(path, "public key is not 64 hex digits"))?;
    // The same rule the core applies to certified keys: a valid point, not of small order,
    // canonically encoded (one key, one encoding, one id).
    let strong = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
        .ok()
        .filter(|k| !k.is_weak() && k.to_edwards().compress().to_bytes() == bytes);
    if strong.is_none() {
        return Err(RegistryError::core(
            path.display().to_string(),
            lightcone::Error::InvalidPublicKey,
        ));
    }
    Ok(PublicKey::from(bytes))
}

/// Reads a TOML file into `T`, naming the file in errors.
pub(crate) fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, RegistryError> {
    let text = crate::bounded_file::read_to_string(
        path,
        crate::bounded_file::CONFIG_MAX,
        crate::bounded_file::Links::Follow,
    )
    .map_err(|e| RegistryError::io(path, e))?;
    toml::from_str(&text).map_err(|e| RegistryError::malformed(path, e.to_string()))
}

/// Creates `path` (refusing to overwrite) with `bytes`, mode 0644, fsynced.
pub(crate) fn write_new(path: &Path, bytes: &[u8]) -> Result<(), RegistryError> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                RegistryError::AlreadyExists {
                    path: path.to_path_buf(),
                }
            } else {
                RegistryError::io(path, e)
            }
        })?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| RegistryError::io(path, e))
}
