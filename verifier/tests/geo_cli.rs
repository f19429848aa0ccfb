//! `lightcone verdict`: one JSON object on stdout, exit 0 for any verdict, 2 for bad input.

use std::path::Path;
use std::process::Command;

fn run(dir: &Path, policy: &str, scenario: &str) -> (i32, serde_json::Value, String) {
    invoke(dir, policy, scenario, &[])
}

/// `lightcone verdict` on `policy` and `scenario` (written to `dir`) with `extra` arguments.
fn invoke(
    dir: &Path,
    policy: &str,
    scenario: &str,
    extra: &[&str],
) -> (i32, serde_json::Value, String) {
    let p = dir.join("policy.toml");
    let s = dir.join("scenario.json");
    std::fs::write(&p, policy).unwrap();
    std::fs::write(&s, scenario).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lightcone"))
        .arg("verdict")
        .arg("--policy")
        .arg(&p)
        .args(extra)
        .arg(&s)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let json = serde_json::from_str(stdout.trim()).unwrap_or(serde_json::Value::Null);
    (
        out.status.code().unwrap_or(-1),
        json,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// A scenario with one landmark at (lat, lon) and a bound of `km` (rtt at c, no processing).
fn one(lat: f64, lon: f64, km: f64) -> String {
    let rtt_ns = (km * 1000.0 * 2.0 / 299_792_458.0 * 1e9).floor() as u64;
    format!(
        r#"{{"landmarks": [{{"id": "a", "lat": {lat}, "lon": {lon}, "uncertainty_m": 0}}],
            "measurements": [{{"landmark": "a", "rtt_ns": {rtt_ns}, "min_response_ns": 0}}]}}"#
    )
}

#[test]
fn verdicts_and_witness() {
    let dir = tempfile::tempdir().unwrap();
    let policy =
        "speed = \"c\"\npermitted = [\"*\"]\nforbidden = [\"CN\"]\nsea = \"permitted\"\nborder_margin_km = 0.0\nfaulty_operators = 0\n";
    let (code, v, err) = run(dir.path(), policy, &one(50.1109, 8.6821, 300.0));
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["verdict"], "compliant");
    assert_eq!(v["sound_against_all_media"], true);

    let (code, v, _) = run(dir.path(), policy, &one(22.5431, 114.0579, 100.0));
    assert_eq!(code, 0);
    assert_eq!(v["verdict"], "inconclusive");
    let region = v["witness"]["region"].as_str().unwrap();
    assert!(region == "CN" || region == "HK", "{v}");
    assert!(v["witness"]["lat"].is_f64() && v["witness"]["lon"].is_f64());

    let (code, v, _) = run(dir.path(), policy, &one(39.9042, 116.4074, 100.0));
    assert_eq!((code, v["verdict"].as_str()), (0, Some("violation")));

    // Two landmarks far apart with small bounds: inconsistent.
    let s = r#"{"landmarks": [{"id": "fra", "lat": 50.1109, "lon": 8.6821, "uncertainty_m": 100},
                             {"id": "sin", "lat": 1.3521, "lon": 103.8198}],
                "measurements": [{"landmark": "fra", "rtt_ns": 3000000, "min_response_ns": 20000},
                                 {"landmark": "sin", "rtt_ns": 3000000, "min_response_ns": 20000},
                                 {"landmark": "fra", "rtt_ns": 2000000, "min_response_ns": 20000}]}"#;
    let (code, v, _) = run(dir.path(), policy, s);
    assert_eq!((code, v["verdict"].as_str()), (0, Some("inconsistent")));
    // Several measurements from one landmark: the smallest bound wins (2 ms RTT less 20 µs → 296 795 m, plus 100 m).
    assert_eq!(v["caps"][0]["radius_m"], 296_795.0 + 100.0);

    // The scenario's speed overrides the policy's.
    let s = one(50.1109, 8.6821, 300.0).replace("]}", "], \"speed\": \"fiber\"}");
    let (code, v, _) = run(dir.path(), policy, &s);
    assert_eq!(
        (code, v["sound_against_all_media"].as_bool()),
        (0, Some(false)),
        "{v}"
    );
}

