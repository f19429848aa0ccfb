//! The log records of GPUs that answer with SPDM evidence, played against: a landmark's
//! measurement of a real-shaped SPDM round verifies, and every way an owner or a log could bend
//! it is refused — another GPU's key, a report made for another challenge, a report swapped
//! under the landmark's signature, any changed byte, trailing or oversized data, an
//! endorsement from another registry or out of its validity.

mod common;

use common::{
    encode, encode_entry, gpu_report, p384_key, spdm_round, validity, FIXTURE_ROOT_SHA256, NOW_S,
};
use lightcone::ecdsa::P384PublicKey;
use lightcone::evidence::record::{GPU_CHAIN_MAX, SPDM_REPORT_MAX};
use lightcone::evidence::spdm::challenge_nonce;
use lightcone::evidence::{gpu_chip_id, GpuChain, LeafCnPrefix, ModelEndorsement, SpdmMeasurement};
use lightcone::{
    Error, LogEntry, LogRecord, ModelName, ResponseTiming, Signer as _, Speed, Validity, Wire,
};

fn p384_public(seed: u8) -> P384PublicKey {
    let key = p384_key(seed);
    P384PublicKey::from_sec1(key.verifying_key().to_encoded_point(false).as_bytes()).unwrap()
}

#[test]
fn an_honest_spdm_round_verifies_and_its_bound_subtracts_the_endorsed_minimum() {
    let r = spdm_round(11);
    let m = r.measurement();
    let landmark = r.verified_landmark();
    let verified = m.verify(&landmark, &r.gpu_key).unwrap();
    let endorsement = r
        .endorsement
        .verify(&r.registry.public_key(), NOW_S)
        .unwrap();
    assert!(endorsement.matches(&FIXTURE_ROOT_SHA256, "GH100 A01 GSP FMC LF"));
    let min = endorsement.body.timing.min_response_ns;
    let with = verified.distance_bound(min, &landmark, Speed::LIGHT);
    let without = verified.distance_bound(0, &landmark, Speed::LIGHT);
    // 2 ms RTT less 1.5 ms at c: 74.9 km plus the landmark's 250 m; without it, 300 km.
    assert!(with.metres() < without.metres());
    assert!(with.metres() >= 74_948 + 250);
}

#[test]
fn records_round_trip_through_log_entries() {
    let r = spdm_round(11);
    let m = r.measurement();
    let bytes = encode_entry(&LogEntry::Spdm(m));
    assert_eq!(bytes[0], 5);
    assert_eq!(LogEntry::decode(&bytes), Ok(LogEntry::Spdm(m)));
    let chain = GpuChain::new(&r.chain_der).unwrap();
    let bytes = encode_entry(&LogEntry::GpuChain(chain));
    assert_eq!(bytes[0], 4);
    assert_eq!(LogEntry::decode(&bytes), Ok(LogEntry::GpuChain(chain)));
    let record = LogRecord::ModelEndorsement(r.endorsement);
    assert_eq!(LogRecord::decode(&encode(&record)), Ok(record));
    assert_eq!(
        LogEntry::decode(&encode(&record)),
        Ok(LogEntry::Record(record))
    );
}

#[test]
fn another_gpus_key_is_refused() {
    let r = spdm_round(11);
    let m = r.measurement();
    let other = p384_public(99);
    assert_eq!(
        m.verify(&r.verified_landmark(), &other),
        Err(Error::WrongChip)
    );
}

#[test]
fn a_report_made_for_another_challenge_is_refused() {
    // The owner's best replay: a genuine report of this very GPU, signed over the nonce of an
    // earlier challenge, under a new challenge's measurement.
    let r = spdm_round(11);
    let mut gpu = r.gpu.clone();
    let mut earlier = r.challenge;
    earlier.nonce.0 .0[0] ^= 1;
    let stale = gpu_report(&mut gpu, challenge_nonce(&earlier).unwrap());
    let mut landmark = r.landmark_key.clone();
    let m = SpdmMeasurement::sign(&mut landmark, r.challenge, &stale, 2_000_000, 1).unwrap();
    assert_eq!(
        m.verify(&r.verified_landmark(), &r.gpu_key),
        Err(Error::ChallengeMismatch)
    );
}

#[test]
fn a_report_swapped_under_the_landmarks_signature_is_refused() {
    let r = spdm_round(11);
    let m = r.measurement();
    let other = spdm_round(12);
    let swapped = SpdmMeasurement {
        measurement: m.measurement,
        report: &other.report,
    };
    assert_eq!(
        swapped.verify(&r.verified_landmark(), &r.gpu_key),
        Err(Error::BadSignature)
    );
}

