//! C2SP `tlog-tiles` paths and tile contents.
//!
//! A tile at level `L` and index `N` holds up to 256 consecutive hashes of perfect subtrees of
//! height `8·L` (level 0: leaf hashes), i.e. `MTH(D[(N·256+i)·256^L : (N·256+i+1)·256^L])`;
//! an entry bundle holds the entries under level-0 tile `N` as 16-bit big-endian length + bytes.
//! Paths are `tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]`, with `N` written in
//! zero-padded 3-digit groups, all but the last prefixed with `x` (1234067 → `x001/x234/067`).

use super::error::{LogError, Result};
use super::hash::{hash_from_slice, Hash, HASH_SIZE};

/// Hashes in a full tile.
pub const TILE_WIDTH: u16 = 256;
/// Height, in tree levels, that one tile level spans.
pub const TILE_HEIGHT: u32 = 8;
/// Highest tile level the spec allows in a path.
pub const MAX_LEVEL: u8 = 63;
/// Largest entry an entry bundle can hold (16-bit length prefix).
pub const MAX_ENTRY_SIZE: usize = u16::MAX as usize;

/// Which kind of tile: a hash tile at a level, or an entry bundle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TileKind {
    /// A Merkle tree hash tile at this level (0..=63).
    Level(u8),
    /// An entry bundle (same indices and widths as level 0).
    Entries,
}

/// One tile resource: kind, index and width (256 for a full tile, 1..=255 for a partial one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TilePath {
    /// Hash level or entry bundle.
    pub kind: TileKind,
    /// Index of the tile within its level.
    pub index: u64,
    /// Number of hashes or entries: 256 when full.
    pub width: u16,
}

impl TilePath {
    /// A tile path, checking the level and width are within the spec's ranges.
    pub fn new(kind: TileKind, index: u64, width: u16) -> Result<Self> {
        if let TileKind::Level(l) = kind {
            if l > MAX_LEVEL {
                return Err(LogError::MalformedTilePath("level above 63"));
            }
        }
        if width == 0 || width > TILE_WIDTH {
            return Err(LogError::MalformedTilePath("width must be 1..=256"));
        }
        Ok(TilePath { kind, index, width })
    }

    /// Whether this is a full (256-wide) tile.
    pub fn is_full(&self) -> bool {
        self.width == TILE_WIDTH
    }

    /// The same tile at full width (where a partial tile's data ends up).
    pub fn full(&self) -> TilePath {
        TilePath {
            width: TILE_WIDTH,
            ..*self
        }
    }

    /// The path relative to the log root, e.g. `tile/0/x001/x234/067.p/8`.
    pub fn to_path_string(&self) -> String {
        let mut s = String::from("tile/");
        match self.kind {
            TileKind::Level(l) => s.push_str(&l.to_string()),
            TileKind::Entries => s.push_str("entries"),
        }
        s.push('/');
        s.push_str(&encode_index(self.index));
        if !self.is_full() {
            s.push_str(".p/");
            s.push_str(&self.width.to_string());
        }
        s
    }

    /// Parses a canonical tile path (the inverse of [`TilePath::to_path_string`]).
    ///
    /// Non-canonical spellings (leading zeros in `L` or `W`, an `x000` leading group,
    /// a missing `x`, a full width written as `.p/256`) are rejected so every tile has exactly
    /// one path.
    pub fn parse(path: &str) -> Result<TilePath> {
        let mut parts = path.split('/');
        if parts.next() != Some("tile") {
            return Err(LogError::MalformedTilePath("must start with tile/"));
        }
        let kind = match parts.next() {
            Some("entries") => TileKind::Entries,
            Some(l) => TileKind::Level(parse_small_decimal(l, MAX_LEVEL.into())? as u8),
            None => return Err(LogError::MalformedTilePath("missing level")),
        };
        let rest: Vec<&str> = parts.collect();
        // Either N groups, or N groups whose last ends in ".p" followed by W.
        let (groups, width) = match rest.split_last() {
            None => return Err(LogError::MalformedTilePath("missing index")),
            Some((last, init)) => match init.split_last() {
                Some((maybe_p, groups)) if maybe_p.ends_with(".p") => {
                    let w = parse_small_decimal(last, u64::from(TILE_WIDTH) - 1)?;
                    if w == 0 {
                        return Err(LogError::MalformedTilePath("partial width must be 1..=255"));
                    }
                    let mut g: Vec<&str> = groups.to_vec();
                    g.push(maybe_p.strip_suffix(".p").unwrap_or(maybe_p));
                    (g, w as u16)
                }
                _ => (rest.clone(), TILE_WIDTH),
            },
        };
        let index = decode_index(&groups)?;
        TilePath::new(kind, index, width)
    }
}

