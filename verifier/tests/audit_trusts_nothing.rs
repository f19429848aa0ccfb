//! The audit trusts nothing it reads (issue 13): it judges only bytes it hashed against the
//! verified checkpoint, even when the files change between reads; `--save-checkpoint` keeps the
//! very note that was verified; freshness is judged at the real time, so a frozen log verifies
//! no chip and says so first; future-dated measurements are refused; and a log of garbage gives
//! a short summary with every finding counted.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use lightcone::{LogRecord, Wire};
use lightcone_verifier::audit::model::{AuditReport, ChipStatus, FindingKind};
use lightcone_verifier::audit::{audit, audit_log, AuditOptions, AuditRules};
use lightcone_verifier::geo::Policy;
use lightcone_verifier::log::{Log, LogError, LogReader};
use lightcone_verifier::registry::TrustFile;
use lightcone_verifier::synth::SynthFleet;
use rand_core::SeedableRng;

const T0_NS: u64 = 1_790_000_000 * 1_000_000_000;
const HOUR_NS: u64 = 3_600_000_000_000;
const FRANKFURT: (f64, f64) = (50.11, 8.68);
const LANDMARKS: [(f64, f64); 4] = [FRANKFURT, (48.86, 2.35), (1.35, 103.82), (3.139, 101.687)];
const CHIP_AT: (f64, f64) = (50.12, 8.70);
const POLICY: &str = r#"
permitted = ["*"]
forbidden = ["CN", "RU"]
faulty_operators = 1
"#;

fn lightcone(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_lightcone"))
        .args(args)
        .output()
        .unwrap()
}

/// A fleet with one chip near Frankfurt, and its certificates as records.
fn fleet(seed: u64) -> (SynthFleet, rand_chacha::ChaCha20Rng, Vec<Vec<u8>>) {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    let fleet = SynthFleet::new(&mut rng, &LANDMARKS, 1).unwrap();
    let records = fleet
        .certificate_records()
        .iter()
        .map(|r| r.to_vec())
        .collect();
    (fleet, rng, records)
}

/// Every landmark measures the chip, really at `at`, at time `t`.
fn epoch(
    fleet: &mut SynthFleet,
    rng: &mut rand_chacha::ChaCha20Rng,
    at: (f64, f64),
    t: u64,
) -> Vec<Vec<u8>> {
    (0..LANDMARKS.len())
        .map(|l| {
            let m = fleet
                .measure(rng, (l, 0), at, t + l as u64 * 1_000_000, 0)
                .unwrap();
            LogRecord::Measurement(m).to_vec()
        })
        .collect()
}

fn write_log(dir: &Path, fleet: &SynthFleet, entries: &[Vec<u8>]) -> PathBuf {
    let path = dir.join("log");
    let mut log = Log::init(&path, &fleet.origin, fleet.log_key.clone()).unwrap();
    log.append_batch(entries).unwrap();
    path
}

fn write_trust_and_policy(dir: &Path, fleet: &SynthFleet) {
    TrustFile::new(
        fleet.registry_public(),
        &[("acme".into(), fleet.vendor_public())],
        fleet.trust().log_verifier_key,
    )
    .write(&dir.join("trust.toml"))
    .unwrap();
    std::fs::write(dir.join("policy.toml"), POLICY).unwrap();
}

fn options<'a>(
    log_dir: &'a Path,
    trust: &'a lightcone_verifier::registry::Trust,
    policy: &'a Policy,
    now_ns: Option<u64>,
) -> AuditOptions<'a> {
    AuditOptions {
        log_dir,
        trust,
        policy,
        rules: AuditRules::from_toml_str(POLICY).unwrap(),
        now_ns,
        threads: Some(2),
        since: None,
    }
}

fn chip_status(report: &AuditReport) -> ChipStatus {
    assert_eq!(report.chips.len(), 1, "{:#?}", report.chips);
    report.chips[0].status
}

