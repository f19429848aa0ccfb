//! Rounds answered with SPDM evidence, on real UDP loopback: a landmark probes a GPU agent and
//! logs records the core's checks accept; and the attackers — an agent replaying the real H100
//! sample (whose nonce is fixed), an agent handing out another GPU's chain, hostile datagrams —
//! get nothing logged. The first test runs the real binary, as an operator would.

mod evidence_support;
mod net_support;

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::time::Duration;

use lightcone::evidence::spdm::NONCE_LEN;
use lightcone::{LogEntry, LogRecord};
use lightcone_verifier::evidence::synthetic::{seeded_key, CertSpec, SyntheticChain};
use lightcone_verifier::evidence::x509::Cert;
use lightcone_verifier::evidence::{
    read_pem_certs, read_report_hex, SimulatedGpu, SpdmResponder, SpdmResponderError,
};
use lightcone_verifier::log::{Log, LogReader};
use lightcone_verifier::net::fleet::{Fleet, FleetRunner};
use lightcone_verifier::net::probe::verify_gpu_chain;
use lightcone_verifier::net::spdm_datagram::{SpdmDatagram, SPDM_DATAGRAM_LEN};
use lightcone_verifier::net::{
    DiscardCounts, DiscardReason, GpuRecords, Logbook, ProbeConfig, Prober, SpdmAgent,
};
use lightcone_verifier::registry::{unix_now_s, Trust};
use net_support::{eventually, run, run_ok, Fixture, Proc};

const T: Duration = Duration::from_secs(30);
const LOCAL: &str = "127.0.0.1:0";

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn config(rounds: u32) -> ProbeConfig {
    ProbeConfig {
        rounds,
        timeout: Duration::from_millis(300),
        retries: 1,
        interval: Duration::ZERO,
    }
}

/// Every entry of the log in `dir`, decoded: (index, bytes).
fn entries(dir: &Path) -> Vec<Vec<u8>> {
    let reader = LogReader::open(dir).unwrap();
    reader.entries().map(|e| e.unwrap().1).collect()
}

/// Checks that the log holds the landmark certificate, the GPU chain once, then SPDM
/// measurements that verify under the landmark's certificate and the chain's leaf key;
/// returns how many measurements.
fn check_log(dir: &Path, trust: &Trust, roots: &[(String, Cert)]) -> usize {
    let now = unix_now_s();
    let mut landmark = None;
    let mut gpu = None;
    let mut chains = 0;
    let mut measured = 0;
    for bytes in entries(dir) {
        match LogEntry::decode(&bytes).unwrap() {
            LogEntry::Record(LogRecord::LandmarkCertificate(c)) => {
                landmark = Some(trust.verify_landmark(&c, now).unwrap())
            }
            LogEntry::GpuChain(c) => {
                chains += 1;
                gpu = Some(verify_gpu_chain(c.chain_der, roots, now).unwrap());
            }
            LogEntry::Spdm(m) => {
                let (lm, g) = (landmark.as_ref().unwrap(), gpu.as_ref().unwrap());
                assert_eq!(m.chip_id(), g.chip_id);
                m.verify(lm, &g.leaf_key).unwrap();
                measured += 1;
            }
            other => panic!("unexpected entry {other:?}"),
        }
    }
    assert_eq!(
        chains, 1,
        "the chain is logged once, before the first measurement"
    );
    measured
}

/// Registry, landmark, log and trust file with the CLI, plus a simulated GPU whose root the
/// trust file names; returns the log's verifier key.
fn provision(root: &Path) {
    run_ok(
        &[
            "vendor",
            "init",
            "--dir",
            p(&root.join("vendor")),
            "--name",
            "acme",
        ],
        T,
    );
    run_ok(&["registry", "init", "--dir", p(&root.join("registry"))], T);
    run_ok(
        &[
            "landmark",
            "provision",
            "--registry",
            p(&root.join("registry")),
            "--dir",
            p(&root.join("paris")),
            "--operator",
            "example-operator",
            "--lat",
            "48.8566",
            "--lon",
            "2.3522",
            "--uncertainty-m",
            "25",
        ],
        T,
    );
    let vkey = run_ok(
        &[
            "log",
            "init",
            "--dir",
            p(&root.join("log")),
            "--origin",
            "lightcone.test/log",
        ],
        T,
    );
    run_ok(
        &[
            "registry",
            "trust",
            "--out",
            p(&root.join("trust.toml")),
            "--registry",
            p(&root.join("registry")),
            "--vendor",
            p(&root.join("vendor")),
            "--log-verifier-key",
            vkey.trim(),
        ],
        T,
    );
    let out = run_ok(&["chip", "gpu-simulate", "--dir", p(&root.join("gpu0"))], T);
    assert!(out.starts_with("simulated GPU sim-gpu: chip "), "{out}");
    // The operator appends the simulated root's entry to the landmark's trust file.
    let snippet = std::fs::read_to_string(root.join("gpu0/x509_root.toml")).unwrap();
    let mut trust = std::fs::read_to_string(root.join("trust.toml")).unwrap();
    trust.push('\n');
    trust.push_str(&snippet);
    std::fs::write(root.join("trust.toml"), trust).unwrap();
}

