//! SPDM datagrams: any bytes either decode into a datagram that re-encodes to exactly the same
//! bytes, or give a typed error; and a GPU agent (over a simulated GPU) handed the bytes
//! answers or discards with a reason, never panics, never answers with more bytes than it got.
#![no_main]

use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use lightcone_verifier::evidence::synthetic::SyntheticChain;
use lightcone_verifier::evidence::SimulatedGpu;
use lightcone_verifier::net::{SpdmAgent, SpdmDatagram};

/// One agent for the whole run, over a GPU with fixed keys (the fixed test chain), so seeds can
/// hold challenges addressed to it.
fn agent() -> &'static Mutex<SpdmAgent<SimulatedGpu>> {
    static AGENT: OnceLock<Mutex<SpdmAgent<SimulatedGpu>>> = OnceLock::new();
    AGENT.get_or_init(|| {
        let chain = SyntheticChain::fixed().expect("chain");
        let gpu = SimulatedGpu::from_chain("fuzz", &chain).expect("gpu");
        Mutex::new(SpdmAgent::bind("127.0.0.1:0", gpu).expect("bind"))
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = SpdmDatagram::decode(data) {
        assert_eq!(d.to_vec().ok().as_deref(), Some(data), "one datagram, one encoding");
    }
    let mut agent = agent().lock().unwrap_or_else(|e| e.into_inner());
    if let Ok(reply) = agent.handle(data, None, Instant::now()) {
        assert!(reply.len() <= data.len(), "no amplification");
        assert!(SpdmDatagram::decode(&reply).is_ok(), "replies decode");
    }
});
