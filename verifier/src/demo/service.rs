//! The demo's log as a service, as a deployment runs it: a log server on loopback (the only
//! holder of the log key), two witnesses that cosign its checkpoints, and landmarks that
//! submit signed batches over HTTP through their durable outboxes. The audit then reads the
//! log over HTTP, as a regulator elsewhere would, and demands both witnesses' cosignatures.

use super::scenario::DemoLandmark;
use super::DemoError;
use crate::log::http::{mirror, LogClient, LogServer, ServerConfig, WitnessConfig};
use crate::log::storage::generate_signing_key;
use crate::log::witness::{cosigners, CosignerKey, Witness, WitnessServer};
use crate::log::{Log, VerifierKey};
use crate::net::probe::SpdmRound;
use crate::net::{GpuRecords, LandmarkAdmission, LogSink as _, Submitter};
use crate::registry::Trust;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How many witnesses the demo runs, and how many cosignatures its audit demands.
pub const WITNESSES: usize = 2;

/// The running log server, its witnesses and one submitter per landmark.
pub struct LogService {
    server: LogServer,
    witnesses: Vec<WitnessServer>,
    witness_keys: Vec<CosignerKey>,
    submitters: Vec<Mutex<Submitter>>,
    certs: Vec<lightcone::LandmarkCertificate>,
    url: String,
    log_key: VerifierKey,
}

impl std::fmt::Debug for LogService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogService")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

fn bind() -> Result<TcpListener, DemoError> {
    TcpListener::bind("127.0.0.1:0").map_err(|e| DemoError::Worker(format!("binding: {e}")))
}

/// Starts the witnesses (state under `out/witness-N`) for the log `log_key`; returns their
/// servers and cosignature keys, for the log server and the trust file.
pub fn start_witnesses(
    out: &Path,
    log_key: &VerifierKey,
) -> Result<(Vec<WitnessServer>, Vec<CosignerKey>), DemoError> {
    let mut servers = Vec::new();
    let mut keys = Vec::new();
    for k in 0..WITNESSES {
        let name = format!("witness-{k}.demo.lightcone.example");
        let witness = Witness::open(
            &name,
            generate_signing_key(),
            vec![log_key.clone()],
            &out.join(format!("witness-{k}")).join("state"),
        )?;
        keys.push(witness.cosigner_key());
        servers.push(WitnessServer::start(witness, bind()?)?);
    }
    Ok((servers, keys))
}

impl LogService {
    /// Serves `log` (admitting the landmarks `trust` certifies) with the `witnesses`, and
    /// makes each landmark a submitter with its outbox under `out/landmarks/`.
    pub fn start(
        out: &Path,
        (log, origin): (Log, &str),
        trust: Trust,
        (witnesses, witness_keys): (Vec<WitnessServer>, Vec<CosignerKey>),
        landmarks: &[DemoLandmark],
    ) -> Result<LogService, DemoError> {
        let log_key = log.verifier_key().clone();
        let config = ServerConfig {
            witnesses: witnesses
                .iter()
                .zip(&witness_keys)
                .map(|(w, key)| WitnessConfig {
                    url: format!("http://{}", w.addr()),
                    key: key.clone(),
                })
                .collect(),
            ..ServerConfig::default()
        };
        let admission = Arc::new(LandmarkAdmission::new(trust, origin));
        let server = LogServer::start(log, bind()?, admission, config)?;
        let url = format!("http://{}", server.addr());
        let submitters = landmarks
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let outbox = out.join("landmarks").join(format!("{i:02}")).join("outbox");
                Submitter::new(&url, origin, &outbox, l.key.clone(), l.cert).map(Mutex::new)
            })
            .collect::<Result<_, _>>()?;
        Ok(LogService {
            server,
            witnesses,
            witness_keys,
            submitters,
            certs: landmarks.iter().map(|l| l.cert).collect(),
            url,
            log_key,
        })
    }

    /// The log's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Landmark `landmark` submits `records` and waits until they are durable.
    pub fn submit(&self, landmark: usize, records: &[Vec<u8>]) -> Result<(), DemoError> {
        if records.is_empty() {
            return Ok(());
        }
        let submitter = self
            .submitters
            .get(landmark)
            .ok_or_else(|| DemoError::Worker(format!("no submitter for landmark {landmark}")))?;
        let mut s = submitter
            .lock()
            .map_err(|_| DemoError::Worker("a submitter lock was poisoned".into()))?;
        let path = s.enqueue(records)?;
        s.deliver(&path)?;
        Ok(())
    }

    /// Landmark `landmark` submits an SPDM probe of a GPU (its certificate, the endorsement and
    /// the chain, which the server appends only the first time, then the rounds) and waits until
    /// it is durable. Nothing is submitted for no rounds.
    pub fn submit_spdm(
        &self,
        landmark: usize,
        gpu: GpuRecords<'_>,
        rounds: &[SpdmRound],
    ) -> Result<(), DemoError> {
        if rounds.is_empty() {
            return Ok(());
        }
        let submitter = self
            .submitters
            .get(landmark)
            .ok_or_else(|| DemoError::Worker(format!("no submitter for landmark {landmark}")))?;
        let mut s = submitter
            .lock()
            .map_err(|_| DemoError::Worker("a submitter lock was poisoned".into()))?;
        let cert = self
            .certs
            .get(landmark)
            .ok_or_else(|| DemoError::Worker(format!("no certificate for landmark {landmark}")))?;
        s.append_spdm(cert, gpu, rounds)?;
        Ok(())
    }

    /// Waits (at most `patience`) until the published checkpoint carries every witness's
    /// cosignature, then mirrors the log over HTTP into `dir`, as an auditor elsewhere would.
    /// Returns the witnesses that cosigned the mirrored checkpoint.
    pub fn mirror_witnessed(
        &self,
        dir: &Path,
        patience: Duration,
    ) -> Result<Vec<String>, DemoError> {
        let client = LogClient::new(&self.url, Duration::from_secs(30))?;
        let deadline = Instant::now() + patience;
        loop {
            let _ = std::fs::remove_dir_all(dir);
            mirror(&client, &self.log_key, dir, 3)?;
            let note = std::fs::read(dir.join("checkpoint")).map_err(|e| DemoError::Io {
                path: dir.join("checkpoint"),
                source: e,
            })?;
            let names = cosigners(&note, &self.witness_keys)?;
            if names.len() >= WITNESSES || Instant::now() >= deadline {
                return Ok(names);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The witnesses' cosignature keys (for the trust file).
    pub fn witness_keys(&self) -> &[CosignerKey] {
        &self.witness_keys
    }

    /// Stops the server and the witnesses.
    pub fn shutdown(self) {
        drop(self.server);
        drop(self.witnesses);
    }
}

/// Where the audit's mirror of the log goes.
pub fn mirror_dir(out: &Path) -> PathBuf {
    out.join("log-mirror")
}
