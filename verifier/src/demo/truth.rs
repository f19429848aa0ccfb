//! The demo's ground truth and the comparison with what the audit found.
//!
//! Which honest chips the physics can decide is computed, not guessed: from the path model's
//! nominal delays (no jitter) the audit's own bound formula gives each landmark's expected
//! distance bound; these are inflated by [`RTT_FACTOR`] and [`RTT_SLACK_NS`] (jitter,
//! scheduling, relay overhead), and the geo engine evaluates the policy on the inflated caps.
//! A chip whose inflated region is still compliant is *decidable*: it must be verified.

use serde::Serialize;

use super::scenario::{
    Board, ChipSpec, Fleet, Role, GPU_FLOOR_NS, GPU_MODEL, GPU_ROOT, LANDMARK_UNCERTAINTY_M,
    MIN_RESPONSE_NS,
};
use super::DemoError;
use crate::audit::model::{AuditReport, ChipStatus, FindingKind};
use crate::geo::{evaluate_tolerant, Cap, Policy, VerdictKind, World};
use std::collections::BTreeMap;

/// Expected RTTs are multiplied by this for the decidability test.
pub const RTT_FACTOR: f64 = 1.15;
/// And this is added, ns (relay and loopback overhead, scheduling on a busy machine).
pub const RTT_SLACK_NS: f64 = 3_000_000.0;
/// Extra slack for a chip that signs with P-384 in software ([`super::scenario::P384_CHIPS`]):
/// RustCrypto P-384 signing takes about a millisecond in release on an idle core, and ten or
/// more in a debug build on a loaded machine (seen: a 2-core VM at load 56, where the demo test
/// failed with 6 ms), all inside the RTT (their model is endorsed with the same small minimum
/// as the Ed25519 chips, so nothing of it is subtracted). With this slack a P-384 chip counts
/// as decidable only where 15 ms more of RTT (2 250 km) would not change its verdict.
pub const P384_SLACK_NS: f64 = 15_000_000.0;
const C_M_PER_S: f64 = 299_792_458.0;
/// The evidence kind of a lightcone chip, as the report names it.
pub const LIGHTCONE_EVIDENCE: &str = "lightcone-response";
/// The evidence kind of a simulated GPU, as the report names it.
pub const SPDM_EVIDENCE: &str = "spdm-1.1-measurements";

/// What one chip is, and what the audit must say about it.
#[derive(Clone, Debug, Serialize)]
pub struct ChipTruth {
    /// Readable name.
    pub name: String,
    /// Chip id, hex.
    pub chip_id: String,
    /// `honest`, `silent`, `smuggled` or `clone`.
    pub role: String,
    /// Where it really is.
    pub site: String,
    /// ISO code of the country it really is in.
    pub country: String,
    /// True position, degrees.
    pub lat: f64,
    /// True position, degrees.
    pub lon: f64,
    /// For honest chips: whether the physics can decide (expected bounds keep every forbidden
    /// country out of the region).
    pub decidable: bool,
    /// What it answers challenges with ([`LIGHTCONE_EVIDENCE`] or, for a GPU,
    /// [`SPDM_EVIDENCE`]).
    pub evidence: String,
    /// What the audit must report, in words.
    pub expected: String,
}

/// Whether an honest device at landmark one-way delays `delay_ns(l)` is decidable: each
/// landmark's expected RTT, inflated by [`RTT_FACTOR`] and `slack_ns`, less the endorsed
/// `min_response_ns`, bounds it; the caps are grouped by operator and the policy must be
/// compliant whatever its number of faulty operators sign.
fn decidable(
    fleet: &Fleet,
    (policy, world): (&Policy, &World),
    delay_ns: &dyn Fn(usize) -> f64,
    slack_ns: f64,
    min_response_ns: u64,
) -> Result<bool, DemoError> {
    let bad = fleet.mispositioned();
    let mut groups: BTreeMap<&str, Vec<Cap>> = BTreeMap::new();
    for (l, lm) in fleet.landmarks.iter().enumerate() {
        if l == bad {
            continue;
        }
        let rtt = (2.0 * delay_ns(l)) * RTT_FACTOR + slack_ns - min_response_ns as f64;
        let radius = C_M_PER_S * rtt.max(0.0) / 2e9 + f64::from(LANDMARK_UNCERTAINTY_M);
        groups
            .entry(lm.operator.as_str())
            .or_default()
            .push(Cap::new(lm.registered.0, lm.registered.1, radius)?);
    }
    let groups: Vec<Vec<Cap>> = groups.into_values().collect();
    Ok(
        evaluate_tolerant(world, policy, &groups, policy.faulty_operators)?
            .verdict
            .kind
            == VerdictKind::Compliant,
    )
}

