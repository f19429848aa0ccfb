//! Checks on user polygons before they become regions, read as RFC 7946 reads them (planar
//! longitude/latitude): a ring that crosses itself or another ring of its polygon, a hole that
//! is not inside its exterior ring or that lies inside another hole, and an exterior ring that
//! encloses more than a hemisphere are refused, naming the feature. Such a file means something
//! other than what it draws, and guessing (inverting, dropping, unioning) would change which
//! places are forbidden without a word.

use super::error::GeoError;

/// Most (edge, cell) entries the crossing test builds for one feature, and most edge pairs it
/// compares; beyond either the file is refused as too complex to check.
const MAX_CELL_ENTRIES: usize = 20_000_000;
const MAX_PAIRS: u64 = 200_000_000;

fn refuse(name: &str, why: String) -> GeoError {
    GeoError::Borders(format!("{name}: {why}"))
}

/// Checks one feature: its polygons (`[0]` the exterior ring, the rest holes), each ring closed
/// (first point = last point), `[lon, lat]` in degrees. No two rings of the feature may cross,
/// a hole must lie inside its exterior and outside the other holes, and no polygon may overlap
/// another of the same feature (they would cancel where they overlap).
pub fn check_feature(name: &str, polygons: &[Vec<Vec<[f64; 2]>>]) -> Result<(), GeoError> {
    let rings: Vec<(usize, usize, &[[f64; 2]])> = polygons
        .iter()
        .enumerate()
        .flat_map(|(pi, p)| {
            p.iter()
                .enumerate()
                .map(move |(ri, r)| (pi, ri, r.as_slice()))
        })
        .collect();
    check_crossings(name, &rings)?;
    for (pi, poly) in polygons.iter().enumerate() {
        check_holes(&format!("{name} (polygon {pi})"), poly)?;
    }
    for (a, pa) in polygons.iter().enumerate() {
        for (b, pb) in polygons.iter().enumerate() {
            let (Some(ea), Some(eb)) = (pa.first(), pb.first()) else {
                continue;
            };
            if a == b {
                continue;
            }
            let Some(&p) = ea.iter().find(|p| !pb.iter().any(|r| on_ring(**p, r))) else {
                continue;
            };
            let in_a_hole = pb.iter().skip(1).any(|h| inside(p, h));
            if inside(p, eb) && !in_a_hole {
                return Err(refuse(
                    name,
                    format!("polygons {a} and {b} overlap (at {}, {})", p[0], p[1]),
                ));
            }
        }
    }
    Ok(())
}

/// A polygon's holes lie inside its exterior ring and outside each other.
fn check_holes(name: &str, rings: &[Vec<[f64; 2]>]) -> Result<(), GeoError> {
    let Some(exterior) = rings.first() else {
        return Ok(());
    };
    for (i, hole) in rings.iter().enumerate().skip(1) {
        let Some(&p) = hole.iter().find(|p| !on_ring(**p, exterior)) else {
            continue;
        };
        if !inside(p, exterior) {
            return Err(refuse(
                name,
                format!(
                    "hole {i} lies outside its exterior ring (at {}, {})",
                    p[0], p[1]
                ),
            ));
        }
        for (j, other) in rings.iter().enumerate().skip(1) {
            if j != i && !on_ring(p, other) && inside(p, other) {
                return Err(refuse(
                    name,
                    format!("holes {i} and {j} overlap (at {}, {})", p[0], p[1]),
                ));
            }
        }
    }
    Ok(())
}

fn on_ring(p: [f64; 2], ring: &[[f64; 2]]) -> bool {
    ring.contains(&p)
}

/// Planar point-in-ring by crossing parity.
fn inside(p: [f64; 2], ring: &[[f64; 2]]) -> bool {
    let mut odd = false;
    for w in ring.windows(2) {
        let (Some(a), Some(b)) = (w.first(), w.get(1)) else {
            continue;
        };
        if (a[1] > p[1]) != (b[1] > p[1]) {
            let x = a[0] + (p[1] - a[1]) / (b[1] - a[1]) * (b[0] - a[0]);
            if p[0] < x {
                odd = !odd;
            }
        }
    }
    odd
}