#[test]
fn bad_input_exits_2_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let ok_policy = "forbidden = [\"CN\"]\n";
    let ok_scenario = one(50.0, 8.0, 100.0);
    for (policy, scenario, needle) in [
        ("forbidden = [\"Chna\"]\n", ok_scenario.as_str(), "China"),
        ("forbidden = \"CN\"\n", ok_scenario.as_str(), "policy"),
        ("sea = \"wet\"\n", ok_scenario.as_str(), "sea"),
        (ok_policy, "{", "scenario"),
        (
            ok_policy,
            r#"{"landmarks": [{"id": "a", "lat": 95, "lon": 0}], "measurements": [{"landmark": "a", "rtt_ns": 1}]}"#,
            "lat",
        ),
        (
            ok_policy,
            r#"{"landmarks": [{"id": "a", "lat": 0, "lon": 0}], "measurements": [{"landmark": "b", "rtt_ns": 1}]}"#,
            "unknown landmark",
        ),
        (
            ok_policy,
            r#"{"landmarks": [{"id": "a", "lat": 0, "lon": 0}], "measurements": [{"landmark": "a", "rtt_ns": -1}]}"#,
            "scenario",
        ),
        (
            ok_policy,
            r#"{"landmarks": [{"id": "a", "lat": 0, "lon": 0}], "measurements": [{"landmark": "a", "rtt_ns": 1.5}]}"#,
            "scenario",
        ),
        (
            ok_policy,
            r#"{"landmarks": [], "measurements": []}"#,
            "no measurements",
        ),
    ] {
        let (code, v, err) = run(dir.path(), policy, scenario);
        assert_eq!(code, 2, "{policy} {scenario}: {v} {err}");
        assert!(err.contains(needle), "{err} lacks {needle:?}");
        assert!(v.is_null());
    }
    // A missing policy is named (the scenario is read first, so it must exist here).
    let scenario = dir.path().join("ok.json");
    std::fs::write(&scenario, one(50.0, 8.0, 100.0)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lightcone"))
        .args(["verdict", "--policy", "/nonexistent/policy.toml"])
        .arg(&scenario)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/policy.toml"));
    let out = Command::new(env!("CARGO_BIN_EXE_lightcone"))
        .args([
            "verdict",
            "--policy",
            "/nonexistent/policy.toml",
            "/nonexistent/s.json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/s.json"));
}

#[test]
fn user_borders_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("zone.geojson"),
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"Zone"},
            "geometry":{"type":"Polygon","coordinates":[[[0,40],[20,40],[20,60],[0,60],[0,40]]]}}]}"#,
    )
    .unwrap();
    let policy = "borders = \"zone.geojson\"\npermitted = [\"Zone\"]\nsea = \"forbidden\"\nfaulty_operators = 0\n";
    let (code, v, err) = run(dir.path(), policy, &one(50.1109, 8.6821, 300.0));
    assert_eq!(
        (code, v["verdict"].as_str()),
        (0, Some("compliant")),
        "{err}"
    );
    let (code, v, _) = run(dir.path(), policy, &one(50.1109, 19.0, 300.0));
    assert_eq!((code, v["verdict"].as_str()), (0, Some("inconclusive")));
    assert_eq!(v["witness"]["region"], "sea");
}

/// `lightcone verdict` with `extra` arguments; it must succeed.
fn run_with(dir: &Path, policy: &str, scenario: &str, extra: &[&str]) -> serde_json::Value {
    let (code, v, err) = invoke(dir, policy, scenario, extra);
    assert_eq!(code, 0, "{err}");
    v
}

