//! Reading the files the verifier is handed: regular files only, never more than the largest
//! legal size of that kind of file, opened once.
//!
//! A log directory, a key directory or a configuration file may come from someone hostile (a
//! mirror, a shared or network filesystem). Reading with `fs::read` follows a symlink to
//! `/dev/zero` until memory runs out, blocks forever on a FIFO and allocates a whole sparse
//! 1 GiB file before any parser can say "too large". Here every file is opened without blocking
//! (`O_NONBLOCK`, so a FIFO opens at once), checked on the open descriptor (`fstat`: a regular
//! file, not larger than the limit) and read at most `limit + 1` bytes (a file that grows while
//! it is read is still refused). Where a path is meant to name a file inside a directory (the
//! log's checkpoint and tiles), a symlink in its place is refused (`O_NOFOLLOW`) too.
//!
//! Refusals are [`std::io::Error`]s that carry a [`Refused`], so the areas that wrap I/O errors
//! with the file's path keep naming the file, and a caller can tell a refusal from a failure
//! with [`refusal`].

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read as _};
use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

use zeroize::Zeroizing;

/// Largest secret key file of any kind (a `lightcone-secret-key-v1` file is 89 bytes, a note
/// signer key `PRIVATE+KEY+<name>+<id>+<key>` is its name plus 66 bytes).
pub const SECRET_KEY_MAX: u64 = 4096;
/// Largest public key, verifier key or certificate file.
pub const KEY_OR_CERT_MAX: u64 = 64 << 10;
/// Largest trust, policy, fleet or rules file.
pub const CONFIG_MAX: u64 = 4 << 20;
/// Largest user borders (GeoJSON) file.
pub const GEOJSON_MAX: u64 = 512 << 20;
/// Largest scenario file.
pub const SCENARIO_MAX: u64 = 16 << 20;

/// Whether a symlink in place of the file is followed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Links {
    /// Follow it (a path the user typed: a symlinked configuration is legitimate).
    Follow,
    /// Refuse it (a file inside a directory such as the log, whose layout is fixed).
    Refuse,
}

/// Why a file was refused before (or instead of) reading it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refused {
    /// Not a regular file: a FIFO, socket, device or directory.
    #[error("not a regular file (it is a {0})")]
    NotRegular(&'static str),
    /// A symbolic link where a file inside a directory is expected.
    #[error("a symbolic link, where a regular file is expected")]
    Symlink,
    /// Larger than the largest legal file of its kind.
    #[error("larger than the {limit} bytes such a file can hold")]
    TooLarge {
        /// The limit, bytes.
        limit: u64,
    },
    /// A secret key file that group or others may access.
    #[error("secret key file has mode {mode:o}; it must not be accessible to group or others (chmod 600)")]
    InsecureMode {
        /// The permission bits of the open file.
        mode: u32,
    },
}

impl From<Refused> for io::Error {
    fn from(r: Refused) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, r)
    }
}

/// The refusal inside `e`, if it is one.
pub fn refusal(e: &io::Error) -> Option<&Refused> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<Refused>())
}

fn kind_name(meta: &Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        "directory"
    } else if t.is_fifo() {
        "FIFO"
    } else if t.is_socket() {
        "socket"
    } else if t.is_char_device() {
        "character device"
    } else if t.is_block_device() {
        "block device"
    } else {
        "special file"
    }
}

/// Opens `path` for reading without blocking and checks, on the open file, that it is a
/// regular file of at most `limit` bytes.
pub fn open(path: &Path, limit: u64, links: Links) -> io::Result<(File, Metadata)> {
    let mut flags = rustix::fs::OFlags::NONBLOCK | rustix::fs::OFlags::CLOEXEC;
    if links == Links::Refuse {
        flags |= rustix::fs::OFlags::NOFOLLOW;
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits() as i32)
        .open(path)
        .map_err(|e| {
            // With O_NOFOLLOW, ELOOP says the last component is a symlink.
            if links == Links::Refuse
                && e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error())
            {
                Refused::Symlink.into()
            } else {
                e
            }
        })?;
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(Refused::NotRegular(kind_name(&meta)).into());
    }
    if meta.len() > limit {
        return Err(Refused::TooLarge { limit }.into());
    }
    Ok((file, meta))
}

