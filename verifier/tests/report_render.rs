//! The audit's renderings (terminal summary, JSON, HTML with a world map) over a hand-built,
//! realistic report: four landmarks (Frankfurt, Ashburn, Hong Kong, and a mispositioned one
//! claiming Singapore), three chips verified in Germany, one violation in China, two unverified
//! (one straddling the German-Polish border, one near Fiji across the antimeridian), and one
//! invalid chip with a counter rollback.

use lightcone_verifier::audit::model::{
    AuditReport, CapReport, ChipReport, ChipStatus, Counts, EpochReport, Finding, FindingKind,
    LandmarkReport, LogSummary, PolicySummary, RegionReport, WitnessReport,
};
use lightcone_verifier::geo::World;
use lightcone_verifier::report::{escape, render_html, summary, to_json, write_html, write_json};

const NOW: u64 = 1_795_687_200_000_000_000; // 2026-11-26 10:00:00 UTC
const HOUR: u64 = 3_600_000_000_000;

const FRA: &str = "aca621d2b04049cd12f2356ac3060b00";
const SIN: &str = "cccc68c7928e63feb966db96210f5f3b";
const IAD: &str = "becdc2ffbbc1d42c48c8c7eaf5b7fc58";
const HKG: &str = "9a4086cec1de66c136cc29d8ceb770a0";

const C_FRANKFURT: &str = "d0f631ca1ddba8db3bcfcb9e057cdc98";
const C_MUNICH: &str = "9c0abe51c6e6655d81de2d044d4fb194";
const C_BERLIN: &str = "7c1c97df17c066924822b0af09a65251";
const C_CHINA: &str = "0012a3fa000c5dc26ee658c3c58e12ce";
const C_BORDER: &str = "d0bf3e6ee1d668de18c9ca200a4f1520";
const C_CLONED: &str = "6db53c9d5a2ca72a85ddf3a681c0d956";
const C_FIJI: &str = "f28d5b0d6f8be0da8446dabe79044cb9";

fn cap(id: &str, lat: f64, lon: f64, radius_km: u64) -> CapReport {
    CapReport {
        landmark_id: id.to_owned(),
        operator: format!("operator of {id}"),
        lat,
        lon,
        radius_m: radius_km * 1000,
        rtt_ns: radius_km * 10_000,
        measurements: 4,
    }
}

fn epoch(
    hours_ago: u64,
    verdict: &str,
    region: Option<(f64, f64, f64)>,
    caps: Vec<CapReport>,
) -> EpochReport {
    EpochReport {
        start_ns: NOW - hours_ago * HOUR,
        end_ns: NOW - hours_ago * HOUR + HOUR,
        verdict: verdict.to_owned(),
        rats_tier: match verdict {
            "compliant" => "affirming",
            "violation" => "contraindicated",
            _ => "warning",
        },
        faulty_operators: 1,
        constraining_operators: caps.len(),
        robustness: (verdict == "compliant").then_some(1),
        witness: None,
        caps,
        region: region.map(|(lat, lon, r_km)| RegionReport {
            lat,
            lon,
            circle_lat: lat,
            circle_lon: lon,
            circle_radius_m: r_km * 1000.0,
        }),
    }
}

#[allow(clippy::too_many_arguments)]
fn chip(
    id: &str,
    status: ChipStatus,
    reason: &str,
    last_compliant_hours_ago: Option<u64>,
    epochs: Vec<EpochReport>,
) -> ChipReport {
    ChipReport {
        chip_id: id.to_owned(),
        model: "H200 SXM".to_owned(),
        vendor: "Example Silicon Root CA".to_owned(),
        key_algorithm: if id.ends_with('4') {
            "ecdsa-p384-sha384".to_owned()
        } else {
            "ed25519".to_owned()
        },
        evidence: "lightcone-response".to_owned(),
        status,
        rats_tier: status.rats_tier(true),
        jurisdiction: (status == ChipStatus::Verified).then(|| "DE".to_owned()),
        reason: reason.to_owned(),
        robustness: (status == ChipStatus::Verified).then_some(1),
        last_compliant_ns: last_compliant_hours_ago.map(|h| NOW - h * HOUR),
        measurements: 96,
        rejected: 0,
        epochs,
    }
}

