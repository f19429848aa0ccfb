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

use super::error::GeoError;
use super::jurisdiction::Names;
use super::names::{resolve, Role};
use super::world::{Feature, World};
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
    #[serde(default)]
    names: Option<String>,
    #[serde(default)]
    sea_buffer_nm: Option<f64>,
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
    /// Per feature: a region (true) or a territory laid over the regions (false).
    pub region: Vec<bool>,
    pub sea_ok: bool,
    /// Arcs across which "allowed" can change (all others can be ignored).
    pub relevant: Vec<u32>,
}

/// What decides whether a point is allowed: whether it lies in some region, in a permitted
/// feature, in a forbidden feature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Class {
    pub in_region: bool,
    pub permitted: bool,
    pub forbidden: bool,
}

impl Class {
    /// The class of a point in the features of both.
    pub fn or(self, o: Class) -> Class {
        Class {
            in_region: self.in_region || o.in_region,
            permitted: self.permitted || o.permitted,
            forbidden: self.forbidden || o.forbidden,
        }
    }
}

impl Compiled {
    /// Whether a point inside exactly the features `set` is allowed.
    pub fn allowed(&self, set: &[usize]) -> bool {
        self.allowed_class(self.class(set))
    }

    /// The class of a point inside exactly the features `set` (unknown ids count as forbidden).
    pub fn class(&self, set: &[usize]) -> Class {
        set.iter().fold(Class::default(), |c, &f| {
            c.or(Class {
                in_region: self.region.get(f).copied().unwrap_or(true),
                permitted: self.permitted.get(f).copied().unwrap_or(false),
                forbidden: self.forbidden.get(f).copied().unwrap_or(true),
            })
        })
    }

    /// Allowed: in a permitted feature (or in no region, where sea is allowed) and in no
    /// forbidden one.
    pub fn allowed_class(&self, c: Class) -> bool {
        (c.permitted || (!c.in_region && self.sea_ok)) && !c.forbidden
    }
}

/// The default sea rule: water within 200 nautical miles (the outer limit of an exclusive
/// economic zone, UNCLOS art. 57) of a region that is not allowed counts as not allowed.
pub const DEFAULT_SEA_BUFFER_NM: f64 = 200.0;
/// Largest `sea_buffer_nm` accepted.
pub const MAX_SEA_BUFFER_NM: f64 = 5_000.0;
/// One nautical mile, metres (exact, by definition).
pub const METRES_PER_NAUTICAL_MILE: f64 = 1852.0;

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
    /// How bare country codes are read (default: as the EAR read them).
    pub names: Names,
    /// Sea within this distance (metres) of a region that is not allowed counts as not
    /// allowed, whatever `sea` says (default 200 nautical miles; 0 turns the rule off).
    pub sea_buffer_m: f64,
    world: Option<Arc<World>>,
    compiled: Arc<Compiled>,
    /// The same names compiled with sea not allowed (for the sea rule).
    compiled_closed: Arc<Compiled>,
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
            && file.names.is_none()
            && file.sea_buffer_nm.is_none()
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
        let names = file.names.as_deref().map_or(Ok(Names::Ear), Names::parse)?;
        let buffer_nm = file.sea_buffer_nm.unwrap_or(DEFAULT_SEA_BUFFER_NM);
        if !buffer_nm.is_finite() || !(0.0..=MAX_SEA_BUFFER_NM).contains(&buffer_nm) {
            return Err(GeoError::Policy(format!(
                "sea_buffer_nm = {buffer_nm}: need 0 ≤ nautical miles ≤ {MAX_SEA_BUFFER_NM}"
            )));
        }
        let permitted = file.permitted.unwrap_or_else(|| vec!["*".to_string()]);
        let forbidden = file.forbidden.unwrap_or_default();
        let empty = Arc::new(Compiled {
            world_id: 0,
            permitted: vec![],
            forbidden: vec![],
            region: vec![],
            sea_ok: true,
            relevant: vec![],
        });
        let mut p = Policy {
            speed,
            permitted,
            forbidden,
            sea_permitted,
            border_margin_m: margin_km * 1000.0,
            borders: None,
            faulty_operators,
            names,
            sea_buffer_m: buffer_nm * METRES_PER_NAUTICAL_MILE,
            world: owned,
            compiled: empty.clone(),
            compiled_closed: empty,
        };
        let (open, closed) = p.compile(world)?;
        p.compiled = Arc::new(open);
        p.compiled_closed = Arc::new(closed);
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

    /// The compiled form for `world` (cached for the world the policy was built with), as
    /// written and with sea not allowed.
    pub(crate) fn compiled_for(
        &self,
        world: &World,
    ) -> Result<(Arc<Compiled>, Arc<Compiled>), GeoError> {
        if self.compiled.world_id == world.id() {
            Ok((self.compiled.clone(), self.compiled_closed.clone()))
        } else {
            let (open, closed) = self.compile(world)?;
            Ok((Arc::new(open), Arc::new(closed)))
        }
    }

    /// Per feature of `world`: whether the policy permits it and whether it forbids it.
    pub fn feature_flags(&self, world: &World) -> Result<(Vec<bool>, Vec<bool>), GeoError> {
        let n = world.features().len();
        let mut permitted = vec![false; n];
        let mut forbidden = vec![false; n];
        for (list, flags, role) in [
            (&self.permitted, &mut permitted, Role::Permitted),
            (&self.forbidden, &mut forbidden, Role::Forbidden),
        ] {
            for name in list {
                for f in resolve(world, name, self.names, role)? {
                    if let Some(s) = flags.get_mut(f) {
                        *s = true;
                    }
                }
            }
        }
        Ok((permitted, forbidden))
    }

    fn compile(&self, world: &World) -> Result<(Compiled, Compiled), GeoError> {
        let (permitted, forbidden) = self.feature_flags(world)?;
        let build = |sea_ok: bool| {
            let mut c = Compiled {
                world_id: world.id(),
                permitted: permitted.clone(),
                forbidden: forbidden.clone(),
                region: world.features().iter().map(|f| f.is_region()).collect(),
                sea_ok,
                relevant: Vec::new(),
            };
            c.relevant = relevant_arcs(world, &c);
            c
        };
        Ok((build(self.sea_permitted), build(false)))
    }

    /// Whether the point is allowed (with the sea rule: sea within `sea_buffer_m` of a region
    /// that is not allowed is not), and the label (ISO alpha-2 code, else the dataset's name)
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
            Ok((c, _)) => {
                let class = c.class(&set);
                let mut ok = c.allowed_class(class);
                if ok && !class.in_region && self.sea_buffer_m > 0.0 {
                    ok = !super::verdict::sea_point_near_disallowed(world, self, &c, lat, lon);
                }
                (ok, label)
            }
            Err(_) => (false, label),
        }
    }

    /// Whether the policy's speed is sound against every medium (it is c).
    pub fn speed_is_sound_for_all_media(&self) -> bool {
        self.speed.is_light()
    }
}

