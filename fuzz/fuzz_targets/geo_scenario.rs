//! Scenario JSON → caps → verdict: hostile coordinates, times and ids give typed errors, and
//! every accepted scenario yields one of the four verdicts without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lightcone_verifier::geo::{evaluate, Policy, Scenario, World};
use std::sync::OnceLock;

static POLICY: OnceLock<Option<Policy>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Some(policy) = POLICY.get_or_init(|| Policy::from_toml_str("forbidden = [\"CN\"]").ok())
    else {
        return;
    };
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(scenario) = Scenario::from_json_str(text) else {
        return;
    };
    let Ok(speed) = scenario.speed_or(policy.speed) else {
        return;
    };
    let Ok(caps) = scenario.caps(speed) else {
        return;
    };
    let _ = evaluate(World::embedded(), policy, &caps);
});
