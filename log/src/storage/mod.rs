//! The log's storage, in the C2SP `tlog-tiles` layout: a mutable `checkpoint` and immutable
//! `tile/…` objects, so the store can be served as static files.
//!
//! [`Log`] is the single writer; it writes through a [`Store`]:
//! - [`fs::FsStore`], a local directory (an exclusive `flock` keeps the writer single). An
//!   append is durable before it returns: every new file is written to a temporary name,
//!   fsynced, linked into place (a hard link never replaces an existing file), and its
//!   directory fsynced; only then is the new checkpoint signed and published by an fsynced
//!   rename. The fsyncs of each phase run in parallel, so a batch costs a handful of fsync
//!   rounds whatever its size. Before linking any tile the writer makes the batch's size range
//!   durable in `.lightcone-pending`; after a crash, [`Log::open`] removes exactly the files of
//!   that unpublished batch, so the log reopens at its last published checkpoint, and never
//!   removes a file a published checkpoint covers.
//! - [`object::S3Store`], a bucket prefix of an S3-compatible object store: the same order
//!   (recovery record, then every tile, each created only if absent, then the checkpoint), with
//!   "durable" meaning that the PUT returned (see its documentation).
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
use super::hash::hash_to_base64;
use super::note::{is_valid_key_name, NoteSigner, VerifierKey, MAX_NOTE_SIZE};
use super::tile::{partial_tiles_for_size, TileKind, TilePath, MAX_ENTRY_SIZE};
use ed25519_dalek::SigningKey;
use std::io::ErrorKind;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::bounded_file;

pub mod fs;
pub mod object;
mod reader;

pub use fs::FsStore;
pub use object::S3Store;
pub use reader::{Entries, LogReader, TileHashReader};

/// Name of the checkpoint file in the log directory.
pub const CHECKPOINT_FILE: &str = "checkpoint";
/// Name of the writer's recovery record (size range of the batch being written).
pub const PENDING_FILE: &str = ".lightcone-pending";

/// Largest legal recovery record (`lightcone-pending v1` and two sizes).
pub(crate) const RECORD_MAX: u64 = 64;

/// Where a log's objects live: the checkpoint (replaced on each append) and the immutable
/// tiles and entry bundles, named by their C2SP `tlog-tiles` paths (`checkpoint`,
/// `tile/0/000`, `tile/entries/000.p/5`, …). A store opened for writing holds the writer role
/// ([`Log`] is its only user); one opened for reading may be shared by any number of readers.
///
/// The contract [`Log`] relies on: when [`Store::write_tiles`] returns, every tile it was
/// given is durable and the batch's recovery record too; when [`Store::publish_checkpoint`]
/// returns, the new checkpoint is durable and readers see either it or the old one, never a
/// mix; an existing tile is never replaced with other bytes; and [`Store::recover`] removes
/// exactly the tiles of a batch whose checkpoint was never published.
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Where the log is, for messages: its directory, or `s3://bucket/prefix`.
    fn location(&self) -> &Path;

    /// The location of object `name`, for messages and errors.
    fn path_of(&self, name: &str) -> PathBuf {
        self.location().join(name)
    }

    /// Reads object `name`: at most `limit` bytes (a larger object is refused unread);
    /// [`LogError::MissingFile`] when it does not exist.
    fn read(&self, name: &str, limit: u64) -> Result<Vec<u8>>;

    /// Checks, without reading it, that object `name` exists and is within `limit` bytes.
    fn check(&self, name: &str, limit: u64) -> Result<()>;

    /// Makes a batch growing the tree over `sizes` durable, in this order: its recovery record
    /// (`sizes`), then every tile of `tiles`. A tile that exists with the same bytes is left
    /// alone; one with other bytes is [`LogError::ImmutableConflict`].
    fn write_tiles(&self, sizes: Range<u64>, tiles: &[TileFile]) -> Result<()>;

    /// Replaces the checkpoint with `note`, durably and atomically.
    fn publish_checkpoint(&self, note: &[u8]) -> Result<()>;

    /// Undoes a batch interrupted before its checkpoint was published (the published tree
    /// has `size` entries): removes its tiles and its recovery record.
    fn recover(&self, size: u64) -> Result<Recovery>;

    /// Housekeeping once a batch's checkpoint is published, not needed for correctness:
    /// drops the stale recovery record and the partial tiles that the full tiles `completed`
    /// superseded. Failures are ignored.
    fn tidy(&self, completed: &[TilePath]);
}

/// The largest legal size of a tile: 32 bytes a hash, or an entry bundle of `width` entries of
/// at most [`MAX_ENTRY_SIZE`] bytes with their 2-byte length.
pub(crate) fn tile_limit(tile: &TilePath) -> u64 {
    let per = match tile.kind {
        TileKind::Level(_) => super::hash::HASH_SIZE as u64,
        TileKind::Entries => 2 + MAX_ENTRY_SIZE as u64,
    };
    per * u64::from(tile.width)
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
    store: Arc<dyn Store>,
    signer: NoteSigner,
    edge: TreeEdge,
    checkpoint: VerifiedCheckpoint,
    recovery: Recovery,
    poisoned: bool,
}

