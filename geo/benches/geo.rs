//! Geo hot paths: decoding the embedded borders (once per process in real use), one verdict with
//! 10 caps against a 200-country policy, and point classification as the baseline.
//!
//! Run: `cargo bench -p lightcone-verifier --bench geo -- --warm-up-time 1 --measurement-time 3`
// criterion_group! generates an undocumented pub fn.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use lightcone_geo::borders::EMBEDDED_IMAGE;
use lightcone_geo::sphere::Vec3;
use lightcone_geo::{evaluate, evaluate_tolerant, Cap, Policy, World};
use std::hint::black_box;
use std::time::Duration;

/// Ten caps around `truth`: landmarks every 36° of bearing at 200–1 100 km, each bound 150 km
/// longer than the true distance (spherical offsets; the bench needs no geodesy).
fn caps_around(truth: (f64, f64)) -> Vec<Cap> {
    let p = Vec3::from_lat_lon_deg(truth.0, truth.1);
    let east = Vec3::new(0.0, 0.0, 1.0)
        .cross(p)
        .normalized()
        .unwrap_or(Vec3::new(0.0, 1.0, 0.0));
    let north = p.cross(east);
    (0..10)
        .map(|k| {
            let bearing = (k as f64 * 36.0).to_radians();
            let d_m = 200_000.0 + 100_000.0 * k as f64;
            let a = d_m / 6_371_008.8;
            let dir = north.scale(bearing.cos()).plus(east.scale(bearing.sin()));
            let q = p.scale(a.cos()).plus(dir.scale(a.sin()));
            let (lat, lon) = q.to_lat_lon_deg();
            Cap::new(lat, lon, d_m + 150_000.0).expect("valid cap")
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let world = World::embedded();
    let mut codes: Vec<&str> = world
        .features()
        .iter()
        .filter_map(|f| f.code.map(|c| c.alpha2))
        .collect();
    codes.sort_unstable();
    codes.dedup();
    codes.truncate(200);
    let list = codes
        .iter()
        .map(|c| format!("{c:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let policy200 = Policy::from_toml_str(&format!("permitted = [{list}]\nsea = \"forbidden\""))
        .expect("policy");
    let policy_cn = Policy::from_toml_str("forbidden = [\"CN\"]").expect("policy");
    let frankfurt = caps_around((50.1109, 8.6821));
    let shenzhen = caps_around((22.5431, 114.0579));
    let inland = caps_around((48.0, 2.5));

    let mut g = c.benchmark_group("geo");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    g.bench_function("classify_point", |b| {
        b.iter(|| policy200.classify(world, black_box(50.1109), black_box(8.6821)))
    });
    g.bench_function("verdict_10_caps_200_countries_straddling", |b| {
        b.iter(|| evaluate(world, &policy200, black_box(&frankfurt)))
    });
    g.bench_function("verdict_10_caps_200_countries_decided", |b| {
        b.iter(|| evaluate(world, &policy200, black_box(&inland)))
    });
    g.bench_function("verdict_10_caps_forbidden_cn_straddling", |b| {
        b.iter(|| evaluate(world, &policy_cn, black_box(&shenzhen)))
    });
    g.bench_function("verdict_10_caps_forbidden_cn_compliant", |b| {
        b.iter(|| evaluate(world, &policy_cn, black_box(&frankfurt)))
    });
    g.finish();

    // F_f over 12 operators (one cap each): the baseline is the plain verdict on all caps.
    let mut twelve = caps_around((50.1109, 8.6821));
    twelve.extend(
        caps_around((50.1109, 8.6821))
            .into_iter()
            .take(2)
            .map(|c| Cap {
                radius_m: c.radius_m + 50_000.0,
                ..c
            }),
    );
    let groups: Vec<Vec<Cap>> = twelve.iter().map(|c| vec![*c]).collect();
    let mut g = c.benchmark_group("geo_tolerant");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for f in 0..=2 {
        g.bench_function(format!("verdict_12_operators_f{f}_compliant"), |b| {
            b.iter(|| evaluate_tolerant(world, &policy_cn, black_box(&groups), f))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("geo_load");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    // Before: building the index from the TopoJSON source; after: loading the world image.
    let topojson = include_str!("../data/countries-10m.json");
    g.bench_function("build_embedded_borders_from_topojson", |b| {
        b.iter(|| World::from_topojson_str(black_box(topojson), Some("countries")))
    });
    g.bench_function("load_embedded_borders_from_image", |b| {
        b.iter(|| World::from_image(black_box(EMBEDDED_IMAGE)))
    });
    g.bench_function("compile_200_country_policy", |b| {
        b.iter(|| Policy::from_toml_str(black_box(&format!("permitted = [{list}]"))))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
