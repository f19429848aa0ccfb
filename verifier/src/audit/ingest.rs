//! Reading the measurements of the log (after [`super::certificates`]): every measurement, its
//! two signatures batch-verified in parallel, in bounded memory. A measurement is either a
//! lightcone round (the chip's signed `Response`) or a round a GPU answered with SPDM evidence
//! (its signed measurement report, bound to the challenge by the derived nonce).

use lightcone::ed25519::PreparedKey;
use lightcone::evidence::SpdmMeasurement;
use lightcone::PreparedAnyKey;
use lightcone::{AnySignature, Challenge, ChipId, LandmarkId, LogEntry, LogRecord, Measurement};

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

/// What the fold needs of an accepted measurement, whatever the chip answered with.
#[derive(Clone, Copy, Debug)]
pub struct Timed {
    /// The landmark's challenge.
    pub challenge: Challenge,
    /// Round-trip time, ns.
    pub rtt_ns: u64,
    /// When the challenge was sent (landmark wall clock), ns.
    pub sent_at_ns: u64,
    /// The chip's counter and self-reported processing time, for a lightcone response; `None`
    /// for SPDM evidence, which carries neither.
    pub response: Option<ResponseFacts>,
}

/// What a lightcone response says besides the challenge.
#[derive(Clone, Copy, Debug)]
pub struct ResponseFacts {
    /// The chip's monotonic counter.
    pub counter: u64,
    /// Self-reported processing time, ns.
    pub processing_ns: u64,
}

impl Timed {
    /// The chip the challenge names.
    pub const fn chip_id(&self) -> ChipId {
        self.challenge.chip_id
    }

    fn of_measurement(m: &Measurement) -> Self {
        let r = &m.body.response.body;
        Timed {
            challenge: r.challenge,
            rtt_ns: m.body.rtt_ns,
            sent_at_ns: m.body.sent_at_ns,
            response: Some(ResponseFacts {
                counter: r.counter,
                processing_ns: r.processing_ns,
            }),
        }
    }

    fn of_spdm(m: &SpdmMeasurement<'_>) -> Self {
        let b = &m.measurement.body;
        Timed {
            challenge: b.challenge,
            rtt_ns: b.rtt_ns,
            sent_at_ns: b.sent_at_ns,
            response: None,
        }
    }
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
    /// What was measured.
    pub measurement: Timed,
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

/// How the responder's answer is judged: its Ed25519 signature joins the batch, or it was
/// already judged singly (ECDSA signatures, SPDM evidence), with the reason when it failed.
enum ChipInput<'c> {
    /// Batched with the landmark signatures.
    Batched {
        key: &'c PreparedKey,
        message: Vec<u8>,
        signature: lightcone::Signature,
    },
    /// Already judged.
    Done(Result<(), String>),
}

/// One entry waiting for the batch: its landmark signature and its responder's answer.
struct Pending<'c> {
    slot: usize,
    accepted: Accepted,
    landmark_key: &'c PreparedKey,
    landmark_msg: Vec<u8>,
    landmark_sig: lightcone::Signature,
    chip: ChipInput<'c>,
}

/// The finding of a rejected entry at `index`.
fn rejection(
    index: u64,
    kind: FindingKind,
    chip: Option<ChipId>,
    landmark: Option<LandmarkId>,
    detail: String,
) -> Outcome {
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
}

/// Pre-checks, then verifies the signatures of every measurement in `chunk`: every Ed25519
/// signature in one batch, each ECDSA signature and each SPDM report singly.
fn check_chunk(
    chunk: &[(u64, Vec<u8>)],
    certs: &Certificates,
    audit_time_ns: u64,
    skew_ns: u64,
) -> Vec<(Outcome, u64)> {
    let mut out: Vec<(Outcome, u64)> = Vec::with_capacity(chunk.len());
    let mut pending: Vec<Pending<'_>> = Vec::new();
    for (index, bytes) in chunk {
        let index = *index;
        let prepared = match LogEntry::decode(bytes) {
            Ok(LogEntry::Record(LogRecord::Measurement(m))) => {
                prepare_measurement(index, &m, certs, audit_time_ns, skew_ns)
            }
            Ok(LogEntry::Spdm(m)) => prepare_spdm(index, &m, certs, audit_time_ns, skew_ns),
            Ok(_) => Err(Outcome::Skip),
            Err(e) => Err(rejection(
                index,
                FindingKind::MalformedEntry,
                None,
                None,
                format!("entry is not a log record: {e}"),
            )),
        };
        match prepared {
            Ok(mut p) => {
                p.slot = out.len();
                pending.push(p);
                out.push((Outcome::Skip, 2));
            }
            Err(outcome) => out.push((outcome, 0)),
        }
    }
    judge_batch(pending, &mut out);
    out
}

