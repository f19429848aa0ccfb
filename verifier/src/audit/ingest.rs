//! Reading the log: certificates first (checked once against the trust roots), then every
//! measurement, its two signatures batch-verified in parallel, in bounded memory.

use std::collections::HashMap;

use lightcone::ed25519::PreparedKey;
use lightcone::{
    ChipId, DeviceCertificate, LandmarkCertificate, LandmarkId, LogRecord, Measurement, Wire,
};
use rayon::prelude::*;

use super::batch::{self, Item};
use super::model::{Finding, FindingKind};
use super::AuditError;
use crate::log::LogReader;
use crate::registry::Trust;

/// Measurements verified together in one batch (two signatures each).
pub const BATCH_MEASUREMENTS: usize = 128;
/// Measurements read before a parallel verification round: bounds memory.
pub const WINDOW_MEASUREMENTS: usize = 16 * 1024;

/// One checked certificate of a chip, with its prepared key.
#[derive(Clone, Debug)]
pub struct ChipCert {
    /// The certificate.
    pub cert: DeviceCertificate,
    /// Name of the vendor root that issued it.
    pub vendor: String,
    /// Its device key, prepared once.
    pub key: PreparedKey,
}

/// One checked landmark certificate with its prepared key.
#[derive(Clone, Debug)]
pub struct LandmarkCert {
    /// The certificate.
    pub cert: LandmarkCertificate,
    /// Its landmark key, prepared once.
    pub key: PreparedKey,
}

/// Every certificate in the log that verified against the trust roots.
#[derive(Default)]
pub struct Certificates {
    /// Chip certificates by chip id (a chip may have several, e.g. renewals).
    pub chips: HashMap<ChipId, Vec<ChipCert>>,
    /// Landmark certificates by landmark id.
    pub landmarks: HashMap<LandmarkId, Vec<LandmarkCert>>,
}

impl Certificates {
    /// The chip certificate valid at `unix_s`.
    pub fn chip_at(&self, id: &ChipId, unix_s: u64) -> Option<&ChipCert> {
        self.chips
            .get(id)?
            .iter()
            .find(|c| c.cert.body.validity.contains(unix_s))
    }

    /// The landmark certificate valid at `unix_s`.
    pub fn landmark_at(&self, id: &LandmarkId, unix_s: u64) -> Option<&LandmarkCert> {
        self.landmarks
            .get(id)?
            .iter()
            .find(|c| c.cert.body.validity.contains(unix_s))
    }
}

/// Pass 1: collects and checks every certificate; bad ones become findings.
pub fn read_certificates(
    reader: &LogReader,
    trust: &Trust,
    findings: &mut Vec<Finding>,
    counts: &mut super::model::Counts,
) -> Result<Certificates, AuditError> {
    let mut certs = Certificates::default();
    let mut seen: HashMap<Vec<u8>, ()> = HashMap::new();
    for entry in reader.entries() {
        let (index, bytes) = entry?;
        counts.entries += 1;
        // Only certificates are decoded here (tags 0 and 1); measurements wait for pass 2.
        if !matches!(bytes.first(), Some(0) | Some(1)) {
            continue;
        }
        let record = match LogRecord::decode(&bytes) {
            Ok(r) => r,
            Err(_) => continue, // reported once, in pass 2
        };
        if seen.insert(bytes.clone(), ()).is_some() {
            match record {
                LogRecord::DeviceCertificate(_) => counts.device_certificates += 1,
                LogRecord::LandmarkCertificate(_) => counts.landmark_certificates += 1,
                LogRecord::Measurement(_) => {}
            }
            continue;
        }
        match record {
            LogRecord::DeviceCertificate(cert) => {
                counts.device_certificates += 1;
                let checked = trust
                    .verify_device(&cert, cert.body.validity.not_before)
                    .map_err(|e| e.to_string())
                    .and_then(|_| {
                        let vendor = trust
                            .vendor(&cert.body.issuer)
                            .map(|(n, _)| n.to_owned())
                            .unwrap_or_default();
                        let key =
                            PreparedKey::new(&cert.body.device_key).map_err(|e| e.to_string())?;
                        Ok(ChipCert { cert, vendor, key })
                    });
                match checked {
                    Ok(c) => certs.chips.entry(cert.body.chip_id).or_default().push(c),
                    Err(why) => {
                        counts.rejected += 1;
                        findings.push(Finding {
                            kind: FindingKind::InvalidCertificate,
                            chip_id: Some(cert.body.chip_id.to_string()),
                            landmark_id: None,
                            log_index: Some(index),
                            detail: format!("device certificate rejected: {why}"),
                        });
                    }
                }
            }
            LogRecord::LandmarkCertificate(cert) => {
                counts.landmark_certificates += 1;
                let checked = trust
                    .verify_landmark(&cert, cert.body.validity.not_before)
                    .map_err(|e| e.to_string())
                    .and_then(|_| {
                        let key =
                            PreparedKey::new(&cert.body.landmark_key).map_err(|e| e.to_string())?;
                        Ok(LandmarkCert { cert, key })
                    });
                match checked {
                    Ok(c) => certs
                        .landmarks
                        .entry(cert.body.landmark_id)
                        .or_default()
                        .push(c),
                    Err(why) => {
                        counts.rejected += 1;
                        findings.push(Finding {
                            kind: FindingKind::InvalidCertificate,
                            chip_id: None,
                            landmark_id: Some(cert.body.landmark_id.to_string()),
                            log_index: Some(index),
                            detail: format!("landmark certificate rejected: {why}"),
                        });
                    }
                }
            }
            LogRecord::Measurement(_) => {}
        }
    }
    Ok(certs)
}

