//! A set of named regions (countries) as rings of great-circle arcs, indexed for two questions:
//! "which regions contain this point?" (crossing parity along a meridian) and "which border arcs
//! come near these caps?" (bounding caps per arc and per chunk of edges).
//!
//! Rings are sequences of shared *arcs* (as in TopoJSON), so a border between two countries is
//! stored once, with the regions on its left and right. Edges are great-circle arcs, as d3-geo
//! and world-atlas intend, never planar lon/lat segments.

use super::codes::CountryCode;
use super::error::{check_lat_lon, GeoError};
use super::sphere::{angle, SphereCap, Vec3};
use std::f64::consts::{PI, TAU};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

mod image;
pub use image::Grid;

/// Edges per chunk: the unit of the second level of the arc index.
const CHUNK_EDGES: usize = 16;
/// Longitude bins of the meridian index, one per degree.
const BINS: usize = 360;
/// How far east of a query point its meridian ray runs, degrees (off the data's 0.0036° grid).
const LON_NUDGE_DEG: f64 = 1.234_567e-7;

/// One place of a [`World`]: a region (a country of the embedded borders or a user polygon)
/// or a [`Territory`] laid over the regions.
#[derive(Clone, Debug)]
pub struct Feature {
    /// The dataset's name, e.g. `"China"`, `"N. Cyprus"`.
    pub name: String,
    /// The ISO 3166-1 entry, when the dataset gives a code for this feature.
    pub code: Option<&'static CountryCode>,
    /// For a place laid over the regions (an occupied, disputed or leased territory, a country
    /// too small for the border data): what it is. `None` for a region.
    pub territory: Option<Territory>,
    /// Whether any of its rings encloses area (a region drawn as a zero-area sliver has none).
    pub has_area: bool,
    /// Polygons, each a list of rings (first the exterior, then holes), each ring a list of
    /// signed arc references (`i` forward, `!i` = `-i-1` reversed), as in TopoJSON.
    polygons: Vec<Vec<Vec<i32>>>,
    /// Rings reversed on load (winding repairs), in the order of `polygons`' rings.
    flipped: Vec<bool>,
}

impl Feature {
    /// A short label: the alpha-2 code if there is one, else the territory's key, else the
    /// dataset's name.
    pub fn label(&self) -> &str {
        match (&self.territory, self.code) {
            (Some(t), _) => t.key.as_str(),
            (None, Some(c)) => c.alpha2,
            (None, None) => self.name.as_str(),
        }
    }

    /// Whether this is a region (a country or user polygon), not a territory laid over them.
    pub fn is_region(&self) -> bool {
        self.territory.is_none()
    }
}

/// A place whose treatment changes an export-control verdict and that the country borders do
/// not settle: laid over the regions, selected by its key or by `XX+occupied` in a policy.
/// Its polygon covers at least the place (drawn outward from its source), so it is sound to
/// forbid and is never used to permit (see `docs/policy.md`, "Territories").
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Territory {
    /// Policy name, e.g. `"crimea"`, `"mischief-reef"`.
    pub key: String,
    /// The sovereign in international law as the table's source states it (ISO alpha-2).
    pub de_jure: Option<String>,
    /// Who holds it in fact (ISO alpha-2), when the table's source names one: what
    /// `XX+occupied` selects.
    pub administered_by: Option<String>,
    /// `occupied`, `disputed`, `leased`, `administered` or `small-country`.
    pub status: String,
    /// For a country too small for the border data: its ISO alpha-2 code, so that the code
    /// selects this polygon too.
    pub stands_for: Option<String>,
}

/// A feature as decoded, before the index is built.
pub(crate) struct RawFeature {
    pub name: String,
    pub code: Option<&'static CountryCode>,
    pub polygons: Vec<Vec<Vec<i32>>>,
    pub territory: Option<Territory>,
}

/// A stored arc: a run of points, the regions on each side, and its bounding cap.
#[derive(Clone, Debug)]
pub(crate) struct ArcInfo {
    /// Index of the first point in [`World::points`].
    pub start: u32,
    /// Number of points (edges + 1).
    pub len: u32,
    /// Range of [`World::users`] for this arc.
    pub users: (u32, u32),
    /// Range of [`World::chunks`] for this arc.
    pub chunks: (u32, u32),
    /// Bounding cap of the whole arc (radius π if it spans too much).
    pub bound: Bound,
}