#[test]
fn the_binary_probes_a_simulated_gpu_and_logs_records_the_core_accepts() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    provision(root);
    let agent = Proc::spawn(&[
        "chip",
        "serve",
        "--simulated-gpu",
        p(&root.join("gpu0")),
        "--floor-us",
        "200",
    ]);
    let addr = agent.listening();
    let chip_line = agent.line("chip ", T);
    let (paris, trust_file, log_dir) = (
        root.join("paris"),
        root.join("trust.toml"),
        root.join("log"),
    );
    let common = [
        "--dir",
        p(&paris),
        "--trust",
        p(&trust_file),
        "--log",
        p(&log_dir),
    ];
    let mut args = vec!["landmark", "probe", "--spdm", "--chip"];
    let addr_s = addr.to_string();
    args.push(&addr_s);
    args.extend_from_slice(&common);
    args.extend_from_slice(&["--rounds", "3"]);
    let out = run_ok(&args, T);
    assert!(out.contains("rounds 3/3 ok"), "{out}");
    assert!(out.contains("logged entries 2..5"), "{out}");
    assert!(!out.contains("warning"), "{out}");
    // Every answer took at least the GPU's floor.
    assert!(
        out.lines().filter(|l| l.contains("round ")).count() == 3,
        "{out}"
    );

    // A fleet with the GPU, pinned to its chip id, one cycle: the chain is not logged again.
    let chip_id = chip_line
        .trim_start_matches("chip ")
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let fleet = format!(
        "rounds = 2\ntimeout_ms = 500\nretries = 1\ninterval_s = 0\n\n[[chip]]\nname = \"gpu0\"\naddr = \"{addr}\"\nkind = \"spdm\"\nx509_root = \"lightcone-simulated-gpu\"\nchip_id = \"{chip_id}\"\n"
    );
    std::fs::write(root.join("fleet.toml"), fleet).unwrap();
    let fleet_file = root.join("fleet.toml");
    let mut args = vec![
        "landmark",
        "run",
        "--fleet",
        p(&fleet_file),
        "--cycles",
        "1",
    ];
    args.extend_from_slice(&common);
    let out = run_ok(&args, T);
    assert!(out.contains("rounds 2/2 ok"), "{out}");
    assert!(out.contains("logged entries 5..7"), "{out}");

    let trust = Trust::load(&root.join("trust.toml")).unwrap();
    let roots = Trust::load_x509_roots(&root.join("trust.toml")).unwrap();
    assert_eq!(check_log(&root.join("log"), &trust, &roots), 5);
}

#[test]
fn the_binary_submits_spdm_rounds_to_a_log_server() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    provision(root);
    let (log_dir, key, trust_file) = (
        root.join("log"),
        root.join("log.key"),
        root.join("trust.toml"),
    );
    let server = Proc::spawn(&[
        "log",
        "serve",
        "--dir",
        p(&log_dir),
        "--key",
        p(&key),
        "--listen",
        "127.0.0.1:0",
        "--trust",
        p(&trust_file),
    ]);
    let url = format!("http://{}", server.listening());
    let agent = Proc::spawn(&["chip", "serve", "--simulated-gpu", p(&root.join("gpu0"))]);
    let addr = agent.listening().to_string();
    let paris = root.join("paris");
    let out = run_ok(
        &[
            "landmark",
            "probe",
            "--spdm",
            "--chip",
            &addr,
            "--dir",
            p(&paris),
            "--trust",
            p(&trust_file),
            "--log-url",
            &url,
            "--rounds",
            "3",
        ],
        T,
    );
    assert!(out.contains("rounds 3/3 ok"), "{out}");
    assert!(out.contains("logged entries 2..5"), "{out}");
    let trust = Trust::load(&trust_file).unwrap();
    let roots = Trust::load_x509_roots(&trust_file).unwrap();
    assert!(eventually(T, || entries(&log_dir).len() == 5));
    assert_eq!(check_log(&log_dir, &trust, &roots), 3);
}

