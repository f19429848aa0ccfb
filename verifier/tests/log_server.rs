//! The log server as landmarks meet it: real keys, real certificates, the real `lightcone`
//! binary, real HTTP on loopback.
//!
//! - Submissions from unregistered, expired or forged landmarks are refused with a status.
//! - 16 concurrent landmarks submit while the server is SIGKILLed at random moments and
//!   restarted, many times: every acknowledged index holds its entry afterwards, nothing is
//!   lost, nothing is duplicated. `LIGHTCONE_KILL_ROUNDS` (default 60, about 8 s here, to keep
//!   CI inside its budget; `LIGHTCONE_KILL_ROUNDS=200` ran in 37 s, see docs/log-service.md).
//!   The same with the log in an S3 bucket (moto, see `net_support::moto`), a third of the
//!   rounds.

mod net_support;

use std::collections::{HashMap, HashSet};
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use lightcone::{LogRecord, Validity, Wire};
use lightcone_verifier::log::http::{LogClient, LogServer, ServerConfig, ADD_PATH};
use lightcone_verifier::log::storage::write_key_file;
use lightcone_verifier::log::{Log, LogReader, NoteSigner};
use lightcone_verifier::net::submit::encode_submission;
use lightcone_verifier::net::LandmarkAdmission;
use lightcone_verifier::registry::TrustFile;
use lightcone_verifier::synth::{SynthFleet, SAMPLE_LANDMARKS};
use net_support::Proc;
use rand_chacha::rand_core::{RngCore as _, SeedableRng as _};
use rand_chacha::ChaCha20Rng;

const ORIGIN: &str = "example.org/lightcone-test-log";
const FRANKFURT: (f64, f64) = (50.11, 8.68);

fn fleet(landmarks: usize, seed: u64) -> SynthFleet {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let at: Vec<(f64, f64)> = (0..landmarks)
        .map(|i| SAMPLE_LANDMARKS[i % SAMPLE_LANDMARKS.len()])
        .collect();
    let mut f = SynthFleet::new(&mut rng, &at, 2).unwrap();
    f.origin = ORIGIN.to_owned();
    f
}

/// One probe's records from landmark `l`: both certificates, then `n` fresh measurements.
fn probe(f: &mut SynthFleet, rng: &mut ChaCha20Rng, l: usize, n: usize) -> Vec<Vec<u8>> {
    let c = l % f.chips.len();
    let mut out = vec![
        LogRecord::LandmarkCertificate(f.landmarks[l].cert).to_vec(),
        LogRecord::DeviceCertificate(f.chips[c].cert).to_vec(),
    ];
    for _ in 0..n {
        let m = f
            .measure_unchecked(rng, (l, c), FRANKFURT, 1_900_000_000_000_000_000)
            .unwrap();
        out.push(LogRecord::Measurement(m).to_vec());
    }
    out
}

fn in_process_server(f: &SynthFleet, dir: &Path) -> (LogServer, LogClient) {
    let log = Log::init(dir, ORIGIN, f.log_key.clone()).unwrap();
    let admission = LandmarkAdmission::new(f.trust(), ORIGIN);
    let server = LogServer::start(
        log,
        TcpListener::bind("127.0.0.1:0").unwrap(),
        Arc::new(admission),
        ServerConfig::default(),
    )
    .unwrap();
    let client = LogClient::new(
        &format!("http://{}", server.addr()),
        Duration::from_secs(10),
    )
    .unwrap();
    (server, client)
}

