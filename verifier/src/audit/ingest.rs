//! Reading the measurements of the log (after [`super::certificates`]): every measurement, its
//! two signatures batch-verified in parallel, in bounded memory.

use lightcone::ed25519::PreparedKey;
use lightcone::PreparedAnyKey;
use lightcone::{ChipId, LandmarkId, LogRecord, Measurement, Wire};

use super::batch::{self, Item};
use super::certificates::{Certificates, LandmarkCert};
use super::model::{Finding, FindingKind};
use super::AuditError;
use crate::log::tile::TILE_WIDTH;
use crate::log::LogReader;

/// Measurements verified together in one batch (two signatures each). Larger batches cost less
/// per signature (the multiscalar multiplication amortizes; 512 costs about 11 % fewer
/// instructions per measurement than 128) but split the work over cores more coarsely.
pub const BATCH_MEASUREMENTS: usize = 512;

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
// Short-lived (one per entry or round, moved at once); boxing would cost an allocation each.
#[allow(clippy::large_enum_variant)]
pub enum Outcome {
    /// Every check passed.
    Accepted(Accepted),
    /// Rejected, with the finding that says why. A rejected entry never blames the chip: every
    /// entry is signed by a landmark, which may be faulty, so only the landmark answers for it.
    Rejected {
        /// What went wrong.
        finding: Finding,
        /// The chip the measurement was about, if decodable.
        chip: Option<ChipId>,
    },
    /// Not a measurement (a certificate), nothing to do.
    Skip,
}

/// Pass 2: streams measurement entries through `sink` in log order. Batches of whole bundles
/// are read, decoded and batch-verified in parallel ([`super::stream`]); `sink` takes their
/// outcomes in log order as they complete, so memory stays bounded and aggregation overlaps
/// verification. Entry indices are `offset` plus the index in this log (several logs audited
/// together share one index space, see [`super::Provenance`]). Returns the number of
/// signatures verified.
#[allow(clippy::too_many_arguments)]
pub fn read_measurements(
    reader: &LogReader,
    offset: u64,
    certs: &Certificates,
    audit_time_ns: u64,
    skew_ns: u64,
    mut sink: impl FnMut(Outcome) + Send,
    mut progress: impl FnMut(u64) + Send,
) -> Result<u64, AuditError> {
    let width = u64::from(TILE_WIDTH);
    let max_batch = (BATCH_MEASUREMENTS as u64).div_ceil(width).max(1);
    let mut signatures = 0u64;
    let mut failure: Option<AuditError> = None;
    super::stream::in_order(
        reader.bundle_count(),
        max_batch,
        |first, end| -> Result<(u64, Vec<(Outcome, u64)>), AuditError> {
            let mut chunk = Vec::with_capacity(BATCH_MEASUREMENTS);
            for n in first..end {
                let start = n.saturating_mul(width).saturating_add(offset);
                chunk.extend((start..).zip(reader.read_bundle(n)?));
            }
            Ok((end, check_chunk(&chunk, certs, audit_time_ns, skew_ns)))
        },
        |batch| match batch {
            Ok((end, outcomes)) => {
                for (outcome, sigs) in outcomes {
                    signatures += sigs;
                    sink(outcome);
                }
                progress(end.saturating_mul(width).min(reader.size()));
                true
            }
            Err(e) => {
                failure = Some(e);
                false
            }
        },
    );
    match failure {
        Some(e) => Err(e),
        None => Ok(signatures),
    }
}

/// How a responder's signature is checked: Ed25519 keys join the batch; ECDSA keys (P-384,
/// P-256) have no batch equation and are verified one by one (with ring,
/// [`super::ecdsa_host`]), on the worker that holds the chunk (chunks run in parallel,
/// [`super::stream`]).
#[derive(Clone, Copy)]
enum ResponderKey<'c> {
    /// Batched with the landmark signatures.
    Ed25519(&'c PreparedKey),
    /// Verified singly.
    Single(&'c PreparedAnyKey),
}

/// The landmark certificate and the responder's key a measurement needs, valid at its time;
/// or which one is missing. The responder is a certified chip, or another landmark answering a
/// cross-check with its landmark key.
#[allow(clippy::type_complexity)]
fn certificates_for<'c>(
    certs: &'c Certificates,
    m: &Measurement,
) -> Result<(&'c LandmarkCert, Responder, ResponderKey<'c>), (FindingKind, &'static str)> {
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
        let key = match &c.key {
            PreparedAnyKey::Ed25519(k) => ResponderKey::Ed25519(k),
            other => ResponderKey::Single(other),
        };
        return Ok((lm, Responder::Chip(chip), key));
    }
    let as_landmark = LandmarkId::from(chip.to_bytes());
    if let Some(l) = certs.landmark_at(&as_landmark, sent_s) {
        return Ok((
            lm,
            Responder::Landmark(as_landmark),
            ResponderKey::Ed25519(&l.key),
        ));
    }
    Err((
        missing(certs.chips.contains_key(&chip)),
        "no device certificate in the log is valid at the measurement time",
    ))
}

