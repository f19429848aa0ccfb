//! The audit: from a log, trust roots and a policy to per-chip verdicts and fraud signals,
//! without trusting the log's operator (DESIGN §4, §8).
//!
//! 0. The audit time is the wall clock unless the caller gives one (`--now`, to re-audit the
//!    past): freshness is judged against the real time, not against the log, so a frozen log
//!    cannot keep its chips verified; measurements dated after it are refused.
//! 1. The checkpoint's signature is checked and the whole tree re-derived from the entries.
//!    The [`LogReader`] pins every bundle at the bytes it first read, so every later pass
//!    judges exactly the bytes that were hashed against the checkpoint (or the audit fails).
//! 2. Certificates in the log are checked once against the trust roots; keys are prepared once.
//! 3. Measurements stream through in windows; both signatures of each are batch-verified in
//!    parallel ([`batch`]), with single verification naming the culprits of a failed batch.
//! 4. Accepted measurements fold into per-chip epochs (best bound per landmark), counters and
//!    nonces ([`aggregate`]); landmarks that measured each other are cross-checked; epochs get
//!    region verdicts and chips a status, with travel and silence checks ([`judge`]).

pub mod aggregate;
pub mod batch;
pub mod capped;
pub mod certificates;
pub mod ecdsa_host;
pub mod gpus;
pub mod ingest;
pub mod integrity;
pub mod judge;
pub mod model;
pub mod rules;
pub mod stream;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use lightcone::ChipId;
use rayon::prelude::*;

use crate::geo::Policy;
use crate::log::{LogReader, VerifiedCheckpoint, VerifierKey};
use crate::registry::Trust;
use aggregate::Aggregate;
use ingest::Outcome;
use model::{AuditReport, Counts, Finding, FindingKind, LandmarkReport, LogSummary, PolicySummary};
pub use rules::AuditRules;

/// Why an audit could not be completed (as opposed to what it found, which is in the report).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The `[audit]` rules of the policy are unusable.
    #[error("audit rules: {0}")]
    Rules(String),
    /// The trust file names no log key, so the checkpoint cannot be checked.
    #[error("the trust file has no [log] verifier_key: the checkpoint cannot be checked")]
    NoLogKey,
    /// Several logs cannot be audited together as given (two views of one log, `--since`
    /// with several logs, no trusted key for a log's origin).
    #[error("{0}")]
    SeveralLogs(String),
    /// The log failed verification (signature, tree, tiles) or could not be read.
    #[error(transparent)]
    Log(#[from] crate::log::LogError),
    /// The policy could not be applied.
    #[error(transparent)]
    Geo(#[from] crate::geo::GeoError),
    /// The thread pool could not be built.
    #[error("thread pool: {0}")]
    Threads(String),
}

/// What to audit and how.
pub struct AuditOptions<'a> {
    /// The log directory (C2SP tlog-tiles layout).
    pub log_dir: &'a Path,
    /// Trust roots: vendor roots, registry key, log verifier key.
    pub trust: &'a Trust,
    /// The region policy.
    pub policy: &'a Policy,
    /// The audit rules (epochs, freshness, heartbeat, travel, quorum).
    pub rules: AuditRules,
    /// Judge freshness and silence at this time (Unix ns), to re-audit the past; default: the
    /// wall clock.
    pub now_ns: Option<u64>,
    /// Worker threads; default: all cores.
    pub threads: Option<usize>,
    /// The signed checkpoint note the auditor kept from its last audit: the log must be
    /// provably append-only since then (an RFC 9162 consistency proof is checked).
    pub since: Option<&'a [u8]>,
}

/// Audits a log. `progress(done, total)` is called as entries are processed.
pub fn audit(
    options: &AuditOptions<'_>,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<AuditReport, AuditError> {
    let reader = LogReader::open(options.log_dir)?;
    audit_log(options, &reader, progress)
}

