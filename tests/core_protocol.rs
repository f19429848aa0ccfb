//! Protocol properties of the core: tampering, replays, wrong parties, non-canonical and hostile
//! bytes, and the soundness of distance bounds.

mod common;

use common::{encode, key, p256_key, p384_key, round, round_with, NOW_S};
use lightcone::{
    Challenge, DeviceCertificate, DistanceBound, Error, LandmarkCertificate, LogRecord,
    Measurement, RamCounter, Responder, Response, Signer, Speed, Wire, PROTOCOL_VERSION,
};
use proptest::prelude::*;

/// Decodes and fully verifies each kind of signed message against the round's trust roots.
fn accept_device<C>(r: &common::Round<C>, bytes: &[u8]) -> Result<(), Error> {
    DeviceCertificate::decode(bytes)?.verify(&r.vendor.public_key(), NOW_S)?;
    Ok(())
}
fn accept_landmark<C>(r: &common::Round<C>, bytes: &[u8]) -> Result<(), Error> {
    LandmarkCertificate::decode(bytes)?.verify(&r.registry.public_key(), NOW_S)?;
    Ok(())
}
fn accept_response<C>(r: &common::Round<C>, bytes: &[u8]) -> Result<(), Error> {
    let response = Response::decode(bytes)?;
    if response.body.challenge != r.challenge {
        return Err(Error::ChallengeMismatch);
    }
    response.verify(&r.verified_device())?;
    Ok(())
}
fn accept_measurement<C>(r: &common::Round<C>, bytes: &[u8]) -> Result<(), Error> {
    Measurement::decode(bytes)?.verify(&r.verified_landmark(), &r.verified_device())?;
    Ok(())
}

#[test]
fn the_untouched_round_verifies() {
    let r = round(1);
    accept_device(&r, &encode(&r.device)).unwrap();
    accept_landmark(&r, &encode(&r.landmark_cert)).unwrap();
    accept_response(&r, &encode(&r.response)).unwrap();
    accept_measurement(&r, &encode(&r.measurement)).unwrap();
}

#[test]
fn every_single_byte_change_to_a_signed_message_is_rejected() {
    every_single_byte_change_is_rejected(&round(1));
}

#[test]
fn every_single_byte_change_is_rejected_for_ecdsa_chips() {
    every_single_byte_change_is_rejected(&round_with(7, p384_key(7)));
    every_single_byte_change_is_rejected(&round_with(9, p256_key(9)));
}

fn every_single_byte_change_is_rejected<C>(r: &common::Round<C>) {
    type Check<C> = fn(&common::Round<C>, &[u8]) -> Result<(), Error>;
    let cases: [(&str, Vec<u8>, Check<C>); 4] = [
        ("device certificate", encode(&r.device), accept_device),
        (
            "landmark certificate",
            encode(&r.landmark_cert),
            accept_landmark,
        ),
        ("response", encode(&r.response), accept_response),
        ("measurement", encode(&r.measurement), accept_measurement),
    ];
    for (name, bytes, check) in cases {
        for i in 0..bytes.len() {
            // Each single-bit flip of byte i, and its complement.
            for mask in [1u8, 2, 4, 8, 16, 32, 64, 128, 255] {
                let mut tampered = bytes.clone();
                tampered[i] ^= mask;
                let v = tampered[i];
                assert!(
                    check(r, &tampered).is_err(),
                    "{name}: byte {i} changed to {v:#04x} was accepted"
                );
            }
        }
    }
}

#[test]
fn a_response_replayed_to_another_challenge_is_rejected() {
    let r = round(1);
    let lm = lightcone::Landmark::new(r.landmark_key.clone());
    let mut rng =
        <rand_chacha::ChaCha20Rng as rand_chacha::rand_core::SeedableRng>::from_seed([200; 32]);
    let fresh = lm.challenge(r.challenge.chip_id, &mut rng).unwrap();
    let err = lm
        .check_response(&fresh, &encode(&r.response), &r.verified_device())
        .unwrap_err();
    assert_eq!(err, Error::ChallengeMismatch);
}

#[test]
fn a_chip_refuses_challenges_for_another_chip() {
    let r = round(1);
    let mut other = Responder::new(key(99), RamCounter::default());
    let mut out = [0u8; Response::MAX_SIZE];
    assert_eq!(
        other.respond(&encode(&r.challenge), || 0, &mut out),
        Err(Error::WrongChip)
    );
}

