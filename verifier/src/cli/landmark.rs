//! `lightcone landmark`: provision a landmark, probe a chip, or probe a fleet on a schedule.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use lightcone::{
    DeviceCertificate, LandmarkCertificate, Position, ProcessingCredit, Speed, Verified,
};
use lightcone_verifier::evidence::read_pem_certs;
use lightcone_verifier::net::fleet::{load_endorsement, Fleet, FleetRunner, SpdmChipConfig};
use lightcone_verifier::net::probe::{verify_gpu_chain, SpdmProbeReport, VerifiedGpu};
use lightcone_verifier::net::{
    DiscardCounts, GpuRecords, LogSink, Logbook, NetError, ProbeConfig, ProbeReport, Prober,
    Submitter,
};
use lightcone_verifier::registry::provision::{
    landmark_provision, load_landmark, validity_days, LANDMARK_CERT, LANDMARK_KEY,
};
use lightcone_verifier::registry::{load_device_certificate, unix_now_s, RegistryError, Trust};
use lightcone_verifier::Error;

/// Arguments of `lightcone landmark`.
#[derive(Args, Debug)]
pub struct LandmarkArgs {
    #[command(subcommand)]
    command: LandmarkCommand,
}

#[derive(Args, Debug)]
struct Common {
    /// The landmark directory (landmark.key, landmark.cert.toml).
    #[arg(long)]
    dir: PathBuf,
    /// The trust file (vendor roots and registry key).
    #[arg(long)]
    trust: PathBuf,
    /// Log directory to append to (as `lightcone log init` made it): one-machine setups and
    /// tests; this process then holds the log key.
    #[arg(long, conflicts_with = "log_url")]
    log: Option<PathBuf>,
    /// The log's signing key file. Default: <LOG>.key beside the log directory.
    #[arg(long, requires = "log")]
    log_key: Option<PathBuf>,
    /// Submit to the log server at this URL (`lightcone log serve`) instead: the landmark
    /// signs each submission with its landmark key and never sees the log key. Submissions
    /// wait in DIR/outbox until the server acknowledges them.
    #[arg(long)]
    log_url: Option<String>,
    /// How long, in seconds, one submission is retried (exponential backoff) before it is
    /// left in the outbox for the next run.
    #[arg(long, default_value_t = 30, requires = "log_url")]
    submit_patience: u64,
}

#[derive(Subcommand, Debug)]
enum LandmarkCommand {
    /// Create a landmark key (DIR/landmark.key, 0600) and its certificate
    /// (DIR/landmark.cert.toml) at a surveyed position, signed by the registry.
    Provision {
        /// The registry directory (registry.key, registry.pub.toml).
        #[arg(long)]
        registry: PathBuf,
        /// Directory for the landmark's files (created).
        #[arg(long)]
        dir: PathBuf,
        /// The organisation that runs the landmark (1–32 printable ASCII characters). Verdicts
        /// tolerate a number of faulty operators, and landmarks of one operator count as one.
        #[arg(long)]
        operator: String,
        /// Surveyed latitude, decimal degrees (WGS84).
        #[arg(long, allow_hyphen_values = true)]
        lat: f64,
        /// Surveyed longitude, decimal degrees (WGS84).
        #[arg(long, allow_hyphen_values = true)]
        lon: f64,
        /// How far the true position may be from the surveyed one, metres.
        #[arg(long)]
        uncertainty_m: u32,
        /// Days the certificate is valid, from now.
        #[arg(long, default_value_t = 365)]
        valid_days: u64,
    },
    /// Probe one chip: N fresh challenges over UDP, each timed and verified; the signed
    /// measurements go to the log as one durable batch.
    Probe {
        #[command(flatten)]
        common: Common,
        /// The chip agent's address.
        #[arg(long)]
        chip: SocketAddr,
        /// The chip's certificate file (default: ask the agent, then verify it).
        #[arg(long, conflicts_with_all = ["spdm", "chain"])]
        chip_cert: Option<PathBuf>,
        /// The chip answers with SPDM evidence (a GPU: `chip serve --nvidia`): its chain is
        /// verified against the trust file's [[x509_root]] entries, and each answer's nonce
        /// and signature are checked before it is measured.
        #[arg(long)]
        spdm: bool,
        /// With --spdm: the GPU's chain, PEM leaf first (default: ask the agent).
        #[arg(long, requires = "spdm")]
        chain: Option<PathBuf>,
        /// With --spdm: the registry's endorsement of the GPU's model (`lightcone registry
        /// endorse-model`), checked against the GPU and logged with its chain.
        #[arg(long, requires = "spdm")]
        endorsement: Option<PathBuf>,
        /// Rounds to measure.
        #[arg(long, default_value_t = 5)]
        rounds: u32,
        /// Wait for each answer, milliseconds.
        #[arg(long, default_value_t = 500)]
        timeout_ms: u64,
        /// Retries per round after a timeout (each with a fresh challenge).
        #[arg(long, default_value_t = 2)]
        retries: u32,
        /// Pause between rounds, milliseconds.
        #[arg(long, default_value_t = 0)]
        interval_ms: u64,
        /// Local address to send from (default: any address, any port).
        #[arg(long)]
        bind: Option<SocketAddr>,
    },
    /// Probe every chip of a fleet file on its schedule, appending each chip's batch to the log.
    Run {
        #[command(flatten)]
        common: Common,
        /// The fleet file.
        #[arg(long)]
        fleet: PathBuf,
        /// Stop after this many cycles (default: run until stopped).
        #[arg(long)]
        cycles: Option<u64>,
        /// Local address to send from (default: 0.0.0.0:0).
        #[arg(long)]
        bind: Option<SocketAddr>,
    },
}

