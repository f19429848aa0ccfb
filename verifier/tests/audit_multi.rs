//! `lightcone audit` with several `--log`: two operators' logs audited together, with real
//! keys, real logs on disk and the real binary.
//!
//! - One chip key cloned onto two boards, one measured by operator A's landmarks into log A,
//!   the other by operator B's into log B: each log alone looks clean; together the chip is
//!   invalid, with a counter-rollback finding naming an entry of each log.
//! - A log whose checkpoint does not verify under its named key fails the whole audit (exit 2,
//!   no report written).
//! - The same log given twice (the same directory, or a copy) is audited once: the report is the
//!   one-log report; one origin at two different sizes is refused.
//! - A local log and a log over HTTP (Python's `http.server`) together give the same report as
//!   both local; a measurement of log A replayed into log B is nonce reuse, found only together.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use lightcone::{LogRecord, Wire};
use lightcone_verifier::log::http::LogClient;
use lightcone_verifier::log::note::NoteSigner;
use lightcone_verifier::log::Log;
use lightcone_verifier::registry::{LogEntries, LogEntry, SigningKey, TrustFile};
use lightcone_verifier::synth::SynthFleet;
use rand_core::SeedableRng;

const T0_NS: u64 = 1_790_000_000 * 1_000_000_000;
const MIN_NS: u64 = 60 * 1_000_000_000;
const FRANKFURT: (f64, f64) = (50.11, 8.68);
const SINGAPORE: (f64, f64) = (1.35, 103.82);
/// Operator A's landmarks (Europe) report to log A; operator B's (South-East Asia) to log B.
const LANDMARKS: [(f64, f64); 6] = [
    FRANKFURT,
    (48.86, 2.35),  // Paris
    (52.23, 21.01), // Warsaw
    SINGAPORE,
    (3.139, 101.687), // Kuala Lumpur
    (13.75, 100.50),  // Bangkok
];
const IN_A: [usize; 3] = [0, 1, 2];
const IN_B: [usize; 3] = [3, 4, 5];
const ORIGIN_A: &str = "operator-a.example/lightcone-log";
const ORIGIN_B: &str = "operator-b.example/lightcone-log";
const POLICY: &str = r#"
permitted = ["*"]
forbidden = ["CN", "RU"]
sea = "permitted"
faulty_operators = 1
[audit]
epoch_minutes = 15
heartbeat_hours = 6
freshness_hours = 24
"#;

fn lightcone(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lightcone"))
        .args(args)
        .output()
        .unwrap()
}

struct World {
    dir: tempfile::TempDir,
    fleet: SynthFleet,
    chip0: String,
    now_s: u64,
}

impl World {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn p(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }
}

fn write_log(dir: &Path, origin: &str, key: &SigningKey, records: &[Vec<u8>]) {
    let mut log = Log::init(dir, origin, key.clone()).unwrap();
    // Two batches: full and partial tiles.
    let (a, b) = records.split_at(records.len() / 2);
    log.append_batch(a).unwrap();
    log.append_batch(b).unwrap();
}

fn verifier_key(origin: &str, key: &SigningKey) -> String {
    NoteSigner::new(origin, key.clone())
        .unwrap()
        .verifier_key()
        .to_string()
}

