//! Provisioning through files: the layout, modes, refusals, and the trust file.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;

use lightcone::{Position, ResponseTiming};
use lightcone_verifier::registry::provision::{
    chip_provision, landmark_provision, load_chip, load_landmark, load_vendor, registry_init,
    validity_days, vendor_init, write_trust,
};
use lightcone_verifier::registry::{unix_now_s, RegistryError, Trust};

#[test]
fn provision_load_and_trust() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (vendor, other_vendor, registry) =
        (root.join("acme"), root.join("globex"), root.join("reg"));
    vendor_init(&vendor, "acme").unwrap();
    vendor_init(&other_vendor, "globex").unwrap();
    registry_init(&registry, "eu-registry").unwrap();
    assert!(matches!(
        vendor_init(&vendor, "acme"),
        Err(RegistryError::AlreadyExists { .. })
    ));
    assert!(vendor_init(&root.join("x"), "has space").is_err());

    let timing = ResponseTiming {
        min_response_ns: 20_000,
        max_processing_ns: 80_000,
        clock_tolerance_ppm: 50,
    };
    let cert = chip_provision(
        &vendor,
        &root.join("chip1"),
        "LC-H200",
        timing,
        validity_days(30),
    )
    .unwrap();
    let stranger = chip_provision(
        &other_vendor,
        &root.join("chip2"),
        "GX-1",
        timing,
        validity_days(30),
    )
    .unwrap();
    assert!(chip_provision(
        &vendor,
        &root.join("chip3"),
        "a model name too long",
        timing,
        validity_days(1)
    )
    .is_err());
    let pos = Position::from_degrees(50.1109, 8.6821).unwrap();
    let lcert = landmark_provision(
        &registry,
        &root.join("frankfurt"),
        "example-operator",
        pos,
        30,
        validity_days(30),
    )
    .unwrap();

    for key in [
        "acme/vendor.key",
        "reg/registry.key",
        "chip1/device.key",
        "frankfurt/landmark.key",
    ] {
        assert_eq!(
            fs::metadata(root.join(key)).unwrap().permissions().mode() & 0o777,
            0o600,
            "{key}"
        );
    }
    let shown = fs::read_to_string(root.join("chip1/device.cert.toml")).unwrap();
    assert!(
        shown.contains("model = \"LC-H200\"") && shown.contains("min_response_ns = 20000"),
        "{shown}"
    );

    let (key, loaded) = load_chip(&root.join("chip1")).unwrap();
    assert_eq!(loaded, cert);
    assert_eq!(
        lightcone::ChipId::of(&lightcone::Signer::public_key(&key)),
        cert.body.chip_id
    );
    assert_eq!(load_landmark(&root.join("frankfurt")).unwrap().1, lcert);
    assert_eq!(load_vendor(&vendor).unwrap().0, "acme");

    // Only acme is trusted.
    let trust_path = root.join("trust.toml");
    write_trust(
        &trust_path,
        &registry,
        std::slice::from_ref(&vendor),
        Some(
            lightcone_verifier::log::NoteSigner::new(
                "lightcone.test/log",
                ed25519_dalek::SigningKey::from_bytes(&[5; 32]),
            )
            .unwrap()
            .verifier_key()
            .to_string(),
        ),
    )
    .unwrap();
    assert!(matches!(
        write_trust(&trust_path, &registry, &[], None),
        Err(RegistryError::AlreadyExists { .. })
    ));
    let trust = Trust::load(&trust_path).unwrap();
    let now = unix_now_s();
    trust.verify_device(&cert, now).unwrap();
    trust.verify_landmark(&lcert, now).unwrap();
    assert!(matches!(
        trust.verify_device(&stranger, now),
        Err(RegistryError::UnknownIssuer { .. })
    ));
    assert!(
        trust.verify_device(&cert, now + 400 * 86_400).is_err(),
        "expired"
    );
    assert_eq!(trust.vendors.len(), 1);
    assert_eq!(
        trust.log_verifier_key.as_deref(),
        Some("lightcone.test/log+36e6055a+AW56HN0psLeP0Tr0xVmP7/TvKpcWbjym8uT7/M2AUFvx")
    );

    // A key file anyone may read is refused, naming the file.
    let key_path = root.join("chip1/device.key");
    fs::set_permissions(&key_path, fs::Permissions::from_mode(0o644)).unwrap();
    let err = load_chip(&root.join("chip1")).unwrap_err();
    assert!(err.to_string().contains("device.key"), "{err}");
    fs::set_permissions(&key_path, fs::Permissions::from_mode(0o600)).unwrap();

    // A key that does not match its certificate is refused.
    fs::copy(root.join("chip2/device.key"), &key_path).unwrap();
    assert!(load_chip(&root.join("chip1")).is_err());

    // A trust file with a bad key or an unknown field is refused.
    let text = fs::read_to_string(&trust_path).unwrap();
    fs::write(
        &trust_path,
        text.replace("[registry]", "surprise = 1\n[registry]"),
    )
    .unwrap();
    assert!(Trust::load(&trust_path).is_err());
    fs::write(
        &trust_path,
        format!(
            "format = \"lightcone-trust-v1\"\n[registry]\npublic_key = \"{}\"\n",
            "00".repeat(32)
        ),
    )
    .unwrap();
    assert!(
        Trust::load(&trust_path).is_err(),
        "small-order key accepted"
    );
}
