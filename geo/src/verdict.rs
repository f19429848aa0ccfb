//! The verdict engine: from caps and a policy to `compliant`, `violation`, `inconclusive` or
//! `inconsistent`, soundly.
//!
//! 1. `F_e` = the caps on the unit sphere grown to contain the WGS84 caps
//!    ([`region::sphere_caps`]). If `F_e` is provably empty ([`region::find_point`]), the
//!    measurements contradict each other: `inconsistent`. Otherwise we hold a point `q ∈ F_e`.
//! 2. `F_b` = the same caps grown further by the border margin (built-in quantisation and
//!    arc/segment margins plus the policy's `border_margin_km`). `F_b ⊇ F_e ⊇ F` and `F_b` is
//!    convex, hence connected.
//! 3. For every border arc across which the policy's "allowed" can change, test whether any of
//!    its edges meets `F_b` (exactly, edge by edge, after conservative bounding-cap filters).
//!    If one does, F may straddle a border or lie within the data's error of one:
//!    `inconclusive`, with a witness.
//! 4. Otherwise no such border passes through `F_b`, so every point of `F_b` (and so of F) is
//!    equally allowed: classify `q`. Allowed ⇒ `compliant`, not allowed ⇒ `violation`.
//!
//! Every approximation enlarges a region, so it can only turn a verdict into `inconclusive`.

use super::error::GeoError;
use super::policy::{Compiled, Policy};
use super::region::{self, Cap, BUILTIN_BORDER_MARGIN_M, POINT_TOLERANCE_RAD};
use super::sphere::{GreatArc, SphereCap, Vec3};
use super::world::{PreparedCap, World};

/// The four geographic verdicts (DESIGN §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VerdictKind {
    /// Every point of the feasible region is allowed.
    Compliant,
    /// No point of the feasible region is allowed.
    Violation,
    /// The region straddles a relevant border (or lies within the border data's error of one).
    Inconclusive,
    /// The feasible region is empty: the measurements cannot all be true.
    Inconsistent,
}

impl VerdictKind {
    /// The verdict as one lower-case word, as printed by the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictKind::Compliant => "compliant",
            VerdictKind::Violation => "violation",
            VerdictKind::Inconclusive => "inconclusive",
            VerdictKind::Inconsistent => "inconsistent",
        }
    }
}

impl std::fmt::Display for VerdictKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A point that shows an `inconclusive` region is not all allowed.
#[derive(Clone, Debug, PartialEq)]
pub struct Witness {
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Label of the region it lies in (ISO alpha-2, else the dataset's name), or `"sea"`.
    pub region: String,
    /// Whether the point lies in the (outer approximation of the) feasible region itself; if
    /// false it lies within the border margin of it, i.e. F is within the data's error of a
    /// border.
    pub in_region: bool,
}

/// The outcome of [`evaluate`].
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// Which verdict.
    pub kind: VerdictKind,
    /// For `inconclusive`: a point of F that is not allowed.
    pub witness: Option<Witness>,
    /// A representative point of F (latitude, longitude in degrees), unless F is empty.
    pub point: Option<(f64, f64)>,
}

/// An edge of a relevant border arc that meets the grown region.
#[derive(Clone, Copy, Debug)]
struct Hit {
    arc: u32,
    edge: GreatArc,
    lo: f64,
    hi: f64,
}

/// Evaluates the policy on the feasible region `∩ caps` (see the module docs), with the sea
/// rule: sea within `policy.sea_buffer_m` of a region that is not allowed is not allowed.
///
/// The rule is decided without drawing the buffer. If the verdict with sea as written is not
/// `compliant`, or is `compliant` with all sea not allowed too, sea does not change it.
/// Otherwise F holds sea: F's enclosing cap is covered by cells, split where needed, and the
/// verdict stays `compliant` only if every cell's part of F holds no sea, or grown by the
/// buffer (which contains every point within the buffer of that part) holds no point that is
/// not allowed; else it is `inconclusive`.
pub fn evaluate(world: &World, policy: &Policy, caps: &[Cap]) -> Result<Verdict, GeoError> {
    for c in caps {
        c.validate()?;
    }
    let (open, closed) = policy.compiled_for(world)?;
    let margin = policy.border_margin_m;
    let written = evaluate_compiled(world, &open, margin, caps)?;
    if policy.sea_buffer_m <= 0.0 || !policy.sea_permitted || written.kind != VerdictKind::Compliant
    {
        return Ok(written);
    }
    let no_sea = evaluate_compiled(world, &closed, margin, caps)?;
    if no_sea.kind == VerdictKind::Compliant {
        return Ok(written);
    }
    let sea = SeaRule {
        world,
        open: &open,
        closed: &closed,
        margin,
        buffer_m: policy.sea_buffer_m,
    };
    let Some(enclosing) = super::region::feasible_region_summary(caps)?.map(|r| r.enclosing) else {
        return Ok(written);
    };
    match sea.first_unsafe(caps, enclosing)? {
        None => Ok(written),
        Some(near) => Ok(Verdict {
            kind: VerdictKind::Inconclusive,
            witness: near.or(no_sea.witness),
            point: written.point,
        }),
    }
}

