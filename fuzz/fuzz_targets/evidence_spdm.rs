//! The core's SPDM 1.1 parser (`lightcone::evidence::spdm`) on hostile bytes, as a report
//! (request ‖ response) or as a request and a response split at the first byte. Never a panic;
//! whatever parses reads back exactly: the request re-encodes to its bytes, the blocks iterate
//! to `NumberOfBlocks`, the unsigned response re-encodes (when `Param1` is 0) to the signed
//! part, and the signed part plus the 96-byte signature is the whole response. No report
//! verifies under a fixed key the fuzzer cannot sign with.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use lightcone::ecdsa::P384PublicKey;
use lightcone::evidence::spdm::{
    encode_unsigned_measurements, GetMeasurements, MeasurementBlock, SpdmEvidence,
    GET_MEASUREMENTS_LEN,
};

/// The P-384 generator point, as a public key: its secret key is 1, which no honest signer
/// uses, but the fuzzer still cannot produce signatures without computing them.
fn key() -> &'static P384PublicKey {
    static KEY: OnceLock<P384PublicKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let g = "04aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab73617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f";
        let bytes: Vec<u8> = (0..g.len() / 2)
            .map(|i| u8::from_str_radix(&g[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        P384PublicKey::from_sec1(&bytes).unwrap()
    })
}

fn check(evidence: &SpdmEvidence<'_>, request_bytes: &[u8], response_bytes: &[u8]) {
    assert_eq!(evidence.request().as_bytes(), request_bytes);
    let response = evidence.response();
    let blocks: Vec<MeasurementBlock<'_>> = response.blocks().collect();
    assert_eq!(blocks.len(), usize::from(response.number_of_blocks()));
    assert_eq!(response.signed_part().len() + 96, response_bytes.len());
    assert_eq!(&response_bytes[response.signed_part().len()..], response.signature_bytes());
    if response.param1() == 0 {
        let mut buf = vec![0u8; response_bytes.len()];
        let again = encode_unsigned_measurements(
            evidence.request(),
            &blocks,
            response.responder_nonce(),
            response.opaque_data(),
            &mut buf,
        )
        .expect("what parses re-encodes");
        assert_eq!(again, response.signed_part(), "re-encoding differs");
    }
    assert!(evidence.verify_signature(key()).is_err(), "a fuzzed report verified");
}

fuzz_target!(|data: &[u8]| {
    if let Ok(e) = SpdmEvidence::parse_concatenated(data) {
        let (req, resp) = data.split_at(GET_MEASUREMENTS_LEN);
        check(&e, req, resp);
    }
    // The request alone, and a split at the first byte (so a request of any length is tried).
    let _ = GetMeasurements::parse(data);
    if let Some((&n, rest)) = data.split_first() {
        let n = usize::from(n).min(rest.len());
        let (req, resp) = rest.split_at(n);
        if let Ok(e) = SpdmEvidence::parse(req, resp) {
            check(&e, req, resp);
        }
    }
});
