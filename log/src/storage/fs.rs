//! The local-filesystem [`Store`]: a log directory, written with fsync rounds, a hard link per
//! immutable file and a recovery record (see the [module documentation](super)).

use super::{
    io, parse_record, record_bytes, tile_limit, Recovery, Store, CHECKPOINT_FILE, PENDING_FILE,
    RECORD_MAX,
};
use crate::bounded_file::{self, Links};
use crate::edge::TileFile;
use crate::error::{LogError, Result};
use crate::tile::TilePath;
use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write as _};
use std::ops::Range;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

const CHECKPOINT_TMP: &str = ".checkpoint.tmp";

/// A log directory. Opened for writing ([`FsStore::create`], [`FsStore::open_writer`]) it
/// holds the exclusive writer lock on the directory until dropped.
#[derive(Debug)]
pub struct FsStore {
    dir: PathBuf,
    _lock: Option<File>,
}

impl FsStore {
    /// A new log directory (created with its missing ancestors, each creation made durable),
    /// locked for writing; refuses one that already holds a log.
    pub fn create(dir: &Path) -> Result<FsStore> {
        let mut changed = BTreeSet::new();
        create_dirs(dir, &mut changed)?;
        let lock = lock_dir(dir)?;
        for existing in [CHECKPOINT_FILE, "tile"] {
            let p = dir.join(existing);
            if p.exists() {
                return Err(LogError::AlreadyExists { path: p });
            }
        }
        for d in &changed {
            sync_dir(d)?;
        }
        Ok(FsStore {
            dir: dir.to_path_buf(),
            _lock: Some(lock),
        })
    }

    /// An existing log directory, locked for writing ([`LogError::Locked`] if another writer
    /// holds it).
    pub fn open_writer(dir: &Path) -> Result<FsStore> {
        let lock = lock_dir(dir)?;
        Ok(FsStore {
            dir: dir.to_path_buf(),
            _lock: Some(lock),
        })
    }

    /// A log directory for reading only: no lock, nothing written.
    pub fn reader(dir: &Path) -> FsStore {
        FsStore {
            dir: dir.to_path_buf(),
            _lock: None,
        }
    }
}

impl Store for FsStore {
    fn location(&self) -> &Path {
        &self.dir
    }

    fn read(&self, name: &str, limit: u64) -> Result<Vec<u8>> {
        read_log_file(&self.dir.join(name), limit)
    }

    fn check(&self, name: &str, limit: u64) -> Result<()> {
        let path = self.dir.join(name);
        bounded_file::open(&path, limit, Links::Refuse)
            .map(drop)
            .map_err(io(&path))
    }

    fn write_tiles(&self, sizes: Range<u64>, tiles: &[TileFile]) -> Result<()> {
        self.writable()?;
        write_tiles_durably(&self.dir, tiles, &record_bytes(&sizes))
    }

    fn publish_checkpoint(&self, note: &[u8]) -> Result<()> {
        self.writable()?;
        replace_durably(&self.dir.join(CHECKPOINT_FILE), note)
    }

    fn recover(&self, size: u64) -> Result<Recovery> {
        self.writable()?;
        recover(&self.dir, size)
    }

    fn tidy(&self, completed: &[TilePath]) {
        let _ = fs::remove_file(self.dir.join(PENDING_FILE));
        for t in completed {
            let p = self.dir.join(format!("{}.p", t.to_path_string()));
            let _ = fs::remove_dir_all(p);
        }
    }
}

impl FsStore {
    /// Refuses writes through a store opened for reading (it holds no lock).
    fn writable(&self) -> Result<()> {
        if self._lock.is_some() {
            Ok(())
        } else {
            Err(LogError::Internal("write through a read-only log store"))
        }
    }
}