/// Refuses any two edges of the rings that cross or overlap (edges that only share an end
/// point — neighbours on a ring, or rings touching at a vertex — are allowed). Edges are
/// bucketed on a grid whose cell is sized to the edges' density, so a dense ring is not
/// compared pair by pair; the work is bounded and a file beyond the bound is refused.
fn check_crossings(name: &str, rings: &[(usize, usize, &[[f64; 2]])]) -> Result<(), GeoError> {
    let edges: Vec<(usize, usize, [f64; 2], [f64; 2])> = rings
        .iter()
        .flat_map(|&(pi, ri, r)| {
            r.windows(2)
                .filter_map(move |w| match (w.first(), w.get(1)) {
                    (Some(a), Some(b)) if a != b => Some((pi, ri, *a, *b)),
                    _ => None,
                })
        })
        .collect();
    let too_complex = || refuse(name, "too complex to check for crossing rings".into());
    let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
    for (_, _, a, b) in &edges {
        for p in [a, b] {
            lo = [lo[0].min(p[0]), lo[1].min(p[1])];
            hi = [hi[0].max(p[0]), hi[1].max(p[1])];
        }
    }
    let area = ((hi[0] - lo[0]) * (hi[1] - lo[1])).max(1e-12);
    let cell_deg = (area / edges.len().max(1) as f64).sqrt().clamp(1e-7, 1.0);
    let cell = |v: f64| (v / cell_deg).floor() as i64;
    let mut grid: std::collections::HashMap<(i64, i64), Vec<usize>> = Default::default();
    let mut entries = 0usize;
    for (k, (_, _, a, b)) in edges.iter().enumerate() {
        let (x0, x1) = (cell(a[0].min(b[0])), cell(a[0].max(b[0])));
        let (y0, y1) = (cell(a[1].min(b[1])), cell(a[1].max(b[1])));
        let n = (x1 - x0 + 1).saturating_mul(y1 - y0 + 1);
        entries = entries.saturating_add(usize::try_from(n).map_err(|_| too_complex())?);
        if entries > MAX_CELL_ENTRIES {
            return Err(too_complex());
        }
        for x in x0..=x1 {
            for y in y0..=y1 {
                grid.entry((x, y)).or_default().push(k);
            }
        }
    }
    let pairs: u64 = grid
        .values()
        .map(|b| (b.len() as u64).saturating_mul(b.len() as u64) / 2)
        .fold(0u64, u64::saturating_add);
    if pairs > MAX_PAIRS {
        return Err(too_complex());
    }
    for bucket in grid.values() {
        for (i, &e) in bucket.iter().enumerate() {
            for &f in bucket.iter().skip(i + 1) {
                let (Some(&(pe, re, a, b)), Some(&(pf, rf, c, d))) = (edges.get(e), edges.get(f))
                else {
                    continue;
                };
                if crosses(a, b, c, d) {
                    let what = match (pe == pf, re == rf) {
                        (true, true) => format!("polygon {pe}: ring {re} crosses itself"),
                        (true, false) => format!("polygon {pe}: rings {re} and {rf} cross"),
                        _ => format!("polygons {pe} and {pf} cross"),
                    };
                    return Err(refuse(name, format!("{what} near ({}, {})", a[0], a[1])));
                }
            }
        }
    }
    Ok(())
}

