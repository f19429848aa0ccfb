//! Unit-sphere geometry: unit vectors, great-circle arcs, spherical caps, and the WGS84
//! constants that tie angles on the unit sphere to metres on the ellipsoid.
//!
//! Every function here is written to avoid subtracting nearly equal numbers: angles come from
//! `atan2(|a×b|, a·b)` rather than `acos(a·b)`, and half-widths from products of half-angle
//! sines (see [`half_width`]), so tiny and near-coincident caps keep their precision.

/// WGS84 semi-major axis, metres.
pub const WGS84_A: f64 = 6_378_137.0;
/// WGS84 flattening.
pub const WGS84_F: f64 = 1.0 / 298.257_223_563;
/// WGS84 first eccentricity squared, `f (2 − f)`.
pub const WGS84_E2: f64 = WGS84_F * (2.0 - WGS84_F);
/// The smallest radius of curvature of WGS84: the meridional radius at the equator,
/// `a (1 − e²)` ≈ 6 335 439 m. Dividing a geodesic length by it over-estimates its angle on the
/// unit sphere (see [`meridional_radius`]).
pub const M_MIN: f64 = WGS84_A * (1.0 - WGS84_E2);

/// Meridional radius of curvature `M(φ) = a (1 − e²) / (1 − e² sin² φ)^{3/2}` at geodetic
/// latitude `lat_rad`, metres.
///
/// `M(φ) ≤ N(φ)` (the prime-vertical radius) everywhere, so on the unit sphere whose
/// coordinates are the geodetic latitude and longitude, the line element
/// `dφ² + cos²φ dλ²` is at most `1/M(φ)²` times the ellipsoid's `M² dφ² + N² cos²φ dλ²`. Hence a
/// curve of ellipsoidal length `s` along which `M ≥ M₀` has unit-sphere length at most `s / M₀`:
/// the basis of every radius bound in [`crate::geo::region`].
pub fn meridional_radius(lat_rad: f64) -> f64 {
    let s = lat_rad.sin();
    let w2 = 1.0 - WGS84_E2 * s * s;
    M_MIN / (w2 * w2.sqrt())
}

/// A vector in 3-space; as a point, a unit vector from the Earth's centre (x towards lon 0 on the
/// equator, z towards the North Pole).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Vec3 {
    /// x component.
    pub x: f64,
    /// y component.
    pub y: f64,
    /// z component.
    pub z: f64,
}

impl Vec3 {
    /// The North Pole.
    pub const NORTH: Vec3 = Vec3 {
        x: 0.0,
        y: 0.0,
        z: 1.0,
    };

    /// A vector from its components.
    pub const fn new(x: f64, y: f64, z: f64) -> Self {
        Vec3 { x, y, z }
    }

    /// The unit vector at a latitude and longitude in degrees (treated as spherical coordinates).
    pub fn from_lat_lon_deg(lat: f64, lon: f64) -> Self {
        let (sl, cl) = lat.to_radians().sin_cos();
        let (so, co) = lon.to_radians().sin_cos();
        Vec3::new(cl * co, cl * so, sl)
    }

    /// Latitude and longitude in degrees of this (non-zero) vector's direction; longitude in
    /// (−180, 180].
    pub fn to_lat_lon_deg(self) -> (f64, f64) {
        let lat = self.z.atan2(self.x.hypot(self.y)).to_degrees();
        let lon = if self.x == 0.0 && self.y == 0.0 {
            0.0
        } else {
            self.y.atan2(self.x).to_degrees()
        };
        (lat, if lon <= -180.0 { lon + 360.0 } else { lon })
    }

    /// Dot product.
    pub fn dot(self, o: Vec3) -> f64 {
        self.x * o.x + self.y * o.y + self.z * o.z
    }

    /// Cross product.
    pub fn cross(self, o: Vec3) -> Vec3 {
        Vec3::new(
            self.y * o.z - self.z * o.y,
            self.z * o.x - self.x * o.z,
            self.x * o.y - self.y * o.x,
        )
    }

    /// Euclidean length (for vectors of moderate size, as all here are: no overflow guard).
    pub fn norm(self) -> f64 {
        self.dot(self).sqrt()
    }

    /// Squared Euclidean distance to `o`: the squared chord, accurate for nearby points.
    pub fn dist2(self, o: Vec3) -> f64 {
        let (dx, dy, dz) = (self.x - o.x, self.y - o.y, self.z - o.z);
        dx * dx + dy * dy + dz * dz
    }

    /// `self · k`.
    pub fn scale(self, k: f64) -> Vec3 {
        Vec3::new(self.x * k, self.y * k, self.z * k)
    }

    /// `self + o`.
    pub fn plus(self, o: Vec3) -> Vec3 {
        Vec3::new(self.x + o.x, self.y + o.y, self.z + o.z)
    }

    /// `self − o`.
    pub fn minus(self, o: Vec3) -> Vec3 {
        Vec3::new(self.x - o.x, self.y - o.y, self.z - o.z)
    }

