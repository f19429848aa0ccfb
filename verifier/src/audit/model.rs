//! What an audit finds, as plain data: the terminal summary, the JSON and the HTML report are
//! all renderings of one [`AuditReport`].

use serde::Serialize;

/// The whole result of auditing one log against trust roots and a policy.
#[derive(Clone, Debug, Serialize)]
pub struct AuditReport {
    /// The time the audit judged freshness and silence against (Unix ns): `--now` if given,
    /// else the wall clock.
    pub audit_time_ns: u64,
    /// Where the audit time came from.
    pub audit_time_from: AuditTimeSource,
    /// The log that was audited (the first one, when several were audited together).
    pub log: LogSummary,
    /// Every log audited, when several were audited together (empty for a one-log audit).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<LogSummary>,
    /// The rules that were applied.
    pub policy: PolicySummary,
    /// Counts over every entry.
    pub counts: Counts,
    /// One row per chip seen in the log (certified or not), sorted by chip id.
    pub chips: Vec<ChipReport>,
    /// One row per landmark certificate in the log, sorted by landmark id.
    pub landmarks: Vec<LandmarkReport>,
    /// Every fraud signal and every rejected entry, in log order then by kind.
    pub findings: Vec<Finding>,
}

/// Where an audit's time came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuditTimeSource {
    /// The wall clock of the machine that ran the audit.
    WallClock,
    /// Given by the caller (`--now`), to re-audit the past.
    Given,
}

impl AuditTimeSource {
    /// In words, for reports.
    pub fn describe(self) -> &'static str {
        match self {
            AuditTimeSource::WallClock => "the wall clock",
            AuditTimeSource::Given => "given with --now",
        }
    }
}

/// The log's identity and size as its verified checkpoint states them.
#[derive(Clone, Debug, Serialize)]
pub struct LogSummary {
    /// The checkpoint's origin line.
    pub origin: String,
    /// Number of entries covered by the checkpoint.
    pub size: u64,
    /// The Merkle root, base64 as in the checkpoint.
    pub root_hash: String,
    /// The witnesses whose cosignatures on this checkpoint the audit checked (empty when the
    /// trust file names none).
    pub witnessed_by: Vec<String>,
}

/// The policy as applied (after defaults).
#[derive(Clone, Debug, Serialize)]
pub struct PolicySummary {
    /// Propagation speed used for distance bounds, m/s.
    pub speed_m_per_s: u64,
    /// False when the speed is below c: then the verdicts are unsound against microwave links.
    pub speed_sound_for_all_media: bool,
    /// Permitted regions as written.
    pub permitted: Vec<String>,
    /// Forbidden regions as written.
    pub forbidden: Vec<String>,
    /// Whether points in no country are allowed.
    pub sea_permitted: bool,
    /// Sea within this many nautical miles of a region that is not allowed is not allowed.
    pub sea_buffer_nm: f64,
    /// How bare country codes are read (`EAR`: CN includes Hong Kong; or `ISO`).
    pub names: String,
    /// Length of an attestation epoch, seconds.
    pub epoch_s: u64,
    /// How recent a compliant epoch must be for a chip to count as verified, seconds.
    pub freshness_s: u64,
    /// Longest allowed gap without a valid epoch, seconds.
    pub heartbeat_s: u64,
    /// Fastest plausible transport of a chip, km/h (impossible-travel check).
    pub max_travel_kmh: f64,
    /// Whether the chip's self-reported processing time was credited (policy opt-in).
    pub credit_self_reported_processing: bool,
    /// With self-reported processing credited: the most radius one cap can lose to it, km
    /// (the largest endorsed `max_processing_ns` in the log, times c / 2).
    pub self_reported_worst_case_km: Option<f64>,
    /// How many landmark operators may be faulty; every verdict holds whatever they sign.
    pub faulty_operators: usize,
    /// Landmarks need confirmation within this distance by other operators for their caps to
    /// count, km (policy option; `None`: not required).
    pub landmark_confirmation_km: Option<f64>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Counts over the log.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Counts {
    /// Entries read.
    pub entries: u64,
    /// Measurement entries.
    pub measurements: u64,
    /// Measurements that passed every check and entered a verdict.
    pub measurements_accepted: u64,
    /// Device certificate entries (repeats included).
    pub device_certificates: u64,
    /// Landmark certificate entries (repeats included).
    pub landmark_certificates: u64,
    /// GPU certificate chain entries (repeats included); omitted when 0.
    #[serde(skip_serializing_if = "is_zero")]
    pub gpu_chains: u64,
    /// Registry model endorsement entries (repeats included); omitted when 0.
    #[serde(skip_serializing_if = "is_zero")]
    pub model_endorsements: u64,
    /// Signatures verified (each measurement carries two).
    pub signatures_verified: u64,
    /// Entries rejected, for any reason (each has a finding).
    pub rejected: u64,
}

/// A chip's standing over the audit period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChipStatus {
    /// A compliant epoch within the freshness window, and nothing against the chip.
    Verified,
    /// No compliant epoch within the freshness window: absence of proof is the signal.
    Unverified,
    /// An epoch whose whole feasible region is outside what the policy allows.
    Violation,
    /// Its measurements contradict each other (cloned key or lying landmark).
    Inconsistent,
    /// A signature, certificate, counter or nonce check failed for this chip.
    Invalid,
}