/// One landmark's cap alone proves a Frankfurt chip is not in China, and a far landmark of a
/// second operator constrains nothing useful: with one faulty operator tolerated that is
/// `inconclusive` (the one cap may be a lie), with a witness. When two operators' caps each
/// prove it independently, `compliant`, and the robustness says it holds with one lying.
#[test]
fn faulty_operators_need_independent_proof() {
    let dir = tempfile::tempdir().unwrap();
    let policy = "permitted = [\"*\"]\nforbidden = [\"CN\"]\n";
    let rtt = |km: f64| (km * 1000.0 * 2.0 / 299_792_458.0 * 1e9).floor() as u64;
    let lone = format!(
        r#"{{"landmarks": [{{"id": "fra", "lat": 50.1109, "lon": 8.6821, "operator": "alpha"}},
                          {{"id": "syd", "lat": -33.8688, "lon": 151.2093, "operator": "beta"}}],
            "measurements": [{{"landmark": "fra", "rtt_ns": {}}},
                             {{"landmark": "syd", "rtt_ns": {}}}]}}"#,
        rtt(300.0),
        rtt(17_000.0)
    );
    let v = run_with(dir.path(), policy, &lone, &["--faulty-operators", "1"]);
    assert_eq!(v["verdict"], "inconclusive", "{v}");
    assert!(v["witness"]["lat"].is_f64(), "{v}");
    assert_eq!(v["faulty_operators"], 1);
    assert_eq!(v["robustness"], 0);
    // Trusting every landmark, the same evidence is compliant.
    let v = run_with(dir.path(), policy, &lone, &["--faulty-operators", "0"]);
    assert_eq!(v["verdict"], "compliant", "{v}");

    let two = format!(
        r#"{{"landmarks": [{{"id": "fra", "lat": 50.1109, "lon": 8.6821, "operator": "alpha"}},
                          {{"id": "par", "lat": 48.8566, "lon": 2.3522, "operator": "beta"}}],
            "measurements": [{{"landmark": "fra", "rtt_ns": {}}},
                             {{"landmark": "par", "rtt_ns": {}}}]}}"#,
        rtt(300.0),
        rtt(900.0)
    );
    let v = run_with(dir.path(), policy, &two, &["--faulty-operators", "1"]);
    assert_eq!(v["verdict"], "compliant", "{v}");
    assert_eq!(v["robustness"], 1);
    // Two landmarks of one operator are one operator: not enough at f = 1.
    let same = two.replace("\"beta\"", "\"alpha\"");
    let v = run_with(dir.path(), policy, &same, &["--faulty-operators", "1"]);
    assert_eq!(v["verdict"], "inconclusive", "{v}");
    // Without the flag, the policy's default (1) applies.
    let v = run_with(dir.path(), policy, &same, &[]);
    assert_eq!(v["verdict"], "inconclusive", "{v}");
}

#[test]
fn the_field_vocabulary_and_the_names_rule_are_printed() {
    let dir = tempfile::tempdir().unwrap();
    let policy = "forbidden = [\"EAR:D:5\"]\nfaulty_operators = 0\n";
    // Frankfurt, 30 km: compliant, affirming, and all of it in Germany.
    let (code, v, err) = run(dir.path(), policy, &one(50.1109, 8.6821, 30.0));
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["verdict"], "compliant");
    assert_eq!(v["rats_tier"], "affirming");
    assert_eq!(
        v["ear.geographic-result-claims"]["grc.jurisdiction-country"],
        "DE"
    );
    assert!(v["names"].as_str().unwrap().starts_with("EAR"));
    assert_eq!(v["sea_buffer_nm"], 200.0);
    // Basel, 30 km: compliant (CH, DE, FR all allowed) but no single jurisdiction.
    let (_, v, _) = run(dir.path(), policy, &one(47.5596, 7.5886, 30.0));
    assert_eq!(v["verdict"], "compliant");
    assert!(v.get("ear.geographic-result-claims").is_none(), "{v}");
    // Inland Hong Kong under D:5 with the EAR default: a violation, contraindicated.
    let (_, v, _) = run(dir.path(), policy, &one(22.41, 114.12, 1.0));
    assert_eq!(v["verdict"], "violation");
    assert_eq!(v["rats_tier"], "contraindicated");
    // A name that selects nothing is refused, exit 2, with the reason.
    let (code, _, err) = run(dir.path(), "permitted = [\"VA\"]\n", &one(41.9, 12.45, 1.0));
    assert_eq!(code, 2);
    assert!(err.contains("selects no area"), "{err}");
}

#[test]
fn a_defective_borders_file_is_refused_with_the_feature_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("zones.geojson"),
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"figure-eight zone"},
            "geometry":{"type":"Polygon","coordinates":[[[110,30],[120,40],[120,30],[110,40],[110,30]]]}}]}"#,
    )
    .unwrap();
    let policy = "borders = \"zones.geojson\"\nforbidden = [\"figure-eight zone\"]\n";
    let (code, _, err) = run(dir.path(), policy, &one(39.9, 116.4, 10.0));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("figure-eight zone") && err.contains("crosses itself"),
        "{err}"
    );
}
