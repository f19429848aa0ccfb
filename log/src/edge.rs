//! The right edge of the tree: the only state needed to append entries, emit the tiles they
//! complete, and compute the root, in memory bounded by the tree height (at most 8 partial
//! tiles of 255 hashes plus one partial entry bundle), however large the log grows.
//!
//! The writer uses it to produce new tiles; the verifier replays every entry through it and
//! compares the tiles it emits with the ones on disk. Same code both ways, so a writer bug
//! cannot hide from the verifier by being "consistent" with a different derivation.

use super::error::{LogError, Result};
use super::hash::{fold_right_edge, leaf_hash, perfect_root, Hash, HASH_SIZE};
use super::tile::{
    parse_bundle, parse_hash_tile, push_bundle_entry, TileKind, TilePath, MAX_ENTRY_SIZE,
    TILE_WIDTH,
};

/// Incremental tile builder for the right edge of a tree.
#[derive(Clone, Debug, Default)]
pub struct TreeEdge {
    size: u64,
    /// `levels[L]`: the hashes of the partial tile at level L (fewer than 256).
    levels: Vec<Vec<Hash>>,
    /// The partial entry bundle's bytes and entry count.
    bundle: Vec<u8>,
    bundle_count: u16,
}

/// A tile file's path and contents.
pub type TileFile = (TilePath, Vec<u8>);

impl TreeEdge {
    /// The edge of the empty tree.
    pub fn new() -> Self {
        TreeEdge::default()
    }

    /// Number of entries in the tree.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Rebuilds the edge of a tree of `size` from its partial tiles, as read from disk.
    ///
    /// `tiles` must hold the bytes of every tile [`super::tile::partial_tiles_for_size`] lists
    /// for `size` (path, bytes). The bundle's entries must hash to the level-0 partial tile.
    pub fn restore(size: u64, tiles: &[(TilePath, Vec<u8>)]) -> Result<Self, (TilePath, String)> {
        let mut edge = TreeEdge {
            size,
            ..TreeEdge::default()
        };
        let expected = super::tile::partial_tiles_for_size(size);
        for want in &expected {
            let Some((_, bytes)) = tiles.iter().find(|(p, _)| p == want) else {
                return Err((*want, "missing".into()));
            };
            match want.kind {
                TileKind::Entries => {
                    let entries = parse_bundle(bytes, want.width).map_err(|e| (*want, e))?;
                    edge.bundle_count = want.width;
                    edge.bundle = bytes.clone();
                    let hashes: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
                    let level0 = TilePath {
                        kind: TileKind::Level(0),
                        ..*want
                    };
                    let tile0 = tiles
                        .iter()
                        .find(|(p, _)| *p == level0)
                        .map(|(_, b)| b.as_slice());
                    let concat: Vec<u8> = hashes.concat();
                    if tile0 != Some(concat.as_slice()) {
                        return Err((
                            level0,
                            "does not match the hashes of its entry bundle".into(),
                        ));
                    }
                }
                TileKind::Level(l) => {
                    let hashes = parse_hash_tile(bytes, want.width).map_err(|e| (*want, e))?;
                    let l = usize::from(l);
                    if edge.levels.len() <= l {
                        edge.levels.resize(l + 1, Vec::new());
                    }
                    if let Some(slot) = edge.levels.get_mut(l) {
                        *slot = hashes;
                    }
                }
            }
        }
        // Levels below the top whose partial tile is empty still need a slot.
        let top = (0..=7u8)
            .take_while(|l| super::tile::hashes_at_level(size, *l) > 0)
            .count();
        if edge.levels.len() < top {
            edge.levels.resize(top, Vec::new());
        }
        Ok(edge)
    }

    /// Appends one entry; every tile this completes is passed to `emit` (entry bundle first,
    /// then hash tiles from level 0 up).
    pub fn push(&mut self, entry: &[u8], emit: &mut impl FnMut(TileFile)) -> Result<()> {
        if entry.len() > MAX_ENTRY_SIZE {
            return Err(LogError::EntryTooLarge(entry.len()));
        }
        let new_size = self
            .size
            .checked_add(1)
            .ok_or(LogError::Internal("tree size overflow"))?;
        push_bundle_entry(&mut self.bundle, entry)?;
        self.bundle_count += 1;
        if self.bundle_count == TILE_WIDTH {
            let index = new_size / u64::from(TILE_WIDTH) - 1;
            emit((
                TilePath {
                    kind: TileKind::Entries,
                    index,
                    width: TILE_WIDTH,
                },
                std::mem::take(&mut self.bundle),
            ));
            self.bundle_count = 0;
        }
        self.push_leaf_hash(leaf_hash(entry), emit)
    }

