//! Interoperability with an independent witness: `aics-witness` (PyPI, Python ≥ 3.12, C2SP
//! tlog-witness v1.1). Our log server submits its checkpoints to it, publishes its
//! cosignature, and an HTTP audit with a quorum of 1 (that witness) passes; a split view (a
//! fork of the same size, other root) is refused by it with 409, and a first-time audit of the
//! fork is refused.
//!
//! The witness binary: `$AICS_WITNESS`, else `target/aics-witness-venv/bin/aics-witness`
//! (`.ci/run` installs it there). Without it the test says SKIPPED and passes, unless
//! `LIGHTCONE_REQUIRE_AICS=1` (CI sets it when the install worked), which makes it fail.

mod net_support;

use std::path::Path;
use std::time::{Duration, Instant};

use lightcone::{LogRecord, Wire};
use lightcone_verifier::log::http::LogClient;
use lightcone_verifier::log::storage::write_key_file;
use lightcone_verifier::log::witness::CosignerKey;
use lightcone_verifier::log::{Log, LogReader, NoteSigner};
use lightcone_verifier::registry::{TrustFile, WitnessesEntry};
use lightcone_verifier::synth::SynthFleet;
use net_support::witnesses::{p, submit, wait_cosigned, LANDMARKS, T0_NS};
use net_support::Proc;
use rand_core::SeedableRng;

fn aics_witness() -> Option<std::path::PathBuf> {
    if let Ok(p) = std::env::var("AICS_WITNESS") {
        return Some(p.into());
    }
    let p =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/aics-witness-venv/bin/aics-witness");
    p.exists().then_some(p)
}

#[test]
fn our_log_server_against_the_independent_aics_witness() {
    let Some(aics) = aics_witness() else {
        assert!(
            std::env::var("LIGHTCONE_REQUIRE_AICS").is_err(),
            "aics-witness is required but not installed"
        );
        println!("SKIPPED: aics-witness not installed (see .ci/run)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(6);
    let mut f = SynthFleet::new(&mut rng, &LANDMARKS, 1).unwrap();
    let signer = NoteSigner::new(&f.origin, f.log_key.clone()).unwrap();
    let vkey = signer.verifier_key().to_string();
    write_key_file(&root.join("log.key"), &signer).unwrap();
    drop(Log::init(root.join("log"), &f.origin, f.log_key.clone()).unwrap());

    // The independent witness: init, trust our log, serve.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let wdir = root.join("aics");
    std::fs::create_dir(&wdir).unwrap();
    let config = wdir.join("witness.json");
    let out = std::process::Command::new(&aics)
        .args([
            "init",
            "--config",
            p(&config),
            "--name",
            "witness.test/aics",
            "--listen",
        ])
        .arg(format!("127.0.0.1:{port}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let wkey_text = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_owned();
    let wkey = CosignerKey::parse(&wkey_text).unwrap();
    let out = std::process::Command::new(&aics)
        .args([
            "add-log",
            "--config",
            p(&config),
            "--origin",
            &f.origin,
            "--vkey",
            &vkey,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let witness = std::process::Command::new(&aics)
        .args(["serve", "--config", p(&config), "--log-level", "WARNING"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _witness = Kill(witness);
    let wurl = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "aics-witness did not start");
        std::thread::sleep(Duration::from_millis(50));
    }

    let mut trust = TrustFile::new(
        f.registry_public(),
        &[("acme".into(), f.vendor_public())],
        Some(vkey.clone()),
    );
    trust.witnesses = Some(WitnessesEntry {
        quorum: 1,
        keys: vec![wkey.to_string()],
    });
    trust.write(&root.join("trust.toml")).unwrap();
    std::fs::write(
        root.join("policy.toml"),
        "forbidden = [\"CN\"]\nfaulty_operators = 1\n",
    )
    .unwrap();
    let (log_dir, log_key, trust_path) = (
        root.join("log"),
        root.join("log.key"),
        root.join("trust.toml"),
    );
    let w_arg = format!("{wurl}={wkey}");
    let server = Proc::spawn(&[
        "log",
        "serve",
        "--dir",
        p(&log_dir),
        "--key",
        p(&log_key),
        "--listen",
        "127.0.0.1:0",
        "--trust",
        p(&trust_path),
        "--witness",
        &w_arg,
    ]);
    let url = format!("http://{}", server.listening());
    let client = LogClient::new(&url, Duration::from_secs(10)).unwrap();
    for round in 0..2 {
        submit(&mut f, &mut rng, &client, round);
    }
    // Growth after the first cosignature exercises the consistency proof.
    wait_cosigned(&client, std::slice::from_ref(&wkey), 10, 1);
    for round in 2..4 {
        submit(&mut f, &mut rng, &client, round);
    }
    wait_cosigned(&client, std::slice::from_ref(&wkey), 16, 1);

    let now = (T0_NS / 1_000_000_000 + 3600).to_string();
    let audit = |log: &str| {
        net_support::run(
            &[
                "audit",
                "--log",
                log,
                "--trust",
                p(&trust_path),
                "--policy",
                p(&root.join("policy.toml")),
                "--now",
                &now,
            ],
            Duration::from_secs(60),
        )
    };
    let out = audit(&url);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("witnesses: witness.test/aics (1 of 1 trusted, quorum 1)"),
        "{stdout}"
    );

    // A split view: same key, same size, other entries. The independent witness refuses it.
    let fork = root.join("fork");
    {
        let mut rng2 = rand_chacha::ChaCha20Rng::seed_from_u64(78);
        let mut log = Log::init(&fork, &f.origin, f.log_key.clone()).unwrap();
        let mut records: Vec<Vec<u8>> =
            f.certificate_records().iter().map(|r| r.to_vec()).collect();
        while records.len() < 16 {
            let m = f
                .measure_unchecked(&mut rng2, (0, 0), (50.0, 8.5), T0_NS)
                .unwrap();
            records.push(LogRecord::Measurement(m).to_vec());
        }
        log.append_batch(&records).unwrap();
    }
    let note = LogReader::open(&fork).unwrap().checkpoint_note().to_vec();
    let wc = LogClient::new(&wurl, Duration::from_secs(5)).unwrap();
    let mut body = b"old 16\n\n".to_vec();
    body.extend_from_slice(&note);
    let r = wc.post("add-checkpoint", body, 4096).unwrap();
    // tlog-witness v1 says 409 for "same size, other root"; aics-witness (v1.1) answers 422.
    // Either way it is refused and nothing is cosigned.
    assert!(
        r.status == 409 || r.status == 422,
        "{}: {}",
        r.status,
        String::from_utf8_lossy(&r.body)
    );
    println!(
        "aics-witness refused the split view: {} {}",
        r.status,
        String::from_utf8_lossy(&r.body).trim()
    );
    let out = audit(p(&fork));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cosignatures of 0 of the trusted witnesses")
    );
    drop(server);
}