/// Reads a file of the log directory: a regular file (no symlink, FIFO or device in its place)
/// of at most `limit` bytes, never reading more.
pub(crate) fn read_log_file(path: &Path, limit: u64) -> Result<Vec<u8>> {
    bounded_file::read(path, limit, Links::Refuse).map_err(io(path))
}

/// Temporary name for `path`, in the same directory (so rename and link stay atomic).
fn tmp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp"))
}

/// Writes `bytes` to `path` (created or truncated), without syncing.
fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<File> {
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))?;
    Ok(f)
}

/// Writes `bytes` to `path` (created or truncated) and fsyncs it.
fn write_synced(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    write_file(path, bytes, mode)?.sync_all().map_err(io(path))
}

/// Fsyncs a directory, making the names created, renamed or removed in it durable.
fn sync_dir(path: &Path) -> Result<()> {
    File::open(path)
        .and_then(|d| d.sync_all())
        .map_err(io(path))
}

/// Writes `bytes` to `path` atomically: temporary file, fsync, rename, fsync of the directory.
pub fn replace_durably(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = tmp_path(path);
    write_synced(&tmp, bytes, 0o644)?;
    fs::rename(&tmp, path).map_err(io(path))?;
    sync_dir(parent(path))
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Creates `dir` and its missing ancestors, noting each parent whose entries changed.
fn create_dirs(dir: &Path, changed: &mut BTreeSet<PathBuf>) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    create_dirs(parent(dir), changed)?;
    match fs::create_dir(dir) {
        Ok(()) => {
            changed.insert(parent(dir).to_path_buf());
            Ok(())
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(LogError::io(dir, e)),
    }
}

fn remove_if_exists(path: &Path) -> Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(LogError::io(path, e)),
    }
}

/// Takes the exclusive writer lock on the log directory (released when the `File` drops).
fn lock_dir(dir: &Path) -> Result<File> {
    let f = File::open(dir).map_err(io(dir))?;
    match rustix::fs::flock(&f, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(f),
        Err(e) if e == rustix::io::Errno::WOULDBLOCK || e == rustix::io::Errno::AGAIN => {
            Err(LogError::Locked {
                path: dir.to_path_buf(),
            })
        }
        Err(e) => Err(LogError::io(dir, e.into())),
    }
}

/// Writes the batch's new tiles durably and in an order a crash cannot break, with the
/// fsyncs of each phase issued in parallel (one fsync round per phase, not per file):
///
/// 1. every new tile to a temporary name, and the recovery record (`old..new`) likewise;
/// 2. fsync all of them at once;
/// 3. rename the record into place and fsync the log directory: from now on a crash is undone
///    by [`Log::open`];
/// 4. hard-link each tile to its final name (a link never replaces an existing file, so an
///    immutable file is never overwritten) and drop the temporary name;
/// 5. fsync every directory whose entries changed, at once.
///
/// An existing file with the same bytes is left alone; one with different bytes is an error.
fn write_tiles_durably(dir: &Path, files: &[TileFile], record: &[u8]) -> Result<()> {
    let mut changed = BTreeSet::new();
    let mut staged = Vec::with_capacity(files.len());
    for (tile, bytes) in files {
        let path = dir.join(tile.to_path_string());
        match read_log_file(&path, tile_limit(tile)) {
            Ok(existing) if existing == *bytes => continue,
            Ok(_) => return Err(LogError::ImmutableConflict { path }),
            Err(LogError::MissingFile { .. }) => {}
            Err(e) => return Err(e),
        }
        create_dirs(parent(&path), &mut changed)?;
        let tmp = tmp_path(&path);
        write_file(&tmp, bytes, 0o644)?;
        staged.push((tmp, path));
    }
    let pending = dir.join(PENDING_FILE);
    let pending_tmp = tmp_path(&pending);
    write_file(&pending_tmp, record, 0o644)?;
    let mut to_sync: Vec<PathBuf> = staged.iter().map(|(tmp, _)| tmp.clone()).collect();
    to_sync.push(pending_tmp.clone());
    sync_parallel(&to_sync)?;
    fs::rename(&pending_tmp, &pending).map_err(io(&pending))?;
    sync_dir(dir)?;
    for (tmp, path) in staged {
        match fs::hard_link(&tmp, &path) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                return Err(LogError::ImmutableConflict { path })
            }
            Err(e) => return Err(LogError::io(&path, e)),
        }
        fs::remove_file(&tmp).map_err(io(&tmp))?;
        changed.insert(parent(&path).to_path_buf());
    }
    let dirs: Vec<PathBuf> = changed.into_iter().collect();
    sync_parallel(&dirs)
}

