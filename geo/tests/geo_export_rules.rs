//! Policies read the way export rules are written (issue 14), each pinned against the embedded
//! borders: the EAR's China and Country Groups, territories decided by the policy, the sea
//! rule, no name that selects nothing, and user GeoJSON that means what it draws.
//!
//! Caps here come from one operator's landmarks with `faulty_operators = 0` where the point is
//! the geometry, not the trust model.

use lightcone_geo::jurisdiction::{ear_groups, Names};
use lightcone_geo::{evaluate, Cap, GeoError, Policy, VerdictKind, World};

fn world() -> &'static World {
    World::embedded()
}

fn policy(text: &str) -> Policy {
    Policy::from_toml_str(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn verdict(policy_text: &str, lat: f64, lon: f64, km: f64) -> VerdictKind {
    let cap = Cap::new(lat, lon, km * 1000.0).unwrap();
    evaluate(world(), &policy(policy_text), &[cap])
        .unwrap()
        .kind
}

/// Tai Mo Shan, inland Hong Kong.
const HONG_KONG: (f64, f64) = (22.41, 114.12);
const DONETSK: (f64, f64) = (48.0159, 37.8028);
const SIMFEROPOL: (f64, f64) = (44.9521, 34.1024);
const SUKHUMI: (f64, f64) = (43.0015, 41.0234);
const MISCHIEF_REEF: (f64, f64) = (9.90, 115.53);
const MATSU_NANGAN: (f64, f64) = (26.16, 119.93);
const ST_PETERS_SQUARE: (f64, f64) = (41.9022, 12.4568);

#[test]
fn hong_kong_is_china_under_the_ear_default() {
    let (lat, lon) = HONG_KONG;
    assert_eq!(
        verdict("forbidden = [\"CN\"]", lat, lon, 1.0),
        VerdictKind::Violation
    );
    assert_eq!(
        verdict("forbidden = [\"EAR:D:5\"]", lat, lon, 1.0),
        VerdictKind::Violation
    );
    // Read literally (ISO), "CN" leaves Hong Kong out: the old behaviour, now only on request.
    assert_eq!(
        verdict("forbidden = [\"CN\"]\nnames = \"ISO\"", lat, lon, 1.0),
        VerdictKind::Compliant
    );
    assert_eq!(policy("forbidden = [\"CN\"]").names, Names::Ear);
}

#[test]
fn macau_follows_its_own_groups() {
    // MO is in D:1 but not in D:5, and "CN" does not include it.
    let w = world();
    let macau = w.features().iter().position(|f| f.label() == "MO").unwrap();
    let forbids_macau = |text: &str| policy(text).feature_flags(w).unwrap().1[macau];
    assert!(forbids_macau("forbidden = [\"EAR:D:1\"]"));
    assert!(!forbids_macau("forbidden = [\"EAR:D:5\"]"));
    assert!(!forbids_macau("forbidden = [\"CN\"]"));
    assert!(forbids_macau("forbidden = [\"MO\"]"));
    // And a chip in Macau is never compliant under D:1.
    let (lat, lon) = (22.1987, 113.5439);
    assert_ne!(
        verdict("forbidden = [\"EAR:D:1\"]", lat, lon, 1.0),
        VerdictKind::Compliant
    );
}

#[test]
fn country_group_memberships_are_pinned() {
    let groups = ear_groups().unwrap();
    let has = |g: &str, c: &str| groups.groups[g].members.iter().any(|m| m == c);
    assert!(has("D:1", "CN") && has("D:1", "MO"));
    assert!(has("D:5", "CN") && !has("D:5", "MO"));
    assert!(has("E:1", "KP") && has("E:1", "IR") && has("E:2", "CU"));
    assert!(!groups
        .groups
        .values()
        .any(|g| g.members.iter().any(|m| m == "HK")));
    for g in [
        "A:1", "A:5", "A:6", "D:1", "D:2", "D:3", "D:4", "D:5", "E:1", "E:2",
    ] {
        assert!(groups.groups.contains_key(g), "group {g}");
        // Every member of every group names a region of the embedded borders.
        policy(&format!("forbidden = [\"EAR:{g}\"]"));
    }
    assert!(groups.reflects.contains("eCFR"));
    assert!(Policy::from_toml_str("forbidden = [\"EAR:D:9\"]").is_err());
}

#[test]
fn occupied_territories_are_decided_by_the_policy() {
    let (lat, lon) = DONETSK;
    assert_eq!(
        verdict("forbidden = [\"RU+occupied\"]", lat, lon, 5.0),
        VerdictKind::Violation
    );
    // The dataset's Russia does not hold Donetsk; a policy that means "Russia as drawn" says so.
    assert_eq!(
        verdict("forbidden = [\"RU\"]", lat, lon, 5.0),
        VerdictKind::Compliant
    );
    let (lat, lon) = SUKHUMI;
    assert_eq!(
        verdict("forbidden = [\"RU+occupied\"]", lat, lon, 3.0),
        VerdictKind::Violation
    );
    assert_eq!(
        verdict("forbidden = [\"abkhazia\"]", lat, lon, 3.0),
        VerdictKind::Violation
    );
    let (lat, lon) = SIMFEROPOL;
    assert_eq!(
        verdict("forbidden = [\"crimea\"]", lat, lon, 5.0),
        VerdictKind::Violation
    );
    // Territories are drawn outward, so they may be forbidden but never permitted.
    assert!(Policy::from_toml_str("permitted = [\"crimea\"]").is_err());
    assert!(Policy::from_toml_str("permitted = [\"RU+occupied\"]").is_err());
}

#[test]
fn reefs_and_islands_are_handled_as_the_table_says() {
    let (lat, lon) = MISCHIEF_REEF;
    // Sea in the border data, 1 000 km from China's coast but near the "Spratly Is." region,
    // which "CN" forbids as one of its claimants: never compliant ...
    assert_ne!(
        verdict("forbidden = [\"CN\"]", lat, lon, 3.0),
        VerdictKind::Compliant
    );
    // ... and "CN+occupied" makes it a violation (the PRC holds it).
    assert_eq!(
        verdict("forbidden = [\"CN+occupied\"]", lat, lon, 3.0),
        VerdictKind::Violation
    );
    // Matsu: Taiwan-held, sea in the border data, 10 km off Fujian: within 200 nmi of China's
    // coast, so never compliant under "CN".
    let (lat, lon) = MATSU_NANGAN;
    assert_ne!(
        verdict("forbidden = [\"CN\"]", lat, lon, 2.0),
        VerdictKind::Compliant
    );
    assert_ne!(
        verdict("forbidden = [\"TW+occupied\"]", lat, lon, 1.0),
        VerdictKind::Compliant
    );
}

#[test]
fn sea_near_a_forbidden_region_is_not_a_loophole() {
    // 100 km off Shanghai, all water: within 200 nmi of China.
    let (lat, lon) = (31.0, 123.3);
    assert!(
        world().containing(lat, lon).is_empty(),
        "the test point is at sea"
    );
    assert_ne!(
        verdict("forbidden = [\"CN\"]", lat, lon, 20.0),
        VerdictKind::Compliant
    );
    // The old rule, on request: open sea permitted.
    assert_eq!(
        verdict("forbidden = [\"CN\"]\nsea_buffer_nm = 0", lat, lon, 20.0),
        VerdictKind::Compliant
    );
    // A coastal chip whose sea is far from any forbidden region stays compliant: Sydney.
    assert_eq!(
        verdict("forbidden = [\"CN\"]", -33.87, 151.21, 50.0),
        VerdictKind::Compliant
    );
    // Busan, 50 km: its sea lies within 200 nmi of Japan (allowed) but not of China.
    assert_eq!(
        verdict("forbidden = [\"CN\"]", 35.18, 129.08, 50.0),
        VerdictKind::Compliant
    );
    // Mid-Pacific: open ocean stays permitted by default.
    assert_eq!(
        verdict("forbidden = [\"CN\"]", 0.0, -150.0, 50.0),
        VerdictKind::Compliant
    );
    assert_eq!(
        verdict(
            "forbidden = [\"CN\"]\nsea = \"forbidden\"",
            0.0,
            -150.0,
            50.0
        ),
        VerdictKind::Violation
    );
}

#[test]
fn the_vatican_is_never_nothing() {
    let (lat, lon) = ST_PETERS_SQUARE;
    assert_ne!(
        verdict("forbidden = [\"VA\"]", lat, lon, 1.0),
        VerdictKind::Compliant
    );
    assert_ne!(
        verdict("forbidden = [\"VA\"]\nborder_margin_km = 20", lat, lon, 1.0),
        VerdictKind::Compliant
    );
    // As a permitted country it has no area that can be permitted: refused, not a no-op.
    assert!(Policy::from_toml_str("permitted = [\"VA\"]").is_err());
}

/// A point strictly inside feature `f`: a vertex of one of its rings pushed a little towards
/// the feature's side, checked with the world's own classification.
fn point_inside(w: &World, f: usize) -> Option<(f64, f64)> {
    for ring in w.rings(f) {
        for pair in ring.windows(2).step_by((ring.len() / 16).max(1)) {
            let (a, b) = (pair[0], pair[1]);
            let (mx, my) = ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0);
            let (dx, dy) = (b.0 - a.0, b.1 - a.1);
            let len = (dx * dx + dy * dy).sqrt();
            if len == 0.0 {
                continue;
            }
            for (side, d) in [1.0, -1.0]
                .into_iter()
                .flat_map(|s| [(s, 2e-3), (s, 2e-4), (s, 2e-5)])
            {
                let step = d * side / len;
                let p = (my - dx * step, mx + dy * step);
                if p.0.abs() < 89.9 && p.1.abs() < 180.0 && w.containing(p.0, p.1).contains(&f) {
                    return Some(p);
                }
            }
        }
    }
    None
}

#[test]
fn every_accepted_name_selects_a_place_that_a_1_km_cap_cannot_clear() {
    let w = world();
    let mut names: Vec<String> = Vec::new();
    for f in w.features() {
        names.push(f.label().to_string());
    }
    let mut checked = 0;
    for name in names {
        let text = format!("forbidden = [{name:?}]\nfaulty_operators = 0");
        let p = match Policy::from_toml_str(&text) {
            Ok(p) => p,
            Err(GeoError::Policy(why)) if why.contains("selects no area") => {
                panic!("{name}: accepted names must select area ({why})")
            }
            Err(e) => panic!("{name}: {e}"),
        };
        let (permitted, forbidden) = p.feature_flags(w).unwrap();
        assert!(
            permitted.iter().any(|&x| x),
            "{name}: * still permits regions"
        );
        let chosen: Vec<usize> = (0..forbidden.len()).filter(|&i| forbidden[i]).collect();
        let Some((lat, lon)) = chosen
            .iter()
            .filter(|&&i| w.features()[i].has_area)
            .find_map(|&i| point_inside(w, i))
        else {
            panic!("{name} selects no point");
        };
        let cap = Cap::new(lat, lon, 1000.0).unwrap();
        let v = evaluate(w, &p, &[cap]).unwrap();
        assert_ne!(v.kind, VerdictKind::Compliant, "{name} at {lat}, {lon}");
        checked += 1;
    }
    assert!(checked > 270, "{checked} names checked");
}

fn geojson_policy(geojson: &str) -> Result<Policy, GeoError> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("zones.geojson"), geojson).unwrap();
    let path = dir.path().join("policy.toml");
    std::fs::write(
        &path,
        "borders = \"zones.geojson\"\nforbidden = [\"zone\"]\n",
    )
    .unwrap();
    Policy::load(&path)
}

