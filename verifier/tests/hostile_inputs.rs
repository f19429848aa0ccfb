//! Hostile-input sweep of the `lightcone` command: every file a user hands it — secret and
//! public key files, certificate files, the trust file, policy TOML, scenario JSON, the log
//! directory and the log's keys — is replaced by a damaged variant: empty, truncated, oversized,
//! bit-flipped, wrong version, wrong kind of file, a directory, missing, a symlink loop, and
//! unreadable (skipped as root, who reads through `chmod 000`). Each must give exit status 2, a
//! message on stderr naming the file, no panic, and leave every file and directory of the
//! working tree exactly as it was.
//!
//! Three more kinds of file stand in for an input that a hostile log mirror, shared filesystem
//! or key directory can serve: a FIFO (no writer: reading it blocks forever), a sparse 1 GiB
//! file and a symlink to `/dev/zero` (reading either whole costs a gigabyte or all memory).
//! Each must be refused fast: exit 2 within [`HOSTILE_FILE_SECONDS`] and under
//! [`HOSTILE_FILE_RSS_KB`] of peak memory (measured with `/usr/bin/time` where it exists).
//!
//! Datagrams are swept by the net tests (`net_hostile.rs`) and the `net_datagram` fuzz target.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{symlink, FileTypeExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_lightcone");
/// GNU time, to measure a command's peak memory.
const TIME: &str = "/usr/bin/time";
/// The issue's "within a second" (measured: at most 0.03 s in the debug build, printed by the
/// sweep).
const HOSTILE_FILE_SECONDS: f64 = 1.0;
/// Peak resident memory allowed for a refused hostile file (the issue's 64 MB).
const HOSTILE_FILE_RSS_KB: u64 = 64 * 1000;

fn run(dir: &Path, args: &[&str], timeout: Duration) -> Option<Output> {
    run_measured(dir, args, timeout, None)
}

/// Runs the command, under `/usr/bin/time` writing its peak RSS to `rss_file` if given.
fn run_measured(
    dir: &Path,
    args: &[&str],
    timeout: Duration,
    rss_file: Option<&Path>,
) -> Option<Output> {
    let mut command = match rss_file {
        Some(file) => {
            let mut c = Command::new(TIME);
            c.arg("-f").arg("%M").arg("-o").arg(file).arg(BIN);
            c
        }
        None => Command::new(BIN),
    };
    let mut child = command
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return Some(child.wait_with_output().unwrap());
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args, Duration::from_secs(60)).expect("fixture command hangs");
    assert!(
        out.status.success(),
        "fixture: lightcone {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A working tree with one of everything, made by the command itself.
fn fixture(dir: &Path) {
    ok(dir, &["vendor", "init", "--dir", "v", "--name", "acme"]);
    ok(dir, &["registry", "init", "--dir", "r"]);
    ok(
        dir,
        &[
            "chip",
            "provision",
            "--vendor",
            "v",
            "--dir",
            "c",
            "--model",
            "LC-1",
        ]
        .iter()
        .chain(&["--min-response-ns", "20000"])
        .copied()
        .collect::<Vec<_>>(),
    );
    ok(
        dir,
        &[
            "landmark",
            "provision",
            "--registry",
            "r",
            "--dir",
            "lm",
            "--operator",
            "op",
            "--lat",
            "50.1",
        ]
        .iter()
        .chain(&["--lon", "8.6", "--uncertainty-m", "100"])
        .copied()
        .collect::<Vec<_>>(),
    );
    let key = ok(
        dir,
        &[
            "log",
            "init",
            "--dir",
            "log",
            "--origin",
            "example.com/log1",
        ],
    );
    fs::write(dir.join("logkey.txt"), key.trim()).unwrap();
    fs::write(dir.join("e1"), b"hello").unwrap();
    ok(dir, &["log", "append", "--dir", "log", "e1"]);
    ok(
        dir,
        &[
            "registry",
            "trust",
            "--out",
            "trust.toml",
            "--registry",
            "r",
            "--vendor",
            "v",
        ]
        .iter()
        .chain(&["--log-verifier-key", "logkey.txt"])
        .copied()
        .collect::<Vec<_>>(),
    );
    fs::write(
        dir.join("policy.toml"),
        "speed = \"c\"\npermitted = [\"*\"]\nforbidden = [\"CN\"]\nsea = \"permitted\"\n",
    )
    .unwrap();
    fs::write(
        dir.join("scenario.json"),
        r#"{"landmarks": [{"id": "a", "lat": 22.5431, "lon": 114.0579}, {"id": "b", "lat": 22.3, "lon": 114.2, "uncertainty_m": 5}],
 "measurements": [{"landmark": "a", "rtt_ns": 667128}, {"landmark": "b", "rtt_ns": 900000, "min_response_ns": 1000}], "speed": "fiber"}
"#,
    )
    .unwrap();
}