/// Runs `lightcone landmark …`.
pub fn run(args: LandmarkArgs) -> Result<(), Error> {
    match args.command {
        LandmarkCommand::Provision {
            registry,
            dir,
            operator,
            lat,
            lon,
            uncertainty_m,
            valid_days,
        } => {
            let position = Position::from_degrees(lat, lon).map_err(|_| {
                RegistryError::InvalidArgument(format!("position {lat}, {lon} is out of range"))
            })?;
            let cert = landmark_provision(
                &registry,
                &dir,
                &operator,
                position,
                uncertainty_m,
                validity_days(valid_days),
            )?;
            println!(
                "landmark {} of operator {:?} at {lat}, {lon} ± {uncertainty_m} m",
                cert.body.landmark_id,
                cert.body.operator.as_str()
            );
            println!("secret key: {}", dir.join(LANDMARK_KEY).display());
            println!("certificate: {}", dir.join(LANDMARK_CERT).display());
            Ok(())
        }
        LandmarkCommand::Probe {
            common,
            chip,
            chip_cert,
            spdm,
            chain,
            endorsement,
            rounds,
            timeout_ms,
            retries,
            interval_ms,
            bind,
        } => {
            let config = ProbeConfig {
                rounds,
                timeout: Duration::from_millis(timeout_ms.max(1)),
                retries,
                interval: Duration::from_millis(interval_ms),
            };
            if spdm {
                let spdm = SpdmChipConfig {
                    x509_root: None,
                    chain,
                    endorsement,
                };
                probe_spdm(&common, chip, &spdm, &config, bind)
            } else {
                probe(&common, chip, chip_cert.as_deref(), &config, bind)
            }
        }
        LandmarkCommand::Run {
            common,
            fleet,
            cycles,
            bind,
        } => run_fleet(&common, &fleet, cycles, bind),
    }
}

struct Setup {
    trust: Trust,
    key: ed25519_dalek::SigningKey,
    cert: LandmarkCertificate,
    verified: Verified<LandmarkCertificate>,
}

fn setup(common: &Common) -> Result<Setup, Error> {
    let trust = Trust::load(&common.trust)?;
    let (key, cert) = load_landmark(&common.dir)?;
    let verified = trust.verify_landmark(&cert, unix_now_s())?;
    Ok(Setup {
        trust,
        key,
        cert,
        verified,
    })
}

fn logbook(common: &Common, s: &Setup) -> Result<Option<Box<dyn LogSink>>, Error> {
    if let Some(url) = &common.log_url {
        let origin = match &s.trust.log_verifier_key {
            Some(k) => lightcone_verifier::log::VerifierKey::parse(k)?
                .name()
                .to_owned(),
            None => Submitter::fetch_origin(url)?,
        };
        let mut sub = Submitter::new(
            url,
            &origin,
            &common.dir.join("outbox"),
            s.key.clone(),
            s.cert,
        )?;
        sub.patience = Duration::from_secs(common.submit_patience);
        let waiting = sub.pending()?.len();
        if waiting > 0 {
            println!(
                "outbox: {waiting} undelivered submission(s) from earlier runs, sending first"
            );
        }
        return Ok(Some(Box::new(sub)));
    }
    let Some(dir) = &common.log else {
        return Ok(None);
    };
    let key = match &common.log_key {
        Some(k) => k.clone(),
        None => default_key_path(dir),
    };
    Ok(Some(Box::new(Logbook::open(dir, &key)?)))
}

/// `<DIR>.key` beside the log directory (the `lightcone log init` default).
fn default_key_path(dir: &Path) -> PathBuf {
    let mut name = dir
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".key");
    dir.with_file_name(name)
}

