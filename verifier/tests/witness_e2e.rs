//! Witnesses end to end, all real processes on loopback: a log server submits every new
//! checkpoint to two `lightcone witness serve` processes and publishes their cosignatures; an
//! audit over HTTP demands the trust file's quorum (2 of 2); with one witness gone the newest
//! checkpoint lacks the quorum and the audit refuses it; a fork of the log (same key, same
//! size, other entries) gets no cosignature and a first-time audit of it is refused; a restarted
//! log server catches up with witnesses that kept their state (409 with a size, then a proof).

mod net_support;

use std::time::Duration;

use lightcone::{LogRecord, Wire};
use lightcone_verifier::log::http::LogClient;
use lightcone_verifier::log::storage::write_key_file;
use lightcone_verifier::log::witness::CosignerKey;
use lightcone_verifier::log::{Log, LogReader, NoteSigner};
use lightcone_verifier::registry::{TrustFile, WitnessesEntry};
use lightcone_verifier::synth::SynthFleet;
use net_support::witnesses::{p, submit, wait_cosigned, LANDMARKS, T0_NS};
use net_support::{run_ok, Proc};
use rand_core::SeedableRng;

#[test]
fn log_server_with_two_witnesses_and_an_audit_that_demands_the_quorum() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
    let mut f = SynthFleet::new(&mut rng, &LANDMARKS, 1).unwrap();
    let signer = NoteSigner::new(&f.origin, f.log_key.clone()).unwrap();
    let vkey = signer.verifier_key().to_string();
    write_key_file(&root.join("log.key"), &signer).unwrap();
    drop(Log::init(root.join("log"), &f.origin, f.log_key.clone()).unwrap());

    let mut keys = Vec::new();
    let mut witnesses = Vec::new();
    for w in ["w1", "w2"] {
        let k = run_ok(
            &[
                "witness",
                "init",
                "--dir",
                p(&root.join(w)),
                "--name",
                &format!("witness.test/{w}"),
            ],
            Duration::from_secs(20),
        );
        keys.push(CosignerKey::parse(k.trim()).unwrap());
        let proc = Proc::spawn(&[
            "witness",
            "serve",
            "--dir",
            p(&root.join(w)),
            "--listen",
            "127.0.0.1:0",
            "--log-key",
            &vkey,
        ]);
        let url = format!("http://{}", proc.listening());
        witnesses.push((proc, url));
    }
    let mut trust = TrustFile::new(
        f.registry_public(),
        &[("acme".into(), f.vendor_public())],
        Some(vkey.clone()),
    );
    trust.witnesses = Some(WitnessesEntry {
        quorum: 2,
        keys: keys.iter().map(|k| k.to_string()).collect(),
    });
    trust.write(&root.join("trust.toml")).unwrap();
    std::fs::write(
        root.join("policy.toml"),
        "forbidden = [\"CN\"]\nfaulty_operators = 1\n",
    )
    .unwrap();

    let w_args: Vec<String> = witnesses
        .iter()
        .zip(&keys)
        .map(|((_, url), k)| format!("{url}={k}"))
        .collect();
    let (log_dir, log_key, trust_path) = (
        root.join("log"),
        root.join("log.key"),
        root.join("trust.toml"),
    );
    let mut args = vec![
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
    ];
    for w in &w_args {
        args.extend(["--witness", w.as_str()]);
    }
    let server = Proc::spawn(&args);
    let url = format!("http://{}", server.listening());
    let client = LogClient::new(&url, Duration::from_secs(10)).unwrap();
    for round in 0..4 {
        submit(&mut f, &mut rng, &client, round);
    }
    // 3 landmark + 1 device certificates + 12 measurements.
    wait_cosigned(&client, &keys, 16, 2);

    let now = (T0_NS / 1_000_000_000 + 3600).to_string();
    let audit = |log: &str| {
        net_support::run(
            &[
                "audit",
                "--log",
                log,
                "--trust",
                p(&root.join("trust.toml")),
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
        stdout.contains("witnesses: witness.test/w1, witness.test/w2 (2 of 2 trusted, quorum 2)"),
        "{stdout}"
    );

    // A fork: same key, same size, other entries. The witnesses saw the other branch: 409.
    let fork = root.join("fork");
    {
        let mut rng2 = rand_chacha::ChaCha20Rng::seed_from_u64(77);
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
    for (_, wurl) in &witnesses {
        let wc = LogClient::new(wurl, Duration::from_secs(5)).unwrap();
        let mut body = b"old 16\n\n".to_vec();
        body.extend_from_slice(&note);
        assert_eq!(wc.post("add-checkpoint", body, 4096).unwrap().status, 409);
    }
    // A first-time audit of the fork (no --since) is refused: no quorum on its checkpoint.
    let out = audit(p(&fork));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("valid cosignatures of 0 of the trusted witnesses"),
        "{stderr}"
    );

    // The log server restarts: it no longer knows what the witnesses hold, so each answers
    // 409 with its size and the server proves consistency from there; both cosign again.
    drop(server);
    let server = Proc::spawn(&args);
    let url = format!("http://{}", server.listening());
    let client = LogClient::new(&url, Duration::from_secs(10)).unwrap();
    submit(&mut f, &mut rng, &client, 9);
    wait_cosigned(&client, &keys, 19, 2);

    // One witness goes away: the next checkpoint has one cosignature; the audit refuses it.
    drop(witnesses.pop());
    submit(&mut f, &mut rng, &client, 10);
    wait_cosigned(&client, &keys, 22, 1);
    let out = audit(&url);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cosignatures of 1 of the trusted witnesses (witness.test/w1)"),
        "{stderr}"
    );
    drop(server);
}
