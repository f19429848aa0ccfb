//! Crash test: a real `lightcone log append` child process is SIGKILLed at random moments,
//! over and over; after every kill the log must audit clean from its files alone, hold every
//! acknowledged entry unchanged, and its checkpoint must be consistent with every checkpoint
//! ever acknowledged or observed. The next append (a fresh process) recovers and goes on.
//!
//! A SIGKILL loses the process, not the page cache: this exercises every interleaving of the
//! writer's steps, while the fsync ordering (temp file, fsync, link/rename, fsync directory,
//! checkpoint last) is what makes the same states the only ones a power cut can leave.

use lightcone_verifier::log::hash::{hash_from_base64, Hash};
use lightcone_verifier::log::proof::verify_consistency;
use lightcone_verifier::log::{Log, LogReader, NoteSigner, VerifierKey};
use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ORIGIN: &str = "example.com/lightcone/crash";
const BIN: &str = env!("CARGO_BIN_EXE_lightcone");

fn content(i: u64) -> Vec<u8> {
    // Variable sizes, so bundles and tiles are not all alike.
    let mut e = format!("crash-test entry {i}:").into_bytes();
    e.resize(e.len() + (i as usize * 37) % 400, b'a' + (i % 26) as u8);
    e
}

/// xorshift64*: reproducible randomness without a dependency; the seed is printed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Runs one `log append` of entries `from..from+count` in batches of `batch`; kills it after
/// `kill_after` (if still running). Returns the acknowledged (size, root) pairs it printed and
/// whether the kill landed while it ran.
fn run_append(
    dir: &Path,
    files: &Path,
    from: u64,
    count: u64,
    batch: u64,
    kill_after: Option<Duration>,
) -> (Vec<(u64, Hash)>, bool, bool) {
    let mut args: Vec<String> = vec![
        "log".into(),
        "append".into(),
        "--dir".into(),
        dir.display().to_string(),
        "--batch".into(),
        batch.to_string(),
    ];
    for i in from..from + count {
        let f = files.join(format!("e{i}"));
        if !f.exists() {
            std::fs::write(&f, content(i)).unwrap();
        }
        args.push(f.display().to_string());
    }
    let mut child = Command::new(BIN)
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut killed = false;
    if let Some(after) = kill_after {
        std::thread::sleep(after);
        killed = child.try_wait().unwrap().is_none();
        let _ = child.kill(); // SIGKILL on Unix
    }
    let status = child.wait().unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    if !killed {
        assert!(status.success(), "append failed: {err}");
    }
    let recovered = err.contains("recovered from an interrupted append");
    let acks = out
        .lines()
        .filter_map(|l| {
            // "appended A..B size S root R"; a line cut by the kill is not an acknowledgement.
            let f: Vec<&str> = l.split(' ').collect();
            match f.as_slice() {
                ["appended", _, "size", s, "root", r] => {
                    Some((s.parse().ok()?, hash_from_base64(r).ok()?))
                }
                _ => None,
            }
        })
        .collect();
    (acks, killed, recovered)
}

/// Everything that must hold after a crash, from the files alone.
fn audit(dir: &Path, vkey: &VerifierKey, acked: &[(u64, Hash)], seen: &mut Vec<(u64, Hash)>) {
    let reader = LogReader::open(dir).unwrap();
    let cp = reader
        .verify(vkey)
        .unwrap_or_else(|e| panic!("audit failed: {e}"));
    let size = cp.size();
    for item in reader.entries() {
        let (i, e) = item.unwrap();
        assert_eq!(e, content(i), "entry {i} changed");
    }
    seen.push((size, *cp.root()));
    for (s, root) in acked.iter().chain(seen.iter()) {
        assert!(*s <= size, "acknowledged size {s} lost: log has {size}");
        let proof = reader.consistency_proof(*s).unwrap();
        verify_consistency(*s, size, root, cp.root(), &proof)
            .unwrap_or_else(|e| panic!("checkpoint {size} inconsistent with {s}: {e}"));
    }
}

#[test]
fn sigkill_at_random_points_never_loses_or_corrupts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let files = tmp.path().join("entries");
    std::fs::create_dir(&files).unwrap();
    let out = Command::new(BIN)
        .args([
            "log",
            "init",
            "--dir",
            &dir.display().to_string(),
            "--origin",
            ORIGIN,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let vkey = VerifierKey::parse(String::from_utf8(out.stdout).unwrap().trim()).unwrap();

    let seed = std::env::var("LIGHTCONE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    println!("crash test seed {seed} (set LIGHTCONE_CRASH_SEED to replay)");
    let mut rng = Rng(seed);

    // Calibrate: how long does an uninterrupted append of this shape take here?
    let t = Instant::now();
    let (acks, _, _) = run_append(&dir, &files, 0, 40, 8, None);
    let typical = t.elapsed();
    let mut acked: Vec<(u64, Hash)> = acks;
    let mut seen = Vec::new();
    audit(&dir, &vkey, &acked, &mut seen);

    let budget = Duration::from_secs(12);
    let start = Instant::now();
    let (mut iterations, mut mid_run_kills, mut interrupted_batches, mut recoveries) =
        (0u32, 0u32, 0u32, 0u32);
    while iterations < 200 && start.elapsed() < budget {
        let from = LogReader::open(&dir).unwrap().size();
        let count = 10 + rng.below(60);
        let batch = 1 + rng.below(16);
        let delay = Duration::from_micros(rng.below(typical.as_micros() as u64 * 3 / 2 + 1));
        let (acks, killed, recovered) = run_append(&dir, &files, from, count, batch, Some(delay));
        recoveries += u32::from(recovered);
        let acked_here = acks.last().map_or(from, |a| a.0);
        if killed {
            mid_run_kills += 1;
            if acked_here < from + count {
                interrupted_batches += 1;
            }
        }
        acked.extend(acks);
        audit(&dir, &vkey, &acked, &mut seen);
        iterations += 1;
    }
    // A clean writer open recovers whatever the last kill left, and the log still audits.
    let signer = NoteSigner::parse(
        std::fs::read_to_string(tmp.path().join("log.key"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    let mut log = Log::open(&dir, signer.signing_key().clone()).unwrap();
    let n = log.size();
    log.append_batch(&[content(n)]).unwrap();
    drop(log);
    audit(&dir, &vkey, &acked, &mut seen);
    println!(
        "crash test: {iterations} runs, {mid_run_kills} killed mid-run, {interrupted_batches} with an unacknowledged batch, {recoveries} reopened after a batch killed between its first tile and its checkpoint, final size {}",
        n + 1
    );
    assert!(iterations >= 20, "too few iterations in the time budget");
    assert!(
        mid_run_kills >= 5,
        "too few kills landed while the writer ran"
    );
}