/// Whether the sea point (`lat`, `lon`) lies within the policy's sea buffer (plus the border
/// margins) of a region that is not allowed: the sea rule for one point, as
/// [`Policy::classify`] applies it. Errors count as near (the safe side).
pub(crate) fn sea_point_near_disallowed(
    world: &World,
    policy: &Policy,
    open: &Compiled,
    lat: f64,
    lon: f64,
) -> bool {
    let Ok(cap) = Cap::new(lat, lon, policy.sea_buffer_m) else {
        return true;
    };
    evaluate_compiled(world, open, policy.border_margin_m, &[cap])
        .map_or(true, |v| v.kind != VerdictKind::Compliant)
}

/// The sea rule's search for sea in F within the buffer of a region that is not allowed.
struct SeaRule<'a> {
    world: &'a World,
    open: &'a Compiled,
    closed: &'a Compiled,
    margin: f64,
    buffer_m: f64,
}

/// Most cells the sea rule examines before it gives up (and says `inconclusive`).
const SEA_CELLS_MAX: usize = 64;

impl SeaRule<'_> {
    /// The cap grown by the buffer.
    fn grow(&self, c: &Cap) -> Cap {
        Cap {
            radius_m: c.radius_m + self.buffer_m,
            ..*c
        }
    }

    /// Covers F's enclosing cap with ever smaller cells (seven half-size caps cover a cap).
    /// `None` if every cell either holds no sea of F, or lies, grown by the buffer, in no
    /// region that is not allowed. Otherwise `Some`, with a witness if one was found: a point
    /// not allowed within the buffer (plus the border margin) of F's sea, marked as outside F
    /// (`in_region: false`). Gives up, with that outcome, after [`SEA_CELLS_MAX`] cells or
    /// below a tenth of the buffer.
    fn first_unsafe(
        &self,
        caps: &[Cap],
        enclosing: Cap,
    ) -> Result<Option<Option<Witness>>, GeoError> {
        let outside = |v: Verdict| {
            v.witness.map(|w| Witness {
                in_region: false,
                ..w
            })
        };
        // First the whole of F at once (for F unbounded, the only test there is).
        let grown: Vec<Cap> = caps.iter().map(|c| self.grow(c)).collect();
        let near = evaluate_compiled(self.world, self.open, self.margin, &grown)?;
        if near.kind == VerdictKind::Compliant {
            return Ok(None);
        }
        if !enclosing.radius_m.is_finite() || enclosing.radius_m > 10_000_000.0 {
            return Ok(Some(outside(near)));
        }
        let mut queue = vec![enclosing];
        let mut examined = 0;
        while let Some(cell) = queue.pop() {
            examined += 1;
            if examined > SEA_CELLS_MAX {
                return Ok(Some(outside(near)));
            }
            let mut part = caps.to_vec();
            part.push(cell);
            let no_sea = evaluate_compiled(self.world, self.closed, self.margin, &part)?;
            if matches!(
                no_sea.kind,
                VerdictKind::Compliant | VerdictKind::Inconsistent
            ) {
                continue; // this part of F is empty, or all allowed land
            }
            let grown: Vec<Cap> = part.iter().map(|c| self.grow(c)).collect();
            let near_part = evaluate_compiled(self.world, self.open, self.margin, &grown)?;
            if near_part.kind == VerdictKind::Compliant {
                continue; // nothing not allowed within the buffer of this part of F
            }
            if cell.radius_m < self.buffer_m / 10.0 {
                return Ok(Some(outside(near_part)));
            }
            match children(&cell) {
                Some(kids) => queue.extend(kids),
                None => return Ok(Some(outside(near_part))),
            }
        }
        Ok(None)
    }
}