/// Audits the log `reader` is pinned at (`options.log_dir` is not read). When this returns a
/// report, [`LogReader::checkpoint_note`] is the very note it verified: the one to keep for
/// the next audit's `since`.
pub fn audit_log(
    options: &AuditOptions<'_>,
    reader: &LogReader,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<AuditReport, AuditError> {
    let key_text = options
        .trust
        .log_verifier_key
        .as_deref()
        .ok_or(AuditError::NoLogKey)?;
    let key = VerifierKey::parse(key_text)?;
    audit_logs(options, &[(reader, key)], progress)
}

/// Audits several logs together, each `(reader, key)` verified against its own key (its own
/// checkpoint, its own tree: every judged byte is hashed against the checkpoint of the log it
/// is in). Chip timelines merge across the logs: counters, nonces and travel are judged over
/// all of them. A log given twice (the same origin, size and root) is audited once
/// ([`distinct_logs`]); two different checkpoints of one origin are refused. Findings name
/// the log (`log_origin`) and the index in it. `options.since` needs exactly one log.
pub fn audit_logs(
    options: &AuditOptions<'_>,
    logs: &[(&LogReader, VerifierKey)],
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<AuditReport, AuditError> {
    let keep = distinct_logs(&logs.iter().map(|(r, _)| *r).collect::<Vec<_>>())?;
    let logs: Vec<(&LogReader, &VerifierKey)> = keep
        .iter()
        .filter_map(|&i| logs.get(i).map(|(r, k)| (*r, k)))
        .collect();
    if logs.is_empty() {
        return Err(AuditError::SeveralLogs("no log to audit".into()));
    }
    if logs.len() > 1 && options.since.is_some() {
        return Err(AuditError::SeveralLogs(
            "a previous checkpoint (--since) can be checked only when one log is audited".into(),
        ));
    }
    match options.threads {
        None => audit_here(options, &logs, progress),
        Some(n) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n.max(1))
                .build()
                .map_err(|e| AuditError::Threads(e.to_string()))?;
            pool.install(|| audit_here(options, &logs, progress))
        }
    }
}

/// The body of a checkpoint note (origin, size, root; no signatures), and its origin.
fn note_body(note: &[u8]) -> (&[u8], &[u8]) {
    let body = note
        .windows(2)
        .position(|w| w == b"\n\n")
        .and_then(|end| note.get(..end))
        .unwrap_or(note);
    let origin = body.split(|&b| b == b'\n').next().unwrap_or(body);
    (body, origin)
}

/// Which of `readers` to audit: the same log given twice (one origin, size and root: the same
/// entries, whatever copy or server they came from) is kept once, at its first place. Two
/// different checkpoints of one origin are refused: two views of one log, or one log at two
/// sizes, which would count its entries twice.
pub fn distinct_logs(readers: &[&LogReader]) -> Result<Vec<usize>, AuditError> {
    let mut keep: Vec<usize> = Vec::new();
    for (i, r) in readers.iter().enumerate() {
        let (body, origin) = note_body(r.checkpoint_note());
        let mut duplicate = false;
        for &k in &keep {
            let Some(kept) = readers.get(k) else { continue };
            let (kept_body, kept_origin) = note_body(kept.checkpoint_note());
            if kept_origin != origin {
                continue;
            }
            if kept_body != body {
                return Err(AuditError::SeveralLogs(format!(
                    "log {} is given twice with different checkpoints (log {} and log {}): two views of one log, or one log at two sizes; give one copy",
                    String::from_utf8_lossy(origin),
                    k + 1,
                    i + 1
                )));
            }
            duplicate = true;
        }
        if !duplicate {
            keep.push(i);
        }
    }
    Ok(keep)
}

/// Where each log's entries sit in the one index space of an audit over several logs: log
/// `k`'s entry `i` has index `offset_k + i`.
pub struct Provenance {
    /// (origin, offset, size) in audit order.
    logs: Vec<(String, u64, u64)>,
}

impl Provenance {
    /// The log and its index of the audit-wide index `index`.
    pub fn locate(&self, index: u64) -> Option<(&str, u64)> {
        self.logs
            .iter()
            .rev()
            .find(|(_, offset, _)| *offset <= index)
            .map(|(origin, offset, _)| (origin.as_str(), index - offset))
    }

