//! Running the demo: provisioning, one UDP agent per chip and landmark, the delay relay,
//! landmark cross-checks, probing cycles aligned to audit epochs, the log, the audit and the
//! report files.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use lightcone::{
    ChipId, DeviceCertificate, Landmark, LogRecord, Measurement, PublicKey, RamCounter, Signer,
    Verified, Wire,
};

use super::scenario::{
    jitter_ns, Board, Fleet, Role, CALIPTRA_VENDOR, ED25519_VENDOR, GPU_FLOOR_NS, GPU_MODEL,
    GPU_ROOT, P384_CHIPS,
};
use super::service::{self, LogService};
use super::truth::{self, Comparison};
use super::DemoError;
use crate::audit::{self, model::AuditReport, AuditOptions, AuditRules};
use crate::geo::Policy;
use crate::log::Log;
use crate::net::datagram::{split_tag, TAG_RESPONSE};
use crate::net::{
    unix_now_ns, AgentHandle, ChipAgent, Datagram, ProbeConfig, Prober, Relay, RelayConfig,
    RouteSpec, MAX_DATAGRAM,
};
use crate::registry::trust::WitnessesEntry;
use crate::registry::{provision::validity_days, unix_now_s, TrustFile};

const LOCAL: &str = "127.0.0.1:0";
/// Start cycles this long after an epoch boundary.
const EPOCH_MARGIN: Duration = Duration::from_millis(150);
/// The log's origin line.
pub const LOG_ORIGIN: &str = "demo.lightcone.example/log";
/// Rounds of each landmark-to-landmark cross-check.
const CROSS_ROUNDS: u32 = 2;
/// Threads per landmark for the cross-checks.
const CROSS_THREADS: usize = 4;
/// Pairs whose nominal RTT is below this get extra rounds: their bounds decide the verdicts.
const NEAR_RTT: Duration = Duration::from_millis(25);
/// Pause between the rounds of a near pair.
const NEAR_INTERVAL: Duration = Duration::from_millis(100);
/// Rounds for near pairs: on a busy machine the best of several is near the true delay.
const NEAR_ROUNDS: u32 = 6;

/// What to run.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// Output folder (created; must not exist or be empty).
    pub out: PathBuf,
    /// Seed of the keys and the path stretches.
    pub seed: u64,
    /// Rounds per landmark, chip and cycle (the best counts).
    pub rounds: u32,
    /// Probing cycles, one per audit epoch (at least 3: the silent chip and the clone need them).
    pub cycles: u32,
    /// Length of an audit epoch; each cycle must finish within one.
    pub epoch: Duration,
    /// Concurrent probing threads per landmark.
    pub threads_per_landmark: usize,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            out: PathBuf::from("lightcone-demo"),
            seed: 1,
            rounds: 3,
            cycles: 3,
            epoch: Duration::from_secs(10),
            threads_per_landmark: 8,
        }
    }
}

/// What the demo did and found.
pub struct DemoOutcome {
    /// The audit report.
    pub report: AuditReport,
    /// The ground-truth comparison.
    pub comparison: Comparison,
    /// The output folder.
    pub out: PathBuf,
    /// The seed used.
    pub seed: u64,
    /// Readable names of chip and landmark ids (hex).
    pub names: HashMap<String, String>,
    /// Wall time of the whole run.
    pub elapsed: Duration,
    /// Landmarks, chips and GPUs (fleet entries), agents and relay routes.
    pub sizes: (usize, usize, usize, usize),
    /// Measurements logged (chip probes, landmark cross-checks).
    pub logged: (u64, u64),
    /// Cycles that skipped probes to stay within their epoch (a busy machine).
    pub overruns: u32,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> DemoError + '_ {
    move |source| DemoError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn lock<T>(m: &Mutex<T>) -> Result<std::sync::MutexGuard<'_, T>, DemoError> {
    m.lock()
        .map_err(|_| DemoError::Worker("a thread panicked while holding the log".into()))
}

