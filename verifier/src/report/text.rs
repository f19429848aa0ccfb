//! The terminal summary: what a regulator reads first, in plain text (no colour codes), every
//! line shorter than 100 characters.

use super::{coord, duration, kind_meaning, kind_name, names, speed, status_counts, utc};
use crate::audit::model::{AuditReport, ChipStatus, FindingKind};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Longest line the summary writes, in characters.
pub const WIDTH: usize = 96;

/// Findings of one kind the terminal summary lists (the reports list up to
/// [`crate::audit::capped::FINDINGS_PER_KIND`]).
const TEXT_FINDINGS_PER_KIND: usize = 10;

/// A stale log is said before anything else: no chip can be verified from it.
fn stale_log_banner(o: &mut String, report: &AuditReport) {
    let Some(stale) = report
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::StaleLog)
    else {
        return;
    };
    line(o, "", &"!".repeat(WIDTH));
    line(
        o,
        "",
        "!! STALE LOG: THIS LOG HAS NOT BEEN UPDATED WITHIN THE FRESHNESS WINDOW.",
    );
    line(o, "", &format!("!! {}.", stale.detail));
    line(o, "", &"!".repeat(WIDTH));
    line(o, "", "");
}

/// The audit as a plain-text summary: log, policy (with a loud warning if the speed is below c),
/// counts, chips by status, every chip that is not verified with its reason, fraud signals
/// grouped by kind, and landmark health. Lines are at most [`WIDTH`] characters.
pub fn summary(report: &AuditReport) -> String {
    let mut out = String::new();
    let o = &mut out;
    line(
        o,
        "",
        &format!(
            "lightcone audit at {} ({})",
            utc(report.audit_time_ns),
            report.audit_time_from.describe()
        ),
    );
    line(o, "", "");
    stale_log_banner(o, report);
    let log = &report.log;
    if report.logs.is_empty() {
        line(o, "log", &format!("{} · {} entries", log.origin, log.size));
        line(o, "root", &log.root_hash);
    } else {
        for l in &report.logs {
            line(
                o,
                "log",
                &format!("{} · {} entries · root {}", l.origin, l.size, l.root_hash),
            );
        }
    }
    if !log.witnessed_by.is_empty() {
        line(o, "witnesses", &log.witnessed_by.join(", "));
    }

    let p = &report.policy;
    line(o, "policy", &format!("permitted: {}", names(&p.permitted)));
    line(o, "", &format!("forbidden: {}", names(&p.forbidden)));
    line(o, "", &format!("names: {}", p.names));
    line(o, "", &format!("sea (no country): {}", super::sea_rule(p)));
    line(o, "", &format!("speed {}", speed(p.speed_m_per_s)));
    line(
        o,
        "",
        &format!(
            "epoch {} · freshness {} · heartbeat {} · max travel {} km/h",
            duration(p.epoch_s),
            duration(p.freshness_s),
            duration(p.heartbeat_s),
            p.max_travel_kmh
        ),
    );
    let credit = if p.credit_self_reported_processing {
        "credited"
    } else {
        "not credited"
    };
    line(o, "", &format!("self-reported processing time: {credit}"));
    let trust = if p.faulty_operators == 0 {
        "0 (every landmark is trusted)".to_owned()
    } else {
        format!(
            "{} (verdicts hold whatever {} landmark operator(s) sign)",
            p.faulty_operators, p.faulty_operators
        )
    };
    line(o, "", &format!("faulty operators tolerated: {trust}"));
    if let Some(km) = p.self_reported_worst_case_km {
        line(o, "", "");
        line(o, "", &"!".repeat(WIDTH));
        line(
            o,
            "",
            &format!(
                "!! WARNING: self-reported processing time is credited (policy opt-in). The chip's \
                 owner controls that clock: each cap may be up to {km:.0} km too small."
            ),
        );
        line(o, "", &"!".repeat(WIDTH));
    }
    if !p.speed_sound_for_all_media {
        line(o, "", "");
        line(o, "", &"!".repeat(WIDTH));
        line(
            o,
            "",
            "!! WARNING: speed below c: unsound against microwave links.",
        );
        line(
            o,
            "",
            "!! A chip reached over a faster medium than the policy assumes can be farther away \
             than its regions say; a compliant verdict under this policy is not proof.",
        );
        line(o, "", &"!".repeat(WIDTH));
    }
    line(o, "", "");

    let c = &report.counts;
    line(
        o,
        "counts",
        &format!(
            "{} entries · {} measurements ({} accepted) · {} rejected",
            c.entries, c.measurements, c.measurements_accepted, c.rejected
        ),
    );
    line(
        o,
        "",
        &format!(
            "{} device certificates · {} landmark certificates · {} signatures verified",
            c.device_certificates, c.landmark_certificates, c.signatures_verified
        ),
    );
    line(o, "", "");

    let by_status: Vec<String> = status_counts(report)
        .iter()
        .map(|(s, n)| format!("{} {n}", s.as_str()))
        .collect();
    line(
        o,
        "chips",
        &format!("{} · {}", report.chips.len(), by_status.join(" · ")),
    );
    let mut not_verified: Vec<_> = report
        .chips
        .iter()
        .filter(|c| c.status != ChipStatus::Verified)
        .collect();
    not_verified.sort_by_key(|c| super::STATUS_ORDER.iter().position(|&s| s == c.status));
    let robust: Vec<String> = (0..=crate::geo::MAX_FAULTY_OPERATORS)
        .filter_map(|f| {
            let n = report
                .chips
                .iter()
                .filter(|c| c.status == ChipStatus::Verified && c.robustness == Some(f))
                .count();
            (n > 0).then(|| format!("{n} hold with {f} operator(s) lying"))
        })
        .collect();
    if !robust.is_empty() {
        line(o, "", &format!("verified chips: {}", robust.join(" · ")));
    }
    let tally = |field: fn(&crate::audit::model::ChipReport) -> &str| {
        let mut by: BTreeMap<&str, usize> = BTreeMap::new();
        for c in &report.chips {
            let name = field(c);
            *by.entry(if name.is_empty() { "uncertified" } else { name })
                .or_default() += 1;
        }
        by.iter()
            .map(|(name, n)| format!("{n} {name}"))
            .collect::<Vec<_>>()
            .join(" · ")
    };
    if !report.chips.is_empty() {
        line(
            o,
            "",
            &format!(
                "device keys: {} · evidence: {}",
                tally(|c| &c.key_algorithm),
                tally(|c| &c.evidence)
            ),
        );
    }
    if not_verified.is_empty() {
        line(o, "", "every chip is verified");
    } else {
        line(o, "", &format!("not verified ({}):", not_verified.len()));
        for chip in not_verified {
            let mut head = format!(
                "{:<13} {}",
                chip.status.as_str().to_uppercase(),
                chip.chip_id
            );
            if !chip.model.is_empty() || !chip.vendor.is_empty() {
                let _ = write!(head, "  {} {}", chip.vendor, chip.model);
            }
            if !chip.key_algorithm.is_empty() {
                let _ = write!(head, "  [{}, {}]", chip.key_algorithm, chip.evidence);
            }
            line(o, "", head.trim_end());
            line(o, "", &format!("{:14}{}", "", chip.reason));
            let last = chip
                .last_compliant_ns
                .map_or_else(|| "never".to_owned(), utc);
            line(o, "", &format!("{:14}last compliant epoch: {last}", ""));
        }
    }
    line(o, "", "");

    let mut groups: BTreeMap<FindingKind, Vec<&crate::audit::model::Finding>> = BTreeMap::new();
    for f in &report.findings {
        groups.entry(f.kind).or_default().push(f);
    }
    if groups.is_empty() {
        line(o, "findings", "none: no fraud signal, no rejected entry");
    } else {
        line(
            o,
            "findings",
            &format!("{} ({} kinds)", report.findings.len(), groups.len()),
        );
        for (kind, list) in &groups {
            line(
                o,
                "",
                &format!(
                    "{} ×{}: {}",
                    kind_name(*kind),
                    list.len(),
                    kind_meaning(*kind)
                ),
            );
            for f in list.iter().take(TEXT_FINDINGS_PER_KIND) {
                let mut who = Vec::new();
                match (f.log_index, &f.log_origin) {
                    (Some(i), Some(origin)) => who.push(format!("entry {origin}#{i}")),
                    (Some(i), None) => who.push(format!("entry {i}")),
                    _ => {}
                }
                if let Some(id) = &f.chip_id {
                    who.push(format!("chip {id}"));
                }
                if let Some(id) = &f.landmark_id {
                    who.push(format!("landmark {id}"));
                }
                let who = if who.is_empty() {
                    String::new()
                } else {
                    format!("{}: ", who.join(", "))
                };
                line(o, "", &format!("  - {who}{}", f.detail));
            }
            if list.len() > TEXT_FINDINGS_PER_KIND {
                line(
                    o,
                    "",
                    &format!(
                        "  … {} more listed in the JSON and HTML reports",
                        list.len() - TEXT_FINDINGS_PER_KIND
                    ),
                );
            }
        }
    }
    line(o, "", "");

    let bad: Vec<_> = report
        .landmarks
        .iter()
        .filter(|l| l.status == "excluded")
        .collect();
    let unconfirmed = report
        .landmarks
        .iter()
        .filter(|l| l.status == "unconfirmed")
        .count();
    line(
        o,
        "landmarks",
        &format!(
            "{} · ok {} · unconfirmed by other operators {} · excluded {}",
            report.landmarks.len(),
            report.landmarks.len() - bad.len() - unconfirmed,
            unconfirmed,
            bad.len()
        ),
    );
    for l in bad {
        line(
            o,
            "",
            &format!(
                "{:<13} {} of {:?} at {} ±{} m",
                l.status.to_uppercase(),
                l.landmark_id,
                l.operator,
                coord(l.lat, l.lon),
                l.uncertainty_m
            ),
        );
        let why = l.reason.as_deref().unwrap_or("no reason given");
        line(
            o,
            "",
            &format!(
                "{:14}{why} (cross-checks: {} of {} failed)",
                "", l.cross_checks.1, l.cross_checks.0
            ),
        );
    }
    out
}

