//! Pinned cases of the geo module: real places on the embedded borders, the antimeridian,
//! the poles, the Maldives winding repair, and the issue's named verdicts.

use lightcone_geo::{evaluate, feasible_region_summary, Cap, GeoError, Policy, VerdictKind, World};

fn world() -> &'static World {
    World::embedded()
}

fn labels(lat: f64, lon: f64) -> Vec<String> {
    let w = world();
    w.containing(lat, lon)
        .into_iter()
        .map(|f| w.features()[f].label().to_string())
        .collect()
}

fn policy(text: &str) -> Policy {
    Policy::from_toml_str(text).unwrap()
}

fn cap(lat: f64, lon: f64, km: f64) -> Cap {
    Cap::new(lat, lon, km * 1000.0).unwrap()
}

#[test]
fn embedded_borders_load() {
    let w = world();
    let regions = w.features().iter().filter(|f| f.is_region()).count();
    assert_eq!(regions, 255, "Natural Earth's 255 countries");
    assert_eq!(w.features().len() - regions, 27, "the territories table");
    assert!(w.point_count() > 470_000);
    let countries = World::from_topojson_str(
        include_str!("../data/countries-10m.json"),
        Some("countries"),
    )
    .unwrap();
    assert_eq!(
        countries.repaired_rings(),
        3,
        "the three Maldives triangles of world-atlas issue #44"
    );
    assert!(w.is_partition());
}

#[test]
fn embedded_file_matches_provenance_hash() {
    use lightcone_geo::borders::EMBEDDED_SHA256;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(include_bytes!("../data/countries-10m.json"));
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, EMBEDDED_SHA256);
    let provenance = include_str!("../data/PROVENANCE.md");
    assert!(provenance.contains(EMBEDDED_SHA256));
}

#[test]
fn alaska_and_nunavut_are_not_russia() {
    assert_eq!(labels(61.2181, -149.9003), ["US"]); // Anchorage
    assert_eq!(labels(64.8378, -147.7164), ["US"]); // Fairbanks
    assert_eq!(labels(65.7583, -168.9267), ["US"]); // Little Diomede
    assert_eq!(labels(65.6100, -168.0900), ["US"]); // Wales, Cape Prince of Wales
    assert_eq!(labels(71.2906, -156.7886), ["US"]); // Utqiaġvik
    assert_eq!(labels(63.7467, -68.5170), ["CA"]); // Iqaluit
    assert_eq!(labels(82.5018, -62.3481), ["CA"]); // Alert
    assert_eq!(labels(69.1170, -105.0597), ["CA"]); // Cambridge Bay
                                                    // Russia on both sides of the antimeridian.
    assert_eq!(labels(65.5, 175.0), ["RU"]); // Chukotka, west of 180°
    assert_eq!(labels(67.0, 178.0), ["RU"]);
    assert_eq!(labels(66.0, -171.0), ["RU"]); // Chukotka, east of 180°
    assert_eq!(labels(68.0, -179.0), ["RU"]);
    assert_eq!(labels(65.7800, -169.0500), ["RU"]); // Big Diomede
    assert_eq!(labels(55.7558, 37.6173), ["RU"]); // Moscow
}

#[test]
fn sea_is_nowhere_and_maldives_is_small() {
    for (lat, lon) in [
        (0.0, -150.0),
        (30.0, -40.0),
        (-40.0, 80.0),
        (5.0, 75.0),
        (90.0, 0.0),
        (10.0, 65.0),
    ] {
        assert!(
            labels(lat, lon).is_empty(),
            "sea at {lat},{lon}: {:?}",
            labels(lat, lon)
        );
    }
    assert_eq!(labels(4.1755, 73.5093), ["MV"]); // Malé
}

