//! Key, certificate and trust files as a user hands them to `lightcone`: any bytes load or give
//! a typed error naming the file, never a panic. A certificate that loads is checked against a
//! trust file, and a trust file that loads can check the fixture certificates.
#![no_main]

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use lightcone::{PublicKey, Signer as _};
use lightcone_verifier::registry::{
    load_device_certificate, load_landmark_certificate, read_secret_key, PublicKeyFile,
    RegistryError, Role, SigningKey, Trust,
};

/// One scratch file per fuzzing process (mode 0600, so the secret key loader reads it).
fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        dir.join(format!("lightcone-fuzz-registry-{}", std::process::id()))
    })
}

/// The trust the fixture certificates were issued under (vendor seed 1, registry seed 2).
fn trust() -> &'static Trust {
    static TRUST: OnceLock<Trust> = OnceLock::new();
    TRUST.get_or_init(|| {
        let vendor = SigningKey::from_bytes(&[1; 32]).public_key();
        let registry = SigningKey::from_bytes(&[2; 32]).public_key();
        let text = format!(
            "format = \"lightcone-trust-v1\"\n[registry]\npublic_key = \"{}\"\n[[vendor]]\nname = \"v\"\npublic_key = \"{}\"\n",
            hex(&registry),
            hex(&vendor)
        );
        write(text.as_bytes());
        Trust::load(scratch()).expect("fixture trust file loads")
    })
}

fn hex(key: &PublicKey) -> String {
    key.to_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

fn write(data: &[u8]) {
    let path = scratch();
    let _ = std::fs::remove_file(path);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .expect("scratch file");
    f.write_all(data).expect("write scratch file");
}

/// Every error that concerns the file must name it.
fn names_file(err: &RegistryError) {
    let text = err.to_string();
    let name = scratch().display().to_string();
    assert!(text.contains(&name), "error does not name the file: {text}");
}

fuzz_target!(|data: &[u8]| {
    let trust = trust();
    write(data);
    let path = scratch().as_path();
    match read_secret_key(path) {
        Ok(_) => {}
        Err(e) => names_file(&e),
    }
    for role in [Role::Vendor, Role::Registry] {
        if let Err(e) = PublicKeyFile::load(path, role) {
            names_file(&e);
        }
    }
    match load_device_certificate(path) {
        Ok(cert) => {
            let _ = trust.verify_device(&cert, 1_790_000_000);
        }
        Err(e) => names_file(&e),
    }
    match load_landmark_certificate(path) {
        Ok(cert) => {
            let _ = trust.verify_landmark(&cert, 1_790_000_000);
        }
        Err(e) => names_file(&e),
    }
    match Trust::load(path) {
        Ok(t) => {
            let _ = t.vendors.len();
        }
        Err(e) => names_file(&e),
    }
});
