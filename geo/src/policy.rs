//! The policy: where chips may be. A TOML file (documented in `docs/policy.md`):
//!
//! ```toml
//! speed = "c"             # "c" (default), "fiber" (2c/3), or m/s
//! permitted = ["*"]       # countries where chips may be; "*" = every country
//! forbidden = ["CN"]      # countries where they may not
//! sea = "permitted"       # points in no country: "permitted" or "forbidden"
//! border_margin_km = 0.0  # extra margin for border data error, on top of the built-in ones
//! faulty_operators = 1    # landmark operators that may lie or collude with the chip's owner
//! # borders = "zones.geojson"  # optional: user polygons instead of the embedded countries
//! ```
//!
//! A point is *allowed* if it lies in a permitted region and in no forbidden one, or in no
//! region at all when `sea = "permitted"`. Names are resolved against the border data when the
//! policy is built; unknown names are an error listing close matches.

use super::codes::{by_code, close_matches, CODES};
use super::error::GeoError;
use super::world::World;
use lightcone::Speed;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A propagation speed as written in a policy or scenario: a name or metres per second.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum SpeedSpec {
    /// `"c"`/`"light"` or `"fiber"`/`"fibre"`.
    Name(String),
    /// Metres per second (rounded up to a whole number: a faster speed is the safe side).
    MetresPerSecond(f64),
}

impl SpeedSpec {
    /// The speed this names; errors on unknown names and on speeds ≤ 0 or above c.
    pub fn resolve(&self) -> Result<Speed, GeoError> {
        match self {
            SpeedSpec::Name(n) => match n.trim().to_ascii_lowercase().as_str() {
                "c" | "light" => Ok(Speed::LIGHT),
                "fiber" | "fibre" => Ok(Speed::FIBRE),
                other => Err(GeoError::Policy(format!(
                    "speed {other:?}: use \"c\", \"fiber\" or a number of m/s"
                ))),
            },
            SpeedSpec::MetresPerSecond(v) => {
                if !v.is_finite()
                    || *v <= 0.0
                    || *v > lightcone::distance::SPEED_OF_LIGHT_M_PER_S as f64
                {
                    return Err(GeoError::Policy(format!(
                        "speed {v} m/s: must be > 0 and at most c = 299792458 m/s"
                    )));
                }
                Speed::from_m_per_s(v.ceil() as u64)
                    .map_err(|e| GeoError::Policy(format!("speed {v}: {e}")))
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    speed: Option<SpeedSpec>,
    #[serde(default)]
    permitted: Option<Vec<String>>,
    #[serde(default)]
    forbidden: Option<Vec<String>>,
    #[serde(default)]
    sea: Option<String>,
    #[serde(default)]
    border_margin_km: Option<f64>,
    #[serde(default)]
    borders: Option<PathBuf>,
    #[serde(default)]
    faulty_operators: Option<usize>,
    /// The audit's rules live in the same file; `audit::AuditRules` reads and checks them.
    #[serde(default, rename = "audit")]
    _audit: Option<toml::Table>,
}

/// A policy resolved against one [`World`]: per region whether it is permitted and forbidden,
/// and which border arcs separate allowed from not-allowed points.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub world_id: u64,
    pub permitted: Vec<bool>,
    pub forbidden: Vec<bool>,
    pub sea_ok: bool,
    /// Arcs across which "allowed" can change (all others can be ignored).
    pub relevant: Vec<u32>,
}

impl Compiled {
    /// Whether a point inside exactly the regions `set` is allowed.
    pub fn allowed(&self, set: &[usize]) -> bool {
        if set.is_empty() {
            return self.sea_ok;
        }
        let p = set
            .iter()
            .any(|&f| self.permitted.get(f).copied().unwrap_or(false));
        let x = set
            .iter()
            .any(|&f| self.forbidden.get(f).copied().unwrap_or(true));
        p && !x
    }
}

/// The default number of faulty landmark operators a verdict tolerates.
pub const DEFAULT_FAULTY_OPERATORS: usize = 1;

/// Where chips may be, and how distances are bounded.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Propagation speed for distance bounds.
    pub speed: Speed,
    /// `permitted` as written (`["*"]` if absent).
    pub permitted: Vec<String>,
    /// `forbidden` as written.
    pub forbidden: Vec<String>,
    /// Whether points in no region are allowed.
    pub sea_permitted: bool,
    /// Extra border margin from the policy, metres (on top of the built-in margin).
    pub border_margin_m: f64,
    /// The user border file, if the policy names one (resolved relative to the policy file).
    pub borders: Option<PathBuf>,
    /// How many landmark operators may be faulty or collude with the chip's owner (DESIGN
    /// §1a): verdicts hold whatever that many operators sign. Default 1; 0 trusts every
    /// landmark.
    pub faulty_operators: usize,
    world: Option<Arc<World>>,
    compiled: Arc<Compiled>,
}

impl Policy {
    /// Parses a policy against the embedded borders. A `borders` key is an error here (use
    /// [`Policy::load`], which knows where the file is).
    pub fn from_toml_str(text: &str) -> Result<Policy, GeoError> {
        let world = World::try_embedded()?;
        Policy::from_toml_str_for(text, world)
    }

