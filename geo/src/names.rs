//! What a name in a policy's `permitted` or `forbidden` list selects in a [`World`].
//!
//! - `"*"`: every region (territories are laid over regions, not regions themselves).
//! - `"EAR:D:5"` (any group of [`crate::jurisdiction`]): the group's members, each read as a
//!   bare code.
//! - `"RU+occupied"`: the code's regions and every territory the table says it administers
//!   or occupies (forbidden lists only).
//! - a territory's key, e.g. `"crimea"`, or its name (forbidden lists only).
//! - an ISO 3166-1 code (alpha-2, alpha-3, numeric), read as [`Names`] says, plus a polygon
//!   the territories table gives a country too small for the border data (forbidden lists).
//! - the border data's or ISO's name of a region.
//!
//! Territory polygons are drawn outward (they cover at least the place), so they are sound
//! to forbid and never used to permit. A name that selects no area at all is an error, never
//! a silent no-op.

use super::codes::{by_code, close_matches, CODES};
use super::error::GeoError;
use super::jurisdiction::{group_members, Names};
use super::world::{Feature, World};

/// The suffix that adds the places a country administers or occupies: `"RU+occupied"`.
pub const OCCUPIED: &str = "+occupied";

/// Which list a name is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// `permitted`.
    Permitted,
    /// `forbidden`.
    Forbidden,
}

/// The feature ids `name` selects (see the module docs).
pub fn resolve(
    world: &World,
    name: &str,
    names: Names,
    role: Role,
) -> Result<Vec<usize>, GeoError> {
    let t = name.trim();
    let ids = select(world, t, names, role)?;
    if !ids
        .iter()
        .any(|&i| world.features().get(i).is_some_and(|f| f.has_area))
    {
        return Err(GeoError::Policy(format!(
            "{t:?} selects no area in the border data{}",
            if role == Role::Permitted {
                " that can be permitted (a country drawn as a zero-area sliver, or a territory, \
                 whose polygon is drawn outward and so is only ever forbidden)"
            } else {
                ""
            }
        )));
    }
    Ok(ids)
}

fn select(world: &World, t: &str, names: Names, role: Role) -> Result<Vec<usize>, GeoError> {
    let feats = world.features();
    if t == "*" {
        return Ok(ids_where(feats, Feature::is_region));
    }
    if let Some(members) = group_members(t)? {
        let mut out = Vec::new();
        for code in members {
            out.extend(code_ids(world, code, names, role)?);
        }
        return Ok(out);
    }
    let occupier = t
        .len()
        .checked_sub(OCCUPIED.len())
        .filter(|&i| t.get(i..).is_some_and(|s| s.eq_ignore_ascii_case(OCCUPIED)))
        .and_then(|i| t.get(..i));
    if let Some(code) = occupier {
        forbid_only(t, role)?;
        let alpha2 = by_code(code.trim())
            .ok_or_else(|| GeoError::Policy(format!("{t:?}: {code:?} is not an ISO 3166-1 code")))?
            .alpha2;
        let mut out = code_ids(world, alpha2, names, role)?;
        out.extend(ids_where(feats, |f| {
            f.territory
                .as_ref()
                .is_some_and(|x| x.administered_by.as_deref() == Some(alpha2))
        }));
        return Ok(out);
    }
    let territory = |by_name: bool| {
        ids_where(feats, |f| {
            f.territory.as_ref().is_some_and(|x| {
                x.key.eq_ignore_ascii_case(t) || (by_name && f.name.eq_ignore_ascii_case(t))
            })
        })
    };
    let by_key = territory(false);
    if !by_key.is_empty() {
        forbid_only(t, role)?;
        return Ok(by_key);
    }
    if by_code(t).is_some() {
        return code_ids(world, t, names, role);
    }
    let by_name = ids_where(feats, |f| {
        f.is_region()
            && (f.name.eq_ignore_ascii_case(t)
                || f.code.is_some_and(|c| c.name.eq_ignore_ascii_case(t)))
    });
    if !by_name.is_empty() {
        // A country named by name gets what its code gets, read as `names` says (Hong Kong
        // with "China" under the EAR, the Vatican's polygon).
        let mut out = by_name.clone();
        for code in by_name.iter().filter_map(|&i| feats.get(i)?.code) {
            out.extend(code_ids(world, code.alpha2, names, role)?);
        }
        out.sort_unstable();
        out.dedup();
        return Ok(out);
    }
    let by_territory_name = territory(true);
    if !by_territory_name.is_empty() {
        forbid_only(t, role)?;
        return Ok(by_territory_name);
    }
    Err(unknown(world, t))
}