#[test]
fn without_a_gpu_the_nvidia_agent_refuses_to_start() {
    for args in [
        &["chip", "serve", "--nvidia"][..],
        &["chip", "serve", "--nvidia", "--gpu", "3"][..],
        &["chip", "nvidia-timing", "--rounds", "5"][..],
    ] {
        let out = run(args, T);
        if out.status.code() == Some(0) {
            eprintln!("skipping: this machine has an NVIDIA GPU");
            return;
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("no usable NVIDIA GPU"),
            "{args:?}: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "one clear message: {stderr}");
    }
}

#[test]
fn nvidia_timing_prints_the_answer_times_as_json() {
    let tmp = tempfile::tempdir().unwrap();
    run_ok(
        &["chip", "gpu-simulate", "--dir", p(&tmp.path().join("g"))],
        T,
    );
    let out = run_ok(
        &[
            "chip",
            "nvidia-timing",
            "--rounds",
            "7",
            "--simulated-gpu",
            p(&tmp.path().join("g")),
        ],
        T,
    );
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["rounds"], 7);
    assert_eq!(v["valid"], 7);
    assert_eq!(v["report_bytes"], 4117);
    let (min, med, p90, max) = (
        v["min_us"].as_f64().unwrap(),
        v["median_us"].as_f64().unwrap(),
        v["p90_us"].as_f64().unwrap(),
        v["max_us"].as_f64().unwrap(),
    );
    assert!(0.0 < min && min <= med && med <= p90 && p90 <= max, "{v}");
}

/// A landmark (in memory) trusting `roots`, with a log in `dir`.
struct Landmark {
    fixture: Fixture,
    prober: Prober<ed25519_dalek::SigningKey>,
    cert: lightcone::LandmarkCertificate,
}

fn landmark() -> Landmark {
    let mut fixture = Fixture::new();
    let (key, cert) = fixture.landmark(48.85, 2.35);
    let prober = Prober::bind(LOCAL, key).unwrap();
    Landmark {
        fixture,
        prober,
        cert: *cert,
    }
}

fn logbook(dir: &Path) -> Logbook {
    let log = Log::init(dir, "lightcone.test/spdm", net_support::key()).unwrap();
    Logbook::from_log(log).unwrap()
}

/// An agent whose GPU answers with a recorded report, whatever the nonce: a replay.
struct Replay {
    report: Vec<u8>,
    chain_der: Vec<u8>,
}

impl SpdmResponder for Replay {
    fn measure(&mut self, _nonce: &[u8; NONCE_LEN]) -> Result<Vec<u8>, SpdmResponderError> {
        Ok(self.report.clone())
    }
    fn chain_der(&self) -> Vec<u8> {
        self.chain_der.clone()
    }
}

/// A GPU that hands out another GPU's chain.
struct Impostor {
    gpu: SimulatedGpu,
    chain_der: Vec<u8>,
}

impl SpdmResponder for Impostor {
    fn measure(&mut self, nonce: &[u8; NONCE_LEN]) -> Result<Vec<u8>, SpdmResponderError> {
        self.gpu.measure(nonce)
    }
    fn chain_der(&self) -> Vec<u8> {
        self.chain_der.clone()
    }
}

fn records(v: &lightcone_verifier::net::probe::VerifiedGpu) -> GpuRecords<'_> {
    GpuRecords {
        chain_der: &v.chain_der,
        endorsement: None,
    }
}

fn der_of(certs: &[Cert]) -> Vec<u8> {
    certs.iter().flat_map(|c| c.der().to_vec()).collect()
}