#[test]
fn a_response_from_another_chip_is_rejected() {
    let r = round(1);
    // Another chip, certified by the same vendor, signs the same challenge bytes anyway.
    let mut impostor_key = key(77);
    let mut vendor = r.vendor.clone();
    let impostor_cert = common::device_cert(&mut vendor, &impostor_key);
    let mut body = r.response.body;
    body.counter += 1;
    let forged = lightcone::Signed::sign(body, &mut impostor_key).unwrap();
    let lm = lightcone::Landmark::new(r.landmark_key.clone());
    // Checked against the addressed chip's certificate: the signature fails.
    assert_eq!(
        lm.check_response(&r.challenge, &encode(&forged), &r.verified_device())
            .unwrap_err(),
        Error::BadSignature
    );
    // Checked against the impostor's own certificate: the challenge was not addressed to it.
    let impostor = impostor_cert.verify(&vendor.public_key(), NOW_S).unwrap();
    assert_eq!(forged.verify(&impostor).unwrap_err(), Error::WrongChip);
}

#[test]
fn certificates_signed_by_the_wrong_key_are_rejected() {
    let r = round(1);
    let mut rogue = key(66);
    let rogue_cert = common::device_cert(&mut rogue, &r.chip);
    assert_eq!(
        rogue_cert
            .verify(&r.vendor.public_key(), NOW_S)
            .unwrap_err(),
        Error::BadSignature
    );
    // A rogue that copies the real vendor's issuer id still cannot sign for it.
    let mut body = rogue_cert.body;
    body.issuer = r.device.body.issuer;
    let relabelled = lightcone::Signed::sign(body, &mut rogue).unwrap();
    assert_eq!(
        relabelled
            .verify(&r.vendor.public_key(), NOW_S)
            .unwrap_err(),
        Error::BadSignature
    );
    // The registry key is not a vendor key, and vice versa.
    assert!(r
        .landmark_cert
        .verify(&r.vendor.public_key(), NOW_S)
        .is_err());
}

#[test]
fn certificates_outside_their_validity_are_rejected() {
    let r = round(1);
    let v = r.device.body.validity;
    assert!(r
        .device
        .verify(&r.vendor.public_key(), v.not_before)
        .is_ok());
    assert!(r.device.verify(&r.vendor.public_key(), v.not_after).is_ok());
    assert_eq!(
        r.device
            .verify(&r.vendor.public_key(), v.not_after + 1)
            .unwrap_err(),
        Error::CertificateNotValid
    );
    assert_eq!(
        r.landmark_cert
            .verify(&r.registry.public_key(), v.not_before - 1)
            .unwrap_err(),
        Error::CertificateNotValid
    );
}

#[test]
fn non_canonical_encodings_are_rejected() {
    let r = round(1);
    let bytes = encode(&r.response);
    // The response counter (42) is one varint byte after version (1) + challenge (65).
    let at = 1 + Challenge::MAX_SIZE;
    assert_eq!(bytes[at], 42);
    let mut overlong = bytes[..at].to_vec();
    overlong.extend_from_slice(&[42 | 0x80, 0x00]);
    overlong.extend_from_slice(&bytes[at + 1..]);
    assert_eq!(
        Response::decode(&overlong).unwrap_err(),
        Error::NonCanonical
    );
}

#[test]
fn other_versions_are_refused_before_parsing() {
    let r = round(1);
    let mut bytes = encode(&r.measurement);
    bytes[0] = PROTOCOL_VERSION + 1;
    assert_eq!(
        Measurement::decode(&bytes).unwrap_err(),
        Error::UnsupportedVersion
    );
    let mut c = encode(&r.challenge);
    // Version 1 (before landmark certificates named their operator) is refused too.
    c[0] = 1;
    assert_eq!(
        Challenge::decode(&c).unwrap_err(),
        Error::UnsupportedVersion
    );
}

#[test]
fn truncated_and_overlong_valid_messages_fail_cleanly() {
    truncated_and_overlong_fail(&round(1));
    truncated_and_overlong_fail(&round_with(7, p384_key(7)));
    truncated_and_overlong_fail(&round_with(9, p256_key(9)));
}

