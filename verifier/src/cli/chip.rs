//! `lightcone chip`: provision a chip (device key + vendor-signed certificate) and run its
//! agent, which answers landmarks' challenges over UDP.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use lightcone::evidence::spdm::SpdmEvidence;
use lightcone::ResponseTiming;
use lightcone_verifier::evidence::gpu::parse_der_chain;
use lightcone_verifier::evidence::responder::{self_check, AnswerTimes};
use lightcone_verifier::evidence::simulated::{self, SimulatedGpu};
use lightcone_verifier::evidence::x509::p384_key_of;
use lightcone_verifier::evidence::{chip_id_of_chain, NvidiaGpu, SpdmResponder};
use lightcone_verifier::net::{AgentCounters, ChipAgent, RateLimits, SpdmAgent};
use lightcone_verifier::registry::provision::{
    chip_provision, load_chip, validity_days, DEVICE_CERT, DEVICE_KEY,
};
use lightcone_verifier::Error;

/// Arguments of `lightcone chip`.
#[derive(Args, Debug)]
pub struct ChipArgs {
    #[command(subcommand)]
    command: ChipCommand,
}

#[derive(Subcommand, Debug)]
enum ChipCommand {
    /// Create a device key (DIR/device.key, 0600) and its certificate (DIR/device.cert.toml)
    /// signed by the vendor in --vendor.
    Provision {
        /// The vendor directory (vendor.key, vendor.pub.toml).
        #[arg(long)]
        vendor: PathBuf,
        /// Directory for the chip's files (created).
        #[arg(long)]
        dir: PathBuf,
        /// Chip model, 1–16 printable ASCII characters.
        #[arg(long)]
        model: String,
        /// The model's vendor-endorsed minimum response time, ns.
        #[arg(long)]
        min_response_ns: u64,
        /// Most self-reported processing time ever credited, ns (default: the minimum).
        #[arg(long)]
        max_processing_ns: Option<u64>,
        /// The chip timer's worst-case error, ppm.
        #[arg(long, default_value_t = 0)]
        clock_tolerance_ppm: u32,
        /// Days the certificate is valid, from now.
        #[arg(long, default_value_t = 365)]
        valid_days: u64,
    },
    /// Answer challenges for the chip in DIR (or a GPU: --nvidia, --simulated-gpu) on a UDP
    /// socket. Prints `listening on ADDR` and `chip ID`, then counters on stderr once a second
    /// when they change.
    Serve {
        /// The chip directory (device.key, device.cert.toml).
        #[arg(long, required_unless_present_any = ["nvidia", "simulated_gpu"],
              conflicts_with_all = ["nvidia", "simulated_gpu"])]
        dir: Option<PathBuf>,
        /// Serve a real NVIDIA GPU (Hopper or later, confidential computing on) through NVML:
        /// each challenge becomes an SPDM measurement report over its derived nonce. Without
        /// the NVIDIA driver or such a GPU, refuses to start (exit 2).
        #[arg(long, conflicts_with = "simulated_gpu")]
        nvidia: bool,
        /// With --nvidia: the GPU's index, as nvidia-smi numbers them.
        #[arg(long, default_value_t = 0, requires = "nvidia")]
        gpu: u32,
        /// Serve the simulated GPU in DIR (made by `lightcone chip gpu-simulate`).
        #[arg(long)]
        simulated_gpu: Option<PathBuf>,
        /// With --simulated-gpu: never answer in less than this many microseconds (a real
        /// GPU's minimum answer time; default: at once).
        #[arg(long, default_value_t = 0, requires = "simulated_gpu")]
        floor_us: u64,
        /// Address to listen on (port 0: any free port).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
        /// Challenges answered per second from one source address (each costs the chip a
        /// signature and a counter step); bursts of 32, or of this many if fewer.
        #[arg(long, default_value_t = 50.0)]
        per_source_per_s: f64,
        /// Challenges answered per second from all sources together; bursts of 256, or of this
        /// many if fewer.
        #[arg(long, default_value_t = 1000.0)]
        total_per_s: f64,
    },
    /// Make a simulated GPU in DIR (created): a P-384 attestation key (gpu.key, 0600), its chain
    /// (chain.pem: leaf, intermediate) under a fresh root (root.pem), and x509_root.toml, the
    /// `[[x509_root]]` entry a landmark's trust file needs to trust that root.
    GpuSimulate {
        /// Directory for the GPU's files (created).
        #[arg(long)]
        dir: PathBuf,
        /// The GPU's name (in its leaf certificate and its opaque data).
        #[arg(long, default_value = "sim-gpu")]
        name: String,
        /// The name of the root in x509_root.toml.
        #[arg(long, default_value = "lightcone-simulated-gpu")]
        root_name: String,
    },
    /// Time the GPU's answers: N SPDM reports over fresh random nonces through NVML, each
    /// checked, then one JSON object with min / median / p90 / max of the answer time. Without
    /// the NVIDIA driver or such a GPU, exits 2.
    NvidiaTiming {
        /// Reports to ask for.
        #[arg(long, default_value_t = 100)]
        rounds: u32,
        /// The GPU's index.
        #[arg(long, default_value_t = 0)]
        gpu: u32,
        /// Time the simulated GPU in DIR instead (to try the command without a GPU).
        #[arg(long)]
        simulated_gpu: Option<PathBuf>,
    },
}