/// The fixture: a small fleet as an audit of a real log would report it.
pub fn fixture() -> AuditReport {
    let eu_caps = || {
        vec![
            cap(FRA, 50.1109, 8.6821, 420),
            cap(IAD, 39.0438, -77.4874, 6900),
        ]
    };
    let mut chips = vec![
        chip(C_FRANKFURT, ChipStatus::Verified, "compliant epoch 1 h ago", Some(1), vec![
            epoch(2, "compliant", Some((50.3, 8.9, 170.0)), eu_caps()),
            epoch(1, "compliant", Some((50.3, 8.9, 160.0)), eu_caps()),
        ]),
        chip(C_MUNICH, ChipStatus::Verified, "compliant epoch 1 h ago", Some(1), vec![epoch(
            1,
            "compliant",
            Some((48.6, 11.2, 190.0)),
            eu_caps(),
        )]),
        chip(C_BERLIN, ChipStatus::Verified, "compliant epoch 2 h ago", Some(2), vec![epoch(
            2,
            "compliant",
            Some((52.0, 12.6, 150.0)),
            eu_caps(),
        )]),
        chip(
            C_CHINA,
            ChipStatus::Violation,
            "every point of the feasible region of the epoch at 2026-11-26 09:00 UTC is in CN, \
             a forbidden region",
            Some(70),
            vec![
                epoch(70, "compliant", Some((50.2, 8.7, 150.0)), eu_caps()),
                epoch(1, "violation", Some((31.0, 121.0, 380.0)), vec![
                    cap(HKG, 22.3193, 114.1694, 1700),
                    cap(FRA, 50.1109, 8.6821, 9100),
                ]),
            ],
        ),
        chip(
            C_BORDER,
            ChipStatus::Unverified,
            "no compliant epoch in the last 24 h: the region straddles the DE-PL border",
            Some(30),
            vec![epoch(30, "compliant", Some((51.5, 12.0, 140.0)), eu_caps()), {
                let mut e = epoch(1, "inconclusive", Some((52.2, 14.6, 260.0)), eu_caps());
                e.witness = Some(WitnessReport { lat: 52.3, lon: 16.1, region: "PL".to_owned() });
                e
            }],
        ),
        chip(
            C_CLONED,
            ChipStatus::Invalid,
            "counter went backwards at entry 4117 (from 1893 to 1204): a cloned key or a reset device",
            Some(5),
            vec![epoch(5, "compliant", Some((50.0, 8.5, 210.0)), eu_caps())],
        ),
        chip(
            C_FIJI,
            ChipStatus::Unverified,
            "never compliant: silent since 2026-11-25 04:00 UTC, last region near Fiji",
            None,
            vec![epoch(30, "inconclusive", Some((-17.8, 178.6, 650.0)), vec![cap(HKG, 22.3193, 114.1694, 9000)])],
        ),
    ];
    chips.sort_by(|a, b| a.chip_id.cmp(&b.chip_id));

    let lm = |id: &str, lat, lon, status: &str, reason: Option<&str>, failed| LandmarkReport {
        landmark_id: id.to_owned(),
        operator: format!("operator of {id}"),
        confirming_operators: if status == "ok" { 2 } else { 0 },
        confirmed_within_m: (status == "ok").then_some(1_250_000.0),
        lat,
        lon,
        uncertainty_m: 50,
        measurements: if status == "ok" { 412 } else { 0 },
        cross_checks: (6, failed),
        status: status.to_owned(),
        reason: reason.map(str::to_owned),
    };
    let mut landmarks = vec![
        lm(FRA, 50.1109, 8.6821, "ok", None, 0),
        lm(IAD, 39.0438, -77.4874, "ok", None, 0),
        lm(HKG, 22.3193, 114.1694, "ok", None, 0),
        lm(
            SIN,
            1.3521,
            103.8198,
            "excluded",
            Some("RTT 21.4 ms to the Frankfurt landmark is below the light-speed minimum 68.2 ms"),
            3,
        ),
    ];
    landmarks.sort_by(|a, b| a.landmark_id.cmp(&b.landmark_id));

    let finding =
        |kind, chip: Option<&str>, lm: Option<&str>, idx: Option<u64>, detail: &str| Finding {
            kind,
            chip_id: chip.map(str::to_owned),
            landmark_id: lm.map(str::to_owned),
            log_index: idx,
            log_origin: None,
            detail: detail.to_owned(),
        };
    let findings = vec![
        finding(FindingKind::InvalidSignature, None, Some(IAD), Some(1022), "landmark signature does not verify"),
        finding(
            FindingKind::MispositionedLandmark,
            None,
            Some(SIN),
            Some(2051),
            "RTT 21.4 ms to landmark aca621d2 is below the light-speed minimum 68.2 ms for 10 261 km",
        ),
        finding(
            FindingKind::ExcludedMeasurement,
            Some(C_CHINA),
            Some(SIN),
            Some(2230),
            "measurement by a mispositioned landmark excluded",
        ),
        finding(FindingKind::CounterRollback, Some(C_CLONED), None, Some(4117), "counter 1204 after 1893"),
        finding(FindingKind::Silence, Some(C_FIJI), None, None, "no valid epoch for 30 h (heartbeat 6 h)"),
    ];

    AuditReport {
        audit_time_ns: NOW,
        audit_time_from: lightcone_verifier::audit::model::AuditTimeSource::Given,
        log: LogSummary {
            origin: "attest.example.org/lightcone/eu-1".to_owned(),
            size: 5120,
            root_hash: "q0Jkd3lM4pQm7qkF1vX9Lr1tq2mBz8eC0aD5N3iYQ7k=".to_owned(),
            witnessed_by: vec!["witness-0.example.org".to_owned()],
        },
        logs: Vec::new(),
        policy: PolicySummary {
            speed_m_per_s: 299_792_458,
            speed_sound_for_all_media: true,
            permitted: vec![
                "DE".to_owned(),
                "FR".to_owned(),
                "NLD".to_owned(),
                "United States".to_owned(),
            ],
            forbidden: vec!["CN".to_owned(), "RUS".to_owned(), "Iran".to_owned()],
            sea_permitted: false,
            sea_buffer_nm: 200.0,
            names: lightcone_verifier::geo::Names::Ear.describe().to_owned(),
            epoch_s: 3600,
            freshness_s: 86_400,
            heartbeat_s: 21_600,
            max_travel_kmh: 1000.0,
            credit_self_reported_processing: false,
            self_reported_worst_case_km: None,
            faulty_operators: 1,
            landmark_confirmation_km: None,
        },
        counts: Counts {
            entries: 5120,
            measurements: 5080,
            measurements_accepted: 4950,
            device_certificates: 7,
            landmark_certificates: 4,
            gpu_chains: 0,
            model_endorsements: 0,
            signatures_verified: 10_158,
            rejected: 130,
        },
        chips,
        landmarks,
        findings,
    }
}

