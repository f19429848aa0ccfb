//! Hostile network input over real loopback sockets: random, empty, truncated and oversized
//! datagrams, replays, late answers, spoofed sources, responses signed by another chip. Each
//! is discarded with a counted reason; agents and probers keep working; the log is untouched.

mod net_support;

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lightcone::message::ResponseBody;
use lightcone::{
    Challenge, ChipId, LandmarkId, LogRecord, RamCounter, Responder, Response, Signed, Signer,
    Wire, PROTOCOL_VERSION,
};
use lightcone_verifier::log::{Log, LogReader};
use lightcone_verifier::net::datagram::{TAG_CERT_REQUEST, TAG_CHALLENGE, TAG_RESPONSE};
use lightcone_verifier::net::{
    ChipAgent, Datagram, DiscardReason, Logbook, ProbeConfig, Prober, MAX_DATAGRAM,
};
use net_support::{eventually, key, Fixture};
use rand_core::RngCore;

const LOCAL: &str = "127.0.0.1:0";

fn random_bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rand_core::OsRng.fill_bytes(&mut v);
    v
}

#[test]
fn chip_agent_discards_hostile_datagrams_with_reasons_and_keeps_serving() {
    let mut f = Fixture::new();
    let (chip, device) = f.chip();
    let agent = ChipAgent::bind(LOCAL, chip, Some(*device))
        .unwrap()
        .spawn()
        .unwrap();
    let client = UdpSocket::bind(LOCAL).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let lm = LandmarkId::from([9; 16]);
    let challenge = |chip_id: ChipId| Challenge {
        version: PROTOCOL_VERSION,
        landmark_id: lm,
        chip_id,
        nonce: lightcone::Nonce(lightcone::wire::Bytes([7; 32])),
    };
    let good = Datagram::Challenge(challenge(device.body.chip_id)).to_vec();

    let mut hostile: Vec<(Vec<u8>, DiscardReason)> = vec![
        (vec![], DiscardReason::Empty),
        (vec![0u8; 1500], DiscardReason::Oversized),
        (vec![0x7f, 1, 2, 3], DiscardReason::UnknownTag),
        (good[..good.len() - 5].to_vec(), DiscardReason::Undecodable),
        ([good.as_slice(), &[0]].concat(), DiscardReason::Undecodable),
        (vec![TAG_CERT_REQUEST, 0], DiscardReason::Undecodable),
        (
            Datagram::Challenge(challenge(ChipId::from([1; 16]))).to_vec(),
            DiscardReason::WrongChip,
        ),
    ];
    // A response sent to a chip: well-formed, but not something a chip answers.
    let mut other = Responder::new(key(), RamCounter::default());
    let mut out = [0u8; MAX_DATAGRAM];
    let n = other
        .respond(&challenge(other.chip_id()).to_vec(), || 0, &mut out)
        .unwrap();
    hostile.push((
        [&[TAG_RESPONSE][..], &out[..n]].concat(),
        DiscardReason::UnexpectedType,
    ));
    // Random datagrams: whatever they decode to, they are discarded, never answered.
    let random: Vec<Vec<u8>> = (0..200).map(|i| random_bytes(1 + i % 300)).collect();

    for (bytes, _) in &hostile {
        client.send_to(bytes, agent.addr()).unwrap();
    }
    for bytes in &random {
        let mut b = bytes.clone();
        b[0] = b[0].max(0x05); // not a tag the agent answers
        client.send_to(&b, agent.addr()).unwrap();
        // Paced, so the kernel's receive buffer never overflows (drops would go uncounted).
        std::thread::sleep(Duration::from_micros(100));
    }
    let expected = hostile.len() as u64 + random.len() as u64;
    assert!(
        eventually(Duration::from_secs(5), || agent
            .counters()
            .discards()
            .total()
            == expected),
        "{:?}",
        agent.counters().discards()
    );
    let d = agent.counters().discards();
    for reason in [
        DiscardReason::Empty,
        DiscardReason::Oversized,
        DiscardReason::Undecodable,
        DiscardReason::WrongChip,
        DiscardReason::UnexpectedType,
        DiscardReason::UnknownTag,
    ] {
        assert!(d.get(reason) >= 1, "{reason} not counted: {d}");
    }
    assert_eq!(d.get(DiscardReason::Undecodable), 3, "{d}");
    assert_eq!(agent.counters().answered(), 0);

    // It still answers a good challenge, and nothing else was ever sent back.
    client.send_to(&good, agent.addr()).unwrap();
    let mut buf = [0u8; 2048];
    let (n, from) = client.recv_from(&mut buf).unwrap();
    assert_eq!(from, agent.addr());
    let Datagram::Response(r) = Datagram::decode(&buf[..n]).unwrap() else {
        panic!("not a response")
    };
    r.verify(&device).unwrap();
    client
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    assert!(
        client.recv_from(&mut buf).is_err(),
        "the agent answered hostile input"
    );
}