/// The arcs across which the policy's "allowed" can change.
///
/// A point next to an arc lies in the features using the arc on that side, and perhaps in
/// others `S` that contain both sides. Allowedness depends on `S` only through its [`Class`],
/// so the arc is ignored only if no class that `S` can have tells the two sides apart. In a
/// partition (the embedded countries) `S` holds no region of a region's arc, only territories;
/// otherwise (user GeoJSON; a territory's own arc) any feature.
fn relevant_arcs(world: &World, c: &Compiled) -> Vec<u32> {
    let feats = world.features();
    let class_of = |f: usize| c.class(&[f]);
    let closure = |ids: &mut dyn Iterator<Item = usize>| {
        let mut classes = vec![Class::default()];
        for f in ids {
            let k = class_of(f);
            let more: Vec<Class> = classes.iter().map(|x| x.or(k)).collect();
            for m in more {
                if !classes.contains(&m) {
                    classes.push(m);
                }
            }
        }
        classes
    };
    let over_regions =
        closure(&mut (0..feats.len()).filter(|&f| feats.get(f).is_some_and(|x| !x.is_region())));
    let over_all = closure(&mut (0..feats.len()));
    let mut out = Vec::new();
    for ai in 0..world.arc_count() {
        let users = world.arc_sides(ai);
        let side = |right: bool| {
            let ids: Vec<usize> = users
                .iter()
                .filter(|u| u.1 == right)
                .map(|u| u.0 as usize)
                .collect();
            c.class(&ids)
        };
        let (left, right) = (side(false), side(true));
        let regions_arc = users
            .iter()
            .all(|u| feats.get(u.0 as usize).is_some_and(Feature::is_region));
        let others = if world.is_partition() && regions_arc {
            &over_regions
        } else {
            &over_all
        };
        if others
            .iter()
            .any(|s| c.allowed_class(left.or(*s)) != c.allowed_class(right.or(*s)))
        {
            out.push(ai as u32);
        }
    }
    out
}