fn nanos(ns: f64) -> Duration {
    Duration::from_nanos(ns.max(0.0).round() as u64)
}

/// Landmark `landmark` submits its measurements to the log server, as one signed batch, and
/// waits until they are durable.
fn append(
    service: &LogService,
    landmark: usize,
    measurements: &[Measurement],
) -> Result<(), DemoError> {
    let records: Vec<Vec<u8>> = measurements
        .iter()
        .map(|m| LogRecord::Measurement(*m).to_vec())
        .collect();
    service.submit(landmark, &records)
}

/// Landmark `landmark` measures the landmark agent at `addr` (key `peer`) through the relay:
/// challenge, UDP, `check_response_from_key`, `measure` (the prober verifies chips by device
/// certificate only, so landmark cross-checks are done here).
fn cross_probe(
    landmark: &mut Landmark<SigningKey>,
    socket: &UdpSocket,
    addr: SocketAddr,
    peer: &PublicKey,
    timeout: Duration,
) -> Result<Vec<Measurement>, DemoError> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; MAX_DATAGRAM + 1];
    for _ in 0..CROSS_ROUNDS {
        let challenge = landmark.challenge(ChipId::of(peer), &mut rand_core::OsRng)?;
        let datagram = Datagram::Challenge(challenge).to_vec();
        let sent_at_ns = unix_now_ns();
        let sent = Instant::now();
        if socket.send_to(&datagram, addr).is_err() {
            continue;
        }
        let deadline = sent + timeout;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                break;
            }
            socket
                .set_read_timeout(Some(remaining))
                .map_err(|e| crate::net::NetError::io("setting a read timeout", e))?;
            let Ok((n, from)) = socket.recv_from(&mut buf) else {
                continue;
            };
            let at = Instant::now();
            if from != addr || n > MAX_DATAGRAM {
                continue;
            }
            let Some(bytes) = buf.get(..n) else { continue };
            let Ok((TAG_RESPONSE, body)) = split_tag(bytes) else {
                continue;
            };
            let Ok(response) = landmark.check_response_from_key(&challenge, body, peer) else {
                continue;
            };
            let rtt =
                u64::try_from(at.saturating_duration_since(sent).as_nanos()).unwrap_or(u64::MAX);
            out.push(landmark.measure(&response, rtt, sent_at_ns)?);
            break;
        }
    }
    Ok(out)
}

/// Sleeps until `margin` after the next boundary of `epoch` (wall clock); returns the end of
/// the epoch that has begun (Unix ns).
fn sleep_to_next_epoch(epoch: Duration) -> u64 {
    let ep = u64::try_from(epoch.as_nanos()).unwrap_or(u64::MAX).max(1);
    let now = unix_now_ns();
    let next = (now / ep).saturating_add(1).saturating_mul(ep);
    let target = next.saturating_add(u64::try_from(EPOCH_MARGIN.as_nanos()).unwrap_or(0));
    std::thread::sleep(Duration::from_nanos(target.saturating_sub(now)));
    next.saturating_add(ep)
}

/// What a probing job probes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    /// A chip of [`Fleet::chips`] (lightcone rounds).
    Chip(usize),
    /// A GPU of [`Fleet::gpus`] (SPDM rounds).
    Gpu(usize),
}

/// One probing job: a chip or GPU, the relay address that reaches it from this landmark, the
/// timeout.
#[derive(Clone, Copy)]
struct Job {
    target: Target,
    addr: SocketAddr,
    config: ProbeConfig,
    cost: Duration,
}