/// A bounding cap with its radius's sine and cosine precomputed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bound {
    pub center: Vec3,
    pub r: f64,
    pub cos_r: f64,
    pub sin_r: f64,
}

impl Bound {
    fn of(points: &[Vec3]) -> Bound {
        let mut sum = Vec3::new(0.0, 0.0, 0.0);
        for p in points {
            sum = sum.plus(*p);
        }
        let center = sum
            .normalized()
            .or_else(|| points.first().copied())
            .unwrap_or(Vec3::NORTH);
        let mut r: f64 = 0.0;
        for p in points {
            r = r.max(angle(center, *p));
        }
        // Edges are minor arcs between points inside the cap; a cap smaller than a hemisphere is
        // convex, so it holds the edges too. Otherwise give up and bound by the whole sphere.
        let r = if r + 1e-9 < PI / 2.0 { r + 1e-12 } else { PI };
        Bound {
            center,
            r,
            cos_r: r.cos(),
            sin_r: r.sin(),
        }
    }

    /// Whether this bound may meet `cap` (necessary condition, conservative).
    #[inline]
    pub fn may_meet(&self, cap: &PreparedCap) -> bool {
        let sum = self.r + cap.cap.theta;
        if sum >= PI {
            return true;
        }
        let cos_sum = self.cos_r * cap.cos_t - self.sin_r * cap.sin_t;
        self.center.dot(cap.cap.center) >= cos_sum - 1e-12
    }

    /// Whether this bound lies wholly inside `cap` (sufficient condition, with a safety slack).
    #[inline]
    pub fn inside(&self, cap: &PreparedCap) -> bool {
        let diff = cap.cap.theta - self.r;
        if diff <= 1e-9 {
            return false;
        }
        let cos_diff = cap.cos_t * self.cos_r + cap.sin_t * self.sin_r;
        self.center.dot(cap.cap.center) >= cos_diff + 1e-12
    }
}

/// A cap with its radius's sine and cosine precomputed, for the index's filters.
#[derive(Clone, Copy, Debug)]
pub struct PreparedCap {
    /// The cap.
    pub cap: SphereCap,
    cos_t: f64,
    sin_t: f64,
}

impl PreparedCap {
    /// Prepares `cap` (θ < π/2).
    pub fn new(cap: SphereCap) -> Self {
        PreparedCap {
            cap,
            cos_t: cap.theta.cos(),
            sin_t: cap.theta.sin(),
        }
    }
}

/// A run of at most [`CHUNK_EDGES`] edges of one arc.
#[derive(Clone, Debug)]
pub(crate) struct Chunk {
    /// The arc it belongs to.
    pub arc: u32,
    /// First point index (global).
    pub start: u32,
    /// Number of edges.
    pub edges: u32,
    /// Bounding cap.
    pub bound: Bound,
    /// Longitude interval in degrees that the bound spans (`lo > hi` wraps the antimeridian);
    /// `None` = all longitudes.
    lon: Option<(f64, f64)>,
    /// Highest latitude (degrees) the bound reaches.
    lat_max: f64,
    /// The unit vectors of its points, computed from the world's lon/lat on first use (a
    /// process that loads the borders pays only for the chunks its questions touch).
    vectors: OnceLock<Box<[Vec3]>>,
}

/// Input to the world builder: arcs as lon/lat points and features as rings of arc references.
pub(crate) struct RawWorld {
    /// Arcs, each a list of `[lon, lat]` in degrees.
    pub arcs: Vec<Vec<[f64; 2]>>,
    /// Features: name, code, polygons of rings of arc references.
    pub features: RawFeatures,
    /// Whether the regions are known not to overlap (a partition of part of the sphere);
    /// territories overlap them in any case.
    pub partition: bool,
}

