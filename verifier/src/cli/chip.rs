//! `lightcone chip`: provision a chip (device key + vendor-signed certificate) and run its
//! agent, which answers landmarks' challenges over UDP.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use lightcone::ResponseTiming;
use lightcone_verifier::net::{AgentCounters, ChipAgent, RateLimits};
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
    /// Answer challenges for the chip in DIR on a UDP socket. Prints `listening on ADDR`,
    /// then counters on stderr once a second when they change.
    Serve {
        /// The chip directory (device.key, device.cert.toml).
        #[arg(long)]
        dir: PathBuf,
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
            listen,
            per_source_per_s,
            total_per_s,
        } => {
            let limits = rate_limits(per_source_per_s, total_per_s)?;
            serve(&dir, &listen, limits)
        }
    }
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
