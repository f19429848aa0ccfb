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
//!
//! [[chip]]
//! name = "rack2-h100-0"
//! addr = "10.0.0.18:7700"
//! kind = "spdm"                        # answers with SPDM evidence (`chip serve --nvidia`)
//! x509_root = "nvidia-device-identity-ca"  # optional: the trust file's [[x509_root]] to use
//! chain = "chips/rack2-h100-0.pem"     # optional: else fetched from the agent
//! endorsement = "h100.endorsement.toml" # optional: the registry's timing of the model, logged
//! chip_id = "…"                        # optional: pin the chip id (of the leaf key)
//! ```
//!
//! An SPDM chip's chain is verified against the trust file's `[[x509_root]]` entries (only the
//! named one if `x509_root` is given) each cycle, and its chip id is its leaf key's.
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
use super::logbook::{GpuRecords, LogSink};
use super::probe::{
    verify_gpu_chain, ProbeConfig, ProbeReport, Prober, SpdmProbeReport, VerifiedGpu,
};
use crate::evidence::x509::Cert;
use crate::registry::{load_device_certificate, unix_now_s, Trust};
use lightcone::evidence::ModelEndorsement;

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
    #[serde(default)]
    kind: ChipKindFile,
    x509_root: Option<String>,
    chain: Option<PathBuf>,
    endorsement: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ChipKindFile {
    #[default]
    Lightcone,
    Spdm,
}

