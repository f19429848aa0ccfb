//! The answer to one referee's question, `lightcone verdict`: the verdict on `F_f` with the
//! field's result vocabulary next to lightcone's words.
//!
//! - [`rats_tier`]: the verdict as a trustworthiness tier of the IETF RATS attestation results
//!   (`affirming`, `warning`, `contraindicated`, `none`; draft-ietf-rats-ar4si-09).
//! - [`jurisdiction`]: for a compliant verdict, the `grc.jurisdiction-country` claim of the
//!   geographic attestation results draft (draft-richardson-rats-geographic-results-01): the
//!   one country that holds every place the chip may be, when there is one.

use super::error::GeoError;
use super::policy::Policy;
use super::scenario::Scenario;
use super::tolerant::{evaluate_tolerant, robustness};
use super::verdict::VerdictKind;
use super::world::World;
use super::Cap;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// The RATS trustworthiness tier of a verdict: `compliant` affirms; `violation` is
/// contraindicated; `inconclusive` (the chip may be somewhere not allowed) and `inconsistent`
/// (the evidence contradicts itself) warn.
pub fn rats_tier(kind: VerdictKind) -> &'static str {
    match kind {
        VerdictKind::Compliant => "affirming",
        VerdictKind::Violation => "contraindicated",
        VerdictKind::Inconclusive | VerdictKind::Inconsistent => "warning",
    }
}

/// Policies "only this country, no sea", one per (world, country), built on first use.
type Cache = Mutex<HashMap<(u64, String), Arc<Policy>>>;
static ONLY: OnceLock<Cache> = OnceLock::new();

fn only(world: &World, alpha2: &str) -> Result<Arc<Policy>, GeoError> {
    let cache = ONLY.get_or_init(|| Mutex::new(HashMap::new()));
    let key = (world.id(), alpha2.to_string());
    if let Some(p) = cache.lock().ok().and_then(|m| m.get(&key).cloned()) {
        return Ok(p);
    }
    // Every territory is forbidden too: a place whose status the country borders do not
    // settle (Crimea in Natural Earth's Russia, the Vatican inside Italy) earns no claim.
    let territories: Vec<String> = world
        .features()
        .iter()
        .filter_map(|f| f.territory.as_ref())
        .map(|t| format!("{:?}", t.key))
        .collect();
    let text = format!(
        "permitted = [\"{alpha2}\"]\nforbidden = [{}]\nsea = \"forbidden\"\nsea_buffer_nm = 0\nnames = \"ISO\"\n",
        territories.join(", ")
    );
    let p = Arc::new(Policy::from_toml_str_for(&text, world)?);
    if let Ok(mut m) = cache.lock() {
        m.insert(key, p.clone());
    }
    Ok(p)
}

/// The one country (ISO alpha-2) that provably holds every place the chip may be when up to
/// `faulty` of the operators behind `groups` are faulty, if there is one: the country of the
/// verdict's representative point, confirmed by a verdict that permits that country alone and
/// forbids every territory laid over the countries.
pub fn jurisdiction(
    world: &World,
    groups: &[Vec<Cap>],
    faulty: usize,
    point: Option<(f64, f64)>,
) -> Result<Option<String>, GeoError> {
    let Some((lat, lon)) = point else {
        return Ok(None);
    };
    let code = world
        .containing(lat, lon)
        .into_iter()
        .filter_map(|f| world.features().get(f))
        .find(|f| f.is_region())
        .and_then(|f| f.code)
        .map(|c| c.alpha2);
    let Some(code) = code else {
        return Ok(None);
    };
    let policy = only(world, code)?;
    let v = evaluate_tolerant(world, &policy, groups, faulty)?;
    Ok((v.verdict.kind == VerdictKind::Compliant).then(|| code.to_string()))
}

/// The JSON answer of `lightcone verdict` for `scenario` under `policy` (see
/// `docs/policy.md`, "Output"). `faulty` overrides the policy's `faulty_operators`.
pub fn answer(
    policy: &Policy,
    scenario: &Scenario,
    faulty: Option<usize>,
) -> Result<Value, GeoError> {
    let speed = scenario.speed_or(policy.speed)?;
    let caps = scenario.caps(speed)?;
    let groups = scenario.operator_groups(speed)?;
    let world = policy.default_world()?;
    let faulty = faulty.unwrap_or(policy.faulty_operators);
    let tolerant = evaluate_tolerant(world, policy, &groups, faulty)?;
    let robust = robustness(world, policy, &groups, groups.len())?;
    let verdict = &tolerant.verdict;
    let mut out = json!({
        "verdict": verdict.kind.as_str(),
        "rats_tier": rats_tier(verdict.kind),
        "faulty_operators": faulty,
        "constraining_operators": tolerant.constraining,
        "robustness": robust,
        "names": policy.names.describe(),
        "sea_buffer_nm": policy.sea_buffer_m / super::policy::METRES_PER_NAUTICAL_MILE,
        "speed_m_per_s": speed.m_per_s(),
        "sound_against_all_media": speed.is_light(),
        "caps": caps.iter().map(|c| json!({"lat": c.center_lat, "lon": c.center_lon, "radius_m": c.radius_m})).collect::<Vec<_>>(),
    });
    if policy.world().is_some() {
        // The user's borders: say what the loader changed (rings it reversed to the winding
        // the engine needs; everything it would have had to guess is refused instead).
        out["borders_rings_reversed"] = json!(world.repaired_rings());
    }
    if verdict.kind == VerdictKind::Compliant {
        if let Some(country) = jurisdiction(world, &groups, faulty, verdict.point)? {
            out["ear.geographic-result-claims"] = json!({ "grc.jurisdiction-country": country });
        }
    }
    if let Some((lat, lon)) = verdict.point {
        out["feasible_point"] = json!({"lat": lat, "lon": lon});
    }
    if let Some(w) = &verdict.witness {
        out["witness"] =
            json!({"lat": w.lat, "lon": w.lon, "region": w.region, "in_region": w.in_region});
    }
    if verdict.kind == VerdictKind::Inconsistent {
        out["note"] = json!(format!(
            "the measurements cannot all be true with at most {faulty} faulty operator(s): more landmarks lie or are misplaced, or the speed assumption is wrong"
        ));
    } else if tolerant.constraining <= faulty {
        out["note"] = json!(format!(
            "only {} operator(s) constrain the position: with {faulty} faulty operator(s) the chip may be anywhere",
            tolerant.constraining
        ));
    }
    Ok(out)
}