fn any_addr_like(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(v4) if v4.is_loopback() => SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
        IpAddr::V4(_) => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
        IpAddr::V6(_) => SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
    }
}

fn us(ns: u64) -> String {
    format!("{:.1} µs", ns as f64 / 1000.0)
}

fn km(m: u64) -> String {
    format!("{:.1} km", m as f64 / 1000.0)
}

/// Prints a probe report with each round's distance bound (at c, crediting only the endorsed
/// minimum response time).
fn print_report(
    label: &str,
    report: &ProbeReport,
    landmark: &Verified<LandmarkCertificate>,
    device: &Verified<DeviceCertificate>,
) {
    println!("{label}: chip {} at {}", report.chip_id, report.addr);
    let mut best: Option<u64> = None;
    for (i, (m, rtt)) in report.measurements.iter().zip(&report.rtts_ns).enumerate() {
        let bound = m.verify(landmark, device).map(|v| {
            v.distance_bound(
                device,
                landmark,
                Speed::LIGHT,
                ProcessingCredit::EndorsedMinimum,
            )
            .metres()
        });
        match bound {
            Ok(b) => {
                best = Some(best.map_or(b, |x| x.min(b)));
                println!("  round {}: rtt {}, bound {}", i + 1, us(*rtt), km(b));
            }
            Err(e) => println!(
                "  round {}: rtt {}, measurement does not verify: {e}",
                i + 1,
                us(*rtt)
            ),
        }
    }
    println!(
        "  rounds {}/{} ok, timeouts {}, retries {}, io errors {}",
        report.measurements.len(),
        report.rounds,
        report.timeouts,
        report.retries,
        report.io_errors
    );
    if let (Some(min), Some(median), Some(b)) = (report.min_rtt_ns(), report.median_rtt_ns(), best)
    {
        println!(
            "  rtt min {}, median {}; best bound {} (c, endorsed minimum {} ns)",
            us(min),
            us(median),
            km(b),
            device.body.timing.min_response_ns
        );
    } else {
        println!("  unreachable: no valid answer");
    }
    println!("  discarded: {}", report.discards);
}

fn probe(
    common: &Common,
    chip: SocketAddr,
    chip_cert: Option<&Path>,
    config: &ProbeConfig,
    bind: Option<SocketAddr>,
) -> Result<(), Error> {
    let s = setup(common)?;
    let mut book = logbook(common, &s)?;
    let mut prober = Prober::bind(bind.unwrap_or_else(|| any_addr_like(chip)), s.key)?;
    let now = unix_now_s();
    let mut fetch_discards = DiscardCounts::default();
    let device = match chip_cert {
        Some(path) => s
            .trust
            .verify_device(&load_device_certificate(path)?, now)?,
        None => prober.fetch_certificate(
            chip,
            &s.trust,
            now,
            config.timeout,
            config.retries.saturating_add(1),
            &mut fetch_discards,
        )?,
    };
    if fetch_discards.total() > 0 {
        println!("certificate fetch discarded: {fetch_discards}");
    }
    let report = prober.probe(chip, &device, config);
    print_report(
        &format!("landmark {}", s.cert.body.landmark_id),
        &report,
        &s.verified,
        &device,
    );
    match book.as_mut() {
        Some(book) if !report.measurements.is_empty() => {
            let range = book.append(&s.cert, &device, &report.measurements)?;
            println!(
                "logged entries {}..{} to {} (durable)",
                range.start,
                range.end,
                book.describe()
            );
        }
        Some(_) => println!("nothing to log"),
        None => println!("not logged (no --log given)"),
    }
    Ok(())
}

/// Prints an SPDM probe: each round's RTT and bound (at c, no minimum response time credited:
/// the registry's endorsement of the GPU's model is the audit's to apply), and a warning for
/// every answer refused as evidence.
fn print_spdm_report(label: &str, report: &SpdmProbeReport, gpu: &VerifiedGpu) {
    println!(
        "{label}: GPU chip {} at {} ({}, under {})",
        report.chip_id, report.addr, gpu.leaf_subject, gpu.root_name
    );
    for (i, rtt) in report.rtts_ns.iter().enumerate() {
        let bound = lightcone::DistanceBound::from_rtt(*rtt, 0, 0, Speed::LIGHT).metres();
        println!(
            "  round {}: rtt {}, bound {} (+ landmark uncertainty)",
            i + 1,
            us(*rtt),
            km(bound)
        );
    }
    println!(
        "  rounds {}/{} ok, timeouts {}, retries {}, io errors {}",
        report.rounds_ok.len(),
        report.rounds,
        report.timeouts,
        report.retries,
        report.io_errors
    );
    match report.min_rtt_ns() {
        Some(min) => println!("  rtt min {}", us(min)),
        None => println!("  unreachable: no valid answer"),
    }
    let refused = report.refused_evidence();
    if refused > 0 {
        println!(
            "  warning: {refused} SPDM answer(s) refused as evidence and not logged \
             (wrong nonce, bad signature or unparsable report)"
        );
    }
    println!("  discarded: {}", report.discards);
}