#[test]
fn a_simulated_gpu_over_udp_is_measured_and_logged() {
    let gpu = SimulatedGpu::generate("udp-0").unwrap();
    let roots = vec![("sim".to_string(), gpu.root().unwrap().clone())];
    let agent = SpdmAgent::bind(LOCAL, gpu).unwrap().spawn().unwrap();
    let mut lm = landmark();
    let mut discards = DiscardCounts::default();
    let v = lm
        .prober
        .fetch_gpu_chain(agent.addr(), &roots, unix_now_s(), T, 2, &mut discards)
        .unwrap();
    assert_eq!(v.chip_id, agent.chip_id());
    let report = lm.prober.probe_spdm(agent.addr(), &v, &config(4));
    assert_eq!(report.rounds_ok.len(), 4, "{report:?}");
    assert_eq!(report.refused_evidence(), 0);
    let tmp = tempfile::tempdir().unwrap();
    let mut book = logbook(&tmp.path().join("log"));
    let range = book
        .append_spdm(&lm.cert, records(&v), &report.rounds_ok)
        .unwrap();
    assert_eq!(range, 2..6);
    // The second batch logs measurements only.
    let again = lm.prober.probe_spdm(agent.addr(), &v, &config(1));
    let range = book
        .append_spdm(&lm.cert, records(&v), &again.rounds_ok)
        .unwrap();
    assert_eq!(range, 6..7);
    let trust = lm.fixture.trust.clone();
    assert_eq!(check_log(&tmp.path().join("log"), &trust, &roots), 5);
    assert_eq!(agent.counters().answered(), 5);
}

#[test]
fn an_agent_replaying_the_real_h100_report_is_refused() {
    let Some(sample) = evidence_support::sample("hopper") else {
        return;
    };
    let report = read_report_hex(&sample.report).unwrap();
    let chain = read_pem_certs(&sample.chain).unwrap();
    let root = evidence_support::sample("hopper")
        .map(|s| lightcone_verifier::evidence::read_root(&s.root).unwrap())
        .unwrap();
    let roots = vec![("nvidia-device-identity-ca".to_string(), root)];
    let agent = SpdmAgent::bind(
        LOCAL,
        Replay {
            report,
            chain_der: der_of(&chain),
        },
    )
    .unwrap()
    .spawn()
    .unwrap();
    let mut lm = landmark();
    let mut discards = DiscardCounts::default();
    // The chain is genuine: it verifies under NVIDIA's root.
    let v = lm
        .prober
        .fetch_gpu_chain(agent.addr(), &roots, unix_now_s(), T, 2, &mut discards)
        .unwrap();
    assert!(
        v.leaf_subject.contains("GH100 A01 GSP FMC LF"),
        "{}",
        v.leaf_subject
    );
    // But its report answers a nonce this landmark never issued: every round is refused.
    let cfg = config(3);
    let report = lm.prober.probe_spdm(agent.addr(), &v, &cfg);
    assert!(report.rounds_ok.is_empty(), "{report:?}");
    assert_eq!(report.failed_rounds, 3);
    assert_eq!(
        report.discards.get(DiscardReason::UnknownNonce),
        6,
        "{report:?}"
    );
    assert_eq!(report.refused_evidence(), 6);
    // Nothing is logged.
    let tmp = tempfile::tempdir().unwrap();
    let mut book = logbook(&tmp.path().join("log"));
    let range = book
        .append_spdm(&lm.cert, records(&v), &report.rounds_ok)
        .unwrap();
    assert!(range.is_empty());
    assert_eq!(book.log().size(), 0);
}