/// Seven caps of half the radius (5 % more, for the ellipsoid and rounding) that cover `cap`:
/// one at its centre and six at √3/2 of its radius, 60° apart, placed with a tangent frame at
/// the centre (so a cap centred on a pole is covered like any other). The azimuthal
/// equidistant map around the centre is 1-Lipschitz back to the sphere, so the planar
/// covering carries over.
fn children(cap: &Cap) -> Option<Vec<Cap>> {
    const EARTH_M: f64 = 6_371_008.8;
    let r = cap.radius_m * 0.5 * 1.05;
    let d = cap.radius_m * 3f64.sqrt() / 2.0 / EARTH_M;
    let c = Vec3::from_lat_lon_deg(cap.center_lat, cap.center_lon);
    let axis = if c.z.abs() < 0.9 {
        Vec3::NORTH
    } else {
        Vec3::new(1.0, 0.0, 0.0)
    };
    let mut out = vec![Cap {
        radius_m: r,
        ..*cap
    }];
    let e1 = axis.cross(c).normalized()?;
    let e2 = c.cross(e1);
    for k in 0..6 {
        let b = (60.0 * k as f64).to_radians();
        let dir = e1.scale(b.cos()).plus(e2.scale(b.sin()));
        let p = c.scale(d.cos()).plus(dir.scale(d.sin())).normalized()?;
        let (lat, lon) = p.to_lat_lon_deg();
        out.push(Cap {
            center_lat: lat.clamp(-90.0, 90.0),
            center_lon: lon,
            radius_m: r,
        });
    }
    Some(out)
}

/// The verdict of one compiled policy on `∩ caps`, steps 1–4 of the module docs.
fn evaluate_compiled(
    world: &World,
    compiled: &Compiled,
    border_margin_m: f64,
    caps: &[Cap],
) -> Result<Verdict, GeoError> {
    let region_caps = region::sphere_caps(caps, 0.0);
    let Some(q) = region::find_point(&region_caps) else {
        return Ok(Verdict {
            kind: VerdictKind::Inconsistent,
            witness: None,
            point: None,
        });
    };
    let point = Some(q.to_lat_lon_deg());
    let margin = BUILTIN_BORDER_MARGIN_M + border_margin_m;
    let border_caps: Vec<PreparedCap> = region::sphere_caps(caps, margin)
        .into_iter()
        .map(PreparedCap::new)
        .collect();
    let (qlat, qlon) = q.to_lat_lon_deg();
    match find_hits(world, compiled, &border_caps, 1).first() {
        None => {
            let set = world.containing(qlat, qlon);
            let kind = if compiled.allowed(&set) {
                VerdictKind::Compliant
            } else {
                VerdictKind::Violation
            };
            Ok(Verdict {
                kind,
                witness: None,
                point,
            })
        }
        Some(first) => {
            let qset = world.containing(qlat, qlon);
            let witness = if !compiled.allowed(&qset) {
                // The representative point itself is not allowed: the best witness, in F.
                Witness {
                    lat: qlat,
                    lon: qlon,
                    region: label(world, &qset),
                    in_region: true,
                }
            } else {
                let mut hits = vec![*first];
                hits.extend(
                    find_hits(world, compiled, &border_caps, WITNESS_EDGES)
                        .into_iter()
                        .skip(1),
                );
                witness(world, compiled, &region_caps, q, &hits)
            };
            Ok(Verdict {
                kind: VerdictKind::Inconclusive,
                witness: Some(witness),
                point,
            })
        }
    }
}

/// Up to `limit` edges of relevant arcs that meet every cap.
///
/// Zero-length edges (repeated points) are skipped: their point is the end of a neighbouring
/// edge of the same ring, which is tested in its own right, and they have no sides.
fn find_hits(world: &World, c: &Compiled, caps: &[PreparedCap], limit: usize) -> Vec<Hit> {
    let mut out = Vec::new();
    for &ai in &c.relevant {
        let Some(arc) = world.arcs.get(ai as usize) else {
            continue;
        };
        if !caps.iter().all(|k| arc.bound.may_meet(k)) {
            continue;
        }
        let chunks = world
            .chunks
            .get(arc.chunks.0 as usize..arc.chunks.1 as usize)
            .unwrap_or(&[]);
        for ch in chunks {
            if !caps.iter().all(|k| ch.bound.may_meet(k)) {
                continue;
            }
            let pts = world.chunk_points(ch);
            let whole = caps.iter().all(|k| ch.bound.inside(k));
            for w in pts.windows(2) {
                let (Some(&a), Some(&b)) = (w.first(), w.get(1)) else {
                    continue;
                };
                let edge = GreatArc::new(a, b);
                if edge.len == 0.0 {
                    continue;
                }
                let hit = if whole {
                    Some((0.0, edge.len))
                } else {
                    edge_in_all(&edge, caps.iter().map(|k| &k.cap))
                };
                if let Some((lo, hi)) = hit {
                    out.push(Hit {
                        arc: ai,
                        edge,
                        lo,
                        hi,
                    });
                    if out.len() >= limit {
                        return out;
                    }
                }
            }
        }
    }
    out
}