#[test]
fn unregistered_expired_and_forged_submissions_are_refused() {
    let mut f = fleet(3, 1);
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let tmp = tempfile::tempdir().unwrap();
    let (_server, client) = in_process_server(&f, &tmp.path().join("log"));
    let post = |body: Vec<u8>| {
        let r = client.post(ADD_PATH, body, 1 << 20).unwrap();
        (r.status, String::from_utf8_lossy(&r.body).into_owned())
    };

    // The registered landmark is accepted.
    let records = probe(&mut f, &mut rng, 0, 3);
    let lm0 = (f.landmarks[0].key.clone(), f.landmarks[0].cert);
    let ok = encode_submission(ORIGIN, &lm0.1, &lm0.0, &records).unwrap();
    assert_eq!(post(ok.clone()).0, 200);

    // A landmark certified by a registry the trust file does not name.
    let mut other = fleet(1, 99);
    let rogue_records = probe(&mut other, &mut rng, 0, 1);
    let rogue = encode_submission(
        ORIGIN,
        &other.landmarks[0].cert,
        &other.landmarks[0].key,
        &rogue_records,
    )
    .unwrap();
    let (status, why) = post(rogue);
    assert_eq!(status, 403, "{why}");

    // An expired certificate of a registered landmark.
    let expired = f
        .recertify_landmark(
            1,
            SAMPLE_LANDMARKS[1],
            "operator-1",
            Validity {
                not_before: 1_600_000_000,
                not_after: 1_600_000_100,
            },
        )
        .unwrap();
    let recs = vec![LogRecord::LandmarkCertificate(expired).to_vec()];
    let (status, why) =
        post(encode_submission(ORIGIN, &expired, &f.landmarks[1].key, &recs).unwrap());
    assert_eq!(status, 403, "{why}");

    // Signed by another key than the certified one.
    let (status, why) = post(
        encode_submission(ORIGIN, &lm0.1, &SigningKey::from_bytes(&[5; 32]), &records).unwrap(),
    );
    assert_eq!(status, 401, "{why}");

    // Signed for another log: not replayable here.
    let (status, why) =
        post(encode_submission("other.example/log", &lm0.1, &lm0.0, &records).unwrap());
    assert_eq!(status, 401, "{why}");

    // Landmark 0 submitting landmark 2's measurement.
    let theirs = probe(&mut f, &mut rng, 2, 1);
    let (status, why) = post(encode_submission(ORIGIN, &lm0.1, &lm0.0, &theirs[2..]).unwrap());
    assert_eq!(status, 422, "{why}");
    // Or landmark 2's certificate.
    let (status, why) = post(encode_submission(ORIGIN, &lm0.1, &lm0.0, &theirs[..1]).unwrap());
    assert_eq!(status, 422, "{why}");
    // Or junk that is not a log record.
    let (status, why) =
        post(encode_submission(ORIGIN, &lm0.1, &lm0.0, &[b"junk".to_vec()]).unwrap());
    assert_eq!(status, 422, "{why}");

    // Every truncation and every single flipped byte of a good submission is refused.
    for cut in [0, 1, 10, ok.len() / 2, ok.len() - 65, ok.len() - 1] {
        let s = post(ok[..cut].to_vec()).0;
        assert!(s == 400 || s == 401, "cut at {cut}: {s}");
    }
    let mut extra = ok.clone();
    extra.push(0);
    assert!(matches!(post(extra).0, 400 | 401));
    for i in (0..ok.len()).step_by(7) {
        let mut bad = ok.clone();
        bad[i] ^= 0x40;
        let s = post(bad).0;
        assert!(matches!(s, 400 | 401 | 403), "flip at {i}: {s}");
    }

    // Only the one accepted submission is in the log; a replay of it appends nothing.
    assert_eq!(post(ok).0, 200);
    let reader = LogReader::open(tmp.path().join("log")).unwrap();
    assert_eq!(reader.size(), 5);
}

/// A landmark's submissions still to deliver (records, signed body), next one last.
type Queue = Arc<Mutex<Vec<(Vec<Vec<u8>>, Vec<u8>)>>>;

fn kill_rounds() -> usize {
    std::env::var("LIGHTCONE_KILL_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60)
}

#[test]
fn sixteen_landmarks_and_sigkill_at_random_moments_lose_and_duplicate_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let target = Target {
        place: vec!["--dir".into(), dir.to_str().unwrap().into()],
        env: Vec::new(),
        init: Box::new(|f| drop(Log::init(&dir, ORIGIN, f.log_key.clone()).unwrap())),
        reader: Box::new(|| LogReader::open(&dir).unwrap()),
    };
    sigkill_and_restart(tmp.path(), kill_rounds(), &target);
}