fn non_verified(r: &AuditReport) -> Vec<&str> {
    r.chips
        .iter()
        .filter(|c| c.status != ChipStatus::Verified)
        .map(|c| c.chip_id.as_str())
        .collect()
}

#[test]
fn summary_names_every_non_verified_chip_and_finding_kind() {
    let r = fixture();
    let s = summary(&r);
    for id in non_verified(&r) {
        assert!(s.contains(id), "summary does not name {id}:\n{s}");
    }
    for kind in [
        "invalid-signature",
        "mispositioned-landmark",
        "excluded-measurement",
        "counter-rollback",
        "silence",
    ] {
        assert!(s.contains(kind), "summary does not name {kind}:\n{s}");
    }
    assert!(s.contains("verified 3") && s.contains("violation 1") && s.contains("unverified 2"));
    assert!(s.contains("invalid 1") && s.contains("inconsistent 0"));
    assert!(s.contains(SIN) && s.contains("EXCLUDED"));
    assert!(s.contains("attest.example.org/lightcone/eu-1") && s.contains("5120"));
    assert!(!s.contains("WARNING"));
    for line in s.lines() {
        assert!(line.chars().count() < 100, "line too long: {line:?}");
    }
    assert!(!s.contains('\x1b'), "no colour codes");
    // Verified chips are not listed one by one.
    assert!(!s.contains(C_MUNICH));
}

#[test]
fn summary_warns_loudly_when_the_speed_is_below_c() {
    let mut r = fixture();
    r.policy.speed_m_per_s = 200_000_000;
    r.policy.speed_sound_for_all_media = false;
    let s = summary(&r);
    assert!(
        s.contains("WARNING: speed below c: unsound against microwave links"),
        "{s}"
    );
    assert!(s.contains("0.667 c"));
}