/// The truth of one device of the fleet, given whether it is decidable.
fn chip_truth(spec: ChipSpec, chip_id: String, decidable: bool, evidence: &str) -> ChipTruth {
    let expected = match (spec.role, decidable) {
        (Role::Honest, true) => "verified",
        (Role::Honest, false) => {
            "verified or unverified (too far from landmarks or too near a forbidden country to decide)"
        }
        (Role::Silent, _) => "not verified, with a silence finding",
        (Role::Smuggled { .. }, _) => "unverified or violation, never verified",
        (Role::Clone { .. }, _) => {
            "invalid or inconsistent, with counter-rollback and impossible-travel findings"
        }
    };
    let site = match spec.role {
        Role::Smuggled { via } => format!("{} (relayed via {})", spec.at.name, via.name),
        Role::Clone { second } => format!("{} and {}", spec.at.name, second.name),
        _ => spec.at.name.to_owned(),
    };
    ChipTruth {
        name: spec.name.to_owned(),
        chip_id,
        role: spec.role.as_str().to_owned(),
        site,
        country: spec.country.to_owned(),
        lat: spec.at.lat,
        lon: spec.at.lon,
        decidable,
        evidence: evidence.to_owned(),
        expected: expected.to_owned(),
    }
}

/// Builds the ground truth of a fleet under a policy: every chip, then every simulated GPU.
///
/// A GPU is judged like a chip, with two differences: the audit subtracts the registry's
/// endorsed minimum ([`GPU_FLOOR_NS`], exactly the simulated GPU's floor) rather than the chips'
/// [`MIN_RESPONSE_NS`], and its RTTs hold a software P-384 signature and a 4 KB report on top of
/// the floor, so it gets the P-384 chips' slack ([`P384_SLACK_NS`]). The honest GPU in Ashburn
/// is decidable even so (landmarks of both operators within 600 km, no forbidden country within
/// 4 000 km); the one smuggled to Hong Kong can never be verified, since every bound holds its
/// true position.
pub fn ground_truth(
    fleet: &Fleet,
    policy: &Policy,
    world: &World,
) -> Result<Vec<ChipTruth>, DemoError> {
    let mut out = Vec::new();
    for (c, chip) in fleet.chips.iter().enumerate() {
        let spec = chip.spec;
        let slack = if super::scenario::P384_CHIPS.contains(&spec.name) {
            RTT_SLACK_NS + P384_SLACK_NS
        } else {
            RTT_SLACK_NS
        };
        let delay = |l: usize| fleet.chip_delay_ns(l, c, Board::Primary);
        let decidable = spec.role == Role::Honest
            && decidable(fleet, (policy, world), &delay, slack, MIN_RESPONSE_NS)?;
        let id = chip.cert.body.chip_id.to_string();
        out.push(chip_truth(spec, id, decidable, LIGHTCONE_EVIDENCE));
    }
    for (g, gpu) in fleet.gpus.iter().enumerate() {
        let delay = |l: usize| fleet.gpu_delay_ns(l, g);
        let slack = RTT_SLACK_NS + P384_SLACK_NS;
        let decidable = gpu.spec.role == Role::Honest
            && decidable(fleet, (policy, world), &delay, slack, GPU_FLOOR_NS)?;
        let id = gpu.chip_id.to_string();
        out.push(chip_truth(gpu.spec, id, decidable, SPDM_EVIDENCE));
    }
    Ok(out)
}