impl ChipStatus {
    /// The status as an IETF RATS trustworthiness tier (draft-ietf-rats-ar4si-09): verified
    /// affirms; a violation or an invalid chip is contraindicated; unverified and
    /// inconsistent warn; a chip never measured has no claim (`none`).
    pub fn rats_tier(self, measured: bool) -> &'static str {
        match self {
            ChipStatus::Verified => "affirming",
            ChipStatus::Violation | ChipStatus::Invalid => "contraindicated",
            ChipStatus::Unverified if !measured => "none",
            ChipStatus::Unverified | ChipStatus::Inconsistent => "warning",
        }
    }

    /// The status as one lower-case word.
    pub fn as_str(self) -> &'static str {
        match self {
            ChipStatus::Verified => "verified",
            ChipStatus::Unverified => "unverified",
            ChipStatus::Violation => "violation",
            ChipStatus::Inconsistent => "inconsistent",
            ChipStatus::Invalid => "invalid",
        }
    }
}

/// One chip's row.
#[derive(Clone, Debug, Serialize)]
pub struct ChipReport {
    /// Chip id, hex.
    pub chip_id: String,
    /// Model name from the device certificate (empty if the chip has no valid certificate).
    pub model: String,
    /// Name of the vendor root that certified it (empty if none).
    pub vendor: String,
    /// The device key's algorithm (`ed25519`, `ecdsa-p384-sha384`, `ecdsa-p256-sha256`; empty
    /// if the chip has no valid certificate).
    pub key_algorithm: String,
    /// What the chip answers challenges with: `lightcone-response` (a signed lightcone
    /// response; empty if the chip has no valid certificate).
    pub evidence: String,
    /// The chip's standing.
    pub status: ChipStatus,
    /// The standing as an IETF RATS trustworthiness tier (draft-ietf-rats-ar4si-09):
    /// `affirming`, `warning`, `contraindicated` or `none`.
    pub rats_tier: &'static str,
    /// For a verified chip: the one country that holds every place its latest compliant
    /// epoch allows, as the `grc.jurisdiction-country` claim of
    /// draft-richardson-rats-geographic-results-01 (ISO alpha-2), when there is one.
    pub jurisdiction: Option<String>,
    /// Why, in one sentence a person can read.
    pub reason: String,
    /// For a chip compliant within the freshness window: the most faulty operators its latest
    /// compliant epoch tolerates ("holds with any one operator lying" is 1).
    pub robustness: Option<usize>,
    /// Start of the latest compliant epoch (Unix ns), if any.
    pub last_compliant_ns: Option<u64>,
    /// Accepted measurements of this chip.
    pub measurements: u64,
    /// Rejected measurements of this chip.
    pub rejected: u64,
    /// The chip's epochs, oldest first.
    pub epochs: Vec<EpochReport>,
}

/// One attestation epoch of one chip.
#[derive(Clone, Debug, Serialize)]
pub struct EpochReport {
    /// Epoch start, Unix ns (inclusive).
    pub start_ns: u64,
    /// Epoch end, Unix ns (exclusive).
    pub end_ns: u64,
    /// `compliant`, `violation`, `inconclusive` or `inconsistent`, on the places the chip may
    /// be when up to `faulty_operators` operators are faulty.
    pub verdict: String,
    /// The verdict as an IETF RATS trustworthiness tier (see [`ChipReport::rats_tier`]).
    pub rats_tier: &'static str,
    /// The `f` the verdict was computed for.
    pub faulty_operators: usize,
    /// Operators whose caps constrain the position (a cap of a hemisphere or more does not).
    pub constraining_operators: usize,
    /// The largest f for which the epoch is compliant (`None`: not even trusting everyone).
    pub robustness: Option<usize>,
    /// For `inconclusive`: a point of the feasible region that is not allowed.
    pub witness: Option<WitnessReport>,
    /// The best (smallest) distance bound per landmark.
    pub caps: Vec<CapReport>,
    /// A representative point and an enclosing circle of the feasible region (none if empty).
    pub region: Option<RegionReport>,
}

/// A point that is not allowed.
#[derive(Clone, Debug, Serialize)]
pub struct WitnessReport {
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// The region the point lies in (country label), or `sea`.
    pub region: String,
}

