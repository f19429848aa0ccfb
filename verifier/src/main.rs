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
}

fn main() -> ExitCode {
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
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lightcone: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
