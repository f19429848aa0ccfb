//! `lightcone evidence verify`: one JSON object on stdout; exit 0 valid, 1 invalid evidence,
//! 2 unusable input. Runs on a synthetic chain and report made here (always), and on the real
//! NVIDIA H100 sample in `../shared/vectors/nvidia-hopper/` (skipped outside CI if missing).

mod evidence_support;

use std::path::Path;
use std::process::Command;

use der::pem::LineEnding;
use evidence_support::{sample, Synthetic};
use lightcone::evidence::spdm::{encode_unsigned_measurements, GetMeasurements, MeasurementBlock};
use p384::ecdsa::signature::hazmat::PrehashSigner as _;
use serde_json::Value;
use sha2::{Digest, Sha384};

fn lightcone(args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lightcone"))
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let json = if stdout.trim().is_empty() {
        Value::Null
    } else {
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), 1, "one JSON object, on one line: {stdout}");
        serde_json::from_str(lines[0]).unwrap()
    };
    (out.status.code().unwrap(), json, stderr)
}

fn verify(spdm: &Path, chain: &Path, root: &Path, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec![
        "evidence",
        "verify",
        "--spdm",
        spdm.to_str().unwrap(),
        "--chain",
        chain.to_str().unwrap(),
        "--root",
        root.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    lightcone(&args)
}

const NONCE: [u8; 32] = [0x42; 32];

/// Writes a synthetic report, chain and root into `dir`; returns their paths.
fn synthetic_files(dir: &Path) -> [std::path::PathBuf; 3] {
    let s = Synthetic::new();
    let (chain, root) = s.build();
    let request = GetMeasurements::new(0xFF, NONCE, 0).unwrap();
    let blocks = [MeasurementBlock {
        index: 1,
        value_type: 1,
        value: &[0xab; 48],
    }];
    let mut buf = [0u8; 512];
    let unsigned =
        encode_unsigned_measurements(&request, &blocks, &[7; 32], b"", &mut buf).unwrap();
    let digest: [u8; 48] = Sha384::new()
        .chain_update(request.as_bytes())
        .chain_update(unsigned)
        .finalize()
        .into();
    let sig: p384::ecdsa::Signature = s.leaf_key.sign_prehash(&digest).unwrap();
    let report = [request.as_bytes(), unsigned, &sig.to_bytes()[..]].concat();
    let pem = |c: &lightcone_verifier::evidence::x509::Cert| {
        der::pem::encode_string("CERTIFICATE", LineEnding::LF, c.der()).unwrap()
    };
    let paths = [
        dir.join("report.txt"),
        dir.join("chain.pem"),
        dir.join("root.pem"),
    ];
    std::fs::write(&paths[0], hex::encode(report) + "\n").unwrap();
    std::fs::write(&paths[1], chain.iter().map(pem).collect::<String>()).unwrap();
    std::fs::write(&paths[2], pem(&root)).unwrap();
    paths
}

#[test]
fn synthetic_evidence_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let [report, chain, root] = synthetic_files(dir.path());
    let nonce = hex::encode(NONCE);

    // 0: valid, with and without --nonce.
    let (code, json, _) = verify(&report, &chain, &root, &[]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["valid"], true);
    assert_eq!(json["nonce"], nonce.as_str());
    assert_eq!(json["nonce_checked"], false);
    assert_eq!(json["leaf_subject"], "CN=Test GPU,O=lightcone");
    assert!(json.get("reason").is_none());
    let (code, json, _) = verify(&report, &chain, &root, &["--nonce", &nonce]);
    assert_eq!(
        (code, &json["valid"], &json["nonce_checked"]),
        (0, &Value::Bool(true), &Value::Bool(true))
    );

    // 1: another nonce; a changed byte; the leaf's own certificate as the root.
    let other = hex::encode([0x43; 32]);
    let (code, json, _) = verify(&report, &chain, &root, &["--nonce", &other]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["valid"], false);
    assert!(json["reason"].as_str().unwrap().contains("nonce"));
    assert_eq!(json["nonce"], nonce.as_str());
    let text = std::fs::read_to_string(&report).unwrap();
    let mut bytes = hex::decode(text.trim()).unwrap();
    bytes[60] ^= 1;
    let tampered = dir.path().join("tampered.txt");
    std::fs::write(&tampered, hex::encode(&bytes)).unwrap();
    let (code, json, _) = verify(&tampered, &chain, &root, &[]);
    assert_eq!((code, &json["valid"]), (1, &Value::Bool(false)), "{json}");
    assert!(json["reason"].is_string());
    let leaf_only = dir.path().join("leaf.pem");
    let chain_text = std::fs::read_to_string(&chain).unwrap();
    let first_end = chain_text.find("-----END CERTIFICATE-----").unwrap() + 25;
    std::fs::write(&leaf_only, &chain_text[..first_end]).unwrap();
    let (code, json, _) = verify(&report, &chain, &leaf_only, &[]);
    assert_eq!(code, 1, "{json}");
    let (code, json, _) = verify(&report, &leaf_only, &root, &[]);
    assert_eq!(code, 1, "truncated chain: {json}");

    // 2: unusable input: a missing file, a report that is not hex, a chain that is not PEM,
    // a root file with two certificates, a nonce that is not 32 bytes of hex.
    let missing = dir.path().join("missing.txt");
    let not_hex = dir.path().join("not-hex.txt");
    std::fs::write(&not_hex, "this is not hex").unwrap();
    let not_pem = dir.path().join("not-pem.pem");
    std::fs::write(&not_pem, "-----BEGIN CERTIFICATE-----\nAAAA\n").unwrap();
    for (what, args) in [
        ("missing report", (&missing, &chain, &root, vec![])),
        ("missing chain", (&report, &missing, &root, vec![])),
        ("missing root", (&report, &chain, &missing, vec![])),
        ("report not hex", (&not_hex, &chain, &root, vec![])),
        ("chain not PEM", (&report, &not_pem, &root, vec![])),
        (
            "root with two certificates",
            (&report, &chain, &chain, vec![]),
        ),
        (
            "short nonce",
            (&report, &chain, &root, vec!["--nonce", "abcd"]),
        ),
        (
            "nonce not hex",
            (&report, &chain, &root, vec!["--nonce", "zz"]),
        ),
    ] {
        let (code, json, stderr) = verify(args.0, args.1, args.2, &args.3);
        assert_eq!(code, 2, "{what}: {json} {stderr}");
        assert!(stderr.contains("lightcone: error"), "{what}: {stderr}");
    }
}