/// Everything under `dir`: path → (mode, symlink target or content).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u32, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        let meta = fs::symlink_metadata(&p).unwrap();
        let mode = meta.permissions().mode();
        let rel = p.strip_prefix(dir).unwrap().to_path_buf();
        if meta.file_type().is_symlink() {
            let target = fs::read_link(&p).unwrap();
            out.insert(rel, (mode, target.into_os_string().into_encoded_bytes()));
        } else if meta.is_dir() {
            out.insert(rel, (mode, b"<dir>".to_vec()));
            for e in fs::read_dir(&p).unwrap() {
                stack.push(e.unwrap().path());
            }
        } else if !meta.file_type().is_file() {
            // A FIFO would block a reader; its type and mode are what can change.
            out.insert(
                rel,
                (mode, format!("<{:?}>", meta.file_type()).into_bytes()),
            );
        } else if meta.len() > 1 << 20 {
            // The sparse gigabyte: its length stands for its (zero) content.
            out.insert(rel, (mode, format!("<{} bytes>", meta.len()).into_bytes()));
        } else {
            // Read even 000 files (as root) or record that they are unreadable.
            let content = fs::read(&p).unwrap_or_else(|_| b"<unreadable>".to_vec());
            out.insert(rel, (mode, content));
        }
    }
    out
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            fs::copy(e.path(), &target).unwrap(); // keeps the mode (0600 keys)
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Damage {
    Empty,
    Truncated,
    Oversized,
    BitFlipped,
    WrongVersion,
    WrongKind,
    Directory,
    Missing,
    SymlinkLoop,
    Unreadable,
    /// A FIFO with no writer.
    Fifo,
    /// A sparse file of 1 GiB.
    SparseGigabyte,
    /// A symlink to `/dev/zero`.
    DevZero,
}

impl Damage {
    /// A file that costs a naive reader a hang or all its memory.
    fn is_hostile_file(self) -> bool {
        matches!(
            self,
            Damage::Fifo | Damage::SparseGigabyte | Damage::DevZero
        )
    }
}

const ALL: [Damage; 13] = [
    Damage::Empty,
    Damage::Truncated,
    Damage::Oversized,
    Damage::BitFlipped,
    Damage::WrongVersion,
    Damage::WrongKind,
    Damage::Directory,
    Damage::Missing,
    Damage::SymlinkLoop,
    Damage::Unreadable,
    Damage::Fifo,
    Damage::SparseGigabyte,
    Damage::DevZero,
];

