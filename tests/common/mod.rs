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