fn truncated_and_overlong_fail<C>(r: &common::Round<C>) {
    type Decode = fn(&[u8]) -> bool;
    let cases: [(Vec<u8>, Decode); 6] = [
        (encode(&r.device), |b| DeviceCertificate::decode(b).is_ok()),
        (encode(&r.landmark_cert), |b| {
            LandmarkCertificate::decode(b).is_ok()
        }),
        (encode(&r.challenge), |b| Challenge::decode(b).is_ok()),
        (encode(&r.response), |b| Response::decode(b).is_ok()),
        (encode(&r.measurement), |b| Measurement::decode(b).is_ok()),
        (encode(&LogRecord::Measurement(r.measurement)), |b| {
            LogRecord::decode(b).is_ok()
        }),
    ];
    for (bytes, decodes) in cases {
        assert!(decodes(&bytes));
        for n in 0..bytes.len() {
            assert!(!decodes(&bytes[..n]), "a {n}-byte prefix decoded");
        }
        for extra in [0u8, 1, 0xff] {
            let mut longer = bytes.clone();
            longer.push(extra);
            assert!(!decodes(&longer), "trailing byte {extra} accepted");
        }
    }
}

#[test]
fn encodings_fit_max_size_and_log_records_round_trip() {
    let r = round(1);
    assert!(encode(&r.challenge).len() <= Challenge::MAX_SIZE);
    assert!(encode(&r.response).len() <= Response::MAX_SIZE);
    assert!(encode(&r.measurement).len() <= Measurement::MAX_SIZE);
    assert!(encode(&r.device).len() <= DeviceCertificate::MAX_SIZE);
    assert!(encode(&r.landmark_cert).len() <= LandmarkCertificate::MAX_SIZE);
    for record in [
        LogRecord::DeviceCertificate(r.device),
        LogRecord::LandmarkCertificate(r.landmark_cert),
        LogRecord::Measurement(r.measurement),
    ] {
        let bytes = encode(&record);
        assert!(bytes.len() <= LogRecord::MAX_SIZE);
        assert_eq!(LogRecord::decode(&bytes).unwrap(), record);
    }
}

#[test]
fn worst_case_values_fit_max_size() {
    // The largest forms carry a P-384 chip key and signature.
    let r = round_with(7, p384_key(7));
    let mut m = r.measurement;
    m.body.rtt_ns = u64::MAX;
    m.body.sent_at_ns = u64::MAX;
    m.body.response.body.counter = u64::MAX;
    m.body.response.body.processing_ns = u64::MAX;
    assert_eq!(encode(&m).len(), Measurement::MAX_SIZE);
    let mut d = r.device;
    d.body.timing.min_response_ns = u64::MAX;
    d.body.timing.max_processing_ns = u64::MAX;
    d.body.timing.clock_tolerance_ppm = u32::MAX;
    d.body.validity.not_before = u64::MAX;
    d.body.validity.not_after = u64::MAX;
    assert_eq!(encode(&d).len(), DeviceCertificate::MAX_SIZE);
    let mut l = r.landmark_cert;
    l.body.position = lightcone::Position::from_degrees(-90.0, -180.0).unwrap();
    l.body.uncertainty_m = u32::MAX;
    l.body.validity.not_before = u64::MAX;
    l.body.validity.not_after = u64::MAX;
    assert_eq!(encode(&l).len(), LandmarkCertificate::MAX_SIZE);
}

#[test]
fn the_counter_is_monotonic() {
    let r = round(1);
    let mut responder = Responder::new(r.chip.clone(), RamCounter::starting_after(u64::MAX - 1));
    let mut out = [0u8; Response::MAX_SIZE];
    let n = responder
        .respond(&encode(&r.challenge), || 0, &mut out)
        .unwrap();
    assert_eq!(Response::decode(&out[..n]).unwrap().body.counter, u64::MAX);
    assert_eq!(
        responder.respond(&encode(&r.challenge), || 0, &mut out),
        Err(Error::CounterExhausted)
    );
    assert_eq!(
        responder.respond(&encode(&r.challenge), || 0, &mut out[..10]),
        Err(Error::BufferTooSmall)
    );
}