/// Damages `file` in place; false if this damage does not apply to it (e.g. no version field).
fn damage(dir: &Path, file: &str, how: Damage, other_kind: &str) -> bool {
    let path = dir.join(file);
    let original = fs::read(&path).unwrap();
    let text = String::from_utf8(original.clone()).ok();
    match how {
        Damage::Empty => fs::write(&path, b"").unwrap(),
        Damage::Truncated => fs::write(&path, &original[..original.len() / 2]).unwrap(),
        Damage::Oversized => {
            // 32 MiB of junk lines after the content: must be refused without echoing it all.
            let mut big = original.clone();
            let line = [b"x".repeat(63), b"\n".to_vec()].concat();
            for _ in 0..(32 << 20) / line.len() {
                big.extend_from_slice(&line);
            }
            fs::write(&path, big).unwrap();
        }
        Damage::BitFlipped => {
            let mut bytes = original.clone();
            match &text {
                // In text, flip bit 6 of the middle byte of the longest line (a key, signature or
                // encoded value): turns any letter or digit into a non-alphanumeric.
                Some(t) => {
                    let (start, line) = t
                        .split_inclusive('\n')
                        .scan(0usize, |pos, l| {
                            let s = *pos;
                            *pos += l.len();
                            Some((s, l))
                        })
                        .max_by_key(|(_, l)| l.len())
                        .unwrap();
                    bytes[start + line.trim_end().len() / 2] ^= 0x40;
                }
                None => {
                    let mid = bytes.len() / 2;
                    bytes[mid] ^= 0x01;
                }
            }
            fs::write(&path, bytes).unwrap();
        }
        Damage::WrongVersion => {
            let Some(t) = text.filter(|t| t.contains("-v1")) else {
                return false;
            };
            fs::write(&path, t.replacen("-v1", "-v2", 1)).unwrap();
        }
        Damage::WrongKind => {
            fs::write(&path, fs::read(dir.join(other_kind)).unwrap()).unwrap();
        }
        Damage::Directory => {
            fs::remove_file(&path).unwrap();
            fs::create_dir(&path).unwrap();
        }
        Damage::Missing => fs::remove_file(&path).unwrap(),
        Damage::SymlinkLoop => {
            fs::remove_file(&path).unwrap();
            let loop_name = format!("{}.loop", path.file_name().unwrap().to_str().unwrap());
            symlink(&loop_name, &path).unwrap();
            symlink(path.file_name().unwrap(), path.with_file_name(&loop_name)).unwrap();
        }
        Damage::Unreadable => {
            if is_root() {
                return false;
            }
            fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).unwrap();
        }
        Damage::Fifo => {
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            fs::remove_file(&path).unwrap();
            let status = Command::new("mkfifo")
                .arg("-m")
                .arg(format!("{mode:o}"))
                .arg(&path)
                .status()
                .unwrap();
            assert!(status.success(), "mkfifo");
            assert!(fs::symlink_metadata(&path).unwrap().file_type().is_fifo());
        }
        Damage::SparseGigabyte => {
            // Same mode (a 0600 key stays 0600, so only its size can be refused).
            let f = fs::OpenOptions::new().write(true).open(&path).unwrap();
            f.set_len(1 << 30).unwrap();
        }
        Damage::DevZero => {
            fs::remove_file(&path).unwrap();
            symlink("/dev/zero", &path).unwrap();
        }
    }
    true
}

fn is_root() -> bool {
    // /proc/self/status: "Uid:\t<real>\t<effective>…"
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// One input file and the command that reads it.
struct Input {
    file: &'static str,
    /// A file of another kind to put in its place.
    other_kind: &'static str,
    args: &'static [&'static str],
    /// What identifies the file in the message (its name, or for files inside the log
    /// directory, the directory).
    named_as: &'static str,
}

const CHIP_PROVISION: &[&str] = &[
    "chip",
    "provision",
    "--vendor",
    "v",
    "--dir",
    "newchip",
    "--model",
    "LC-1",
    "--min-response-ns",
    "20000",
];
const LANDMARK_PROVISION: &[&str] = &[
    "landmark",
    "provision",
    "--registry",
    "r",
    "--dir",
    "newlm",
    "--operator",
    "op",
    "--lat",
    "1",
    "--lon",
    "2",
    "--uncertainty-m",
    "10",
];
const TRUST: &[&str] = &[
    "registry",
    "trust",
    "--out",
    "t2.toml",
    "--registry",
    "r",
    "--vendor",
    "v",
    "--log-verifier-key",
    "logkey.txt",
];
const SERVE: &[&str] = &["chip", "serve", "--dir", "c", "--listen", "127.0.0.1:0"];
const PROBE: &[&str] = &[
    "landmark",
    "probe",
    "--dir",
    "lm",
    "--trust",
    "trust.toml",
    "--chip",
    "127.0.0.1:9",
    "--chip-cert",
    "c/device.cert.toml",
    "--rounds",
    "1",
    "--timeout-ms",
    "50",
    "--retries",
    "0",
];
const AUDIT: &[&str] = &[
    "audit",
    "--log",
    "log",
    "--trust",
    "trust.toml",
    "--policy",
    "policy.toml",
];
const VERDICT: &[&str] = &["verdict", "--policy", "policy.toml", "scenario.json"];
const LOG_VERIFY: &[&str] = &["log", "verify", "--dir", "log", "--key", "logkey.txt"];
const LOG_APPEND: &[&str] = &["log", "append", "--dir", "log", "e1"];