/// The regions of one ISO code as `names` reads it, and (in forbidden lists) the polygon the
/// territories table gives a country too small for the border data.
fn code_ids(world: &World, code: &str, names: Names, role: Role) -> Result<Vec<usize>, GeoError> {
    let entry = by_code(code)
        .ok_or_else(|| GeoError::Policy(format!("{code:?} is not an ISO 3166-1 code")))?;
    let mut out = Vec::new();
    for alpha2 in names.expand(entry.alpha2) {
        out.extend(ids_where(world.features(), |f| {
            let region = f.is_region() && f.code.is_some_and(|c| c.alpha2 == alpha2);
            let forbidding = role == Role::Forbidden;
            let stands_for = forbidding
                && f.territory
                    .as_ref()
                    .is_some_and(|x| x.stands_for.as_deref() == Some(alpha2));
            let part_of = forbidding && f.is_region() && {
                let name = f.name.as_str();
                PARTS
                    .iter()
                    .any(|(n, codes)| *n == name && codes.contains(&alpha2))
            };
            region || stands_for || part_of
        }));
    }
    if out.is_empty() {
        return Err(GeoError::Policy(format!(
            "{code:?} is ISO 3166-1 {} ({}), but the border data has no separate region for it \
             (in Natural Earth it is part of a neighbouring or parent country)",
            entry.alpha2, entry.name
        )));
    }
    Ok(out)
}

/// Regions of the border data that are no country of their own code (most carry no code),
/// and the countries whose code,
/// when forbidden, forbids them too: the sovereign in international law, the country that
/// administers it, and (for the disputed reefs and the Spratlys) every claimant. Only ever
/// added to forbidden lists, where covering more is the safe side.
pub const PARTS: &[(&str, &[&str])] = &[
    ("Somaliland", &["SO"]),
    ("Baikonur", &["KZ", "RU"]),
    ("N. Cyprus", &["CY", "TR"]),
    ("Cyprus U.N. Buffer Zone", &["CY"]),
    ("Akrotiri", &["GB"]),
    ("Dhekelia", &["GB"]),
    ("USNB Guantanamo Bay", &["CU", "US"]),
    ("Siachen Glacier", &["IN", "PK"]),
    ("Indian Ocean Ter.", &["AU"]),
    ("Coral Sea Is.", &["AU"]),
    ("Clipperton I.", &["FR"]),
    ("Spratly Is.", &["CN", "TW", "VN", "PH", "MY", "BN"]),
    ("Scarborough Reef", &["CN", "TW", "PH"]),
    ("Bajo Nuevo Bank", &["CO", "JM", "NI", "HN"]),
    ("Serranilla Bank", &["CO", "JM", "NI", "HN"]),
    ("Kosovo", &["RS"]),
    ("W. Sahara", &["MA"]),
];

fn forbid_only(t: &str, role: Role) -> Result<(), GeoError> {
    if role == Role::Permitted {
        return Err(GeoError::Policy(format!(
            "{t:?} names territories, whose polygons are drawn outward from their sources: they \
             can be forbidden, never permitted"
        )));
    }
    Ok(())
}

fn ids_where(feats: &[Feature], keep: impl Fn(&Feature) -> bool) -> Vec<usize> {
    feats
        .iter()
        .enumerate()
        .filter(|(_, f)| keep(f))
        .map(|(i, _)| i)
        .collect()
}

fn unknown(world: &World, t: &str) -> GeoError {
    let mut candidates: Vec<&str> = Vec::new();
    for f in world.features() {
        candidates.push(f.name.as_str());
        if let Some(x) = &f.territory {
            candidates.push(x.key.as_str());
        }
        if let Some(c) = f.code {
            candidates.push(c.alpha2);
            candidates.push(c.alpha3);
            candidates.push(c.name);
        }
    }
    if world.is_partition() {
        candidates.extend(CODES.iter().map(|c| c.name));
    }
    GeoError::UnknownRegion {
        name: t.to_string(),
        suggestions: close_matches(t, candidates, 4),
    }
}
