//! The log on disk, in the C2SP `tlog-tiles` layout: a mutable `checkpoint` and immutable
//! `tile/…` files, so the directory can be served as static files.
//!
//! [`Log`] is the single writer (an exclusive `flock` on the directory keeps it single).
//! An append is durable before it returns: every new file is written to a temporary name,
//! fsynced, linked into place (a hard link never replaces an existing file), and its directory
//! fsynced; only then is the new checkpoint signed and published by an fsynced rename. The
//! fsyncs of each phase run in parallel, so a batch costs a handful of fsync rounds whatever
//! its size. Before linking any tile the writer makes the batch's size range durable in
//! `.lightcone-pending`; after a crash, [`Log::open`] removes exactly the files of that
//! unpublished batch, so the log reopens at its last published checkpoint, and never removes
//! a file a published checkpoint covers.
//!
//! [`LogReader`] reads without locking: it pins one checkpoint and reads only immutable files
//! (falling back to the full tile when a superseded partial tile has been removed). It also
//! pins what it read: the first read of each entry bundle fixes its bytes (a digest of their
//! leaf hashes is kept, 32 bytes per 256 entries), and any later read that differs fails with
//! [`LogError::ChangedWhileRead`]. So the entries an audit judges are the entries whose hashes
//! it checked against the checkpoint, even on a filesystem that changes under it (a mirror
//! being synced, a network or FUSE mount, a hostile server).

use super::checkpoint::{open_checkpoint, parse_unverified, Checkpoint, VerifiedCheckpoint};
use super::edge::{TileFile, TreeEdge};
use super::error::{LogError, Result};
use super::hash::{hash_to_base64, leaf_hash, perfect_root, Hash};
use super::note::{is_valid_key_name, NoteSigner, VerifierKey, MAX_NOTE_SIZE};
use super::proof::{
    consistency_proof, inclusion_proof, tree_root, ConsistencyProofText, HashReader, TlogProof,
};
use super::tile::{
    hashes_at_level, parse_bundle, parse_hash_tile, partial_tiles_for_size, tile_for_size,
    TileKind, TilePath, MAX_ENTRY_SIZE, MAX_LEVEL, TILE_HEIGHT, TILE_WIDTH,
};
use ed25519_dalek::SigningKey;
use rayon::prelude::*;
use std::collections::{hash_map, BTreeSet, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write as _};
use std::ops::Range;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::bounded_file::{self, Links};

/// Name of the checkpoint file in the log directory.
pub const CHECKPOINT_FILE: &str = "checkpoint";
/// Name of the writer's recovery record (size range of the batch being written).
pub const PENDING_FILE: &str = ".lightcone-pending";
const CHECKPOINT_TMP: &str = ".checkpoint.tmp";
/// Entry tiles [`LogReader::verify`] reads and hashes in parallel at a time (64 × 256 entries).
const VERIFY_TILES_AT_ONCE: usize = 64;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LogError + '_ {
    move |e| LogError::io(path, e)
}

/// Largest legal recovery record (`lightcone-pending v1` and two sizes).
const RECORD_MAX: u64 = 64;

/// Reads a file of the log directory: a regular file (no symlink, FIFO or device in its place)
/// of at most `limit` bytes, never reading more.
fn read_log_file(path: &Path, limit: u64) -> Result<Vec<u8>> {
    bounded_file::read(path, limit, Links::Refuse).map_err(io(path))
}

