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
    let other_challenge = Datagram::Challenge(challenge(other.chip_id())).to_vec();
    let n = other
        .respond(&other_challenge[1..], || 0, &mut out)
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
                let bytes = Datagram::Challenge(*c).to_vec();
                let n = self.chip.respond(&bytes[1..], || 0, &mut out).unwrap();
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