/// The parameter interval of `edge` inside every cap, if non-empty.
fn edge_in_all<'a>(
    edge: &GreatArc,
    caps: impl Iterator<Item = &'a SphereCap>,
) -> Option<(f64, f64)> {
    let (mut lo, mut hi) = (0.0f64, edge.len);
    for k in caps {
        let (a, b) = edge.cap_interval(k)?;
        lo = lo.max(a);
        hi = hi.min(b);
        if lo > hi {
            return None;
        }
    }
    Some((lo, hi))
}

fn label(world: &World, set: &[usize]) -> String {
    set.first()
        .and_then(|&f| world.features().get(f))
        .map_or_else(|| "sea".to_string(), |f| f.label().to_string())
}

/// How many border edges near F the witness search looks at.
const WITNESS_EDGES: usize = 64;

/// A not-allowed point in (or, failing that, within the border margin of) the region: the
/// representative point if it is not allowed, else points just either side of the border edges
/// that meet the grown region, preferring points inside F itself.
fn witness(
    world: &World,
    c: &Compiled,
    region_caps: &[SphereCap],
    q: Vec3,
    hits: &[Hit],
) -> Witness {
    let inside = |p: Vec3| {
        region_caps
            .iter()
            .all(|k| k.contains(p, POINT_TOLERANCE_RAD))
    };
    let check = |p: Vec3| -> Option<Witness> {
        let (lat, lon) = p.to_lat_lon_deg();
        let set = world.containing(lat, lon);
        (!c.allowed(&set)).then(|| Witness {
            lat,
            lon,
            region: label(world, &set),
            in_region: inside(p),
        })
    };
    let mut fallback: Option<Witness> = None;
    for (i, hit) in hits.iter().enumerate() {
        // Prefer the stretch of the edge inside F itself, else the stretch in the grown region.
        let (lo, hi) = edge_in_all(&hit.edge, region_caps.iter()).unwrap_or((hit.lo, hit.hi));
        for (t, delta) in [
            (0.5, 1e-7),
            (0.5, 1e-6),
            (0.0, 1e-7),
            (1.0, 1e-7),
            (0.25, 1e-6),
            (0.75, 1e-6),
            (0.5, 1e-5),
        ] {
            let x = hit.edge.point(lo + (hi - lo) * t);
            for side in [1.0, -1.0] {
                let Some(p) = x.plus(hit.edge.n.scale(side * delta)).normalized() else {
                    continue;
                };
                if let Some(w) = check(p) {
                    if w.in_region {
                        return w;
                    }
                    fallback.get_or_insert(w);
                }
            }
        }
        if fallback.is_some() && i >= 7 {
            break;
        }
    }
    if let Some(w) = fallback {
        return w;
    }
    // Not reached in the tests: the border point itself, labelled with the side that is not
    // allowed according to the arc's sides.
    let Some(hit) = hits.first() else {
        let (lat, lon) = q.to_lat_lon_deg();
        return Witness {
            lat,
            lon,
            region: label(world, &world.containing(lat, lon)),
            in_region: true,
        };
    };
    let users = world.arc_sides(hit.arc as usize);
    let right: Vec<usize> = users.iter().filter(|u| u.1).map(|u| u.0 as usize).collect();
    let left: Vec<usize> = users
        .iter()
        .filter(|u| !u.1)
        .map(|u| u.0 as usize)
        .collect();
    let bad_side = if c.allowed(&right) { left } else { right };
    let x = hit.edge.point((hit.lo + hit.hi) / 2.0);
    let (lat, lon) = x.to_lat_lon_deg();
    Witness {
        lat,
        lon,
        region: label(world, &bad_side),
        in_region: inside(x),
    }
}
