//! The report's world map as inline SVG, equirectangular: country borders from a
//! [`World`], the policy's permitted and forbidden regions shaded, landmarks as markers and each
//! chip's latest feasible region as a geodesic circle coloured by the chip's status.
//!
//! Coordinates are on a grid of 0.05° (20 units per degree, so the map is 7200 × 3600 units);
//! consecutive points that fall on the same grid point are dropped, which keeps the 1:10m
//! borders to a size a browser opens instantly. Rings that cross the antimeridian (or wind
//! around a pole) are unwrapped into continuous longitudes and drawn once more shifted by 360°
//! on the side they overflow; the SVG clips at its edges, so no streak crosses the map.

use super::{latest_region, utc};
use crate::audit::model::{AuditReport, ChipReport, ChipStatus, EpochReport, RegionReport};
use crate::geo::names::{resolve, Role};
use crate::geo::Names;
use crate::geo::World;
use std::f64::consts::PI;
use std::fmt::Write as _;

/// Map units per degree.
const U: f64 = 20.0;
/// Map width in units (360°).
pub const MAP_W: i64 = 7200;
/// Map height in units (180°).
pub const MAP_H: i64 = 3600;
/// Mean Earth radius, metres (IUGG), for drawing circles on the sphere.
const EARTH_RADIUS_M: f64 = 6_371_008.8;
/// Radius of the smallest circle drawn, map units (0.3°): smaller regions are drawn this size
/// so that they stay visible (their tooltips and tables give the true radius).
const MIN_RING_UNITS: f64 = 6.0;
/// Points on a drawn circle.
const CIRCLE_POINTS: usize = 240;

/// The rendered map, its detail views and what could not be drawn.
#[derive(Clone, Debug, Default)]
pub struct Map {
    /// The world map: one `<svg>` element (styled by the CSS classes of the HTML report). Its
    /// land and region layers have the ids `lc-land` and `lc-regions`, which the detail views
    /// reuse, so they must sit in the same document.
    pub svg: String,
    /// Close-ups of clusters of chip regions that are small on the world map, worst first.
    pub details: Vec<Detail>,
    /// Sentences about shapes that were left out (unknown region names, non-finite
    /// coordinates); the tables still show those rows.
    pub notes: Vec<String>,
}

/// A close-up of part of the world map.
#[derive(Clone, Debug, Default)]
pub struct Detail {
    /// One `<svg>` element that reuses the world map's layers.
    pub svg: String,
    /// What it shows, in words.
    pub caption: String,
}

/// The CSS class of a chip status on the map and in the tables.
pub fn status_class(status: ChipStatus) -> &'static str {
    status.as_str()
}

/// A box in map units: (x0, y0, x1, y1).
type BBox = (f64, f64, f64, f64);

/// A chip region that can be drawn.
struct Shape<'a> {
    chip: &'a ChipReport,
    epoch: &'a EpochReport,
    region: &'a RegionReport,
}

impl Shape<'_> {
    fn radius_deg(&self) -> f64 {
        (self.region.circle_radius_m / EARTH_RADIUS_M)
            .to_degrees()
            .min(180.0)
    }

    /// Projected bounding box (x0, y0, x1, y1) in map units; x may run past the map's edges.
    fn bbox(&self) -> BBox {
        let r = self.radius_deg();
        let (x, y) = project(self.region.circle_lon, self.region.circle_lat);
        let cos = self.region.circle_lat.to_radians().cos().max(1e-6);
        let rx = (r / cos).min(180.0) * U;
        let ry = r * U;
        (
            x - rx,
            (y - ry).max(0.0),
            x + rx,
            (y + ry).min(MAP_H as f64),
        )
    }
}

/// Widest cluster of regions a detail view is made for, degrees of longitude.
const DETAIL_MAX_W_DEG: f64 = 40.0;
/// Tallest cluster of regions a detail view is made for, degrees of latitude.
const DETAIL_MAX_H_DEG: f64 = 28.0;
/// Most chip regions drawn on the map (the worst statuses are kept).
const REGIONS_MAX: usize = 3_000;
/// Most detail views drawn.
const DETAILS_MAX: usize = 4;

