//! The compact form of a built [`World`] (a *world image*): the index that [`World::build`]
//! spends ~150 ms computing from TopoJSON (ring areas, winding repairs, bounding caps of every
//! chunk of edges, antimeridian seams) saved once, so that a process loads the embedded borders
//! in a few milliseconds.
//!
//! Points on the source's quantisation grid (all of world-atlas) are stored as zigzag-varint
//! deltas of grid steps and turned back into exactly the same `f64` longitudes and latitudes,
//! one arc at a time when a question first touches it; points off the grid (polygons added from
//! other sources) are stored as `f64`. Unit vectors are not stored: each chunk of edges computes
//! its own on first use. So loading copies bytes and builds the meridian index, and a question
//! pays only for the arcs it touches. Bounding caps are stored as centre and radius; their sine and cosine are
//! recomputed, bit for bit as [`Bound::of`] computes them. The image records the SHA-256 of its
//! sources; a test rebuilds it from them and compares, byte for byte and field by field.

use super::{bin_chunks, ArcInfo, Bound, Chunk, Feature, World, NEXT_ID};
use crate::codes::by_numeric;
use crate::error::GeoError;
use crate::sphere::Vec3;
use serde::{Deserialize, Serialize};
use std::sync::atomic::Ordering;
use std::sync::OnceLock;

/// First field of every image: the format and its version.
const MAGIC: &str = "lightcone-world-image/1";

/// A TopoJSON quantisation grid: longitude = `x · scale[0] + translate[0]`, latitude likewise.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    /// Degrees per grid step (longitude, latitude).
    pub scale: [f64; 2],
    /// Degrees at grid step 0 (longitude, latitude).
    pub translate: [f64; 2],
}

impl Grid {
    fn lon(&self, x: i64) -> f64 {
        x as f64 * self.scale[0] + self.translate[0]
    }

    fn lat(&self, y: i64) -> f64 {
        y as f64 * self.scale[1] + self.translate[1]
    }

    /// The grid step of a longitude/latitude pair, if it lies exactly on the grid.
    fn step_of(&self, p: [f64; 2]) -> Option<(i64, i64)> {
        let x = ((p[0] - self.translate[0]) / self.scale[0]).round();
        let y = ((p[1] - self.translate[1]) / self.scale[1]).round();
        if !(x.abs() < 1e9 && y.abs() < 1e9) {
            return None;
        }
        let (x, y) = (x as i64, y as i64);
        (self.lon(x) == p[0] && self.lat(y) == p[1]).then_some((x, y))
    }
}

#[derive(Serialize, Deserialize)]
struct Image<'a> {
    magic: String,
    /// What the image was built from, e.g. `countries-10m.json sha256:…`, one per source.
    sources: Vec<String>,
    grid: Option<Grid>,
    features: Vec<ImageFeature>,
    #[serde(borrow)]
    arcs: Vec<ImageArc<'a>>,
    users: Vec<(u32, bool)>,
    chunks: Vec<ImageChunk>,
    north: Vec<u32>,
    partition: bool,
    repaired: u64,
    seam_sides: Vec<(u32, u32, bool)>,
}

#[derive(Serialize, Deserialize)]
struct ImageFeature {
    name: String,
    numeric: Option<u16>,
    territory: Option<super::Territory>,
    has_area: bool,
    polygons: Vec<Vec<Vec<i32>>>,
    flipped: Vec<bool>,
}

#[derive(Serialize, Deserialize)]
enum ArcPoints<'a> {
    /// Grid steps `x0 y0 dx1 dy1 …` as zigzag varints (LEB128), with the number of points.
    Grid(u32, &'a [u8]),
    /// `[lon, lat]` in degrees.
    Free(Vec<[f64; 2]>),
}

#[derive(Serialize, Deserialize)]
struct ImageArc<'a> {
    #[serde(borrow)]
    points: ArcPoints<'a>,
    users: (u32, u32),
    chunks: (u32, u32),
    bound: ImageBound,
}