/// The same with the log in an S3 bucket (moto on loopback): a third of the rounds.
#[test]
fn an_s3_backed_server_sigkilled_at_random_moments_loses_and_duplicates_nothing() {
    let Some(moto) = net_support::moto::start() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let url = "s3://logs/killed";
    let target = Target {
        place: vec!["--store".into(), url.into()],
        env: moto.env(),
        init: Box::new(|f| drop(Log::init_in(moto.store(url), ORIGIN, f.log_key.clone()).unwrap())),
        reader: Box::new(|| LogReader::open_in(moto.store(url)).unwrap()),
    };
    sigkill_and_restart(tmp.path(), kill_rounds().div_ceil(3), &target);
}

/// Where the killed server keeps its log: `lightcone log serve` options and environment, how
/// to create the log, how to read it back.
struct Target<'a> {
    place: Vec<String>,
    env: Vec<(String, String)>,
    init: Box<dyn Fn(&SynthFleet) + 'a>,
    reader: Box<dyn Fn() -> LogReader + 'a>,
}

/// 16 landmarks submit concurrently while the server is SIGKILLed `rounds` times at random
/// moments and restarted: nothing acknowledged is lost, nothing is in the log twice.
fn sigkill_and_restart(root: &Path, rounds: usize, target: &Target) {
    const LANDMARKS: usize = 16;
    const PROBES: usize = 24;
    // Submissions per landmark added whenever every queue has drained.
    const REFILL: usize = 6;
    let mut f = fleet(LANDMARKS, 3);
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let key_file = root.join("server").join("log.key");
    std::fs::create_dir(root.join("server")).unwrap();
    let signer = NoteSigner::new(ORIGIN, f.log_key.clone()).unwrap();
    write_key_file(&key_file, &signer).unwrap();
    (target.init)(&f);
    let trust = f.trust();
    let trust_file = root.join("trust.toml");
    TrustFile::new(
        trust.registry,
        &trust.vendors,
        trust.log_verifier_key.clone(),
    )
    .write(&trust_file)
    .unwrap();

    // Every landmark's submissions, signed up front (real measurements, real signatures).
    let queues: Vec<Queue> = (0..LANDMARKS)
        .map(|l| {
            let subs = (0..PROBES)
                .map(|_| {
                    let records = probe(&mut f, &mut rng, l, 4);
                    let body = encode_submission(
                        ORIGIN,
                        &f.landmarks[l].cert,
                        &f.landmarks[l].key,
                        &records,
                    )
                    .unwrap();
                    (records, body)
                })
                .rev()
                .collect();
            Arc::new(Mutex::new(subs))
        })
        .collect();
    let total_distinct: HashSet<Vec<u8>> = queues
        .iter()
        .flat_map(|q| {
            q.lock()
                .unwrap()
                .iter()
                .flat_map(|(r, _)| r.clone())
                .collect::<Vec<_>>()
        })
        .collect();

    let acked: Arc<Mutex<HashMap<Vec<u8>, u64>>> = Arc::default();
    let acks = Arc::new(AtomicUsize::new(0));
    let mut seed_rng = ChaCha20Rng::seed_from_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    );
    let seed = seed_rng.next_u64();
    println!("kill schedule seed {seed}");
    let mut kill_rng = ChaCha20Rng::seed_from_u64(seed);
    let started = Instant::now();
    let mut kills_with_inflight = 0usize;
    let mut recoveries = 0usize;
    let mut acked_in_round = Vec::new();
    let mut round = 0;
    loop {
        let last = round == rounds;
        let mut args = vec!["log", "serve"];
        args.extend(target.place.iter().map(String::as_str));
        args.extend([
            "--key",
            key_file.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--trust",
            trust_file.to_str().unwrap(),
        ]);
        let server = Proc::spawn_env(&args, &target.env);
        let url = format!("http://{}", server.listening());
        let threads: Vec<_> = queues
            .iter()
            .map(|q| {
                let (q, url, acked, acks) = (q.clone(), url.clone(), acked.clone(), acks.clone());
                std::thread::spawn(move || {
                    let client = LogClient::new(&url, Duration::from_secs(10)).unwrap();
                    let mut sent = 0usize;
                    loop {
                        let Some((records, body)) = q.lock().unwrap().last().cloned() else {
                            return sent;
                        };
                        match client.post(ADD_PATH, body, 1 << 20) {
                            Ok(r) if r.status == 200 => {
                                let idx: Vec<u64> = String::from_utf8(r.body)
                                    .unwrap()
                                    .lines()
                                    .map(|l| l.parse().unwrap())
                                    .collect();
                                assert_eq!(idx.len(), records.len());
                                let mut a = acked.lock().unwrap();
                                for (e, i) in records.into_iter().zip(idx) {
                                    // A retried entry must get the index it was given before.
                                    let prev = a.insert(e, i);
                                    assert!(prev.is_none() || prev == Some(i), "index changed");
                                }
                                q.lock().unwrap().pop();
                                sent += 1;
                                acks.fetch_add(1, Ordering::SeqCst);
                            }
                            Ok(r) => {
                                panic!("HTTP {}: {}", r.status, String::from_utf8_lossy(&r.body))
                            }
                            // The server was killed: this submission stays queued and is
                            // retried against the next server.
                            Err(_) => return sent,
                        }
                    }
                })
            })
            .collect();
        let mut server = server;
        if !last {
            // Kill at a random moment once this server has acknowledged something, so the
            // kill lands among batches being written, answered and sent.
            let before = acks.load(Ordering::SeqCst);
            let deadline = Instant::now() + Duration::from_secs(20);
            while acks.load(Ordering::SeqCst) == before && Instant::now() < deadline {
                std::thread::sleep(Duration::from_micros(200));
            }
            std::thread::sleep(Duration::from_micros(kill_rng.next_u64() % 30_000));
            server.child.kill().unwrap(); // SIGKILL
            server.child.wait().unwrap();
        }
        let mut sent = 0;
        for t in threads {
            sent += t.join().unwrap();
        }
        if !last && sent > 0 && queues.iter().any(|q| !q.lock().unwrap().is_empty()) {
            // Killed mid-stream: some submissions of this round were acknowledged, others
            // were in flight or still to send.
            kills_with_inflight += 1;
        }
        acked_in_round.push(sent);
        // Each start that found a batch without its checkpoint says so (the kill landed
        // between the first tile and the checkpoint).
        recoveries += server
            .stderr
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains("undid an append interrupted"))
            .count();
        if last {
            assert!(queues.iter().all(|q| q.lock().unwrap().is_empty()));
            drop(server);
            break;
        }
        round += 1;
        // Refill so that every round has submissions in flight: new probes once all are in.
        if queues.iter().all(|q| q.lock().unwrap().is_empty()) && round < rounds {
            for (l, q) in queues.iter().enumerate() {
                for _ in 0..REFILL {
                    let records = probe(&mut f, &mut rng, l, 4);
                    let body = encode_submission(
                        ORIGIN,
                        &f.landmarks[l].cert,
                        &f.landmarks[l].key,
                        &records,
                    )
                    .unwrap();
                    q.lock().unwrap().push((records, body));
                }
            }
        }
    }

    let reader = (target.reader)();
    let vkey = NoteSigner::new(ORIGIN, f.log_key.clone())
        .unwrap()
        .verifier_key()
        .clone();
    let cp = reader.verify(&vkey).unwrap();
    let mut seen = HashSet::new();
    for e in reader.entries() {
        let (_, bytes) = e.unwrap();
        assert!(seen.insert(bytes), "an entry is in the log twice");
    }
    let acked = acked.lock().unwrap();
    for (entry, i) in acked.iter() {
        assert_eq!(
            &reader.entry(*i).unwrap(),
            entry,
            "acknowledged index {i} lost"
        );
    }
    assert!(
        total_distinct.iter().all(|e| seen.contains(e)),
        "a submission was lost"
    );
    assert_eq!(cp.size() as usize, seen.len());
    println!("submissions acknowledged per round: {acked_in_round:?}");
    println!(
        "{rounds} SIGKILLs ({kills_with_inflight} mid-stream: after some acknowledgements, with more in flight; {recoveries} restarts undid a batch written without its checkpoint), {} entries, {} acknowledged, {:.1} s",
        cp.size(),
        acked.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        kills_with_inflight >= rounds / 4,
        "only {kills_with_inflight} of {rounds} kills hit a busy server"
    );
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn landmark_probe_submits_over_http_without_the_log_key_and_keeps_what_is_undelivered() {
    use net_support::{run, run_ok};
    const T: Duration = Duration::from_secs(30);
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    run_ok(
        &[
            "vendor",
            "init",
            "--dir",
            p(&root.join("vendor")),
            "--name",
            "acme",
        ],
        T,
    );
    run_ok(&["registry", "init", "--dir", p(&root.join("registry"))], T);
    run_ok(
        &[
            "chip",
            "provision",
            "--vendor",
            p(&root.join("vendor")),
            "--dir",
            p(&root.join("chip")),
            "--model",
            "LC-H200",
            "--min-response-ns",
            "1000",
        ],
        T,
    );
    run_ok(
        &[
            "landmark",
            "provision",
            "--registry",
            p(&root.join("registry")),
            "--dir",
            p(&root.join("paris")),
            "--operator",
            "example-operator",
            "--lat",
            "48.8566",
            "--lon",
            "2.3522",
            "--uncertainty-m",
            "25",
        ],
        T,
    );
    // The log and its key live on the server side only.
    std::fs::create_dir(root.join("server")).unwrap();
    let vkey = run_ok(
        &[
            "log",
            "init",
            "--dir",
            p(&root.join("server/log")),
            "--origin",
            "lightcone.test/log",
            "--key",
            p(&root.join("server/log.key")),
        ],
        T,
    )
    .trim()
    .to_string();
    run_ok(
        &[
            "registry",
            "trust",
            "--out",
            p(&root.join("trust.toml")),
            "--registry",
            p(&root.join("registry")),
            "--vendor",
            p(&root.join("vendor")),
            "--log-verifier-key",
            &vkey,
        ],
        T,
    );
    let serve = || {
        Proc::spawn(&[
            "log",
            "serve",
            "--dir",
            p(&root.join("server/log")),
            "--key",
            p(&root.join("server/log.key")),
            "--listen",
            "127.0.0.1:0",
            "--trust",
            p(&root.join("trust.toml")),
        ])
    };
    let server = serve();
    let url = format!("http://{}", server.listening());
    let chip = Proc::spawn(&[
        "chip",
        "serve",
        "--dir",
        p(&root.join("chip")),
        "--listen",
        "127.0.0.1:0",
    ]);
    let chip_addr = chip.listening().to_string();
    let probe = |url: &str| {
        run(
            &[
                "landmark",
                "probe",
                "--dir",
                p(&root.join("paris")),
                "--trust",
                p(&root.join("trust.toml")),
                "--chip",
                &chip_addr,
                "--rounds",
                "5",
                "--timeout-ms",
                "1000",
                "--log-url",
                url,
                "--submit-patience",
                "1",
            ],
            T,
        )
    };
    let out = probe(&url);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("logged entries 2..7 to http://"),
        "{stdout}"
    );
    let out = probe(&url);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("logged entries 7..12"),
        "certificates are logged once: {stdout}"
    );

    // The landmark's directory holds no trace of the log key.
    let secret = std::fs::read_to_string(root.join("server/log.key")).unwrap();
    let secret_b64 = secret.trim().rsplit('+').next().unwrap().to_owned();
    for f in files_under(&root.join("paris")) {
        let bytes = std::fs::read(&f).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(&secret_b64) && !text.contains("PRIVATE+KEY"),
            "{}",
            f.display()
        );
    }

    // The server goes away: the submission stays in the outbox, the probe fails (exit 2).
    drop(server);
    let out = probe(&url);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // And again: both probes' submissions wait, nothing is dropped.
    let out = probe(&url);
    assert_eq!(out.status.code(), Some(2));
    let waiting: Vec<_> = files_under(&root.join("paris/outbox"));
    assert_eq!(waiting.len(), 2, "{waiting:?}");
    for f in &waiting {
        let text = String::from_utf8_lossy(&std::fs::read(f).unwrap()).into_owned();
        assert!(!text.contains(&secret_b64));
    }

    // A new server (new port): the next probe delivers the old submission first, then its own.
    let server = serve();
    let url = format!("http://{}", server.listening());
    let out = probe(&url);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("outbox: 2 undelivered"), "{stdout}");
    assert!(stdout.contains("logged entries 22..27"), "{stdout}");
    assert!(files_under(&root.join("paris/outbox")).is_empty());
    let reader = LogReader::open(root.join("server/log")).unwrap();
    let key = lightcone_verifier::log::VerifierKey::parse(&vkey).unwrap();
    assert_eq!(reader.verify(&key).unwrap().size(), 27);
    drop(server);
}
