//! Caps in metres on the WGS84 ellipsoid, their sound conversion to unit-sphere caps, and the
//! feasible region `F = ∩ caps`: emptiness, a representative point, an enclosing circle.
//!
//! # Why the spherical caps contain the geodesic ones
//!
//! Put a point at geodetic latitude φ and longitude λ on the unit sphere at spherical
//! coordinates (φ, λ). The unit sphere's line element `dφ² + cos²φ dλ²` is at most `1/M(φ)²`
//! times the ellipsoid's `M² dφ² + N² cos²φ dλ²`, because the meridional radius `M(φ)` never
//! exceeds the prime-vertical radius `N(φ)` (see [`meridional_radius`]). So a curve of
//! ellipsoidal length `s` along which `M ≥ M₀` is at most `s / M₀` long on the unit sphere.
//!
//! Take a landmark C and a point P at geodesic distance `s ≤ r`. Every point Q of the geodesic
//! from C to P is within `r` of C, hence within angle `r / M_MIN` of C on the unit sphere
//! (`M_MIN = a(1−e²)` is the global minimum of `M`), hence `|φ_Q − φ_C| ≤ r / M_MIN`. Along the
//! geodesic therefore `|φ| ≥ φ_low = max(0, |φ_C| − r/M_MIN)` and `M ≥ M(φ_low)`, so
//! `angle(C, P) ≤ r / M(φ_low)`. That angle (plus [`FLOAT_SLACK_RAD`]) is the cap radius used
//! ([`outer_angle`]). At the equator this is `r/6 335 439 m`, i.e. the familiar 0.57 % inflation
//! over the mean radius (spherical/geodesic ratio 0.9955–1.0057); at high latitude it is
//! tighter, which keeps verdicts decisive.
//!
//! A ground distance `m` to be added as a margin (border data error) becomes at most
//! `m / M_MIN` radians by the same argument, and is added to every radius.
//!
//! Caps whose radius reaches a hemisphere are dropped: that only enlarges the region (sound)
//! and keeps every remaining cap strictly convex, so F is convex and connected.

use super::error::{check_lat_lon, GeoError};
use super::sphere::{angle, circle_intersections, meridional_radius, SphereCap, Vec3, M_MIN};
use std::f64::consts::FRAC_PI_2;

/// Absolute slack added to every cap radius, radians (≈ 6 mm), far above the rounding error of
/// the float computations (≈ 1e-15 rad).
pub const FLOAT_SLACK_RAD: f64 = 1e-9;

/// Extra tolerance when testing whether a candidate point lies in F (radians, ≈ 6 mm): computed
/// circle intersections may be off by rounding; a true point of F is never rejected.
pub const POINT_TOLERANCE_RAD: f64 = 1e-9;

/// Border quantisation margin, metres. world-atlas 10m quantises to a grid of
/// 360°/99 999 × 168.86°/99 999 (≈ 400 m × 188 m at the equator); the diagonal of one cell,
/// ≈ 443 m, bounds how far a stored vertex is from the source vertex, rounded up.
pub const QUANTISATION_MARGIN_M: f64 = 450.0;

/// Arc-versus-segment margin, metres: the largest distance between a world-atlas edge read as a
/// great-circle arc (as d3-geo does) and read as a straight lon/lat segment is 47.8 m (measured
/// over all 472 660 edges; the edge 16.04°E 66.89°N → 15.67°E 66.60°N), rounded up.
pub const ARC_SEGMENT_MARGIN_M: f64 = 50.0;

/// The built-in border margin: quantisation plus arc/segment ambiguity. A policy's
/// `border_margin_km` is added on top.
pub const BUILTIN_BORDER_MARGIN_M: f64 = QUANTISATION_MARGIN_M + ARC_SEGMENT_MARGIN_M;

/// A disc on the WGS84 ellipsoid: every point within geodesic distance `radius_m` of the centre.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cap {
    /// Geodetic latitude of the centre, degrees.
    pub center_lat: f64,
    /// Longitude of the centre, degrees.
    pub center_lon: f64,
    /// Geodesic radius, metres.
    pub radius_m: f64,
}