/// Draws the map of `report` over the borders of `world`, with close-ups of small clusters.
pub fn world_map(report: &AuditReport, world: &World) -> Map {
    let mut notes = Vec::new();
    let n = world.features().len();
    let forbidden = resolve_all(world, &report.policy.forbidden, Role::Forbidden, &mut notes);
    let permitted = if report.policy.permitted.iter().any(|p| p.trim() == "*") {
        vec![false; n]
    } else {
        resolve_all(world, &report.policy.permitted, Role::Permitted, &mut notes)
    };

    // Chip regions, the problems last so they are drawn on top.
    let mut chips: Vec<&ChipReport> = report.chips.iter().collect();
    chips.sort_by_key(|c| {
        std::cmp::Reverse(super::STATUS_ORDER.iter().position(|&x| x == c.status))
    });
    chips.sort_by_key(|c| c.status != ChipStatus::Verified);
    let mut shapes = Vec::new();
    for chip in chips {
        let Some((epoch, region)) = latest_region(chip) else {
            continue;
        };
        // A region with non-finite or out-of-range numbers is not drawn (the tables still list
        // the chip): drawing it would put garbage, or NaN, into the path.
        if !valid_point(region.circle_lat, region.circle_lon)
            || !region.circle_radius_m.is_finite()
            || region.circle_radius_m < 0.0
        {
            notes.push(format!(
                "chip {}: region not drawn (invalid coordinates or radius)",
                chip.chip_id
            ));
            continue;
        }
        shapes.push(Shape {
            chip,
            epoch,
            region,
        });
    }

    // A fleet of thousands would bury the map: keep the problems and the latest verified.
    if shapes.len() > REGIONS_MAX {
        notes.push(format!(
            "{} chip regions (verified ones; drawn: the other {REGIONS_MAX})",
            shapes.len() - REGIONS_MAX
        ));
        shapes.drain(..shapes.len() - REGIONS_MAX);
    }

    // Crop the empty polar bands unless something is drawn there.
    let mut top: f64 = 84.0;
    let mut bottom: f64 = -58.0;
    for sh in &shapes {
        top = top.max(sh.region.circle_lat + sh.radius_deg() + 3.0);
        bottom = bottom.min(sh.region.circle_lat - sh.radius_deg() - 3.0);
    }
    for l in report
        .landmarks
        .iter()
        .filter(|l| valid_point(l.lat, l.lon))
    {
        top = top.max(l.lat + 3.0);
        bottom = bottom.min(l.lat - 3.0);
    }
    let (top, bottom) = (top.min(90.0), bottom.max(-90.0));
    let y0 = ((90.0 - top) * U).round() as i64;
    let h = ((top - bottom) * U).round() as i64;

    let mut s = String::with_capacity(1 << 20);
    let _ = write!(
        s,
        "<svg class=\"map\" viewBox=\"0 {y0} {MAP_W} {h}\" preserveAspectRatio=\"xMidYMid meet\" \
         overflow=\"hidden\" role=\"img\" aria-label=\"World map of chip regions and landmarks\">\
         <rect class=\"sea\" x=\"0\" y=\"0\" width=\"{MAP_W}\" height=\"{MAP_H}\"/>"
    );
    // Graticule every 30°.
    s.push_str("<path class=\"grid\" d=\"");
    for k in 1..12 {
        let _ = write!(s, "M{} 0V{MAP_H}", k * MAP_W / 12);
    }
    for k in 1..6 {
        let _ = write!(s, "M0 {}H{MAP_W}", k * MAP_H / 6);
    }
    s.push_str("\"/>");
    land(&mut s, world, &forbidden, &permitted);

    overlay(&mut s, report, &shapes, 1.0, &[0.0], &mut notes, true);
    s.push_str("<g id=\"lc-regions\">");
    for sh in &shapes {
        let (chip, epoch, r) = (sh.chip, sh.epoch, sh.region);
        let d = circle_path(r.circle_lat, r.circle_lon, r.circle_radius_m);
        let _ = write!(
            s,
            "<path class=\"region {}\" fill-rule=\"evenodd\" d=\"{d}\"><title>chip {} — {}\n\
             epoch {} ({})\nwithin {:.0} km of {:.3}, {:.3}</title></path>",
            status_class(chip.status),
            super::escape(&chip.chip_id),
            chip.status.as_str(),
            utc(epoch.start_ns),
            super::escape(&epoch.verdict),
            r.circle_radius_m / 1000.0,
            r.circle_lat,
            r.circle_lon,
        );
    }
    s.push_str("</g>");
    overlay(&mut s, report, &shapes, 1.0, &[0.0], &mut notes, false);
    s.push_str("</svg>");

    let details = details(report, &shapes);
    Map {
        svg: s,
        details,
        notes,
    }
}