    /// Parses a policy and resolves its names against `world`.
    pub fn from_toml_str_for(text: &str, world: &World) -> Result<Policy, GeoError> {
        let file: PolicyFile = toml::from_str(text).map_err(|e| GeoError::Policy(e.to_string()))?;
        if file.borders.is_some() {
            return Err(GeoError::Policy(
                "\"borders\" needs a policy file path; use Policy::load".into(),
            ));
        }
        Policy::from_file(file, world, None)
    }

    /// Reads a policy file; a `borders = "file.geojson"` key (relative to the policy's
    /// directory) replaces the embedded countries with the user's polygons.
    pub fn load(path: &Path) -> Result<Policy, GeoError> {
        let text = lightcone_files::read_to_string(
            path,
            lightcone_files::CONFIG_MAX,
            lightcone_files::Links::Follow,
        )
        .map_err(|source| GeoError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let file: PolicyFile = toml::from_str(&text)
            .map_err(|e| GeoError::Policy(format!("{}: {e}", path.display())))?;
        let name_file = |e: GeoError| match e {
            GeoError::Policy(why) => GeoError::Policy(format!("{}: {why}", path.display())),
            other => other,
        };
        match &file.borders {
            None => {
                let world = World::try_embedded()?;
                Policy::from_file(file, world, None).map_err(name_file)
            }
            Some(b) => {
                let full = path.parent().map_or_else(|| b.clone(), |d| d.join(b));
                let world = Arc::new(World::load_geojson(&full)?);
                let mut p =
                    Policy::from_file(file, &world, Some(world.clone())).map_err(name_file)?;
                p.borders = Some(full);
                Ok(p)
            }
        }
    }

    fn from_file(
        file: PolicyFile,
        world: &World,
        owned: Option<Arc<World>>,
    ) -> Result<Policy, GeoError> {
        let speed = match &file.speed {
            Some(s) => s.resolve()?,
            None => Speed::LIGHT,
        };
        let sea_permitted = match file.sea.as_deref().map(str::trim) {
            None | Some("permitted") => true,
            Some("forbidden") => false,
            Some(other) => {
                return Err(GeoError::Policy(format!(
                    "sea = {other:?}: use \"permitted\" or \"forbidden\""
                )))
            }
        };
        let margin_km = file.border_margin_km.unwrap_or(0.0);
        if !margin_km.is_finite() || !(0.0..=20_000.0).contains(&margin_km) {
            return Err(GeoError::Policy(format!(
                "border_margin_km = {margin_km}: need 0 ≤ km ≤ 20000"
            )));
        }
        // An empty (e.g. truncated-to-nothing) policy file silently allowing everywhere would
        // be a dangerous default: a policy must set at least one key.
        if file.permitted.is_none()
            && file.forbidden.is_none()
            && file.sea.is_none()
            && file.speed.is_none()
            && file.border_margin_km.is_none()
            && file.borders.is_none()
            && file.faulty_operators.is_none()
        {
            return Err(GeoError::Policy(
                "the policy is empty (write permitted = [\"*\"] to allow everywhere)".into(),
            ));
        }
        let faulty_operators = file.faulty_operators.unwrap_or(DEFAULT_FAULTY_OPERATORS);
        if faulty_operators > super::tolerant::MAX_FAULTY_OPERATORS {
            return Err(GeoError::Policy(format!(
                "faulty_operators = {faulty_operators}: at most {} are supported",
                super::tolerant::MAX_FAULTY_OPERATORS
            )));
        }
        let permitted = file.permitted.unwrap_or_else(|| vec!["*".to_string()]);
        let forbidden = file.forbidden.unwrap_or_default();
        let mut p = Policy {
            speed,
            permitted,
            forbidden,
            sea_permitted,
            border_margin_m: margin_km * 1000.0,
            borders: None,
            faulty_operators,
            world: owned,
            compiled: Arc::new(Compiled {
                world_id: 0,
                permitted: vec![],
                forbidden: vec![],
                sea_ok: true,
                relevant: vec![],
            }),
        };
        p.compiled = Arc::new(p.compile(world)?);
        Ok(p)
    }

    /// The user borders this policy was loaded with, if any (else use [`World::embedded`]).
    pub fn world(&self) -> Option<&World> {
        self.world.as_deref()
    }

    /// The world this policy's names were resolved against: its own borders or the embedded.
    pub fn default_world(&self) -> Result<&World, GeoError> {
        match &self.world {
            Some(w) => Ok(w),
            None => World::try_embedded(),
        }
    }

    /// The compiled form for `world` (cached for the world the policy was built with).
    pub(crate) fn compiled_for(&self, world: &World) -> Result<Arc<Compiled>, GeoError> {
        if self.compiled.world_id == world.id() {
            Ok(self.compiled.clone())
        } else {
            Ok(Arc::new(self.compile(world)?))
        }
    }

    fn compile(&self, world: &World) -> Result<Compiled, GeoError> {
        let n = world.features().len();
        let mut permitted = vec![false; n];
        let mut forbidden = vec![false; n];
        for name in &self.permitted {
            for f in resolve(world, name)? {
                if let Some(s) = permitted.get_mut(f) {
                    *s = true;
                }
            }
        }
        for name in &self.forbidden {
            for f in resolve(world, name)? {
                if let Some(s) = forbidden.get_mut(f) {
                    *s = true;
                }
            }
        }
        let mut c = Compiled {
            world_id: world.id(),
            permitted,
            forbidden,
            sea_ok: self.sea_permitted,
            relevant: Vec::new(),
        };
        c.relevant = relevant_arcs(world, &c);
        Ok(c)
    }

    /// Whether the point is allowed, and the label (ISO alpha-2 code, else the dataset's name)
    /// of the first region containing it (`None` at sea).
    ///
    /// If `world` is not the one the policy was built for and a name does not resolve in it,
    /// the point is reported as not allowed.
    pub fn classify<'w>(&self, world: &'w World, lat: f64, lon: f64) -> (bool, Option<&'w str>) {
        let set = world.containing(lat, lon);
        let label = set
            .first()
            .and_then(|&f| world.features().get(f))
            .map(|f| f.label());
        match self.compiled_for(world) {
            Ok(c) => (c.allowed(&set), label),
            Err(_) => (false, label),
        }
    }