/// A chip that sends every kind of junk around its genuine answers.
struct Mischief {
    socket: UdpSocket,
    chip: Responder<ed25519_dalek::SigningKey, RamCounter>,
    other: ed25519_dalek::SigningKey,
    spoofer: UdpSocket,
    late_first: Duration,
}

impl Mischief {
    fn run(mut self, stop: Arc<AtomicBool>) {
        self.socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let mut buf = [0u8; 2048];
        let mut out = [0u8; MAX_DATAGRAM];
        let mut previous: Option<Vec<u8>> = None;
        let mut first = true;
        while !stop.load(Ordering::Relaxed) {
            let Ok((n, landmark)) = self.socket.recv_from(&mut buf) else {
                continue;
            };
            let Ok(Datagram::Challenge(challenge)) = Datagram::decode(&buf[..n]) else {
                continue;
            };
            let send = |b: &[u8]| {
                self.socket.send_to(b, landmark).unwrap();
            };
            let mut respond = |c: &Challenge| {
                let n = self.chip.respond(&c.to_vec(), || 0, &mut out).unwrap();
                [&[TAG_RESPONSE][..], &out[..n]].concat()
            };
            let genuine = respond(&challenge);
            if first {
                // Answer the first challenge only after the landmark gave up on it.
                first = false;
                std::thread::sleep(self.late_first);
                send(&genuine);
                previous = Some(genuine);
                continue;
            }
            send(&[]);
            send(&random_bytes(80));
            send(&vec![TAG_RESPONSE; 1400]);
            send(&genuine[..genuine.len() / 2]);
            send(&[0x42, 1, 2, 3]);
            send(&Datagram::Challenge(challenge).to_vec());
            // Same challenge, signed by another chip's key.
            let body = ResponseBody {
                version: PROTOCOL_VERSION,
                challenge,
                counter: 9,
                processing_ns: 0,
            };
            let forged: Response = Signed::sign(body, &mut self.other).unwrap();
            send(&Datagram::Response(forged).to_vec());
            // Same nonce, another chip id (validly signed by that chip).
            let mut renamed = challenge;
            renamed.chip_id = ChipId::of(&self.other.public_key());
            let body = ResponseBody {
                version: PROTOCOL_VERSION,
                challenge: renamed,
                counter: 9,
                processing_ns: 0,
            };
            let forged: Response = Signed::sign(body, &mut self.other).unwrap();
            send(&Datagram::Response(forged).to_vec());
            // Same nonce, another landmark id: genuinely signed, but not our challenge.
            let mut moved = challenge;
            moved.landmark_id = LandmarkId::from([3; 16]);
            send(&respond(&moved));
            // A genuine answer to a challenge nobody issued.
            let mut unknown = challenge;
            unknown.nonce = lightcone::Nonce(lightcone::wire::Bytes([0xee; 32]));
            send(&respond(&unknown));
            // A replay of the previous round's answer.
            if let Some(p) = &previous {
                send(p);
            }
            // The genuine answer from a different source port.
            self.spoofer.send_to(&genuine, landmark).unwrap();
            // Finally the genuine answer, then a duplicate of it.
            send(&genuine);
            send(&genuine);
            previous = Some(genuine);
        }
    }
}