/// Two forks of one log that differ in their last entries: in fork A the chip's counter went
/// back (invalid), in fork B it did not (verified). Fork A's last bundle is replaced by fork B's between two reads of the audit:
/// before the second read (whichever pass makes it) and before the third (after the tree was
/// re-derived from fork A's bytes). The audit must report fork A's verdict or fail; never fork
/// A's verified root with fork B's verdict.
///
/// On the code before issue 13 the audit re-opened each bundle after verifying the tree, so
/// the swap before the third read gave "verified" under fork A's root.
#[test]
fn a_bundle_swapped_between_reads_gives_fork_a_or_fails_never_a_mix() {
    let (mut fleet, mut rng, mut common) = fleet(13);
    for e in 0..3 {
        common.extend(epoch(&mut fleet, &mut rng, CHIP_AT, T0_NS + e * HOUR_NS));
    }
    let last = T0_NS + 3 * HOUR_NS;
    let fork_b: Vec<Vec<u8>> =
        [common.clone(), epoch(&mut fleet, &mut rng, CHIP_AT, last)].concat();
    // In fork A the device was reset to an older counter (a cloned key or a reset device).
    fleet.chips[0].responder =
        lightcone::Responder::new(fleet.chips[0].key.clone(), lightcone::RamCounter::default());
    let fork_a: Vec<Vec<u8>> = [common, epoch(&mut fleet, &mut rng, CHIP_AT, last)].concat();
    assert_eq!(fork_a.len(), fork_b.len());
    assert!(fork_a.len() < 256, "one (partial) bundle");

    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let log_a = write_log(dir_a.path(), &fleet, &fork_a);
    let log_b = write_log(dir_b.path(), &fleet, &fork_b);
    let trust = fleet.trust();
    let policy = Policy::from_toml_str(POLICY).unwrap();
    let now = Some(last + HOUR_NS);

    let report_a = audit(&options(&log_a, &trust, &policy, now), &mut |_, _| {}).unwrap();
    let report_b = audit(&options(&log_b, &trust, &policy, now), &mut |_, _| {}).unwrap();
    assert_ne!(chip_status(&report_a), ChipStatus::Verified, "fork A");
    assert_eq!(chip_status(&report_b), ChipStatus::Verified, "fork B");
    assert_ne!(report_a.log.root_hash, report_b.log.root_hash);

    let bundle = format!("tile/entries/000.p/{}", fork_a.len());
    let original_a = std::fs::read(log_a.join(&bundle)).unwrap();
    let forked_b = std::fs::read(log_b.join(&bundle)).unwrap();
    assert_ne!(original_a, forked_b);

    for swap_before_read in [2usize, 3] {
        std::fs::write(log_a.join(&bundle), &original_a).unwrap();
        let mut reader = LogReader::open(&log_a).unwrap();
        let reads = Arc::new(AtomicUsize::new(0));
        let (target, replacement) = (log_a.join(&bundle), forked_b.clone());
        let seen = reads.clone();
        reader.set_read_hook(move |path| {
            if path == target && seen.fetch_add(1, Ordering::SeqCst) + 1 == swap_before_read {
                // An atomic replacement, as a syncing mirror makes it.
                let tmp = target.with_extension("swap");
                std::fs::write(&tmp, &replacement).unwrap();
                std::fs::rename(&tmp, &target).unwrap();
            }
        });
        let result = audit_log(
            &options(&log_a, &trust, &policy, now),
            &reader,
            &mut |_, _| {},
        );
        assert!(
            reads.load(Ordering::SeqCst) >= swap_before_read,
            "the swap happened (read {} times)",
            reads.load(Ordering::SeqCst)
        );
        match result {
            Ok(report) => {
                assert_eq!(report.log.root_hash, report_a.log.root_hash);
                assert_eq!(
                    chip_status(&report),
                    chip_status(&report_a),
                    "swap before read {swap_before_read}: fork A's root with another verdict"
                );
            }
            Err(e) => {
                let text = e.to_string();
                assert!(
                    matches!(
                        e,
                        lightcone_verifier::audit::AuditError::Log(
                            LogError::ChangedWhileRead { .. }
                                | LogError::RootMismatch { .. }
                                | LogError::TileMismatch { .. }
                        )
                    ),
                    "swap before read {swap_before_read}: unexpected error {text}"
                );
                assert!(text.contains("000.p") || text.contains("root"), "{text}");
            }
        }
    }
}