/// Fsyncs files or directories concurrently (the device sees one round, not one per file).
fn sync_parallel(paths: &[PathBuf]) -> Result<()> {
    if paths.is_empty() {
        return Ok(());
    }
    let workers = paths.len().min(8);
    let chunk = paths.len().div_ceil(workers);
    std::thread::scope(|s| {
        let handles: Vec<_> = paths
            .chunks(chunk)
            .map(|group| {
                s.spawn(move || -> Result<()> {
                    for p in group {
                        File::open(p).and_then(|f| f.sync_all()).map_err(io(p))?;
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join()
                .map_err(|_| LogError::Internal("fsync worker panicked"))??;
        }
        Ok(())
    })
}

/// Undoes an append that crashed before publishing its checkpoint.
///
/// A durable record `from..to` above the checkpoint size means tiles of that batch may be in
/// place: they (and their temporary names) are removed. A record still under its temporary
/// name means no tile was linked yet: only temporary names can exist, and they are removed.
fn recover(dir: &Path, size: u64) -> Result<Recovery> {
    let mut recovery = Recovery::default();
    let pending = dir.join(PENDING_FILE);
    let pending_tmp = tmp_path(&pending);
    let mut changed = BTreeSet::new();
    let mut remove = |p: PathBuf, recovery: &mut Recovery| -> Result<()> {
        if remove_if_exists(&p)? {
            changed.insert(parent(&p).to_path_buf());
            recovery.removed.push(p);
        }
        Ok(())
    };
    // A record that never became durable: only temporary tile files can exist.
    if let Ok(record) = read_log_file(&pending_tmp, RECORD_MAX) {
        if let Ok((from, to)) = parse_record(&record) {
            if from == size {
                for tile in crate::tile::new_tiles(from, to) {
                    remove(tmp_path(&dir.join(tile.to_path_string())), &mut recovery)?;
                }
            }
        }
    }
    remove(pending_tmp, &mut recovery)?;
    remove(dir.join(CHECKPOINT_TMP), &mut recovery)?;
    match read_log_file(&pending, RECORD_MAX) {
        Ok(record) => {
            let (from, to) =
                parse_record(&record).map_err(|reason| LogError::BadRecoveryRecord {
                    path: pending.clone(),
                    reason: reason.to_owned(),
                })?;
            if to > size {
                if from != size {
                    return Err(LogError::BadRecoveryRecord {
                        path: pending.clone(),
                        reason: format!(
                            "interrupted append {from}..{to} does not start at checkpoint size {size}"
                        ),
                    });
                }
                for tile in crate::tile::new_tiles(from, to) {
                    let path = dir.join(tile.to_path_string());
                    remove(tmp_path(&path), &mut recovery)?;
                    remove(path, &mut recovery)?;
                }
                recovery.interrupted = Some(from..to);
            }
            // Stale (its batch was published) or now undone: either way it is done with.
            fs::remove_file(&pending).map_err(io(&pending))?;
            changed.insert(dir.to_path_buf());
        }
        Err(LogError::MissingFile { .. }) => {}
        Err(e) => return Err(e),
    }
    let dirs: Vec<PathBuf> = changed.into_iter().collect();
    sync_parallel(&dirs)?;
    Ok(recovery)
}