#[test]
fn separate_features_and_enclaves() {
    assert_eq!(labels(22.3193, 114.1694), ["HK"]);
    assert_eq!(labels(22.1987, 113.5439), ["MO"]);
    assert_eq!(labels(25.0330, 121.5654), ["TW"]);
    assert_eq!(labels(39.9042, 116.4074), ["CN"]);
    assert_eq!(labels(22.5431, 114.0579), ["CN"]); // Shenzhen
    assert_eq!(labels(-29.3151, 27.4869), ["LS"]); // Maseru, inside South Africa's hole
    assert_eq!(labels(-26.2041, 28.0473), ["ZA"]);
    // The Vatican is a two-point sliver in the 1:10m data (zero area); the territories table
    // lays a polygon over it. San Marino is a proper hole in Italy.
    assert_eq!(labels(41.9029, 12.4534), ["IT", "vatican-city"]);
    assert_eq!(labels(43.9356, 12.4473), ["SM"]);
    assert_eq!(labels(41.8967, 12.4822), ["IT"]);
    assert_eq!(labels(-18.1416, 178.4419), ["FJ"]); // Suva
    assert_eq!(labels(-16.79, -179.95), ["FJ"]); // Taveuni, east of 180°
    assert_eq!(labels(42.6629, 21.1655), ["Kosovo"]);
    assert_eq!(labels(9.56, 44.065), ["Somaliland"]);
}

#[test]
fn poles() {
    assert_eq!(labels(-90.0, 0.0), ["AQ"]);
    assert_eq!(labels(-89.0, 123.0), ["AQ"]);
    assert_eq!(labels(-85.0, -180.0), ["AQ"]);
    assert_eq!(labels(-85.0, 180.0), ["AQ"]);
    // The Ross Ice Shelf is not part of Antarctica in Natural Earth admin-0.
    assert!(labels(-80.0, 180.0).is_empty());
    assert!(labels(90.0, 0.0).is_empty());
    let p = policy("forbidden = [\"AQ\"]");
    let v = evaluate(world(), &p, &[cap(-90.0, 0.0, 500.0)]).unwrap();
    assert_eq!(v.kind, VerdictKind::Violation);
    let v = evaluate(
        world(),
        &policy("forbidden = [\"CN\"]"),
        &[cap(-90.0, 77.0, 800.0)],
    )
    .unwrap();
    assert_eq!(v.kind, VerdictKind::Compliant);
    // A North Pole cap is all sea.
    let v = evaluate(
        world(),
        &policy("sea = \"forbidden\""),
        &[cap(90.0, 0.0, 300.0)],
    )
    .unwrap();
    assert_eq!(v.kind, VerdictKind::Violation);
}

#[test]
fn antimeridian_caps_agree() {
    for (lat, km, pol) in [
        (-17.0, 300.0, "forbidden = [\"FJ\"]"),
        (65.5, 200.0, "forbidden = [\"RU\"]"),
        (66.0, 120.0, "forbidden = [\"US\"]"),
        (0.0, 500.0, "sea = \"forbidden\""),
        (-80.0, 300.0, "forbidden = [\"AQ\"]"),
    ] {
        let p = policy(pol);
        let a = evaluate(world(), &p, &[cap(lat, 180.0, km)]).unwrap();
        let b = evaluate(world(), &p, &[cap(lat, -180.0, km)]).unwrap();
        assert_eq!(a.kind, b.kind, "lat {lat}");
        let sa = feasible_region_summary(&[cap(lat, 180.0, km)])
            .unwrap()
            .unwrap();
        let sb = feasible_region_summary(&[cap(lat, -180.0, km)])
            .unwrap()
            .unwrap();
        assert!((sa.lat - sb.lat).abs() < 1e-9);
        assert!(((sa.lon - sb.lon + 540.0) % 360.0 - 180.0).abs() < 1e-9);
    }
    // The Russian far east straddling 180° is all Russia.
    let p = policy("forbidden = [\"RU\"]");
    let v = evaluate(world(), &p, &[cap(67.5, 180.0, 60.0)]).unwrap();
    assert_eq!(v.kind, VerdictKind::Violation, "{v:?}");
}