fn orient(a: [f64; 2], b: [f64; 2], c: [f64; 2]) -> f64 {
    (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
}

fn within(a: [f64; 2], b: [f64; 2], p: [f64; 2]) -> bool {
    p[0] >= a[0].min(b[0])
        && p[0] <= a[0].max(b[0])
        && p[1] >= a[1].min(b[1])
        && p[1] <= a[1].max(b[1])
}

/// Whether segments ab and cd share a point other than a common end point.
fn crosses(a: [f64; 2], b: [f64; 2], c: [f64; 2], d: [f64; 2]) -> bool {
    let shared = [a, b].iter().filter(|p| **p == c || **p == d).count();
    let (o1, o2, o3, o4) = (
        orient(a, b, c),
        orient(a, b, d),
        orient(c, d, a),
        orient(c, d, b),
    );
    if shared == 2 {
        return true; // the same edge twice
    }
    if o1 == 0.0 && o2 == 0.0 {
        // Collinear: they overlap if they share more than an end point.
        let overlap = [c, d].iter().any(|&p| within(a, b, p) && p != a && p != b)
            || [a, b].iter().any(|&p| within(c, d, p) && p != c && p != d);
        return overlap;
    }
    if shared == 1 {
        return false; // neighbours, or rings touching at a vertex
    }
    let proper = (o1 > 0.0) != (o2 > 0.0)
        && (o3 > 0.0) != (o4 > 0.0)
        && o1 != 0.0
        && o2 != 0.0
        && o3 != 0.0
        && o4 != 0.0;
    let touching = (o1 == 0.0 && within(a, b, c))
        || (o2 == 0.0 && within(a, b, d))
        || (o3 == 0.0 && within(c, d, a))
        || (o4 == 0.0 && within(c, d, b));
    proper || touching
}

/// Refuses an exterior ring whose inside, read as RFC 7946 reads it (the planar interior of
/// the lon/lat polygon), covers more than a hemisphere of the sphere once its edges are great
/// circles: the engine takes every ring to enclose less than a hemisphere and would otherwise
/// silently take the other side. `ring` is densified and closed.
pub fn check_hemisphere(name: &str, ring: &[[f64; 2]]) -> Result<(), GeoError> {
    let mut shoelace = 0.0;
    for w in ring.windows(2) {
        if let (Some(a), Some(b)) = (w.first(), w.get(1)) {
            shoelace += a[0] * b[1] - b[0] * a[1];
        }
    }
    let open = ring.get(..ring.len().saturating_sub(1)).unwrap_or(&[]);
    let right = super::world::right_area(super::world::d3_ring_sum(open));
    let four_pi = 4.0 * std::f64::consts::PI;
    // Counter-clockwise in the plane: the inside is on the left.
    let inside = if shoelace > 0.0 {
        four_pi - right
    } else {
        right
    };
    if inside > four_pi / 2.0 {
        return Err(refuse(
            name,
            format!(
                "its exterior ring encloses {:.0} % of the Earth, more than a hemisphere (split it, or check its coordinates)",
                100.0 * inside / four_pi
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_polygon(name: &str, rings: &[Vec<[f64; 2]>]) -> Result<(), GeoError> {
        check_feature(name, &[rings.to_vec()])
    }

    #[test]
    fn overlapping_polygons_of_one_feature_are_refused() {
        let a = vec![square(10.0, 10.0, 2.0)];
        let b = vec![square(11.0, 11.0, 2.0)];
        assert!(check_feature("two", &[a.clone(), b]).is_err());
        let inner = vec![square(10.5, 10.5, 0.5)];
        assert!(check_feature("nested", &[a, inner]).is_err());
        // An island in a lake: a second polygon inside the first one's hole.
        let lake = vec![square(0.0, 0.0, 10.0), square(2.0, 2.0, 6.0)];
        check_feature("ok", &[lake, vec![square(4.0, 4.0, 1.0)]]).unwrap();
    }

    #[test]
    fn a_dense_ring_is_checked_in_bounded_work() {
        // 40 000 vertices on a small circle: a grid sized to the edges compares few pairs (a
        // fixed 0.5° grid would compare all 8e8 pairs and be refused as too complex).
        let n = 40_000;
        let ring: Vec<[f64; 2]> = (0..=n)
            .map(|k| {
                let t = std::f64::consts::TAU * (k % n) as f64 / n as f64;
                [10.0 + 0.3 * t.cos(), 10.0 + 0.3 * t.sin()]
            })
            .collect();
        check_feature("dense", &[vec![ring]]).unwrap();
    }

    fn square(x: f64, y: f64, s: f64) -> Vec<[f64; 2]> {
        vec![[x, y], [x + s, y], [x + s, y + s], [x, y + s], [x, y]]
    }

    #[test]
    fn good_polygon_with_hole_passes() {
        check_polygon("ok", &[square(0.0, 0.0, 10.0), square(2.0, 2.0, 2.0)]).unwrap();
        // Two holes touching at a corner are allowed.
        check_polygon(
            "ok",
            &[
                square(0.0, 0.0, 10.0),
                square(2.0, 2.0, 2.0),
                square(4.0, 4.0, 2.0),
            ],
        )
        .unwrap();
    }

    #[test]
    fn defects_are_refused() {
        let eight = vec![[0.0, 0.0], [2.0, 2.0], [2.0, 0.0], [0.0, 2.0], [0.0, 0.0]];
        assert!(check_polygon("eight", &[eight]).is_err());
        let outside = [square(0.0, 0.0, 10.0), square(20.0, 20.0, 2.0)];
        assert!(check_polygon("outside", &outside).is_err());
        let overlapping = [
            square(0.0, 0.0, 10.0),
            square(2.0, 2.0, 3.0),
            square(3.0, 3.0, 3.0),
        ];
        assert!(check_polygon("overlap", &overlapping).is_err());
        let nested = [
            square(0.0, 0.0, 10.0),
            square(2.0, 2.0, 5.0),
            square(3.0, 3.0, 1.0),
        ];
        assert!(check_polygon("nested", &nested).is_err());
        let crossing_exterior = [square(0.0, 0.0, 10.0), square(8.0, 8.0, 4.0)];
        assert!(check_polygon("cross", &crossing_exterior).is_err());
    }
}
