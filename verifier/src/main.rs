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
    Demo,
    /// The attestation log: init, append, verify, prove, consistency, check-proof.
    Log(cli::log::LogArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo => cli::demo::run(),
        Command::Log(args) => cli::log::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lightcone: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