#[test]
fn issue_cities() {
    let p = policy("forbidden = [\"CN\"]");
    for (name, lat, lon) in [
        ("Frankfurt", 50.1109, 8.6821),
        ("Singapore", 1.3521, 103.8198),
        ("Kuala Lumpur", 3.1390, 101.6869),
    ] {
        let v = evaluate(world(), &p, &[cap(lat, lon, 300.0)]).unwrap();
        assert_eq!(v.kind, VerdictKind::Compliant, "{name}: {v:?}");
    }
    let v = evaluate(world(), &p, &[cap(22.5431, 114.0579, 100.0)]).unwrap();
    assert_eq!(v.kind, VerdictKind::Inconclusive);
    let w = v.witness.expect("witness");
    assert!(w.region == "CN" || w.region == "HK", "{w:?}");
    let (allowed, region) = p.classify(world(), w.lat, w.lon);
    assert!(!allowed);
    assert_eq!(region, Some(w.region.as_str()));
    // Beijing with 100 km is a violation; with Shenzhen also in an inconsistent place, empty.
    let v = evaluate(world(), &p, &[cap(39.9042, 116.4074, 100.0)]).unwrap();
    assert_eq!(v.kind, VerdictKind::Violation);
    let v = evaluate(
        world(),
        &p,
        &[cap(39.9042, 116.4074, 100.0), cap(22.5431, 114.0579, 100.0)],
    )
    .unwrap();
    assert_eq!(v.kind, VerdictKind::Inconsistent);
    assert!(v.witness.is_none());
}

#[test]
fn permitted_lists_and_sea() {
    let p = policy("permitted = [\"DE\", \"FR\"]\nsea = \"forbidden\"");
    // Franco-German border near Strasbourg: both sides allowed.
    let v = evaluate(world(), &p, &[cap(48.58, 7.75, 30.0)]).unwrap();
    assert_eq!(v.kind, VerdictKind::Compliant, "{v:?}");
    // Near Basel: Switzerland is not permitted.
    let v = evaluate(world(), &p, &[cap(47.56, 7.59, 30.0)]).unwrap();
    assert_eq!(v.kind, VerdictKind::Inconclusive);
    assert_eq!(v.witness.unwrap().region, "CH");
    // Brest with 100 km reaches the sea.
    let v = evaluate(world(), &p, &[cap(48.39, -4.49, 100.0)]).unwrap();
    assert_eq!(v.kind, VerdictKind::Inconclusive);
    assert_eq!(v.witness.unwrap().region, "sea");
    let p = policy("permitted = [\"deu\", \"250\", \"Switzerland\"]");
    let v = evaluate(world(), &p, &[cap(47.56, 7.59, 30.0)]).unwrap();
    assert_eq!(v.kind, VerdictKind::Compliant);
}

#[test]
fn unknown_names_list_close_matches() {
    match Policy::from_toml_str("forbidden = [\"Chna\"]") {
        Err(GeoError::UnknownRegion { suggestions, .. }) => {
            assert!(suggestions.iter().any(|s| s == "China"), "{suggestions:?}")
        }
        other => panic!("{other:?}"),
    }
    let e = Policy::from_toml_str("forbidden = [\"GF\"]").unwrap_err();
    assert!(e.to_string().contains("no separate region"), "{e}");
    assert!(Policy::from_toml_str("permited = [\"CN\"]").is_err());
    // An empty (or truncated-to-nothing) policy must not silently allow everywhere.
    assert!(Policy::from_toml_str("").is_err());
    assert!(Policy::from_toml_str("sea = \"maybe\"").is_err());
    assert!(Policy::from_toml_str("speed = 3e9").is_err());
    assert!(Policy::from_toml_str("speed = \"warp\"").is_err());
    assert!(Policy::from_toml_str("border_margin_km = -1.0").is_err());
    let p = Policy::from_toml_str("speed = \"fiber\"\nforbidden = [\"Somaliland\", \"N. Cyprus\"]")
        .unwrap();
    assert_eq!(p.speed, lightcone::Speed::FIBRE);
    assert!(!p.speed_is_sound_for_all_media());
    assert_eq!(
        Policy::from_toml_str("speed = 200000000\npermitted = [\"*\"]")
            .unwrap()
            .speed
            .m_per_s(),
        200_000_000
    );
}