    /// An entry's name in findings: its index for one log; `origin#index` for several.
    pub fn name(&self, index: u64) -> String {
        match self.locate(index) {
            Some((origin, i)) if self.logs.len() > 1 => format!("{origin}#{i}"),
            Some((_, i)) => i.to_string(),
            None => index.to_string(),
        }
    }

    /// Rewrites a finding's audit-wide index to the index in its log, naming the log, when
    /// several logs are audited (a one-log finding is left as it is).
    fn localize(&self, f: &mut Finding) {
        if self.logs.len() < 2 {
            return;
        }
        if let Some((origin, i)) = f.log_index.and_then(|idx| self.locate(idx)) {
            f.log_origin = Some(origin.to_owned());
            f.log_index = Some(i);
        }
    }
}

/// The wall clock, Unix ns (0 if the clock is before 1970).
pub fn wall_clock_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn audit_here(
    options: &AuditOptions<'_>,
    logs: &[(&LogReader, &VerifierKey)],
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<AuditReport, AuditError> {
    let mut offsets = Vec::with_capacity(logs.len());
    let mut total = 0u64;
    for (reader, _) in logs {
        offsets.push((*reader, total));
        total = total.saturating_add(reader.size());
    }
    let world = options.policy.default_world()?;
    let rules = &options.rules;
    let (audit_time_ns, audit_time_from) = match options.now_ns {
        Some(t) => (t, model::AuditTimeSource::Given),
        None => (wall_clock_ns(), model::AuditTimeSource::WallClock),
    };

    let mut findings: Vec<Finding> = Vec::new();
    let mut counts = Counts::default();
    // Re-deriving the tree folds hashes in order, so part of it is serial: it runs beside the
    // certificate pass, which reads the same entries. Nothing is reported unless it succeeds.
    // Each log is verified against its own key; any failure fails the whole audit.
    let (checkpoints, certs) = rayon::join(
        || {
            logs.iter()
                .map(|(reader, key)| verify_log(reader, key, options.since))
                .collect::<Result<Vec<_>, _>>()
        },
        || certificates::read_certificates_of(&offsets, options.trust, &mut findings, &mut counts),
    );
    let checkpoints = checkpoints?;
    let certs = certs?;
    let provenance = Provenance {
        logs: checkpoints
            .iter()
            .zip(&offsets)
            .map(|(c, (_, offset))| (c.origin().to_owned(), *offset, c.size()))
            .collect(),
    };

    // Measurements dated after the audit time (beyond the clock skew) are refused.
    let check_time = audit_time_ns;
    let mut agg = Aggregate::new(rules, options.policy.speed, &certs);
    let mut measurement_findings = capped::CappedFindings::default();
    let mut rejected = 0u64;
    let mut measurements = 0u64;
    let mut accepted = 0u64;
    let mut signatures = 0u64;
    // Per log: its newest measurement and how many it holds (a frozen or withheld log among
    // fresh ones is said, log by log).
    let mut per_log_latest: Vec<(u64, u64)> = Vec::with_capacity(offsets.len());
    let mut latest_overall = 0u64;
    for &(reader, offset) in &offsets {
        agg.latest_ns = 0;
        let before = measurements;
        signatures += ingest::read_measurements(
            reader,
            offset,
            &certs,
            check_time,
            rules.clock_skew_ns,
            |outcome| match outcome {
                Outcome::Skip => {}
                Outcome::Accepted(a) => {
                    measurements += 1;
                    match agg.accept(&a) {
                        None => accepted += 1,
                        Some(f) => {
                            rejected += 1;
                            measurement_findings.push(f);
                        }
                    }
                }
                Outcome::Rejected { finding, chip } => {
                    if finding.kind != FindingKind::MalformedEntry {
                        measurements += 1;
                    }
                    rejected += 1;
                    agg.reject(chip);
                    measurement_findings.push(finding);
                }
            },
            |done| progress(offset.saturating_add(done), total),
        )?;
        per_log_latest.push((agg.latest_ns, measurements - before));
        latest_overall = latest_overall.max(agg.latest_ns);
    }
    agg.latest_ns = latest_overall;
    counts.measurements = measurements;
    counts.signatures_verified = signatures;
    counts.rejected += rejected;
    if measurements > 0 {
        findings.extend(stale_log(agg.latest_ns, audit_time_ns, rules.freshness_ns));
    }
    if per_log_latest.len() > 1 {
        // With several logs, each log that stopped growing is named, even when the others are
        // fresh (the overall finding above is only for all of them together).
        for ((latest, n), (origin, _, _)) in per_log_latest.iter().zip(&provenance.logs) {
            if *n == 0 || *latest == agg.latest_ns {
                continue;
            }
            if let Some(mut f) = stale_log(*latest, audit_time_ns, rules.freshness_ns) {
                f.detail = format!("log {origin}: {}", f.detail);
                f.log_origin = Some(origin.clone());
                findings.push(f);
            }
        }
    }

    let faulty = options.policy.faulty_operators;
    let integrity =
        integrity::judge_landmarks_named(&agg.cross_checks, faulty, &mut findings, &|i| {
            provenance.name(i)
        });
    let excluded = excluded_landmarks(&integrity, &certs, rules);
    findings.extend(excluded_findings(&excluded, &agg));
    let conflicting: HashMap<ChipId, Vec<String>> =
        certs.conflicting_issuers().into_iter().collect();
    findings.extend(conflicting.iter().map(|(id, vendors)| Finding {
        kind: FindingKind::ConflictingIssuers,
        chip_id: Some(id.to_string()),
        landmark_id: None,
        log_index: None,
        log_origin: None,
        detail: format!(
            "one chip key certified by {} vendor roots ({}): each is trusted for its own chips only",
            vendors.len(),
            vendors.join(", ")
        ),
    }));

    let chip_states: Vec<_> = std::mem::take(&mut agg.chips).into_iter().collect();
    let judged_ids: HashSet<ChipId> = chip_states.iter().map(|(id, _)| *id).collect();
    let cx = judge::JudgeContext {
        certs: &certs,
        excluded: &excluded,
        conflicting_issuers: &conflicting,
        policy: options.policy,
        world,
        rules,
        audit_time_ns,
        entry_name: &|i| provenance.name(i),
    };
    let judged: Vec<_> = chip_states
        .into_par_iter()
        .map(|(id, state)| judge::judge_chip(&id, state, &cx))
        .collect();
    let mut chips = Vec::with_capacity(judged.len());
    for (report, mut f) in judged {
        counts.measurements_accepted += report.measurements;
        chips.push(report);
        findings.append(&mut f);
    }
    // Certified chips and GPUs that never appear in a measurement are unverified too.
    let mut unmeasured: Vec<&ChipId> = certs.chips.keys().chain(certs.gpus.keys()).collect();
    unmeasured.sort();
    unmeasured.dedup();
    for id in unmeasured {
        if judged_ids.contains(id) {
            continue;
        }
        let (key_algorithm, evidence) = judge::key_and_evidence(&certs, id);
        let (model, vendor) = judge::model_and_vendor(&certs, &conflicting, id);
        chips.push(model::ChipReport {
            chip_id: id.to_string(),
            model,
            vendor,
            key_algorithm,
            evidence,
            status: model::ChipStatus::Unverified,
            rats_tier: model::ChipStatus::Unverified.rats_tier(false),
            jurisdiction: None,
            reason: "certified, but never measured".into(),
            robustness: None,
            last_compliant_ns: None,
            measurements: 0,
            rejected: 0,
            epochs: Vec::new(),
        });
    }
    chips.sort_by(|a, b| a.chip_id.cmp(&b.chip_id));
    // Measurement findings were capped as they streamed in; the others join them under the
    // same per-kind cap, in a fixed order (hash maps must not decide which are kept or shown).
    let order = |a: &Finding, b: &Finding| {
        (a.kind, a.log_index, &a.chip_id, &a.landmark_id, &a.detail).cmp(&(
            b.kind,
            b.log_index,
            &b.chip_id,
            &b.landmark_id,
            &b.detail,
        ))
    };
    findings.sort_by(order);
    measurement_findings.extend(findings);
    let mut findings = measurement_findings.finish();
    findings.sort_by(order);
    for f in &mut findings {
        provenance.localize(f);
    }

    let landmarks = landmark_reports(&certs, &agg, &integrity, &excluded);
    let policy = options.policy;
    let summaries: Vec<LogSummary> = checkpoints
        .iter()
        .map(|c| LogSummary {
            origin: c.origin().to_owned(),
            size: c.size(),
            root_hash: crate::log::hash::hash_to_base64(c.root()),
            witnessed_by: Vec::new(),
        })
        .collect();
    Ok(AuditReport {
        audit_time_ns,
        audit_time_from,
        log: summaries
            .first()
            .cloned()
            .ok_or(AuditError::SeveralLogs("no log".into()))?,
        logs: if summaries.len() > 1 {
            summaries
        } else {
            Vec::new()
        },
        policy: PolicySummary {
            speed_m_per_s: policy.speed.m_per_s(),
            speed_sound_for_all_media: policy.speed_is_sound_for_all_media(),
            permitted: policy.permitted.clone(),
            forbidden: policy.forbidden.clone(),
            sea_permitted: policy.sea_permitted,
            sea_buffer_nm: policy.sea_buffer_m / crate::geo::policy::METRES_PER_NAUTICAL_MILE,
            names: policy.names.describe().to_owned(),
            epoch_s: rules.epoch_ns / 1_000_000_000,
            freshness_s: rules.freshness_ns / 1_000_000_000,
            heartbeat_s: rules.heartbeat_ns / 1_000_000_000,
            max_travel_kmh: rules.max_travel_m_per_s * 3.6,
            credit_self_reported_processing: rules.credit
                == lightcone::ProcessingCredit::TrustSelfReported,
            self_reported_worst_case_km: (rules.credit
                == lightcone::ProcessingCredit::TrustSelfReported)
                .then(|| self_reported_worst_case_km(&certs)),
            faulty_operators: faulty,
            landmark_confirmation_km: rules.landmark_confirmation_m.map(|m| m / 1000.0),
        },
        counts,
        chips,
        landmarks,
        findings,
    })
}

/// Landmarks whose caps do not count: convicted by the cross-checks, or (when the policy asks
/// for it) not confirmed within the required distance by other operators.
fn excluded_landmarks(
    integrity: &integrity::Integrity,
    certs: &certificates::Certificates,
    rules: &AuditRules,
) -> HashMap<lightcone::LandmarkId, String> {
    let mut excluded = integrity.convicted.clone();
    if let Some(limit) = rules.landmark_confirmation_m {
        for id in certs.landmarks.keys() {
            let within = integrity.confirmation.get(id).and_then(|c| c.within_m);
            if within.is_none_or(|m| m > limit) && !excluded.contains_key(id) {
                let seen = within.map_or_else(
                    || "not confirmed by enough other operators".to_owned(),
                    |m| format!("confirmed only within {:.0} km", m / 1000.0),
                );
                excluded.insert(
                    *id,
                    format!(
                        "the policy requires confirmation within {:.0} km by other operators; {seen}",
                        limit / 1000.0
                    ),
                );
            }
        }
    }
    excluded
}

/// One finding per excluded landmark, with how many chip measurements it loses.
fn excluded_findings<'a>(
    excluded: &'a HashMap<lightcone::LandmarkId, String>,
    agg: &'a Aggregate<'_>,
) -> impl Iterator<Item = Finding> + 'a {
    excluded.iter().map(|(id, why)| {
        let count: u64 = agg
            .chips
            .values()
            .flat_map(|c| c.epochs.values())
            .flat_map(|e| e.iter())
            .filter(|((l, _), _)| l == id)
            .map(|(_, b)| u64::from(b.count))
            .sum();
        Finding {
            kind: FindingKind::ExcludedMeasurement,
            chip_id: None,
            landmark_id: Some(id.to_string()),
            log_index: None,
            log_origin: None,
            detail: format!(
                "{count} chip measurement(s) by this landmark excluded from verdicts: {why}"
            ),
        }
    })
}

