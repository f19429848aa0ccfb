//! The network pieces in one process over real loopback UDP: agent, probe, relay.
//! Soundness under delay, the relay attack, and the loopback timing floor.

mod net_support;

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use lightcone::message::ResponseBody;
use lightcone::{ProcessingCredit, Response, Signed, Speed, PROTOCOL_VERSION};
use lightcone_verifier::net::{
    ChipAgent, Datagram, DiscardCounts, DiscardReason, ProbeConfig, Prober, Relay, RelayConfig,
    RouteSpec,
};
use lightcone_verifier::registry::unix_now_s;
use net_support::Fixture;

const LOCAL: &str = "127.0.0.1:0";

fn config(rounds: u32) -> ProbeConfig {
    ProbeConfig {
        rounds,
        timeout: Duration::from_secs(2),
        retries: 1,
        interval: Duration::ZERO,
    }
}

fn route(listen: &str, forward: SocketAddr, delay_ms: u64, jitter_ms: u64) -> RouteSpec {
    RouteSpec {
        listen: listen.parse().unwrap(),
        forward,
        config: RelayConfig {
            delay: Duration::from_millis(delay_ms),
            jitter: Duration::from_millis(jitter_ms),
        },
    }
}

#[test]
fn round_trip_on_loopback_measures_and_verifies() {
    let mut f = Fixture::new();
    let (chip, device) = f.chip();
    let (lm, landmark) = f.landmark(48.8566, 2.3522);
    let agent = ChipAgent::bind(LOCAL, chip, Some(*device))
        .unwrap()
        .spawn()
        .unwrap();
    let mut prober = Prober::bind(LOCAL, lm).unwrap();

    // The landmark fetches the chip's certificate and checks it against its own trust roots.
    let mut discards = DiscardCounts::default();
    let fetched = prober
        .fetch_certificate(
            agent.addr(),
            &f.trust,
            unix_now_s(),
            Duration::from_secs(2),
            3,
            &mut discards,
        )
        .unwrap();
    assert_eq!(fetched, device);

    let report = prober.probe(agent.addr(), &device, &config(5));
    assert_eq!(report.measurements.len(), 5, "{report:?}");
    assert_eq!(report.failed_rounds, 0);
    assert_eq!(report.discards.total(), 0);
    let mut counters = Vec::new();
    for (m, rtt) in report.measurements.iter().zip(&report.rtts_ns) {
        let v = m.verify(&landmark, &device).unwrap();
        assert_eq!(v.body.rtt_ns, *rtt);
        counters.push(v.body.response.body.counter);
        let bound = v.distance_bound(
            &device,
            &landmark,
            Speed::LIGHT,
            ProcessingCredit::EndorsedMinimum,
        );
        assert!(bound.metres() >= 10, "uncertainty is always included");
    }
    assert!(
        counters.windows(2).all(|w| w[0] < w[1]),
        "counters increase: {counters:?}"
    );
    assert_eq!(agent.counters().answered(), 5);
    agent.shutdown();
}

#[test]
fn bounds_under_relay_delay_never_shrink_below_the_added_delay() {
    let mut f = Fixture::new();
    let (chip, device) = f.chip();
    let (lm, landmark) = f.landmark(52.52, 13.405);
    let agent = ChipAgent::bind(LOCAL, chip, Some(*device))
        .unwrap()
        .spawn()
        .unwrap();
    let mut prober = Prober::bind(LOCAL, lm).unwrap();
    // 3 ms each way ≈ 900 km, with up to 2 ms of jitter; then 6.671 ms ≈ 2 000 km.
    for (delay_ms, jitter_ms, delay_ns) in [(3u64, 2u64, 3_000_000u64), (0, 0, 0)] {
        let relay = Relay::start(&[route(LOCAL, agent.addr(), delay_ms, jitter_ms)]).unwrap();
        let report = prober.probe(relay.listen_addrs()[0], &device, &config(8));
        assert_eq!(report.measurements.len(), 8, "{report:?}");
        let floor = Speed::LIGHT.metres_in(delay_ns);
        for m in &report.measurements {
            let v = m.verify(&landmark, &device).unwrap();
            assert!(v.body.rtt_ns >= 2 * delay_ns);
            let b = v.distance_bound(
                &device,
                &landmark,
                Speed::LIGHT,
                ProcessingCredit::EndorsedMinimum,
            );
            assert!(
                b.metres() >= floor,
                "bound {} m < {} m implied by {delay_ms} ms",
                b.metres(),
                floor
            );
        }
        relay.shutdown();
    }
    // "2 000 km away": 6.671 ms one way.
    let d = Duration::from_micros(6_671);
    let relay = Relay::start(&[RouteSpec {
        listen: LOCAL.parse().unwrap(),
        forward: agent.addr(),
        config: RelayConfig {
            delay: d,
            jitter: Duration::ZERO,
        },
    }])
    .unwrap();
    let report = prober.probe(relay.listen_addrs()[0], &device, &config(3));
    let floor = Speed::LIGHT.metres_in(d.as_nanos() as u64);
    assert!(floor >= 1_999_000, "{floor}");
    for m in &report.measurements {
        let v = m.verify(&landmark, &device).unwrap();
        let b = v.distance_bound(
            &device,
            &landmark,
            Speed::LIGHT,
            ProcessingCredit::EndorsedMinimum,
        );
        assert!(b.metres() >= floor);
    }
    assert_eq!(report.measurements.len(), 3);
}