#[test]
fn hostile_caps_are_errors() {
    let p = policy("permitted = [\"*\"]");
    for c in [
        Cap {
            center_lat: f64::NAN,
            center_lon: 0.0,
            radius_m: 1.0,
        },
        Cap {
            center_lat: 91.0,
            center_lon: 0.0,
            radius_m: 1.0,
        },
        Cap {
            center_lat: 0.0,
            center_lon: 180.5,
            radius_m: 1.0,
        },
        Cap {
            center_lat: 0.0,
            center_lon: 0.0,
            radius_m: f64::INFINITY,
        },
        Cap {
            center_lat: 0.0,
            center_lon: 0.0,
            radius_m: -1.0,
        },
    ] {
        assert!(evaluate(world(), &p, &[c]).is_err(), "{c:?}");
    }
    // No caps, or only huge ones: F is the whole Earth.
    let v = evaluate(world(), &p, &[]).unwrap();
    assert_eq!(v.kind, VerdictKind::Compliant);
    let v = evaluate(
        world(),
        &policy("forbidden = [\"CN\"]"),
        &[cap(0.0, 0.0, 15_000.0)],
    )
    .unwrap();
    assert_eq!(v.kind, VerdictKind::Inconclusive);
}

#[test]
fn user_geojson_polygons() {
    let gj = r#"{"type":"FeatureCollection","features":[
      {"type":"Feature","properties":{"name":"Zone A"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]]]}},
      {"type":"Feature","properties":{"name":"Zone B"},"geometry":{"type":"Polygon","coordinates":[[[5,5],[5,15],[15,15],[15,5],[5,5]]]}}]}"#;
    let w = World::from_geojson_str(gj).unwrap();
    assert!(!w.is_partition());
    let p = Policy::from_toml_str_for(
        "permitted = [\"Zone A\"]\nforbidden = [\"Zone B\"]\nsea = \"forbidden\"",
        &w,
    )
    .unwrap();
    assert_eq!(p.classify(&w, 2.0, 2.0), (true, Some("Zone A")));
    assert!(!p.classify(&w, 7.0, 7.0).0);
    assert!(!p.classify(&w, 12.0, 12.0).0);
    assert!(!p.classify(&w, -5.0, 2.0).0);
    assert_eq!(
        evaluate(&w, &p, &[cap(2.0, 2.0, 50.0)]).unwrap().kind,
        VerdictKind::Compliant
    );
    assert_eq!(
        evaluate(&w, &p, &[cap(12.0, 12.0, 50.0)]).unwrap().kind,
        VerdictKind::Violation
    );
    assert_eq!(
        evaluate(&w, &p, &[cap(5.0, 2.0, 50.0)]).unwrap().kind,
        VerdictKind::Compliant
    );
    assert_eq!(
        evaluate(&w, &p, &[cap(5.0, 5.0, 50.0)]).unwrap().kind,
        VerdictKind::Inconclusive
    );
    // Clockwise input is the same region.
    let cw = r#"{"type":"Polygon","coordinates":[[[0,0],[0,10],[10,10],[10,0],[0,0]]]}"#;
    let w2 = World::from_geojson_str(cw).unwrap();
    assert_eq!(w2.containing(5.0, 5.0), vec![0]);
    assert!(w2.containing(-5.0, 5.0).is_empty());
    for bad in [
        "",
        "{}",
        r#"{"type":"Polygon","coordinates":[[[0,0],[1,1]]]}"#,
        r#"{"type":"Polygon","coordinates":[[[0,0],[1,91],[2,0]]]}"#,
        r#"{"type":"Point","coordinates":[0,0]}"#,
    ] {
        assert!(World::from_geojson_str(bad).is_err(), "{bad}");
    }
}

#[test]
fn no_two_countries_overlap_at_sample_points() {
    // The embedded countries are treated as a partition (territories lie over them); check it
    // on a fine grid.
    let w = world();
    let mut lat = -89.75;
    while lat < 90.0 {
        let mut lon = -179.8;
        while lon < 180.0 {
            let s: Vec<usize> = w
                .containing(lat, lon)
                .into_iter()
                .filter(|&f| w.features()[f].is_region())
                .collect();
            assert!(s.len() <= 1, "{lat},{lon}: {:?}", s);
            lon += 0.7;
        }
        lat += 0.5;
    }
}
