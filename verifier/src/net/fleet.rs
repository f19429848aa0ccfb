//! A fleet file and probing its chips on a schedule (`lightcone landmark run`).
//!
//! ```toml
//! rounds = 5          # rounds per chip per cycle
//! timeout_ms = 500    # per challenge
//! retries = 2         # per round, each with a fresh challenge
//! interval_s = 60     # from the start of one cycle to the next
//!
//! [[chip]]
//! name = "rack1-gpu0"
//! addr = "10.0.0.17:7700"
//! certificate = "chips/rack1-gpu0/device.cert.toml"  # optional: else fetched from the agent
//! chip_id = "…"                                      # optional: pin the chip id (hex)
//! ```
//!
//! Relative certificate paths are relative to the fleet file. A chip that is unreachable, or
//! whose certificate does not verify, is reported for that cycle; the others are still probed.

use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lightcone::{ChipId, DeviceCertificate, Ed25519Signer, LandmarkCertificate, Verified};
use serde::Deserialize;

use super::discard::DiscardCounts;
use super::error::NetError;
use super::logbook::LogSink;
use super::probe::{ProbeConfig, ProbeReport, Prober};
use crate::registry::{load_device_certificate, unix_now_s, Trust};

/// A fleet file as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FleetFile {
    #[serde(default = "default_rounds")]
    rounds: u32,
    #[serde(default = "default_timeout_ms")]
    timeout_ms: u64,
    #[serde(default = "default_retries")]
    retries: u32,
    #[serde(default = "default_interval_s")]
    interval_s: u64,
    #[serde(default, rename = "chip")]
    chips: Vec<FleetChipFile>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FleetChipFile {
    name: String,
    addr: String,
    certificate: Option<PathBuf>,
    chip_id: Option<String>,
}

const fn default_rounds() -> u32 {
    5
}
const fn default_timeout_ms() -> u64 {
    500
}
const fn default_retries() -> u32 {
    2
}
const fn default_interval_s() -> u64 {
    60
}

/// One chip of a fleet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FleetChip {
    /// A name for reports.
    pub name: String,
    /// Where its agent listens.
    pub addr: SocketAddr,
    /// Its device certificate file, if not fetched from the agent.
    pub certificate: Option<PathBuf>,
    /// A pinned chip id, if any.
    pub chip_id: Option<ChipId>,
}

/// A parsed fleet file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fleet {
    /// How each chip is probed.
    pub probe: ProbeConfig,
    /// Time from the start of one cycle to the next.
    pub interval: Duration,
    /// The chips.
    pub chips: Vec<FleetChip>,
}

impl Fleet {
    /// Loads and checks a fleet file.
    pub fn load(path: &Path) -> Result<Fleet, NetError> {
        let bad = |reason: String| NetError::Config {
            path: path.to_path_buf(),
            reason,
        };
        let text = crate::bounded_file::read_to_string(
            path,
            crate::bounded_file::CONFIG_MAX,
            crate::bounded_file::Links::Follow,
        )
        .map_err(|e| NetError::io(path.display().to_string(), e))?;
        let file: FleetFile = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut chips = Vec::with_capacity(file.chips.len());
        for c in file.chips {
            let addr = c
                .addr
                .parse()
                .map_err(|_| bad(format!("chip `{}`: `{}` is not IP:PORT", c.name, c.addr)))?;
            let chip_id = match c.chip_id {
                Some(h) => {
                    let mut id = [0u8; 16];
                    hex::decode_to_slice(&h, &mut id).map_err(|_| {
                        bad(format!("chip `{}`: chip_id is not 32 hex digits", c.name))
                    })?;
                    Some(ChipId::from(id))
                }
                None => None,
            };
            chips.push(FleetChip {
                name: c.name,
                addr,
                certificate: c.certificate.map(|p| base.join(p)),
                chip_id,
            });
        }
        if file.rounds == 0 || file.timeout_ms == 0 {
            return Err(bad("rounds and timeout_ms must be at least 1".into()));
        }
        Ok(Fleet {
            probe: ProbeConfig {
                rounds: file.rounds,
                timeout: Duration::from_millis(file.timeout_ms),
                retries: file.retries,
                interval: Duration::ZERO,
            },
            interval: Duration::from_secs(file.interval_s),
            chips,
        })
    }
}