fn feature(coords: &str) -> String {
    format!(
        r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{{"name":"zone"}},"geometry":{{"type":"Polygon","coordinates":{coords}}}}}]}}"#
    )
}

#[test]
fn user_geojson_defects_are_refused_and_named() {
    let ok = feature("[[[110,30],[120,30],[120,40],[110,40],[110,30]]]");
    geojson_policy(&ok).unwrap();
    let defects = [
        // Larger than a hemisphere: a clockwise ring whose planar inside is the whole map.
        ("hemisphere", "[[[-179,-89],[179,-89],[179,89],[-179,89],[-179,-89]]]"),
        // Equal-lobe figure eight.
        ("crosses itself", "[[[110,30],[120,40],[120,30],[110,40],[110,30]]]"),
        // A hole outside its polygon.
        (
            "outside",
            "[[[110,30],[120,30],[120,40],[110,40],[110,30]],[[130,30],[131,30],[131,31],[130,31],[130,30]]]",
        ),
        // Two overlapping holes.
        (
            "cross",
            "[[[110,30],[120,30],[120,40],[110,40],[110,30]],[[111,31],[114,31],[114,34],[111,34],[111,31]],[[113,33],[116,33],[116,36],[113,36],[113,33]]]",
        ),
    ];
    for (why, coords) in defects {
        let e = geojson_policy(&feature(coords)).expect_err(why).to_string();
        assert!(e.contains("zone") && e.contains(why), "{why}: {e}");
    }
    // Beijing under a well-formed forbidden polygon is a violation, not silently compliant.
    let p = geojson_policy(&ok).unwrap();
    let w = p.world().unwrap();
    let v = evaluate(w, &p, &[Cap::new(39.9, 116.4, 10_000.0).unwrap()]).unwrap();
    assert_eq!(v.kind, VerdictKind::Violation);
}