/// One row per certified landmark: its latest certificate (in validity order), its
/// cross-checks and how well other operators confirm it.
fn landmark_reports(
    certs: &certificates::Certificates,
    agg: &Aggregate<'_>,
    integrity: &integrity::Integrity,
    excluded: &HashMap<lightcone::LandmarkId, String>,
) -> Vec<LandmarkReport> {
    let mut out: Vec<LandmarkReport> = certs
        .landmarks
        .iter()
        .filter_map(|(id, list)| {
            let latest = list.iter().max_by_key(|c| {
                (
                    c.cert.body.validity.not_after,
                    lightcone::Wire::to_vec(&c.cert),
                )
            })?;
            let b = &latest.cert.body;
            let confirmation = integrity.confirmation.get(id).copied().unwrap_or_default();
            let status = if excluded.contains_key(id) {
                "excluded"
            } else if confirmation.within_m.is_some() {
                "ok"
            } else {
                "unconfirmed"
            };
            Some(LandmarkReport {
                landmark_id: id.to_string(),
                operator: b.operator.as_str().to_owned(),
                lat: b.position.lat.degrees(),
                lon: b.position.lon.degrees(),
                uncertainty_m: b.uncertainty_m,
                measurements: agg.per_landmark.get(id).copied().unwrap_or(0),
                cross_checks: integrity.tally.get(id).copied().unwrap_or((0, 0)),
                confirming_operators: confirmation.operators,
                confirmed_within_m: confirmation.within_m,
                status: status.into(),
                reason: excluded.get(id).cloned(),
            })
        })
        .collect();
    out.sort_by(|a, b| a.landmark_id.cmp(&b.landmark_id));
    out
}

