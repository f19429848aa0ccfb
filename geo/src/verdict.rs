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
/// The rule is decided without drawing the buffer. If the verdict with sea as written is
/// `violation` or `inconsistent`, or equals the verdict with all sea not allowed, sea does not
/// matter. Otherwise F holds sea, and the written verdict (`compliant`) stands only if the caps
/// grown by the buffer — which contain every point within the buffer of F — hold no point that
/// is not allowed; else the verdict is `inconclusive`.
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
    let grown: Vec<Cap> = caps
        .iter()
        .map(|c| Cap {
            radius_m: c.radius_m + policy.sea_buffer_m,
            ..*c
        })
        .collect();
    let near = evaluate_compiled(world, &open, margin, &grown)?;
    if near.kind == VerdictKind::Compliant {
        return Ok(written);
    }
    let witness = no_sea.witness.map(|w| Witness {
        region: format!(
            "sea within {:.0} nmi of {}",
            policy.sea_buffer_m / super::policy::METRES_PER_NAUTICAL_MILE,
            near.witness
                .as_ref()
                .map_or("a region not allowed", |n| n.region.as_str())
        ),
        ..w
    });
    Ok(Verdict {
        kind: VerdictKind::Inconclusive,
        witness,
        point: written.point,
    })
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