#[test]
fn summary_of_an_empty_audit() {
    let mut r = fixture();
    r.chips.clear();
    r.findings.clear();
    r.landmarks.clear();
    let s = summary(&r);
    assert!(s.contains("every chip is verified") || s.contains("chips     0"));
    assert!(s.contains("none: no fraud signal"));
}

#[test]
fn json_parses_back_with_the_verdicts() {
    let r = fixture();
    let v: serde_json::Value = serde_json::from_str(&to_json(&r)).unwrap();
    let chips = v["chips"].as_array().unwrap();
    assert_eq!(chips.len(), 7);
    let status = |id: &str| {
        chips.iter().find(|c| c["chip_id"] == id).unwrap()["status"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(status(C_CHINA), "violation");
    assert_eq!(status(C_CLONED), "invalid");
    assert_eq!(status(C_BORDER), "unverified");
    assert_eq!(status(C_MUNICH), "verified");
    let china = chips.iter().find(|c| c["chip_id"] == C_CHINA).unwrap();
    assert_eq!(china["epochs"][1]["verdict"], "violation");
    assert_eq!(v["findings"][3]["kind"], "counter-rollback");
    assert_eq!(v["policy"]["forbidden"][0], "CN");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.json");
    write_json(&r, &path).unwrap();
    let back: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(back, v);
    // Only the report is left behind: the temporary file was renamed into place.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn json_of_nan_coordinates_is_still_json() {
    let mut r = fixture();
    r.landmarks[0].lat = f64::NAN;
    let v: serde_json::Value = serde_json::from_str(&to_json(&r)).unwrap();
    assert!(v["landmarks"][0]["lat"].is_null());
}

#[test]
fn write_json_into_a_missing_directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = write_json(&fixture(), &dir.path().join("no/such/dir/a.json")).unwrap_err();
    assert!(err.to_string().contains("cannot write report"), "{err}");
    let top: lightcone_verifier::Error = err.into();
    assert!(matches!(top, lightcone_verifier::Error::Report(_)));
}

#[test]
fn html_has_a_map_a_region_per_chip_and_every_table() {
    let r = fixture();
    let h = render_html(&r, World::embedded());
    assert!(h.starts_with("<!DOCTYPE html>"));
    assert!(h.contains("<svg"));
    let regions = r
        .chips
        .iter()
        .filter(|c| c.epochs.iter().any(|e| e.region.is_some()))
        .count();
    assert_eq!(h.matches("<path class=\"region ").count(), regions);
    for id in r.chips.iter().map(|c| &c.chip_id) {
        assert!(
            h.contains(&format!("<title>chip {id} — ")),
            "no tooltip for {id}"
        );
    }
    // The China chip's circle starts due north of its centre (31°N 121°E, 380 km): x is the
    // longitude, y the latitude, 20 map units per degree.
    let china = h
        .find("<path class=\"region violation\" fill-rule=\"evenodd\" d=\"M")
        .unwrap();
    let start: Vec<f64> = h[china..]
        .split("d=\"M")
        .nth(1)
        .unwrap()
        .split('l')
        .next()
        .unwrap()
        .split(' ')
        .map(|v| v.parse().unwrap())
        .collect();
    let north = 31.0 + (380_000.0f64 / 6_371_008.8).to_degrees();
    assert!(
        (start[0] - (121.0 + 180.0) * 20.0).abs() <= 1.0,
        "{start:?}"
    );
    assert!((start[1] - (90.0 - north) * 20.0).abs() <= 1.0, "{start:?}");
    // Forbidden countries, named by alpha-2, alpha-3 and name, are shaded.
    assert!(h.matches("class=\"c forbidden\"").count() >= 3);
    assert!(h.contains("class=\"c forbidden\"") && h.contains("<title>China</title>"));
    assert!(h.contains("class=\"lm bad\""));
    // Tables in the order a regulator reads them.
    let at = |s: &str| h.find(s).unwrap_or_else(|| panic!("missing {s}"));
    assert!(at("<h2>Violations (1)") < at("<h2>Unverified chips (2)"));
    assert!(at("<h2>Unverified chips") < at("<h2>Fraud signals"));
    assert!(at("<h2>Fraud signals") < at("<h2>Landmark health (4)"));
    assert!(at("<h2>Landmark health") < at("<h2>All chips (7)"));
    // Self-contained: no scripts, nothing fetched.
    assert!(!h.contains("http"), "external reference");
    assert!(!h.contains("<script"));
    assert!(!h.contains("url("));
    assert!(h.len() < 3_000_000, "HTML is {} bytes", h.len());
}

#[test]
fn html_escapes_hostile_text() {
    let mut r = fixture();
    r.chips[0].reason = "<script>alert('pwned')</script>".to_owned();
    r.findings[0].detail = "\"><img src=x onerror=alert(1)>".to_owned();
    r.chips[1].chip_id = "<b>not-hex</b>".to_owned();
    r.log.origin = "evil</title><script>".to_owned();
    let h = render_html(&r, World::embedded());
    assert!(!h.contains("<script"), "unescaped script tag");
    assert!(!h.contains("<img"));
    assert!(!h.contains("<b>not-hex"));
    assert!(h.contains(&escape("<script>alert('pwned')</script>")));
    assert!(
        summary(&r).contains("<script>alert('pwned')</script>"),
        "text is plain, not escaped"
    );
}

#[test]
fn html_survives_odd_numbers_and_keeps_the_rows() {
    let mut r = fixture();
    let china = r.chips.iter_mut().find(|c| c.chip_id == C_CHINA).unwrap();
    if let Some(reg) = china.epochs.last_mut().and_then(|e| e.region.as_mut()) {
        reg.circle_lat = f64::NAN;
        reg.circle_radius_m = f64::INFINITY;
        reg.lat = f64::NAN;
    }
    r.landmarks[0].lon = f64::INFINITY;
    let fiji = r.chips.iter_mut().find(|c| c.chip_id == C_FIJI).unwrap();
    fiji.epochs[0].region.as_mut().unwrap().circle_radius_m = 1e12; // the whole Earth
    let h = render_html(&r, World::embedded());
    assert!(
        !h.contains("NaN") && !h.contains("inf"),
        "non-finite number in the output"
    );
    assert!(
        h.contains(&format!("<tr id=\"chip-{C_CHINA}\">")),
        "the table row stays"
    );
    assert!(h.contains("region not drawn"));
    let regions = r
        .chips
        .iter()
        .filter(|c| c.epochs.iter().any(|e| e.region.is_some()))
        .count();
    assert_eq!(h.matches("<path class=\"region ").count(), regions - 1);
    let _ = summary(&r);
    let _ = to_json(&r);
}

#[test]
fn html_warns_when_the_speed_is_below_c_and_notes_unknown_regions() {
    let mut r = fixture();
    r.policy.speed_sound_for_all_media = false;
    r.policy.speed_m_per_s = 200_000_000;
    r.policy.forbidden.push("Atlantis".to_owned());
    let h = render_html(&r, World::embedded());
    assert!(h.contains("speed below c: unsound against microwave links"));
    assert!(h.contains("Not drawn: forbidden region &quot;Atlantis&quot; not shaded"));
}

/// Writes the sample report for a look in a browser:
/// `target-*/tmp/report-sample.html` (and the JSON next to it).
#[test]
fn write_sample_report() {
    let r = fixture();
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    write_html(&r, World::embedded(), &dir.join("report-sample.html")).unwrap();
    write_json(&r, &dir.join("report-sample.json")).unwrap();
    std::fs::write(dir.join("report-sample.txt"), summary(&r)).unwrap();
}

#[test]
fn every_format_shows_each_chips_key_algorithm_and_evidence_kind() {
    let r = fixture();
    let s = summary(&r);
    assert!(
        s.contains("device keys: 1 ecdsa-p384-sha384 ·"),
        "summary tallies key algorithms:\n{s}"
    );
    assert!(s.contains("evidence: "), "{s}");
    let h = render_html(&r, World::embedded());
    assert!(h.contains("ecdsa-p384-sha384 · lightcone-response"));
    assert!(h.contains("ed25519 · lightcone-response"));
    let j: serde_json::Value = serde_json::to_value(&r).unwrap();
    let munich = j["chips"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["chip_id"] == C_MUNICH)
        .unwrap();
    assert_eq!(munich["key_algorithm"], "ecdsa-p384-sha384");
    assert_eq!(munich["evidence"], "lightcone-response");
}
