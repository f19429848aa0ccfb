//! The referee: random scenarios checked against an independent WGS84 geodesic sampler
//! (geographiclib-rs), plus metamorphic tests and the WGS84/sphere ratio behind the margins.
//!
//! Each scenario has a true position (near a border or coast vertex, in a city, or anywhere),
//! 2–10 landmarks whose geodesic caps (radii 20–5 000 km) all contain it, and a policy. The
//! engine's verdict is then checked against geodesic samples of F:
//! - `compliant`: every sample is allowed; `violation`: none is; never `inconsistent` (the true
//!   position is in F); an `inconclusive` witness is not allowed.
//!
//! Default: 250 scenarios (debug-friendly). `LIGHTCONE_REFEREE_SCENARIOS=20000 cargo test
//! --release -p lightcone-verifier --test geo_referee -- --nocapture` runs a big batch and
//! prints the decisiveness share.

use geographiclib_rs::{DirectGeodesic, Geodesic, InverseGeodesic};
use lightcone_geo::sphere::{angle, Vec3, M_MIN};
use lightcone_geo::{evaluate, region, Cap, Policy, VerdictKind, World};

/// SplitMix64: a small deterministic generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const CITIES: &[(f64, f64)] = &[
    (50.1109, 8.6821),    // Frankfurt
    (1.3521, 103.8198),   // Singapore
    (22.5431, 114.0579),  // Shenzhen
    (40.7128, -74.0060),  // New York
    (-33.8688, 151.2093), // Sydney
    (-23.5505, -46.6333), // São Paulo
    (6.5244, 3.3792),     // Lagos
    (30.0444, 31.2357),   // Cairo
    (55.7558, 37.6173),   // Moscow
    (28.6139, 77.2090),   // Delhi
    (35.6762, 139.6503),  // Tokyo
    (64.1466, -21.9426),  // Reykjavík
    (-77.8419, 166.6863), // McMurdo
    (19.4326, -99.1332),  // Mexico City
    (-1.2921, 36.8219),   // Nairobi
    (25.0330, 121.5654),  // Taipei
    (47.5596, 7.5886),    // Basel (tripoint)
    (65.0, -169.0),       // Bering Strait
    (-17.7, 179.9),       // Fiji, antimeridian
    (89.0, 10.0),         // near the North Pole
];

struct Scenario {
    truth: (f64, f64),
    caps: Vec<Cap>,
    policy: Policy,
    label: String,
}

fn random_truth(rng: &mut Rng, world: &World) -> (f64, f64) {
    let g = Geodesic::wgs84();
    match rng.below(3) {
        0 => {
            // Near a border or coastline vertex: 0–30 km away in a random direction.
            loop {
                let f = rng.below(world.features().len());
                let rings = world.rings(f);
                if rings.is_empty() {
                    continue;
                }
                let ring = &rings[rng.below(rings.len())];
                if ring.is_empty() {
                    continue;
                }
                let (lon, lat) = ring[rng.below(ring.len())];
                let (lat2, lon2) =
                    g.direct(lat, lon, rng.range(-180.0, 180.0), rng.range(0.0, 30_000.0));
                return (lat2, lon2);
            }
        }
        1 => {
            let (lat, lon) = CITIES[rng.below(CITIES.len())];
            g.direct(
                lat,
                lon,
                rng.range(-180.0, 180.0),
                rng.range(0.0, 200_000.0),
            )
        }
        _ => {
            let z = rng.range(-1.0, 1.0);
            (z.asin().to_degrees(), rng.range(-180.0, 180.0))
        }
    }
}

