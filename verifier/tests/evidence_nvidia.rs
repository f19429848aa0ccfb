//! A real NVIDIA H100's attestation, end to end: the two samples of NVIDIA's nvtrust local GPU
//! verifier in `../shared/vectors/nvidia-hopper/` (see `SOURCE.md` there; read in place, never
//! copied into the project). Each verifies — request nonce, P-384 signature over SHA-384 of
//! request and response, chain to the NVIDIA Device Identity CA — and every tampering is refused:
//! changed bytes across request, response and signature, truncated chains, wrong roots, another
//! GPU's chain, a different nonce, a time before the chain was valid.
//!
//! Outside CI a missing sample skips its test with a message; with `CI=true` it fails.

mod evidence_support;

use evidence_support::{sample, Sample};
use lightcone_verifier::evidence::x509::{parse_pem_chain, verify_chain, Cert, ChainError};
use lightcone_verifier::evidence::{check_spdm_report, read_pem_certs, read_report_hex, read_root};

/// 2026-01-01T00:00:00Z: a time at which every certificate of both chains is valid.
const AT: u64 = 1_767_225_600;

/// The samples' requester nonces, as NVIDIA's tool chose them (read off the files when they
/// were placed in shared/, independently of this code).
const HOPPER_NONCE: &str = "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb";
const SAMPLE_2023_NONCE: &str = "4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e";

struct Loaded {
    report: Vec<u8>,
    chain: Vec<Cert>,
    root: Cert,
    nonce: [u8; 32],
}

fn load(s: &Sample, nonce_hex: &str) -> Loaded {
    Loaded {
        report: read_report_hex(&s.report).unwrap(),
        chain: read_pem_certs(&s.chain).unwrap(),
        root: read_root(&s.root).unwrap(),
        nonce: hex::decode(nonce_hex).unwrap().try_into().unwrap(),
    }
}

fn both() -> Option<(Loaded, Loaded)> {
    let hopper = sample("hopper")?;
    let old = sample("2023")?;
    Some((load(&hopper, HOPPER_NONCE), load(&old, SAMPLE_2023_NONCE)))
}

fn judge(l: &Loaded, report: &[u8], chain: &[Cert], root: &Cert) -> Result<(), String> {
    let r = check_spdm_report(report, chain, root, Some(&l.nonce), AT);
    match (r.valid, r.reason) {
        (true, None) => Ok(()),
        (false, Some(reason)) => Err(reason),
        other => panic!("valid and reason disagree: {other:?}"),
    }
}

#[test]
fn both_samples_verify_end_to_end() {
    let Some((hopper, old)) = both() else { return };
    for (name, l) in [("hopper", &hopper), ("2023", &old)] {
        let r = check_spdm_report(&l.report, &l.chain, &l.root, Some(&l.nonce), AT);
        assert!(r.valid, "{name}: {:?}", r.reason);
        assert_eq!(r.nonce, Some(l.nonce));
        assert_eq!(r.blocks, Some(64));
        // The response's nonce is the GPU's own, not an echo of the request's.
        assert_ne!(r.responder_nonce, Some(l.nonce));
        let leaf = r.leaf_subject.unwrap();
        assert!(leaf.contains("GH100 A01 GSP FMC LF"), "{leaf}");
        let chain = r.chain.unwrap();
        assert_eq!(chain.subjects.len(), 5);
        assert!(chain.subjects[4].contains("NVIDIA Device Identity CA"));
        // Without an expected nonce the report still verifies and tells its nonce.
        let r = check_spdm_report(&l.report, &l.chain, &l.root, None, AT);
        assert!(r.valid && r.nonce == Some(l.nonce));
    }
    // Two different GPUs.
    assert_ne!(hopper.chain[0].der(), old.chain[0].der());
}

#[test]
fn changed_bytes_are_refused() {
    let Some((hopper, _)) = both() else { return };
    let l = &hopper;
    assert_eq!(judge(l, &l.report, &l.chain, &l.root), Ok(()));
    let n = l.report.len();
    let sig_start = n - 96;
    // Named positions: request header, nonce and slot; response header, record length, a
    // block header and value, the responder nonce, opaque length and data, r and s.
    let mut positions = vec![
        0,
        1,
        2,
        3,
        4,
        20,
        35,
        36,
        37,
        38,
        39,
        40,
        41,
        42,
        44,
        45,
        46,
        47,
        48,
        100,
        37 + 8 + 3520 + 5,
        37 + 8 + 3520 + 32,
        37 + 8 + 3520 + 33,
        37 + 8 + 3520 + 40,
        sig_start,
        sig_start + 20,
        sig_start + 47,
        sig_start + 48,
        sig_start + 70,
        n - 1,
    ];
    // And a stride over the whole report.
    positions.extend((0..n).step_by(97));
    let mut refused = 0;
    for &i in &positions {
        for flip in [0x01u8, 0x80] {
            let mut bad = l.report.clone();
            bad[i] ^= flip;
            let got = judge(l, &bad, &l.chain, &l.root);
            assert!(got.is_err(), "byte {i} ^ {flip:#x} accepted");
            refused += 1;
        }
    }
    assert!(refused > 100);
}

#[test]
fn truncated_or_extended_reports_are_refused() {
    let Some((hopper, _)) = both() else { return };
    let l = &hopper;
    for cut in [
        1,
        2,
        48,
        95,
        96,
        97,
        500,
        l.report.len() - 37,
        l.report.len() - 1,
    ] {
        let short = &l.report[..l.report.len() - cut];
        assert!(judge(l, short, &l.chain, &l.root).is_err(), "cut {cut}");
    }
    let mut long = l.report.clone();
    long.push(0);
    assert!(judge(l, &long, &l.chain, &l.root).is_err());
}