/// The most radius self-reported processing can take off one cap: the largest endorsed
/// `max_processing_ns` of any chip in the log, at c, one way.
fn self_reported_worst_case_km(certs: &certificates::Certificates) -> f64 {
    let worst_ns = certs
        .chips
        .values()
        .flatten()
        .map(|c| c.cert.body.timing.max_processing_ns)
        .max()
        .unwrap_or(0);
    worst_ns as f64 * 1e-9 * lightcone::distance::SPEED_OF_LIGHT_M_PER_S as f64 / 2.0 / 1000.0
}

/// The stale-log finding, when the newest measurement of the log (`latest_ns`) is older than
/// the freshness window at the audit time: the log may be frozen or withheld, and no chip can
/// be verified from it.
fn stale_log(latest_ns: u64, audit_time_ns: u64, freshness_ns: u64) -> Option<Finding> {
    let age_ns = audit_time_ns.checked_sub(latest_ns)?;
    (age_ns > freshness_ns).then(|| Finding {
        kind: FindingKind::StaleLog,
        chip_id: None,
        landmark_id: None,
        log_index: None,
        log_origin: None,
        detail: format!(
            "the newest measurement in the log is {} h older than the audit time, beyond the {} h freshness window: the log has stopped growing or is being withheld, and no chip can be verified from it",
            age_ns / 3_600_000_000_000,
            freshness_ns / 3_600_000_000_000
        ),
    })
}

/// Checks the checkpoint signature, re-derives the whole tree from the entries and, given the
/// auditor's previous checkpoint, checks that the log only grew since then.
fn verify_log(
    reader: &LogReader,
    key: &VerifierKey,
    since: Option<&[u8]>,
) -> Result<VerifiedCheckpoint, AuditError> {
    let checkpoint = reader.verify(key)?;
    if let Some(note) = since {
        let old = crate::log::checkpoint::open_checkpoint(note, key)?;
        let proof = reader.consistency_proof(old.size())?;
        crate::log::proof::verify_consistency(
            old.size(),
            checkpoint.size(),
            old.root(),
            checkpoint.root(),
            &proof,
        )?;
    }
    Ok(checkpoint)
}

/// Counts chips by status, for summaries and tests.
pub fn status_counts(report: &AuditReport) -> HashMap<model::ChipStatus, usize> {
    let mut counts = HashMap::new();
    for chip in &report.chips {
        *counts.entry(chip.status).or_insert(0) += 1;
    }
    counts
}
