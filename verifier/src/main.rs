//! The `lightcone` command.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod cli;

/// lightcone: verify where AI chips are, from signed round-trip times.
#[derive(Parser)]
#[command(name = "lightcone", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole system on one machine: landmarks, chips, log, audit, report.
    Demo(cli::demo::DemoArgs),
    /// Verdict of a policy on a scenario of landmarks and round-trip times (JSON on stdout).
    Verdict(cli::verdict::VerdictArgs),
    /// The attestation log: init, append, verify, prove, consistency, check-proof.
    Log(cli::log::LogArgs),
    /// A chip vendor's root key: init.
    Vendor(cli::vendor::VendorArgs),
    /// Chips: provision (device key + vendor-signed certificate), serve (the chip agent).
    Chip(cli::chip::ChipArgs),
    /// The landmark registry: init, and the auditor's trust file.
    Registry(cli::registry::RegistryArgs),
    /// Landmarks: provision, probe a chip, run a fleet on a schedule.
    Landmark(cli::landmark::LandmarkArgs),
    /// A UDP forwarder that adds a one-way delay, standing in for distance.
    Relay(cli::relay::RelayArgs),
    /// Audit a log: every signature and proof, and a verdict per chip against a policy.
    Audit(cli::audit::AuditArgs),
    /// Vendor evidence: verify a recorded SPDM report against its X.509 chain and a root.
    Evidence(cli::evidence::EvidenceArgs),
    /// A transparency-log witness (C2SP tlog-witness): init, serve.
    Witness(cli::witness::WitnessArgs),
}

/// Exit status of a command whose standard output was closed under it (`lightcone audit |
/// head`): 128 + SIGPIPE, the status a shell shows for any program a closed pipe ends.
const CLOSED_STDOUT_STATUS: i32 = 141;

/// A closed standard output ends the command quietly. Rust ignores SIGPIPE, so `print!` to a
/// closed pipe panics ("failed printing to stdout: Broken pipe") with a backtrace; this hook
/// turns exactly that panic into a silent exit with [`CLOSED_STDOUT_STATUS`] and leaves every
/// other panic to the default hook. Commands write their files before they print, so what a
/// closed pipe cuts short is only output nobody reads.
fn end_quietly_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        let broken_pipe = std::io::Error::from(std::io::ErrorKind::BrokenPipe).to_string();
        if message.starts_with("failed printing to stdout")
            && (message.contains("os error 32") || message.contains(&broken_pipe))
        {
            std::process::exit(CLOSED_STDOUT_STATUS);
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    end_quietly_on_closed_stdout();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => cli::demo::run(args),
        Command::Verdict(args) => cli::verdict::run(args),
        Command::Log(args) => cli::log::run(args),
        Command::Vendor(args) => cli::vendor::run(args),
        Command::Chip(args) => cli::chip::run(args),
        Command::Registry(args) => cli::registry::run(args),
        Command::Landmark(args) => cli::landmark::run(args),
        Command::Relay(args) => cli::relay::run(args),
        Command::Audit(args) => cli::audit::run(args),
        Command::Evidence(args) => cli::evidence::run(args),
        Command::Witness(args) => cli::witness::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lightcone: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
