//! A landmark's writer onto the transparency log: each probe becomes one durable batch of
//! `LogRecord`s — the landmark's and the chip's certificates the first time they appear in the
//! log, then the measurements — so the log stays self-contained for auditors.
//!
//! The log has a single writer (it holds an exclusive lock), so landmarks in one process share
//! one `Logbook` (e.g. behind a `Mutex`); separate processes append one after the other.

use std::collections::HashSet;
use std::ops::Range;
use std::path::Path;

use lightcone::evidence::{GpuChain, ModelEndorsement};
use lightcone::{DeviceCertificate, LandmarkCertificate, LogEntry, LogRecord, Measurement, Wire};

use super::error::NetError;
use super::probe::SpdmRound;
use crate::log::storage::read_key_file;
use crate::log::{Log, LogReader};

/// The records of one probe: both certificates (always), then every measurement.
pub fn probe_records(
    landmark: &LandmarkCertificate,
    device: &DeviceCertificate,
    measurements: &[Measurement],
) -> Vec<Vec<u8>> {
    let mut out = Vec::with_capacity(measurements.len().saturating_add(2));
    out.push(LogRecord::LandmarkCertificate(*landmark).to_vec());
    out.push(LogRecord::DeviceCertificate(*device).to_vec());
    out.extend(
        measurements
            .iter()
            .map(|m| LogRecord::Measurement(*m).to_vec()),
    );
    out
}

/// What an SPDM probe logs besides its rounds: the GPU's chain (DER, leaf first) and, when the
/// landmark has one, the registry's endorsement of the GPU's model (checked against the GPU
/// before it is logged: [`VerifiedGpu::check_endorsement`](super::probe::VerifiedGpu::check_endorsement)).
#[derive(Clone, Copy, Debug)]
pub struct GpuRecords<'a> {
    /// The chain.
    pub chain_der: &'a [u8],
    /// The endorsement, if any.
    pub endorsement: Option<&'a ModelEndorsement>,
}

impl GpuRecords<'_> {
    /// The entries that precede the rounds: the landmark's certificate, the endorsement if
    /// any, the chain. `Malformed` (as a core error) for a chain over the record's bound.
    fn prefix(&self, landmark: &LandmarkCertificate) -> Result<Vec<Vec<u8>>, NetError> {
        let chain = GpuChain::new(self.chain_der)
            .map_err(|e| NetError::core("logging the GPU chain", e))?;
        let mut out = vec![LogRecord::LandmarkCertificate(*landmark).to_vec()];
        if let Some(e) = self.endorsement {
            out.push(LogRecord::ModelEndorsement(*e).to_vec());
        }
        out.push(LogEntry::GpuChain(chain).to_vec());
        Ok(out)
    }
}

/// The entries of an SPDM probe: the landmark's certificate, the endorsement if any and the
/// GPU's chain (always; returned first, with their count), then every round's
/// `SpdmMeasurement`.
pub fn spdm_probe_records(
    landmark: &LandmarkCertificate,
    gpu: GpuRecords<'_>,
    rounds: &[SpdmRound],
) -> Result<(Vec<Vec<u8>>, usize), NetError> {
    let mut out = gpu.prefix(landmark)?;
    let prefix = out.len();
    out.extend(rounds.iter().map(|r| LogEntry::Spdm(r.record()).to_vec()));
    Ok((out, prefix))
}

/// Where a landmark's probes go: a local log directory ([`Logbook`], which needs the log key)
/// or a log server ([`Submitter`](super::submit::Submitter), which does not).
pub trait LogSink {
    /// Records a probe durably; returns the indices of its measurements.
    fn append(
        &mut self,
        landmark: &LandmarkCertificate,
        device: &DeviceCertificate,
        measurements: &[Measurement],
    ) -> Result<Range<u64>, NetError>;

    /// Records an SPDM probe durably (the GPU's chain before its first measurement); returns
    /// the indices of its measurements.
    fn append_spdm(
        &mut self,
        landmark: &LandmarkCertificate,
        gpu: GpuRecords<'_>,
        rounds: &[SpdmRound],
    ) -> Result<Range<u64>, NetError>;

    /// Where the entries went (a directory or a URL), for messages.
    fn describe(&self) -> String;
}

impl LogSink for Logbook {
    fn append(
        &mut self,
        landmark: &LandmarkCertificate,
        device: &DeviceCertificate,
        measurements: &[Measurement],
    ) -> Result<Range<u64>, NetError> {
        Logbook::append(self, landmark, device, measurements)
    }