impl Log {
    /// Creates a new, empty log in `dir` (created if missing) with origin `origin`, signed by
    /// `signing_key` (its key name is the origin). Refuses a directory that already holds a log.
    pub fn init(dir: impl AsRef<Path>, origin: &str, signing_key: SigningKey) -> Result<Log> {
        if !is_valid_key_name(origin) {
            return Err(bad_origin());
        }
        let store = FsStore::create(dir.as_ref())?;
        Log::init_in(Arc::new(store), origin, signing_key)
    }

    /// Creates a new, empty log in `store` (opened for writing), as [`Log::init`] does in a
    /// directory. Refuses a store that already holds a checkpoint.
    pub fn init_in(store: Arc<dyn Store>, origin: &str, signing_key: SigningKey) -> Result<Log> {
        if !is_valid_key_name(origin) {
            return Err(bad_origin());
        }
        match store.read(CHECKPOINT_FILE, MAX_NOTE_SIZE as u64) {
            Err(LogError::MissingFile { .. }) => {}
            Ok(_) => {
                return Err(LogError::AlreadyExists {
                    path: store.path_of(CHECKPOINT_FILE),
                })
            }
            Err(e) => return Err(e),
        }
        let signer = NoteSigner::new(origin, signing_key)?;
        let cp = Checkpoint {
            origin: origin.to_owned(),
            size: 0,
            root: super::hash::empty_root(),
            extensions: Vec::new(),
        };
        let note = cp.sign(&signer)?;
        store.publish_checkpoint(&note)?;
        let checkpoint = open_checkpoint(&note, signer.verifier_key())?;
        Ok(Log {
            store,
            signer,
            edge: TreeEdge::new(),
            checkpoint,
            recovery: Recovery::default(),
            poisoned: false,
        })
    }

    /// Opens an existing log for appending: takes the writer lock, checks the checkpoint is
    /// signed by `signing_key`, removes the files of an append interrupted by a crash, and
    /// rebuilds the tree's right edge from the partial tiles, checking it gives the signed root.
    pub fn open(dir: impl AsRef<Path>, signing_key: SigningKey) -> Result<Log> {
        let store = FsStore::open_writer(dir.as_ref())?;
        Log::open_in(Arc::new(store), signing_key)
    }

    /// Opens the log in `store` (opened for writing) for appending, as [`Log::open`] does.
    pub fn open_in(store: Arc<dyn Store>, signing_key: SigningKey) -> Result<Log> {
        let note = store.read(CHECKPOINT_FILE, MAX_NOTE_SIZE as u64)?;
        let cp_path = store.path_of(CHECKPOINT_FILE);
        let unverified = parse_unverified(&note).map_err(|e| e.in_file(&cp_path))?;
        let signer = NoteSigner::new(&unverified.origin, signing_key)?;
        let checkpoint = open_checkpoint(&note, signer.verifier_key()).map_err(|e| match e {
            LogError::NoKnownSignature => LogError::KeyMismatch(format!(
                "the checkpoint of {} is not signed by this key",
                store.location().display()
            )),
            e => e,
        })?;
        let recovery = store.recover(checkpoint.size())?;
        let edge = restore_edge(store.as_ref(), checkpoint.size())?;
        let root = edge.root()?;
        if root != *checkpoint.root() {
            return Err(LogError::RootMismatch {
                size: checkpoint.size(),
                expected: hash_to_base64(checkpoint.root()),
                computed: hash_to_base64(&root),
            });
        }
        Ok(Log {
            store,
            signer,
            edge,
            checkpoint,
            recovery,
            poisoned: false,
        })
    }

    /// Where the log is: its directory, or `s3://bucket/prefix`.
    pub fn dir(&self) -> &Path {
        self.store.location()
    }

    /// The store the log writes to.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// A reader of the log's current checkpoint, through the same store.
    pub fn reader(&self) -> Result<LogReader> {
        LogReader::open_in(self.store.clone())
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
        self.store.write_tiles(old..new, &files)?;
        // Sign only now, with every tile durable, and publish at once.
        let note = cp.sign(&self.signer)?;
        self.store.publish_checkpoint(&note)?;
        self.checkpoint = open_checkpoint(&note, self.signer.verifier_key())?;
        self.edge = edge;
        self.poisoned = false;
        self.store.tidy(&completed);
        Ok(old..new)
    }
}

fn bad_origin() -> LogError {
    LogError::MalformedCheckpoint("origin must be non-empty, without spaces or '+'")
}

/// The recovery record of a batch growing the tree over `sizes`.
pub(crate) fn record_bytes(sizes: &Range<u64>) -> Vec<u8> {
    format!("lightcone-pending v1\n{}\n{}\n", sizes.start, sizes.end).into_bytes()
}

/// Parses a recovery record: `lightcone-pending v1`, then the old and new tree sizes.
pub(crate) fn parse_record(record: &[u8]) -> Result<(u64, u64), &'static str> {
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

/// Reads the partial tiles of a tree of `size` and rebuilds its right edge.
fn restore_edge(store: &dyn Store, size: u64) -> Result<TreeEdge> {
    let mut tiles = Vec::new();
    for t in partial_tiles_for_size(size) {
        let bytes = store.read(&t.to_path_string(), tile_limit(&t))?;
        tiles.push((t, bytes));
    }
    TreeEdge::restore(size, &tiles).map_err(|(t, reason)| LogError::TornTile {
        path: store.path_of(&t.to_path_string()),
        reason,
    })
}

pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LogError + '_ {
    move |e| LogError::io(path, e)
}
