//! `lightcone verdict --policy POLICY.toml SCENARIO.json`: one JSON object on stdout with the
//! verdict of the policy on `F_f`, the places the chip may be when up to `f` landmark
//! operators are faulty (`faulty_operators` of the policy, or `--faulty-operators`). Exit
//! status 0 for any verdict, 2 for unusable input (with a message on stderr).

use lightcone_verifier::geo::{evaluate_tolerant, robustness, Policy, Scenario, VerdictKind};
use serde_json::json;
use std::path::PathBuf;

/// Arguments of `lightcone verdict`.
#[derive(clap::Args, Debug)]
pub struct VerdictArgs {
    /// Policy file (TOML; see docs/policy.md).
    #[arg(long)]
    pub policy: PathBuf,
    /// Scenario file (JSON: landmarks and measurements).
    pub scenario: PathBuf,
    /// How many landmark operators may be faulty (overrides the policy's `faulty_operators`;
    /// 0 trusts every landmark).
    #[arg(long)]
    pub faulty_operators: Option<usize>,
}

/// Runs `lightcone verdict`.
pub fn run(args: VerdictArgs) -> Result<(), lightcone_verifier::Error> {
    use lightcone_verifier::bounded_file::{self, Links, SCENARIO_MAX};
    use lightcone_verifier::geo::GeoError;
    // The scenario is read first: a hostile one is refused before the borders are loaded.
    let text = bounded_file::read_to_string(&args.scenario, SCENARIO_MAX, Links::Follow).map_err(
        |source| GeoError::Io {
            path: args.scenario.clone(),
            source,
        },
    )?;
    let policy = Policy::load(&args.policy)?;
    let scenario = Scenario::from_json_str(&text).map_err(|e| match e {
        GeoError::Scenario(why) => {
            GeoError::Scenario(format!("{}: {why}", args.scenario.display()))
        }
        other => other,
    })?;
    let speed = scenario.speed_or(policy.speed)?;
    let caps = scenario.caps(speed)?;
    let groups = scenario.operator_groups(speed)?;
    let world = policy.default_world()?;
    let faulty = args.faulty_operators.unwrap_or(policy.faulty_operators);
    let tolerant = evaluate_tolerant(world, &policy, &groups, faulty)?;
    let robust = robustness(world, &policy, &groups, groups.len())?;
    let verdict = &tolerant.verdict;
    let mut out = json!({
        "verdict": verdict.kind.as_str(),
        "faulty_operators": faulty,
        "constraining_operators": tolerant.constraining,
        "robustness": robust,
        "speed_m_per_s": speed.m_per_s(),
        "sound_against_all_media": speed.is_light(),
        "caps": caps.iter().map(|c| json!({"lat": c.center_lat, "lon": c.center_lon, "radius_m": c.radius_m})).collect::<Vec<_>>(),
    });
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
    println!("{out}");
    Ok(())
}
