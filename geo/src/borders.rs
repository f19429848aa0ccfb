//! Border data in: the embedded Natural Earth 1:10m admin-0 countries (world-atlas 2.0.2
//! TopoJSON, compiled into the binary) and user GeoJSON polygons.
//!
//! world-atlas is written for d3-geo: edges are great-circle arcs, exterior rings run clockwise
//! (region on the right), and rings cross the antimeridian freely. It is decoded as exactly
//! that, never as planar RFC 7946 GeoJSON (which would put Alaska inside Russia). Rings that
//! enclose more than a hemisphere are winding errors and are reversed ([`World::build`]).

use super::codes::{by_code, by_numeric, CountryCode};
use super::error::GeoError;
use super::world::{Grid, RawFeature, RawWorld, Territory, World};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

/// SHA-256 of the world-atlas 2.0.2 `countries-10m.json` the embedded borders are built from,
/// as recorded in `geo/data/PROVENANCE.md`.
pub const EMBEDDED_SHA256: &str =
    "3bc6f1d367a9bcec479841bae0e76092f512838411d0cef124e92eec4db45f79";

/// SHA-256 of `geo/data/territories.geojson`, the territories laid over the countries (see
/// `docs/policy.md`, "Territories"; checked by the `world_image` test).
pub const TERRITORIES_SHA256: &str =
    "921b45602d867fcbf288753e7a3e51ceef3ba4f68567dd7fb5c10185a2d05213";

/// The embedded borders as a world image (see [`World::to_image`]), built from
/// `geo/data/countries-10m.json` by `LIGHTCONE_BLESS=1 cargo test -p lightcone-geo --test
/// world_image`, which also checks that it matches its sources.
pub static EMBEDDED_IMAGE: &[u8] = include_bytes!("../data/world.image");

/// Largest number of points accepted from user data (after densification).
const MAX_POINTS: usize = 20_000_000;

/// GeoJSON edges are densified to steps of at most this many degrees of latitude or longitude,
/// so that reading each step as a great-circle arc moves it by under 10 m from the planar
/// segment RFC 7946 means (deviation ≤ R·Δ²/16 ≈ 7.6 m for Δ = 0.25°).
pub const GEOJSON_STEP_DEG: f64 = 0.25;

#[derive(Deserialize)]
struct Topology {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    transform: Option<Transform>,
    objects: BTreeMap<String, TopoObject>,
    arcs: Vec<Vec<[f64; 2]>>,
}

#[derive(Deserialize)]
struct Transform {
    scale: [f64; 2],
    translate: [f64; 2],
}

#[derive(Deserialize)]
struct TopoObject {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    geometries: Vec<TopoGeometry>,
}

#[derive(Deserialize)]
struct TopoGeometry {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(default)]
    properties: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    arcs: Option<serde_json::Value>,
}

fn prop_str(props: &Option<BTreeMap<String, serde_json::Value>>, keys: &[&str]) -> Option<String> {
    let props = props.as_ref()?;
    keys.iter()
        .find_map(|k| props.get(*k).and_then(|v| v.as_str()).map(str::to_string))
}