#[test]
fn prober_discards_hostile_responses_with_reasons_and_measures_the_genuine_ones() {
    let mut f = Fixture::new();
    let (chip_key, device) = f.chip();
    let (lm, landmark) = f.landmark(35.68, 139.69);
    let socket = UdpSocket::bind(LOCAL).unwrap();
    let chip_addr: SocketAddr = socket.local_addr().unwrap();
    let timeout = Duration::from_millis(300);
    let mischief = Mischief {
        socket,
        chip: Responder::new(chip_key, RamCounter::default()),
        other: key(),
        spoofer: UdpSocket::bind(LOCAL).unwrap(),
        late_first: timeout + Duration::from_millis(150),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let t = std::thread::spawn(move || mischief.run(flag));

    let mut prober = Prober::bind(LOCAL, lm).unwrap();
    let config = ProbeConfig {
        rounds: 4,
        timeout,
        retries: 2,
        interval: Duration::from_millis(5),
    };
    let report = prober.probe(chip_addr, &device, &config);
    // Let the trailing duplicate of the last round arrive, and count it with another round.
    let second = prober.probe(
        chip_addr,
        &device,
        &ProbeConfig {
            rounds: 1,
            ..config
        },
    );
    stop.store(true, Ordering::Relaxed);
    t.join().unwrap();

    assert_eq!(report.measurements.len(), 4, "{report:?}");
    assert!(report.timeouts >= 1, "the first answer is late");
    assert!(report.retries >= 1);
    for m in report.measurements.iter().chain(&second.measurements) {
        m.verify(&landmark, &device).unwrap();
    }
    let d = report.discards;
    for reason in [
        DiscardReason::Empty,
        DiscardReason::Oversized,
        DiscardReason::UnknownTag,
        DiscardReason::Undecodable,
        DiscardReason::UnexpectedType,
        DiscardReason::WrongSource,
        DiscardReason::WrongChip,
        DiscardReason::LateNonce,
        DiscardReason::UnknownNonce,
        DiscardReason::Duplicate,
        DiscardReason::ChallengeMismatch,
        DiscardReason::BadSignature,
    ] {
        assert!(d.get(reason) >= 1, "{reason} not counted: {d}");
    }
    assert!(
        second.discards.get(DiscardReason::Duplicate) >= 1,
        "{}",
        second.discards
    );
}

#[test]
fn hostile_rounds_never_touch_what_is_already_in_the_log() {
    let mut f = Fixture::new();
    let (chip, device) = f.chip();
    let (lm, landmark) = f.landmark(-33.87, 151.21);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let log_key = key();
    let log = Log::init(&dir, "lightcone.test/log", log_key.clone()).unwrap();
    let vkey = log.verifier_key().clone();
    let mut book = Logbook::from_log(log).unwrap();

    let agent = ChipAgent::bind(LOCAL, chip, Some(*device))
        .unwrap()
        .spawn()
        .unwrap();
    let mut prober = Prober::bind(LOCAL, lm).unwrap();
    let cfg = ProbeConfig {
        rounds: 3,
        timeout: Duration::from_secs(2),
        retries: 1,
        interval: Duration::ZERO,
    };
    let first = prober.probe(agent.addr(), &device, &cfg);
    let range = book
        .append(&landmark, &device, &first.measurements)
        .unwrap();
    assert_eq!(range, 0..5, "two certificates, then three measurements");
    let before: Vec<Vec<u8>> = LogReader::open(&dir)
        .unwrap()
        .entries()
        .map(|e| e.unwrap().1)
        .collect();

    // Junk at the landmark's socket and at the agent while a second probe runs.
    let junk = UdpSocket::bind(LOCAL).unwrap();
    let target = prober.local_addr().unwrap();
    let agent_addr = agent.addr();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let replay = Datagram::Response(first.measurements[0].body.response).to_vec();
    let sprayer = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !flag.load(Ordering::Relaxed) && Instant::now() < deadline {
            for to in [target, agent_addr] {
                let _ = junk.send_to(&random_bytes(64), to);
                let _ = junk.send_to(&replay, to);
                let _ = junk.send_to(&[TAG_CHALLENGE], to);
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    });
    let second = prober.probe(agent.addr(), &device, &cfg);
    stop.store(true, Ordering::Relaxed);
    sprayer.join().unwrap();
    assert_eq!(second.measurements.len(), 3, "{second:?}");
    let range = book
        .append(&landmark, &device, &second.measurements)
        .unwrap();
    assert_eq!(range, 5..8, "certificates are not logged twice");
    drop(book);

    let reader = LogReader::open(&dir).unwrap();
    reader.verify(&vkey).unwrap();
    let after: Vec<Vec<u8>> = reader.entries().map(|e| e.unwrap().1).collect();
    assert_eq!(
        &after[..before.len()],
        &before[..],
        "earlier entries changed"
    );
    for bytes in &after {
        if let LogRecord::Measurement(m) = LogRecord::decode(bytes).unwrap() {
            m.verify(&landmark, &device).unwrap();
        }
    }
    // The reopened log accepts appends again and still verifies.
    let book = Logbook::from_log(Log::open(&dir, log_key).unwrap()).unwrap();
    assert_eq!(
        book.records(&landmark, &device, &[]).len(),
        0,
        "certificates known after reopening"
    );
}

/// 20 000 well-formed challenges for the agent's own chip from one source, as fast as the
/// machine sends them, while an honest landmark probes from another: no reply is larger than
/// the datagram it answers (no amplification), the flood is answered at most at its source's
/// rate limit and the rest counted as `rate-limited`, and the honest landmark is still served.
///
/// On the code before issue 13 a 66-byte challenge got a 141-byte answer (2.14×), and a flood
/// of 20 000 got thousands of signatures (5 637 in 0.5 s), each a step of the chip's counter.
#[test]
fn a_challenge_flood_is_not_amplified_is_rate_limited_and_the_landmark_is_still_served() {
    use lightcone_verifier::net::datagram::CHALLENGE_LEN;
    use lightcone_verifier::net::RateLimits;
    const FLOOD: usize = 20_000;
    let mut f = Fixture::new();
    let (chip, device) = f.chip();
    let (lm, _landmark) = f.landmark(48.86, 2.35);
    let limits = RateLimits::default();
    let agent = ChipAgent::bind(LOCAL, chip, Some(*device))
        .unwrap()
        .with_rate_limits(limits)
        .spawn()
        .unwrap();
    let flooder = UdpSocket::bind(LOCAL).unwrap();
    flooder
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let to = agent.addr();
    let chip_id = device.body.chip_id;

    // Replies to the flood, read while it runs: (count, largest).
    let replies = {
        let socket = flooder.try_clone().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            let (mut count, mut largest) = (0u64, 0usize);
            let mut quiet_since = Instant::now();
            while quiet_since.elapsed() < Duration::from_millis(500) {
                if let Ok((n, _)) = socket.recv_from(&mut buf) {
                    count += 1;
                    largest = largest.max(n);
                    quiet_since = Instant::now();
                }
            }
            (count, largest)
        })
    };
    let flood = std::thread::spawn(move || {
        let start = Instant::now();
        for i in 0..FLOOD {
            let mut nonce = [0u8; 32];
            nonce[..8].copy_from_slice(&(i as u64).to_be_bytes());
            let c = Challenge {
                version: PROTOCOL_VERSION,
                landmark_id: LandmarkId::from([0xf1; 16]),
                chip_id,
                nonce: lightcone::Nonce(lightcone::wire::Bytes(nonce)),
            };
            let bytes = Datagram::Challenge(c).to_vec();
            assert_eq!(bytes.len(), CHALLENGE_LEN);
            let _ = flooder.send_to(&bytes, to);
        }
        start.elapsed()
    });
    // The honest landmark probes during the flood.
    let mut prober = Prober::bind(LOCAL, lm).unwrap();
    let cfg = ProbeConfig {
        rounds: 3,
        timeout: Duration::from_millis(300),
        retries: 5,
        interval: Duration::ZERO,
    };
    let honest = prober.probe(agent.addr(), &device, &cfg);
    let flood_time = flood.join().unwrap();
    let (answered_flood, largest) = replies.join().unwrap();

    let d = agent.counters().discards();
    let rate_limited = d.get(DiscardReason::RateLimited);
    let flood_s = flood_time.as_secs_f64();
    eprintln!(
        "flood: {FLOOD} challenges of {CHALLENGE_LEN} bytes in {flood_s:.3} s ({:.0}/s); \
         {answered_flood} answered (largest reply {largest} bytes), {rate_limited} rate-limited, \
         {} overloaded, {} not received (kernel buffer); honest landmark: {} of 3 rounds",
        FLOOD as f64 / flood_s,
        d.get(DiscardReason::Overloaded),
        FLOOD as u64 - answered_flood - rate_limited - d.get(DiscardReason::Overloaded),
        honest.measurements.len()
    );
    assert_eq!(honest.measurements.len(), 3, "honest landmark: {honest:?}");
    assert!(
        largest <= CHALLENGE_LEN,
        "a {largest}-byte reply to {CHALLENGE_LEN} bytes"
    );
    // At most the burst plus the sustained rate over the flood (generously: 2 s more).
    let allowed = limits.per_source_burst + limits.per_source_per_s * (flood_s + 2.0);
    assert!(
        (answered_flood as f64) <= allowed,
        "{answered_flood} flood challenges answered (limit {allowed:.0})"
    );
    // What reached the agent (the kernel drops the rest of a loopback flood uncounted) was
    // mostly refused, and each refusal counted.
    assert!(
        rate_limited >= 1000 && rate_limited > 10 * answered_flood,
        "{answered_flood} answered, {d}"
    );
}