/// The time check every measurement gets: not dated after the audit time.
// The error is the entry's outcome, moved once into the output; boxing costs an allocation.
#[allow(clippy::result_large_err)]
fn check_time(
    index: u64,
    t: &Timed,
    landmark: LandmarkId,
    audit_time_ns: u64,
    skew_ns: u64,
) -> Result<(), Outcome> {
    let sent_ns = t.sent_at_ns;
    if sent_ns > audit_time_ns.saturating_add(skew_ns) {
        return Err(rejection(
            index,
            FindingKind::TimestampOutOfRange,
            Some(t.chip_id()),
            Some(landmark),
            format!("measurement time {sent_ns} ns is after the audit time {audit_time_ns} ns"),
        ));
    }
    Ok(())
}

/// A lightcone measurement, ready for the batch.
// The error is the entry's outcome, moved once into the output; boxing costs an allocation.
#[allow(clippy::result_large_err)]
fn prepare_measurement<'c>(
    index: u64,
    m: &Measurement,
    certs: &'c Certificates,
    audit_time_ns: u64,
    skew_ns: u64,
) -> Result<Pending<'c>, Outcome> {
    let (chip, landmark) = (m.chip_id(), m.landmark_id());
    let timed = Timed::of_measurement(m);
    check_time(index, &timed, landmark, audit_time_ns, skew_ns)?;
    let (lm, responder, responder_key) = certificates_for(certs, m)
        .map_err(|(kind, why)| rejection(index, kind, Some(chip), Some(landmark), why.into()))?;
    let landmark_msg = m.with_signed_message(|msg| Ok(msg.to_vec()));
    let responder_msg = m.body.response.with_signed_message(|msg| Ok(msg.to_vec()));
    let (Ok(landmark_msg), Ok(responder_msg)) = (landmark_msg, responder_msg) else {
        return Err(rejection(
            index,
            FindingKind::MalformedEntry,
            Some(chip),
            Some(landmark),
            "cannot re-encode the signed body".into(),
        ));
    };
    let signature = m.body.response.signature;
    let chip_input = match (responder_key, signature.ed25519()) {
        (ResponderKey::Ed25519(key), Some(signature)) => ChipInput::Batched {
            key,
            message: responder_msg,
            signature,
        },
        // A signature of another algorithm than the chip's key never verifies.
        (ResponderKey::Ed25519(_), None) => ChipInput::Done(Err(CHIP_SIGNATURE_BAD.into())),
        (ResponderKey::Single(key), _) => ChipInput::Done(
            super::ecdsa_host::verify(key, &responder_msg, &signature)
                .then_some(())
                .ok_or_else(|| CHIP_SIGNATURE_BAD.into()),
        ),
    };
    Ok(Pending {
        slot: 0,
        accepted: Accepted {
            index,
            landmark,
            responder,
            measurement: timed,
        },
        landmark_key: &lm.key,
        landmark_msg,
        landmark_sig: m.signature,
        chip: chip_input,
    })
}

/// What a bad chip signature inside a good landmark signature means.
const CHIP_SIGNATURE_BAD: &str = "chip signature over the response is invalid inside a valid \
     landmark signature: the measuring landmark logged a response the chip did not sign (the \
     landmark is blamed, not the chip)";