fn probe_spdm(
    common: &Common,
    chip: SocketAddr,
    spdm: &SpdmChipConfig,
    config: &ProbeConfig,
    bind: Option<SocketAddr>,
) -> Result<(), Error> {
    let s = setup(common)?;
    let roots = Trust::load_x509_roots(&common.trust)?;
    let mut book = logbook(common, &s)?;
    let mut prober = Prober::bind(bind.unwrap_or_else(|| any_addr_like(chip)), s.key)?;
    let now = unix_now_s();
    let mut fetch_discards = DiscardCounts::default();
    let gpu = match &spdm.chain {
        Some(path) => {
            let der: Vec<u8> = read_pem_certs(path)?
                .iter()
                .flat_map(|c| c.der().to_vec())
                .collect();
            verify_gpu_chain(&der, &roots, now).map_err(|e| NetError::Config {
                path: path.clone(),
                reason: format!("the GPU's chain does not verify: {e}"),
            })?
        }
        None => prober.fetch_gpu_chain(
            chip,
            &roots,
            now,
            config.timeout,
            config.retries.saturating_add(1),
            &mut fetch_discards,
        )?,
    };
    if fetch_discards.total() > 0 {
        println!("chain fetch discarded: {fetch_discards}");
    }
    let endorsement = load_endorsement(spdm, &gpu, &s.trust)?;
    if let Some(e) = &endorsement {
        println!(
            "model endorsement: {} (minimum response {} ns), checked against the GPU",
            e.body.model.as_str(),
            e.body.timing.min_response_ns
        );
    }
    let report = prober.probe_spdm(chip, &gpu, config);
    print_spdm_report(
        &format!("landmark {}", s.cert.body.landmark_id),
        &report,
        &gpu,
    );
    match book.as_mut() {
        Some(book) if !report.rounds_ok.is_empty() => {
            let records = GpuRecords {
                chain_der: &gpu.chain_der,
                endorsement: endorsement.as_ref(),
            };
            let range = book.append_spdm(&s.cert, records, &report.rounds_ok)?;
            println!(
                "logged entries {}..{} to {} (durable)",
                range.start,
                range.end,
                book.describe()
            );
        }
        Some(_) => println!("nothing to log"),
        None => println!("not logged (no --log given)"),
    }
    Ok(())
}

fn run_fleet(
    common: &Common,
    fleet_path: &Path,
    cycles: Option<u64>,
    bind: Option<SocketAddr>,
) -> Result<(), Error> {
    let s = setup(common)?;
    let mut book = logbook(common, &s)?;
    let fleet = Fleet::load(fleet_path)?;
    let interval = fleet.interval;
    let bind = bind.unwrap_or(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0));
    let prober = Prober::bind(bind, s.key)?;
    let roots = Trust::load_x509_roots(&common.trust)?;
    let mut runner =
        FleetRunner::new(prober, s.cert, s.trust.clone(), fleet)?.with_x509_roots(roots);
    let mut cycle: u64 = 0;
    loop {
        let started = Instant::now();
        cycle = cycle.saturating_add(1);
        println!("cycle {cycle}: {} chip(s)", runner.fleet().chips.len());
        for outcome in runner.cycle(book.as_mut().map(|b| &mut **b as &mut dyn LogSink)) {
            match (&outcome.report, &outcome.device, &outcome.error) {
                (Some(report), Some(device), _) => {
                    print_report(&outcome.name, report, &s.verified, device)
                }
                _ if outcome.spdm_report.is_some() => {
                    if let (Some(report), Some(gpu)) = (&outcome.spdm_report, &outcome.gpu) {
                        print_spdm_report(&outcome.name, report, gpu);
                    }
                }
                (_, _, Some(e)) => println!("{}: not probed: {e}", outcome.name),
                _ => println!("{}: not probed", outcome.name),
            }
            let probed = outcome.report.is_some() || outcome.spdm_report.is_some();
            if let Some(e) = outcome.error.as_ref().filter(|_| probed) {
                println!("  {e}");
            }
            if let Some(r) = &outcome.logged {
                println!("  logged entries {}..{}", r.start, r.end);
            }
        }
        if cycles.is_some_and(|n| cycle >= n) {
            return Ok(());
        }
        std::thread::sleep(interval.saturating_sub(started.elapsed()));
    }
}