    /// This vector scaled to length one, or `None` if it is (numerically) zero.
    pub fn normalized(self) -> Option<Vec3> {
        let n = self.norm();
        if n > 1e-300 && n.is_finite() {
            Some(self.scale(1.0 / n))
        } else {
            None
        }
    }
}

/// The angle in radians between two unit vectors, accurate for tiny and near-π angles alike.
pub fn angle(a: Vec3, b: Vec3) -> f64 {
    a.cross(b).norm().atan2(a.dot(b))
}

/// Half the angular length of the arc that a circle of angular radius `theta` cuts from a great
/// circle whose closest approach to the circle's centre is `beta ≥ 0`; `None` if they do not
/// meet.
///
/// From the right spherical triangle `cos θ = cos β · cos h`:
/// `sin²(h/2) = sin((θ+β)/2) · sin((θ−β)/2) / cos β`, which keeps full relative precision when
/// `θ` and `β` are tiny or nearly equal (the naive `acos(cos θ / cos β)` does not).
/// Requires `theta < π/2` and `beta < π/2`.
pub fn half_width(theta: f64, beta: f64) -> Option<f64> {
    if beta > theta {
        return None;
    }
    let q = ((theta + beta) * 0.5).sin() * ((theta - beta) * 0.5).sin() / beta.cos();
    if q.is_nan() || q < 0.0 {
        return None;
    }
    Some(2.0 * q.sqrt().min(1.0).asin())
}

/// A spherical cap on the unit sphere: every point within angle `theta` of `center`.
/// Caps used by the engine have `theta < π/2`, so each is strictly convex.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SphereCap {
    /// Unit vector of the centre.
    pub center: Vec3,
    /// Angular radius in radians.
    pub theta: f64,
}

impl SphereCap {
    /// Whether `p` lies within the cap widened by `tol` radians.
    pub fn contains(&self, p: Vec3, tol: f64) -> bool {
        angle(self.center, p) <= self.theta + tol
    }

    /// The squared chord `(2 sin((θ + tol)/2))²` of the cap widened by `tol`: `p` is in the
    /// widened cap iff `p.dist2(center)` is at most this (for θ + tol ≤ π). Cheaper than
    /// [`SphereCap::contains`] and as precise for small caps (no `1 − cos` cancellation).
    pub fn chord2(&self, tol: f64) -> f64 {
        let s = ((self.theta + tol).min(std::f64::consts::PI) * 0.5).sin();
        4.0 * s * s
    }
}

/// The (at most two) points where the boundaries of two caps cross; empty if they do not, or
/// if the centres coincide. Computed in the frame of the two centres with atan2 and half-angle
/// products, so near-coincident and tiny caps do not lose their intersection to cancellation.
pub fn circle_intersections(c1: &SphereCap, c2: &SphereCap) -> Vec<Vec3> {
    let cr = c1.center.cross(c2.center);
    let sin_d = cr.norm();
    let Some(n) = cr.normalized() else {
        return Vec::new();
    };
    if sin_d < 1e-300 {
        return Vec::new();
    }
    let d = sin_d.atan2(c1.center.dot(c2.center));
    let w = n.cross(c1.center);
    let hs = |x: f64| {
        let s = (x * 0.5).sin();
        s * s
    };
    let (s1, s2, sd) = (hs(c1.theta), hs(c2.theta), hs(d));
    // cos θ2 − cos θ1 cos d, written without cancellation of the leading 1s.
    let num = 2.0 * (s1 + sd - s2 - 2.0 * s1 * sd);
    let alpha = num.atan2(c1.theta.cos() * d.sin());
    let h = match half_width(c1.theta, alpha.abs()) {
        Some(h) => h,
        // Tangent within rounding: report the touching point.
        None if alpha.abs() - c1.theta <= 1e-12 => 0.0,
        None => return Vec::new(),
    };
    let foot = c1.center.scale(alpha.cos()).plus(w.scale(alpha.sin()));
    let (sh, ch) = h.sin_cos();
    let mut out = Vec::with_capacity(2);
    for sign in [1.0, -1.0] {
        if let Some(p) = foot.scale(ch).plus(n.scale(sign * sh)).normalized() {
            out.push(p);
        }
    }
    out
}

/// A great-circle arc from `a` to `b` (the shorter way), prepared for cap intersection.
#[derive(Clone, Copy, Debug)]
pub struct GreatArc {
    /// Start point.
    pub a: Vec3,
    /// Unit tangent at `a`, towards `b`; zero for a degenerate arc.
    pub w: Vec3,
    /// Unit normal of the arc's plane (`a × b` normalised); zero for a degenerate arc.
    pub n: Vec3,
    /// Angular length in radians.
    pub len: f64,
}

impl GreatArc {
    /// The arc from `a` to `b`. Arcs shorter than about 1e-15 rad are treated as the point `a`.
    pub fn new(a: Vec3, b: Vec3) -> Self {
        let cr = a.cross(b);
        let len = cr.norm().atan2(a.dot(b));
        match cr.normalized() {
            Some(n) if len > 1e-15 => GreatArc {
                a,
                w: n.cross(a),
                n,
                len,
            },
            _ => GreatArc {
                a,
                w: Vec3::new(0.0, 0.0, 0.0),
                n: Vec3::new(0.0, 0.0, 0.0),
                len: 0.0,
            },
        }
    }