/// The countries as one group `lc-land`: forbidden and permitted ones last so their outlines
/// are not overdrawn.
fn land(s: &mut String, world: &World, forbidden: &[bool], permitted: &[bool]) {
    let n = world.features().len();
    let flag = |v: &[bool], i: usize| v.get(i).copied().unwrap_or(false);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (flag(forbidden, i), flag(permitted, i)));
    s.push_str("<g id=\"lc-land\">");
    for i in order {
        let Some(f) = world.features().get(i) else {
            continue;
        };
        let mut d = String::new();
        for ring in world.rings(i) {
            let pole = if mean_lat(&ring) < 0.0 { -90.0 } else { 90.0 };
            ring_path(&mut d, &ring, pole);
        }
        if d.is_empty() {
            continue;
        }
        let class = if flag(forbidden, i) {
            "c forbidden"
        } else if flag(permitted, i) {
            "c permitted"
        } else {
            "c"
        };
        let _ = write!(
            s,
            "<path class=\"{class}\" d=\"{d}\"><title>{}</title></path>",
            super::escape(&f.name)
        );
    }
    s.push_str("</g>");
}

/// Region dots, or (if `landmarks`) landmark markers, sized by `scale` (1 on the world map),
/// drawn at each of the longitude `shifts` (map units).
fn overlay(
    s: &mut String,
    report: &AuditReport,
    shapes: &[Shape<'_>],
    scale: f64,
    shifts: &[f64],
    notes: &mut Vec<String>,
    landmarks: bool,
) {
    s.push_str("<g class=\"marks\">");
    if landmarks {
        landmark_marks(s, report, scale, shifts, notes);
        s.push_str("</g>");
        return;
    }
    for &dx in shifts {
        for sh in shapes {
            let r = sh.region;
            if !valid_point(r.lat, r.lon) {
                continue;
            }
            let (x, y) = project(r.lon, r.lat);
            let _ = write!(
                s,
                "<circle class=\"dot {}\" cx=\"{:.1}\" cy=\"{y:.1}\" r=\"{:.1}\"><title>chip {}</title></circle>",
                status_class(sh.chip.status),
                x + dx,
                12.0 * scale,
                super::escape(&sh.chip.chip_id)
            );
        }
    }
    s.push_str("</g>");
}

/// Landmark markers (warning diamonds for mispositioned ones) with short labels.
fn landmark_marks(
    s: &mut String,
    report: &AuditReport,
    scale: f64,
    shifts: &[f64],
    notes: &mut Vec<String>,
) {
    for l in &report.landmarks {
        if !valid_point(l.lat, l.lon) {
            if shifts.first() == Some(&0.0) && scale == 1.0 {
                notes.push(format!(
                    "landmark {}: not drawn (invalid coordinates)",
                    l.landmark_id
                ));
            }
            continue;
        }
        let ok = l.status == "ok";
        let title = super::escape(&format!(
            "landmark {} — {}\n{:.4}, {:.4} ±{} m{}",
            l.landmark_id,
            l.status,
            l.lat,
            l.lon,
            l.uncertainty_m,
            l.reason
                .as_deref()
                .map(|r| format!("\n{r}"))
                .unwrap_or_default()
        ));
        let short = super::escape(&l.landmark_id.chars().take(8).collect::<String>());
        let k = scale;
        for &dx in shifts {
            let (x, y) = project(l.lon, l.lat);
            let x = x + dx;
            if ok {
                let _ = write!(
                    s,
                    "<path class=\"lm\" d=\"M{x:.1} {:.1}l{:.1} {:.1}h{:.1}z\"><title>{title}</title></path>",
                    y - 30.0 * k,
                    26.0 * k,
                    45.0 * k,
                    -52.0 * k
                );
            } else {
                let _ = write!(
                    s,
                    "<path class=\"lm bad\" d=\"M{x:.1} {:.1}l{a:.1} {a:.1} {b:.1} {a:.1} {b:.1} {b:.1}z\">\
                     <title>{title}</title></path>",
                    y - 40.0 * k,
                    a = 40.0 * k,
                    b = -40.0 * k
                );
            }
            let _ = write!(
                s,
                "<text class=\"lmlabel{}\" x=\"{:.1}\" y=\"{:.1}\" style=\"font-size:{:.1}px;stroke-width:{:.1}px\">\
                 {short}</text>",
                if ok { "" } else { " bad" },
                x + 50.0 * k,
                y + 18.0 * k,
                64.0 * k,
                10.0 * k
            );
        }
    }
}

/// Close-ups of clusters of regions that are small on the world map: greedy clusters in the
/// order of `shapes` reversed (the worst statuses first), each at most
/// [`DETAIL_MAX_W_DEG`] × [`DETAIL_MAX_H_DEG`].
fn details(report: &AuditReport, shapes: &[Shape<'_>]) -> Vec<Detail> {
    let max_w = DETAIL_MAX_W_DEG * U;
    let max_h = DETAIL_MAX_H_DEG * U;
    let mut clusters: Vec<(BBox, Vec<&Shape<'_>>)> = Vec::new();
    for sh in shapes.iter().rev() {
        let b = sh.bbox();
        if b.2 - b.0 > max_w || b.3 - b.1 > max_h {
            continue;
        }
        let mut placed = false;
        for (cb, members) in &mut clusters {
            // Compare in the copy of the world nearest to the cluster.
            let shift = ((cb.0 + cb.2) / 2.0 - (b.0 + b.2) / 2.0) / MAP_W as f64;
            let dx = shift.round() * MAP_W as f64;
            let u = (
                cb.0.min(b.0 + dx),
                cb.1.min(b.1),
                cb.2.max(b.2 + dx),
                cb.3.max(b.3),
            );
            if u.2 - u.0 <= max_w && u.3 - u.1 <= max_h {
                *cb = u;
                members.push(sh);
                placed = true;
                break;
            }
        }
        if !placed {
            clusters.push((b, vec![sh]));
        }
    }
    let mut out = Vec::new();
    for (b, members) in clusters.into_iter().take(DETAILS_MAX) {
        // Pad by a quarter, at least 10° × 5°, aspect 2:1, inside the map vertically.
        let (cx, cy) = ((b.0 + b.2) / 2.0, (b.1 + b.3) / 2.0);
        let mut w = ((b.2 - b.0) * 1.5).max(10.0 * U);
        let mut h = ((b.3 - b.1) * 1.5).max(5.0 * U);
        w = w.max(2.0 * h);
        h = (w / 2.0).min(MAP_H as f64);
        let y = (cy - h / 2.0).clamp(0.0, MAP_H as f64 - h);
        let x = cx - w / 2.0;
        let scale = w / MAP_W as f64 * 3.5;
        let mut s = String::new();
        let _ = write!(
            s,
            "<svg class=\"map detail\" viewBox=\"{x:.0} {y:.0} {w:.0} {h:.0}\" overflow=\"hidden\" \
             role=\"img\" aria-label=\"Detail map\"><rect class=\"sea\" x=\"{x:.0}\" y=\"{y:.0}\" \
             width=\"{w:.0}\" height=\"{h:.0}\"/>"
        );
        let shifts = [-(MAP_W as f64), 0.0, MAP_W as f64];
        for dx in [-MAP_W, 0, MAP_W] {
            let _ = write!(s, "<use href=\"#lc-land\" x=\"{dx}\"/>");
        }
        overlay(
            &mut s,
            report,
            shapes,
            scale,
            &shifts,
            &mut Vec::new(),
            true,
        );
        for dx in [-MAP_W, 0, MAP_W] {
            let _ = write!(s, "<use href=\"#lc-regions\" x=\"{dx}\"/>");
        }
        overlay(
            &mut s,
            report,
            shapes,
            scale,
            &shifts,
            &mut Vec::new(),
            false,
        );
        s.push_str("</svg>");
        let lon = wrap180(cx / U - 180.0);
        let lat = 90.0 - cy / U;
        let mut counts: Vec<(ChipStatus, usize)> = Vec::new();
        for m in &members {
            match counts.iter_mut().find(|(st, _)| *st == m.chip.status) {
                Some(c) => c.1 += 1,
                None => counts.push((m.chip.status, 1)),
            }
        }
        let what: Vec<String> = counts
            .iter()
            .map(|(st, k)| format!("{k} {}", st.as_str()))
            .collect();
        let caption = format!(
            "around {:.1}°{}, {:.1}°{}: {}",
            lat.abs(),
            if lat >= 0.0 { "N" } else { "S" },
            lon.abs(),
            if lon >= 0.0 { "E" } else { "W" },
            what.join(", ")
        );
        out.push(Detail { svg: s, caption });
    }
    out
}

/// Feature flags for a list of region names; names the borders do not know are noted.
fn resolve_all(world: &World, list: &[String], role: Role, notes: &mut Vec<String>) -> Vec<bool> {
    let what = match role {
        Role::Permitted => "permitted",
        Role::Forbidden => "forbidden",
    };
    let mut flags = vec![false; world.features().len()];
    for name in list {
        match resolve(world, name, Names::Ear, role) {
            Ok(ids) => {
                for i in ids {
                    if let Some(f) = flags.get_mut(i) {
                        *f = true;
                    }
                }
            }
            Err(e) => notes.push(format!("{what} region {name:?} not shaded: {e}")),
        }
    }
    flags
}

fn valid_point(lat: f64, lon: f64) -> bool {
    lat.is_finite() && lon.is_finite() && lat.abs() <= 90.0 && lon.abs() <= 360.0
}

fn mean_lat(ring: &[(f64, f64)]) -> f64 {
    if ring.is_empty() {
        return 0.0;
    }
    ring.iter().map(|p| p.1).sum::<f64>() / ring.len() as f64
}

/// Map position of (longitude, latitude) in degrees.
fn project(lon: f64, lat: f64) -> (f64, f64) {
    ((lon + 180.0) * U, (90.0 - lat) * U)
}

/// `d` in (-180, 180].
fn wrap180(d: f64) -> f64 {
    let r = (d + 180.0).rem_euclid(360.0) - 180.0;
    if r == -180.0 {
        180.0
    } else {
        r
    }
}

/// Appends one closed ring, given as (longitude, latitude) degree pairs, to a path's `d`.
///
/// The ring is unwrapped into continuous longitudes. If it winds once around the poles, it is
/// closed over the pole at latitude `pole` (±90): that is the pole on the ring's inside. It is
/// then drawn at its own longitudes and shifted by ±360° wherever it overflows the map, on the
/// 0.05° grid, as relative moves. Rings with non-finite points, or that shrink to fewer than
/// three grid points, are skipped.
fn ring_path(d: &mut String, ring: &[(f64, f64)], pole: f64) -> bool {
    if ring.iter().any(|p| !p.0.is_finite() || !p.1.is_finite()) {
        return false;
    }
    let Some(&(lon0, _)) = ring.first() else {
        return false;
    };
    let mut un: Vec<(f64, f64)> = Vec::with_capacity(ring.len() + 2);
    let mut prev = lon0;
    let mut u = lon0;
    for &(lon, lat) in ring {
        u += wrap180(lon - prev);
        prev = lon;
        un.push((u, lat.clamp(-90.0, 90.0)));
    }
    // Closed rings end where they start; close an open one.
    if let (Some(&first), Some(&last)) = (ring.first(), ring.last()) {
        if first != last {
            u += wrap180(first.0 - last.0);
            un.push((u, first.1.clamp(-90.0, 90.0)));
        }
    }
    let winding = u - lon0;
    if winding.abs() > 180.0 {
        un.push((u, pole));
        un.push((lon0, pole));
    }
    // Grid points, consecutive duplicates dropped.
    let mut pts: Vec<(i64, i64)> = Vec::with_capacity(un.len());
    for &(lon, lat) in &un {
        let (x, y) = project(lon, lat);
        let p = (x.round() as i64, y.round() as i64);
        if pts.last() != Some(&p) {
            pts.push(p);
        }
    }
    while pts.len() > 1 && pts.first() == pts.last() {
        pts.pop();
    }
    if pts.len() < 3 {
        return false;
    }
    let min_x = pts.iter().map(|p| p.0).min().unwrap_or(0);
    let max_x = pts.iter().map(|p| p.0).max().unwrap_or(0);
    for k in -2..=2 {
        let shift = k * MAP_W;
        if max_x + shift <= 0 || min_x + shift >= MAP_W {
            continue;
        }
        let mut it = pts.iter();
        let Some(&(x0, y0)) = it.next() else { continue };
        let _ = write!(d, "M{} {}l", x0 + shift, y0);
        let (mut px, mut py) = (x0, y0);
        let mut first = true;
        for &(x, y) in it {
            num(d, x - px, first);
            num(d, y - py, false);
            first = false;
            px = x;
            py = y;
        }
        d.push('z');
    }
    true
}

/// Appends an integer to a path, separated from the previous number unless its sign does it.
fn num(d: &mut String, v: i64, first: bool) {
    if v >= 0 && !first {
        d.push(' ');
    }
    let _ = write!(d, "{v}");
}

/// The points of the circle of radius `radius_m` metres around (lat, lon) on the sphere, as
/// (longitude, latitude) degree pairs, closed (last = first); longitudes in [-180, 180].
/// Empty if the input is not finite.
pub fn circle_ring(lat: f64, lon: f64, radius_m: f64) -> Vec<(f64, f64)> {
    if !lat.is_finite() || !lon.is_finite() || !radius_m.is_finite() {
        return Vec::new();
    }
    let delta = (radius_m / EARTH_RADIUS_M).clamp(0.0, PI);
    let (phi1, lam1) = (lat.to_radians(), lon.to_radians());
    let (sin_d, cos_d) = delta.sin_cos();
    let (sin_p1, cos_p1) = phi1.sin_cos();
    let mut out = Vec::with_capacity(CIRCLE_POINTS + 1);
    for i in 0..=CIRCLE_POINTS {
        let theta = 2.0 * PI * (i % CIRCLE_POINTS) as f64 / CIRCLE_POINTS as f64;
        let sin_p2 = (sin_p1 * cos_d + cos_p1 * sin_d * theta.cos()).clamp(-1.0, 1.0);
        let phi2 = sin_p2.asin();
        let lam2 = lam1 + (theta.sin() * sin_d * cos_p1).atan2(cos_d - sin_p1 * sin_p2);
        out.push((wrap180(lam2.to_degrees()), phi2.to_degrees()));
    }
    out
}

/// The `d` of a geodesic circle's filled area (use `fill-rule="evenodd"`): a cap around one
/// pole is closed over that pole, a cap around both is the whole map minus the circle's
/// outside, and a tiny circle is a small visible ring at its centre.
fn circle_path(lat: f64, lon: f64, radius_m: f64) -> String {
    let delta = (radius_m / EARTH_RADIUS_M).clamp(0.0, PI);
    let colat_n = (90.0 - lat).to_radians();
    let colat_s = (90.0 + lat).to_radians();
    let (north, south) = (colat_n < delta, colat_s < delta);
    let mut d = String::new();
    if north && south {
        let _ = write!(d, "M0 0H{MAP_W}V{MAP_H}H0z");
    }
    let pole = if north && !south { 90.0 } else { -90.0 };
    // Circles smaller than the minimum ring are drawn as the minimum ring.
    let tiny = delta.to_degrees() * U < MIN_RING_UNITS;
    let drawn = !tiny && delta < PI && ring_path(&mut d, &circle_ring(lat, lon, radius_m), pole);
    if !(drawn || north && south) {
        let (x, y) = project(lon, lat);
        // A ring of 0.3° so that the region stays visible; its tooltip gives the true radius.
        let r = MIN_RING_UNITS;
        let _ = write!(
            d,
            "M{:.1} {y:.1}a{r} {r} 0 1 0 {} 0a{r} {r} 0 1 0-{} 0z",
            x - r,
            2.0 * r,
            2.0 * r
        );
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A subpath: start point and relative moves.
    type Sub = ((i64, i64), Vec<(i64, i64)>);

    /// The subpaths of a `d` written by [`ring_path`].
    fn subpaths(d: &str) -> Vec<Sub> {
        let mut out = Vec::new();
        for sub in d.split('M').filter(|p| !p.is_empty()) {
            let sub = sub.trim_end_matches('z');
            let (start, moves) = sub.split_once('l').unwrap();
            let mut it = start.split(' ').map(|v| v.parse::<i64>().unwrap());
            let start = (it.next().unwrap(), it.next().unwrap());
            // Numbers are separated by a space or by their own minus sign.
            let nums: Vec<i64> = moves
                .replace('-', " -")
                .split(' ')
                .filter(|v| !v.is_empty())
                .map(|v| v.parse().unwrap())
                .collect();
            let moves = nums.chunks(2).map(|c| (c[0], c[1])).collect();
            out.push((start, moves));
        }
        out
    }

    #[test]
    fn a_circle_across_the_antimeridian_is_drawn_on_both_edges() {
        let d = circle_path(-17.7, 178.0, 500_000.0);
        let subs = subpaths(&d);
        assert_eq!(subs.len(), 2, "{d}");
        for (start, moves) in &subs {
            // No single move spans more than a few degrees: no streak across the map.
            assert!(
                moves.iter().all(|m| m.0.abs() < 200 && m.1.abs() < 200),
                "{moves:?}"
            );
            // The copies sit at the two edges, 360° apart.
            let mut x = start.0;
            let (mut lo, mut hi) = (x, x);
            for m in moves {
                x += m.0;
                lo = lo.min(x);
                hi = hi.max(x);
            }
            assert!(lo < MAP_W && hi > 0, "{lo}..{hi}");
            assert!(
                lo < 0 || hi > MAP_W,
                "each copy overflows one edge: {lo}..{hi}"
            );
        }
        assert_eq!(subs[1].0 .0 - subs[0].0 .0, MAP_W);
    }

    /// Absolute points of a subpath.
    fn points(start: (i64, i64), moves: &[(i64, i64)]) -> Vec<(i64, i64)> {
        let mut p = start;
        let mut out = vec![p];
        for m in moves {
            p = (p.0 + m.0, p.1 + m.1);
            out.push(p);
        }
        out
    }

    #[test]
    fn a_cap_around_the_north_pole_is_closed_over_it() {
        let ring = circle_ring(85.0, 10.0, 1_000_000.0);
        assert_eq!(ring.len(), CIRCLE_POINTS + 1);
        assert!(ring.iter().all(|p| p.1 > 75.0));
        let d = circle_path(85.0, 10.0, 1_000_000.0);
        let subs = subpaths(&d);
        assert!(!subs.is_empty());
        for (start, moves) in &subs {
            let pts = points(*start, moves);
            // The run over the pole is along the map's top edge, a whole map wide.
            assert!(pts.iter().any(|p| p.1 == 0), "{pts:?}");
            let (lo, hi) = (
                pts.iter().map(|p| p.0).min().unwrap(),
                pts.iter().map(|p| p.0).max().unwrap(),
            );
            assert!((hi - lo - MAP_W).abs() <= 2, "{lo}..{hi}");
            assert!(pts.iter().all(|p| p.1 <= 16 * 20), "stays north of 74°");
        }
    }

    #[test]
    fn border_rings_have_no_streaks() {
        let world = World::embedded();
        let mut total = 0;
        for i in 0..world.features().len() {
            let mut d = String::new();
            for ring in world.rings(i) {
                let pole = if mean_lat(&ring) < 0.0 { -90.0 } else { 90.0 };
                ring_path(&mut d, &ring, pole);
            }
            total += d.len();
            for (start, moves) in subpaths(&d) {
                let pts = points(start, &moves);
                for (w, m) in pts.windows(2).zip(&moves) {
                    // Long moves only along the map's bottom edge (Antarctica's pole run).
                    if m.0.abs() > 400 {
                        assert!(m.1 == 0 && w[0].1 == MAP_H, "feature {i}: streak {w:?}");
                    }
                }
            }
        }
        assert!(total < 2_500_000, "borders take {total} bytes");
    }

    #[test]
    fn odd_numbers_draw_nothing_and_do_not_panic() {
        assert!(circle_ring(f64::NAN, 0.0, 1.0).is_empty());
        let mut d = String::new();
        assert!(!ring_path(
            &mut d,
            &[(0.0, f64::NAN), (1.0, 1.0), (2.0, 0.0)],
            90.0
        ));
        assert!(d.is_empty());
        let whole = circle_path(0.0, 0.0, 1e9);
        assert!(whole.starts_with("M0 0H7200"));
        let speck = circle_path(50.0, 8.0, 0.0);
        assert!(speck.contains("a6 6 0 1 0 12 0"), "{speck}");
    }

    #[test]
    fn circle_points_are_at_the_radius_from_the_centre() {
        for (lat, lon, r) in [
            (50.1, 8.7, 420_000.0),
            (-33.9, 151.2, 2_500_000.0),
            (0.0, 179.9, 10_000.0),
        ] {
            let ring = circle_ring(lat, lon, r);
            assert_eq!(ring.len(), CIRCLE_POINTS + 1);
            assert_eq!(ring.first(), ring.last());
            // Bearing 0 first: due north of the centre.
            let (lon0, lat0) = ring[0];
            assert!(
                (lon0 - lon).abs() < 1e-9
                    && (lat0 - lat - (r / EARTH_RADIUS_M).to_degrees()).abs() < 1e-9
            );
            for &(plon, plat) in &ring {
                // Haversine distance back to the centre.
                let (p1, p2) = (lat.to_radians(), plat.to_radians());
                let dl = (plon - lon).to_radians();
                let h = ((p2 - p1) / 2.0).sin().powi(2)
                    + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
                let d = 2.0 * EARTH_RADIUS_M * h.sqrt().asin();
                assert!((d - r).abs() < 1e-6 * r.max(1.0), "{d} vs {r}");
            }
        }
    }

    #[test]
    fn wrap_is_in_range() {
        for d in [
            -540.0, -360.0, -180.0, -1.0, 0.0, 179.0, 180.0, 181.0, 360.0, 720.5,
        ] {
            let w = wrap180(d);
            assert!(w > -180.0 && w <= 180.0, "{d} -> {w}");
        }
    }
}