#[test]
fn an_agent_with_another_gpus_chain_is_refused() {
    // Two GPUs of one vendor: same root and intermediate, two leaves.
    let chain = SyntheticChain::with_keys(
        "vendor",
        "A",
        seeded_key(0x41).unwrap(),
        seeded_key(0x42).unwrap(),
        seeded_key(0x43).unwrap(),
    )
    .unwrap();
    let (certs_a, root) = chain.build().unwrap();
    let mut leaf_b = CertSpec::new(
        "CN=vendor GPU B,O=lightcone",
        &chain.ca.subject,
        chain.leaf.extensions.clone(),
    );
    leaf_b.serial = vec![0x02];
    let key_b = seeded_key(0x44).unwrap();
    let cert_b = leaf_b.sign(&key_b, &chain.ca_key).unwrap();
    let certs_b = vec![cert_b, certs_a[1].clone()];
    let roots = vec![("vendor".to_string(), root.clone())];
    let gpu_a = SimulatedGpu::from_parts("A", chain.leaf_key.clone(), certs_a.clone(), Some(root));
    let impostor = Impostor {
        gpu: gpu_a,
        chain_der: der_of(&certs_b),
    };
    let agent = SpdmAgent::bind(LOCAL, impostor).unwrap().spawn().unwrap();
    let mut lm = landmark();
    let mut discards = DiscardCounts::default();
    let v = lm
        .prober
        .fetch_gpu_chain(agent.addr(), &roots, unix_now_s(), T, 2, &mut discards)
        .unwrap();
    // The chain is B's (valid under the vendor's root), the reports are A's: refused.
    assert!(v.leaf_subject.contains("GPU B"));
    let report = lm.prober.probe_spdm(agent.addr(), &v, &config(2));
    assert!(report.rounds_ok.is_empty(), "{report:?}");
    assert_eq!(
        report.discards.get(DiscardReason::BadSignature),
        4,
        "{report:?}"
    );

    // A fleet that pins A's chip id refuses B's chain outright, and logs nothing.
    let a_id = lightcone_verifier::evidence::chip_id_of_chain(&der_of(&certs_a)).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let fleet_path = tmp.path().join("fleet.toml");
    std::fs::write(
        &fleet_path,
        format!(
            "rounds = 1\ntimeout_ms = 300\nretries = 0\n[[chip]]\nname = \"a\"\naddr = \"{}\"\nkind = \"spdm\"\nchip_id = \"{a_id}\"\n",
            agent.addr()
        ),
    )
    .unwrap();
    let fleet = Fleet::load(&fleet_path).unwrap();
    let trust = lm.fixture.trust.clone();
    let mut runner = FleetRunner::new(lm.prober, lm.cert, trust, fleet)
        .unwrap()
        .with_x509_roots(roots);
    let mut book = logbook(&tmp.path().join("log"));
    let outcomes = runner.cycle(Some(&mut book));
    let error = outcomes[0].error.as_deref().unwrap_or("");
    assert!(error.contains("pins"), "{error}");
    assert!(outcomes[0].logged.is_none());
    assert_eq!(book.log().size(), 0);
}

#[test]
fn truncated_and_oversized_datagrams_are_refused_on_both_sides() {
    // At the agent: a truncated challenge, an oversized datagram, a dirty padding; no reply.
    let gpu = SimulatedGpu::generate("hostile").unwrap();
    let agent = SpdmAgent::bind(LOCAL, gpu).unwrap().spawn().unwrap();
    let attacker = UdpSocket::bind(LOCAL).unwrap();
    attacker
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let c = lightcone::Challenge {
        version: lightcone::PROTOCOL_VERSION,
        landmark_id: lightcone::LandmarkId::from([1; 16]),
        chip_id: agent.chip_id(),
        nonce: lightcone::Nonce(lightcone::wire::Bytes([7; 32])),
    };
    let good = SpdmDatagram::Challenge(c).to_vec().unwrap();
    attacker.send_to(&good[..100], agent.addr()).unwrap();
    attacker
        .send_to(&vec![0x05; SPDM_DATAGRAM_LEN + 500], agent.addr())
        .unwrap();
    let mut dirty = good.clone();
    dirty[SPDM_DATAGRAM_LEN - 1] = 9;
    attacker.send_to(&dirty, agent.addr()).unwrap();
    let mut buf = [0u8; 16];
    assert!(
        attacker.recv_from(&mut buf).is_err(),
        "no reply to hostile datagrams"
    );
    assert!(eventually(T, || agent.counters().discards().total() == 3));
    let d = agent.counters().discards();
    assert_eq!(d.get(DiscardReason::Undecodable), 2);
    assert_eq!(d.get(DiscardReason::Oversized), 1);
    // The agent still answers a good challenge.
    attacker.send_to(&good, agent.addr()).unwrap();
    let mut reply = vec![0u8; SPDM_DATAGRAM_LEN + 1];
    attacker
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let (n, _) = attacker.recv_from(&mut reply).unwrap();
    assert!(matches!(
        SpdmDatagram::decode(&reply[..n]),
        Ok(SpdmDatagram::Report(_))
    ));

    // At the landmark: a hostile "agent" answers each challenge with an oversized datagram, a
    // truncated report and an empty one; nothing is measured.
    let hostile = UdpSocket::bind(LOCAL).unwrap();
    let hostile_addr: SocketAddr = hostile.local_addr().unwrap();
    let gpu = SimulatedGpu::generate("victim").unwrap();
    let roots = vec![("sim".to_string(), gpu.root().unwrap().clone())];
    let v = verify_gpu_chain(&gpu.chain_der(), &roots, unix_now_s()).unwrap();
    let server = std::thread::spawn(move || {
        let mut gpu = gpu;
        let mut buf = vec![0u8; SPDM_DATAGRAM_LEN + 1];
        hostile
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        for _ in 0..2 {
            let Ok((n, from)) = hostile.recv_from(&mut buf) else {
                return;
            };
            let Ok(SpdmDatagram::Challenge(c)) = SpdmDatagram::decode(&buf[..n]) else {
                return;
            };
            let nonce = lightcone::evidence::spdm::challenge_nonce(&c).unwrap();
            let report = gpu.measure(&nonce).unwrap();
            let framed = SpdmDatagram::Report(&report).to_vec().unwrap();
            let mut over = framed.clone();
            over.resize(SPDM_DATAGRAM_LEN + 1, 0);
            hostile.send_to(&over, from).unwrap();
            hostile.send_to(&framed[..framed.len() - 10], from).unwrap();
            hostile.send_to(&[0x06], from).unwrap();
        }
    });
    let mut lm = landmark();
    let report = lm.prober.probe_spdm(hostile_addr, &v, &config(1));
    server.join().unwrap();
    assert!(report.rounds_ok.is_empty(), "{report:?}");
    assert_eq!(
        report.discards.get(DiscardReason::Oversized),
        2,
        "{report:?}"
    );
    assert_eq!(
        report.discards.get(DiscardReason::Undecodable),
        4,
        "{report:?}"
    );
}