/// `--save-checkpoint` while another process appends: the saved note is the one the audit
/// verified (the JSON report's size and root), not whatever the log says afterwards.
///
/// On the code before issue 13 the command re-read the checkpoint after writing its reports,
/// so the saved note was one the audit never verified.
#[test]
fn save_checkpoint_keeps_the_verified_note_while_the_log_grows() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mut fleet, mut rng, mut entries) = fleet(14);
    entries.extend(epoch(&mut fleet, &mut rng, CHIP_AT, T0_NS));
    let log_dir = write_log(d, &fleet, &entries);
    write_trust_and_policy(d, &fleet);

    let stop = Arc::new(AtomicBool::new(false));
    let appended = Arc::new(AtomicUsize::new(0));
    let appender = {
        let (stop, appended, log_dir, key) = (
            stop.clone(),
            appended.clone(),
            log_dir.clone(),
            fleet.log_key.clone(),
        );
        std::thread::spawn(move || {
            let mut log = Log::open(&log_dir, key).unwrap();
            while !stop.load(Ordering::SeqCst) {
                log.append_batch(&[b"appended meanwhile".to_vec()]).unwrap();
                appended.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        })
    };
    // The audit starts once the log is growing.
    while appended.load(Ordering::SeqCst) < 3 {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let s = |p: &str| d.join(p).to_str().unwrap().to_owned();
    let now = (T0_NS / 1_000_000_000 + 60).to_string();
    let out = lightcone(&[
        "audit",
        "--log",
        &s("log"),
        "--trust",
        &s("trust.toml"),
        "--policy",
        &s("policy.toml"),
        "--now",
        &now,
        "--json",
        &s("a.json"),
        "--html",
        &s("a.html"),
        "--save-checkpoint",
        &s("saved.checkpoint"),
    ]);
    // A few more appends after the command, so that a re-read could not match by luck.
    let before_stop = appended.load(Ordering::SeqCst);
    while appended.load(Ordering::SeqCst) < before_stop + 3 {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    stop.store(true, Ordering::SeqCst);
    appender.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("a.json")).unwrap()).unwrap();
    let saved = std::fs::read_to_string(d.join("saved.checkpoint")).unwrap();
    let mut lines = saved.lines();
    assert_eq!(lines.next(), Some(fleet.origin.as_str()));
    let size: u64 = lines.next().unwrap().parse().unwrap();
    let root = lines.next().unwrap();
    assert_eq!(size, report["log"]["size"].as_u64().unwrap(), "saved size");
    assert_eq!(
        root,
        report["log"]["root_hash"].as_str().unwrap(),
        "saved root"
    );
    let current = std::fs::read_to_string(log_dir.join("checkpoint")).unwrap();
    assert_ne!(saved, current, "the log did grow during the audit");
}

/// A log whose measurements stopped in 2026-09 (T0), audited without `--now`: judged at the
/// wall clock, its chip is not verified, and the summary says first that the log is stale.
///
/// On the code before issue 13 the audit time was the log's newest measurement, so the chip
/// of a frozen log stayed verified forever.
#[test]
fn a_stale_log_audited_without_now_verifies_no_chip_and_says_so_first() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mut fleet, mut rng, mut entries) = fleet(15);
    for e in 0..3 {
        entries.extend(epoch(&mut fleet, &mut rng, CHIP_AT, T0_NS + e * HOUR_NS));
    }
    write_log(d, &fleet, &entries);
    write_trust_and_policy(d, &fleet);
    let s = |p: &str| d.join(p).to_str().unwrap().to_owned();
    let base = [
        "audit",
        "--log",
        &s("log"),
        "--trust",
        &s("trust.toml"),
        "--policy",
        &s("policy.toml"),
    ];

    // Re-audited at the time of the log, the chip is verified and nothing is stale.
    let now = (T0_NS / 1_000_000_000 + 3 * 3600).to_string();
    let json_then = s("then.json");
    let out = lightcone(&[&base[..], &["--now", &now, "--json", &json_then]].concat());
    assert!(out.status.success());
    let then: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_then).unwrap()).unwrap();
    assert_eq!(then["chips"][0]["status"], "verified", "{then:#}");
    assert_eq!(then["audit_time_from"], "given");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("STALE"), "{stdout}");
    assert!(stdout.contains("given with --now"), "{stdout}");

    // Without --now: the wall clock.
    let json_now = s("now.json");
    let out = lightcone(&[&base[..], &["--json", &json_now]].concat());
    assert!(out.status.success());
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_now).unwrap()).unwrap();
    assert_eq!(report["chips"][0]["status"], "unverified", "{report:#}");
    assert_eq!(report["audit_time_from"], "wall-clock");
    assert!(report["audit_time_ns"].as_u64().unwrap() > T0_NS + 30 * 24 * HOUR_NS);
    assert!(report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["kind"] == "stale-log"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].contains("the wall clock"), "{stdout}");
    let first_said = lines
        .iter()
        .skip(1)
        .map(|l| l.trim())
        .find(|l| !l.is_empty() && !l.chars().all(|c| c == '!'))
        .unwrap();
    assert!(
        first_said.contains("STALE LOG"),
        "said first: {first_said}\n{stdout}"
    );
}