fn inputs() -> Vec<Input> {
    let i = |file, other_kind, args, named_as| Input {
        file,
        other_kind,
        args,
        named_as,
    };
    vec![
        i(
            "v/vendor.key",
            "r/registry.pub.toml",
            CHIP_PROVISION,
            "vendor.key",
        ),
        i(
            "v/vendor.pub.toml",
            "r/registry.pub.toml",
            CHIP_PROVISION,
            "vendor.pub.toml",
        ),
        i(
            "r/registry.key",
            "v/vendor.pub.toml",
            LANDMARK_PROVISION,
            "registry.key",
        ),
        i(
            "r/registry.pub.toml",
            "v/vendor.pub.toml",
            LANDMARK_PROVISION,
            "registry.pub.toml",
        ),
        i(
            "r/registry.pub.toml",
            "v/vendor.pub.toml",
            TRUST,
            "registry.pub.toml",
        ),
        i(
            "v/vendor.pub.toml",
            "r/registry.pub.toml",
            TRUST,
            "vendor.pub.toml",
        ),
        i("logkey.txt", "v/vendor.pub.toml", TRUST, "logkey.txt"),
        i("c/device.key", "v/vendor.pub.toml", SERVE, "device.key"),
        i(
            "c/device.cert.toml",
            "lm/landmark.cert.toml",
            SERVE,
            "device.cert.toml",
        ),
        i(
            "lm/landmark.key",
            "v/vendor.pub.toml",
            PROBE,
            "landmark.key",
        ),
        i(
            "lm/landmark.cert.toml",
            "c/device.cert.toml",
            PROBE,
            "landmark.cert.toml",
        ),
        i(
            "c/device.cert.toml",
            "lm/landmark.cert.toml",
            PROBE,
            "device.cert.toml",
        ),
        i("trust.toml", "policy.toml", PROBE, "trust.toml"),
        i("trust.toml", "policy.toml", AUDIT, "trust.toml"),
        i("policy.toml", "trust.toml", AUDIT, "policy.toml"),
        i("policy.toml", "trust.toml", VERDICT, "policy.toml"),
        i("scenario.json", "policy.toml", VERDICT, "scenario.json"),
        i("log/checkpoint", "trust.toml", LOG_VERIFY, "log"),
        i("log/tile/0/000.p/1", "e1", LOG_VERIFY, "log"),
        i("log/tile/entries/000.p/1", "e1", LOG_VERIFY, "log"),
        i("logkey.txt", "trust.toml", LOG_VERIFY, "logkey.txt"),
        i("log/checkpoint", "trust.toml", LOG_APPEND, "log"),
        i("log/tile/0/000.p/1", "e1", LOG_APPEND, "log"),
        i("log.key", "trust.toml", LOG_APPEND, "log.key"),
        i("log/checkpoint", "trust.toml", AUDIT, "log"),
        i("log/tile/entries/000.p/1", "e1", AUDIT, "log"),
    ]
}