#[test]
fn one_millisecond_bound_matches_hand_computation() {
    // 299 792 458 m/s × 1 ms / 2 = 149 896.229 m, rounded up to 149 897.
    assert_eq!(
        DistanceBound::from_rtt(1_000_000, 0, 0, Speed::LIGHT).metres(),
        149_897
    );
    let r = round(1);
    let m = r
        .measurement
        .verify(&r.verified_landmark(), &r.verified_device())
        .unwrap();
    // 1 ms RTT minus the endorsed 20 µs minimum: 980 µs → 146 898.30442 m, +250 m uncertainty.
    let bound = m.distance_bound(
        &r.verified_device(),
        &r.verified_landmark(),
        Speed::LIGHT,
        lightcone::ProcessingCredit::EndorsedMinimum,
    );
    assert_eq!(bound.metres(), 146_899 + 250);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Random bytes never panic any decoder and never verify.
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = Challenge::decode(&bytes);
        let _ = Response::decode(&bytes);
        let _ = DeviceCertificate::decode(&bytes);
        let _ = LandmarkCertificate::decode(&bytes);
        let _ = LogRecord::decode(&bytes);
        let r = round(1);
        prop_assert!(accept_measurement(&r, &bytes).is_err());
        let mut responder = Responder::new(r.chip.clone(), RamCounter::default());
        let mut out = [0u8; Response::MAX_SIZE];
        prop_assert!(responder.respond(&bytes, || 0, &mut out).is_err());
    }

    /// Whatever the distance, processing time and measurement slack, a round trip that light
    /// could achieve never yields a bound below the true distance.
    #[test]
    fn the_bound_never_falls_below_the_true_distance(
        true_distance_m in 0u64..25_000_000,
        min_response_ns in 0u64..10_000_000,
        extra_processing_ns in 0u64..10_000_000,
        slack_ns in 0u64..1_000_000,
        uncertainty_m in 0u64..10_000,
        fibre in any::<bool>(),
    ) {
        let speed = if fibre { Speed::FIBRE } else { Speed::LIGHT };
        // The fastest a signal at `speed` covers 2·d, in whole ns rounded up (a clock can only
        // read a real interval as at least its floor; ceil is the tightest integer the
        // physics allows, so this is the hardest case for the bound).
        let flight_ns = (2 * true_distance_m as u128 * 1_000_000_000).div_ceil(speed.m_per_s() as u128) as u64;
        // A clock that reads one tick short is accounted for by taking the floor instead:
        let flight_floor_ns = (2 * true_distance_m as u128 * 1_000_000_000 / speed.m_per_s() as u128) as u64;
        for flight in [flight_ns, flight_floor_ns] {
            let rtt = flight + min_response_ns + extra_processing_ns + slack_ns;
            let bound = DistanceBound::from_rtt(rtt, min_response_ns, uncertainty_m, speed).metres();
            // With the floor reading, the bound may be short by less than one ns of travel.
            let tolerance = if flight == flight_floor_ns { speed.metres_in(1) } else { 0 };
            prop_assert!(bound + tolerance >= true_distance_m + uncertainty_m,
                "d={true_distance_m} rtt={rtt} bound={bound}");
        }
    }

    /// More round-trip time never shrinks the bound; more credited processing never grows it.
    #[test]
    fn the_bound_is_monotonic(rtt in any::<u64>(), more in any::<u64>(), p in any::<u64>(), u in any::<u64>()) {
        let a = DistanceBound::from_rtt(rtt, p, u, Speed::LIGHT);
        let b = DistanceBound::from_rtt(rtt.saturating_add(more), p, u, Speed::LIGHT);
        let c = DistanceBound::from_rtt(rtt, p.saturating_add(more), u, Speed::LIGHT);
        prop_assert!(b >= a);
        prop_assert!(c <= a);
    }
}

#[test]
fn ecdsa_rounds_verify_and_an_independent_implementation_agrees() {
    // ring (BoringSSL's P-384/P-256 code) checks the chip's signature over the exact signed
    // message: the core signs what a standard ECDSA verifier accepts, in the fixed r‖s form.
    fn check<C>(r: &common::Round<C>, alg: &'static ring::signature::EcdsaVerificationAlgorithm) {
        accept_device(r, &encode(&r.device)).unwrap();
        accept_response(r, &encode(&r.response)).unwrap();
        accept_measurement(r, &encode(&r.measurement)).unwrap();
        let message = r.response.with_signed_message(|m| Ok(m.to_vec())).unwrap();
        let key = ring::signature::UnparsedPublicKey::new(alg, r.device.body.device_key.as_bytes());
        key.verify(&message, r.response.signature.as_bytes())
            .expect("ring verifies the core's ECDSA signature");
        let mut wrong = message.clone();
        wrong[30] ^= 1;
        assert!(key.verify(&wrong, r.response.signature.as_bytes()).is_err());
    }
    check(
        &round_with(7, p384_key(7)),
        &ring::signature::ECDSA_P384_SHA384_FIXED,
    );
    check(
        &round_with(9, p256_key(9)),
        &ring::signature::ECDSA_P256_SHA256_FIXED,
    );
}