/// Where a measurement's chip signature was judged.
enum ChipCheck {
    /// Item `n` of the batch.
    Batched(usize),
    /// Already judged (singly, for ECDSA).
    Done(bool),
}

/// Pre-checks, then verifies the two signatures of every measurement in `chunk`: every Ed25519
/// signature in one batch, each ECDSA chip signature singly.
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
        responder_key: ResponderKey<'c>,
        landmark_msg: Vec<u8>,
        responder_msg: Vec<u8>,
    }
    let mut out: Vec<(Outcome, u64)> = Vec::with_capacity(chunk.len());
    let mut pending: Vec<Pending<'_>> = Vec::new();
    for (index, bytes) in chunk {
        let index = *index;
        let reject = |kind, chip: Option<ChipId>, landmark: Option<LandmarkId>, detail: String| {
            Outcome::Rejected {
                finding: Finding {
                    kind,
                    chip_id: chip.map(|c| c.to_string()),
                    landmark_id: landmark.map(|l| l.to_string()),
                    log_index: Some(index),
                    log_origin: None,
                    detail,
                },
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
                out.push((reject(kind, Some(chip), Some(landmark), why.into()), 0));
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
    // Item 2i is measurement i's landmark signature; its chip signature is in the batch (an
    // Ed25519 chip), or already judged (ECDSA, or a signature of another algorithm than the
    // chip's key, which never verifies).
    let mut items: Vec<Item<'_>> = Vec::with_capacity(2 * pending.len());
    let mut chip_checks: Vec<(usize, ChipCheck)> = Vec::with_capacity(pending.len());
    for p in &pending {
        let landmark_slot = items.len();
        items.push(Item {
            key: p.landmark_key,
            message: &p.landmark_msg,
            signature: p.accepted.measurement.signature,
        });
        let signature = p.accepted.measurement.body.response.signature;
        let chip_check = match (p.responder_key, signature.ed25519()) {
            (ResponderKey::Ed25519(key), Some(signature)) => {
                items.push(Item {
                    key,
                    message: &p.responder_msg,
                    signature,
                });
                ChipCheck::Batched(items.len() - 1)
            }
            (ResponderKey::Ed25519(_), None) => ChipCheck::Done(false),
            (ResponderKey::Single(key), _) => {
                ChipCheck::Done(super::ecdsa_host::verify(key, &p.responder_msg, &signature))
            }
        };
        chip_checks.push((landmark_slot, chip_check));
    }
    let valid = batch::verify_all(&items);
    for (p, (landmark_slot, chip_check)) in pending.into_iter().zip(chip_checks) {
        let landmark_ok = valid.get(landmark_slot).copied().unwrap_or(false);
        let responder_ok = match chip_check {
            ChipCheck::Batched(slot) => valid.get(slot).copied().unwrap_or(false),
            ChipCheck::Done(ok) => ok,
        };
        let a = p.accepted;
        let chip = a.measurement.chip_id();
        let outcome = if landmark_ok && responder_ok {
            Outcome::Accepted(a)
        } else {
            // A bad chip signature inside a good landmark signature is the landmark's doing: it
            // logged a response the chip never signed. Only the landmark is blamed.
            let detail = if !landmark_ok {
                "landmark signature over the measurement is invalid"
            } else {
                "chip signature over the response is invalid inside a valid landmark signature: \
                 the measuring landmark logged a response the chip did not sign (the landmark is \
                 blamed, not the chip)"
            };
            Outcome::Rejected {
                finding: Finding {
                    kind: FindingKind::InvalidSignature,
                    chip_id: Some(chip.to_string()),
                    landmark_id: Some(a.landmark.to_string()),
                    log_index: Some(a.index),
                    log_origin: None,
                    detail: detail.into(),
                },
                chip: Some(chip),
            }
        };
        if let Some(slot) = out.get_mut(p.slot) {
            slot.0 = outcome;
        }
    }
    out
}