    /// Whether the policy's speed is sound against every medium (it is c).
    pub fn speed_is_sound_for_all_media(&self) -> bool {
        self.speed.is_light()
    }
}

/// Feature ids named by `name`: `"*"` (all), an ISO alpha-2/alpha-3/numeric code, or a
/// feature's dataset or ISO name (case-insensitive).
pub fn resolve(world: &World, name: &str) -> Result<Vec<usize>, GeoError> {
    let feats = world.features();
    let t = name.trim();
    if t == "*" {
        return Ok((0..feats.len()).collect());
    }
    if let Some(code) = by_code(t) {
        let ids: Vec<usize> = feats
            .iter()
            .enumerate()
            .filter(|(_, f)| f.code.is_some_and(|c| c.alpha2 == code.alpha2))
            .map(|(i, _)| i)
            .collect();
        if ids.is_empty() {
            return Err(GeoError::Policy(format!(
                "{t:?} is ISO 3166-1 {} ({}), but the border data has no separate region for it \
                 (in Natural Earth it is part of a neighbouring or parent country)",
                code.alpha2, code.name
            )));
        }
        return Ok(ids);
    }
    let ids: Vec<usize> = feats
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            f.name.eq_ignore_ascii_case(t) || f.code.is_some_and(|c| c.name.eq_ignore_ascii_case(t))
        })
        .map(|(i, _)| i)
        .collect();
    if !ids.is_empty() {
        return Ok(ids);
    }
    let mut candidates: Vec<&str> = Vec::new();
    for f in feats {
        candidates.push(f.name.as_str());
        if let Some(c) = f.code {
            candidates.push(c.alpha2);
            candidates.push(c.alpha3);
            candidates.push(c.name);
        }
    }
    if world.is_partition() {
        candidates.extend(CODES.iter().map(|c| c.name));
    }
    Err(GeoError::UnknownRegion {
        name: t.to_string(),
        suggestions: close_matches(t, candidates, 4),
    })
}