#[test]
fn relay_attack_yields_the_far_chips_bound() {
    let mut f = Fixture::new();
    let (chip, device) = f.chip();
    let (lm, landmark) = f.landmark(40.4168, -3.7038);
    let agent = ChipAgent::bind(LOCAL, chip, Some(*device))
        .unwrap()
        .spawn()
        .unwrap();
    // The chip is "far": 5 ms each way from anything. A forwarder sits right next to the
    // landmark (no delay) and relays to it.
    let far = Relay::start(&[route(LOCAL, agent.addr(), 5, 0)]).unwrap();
    let near = Relay::start(&[route(LOCAL, far.listen_addrs()[0], 0, 0)]).unwrap();
    let mut prober = Prober::bind(LOCAL, lm).unwrap();
    let report = prober.probe(near.listen_addrs()[0], &device, &config(4));
    assert_eq!(report.measurements.len(), 4, "{report:?}");
    let far_floor = Speed::LIGHT.metres_in(5_000_000);
    for m in &report.measurements {
        let v = m.verify(&landmark, &device).unwrap();
        let b = v.distance_bound(
            &device,
            &landmark,
            Speed::LIGHT,
            ProcessingCredit::EndorsedMinimum,
        );
        assert!(
            b.metres() >= far_floor,
            "near forwarder shrank the bound to {} m",
            b.metres()
        );
    }
}

/// A forwarder near the landmark that answers by itself: it has some key, but not the chip's.
fn impostor(
    socket: UdpSocket,
    mut key: ed25519_dalek::SigningKey,
    rename: bool,
    stop: Arc<AtomicBool>,
) {
    socket
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let mut buf = [0u8; 2048];
    while !stop.load(Ordering::Relaxed) {
        let Ok((n, from)) = socket.recv_from(&mut buf) else {
            continue;
        };
        let Ok(Datagram::Challenge(mut challenge)) = Datagram::decode(&buf[..n]) else {
            continue;
        };
        if rename {
            // Answer as itself: its own chip id in the echoed challenge.
            challenge.chip_id = lightcone::ChipId::of(&lightcone::Signer::public_key(&key));
        }
        let body = ResponseBody {
            version: PROTOCOL_VERSION,
            challenge,
            counter: 1,
            processing_ns: 0,
        };
        let response: Response = Signed::sign(body, &mut key).unwrap();
        socket
            .send_to(&Datagram::Response(response).to_vec(), from)
            .unwrap();
    }
}

#[test]
fn a_forwarder_answering_by_itself_cannot_produce_a_valid_signature() {
    let mut f = Fixture::new();
    let (_chip, device) = f.chip();
    // Even a genuine chip of the same vendor cannot answer for another chip.
    let (other_chip, _) = f.chip();
    let (lm, _) = f.landmark(0.0, 0.0);
    let mut prober = Prober::bind(LOCAL, lm).unwrap();
    for (rename, reason) in [
        (false, DiscardReason::BadSignature),
        (true, DiscardReason::WrongChip),
    ] {
        let socket = UdpSocket::bind(LOCAL).unwrap();
        let addr = socket.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let key = other_chip.clone();
        let t = std::thread::spawn(move || impostor(socket, key, rename, flag));
        let cfg = ProbeConfig {
            rounds: 3,
            timeout: Duration::from_millis(200),
            retries: 0,
            interval: Duration::ZERO,
        };
        let report = prober.probe(addr, &device, &cfg);
        stop.store(true, Ordering::Relaxed);
        t.join().unwrap();
        assert!(
            report.measurements.is_empty(),
            "an impostor produced a measurement"
        );
        assert_eq!(report.failed_rounds, 3);
        // Under load an answer may come after its round timed out (a late nonce).
        assert!(report.discards.get(reason) >= 1, "{:?}", report.discards);
    }
}