/// The relay (a test tool, but it must not lock out or hoard): with its client table full of
/// clients gone quiet, a new client is still served (an idle one is evicted); while all are
/// active a new one is dropped and counted; and a flood into a long delay is held only up to
/// the queue's bound, the rest dropped and counted.
///
/// On the code before issue 13, after 64 clients a route never answered a new one, and the
/// delay queue grew without bound (about 118 MB after a 3 s flood into a 10 s delay).
#[test]
fn the_relay_evicts_idle_clients_and_bounds_its_queue() {
    use lightcone_verifier::net::relay::MAX_CLIENTS_PER_ROUTE;
    use lightcone_verifier::net::{Relay, RelayConfig, RelayLimits, RouteSpec};
    // An echo target.
    let echo = UdpSocket::bind(LOCAL).unwrap();
    echo.set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let target = echo.local_addr().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let echoing = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while !stop.load(Ordering::Relaxed) {
                if let Ok((n, from)) = echo.recv_from(&mut buf) {
                    let _ = echo.send_to(&buf[..n], from);
                }
            }
        })
    };
    let idle = Duration::from_millis(300);
    let relay = Relay::start_with(
        &[RouteSpec {
            listen: LOCAL.parse().unwrap(),
            forward: target,
            config: RelayConfig::default(),
        }],
        RelayLimits {
            client_idle: idle,
            queue_bytes: 64 << 10,
            ..RelayLimits::default()
        },
    )
    .unwrap();
    let to = relay.listen_addrs()[0];
    let client = || {
        let s = UdpSocket::bind(LOCAL).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        s
    };
    let echoed = |s: &UdpSocket, what: &[u8]| {
        s.send_to(what, to).unwrap();
        let mut buf = [0u8; 2048];
        matches!(s.recv_from(&mut buf), Ok((n, _)) if &buf[..n] == what)
    };
    let clients: Vec<UdpSocket> = (0..MAX_CLIENTS_PER_ROUTE).map(|_| client()).collect();
    for (i, c) in clients.iter().enumerate() {
        assert!(echoed(c, format!("client {i}").as_bytes()), "client {i}");
    }
    // Table full, everyone recently active: a newcomer is dropped and counted.
    let newcomer = client();
    assert!(!echoed(&newcomer, b"too early"));
    let c = relay.counters();
    assert_eq!(c.dropped_no_client_slot.load(Ordering::Relaxed), 1);
    // Once the others have gone quiet, the newcomer is served.
    std::thread::sleep(idle + Duration::from_millis(100));
    assert!(
        echoed(&newcomer, b"later"),
        "a new client after the table filled"
    );
    assert!(c.clients_evicted.load(Ordering::Relaxed) >= 1);
    // A flood into a 2 s delay: at most 64 KiB waits, the rest is dropped and counted.
    drop(relay);
    let relay = Relay::start_with(
        &[RouteSpec {
            listen: LOCAL.parse().unwrap(),
            forward: target,
            config: RelayConfig {
                delay: Duration::from_secs(2),
                jitter: Duration::ZERO,
            },
        }],
        RelayLimits {
            queue_bytes: 64 << 10,
            ..RelayLimits::default()
        },
    )
    .unwrap();
    let to = relay.listen_addrs()[0];
    let flooder = client();
    for _ in 0..2000 {
        let _ = flooder.send_to(&[0xab; 1000], to);
        std::thread::sleep(Duration::from_micros(20));
    }
    let c = relay.counters();
    assert!(
        eventually(Duration::from_secs(1), || c
            .dropped_queue_full
            .load(Ordering::Relaxed)
            >= 1000),
        "queue-full drops: {}",
        c.dropped_queue_full.load(Ordering::Relaxed)
    );
    eprintln!(
        "relay flood: 2000 datagrams of 1000 bytes into a 2 s delay: {} dropped (queue full at 64 KiB)",
        c.dropped_queue_full.load(Ordering::Relaxed)
    );
    drop(relay);
    stop.store(true, Ordering::Relaxed);
    echoing.join().unwrap();
}