impl std::fmt::Display for TilePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_path_string())
    }
}

/// Encodes a tile index as 3-digit groups, all but the last prefixed with `x`.
pub fn encode_index(n: u64) -> String {
    let mut groups = Vec::new();
    let mut n = n;
    loop {
        groups.push(n % 1000);
        n /= 1000;
        if n == 0 {
            break;
        }
    }
    let last = groups.len().saturating_sub(1);
    groups
        .iter()
        .rev()
        .enumerate()
        .map(|(i, g)| {
            if i == last {
                format!("{g:03}")
            } else {
                format!("x{g:03}")
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn decode_index(groups: &[&str]) -> Result<u64> {
    let Some((last, init)) = groups.split_last() else {
        return Err(LogError::MalformedTilePath("missing index"));
    };
    let mut n: u64 = 0;
    for (i, g) in init.iter().enumerate() {
        let digits = g.strip_prefix('x').ok_or(LogError::MalformedTilePath(
            "all but the last index element need an x",
        ))?;
        let v = three_digits(digits)?;
        if i == 0 && v == 0 {
            return Err(LogError::MalformedTilePath("leading x000 group"));
        }
        n = n
            .checked_mul(1000)
            .and_then(|n| n.checked_add(v))
            .ok_or(LogError::MalformedTilePath("index overflows 64 bits"))?;
    }
    let v = three_digits(last)?;
    n.checked_mul(1000)
        .and_then(|n| n.checked_add(v))
        .ok_or(LogError::MalformedTilePath("index overflows 64 bits"))
}

fn three_digits(s: &str) -> Result<u64> {
    if s.len() != 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(LogError::MalformedTilePath(
            "index elements are 3 decimal digits",
        ));
    }
    s.parse::<u64>()
        .map_err(|_| LogError::MalformedTilePath("bad index digits"))
}

/// Parses a decimal with no leading zeros (except "0") and at most `max`.
fn parse_small_decimal(s: &str, max: u64) -> Result<u64> {
    if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(LogError::MalformedTilePath(
            "expected a small decimal number",
        ));
    }
    if s.len() > 1 && s.starts_with('0') {
        return Err(LogError::MalformedTilePath("leading zero"));
    }
    let v = s
        .parse::<u64>()
        .map_err(|_| LogError::MalformedTilePath("bad decimal"))?;
    if v > max {
        return Err(LogError::MalformedTilePath("number out of range"));
    }
    Ok(v)
}

/// Number of complete height-`8·level` subtrees in a tree of `size` leaves (`size >> 8·level`).
pub fn hashes_at_level(size: u64, level: u8) -> u64 {
    size.checked_shr(TILE_HEIGHT * u32::from(level))
        .unwrap_or(0)
}

/// The tile (full or partial) at `kind` and `index` as it exists in a tree of `size` leaves,
/// or `None` if the tree has no hashes in that tile yet.
pub fn tile_for_size(kind: TileKind, index: u64, size: u64) -> Option<TilePath> {
    let level = match kind {
        TileKind::Level(l) => l,
        TileKind::Entries => 0,
    };
    let count = hashes_at_level(size, level);
    let start = index.checked_mul(u64::from(TILE_WIDTH))?;
    let have = count.checked_sub(start)?;
    if have == 0 {
        return None;
    }
    let width = have.min(u64::from(TILE_WIDTH)) as u16;
    Some(TilePath { kind, index, width })
}

/// The tiles a tree of `size` leaves has at its right edge that are partial, lowest level first
/// (the entry bundle, if partial, comes first).
pub fn partial_tiles_for_size(size: u64) -> Vec<TilePath> {
    let mut out = Vec::new();
    let w0 = (size % u64::from(TILE_WIDTH)) as u16;
    if w0 != 0 {
        out.push(TilePath {
            kind: TileKind::Entries,
            index: size / u64::from(TILE_WIDTH),
            width: w0,
        });
    }
    for level in 0..=7u8 {
        let count = hashes_at_level(size, level);
        if count == 0 {
            break;
        }
        let w = (count % u64::from(TILE_WIDTH)) as u16;
        if w != 0 {
            out.push(TilePath {
                kind: TileKind::Level(level),
                index: count / u64::from(TILE_WIDTH),
                width: w,
            });
        }
    }
    out
}

/// Every tile file that growing the tree from `old` to `new` leaves creates: the full tiles
/// completed in `(old, new]` and the partial tiles of size `new` that size `old` did not have.
pub fn new_tiles(old: u64, new: u64) -> Vec<TilePath> {
    let mut out = Vec::new();
    if new <= old {
        return out;
    }
    for level in 0..=7u8 {
        let (a, b) = (hashes_at_level(old, level), hashes_at_level(new, level));
        if b == 0 {
            break;
        }
        let w = u64::from(TILE_WIDTH);
        for index in a / w..b / w {
            if level == 0 {
                out.push(TilePath {
                    kind: TileKind::Entries,
                    index,
                    width: TILE_WIDTH,
                });
            }
            out.push(TilePath {
                kind: TileKind::Level(level),
                index,
                width: TILE_WIDTH,
            });
        }
    }
    let old_partials = partial_tiles_for_size(old);
    out.extend(
        partial_tiles_for_size(new)
            .into_iter()
            .filter(|t| !old_partials.contains(t)),
    );
    out
}

/// Splits a hash tile's bytes into hashes, checking the length matches `width`.
pub fn parse_hash_tile(bytes: &[u8], width: u16) -> Result<Vec<Hash>, String> {
    let want = usize::from(width) * HASH_SIZE;
    if bytes.len() != want {
        return Err(format!(
            "expected {want} bytes ({width} hashes), found {}",
            bytes.len()
        ));
    }
    bytes
        .chunks_exact(HASH_SIZE)
        .map(|c| hash_from_slice(c).map_err(|e| e.to_string()))
        .collect()
}

/// Appends one entry to an entry bundle (16-bit big-endian length, then the bytes).
pub fn push_bundle_entry(bundle: &mut Vec<u8>, entry: &[u8]) -> Result<()> {
    let len = u16::try_from(entry.len()).map_err(|_| LogError::EntryTooLarge(entry.len()))?;
    bundle.extend_from_slice(&len.to_be_bytes());
    bundle.extend_from_slice(entry);
    Ok(())
}

/// Splits an entry bundle into its entries; the bundle must hold exactly `width` entries and no
/// trailing bytes (`Err` carries the reason, for a torn-tile error).
pub fn parse_bundle(bytes: &[u8], width: u16) -> Result<Vec<&[u8]>, String> {
    let mut out = Vec::with_capacity(usize::from(width));
    let mut rest = bytes;
    while !rest.is_empty() {
        let Some((len, tail)) = rest.split_first_chunk::<2>() else {
            return Err("truncated length prefix".into());
        };
        let len = usize::from(u16::from_be_bytes(*len));
        let Some((entry, tail)) = tail.split_at_checked(len) else {
            return Err(format!("entry {} truncated", out.len()));
        };
        out.push(entry);
        rest = tail;
    }
    if out.len() != usize::from(width) {
        return Err(format!("expected {width} entries, found {}", out.len()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_example_index() {
        // c2sp.org/tlog-tiles: "index 1234067 will be encoded as x001/x234/067".
        assert_eq!(encode_index(1234067), "x001/x234/067");
        assert_eq!(encode_index(0), "000");
        assert_eq!(encode_index(999), "999");
        assert_eq!(encode_index(1000), "x001/000");
        let p = TilePath::parse("tile/0/x001/x234/067").unwrap();
        assert_eq!(p.index, 1234067);
        assert_eq!(p.kind, TileKind::Level(0));
        assert!(p.is_full());
    }

    #[test]
    fn roundtrip_and_rejects() {
        for s in [
            "tile/0/000",
            "tile/0/000.p/1",
            "tile/63/x018/x446/x744/x073/x709/x551/615",
            "tile/entries/x001/x234/067.p/255",
            "tile/3/x123/x456/078.p/2",
        ] {
            let p = TilePath::parse(s).unwrap();
            assert_eq!(p.to_path_string(), s);
        }
        for s in [
            "",
            "tile",
            "tile/",
            "tile/0",
            "tile/0/",
            "tile/00/000",
            "tile/64/000",
            "tile/-1/000",
            "tile/0/00",
            "tile/0/0000",
            "tile/0/x000/001",
            "tile/0/001/002",
            "tile/0/x001",
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/000.p/07",
            "tile/0/000.p/",
            "tile/0/000.p",
            "tile/data/000",
            "tile/0/x018/x446/x744/x073/x709/x551/616",
            "tiles/0/000",
            "tile/0/000/",
            "tile/0/+12",
            "tile/0/000.p.p/5",
        ] {
            assert!(TilePath::parse(s).is_err(), "{s:?} should be rejected");
        }
    }

    #[test]
    fn spec_example_tile_counts() {
        // c2sp.org/tlog-tiles: "a tree of size 70,000 will be represented by 273 full level 0
        // tiles, one partial level 0 tile of width 112, one full level 1 tile, one partial
        // level 1 tile of width 17, and one partial level 2 tile of width 1."
        let tiles = new_tiles(0, 70_000);
        let full0 = tiles
            .iter()
            .filter(|t| t.kind == TileKind::Level(0) && t.is_full())
            .count();
        assert_eq!(full0, 273);
        let partial: Vec<_> = partial_tiles_for_size(70_000);
        assert!(partial.contains(&TilePath::new(TileKind::Level(0), 273, 112).unwrap()));
        assert!(partial.contains(&TilePath::new(TileKind::Level(1), 1, 17).unwrap()));
        assert!(partial.contains(&TilePath::new(TileKind::Level(2), 0, 1).unwrap()));
        assert!(tiles.contains(&TilePath::new(TileKind::Level(1), 0, 256).unwrap()));
        // "a tree of size 256 will be represented by a full level 0 tile and a partial level 1
        // tile of width 1."
        assert_eq!(
            new_tiles(0, 256),
            vec![
                TilePath::new(TileKind::Entries, 0, 256).unwrap(),
                TilePath::new(TileKind::Level(0), 0, 256).unwrap(),
                TilePath::new(TileKind::Level(1), 0, 1).unwrap(),
            ]
        );
    }

    #[test]
    fn bundles() {
        let mut b = Vec::new();
        push_bundle_entry(&mut b, b"ab").unwrap();
        push_bundle_entry(&mut b, b"").unwrap();
        assert_eq!(b, [0, 2, b'a', b'b', 0, 0]);
        assert_eq!(parse_bundle(&b, 2).unwrap(), vec![&b"ab"[..], &b""[..]]);
        assert!(parse_bundle(&b, 3).is_err());
        assert!(parse_bundle(&b[..5], 2).is_err());
        assert!(parse_bundle(&b[..3], 1).is_err());
        assert!(matches!(
            push_bundle_entry(&mut b, &vec![0; 65536]),
            Err(LogError::EntryTooLarge(65536))
        ));
        assert!(push_bundle_entry(&mut b, &vec![0; 65535]).is_ok());
    }
}
