//! The core's verifiers on hostile bytes: certificates, responses and measurements are decoded
//! and checked against the known-answer fixtures (tests/vectors/core.txt, seed 1 and the P-384
//! chip of seed 7), and raw
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
    /// Seed 7 (a P-384 chip): its vendor, device certificate and measurement.
    p384_vendor: PublicKey,
    p384_device: Verified<DeviceCertificate>,
    p384_landmark: Verified<LandmarkCertificate>,
    p384_measurement_bytes: Vec<u8>,
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
        let device_bytes = unhex_vec("03b62e867fa2f33afe62d5d6b1642e162100ed4928c628d1c2c6eae90338905995612959273a5c63f93636c14614ac8737d134750f98bd59fcfc946da45aaabe933b4c432d48323030000000000000000000a09c0180f1043280d4bfd50680dec9e4060025e20fc39bf23a79dfd6645161c34414d021a8dd543d70fc9259e3792b5121b7693c2f5ea56b8692edbb658119aaa8d805dbf6fbbd8b9e34ae7db9507140cf01");
        let landmark_bytes = unhex_vec("03c5b940ed3f65c391965de8295fc5d25f00ca93ac1705187071d67b83c7ff0efe8108e8ec4530575d7726879333dbdabe7c6a3803d5f059902a1c6dafbc9ba472926b61742d6f70657261746f720000000000000000000000000000000000000000e886e52fe8e9a308fa0180d4bfd50680dec9e40600008b26dc5ea95ff420ce09bfa2625ed56afc40f63bba3e9b18f96dd7d6d39231ce51c2f87c3692579bb9b43f2e0422b6dadad8c4ddb460ac81c8db1583eaf703");
        let measurement_bytes = unhex_vec("030303c5b940ed3f65c391965de8295fc5d25fb62e867fa2f33afe62d5d6b1642e1621023f37203a2476c42566a61cc55c3ca875dbb4cc41c0deb789f8e7bf881836382ae9f4010036a8dc1e416aacea0c370ad4fb6b4ebcfb73b467b6f1f0b5ce6e424ade05b162180a5319436ad30013200b055d8ff2d6529a9c576e060ad0f8e2857c8e08cb0fc0843d8080cc9fc2f0d6eb18003ac897adf4d552123db6ee04460a2dcc8ebdff668ecce5b142df184fd6ae33780df58008d7b333c9776240c6813475897cf62ec2097cf97faea9d1c5f0f4be07");
        let device = DeviceCertificate::decode(&device_bytes)
            .and_then(|c| c.verify(&vendor, NOW_S))
            .expect("fixture device certificate");
        let landmark = LandmarkCertificate::decode(&landmark_bytes)
            .and_then(|c| c.verify(&registry, NOW_S))
            .expect("fixture landmark certificate");
        let p384_vendor = PublicKey::from(unhex::<32>("ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c"));
        let p384_registry = PublicKey::from(unhex::<32>("1398f62c6d1a457c51ba6a4b5f3dbd2f69fca93216218dc8997e416bd17d93ca"));
        let p384_device = DeviceCertificate::decode(&unhex_vec("035209c77032a57095e55e228f1a42ddaa010433aa895ff1a0cd1c6e9e66d063aec6b35cb51e524a0d9def8b7a612582b4ffec4f0089b053399903528e0be7fe5acc09ba9b50526ea1620522103da8772f5e6e742a943d176c7dab0558c413efc34d42807bdd6476803b70b8566acd8e5c40aafe812c12f3ab4ce6ac5db69ac352f9064c432d48323030000000000000000000a09c0180f1043280d4bfd50680dec9e40600b0553c69591c184d7264bcdc375050b01ef3b33d7b66123b60ae451f5cbbeac887ba1423df7ef98c13df46fe19126a224bf6052d12c91606033dc13cd3c54e0d"))
            .and_then(|c| c.verify(&p384_vendor, NOW_S))
            .expect("fixture P-384 device certificate");
        let p384_landmark = LandmarkCertificate::decode(&unhex_vec("03506ef1879d748ce0713b0dd01da32ad20043a72e714401762df66b68c26dfbdf2682aaec9f2474eca4613e424a0fbafd3c5c29b78f10a35a49a6231d08ee840a046b61742d6f70657261746f720000000000000000000000000000000000000000e886e52fe8e9a308fa0180d4bfd50680dec9e406009e10be5dd5b780128bbbab2e6736817b54293538899a2d2e34d5fb12809784231530ce2ea440ce3bc196380657d44acac9b0b512d89d09784b795baa3e94020c"))
            .and_then(|c| c.verify(&p384_registry, NOW_S))
            .expect("fixture P-384 round's landmark certificate");
        let p384_measurement_bytes = unhex_vec("030303506ef1879d748ce0713b0dd01da32ad25209c77032a57095e55e228f1a42ddaaf400927857aaf64114f561baacb379708c79a1dc1476ab573216a4020764bde52ae9f40101246c1d658a51355c17c3b7bf0061bfe3769f270f325ab489b81d19a4c22ce305a6bb5bcb1de24006cf5e687fd2590955ca8df160e757cdc2104074356d50d298af3877ef10a547623a78387e288499673d0b52a2dc2519411ea9747d749b8b07c0843d8080cc9fc2f0d6eb1800cd8285d0cfbedb29538fa9ff444207b9ba12881c1e5cb3e1b4cfebb6cb7afa5953e8462351cea337d58b244f50d6a47f05b5146610a403731f1fd2fc335ec803");
        Fixture {
            p384_vendor,
            p384_device,
            p384_landmark,
            p384_measurement_bytes,
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
    if let Ok(cert) = DeviceCertificate::decode(data) {
        let _ = cert.verify(&f.p384_vendor, NOW_S);
    }
    if let Ok(response) = Response::decode(data) {
        let _ = response.verify(&f.device);
        // ECDSA: both s halves verify (src/ecdsa.rs), so no byte-equality claim here.
        let _ = response.verify(&f.p384_device);
    }
    if let Ok(m) = Measurement::decode(data) {
        if m.verify(&f.p384_landmark, &f.p384_device).is_ok() {
            assert_eq!(
                data,
                f.p384_measurement_bytes.as_slice(),
                "a forged measurement of a P-384 chip verified"
            );
        }
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
