//! Creating a file that holds a secret key: one way for every kind of key file.
//!
//! The file is created new with mode 0600 in one step (no moment where it exists with wider
//! permissions, and an existing key is never overwritten), written, fsynced, and its directory
//! fsynced so the new name survives a crash.

use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

/// Creates `path` with `contents`; an existing file is an [`io::ErrorKind::AlreadyExists`]
/// error and stays untouched.
pub fn create(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)?;
    file.sync_all()?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}