/// Writes the seed corpus of the `net_spdm_datagram` fuzz target (`fuzz/corpus/…`): datagrams
/// to and from the fixed test GPU that the target's agent serves.
#[test]
#[ignore = "writes fuzz/corpus seeds; run by hand when the formats change"]
fn write_fuzz_seeds() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/net_spdm_datagram");
    std::fs::create_dir_all(&dir).unwrap();
    let chain = SyntheticChain::fixed().unwrap();
    let mut gpu = SimulatedGpu::from_chain("fuzz", &chain).unwrap();
    let chip_id = lightcone_verifier::evidence::chip_id_of_chain(&gpu.chain_der()).unwrap();
    let c = lightcone::Challenge {
        version: lightcone::PROTOCOL_VERSION,
        landmark_id: lightcone::LandmarkId::from([1; 16]),
        chip_id,
        nonce: lightcone::Nonce(lightcone::wire::Bytes([2; 32])),
    };
    let challenge = SpdmDatagram::Challenge(c).to_vec().unwrap();
    let report = gpu.measure(&[3; 32]).unwrap();
    let chain_der = gpu.chain_der();
    for (name, bytes) in [
        ("challenge", challenge.clone()),
        ("truncated-challenge", challenge[..80].to_vec()),
        (
            "chain-request",
            SpdmDatagram::ChainRequest.to_vec().unwrap(),
        ),
        ("report", SpdmDatagram::Report(&report).to_vec().unwrap()),
        (
            "chain-reply",
            SpdmDatagram::ChainReply(&chain_der).to_vec().unwrap(),
        ),
    ] {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

#[test]
fn a_chain_under_an_untrusted_root_is_refused_before_any_round() {
    let trusted = SimulatedGpu::generate("trusted").unwrap();
    let roots = vec![("trusted".to_string(), trusted.root().unwrap().clone())];
    // Its own self-made root, not the landmark's.
    let stranger = SimulatedGpu::generate("stranger").unwrap();
    let agent = SpdmAgent::bind(LOCAL, stranger).unwrap().spawn().unwrap();
    let mut lm = landmark();
    let mut discards = DiscardCounts::default();
    let got = lm.prober.fetch_gpu_chain(
        agent.addr(),
        &roots,
        unix_now_s(),
        Duration::from_millis(300),
        2,
        &mut discards,
    );
    assert!(
        matches!(
            got,
            Err(lightcone_verifier::net::NetError::NoChain { attempts: 2, .. })
        ),
        "{got:?}"
    );
    assert_eq!(discards.get(DiscardReason::BadCertificate), 2);
    assert_eq!(agent.counters().answered(), 0, "no round was measured");
}

/// The `[[x509_root]]` entry of a root certificate.
fn root_entry(name: &str, root: &Cert) -> String {
    let pem = lightcone_verifier::evidence::synthetic::to_pem(std::slice::from_ref(root)).unwrap();
    format!(
        "\n[[x509_root]]\nname = \"{name}\"\nsha256 = \"{}\"\ncertificate = \"\"\"\n{pem}\"\"\"\n",
        root.fingerprint()
    )
}

#[test]
fn the_binary_landmark_refuses_a_replayed_h100_report_and_another_gpus_chain() {
    let Some(sample) = evidence_support::sample("hopper") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    provision(root);
    let trust_file = root.join("trust.toml");
    let nvidia_root = lightcone_verifier::evidence::read_root(&sample.root).unwrap();
    let mut trust = std::fs::read_to_string(&trust_file).unwrap();
    trust.push_str(&root_entry("nvidia-device-identity-ca", &nvidia_root));
    std::fs::write(&trust_file, trust).unwrap();

    // A replaying agent: the genuine H100 chain, the recorded report for every challenge.
    let replay = SpdmAgent::bind(
        LOCAL,
        Replay {
            report: read_report_hex(&sample.report).unwrap(),
            chain_der: der_of(&read_pem_certs(&sample.chain).unwrap()),
        },
    )
    .unwrap()
    .spawn()
    .unwrap();
    let (paris, log_dir) = (root.join("paris"), root.join("log"));
    let addr = replay.addr().to_string();
    let out = run_ok(
        &[
            "landmark",
            "probe",
            "--spdm",
            "--chip",
            &addr,
            "--dir",
            p(&paris),
            "--trust",
            p(&trust_file),
            "--log",
            p(&log_dir),
            "--rounds",
            "2",
            "--retries",
            "1",
            "--timeout-ms",
            "300",
        ],
        T,
    );
    assert!(out.contains("GH100 A01 GSP FMC LF"), "{out}");
    assert!(out.contains("rounds 0/2 ok"), "{out}");
    assert!(
        out.contains("warning: 4 SPDM answer(s) refused as evidence and not logged"),
        "{out}"
    );
    assert!(out.contains("unknown-nonce=4"), "{out}");
    assert!(out.contains("nothing to log"), "{out}");
    assert!(entries(&log_dir).is_empty());

    // An agent whose reports are the simulated GPU's but whose chain is the H100's.
    let gpu = SimulatedGpu::load(&root.join("gpu0"), "gpu0").unwrap();
    let gpu_id = lightcone_verifier::evidence::chip_id_of_chain(&gpu.chain_der()).unwrap();
    let impostor = SpdmAgent::bind(
        LOCAL,
        Impostor {
            gpu,
            chain_der: der_of(&read_pem_certs(&sample.chain).unwrap()),
        },
    )
    .unwrap()
    .spawn()
    .unwrap();
    let addr = impostor.addr().to_string();
    let out = run_ok(
        &[
            "landmark",
            "probe",
            "--spdm",
            "--chip",
            &addr,
            "--dir",
            p(&paris),
            "--trust",
            p(&trust_file),
            "--log",
            p(&log_dir),
            "--rounds",
            "2",
            "--retries",
            "0",
            "--timeout-ms",
            "300",
        ],
        T,
    );
    assert!(out.contains("rounds 0/2 ok"), "{out}");
    assert!(out.contains("bad-signature=2"), "{out}");
    assert!(entries(&log_dir).is_empty());
    // Pinned in a fleet to the simulated GPU's id, the H100 chain is refused before any round.
    std::fs::write(
        root.join("fleet.toml"),
        format!(
            "rounds = 1\ntimeout_ms = 300\nretries = 0\n[[chip]]\nname = \"gpu0\"\naddr = \"{addr}\"\nkind = \"spdm\"\nchip_id = \"{gpu_id}\"\n"
        ),
    )
    .unwrap();
    let fleet_file = root.join("fleet.toml");
    let out = run_ok(
        &[
            "landmark",
            "run",
            "--fleet",
            p(&fleet_file),
            "--cycles",
            "1",
            "--dir",
            p(&paris),
            "--trust",
            p(&trust_file),
            "--log",
            p(&log_dir),
        ],
        T,
    );
    assert!(
        out.contains("gpu0: not probed") && out.contains("pins"),
        "{out}"
    );
    assert!(entries(&log_dir).is_empty());
    assert_eq!(impostor.counters().answered(), 2);
}

#[test]
fn probe_log_and_audit_a_simulated_gpu_with_the_registrys_endorsement() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    provision(root);
    let (gpu0, paris, log_dir, trust_file) = (
        root.join("gpu0"),
        root.join("paris"),
        root.join("log"),
        root.join("trust.toml"),
    );
    let endorsement = root.join("sim.endorsement.toml");
    run_ok(
        &[
            "registry",
            "endorse-model",
            "--registry",
            p(&root.join("registry")),
            "--model",
            "SIM-GPU",
            "--root",
            p(&gpu0.join("root.pem")),
            "--leaf-cn-prefix",
            "lightcone simulated GPU",
            "--min-response-us",
            "100",
            "--out",
            p(&endorsement),
        ],
        T,
    );
    // An endorsement for another model's GPUs is refused before any round.
    let other = root.join("other.endorsement.toml");
    run_ok(
        &[
            "registry",
            "endorse-model",
            "--registry",
            p(&root.join("registry")),
            "--model",
            "H100",
            "--root",
            p(&gpu0.join("root.pem")),
            "--leaf-cn-prefix",
            "GH100",
            "--min-response-us",
            "1",
            "--out",
            p(&other),
        ],
        T,
    );
    let agent = Proc::spawn(&[
        "chip",
        "serve",
        "--simulated-gpu",
        p(&gpu0),
        "--floor-us",
        "200",
    ]);
    let addr = agent.listening().to_string();
    let probe = |e: &Path| {
        run(
            &[
                "landmark",
                "probe",
                "--spdm",
                "--chip",
                &addr,
                "--dir",
                p(&paris),
                "--trust",
                p(&trust_file),
                "--log",
                p(&log_dir),
                "--rounds",
                "3",
                "--endorsement",
                p(e),
            ],
            T,
        )
    };
    let refused = probe(&other);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not for this GPU"));
    assert!(entries(&log_dir).is_empty());
    let out = probe(&endorsement);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("model endorsement: SIM-GPU"), "{stdout}");
    assert!(stdout.contains("logged entries 3..6"), "{stdout}");
    // The endorsement is logged before the chain, the chain before the measurements.
    let kinds: Vec<u8> = entries(&log_dir).iter().map(|e| e[0]).collect();
    assert_eq!(kinds, vec![1, 3, 4, 5, 5, 5]);

    // The auditor, from the log and the trust file alone: the GPU is verified, by its model.
    std::fs::write(
        root.join("policy.toml"),
        "forbidden = [\"CN\"]\nfaulty_operators = 0\n",
    )
    .unwrap();
    let json = root.join("a.json");
    run_ok(
        &[
            "audit",
            "--log",
            p(&log_dir),
            "--trust",
            p(&trust_file),
            "--policy",
            p(&root.join("policy.toml")),
            "--json",
            p(&json),
        ],
        T,
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let chip = &report["chips"][0];
    assert_eq!(chip["model"], "SIM-GPU", "{report:#}");
    assert_eq!(chip["evidence"], "spdm-1.1-measurements");
    assert_eq!(chip["status"], "verified", "{report:#}");
    assert_eq!(chip["measurements"], 3);
}

