//! `lightcone audit` end to end on a generated log: summary, JSON, HTML, and `--since` with a
//! saved checkpoint (append-only proof), including a log that was rewritten behind our back.

use std::path::Path;
use std::process::Command;

use lightcone::{LogRecord, Wire};
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

fn write_log(
    dir: &Path,
    fleet: &mut SynthFleet,
    rng: &mut rand_chacha::ChaCha20Rng,
    rounds: u64,
) -> Log {
    let mut log = Log::init(dir.join("log"), &fleet.origin, fleet.log_key.clone()).unwrap();
    let mut records: Vec<Vec<u8>> = fleet
        .certificate_records()
        .iter()
        .map(|r| r.to_vec())
        .collect();
    for r in 0..rounds {
        for l in 0..LANDMARKS.len() {
            let m = fleet
                .measure(
                    rng,
                    (l, 0),
                    (50.0, 8.5),
                    T0_NS + r * 60_000_000_000 + l as u64,
                    0,
                )
                .unwrap();
            records.push(LogRecord::Measurement(m).to_vec());
        }
    }
    log.append_batch(&records).unwrap();
    log
}

#[test]
fn audit_cli_reports_and_proves_append_only() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(21);
    let mut fleet = SynthFleet::new(&mut rng, &LANDMARKS, 1).unwrap();
    let mut log = write_log(d, &mut fleet, &mut rng, 2);
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
    // The log is from T0: judged an hour after it (the default is the wall clock).
    let now = (T0_NS / 1_000_000_000 + 3600).to_string();
    let base = [
        "audit",
        "--log",
        &s("log"),
        "--trust",
        &s("trust.toml"),
        "--policy",
        &s("policy.toml"),
        "--now",
        &now,
    ];

    let mut first = base.to_vec();
    let (json, html, cp) = (s("a.json"), s("a.html"), s("last.checkpoint"));
    first.extend(["--json", &json, "--html", &html, "--save-checkpoint", &cp]);
    let out = lightcone(&first);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["chips"][0]["status"], "verified", "{report:#}");
    assert!(std::fs::read_to_string(&html).unwrap().contains("<svg"));

    // More entries later: the old checkpoint must be consistent with the new log.
    let more = fleet
        .measure(
            &mut rng,
            (0, 0),
            (50.0, 8.5),
            T0_NS + 10 * 60_000_000_000,
            0,
        )
        .unwrap();
    log.append_batch(&[LogRecord::Measurement(more).to_vec()])
        .unwrap();
    drop(log);
    let mut since = base.to_vec();
    since.extend(["--since", &cp]);
    let out = lightcone(&since);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("consistent with the checkpoint"));

    // A log rewritten from scratch (same key, different history) fails the proof: exit 2.
    std::fs::remove_dir_all(d.join("log")).unwrap();
    let mut rng2 = rand_chacha::ChaCha20Rng::seed_from_u64(99);
    write_log(d, &mut fleet, &mut rng2, 3);
    let out = lightcone(&since);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!String::from_utf8_lossy(&out.stderr).is_empty());
}