// Regressions from the attacker review of this change.

#[test]
fn regions_without_a_code_follow_their_countries_when_forbidden() {
    // Baikonur city (leased to Russia, in Kazakhstan), Hargeisa (Somaliland), Guantanamo Bay,
    // north Nicosia: each its own region of the border data, with no code.
    for (policy_text, (lat, lon)) in [
        ("forbidden = [\"KZ\"]", (45.62, 63.31)),
        ("forbidden = [\"EAR:D:1\"]", (45.62, 63.31)),
        ("forbidden = [\"SO\"]", (9.56, 44.065)),
        ("forbidden = [\"EAR:D:5\"]", (9.56, 44.065)),
        ("forbidden = [\"CU\"]", (19.90, -75.15)),
        ("forbidden = [\"CY\"]", (35.20, 33.36)),
    ] {
        assert_ne!(
            verdict(policy_text, lat, lon, 1.0),
            VerdictKind::Compliant,
            "{policy_text} at {lat}, {lon}"
        );
    }
}

#[test]
fn a_country_by_name_is_read_as_names_says() {
    let (lat, lon) = HONG_KONG;
    assert_eq!(
        verdict("forbidden = [\"China\"]", lat, lon, 1.0),
        VerdictKind::Violation
    );
    assert_eq!(
        verdict("permitted = [\"China\"]", lat, lon, 1.0),
        VerdictKind::Compliant
    );
}