/// One landmark's bound within an epoch.
#[derive(Clone, Debug, Serialize)]
pub struct CapReport {
    /// Landmark id, hex.
    pub landmark_id: String,
    /// Its operator.
    pub operator: String,
    /// Landmark latitude, degrees (as its certificates valid at the measurement gave it).
    pub lat: f64,
    /// Landmark longitude, degrees.
    pub lon: f64,
    /// The distance bound, metres.
    pub radius_m: u64,
    /// The RTT that gave it, ns.
    pub rtt_ns: u64,
    /// How many measurements this landmark made in the epoch.
    pub measurements: u32,
}

/// Where the feasible region is, for maps and travel checks.
#[derive(Clone, Debug, Serialize)]
pub struct RegionReport {
    /// A point of the region: latitude, degrees.
    pub lat: f64,
    /// A point of the region: longitude, degrees.
    pub lon: f64,
    /// Centre of a circle containing the region: latitude, degrees.
    pub circle_lat: f64,
    /// Centre of a circle containing the region: longitude, degrees.
    pub circle_lon: f64,
    /// Radius of that circle, metres.
    pub circle_radius_m: f64,
}

/// A landmark's row.
#[derive(Clone, Debug, Serialize)]
pub struct LandmarkReport {
    /// Landmark id, hex.
    pub landmark_id: String,
    /// Its operator (registry-certified).
    pub operator: String,
    /// Registered latitude, degrees (of its latest certificate).
    pub lat: f64,
    /// Registered longitude, degrees.
    pub lon: f64,
    /// Registered position uncertainty, metres.
    pub uncertainty_m: u32,
    /// Measurements it signed that were accepted.
    pub measurements: u64,
    /// Cross-checks against other landmarks: (checked, failed).
    pub cross_checks: (u64, u64),
    /// Distinct other operators whose landmarks measured it consistently.
    pub confirming_operators: usize,
    /// Its true position is within this many metres of the registered one, whatever the
    /// faulty operators sign (`None`: not confirmed by enough other operators).
    pub confirmed_within_m: Option<f64>,
    /// `ok` (confirmed by more operators than may be faulty), `unconfirmed`, or `excluded`
    /// when its caps do not count (convicted, or not confirmed as the policy requires).
    pub status: String,
    /// Why it was excluded, if it was.
    pub reason: Option<String>,
}

/// What kind of problem a finding reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// An entry is not a canonical log record.
    MalformedEntry,
    /// A certificate failed verification against the trust roots.
    InvalidCertificate,
    /// A measurement names a chip or landmark with no valid certificate in the log.
    UnknownCertificate,
    /// A landmark or chip signature failed.
    InvalidSignature,
    /// A measurement's time is outside its certificates' validity or after the audit time.
    TimestampOutOfRange,
    /// The same challenge (landmark, nonce) appears more than once.
    NonceReuse,
    /// A chip's counter went backwards or repeated: a cloned key or a reset device.
    CounterRollback,
    /// Two epochs of one chip are farther apart than plausible transport allows.
    ImpossibleTravel,
    /// A chip had no valid epoch for longer than the heartbeat.
    Silence,
    /// A landmark's RTT to another landmark is faster than light for their registered
    /// positions: one of the two is faulty (blamed on the measurer unless seen both ways).
    ImpossibleRtt,
    /// Evidence from more than `f` other operators convicts a landmark: it is not where it is
    /// registered, or lies about time, and its measurements are excluded.
    MispositionedLandmark,
    /// A measurement was excluded because its landmark is convicted or unconfirmed.
    ExcludedMeasurement,
    /// Certificates of one landmark valid at one time name different operators.
    ConflictingCertificates,
    /// One chip key certified by several vendor roots: the chip cannot be verified.
    ConflictingIssuers,
    /// Counter order contradicts landmark clocks, but as few as `f` operators' clocks could
    /// have forged it: reported with the landmarks, not blamed on the chip.
    TimingConflict,
    /// An epoch's region is compliant (or empty) only on one operator's word: what a lying
    /// operator's evidence looks like.
    UncorroboratedEvidence,
    /// The newest measurement of the log is older than the freshness window at the audit
    /// time: the log is frozen or withheld, and no chip can be verified from it.
    StaleLog,
}

/// One fraud signal or rejected entry.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// What kind of problem.
    pub kind: FindingKind,
    /// The chip concerned, hex.
    pub chip_id: Option<String>,
    /// The landmark concerned, hex.
    pub landmark_id: Option<String>,
    /// The log entry concerned (its index in the log named by `log_origin`).
    pub log_index: Option<u64>,
    /// The log the entry is in: set only when several logs are audited together (a one-log
    /// report is unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_origin: Option<String>,
    /// A sentence a person can read.
    pub detail: String,
}