#[test]
fn every_damaged_input_gives_status_2_names_the_file_and_changes_nothing() {
    let root = tempfile::tempdir().unwrap();
    let base = root.path().join("base");
    fs::create_dir(&base).unwrap();
    fixture(&base);
    if is_root() {
        eprintln!(
            "running as root: the unreadable-file case is skipped (root reads through chmod 000)"
        );
    }
    let measure_rss = Path::new(TIME).exists();
    if !measure_rss {
        eprintln!("no {TIME}: peak memory of the hostile-file cases is not measured");
    }
    let mut problems = Vec::new();
    let mut checked = 0;
    // (case, seconds, peak RSS in kB) of every FIFO, sparse and /dev/zero case.
    let mut figures: Vec<(String, f64, Option<u64>)> = Vec::new();
    for (n, input) in inputs().iter().enumerate() {
        for how in ALL {
            let dir = root.path().join(format!("case-{n}-{how:?}"));
            copy_tree(&base, &dir);
            if !damage(&dir, input.file, how, input.other_kind) {
                fs::remove_dir_all(&dir).unwrap();
                continue;
            }
            let before = snapshot(&dir);
            let what = format!(
                "{how:?} {} → lightcone {}",
                input.file,
                input.args.join(" ")
            );
            let rss_file = root.path().join(format!("rss-{n}-{how:?}"));
            let measured = (how.is_hostile_file() && measure_rss).then_some(rss_file.as_path());
            let start = Instant::now();
            let Some(out) = run_measured(&dir, input.args, Duration::from_secs(20), measured)
            else {
                problems.push(format!(
                    "{what}: still running after 20 s (accepted the file?)"
                ));
                continue;
            };
            let seconds = start.elapsed().as_secs_f64();
            checked += 1;
            if how.is_hostile_file() {
                let rss = measured.and_then(|f| {
                    let text = fs::read_to_string(f).ok()?;
                    text.lines().last()?.trim().parse::<u64>().ok()
                });
                if seconds > HOSTILE_FILE_SECONDS {
                    problems.push(format!("{what}: took {seconds:.2} s"));
                }
                if let Some(kb) = rss.filter(|&kb| kb > HOSTILE_FILE_RSS_KB) {
                    problems.push(format!("{what}: peak memory {kb} kB"));
                }
                figures.push((what.clone(), seconds, rss));
            }
            let stderr = String::from_utf8_lossy(&out.stderr);
            let code = out.status.code();
            if stderr.contains("panicked") {
                problems.push(format!("{what}: PANIC: {stderr}"));
            } else if code != Some(2) {
                problems.push(format!("{what}: exit {code:?}, stderr: {}", clip(&stderr)));
            } else if !stderr.contains(input.named_as) {
                problems.push(format!(
                    "{what}: message does not name {}: {}",
                    input.named_as,
                    clip(&stderr)
                ));
            } else if stderr.len() > 4096 {
                problems.push(format!(
                    "{what}: {} bytes of stderr (echoes the file?)",
                    stderr.len()
                ));
            }
            // Unreadable files are made readable again only to compare; nothing else is touched.
            let after = snapshot(&dir);
            if before != after {
                let changed: Vec<_> = before
                    .keys()
                    .chain(after.keys())
                    .filter(|k| before.get(*k) != after.get(*k))
                    .collect();
                problems.push(format!("{what}: changed on disk: {changed:?}"));
            }
            let _ = fs::remove_dir_all(&dir);
        }
    }
    eprintln!("{checked} damaged inputs checked");
    if let Some(slowest) = figures.iter().max_by(|a, b| a.1.total_cmp(&b.1)) {
        eprintln!("hostile files: slowest {:.3} s ({})", slowest.1, slowest.0);
    }
    if let Some(largest) = figures.iter().max_by_key(|f| f.2) {
        eprintln!(
            "hostile files: largest peak memory {:?} kB ({}); {} cases",
            largest.2,
            largest.0,
            figures.len()
        );
    }
    for (what, seconds, rss) in &figures {
        eprintln!("  {seconds:.3} s {rss:?} kB  {what}");
    }
    assert!(checked > 150, "only {checked} cases ran");
    let (known, new): (Vec<_>, Vec<_>) = problems.into_iter().partition(|p| is_known(p));
    for p in &known {
        eprintln!("KNOWN: {p}");
    }
    assert!(
        new.is_empty(),
        "{} problems:\n{}",
        new.len(),
        new.join("\n")
    );
}

/// Problems found by this sweep (2026-11-26) in modules this test does not own, reported to
/// their owners. Listed so the sweep stays a gate for everything else; delete an entry when it
/// is fixed (the test prints each one it still sees).
const KNOWN: &[(&str, &str)] = &[];

fn is_known(problem: &str) -> bool {
    KNOWN
        .iter()
        .any(|(what, how)| problem.contains(what) && problem.contains(how))
}

