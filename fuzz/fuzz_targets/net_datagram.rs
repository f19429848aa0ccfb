//! Network datagrams: any bytes either decode into a datagram that re-encodes to exactly the
//! same bytes, or give a typed error; and a chip agent handed the bytes answers or discards
//! with a reason, never panics, and only ever answers with a decodable datagram.
#![no_main]

use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use lightcone_verifier::net::{ChipAgent, Datagram, MAX_DATAGRAM};
use lightcone_verifier::registry::SigningKey;

/// One agent for the whole run (binding a socket per input would dominate the time); its key
/// is fixed so the seed corpus can hold challenges addressed to it.
fn agent() -> &'static Mutex<ChipAgent<SigningKey>> {
    static AGENT: OnceLock<Mutex<ChipAgent<SigningKey>>> = OnceLock::new();
    AGENT.get_or_init(|| {
        let key = SigningKey::from_bytes(&[7; 32]);
        Mutex::new(ChipAgent::bind("127.0.0.1:0", key, None).expect("bind"))
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = Datagram::decode(data) {
        assert_eq!(d.to_vec(), data, "one datagram, one encoding");
    }
    let mut out = [0u8; MAX_DATAGRAM];
    let mut agent = agent().lock().unwrap_or_else(|e| e.into_inner());
    if let Ok(n) = agent.handle(data, Instant::now(), &mut out) {
        assert!(
            Datagram::decode(&out[..n]).is_ok(),
            "the agent sent undecodable bytes"
        );
    }
});