impl Cap {
    /// A validated cap: finite in-range coordinates, finite non-negative radius.
    pub fn new(center_lat: f64, center_lon: f64, radius_m: f64) -> Result<Cap, GeoError> {
        let c = Cap {
            center_lat,
            center_lon,
            radius_m,
        };
        c.validate()?;
        Ok(c)
    }

    /// Rejects NaN, infinite or out-of-range coordinates and negative or non-finite radii.
    pub fn validate(&self) -> Result<(), GeoError> {
        check_lat_lon(self.center_lat, self.center_lon)?;
        if self.radius_m.is_nan() || self.radius_m < 0.0 || !self.radius_m.is_finite() {
            return Err(GeoError::BadRadius(format!("{} m", self.radius_m)));
        }
        Ok(())
    }
}

/// The unit-sphere angle that contains every point within geodesic `radius_m` of a centre at
/// latitude `center_lat_deg` (see the module docs for the proof).
pub fn outer_angle(center_lat_deg: f64, radius_m: f64) -> f64 {
    let band = radius_m / M_MIN;
    let low = (center_lat_deg.to_radians().abs() - band).max(0.0);
    radius_m / meridional_radius(low) + FLOAT_SLACK_RAD
}

/// Whether a cap constrains anything: its unit-sphere cap stays below a hemisphere (larger caps
/// are dropped by [`sphere_caps`], so they exclude no point).
pub fn constrains(cap: &Cap) -> bool {
    let theta = outer_angle(cap.center_lat, cap.radius_m);
    theta.is_finite() && theta < FRAC_PI_2 - 1e-6
}

/// Unit-sphere caps containing the caps (each grown by `extra_m` metres of ground), smallest
/// first; caps that would reach a hemisphere, and all but the [`MAX_CAPS`] smallest, are
/// dropped (sound: F only grows).
pub fn sphere_caps(caps: &[Cap], extra_m: f64) -> Vec<SphereCap> {
    let extra = extra_m.max(0.0) / M_MIN;
    let mut out: Vec<SphereCap> = caps
        .iter()
        .filter(|c| constrains(c))
        .filter_map(|c| {
            let theta = outer_angle(c.center_lat, c.radius_m) + extra;
            (theta.is_finite() && theta < FRAC_PI_2 - 1e-6).then(|| SphereCap {
                center: Vec3::from_lat_lon_deg(c.center_lat, c.center_lon),
                theta,
            })
        })
        .collect();
    out.sort_by(|a, b| a.theta.total_cmp(&b.theta));
    // Bound the work (the emptiness test is cubic in the number of caps): keep the smallest.
    // Dropping caps only enlarges F, so this is sound.
    out.truncate(MAX_CAPS);
    out
}

/// At most this many caps (the smallest) take part in a verdict; see [`sphere_caps`].
pub const MAX_CAPS: usize = 128;

/// Minimum over caps of (radius − angle to `p`): positive inside all caps.
fn depth(caps: &[SphereCap], p: Vec3) -> f64 {
    caps.iter()
        .map(|c| c.theta - angle(c.center, p))
        .fold(f64::INFINITY, f64::min)
}