#[test]
fn no_jurisdiction_claim_where_the_borders_do_not_settle_it() {
    use lightcone_geo::answer::jurisdiction;
    let w = world();
    let claim = |lat: f64, lon: f64, m: f64| {
        let cap = Cap::new(lat, lon, m).unwrap();
        jurisdiction(w, &[vec![cap]], 0, Some((lat, lon))).unwrap()
    };
    assert_eq!(claim(41.9029, 12.4534, 300.0), None, "inside the Vatican");
    assert_eq!(claim(44.9521, 34.1024, 5_000.0), None, "Simferopol");
    assert_eq!(claim(50.1109, 8.6821, 20_000.0).as_deref(), Some("DE"));
}

#[test]
fn overlapping_polygons_of_one_feature_are_refused() {
    let multi = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"zone"},
        "geometry":{"type":"MultiPolygon","coordinates":[[[[10,10],[12,10],[12,12],[10,12],[10,10]]],
        [[[11,11],[13,11],[13,13],[11,13],[11,11]]]]}}]}"#;
    let e = geojson_policy(multi).expect_err("overlap").to_string();
    assert!(
        e.contains("zone") && (e.contains("cross") || e.contains("overlap")),
        "{e}"
    );
}

#[test]
fn the_sea_rule_holds_at_the_pole() {
    // A forbidden square near the antimeridian at 79° N, and F a 1 000 km cap on the pole: its
    // sea reaches within 200 nmi of the square, whatever side of the pole the cells lie.
    let zones = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"zone"},
        "geometry":{"type":"Polygon","coordinates":[[[178,79],[179.9,79],[179.9,79.3],[178,79.3],[178,79]]]}}]}"#;
    let p = geojson_policy(zones).unwrap();
    let w = p.world().unwrap();
    let v = evaluate(w, &p, &[Cap::new(90.0, 0.0, 1_000_000.0).unwrap()]).unwrap();
    assert_ne!(v.kind, VerdictKind::Compliant);
}