    fn append_spdm(
        &mut self,
        landmark: &LandmarkCertificate,
        gpu: GpuRecords<'_>,
        rounds: &[SpdmRound],
    ) -> Result<Range<u64>, NetError> {
        Logbook::append_spdm(self, landmark, gpu, rounds)
    }

    fn describe(&self) -> String {
        format!(
            "{} (checkpoint size {})",
            self.log.dir().display(),
            self.log.size()
        )
    }
}

/// An open log plus the certificate records it already holds.
#[derive(Debug)]
pub struct Logbook {
    log: Log,
    certificates: HashSet<Vec<u8>>,
}

impl Logbook {
    /// Opens the log in `dir` for appending, with the signer key file `key_file`
    /// (`PRIVATE+KEY+…`, as `lightcone log init` writes it), and reads which certificates it
    /// already holds.
    pub fn open(dir: &Path, key_file: &Path) -> Result<Self, NetError> {
        let signer = read_key_file(key_file)?;
        let log = Log::open(dir, signer.signing_key().clone())?;
        Self::from_log(log)
    }

    /// Wraps an open log, reading which certificates it already holds.
    pub fn from_log(log: Log) -> Result<Self, NetError> {
        let mut certificates = HashSet::new();
        if log.size() > 0 {
            let reader = LogReader::open(log.dir())?;
            for entry in reader.entries() {
                let (_, bytes) = entry?;
                if let Ok(
                    LogEntry::Record(
                        LogRecord::DeviceCertificate(_) | LogRecord::LandmarkCertificate(_),
                    )
                    | LogEntry::Record(LogRecord::ModelEndorsement(_))
                    | LogEntry::GpuChain(_),
                ) = LogEntry::decode(&bytes)
                {
                    certificates.insert(bytes);
                }
            }
        }
        Ok(Logbook { log, certificates })
    }

    /// The underlying log.
    pub fn log(&self) -> &Log {
        &self.log
    }

    /// The records to append for a probe: certificates not yet in the log, then measurements.
    pub fn records(
        &self,
        landmark: &LandmarkCertificate,
        device: &DeviceCertificate,
        measurements: &[Measurement],
    ) -> Vec<Vec<u8>> {
        let mut out = Vec::with_capacity(measurements.len().saturating_add(2));
        for cert in [
            LogRecord::LandmarkCertificate(*landmark).to_vec(),
            LogRecord::DeviceCertificate(*device).to_vec(),
        ] {
            if !self.certificates.contains(&cert) {
                out.push(cert);
            }
        }
        out.extend(
            measurements
                .iter()
                .map(|m| LogRecord::Measurement(*m).to_vec()),
        );
        out
    }

    /// Appends a probe's records as one durable batch and returns their indices. Nothing is
    /// appended when there are no measurements.
    pub fn append(
        &mut self,
        landmark: &LandmarkCertificate,
        device: &DeviceCertificate,
        measurements: &[Measurement],
    ) -> Result<Range<u64>, NetError> {
        if measurements.is_empty() {
            let size = self.log.size();
            return Ok(size..size);
        }
        let records = self.records(landmark, device, measurements);
        let range = self.log.append_batch(&records)?;
        // Both certificates are in the log now, whether this batch or an earlier one added them.
        self.certificates
            .insert(LogRecord::LandmarkCertificate(*landmark).to_vec());
        self.certificates
            .insert(LogRecord::DeviceCertificate(*device).to_vec());
        Ok(range)
    }

    /// Appends an SPDM probe's entries as one durable batch (the landmark's certificate, the
    /// endorsement and the GPU's chain when not yet in the log, then the rounds) and returns
    /// the indices of the measurements. Nothing is appended when there are none.
    pub fn append_spdm(
        &mut self,
        landmark: &LandmarkCertificate,
        gpu: GpuRecords<'_>,
        rounds: &[SpdmRound],
    ) -> Result<Range<u64>, NetError> {
        if rounds.is_empty() {
            let size = self.log.size();
            return Ok(size..size);
        }
        let (all, prefix) = spdm_probe_records(landmark, gpu, rounds)?;
        let (certs, measurements) = all.split_at(prefix.min(all.len()));
        let mut records: Vec<Vec<u8>> = certs
            .iter()
            .filter(|c| !self.certificates.contains(*c))
            .cloned()
            .collect();
        let first = records.len();
        records.extend_from_slice(measurements);
        let range = self.log.append_batch(&records)?;
        self.certificates.extend(certs.iter().cloned());
        let start = range
            .start
            .saturating_add(u64::try_from(first).unwrap_or(0));
        Ok(start..range.end)
    }
}