fn random_policy(rng: &mut Rng, world: &World, truth: (f64, f64)) -> (Policy, String) {
    // Names of the countries (regions); territories laid over them are tested elsewhere.
    let regions: Vec<&lightcone_geo::Feature> = world
        .features()
        .iter()
        .filter(|f| f.is_region() && f.has_area)
        .collect();
    let here = world
        .containing(truth.0, truth.1)
        .into_iter()
        .map(|f| &world.features()[f])
        .find(|f| f.is_region() && f.has_area)
        .map(|f| f.name.clone());
    let pick = |rng: &mut Rng| regions[rng.below(regions.len())].name.clone();
    let quote = |v: &[String]| {
        v.iter()
            .map(|s| format!("{s:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let sea = if rng.below(2) == 0 {
        "permitted"
    } else {
        "forbidden"
    };
    let text = match rng.below(4) {
        0 => "forbidden = [\"CN\"]".to_string(),
        1 => {
            let mut f: Vec<String> = (0..rng.below(10) + 1).map(|_| pick(rng)).collect();
            if let Some(h) = &here {
                f.push(h.clone());
            }
            format!("forbidden = [{}]\nsea = \"{sea}\"", quote(&f))
        }
        2 => {
            let mut p: Vec<String> = (0..rng.below(40) + 1).map(|_| pick(rng)).collect();
            if let Some(h) = &here {
                p.push(h.clone());
            }
            format!("permitted = [{}]\nsea = \"{sea}\"", quote(&p))
        }
        _ => {
            let p: Vec<String> = (0..200).map(|_| pick(rng)).collect();
            let f: Vec<String> = (0..rng.below(3)).map(|_| pick(rng)).collect();
            format!(
                "permitted = [{}]\nforbidden = [{}]\nsea = \"{sea}\"",
                quote(&p),
                quote(&f)
            )
        }
    };
    let p = Policy::from_toml_str_for(&text, world).unwrap_or_else(|e| panic!("{text}: {e}"));
    (p, text)
}

fn random_scenario(rng: &mut Rng, world: &World) -> Scenario {
    let g = Geodesic::wgs84();
    let truth = random_truth(rng, world);
    let n = 2 + rng.below(9);
    let mut caps = Vec::new();
    for _ in 0..n {
        // Radii log-uniform in 20–5 000 km; the truth somewhere inside, often near the edge.
        let r = 20_000.0 * (250.0f64).powf(rng.unit());
        let frac = if rng.below(2) == 0 {
            rng.range(0.9, 1.0)
        } else {
            rng.unit()
        };
        let (lat, lon) = g.direct(truth.0, truth.1, rng.range(-180.0, 180.0), r * frac);
        caps.push(Cap::new(lat, lon, r).unwrap());
    }
    let (policy, label) = random_policy(rng, world, truth);
    Scenario {
        truth,
        caps,
        policy,
        label,
    }
}

/// Geodesic samples of `∩ caps` grown by `grow_m`: points around the smallest cap's centre,
/// kept if within every (grown) cap by geographiclib's inverse, plus `extra` points.
fn samples(
    rng: &mut Rng,
    caps: &[Cap],
    grow_m: f64,
    n: usize,
    extra: &[(f64, f64)],
) -> Vec<(f64, f64)> {
    let g = Geodesic::wgs84();
    let inside = |p: (f64, f64)| {
        caps.iter().all(|c| {
            let s: f64 = g.inverse(c.center_lat, c.center_lon, p.0, p.1);
            s <= c.radius_m + grow_m
        })
    };
    let small = caps
        .iter()
        .min_by(|a, b| a.radius_m.total_cmp(&b.radius_m))
        .unwrap();
    let mut out: Vec<(f64, f64)> = extra.iter().copied().filter(|&p| inside(p)).collect();
    let mut tries = 0;
    while out.len() < n && tries < n * 8 {
        tries += 1;
        let u = if rng.below(3) == 0 {
            rng.range(0.95, 1.0)
        } else {
            rng.unit().sqrt()
        };
        let p = g.direct(
            small.center_lat,
            small.center_lon,
            rng.range(-180.0, 180.0),
            (small.radius_m + grow_m) * u,
        );
        if inside(p) {
            out.push(p);
        }
    }
    out
}

/// Every border vertex of the regions the policy does not allow, as (lat, lon, unit vector).
fn disallowed_vertices(world: &World, policy: &Policy) -> Vec<(f64, f64, Vec3)> {
    let n = world.features().len();
    let (permitted, forbidden) = policy.feature_flags(world).unwrap();
    static ALL: std::sync::OnceLock<Vec<Vec<(f64, f64, Vec3)>>> = std::sync::OnceLock::new();
    let all = ALL.get_or_init(|| {
        (0..n)
            .map(|f| {
                world
                    .rings(f)
                    .into_iter()
                    .flatten()
                    .map(|(lon, lat)| (lat, lon, Vec3::from_lat_lon_deg(lat, lon)))
                    .collect()
            })
            .collect()
    });
    let mut out = Vec::new();
    for f in 0..n {
        if (world.features()[f].is_region() && !permitted[f]) || forbidden[f] {
            out.extend_from_slice(&all[f]);
        }
    }
    out
}

/// Whether any of `vertices` lies within geodesic `grow_m` of every cap (a cheap spherical
/// pre-filter with generous slack, then geographiclib).
fn any_vertex_within(caps: &[Cap], grow_m: f64, vertices: &[(f64, f64, Vec3)]) -> bool {
    let g = Geodesic::wgs84();
    let centers: Vec<(Vec3, f64)> = caps
        .iter()
        .map(|c| {
            (
                Vec3::from_lat_lon_deg(c.center_lat, c.center_lon),
                ((c.radius_m + grow_m) * 1.01 + 1000.0) / 6_335_000.0,
            )
        })
        .collect();
    vertices.iter().any(|&(lat, lon, v)| {
        centers
            .iter()
            .all(|(c, a)| *a >= std::f64::consts::PI || angle(*c, v) <= *a)
            && caps.iter().all(|c| {
                let s: f64 = g.inverse(c.center_lat, c.center_lon, lat, lon);
                s <= c.radius_m + grow_m
            })
    })
}

fn scenario_count() -> usize {
    std::env::var("LIGHTCONE_REFEREE_SCENARIOS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(250)
}

#[test]
fn referee_finds_no_unsound_verdict() {
    let world = World::embedded();
    let n = scenario_count();
    let only: Option<usize> = std::env::var("LIGHTCONE_REFEREE_ONLY")
        .ok()
        .and_then(|s| s.parse().ok());
    let (mut unsound, mut decisive_ok, mut all_allowed, mut kinds) =
        (0usize, 0usize, 0usize, [0usize; 4]);
    let mut samples_checked = 0usize;
    let started = std::time::Instant::now();
    let mut engine_time = std::time::Duration::ZERO;
    for i in 0..n {
        if only.is_some_and(|o| o != i) {
            continue;
        }
        // One generator per scenario, so any scenario can be rerun alone (LIGHTCONE_REFEREE_ONLY).
        let mut rng = Rng(0x6c69_6768_7463_6f6e ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let sc = random_scenario(&mut rng, world);
        let t0 = std::time::Instant::now();
        let v = evaluate(world, &sc.policy, &sc.caps).unwrap();
        engine_time += t0.elapsed();
        kinds[match v.kind {
            VerdictKind::Compliant => 0,
            VerdictKind::Violation => 1,
            VerdictKind::Inconclusive => 2,
            VerdictKind::Inconsistent => 3,
        }] += 1;
        let ctx = || {
            format!(
                "scenario {i}: truth {:?}, policy {:?}, caps {:?}, verdict {:?}",
                sc.truth, sc.label, sc.caps, v
            )
        };
        assert_ne!(
            v.kind,
            VerdictKind::Inconsistent,
            "true position excluded: {}",
            ctx()
        );
        let pts = samples(&mut rng, &sc.caps, 0.0, 120, &[sc.truth]);
        samples_checked += pts.len();
        for &(lat, lon) in &pts {
            let (ok, region) = sc.policy.classify(world, lat, lon);
            let bad = match v.kind {
                VerdictKind::Compliant => !ok,
                VerdictKind::Violation => ok,
                _ => false,
            };
            if bad {
                unsound += 1;
                eprintln!("UNSOUND at ({lat}, {lon}) in {region:?}: {}", ctx());
                break;
            }
        }
        if let Some(w) = &v.witness {
            assert!(
                !sc.policy.classify(world, w.lat, w.lon).0,
                "witness allowed: {}",
                ctx()
            );
        } else {
            assert_ne!(
                v.kind,
                VerdictKind::Inconclusive,
                "inconclusive without witness: {}",
                ctx()
            );
        }
        // Decisiveness: the referee finds F (and 20 km around it) all allowed.
        let grown = samples(&mut rng, &sc.caps, 20_000.0, 120, &[sc.truth]);
        // Samples miss small islands; also ask whether any border vertex of a region the policy
        // does not allow lies within 20 km of F.
        if pts
            .iter()
            .chain(grown.iter())
            .all(|&(lat, lon)| sc.policy.classify(world, lat, lon).0)
            && !any_vertex_within(&sc.caps, 20_000.0, &disallowed_vertices(world, &sc.policy))
        {
            all_allowed += 1;
            if v.kind == VerdictKind::Compliant {
                decisive_ok += 1;
            } else if std::env::var("LIGHTCONE_REFEREE_VERBOSE").is_ok() {
                let g = Geodesic::wgs84();
                let w = v.witness.as_ref();
                let out: Vec<f64> = w
                    .map(|w| {
                        sc.caps
                            .iter()
                            .map(|c| {
                                let d: f64 = g.inverse(c.center_lat, c.center_lon, w.lat, w.lon);
                                (d - c.radius_m) / 1000.0
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                println!(
                    "missed {i}: {:?} radii km {:?} witness {:?} km outside caps {:?}",
                    v.kind,
                    sc.caps
                        .iter()
                        .map(|c| (c.radius_m / 1000.0).round())
                        .collect::<Vec<_>>(),
                    w,
                    out
                );
            }
        }
    }
    let share = if all_allowed == 0 {
        1.0
    } else {
        decisive_ok as f64 / all_allowed as f64
    };
    println!(
        "referee: {n} scenarios, {samples_checked} geodesic samples, {unsound} unsound; verdicts \
         compliant {} violation {} inconclusive {} inconsistent {}; decisiveness {decisive_ok}/{all_allowed} = {:.2} %; \
         engine {:.1} µs/verdict; wall {:.1} s",
        kinds[0],
        kinds[1],
        kinds[2],
        kinds[3],
        100.0 * share,
        engine_time.as_secs_f64() * 1e6 / n as f64,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(unsound, 0);
    if all_allowed >= 50 {
        assert!(share >= 0.95, "decisiveness fell to {share}");
    }
}

#[test]
fn more_evidence_never_flips_a_decided_verdict() {
    let world = World::embedded();
    let g = Geodesic::wgs84();
    let mut rng = Rng(0x1234_5678_9abc_def0);
    let n = (scenario_count() / 2).max(50);
    for i in 0..n {
        let sc = random_scenario(&mut rng, world);
        let v1 = evaluate(world, &sc.policy, &sc.caps).unwrap().kind;
        // Add a measurement (any cap: F can only shrink) ...
        let r = 20_000.0 * (250.0f64).powf(rng.unit());
        let (lat, lon) = g.direct(
            sc.truth.0,
            sc.truth.1,
            rng.range(-180.0, 180.0),
            r * rng.unit() * 1.5,
        );
        let mut more = sc.caps.clone();
        more.push(Cap::new(lat, lon, r).unwrap());
        // ... or shrink one bound.
        let mut shrunk = sc.caps.clone();
        let k = rng.below(shrunk.len());
        shrunk[k].radius_m *= rng.unit();
        for (what, caps) in [("added", &more), ("shrunk", &shrunk)] {
            let v2 = evaluate(world, &sc.policy, caps).unwrap().kind;
            if matches!(v1, VerdictKind::Compliant | VerdictKind::Violation) {
                assert!(
                    v2 == v1 || v2 == VerdictKind::Inconsistent,
                    "scenario {i} {what}: {v1:?} -> {v2:?}"
                );
            }
            if v1 == VerdictKind::Inconsistent {
                assert_eq!(v2, VerdictKind::Inconsistent, "scenario {i} {what}");
            }
        }
    }
}

#[test]
fn spherical_caps_contain_geodesic_caps() {
    // The proof in region.rs, checked: for random pairs, the unit-sphere angle never exceeds
    // the cap angle computed from the geodesic distance; and the spherical/geodesic ratio
    // (mean radius) lies in 0.9955–1.0057.
    let g = Geodesic::wgs84();
    let mut rng = Rng(42);
    let r_mean = 6_371_008.8;
    let (mut lo, mut hi) = (f64::INFINITY, 0.0f64);
    for i in 0..20_000 {
        let lat1 = if i % 4 == 0 {
            rng.range(-90.0, 90.0)
        } else {
            rng.range(-1.0, 1.0).asin().to_degrees()
        };
        let lon1 = rng.range(-180.0, 180.0);
        let s = if i % 2 == 0 {
            rng.range(1.0, 5_000.0)
        } else {
            rng.range(1_000.0, 9_000_000.0)
        };
        let (lat2, lon2) = g.direct(lat1, lon1, rng.range(-180.0, 180.0), s);
        let a = angle(
            Vec3::from_lat_lon_deg(lat1, lon1),
            Vec3::from_lat_lon_deg(lat2, lon2),
        );
        let s_true: f64 = g.inverse(lat1, lon1, lat2, lon2);
        assert!(
            a <= region::outer_angle(lat1, s_true),
            "lat {lat1} s {s_true}: {a}"
        );
        assert!(a <= s_true / M_MIN + 1e-12);
        if s_true > 0.5 {
            let ratio = a * r_mean / s_true;
            lo = lo.min(ratio);
            hi = hi.max(ratio);
        }
    }
    assert!(lo >= 0.9955 && hi <= 1.0057, "ratio spans {lo}–{hi}");
    println!("spherical/geodesic ratio spans {lo:.5}–{hi:.5}");
}

#[test]
fn feasible_region_summary_is_conservative() {
    let g = Geodesic::wgs84();
    let mut rng = Rng(7);
    for _ in 0..200 {
        let truth = (rng.range(-80.0, 80.0), rng.range(-180.0, 180.0));
        let caps: Vec<Cap> = (0..2 + rng.below(5))
            .map(|_| {
                let r = rng.range(10_000.0, 3_000_000.0);
                let (lat, lon) =
                    g.direct(truth.0, truth.1, rng.range(-180.0, 180.0), r * rng.unit());
                Cap::new(lat, lon, r).unwrap()
            })
            .collect();
        let s = region::feasible_region_summary(&caps)
            .unwrap()
            .expect("truth is in F");
        let d: f64 = g.inverse(
            s.enclosing.center_lat,
            s.enclosing.center_lon,
            truth.0,
            truth.1,
        );
        assert!(d <= s.enclosing.radius_m);
        // The representative point is in F (up to the proven margin).
        for c in &caps {
            let d: f64 = g.inverse(c.center_lat, c.center_lon, s.lat, s.lon);
            assert!(d <= c.radius_m * 1.0113 + 1.0, "{d} vs {}", c.radius_m);
        }
    }
}

/// The referee with lying operators: each scenario's honest caps are spread over 2–6
/// operators, and up to `f` (1 or 2) of them have their caps replaced by lies: any centre, any
/// radius, often a tiny cap at an allowed city far away ("the chip is next to me"). The true
/// position is excluded by at most `f` operators, so it lies in F_f: the engine may never call
/// a scenario `compliant` when the truth is not allowed, nor `violation` when it is, nor
/// `inconsistent`. Also measures how often a clear-cut honest scenario (F_0 and 20 km around
/// it allowed) stays compliant when one operator may lie: the price of tolerance.
#[test]
fn referee_with_lying_operators_never_certifies_a_disallowed_truth() {
    use lightcone_geo::evaluate_tolerant;
    let world = World::embedded();
    let n = scenario_count();
    let (mut checked, mut truth_disallowed, mut compliant_with_liars) = (0usize, 0usize, 0usize);
    let (mut clear_cut, mut clear_f0, mut clear_f1) = (0usize, 0usize, 0usize);
    for i in 0..n {
        let mut rng = Rng(0x7475_7468_6c69_6573 ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let sc = random_scenario(&mut rng, world);
        let operators = 2 + rng.below(5);
        let mut groups: Vec<Vec<Cap>> = vec![Vec::new(); operators];
        for (k, c) in sc.caps.iter().enumerate() {
            // Every operator gets at least one cap when there are enough.
            let o = if k < operators {
                k
            } else {
                rng.below(operators)
            };
            groups[o].push(*c);
        }
        groups.retain(|g| !g.is_empty());
        let honest_groups = groups.clone();
        let f = 1 + rng.below(2).min(groups.len().saturating_sub(1));
        for liar in 0..f.min(groups.len()) {
            let lies = 1 + rng.below(3);
            groups[liar] = (0..lies)
                .map(|_| {
                    let (lat, lon) = if rng.below(2) == 0 {
                        CITIES[rng.below(CITIES.len())]
                    } else {
                        let z = rng.range(-1.0, 1.0);
                        (z.asin().to_degrees(), rng.range(-180.0, 180.0))
                    };
                    let r = 1_000.0 * (5_000.0f64).powf(rng.unit());
                    Cap::new(lat, lon, r).unwrap()
                })
                .collect();
        }
        let v = evaluate_tolerant(world, &sc.policy, &groups, f).unwrap();
        let (truth_ok, _) = sc.policy.classify(world, sc.truth.0, sc.truth.1);
        let ctx = || {
            format!(
                "scenario {i}: truth {:?}, policy {:?}, f {f}, groups {groups:?}, verdict {v:?}",
                sc.truth, sc.label
            )
        };
        checked += 1;
        truth_disallowed += usize::from(!truth_ok);
        assert_ne!(
            v.verdict.kind,
            VerdictKind::Inconsistent,
            "truth excluded: {}",
            ctx()
        );
        if !truth_ok {
            assert_ne!(v.verdict.kind, VerdictKind::Compliant, "UNSOUND: {}", ctx());
        } else {
            assert_ne!(v.verdict.kind, VerdictKind::Violation, "UNSOUND: {}", ctx());
            compliant_with_liars += usize::from(v.verdict.kind == VerdictKind::Compliant);
        }
        if let Some(w) = &v.verdict.witness {
            assert!(
                !sc.policy.classify(world, w.lat, w.lon).0,
                "witness allowed: {}",
                ctx()
            );
        }
        // The price of tolerance on honest evidence (each cap its own operator).
        let all: Vec<Cap> = honest_groups.iter().flatten().copied().collect();
        let grown = samples(&mut rng, &all, 20_000.0, 60, &[sc.truth]);
        if grown
            .iter()
            .all(|&(lat, lon)| sc.policy.classify(world, lat, lon).0)
            && !any_vertex_within(&all, 20_000.0, &disallowed_vertices(world, &sc.policy))
        {
            clear_cut += 1;
            let own: Vec<Vec<Cap>> = all.iter().map(|c| vec![*c]).collect();
            let kind = |f| {
                evaluate_tolerant(world, &sc.policy, &own, f)
                    .unwrap()
                    .verdict
                    .kind
            };
            clear_f0 += usize::from(kind(0) == VerdictKind::Compliant);
            clear_f1 += usize::from(kind(1) == VerdictKind::Compliant);
        }
    }
    let share = |a: usize, b: usize| {
        if b == 0 {
            100.0
        } else {
            100.0 * a as f64 / b as f64
        }
    };
    println!(
        "referee with liars: {checked} scenarios ({truth_disallowed} with the truth not allowed), 0 unsound; \
         compliant despite liars {compliant_with_liars}; clear-cut honest {clear_cut}: compliant at f=0 {:.1} %, at f=1 {:.1} %",
        share(clear_f0, clear_cut),
        share(clear_f1, clear_cut)
    );
    assert!(
        truth_disallowed > checked / 10,
        "too few disallowed truths to test anything"
    );
    if clear_cut >= 50 {
        assert!(share(clear_f0, clear_cut) >= 95.0);
    }
}