#[derive(Serialize, Deserialize)]
struct ImageBound {
    center: [f64; 3],
    r: f64,
}

#[derive(Serialize, Deserialize)]
struct ImageChunk {
    arc: u32,
    start: u32,
    edges: u32,
    bound: ImageBound,
    lon: Option<(f64, f64)>,
    lat_max: f64,
}

impl ImageBound {
    fn of(b: &Bound) -> Self {
        ImageBound {
            center: [b.center.x, b.center.y, b.center.z],
            r: b.r,
        }
    }

    fn bound(&self) -> Bound {
        let [x, y, z] = self.center;
        Bound {
            center: Vec3::new(x, y, z),
            r: self.r,
            cos_r: self.r.cos(),
            sin_r: self.r.sin(),
        }
    }
}

/// An arc's `[lon, lat]` points: decoded, or still in the image's compact form (decoded on
/// first use).
#[derive(Debug)]
pub(crate) struct LazyPoints {
    decoded: OnceLock<Box<[[f64; 2]]>>,
    encoded: Option<(Grid, u32, Box<[u8]>)>,
}

impl LazyPoints {
    /// Points already decoded.
    pub(crate) fn decoded(points: Vec<[f64; 2]>) -> Self {
        LazyPoints {
            decoded: OnceLock::from(points.into_boxed_slice()),
            encoded: None,
        }
    }

    /// The points (empty if the encoded form turns out to be damaged; [`World::from_image`]
    /// has checked that it decodes).
    pub(crate) fn get(&self) -> &[[f64; 2]] {
        self.decoded.get_or_init(|| match &self.encoded {
            Some((grid, n, bytes)) => decode_grid(*grid, *n, bytes).unwrap_or_default().into(),
            None => Box::default(),
        })
    }
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

fn push_varint(out: &mut Vec<u8>, mut u: u64) {
    while u >= 0x80 {
        out.push((u as u8) | 0x80);
        u >>= 7;
    }
    out.push(u as u8);
}

/// Reads the varint at the front of `bytes`, advancing past it.
fn take_varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut u = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = bytes.split_first()?;
        *bytes = rest;
        u |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(u);
        }
    }
    None
}

/// `n` grid points from their zigzag-varint deltas; `None` if the bytes do not hold exactly
/// that, or a step leaves the range a grid can have.
fn decode_grid(grid: Grid, n: u32, mut bytes: &[u8]) -> Option<Vec<[f64; 2]>> {
    let mut out = Vec::with_capacity(n as usize);
    let (mut x, mut y) = (0i64, 0i64);
    for _ in 0..n {
        x = x.checked_add(unzigzag(take_varint(&mut bytes)?))?;
        y = y.checked_add(unzigzag(take_varint(&mut bytes)?))?;
        if x.abs() > 1 << 40 || y.abs() > 1 << 40 {
            return None;
        }
        out.push([grid.lon(x), grid.lat(y)]);
    }
    bytes.is_empty().then_some(out)
}

fn bad(msg: impl std::fmt::Display) -> GeoError {
    GeoError::Borders(format!("world image: {msg}"))
}

impl World {
    /// Saves this world as an image (see the module docs). `grid` is the quantisation grid of
    /// the source, if it had one; `sources` says what the world was built from.
    pub fn to_image(&self, grid: Option<Grid>, sources: &[String]) -> Result<Vec<u8>, GeoError> {
        let encoded: Vec<Option<Vec<u8>>> = (0..self.arcs.len())
            .map(|ai| grid.and_then(|g| encode_grid(self.arc_lonlat(ai), g)))
            .collect();
        let arcs = self
            .arcs
            .iter()
            .zip(&encoded)
            .enumerate()
            .map(|(ai, (a, bytes))| ImageArc {
                points: match bytes {
                    Some(b) => ArcPoints::Grid(a.len, b),
                    None => ArcPoints::Free(self.arc_lonlat(ai).to_vec()),
                },
                users: a.users,
                chunks: a.chunks,
                bound: ImageBound::of(&a.bound),
            })
            .collect();
        let image = Image {
            magic: MAGIC.to_string(),
            sources: sources.to_vec(),
            grid,
            features: self
                .features
                .iter()
                .map(|f| ImageFeature {
                    name: f.name.clone(),
                    numeric: f.code.map(|c| c.numeric),
                    territory: f.territory.clone(),
                    has_area: f.has_area,
                    polygons: f.polygons.clone(),
                    flipped: f.flipped.clone(),
                })
                .collect(),
            arcs,
            users: self.users.clone(),
            chunks: self.chunks.iter().map(image_chunk).collect(),
            north: self.north.clone(),
            partition: self.partition,
            repaired: self.repaired as u64,
            seam_sides: self.seam_sides.clone(),
        };
        postcard::to_allocvec(&image).map_err(bad)
    }

