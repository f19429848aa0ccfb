//! The core's own encoder (`src/wire/encoder.rs`) against postcard: for arbitrary values of every
//! core message type, `Wire::encode`, the signed message (`domain ‖ body`) and, on hosts,
//! `Wire::to_vec` are byte for byte what postcard writes; the canonical decoder (which re-encodes
//! through the encoder's comparing sink) accepts postcard's bytes; a buffer one byte short, or
//! any shorter, is refused with `BufferTooSmall`.

use std::fmt::Debug;

use lightcone::cert::{DeviceCertificateBody, LandmarkCertificateBody};
use lightcone::evidence::{
    GpuChain, LeafCnPrefix, ModelEndorsement, ModelEndorsementBody, SpdmMeasurement,
    SpdmMeasurementBody,
};
use lightcone::message::{MeasurementBody, ResponseBody};
use lightcone::signed::{SignatureForm, SignedBody};
use lightcone::wire::Bytes;
use lightcone::{
    AnyPublicKey, AnySignature, Challenge, ChipId, DeviceCertificate, Error, IssuerId,
    LandmarkCertificate, LandmarkId, Latitude, LogEntry, LogRecord, Longitude, Measurement,
    ModelName, Nonce, OperatorName, Position, PublicKey, Response, ResponseTiming, Signature,
    Signed, Validity, Wire, PROTOCOL_VERSION,
};
use proptest::prelude::*;

/// postcard's encoding of `value`.
fn postcard_bytes<T: serde::Serialize>(value: &T) -> Vec<u8> {
    let mut buf = vec![0u8; 4096];
    let len = postcard::to_slice(value, &mut buf).unwrap().len();
    buf.truncate(len);
    buf
}

/// Encoding, size bound, every too-short buffer, `to_vec` and the canonical round trip of one
/// value; `version` is the byte `T::decode` checks first.
fn check_wire<T: Wire + PartialEq + Debug>(value: &T, version: u8) -> Result<(), TestCaseError> {
    let expected = postcard_bytes(value);
    let mut buf = vec![0u8; T::MAX_SIZE];
    let ours = value.encode(&mut buf);
    prop_assert_eq!(ours.as_deref(), Ok(&expected[..]), "encoding differs");
    for short in 0..expected.len() {
        prop_assert_eq!(
            value.encode(&mut buf[..short]).map(|b| b.len()),
            Err(Error::BufferTooSmall),
            "a {}-byte buffer",
            short
        );
    }
    #[cfg(feature = "std")]
    prop_assert_eq!(value.to_vec(), expected.clone());
    let decoded = T::decode(&expected);
    if version == PROTOCOL_VERSION {
        prop_assert_eq!(decoded.as_ref(), Ok(value));
    } else {
        prop_assert_eq!(decoded, Err(Error::UnsupportedVersion));
    }
    Ok(())
}

/// The signed message is the domain followed by postcard's encoding of the body.
fn check_signed<B: SignedBody, S: SignatureForm>(
    value: &Signed<B, S>,
) -> Result<(), TestCaseError> {
    let message = value.with_signed_message(|m| Ok(m.to_vec())).unwrap();
    let mut expected = B::DOMAIN.to_vec();
    expected.extend(postcard_bytes(&value.body));
    prop_assert_eq!(message, expected);
    Ok(())
}

/// Mostly the current version, sometimes any byte.
fn version() -> impl Strategy<Value = u8> {
    prop_oneof![3 => Just(PROTOCOL_VERSION), 1 => any::<u8>()]
}

/// Any `u64`, weighted toward the varint boundaries (2^k − 1, 2^k) and small values.
fn uint64() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        (0u32..64).prop_map(|k| 1u64 << k),
        (0u32..=64).prop_map(|k| u64::MAX.checked_shr(64 - k).unwrap_or(0)),
        0u64..300,
    ]
}

/// Any `u32`, weighted like [`uint64`].
fn uint32() -> impl Strategy<Value = u32> {
    prop_oneof![
        any::<u32>(),
        (0u32..32).prop_map(|k| 1u32 << k),
        (0u32..=32).prop_map(|k| u32::MAX.checked_shr(32 - k).unwrap_or(0)),
        0u32..300,
    ]
}

fn signature() -> impl Strategy<Value = Signature> {
    any::<[u8; 64]>().prop_map(|b| Signature(Bytes(b)))
}

/// A device signature of any algorithm.
fn any_signature() -> impl Strategy<Value = AnySignature> {
    prop_oneof![
        any::<[u8; 64]>().prop_map(|b| AnySignature::Ed25519(Bytes(b))),
        proptest::collection::vec(any::<u8>(), 96)
            .prop_map(|v| AnySignature::P384(Bytes(v.try_into().unwrap()))),
        any::<[u8; 64]>().prop_map(|b| AnySignature::P256(Bytes(b))),
    ]
}

