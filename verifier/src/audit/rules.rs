//! The audit's rules: the `[audit]` table of the policy file (the geographic part of the same
//! file is read by [`crate::geo::Policy`]).
//!
//! ```toml
//! [audit]
//! epoch_minutes = 15        # measurements of one chip within one window form an epoch
//! freshness_hours = 24      # a compliant epoch this recent makes a chip "verified"
//! heartbeat_hours = 6       # a longer gap without a valid epoch is reported as silence
//! max_travel_kmh = 1000     # faster apparent movement between epochs is impossible travel
//! landmark_confirmation_km = 500   # optional: a landmark's caps count only when other
//!                           # operators pin its position within this distance
//! clock_skew_ms = 1000      # tolerated wall-clock disagreement between landmarks
//! processing = "endorsed-minimum"  # or "self-reported" (opt-in; see DESIGN §3)
//! ```

use std::path::Path;

use lightcone::ProcessingCredit;
use serde::Deserialize;

use super::AuditError;

/// The audit rules after defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AuditRules {
    /// Epoch length, ns.
    pub epoch_ns: u64,
    /// Freshness window for "verified", ns.
    pub freshness_ns: u64,
    /// Longest allowed gap between valid epochs, ns.
    pub heartbeat_ns: u64,
    /// Fastest plausible transport, metres per second.
    pub max_travel_m_per_s: f64,
    /// A landmark's caps count only when other operators confirm its position within this
    /// many metres (`None`: not required).
    pub landmark_confirmation_m: Option<f64>,
    /// Tolerated wall-clock disagreement between landmarks, ns.
    pub clock_skew_ns: u64,
    /// Whether self-reported processing time is credited.
    pub credit: ProcessingCredit,
}

impl Default for AuditRules {
    fn default() -> Self {
        AuditRules {
            epoch_ns: 15 * 60 * 1_000_000_000,
            freshness_ns: 24 * 3600 * 1_000_000_000,
            heartbeat_ns: 6 * 3600 * 1_000_000_000,
            max_travel_m_per_s: 1000.0 / 3.6,
            landmark_confirmation_m: None,
            clock_skew_ns: 1_000_000_000,
            credit: ProcessingCredit::EndorsedMinimum,
        }
    }
}

#[derive(Deserialize)]
struct PolicyAuditPart {
    #[serde(default)]
    audit: Option<AuditTable>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditTable {
    epoch_minutes: Option<f64>,
    freshness_hours: Option<f64>,
    heartbeat_hours: Option<f64>,
    max_travel_kmh: Option<f64>,
    min_landmarks: Option<toml::Value>,
    landmark_confirmation_km: Option<f64>,
    clock_skew_ms: Option<f64>,
    processing: Option<String>,
}

impl AuditRules {
    /// Reads the `[audit]` table of a policy text; every key is optional.
    pub fn from_toml_str(text: &str) -> Result<Self, AuditError> {
        let part: PolicyAuditPart =
            toml::from_str(text).map_err(|e| AuditError::Rules(e.to_string()))?;
        let mut rules = AuditRules::default();
        let Some(t) = part.audit else {
            return Ok(rules);
        };
        let seconds = |name: &str, v: f64, unit_s: f64| -> Result<u64, AuditError> {
            if !v.is_finite() || v <= 0.0 || v * unit_s > 1e9 {
                return Err(AuditError::Rules(format!(
                    "{name} = {v}: must be a positive number"
                )));
            }
            Ok((v * unit_s * 1e9).round() as u64)
        };
        if let Some(v) = t.epoch_minutes {
            rules.epoch_ns = seconds("epoch_minutes", v, 60.0)?;
        }
        if let Some(v) = t.freshness_hours {
            rules.freshness_ns = seconds("freshness_hours", v, 3600.0)?;
        }
        if let Some(v) = t.heartbeat_hours {
            rules.heartbeat_ns = seconds("heartbeat_hours", v, 3600.0)?;
        }
        if let Some(v) = t.clock_skew_ms {
            rules.clock_skew_ns = seconds("clock_skew_ms", v, 1e-3)?;
        }
        if let Some(v) = t.max_travel_kmh {
            if !v.is_finite() || v <= 0.0 {
                return Err(AuditError::Rules(format!(
                    "max_travel_kmh = {v}: must be positive"
                )));
            }
            rules.max_travel_m_per_s = v / 3.6;
        }
        if t.min_landmarks.is_some() {
            return Err(AuditError::Rules(
                "min_landmarks is gone: a quorum is implied by `faulty_operators = N` (top level of \
                 the policy; default 1), which needs caps from N + 1 operators and tolerates N lying; \
                 remove min_landmarks"
                    .into(),
            ));
        }
        if let Some(v) = t.landmark_confirmation_km {
            if !v.is_finite() || v <= 0.0 {
                return Err(AuditError::Rules(format!(
                    "landmark_confirmation_km = {v}: must be positive"
                )));
            }
            rules.landmark_confirmation_m = Some(v * 1000.0);
        }
        if let Some(p) = t.processing {
            rules.credit = match p.as_str() {
                "endorsed-minimum" => ProcessingCredit::EndorsedMinimum,
                "self-reported" => ProcessingCredit::TrustSelfReported,
                other => {
                    return Err(AuditError::Rules(format!(
                        "processing = {other:?}: use \"endorsed-minimum\" or \"self-reported\""
                    )))
                }
            };
        }
        Ok(rules)
    }

    /// Reads the `[audit]` table of a policy file.
    pub fn load(path: &Path) -> Result<Self, AuditError> {
        let text = crate::bounded_file::read_to_string(
            path,
            crate::bounded_file::CONFIG_MAX,
            crate::bounded_file::Links::Follow,
        )
        .map_err(|source| AuditError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml_str(&text)
            .map_err(|e| AuditError::Rules(format!("{}: {e}", path.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        assert_eq!(
            AuditRules::from_toml_str("permitted = [\"*\"]").unwrap(),
            AuditRules::default()
        );
        let r = AuditRules::from_toml_str(
            "[audit]\nepoch_minutes = 1\nlandmark_confirmation_km = 3\nprocessing = \"self-reported\"",
        )
        .unwrap();
        assert_eq!(r.epoch_ns, 60_000_000_000);
        assert_eq!(r.landmark_confirmation_m, Some(3000.0));
        let old = AuditRules::from_toml_str("[audit]\nmin_landmarks = 3").unwrap_err();
        assert!(old.to_string().contains("faulty_operators"), "{old}");
        assert_eq!(r.credit, ProcessingCredit::TrustSelfReported);
        assert!(AuditRules::from_toml_str("[audit]\nepoch_minutes = -1").is_err());
        assert!(AuditRules::from_toml_str("[audit]\nepoch_minute = 1").is_err());
        assert!(AuditRules::from_toml_str("[audit]\nprocessing = \"chip\"").is_err());
    }
}
