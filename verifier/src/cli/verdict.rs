//! `lightcone verdict --policy POLICY.toml SCENARIO.json`: one JSON object on stdout with the
//! verdict of the policy on `F_f`, the places the chip may be when up to `f` landmark
//! operators are faulty (`faulty_operators` of the policy, or `--faulty-operators`). Exit
//! status 0 for any verdict, 2 for unusable input (with a message on stderr).

use lightcone_verifier::geo::{Policy, Scenario};
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
    let out = lightcone_verifier::geo::answer::answer(&policy, &scenario, args.faulty_operators)?;
    println!("{out}");
    Ok(())
}