/// The largest legal size of a tile: 32 bytes a hash, or an entry bundle of `width` entries of
/// at most [`MAX_ENTRY_SIZE`] bytes with their 2-byte length.
fn tile_limit(tile: &TilePath) -> u64 {
    let per = match tile.kind {
        TileKind::Level(_) => super::hash::HASH_SIZE as u64,
        TileKind::Entries => 2 + MAX_ENTRY_SIZE as u64,
    };
    per * u64::from(tile.width)
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
pub(crate) fn replace_durably(path: &Path, bytes: &[u8]) -> Result<()> {
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

/// A fresh Ed25519 key from the operating system's random number generator.
pub fn generate_signing_key() -> SigningKey {
    SigningKey::generate(&mut rand_core::OsRng)
}

/// Writes a signer key file (`PRIVATE+KEY+…` line), created new with mode 0600 and fsynced.
pub fn write_key_file(path: &Path, signer: &NoteSigner) -> Result<()> {
    let key = signer.to_private_string();
    let mut line = zeroize::Zeroizing::new(String::with_capacity(key.len() + 1));
    line.push_str(&key);
    line.push('\n');
    crate::secret_file::create(path, line.as_bytes()).map_err(|e| {
        if e.kind() == ErrorKind::AlreadyExists {
            LogError::AlreadyExists {
                path: path.to_path_buf(),
            }
        } else {
            LogError::io(path, e)
        }
    })
}

/// Reads a signer key file written by [`write_key_file`] (or Go's `note.GenerateKey`).
pub fn read_key_file(path: &Path) -> Result<NoteSigner> {
    let text = bounded_file::read_secret_text(path).map_err(io(path))?;
    NoteSigner::parse(text.trim_end()).map_err(|e| e.in_file(path))
}

/// What [`Log::open`] had to repair after an interrupted append.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// The size range of an append that was interrupted before its checkpoint was published.
    pub interrupted: Option<Range<u64>>,
    /// Unpublished files of that append that were removed.
    pub removed: Vec<PathBuf>,
}

/// The log writer: appends entries in durable batches and signs checkpoints.
#[derive(Debug)]
pub struct Log {
    dir: PathBuf,
    signer: NoteSigner,
    edge: TreeEdge,
    checkpoint: VerifiedCheckpoint,
    recovery: Recovery,
    poisoned: bool,
    _lock: File,
}

impl Log {
    /// Creates a new, empty log in `dir` (created if missing) with origin `origin`, signed by
    /// `signing_key` (its key name is the origin). Refuses a directory that already holds a log.
    pub fn init(dir: impl AsRef<Path>, origin: &str, signing_key: SigningKey) -> Result<Log> {
        let dir = dir.as_ref().to_path_buf();
        if !is_valid_key_name(origin) {
            return Err(LogError::MalformedCheckpoint(
                "origin must be non-empty, without spaces or '+'",
            ));
        }
        let signer = NoteSigner::new(origin, signing_key)?;
        let mut changed = BTreeSet::new();
        create_dirs(&dir, &mut changed)?;
        let lock = lock_dir(&dir)?;
        for existing in [CHECKPOINT_FILE, "tile"] {
            let p = dir.join(existing);
            if p.exists() {
                return Err(LogError::AlreadyExists { path: p });
            }
        }
        let cp = Checkpoint {
            origin: origin.to_owned(),
            size: 0,
            root: super::hash::empty_root(),
            extensions: Vec::new(),
        };
        let note = cp.sign(&signer)?;
        for d in &changed {
            sync_dir(d)?;
        }
        replace_durably(&dir.join(CHECKPOINT_FILE), &note)?;
        let checkpoint = open_checkpoint(&note, signer.verifier_key())?;
        Ok(Log {
            dir,
            signer,
            edge: TreeEdge::new(),
            checkpoint,
            recovery: Recovery::default(),
            poisoned: false,
            _lock: lock,
        })
    }

    /// Opens an existing log for appending: takes the writer lock, checks the checkpoint is
    /// signed by `signing_key`, removes the files of an append interrupted by a crash, and
    /// rebuilds the tree's right edge from the partial tiles, checking it gives the signed root.
    pub fn open(dir: impl AsRef<Path>, signing_key: SigningKey) -> Result<Log> {
        let dir = dir.as_ref().to_path_buf();
        let lock = lock_dir(&dir)?;
        let cp_path = dir.join(CHECKPOINT_FILE);
        let note = read_log_file(&cp_path, MAX_NOTE_SIZE as u64)?;
        let unverified = parse_unverified(&note).map_err(|e| e.in_file(&cp_path))?;
        let signer = NoteSigner::new(&unverified.origin, signing_key)?;
        let checkpoint = open_checkpoint(&note, signer.verifier_key()).map_err(|e| match e {
            LogError::NoKnownSignature => LogError::KeyMismatch(format!(
                "the checkpoint of {} is not signed by this key",
                dir.display()
            )),
            e => e,
        })?;
        let recovery = recover(&dir, checkpoint.size())?;
        let edge = restore_edge(&dir, checkpoint.size())?;
        let root = edge.root()?;
        if root != *checkpoint.root() {
            return Err(LogError::RootMismatch {
                size: checkpoint.size(),
                expected: hash_to_base64(checkpoint.root()),
                computed: hash_to_base64(&root),
            });
        }
        Ok(Log {
            dir,
            signer,
            edge,
            checkpoint,
            recovery,
            poisoned: false,
            _lock: lock,
        })
    }

    /// The log directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The last published checkpoint.
    pub fn checkpoint(&self) -> &VerifiedCheckpoint {
        &self.checkpoint
    }

    /// Number of entries in the log.
    pub fn size(&self) -> u64 {
        self.edge.size()
    }

    /// The verifier key for this log's checkpoints.
    pub fn verifier_key(&self) -> &VerifierKey {
        self.signer.verifier_key()
    }

    /// What opening the log repaired, if anything.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// Appends `entries` as one batch and returns their indices. When this returns `Ok`, the
    /// entries and the checkpoint covering them are durable: one fsync round per batch.
    ///
    /// Entries over 65535 bytes are rejected before anything is written. An empty batch
    /// writes nothing. After an I/O error the log refuses further appends until reopened.
    pub fn append_batch<E: AsRef<[u8]>>(&mut self, entries: &[E]) -> Result<Range<u64>> {
        if self.poisoned {
            return Err(LogError::Poisoned);
        }
        if let Some(big) = entries.iter().find(|e| e.as_ref().len() > MAX_ENTRY_SIZE) {
            return Err(LogError::EntryTooLarge(big.as_ref().len()));
        }
        let old = self.edge.size();
        if entries.is_empty() {
            return Ok(old..old);
        }
        let mut edge = self.edge.clone();
        let mut files: Vec<TileFile> = Vec::new();
        for e in entries {
            edge.push(e.as_ref(), &mut |t| files.push(t))?;
        }
        let old_partials = partial_tiles_for_size(old);
        let completed: Vec<TilePath> = files.iter().map(|(p, _)| *p).collect();
        files.extend(
            edge.partial_tiles()
                .into_iter()
                .filter(|(p, _)| !old_partials.contains(p)),
        );
        let new = edge.size();
        let cp = Checkpoint {
            origin: self.checkpoint.origin().to_owned(),
            size: new,
            root: edge.root()?,
            extensions: Vec::new(),
        };

        // From here on a failure may leave unpublished files that only recovery removes.
        self.poisoned = true;
        let pending = self.dir.join(PENDING_FILE);
        let record = format!("lightcone-pending v1\n{old}\n{new}\n");
        write_tiles_durably(&self.dir, &files, record.as_bytes())?;
        // Sign only now, with every tile durable, and publish at once.
        let note = cp.sign(&self.signer)?;
        let tmp = self.dir.join(CHECKPOINT_TMP);
        write_synced(&tmp, &note, 0o644)?;
        let cp_path = self.dir.join(CHECKPOINT_FILE);
        fs::rename(&tmp, &cp_path).map_err(io(&cp_path))?;
        sync_dir(&self.dir)?;
        self.checkpoint = open_checkpoint(&note, self.signer.verifier_key())?;
        self.edge = edge;
        self.poisoned = false;

        // Housekeeping, not needed for correctness: the record is stale now (its end is not
        // above the checkpoint), and partial tiles superseded by a full tile may go.
        let _ = fs::remove_file(&pending);
        for t in completed {
            let p = self.dir.join(format!("{}.p", t.to_path_string()));
            let _ = fs::remove_dir_all(p);
        }
        Ok(old..new)
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

/// Parses a recovery record: `lightcone-pending v1`, then the old and new tree sizes.
fn parse_record(record: &[u8]) -> Result<(u64, u64), &'static str> {
    let text = std::str::from_utf8(record).map_err(|_| "not UTF-8")?;
    let mut lines = text.lines();
    if lines.next() != Some("lightcone-pending v1") {
        return Err("unknown format");
    }
    let mut num = || {
        lines
            .next()
            .and_then(|l| l.parse::<u64>().ok())
            .ok_or("missing size")
    };
    let (from, to) = (num()?, num()?);
    if lines.next().is_some() || from >= to {
        return Err("malformed record");
    }
    Ok((from, to))
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
                for tile in super::tile::new_tiles(from, to) {
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
                for tile in super::tile::new_tiles(from, to) {
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

/// Reads the partial tiles of a tree of `size` and rebuilds its right edge.
fn restore_edge(dir: &Path, size: u64) -> Result<TreeEdge> {
    let mut tiles = Vec::new();
    for t in partial_tiles_for_size(size) {
        let path = dir.join(t.to_path_string());
        let bytes = read_log_file(&path, tile_limit(&t))?;
        tiles.push((t, bytes));
    }
    TreeEdge::restore(size, &tiles).map_err(|(t, reason)| LogError::TornTile {
        path: dir.join(t.to_path_string()),
        reason,
    })
}

/// A function called with the path of each file a [`LogReader`] is about to read: for tests
/// that play a filesystem changing between reads.
type ReadHook = Arc<dyn Fn(&Path) + Send + Sync>;

/// A read-only view of a log pinned at the checkpoint it found when opened, and at the bytes
/// of each entry bundle as first read.
#[derive(Clone)]
pub struct LogReader {
    dir: PathBuf,
    note: Vec<u8>,
    checkpoint: Checkpoint,
    /// Bundle number → SHA-256 of the leaf hashes of its entries as first read. Shared by
    /// clones, so every pass over one log sees one set of bytes.
    pinned: Arc<Mutex<HashMap<u64, Hash>>>,
    hook: Option<ReadHook>,
}

impl std::fmt::Debug for LogReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogReader")
            .field("dir", &self.dir)
            .field("checkpoint", &self.checkpoint)
            .finish_non_exhaustive()
    }
}

/// The digest a bundle is pinned by: SHA-256 over its entries' leaf hashes, in order.
fn bundle_digest(leaves: &[Hash]) -> Hash {
    use sha2::{Digest as _, Sha256};
    let mut h = Sha256::new();
    for leaf in leaves {
        h.update(leaf);
    }
    h.finalize().into()
}

impl LogReader {
    /// Opens the log in `dir` at its current checkpoint (parsed, not yet signature-checked).
    pub fn open(dir: impl AsRef<Path>) -> Result<LogReader> {
        let dir = dir.as_ref().to_path_buf();
        let cp_path = dir.join(CHECKPOINT_FILE);
        let note = read_log_file(&cp_path, MAX_NOTE_SIZE as u64)?;
        let checkpoint = parse_unverified(&note).map_err(|e| e.in_file(&cp_path))?;
        Ok(LogReader {
            dir,
            note,
            checkpoint,
            pinned: Arc::default(),
            hook: None,
        })
    }

    /// Calls `hook` with the path of every file this reader (and its clones made afterwards)
    /// is about to read. For tests that change the files between reads, as a mirror being
    /// synced or a hostile server would.
    #[doc(hidden)]
    pub fn set_read_hook(&mut self, hook: impl Fn(&Path) + Send + Sync + 'static) {
        self.hook = Some(Arc::new(hook));
    }

    /// Checks, without reading them, that every file of the pinned tree is a regular file
    /// within the size limit of its kind (no FIFO, device, directory or symlink in its place):
    /// a hostile log directory is refused before the caller does any costly work. One `open`
    /// and `fstat` per tile; every read checks again.
    pub fn check_files(&self) -> Result<()> {
        let size = self.size();
        let levels = (0..=MAX_LEVEL).take_while(|&l| hashes_at_level(size, l) > 0);
        for kind in std::iter::once(TileKind::Entries).chain(levels.map(TileKind::Level)) {
            let mut index = 0u64;
            while let Some(tile) = tile_for_size(kind, index, size) {
                self.check_tile_file(&tile)?;
                index = index.saturating_add(1);
            }
        }
        Ok(())
    }

    /// [`LogReader::check_files`] for one tile (or the full tile that supersedes it).
    fn check_tile_file(&self, tile: &TilePath) -> Result<()> {
        let path = self.dir.join(tile.to_path_string());
        match bounded_file::open(&path, tile_limit(tile), Links::Refuse).map_err(io(&path)) {
            Ok(_) => Ok(()),
            Err(LogError::MissingFile { .. }) if !tile.is_full() => {
                let full = tile.full();
                let full_path = self.dir.join(full.to_path_string());
                match bounded_file::open(&full_path, tile_limit(&full), Links::Refuse) {
                    Ok(_) => Ok(()),
                    Err(e) if e.kind() == ErrorKind::NotFound => {
                        Err(LogError::MissingFile { path })
                    }
                    Err(e) => Err(LogError::io(&full_path, e)),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Reads a file of the log, after the test hook (if any).
    fn read_file(&self, path: &Path, limit: u64) -> Result<Vec<u8>> {
        if let Some(hook) = &self.hook {
            hook(path);
        }
        read_log_file(path, limit)
    }

    /// Pins bundle `n` at the entries whose leaf hashes are `leaves`, or fails if an earlier
    /// read of it gave other entries.
    fn pin_bundle(&self, n: u64, tile: &TilePath, leaves: &[Hash]) -> Result<()> {
        let digest = bundle_digest(leaves);
        let mut pinned = self
            .pinned
            .lock()
            .map_err(|_| LogError::Internal("bundle pins poisoned"))?;
        match pinned.entry(n) {
            hash_map::Entry::Occupied(first) if *first.get() != digest => {
                Err(LogError::ChangedWhileRead {
                    path: self.dir.join(tile.to_path_string()),
                })
            }
            hash_map::Entry::Occupied(_) => Ok(()),
            hash_map::Entry::Vacant(slot) => {
                slot.insert(digest);
                Ok(())
            }
        }
    }

    /// The pinned checkpoint, unverified: check it with [`LogReader::verify_checkpoint`] or
    /// [`LogReader::verify`] before trusting it.
    pub fn checkpoint_unverified(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The pinned checkpoint's signed note bytes.
    pub fn checkpoint_note(&self) -> &[u8] {
        &self.note
    }

    /// Tree size of the pinned checkpoint.
    pub fn size(&self) -> u64 {
        self.checkpoint.size
    }

    /// Checks the pinned checkpoint's signature (not the data; see [`LogReader::verify`]).
    pub fn verify_checkpoint(&self, key: &VerifierKey) -> Result<VerifiedCheckpoint> {
        open_checkpoint(&self.note, key)
    }

    /// Reads a tile as it is in the pinned tree, falling back to the full tile's prefix when a
    /// superseded partial tile has been removed.
    pub fn read_tile(&self, kind: TileKind, index: u64) -> Result<(TilePath, Vec<u8>)> {
        let Some(tile) = tile_for_size(kind, index, self.size()) else {
            return Err(LogError::IndexOutOfRange {
                index: index.saturating_mul(u64::from(TILE_WIDTH)),
                size: self.size(),
            });
        };
        let path = self.dir.join(tile.to_path_string());
        match self.read_file(&path, tile_limit(&tile)) {
            Ok(bytes) => Ok((tile, bytes)),
            Err(LogError::MissingFile { .. }) if !tile.is_full() => {
                let full_path = self.dir.join(tile.full().to_path_string());
                let full = match self.read_file(&full_path, tile_limit(&tile.full())) {
                    Ok(full) => full,
                    Err(LogError::MissingFile { .. }) => {
                        return Err(LogError::MissingFile { path: path.clone() })
                    }
                    Err(e) => return Err(e),
                };
                Ok((tile, prefix_of_full(&full_path, &full, &tile)?))
            }
            Err(e) => Err(e),
        }
    }

    /// Reads and parses a hash tile of the pinned tree.
    fn read_hashes(&self, level: u8, index: u64) -> Result<Vec<Hash>> {
        let (tile, bytes) = self.read_tile(TileKind::Level(level), index)?;
        parse_hash_tile(&bytes, tile.width).map_err(|reason| LogError::TornTile {
            path: self.dir.join(tile.to_path_string()),
            reason,
        })
    }

    /// Streams all entries of the pinned tree in order, one bundle in memory at a time.
    pub fn entries(&self) -> Entries<'_> {
        Entries {
            reader: self,
            next: 0,
            bundle: Vec::new().into_iter(),
            failed: false,
        }
    }

    /// Reads one entry.
    pub fn entry(&self, index: u64) -> Result<Vec<u8>> {
        if index >= self.size() {
            return Err(LogError::IndexOutOfRange {
                index,
                size: self.size(),
            });
        }
        let w = u64::from(TILE_WIDTH);
        let bundle = self.read_bundle(index / w)?;
        bundle
            .into_iter()
            .nth((index % w) as usize)
            .ok_or(LogError::Internal("entry missing from checked bundle"))
    }

    /// Number of entry bundles (tiles of up to 256 entries) in the pinned tree.
    pub fn bundle_count(&self) -> u64 {
        self.size().div_ceil(u64::from(TILE_WIDTH))
    }

    /// The entries of bundle `n` (log indexes from `n × 256`), in order: for readers that
    /// process bundles in parallel. They are the entries of every other read of bundle `n` by
    /// this reader (see the module documentation), [`LogReader::verify`]'s included.
    pub fn read_bundle(&self, n: u64) -> Result<Vec<Vec<u8>>> {
        let (tile, bytes) = self.read_tile(TileKind::Entries, n)?;
        let entries = parse_bundle(&bytes, tile.width).map_err(|reason| LogError::TornTile {
            path: self.dir.join(tile.to_path_string()),
            reason,
        })?;
        let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
        self.pin_bundle(n, &tile, &leaves)?;
        Ok(entries.into_iter().map(<[u8]>::to_vec).collect())
    }

    /// A [`HashReader`] over this tree's tiles.
    pub fn hash_reader(&self) -> TileHashReader<'_> {
        TileHashReader {
            reader: self,
            cache: HashMap::new(),
        }
    }

    /// Root of the first `size` entries (any size up to the pinned one), from the tiles.
    pub fn root_at(&self, size: u64) -> Result<Hash> {
        if size > self.size() {
            return Err(LogError::SizeOutOfRange {
                old: size,
                new: self.size(),
            });
        }
        tree_root(&mut self.hash_reader(), size)
    }

    /// Inclusion proof for entry `index` in the pinned tree.
    pub fn inclusion_proof(&self, index: u64) -> Result<Vec<Hash>> {
        inclusion_proof(&mut self.hash_reader(), index, self.size())
    }

    /// Consistency proof from tree size `old` to the pinned tree.
    pub fn consistency_proof(&self, old: u64) -> Result<Vec<Hash>> {
        consistency_proof(&mut self.hash_reader(), old, self.size())
    }

    /// A self-contained `tlog-proof@v1` for entry `index` with the pinned checkpoint.
    pub fn prove(&self, index: u64) -> Result<TlogProof> {
        Ok(TlogProof {
            extra: None,
            index,
            hashes: self.inclusion_proof(index)?,
            checkpoint: self.note.clone(),
        })
    }

    /// A consistency proof from `old` to the pinned checkpoint, in text-ready form.
    pub fn prove_consistency(&self, old: u64) -> Result<ConsistencyProofText> {
        Ok(ConsistencyProofText {
            old_size: old,
            hashes: self.consistency_proof(old)?,
            checkpoint: self.note.clone(),
        })
    }

    /// Full audit of the pinned tree: checks the checkpoint signature with `key`, re-derives
    /// every hash tile and the root from the entries, and compares them with the files.
    pub fn verify(&self, key: &VerifierKey) -> Result<VerifiedCheckpoint> {
        let verified = self.verify_checkpoint(key)?;
        let size = verified.size();
        let w = u64::from(TILE_WIDTH);
        let mut edge = TreeEdge::new();
        let mut first_error: Option<LogError> = None;
        // Reading, parsing and leaf hashing are independent per tile: done in parallel, a
        // group of tiles at a time (bounded memory); folding into the tree stays in order.
        let tiles = size.div_ceil(w);
        for group in (0..tiles).step_by(VERIFY_TILES_AT_ONCE) {
            let end = group.saturating_add(VERIFY_TILES_AT_ONCE as u64).min(tiles);
            let leaves: Vec<Result<Vec<Hash>>> = (group..end)
                .into_par_iter()
                .map(|n| self.leaf_hashes(n))
                .collect();
            for tile in leaves {
                for leaf in tile? {
                    edge.push_leaf_hash(leaf, &mut |(t, expected)| {
                        if first_error.is_none() && t.kind != TileKind::Entries {
                            if let Err(err) = self.compare_tile(&t, &expected) {
                                first_error = Some(err);
                            }
                        }
                    })?;
                }
                if let Some(err) = first_error.take() {
                    return Err(err);
                }
            }
        }
        if edge.size() != size {
            return Err(LogError::Internal("entry count differs from tree size"));
        }
        for (t, expected) in edge.partial_tiles() {
            if t.kind != TileKind::Entries {
                self.compare_tile(&t, &expected)?;
            }
        }
        let root = edge.root()?;
        if root != *verified.root() {
            return Err(LogError::RootMismatch {
                size,
                expected: hash_to_base64(verified.root()),
                computed: hash_to_base64(&root),
            });
        }
        Ok(verified)
    }

    /// The leaf hashes of entry bundle `n`.
    fn leaf_hashes(&self, n: u64) -> Result<Vec<Hash>> {
        let (tile, bytes) = self.read_tile(TileKind::Entries, n)?;
        let entries = parse_bundle(&bytes, tile.width).map_err(|reason| LogError::TornTile {
            path: self.dir.join(tile.to_path_string()),
            reason,
        })?;
        if let Some(big) = entries.iter().find(|e| e.len() > MAX_ENTRY_SIZE) {
            return Err(LogError::EntryTooLarge(big.len()));
        }
        let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
        self.pin_bundle(n, &tile, &leaves)?;
        Ok(leaves)
    }

    fn compare_tile(&self, t: &TilePath, expected: &[u8]) -> Result<()> {
        let (_, bytes) = self.read_tile(t.kind, t.index)?;
        let path = self.dir.join(t.to_path_string());
        if bytes.len() != expected.len() {
            return Err(LogError::TornTile {
                path,
                reason: format!("expected {} bytes, found {}", expected.len(), bytes.len()),
            });
        }
        if bytes != expected {
            return Err(LogError::TileMismatch { path });
        }
        Ok(())
    }
}

/// The first `tile.width` hashes or entries of a full tile.
fn prefix_of_full(path: &Path, full: &[u8], tile: &TilePath) -> Result<Vec<u8>> {
    let torn = |reason: String| LogError::TornTile {
        path: path.to_path_buf(),
        reason,
    };
    match tile.kind {
        TileKind::Level(_) => {
            parse_hash_tile(full, TILE_WIDTH).map_err(torn)?;
            Ok(full
                .get(..usize::from(tile.width) * super::hash::HASH_SIZE)
                .unwrap_or_default()
                .to_vec())
        }
        TileKind::Entries => {
            let entries = parse_bundle(full, TILE_WIDTH).map_err(torn)?;
            let mut out = Vec::new();
            for e in entries.into_iter().take(usize::from(tile.width)) {
                super::tile::push_bundle_entry(&mut out, e)?;
            }
            Ok(out)
        }
    }
}

/// Iterator over a pinned tree's entries: `(index, bytes)`, stopping after the first error.
#[derive(Debug)]
pub struct Entries<'a> {
    reader: &'a LogReader,
    next: u64,
    bundle: std::vec::IntoIter<Vec<u8>>,
    failed: bool,
}

impl Iterator for Entries<'_> {
    type Item = Result<(u64, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.next >= self.reader.size() {
            return None;
        }
        let entry = match self.bundle.next() {
            Some(e) => e,
            None => {
                let n = self.next / u64::from(TILE_WIDTH);
                match self.reader.read_bundle(n) {
                    Ok(b) => {
                        self.bundle = b.into_iter();
                        match self.bundle.next() {
                            Some(e) => e,
                            None => {
                                self.failed = true;
                                return Some(Err(LogError::Internal("empty bundle")));
                            }
                        }
                    }
                    Err(e) => {
                        self.failed = true;
                        return Some(Err(e));
                    }
                }
            }
        };
        let i = self.next;
        self.next += 1;
        Some(Ok((i, entry)))
    }
}

/// A [`HashReader`] over a pinned tree's tiles: a perfect subtree of height `8·L + h` is
/// `2^h` consecutive hashes of one level-`L` tile, hashed up.
#[derive(Debug)]
pub struct TileHashReader<'a> {
    reader: &'a LogReader,
    cache: HashMap<(u8, u64), Vec<Hash>>,
}

impl HashReader for TileHashReader<'_> {
    fn perfect_hash(&mut self, height: u32, index: u64) -> Result<Hash> {
        let level = u8::try_from(height / TILE_HEIGHT)
            .map_err(|_| LogError::Internal("subtree height out of range"))?;
        let h = height % TILE_HEIGHT;
        let first = index
            .checked_mul(1u64 << h)
            .ok_or(LogError::Internal("subtree index out of range"))?;
        let w = u64::from(TILE_WIDTH);
        let (n, offset) = (first / w, (first % w) as usize);
        if !self.cache.contains_key(&(level, n)) {
            if self.cache.len() > 64 {
                self.cache.clear();
            }
            let hashes = self.reader.read_hashes(level, n)?;
            self.cache.insert((level, n), hashes);
        }
        let hashes = self
            .cache
            .get(&(level, n))
            .ok_or(LogError::Internal("tile cache"))?;
        let part = hashes
            .get(offset..offset + (1usize << h))
            .ok_or(LogError::Internal("subtree not in the tree"))?;
        perfect_root(part)
    }
}