/// Regions on the sphere, indexed for point classification and border-arc queries.
#[derive(Debug)]
pub struct World {
    id: u64,
    features: Vec<Feature>,
    /// Each arc's `[lon, lat]` points (parallel to `arcs`).
    arc_points: Vec<image::LazyPoints>,
    pub(crate) arcs: Vec<ArcInfo>,
    /// (feature, true if the feature lies on the arc's right, walking from first to last point).
    pub(crate) users: Vec<(u32, bool)>,
    pub(crate) chunks: Vec<Chunk>,
    bins: Vec<Vec<u32>>,
    /// Features that contain the North Pole (parity baseline of the meridian test).
    north: Vec<u32>,
    pub(crate) partition: bool,
    repaired: usize,
    /// (seam arc, region found across it, that region is on the arc's right), sorted.
    seam_sides: Vec<(u32, u32, bool)>,
}

fn arc_index(r: i32) -> usize {
    if r < 0 {
        (!r) as usize
    } else {
        r as usize
    }
}

/// d3-geo's signed ring sum: the sum over edges of the signed area of the triangle (South Pole,
/// a, b), in steradians. The area of the region to the right of the ring is this sum modulo 4π;
/// a negative sum means that region holds the South Pole (d3-geo's `geoArea` convention).
pub(crate) fn d3_ring_sum(ring: &[[f64; 2]]) -> f64 {
    let Some(first) = ring.first() else {
        return 0.0;
    };
    let quarter = PI / 4.0;
    let mut sum = 0.0;
    let mut lambda0 = first[0].to_radians();
    let phi0 = first[1].to_radians() / 2.0 + quarter;
    let (mut sin0, mut cos0) = phi0.sin_cos();
    for p in ring.iter().skip(1).chain(std::iter::once(first)) {
        let lambda = p[0].to_radians();
        let phi = p[1].to_radians() / 2.0 + quarter;
        let d = lambda - lambda0;
        let sd = if d >= 0.0 { 1.0 } else { -1.0 };
        let ad = sd * d;
        let (sin_p, cos_p) = phi.sin_cos();
        let k = sin0 * sin_p;
        let u = cos0 * cos_p + k * ad.cos();
        let v = k * sd * ad.sin();
        sum += v.atan2(u);
        lambda0 = lambda;
        sin0 = sin_p;
        cos0 = cos_p;
    }
    2.0 * sum
}

/// The area (steradians, in [0, 4π)) of the region to the right of the ring.
pub(crate) fn right_area(sum: f64) -> f64 {
    if sum < 0.0 {
        sum + 4.0 * PI
    } else {
        sum
    }
}

/// The eastward change in longitude from `from` to `to` (degrees), taking the short way
/// across the antimeridian: always within ±180.
fn lon_step(from: f64, to: f64) -> f64 {
    let d = to - from;
    if d > 180.0 {
        d - 360.0
    } else if d < -180.0 {
        d + 360.0
    } else {
        d
    }
}

/// Whether the region to the right of the ring contains the North Pole. A ring that winds
/// around the poles in longitude separates them: walking east, the North Pole is on the left.
/// A ring that does not wind has both poles on one side, the side that holds the South Pole by
/// the sign of [`d3_ring_sum`].
fn north_on_right(ring: &[[f64; 2]], sum: f64) -> bool {
    let n = ring.len();
    let mut wind = 0.0;
    for i in 0..n {
        let (Some(a), Some(b)) = (ring.get(i), ring.get((i + 1) % n)) else {
            continue;
        };
        wind += lon_step(a[0], b[0]);
    }
    if wind > 180.0 {
        false
    } else if wind < -180.0 {
        true
    } else {
        sum < 0.0
    }
}