    /// The point at angular distance `t` from `a` along the arc.
    pub fn point(&self, t: f64) -> Vec3 {
        if self.len == 0.0 {
            return self.a;
        }
        let (s, c) = t.sin_cos();
        self.a.scale(c).plus(self.w.scale(s))
    }

    /// The parameter interval `[lo, hi] ⊆ [0, len]` of the arc inside `cap` (θ < π/2), if any.
    ///
    /// A cap smaller than a hemisphere meets a great circle in one arc shorter than π, and the
    /// arc itself is shorter than π, so the intersection is a single interval.
    pub fn cap_interval(&self, cap: &SphereCap) -> Option<(f64, f64)> {
        if self.len == 0.0 {
            return if cap.contains(self.a, 0.0) {
                Some((0.0, 0.0))
            } else {
                None
            };
        }
        let c = cap.center;
        let (ca, cw, cn) = (c.dot(self.a), c.dot(self.w), c.dot(self.n));
        let cos_beta = (ca * ca + cw * cw).sqrt();
        let beta = cn.abs().atan2(cos_beta);
        let h = half_width(cap.theta, beta)?;
        let t0 = cw.atan2(ca);
        let tau = std::f64::consts::TAU;
        for shift in [0.0, tau, -tau] {
            let lo = (t0 - h + shift).max(0.0);
            let hi = (t0 + h + shift).min(self.len);
            if lo <= hi {
                return Some((lo, hi));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cap(lat: f64, lon: f64, theta: f64) -> SphereCap {
        SphereCap {
            center: Vec3::from_lat_lon_deg(lat, lon),
            theta,
        }
    }

    #[test]
    fn round_trip_and_angle() {
        let p = Vec3::from_lat_lon_deg(50.1, 8.68);
        let (lat, lon) = p.to_lat_lon_deg();
        assert!((lat - 50.1).abs() < 1e-12 && (lon - 8.68).abs() < 1e-12);
        let q = Vec3::from_lat_lon_deg(50.1, 8.68 + 1e-9);
        let a = angle(p, q);
        assert!((a - 1e-9f64.to_radians() * 50.1f64.to_radians().cos()).abs() < 1e-15);
        let lon180 = Vec3::from_lat_lon_deg(10.0, 180.0);
        let lonm180 = Vec3::from_lat_lon_deg(10.0, -180.0);
        assert!(angle(lon180, lonm180) < 1e-15);
    }

    #[test]
    fn m_min_is_the_smallest_radius() {
        assert!((M_MIN - 6_335_439.327).abs() < 0.01);
        assert!((meridional_radius(std::f64::consts::FRAC_PI_2) - 6_399_593.626).abs() < 0.01);
        assert!(meridional_radius(0.7) > M_MIN);
    }

    #[test]
    fn near_coincident_tiny_caps_intersect() {
        // Two 10 m caps 1 mm apart: their boundaries cross; naive formulas lose this.
        let r: f64 = 10.0 / 6.371e6;
        let a = cap(45.0, 10.0, r);
        let off: f64 = 1e-3 / 6.371e6;
        let b = SphereCap {
            center: Vec3::from_lat_lon_deg(
                45.0,
                10.0 + off.to_degrees() / 45f64.to_radians().cos(),
            ),
            theta: r,
        };
        let pts = circle_intersections(&a, &b);
        assert_eq!(pts.len(), 2);
        for p in pts {
            assert!((angle(p, a.center) - r).abs() < 1e-15);
            assert!((angle(p, b.center) - r).abs() < 1e-15);
        }
    }

    #[test]
    fn arc_cap_interval() {
        let a = Vec3::from_lat_lon_deg(0.0, 0.0);
        let b = Vec3::from_lat_lon_deg(0.0, 10.0);
        let arc = GreatArc::new(a, b);
        let c = cap(1.0, 5.0, 2f64.to_radians());
        let (lo, hi) = arc.cap_interval(&c).expect("meets");
        let mid = (lo + hi) / 2.0;
        assert!((mid - 5f64.to_radians()).abs() < 1e-12);
        assert!(arc
            .cap_interval(&cap(3.0, 5.0, 2f64.to_radians()))
            .is_none());
        assert!(arc
            .cap_interval(&cap(0.0, 20.0, 2f64.to_radians()))
            .is_none());
        // Across the antimeridian.
        let arc = GreatArc::new(
            Vec3::from_lat_lon_deg(0.0, 179.0),
            Vec3::from_lat_lon_deg(0.0, -179.0),
        );
        assert!(arc.cap_interval(&cap(0.0, 180.0, 0.001)).is_some());
        assert!(arc.cap_interval(&cap(0.0, 0.0, 0.5)).is_none());
    }
}