#[test]
fn the_real_h100_sample_on_the_command_line() {
    let Some(s) = sample("hopper") else { return };
    let nonce = "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb";
    let (code, json, _) = verify(&s.report, &s.chain, &s.root, &["--nonce", nonce]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["valid"], true);
    assert_eq!(json["nonce"], nonce);
    assert!(json["leaf_subject"]
        .as_str()
        .unwrap()
        .contains("GH100 A01 GSP FMC LF"));
    assert_eq!(json["measurement_blocks"], 64);
    let mut other = nonce.to_string();
    other.replace_range(..2, "00");
    let (code, json, _) = verify(&s.report, &s.chain, &s.root, &["--nonce", &other]);
    assert_eq!((code, &json["valid"]), (1, &Value::Bool(false)), "{json}");
    // The other GPU's chain under this report.
    let old = sample("2023").unwrap();
    let (code, json, _) = verify(&s.report, &old.chain, &s.root, &[]);
    assert_eq!(code, 1, "{json}");
}

/// A trust file with these `[[x509_root]]` entries (name, PEM, pin) and a throwaway registry key.
fn trust_file(path: &Path, roots: &[(&str, &Path, Option<&str>)]) {
    use lightcone_verifier::registry::trust::{TrustFile, X509RootEntry};
    let registry = ed25519_dalek::SigningKey::from_bytes(&[9; 32]).verifying_key();
    let mut file = TrustFile::new(lightcone::PublicKey::from(registry.to_bytes()), &[], None);
    for (name, pem, pin) in roots {
        let certificate = std::fs::read_to_string(pem).unwrap();
        let cert = lightcone_verifier::evidence::read_root(pem).unwrap();
        file.x509_roots.push(X509RootEntry {
            name: name.to_string(),
            sha256: pin
                .map(str::to_string)
                .unwrap_or_else(|| cert.fingerprint()),
            certificate,
        });
    }
    file.write(path).unwrap();
}