/// Who answered a measured challenge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Responder {
    /// A certified chip.
    Chip(ChipId),
    /// Another landmark, answering with its landmark key (a cross-check).
    Landmark(LandmarkId),
}

/// A measurement that passed every per-entry check.
#[derive(Clone, Copy, Debug)]
pub struct Accepted {
    /// Log index of the entry.
    pub index: u64,
    /// The measuring landmark.
    pub landmark: LandmarkId,
    /// Who answered.
    pub responder: Responder,
    /// The measurement itself.
    pub measurement: Measurement,
}

/// The outcome of checking one measurement entry.
pub enum Outcome {
    /// Every check passed.
    Accepted(Accepted),
    /// Rejected, with the finding that says why (and whether the chip is to blame).
    Rejected {
        /// What went wrong.
        finding: Finding,
        /// The chip, when the failure is the chip's own (its signature or certificate).
        chip_at_fault: Option<ChipId>,
        /// The chip the measurement was about, if decodable.
        chip: Option<ChipId>,
    },
    /// Not a measurement (a certificate), nothing to do.
    Skip,
}

/// Pass 2: streams measurement entries through `sink` in log order, verified in parallel
/// windows. Returns the number of signatures verified.
pub fn read_measurements(
    reader: &LogReader,
    certs: &Certificates,
    audit_time_ns: u64,
    skew_ns: u64,
    mut sink: impl FnMut(Outcome),
    mut progress: impl FnMut(u64),
) -> Result<u64, AuditError> {
    let mut window: Vec<(u64, Vec<u8>)> = Vec::with_capacity(WINDOW_MEASUREMENTS);
    let mut signatures = 0u64;
    let mut entries = reader.entries();
    loop {
        let next = entries.next().transpose()?;
        let done = next.is_none();
        if let Some(entry) = next {
            window.push(entry);
        }
        if window.len() >= WINDOW_MEASUREMENTS || (done && !window.is_empty()) {
            let outcomes: Vec<(Outcome, u64)> = window
                .par_chunks(BATCH_MEASUREMENTS)
                .flat_map_iter(|chunk| check_chunk(chunk, certs, audit_time_ns, skew_ns))
                .collect();
            for (outcome, sigs) in outcomes {
                signatures += sigs;
                sink(outcome);
            }
            if let Some((last, _)) = window.last() {
                progress(last + 1);
            }
            window.clear();
        }
        if done {
            return Ok(signatures);
        }
    }
}

/// The landmark certificate and the responder's key a measurement needs, valid at its time;
/// or which one is missing. The responder is a certified chip, or another landmark answering a
/// cross-check with its landmark key.
#[allow(clippy::type_complexity)]
fn certificates_for<'c>(
    certs: &'c Certificates,
    m: &Measurement,
) -> Result<(&'c LandmarkCert, Responder, &'c PreparedKey), (FindingKind, &'static str)> {
    let (chip, landmark) = (m.chip_id(), m.landmark_id());
    let sent_s = m.body.sent_at_ns / 1_000_000_000;
    let missing = |known: bool| {
        if known {
            FindingKind::TimestampOutOfRange
        } else {
            FindingKind::UnknownCertificate
        }
    };
    let lm = certs.landmark_at(&landmark, sent_s).ok_or((
        missing(certs.landmarks.contains_key(&landmark)),
        "no landmark certificate in the log is valid at the measurement time",
    ))?;
    if let Some(c) = certs.chip_at(&chip, sent_s) {
        return Ok((lm, Responder::Chip(chip), &c.key));
    }
    let as_landmark = LandmarkId::from(chip.to_bytes());
    if let Some(l) = certs.landmark_at(&as_landmark, sent_s) {
        return Ok((lm, Responder::Landmark(as_landmark), &l.key));
    }
    Err((
        missing(certs.chips.contains_key(&chip)),
        "no device certificate in the log is valid at the measurement time",
    ))
}

