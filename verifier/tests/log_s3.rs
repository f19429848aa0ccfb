//! The log server with its log in a real S3-compatible server (`moto_server`, PyPI
//! `moto[server]`, started by this test on loopback), all real processes: landmarks' signed
//! submissions go to an S3-backed `lightcone log serve --store s3://…` and, byte for byte the
//! same, to a directory-backed one. Both publish the same checkpoint, the S3 server is killed
//! and restarted from the bucket alone, and `lightcone audit --log URL` gives the same report
//! for both. Then the attacker changes objects in the bucket behind the server's back (an entry
//! in a bundle, a hash tile): the audit of the S3-backed log fails, exit 2 and no report, while
//! the directory-backed log still audits.
//!
//! Without moto the test says SKIPPED and passes, unless `LIGHTCONE_REQUIRE_MOTO=1`
//! (see `net_support::moto`).

mod net_support;

use std::path::Path;
use std::time::Duration;

use lightcone::{LogRecord, Wire};
use lightcone_verifier::log::http::{LogClient, ADD_PATH};
use lightcone_verifier::log::storage::write_key_file;
use lightcone_verifier::log::{Log, NoteSigner};
use lightcone_verifier::net::submit::encode_submission;
use lightcone_verifier::registry::TrustFile;
use lightcone_verifier::synth::SynthFleet;
use net_support::witnesses::{p, LANDMARKS, T0_NS};
use net_support::{run, run_env, Proc};
use rand_core::SeedableRng;

const PREFIX: &str = "lightcone/log";

/// Each landmark's signed submission for one round: its certificate, the chip's, and 40
/// measurements a minute apart (made in time order, so the chip's counter only grows).
fn round_bodies(
    f: &mut SynthFleet,
    rng: &mut rand_chacha::ChaCha20Rng,
    round: u64,
) -> Vec<Vec<u8>> {
    let mut records: Vec<Vec<Vec<u8>>> = (0..LANDMARKS.len())
        .map(|l| {
            vec![
                LogRecord::LandmarkCertificate(f.landmarks[l].cert).to_vec(),
                LogRecord::DeviceCertificate(f.chips[0].cert).to_vec(),
            ]
        })
        .collect();
    for k in 0..40u64 {
        for (l, mine) in records.iter_mut().enumerate() {
            let t = T0_NS + (round * 40 + k) * 60_000_000_000 + l as u64 * 1_000_000_000;
            let m = f.measure_unchecked(rng, (l, 0), (50.0, 8.5), t).unwrap();
            mine.push(LogRecord::Measurement(m).to_vec());
        }
    }
    records
        .iter()
        .enumerate()
        .map(|(l, r)| {
            encode_submission(&f.origin, &f.landmarks[l].cert, &f.landmarks[l].key, r).unwrap()
        })
        .collect()
}

fn post_all(client: &LogClient, bodies: &[Vec<u8>]) {
    for body in bodies {
        let r = client.post(ADD_PATH, body.clone(), 1 << 20).unwrap();
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }
}

fn serve(place: &[&str], key: &Path, trust: &Path, env: &[(String, String)]) -> (Proc, LogClient) {
    let mut args = vec!["log", "serve"];
    args.extend_from_slice(place);
    args.extend([
        "--key",
        p(key),
        "--listen",
        "127.0.0.1:0",
        "--trust",
        p(trust),
    ]);
    let server = Proc::spawn_env(&args, env);
    let url = format!("http://{}", server.listening());
    let client = LogClient::new(&url, Duration::from_secs(10)).unwrap();
    (server, client)
}