/// Rings enclosing less than this (steradians, ≈ 40 m²) on their smaller side are degenerate
/// (collinear or two-point rings): they hold no area and no pole.
const DEGENERATE_SR: f64 = 1e-12;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl World {
    /// Builds the index from decoded arcs and features, repairing mis-wound rings.
    pub(crate) fn build(raw: RawWorld) -> Result<World, GeoError> {
        let RawWorld {
            arcs: raw_arcs,
            features: raw_features,
            partition,
        } = raw;
        for arc in &raw_arcs {
            for p in arc {
                check_lat_lon(p[1], p[0]).map_err(|e| GeoError::Borders(e.to_string()))?;
            }
        }
        let (raw_arcs, raw_features) = split_seams(raw_arcs, raw_features)?;
        let n_arcs = raw_arcs.len();
        let mut user_lists: Vec<Vec<(u32, bool)>> = vec![Vec::new(); n_arcs];
        let mut north: Vec<u32> = Vec::new();
        let mut features = Vec::with_capacity(raw_features.len());
        let mut repaired = 0usize;
        for (fi, raw) in raw_features.into_iter().enumerate() {
            let RawFeature {
                name,
                code,
                polygons,
                territory,
            } = raw;
            let mut has_area = false;
            let fid =
                u32::try_from(fi).map_err(|_| GeoError::Borders("too many features".into()))?;
            let mut north_parity = false;
            let mut flipped = Vec::new();
            for poly in &polygons {
                for (ri, ring) in poly.iter().enumerate() {
                    let mut pts: Vec<[f64; 2]> = Vec::new();
                    for &r in ring {
                        let arc = raw_arcs.get(arc_index(r)).ok_or_else(|| {
                            GeoError::Borders(format!("feature {name:?} refers to missing arc {r}"))
                        })?;
                        let skip = usize::from(!pts.is_empty());
                        if r >= 0 {
                            pts.extend(arc.iter().skip(skip));
                        } else {
                            pts.extend(arc.iter().rev().skip(skip));
                        }
                    }
                    if pts.len() > 1 && pts.first() == pts.last() {
                        pts.pop();
                    }
                    let area = right_area(d3_ring_sum(&pts));
                    let degenerate = area.min(4.0 * PI - area) < DEGENERATE_SR;
                    // An exterior ring has the region on its right and encloses less than a
                    // hemisphere; a hole has the region on its right too, so the hole itself
                    // (on its left) is the smaller side. Anything else is a winding error
                    // (world-atlas issue #44: three Maldives triangles) and is reversed.
                    let flip = if ri == 0 {
                        area > TAU
                    } else {
                        !degenerate && area < TAU
                    };
                    if flip {
                        repaired += 1;
                        pts.reverse();
                    }
                    flipped.push(flip);
                    if !degenerate {
                        let sum = d3_ring_sum(&pts);
                        let small_is_right = right_area(sum) < TAU;
                        let n_right = north_on_right(&pts, sum);
                        // Parity baseline: does the smaller side hold the North Pole?
                        north_parity ^= n_right == small_is_right;
                    }
                    has_area |= !degenerate;
                    if degenerate {
                        // No area: it toggles nothing and separates nothing (e.g. the Vatican
                        // and Italy's matching hole, two-point slivers at this scale).
                        continue;
                    }
                    for &r in ring {
                        let forward = (r >= 0) != flip;
                        if let Some(list) = user_lists.get_mut(arc_index(r)) {
                            list.push((fid, forward));
                        }
                    }
                }
            }
            if north_parity {
                north.push(fid);
            }
            features.push(Feature {
                name,
                code,
                territory,
                has_area,
                polygons,
                flipped,
            });
        }

        if partition {
            separate_same_side_regions(&mut user_lists, &features);
        }
        let total_points: usize = raw_arcs.iter().map(Vec::len).sum();
        let mut points = Vec::with_capacity(total_points);
        let mut arc_points = Vec::with_capacity(n_arcs);
        let mut arcs = Vec::with_capacity(n_arcs);
        let mut users = Vec::new();
        let mut chunks = Vec::new();
        for (ai, arc) in raw_arcs.iter().enumerate() {
            let start = points.len();
            for p in arc {
                points.push(Vec3::from_lat_lon_deg(p[1], p[0]));
            }
            let arc_pts = points.get(start..).unwrap_or(&[]);
            let ustart = users.len();
            if let Some(list) = user_lists.get(ai) {
                users.extend_from_slice(list);
            }
            let cstart = chunks.len();
            let edges = arc.len().saturating_sub(1);
            let mut e = 0;
            while e < edges {
                let k = CHUNK_EDGES.min(edges - e);
                let cp = arc_pts.get(e..=e + k).unwrap_or(&[]);
                let bound = Bound::of(cp);
                let (lon, lat_max) = lon_lat_extent(&bound);
                let lon = lon.and(vertex_lon_range(arc.get(e..=e + k).unwrap_or(&[])));
                chunks.push(Chunk {
                    arc: ai as u32,
                    start: (start + e) as u32,
                    edges: k as u32,
                    bound,
                    lon,
                    lat_max,
                    vectors: OnceLock::from(cp.to_vec().into_boxed_slice()),
                });
                e += k;
            }
            arc_points.push(image::LazyPoints::decoded(arc.clone()));
            arcs.push(ArcInfo {
                start: start as u32,
                len: arc.len() as u32,
                users: (ustart as u32, users.len() as u32),
                chunks: (cstart as u32, chunks.len() as u32),
                bound: Bound::of(arc_pts),
            });
        }
        if points.len() > u32::MAX as usize / 2 {
            return Err(GeoError::Borders("too many points".into()));
        }
        let bins = bin_chunks(&chunks);
        let mut world = World {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            features,
            arc_points,
            arcs,
            users,
            chunks,
            bins,
            north,
            partition,
            repaired,
            seam_sides: Vec::new(),
        };
        world.find_seam_sides();
        Ok(world)
    }

    /// Natural Earth cuts polygons at the antimeridian, so a ring may run along ±180° with its
    /// own region on one side and (usually) the same country's other half on the other, stored
    /// as a separate, not quite coincident, arc. For each such seam arc, find the regions just
    /// across it (sampled at three points; recorded only if they agree), so that the seam is
    /// not mistaken for a coast. Classification never uses these (a meridian ray cannot cross
    /// an edge lying on a meridian); only the border-relevance test does.
    fn find_seam_sides(&mut self) {
        let mut found = Vec::new();
        for (ai, arc) in self.arcs.iter().enumerate() {
            if arc.len != 2 {
                continue;
            }
            let pts = self.arc_lonlat(ai);
            let (Some(pa), Some(pb)) = (pts.first(), pts.get(1)) else {
                continue;
            };
            if !(pa[0].abs() == 180.0 && pb[0].abs() == 180.0 && pa[1] != pb[1]) {
                continue;
            }
            let a = Vec3::from_lat_lon_deg(pa[1], pa[0]);
            let b = Vec3::from_lat_lon_deg(pb[1], pb[0]);
            let edge = super::sphere::GreatArc::new(a, b);
            for &(_, right) in self.arc_users(ai) {
                // The region is on the right (−n side) if `right`; look across, on the other side.
                let dir = if right { 1.0 } else { -1.0 };
                let mut across: Option<Vec<usize>> = None;
                let mut agree = true;
                for t in [0.25, 0.5, 0.75] {
                    let Some(p) = edge
                        .point(edge.len * t)
                        .plus(edge.n.scale(dir * 1e-7))
                        .normalized()
                    else {
                        agree = false;
                        break;
                    };
                    let (lat, lon) = p.to_lat_lon_deg();
                    let set = self.containing(lat, lon);
                    match &across {
                        None => across = Some(set),
                        Some(prev) if *prev == set => {}
                        Some(_) => agree = false,
                    }
                }
                if let (true, Some(set)) = (agree, across) {
                    for g in set {
                        found.push((ai as u32, g as u32, !right));
                    }
                }
            }
        }
        found.sort_unstable();
        found.dedup();
        self.seam_sides = found;
    }

    /// Regions on each side of arc `ai` for the border-relevance test: its users plus, for a
    /// seam arc on the antimeridian, the regions found just across it.
    pub(crate) fn arc_sides(&self, ai: usize) -> Vec<(u32, bool)> {
        let mut v = self.arc_users(ai).to_vec();
        let ai = ai as u32;
        let start = self.seam_sides.partition_point(|x| x.0 < ai);
        for &(a, f, right) in self.seam_sides.get(start..).unwrap_or(&[]) {
            if a != ai {
                break;
            }
            v.push((f, right));
        }
        v
    }

    /// A process-unique id, so cached per-world data (compiled policies) can tell worlds apart.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The regions, in dataset order; indices into this slice are the feature ids used by
    /// [`World::containing`].
    pub fn features(&self) -> &[Feature] {
        &self.features
    }

    /// How many rings were reversed because they enclosed more than a hemisphere (exterior) or
    /// less than one (hole).
    pub fn repaired_rings(&self) -> usize {
        self.repaired
    }

    /// Whether the regions are known not to overlap (true for the embedded borders).
    pub fn is_partition(&self) -> bool {
        self.partition
    }

    /// The rings of feature `index` as `(lon, lat)` degree pairs, closed (last = first), winding
    /// repairs applied (exterior rings clockwise, holes counter-clockwise, as d3-geo expects):
    /// for drawing. Empty if the index is out of range.
    pub fn rings(&self, index: usize) -> Vec<Vec<(f64, f64)>> {
        let Some(f) = self.features.get(index) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut k = 0;
        for poly in &f.polygons {
            for ring in poly {
                let flip = f.flipped.get(k).copied().unwrap_or(false);
                k += 1;
                let mut pts: Vec<(f64, f64)> = Vec::new();
                for &r in ring {
                    let slice = self.arc_lonlat(arc_index(r));
                    let skip = usize::from(!pts.is_empty());
                    if r >= 0 {
                        pts.extend(slice.iter().skip(skip).map(|p| (p[0], p[1])));
                    } else {
                        pts.extend(slice.iter().rev().skip(skip).map(|p| (p[0], p[1])));
                    }
                }
                if flip {
                    pts.reverse();
                }
                out.push(pts);
            }
        }
        out
    }

    /// Ids of the features that contain the point (latitude, longitude in degrees), by crossing
    /// parity along the meridian from the point to the North Pole. Points exactly on a border
    /// fall on one side or the other, consistently.
    pub fn containing(&self, lat: f64, lon: f64) -> Vec<usize> {
        // Cast the ray along a meridian a hair (≈ 1 cm) east of the point, so that it never runs
        // exactly through grid vertices or along edges that lie on a meridian (the antimeridian
        // cuts at ±180°), where the side tests would be decided by rounding noise.
        let mut lon = lon + LON_NUDGE_DEG;
        if lon > 180.0 {
            lon -= 360.0;
        }
        let lam = lon.to_radians();
        let m = Vec3::new(-lam.sin(), lam.cos(), 0.0);
        let e = Vec3::new(lam.cos(), lam.sin(), 0.0);
        let phi = lat.to_radians();
        let mut parity: Vec<(u32, bool)> = self.north.iter().map(|&f| (f, true)).collect();
        let bin = self.bins.get(bin_of(lon)).map_or(&[][..], Vec::as_slice);
        for &ci in bin {
            let Some(c) = self.chunks.get(ci as usize) else {
                continue;
            };
            if c.lat_max < lat - 1e-9 {
                continue;
            }
            if let Some((lo, hi)) = c.lon {
                if !lon_in(lon, lo, hi) {
                    continue;
                }
            }
            let mut crossings = 0u32;
            let pts = self.chunk_points(c);
            for w in pts.windows(2) {
                let (Some(&a), Some(&b)) = (w.first(), w.get(1)) else {
                    continue;
                };
                let sa = a.dot(m);
                let sb = b.dot(m);
                if (sa > 0.0) == (sb > 0.0) {
                    continue;
                }
                let x = a.scale(sb).minus(b.scale(sa));
                let x = if sb > sa { x } else { x.scale(-1.0) };
                let h = x.dot(e);
                if h > 0.0 && x.z.atan2(h) > phi {
                    crossings += 1;
                }
            }
            if crossings % 2 == 1 {
                let Some(arc) = self.arcs.get(c.arc as usize) else {
                    continue;
                };
                for &(f, _) in self
                    .users
                    .get(arc.users.0 as usize..arc.users.1 as usize)
                    .unwrap_or(&[])
                {
                    match parity.iter_mut().find(|(g, _)| *g == f) {
                        Some(entry) => entry.1 = !entry.1,
                        None => parity.push((f, true)),
                    }
                }
            }
        }
        let mut out: Vec<usize> = parity
            .into_iter()
            .filter(|(_, odd)| *odd)
            .map(|(f, _)| f as usize)
            .collect();
        out.sort_unstable();
        out
    }

    /// The users (feature, on-right) of arc `ai`.
    pub(crate) fn arc_users(&self, ai: usize) -> &[(u32, bool)] {
        self.arcs
            .get(ai)
            .and_then(|a| self.users.get(a.users.0 as usize..a.users.1 as usize))
            .unwrap_or(&[])
    }

    /// Number of stored arcs.
    pub fn arc_count(&self) -> usize {
        self.arcs.len()
    }

    /// Number of stored points.
    pub fn point_count(&self) -> usize {
        self.arcs.iter().map(|a| a.len as usize).sum()
    }

    /// The `[lon, lat]` points of arc `ai` (decoded on first use when loaded from an image).
    pub(crate) fn arc_lonlat(&self, ai: usize) -> &[[f64; 2]] {
        self.arc_points.get(ai).map_or(&[], image::LazyPoints::get)
    }

    /// The unit vectors of a chunk's points (its edges' ends), computed on first use.
    pub(crate) fn chunk_points<'a>(&'a self, c: &'a Chunk) -> &'a [Vec3] {
        c.vectors.get_or_init(|| {
            let arc_start = self
                .arcs
                .get(c.arc as usize)
                .map_or(0, |a| a.start as usize);
            let s = (c.start as usize).saturating_sub(arc_start);
            self.arc_lonlat(c.arc as usize)
                .get(s..=s + c.edges as usize)
                .unwrap_or(&[])
                .iter()
                .map(|p| Vec3::from_lat_lon_deg(p[1], p[0]))
                .collect()
        })
    }
}

