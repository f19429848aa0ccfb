//! Secret key files: `lightcone-secret-key-v1\n<64 hex digits of the Ed25519 seed>\n`.
//!
//! Created through [`crate::secret_file`] (new, mode `0600`, fsynced with its directory).
//! Loading refuses a file that group or others may read, and anything but the exact format; the
//! seed is zeroized.

use std::io::ErrorKind;
use std::path::Path;

use ed25519_dalek::SigningKey;
use zeroize::Zeroizing;

use super::error::RegistryError;

/// First line of every secret key file.
pub const SECRET_KEY_HEADER: &str = "lightcone-secret-key-v1";

/// A fresh Ed25519 key from the operating system's CSPRNG.
pub fn generate_key() -> SigningKey {
    SigningKey::generate(&mut rand_core::OsRng)
}

/// Writes `key` to a new file at `path` with mode 0600; refuses to replace an existing file.
pub fn write_secret_key(path: &Path, key: &SigningKey) -> Result<(), RegistryError> {
    // Every copy of the seed is zeroized: its bytes, its hex digits and the file's text, which
    // is sized once so it never reallocates (a reallocation would leave a copy behind).
    let seed = Zeroizing::new(key.to_bytes());
    let mut digits = Zeroizing::new([0u8; 64]);
    hex::encode_to_slice(seed.as_slice(), digits.as_mut_slice())
        .map_err(|_| RegistryError::malformed(path, "internal: seed encoding"))?;
    let mut text = Zeroizing::new(Vec::with_capacity(SECRET_KEY_HEADER.len() + 66));
    text.extend_from_slice(SECRET_KEY_HEADER.as_bytes());
    text.push(b'\n');
    text.extend_from_slice(digits.as_slice());
    text.push(b'\n');
    crate::secret_file::create(path, &text).map_err(|e| {
        if e.kind() == ErrorKind::AlreadyExists {
            RegistryError::AlreadyExists {
                path: path.to_path_buf(),
            }
        } else {
            RegistryError::io(path, e)
        }
    })
}

/// Reads a secret key file written by [`write_secret_key`].
pub fn read_secret_key(path: &Path) -> Result<SigningKey, RegistryError> {
    // Opened once; the mode is checked on the open file (see `bounded_file::read_secret`).
    let text =
        crate::bounded_file::read_secret_text(path).map_err(|e| RegistryError::io(path, e))?;
    let bad = |reason: &str| RegistryError::malformed(path, reason);
    let rest = text
        .strip_prefix(SECRET_KEY_HEADER)
        .and_then(|r| r.strip_prefix('\n'))
        .ok_or_else(|| bad("expected the line `lightcone-secret-key-v1` first"))?;
    let hex_seed = rest
        .strip_suffix('\n')
        .ok_or_else(|| bad("expected a newline after the seed"))?;
    if hex_seed.len() != 64 || hex_seed.contains('\n') {
        return Err(bad(
            "expected exactly 64 hex digits of seed on the second line",
        ));
    }
    let mut seed = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(hex_seed, seed.as_mut_slice()).map_err(|_| bad("seed is not hex"))?;
    Ok(SigningKey::from_bytes(&seed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn roundtrip_mode_and_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        let key = SigningKey::from_bytes(&[7; 32]);
        write_secret_key(&path, &key).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(read_secret_key(&path).unwrap().to_bytes(), key.to_bytes());
        assert!(matches!(
            write_secret_key(&path, &key),
            Err(RegistryError::AlreadyExists { .. })
        ));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        assert!(matches!(
            read_secret_key(&path),
            Err(RegistryError::InsecurePermissions { mode: 0o640, .. })
        ));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        for bad in [
            "",
            "lightcone-secret-key-v1\n",
            "lightcone-secret-key-v1\nzz\n",
            "lightcone-secret-key-v2\n0707070707070707070707070707070707070707070707070707070707070707\n",
            "lightcone-secret-key-v1\n0707070707070707070707070707070707070707070707070707070707070707",
        ] {
            fs::write(&path, bad).unwrap();
            let err = read_secret_key(&path).unwrap_err();
            assert!(matches!(err, RegistryError::Malformed { .. }), "{bad:?}: {err}");
            assert!(err.to_string().contains("k.key"));
        }
    }
}