/// A device key of any algorithm.
fn any_key() -> impl Strategy<Value = AnyPublicKey> {
    prop_oneof![
        any::<[u8; 32]>().prop_map(|b| AnyPublicKey::Ed25519(Bytes(b))),
        proptest::collection::vec(any::<u8>(), 97)
            .prop_map(|v| AnyPublicKey::P384(Bytes(v.try_into().unwrap()))),
        proptest::collection::vec(any::<u8>(), 65)
            .prop_map(|v| AnyPublicKey::P256(Bytes(v.try_into().unwrap()))),
    ]
}

fn validity() -> impl Strategy<Value = Validity> {
    (uint64(), uint64()).prop_map(|(not_before, not_after)| Validity {
        not_before,
        not_after,
    })
}

fn challenge() -> impl Strategy<Value = Challenge> {
    (
        version(),
        any::<[u8; 16]>(),
        any::<[u8; 16]>(),
        any::<[u8; 32]>(),
    )
        .prop_map(|(version, landmark, chip, nonce)| Challenge {
            version,
            landmark_id: LandmarkId::from(landmark),
            chip_id: ChipId::from(chip),
            nonce: Nonce(Bytes(nonce)),
        })
}

fn response() -> impl Strategy<Value = Response> {
    (version(), challenge(), uint64(), uint64(), any_signature()).prop_map(
        |(version, challenge, counter, processing_ns, signature)| Signed {
            body: ResponseBody {
                version,
                challenge,
                counter,
                processing_ns,
            },
            signature,
        },
    )
}

fn measurement() -> impl Strategy<Value = Measurement> {
    (version(), response(), uint64(), uint64(), signature()).prop_map(
        |(version, response, rtt_ns, sent_at_ns, signature)| Signed {
            body: MeasurementBody {
                version,
                response,
                rtt_ns,
                sent_at_ns,
            },
            signature,
        },
    )
}

fn device_certificate() -> impl Strategy<Value = DeviceCertificate> {
    (
        (version(), any::<[u8; 16]>(), any_key(), any::<[u8; 16]>()),
        "[ -~]{1,16}",
        (uint64(), uint64(), uint32()),
        validity(),
        signature(),
    )
        .prop_map(
            |((version, chip, key, issuer), model, timing, validity, signature)| Signed {
                body: DeviceCertificateBody {
                    version,
                    chip_id: ChipId::from(chip),
                    device_key: key,
                    issuer: IssuerId::from(issuer),
                    model: ModelName::new(&model).unwrap(),
                    timing: ResponseTiming {
                        min_response_ns: timing.0,
                        max_processing_ns: timing.1,
                        clock_tolerance_ppm: timing.2,
                    },
                    validity,
                },
                signature,
            },
        )
}

fn position() -> impl Strategy<Value = Position> {
    let lat = prop_oneof![
        -Latitude::LIMIT..=Latitude::LIMIT,
        Just(-Latitude::LIMIT),
        Just(Latitude::LIMIT),
        -200i32..200,
    ];
    let lon = prop_oneof![
        -Longitude::LIMIT..=Longitude::LIMIT,
        Just(-Longitude::LIMIT),
        Just(Longitude::LIMIT),
        -200i32..200,
    ];
    (lat, lon).prop_map(|(lat, lon)| Position {
        lat: Latitude::from_microdegrees(lat).unwrap(),
        lon: Longitude::from_microdegrees(lon).unwrap(),
    })
}

fn landmark_certificate() -> impl Strategy<Value = LandmarkCertificate> {
    (
        (
            version(),
            any::<[u8; 16]>(),
            any::<[u8; 32]>(),
            any::<[u8; 16]>(),
        ),
        ("[ -~]{1,32}", position()),
        uint32(),
        validity(),
        signature(),
    )
        .prop_map(
            |(
                (version, landmark, key, issuer),
                (operator, position),
                uncertainty_m,
                validity,
                signature,
            )| {
                Signed {
                    body: LandmarkCertificateBody {
                        version,
                        landmark_id: LandmarkId::from(landmark),
                        landmark_key: PublicKey::from(key),
                        issuer: IssuerId::from(issuer),
                        operator: OperatorName::new(&operator).unwrap(),
                        position,
                        uncertainty_m,
                        validity,
                    },
                    signature,
                }
            },
        )
}