#[test]
fn both_s_halves_of_a_p384_response_verify_and_nothing_else_does() {
    let r = round_with(7, p384_key(7));
    let lightcone::AnySignature::P384(bytes) = r.response.signature else {
        panic!("a P-384 chip signs with P-384");
    };
    let sig = lightcone::ecdsa::P384Signature::from_slice(&bytes.0).unwrap();
    let mut twin = r.response;
    twin.signature = sig.malleated().into();
    assert_ne!(twin.signature, r.response.signature);
    twin.verify(&r.verified_device()).unwrap();
    // r or s zero, or s = n: refused before any arithmetic.
    for (at, value) in [(0..48, 0u8), (48..96, 0u8), (48..96, 0xff)] {
        let mut b = bytes.0;
        b[at].fill(value);
        let mut forged = r.response;
        forged.signature = lightcone::AnySignature::P384(lightcone::wire::Bytes(b));
        assert_eq!(
            forged.verify(&r.verified_device()),
            Err(Error::BadSignature)
        );
    }
}

#[test]
fn a_signature_of_another_algorithm_never_verifies() {
    use lightcone::wire::Bytes;
    use lightcone::AnySignature;
    // An Ed25519 chip's response relabelled as P-256 (same 64 bytes), and a P-384 chip's
    // response carrying an Ed25519-tagged signature: refused, whatever the bytes.
    let ed = round(1);
    let mut relabelled = ed.response;
    relabelled.signature =
        AnySignature::P256(Bytes(ed.response.signature.as_bytes().try_into().unwrap()));
    assert_eq!(
        relabelled.verify(&ed.verified_device()),
        Err(Error::BadSignature)
    );
    let p = round_with(7, p384_key(7));
    let mut ed_sig = p.response;
    ed_sig.signature = ed.response.signature;
    assert_eq!(
        ed_sig.verify(&p.verified_device()),
        Err(Error::BadSignature)
    );
    // Re-encoded with the tag byte changed, a measurement's chip signature fails to decode or
    // to verify; it never verifies.
    // (Varints make the offset data-dependent: find the tag by the signature that follows it.)
    let bytes = encode(&p.measurement);
    let mut found = false;
    for i in 0..bytes.len() {
        if bytes[i] == 1 && bytes.get(i + 1..i + 97) == Some(p.response.signature.as_bytes()) {
            found = true;
            for tag in [0u8, 2, 3, 0xff] {
                let mut t = bytes.clone();
                t[i] = tag;
                assert!(accept_measurement(&p, &t).is_err(), "tag {tag} accepted");
            }
        }
    }
    assert!(
        found,
        "the P-384 signature is in the measurement's encoding"
    );
}

#[test]
fn servers_keys_and_signatures_must_be_ed25519() {
    // A landmark certificate whose key is re-tagged as P-384 (or whose signature is) does not
    // decode: landmarks, vendors and the registry sign with Ed25519 only.
    let r = round(1);
    let bytes = encode(&r.landmark_cert);
    // version (1) + landmark id (16), then the key's tag.
    assert_eq!(bytes[17], 0);
    let mut t = bytes.clone();
    t[17] = 1;
    assert!(LandmarkCertificate::decode(&t).is_err());
    let sig_tag = bytes.len() - 65;
    assert_eq!(bytes[sig_tag], 0);
    let mut t = bytes.clone();
    t[sig_tag] = 1;
    assert!(LandmarkCertificate::decode(&t).is_err());
    // A device certificate for a P-384 key that is not on the curve: signed by the vendor,
    // still refused.
    let mut vendor = r.vendor.clone();
    let mut off_curve = [0u8; 97];
    off_curve[0] = 4;
    off_curve[1] = 1;
    let cert = DeviceCertificate::issue(
        &mut vendor,
        lightcone::AnyPublicKey::P384(lightcone::wire::Bytes(off_curve)),
        lightcone::ModelName::new("LC-BAD").unwrap(),
        r.device.body.timing,
        r.device.body.validity,
    )
    .unwrap();
    assert_eq!(
        cert.verify(&r.vendor.public_key(), NOW_S).unwrap_err(),
        Error::InvalidPublicKey
    );
}

#[test]
fn the_readme_states_the_maximum_sizes() {
    let readme = include_str!("../README.md");
    for (name, max) in [
        ("Challenge", Challenge::MAX_SIZE),
        ("Response", Response::MAX_SIZE),
        ("Measurement", Measurement::MAX_SIZE),
        ("DeviceCertificate", DeviceCertificate::MAX_SIZE),
        ("LandmarkCertificate", LandmarkCertificate::MAX_SIZE),
    ] {
        let row = format!("| `{name}` | {max} |");
        assert!(readme.contains(&row), "README lacks {row}");
    }
}
