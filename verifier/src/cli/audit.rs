//! `lightcone audit`: a regulator's view of a log — every signature, the tree, and a verdict per
//! chip against a policy.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;
use lightcone_verifier::audit::{self, AuditOptions, AuditRules};
use lightcone_verifier::geo::Policy;
use lightcone_verifier::registry::Trust;
use lightcone_verifier::{report, Error};

/// Arguments of `lightcone audit`.
#[derive(Args)]
pub struct AuditArgs {
    /// The log directory (C2SP tlog-tiles layout).
    #[arg(long)]
    log: PathBuf,
    /// The trust file: vendor roots, registry key, log verifier key.
    #[arg(long)]
    trust: PathBuf,
    /// The policy file (regions, speed, and an optional [audit] table).
    #[arg(long)]
    policy: PathBuf,
    /// Write every chip, epoch, verdict and finding as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write a self-contained HTML report with a world map here.
    #[arg(long)]
    html: Option<PathBuf>,
    /// The checkpoint note kept from the last audit: demand a consistency proof from it.
    #[arg(long)]
    since: Option<PathBuf>,
    /// Save this audit's checkpoint note here, for the next `--since`.
    #[arg(long)]
    save_checkpoint: Option<PathBuf>,
    /// Judge freshness and silence at this Unix time (seconds), to re-audit the past; default:
    /// the wall clock.
    #[arg(long)]
    now: Option<u64>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

/// Runs the audit and prints the summary.
pub fn run(args: AuditArgs) -> Result<(), Error> {
    // The checkpoint is read once, here: the audit verifies these bytes, and these bytes are
    // what --save-checkpoint keeps (a log that grew meanwhile must not pass the next --since).
    let reader = lightcone_verifier::log::LogReader::open(&args.log)?;
    // A FIFO, device, directory or symlink in place of a tile is refused now, before the
    // policy and its borders are loaded (the reads check again).
    reader.check_files()?;
    let trust = Trust::load(&args.trust)?;
    let policy = Policy::load(&args.policy)?;
    let rules = AuditRules::load(&args.policy)?;
    let since = match &args.since {
        Some(path) => Some(
            lightcone_verifier::bounded_file::read(
                path,
                lightcone_verifier::log::note::MAX_NOTE_SIZE as u64,
                lightcone_verifier::bounded_file::Links::Follow,
            )
            .map_err(|source| audit::AuditError::Io {
                path: path.clone(),
                source,
            })?,
        ),
        None => None,
    };
    let options = AuditOptions {
        log_dir: &args.log,
        trust: &trust,
        policy: &policy,
        rules,
        now_ns: args.now.map(|s| s.saturating_mul(1_000_000_000)),
        threads: args.threads,
        since: since.as_deref(),
    };
    let show_progress = std::io::stderr().is_terminal();
    let mut progress = |done: u64, total: u64| {
        if show_progress && total > 0 {
            eprint!(
                "\raudit: {done}/{total} entries ({:.0}%)",
                100.0 * done as f64 / total as f64
            );
        }
    };
    let result = audit::audit_log(&options, &reader, &mut progress)?;
    if show_progress {
        eprintln!();
    }
    // Every file is written before anything is printed: a closed stdout (`| head`) ends the
    // command (quietly, see main.rs) only after its work is done.
    let mut said = Vec::new();
    if let Some(path) = &args.json {
        report::json::write_json(&result, path)?;
        said.push(format!("JSON report: {}", path.display()));
    }
    if let Some(path) = &args.html {
        report::html::write_html(&result, policy.default_world()?, path)?;
        said.push(format!("HTML report: {}", path.display()));
    }
    if let Some(path) = &args.save_checkpoint {
        std::fs::write(path, reader.checkpoint_note()).map_err(|source| audit::AuditError::Io {
            path: path.clone(),
            source,
        })?;
        said.push(format!(
            "checkpoint saved to {} (pass it as --since next time)",
            path.display()
        ));
    }
    if let Some(path) = &args.since {
        println!(
            "log is consistent with the checkpoint in {}",
            path.display()
        );
    }
    print!("{}", report::text::summary(&result));
    for line in said {
        println!("{line}");
    }
    Ok(())
}