fn id_string(id: &Option<serde_json::Value>) -> Option<String> {
    match id.as_ref()? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The quantisation grid of a TopoJSON topology (its `transform`), if it has one.
fn topojson_grid(text: &str) -> Result<Option<Grid>, GeoError> {
    #[derive(Deserialize)]
    struct OnlyTransform {
        #[serde(default)]
        transform: Option<Transform>,
    }
    let t: OnlyTransform = serde_json::from_str(text).map_err(|e| bad(format!("TopoJSON: {e}")))?;
    Ok(t.transform.map(|t| Grid {
        scale: t.scale,
        translate: t.translate,
    }))
}

fn bad(msg: impl std::fmt::Display) -> GeoError {
    GeoError::Borders(msg.to_string())
}

static EMBEDDED: OnceLock<Result<World, String>> = OnceLock::new();

impl World {
    /// The embedded Natural Earth borders, loaded once per process from [`EMBEDDED_IMAGE`]
    /// (a few milliseconds) and shared.
    ///
    /// # Panics
    /// Only if the embedded file does not decode, which the test suite rules out; use
    /// [`World::try_embedded`] to get an error instead.
    #[allow(clippy::panic)]
    pub fn embedded() -> &'static World {
        match World::try_embedded() {
            Ok(w) => w,
            Err(e) => panic!("embedded borders do not decode: {e}"),
        }
    }

    /// The embedded borders, or the reason they failed to decode.
    pub fn try_embedded() -> Result<&'static World, GeoError> {
        EMBEDDED
            .get_or_init(|| {
                World::from_image(EMBEDDED_IMAGE)
                    .map(|(world, _sources)| world)
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| GeoError::Borders(e.clone()))
    }

    /// Builds the embedded borders from their sources: world-atlas's `countries-10m.json` (the
    /// text of the file whose hash is [`EMBEDDED_SHA256`]) and `territories.geojson` (hash
    /// [`TERRITORIES_SHA256`]), laid over the countries. Returns the world, the source's
    /// quantisation grid and the list of sources, as [`World::to_image`] takes them.
    pub fn from_embedded_sources(
        topojson: &str,
        territories: &str,
    ) -> Result<(World, Option<Grid>, Vec<String>), GeoError> {
        let mut raw = topojson_raw(topojson, Some("countries"))?;
        let overlay = geojson_raw(territories, true)?;
        let offset = i32::try_from(raw.arcs.len()).map_err(|_| bad("too many arcs"))?;
        let shift = |r: i32| if r >= 0 { r + offset } else { !(!r + offset) };
        raw.arcs.extend(overlay.arcs);
        for mut f in overlay.features {
            for ring in f.polygons.iter_mut().flatten() {
                for r in ring.iter_mut() {
                    *r = shift(*r);
                }
            }
            raw.features.push(f);
        }
        let world = World::build(raw)?;
        let grid = topojson_grid(topojson)?;
        let sources = vec![
            format!("countries-10m.json sha256:{EMBEDDED_SHA256}"),
            format!("territories.geojson sha256:{TERRITORIES_SHA256}"),
        ];
        Ok((world, grid, sources))
    }

    /// Decodes a TopoJSON topology (d3-geo conventions: great-circle edges, clockwise exterior
    /// rings) from the named object, or the first object if `object` is `None`. Features carry
    /// their ISO 3166-1 numeric code as `id` and their name as `properties.name`.
    pub fn from_topojson_str(text: &str, object: Option<&str>) -> Result<World, GeoError> {
        World::build(topojson_raw(text, object)?)
    }

    /// Reads user polygons from a GeoJSON file (see [`World::from_geojson_str`]).
    pub fn load_geojson(path: &Path) -> Result<World, GeoError> {
        let text = lightcone_files::read_to_string(
            path,
            lightcone_files::GEOJSON_MAX,
            lightcone_files::Links::Follow,
        )
        .map_err(|source| GeoError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        World::from_geojson_str(&text)
    }

    /// Decodes user polygons from GeoJSON (a FeatureCollection, Feature, Polygon or
    /// MultiPolygon), read as RFC 7946 says: planar lon/lat segments, either winding. Edges are
    /// densified to [`GEOJSON_STEP_DEG`] steps and then treated as great-circle arcs; each ring
    /// is taken to enclose less than a hemisphere. A feature is named by `properties.name` (or
    /// `NAME`, or its `id`) and gets an ISO code from `properties.iso_a2`/`iso_a3` or an `id`
    /// that is a code. Regions may overlap; the engine then treats every border conservatively.
    pub fn from_geojson_str(text: &str) -> Result<World, GeoError> {
        World::build(geojson_raw(text, false)?)
    }
}

/// Decodes a TopoJSON topology into arcs and features (see [`World::from_topojson_str`]).
fn topojson_raw(text: &str, object: Option<&str>) -> Result<RawWorld, GeoError> {
    let topo: Topology = serde_json::from_str(text).map_err(|e| bad(format!("TopoJSON: {e}")))?;
    if topo.kind != "Topology" {
        return Err(bad(format!(
            "TopoJSON: type is {:?}, not \"Topology\"",
            topo.kind
        )));
    }
    let total: usize = topo.arcs.iter().map(Vec::len).sum();
    if total > MAX_POINTS {
        return Err(bad("TopoJSON: too many points"));
    }
    let arcs: Vec<Vec<[f64; 2]>> = match &topo.transform {
        Some(t) => topo
            .arcs
            .iter()
            .map(|arc| {
                let (mut x, mut y) = (0.0, 0.0);
                arc.iter()
                    .map(|d| {
                        x += d[0];
                        y += d[1];
                        [
                            x * t.scale[0] + t.translate[0],
                            y * t.scale[1] + t.translate[1],
                        ]
                    })
                    .collect()
            })
            .collect(),
        None => topo.arcs,
    };
    let obj = match object {
        Some(name) => topo
            .objects
            .get(name)
            .ok_or_else(|| bad(format!("TopoJSON: no object {name:?}")))?,
        None => topo
            .objects
            .values()
            .next()
            .ok_or_else(|| bad("TopoJSON: no objects"))?,
    };
    if obj.kind != "GeometryCollection" {
        return Err(bad(format!(
            "TopoJSON: object is a {}, not a GeometryCollection",
            obj.kind
        )));
    }
    let mut features = Vec::new();
    for (i, g) in obj.geometries.iter().enumerate() {
        let id = id_string(&g.id);
        let code: Option<&'static CountryCode> = id
            .as_deref()
            .and_then(|s| s.parse::<u16>().ok())
            .and_then(by_numeric);
        let name = prop_str(&g.properties, &["name", "NAME"])
            .or_else(|| code.map(|c| c.name.to_string()))
            .or(id)
            .unwrap_or_else(|| format!("feature {i}"));
        let polygons: Vec<Vec<Vec<i32>>> = match (g.kind.as_deref(), &g.arcs) {
            (Some("Polygon"), Some(a)) => {
                vec![serde_json::from_value(a.clone()).map_err(|e| bad(format!("{name}: {e}")))?]
            }
            (Some("MultiPolygon"), Some(a)) => {
                serde_json::from_value(a.clone()).map_err(|e| bad(format!("{name}: {e}")))?
            }
            (Some("Polygon" | "MultiPolygon"), None) | (None, _) => continue,
            (Some(other), _) => {
                return Err(bad(format!("{name}: unsupported geometry type {other:?}")))
            }
        };
        features.push(RawFeature {
            name,
            code,
            polygons,
            territory: None,
        });
    }
    Ok(RawWorld {
        arcs,
        features,
        partition: true,
    })
}

/// Decodes GeoJSON polygons into arcs (one per ring, densified) and features. With
/// `territories`, each feature is a [`Territory`] described by its properties (`key`,
/// `de_jure`, `administered_by`, `status`, `stands_for`).
fn geojson_raw(text: &str, territories: bool) -> Result<RawWorld, GeoError> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| bad(format!("GeoJSON: {e}")))?;
    let mut arcs: Vec<Vec<[f64; 2]>> = Vec::new();
    let mut features = Vec::new();
    let mut total = 0usize;
    let list: Vec<&serde_json::Value> = match v.get("type").and_then(|t| t.as_str()) {
        Some("FeatureCollection") => v
            .get("features")
            .and_then(|f| f.as_array())
            .ok_or_else(|| bad("GeoJSON: FeatureCollection without a features array"))?
            .iter()
            .collect(),
        Some(_) => vec![&v],
        None => return Err(bad("GeoJSON: no \"type\"")),
    };
    for (i, item) in list.into_iter().enumerate() {
        let (geometry, props, id) = match item.get("type").and_then(|t| t.as_str()) {
            Some("Feature") => (item.get("geometry"), item.get("properties"), item.get("id")),
            _ => (Some(item), None, None),
        };
        let Some(geometry) = geometry.filter(|g| !g.is_null()) else {
            continue;
        };
        let prop = |k: &str| {
            props
                .and_then(|p| p.get(k))
                .and_then(|x| x.as_str())
                .map(str::to_string)
        };
        let id_s = id.and_then(|x| {
            x.as_str()
                .map(str::to_string)
                .or_else(|| x.as_u64().map(|n| n.to_string()))
        });
        let code = prop("iso_a2")
            .or_else(|| prop("ISO_A2"))
            .and_then(|c| by_code(&c))
            .or_else(|| {
                prop("iso_a3")
                    .or_else(|| prop("ISO_A3"))
                    .and_then(|c| by_code(&c))
            })
            .or_else(|| id_s.as_deref().and_then(by_code));
        let name = prop("name")
            .or_else(|| prop("NAME"))
            .or_else(|| id_s.clone())
            .or_else(|| code.map(|c| c.name.to_string()))
            .unwrap_or_else(|| format!("region {}", i + 1));
        let coords = geometry
            .get("coordinates")
            .cloned()
            .unwrap_or(serde_json::Value::Null);
        let polys: Vec<Vec<Vec<Vec<f64>>>> = match geometry.get("type").and_then(|t| t.as_str()) {
            Some("Polygon") => {
                vec![serde_json::from_value(coords).map_err(|e| bad(format!("{name}: {e}")))?]
            }
            Some("MultiPolygon") => {
                serde_json::from_value(coords).map_err(|e| bad(format!("{name}: {e}")))?
            }
            other => {
                return Err(bad(format!(
                    "{name}: unsupported geometry type {other:?} (need Polygon or MultiPolygon)"
                )))
            }
        };
        let positions: usize = polys.iter().flatten().map(Vec::len).sum();
        if total.saturating_add(positions) > MAX_POINTS {
            return Err(bad("GeoJSON: too many points"));
        }
        let closed: Vec<Vec<Vec<[f64; 2]>>> = polys
            .iter()
            .map(|poly| poly.iter().map(|r| closed_ring(r, &name)).collect())
            .collect::<Result<_, _>>()?;
        super::validate::check_feature(&format!("{name:?}"), &closed)?;
        let mut polygons = Vec::new();
        for (pi, poly) in polys.into_iter().enumerate() {
            let mut rings = Vec::new();
            let label = format!("{name:?} (polygon {pi})");
            for (ri, ring) in poly.iter().enumerate() {
                let pts = densify(ring, &name)?;
                if ri == 0 {
                    super::validate::check_hemisphere(&label, &pts)?;
                }
                total += pts.len();
                if total > MAX_POINTS {
                    return Err(bad("GeoJSON: too many points"));
                }
                let idx = i32::try_from(arcs.len()).map_err(|_| bad("GeoJSON: too many rings"))?;
                arcs.push(pts);
                rings.push(vec![idx]);
            }
            if !rings.is_empty() {
                polygons.push(rings);
            }
        }
        let territory = if territories {
            Some(territory_of(props, &name)?)
        } else {
            None
        };
        features.push(RawFeature {
            name,
            code: if territories { None } else { code },
            polygons,
            territory,
        });
    }
    // Winding is left to the area rule of `World::build`: the smaller side for exterior
    // rings, the larger for holes, whichever way the file runs.
    Ok(RawWorld {
        arcs,
        features,
        partition: false,
    })
}