/// How an SPDM chip of a fleet is checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpdmChipConfig {
    /// Only this `[[x509_root]]` of the trust file, if given; else any of them.
    pub x509_root: Option<String>,
    /// A PEM chain file, if not fetched from the agent.
    pub chain: Option<PathBuf>,
    /// The registry's endorsement of the GPU's model (`lightcone registry endorse-model`), if
    /// the landmark logs one with the chain.
    pub endorsement: Option<PathBuf>,
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
    /// Set for a chip that answers with SPDM evidence (a GPU).
    pub spdm: Option<SpdmChipConfig>,
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
            let spdm = match c.kind {
                ChipKindFile::Spdm if c.certificate.is_some() => {
                    return Err(bad(format!(
                        "chip `{}`: an SPDM chip has a chain, not a certificate",
                        c.name
                    )))
                }
                ChipKindFile::Spdm => Some(SpdmChipConfig {
                    x509_root: c.x509_root,
                    chain: c.chain.map(|p| base.join(p)),
                    endorsement: c.endorsement.map(|p| base.join(p)),
                }),
                ChipKindFile::Lightcone
                    if c.x509_root.is_some() || c.chain.is_some() || c.endorsement.is_some() =>
                {
                    return Err(bad(format!(
                        "chip `{}`: x509_root, chain and endorsement need kind = \"spdm\"",
                        c.name
                    )))
                }
                ChipKindFile::Lightcone => None,
            };
            chips.push(FleetChip {
                name: c.name,
                addr,
                certificate: c.certificate.map(|p| base.join(p)),
                chip_id,
                spdm,
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

/// The endorsement an SPDM chip's fleet entry names, loaded and checked against the GPU and
/// the trust file's registry now; `None` when it names none.
pub fn load_endorsement(
    spdm: &SpdmChipConfig,
    gpu: &VerifiedGpu,
    trust: &Trust,
) -> Result<Option<ModelEndorsement>, NetError> {
    let Some(path) = &spdm.endorsement else {
        return Ok(None);
    };
    let endorsement = crate::registry::certfile::load_model_endorsement(path)?;
    gpu.check_endorsement(&endorsement, &trust.registry, unix_now_s())
        .map_err(|reason| NetError::Config {
            path: path.clone(),
            reason,
        })?;
    Ok(Some(endorsement))
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
    /// For an SPDM chip: its verified chain, if available.
    pub gpu: Option<VerifiedGpu>,
    /// For an SPDM chip: the probe, if its chain verified.
    pub spdm_report: Option<SpdmProbeReport>,
}

/// Probes a fleet cycle by cycle, caching verified certificates.
pub struct FleetRunner<S: Ed25519Signer> {
    prober: Prober<S>,
    landmark: LandmarkCertificate,
    trust: Trust,
    fleet: Fleet,
    certificates: Vec<Option<Verified<DeviceCertificate>>>,
    x509_roots: Vec<(String, Cert)>,
    gpus: Vec<Option<VerifiedGpu>>,
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
        let gpus = vec![None; fleet.chips.len()];
        Ok(FleetRunner {
            prober,
            landmark,
            trust,
            fleet,
            certificates,
            x509_roots: Vec::new(),
            gpus,
        })
    }

    /// The X.509 roots (a trust file's `[[x509_root]]` entries) SPDM chips' chains are
    /// verified against.
    pub fn with_x509_roots(mut self, roots: Vec<(String, Cert)>) -> Self {
        self.x509_roots = roots;
        self
    }

    /// The verified chain of SPDM chip `i`: the cached one re-verified (certificates expire),
    /// else from the fleet's chain file, else fetched from the agent; the pinned chip id
    /// checked.
    fn gpu_chain(
        &mut self,
        i: usize,
        spdm: &SpdmChipConfig,
        discards: &mut DiscardCounts,
    ) -> Result<VerifiedGpu, NetError> {
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
        let roots: Vec<(String, Cert)> = self
            .x509_roots
            .iter()
            .filter(|(n, _)| spdm.x509_root.as_ref().is_none_or(|want| want == n))
            .cloned()
            .collect();
        let bad_chain = |e: crate::evidence::x509::ChainError| NetError::Config {
            path: PathBuf::from(&chip.name),
            reason: format!("the GPU's chain does not verify: {e}"),
        };
        let gpu = match (self.gpus.get(i).cloned().flatten(), &spdm.chain) {
            (Some(cached), _) => {
                verify_gpu_chain(&cached.chain_der, &roots, now).map_err(bad_chain)?
            }
            (None, Some(path)) => {
                let certs =
                    crate::evidence::read_pem_certs(path).map_err(|e| NetError::Config {
                        path: path.clone(),
                        reason: e.to_string(),
                    })?;
                let der: Vec<u8> = certs.iter().flat_map(|c| c.der().to_vec()).collect();
                verify_gpu_chain(&der, &roots, now).map_err(bad_chain)?
            }
            (None, None) => self.prober.fetch_gpu_chain(
                chip.addr,
                &roots,
                now,
                self.fleet.probe.timeout,
                self.fleet.probe.retries.saturating_add(1),
                discards,
            )?,
        };
        if let Some(pinned) = chip.chip_id {
            if pinned != gpu.chip_id {
                return Err(NetError::KeyMismatch(format!(
                    "chip `{}` presented a chain for chip id {}, the fleet file pins {pinned}",
                    chip.name, gpu.chip_id
                )));
            }
        }
        if let Some(slot) = self.gpus.get_mut(i) {
            *slot = Some(gpu.clone());
        }
        Ok(gpu)
    }

    /// One cycle's probe of SPDM chip `i` into `outcome`.
    fn cycle_spdm(
        &mut self,
        i: usize,
        spdm: &SpdmChipConfig,
        addr: std::net::SocketAddr,
        logbook: Option<&mut (dyn LogSink + '_)>,
        outcome: &mut ChipOutcome,
    ) {
        let gpu = match self.gpu_chain(i, spdm, &mut outcome.certificate_discards) {
            Ok(g) => g,
            Err(e) => {
                outcome.error = Some(e.to_string());
                return;
            }
        };
        let endorsement = match load_endorsement(spdm, &gpu, &self.trust) {
            Ok(e) => e,
            Err(e) => {
                outcome.error = Some(e.to_string());
                return;
            }
        };
        let report = self.prober.probe_spdm(addr, &gpu, &self.fleet.probe);
        if let Some(book) = logbook {
            let records = GpuRecords {
                chain_der: &gpu.chain_der,
                endorsement: endorsement.as_ref(),
            };
            match book.append_spdm(&self.landmark, records, &report.rounds_ok) {
                Ok(r) if !r.is_empty() => outcome.logged = Some(r),
                Ok(_) => {}
                Err(e) => outcome.error = Some(format!("logging failed: {e}")),
            }
        }
        outcome.spdm_report = Some(report);
        outcome.gpu = Some(gpu);
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
            let (addr, spdm) = match self.fleet.chips.get(i) {
                Some(c) => (c.addr, c.spdm.clone()),
                None => continue,
            };
            let mut outcome = ChipOutcome {
                name,
                device: None,
                report: None,
                logged: None,
                error: None,
                certificate_discards: DiscardCounts::default(),
                gpu: None,
                spdm_report: None,
            };
            if let Some(spdm) = spdm {
                self.cycle_spdm(i, &spdm, addr, logbook.as_deref_mut(), &mut outcome);
                outcomes.push(outcome);
                continue;
            }
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