/// One chip: truth next to the audit.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// The ground truth.
    #[serde(flatten)]
    pub truth: ChipTruth,
    /// The audit's status.
    pub status: String,
    /// The audit's reason.
    pub reason: String,
    /// Kinds of the findings about this chip.
    pub findings: Vec<String>,
    /// Whether the audit matched the truth.
    pub ok: bool,
}

/// The comparison of the audit with the ground truth.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    /// One row per chip.
    pub chips: Vec<Row>,
    /// Every mismatch, as a sentence (empty when the audit matches the truth exactly).
    pub failures: Vec<String>,
    /// Honest chips (silent excluded).
    pub honest: usize,
    /// Honest chips that were verified.
    pub honest_verified: usize,
    /// Honest chips the physics can decide.
    pub decidable: usize,
    /// Decidable honest chips that were verified.
    pub decidable_verified: usize,
    /// Name of the mispositioned landmark.
    pub mispositioned_landmark: String,
    /// Landmarks the audit flagged as mispositioned (names).
    pub flagged_landmarks: Vec<String>,
}

impl Comparison {
    /// Whether the audit matched the ground truth exactly.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    /// The comparison as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}

/// What is wrong with how the report shows a simulated GPU: it must be there, with a P-384 key,
/// SPDM evidence, its X.509 root as vendor and the model the registry endorsed.
fn gpu_identity_problems(chip: Option<&crate::audit::model::ChipReport>) -> Vec<String> {
    let Some(c) = chip else {
        return vec!["GPU missing from the report".into()];
    };
    let expected = [
        (
            "key algorithm",
            c.key_algorithm.as_str(),
            "ecdsa-p384-sha384",
        ),
        ("evidence", c.evidence.as_str(), SPDM_EVIDENCE),
        ("vendor", c.vendor.as_str(), GPU_ROOT),
        ("model", c.model.as_str(), GPU_MODEL),
    ];
    expected
        .iter()
        .filter(|(_, got, want)| got != want)
        .map(|(what, got, want)| format!("GPU {what} {got:?}, expected {want:?}"))
        .collect()
}

/// Compares an audit report with the ground truth.
pub fn compare(truth: &[ChipTruth], fleet: &Fleet, report: &AuditReport) -> Comparison {
    let mut failures = Vec::new();
    let mut rows = Vec::new();
    let (mut honest, mut honest_verified, mut decidable, mut decidable_verified) = (0, 0, 0, 0);
    for t in truth {
        let chip = report.chips.iter().find(|c| c.chip_id == t.chip_id);
        let (status, reason) = chip.map_or((None, String::new()), |c| {
            (Some(c.status), c.reason.clone())
        });
        let kinds: Vec<FindingKind> = report
            .findings
            .iter()
            .filter(|f| f.chip_id.as_deref() == Some(t.chip_id.as_str()))
            .map(|f| f.kind)
            .collect();
        let has = |k: FindingKind| kinds.contains(&k);
        // Findings about the evidence (one operator's word, landmark clocks) are not against
        // the chip.
        let against: Vec<FindingKind> = kinds
            .iter()
            .copied()
            .filter(|k| {
                !matches!(
                    k,
                    FindingKind::UncorroboratedEvidence | FindingKind::TimingConflict
                )
            })
            .collect();
        let mut problems: Vec<String> = Vec::new();
        if t.evidence == SPDM_EVIDENCE {
            problems.extend(gpu_identity_problems(chip));
        }
        match t.role.as_str() {
            "honest" => {
                honest += 1;
                honest_verified += usize::from(status == Some(ChipStatus::Verified));
                if t.decidable {
                    decidable += 1;
                    // A decidable honest chip must prove compliance. On a busy 2-core machine the
                    // last cycle's probes can be late or skipped, so its newest epoch may be
                    // weaker than the others and freshness (one epoch here) lapses: that chip is
                    // reported unverified but did prove compliance in the run, which is accepted;
                    // never proving it is a failure. The share counts only "verified".
                    let proved =
                        chip.is_some_and(|c| c.epochs.iter().any(|e| e.verdict == "compliant"));
                    if status == Some(ChipStatus::Verified) {
                        decidable_verified += 1;
                    } else if !(status == Some(ChipStatus::Unverified) && proved) {
                        problems.push("decidable honest chip not verified".into());
                    }
                } else if !matches!(status, Some(ChipStatus::Verified | ChipStatus::Unverified)) {
                    problems.push("honest chip neither verified nor unverified".into());
                }
                // Silence is expected of an undecidable chip that no more than `f` operators
                // bound (e.g. one operator's landmarks near Sydney): its evidence is as absent
                // as a silent chip's. A decidable chip must have none.
                let excused = |k: &FindingKind| !t.decidable && *k == FindingKind::Silence;
                if against.iter().any(|k| !excused(k)) {
                    problems.push("findings against an honest chip".into());
                }
            }
            "silent" => {
                if status == Some(ChipStatus::Verified) || status.is_none() {
                    problems.push("silent chip verified (or missing)".into());
                }
                if !has(FindingKind::Silence) {
                    problems.push("no silence finding".into());
                }
            }
            "smuggled" => {
                if !matches!(status, Some(ChipStatus::Unverified | ChipStatus::Violation)) {
                    problems.push("smuggled chip not unverified/violation".into());
                }
                let lied_for = fleet
                    .liar_target()
                    .and_then(|c| fleet.chips.get(c))
                    .is_some_and(|c| c.cert.body.chip_id.to_string() == t.chip_id);
                let named = report.findings.iter().any(|f| {
                    f.kind == FindingKind::UncorroboratedEvidence
                        && f.chip_id.as_deref() == Some(t.chip_id.as_str())
                        && f.detail.contains(super::scenario::LIAR_OPERATOR)
                });
                if lied_for && !named {
                    problems.push("the lying operator's evidence is not named".into());
                }
            }
            "clone" => {
                if !matches!(status, Some(ChipStatus::Invalid | ChipStatus::Inconsistent)) {
                    problems.push("clone not invalid/inconsistent".into());
                }
                if !has(FindingKind::CounterRollback) {
                    problems.push("no counter-rollback finding".into());
                }
                if !has(FindingKind::ImpossibleTravel) {
                    problems.push("no impossible-travel finding".into());
                }
            }
            _ => {}
        }
        let status_text = status.map_or("missing", ChipStatus::as_str).to_owned();
        for p in &problems {
            failures.push(format!(
                "{} ({}): {p}: status {status_text}, {reason}",
                t.name, t.role
            ));
        }
        let mut names: Vec<String> = kinds.iter().map(|k| format!("{k:?}")).collect();
        names.dedup();
        rows.push(Row {
            truth: t.clone(),
            status: status_text,
            reason,
            findings: names,
            ok: problems.is_empty(),
        });
    }

    // Landmarks: exactly the mispositioned one is flagged.
    let bad = fleet.mispositioned();
    let mut flagged = Vec::new();
    let mut mispositioned_name = String::new();
    for (l, lm) in fleet.landmarks.iter().enumerate() {
        let id = lm.cert.body.landmark_id.to_string();
        let finding = report.findings.iter().any(|f| {
            f.kind == FindingKind::MispositionedLandmark
                && f.landmark_id.as_deref() == Some(id.as_str())
        });
        let status = report
            .landmarks
            .iter()
            .find(|r| r.landmark_id == id)
            .map(|r| r.status.clone())
            .unwrap_or_default();
        if finding || status == "excluded" {
            flagged.push(lm.name.clone());
        }
        if l == bad {
            mispositioned_name = lm.name.clone();
            if !finding || status != "excluded" {
                failures.push(format!(
                    "landmark {} (mispositioned) was not flagged",
                    lm.name
                ));
            }
        } else if finding || status == "excluded" {
            failures.push(format!(
                "honest landmark {} was flagged as mispositioned",
                lm.name
            ));
        }
    }
    Comparison {
        chips: rows,
        failures,
        honest,
        honest_verified,
        decidable,
        decidable_verified,
        mispositioned_landmark: mispositioned_name,
        flagged_landmarks: flagged,
    }
}