/// Median and minimum RTT of a round on loopback (challenge → signed response), printed for
/// docs/operators.md: run with `--nocapture`.
#[test]
fn loopback_timing_floor() {
    const ROUNDS: u32 = 100;
    let mut f = Fixture::new();
    let (chip, device) = f.chip();
    let (lm, _) = f.landmark(0.0, 0.0);
    let agent = ChipAgent::bind(LOCAL, chip, Some(*device))
        .unwrap()
        .spawn()
        .unwrap();
    let mut prober = Prober::bind(LOCAL, lm).unwrap();
    let _warm = prober.probe(agent.addr(), &device, &config(10));
    let report = prober.probe(agent.addr(), &device, &config(ROUNDS));
    assert_eq!(report.measurements.len(), ROUNDS as usize);
    let (min, median) = (
        report.min_rtt_ns().unwrap(),
        report.median_rtt_ns().unwrap(),
    );
    let mut sorted = report.rtts_ns.clone();
    sorted.sort_unstable();
    let p90 = sorted[sorted.len() * 9 / 10];
    let slack =
        |ns: u64| Speed::LIGHT.metres_in(ns.saturating_sub(net_support::MIN_RESPONSE_NS)) / 2;
    println!(
        "loopback timing floor over {ROUNDS} rounds: min {:.1} µs, median {:.1} µs, p90 {:.1} µs; \
         slack at c: min {:.1} km, median {:.1} km",
        min as f64 / 1e3,
        median as f64 / 1e3,
        p90 as f64 / 1e3,
        slack(min) as f64 / 1e3,
        slack(median) as f64 / 1e3,
    );
    assert!(min > 0);
}

/// The shape the demo needs, scaled down: many chip agents, one relay with a route per
/// landmark→chip path (each with its own delay), landmarks probing concurrently from their own
/// threads, all appending to one shared log.
#[test]
fn many_agents_relay_routes_and_concurrent_landmarks_in_one_process() {
    use lightcone_verifier::log::{Log, LogReader};
    use lightcone_verifier::net::Logbook;
    use std::sync::Mutex;

    const CHIPS: usize = 6;
    const LANDMARKS: usize = 3;
    let mut f = Fixture::new();
    let chips: Vec<_> = (0..CHIPS).map(|_| f.chip()).collect();
    let landmarks: Vec<_> = (0..LANDMARKS)
        .map(|i| f.landmark(10.0 * i as f64, 20.0))
        .collect();
    let agents: Vec<_> = chips
        .iter()
        .map(|(key, device)| {
            ChipAgent::bind(LOCAL, key.clone(), Some(**device))
                .unwrap()
                .spawn()
                .unwrap()
        })
        .collect();
    // Route (l, c) adds (l + c) × 0.2 ms each way.
    let delay = |l: usize, c: usize| Duration::from_micros(200 * (l + c) as u64);
    let routes: Vec<RouteSpec> = (0..LANDMARKS)
        .flat_map(|l| (0..CHIPS).map(move |c| (l, c)))
        .map(|(l, c)| RouteSpec {
            listen: LOCAL.parse().unwrap(),
            forward: agents[c].addr(),
            config: RelayConfig {
                delay: delay(l, c),
                jitter: Duration::from_micros(100),
            },
        })
        .collect();
    let relay = Relay::start(&routes).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let log = Log::init(
        tmp.path().join("log"),
        "lightcone.test/demo",
        net_support::key(),
    )
    .unwrap();
    let vkey = log.verifier_key().clone();
    let book = Arc::new(Mutex::new(Logbook::from_log(log).unwrap()));

    let threads: Vec<_> = landmarks
        .iter()
        .enumerate()
        .map(|(l, (key, cert))| {
            let (key, cert) = (key.clone(), *cert);
            let devices: Vec<_> = chips.iter().map(|(_, d)| *d).collect();
            let addrs: Vec<SocketAddr> = relay.listen_addrs()[l * CHIPS..(l + 1) * CHIPS].to_vec();
            let book = Arc::clone(&book);
            std::thread::spawn(move || {
                let mut prober = Prober::bind(LOCAL, key).unwrap();
                for (c, (addr, device)) in addrs.iter().zip(&devices).enumerate() {
                    let report = prober.probe(*addr, device, &config(2));
                    assert_eq!(report.measurements.len(), 2, "{report:?}");
                    for m in &report.measurements {
                        let v = m.verify(&cert, device).unwrap();
                        let b = v.distance_bound(
                            device,
                            &cert,
                            Speed::LIGHT,
                            ProcessingCredit::EndorsedMinimum,
                        );
                        assert!(
                            b.metres() >= Speed::LIGHT.metres_in(delay(l, c).as_nanos() as u64)
                        );
                    }
                    book.lock()
                        .unwrap()
                        .append(&cert, device, &report.measurements)
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // Every landmark and chip certificate once, then two measurements per path.
    let reader = LogReader::open(tmp.path().join("log")).unwrap();
    assert_eq!(
        reader.verify(&vkey).unwrap().size(),
        (LANDMARKS + CHIPS + 2 * LANDMARKS * CHIPS) as u64
    );
    for a in agents {
        assert_eq!(a.counters().answered(), 2 * LANDMARKS as u64);
        a.shutdown();
    }
}