/// Runs `lightcone chip …`.
pub fn run(args: ChipArgs) -> Result<(), Error> {
    match args.command {
        ChipCommand::Provision {
            vendor,
            dir,
            model,
            min_response_ns,
            max_processing_ns,
            clock_tolerance_ppm,
            valid_days,
        } => {
            let timing = ResponseTiming {
                min_response_ns,
                max_processing_ns: max_processing_ns.unwrap_or(min_response_ns),
                clock_tolerance_ppm,
            };
            let cert = chip_provision(&vendor, &dir, &model, timing, validity_days(valid_days))?;
            println!("chip {} ({model})", cert.body.chip_id);
            println!("secret key: {}", dir.join(DEVICE_KEY).display());
            println!("certificate: {}", dir.join(DEVICE_CERT).display());
            Ok(())
        }
        ChipCommand::Serve {
            dir,
            nvidia,
            gpu,
            simulated_gpu,
            floor_us,
            listen,
            per_source_per_s,
            total_per_s,
        } => {
            let limits = rate_limits(per_source_per_s, total_per_s)?;
            match (dir, simulated_gpu) {
                (Some(dir), _) => serve(&dir, &listen, limits),
                (None, Some(sim)) => {
                    let gpu = SimulatedGpu::load(&sim, &gpu_name(&sim))?
                        .with_floor(Duration::from_micros(floor_us));
                    serve_spdm(gpu, &listen, limits)
                }
                (None, None) if nvidia => serve_spdm(NvidiaGpu::open(gpu)?, &listen, limits),
                (None, None) => Err(usage("give --dir, --nvidia or --simulated-gpu")),
            }
        }
        ChipCommand::GpuSimulate {
            dir,
            name,
            root_name,
        } => {
            let gpu = SimulatedGpu::generate(&name).map_err(|e| usage(&e.to_string()))?;
            gpu.store(&dir, &root_name)?;
            let chip = chip_id_of_chain(&gpu.chain_der()).map_err(|e| usage(&e.to_string()))?;
            println!("simulated GPU {name}: chip {chip}");
            println!("secret key: {}", dir.join(simulated::SIM_KEY).display());
            println!("chain: {}", dir.join(simulated::SIM_CHAIN).display());
            println!("root: {}", dir.join(simulated::SIM_ROOT).display());
            println!(
                "trust entry: {} (append it to the landmark's trust file)",
                dir.join(simulated::SIM_TRUST_SNIPPET).display()
            );
            Ok(())
        }
        ChipCommand::NvidiaTiming {
            rounds,
            gpu,
            simulated_gpu,
        } => match simulated_gpu {
            Some(sim) => timing(
                &mut SimulatedGpu::load(&sim, &gpu_name(&sim))?,
                rounds,
                None,
            ),
            None => timing(&mut NvidiaGpu::open(gpu)?, rounds, Some(gpu)),
        },
    }
}

fn usage(why: &str) -> Error {
    lightcone_verifier::net::NetError::Config {
        path: "lightcone chip".into(),
        reason: why.into(),
    }
    .into()
}

/// A simulated GPU's name: its directory's.
fn gpu_name(dir: &std::path::Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "sim-gpu".into())
}

/// Serves a GPU's SPDM reports, after checking that the GPU signs under its own chain.
fn serve_spdm<R: SpdmResponder>(
    mut responder: R,
    listen: &str,
    limits: RateLimits,
) -> Result<(), Error> {
    self_check(&mut responder).map_err(|e| usage(&e.to_string()))?;
    let mut agent = SpdmAgent::bind(listen, responder)?.with_rate_limits(limits);
    let addr = agent.local_addr()?;
    println!("listening on {addr}");
    println!("chip {} (SPDM evidence)", agent.chip_id());
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    let counters = agent.counters();
    std::thread::Builder::new()
        .name("stats".into())
        .spawn(move || report_stats(&counters))
        .map_err(|e| lightcone_verifier::net::NetError::io("spawning the stats thread", e))?;
    agent.serve(&AtomicBool::new(false));
    Ok(())
}

