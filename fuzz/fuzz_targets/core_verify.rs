//! The core's verifiers on hostile bytes: certificates, responses and measurements are decoded
//! and checked against the known-answer fixture (tests/vectors/core.txt, seed 1), and raw
//! Ed25519 triples go through lightcone's rule. Never a panic; a forged or altered record never
//! verifies; and the core rule accepts every signature ed25519-dalek's `verify_strict` accepts
//! under a key the core accepts (the core rule is cofactored, so it may accept more, never less).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use lightcone::ed25519::{verify, PreparedKey};
use lightcone::wire::Bytes;
use lightcone::{
    DeviceCertificate, LandmarkCertificate, Measurement, PublicKey, Response, Signature, Verified,
    Wire,
};

const NOW_S: u64 = 1_790_000_000;

fn unhex<const N: usize>(s: &str) -> [u8; N] {
    let mut out = [0u8; N];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex");
    }
    out
}

fn unhex_vec(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

struct Fixture {
    vendor: PublicKey,
    registry: PublicKey,
    device: Verified<DeviceCertificate>,
    landmark: Verified<LandmarkCertificate>,
    device_bytes: Vec<u8>,
    landmark_bytes: Vec<u8>,
    measurement_bytes: Vec<u8>,
}

/// Seed 1 of tests/vectors/core.txt.
fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let vendor = PublicKey::from(unhex::<32>(
            "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c",
        ));
        let registry = PublicKey::from(unhex::<32>(
            "8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394",
        ));
        let device_bytes = unhex_vec("02b62e867fa2f33afe62d5d6b1642e1621ed4928c628d1c2c6eae90338905995612959273a5c63f93636c14614ac8737d134750f98bd59fcfc946da45aaabe933b4c432d48323030000000000000000000a09c0180f1043280d4bfd50680dec9e406c66cb15ac33458efe90daba5487faa3789394ae695f25c70fc0a2137b6441fe0edf34d27bee5c7944d3500d3d466ae3c2172d70c5ed611d8e820788a436c3108");
        let landmark_bytes = unhex_vec("02c5b940ed3f65c391965de8295fc5d25fca93ac1705187071d67b83c7ff0efe8108e8ec4530575d7726879333dbdabe7c6a3803d5f059902a1c6dafbc9ba472926b61742d6f70657261746f720000000000000000000000000000000000000000e886e52fe8e9a308fa0180d4bfd50680dec9e406f37d2738dc77b9e3862b81499eafe404c4a85f5d87f56bee7dd8306aa86fcd38cb7be5e838412836923f728b1d271f1586ed4aa3bb6ef9e5b724ef5eea60f00a");
        let measurement_bytes = unhex_vec("020202c5b940ed3f65c391965de8295fc5d25fb62e867fa2f33afe62d5d6b1642e1621023f37203a2476c42566a61cc55c3ca875dbb4cc41c0deb789f8e7bf881836382ae9f401858cbbc966a1c3d767f64d4a88a971e91894a98177f3e064f3ba4b9518a7b9e2accf01aec0771a517a5d78f78b436c675ac384737b826b2d5914df9ff172ef0ac0843d8080cc9fc2f0d6eb18ecd01a783ee60c5e76b316b947495576b98f464c7cb08070abcdfa90165f902dca669394da6c0f65f48dcd6ae38df00e6459e3e62684ab3008c803df52b9270f");
        let device = DeviceCertificate::decode(&device_bytes)
            .and_then(|c| c.verify(&vendor, NOW_S))
            .expect("fixture device certificate");
        let landmark = LandmarkCertificate::decode(&landmark_bytes)
            .and_then(|c| c.verify(&registry, NOW_S))
            .expect("fixture landmark certificate");
        Fixture {
            vendor,
            registry,
            device,
            landmark,
            device_bytes,
            landmark_bytes,
            measurement_bytes,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    if let Ok(cert) = DeviceCertificate::decode(data) {
        if cert.verify(&f.vendor, NOW_S).is_ok() {
            assert_eq!(
                data,
                f.device_bytes.as_slice(),
                "a forged device certificate verified"
            );
        }
    }
    if let Ok(cert) = LandmarkCertificate::decode(data) {
        if cert.verify(&f.registry, NOW_S).is_ok() {
            assert_eq!(
                data,
                f.landmark_bytes.as_slice(),
                "a forged landmark certificate verified"
            );
        }
    }
    if let Ok(response) = Response::decode(data) {
        let _ = response.verify(&f.device);
    }
    if let Ok(m) = Measurement::decode(data) {
        if m.verify(&f.landmark, &f.device).is_ok() {
            assert_eq!(
                data,
                f.measurement_bytes.as_slice(),
                "a forged measurement verified"
            );
        }
    }
    // Raw Ed25519: key ‖ signature ‖ message.
    if let (Some(key), Some(sig)) = (data.get(..32), data.get(32..96)) {
        let key: [u8; 32] = key.try_into().unwrap_or_default();
        let mut sig_bytes = [0u8; 64];
        sig_bytes.copy_from_slice(sig);
        let message = data.get(96..).unwrap_or_default();
        if let Ok(prepared) = PreparedKey::new(&PublicKey::from(key)) {
            let ours = verify(&prepared, message, &Signature(Bytes(sig_bytes))).is_ok();
            let dalek = ed25519_dalek::VerifyingKey::from_bytes(&key)
                .map(|k| {
                    k.verify_strict(message, &ed25519_dalek::Signature::from_bytes(&sig_bytes))
                        .is_ok()
                })
                .unwrap_or(false);
            assert!(
                ours || !dalek,
                "verify_strict accepts what the core rule rejects"
            );
        }
    }
});