#[test]
fn an_s3_backed_log_server_audits_like_a_directory_one_and_tampering_fails_the_audit() {
    let Some(moto) = net_support::moto::start() else {
        return;
    };
    let env = moto.env();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(16);
    let mut f = SynthFleet::new(&mut rng, &LANDMARKS, 1).unwrap();
    let signer = NoteSigner::new(&f.origin, f.log_key.clone()).unwrap();
    let (key, trust) = (root.join("log.key"), root.join("trust.toml"));
    write_key_file(&key, &signer).unwrap();
    drop(Log::init(root.join("log"), &f.origin, f.log_key.clone()).unwrap());
    let store = format!("s3://logs/{PREFIX}");
    let out = run_env(
        &[
            "log",
            "init",
            "--store",
            &store,
            "--origin",
            &f.origin,
            "--key",
            p(&key),
        ],
        &env,
        Duration::from_secs(30),
    );
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    let vkey = String::from_utf8(out.stdout).unwrap();
    assert_eq!(vkey.trim(), signer.verifier_key().to_string());
    TrustFile::new(
        f.registry_public(),
        &[("acme".into(), f.vendor_public())],
        Some(vkey.trim().to_owned()),
    )
    .write(&trust)
    .unwrap();
    std::fs::write(
        root.join("policy.toml"),
        "forbidden = [\"CN\"]\nfaulty_operators = 1\n",
    )
    .unwrap();

    let (_disk_server, disk) = serve(&["--dir", p(&root.join("log"))], &key, &trust, &env);
    let (s3_server, s3) = serve(&["--store", &store], &key, &trust, &env);
    for round in 0..2 {
        let bodies = round_bodies(&mut f, &mut rng, round);
        post_all(&disk, &bodies);
        post_all(&s3, &bodies);
    }
    // Killed and restarted: the server reopens the log from the bucket alone.
    drop(s3_server);
    let (_s3_server, s3) = serve(&["--store", &store], &key, &trust, &env);
    let bodies = round_bodies(&mut f, &mut rng, 2);
    post_all(&disk, &bodies);
    post_all(&s3, &bodies);
    // A replayed submission appends nothing, on S3 as on disk.
    post_all(&s3, &bodies[..1]);

    // Same entries, same key: the very same signed checkpoint (4 certificates, 360 measurements).
    let checkpoint = |c: &LogClient| c.get("checkpoint", 1 << 20).unwrap().body;
    let note = checkpoint(&s3);
    assert_eq!(note, checkpoint(&disk));
    assert!(String::from_utf8_lossy(&note).contains("\n364\n"));

    let now = (T0_NS / 1_000_000_000 + 3 * 40 * 60 + 3600).to_string();
    let audit = |client: &LogClient, json: &Path| {
        let out = run(
            &[
                "audit",
                "--log",
                client.url(),
                "--trust",
                p(&trust),
                "--policy",
                p(&root.join("policy.toml")),
                "--now",
                &now,
                "--json",
                p(json),
            ],
            Duration::from_secs(120),
        );
        let report: String = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.starts_with("JSON report:"))
            .map(|l| format!("{l}\n"))
            .collect();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code(), report, err)
    };
    let (code, from_disk, err) = audit(&disk, &root.join("disk.json"));
    assert_eq!(code, Some(0), "{from_disk}\n{err}");
    let (code, from_s3, err) = audit(&s3, &root.join("s3.json"));
    assert_eq!(code, Some(0), "{from_s3}\n{err}");
    assert_eq!(from_disk, from_s3, "the S3-backed log's report differs");
    assert_eq!(
        std::fs::read(root.join("disk.json")).unwrap(),
        std::fs::read(root.join("s3.json")).unwrap()
    );
    println!("{from_s3}");

    // The attacker rewrites objects in the bucket behind the server: one byte of an entry in
    // the first bundle, then (that one restored) one byte of a hash tile. Each audit fails
    // with exit 2 and writes no report; the directory-backed copy still audits.
    for tile in ["tile/entries/000", "tile/0/000"] {
        let original = s3.get(tile, 1 << 24).unwrap().body;
        let mut changed = original.clone();
        *changed.last_mut().unwrap() ^= 1;
        let key = format!("/logs/{PREFIX}/{tile}");
        let put = |bytes: &[u8]| {
            let line = moto.raw("PUT", &key, bytes).unwrap();
            assert!(line.contains(" 200"), "{line}");
        };
        put(&changed);
        assert_eq!(s3.get(tile, 1 << 24).unwrap().body, changed);
        let json = root.join(format!("tampered-{}.json", tile.replace('/', "-")));
        let (code, out, err) = audit(&s3, &json);
        assert_eq!(code, Some(2), "{tile}: {out}\n{err}");
        assert!(!json.exists());
        println!("{tile} changed in the bucket: {}", err.trim());
        put(&original);
    }
    let (code, again, err) = audit(&disk, &root.join("disk2.json"));
    assert_eq!((code, again), (Some(0), from_disk), "{err}");
    let (code, restored, err) = audit(&s3, &root.join("s3-restored.json"));
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(restored, from_s3);
}