/// Reads all of `path`, a regular file of at most `limit` bytes.
pub fn read(path: &Path, limit: u64, links: Links) -> io::Result<Vec<u8>> {
    let (file, meta) = open(path, limit, links)?;
    let mut out = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(limit.saturating_add(1)).read_to_end(&mut out)?;
    if out.len() as u64 > limit {
        return Err(Refused::TooLarge { limit }.into());
    }
    Ok(out)
}

/// [`read`], as UTF-8 text.
pub fn read_to_string(path: &Path, limit: u64, links: Links) -> io::Result<String> {
    String::from_utf8(read(path, limit, links)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"))
}

/// Reads a secret key file: a regular file of at most [`SECRET_KEY_MAX`] bytes that neither
/// group nor others may access (checked on the open file, so the file checked is the file
/// read), into a buffer that is zeroized when dropped and never reallocated while reading.
pub fn read_secret(path: &Path) -> io::Result<Zeroizing<Vec<u8>>> {
    let (mut file, meta) = open(path, SECRET_KEY_MAX, Links::Follow)?;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(Refused::InsecureMode { mode: mode & 0o777 }.into());
    }
    let cap = SECRET_KEY_MAX as usize + 1;
    let mut buf = Zeroizing::new(vec![0u8; cap]);
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..).filter(|r| !r.is_empty()) {
        match file.read(rest) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    if filled as u64 > SECRET_KEY_MAX {
        return Err(Refused::TooLarge {
            limit: SECRET_KEY_MAX,
        }
        .into());
    }
    buf.truncate(filled);
    Ok(buf)
}

/// [`read_secret`], as UTF-8 text (zeroized when dropped).
pub fn read_secret_text(path: &Path) -> io::Result<Zeroizing<String>> {
    let bytes = read_secret(path)?;
    match std::str::from_utf8(&bytes) {
        Ok(s) => {
            let mut text = Zeroizing::new(String::with_capacity(s.len()));
            text.push_str(s);
            Ok(text)
        }
        Err(_) => Err(io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    fn refused(r: io::Result<Vec<u8>>) -> Refused {
        let e = r.unwrap_err();
        refusal(&e)
            .cloned()
            .unwrap_or_else(|| panic!("not a refusal: {e}"))
    }

    #[test]
    fn regular_files_within_the_limit_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        fs::write(&p, b"hello").unwrap();
        assert_eq!(read(&p, 5, Links::Refuse).unwrap(), b"hello");
        assert_eq!(
            refused(read(&p, 4, Links::Refuse)),
            Refused::TooLarge { limit: 4 }
        );
        assert_eq!(
            refused(read(dir.path(), 1 << 20, Links::Follow)),
            Refused::NotRegular("directory")
        );
        assert_eq!(
            refused(read(Path::new("/dev/zero"), 1 << 20, Links::Follow)),
            Refused::NotRegular("character device")
        );
        let link = dir.path().join("zero");
        symlink("/dev/zero", &link).unwrap();
        assert_eq!(
            refused(read(&link, 1 << 20, Links::Refuse)),
            Refused::Symlink
        );
        assert_eq!(
            refused(read(&link, 1 << 20, Links::Follow)),
            Refused::NotRegular("character device")
        );
        let to_file = dir.path().join("to-f");
        symlink(&p, &to_file).unwrap();
        assert_eq!(read(&to_file, 5, Links::Follow).unwrap(), b"hello");
        assert_eq!(refused(read(&to_file, 5, Links::Refuse)), Refused::Symlink);
    }

    #[test]
    fn a_sparse_gigabyte_is_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sparse");
        fs::File::create(&p).unwrap().set_len(1 << 30).unwrap();
        assert_eq!(
            refused(read(&p, 1 << 20, Links::Refuse)),
            Refused::TooLarge { limit: 1 << 20 }
        );
    }

    #[test]
    fn secrets_are_checked_on_the_open_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k");
        fs::write(&p, b"secret\n").unwrap();
        for mode in [0o644, 0o640, 0o604, 0o666, 0o610] {
            fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
            let e = read_secret(&p).unwrap_err();
            assert_eq!(
                refusal(&e),
                Some(&Refused::InsecureMode { mode }),
                "{mode:o}"
            );
        }
        for mode in [0o600, 0o400] {
            fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
            assert_eq!(read_secret(&p).unwrap().as_slice(), b"secret\n");
        }
        fs::write(&p, vec![b'x'; SECRET_KEY_MAX as usize + 1]).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(
            refusal(&read_secret(&p).unwrap_err()),
            Some(Refused::TooLarge { .. })
        ));
    }
}