/// The arcs across which the policy's "allowed" can change.
///
/// In a partition (regions do not overlap; the embedded borders), a point next to an arc lies
/// in exactly the regions using the arc on that side, so the arc matters iff the two sides'
/// sets differ in allowedness. With possible overlaps (user GeoJSON), other regions `S` may
/// contain both sides; allowedness depends on `S` only through (S empty, any permitted, any
/// forbidden), so the arc is ignored only if no realisable such class of `S` tells the sides
/// apart.
fn relevant_arcs(world: &World, c: &Compiled) -> Vec<u32> {
    let n = world.features().len();
    let any_p_nf =
        (0..n).any(|f| c.permitted.get(f) == Some(&true) && c.forbidden.get(f) == Some(&false));
    let any_np_f =
        (0..n).any(|f| c.permitted.get(f) == Some(&false) && c.forbidden.get(f) == Some(&true));
    let any_np_nf =
        (0..n).any(|f| c.permitted.get(f) == Some(&false) && c.forbidden.get(f) == Some(&false));
    let any_p = c.permitted.iter().any(|&p| p);
    let any_f = c.forbidden.iter().any(|&x| x);
    let mut out = Vec::new();
    for ai in 0..world.arc_count() {
        let users = world.arc_sides(ai);
        let right: Vec<usize> = users.iter().filter(|u| u.1).map(|u| u.0 as usize).collect();
        let left: Vec<usize> = users
            .iter()
            .filter(|u| !u.1)
            .map(|u| u.0 as usize)
            .collect();
        let differs = if world.is_partition() {
            c.allowed(&left) != c.allowed(&right)
        } else {
            let side = |t: &[usize], s: Option<(bool, bool)>| -> bool {
                let pt = t.iter().any(|&f| c.permitted.get(f) == Some(&true));
                let ft = t.iter().any(|&f| c.forbidden.get(f) == Some(&true));
                match s {
                    None if t.is_empty() => c.sea_ok,
                    None => pt && !ft,
                    Some((ps, fs)) => (ps || pt) && !(fs || ft),
                }
            };
            let mut cases: Vec<Option<(bool, bool)>> = vec![None];
            if any_np_nf {
                cases.push(Some((false, false)));
            }
            if any_p_nf {
                cases.push(Some((true, false)));
            }
            if any_np_f {
                cases.push(Some((false, true)));
            }
            if any_p && any_f {
                cases.push(Some((true, true)));
            }
            cases.into_iter().any(|s| side(&left, s) != side(&right, s))
        };
        if differs {
            out.push(ai as u32);
        }
    }
    out
}
