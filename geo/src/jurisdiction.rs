//! Names the way export rules write them: the Country Groups of the US Export Administration
//! Regulations (15 CFR Part 740, Supplement No. 1) and how a policy reads a bare country code.
//!
//! The groups come from `geo/data/ear-country-groups.toml`, which cites the eCFR text and the
//! date it reflects; `docs/policy.md` prints the table. A policy names a group as `"EAR:D:5"`.

use super::error::GeoError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The Country Groups table, with its source (see the module docs).
pub static EAR_GROUPS_TOML: &str = include_str!("../data/ear-country-groups.toml");

/// How a policy reads a bare ISO code such as `"CN"` (policy key `names`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Names {
    /// As the EAR do (the default): Hong Kong is part of China (the EAR have not treated it
    /// as a separate destination since 23 December 2020), so `"CN"` and every group that
    /// holds CN include it; Macau (`"MO"`) and Taiwan (`"TW"`) are destinations of their own,
    /// in the groups the table lists for them.
    #[default]
    Ear,
    /// Each code is the border data's region of that code and nothing else.
    Iso,
}

impl Names {
    /// Parses the policy's `names` value.
    pub fn parse(s: &str) -> Result<Names, GeoError> {
        match s.trim().to_ascii_uppercase().as_str() {
            "EAR" => Ok(Names::Ear),
            "ISO" => Ok(Names::Iso),
            other => Err(GeoError::Policy(format!(
                "names = {other:?}: use \"EAR\" (the default) or \"ISO\""
            ))),
        }
    }

    /// One line for reports: what a bare code means under this reading.
    pub fn describe(self) -> &'static str {
        match self {
            Names::Ear => {
                "EAR: CN includes Hong Kong (not a separate destination since 2020-12-23); \
                 MO and TW are destinations of their own"
            }
            Names::Iso => "ISO: each code is the border data's region of that code only",
        }
    }

    /// The policy value (`"EAR"` or `"ISO"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Names::Ear => "EAR",
            Names::Iso => "ISO",
        }
    }

    /// The codes a bare code stands for under this reading (itself first).
    pub fn expand(self, alpha2: &str) -> Vec<&str> {
        match (self, alpha2) {
            (Names::Ear, "CN") => vec!["CN", "HK"],
            _ => vec![alpha2],
        }
    }
}

#[derive(Deserialize)]
struct GroupsFile {
    source: Source,
    groups: BTreeMap<String, Group>,
}

#[derive(Deserialize)]
struct Source {
    reflects: String,
}

/// One Country Group.
#[derive(Deserialize, Debug)]
pub struct Group {
    /// Its title in the EAR, e.g. `"National Security"`.
    pub title: String,
    /// Its members, ISO 3166-1 alpha-2.
    pub members: Vec<String>,
}

/// The parsed Country Groups table.
#[derive(Debug)]
pub struct CountryGroups {
    /// What the table reflects (the eCFR date and the copy it was read from).
    pub reflects: String,
    /// Groups by name (`"A:1"`, …, `"E:2"`).
    pub groups: BTreeMap<String, Group>,
}

static GROUPS: OnceLock<Result<CountryGroups, String>> = OnceLock::new();

/// The EAR Country Groups (parsed once per process).
pub fn ear_groups() -> Result<&'static CountryGroups, GeoError> {
    GROUPS
        .get_or_init(|| {
            toml::from_str::<GroupsFile>(EAR_GROUPS_TOML)
                .map(|f| CountryGroups {
                    reflects: f.source.reflects,
                    groups: f.groups,
                })
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| GeoError::Policy(format!("the embedded EAR country groups: {e}")))
}

/// The members of `"EAR:<group>"` if `name` is such a name (case-insensitive), or `None` if
/// it is not one; an unknown group is an error naming the known ones.
pub fn group_members(name: &str) -> Result<Option<&'static [String]>, GeoError> {
    let t = name.trim();
    let Some(group) = t
        .get(..4)
        .filter(|p| p.eq_ignore_ascii_case("EAR:"))
        .and_then(|_| t.get(4..))
    else {
        return Ok(None);
    };
    let groups = ear_groups()?;
    match groups
        .groups
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(group.trim()))
    {
        Some((_, g)) => Ok(Some(&g.members)),
        None => Err(GeoError::Policy(format!(
            "{t:?}: unknown EAR country group; known: {}",
            groups
                .groups
                .keys()
                .map(|k| format!("EAR:{k}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}