/// `chip nvidia-timing`: asks for `rounds` reports over fresh nonces, checks each against the
/// chain's leaf key, prints one JSON object.
fn timing<R: SpdmResponder>(responder: &mut R, rounds: u32, gpu: Option<u32>) -> Result<(), Error> {
    use rand_core::RngCore as _;
    let chain = parse_der_chain(&responder.chain_der()).map_err(|e| usage(&e.to_string()))?;
    let leaf = chain
        .first()
        .ok_or_else(|| usage("the GPU's chain is empty"))?;
    let key = p384_key_of(leaf, 0).map_err(|e| usage(&e.to_string()))?;
    let mut times = Vec::with_capacity(usize::try_from(rounds).unwrap_or(0));
    let (mut invalid, mut failed, mut report_bytes) = (0u32, 0u32, 0usize);
    let mut first_error = None;
    for _ in 0..rounds {
        let mut nonce = [0u8; 32];
        rand_core::OsRng.fill_bytes(&mut nonce);
        let started = Instant::now();
        let answer = responder.measure(&nonce);
        let ns = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        match answer {
            Ok(report) => {
                report_bytes = report.len();
                let valid = SpdmEvidence::parse_concatenated(&report)
                    .and_then(|e| e.verify(&key, &nonce).map(|_| ()))
                    .is_ok();
                if valid {
                    times.push(ns);
                } else {
                    invalid = invalid.saturating_add(1);
                }
            }
            Err(e) => {
                failed = failed.saturating_add(1);
                first_error.get_or_insert(e.to_string());
            }
        }
    }
    let summary = AnswerTimes::of(&times);
    let us = |ns: u64| ns as f64 / 1000.0;
    let out = serde_json::json!({
        "gpu": gpu,
        "leaf_subject": leaf.subject(),
        "rounds": rounds,
        "valid": times.len(),
        "invalid": invalid,
        "failed": failed,
        "first_error": first_error,
        "report_bytes": report_bytes,
        "min_us": summary.map(|s| us(s.min_ns)),
        "median_us": summary.map(|s| us(s.median_ns)),
        "p90_us": summary.map(|s| us(s.p90_ns)),
        "max_us": summary.map(|s| us(s.max_ns)),
        "times_us": times.iter().map(|&t| us(t)).collect::<Vec<f64>>(),
    });
    println!("{out}");
    Ok(())
}

/// The agent's limits from the command line: bursts as the defaults', or a second's worth
/// when that is less.
fn rate_limits(per_source_per_s: f64, total_per_s: f64) -> Result<RateLimits, Error> {
    let defaults = RateLimits::default();
    let valid = |r: f64| r.is_finite() && r > 0.0;
    if !valid(per_source_per_s) || !valid(total_per_s) {
        return Err(lightcone_verifier::net::NetError::Config {
            path: "--per-source-per-s / --total-per-s".into(),
            reason: "rates must be positive numbers".into(),
        }
        .into());
    }
    Ok(RateLimits {
        per_source_per_s,
        per_source_burst: defaults.per_source_burst.min(per_source_per_s).max(1.0),
        total_per_s,
        total_burst: defaults.total_burst.min(total_per_s).max(1.0),
        ..defaults
    })
}

fn serve(dir: &std::path::Path, listen: &str, limits: RateLimits) -> Result<(), Error> {
    let (key, cert) = load_chip(dir)?;
    let mut agent = ChipAgent::bind(listen, key, Some(cert))?.with_rate_limits(limits);
    let addr = agent.local_addr()?;
    println!("listening on {addr}");
    println!("chip {}", agent.chip_id());
    use std::io::Write as _;
    // Tests and scripts read the address from stdout: make sure it is out.
    let _ = std::io::stdout().flush();
    let counters = agent.counters();
    std::thread::Builder::new()
        .name("stats".into())
        .spawn(move || report_stats(&counters))
        .map_err(|e| lightcone_verifier::net::NetError::io("spawning the stats thread", e))?;
    // Serves until the process is stopped.
    agent.serve(&AtomicBool::new(false));
    Ok(())
}

/// Prints the agent's counters to stderr once a second, when they changed.
fn report_stats(counters: &Arc<AgentCounters>) {
    use std::sync::atomic::Ordering::Relaxed;
    let mut last = String::new();
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let line = format!(
            "stats answered={} certificates={} io_errors={} discarded: {}",
            counters.answered(),
            counters.certificates.load(Relaxed),
            counters.io_errors.load(Relaxed),
            counters.discards()
        );
        if line != last {
            eprintln!("{line}");
            last = line;
        }
    }
}