#[test]
fn every_changed_byte_of_an_entry_is_refused() {
    let r = spdm_round(11);
    let landmark = r.verified_landmark();
    let bytes = encode_entry(&LogEntry::Spdm(r.measurement()));
    for i in 0..bytes.len() {
        for flip in [0x01u8, 0x80] {
            let mut bad = bytes.clone();
            bad[i] ^= flip;
            let accepted = match LogEntry::decode(&bad) {
                Ok(LogEntry::Spdm(m)) => m.verify(&landmark, &r.gpu_key).is_ok(),
                _ => false,
            };
            assert!(!accepted, "byte {i} ^ {flip:#04x} still verifies");
        }
    }
}

#[test]
fn trailing_truncated_oversized_and_other_version_entries_are_refused() {
    let r = spdm_round(11);
    let bytes = encode_entry(&LogEntry::Spdm(r.measurement()));
    let mut long = bytes.clone();
    long.push(0);
    assert_eq!(LogEntry::decode(&long), Err(Error::TrailingBytes));
    for cut in [0, 1, 2, bytes.len() / 2, bytes.len() - 1] {
        assert!(LogEntry::decode(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    let mut other_version = bytes.clone();
    other_version[1] = 2;
    assert_eq!(
        LogEntry::decode(&other_version),
        Err(Error::UnsupportedVersion)
    );
    assert_eq!(LogRecord::decode(&bytes), Err(Error::UnsupportedVersion));

    let big = vec![0u8; SPDM_REPORT_MAX + 1];
    let mut landmark = r.landmark_key.clone();
    assert_eq!(
        SpdmMeasurement::sign(&mut landmark, r.challenge, &big, 1, 1),
        Err(Error::Malformed)
    );
    assert_eq!(
        GpuChain::new(&vec![0u8; GPU_CHAIN_MAX + 1]),
        Err(Error::Malformed)
    );
    assert_eq!(GpuChain::new(&[]), Err(Error::Malformed));
    // An oversized chain written by hand (a hostile log) is refused on decode.
    let mut hand = vec![4u8, lightcone::PROTOCOL_VERSION];
    let len = GPU_CHAIN_MAX + 1;
    hand.extend_from_slice(&[
        (len as u8) | 0x80,
        ((len >> 7) as u8) | 0x80,
        (len >> 14) as u8,
    ]);
    hand.resize(hand.len() + len, 0x30);
    assert_eq!(LogEntry::decode(&hand), Err(Error::Malformed));
}

#[test]
fn gpu_chip_ids_are_the_p384_device_ids() {
    let key = p384_public(11);
    let chip = p384_key(11);
    assert_eq!(gpu_chip_id(&key), lightcone::ChipId::of(&chip.public_key()));
}

#[test]
fn endorsements_bind_registry_validity_root_and_leaf_prefix() {
    let r = spdm_round(11);
    let registry = r.registry.public_key();
    let e = &r.endorsement;
    assert!(e.verify(&registry, NOW_S).is_ok());
    let stranger = common::key(200).public_key();
    assert_eq!(e.verify(&stranger, NOW_S), Err(Error::BadSignature));
    assert_eq!(
        e.verify(&registry, validity().not_after + 1),
        Err(Error::CertificateNotValid)
    );
    let mut forged = *e;
    forged.body.timing.min_response_ns += 1;
    assert_eq!(forged.verify(&registry, NOW_S), Err(Error::BadSignature));
    let v = e.verify(&registry, NOW_S).unwrap();
    assert!(!v.matches(&[0; 32], "GH100 A01"));
    assert!(!v.matches(&FIXTURE_ROOT_SHA256, "GB100 A01"));
    assert!(!v.matches(&FIXTURE_ROOT_SHA256, "GH10"));
    let mut registry_key = r.registry.clone();
    let inverted = ModelEndorsement::issue(
        &mut registry_key,
        ModelName::new("H100").unwrap(),
        FIXTURE_ROOT_SHA256,
        LeafCnPrefix::new("GH100").unwrap(),
        ResponseTiming {
            min_response_ns: 2,
            max_processing_ns: 1,
            clock_tolerance_ppm: 0,
        },
        Validity {
            not_before: 0,
            not_after: 1,
        },
    );
    assert_eq!(inverted, Err(Error::InvalidCertificate));
}