/// Appends `text` under a 10-column label, wrapped at word boundaries to [`WIDTH`] characters
/// (continuation lines indented like the first); a word longer than a line is cut.
fn line(out: &mut String, label: &str, text: &str) {
    let text = text.replace(['\n', '\r', '\t'], " ");
    let lead = text.len() - text.trim_start().len();
    let bullet = if text.trim_start().starts_with("- ") {
        2
    } else {
        0
    };
    let indent = 10 + lead + bullet;
    let mut current = format!("{label:<10}{}", &text[..lead]);
    let mut has_word = false;
    // Runs of spaces inside a line are kept (empty words), except at a wrap.
    for word in text[lead..].split(' ') {
        if word.is_empty() && !has_word {
            continue;
        }
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let used = current.chars().count();
            let room = WIDTH.saturating_sub(used + usize::from(has_word));
            if word.len() <= room {
                if has_word {
                    current.push(' ');
                }
                current.extend(word.iter());
                has_word = true;
                break;
            }
            if has_word {
                out.push_str(current.trim_end());
                out.push('\n');
                current = " ".repeat(indent);
                has_word = false;
                continue;
            }
            // A word longer than a whole line: cut it.
            let cut = room.max(1).min(word.len());
            current.extend(word.drain(..cut));
            out.push_str(&current);
            out.push('\n');
            current = " ".repeat(indent);
        }
    }
    out.push_str(current.trim_end());
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_wraps_below_the_width() {
        let mut s = String::new();
        let long = "word ".repeat(60) + &"x".repeat(250);
        line(&mut s, "label", &long);
        line(&mut s, "", &format!("  indented {long}"));
        for l in s.lines() {
            assert!(l.chars().count() <= WIDTH, "{l:?}");
        }
        assert_eq!(s.matches('x').count(), 500);
        assert_eq!(s.matches("word").count(), 120);
    }

    #[test]
    fn newlines_in_free_text_do_not_break_the_layout() {
        let mut s = String::new();
        line(&mut s, "", "a\nb\r\nc");
        assert_eq!(s, format!("{}a b  c\n", " ".repeat(10)));
        let mut s = String::new();
        line(&mut s, "x", "  A     B");
        assert_eq!(s, "x           A     B\n");
    }
}