    /// Loads a world saved by [`World::to_image`], and the sources it names.
    pub fn from_image(bytes: &[u8]) -> Result<(World, Vec<String>), GeoError> {
        let image: Image = postcard::from_bytes(bytes).map_err(bad)?;
        if image.magic != MAGIC {
            return Err(bad(format!("format {:?}, expected {MAGIC:?}", image.magic)));
        }
        let features = image
            .features
            .into_iter()
            .map(|f| Feature {
                name: f.name,
                code: f.numeric.and_then(by_numeric),
                territory: f.territory,
                has_area: f.has_area,
                polygons: f.polygons,
                flipped: f.flipped,
            })
            .collect();
        let (arc_points, arcs) = decode_arcs(image.arcs, image.grid)?;
        let chunks: Vec<Chunk> = image.chunks.iter().map(chunk_of).collect();
        check_ranges(&arcs, &chunks, image.users.len())?;
        let world = World {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            features,
            arc_points,
            arcs,
            users: image.users,
            bins: bin_chunks(&chunks),
            chunks,
            north: image.north,
            partition: image.partition,
            repaired: usize::try_from(image.repaired).map_err(bad)?,
            seam_sides: image.seam_sides,
        };
        Ok((world, image.sources))
    }

    /// Whether two worlds hold the same regions and the same index, bit for bit (their ids
    /// aside): the check that an image is its sources.
    pub fn same_as(&self, other: &World) -> bool {
        let feature = |a: &Feature, b: &Feature| {
            a.name == b.name
                && a.code.map(|c| c.numeric) == b.code.map(|c| c.numeric)
                && a.territory == b.territory
                && a.has_area == b.has_area
                && a.polygons == b.polygons
                && a.flipped == b.flipped
        };
        let bits = |a: &[Vec3], b: &[Vec3]| {
            a.len() == b.len()
                && a.iter().zip(b).all(|(p, q)| {
                    [p.x, p.y, p.z].map(f64::to_bits) == [q.x, q.y, q.z].map(f64::to_bits)
                })
        };
        let bound = |a: &Bound, b: &Bound| {
            bits(&[a.center], &[b.center])
                && [a.r, a.cos_r, a.sin_r].map(f64::to_bits)
                    == [b.r, b.cos_r, b.sin_r].map(f64::to_bits)
        };
        self.features.len() == other.features.len()
            && self
                .features
                .iter()
                .zip(&other.features)
                .all(|(a, b)| feature(a, b))
            && (0..self.arcs.len()).all(|ai| self.arc_lonlat(ai) == other.arc_lonlat(ai))
            && self.arcs.len() == other.arcs.len()
            && self.arcs.iter().zip(&other.arcs).all(|(a, b)| {
                (a.start, a.len, a.users, a.chunks) == (b.start, b.len, b.users, b.chunks)
                    && bound(&a.bound, &b.bound)
            })
            && self.users == other.users
            && self.chunks.len() == other.chunks.len()
            && self.chunks.iter().zip(&other.chunks).all(|(a, b)| {
                (a.arc, a.start, a.edges, a.lon, a.lat_max.to_bits())
                    == (b.arc, b.start, b.edges, b.lon, b.lat_max.to_bits())
                    && bound(&a.bound, &b.bound)
                    && bits(self.chunk_points(a), other.chunk_points(b))
            })
            && self.bins == other.bins
            && self.north == other.north
            && self.partition == other.partition
            && self.repaired == other.repaired
            && self.seam_sides == other.seam_sides
    }
}