/// A point of `∩ caps` (up to [`POINT_TOLERANCE_RAD`]), or `None` if the intersection is
/// provably empty. With no caps the intersection is the sphere and any point will do.
///
/// Completeness: a non-empty intersection of convex caps either has a vertex, where two
/// boundary circles cross, or is bounded by one whole circle, in which case it is that cap and
/// holds its centre. So it suffices to test every centre and every pairwise crossing; the
/// crossings are computed without cancellation ([`circle_intersections`]) and tested with a
/// tolerance, so rounding cannot make a feasible region "empty". Among the points found, the
/// normalised mean (inside F by convexity when it passes the test) or else the deepest is
/// returned, so the point is representative rather than on the edge.
pub fn find_point(caps: &[SphereCap]) -> Option<Vec3> {
    if caps.is_empty() {
        return Some(Vec3::NORTH);
    }
    // Chord tests (a few flops each) with the tolerance; exact angles only for the final pick.
    let limits: Vec<(Vec3, f64)> = caps
        .iter()
        .map(|c| (c.center, c.chord2(POINT_TOLERANCE_RAD)))
        .collect();
    let ok = |p: Vec3| limits.iter().all(|(c, l)| p.dist2(*c) <= *l);
    let mut found: Vec<Vec3> = Vec::new();
    for c in caps {
        if ok(c.center) {
            found.push(c.center);
        }
    }
    for (i, a) in caps.iter().enumerate() {
        for b in caps.iter().skip(i + 1) {
            for p in circle_intersections(a, b) {
                if ok(p) {
                    found.push(p);
                }
            }
        }
    }
    if found.is_empty() {
        return None;
    }
    let mut sum = Vec3::new(0.0, 0.0, 0.0);
    for p in &found {
        sum = sum.plus(*p);
    }
    if let Some(m) = sum.normalized() {
        if depth(caps, m) >= 0.0 {
            return Some(m);
        }
    }
    found
        .into_iter()
        .max_by(|a, b| depth(caps, *a).total_cmp(&depth(caps, *b)))
}

/// What a map or an impossible-travel check needs to know about a feasible region.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RegionSummary {
    /// A representative point of F (latitude, degrees).
    pub lat: f64,
    /// A representative point of F (longitude, degrees).
    pub lon: f64,
    /// A geodesic circle that contains all of F: the smallest input cap (F lies in every cap,
    /// so this is exact, not an approximation).
    pub enclosing: Cap,
}

/// A representative point and an enclosing circle of `F = ∩ caps`, or `None` if F is provably
/// empty. With no caps, or only caps of a hemisphere or more, F may be anywhere.
pub fn feasible_region_summary(caps: &[Cap]) -> Result<Option<RegionSummary>, GeoError> {
    for c in caps {
        c.validate()?;
    }
    let sphere = sphere_caps(caps, 0.0);
    let Some(p) = find_point(&sphere) else {
        return Ok(None);
    };
    let (lat, lon) = p.to_lat_lon_deg();
    let enclosing = caps
        .iter()
        .copied()
        .min_by(|a, b| a.radius_m.total_cmp(&b.radius_m))
        .unwrap_or(Cap {
            center_lat: lat,
            center_lon: lon,
            radius_m: f64::INFINITY,
        });
    Ok(Some(RegionSummary {
        lat,
        lon,
        enclosing,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outer_angle_is_tighter_at_high_latitude() {
        let eq = outer_angle(0.0, 100_000.0);
        let hi = outer_angle(70.0, 100_000.0);
        assert!((eq * M_MIN - 100_000.0).abs() < 0.01);
        assert!(hi < eq);
    }

    #[test]
    fn empty_and_nonempty() {
        let r = |km: f64| km * 1000.0;
        let a = Cap::new(0.0, 0.0, r(100.0)).unwrap();
        let b = Cap::new(0.0, 1.5, r(100.0)).unwrap();
        let c = Cap::new(0.0, 3.0, r(100.0)).unwrap();
        assert!(find_point(&sphere_caps(&[a, b], 0.0)).is_some());
        assert!(find_point(&sphere_caps(&[a, c], 0.0)).is_none());
        // Nested caps: the inner centre.
        let d = Cap::new(0.1, 0.1, r(10.0)).unwrap();
        assert!(find_point(&sphere_caps(&[a, d], 0.0)).is_some());
        // Identical point caps.
        let p = Cap::new(10.0, 20.0, 0.0).unwrap();
        assert!(find_point(&sphere_caps(&[p, p], 0.0)).is_some());
        assert!(Cap::new(f64::NAN, 0.0, 1.0).is_err());
        assert!(Cap::new(0.0, 0.0, -1.0).is_err());
    }
}