fn clip(s: &str) -> String {
    let s = s.trim();
    match s.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

/// Secret keys readable by group or others are refused, the log's key included (every
/// landmark opens it, so it is the most widely deployed secret); 0600 and 0400 are used.
///
/// On the code before issue 13, `log.key` at 0644 or 0666 was used.
#[test]
fn secret_keys_open_to_group_or_others_are_refused_the_log_key_included() {
    let root = tempfile::tempdir().unwrap();
    let base = root.path().join("base");
    fs::create_dir(&base).unwrap();
    fixture(&base);
    for (key, args) in [
        ("log.key", LOG_APPEND),
        ("v/vendor.key", CHIP_PROVISION),
        ("c/device.key", SERVE),
    ] {
        for mode in [0o644, 0o666, 0o640, 0o604] {
            let dir = root
                .path()
                .join(format!("{}-{mode:o}", key.replace('/', "-")));
            copy_tree(&base, &dir);
            fs::set_permissions(dir.join(key), fs::Permissions::from_mode(mode)).unwrap();
            let before = snapshot(&dir);
            let out = run(&dir, args, Duration::from_secs(20)).expect("hangs");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{key} at {mode:o}: {stderr}");
            assert!(
                stderr.contains(key.rsplit('/').next().unwrap()) && stderr.contains("600"),
                "{key} at {mode:o}: {stderr}"
            );
            assert_eq!(before, snapshot(&dir), "{key} at {mode:o}: changed on disk");
        }
    }
    // The log key at 0400 still appends.
    let dir = root.path().join("log-key-0400");
    copy_tree(&base, &dir);
    fs::set_permissions(dir.join("log.key"), fs::Permissions::from_mode(0o400)).unwrap();
    ok(&dir, LOG_APPEND);
}

/// `lightcone audit … | head` and `lightcone verdict … | head`: a standard output closed
/// under the command ends it quietly (no panic, no backtrace) with the status a closed pipe
/// gives (141), after its files are written.
///
/// On the code before issue 13 both panicked ("failed printing to stdout: Broken pipe").
#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();
    fixture(dir);
    let audit_with_files: Vec<&str> = AUDIT
        .iter()
        .copied()
        .chain([
            "--json",
            "closed.json",
            "--save-checkpoint",
            "closed.checkpoint",
        ])
        .collect();
    for args in [&audit_with_files[..], VERDICT] {
        let mut child = Command::new(BIN)
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Close the read end at once, as `head` does after its lines.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(stderr.trim().is_empty(), "{args:?}: not quiet: {stderr}");
        assert_eq!(out.status.code(), Some(141), "{args:?}: {stderr}");
    }
    assert!(dir.join("closed.json").is_file());
    assert_eq!(
        fs::read(dir.join("closed.checkpoint")).unwrap(),
        fs::read(dir.join("log/checkpoint")).unwrap()
    );
}

/// The evidence files of `lightcone evidence verify` (SPDM report, certificate chain, root):
/// each replaced by a FIFO, a sparse 1 GiB file or a symlink to `/dev/zero` is refused at once,
/// unread, by the function that reads it; and through the command (the report is read first)
/// with exit 2, the file named.
///
/// Before this change the FIFO blocked forever and `/dev/zero` exhausted memory.
#[test]
fn hostile_evidence_files_are_refused_unread() {
    use lightcone_verifier::bounded_file::{refusal, Refused};
    use lightcone_verifier::evidence::{read_pem_certs, read_report_hex, read_root, EvidenceError};
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();
    for how in [Damage::Fifo, Damage::SparseGigabyte, Damage::DevZero] {
        let case = dir.join(format!("{how:?}"));
        fs::create_dir(&case).unwrap();
        fs::write(case.join("evidence"), b"ordinary\n").unwrap();
        assert!(damage(&case, "evidence", how, "evidence"));
        let path = case.join("evidence");
        let refused = |e: EvidenceError| match e {
            EvidenceError::Io { source, .. } => refusal(&source).cloned(),
            _ => None,
        };
        let start = Instant::now();
        let results = [
            read_report_hex(&path).map(drop),
            read_pem_certs(&path).map(drop),
            read_root(&path).map(drop),
        ];
        for r in results {
            let why = refused(r.unwrap_err());
            assert!(
                matches!(
                    why,
                    Some(Refused::NotRegular(_)) | Some(Refused::TooLarge { .. })
                ),
                "{how:?}: {why:?}"
            );
        }
        assert!(start.elapsed() < Duration::from_secs(1), "{how:?}");

        let out = run(
            &case,
            &[
                "evidence",
                "verify",
                "--spdm",
                "evidence",
                "--chain",
                "chain.pem",
                "--root",
                "root.pem",
            ],
            Duration::from_secs(20),
        )
        .unwrap_or_else(|| panic!("{how:?}: hangs"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{how:?}: {stderr}");
        assert!(stderr.contains("evidence"), "{how:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{how:?}: {stderr}");
    }
}
