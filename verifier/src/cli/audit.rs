//! `lightcone audit`: a regulator's view of a log — every signature, the tree, and a verdict per
//! chip against a policy.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;
use lightcone_verifier::audit::{self, AuditOptions, AuditRules};
use lightcone_verifier::geo::Policy;
use lightcone_verifier::log::witness::cosigners;
use lightcone_verifier::log::LogError;
use lightcone_verifier::registry::{Trust, WitnessPolicy};
use lightcone_verifier::{report, Error};

/// Arguments of `lightcone audit`.
#[derive(Args)]
pub struct AuditArgs {
    /// The log: a directory (C2SP tlog-tiles layout) or an http:// URL of any tlog-tiles
    /// server (`lightcone log serve`, a static web server, a CDN). A URL's checkpoint is checked
    /// against the trust file's log key, then every tile is fetched into --cache and audited
    /// there.
    #[arg(long)]
    log: String,
    /// Where a log fetched over HTTP is kept (full tiles are reused by the next audit).
    /// Default: a temporary directory, removed afterwards.
    #[arg(long)]
    cache: Option<PathBuf>,
    /// Retries of each HTTP fetch (exponential backoff from 0.1 s).
    #[arg(long, default_value_t = 4)]
    retries: u32,
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

/// Removes a temporary mirror when the audit ends.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The directory to audit: `log` itself, or a mirror of the log at the URL `log`.
fn log_dir(args: &AuditArgs) -> Result<(PathBuf, Option<RemoveOnDrop>), Error> {
    use lightcone_verifier::log::http::{mirror, LogClient};
    use lightcone_verifier::log::VerifierKey;
    if !(args.log.starts_with("http://") || args.log.starts_with("https://")) {
        return Ok((PathBuf::from(&args.log), None));
    }
    let trust = Trust::load(&args.trust)?;
    let key = trust.log_verifier_key.as_deref().ok_or_else(|| {
        LogError::KeyMismatch(format!(
            "{} names no log verifier key ([log] verifier_key): needed to audit a log over HTTP",
            args.trust.display()
        ))
    })?;
    let key = VerifierKey::parse(key)?;
    let (dir, guard) = match &args.cache {
        Some(d) => (d.clone(), None),
        None => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            let d = std::env::temp_dir()
                .join(format!("lightcone-audit-{}-{nanos}", std::process::id()));
            (d.clone(), Some(RemoveOnDrop(d)))
        }
    };
    let client = LogClient::new(&args.log, std::time::Duration::from_secs(60))?;
    let size = mirror(&client, &key, &dir, args.retries)?;
    eprintln!(
        "lightcone: fetched {} ({size} entries) into {}",
        args.log,
        dir.display()
    );
    Ok((dir, guard))
}

/// Runs the audit and prints the summary.
pub fn run(args: AuditArgs) -> Result<(), Error> {
    let (dir, _remove) = log_dir(&args)?;
    // The checkpoint is read once, here: the audit verifies these bytes, and these bytes are
    // what --save-checkpoint keeps (a log that grew meanwhile must not pass the next --since).
    let reader = lightcone_verifier::log::LogReader::open(&dir)?;
    // A FIFO, device, directory or symlink in place of a tile is refused now, before the
    // policy and its borders are loaded (the reads check again).
    reader.check_files()?;
    let trust = Trust::load(&args.trust)?;
    // The witness quorum, on a first audit as on later ones: a checkpoint that not enough
    // independent witnesses checked for consistency may be one branch of a split view.
    let witnessed = match WitnessPolicy::load(&args.trust)? {
        Some(w) => {
            let names = cosigners(reader.checkpoint_note(), &w.keys)?;
            if names.len() < w.quorum {
                return Err(LogError::WitnessQuorum {
                    have: names.len(),
                    need: w.quorum,
                    names: if names.is_empty() {
                        "none".into()
                    } else {
                        names.join(", ")
                    },
                }
                .into());
            }
            Some((
                format!(
                    "witnesses: {} ({} of {} trusted, quorum {})",
                    names.join(", "),
                    names.len(),
                    w.keys.len(),
                    w.quorum
                ),
                names,
            ))
        }
        None => None,
    };
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
        log_dir: &dir,
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
    let mut result = audit::audit_log(&options, &reader, &mut progress)?;
    if let Some((_, names)) = &witnessed {
        result.log.witnessed_by = names.clone();
    }
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
    if let Some((line, _)) = witnessed {
        println!("{line}");
    }
    print!("{}", report::text::summary(&result));
    for line in said {
        println!("{line}");
    }
    Ok(())
}