/// Chip 0's key runs on two boards: board 1 in Frankfurt, measured by operator A into log A;
/// board 2 in Singapore, measured by operator B into log B, 15 minutes later each hour. Chip
/// 1 is honest in Frankfurt (log A). The trust file names both logs' keys.
fn world(seed: u64) -> World {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    let mut fleet = SynthFleet::new(&mut rng, &LANDMARKS, 2).unwrap();
    let board2 = fleet.clone_chip(0).unwrap();
    let certs: Vec<Vec<u8>> = fleet
        .certificate_records()
        .iter()
        .map(|r| r.to_vec())
        .collect();
    let ncerts = certs.len();
    let (mut a, mut b) = (certs.clone(), certs);
    let mut latest = T0_NS;
    for hour in 0..4u64 {
        let t = T0_NS + hour * 60 * MIN_NS;
        for (c, at, landmarks, to_b, dt) in [
            (0usize, (50.12, 8.70), IN_A, false, 0),
            (1, (50.10, 8.66), IN_A, false, 30_000_000),
            (board2, (1.30, 103.80), IN_B, true, 15 * MIN_NS),
        ] {
            let log = if to_b { &mut b } else { &mut a };
            for (k, &l) in landmarks.iter().enumerate() {
                let sent = t + dt + k as u64 * 1_000_000;
                latest = latest.max(sent);
                let m = fleet.measure(&mut rng, (l, c), at, sent, 0).unwrap();
                log.push(LogRecord::Measurement(m).to_vec());
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let key_a = SigningKey::generate(&mut rng);
    let key_b = SigningKey::generate(&mut rng);
    write_log(&dir.path().join("a"), ORIGIN_A, &key_a, &a);
    write_log(&dir.path().join("b"), ORIGIN_B, &key_b, &b);
    // Log B re-signed by a key the trust file does not name (same origin, same entries).
    let forger = SigningKey::generate(&mut rng);
    write_log(&dir.path().join("b-forged"), ORIGIN_B, &forger, &b);
    // Log B as it was after its first hour: a log that stopped growing.
    write_log(
        &dir.path().join("b-early"),
        ORIGIN_B,
        &key_b,
        &b[..ncerts + 3],
    );
    // Log B with one of log A's measurements copied in (a replay across operators).
    let mut replay = b.clone();
    replay.push(a.last().unwrap().clone());
    write_log(&dir.path().join("b-replay"), ORIGIN_B, &key_b, &replay);
    // Log A at a larger size: another checkpoint of the same origin.
    let mut grown = a.clone();
    grown.push(grown.last().unwrap().clone());
    write_log(&dir.path().join("a-grown"), ORIGIN_A, &key_a, &grown);

    let mut trust = TrustFile::new(
        fleet.registry_public(),
        &[("synthetic-vendor".to_owned(), fleet.vendor_public())],
        None,
    );
    trust.log = Some(LogEntries::Many(vec![
        LogEntry {
            verifier_key: verifier_key(ORIGIN_A, &key_a),
        },
        LogEntry {
            verifier_key: verifier_key(ORIGIN_B, &key_b),
        },
    ]));
    trust.write(&dir.path().join("trust.toml")).unwrap();
    // The same origin named twice: a trust file that is refused.
    let mut twice = trust.clone();
    twice.log = Some(LogEntries::Many(vec![
        LogEntry {
            verifier_key: verifier_key(ORIGIN_A, &key_a),
        },
        LogEntry {
            verifier_key: verifier_key(ORIGIN_A, &key_b),
        },
    ]));
    twice.write(&dir.path().join("trust-twice.toml")).unwrap();
    std::fs::write(dir.path().join("policy.toml"), POLICY).unwrap();
    let chip0 = lightcone::ChipId::of(&lightcone::Signer::public_key(&fleet.chips[0].key));
    World {
        dir,
        fleet,
        chip0: chip0.to_string(),
        now_s: latest / 1_000_000_000 + 1,
    }
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
        .args(["-m", "http.server", "--bind", "127.0.0.1"])
        .arg(port.to_string())
        .arg("--directory")
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

/// Runs `lightcone audit` over `logs` (names under the world's directory, or URLs) with a JSON report
/// at `json`.
fn audit(w: &World, logs: &[&str], json: &str) -> Output {
    audit_at(w, logs, json, w.now_s)
}

/// [`audit`] at `now_s`.
fn audit_at(w: &World, logs: &[&str], json: &str, now_s: u64) -> Output {
    let mut args: Vec<String> = vec!["audit".into()];
    for l in logs {
        args.push("--log".into());
        args.push(if l.starts_with("http://") {
            (*l).to_owned()
        } else {
            w.p(l)
        });
    }
    let now = now_s.to_string();
    for a in [
        "--trust",
        &w.p("trust.toml"),
        "--policy",
        &w.p("policy.toml"),
        "--now",
        &now,
        "--threads",
        "2",
        "--json",
        &w.p(json),
    ] {
        args.push(a.to_owned());
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    lightcone(&refs)
}

fn report(w: &World, json: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(w.path(json)).unwrap()).unwrap()
}

fn chip_status(r: &serde_json::Value, chip: &str) -> String {
    r["chips"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["chip_id"] == chip)
        .map(|c| c["status"].as_str().unwrap().to_owned())
        .unwrap()
}

fn findings_of(r: &serde_json::Value, kind: &str) -> Vec<serde_json::Value> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == kind)
        .cloned()
        .collect()
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_key_cloned_across_two_logs_is_found_only_when_they_are_audited_together() {
    let w = world(16);
    // Each log alone: no rollback, no travel, chip 0 not invalid.
    for (log, json) in [("a", "a.json"), ("b", "b.json")] {
        let out = audit(&w, &[log], json);
        ok(&out);
        let r = report(&w, json);
        assert!(
            findings_of(&r, "counter-rollback").is_empty(),
            "{log}: {r:#}"
        );
        assert!(
            findings_of(&r, "impossible-travel").is_empty(),
            "{log}: {r:#}"
        );
        assert_ne!(chip_status(&r, &w.chip0), "invalid", "{log}");
        // A one-log report names no log per finding and lists no `logs`.
        assert!(r.get("logs").is_none());
        assert!(r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f.get("log_origin").is_none()));
    }
    let alone_a = report(&w, "a.json");
    assert_eq!(chip_status(&alone_a, &w.chip0), "verified");

    // Together: the clone is caught, and the finding names an entry in each log.
    let out = audit(&w, &["a", "b"], "ab.json");
    ok(&out);
    let r = report(&w, "ab.json");
    assert_eq!(chip_status(&r, &w.chip0), "invalid", "{r:#}");
    let rollback = findings_of(&r, "counter-rollback");
    assert_eq!(rollback.len(), 1, "{r:#}");
    let detail = rollback[0]["detail"].as_str().unwrap();
    eprintln!("together: {detail}");
    assert!(
        detail.contains(&format!("{ORIGIN_A}#")) && detail.contains(&format!("{ORIGIN_B}#")),
        "{detail}"
    );
    assert_eq!(rollback[0]["chip_id"], w.chip0.as_str());
    // The honest chip stays verified; the summary lists both logs.
    let chip1 = lightcone::ChipId::of(&lightcone::Signer::public_key(&w.fleet.chips[1].key));
    assert_eq!(chip_status(&r, &chip1.to_string()), "verified");
    let logs: Vec<&str> = r["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["origin"].as_str().unwrap())
        .collect();
    assert_eq!(logs, [ORIGIN_A, ORIGIN_B]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(ORIGIN_A) && stdout.contains(ORIGIN_B),
        "{stdout}"
    );
    // Every entry of both logs was verified: counts add up.
    let entries = r["counts"]["entries"].as_u64().unwrap();
    let (ea, eb) = (
        alone_a["counts"]["entries"].as_u64().unwrap(),
        report(&w, "b.json")["counts"]["entries"].as_u64().unwrap(),
    );
    assert_eq!(entries, ea + eb);
    // Entry findings carry (origin, index): the travel finding, if any, names no entry, but
    // any finding with an index also names its log.
    for f in r["findings"].as_array().unwrap() {
        if f.get("log_index").is_some_and(|i| !i.is_null()) {
            assert!(f["log_origin"].is_string(), "{f}");
        }
    }
}

#[test]
fn a_log_that_does_not_verify_under_its_key_fails_the_whole_audit() {
    let w = world(17);
    for logs in [["a", "b-forged"], ["b-forged", "a"]] {
        let out = audit(&w, &logs, "forged.json");
        assert_eq!(out.status.code(), Some(2), "{logs:?}");
        assert!(out.stdout.is_empty(), "a partial report was printed");
        assert!(
            !w.path("forged.json").exists(),
            "a partial report was written"
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("error"), "{stderr}");
    }
    // A log whose origin has no key in the trust file: refused too.
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
    let stranger = SigningKey::generate(&mut rng);
    write_log(
        &w.path("c"),
        "operator-c.example/unknown",
        &stranger,
        &[vec![0u8; 8], vec![1u8; 8]],
    );
    let out = audit(&w, &["a", "c"], "c.json");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("operator-c.example/unknown"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_same_log_twice_is_audited_once_and_two_sizes_of_one_log_are_refused() {
    let w = world(18);
    ok(&audit(&w, &["a"], "once.json"));
    // The same directory twice, and a byte-for-byte copy under another path.
    copy_dir(&w.path("a"), &w.path("a-copy"));
    for logs in [["a", "a"], ["a", "a-copy"]] {
        let out = audit(&w, &logs, "twice.json");
        ok(&out);
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("audited once"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (once, twice) = (report(&w, "once.json"), report(&w, "twice.json"));
        assert!(findings_of(&twice, "counter-rollback").is_empty());
        assert!(findings_of(&twice, "nonce-reuse").is_empty());
        assert_eq!(once["counts"], twice["counts"]);
        assert_eq!(once["chips"], twice["chips"]);
        assert_eq!(once["findings"], twice["findings"]);
        assert!(twice.get("logs").is_none());
        std::fs::remove_file(w.path("twice.json")).unwrap();
    }
    // One origin at two sizes: refused, nothing written.
    let out = audit(&w, &["a", "a-grown"], "grown.json");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(!w.path("grown.json").exists());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("given twice"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn a_local_log_and_a_log_over_http_audited_together_find_the_clone() {
    let w = world(19);
    ok(&audit(&w, &["a", "b"], "local.json"));
    let served = serve_static(&w.path("b"));
    let out = audit(&w, &["a", &served.1], "mixed.json");
    ok(&out);
    let (local, mixed) = (report(&w, "local.json"), report(&w, "mixed.json"));
    assert_eq!(chip_status(&mixed, &w.chip0), "invalid");
    // The same report as when both logs are local directories.
    assert_eq!(local["logs"], mixed["logs"]);
    assert_eq!(local["counts"], mixed["counts"]);
    assert_eq!(local["chips"], mixed["chips"]);
    assert_eq!(local["findings"], mixed["findings"]);
    // The forged copy served over HTTP is refused before any tile is fetched: exit 2.
    let forged = serve_static(&w.path("b-forged"));
    let out = audit(&w, &["a", &forged.1], "mixed-forged.json");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(!w.path("mixed-forged.json").exists());
}

#[test]
fn a_measurement_replayed_into_another_log_is_nonce_reuse_across_logs() {
    let w = world(20);
    ok(&audit(&w, &["b-replay"], "replay-alone.json"));
    let alone = report(&w, "replay-alone.json");
    assert!(findings_of(&alone, "nonce-reuse").is_empty(), "{alone:#}");
    ok(&audit(&w, &["a", "b-replay"], "replay.json"));
    let r = report(&w, "replay.json");
    let reuse = findings_of(&r, "nonce-reuse");
    assert_eq!(reuse.len(), 1, "{r:#}");
    // The copy, in log B (the later log of the audit), is the one flagged, with its index there.
    assert_eq!(reuse[0]["log_origin"], ORIGIN_B);
    let size = alone["log"]["size"].as_u64().unwrap();
    assert_eq!(reuse[0]["log_index"].as_u64(), Some(size - 1));
}

#[test]
fn the_trust_file_is_written_with_log_tables_and_one_origin_twice_is_refused() {
    let w = world(21);
    let text = std::fs::read_to_string(w.path("trust.toml")).unwrap();
    assert_eq!(text.matches("[[log]]").count(), 2, "{text}");
    let out = lightcone(&[
        "audit",
        "--log",
        &w.p("a"),
        "--trust",
        &w.p("trust-twice.toml"),
        "--policy",
        &w.p("policy.toml"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("listed twice"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_log_that_stopped_growing_among_fresh_ones_is_named_stale() {
    let w = world(22);
    // 22 h after the last measurement: log A (fresh to its end) is within the 24 h window; log B
    // stopped after its first hour.
    let now = w.now_s + 22 * 3600;
    ok(&audit_at(&w, &["a", "b-early"], "stale.json", now));
    let r = report(&w, "stale.json");
    let stale = findings_of(&r, "stale-log");
    assert_eq!(stale.len(), 1, "{r:#}");
    assert_eq!(stale[0]["log_origin"], ORIGIN_B);
    assert!(stale[0]["detail"].as_str().unwrap().contains(ORIGIN_B));
    // Both logs fresh: no stale finding.
    ok(&audit_at(&w, &["a", "b"], "fresh.json", now));
    assert!(findings_of(&report(&w, "fresh.json"), "stale-log").is_empty());
}

/// Appends `name`'s tlog-cosignature to the checkpoint of the log in `dir`.
fn witness_cosign(dir: &Path, name: &str, key: &SigningKey) {
    let path = dir.join("checkpoint");
    let note = std::fs::read_to_string(&path).unwrap();
    let end = note.find("\n\n").unwrap();
    let text = &note[..=end];
    let line = lightcone_verifier::log::witness::cosign(name, key, text, 1_790_000_000);
    std::fs::write(&path, format!("{note}{line}")).unwrap();
}

#[test]
fn the_witness_quorum_is_demanded_of_every_log() {
    let w = world(23);
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
    let wkey = SigningKey::generate(&mut rng);
    let wname = "witness.example/w1";
    let cosigner =
        lightcone_verifier::log::witness::CosignerKey::new(wname, wkey.verifying_key()).unwrap();
    let mut text = std::fs::read_to_string(w.path("trust.toml")).unwrap();
    text.push_str(&format!(
        "\n[witnesses]\nquorum = 1\nkeys = [\"{cosigner}\"]\n"
    ));
    std::fs::write(w.path("trust.toml"), text).unwrap();
    copy_dir(&w.path("a"), &w.path("a-w"));
    copy_dir(&w.path("b"), &w.path("b-w"));
    witness_cosign(&w.path("a-w"), wname, &wkey);
    // Log A cosigned, log B not: the whole audit is refused.
    let out = audit(&w, &["a-w", "b"], "quorum.json");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("0 of the trusted witnesses"), "{stderr}");
    assert!(!w.path("quorum.json").exists());
    // Both cosigned: it passes, with one witness line per log.
    witness_cosign(&w.path("b-w"), wname, &wkey);
    let out = audit(&w, &["a-w", "b-w"], "quorum.json");
    ok(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("witnesses for {ORIGIN_A}: {wname}"))
            && stdout.contains(&format!("witnesses for {ORIGIN_B}: {wname}")),
        "{stdout}"
    );
    assert_eq!(chip_status(&report(&w, "quorum.json"), &w.chip0), "invalid");
}