/// The [`Territory`] a territories-file feature describes.
fn territory_of(props: Option<&serde_json::Value>, name: &str) -> Result<Territory, GeoError> {
    let get = |k: &str| {
        props
            .and_then(|p| p.get(k))
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let key = get("key").ok_or_else(|| bad(format!("territory {name:?} has no key")))?;
    Ok(Territory {
        key,
        de_jure: get("de_jure"),
        administered_by: get("administered_by"),
        status: get("status").unwrap_or_else(|| "disputed".to_string()),
        stands_for: get("stands_for"),
    })
}

/// A GeoJSON ring's positions, checked and closed (last = first).
fn closed_ring(ring: &[Vec<f64>], name: &str) -> Result<Vec<[f64; 2]>, GeoError> {
    let mut pts: Vec<[f64; 2]> = Vec::with_capacity(ring.len() + 1);
    for p in ring {
        let (Some(&lon), Some(&lat)) = (p.first(), p.get(1)) else {
            return Err(bad(format!("{name}: a position needs two numbers")));
        };
        super::error::check_lat_lon(lat, lon).map_err(|e| bad(format!("{name}: {e}")))?;
        pts.push([lon, lat]);
    }
    if pts.len() < 3 {
        return Err(bad(format!(
            "{name}: a ring needs at least three positions"
        )));
    }
    if pts.first() != pts.last() {
        if let Some(&f) = pts.first() {
            pts.push(f);
        }
    }
    Ok(pts)
}

/// Closes a GeoJSON ring and inserts points so that no step exceeds [`GEOJSON_STEP_DEG`].
fn densify(ring: &[Vec<f64>], name: &str) -> Result<Vec<[f64; 2]>, GeoError> {
    let pts = closed_ring(ring, name)?;
    let mut out = Vec::with_capacity(pts.len());
    for w in pts.windows(2) {
        let (Some(a), Some(b)) = (w.first(), w.get(1)) else {
            continue;
        };
        let steps = ((b[0] - a[0]).abs().max((b[1] - a[1]).abs()) / GEOJSON_STEP_DEG)
            .ceil()
            .max(1.0);
        if steps > 1e6 {
            return Err(bad(format!("{name}: edge too long")));
        }
        let n = steps as usize;
        for k in 0..n {
            let t = k as f64 / steps;
            out.push([a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t]);
        }
    }
    if let Some(&l) = pts.last() {
        out.push(l);
    }
    Ok(out)
}
