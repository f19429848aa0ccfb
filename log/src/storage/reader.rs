//! [`LogReader`]: a read-only view of a log pinned at one checkpoint, over any [`Store`].

use super::{tile_limit, FsStore, Store, CHECKPOINT_FILE};
use crate::checkpoint::{open_checkpoint, parse_unverified, Checkpoint, VerifiedCheckpoint};
use crate::edge::TreeEdge;
use crate::error::{LogError, Result};
use crate::hash::{hash_to_base64, leaf_hash, perfect_root, Hash};
use crate::note::{VerifierKey, MAX_NOTE_SIZE};
use crate::proof::{
    consistency_proof, inclusion_proof, tree_root, ConsistencyProofText, HashReader, TlogProof,
};
use crate::tile::{
    hashes_at_level, parse_bundle, parse_hash_tile, tile_for_size, TileKind, TilePath,
    MAX_ENTRY_SIZE, MAX_LEVEL, TILE_HEIGHT, TILE_WIDTH,
};
use rayon::prelude::*;
use std::collections::{hash_map, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Entry tiles [`LogReader::verify`] reads and hashes in parallel at a time (64 × 256 entries).
const VERIFY_TILES_AT_ONCE: usize = 64;

/// A function called with the path of each file a [`LogReader`] is about to read: for tests
/// that play a filesystem changing between reads.
type ReadHook = Arc<dyn Fn(&Path) + Send + Sync>;

/// A read-only view of a log pinned at the checkpoint it found when opened, and at the bytes
/// of each entry bundle as first read.
#[derive(Clone)]
pub struct LogReader {
    store: Arc<dyn Store>,
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
            .field("store", &self.store.location())
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
        LogReader::open_in(Arc::new(FsStore::reader(dir.as_ref())))
    }

    /// Opens the log in `store` at its current checkpoint (parsed, not yet signature-checked).
    pub fn open_in(store: Arc<dyn Store>) -> Result<LogReader> {
        let note = store.read(CHECKPOINT_FILE, MAX_NOTE_SIZE as u64)?;
        let checkpoint =
            parse_unverified(&note).map_err(|e| e.in_file(store.path_of(CHECKPOINT_FILE)))?;
        Ok(LogReader {
            store,
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
        let name = tile.to_path_string();
        match self.store.check(&name, tile_limit(tile)) {
            Err(LogError::MissingFile { path }) if !tile.is_full() => {
                let full = tile.full();
                match self.store.check(&full.to_path_string(), tile_limit(&full)) {
                    Err(LogError::MissingFile { .. }) => Err(LogError::MissingFile { path }),
                    other => other,
                }
            }
            other => other,
        }
    }

    /// Reads object `name` of the log, after the test hook (if any).
    fn read_file(&self, name: &str, limit: u64) -> Result<Vec<u8>> {
        if let Some(hook) = &self.hook {
            hook(&self.store.path_of(name));
        }
        self.store.read(name, limit)
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
                    path: self.store.path_of(&tile.to_path_string()),
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
        let name = tile.to_path_string();
        match self.read_file(&name, tile_limit(&tile)) {
            Ok(bytes) => Ok((tile, bytes)),
            Err(LogError::MissingFile { .. }) if !tile.is_full() => {
                let full_name = tile.full().to_path_string();
                let full = match self.read_file(&full_name, tile_limit(&tile.full())) {
                    Ok(full) => full,
                    Err(LogError::MissingFile { .. }) => {
                        return Err(LogError::MissingFile {
                            path: self.store.path_of(&name),
                        })
                    }
                    Err(e) => return Err(e),
                };
                let full_path = self.store.path_of(&full_name);
                Ok((tile, prefix_of_full(&full_path, &full, &tile)?))
            }
            Err(e) => Err(e),
        }
    }

    /// Reads and parses a hash tile of the pinned tree.
    fn read_hashes(&self, level: u8, index: u64) -> Result<Vec<Hash>> {
        let (tile, bytes) = self.read_tile(TileKind::Level(level), index)?;
        parse_hash_tile(&bytes, tile.width).map_err(|reason| LogError::TornTile {
            path: self.store.path_of(&tile.to_path_string()),
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
            path: self.store.path_of(&tile.to_path_string()),
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
            path: self.store.path_of(&tile.to_path_string()),
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
        let path = self.store.path_of(&t.to_path_string());
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
                .get(..usize::from(tile.width) * crate::hash::HASH_SIZE)
                .unwrap_or_default()
                .to_vec())
        }
        TileKind::Entries => {
            let entries = parse_bundle(full, TILE_WIDTH).map_err(torn)?;
            let mut out = Vec::new();
            for e in entries.into_iter().take(usize::from(tile.width)) {
                crate::tile::push_bundle_entry(&mut out, e)?;
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