    /// Appends one entry by its leaf hash alone, emitting the hash tiles it completes. The
    /// verifier uses this: it reads entry bundles from disk and hashes their entries in
    /// parallel, so it keeps no bundle. Use either this or [`TreeEdge::push`] on one edge.
    pub fn push_leaf_hash(&mut self, leaf: Hash, emit: &mut impl FnMut(TileFile)) -> Result<()> {
        let new_size = self
            .size
            .checked_add(1)
            .ok_or(LogError::Internal("tree size overflow"))?;
        let mut carry = leaf;
        let mut level = 0usize;
        loop {
            if self.levels.len() <= level {
                self.levels
                    .push(Vec::with_capacity(usize::from(TILE_WIDTH)));
            }
            let Some(tile) = self.levels.get_mut(level) else {
                return Err(LogError::Internal("edge level missing"));
            };
            tile.push(carry);
            if tile.len() < usize::from(TILE_WIDTH) {
                break;
            }
            let hashes = std::mem::take(tile);
            carry = perfect_root(&hashes)?;
            let shift = super::tile::TILE_HEIGHT * (level as u32 + 1);
            let index = new_size.checked_shr(shift).unwrap_or(0).saturating_sub(1);
            emit((
                TilePath {
                    kind: TileKind::Level(level as u8),
                    index,
                    width: TILE_WIDTH,
                },
                hashes.concat(),
            ));
            level += 1;
        }
        self.size = new_size;
        Ok(())
    }

    /// The partial tiles of the current tree (entry bundle first), with their contents.
    pub fn partial_tiles(&self) -> Vec<TileFile> {
        let mut out = Vec::new();
        let w = u64::from(TILE_WIDTH);
        if self.bundle_count > 0 {
            out.push((
                TilePath {
                    kind: TileKind::Entries,
                    index: self.size / w,
                    width: self.bundle_count,
                },
                self.bundle.clone(),
            ));
        }
        for (level, hashes) in self.levels.iter().enumerate() {
            if hashes.is_empty() {
                continue;
            }
            let count = super::tile::hashes_at_level(self.size, level as u8);
            let mut bytes = Vec::with_capacity(hashes.len() * HASH_SIZE);
            for h in hashes {
                bytes.extend_from_slice(h);
            }
            out.push((
                TilePath {
                    kind: TileKind::Level(level as u8),
                    index: count / w,
                    width: hashes.len() as u16,
                },
                bytes,
            ));
        }
        out
    }

    /// `MTH(D[0:size])`, from the perfect subtrees held on the edge.
    pub fn root(&self) -> Result<Hash> {
        let mut subtrees = Vec::new();
        for hashes in self.levels.iter().rev() {
            let mut offset = 0usize;
            for bit in (0..8).rev() {
                let n = 1usize << bit;
                if hashes.len() & n != 0 {
                    let part = hashes
                        .get(offset..offset + n)
                        .ok_or(LogError::Internal("edge decomposition"))?;
                    subtrees.push(perfect_root(part)?);
                    offset += n;
                }
            }
        }
        Ok(fold_right_edge(&subtrees))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::root_from_leaf_hashes;
    use crate::tile::{new_tiles, partial_tiles_for_size};

    #[test]
    fn root_and_tiles_match_reference() {
        let mut edge = TreeEdge::new();
        let mut leaves = Vec::new();
        let mut emitted = Vec::new();
        for i in 0u32..70_000 {
            let e = i.to_le_bytes();
            leaves.push(leaf_hash(&e));
            edge.push(&e, &mut |t| emitted.push(t.0)).unwrap();
            if matches!(i, 0 | 1 | 254 | 255 | 256 | 511 | 65535 | 65536 | 69_999) {
                assert_eq!(
                    edge.root().unwrap(),
                    root_from_leaf_hashes(&leaves),
                    "size {}",
                    i + 1
                );
                let partial: Vec<_> = edge.partial_tiles().into_iter().map(|t| t.0).collect();
                assert_eq!(partial, partial_tiles_for_size(u64::from(i) + 1));
            }
        }
        let full: Vec<_> = new_tiles(0, 70_000)
            .into_iter()
            .filter(|t| t.is_full())
            .collect();
        let mut emitted_sorted = emitted.clone();
        emitted_sorted.sort();
        let mut full_sorted = full;
        full_sorted.sort();
        assert_eq!(emitted_sorted, full_sorted);
        // A level-1 hash is the MTH of the 256 leaf hashes of a level-0 tile; at size 70000 the
        // partial level-1 tile holds level-1 hashes 256..273.
        let l1: Vec<_> = edge.levels[1].clone();
        assert_eq!(l1.len(), 17);
        assert_eq!(l1[0], root_from_leaf_hashes(&leaves[256 * 256..257 * 256]));
        assert_eq!(l1[3], root_from_leaf_hashes(&leaves[259 * 256..260 * 256]));
    }

    #[test]
    fn restore_roundtrip() {
        let mut edge = TreeEdge::new();
        for i in 0u32..1000 {
            edge.push(&i.to_le_bytes(), &mut |_| {}).unwrap();
            if i % 97 == 0 || i == 255 {
                let tiles = edge.partial_tiles();
                let restored = TreeEdge::restore(edge.size(), &tiles).unwrap();
                assert_eq!(restored.root().unwrap(), edge.root().unwrap());
                assert_eq!(restored.partial_tiles(), tiles);
            }
        }
        let mut tiles = edge.partial_tiles();
        // Tamper with the bundle: the level-0 tile no longer matches.
        tiles[0].1[2] ^= 1;
        assert!(TreeEdge::restore(edge.size(), &tiles).is_err());
    }
}