/// Pre-checks, then batch-verifies the two signatures of every measurement in `chunk`.
fn check_chunk(
    chunk: &[(u64, Vec<u8>)],
    certs: &Certificates,
    audit_time_ns: u64,
    skew_ns: u64,
) -> Vec<(Outcome, u64)> {
    struct Pending<'c> {
        slot: usize,
        accepted: Accepted,
        landmark_key: &'c PreparedKey,
        responder_key: &'c PreparedKey,
        landmark_msg: Vec<u8>,
        responder_msg: Vec<u8>,
    }
    let mut out: Vec<(Outcome, u64)> = Vec::with_capacity(chunk.len());
    let mut pending: Vec<Pending<'_>> = Vec::new();
    for (index, bytes) in chunk {
        let index = *index;
        let reject = |kind,
                      chip: Option<ChipId>,
                      landmark: Option<LandmarkId>,
                      at_fault: bool,
                      detail: String| {
            Outcome::Rejected {
                finding: Finding {
                    kind,
                    chip_id: chip.map(|c| c.to_string()),
                    landmark_id: landmark.map(|l| l.to_string()),
                    log_index: Some(index),
                    detail,
                },
                chip_at_fault: if at_fault { chip } else { None },
                chip,
            }
        };
        let m = match LogRecord::decode(bytes) {
            Ok(LogRecord::Measurement(m)) => m,
            Ok(_) => {
                out.push((Outcome::Skip, 0));
                continue;
            }
            Err(e) => {
                out.push((
                    reject(
                        FindingKind::MalformedEntry,
                        None,
                        None,
                        false,
                        format!("entry is not a log record: {e}"),
                    ),
                    0,
                ));
                continue;
            }
        };
        let chip = m.chip_id();
        let landmark = m.landmark_id();
        let sent_ns = m.body.sent_at_ns;
        if sent_ns > audit_time_ns.saturating_add(skew_ns) {
            out.push((
                reject(
                    FindingKind::TimestampOutOfRange,
                    Some(chip),
                    Some(landmark),
                    false,
                    format!(
                        "measurement time {sent_ns} ns is after the audit time {audit_time_ns} ns"
                    ),
                ),
                0,
            ));
            continue;
        }
        let (lm, responder, responder_key) = match certificates_for(certs, &m) {
            Ok(found) => found,
            Err((kind, why)) => {
                out.push((
                    reject(kind, Some(chip), Some(landmark), false, why.into()),
                    0,
                ));
                continue;
            }
        };
        let landmark_msg = m.with_signed_message(|msg| Ok(msg.to_vec()));
        let responder_msg = m.body.response.with_signed_message(|msg| Ok(msg.to_vec()));
        let (Ok(landmark_msg), Ok(responder_msg)) = (landmark_msg, responder_msg) else {
            out.push((
                reject(
                    FindingKind::MalformedEntry,
                    Some(chip),
                    Some(landmark),
                    false,
                    "cannot re-encode the signed body".into(),
                ),
                0,
            ));
            continue;
        };
        pending.push(Pending {
            slot: out.len(),
            accepted: Accepted {
                index,
                landmark,
                responder,
                measurement: m,
            },
            landmark_key: &lm.key,
            responder_key,
            landmark_msg,
            responder_msg,
        });
        out.push((Outcome::Skip, 2));
    }
    let items: Vec<Item<'_>> = pending
        .iter()
        .flat_map(|p| {
            [
                Item {
                    key: p.landmark_key,
                    message: &p.landmark_msg,
                    signature: p.accepted.measurement.signature,
                },
                Item {
                    key: p.responder_key,
                    message: &p.responder_msg,
                    signature: p.accepted.measurement.body.response.signature,
                },
            ]
        })
        .collect();
    let valid = batch::verify_all(&items);
    for (i, p) in pending.into_iter().enumerate() {
        let landmark_ok = valid.get(2 * i).copied().unwrap_or(false);
        let responder_ok = valid.get(2 * i + 1).copied().unwrap_or(false);
        let a = p.accepted;
        let chip = a.measurement.chip_id();
        let outcome = if landmark_ok && responder_ok {
            Outcome::Accepted(a)
        } else {
            let (detail, at_fault) = if !landmark_ok {
                ("landmark signature over the measurement is invalid", None)
            } else {
                ("chip signature over the response is invalid", Some(chip))
            };
            Outcome::Rejected {
                finding: Finding {
                    kind: FindingKind::InvalidSignature,
                    chip_id: Some(chip.to_string()),
                    landmark_id: Some(a.landmark.to_string()),
                    log_index: Some(a.index),
                    detail: detail.into(),
                },
                chip_at_fault: at_fault,
                chip: Some(chip),
            }
        };
        if let Some(slot) = out.get_mut(p.slot) {
            slot.0 = outcome;
        }
    }
    out
}