type RawFeatures = Vec<RawFeature>;
type RawArcs = Vec<Vec<[f64; 2]>>;

/// Splits every arc so that each edge lying along the antimeridian (both ends at ±180°) is an
/// arc of its own, and rewrites the rings' arc references to match.
fn split_seams(arcs: RawArcs, features: RawFeatures) -> Result<(RawArcs, RawFeatures), GeoError> {
    let is_seam =
        |a: &[f64; 2], b: &[f64; 2]| a[0].abs() == 180.0 && b[0].abs() == 180.0 && a[1] != b[1];
    let mut out: Vec<Vec<[f64; 2]>> = Vec::with_capacity(arcs.len());
    let mut pieces: Vec<Vec<i32>> = Vec::with_capacity(arcs.len());
    let too_many = || GeoError::Borders("too many arcs".into());
    for arc in arcs {
        let mut ids = Vec::new();
        let mut cur: Vec<[f64; 2]> = Vec::new();
        for (i, p) in arc.iter().enumerate() {
            let next = arc.get(i + 1);
            cur.push(*p);
            if let Some(q) = next {
                if is_seam(p, q) {
                    if cur.len() > 1 {
                        ids.push(i32::try_from(out.len()).map_err(|_| too_many())?);
                        out.push(std::mem::take(&mut cur));
                    }
                    ids.push(i32::try_from(out.len()).map_err(|_| too_many())?);
                    out.push(vec![*p, *q]);
                    cur = vec![*q];
                }
            }
        }
        if cur.len() > 1 || ids.is_empty() {
            ids.push(i32::try_from(out.len()).map_err(|_| too_many())?);
            out.push(cur);
        }
        pieces.push(ids);
    }
    let mut feats = Vec::with_capacity(features.len());
    for f in features {
        let RawFeature {
            name,
            code,
            polygons: polys,
            territory,
        } = f;
        let mut np = Vec::with_capacity(polys.len());
        for poly in polys {
            let mut nr = Vec::with_capacity(poly.len());
            for ring in poly {
                let mut refs = Vec::with_capacity(ring.len());
                for r in ring {
                    let Some(ids) = pieces.get(arc_index(r)) else {
                        return Err(GeoError::Borders(format!(
                            "feature {name:?} refers to missing arc {r}"
                        )));
                    };
                    if r >= 0 {
                        refs.extend(ids.iter().copied());
                    } else {
                        refs.extend(ids.iter().rev().map(|&i| !i));
                    }
                }
                nr.push(refs);
            }
            np.push(nr);
        }
        feats.push(RawFeature {
            name,
            code,
            polygons: np,
            territory,
        });
    }
    Ok((out, feats))
}