#[test]
fn roots_from_a_trust_file() {
    let dir = tempfile::tempdir().unwrap();
    let [report, chain, root] = synthetic_files(dir.path());
    // A second, unrelated root: the leaf certificate file of another synthetic chain is no CA,
    // so use a freshly made CA with another name.
    let other = evidence_support::Spec::new(
        "CN=Other Root,O=lightcone",
        "CN=Other Root,O=lightcone",
        evidence_support::ca_exts(None),
    )
    .sign(&evidence_support::key(0x61), &evidence_support::key(0x61))
    .unwrap();
    let other_pem = dir.path().join("other.pem");
    std::fs::write(
        &other_pem,
        der::pem::encode_string("CERTIFICATE", LineEnding::LF, other.der()).unwrap(),
    )
    .unwrap();
    let run = |trust: &Path| {
        lightcone(&[
            "evidence",
            "verify",
            "--spdm",
            report.to_str().unwrap(),
            "--chain",
            chain.to_str().unwrap(),
            "--trust",
            trust.to_str().unwrap(),
        ])
    };

    let both = dir.path().join("both.toml");
    trust_file(
        &both,
        &[("other", &other_pem, None), ("test-root", &root, None)],
    );
    let (code, json, stderr) = run(&both);
    assert_eq!(code, 0, "{json} {stderr}");
    assert_eq!(json["root_name"], "test-root");

    let none = dir.path().join("none.toml");
    trust_file(&none, &[("other", &other_pem, None)]);
    let (code, json, _) = run(&none);
    assert_eq!((code, &json["valid"]), (1, &Value::Bool(false)), "{json}");
    assert!(json["reason"]
        .as_str()
        .unwrap()
        .contains("trusted X.509 root"));

    let wrong_pin = dir.path().join("pin.toml");
    trust_file(&wrong_pin, &[("test-root", &root, Some(&"00".repeat(32)))]);
    let (code, _, stderr) = run(&wrong_pin);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("sha256"), "{stderr}");

    let twice = dir.path().join("twice.toml");
    trust_file(&twice, &[("r", &root, None), ("r", &other_pem, None)]);
    assert_eq!(run(&twice).0, 2);

    // --root and --trust together, or neither: unusable.
    let (code, _, _) = verify(&report, &chain, &root, &["--trust", both.to_str().unwrap()]);
    assert_eq!(code, 2);
    let (code, _, _) = lightcone(&[
        "evidence",
        "verify",
        "--spdm",
        report.to_str().unwrap(),
        "--chain",
        chain.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
}

#[test]
fn the_real_h100_sample_under_a_trust_file() {
    let Some(s) = sample("hopper") else { return };
    let dir = tempfile::tempdir().unwrap();
    let trust = dir.path().join("trust.toml");
    trust_file(&trust, &[("nvidia-device-identity-ca", &s.root, None)]);
    let text = std::fs::read_to_string(&trust).unwrap();
    assert!(text.contains("[[x509_root]]"), "{text}");
    let (code, json, stderr) = lightcone(&[
        "evidence",
        "verify",
        "--spdm",
        s.report.to_str().unwrap(),
        "--chain",
        s.chain.to_str().unwrap(),
        "--trust",
        trust.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{json} {stderr}");
    assert_eq!(json["root_name"], "nvidia-device-identity-ca");
    assert_eq!(
        json["root_sha256"],
        "102bf659d5419614c9d8e6aecebc80454eb26b1df6a769ac720b9a690b167b48"
    );
}