fn image_chunk(c: &Chunk) -> ImageChunk {
    ImageChunk {
        arc: c.arc,
        start: c.start,
        edges: c.edges,
        bound: ImageBound::of(&c.bound),
        lon: c.lon,
        lat_max: c.lat_max,
    }
}

fn chunk_of(c: &ImageChunk) -> Chunk {
    Chunk {
        arc: c.arc,
        start: c.start,
        edges: c.edges,
        bound: c.bound.bound(),
        lon: c.lon,
        lat_max: c.lat_max,
        vectors: OnceLock::new(),
    }
}

/// An arc's points as zigzag-varint grid-step deltas, if every point lies on `grid`.
fn encode_grid(pts: &[[f64; 2]], grid: Grid) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(3 * pts.len());
    let (mut px, mut py) = (0, 0);
    for &p in pts {
        let (x, y) = grid.step_of(p)?;
        push_varint(&mut out, zigzag(x - px));
        push_varint(&mut out, zigzag(y - py));
        (px, py) = (x, y);
    }
    Some(out)
}

/// The arcs' points (still encoded: a cheap check that they decode to the stated number of
/// points, no more) and each arc's place in the world's numbering of points.
fn decode_arcs(
    arcs: Vec<ImageArc<'_>>,
    grid: Option<Grid>,
) -> Result<(Vec<LazyPoints>, Vec<ArcInfo>), GeoError> {
    let mut points = Vec::with_capacity(arcs.len());
    let mut infos = Vec::with_capacity(arcs.len());
    let mut start = 0u32;
    for arc in arcs {
        let (lazy, len) = match (arc.points, grid) {
            (ArcPoints::Grid(n, bytes), Some(g)) => {
                let varints = bytes.iter().filter(|&&b| b & 0x80 == 0).count();
                if varints != 2 * n as usize || bytes.last().is_some_and(|&b| b & 0x80 != 0) {
                    return Err(bad("grid points do not match their count"));
                }
                let lazy = LazyPoints {
                    decoded: OnceLock::new(),
                    encoded: Some((g, n, bytes.into())),
                };
                (lazy, n)
            }
            (ArcPoints::Grid(..), None) => return Err(bad("grid points without a grid")),
            (ArcPoints::Free(pts), _) => {
                for p in &pts {
                    crate::error::check_lat_lon(p[1], p[0]).map_err(bad)?;
                }
                let n = u32::try_from(pts.len()).map_err(|_| bad("too many points"))?;
                (LazyPoints::decoded(pts), n)
            }
        };
        infos.push(ArcInfo {
            start,
            len,
            users: arc.users,
            chunks: arc.chunks,
            bound: arc.bound.bound(),
        });
        points.push(lazy);
        start = start
            .checked_add(len)
            .ok_or_else(|| bad("too many points"))?;
    }
    Ok((points, infos))
}

/// Every index of the image points inside its tables (the index code reads with `get`, so a
/// bad index could only give wrong answers, never a panic; refuse it anyway).
fn check_ranges(arcs: &[ArcInfo], chunks: &[Chunk], users: usize) -> Result<(), GeoError> {
    for a in arcs {
        if a.users.0 > a.users.1
            || a.users.1 as usize > users
            || a.chunks.0 > a.chunks.1
            || a.chunks.1 as usize > chunks.len()
        {
            return Err(bad("arc refers outside the tables"));
        }
    }
    for c in chunks {
        let inside = arcs.get(c.arc as usize).is_some_and(|a| {
            c.start >= a.start
                && u64::from(c.start) + u64::from(c.edges) < u64::from(a.start) + u64::from(a.len)
        });
        if !inside {
            return Err(bad("chunk refers outside its arc"));
        }
    }
    Ok(())
}