/// In a partition, two regions on the same side of one arc is an error of the source's
/// topology (world-atlas draws Russia's ring forward along Ukraine's three-point arc 844, as
/// Ukraine's does): take the second to lie on the other side, as its neighbouring arcs say.
/// Without this, the arc would look like a border between both countries and an empty sliver.
fn separate_same_side_regions(user_lists: &mut [Vec<(u32, bool)>], features: &[Feature]) {
    let region = |f: u32| features.get(f as usize).is_some_and(Feature::is_region);
    for list in user_lists.iter_mut() {
        let regions: Vec<usize> = (0..list.len())
            .filter(|&i| list.get(i).is_some_and(|u| region(u.0)))
            .collect();
        if let [a, b] = regions[..] {
            let (Some(&(_, sa)), Some(&(_, sb))) = (list.get(a), list.get(b)) else {
                continue;
            };
            if sa == sb {
                if let Some(u) = list.get_mut(b) {
                    u.1 = !u.1;
                }
            }
        }
    }
}

/// The meridian index: for each degree of longitude, the chunks whose longitudes it meets.
fn bin_chunks(chunks: &[Chunk]) -> Vec<Vec<u32>> {
    let mut bins: Vec<Vec<u32>> = vec![Vec::new(); BINS];
    for (ci, c) in chunks.iter().enumerate() {
        let ci = ci as u32;
        match c.lon {
            None => bins.iter_mut().for_each(|b| b.push(ci)),
            Some((lo, hi)) => {
                let a = bin_of(lo);
                let b = bin_of(hi);
                let mut i = a;
                loop {
                    if let Some(bin) = bins.get_mut(i) {
                        bin.push(ci);
                    }
                    if i == b {
                        break;
                    }
                    i = (i + 1) % BINS;
                }
            }
        }
    }
    bins
}