/// A measurement answered with SPDM evidence, ready for the batch: the GPU's chain valid at
/// its time, the report bound to the challenge (derived nonce, the landmark's hash, the GPU's
/// id) and the GPU's P-384 signature (ring), judged here; the landmark's signature batched.
// The error is the entry's outcome, moved once into the output; boxing costs an allocation.
#[allow(clippy::result_large_err)]
fn prepare_spdm<'c>(
    index: u64,
    m: &SpdmMeasurement<'_>,
    certs: &'c Certificates,
    audit_time_ns: u64,
    skew_ns: u64,
) -> Result<Pending<'c>, Outcome> {
    let (chip, landmark) = (m.chip_id(), m.landmark_id());
    let timed = Timed::of_spdm(m);
    check_time(index, &timed, landmark, audit_time_ns, skew_ns)?;
    let sent_s = timed.sent_at_ns / 1_000_000_000;
    let missing = |known: bool, why: &str| {
        let kind = if known {
            FindingKind::TimestampOutOfRange
        } else {
            FindingKind::UnknownCertificate
        };
        rejection(index, kind, Some(chip), Some(landmark), why.into())
    };
    let lm = certs.landmark_at(&landmark, sent_s).ok_or_else(|| {
        missing(
            certs.landmarks.contains_key(&landmark),
            "no landmark certificate in the log is valid at the measurement time",
        )
    })?;
    let gpu = certs.gpu_at(&chip, sent_s).ok_or_else(|| {
        missing(
            certs.gpus.contains_key(&chip),
            "no GPU certificate chain in the log is valid at the measurement time",
        )
    })?;
    let landmark_msg = m
        .measurement
        .with_signed_message(|msg| Ok(msg.to_vec()))
        .map_err(|_| {
            rejection(
                index,
                FindingKind::MalformedEntry,
                Some(chip),
                Some(landmark),
                "cannot re-encode the signed body".into(),
            )
        })?;
    let evidence = match m.check_binding(&gpu.identity.leaf_key) {
        Ok(evidence) => {
            let signature = AnySignature::P384(lightcone::wire::Bytes(
                *evidence.response().signature_bytes(),
            ));
            if super::ecdsa_host::verify(&gpu.key, m.transcript(), &signature) {
                Ok(())
            } else {
                Err(format!(
                    "{SPDM_BAD}: the GPU's P-384 signature does not verify"
                ))
            }
        }
        Err(e) => Err(format!("{SPDM_BAD}: {e}")),
    };
    Ok(Pending {
        slot: 0,
        accepted: Accepted {
            index,
            landmark,
            responder: Responder::Chip(chip),
            measurement: timed,
        },
        landmark_key: &lm.key,
        landmark_msg,
        landmark_sig: m.measurement.signature,
        chip: ChipInput::Done(evidence),
    })
}

/// What SPDM evidence that fails inside a good landmark signature means.
const SPDM_BAD: &str = "SPDM evidence does not hold inside a valid landmark signature (the \
     measuring landmark is blamed, not the GPU)";

/// Batch-verifies the pending entries' Ed25519 signatures and writes each outcome to its slot.
fn judge_batch(pending: Vec<Pending<'_>>, out: &mut [(Outcome, u64)]) {
    let mut items: Vec<Item<'_>> = Vec::with_capacity(2 * pending.len());
    let mut chip_slots: Vec<Option<usize>> = Vec::with_capacity(pending.len());
    for p in &pending {
        items.push(Item {
            key: p.landmark_key,
            message: &p.landmark_msg,
            signature: p.landmark_sig,
        });
        chip_slots.push(match &p.chip {
            ChipInput::Batched {
                key,
                message,
                signature,
            } => {
                items.push(Item {
                    key,
                    message,
                    signature: *signature,
                });
                Some(items.len() - 1)
            }
            ChipInput::Done(_) => None,
        });
    }
    let valid = batch::verify_all(&items);
    let mut landmark_slot = 0usize;
    for (p, chip_slot) in pending.into_iter().zip(chip_slots) {
        let landmark_ok = valid.get(landmark_slot).copied().unwrap_or(false);
        landmark_slot += 1 + usize::from(chip_slot.is_some());
        let chip_verdict = match (chip_slot, p.chip) {
            (Some(slot), _) => match valid.get(slot).copied().unwrap_or(false) {
                true => Ok(()),
                false => Err(CHIP_SIGNATURE_BAD.to_owned()),
            },
            (None, ChipInput::Done(verdict)) => verdict,
            (None, ChipInput::Batched { .. }) => Err(CHIP_SIGNATURE_BAD.to_owned()),
        };
        let a = p.accepted;
        // A bad chip answer inside a good landmark signature is the landmark's doing: it logged
        // an answer the chip never gave. Only the landmark is blamed.
        let outcome = match (landmark_ok, chip_verdict) {
            (true, Ok(())) => Outcome::Accepted(a),
            (false, _) => bad_signature(
                &a,
                None,
                "the landmark signature over the measurement is invalid: the landmark the entry \
                 names did not sign it (anyone could have made this entry)",
            ),
            (true, Err(why)) => bad_signature(&a, Some(a.landmark), &why),
        };
        if let Some(slot) = out.get_mut(p.slot) {
            slot.0 = outcome;
        }
    }
}

/// An entry with a bad signature; `blamed` is the landmark that signed it, when one did.
fn bad_signature(a: &Accepted, blamed: Option<LandmarkId>, detail: &str) -> Outcome {
    let chip = a.measurement.chip_id();
    Outcome::Rejected {
        finding: Finding {
            kind: FindingKind::InvalidSignature,
            chip_id: Some(chip.to_string()),
            landmark_id: blamed.map(|l| l.to_string()),
            log_index: Some(a.index),
            log_origin: None,
            detail: detail.into(),
        },
        chip: Some(chip),
    }
}