/// Splits jobs over `n` threads, longest first onto the least loaded (LPT).
fn balance(mut jobs: Vec<Job>, n: usize) -> Vec<Vec<Job>> {
    jobs.sort_by_key(|j| std::cmp::Reverse(j.cost));
    let mut bins: Vec<(Duration, Vec<Job>)> = (0..n.max(1))
        .map(|_| (Duration::ZERO, Vec::new()))
        .collect();
    for job in jobs {
        if let Some(bin) = bins.iter_mut().min_by_key(|b| b.0) {
            bin.0 += job.cost;
            bin.1.push(job);
        }
    }
    bins.into_iter()
        .map(|(_, mut v)| {
            // Shortest first inside a thread: the nearby chips, whose bounds matter most, are
            // probed while the machine is least busy.
            v.sort_by_key(|j| j.cost);
            v
        })
        .filter(|v| !v.is_empty())
        .collect()
}

fn probe_config(rounds: u32, delay_ns: f64) -> (ProbeConfig, Duration) {
    let rtt = nanos(2.0 * (delay_ns + jitter_ns(delay_ns)));
    let rounds = if rtt < NEAR_RTT {
        rounds.max(NEAR_ROUNDS)
    } else {
        rounds
    };
    let timeout = rtt.mul_f64(1.5) + Duration::from_millis(150);
    // A near pair's rounds are spread out: a burst of traffic (every landmark starts its cycle
    // at once) can delay back-to-back rounds together, and their bound decides the verdict.
    let interval = if rtt < NEAR_RTT {
        NEAR_INTERVAL
    } else {
        Duration::ZERO
    };
    let config = ProbeConfig {
        rounds,
        timeout,
        retries: 0,
        interval,
    };
    (config, rtt * rounds + interval * rounds.saturating_sub(1))
}

/// Creates the output folder: it must not exist, or be empty.
fn create_out(out: &Path) -> Result<(), DemoError> {
    if out.exists() {
        let mut entries = std::fs::read_dir(out).map_err(io_err(out))?;
        if entries.next().is_some() {
            return Err(DemoError::OutputExists(out.to_path_buf()));
        }
    }
    std::fs::create_dir_all(out).map_err(io_err(out))
}