fn bin_of(lon: f64) -> usize {
    let b = ((lon + 180.0).floor() as i64).rem_euclid(BINS as i64);
    b as usize
}

fn lon_in(lon: f64, lo: f64, hi: f64) -> bool {
    if lo <= hi {
        lon >= lo && lon <= hi
    } else {
        lon >= lo || lon <= hi
    }
}

/// The longitude interval (degrees, `lo > hi` wrapping the antimeridian) covered by a run of
/// edges: exact for great-circle edges that pass no pole, since longitude is monotonic along
/// them; `None` (all longitudes) if the run winds all the way round.
fn vertex_lon_range(pts: &[[f64; 2]]) -> Option<(f64, f64)> {
    let first = pts.first()?[0];
    let (mut x, mut lo, mut hi) = (first, first, first);
    for w in pts.windows(2) {
        let (Some(a), Some(b)) = (w.first(), w.get(1)) else {
            continue;
        };
        x += lon_step(a[0], b[0]);
        lo = lo.min(x);
        hi = hi.max(x);
    }
    if hi - lo >= 359.0 {
        return None;
    }
    let wrap = |v: f64| (v + 180.0).rem_euclid(360.0) - 180.0;
    Some((wrap(lo - 1e-7), wrap(hi + 1e-7)))
}

/// Longitude interval and maximum latitude spanned by a bound, conservatively (degrees).
fn lon_lat_extent(b: &Bound) -> (Option<(f64, f64)>, f64) {
    let (clat, clon) = b.center.to_lat_lon_deg();
    let r_deg = b.r.to_degrees();
    let lat_max = (clat + r_deg + 1e-9).min(90.0);
    if b.r >= PI / 2.0 || clat.abs() + r_deg >= 89.999 {
        return (None, lat_max);
    }
    let s = (b.r.sin() / clat.to_radians().cos()).min(1.0);
    let half = s.asin().to_degrees() + 1e-7;
    if half >= 180.0 {
        return (None, lat_max);
    }
    let wrap = |x: f64| {
        if x < -180.0 {
            x + 360.0
        } else if x > 180.0 {
            x - 360.0
        } else {
            x
        }
    };
    (Some((wrap(clon - half), wrap(clon + half))), lat_max)
}