fn model_endorsement() -> impl Strategy<Value = ModelEndorsement> {
    (
        (
            version(),
            any::<[u8; 16]>(),
            "[ -~]{1,16}",
            any::<[u8; 32]>(),
        ),
        "[ -~]{1,32}",
        (uint64(), uint64(), uint32()),
        validity(),
        signature(),
    )
        .prop_map(
            |((version, issuer, model, root), prefix, timing, validity, signature)| Signed {
                body: ModelEndorsementBody {
                    version,
                    issuer: IssuerId::from(issuer),
                    model: ModelName::new(&model).unwrap(),
                    x509_root: Bytes(root),
                    leaf_cn_prefix: LeafCnPrefix::new(&prefix).unwrap(),
                    timing: ResponseTiming {
                        min_response_ns: timing.0,
                        max_processing_ns: timing.1,
                        clock_tolerance_ppm: timing.2,
                    },
                    validity,
                },
                signature,
            },
        )
}

fn spdm_body() -> impl Strategy<Value = SpdmMeasurementBody> {
    (
        version(),
        challenge(),
        any::<[u8; 32]>(),
        uint64(),
        uint64(),
    )
        .prop_map(
            |(version, challenge, digest, rtt_ns, sent_at_ns)| SpdmMeasurementBody {
                version,
                challenge,
                report_sha256: Bytes(digest),
                rtt_ns,
                sent_at_ns,
            },
        )
}

fn log_record() -> impl Strategy<Value = LogRecord> {
    prop_oneof![
        device_certificate().prop_map(LogRecord::DeviceCertificate),
        landmark_certificate().prop_map(LogRecord::LandmarkCertificate),
        measurement().prop_map(LogRecord::Measurement),
        model_endorsement().prop_map(LogRecord::ModelEndorsement),
    ]
}

/// A borrowed entry's encoding: the tag, then postcard's bytes of the record.
fn check_borrowed_entry(
    entry: &LogEntry<'_>,
    tag: u8,
    record: Vec<u8>,
) -> Result<(), TestCaseError> {
    let mut expected = vec![tag];
    expected.extend_from_slice(&record);
    let mut buf = vec![0u8; expected.len() + 16];
    prop_assert_eq!(
        entry.encode(&mut buf).map(<[u8]>::to_vec),
        Ok(expected.clone())
    );
    for short in 0..expected.len() {
        prop_assert_eq!(
            entry.encode(&mut buf[..short]).map(<[u8]>::len),
            Err(Error::BufferTooSmall)
        );
    }
    #[cfg(feature = "std")]
    prop_assert_eq!(entry.to_vec(), expected.clone());
    prop_assert_eq!(LogEntry::decode(&expected), Ok(*entry));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn challenges_encode_as_postcard(value in challenge()) {
        check_wire(&value, value.version)?;
    }

    #[test]
    fn responses_encode_as_postcard(value in response()) {
        check_wire(&value, value.body.version)?;
        check_signed(&value)?;
    }

    #[test]
    fn measurements_encode_as_postcard(value in measurement()) {
        check_wire(&value, value.body.version)?;
        check_signed(&value)?;
    }

    #[test]
    fn device_certificates_encode_as_postcard(value in device_certificate()) {
        check_wire(&value, value.body.version)?;
        check_signed(&value)?;
    }

    #[test]
    fn landmark_certificates_encode_as_postcard(value in landmark_certificate()) {
        check_wire(&value, value.body.version)?;
        check_signed(&value)?;
    }

    #[test]
    fn log_records_encode_as_postcard(value in log_record()) {
        let version = match &value {
            LogRecord::DeviceCertificate(c) => c.body.version,
            LogRecord::LandmarkCertificate(c) => c.body.version,
            LogRecord::Measurement(m) => m.body.version,
            LogRecord::ModelEndorsement(e) => e.body.version,
        };
        check_wire(&value, version)?;
        if version == PROTOCOL_VERSION {
            let entry = LogEntry::from(value);
            let mut buf = [0u8; LogRecord::MAX_SIZE];
            prop_assert_eq!(LogEntry::decode(entry.encode(&mut buf).unwrap()), Ok(entry));
        }
    }

    #[test]
    fn model_endorsements_encode_as_postcard(value in model_endorsement()) {
        check_wire(&value, value.body.version)?;
        check_signed(&value)?;
    }

    #[test]
    fn spdm_measurements_encode_as_postcard(
        mut body in spdm_body(),
        signature in signature(),
        report in proptest::collection::vec(any::<u8>(), 1..600),
    ) {
        body.version = PROTOCOL_VERSION;
        let spdm = SpdmMeasurement { measurement: Signed { body, signature }, report: &report };
        let postcard = postcard_bytes(&spdm);
        check_borrowed_entry(&LogEntry::Spdm(spdm), 5, postcard)?;
    }

    #[test]
    fn gpu_chains_encode_as_postcard(chain in proptest::collection::vec(any::<u8>(), 1..600)) {
        let record = GpuChain::new(&chain).unwrap();
        let postcard = postcard_bytes(&record);
        check_borrowed_entry(&LogEntry::GpuChain(record), 4, postcard)?;
    }
}
