//! Policy TOML: any bytes either parse into a policy (resolved against the embedded borders)
//! or give a typed error; never a panic. A parsed policy must classify a point.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lightcone_verifier::geo::{Policy, World};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(policy) = Policy::from_toml_str(text) {
        let _ = policy.classify(World::embedded(), 22.3, 114.2);
    }
});