/// A measurement dated a day after the wall clock is refused with a finding; the honest ones
/// (dated now) are accepted and verify the chip.
///
/// On the code before issue 13, without `--now` nothing was ever in the future.
#[test]
fn a_future_dated_measurement_is_refused_at_the_wall_clock() {
    let now = lightcone_verifier::audit::wall_clock_ns();
    let (mut fleet, mut rng, mut entries) = fleet(16);
    entries.extend(epoch(&mut fleet, &mut rng, CHIP_AT, now - 2 * HOUR_NS));
    let future = epoch(&mut fleet, &mut rng, CHIP_AT, now + 24 * HOUR_NS);
    let future_count = future.len();
    entries.extend(future);
    let dir = tempfile::tempdir().unwrap();
    let log = write_log(dir.path(), &fleet, &entries);
    let trust = fleet.trust();
    let policy = Policy::from_toml_str(POLICY).unwrap();
    let report = audit(&options(&log, &trust, &policy, None), &mut |_, _| {}).unwrap();
    let refused: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::TimestampOutOfRange)
        .collect();
    assert_eq!(refused.len(), future_count, "{:#?}", report.findings);
    assert!(refused[0].detail.contains("after the audit time"));
    assert_eq!(report.counts.measurements_accepted, LANDMARKS.len() as u64);
    assert_eq!(chip_status(&report), ChipStatus::Verified);
    assert!(report.audit_time_ns >= now);
}

/// 300 000 entries of garbage: every one is counted as rejected, the reports hold at most the
/// cap of findings per kind and say how many more there were, and the terminal summary stays
/// short.
///
/// On the code before issue 13 this printed a 300 021-line summary.
#[test]
fn garbage_entries_give_a_short_summary_and_capped_reports() {
    const GARBAGE: usize = 300_000;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (fleet, _, mut entries) = fleet(17);
    entries.extend((0..GARBAGE).map(|i| format!("garbage {i}").into_bytes()));
    write_log(d, &fleet, &entries);
    write_trust_and_policy(d, &fleet);
    let s = |p: &str| d.join(p).to_str().unwrap().to_owned();
    let json = s("g.json");
    let now = (T0_NS / 1_000_000_000).to_string();
    let out = lightcone(&[
        "audit",
        "--log",
        &s("log"),
        "--trust",
        &s("trust.toml"),
        "--policy",
        &s("policy.toml"),
        "--now",
        &now,
        "--json",
        &json,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines = stdout.lines().count();
    eprintln!(
        "{GARBAGE} garbage entries: {lines}-line summary, {} bytes",
        stdout.len()
    );
    assert!(lines < 200, "{lines} lines");
    assert!(stdout.contains("more listed in the JSON"), "{stdout}");

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["counts"]["rejected"], GARBAGE as u64);
    let findings = report["findings"].as_array().unwrap();
    let cap = lightcone_verifier::audit::capped::FINDINGS_PER_KIND;
    assert_eq!(findings.len(), cap + 1);
    let rest = findings
        .iter()
        .find(|f| f["log_index"].is_null())
        .expect("the finding that counts the rest");
    assert_eq!(rest["kind"], "malformed-entry");
    let expected = format!("{} more", GARBAGE - cap);
    assert!(
        rest["detail"].as_str().unwrap().starts_with(&expected),
        "{rest}"
    );
}