/// A GPU agent that answers with a count-only report (no blocks: cheaper than the full report
/// whose time the registry endorses), correctly signed by the GPU's own key.
struct CountOnly {
    key: p384::ecdsa::SigningKey,
    chain_der: Vec<u8>,
}

impl SpdmResponder for CountOnly {
    fn measure(&mut self, nonce: &[u8; NONCE_LEN]) -> Result<Vec<u8>, SpdmResponderError> {
        use lightcone::evidence::spdm::{answer_measurements, GetMeasurements, OPERATION_COUNT};
        let request = GetMeasurements::new(OPERATION_COUNT, *nonce, 0).unwrap();
        let mut out = vec![0u8; 4096];
        let report = answer_measurements(&mut self.key, &request, &[], &[9; 32], &[], &mut out)
            .map_err(|e| SpdmResponderError(e.to_string()))?;
        Ok(report.to_vec())
    }
    fn chain_der(&self) -> Vec<u8> {
        self.chain_der.clone()
    }
}

#[test]
fn a_count_only_report_is_not_measured() {
    let gpu = SimulatedGpu::generate("count").unwrap();
    let roots = vec![("sim".to_string(), gpu.root().unwrap().clone())];
    let responder = CountOnly {
        key: gpu.key().clone(),
        chain_der: gpu.chain_der(),
    };
    let agent = SpdmAgent::bind(LOCAL, responder).unwrap().spawn().unwrap();
    let mut lm = landmark();
    let mut discards = DiscardCounts::default();
    let v = lm
        .prober
        .fetch_gpu_chain(agent.addr(), &roots, unix_now_s(), T, 2, &mut discards)
        .unwrap();
    let report = lm.prober.probe_spdm(agent.addr(), &v, &config(2));
    assert!(report.rounds_ok.is_empty(), "{report:?}");
    assert_eq!(
        report.discards.get(DiscardReason::ChallengeMismatch),
        4,
        "{report:?}"
    );
    assert_eq!(report.refused_evidence(), 4);
}
