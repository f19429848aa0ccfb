//! The core's SPDM 1.1 parser and verifier on hostile bytes (proptest; the fuzz target
//! `evidence_spdm` does the same for longer): arbitrary bytes never panic, and a synthetic,
//! genuinely signed report with any byte changed, or cut anywhere, is refused.

use lightcone::ecdsa::P384PublicKey;
use lightcone::evidence::spdm::{
    encode_unsigned_measurements, GetMeasurements, MeasurementBlock, SpdmEvidence,
};
use p384::ecdsa::signature::hazmat::PrehashSigner as _;
use proptest::prelude::*;
use sha2::{Digest, Sha384};

const NONCE: [u8; 32] = [0x5a; 32];

/// Made once: signing costs more than the checks under test.
fn signed_report() -> (Vec<u8>, P384PublicKey) {
    static REPORT: std::sync::OnceLock<(Vec<u8>, P384PublicKey)> = std::sync::OnceLock::new();
    REPORT.get_or_init(make_report).clone()
}

fn make_report() -> (Vec<u8>, P384PublicKey) {
    let mut secret = [0x33u8; 48];
    secret[0] = 1;
    let sk = p384::ecdsa::SigningKey::from_slice(&secret).unwrap();
    let key =
        P384PublicKey::from_sec1(sk.verifying_key().to_encoded_point(false).as_bytes()).unwrap();
    let request = GetMeasurements::new(0xFF, NONCE, 0).unwrap();
    let values = [[1u8; 48], [2; 48], [3; 48]];
    let blocks: Vec<MeasurementBlock<'_>> = values
        .iter()
        .zip(1u8..)
        .map(|(v, index)| MeasurementBlock {
            index,
            value_type: 1,
            value: v,
        })
        .collect();
    let mut buf = [0u8; 1024];
    let unsigned =
        encode_unsigned_measurements(&request, &blocks, &[9; 32], b"opaque", &mut buf).unwrap();
    let digest: [u8; 48] = Sha384::new()
        .chain_update(request.as_bytes())
        .chain_update(unsigned)
        .finalize()
        .into();
    let sig: p384::ecdsa::Signature = sk.sign_prehash(&digest).unwrap();
    (
        [request.as_bytes(), unsigned, &sig.to_bytes()[..]].concat(),
        key,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = GetMeasurements::parse(&bytes);
        if let Ok(e) = SpdmEvidence::parse_concatenated(&bytes) {
            prop_assert_eq!(e.response().blocks().count(), usize::from(e.response().number_of_blocks()));
        }
    }

    #[test]
    fn a_changed_byte_is_refused(at in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let (mut report, key) = signed_report();
        let i = at.index(report.len());
        report[i] ^= flip;
        let got = SpdmEvidence::parse_concatenated(&report).and_then(|e| e.verify(&key, &NONCE));
        prop_assert!(got.is_err(), "byte {} ^ {:#x} accepted", i, flip);
    }

    #[test]
    fn a_cut_report_is_refused(at in any::<prop::sample::Index>()) {
        let (report, _) = signed_report();
        let n = at.index(report.len());
        prop_assert!(SpdmEvidence::parse_concatenated(&report[..n]).is_err());
    }
}

#[test]
fn the_unchanged_report_verifies() {
    let (report, key) = signed_report();
    assert!(SpdmEvidence::parse_concatenated(&report)
        .and_then(|e| e.verify(&key, &NONCE))
        .is_ok());
}
