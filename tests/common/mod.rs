//! A complete, deterministic protocol round built from fixed seeds, shared by the core tests.
#![allow(dead_code)]

use ed25519_dalek::SigningKey;
use lightcone::{
    Challenge, DeviceCertificate, Landmark, LandmarkCertificate, Measurement, ModelName, Position,
    RamCounter, Responder, Response, ResponseTiming, Signer, Validity, Verified, Wire,
};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// Unix seconds at which every fixture certificate is valid.
pub const NOW_S: u64 = 1_790_000_000;

/// Every party and message of one round; the chip's key is Ed25519 unless `C` says otherwise.
pub struct Round<C = SigningKey> {
    pub vendor: SigningKey,
    pub registry: SigningKey,
    pub chip: C,
    pub landmark_key: SigningKey,
    pub device: DeviceCertificate,
    pub landmark_cert: LandmarkCertificate,
    pub challenge: Challenge,
    pub response: Response,
    pub measurement: Measurement,
}

pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

pub fn validity() -> Validity {
    Validity {
        not_before: NOW_S - 86_400,
        not_after: NOW_S + 365 * 86_400,
    }
}

pub fn device_cert<C: Signer>(vendor: &mut SigningKey, chip: &C) -> DeviceCertificate {
    DeviceCertificate::issue(
        vendor,
        chip.public_key(),
        ModelName::new("LC-H200").unwrap(),
        ResponseTiming {
            min_response_ns: 20_000,
            max_processing_ns: 80_000,
            clock_tolerance_ppm: 50,
        },
        validity(),
    )
    .unwrap()
}

/// One round from seed `s`: vendor, registry, chip and landmark keys from `s..s+4`.
pub fn round(s: u8) -> Round {
    round_with(s, key(s.wrapping_add(2)))
}

/// The P-384 chip key of seed `s`: the secret scalar is 48 bytes of `s + 2`.
pub fn p384_key(s: u8) -> p384::ecdsa::SigningKey {
    p384::ecdsa::SigningKey::from_bytes(&[s.wrapping_add(2); 48].into()).unwrap()
}

/// The P-256 chip key of seed `s`: the secret scalar is 32 bytes of `s + 2`.
pub fn p256_key(s: u8) -> p256::ecdsa::SigningKey {
    p256::ecdsa::SigningKey::from_bytes(&[s.wrapping_add(2); 32].into()).unwrap()
}

/// One round from seed `s` with `chip` as the chip's key (of any algorithm).
pub fn round_with<C: Signer + Clone>(s: u8, chip: C) -> Round<C> {
    let mut vendor = key(s);
    let mut registry = key(s.wrapping_add(1));
    let landmark_key = key(s.wrapping_add(3));
    let device = device_cert(&mut vendor, &chip);
    let landmark_cert = LandmarkCertificate::issue(
        &mut registry,
        landmark_key.public_key(),
        lightcone::OperatorName::new("kat-operator").unwrap(),
        Position::from_degrees(50.1109, 8.6821).unwrap(),
        250,
        validity(),
    )
    .unwrap();
    let mut responder = Responder::new(chip.clone(), RamCounter::starting_after(41));
    let mut landmark = Landmark::new(landmark_key.clone());
    let mut rng = ChaCha20Rng::from_seed([s; 32]);
    let challenge = landmark.challenge(responder.chip_id(), &mut rng).unwrap();
    let mut out = [0u8; Response::MAX_SIZE];
    let n = responder
        .respond(&encode(&challenge), || 31_337, &mut out)
        .unwrap();
    let verified_device = device.verify(&vendor.public_key(), NOW_S).unwrap();
    let response = landmark
        .check_response(&challenge, &out[..n], &verified_device)
        .unwrap();
    let measurement = landmark
        .measure(&response, 1_000_000, NOW_S * 1_000_000_000)
        .unwrap();
    Round {
        vendor,
        registry,
        chip,
        landmark_key,
        device,
        landmark_cert,
        challenge,
        response: response.into_inner(),
        measurement,
    }
}

impl<C> Round<C> {
    pub fn verified_device(&self) -> Verified<DeviceCertificate> {
        self.device
            .verify(&self.vendor.public_key(), NOW_S)
            .unwrap()
    }

    pub fn verified_landmark(&self) -> Verified<LandmarkCertificate> {
        self.landmark_cert
            .verify(&self.registry.public_key(), NOW_S)
            .unwrap()
    }
}