/// Runs the demo; `say` receives progress lines.
pub fn run(options: &DemoOptions, say: &mut dyn FnMut(&str)) -> Result<DemoOutcome, DemoError> {
    let started = Instant::now();
    if options.cycles < 3 {
        return Err(DemoError::Options(
            "at least 3 cycles: the silent chip and the clone show only across epochs".into(),
        ));
    }
    if options.rounds == 0 || options.threads_per_landmark == 0 {
        return Err(DemoError::Options(
            "rounds and threads must be at least 1".into(),
        ));
    }
    if options.epoch < Duration::from_secs(2) {
        return Err(DemoError::Options("an epoch of at least 2 s".into()));
    }
    let out = options.out.as_path();
    create_out(out)?;

    // Provisioning: vendor, registry, landmarks, chips (keys from the seed), log, trust, policy.
    let fleet = Fleet::build(options.seed, validity_days(30))?;
    let log = Log::init(out.join("log"), LOG_ORIGIN, fleet.log_key.clone())?;
    let witnesses = service::start_witnesses(out, log.verifier_key())?;
    let mut trust_file = TrustFile::new(
        fleet.registry.public_key(),
        &[
            (ED25519_VENDOR.to_owned(), fleet.vendor.public_key()),
            (
                CALIPTRA_VENDOR.to_owned(),
                fleet.caliptra_vendor.public_key(),
            ),
        ],
        Some(log.verifier_key().to_string()),
    );
    trust_file.witnesses = Some(WitnessesEntry {
        quorum: service::WITNESSES,
        keys: witnesses.1.iter().map(ToString::to_string).collect(),
    });
    trust_file
        .x509_roots
        .push(super::gpus::trust_entry(&fleet)?);
    let endorsement = super::gpus::endorsement(&fleet, validity_days(30))?;
    let trust_path = out.join("trust.toml");
    let trust = trust_file.check(&trust_path)?;
    trust_file.write(&trust_path)?;
    let epoch_s = options.epoch.as_secs_f64();
    let policy_text = super::scenario::policy_toml(epoch_s);
    let policy_path = out.join("policy.toml");
    std::fs::write(&policy_path, &policy_text).map_err(io_err(&policy_path))?;
    let policy = Policy::from_toml_str(&policy_text)?;
    let rules = AuditRules::from_toml_str(&policy_text)?;

    // The log server holds the log key; landmarks only ever submit to it.
    let service = LogService::start(
        out,
        (log, LOG_ORIGIN),
        trust.clone(),
        witnesses,
        &fleet.landmarks,
    )?;
    for (i, l) in fleet.landmarks.iter().enumerate() {
        service.submit(i, &[LogRecord::LandmarkCertificate(l.cert).to_vec()])?;
    }
    let device_certs: Vec<Vec<u8>> = fleet
        .chips
        .iter()
        .map(|c| LogRecord::DeviceCertificate(c.cert).to_vec())
        .collect();
    service.submit(0, &device_certs)?;
    let certs_count = fleet.landmarks.len() + device_certs.len();
    let vendor_keys = [
        fleet.vendor.public_key(),
        fleet.caliptra_vendor.public_key(),
    ];
    let now_s = unix_now_s();
    let verified: Vec<Verified<DeviceCertificate>> = fleet
        .chips
        .iter()
        .map(|c| {
            let vendor = vendor_keys
                .iter()
                .find(|k| lightcone::IssuerId::of(*k) == c.cert.body.issuer)
                .ok_or(lightcone::Error::BadSignature)?;
            c.cert.verify(vendor, now_s)
        })
        .collect::<Result<_, _>>()?;
    let mut names = HashMap::new();
    for c in &fleet.chips {
        names.insert(c.cert.body.chip_id.to_string(), c.spec.name.to_owned());
    }
    for g in &fleet.gpus {
        names.insert(g.chip_id.to_string(), g.spec.name.to_owned());
    }
    for l in &fleet.landmarks {
        names.insert(l.cert.body.landmark_id.to_string(), l.name.clone());
    }
    say(&format!(
        "provisioned vendors \"{ED25519_VENDOR}\" (Ed25519 device keys) and \"{CALIPTRA_VENDOR}\" \
         ({} chips with ECDSA P-384 device keys), a landmark registry and a log; {} landmarks, {} \
         chips (seed {})",
        P384_CHIPS.len(),
        fleet.landmarks.len(),
        fleet.chips.len(),
        options.seed
    ));
    say(&format!(
        "{} simulated GPUs ({}) answer with SPDM 1.1 evidence under the X.509 root \"{GPU_ROOT}\" \
         (P-384 attestation keys); the registry endorses model {GPU_MODEL}'s minimum answer time, \
         {} µs, exactly the simulated GPUs' floor",
        fleet.gpus.len(),
        fleet
            .gpus
            .iter()
            .map(|g| g.spec.name)
            .collect::<Vec<_>>()
            .join(", "),
        GPU_FLOOR_NS / 1_000
    ));

    // Agents: one UDP endpoint per chip (two for the cloned key, same counter state) and one
    // per landmark (landmark key, no certificate) for the cross-checks.
    let counter_start = unix_now_ns() / 1_000;
    let mut chip_agents: Vec<Option<AgentHandle>> = Vec::new();
    let mut second_agent: Option<(usize, AgentHandle)> = None;
    for (i, c) in fleet.chips.iter().enumerate() {
        let agent = ChipAgent::with_counter(
            LOCAL,
            c.key.clone(),
            RamCounter::starting_after(counter_start),
            Some(c.cert),
        )?
        .spawn()?;
        chip_agents.push(Some(agent));
        if let Role::Clone { .. } = c.spec.role {
            let copy = ChipAgent::with_counter(
                LOCAL,
                c.key.clone(),
                RamCounter::starting_after(counter_start),
                Some(c.cert),
            )?
            .spawn()?;
            second_agent = Some((i, copy));
        }
    }
    let gpu_agents = super::gpus::start_agents(&fleet, LOCAL)?;
    let mut landmark_agents: Vec<AgentHandle> = Vec::new();
    for l in &fleet.landmarks {
        landmark_agents.push(ChipAgent::bind(LOCAL, l.key.clone(), None)?.spawn()?);
    }

    // Relay routes: landmark → each chip (and the clone's second board), landmark → landmark.
    let n_l = fleet.landmarks.len();
    let n_c = fleet.chips.len();
    let mut routes = Vec::new();
    let mut chip_route = vec![vec![0usize; n_c]; n_l];
    let mut second_route = vec![None; n_l];
    let mut cross_route = vec![vec![None; n_l]; n_l];
    let mut cross_routes = Vec::new();
    let local: SocketAddr = "127.0.0.1:0"
        .parse()
        .map_err(|_| DemoError::Options("loopback address".into()))?;
    let spec = |forward: SocketAddr, delay_ns: f64| RouteSpec {
        listen: local,
        forward,
        config: RelayConfig {
            delay: nanos(delay_ns),
            jitter: nanos(jitter_ns(delay_ns)),
        },
    };
    for l in 0..n_l {
        for (c, agent) in chip_agents.iter().enumerate() {
            let Some(agent) = agent else { continue };
            if let Some(slot) = chip_route.get_mut(l).and_then(|r| r.get_mut(c)) {
                *slot = routes.len();
            }
            routes.push(spec(
                agent.addr(),
                fleet.chip_delay_ns(l, c, Board::Primary),
            ));
        }
        if let Some((c, copy)) = &second_agent {
            if let Some(slot) = second_route.get_mut(l) {
                *slot = Some(routes.len());
            }
            routes.push(spec(copy.addr(), fleet.chip_delay_ns(l, *c, Board::Second)));
        }
        for (m, agent) in landmark_agents.iter().enumerate() {
            if m == l {
                continue;
            }
            if let Some(slot) = cross_route.get_mut(l).and_then(|r| r.get_mut(m)) {
                *slot = Some(cross_routes.len());
            }
            cross_routes.push(spec(agent.addr(), fleet.cross_delay_ns(l, m)));
        }
    }
    // The GPUs' routes have their own relay (its own scheduler thread): their 8 KiB datagrams
    // never queue in front of a chip's.
    let mut gpu_routes = Vec::new();
    let gpu_route = super::gpus::add_routes(&fleet, &gpu_agents, &mut gpu_routes, &spec);
    let gpu_relay = Relay::start(&gpu_routes)?;
    let gpu_relay_addrs = gpu_relay.listen_addrs().to_vec();
    // The cross-check routes live in their own relay, stopped before the chips are probed
    // (fewer threads competing for the cores while RTTs are timed).
    let cross_relay = Relay::start(&cross_routes)?;
    let cross_addrs = cross_relay.listen_addrs().to_vec();
    let relay = Relay::start(&routes)?;
    let addrs = relay.listen_addrs().to_vec();
    let addr_of = |i: usize| {
        addrs
            .get(i)
            .copied()
            .ok_or_else(|| DemoError::Worker(format!("relay route {i} missing")))
    };
    let cross_addr_of = |i: usize| {
        cross_addrs
            .get(i)
            .copied()
            .ok_or_else(|| DemoError::Worker(format!("cross-check route {i} missing")))
    };
    let agents_count = chip_agents.len()
        + gpu_agents.len()
        + landmark_agents.len()
        + usize::from(second_agent.is_some());
    say(&format!(
        "started {agents_count} UDP agents and a delay relay with {} routes (one-way delay from true \
         geodesic distance: fibre at 2c/3 × path stretch 1.3–1.6, plus jitter)",
        routes.len() + cross_routes.len() + gpu_routes.len()
    ));

    // Landmarks measure each other (each landmark agent answers with its landmark key).
    let t = Instant::now();
    let cross_logged = Mutex::new(0u64);
    std::thread::scope(|s| -> Result<(), DemoError> {
        let mut handles = Vec::new();
        for (a, lm) in fleet.landmarks.iter().enumerate() {
            let mut jobs = Vec::new();
            for (b, peer) in fleet.landmarks.iter().enumerate() {
                if let Some(Some(r)) = cross_route.get(a).and_then(|row| row.get(b)) {
                    let (config, _) = probe_config(CROSS_ROUNDS, fleet.cross_delay_ns(a, b));
                    jobs.push((cross_addr_of(*r)?, peer.key.public_key(), config.timeout));
                }
            }
            let per = jobs.len().div_ceil(CROSS_THREADS).max(1);
            for part in jobs.chunks(per).map(<[_]>::to_vec) {
                let (service, cross_logged) = (&service, &cross_logged);
                handles.push(s.spawn(move || -> Result<(), DemoError> {
                    let socket = UdpSocket::bind(LOCAL)
                        .map_err(|e| crate::net::NetError::io("binding a cross-check socket", e))?;
                    let mut landmark = Landmark::new(lm.key.clone());
                    let mut all = Vec::new();
                    for (addr, peer, timeout) in part {
                        all.extend(cross_probe(&mut landmark, &socket, addr, &peer, timeout)?);
                    }
                    append(service, a, &all)?;
                    *lock(cross_logged)? += all.len() as u64;
                    Ok(())
                }));
            }
        }
        for h in handles {
            h.join()
                .map_err(|_| DemoError::Worker("a cross-check thread panicked".into()))??;
        }
        Ok(())
    })?;
    cross_relay.shutdown();
    for a in landmark_agents.drain(..) {
        a.shutdown();
    }
    let cross_count = *lock(&cross_logged)?;
    say(&format!(
        "landmarks cross-checked each other: {cross_count} measurements in {:.1} s",
        t.elapsed().as_secs_f64()
    ));

    // Every landmark fetches and verifies each GPU's chain once, through its own route.
    let t = Instant::now();
    let gpu_addrs = gpu_route
        .iter()
        .map(|row| {
            row.iter()
                .map(|r| {
                    gpu_relay_addrs
                        .get(*r)
                        .copied()
                        .ok_or_else(|| DemoError::Worker(format!("GPU relay route {r} missing")))
                })
                .collect()
        })
        .collect::<Result<Vec<Vec<SocketAddr>>, DemoError>>()?;
    let registry_key = super::gpus::registry_key(&fleet);
    let gpu_verified = super::gpus::fetch_chains(
        &fleet,
        (&trust.x509_roots, &registry_key),
        &endorsement,
        &gpu_addrs,
        unix_now_s(),
    )?;
    say(&format!(
        "every landmark fetched each GPU's chain through the relay and verified it under \
         \"{GPU_ROOT}\", and checked the {GPU_MODEL} endorsement against it ({:.1} s)",
        t.elapsed().as_secs_f64()
    ));

    // Probing cycles, one per epoch.
    let probed = Mutex::new(0u64);
    let mut overruns = 0;
    for cycle in 0..options.cycles {
        let epoch_end = sleep_to_next_epoch(options.epoch);
        let t = Instant::now();
        let failed = Mutex::new(0u64);
        let skipped = Mutex::new(0u64);
        std::thread::scope(|s| -> Result<(), DemoError> {
            let mut handles = Vec::new();
            for (l, lm) in fleet.landmarks.iter().enumerate() {
                let mut jobs = Vec::new();
                for (c, chip) in fleet.chips.iter().enumerate() {
                    let use_second = matches!(chip.spec.role, Role::Clone { .. }) && cycle > 0;
                    let (route, board) = if use_second {
                        (second_route.get(l).copied().flatten(), Board::Second)
                    } else {
                        (
                            chip_route.get(l).and_then(|r| r.get(c)).copied(),
                            Board::Primary,
                        )
                    };
                    let Some(route) = route else { continue };
                    let (config, mut cost) =
                        probe_config(options.rounds, fleet.chip_delay_ns(l, c, board));
                    if chip.spec.role == Role::Silent && cycle > 0 {
                        cost = config.timeout * config.rounds;
                    }
                    jobs.push(Job {
                        target: Target::Chip(c),
                        addr: addr_of(route)?,
                        config,
                        cost,
                    });
                }
                for g in 0..fleet.gpus.len() {
                    let Some(addr) = gpu_addrs.get(l).and_then(|r| r.get(g)).copied() else {
                        continue;
                    };
                    let (config, cost) = probe_config(options.rounds, fleet.gpu_delay_ns(l, g));
                    let floor = Duration::from_nanos(GPU_FLOOR_NS) * config.rounds;
                    jobs.push(Job {
                        target: Target::Gpu(g),
                        addr,
                        config,
                        cost: cost + floor,
                    });
                }
                // The lying landmark re-signs its measurements of its target with a short RTT.
                let lie_for = (l == fleet.liar()).then(|| fleet.liar_target()).flatten();
                for mut part in balance(jobs, options.threads_per_landmark) {
                    // Chips first, GPUs last: a GPU round costs two P-384 operations (the
                    // agent's signature, the landmark's check), which would otherwise load the
                    // cores while the chips' RTTs are timed.
                    part.sort_by_key(|j| matches!(j.target, Target::Gpu(_)));
                    let (service, probed, failed, skipped, verified) =
                        (&service, &probed, &failed, &skipped, &verified);
                    let gpus = (
                        gpu_verified.get(l).map_or(&[][..], Vec::as_slice),
                        &endorsement,
                    );
                    let key = lm.key.clone();
                    let mut liar_key = lm.key.clone();
                    handles.push(s.spawn(move || -> Result<(), DemoError> {
                        let mut prober = Prober::bind(LOCAL, key)?;
                        let mut all = Vec::new();
                        let mut gpu_rounds = Vec::new();
                        let mut fails = 0u64;
                        let mut skips = 0u64;
                        for job in part {
                            // Every round of a cycle stays inside its epoch: a probe that might
                            // not finish before the epoch ends is skipped this cycle.
                            let worst = job.config.timeout * job.config.rounds + EPOCH_MARGIN;
                            let worst_ns = u64::try_from(worst.as_nanos()).unwrap_or(u64::MAX);
                            if unix_now_ns().saturating_add(worst_ns) > epoch_end {
                                skips += 1;
                                continue;
                            }
                            let chip = match job.target {
                                Target::Chip(c) => c,
                                Target::Gpu(g) => {
                                    let Some(gpu) = gpus.0.get(g) else { continue };
                                    let report = prober.probe_spdm(job.addr, gpu, &job.config);
                                    fails += u64::from(report.failed_rounds);
                                    gpu_rounds.push((g, report.rounds_ok));
                                    continue;
                                }
                            };
                            let Some(device) = verified.get(chip) else {
                                continue;
                            };
                            let report = prober.probe(job.addr, device, &job.config);
                            fails += u64::from(report.failed_rounds);
                            if lie_for == Some(chip) {
                                for m in report.measurements {
                                    all.push(super::scenario::lie(m, &mut liar_key)?);
                                }
                            } else {
                                all.extend(report.measurements);
                            }
                        }
                        append(service, l, &all)?;
                        let spdm = super::gpus::submit(service, l, gpus, &gpu_rounds)?;
                        *lock(probed)? += all.len() as u64 + spdm;
                        *lock(failed)? += fails;
                        *lock(skipped)? += skips;
                        Ok(())
                    }));
                }
            }
            for h in handles {
                h.join()
                    .map_err(|_| DemoError::Worker("a probing thread panicked".into()))??;
            }
            Ok(())
        })?;
        let took = t.elapsed();
        let skips = *lock(&skipped)?;
        overruns += u32::from(skips > 0);
        say(&format!(
            "cycle {}/{}: every landmark probed every chip and GPU, {} round(s) each (6 when near), in {:.1} s ({} rounds unanswered{})",
            cycle + 1,
            options.cycles,
            options.rounds,
            took.as_secs_f64(),
            *lock(&failed)?,
            if skips > 0 {
                format!("; {skips} probes skipped to stay within the epoch")
            } else {
                String::new()
            }
        ));
        if cycle == 0 {
            for (c, chip) in fleet.chips.iter().enumerate() {
                if chip.spec.role == Role::Silent {
                    if let Some(agent) = chip_agents.get_mut(c).and_then(Option::take) {
                        agent.shutdown();
                        say(&format!(
                            "{} went silent (its agent stopped)",
                            chip.spec.name
                        ));
                    }
                }
            }
            for chip in &fleet.chips {
                if let Role::Clone { second } = chip.spec.role {
                    say(&format!(
                        "{}: from now on its copy in {} answers",
                        chip.spec.name, second.name
                    ));
                }
            }
        }
    }
    for a in chip_agents.into_iter().flatten() {
        a.shutdown();
    }
    if let Some((_, a)) = second_agent {
        a.shutdown();
    }
    for a in gpu_agents {
        a.shutdown();
    }
    relay.shutdown();
    gpu_relay.shutdown();
    let probe_count = *lock(&probed)?;
    // The audit reads the log over HTTP, as a regulator elsewhere would, once both witnesses
    // have cosigned its final checkpoint.
    let log_dir = service::mirror_dir(out);
    let witnessed_by = service.mirror_witnessed(&log_dir, Duration::from_secs(20))?;
    let size = crate::log::LogReader::open(&log_dir)?.size();
    say(&format!(
        "log: {size} entries ({certs_count} certificates, {probe_count} chip and GPU measurements, {cross_count} cross-checks), \
         submitted over HTTP to the log server at {}; cosigned by {} of {} witnesses ({})",
        service.url(),
        witnessed_by.len(),
        service::WITNESSES,
        witnessed_by.join(", ")
    ));
    if witnessed_by.len() < service::WITNESSES {
        return Err(DemoError::Worker(format!(
            "the final checkpoint has {} of {} witness cosignatures",
            witnessed_by.len(),
            service::WITNESSES
        )));
    }
    service.shutdown();

    // The audit, exactly as a regulator runs it on the fetched folder.
    let t = Instant::now();
    let mut report = audit::audit(
        &AuditOptions {
            log_dir: &log_dir,
            trust: &trust,
            policy: &policy,
            rules,
            // The wall clock, in whole seconds so that `--now` reproduces the report.
            now_ns: Some(audit::wall_clock_ns() / 1_000_000_000 * 1_000_000_000),
            threads: None,
            since: None,
        },
        &mut |_, _| {},
    )?;
    report.log.witnessed_by = witnessed_by;
    say(&format!(
        "audit: {} signatures verified in {:.1} s",
        report.counts.signatures_verified,
        t.elapsed().as_secs_f64()
    ));
    let world = policy.default_world()?;
    crate::report::write_json(&report, &out.join("report.json"))?;
    crate::report::write_html(&report, world, &out.join("report.html"))?;
    let summary_path = out.join("summary.txt");
    std::fs::write(&summary_path, crate::report::summary(&report))
        .map_err(io_err(&summary_path))?;

    let truth = truth::ground_truth(&fleet, &policy, world)?;
    let comparison = truth::compare(&truth, &fleet, &report);
    let truth_path = out.join("truth.json");
    std::fs::write(&truth_path, comparison.to_json()).map_err(io_err(&truth_path))?;

    Ok(DemoOutcome {
        report,
        comparison,
        out: out.to_path_buf(),
        seed: options.seed,
        names,
        elapsed: started.elapsed(),
        sizes: (
            n_l,
            n_c + fleet.gpus.len(),
            agents_count,
            routes.len() + cross_routes.len() + gpu_routes.len(),
        ),
        logged: (probe_count, cross_count),
        overruns,
    })
}
