//! Shared fixtures of the network tests: keys and certificates made in memory, and child
//! processes that are always killed (never left behind) and never waited on without a timeout.
#![allow(dead_code)]

pub mod moto;
pub mod witnesses;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use lightcone::{
    DeviceCertificate, LandmarkCertificate, ModelName, Position, ResponseTiming, Signer, Validity,
    Verified,
};
use lightcone_verifier::registry::{unix_now_s, Trust, TrustFile};

/// Endorsed minimum response time of the test chips: 1 µs, below what a software signature
/// takes, so the bounds stay sound (a vendor over-claiming speed would make them unsound).
pub const MIN_RESPONSE_NS: u64 = 1_000;

/// Keys and certificates of one vendor, one registry, chips and landmarks.
pub struct Fixture {
    pub vendor: SigningKey,
    pub registry: SigningKey,
    pub trust: Trust,
}

pub fn validity() -> Validity {
    let now = unix_now_s();
    Validity {
        not_before: now - 86_400,
        not_after: now + 86_400,
    }
}

pub fn key() -> SigningKey {
    SigningKey::generate(&mut rand_core::OsRng)
}

impl Fixture {
    pub fn new() -> Self {
        let vendor = key();
        let registry = key();
        let trust = TrustFile::new(
            registry.public_key(),
            &[("acme".to_string(), vendor.public_key())],
            None,
        )
        .check(Path::new("trust.toml"))
        .unwrap();
        Fixture {
            vendor,
            registry,
            trust,
        }
    }

    /// A new chip: its key and verified device certificate.
    pub fn chip(&mut self) -> (SigningKey, Verified<DeviceCertificate>) {
        let chip = key();
        let cert = DeviceCertificate::issue(
            &mut self.vendor,
            chip.public_key(),
            ModelName::new("LC-TEST").unwrap(),
            ResponseTiming::minimum_only(MIN_RESPONSE_NS),
            validity(),
        )
        .unwrap();
        let verified = self.trust.verify_device(&cert, unix_now_s()).unwrap();
        (chip, verified)
    }

    /// A new landmark at `lat, lon` ± 10 m.
    pub fn landmark(&mut self, lat: f64, lon: f64) -> (SigningKey, Verified<LandmarkCertificate>) {
        let lm = key();
        let cert = LandmarkCertificate::issue(
            &mut self.registry,
            lm.public_key(),
            lightcone::OperatorName::new("test-operator").unwrap(),
            Position::from_degrees(lat, lon).unwrap(),
            10,
            validity(),
        )
        .unwrap();
        let verified = self.trust.verify_landmark(&cert, unix_now_s()).unwrap();
        (lm, verified)
    }
}

/// Polls `f` until it is true or `timeout` passes.
pub fn eventually(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    f()
}

/// A child process of the `lightcone` binary, killed and reaped on drop.
pub struct Proc {
    pub child: Child,
    stdout: Receiver<String>,
    pub stderr: Arc<Mutex<Vec<String>>>,
}

pub fn lightcone() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lightcone"))
}

impl Proc {
    pub fn spawn(args: &[&str]) -> Proc {
        Proc::spawn_env(args, &[])
    }

    /// [`Proc::spawn`] with these environment variables added.
    pub fn spawn_env(args: &[&str], env: &[(String, String)]) -> Proc {
        let mut child = lightcone()
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn lightcone");
        let (tx, rx) = channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let err = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Proc {
            child,
            stdout: rx,
            stderr,
        }
    }

    /// The first stdout line starting with `prefix`, within `timeout`; panics otherwise.
    pub fn line(&self, prefix: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(l) if l.starts_with(prefix) => return l,
                Ok(_) => continue,
                Err(e) => panic!(
                    "no line starting with {prefix:?} within {timeout:?}: {e}; stderr: {:?}",
                    self.stderr.lock().unwrap()
                ),
            }
        }
    }

    /// The address from a `listening on ADDR` line.
    pub fn listening(&self) -> std::net::SocketAddr {
        let line = self.line("listening on ", Duration::from_secs(10));
        line.trim_start_matches("listening on ")
            .trim()
            .parse()
            .unwrap()
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `lightcone ARGS` to completion within `timeout` (killed past it); panics on failure.
pub fn run_ok(args: &[&str], timeout: Duration) -> String {
    let out = run(args, timeout);
    assert!(
        out.status.success(),
        "lightcone {args:?} failed: {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `lightcone ARGS` within `timeout`, killing it past the deadline.
pub fn run(args: &[&str], timeout: Duration) -> Output {
    run_env(args, &[], timeout)
}

/// [`run`] with these environment variables added.
pub fn run_env(args: &[&str], env: &[(String, String)], timeout: Duration) -> Output {
    let mut child = lightcone()
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn lightcone");
    let deadline = Instant::now() + timeout;
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "lightcone {args:?} did not finish within {timeout:?}\nstdout: {}\nstderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