#[test]
fn a_different_nonce_is_refused() {
    let Some((hopper, old)) = both() else { return };
    let mut other = hopper.nonce;
    other[0] ^= 1;
    let r = check_spdm_report(
        &hopper.report,
        &hopper.chain,
        &hopper.root,
        Some(&other),
        AT,
    );
    assert!(!r.valid);
    assert!(r.reason.unwrap().contains("nonce"));
    // The other sample's nonce is just as wrong.
    let r = check_spdm_report(
        &hopper.report,
        &hopper.chain,
        &hopper.root,
        Some(&old.nonce),
        AT,
    );
    assert!(!r.valid);
}

#[test]
fn truncated_chains_are_refused() {
    let Some((hopper, _)) = both() else { return };
    let l = &hopper;
    let c = &l.chain;
    let cases: Vec<(&str, Vec<Cert>)> = vec![
        ("empty", vec![]),
        ("leaf only", vec![c[0].clone()]),
        ("no leaf", c[1..].to_vec()),
        ("no root, no identity CA", c[..3].to_vec()),
        ("no BROM", [&c[..1], &c[2..]].concat()),
        ("no provisioner ICA", [&c[..2], &c[3..]].concat()),
        ("only the root", vec![c[4].clone()]),
        ("leaf twice", [&c[..1], &c[..]].concat()),
    ];
    for (what, chain) in cases {
        assert!(judge(l, &l.report, &chain, &l.root).is_err(), "{what}");
    }
    // Without its trailing copy of the root, the chain still reaches the root.
    assert_eq!(judge(l, &l.report, &c[..4], &l.root), Ok(()));
}

#[test]
fn wrong_roots_are_refused() {
    let Some((hopper, old)) = both() else { return };
    let l = &hopper;
    // The other GPU's BROM certificate: a genuine NVIDIA CA, but not this chain's root.
    assert_ne!(old.chain[1].der(), l.chain[1].der());
    let err = judge(l, &l.report, &l.chain, &old.chain[1]).unwrap_err();
    assert!(err.contains("root"), "{err}");
    // This chain's own intermediates as the root: the chain runs past them.
    for i in 1..4 {
        assert!(
            judge(l, &l.report, &l.chain, &l.chain[i]).is_err(),
            "intermediate {i}"
        );
    }
    // The leaf as the root.
    assert!(judge(l, &l.report, &l.chain, &l.chain[0]).is_err());
    // A freshly generated P-384 CA with the very name of NVIDIA's root.
    let fake = evidence_support::fake_root_named_like(&l.root);
    assert_eq!(
        fake.certificate().tbs_certificate.subject,
        l.root.certificate().tbs_certificate.subject
    );
    let err = judge(l, &l.report, &l.chain, &fake).unwrap_err();
    assert!(err.contains("root"), "{err}");
    let err = judge(l, &l.report, &l.chain[..4], &fake).unwrap_err();
    assert!(err.contains("root"), "{err}");
}

#[test]
fn another_gpus_chain_or_report_is_refused() {
    let Some((hopper, old)) = both() else { return };
    // The 2023 GPU's chain is valid on its own, but its leaf did not sign the hopper report.
    assert!(verify_chain(&old.chain, &old.root, AT).is_ok());
    let err = judge(&hopper, &hopper.report, &old.chain, &hopper.root).unwrap_err();
    assert!(err.contains("SPDM signature"), "{err}");
    let err = judge(&old, &old.report, &hopper.chain, &old.root).unwrap_err();
    assert!(err.contains("SPDM signature"), "{err}");
    // Mixing the two chains' halves breaks the chain itself.
    let mixed = [&hopper.chain[..1], &old.chain[1..]].concat();
    assert!(matches!(
        verify_chain(&mixed, &hopper.root, AT),
        Err(ChainError::IssuerMismatch(0) | ChainError::BadSignature(0))
    ));
}

#[test]
fn validity_time_is_checked() {
    let Some((hopper, _)) = both() else { return };
    // The Provisioner ICA (position 2) is valid from 2022-03-01: on 2021-06-01 (before the
    // root too) and on 2022-02-01 (after the root and the GH100 Identity CA) it is the first
    // certificate from the leaf that is not yet valid.
    for at in [1_622_505_600u64, 1_643_673_600] {
        match verify_chain(&hopper.chain, &hopper.root, at) {
            Err(ChainError::NotValidAt { position, .. }) => assert_eq!(position, 2, "at {at}"),
            other => panic!("at {at}: {other:?}"),
        }
    }
    // And a day after its notBefore, the chain is valid.
    assert!(verify_chain(&hopper.chain, &hopper.root, 1_646_179_200).is_ok());
    assert!(verify_chain(&hopper.chain, &hopper.root, AT).is_ok());
}

#[test]
fn the_chain_file_parses_strictly() {
    let Some(s) = sample("hopper") else { return };
    let text = std::fs::read_to_string(&s.chain).unwrap();
    assert_eq!(parse_pem_chain(&text).unwrap().len(), 5);
    assert!(parse_pem_chain(&format!("junk\n{text}")).is_err());
    assert!(parse_pem_chain(&text.replace("CERTIFICATE", "PRIVATE KEY")).is_err());
    let cut = &text[..text.len() - 40];
    assert!(parse_pem_chain(cut).is_err());
}
