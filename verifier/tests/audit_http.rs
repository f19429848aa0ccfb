//! `lightcone audit --log http://…` against a plain static web server (Python's `http.server`
//! over a copy of the log directory): the same report as the local audit; a server that
//! serves one fork's checkpoint over another fork's tiles, or none at all, fails the audit.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lightcone::{LogRecord, Wire};
use lightcone_verifier::log::http::LogClient;
use lightcone_verifier::log::Log;
use lightcone_verifier::registry::TrustFile;
use lightcone_verifier::synth::SynthFleet;
use rand_core::SeedableRng;

const T0_NS: u64 = 1_790_000_000 * 1_000_000_000;
const LANDMARKS: [(f64, f64); 3] = [(50.11, 8.68), (48.86, 2.35), (52.23, 21.01)];

fn lightcone(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_lightcone"))
        .args(args)
        .output()
        .unwrap()
}

fn write_log(dir: &Path, fleet: &mut SynthFleet, seed: u64, rounds: u64) {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    let mut log = Log::init(dir, &fleet.origin, fleet.log_key.clone()).unwrap();
    let mut records: Vec<Vec<u8>> = fleet
        .certificate_records()
        .iter()
        .map(|r| r.to_vec())
        .collect();
    for r in 0..rounds {
        for l in 0..LANDMARKS.len() {
            let m = fleet
                .measure_unchecked(
                    &mut rng,
                    (l, 0),
                    (50.0, 8.5),
                    T0_NS + r * 60_000_000_000 + l as u64,
                )
                .unwrap();
            records.push(LogRecord::Measurement(m).to_vec());
        }
    }
    // Two batches, so the served tree has full and partial tiles.
    let (a, b) = records.split_at(200);
    log.append_batch(a).unwrap();
    log.append_batch(b).unwrap();
}

/// `python3 -m http.server` over `dir`, killed on drop.
struct Static(Child, String);

impl Drop for Static {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve_static(dir: &Path) -> Static {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("python3")
        .args([
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            &port.to_string(),
            "--directory",
        ])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3");
    let url = format!("http://127.0.0.1:{port}");
    let client = LogClient::new(&url, Duration::from_secs(2)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !client
        .get("checkpoint", 1 << 20)
        .is_ok_and(|r| r.status == 200)
    {
        assert!(Instant::now() < deadline, "http.server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Static(child, url)
}

fn copy_dir(from: &Path, to: &Path) {
    let ok = Command::new("cp")
        .arg("-r")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(ok.success());
}

#[test]
fn audit_over_http_of_a_static_server_matches_the_local_audit() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(21);
    let mut fleet = SynthFleet::new(&mut rng, &LANDMARKS, 1).unwrap();
    write_log(&d.join("log"), &mut fleet, 1, 100);
    TrustFile::new(
        fleet.registry_public(),
        &[("acme".into(), fleet.vendor_public())],
        fleet.trust().log_verifier_key,
    )
    .write(&d.join("trust.toml"))
    .unwrap();
    std::fs::write(
        d.join("policy.toml"),
        "forbidden = [\"CN\"]\nfaulty_operators = 1\n",
    )
    .unwrap();
    let s = |p: &str| d.join(p).to_str().unwrap().to_owned();
    let now = (T0_NS / 1_000_000_000 + 7200).to_string();
    let (trust, policy) = (s("trust.toml"), s("policy.toml"));
    let audit = |log: &str, json: &str, extra: &[&str]| {
        let mut args = vec![
            "audit", "--log", log, "--trust", &trust, "--policy", &policy, "--now", &now, "--json",
            json,
        ];
        args.extend_from_slice(extra);
        let out = lightcone(&args);
        // Every line but the one naming the JSON file.
        let report: String = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.starts_with("JSON report:"))
            .map(|l| format!("{l}\n"))
            .collect();
        (
            out.status.code(),
            report,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    let (code, local, err) = audit(&s("log"), &s("local.json"), &[]);
    assert_eq!(code, Some(0), "{local}\n{err}");

    copy_dir(&d.join("log"), &d.join("served"));
    let web = serve_static(&d.join("served"));
    let (code, remote, err) = audit(&web.1, &s("remote.json"), &["--cache", &s("cache")]);
    assert_eq!(code, Some(0), "{remote}\n{err}");
    assert_eq!(
        local, remote,
        "the HTTP audit's report differs from the local one"
    );
    assert_eq!(
        std::fs::read(d.join("local.json")).unwrap(),
        std::fs::read(d.join("remote.json")).unwrap()
    );
    println!("{remote}");
    // Again with the cache filled: full tiles are reused, the report is the same.
    let (code, again, _) = audit(&web.1, &s("again.json"), &["--cache", &s("cache")]);
    assert_eq!((code, again), (Some(0), local.clone()));

    // A server that shows one fork's checkpoint over another fork's tiles (as one that
    // changes bytes between fetches would): the audit fails, it never mixes forks.
    write_log(&d.join("fork"), &mut fleet, 2, 100);
    std::fs::copy(d.join("log/checkpoint"), d.join("fork/checkpoint")).unwrap();
    let forked = serve_static(&d.join("fork"));
    let (code, out, err) = audit(&forked.1, &s("fork.json"), &[]);
    assert_eq!(code, Some(2), "{out}\n{err}");
    assert!(!d.join("fork.json").exists());
    println!("mixed forks: {err}");

    // Nobody listening: a clear error after the retries, exit 2.
    drop(forked);
    let (code, _, err) = audit(
        &web.1.replace(&web.1[web.1.rfind(':').unwrap()..], ":1"),
        &s("x.json"),
        &["--retries", "1"],
    );
    assert_eq!(code, Some(2));
    assert!(err.contains("connect"), "{err}");
}