/// What one cycle did for one chip.
#[derive(Debug)]
pub struct ChipOutcome {
    /// The chip's name in the fleet file.
    pub name: String,
    /// The chip's verified device certificate, if it was available.
    pub device: Option<Verified<DeviceCertificate>>,
    /// The probe, if the chip's certificate was available.
    pub report: Option<ProbeReport>,
    /// Log indices of the appended batch, if anything was logged.
    pub logged: Option<Range<u64>>,
    /// What went wrong, if anything (never fatal to the cycle).
    pub error: Option<String>,
    /// Datagrams discarded while fetching the certificate.
    pub certificate_discards: DiscardCounts,
}

/// Probes a fleet cycle by cycle, caching verified certificates.
pub struct FleetRunner<S: Ed25519Signer> {
    prober: Prober<S>,
    landmark: LandmarkCertificate,
    trust: Trust,
    fleet: Fleet,
    certificates: Vec<Option<Verified<DeviceCertificate>>>,
}

impl<S: Ed25519Signer> FleetRunner<S> {
    /// A runner for `fleet`, probing with `prober`, whose landmark is certified by `landmark`.
    pub fn new(
        prober: Prober<S>,
        landmark: LandmarkCertificate,
        trust: Trust,
        fleet: Fleet,
    ) -> Result<Self, NetError> {
        if landmark.body.landmark_id != prober.landmark_id() {
            return Err(NetError::KeyMismatch(
                "the landmark certificate is not for this landmark key".into(),
            ));
        }
        let certificates = vec![None; fleet.chips.len()];
        Ok(FleetRunner {
            prober,
            landmark,
            trust,
            fleet,
            certificates,
        })
    }

    /// The fleet.
    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    fn certificate(
        &mut self,
        i: usize,
        discards: &mut DiscardCounts,
    ) -> Result<Verified<DeviceCertificate>, NetError> {
        let now = unix_now_s();
        let chip = self
            .fleet
            .chips
            .get(i)
            .cloned()
            .ok_or_else(|| NetError::Config {
                path: PathBuf::from("fleet"),
                reason: format!("no chip {i}"),
            })?;
        let cert = match self.certificates.get(i).copied().flatten() {
            // Re-check validity each cycle: certificates expire.
            Some(c) => self.trust.verify_device(&c, now)?,
            None => match &chip.certificate {
                Some(path) => self
                    .trust
                    .verify_device(&load_device_certificate(path)?, now)?,
                None => self.prober.fetch_certificate(
                    chip.addr,
                    &self.trust,
                    now,
                    self.fleet.probe.timeout,
                    self.fleet.probe.retries.saturating_add(1),
                    discards,
                )?,
            },
        };
        if let Some(pinned) = chip.chip_id {
            if pinned != cert.body.chip_id {
                return Err(NetError::KeyMismatch(format!(
                    "chip `{}` presented chip id {}, the fleet file pins {pinned}",
                    chip.name, cert.body.chip_id
                )));
            }
        }
        if let Some(slot) = self.certificates.get_mut(i) {
            *slot = Some(cert);
        }
        Ok(cert)
    }

    /// Probes every chip once; appends each chip's batch to `logbook` if given.
    pub fn cycle(&mut self, mut logbook: Option<&mut dyn LogSink>) -> Vec<ChipOutcome> {
        let mut outcomes = Vec::with_capacity(self.fleet.chips.len());
        for i in 0..self.fleet.chips.len() {
            let name = self
                .fleet
                .chips
                .get(i)
                .map(|c| c.name.clone())
                .unwrap_or_default();
            let addr = match self.fleet.chips.get(i) {
                Some(c) => c.addr,
                None => continue,
            };
            let mut outcome = ChipOutcome {
                name,
                device: None,
                report: None,
                logged: None,
                error: None,
                certificate_discards: DiscardCounts::default(),
            };
            match self.certificate(i, &mut outcome.certificate_discards) {
                Ok(device) => {
                    let report = self.prober.probe(addr, &device, &self.fleet.probe);
                    if let Some(book) = logbook.as_deref_mut() {
                        match book.append(&self.landmark, &device, &report.measurements) {
                            Ok(r) if !r.is_empty() => outcome.logged = Some(r),
                            Ok(_) => {}
                            Err(e) => outcome.error = Some(format!("logging failed: {e}")),
                        }
                    }
                    outcome.report = Some(report);
                    outcome.device = Some(device);
                }
                Err(e) => outcome.error = Some(e.to_string()),
            }
            outcomes.push(outcome);
        }
        outcomes
    }
}