pub fn encode<T: Wire>(value: &T) -> Vec<u8> {
    let mut buf = vec![0u8; T::MAX_SIZE];
    let len = value.encode(&mut buf).unwrap().len();
    buf.truncate(len);
    buf
}

/// One round answered with SPDM evidence, from seed `s`: the registry (`s + 1`) endorses the
/// GPU model, the landmark (`s + 3`) challenges a GPU whose P-384 attestation key is
/// [`p384_key`]`(s)`, the GPU answers `GET_MEASUREMENTS` over the challenge's derived nonce, and
/// the landmark signs the measurement.
pub struct SpdmRound {
    pub registry: SigningKey,
    pub gpu: p384::ecdsa::SigningKey,
    pub gpu_key: lightcone::ecdsa::P384PublicKey,
    pub landmark_key: SigningKey,
    pub landmark_cert: LandmarkCertificate,
    pub endorsement: lightcone::evidence::ModelEndorsement,
    pub challenge: Challenge,
    pub report: Vec<u8>,
    pub chain_der: Vec<u8>,
}

/// The SHA-256 the fixture endorsement names as the GPUs' X.509 root.
pub const FIXTURE_ROOT_SHA256: [u8; 32] = [0x7e; 32];

/// A GPU's SPDM report for `nonce`: two measurement blocks, a fixed responder nonce.
pub fn gpu_report(gpu: &mut p384::ecdsa::SigningKey, nonce: [u8; 32]) -> Vec<u8> {
    use lightcone::evidence::spdm::{answer_measurements, GetMeasurements, MeasurementBlock};
    let request = GetMeasurements::new(0xff, nonce, 0).unwrap();
    let blocks = [
        MeasurementBlock {
            index: 1,
            value_type: 0x01,
            value: &[0xaa; 48],
        },
        MeasurementBlock {
            index: 2,
            value_type: 0x02,
            value: &[0xbb; 48],
        },
    ];
    let mut out = [0u8; 1024];
    answer_measurements(gpu, &request, &blocks, &[0xc3; 32], b"kat", &mut out)
        .unwrap()
        .to_vec()
}

pub fn spdm_round(s: u8) -> SpdmRound {
    use lightcone::evidence::spdm::challenge_nonce;
    use lightcone::evidence::{gpu_chip_id, LeafCnPrefix, ModelEndorsement};
    let Round {
        mut registry,
        landmark_key,
        landmark_cert,
        ..
    } = round(s);
    let mut gpu = p384_key(s);
    let gpu_key = lightcone::ecdsa::P384PublicKey::from_sec1(
        gpu.verifying_key().to_encoded_point(false).as_bytes(),
    )
    .unwrap();
    let endorsement = ModelEndorsement::issue(
        &mut registry,
        ModelName::new("H100").unwrap(),
        FIXTURE_ROOT_SHA256,
        LeafCnPrefix::new("GH100").unwrap(),
        ResponseTiming::minimum_only(1_500_000),
        validity(),
    )
    .unwrap();
    let landmark = Landmark::new(landmark_key.clone());
    let mut rng = ChaCha20Rng::from_seed([s; 32]);
    let challenge = landmark.challenge(gpu_chip_id(&gpu_key), &mut rng).unwrap();
    let report = gpu_report(&mut gpu, challenge_nonce(&challenge).unwrap());
    SpdmRound {
        registry,
        gpu,
        gpu_key,
        landmark_key,
        landmark_cert,
        endorsement,
        challenge,
        report,
        // The core carries a chain as bytes; its X.509 meaning is the verifier's to check.
        chain_der: vec![0x30, 0x03, 0x02, 0x01, s],
    }
}

impl SpdmRound {
    /// The landmark's signed measurement of this round, timed at 2 ms.
    pub fn measurement(&self) -> lightcone::evidence::SpdmMeasurement<'_> {
        let mut landmark = self.landmark_key.clone();
        lightcone::evidence::SpdmMeasurement::sign(
            &mut landmark,
            self.challenge,
            &self.report,
            2_000_000,
            NOW_S * 1_000_000_000,
        )
        .unwrap()
    }

    pub fn verified_landmark(&self) -> Verified<LandmarkCertificate> {
        self.landmark_cert
            .verify(&self.registry.public_key(), NOW_S)
            .unwrap()
    }
}

/// Any log entry's encoding (without the `std` feature's `to_vec`).
pub fn encode_entry(entry: &lightcone::LogEntry<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; 64 * 1024];
    entry.encode(&mut buf).unwrap().to_vec()
}
