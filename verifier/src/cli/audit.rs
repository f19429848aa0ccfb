//! `lightcone audit`: a regulator's view of a log — every signature, the tree, and a verdict per
//! chip against a policy.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;
use lightcone_verifier::audit::{self, AuditOptions, AuditRules};
use lightcone_verifier::geo::Policy;
use lightcone_verifier::log::witness::cosigners;
use lightcone_verifier::log::{LogError, VerifierKey};
use lightcone_verifier::registry::{Trust, WitnessPolicy};
use lightcone_verifier::{report, Error};

/// Arguments of `lightcone audit`.
#[derive(Args)]
pub struct AuditArgs {
    /// The log: a directory (C2SP tlog-tiles layout) or an http:// URL of any tlog-tiles
    /// server (`lightcone log serve`, a static web server, a CDN). A URL's checkpoint is checked
    /// against the trust file's log key, then every tile is fetched into --cache and audited
    /// there. Give --log several times to audit several logs together (each checked against
    /// the trust file's [[log]] key named by its origin): chip timelines merge across them.
    #[arg(long, required = true)]
    log: Vec<String>,
    /// Where a log fetched over HTTP is kept (full tiles are reused by the next audit); with
    /// several --log, the N-th log is kept in DIR/log-N. Default: a temporary directory,
    /// removed afterwards.
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

/// The trust file's log keys, parsed.
fn log_keys(args: &AuditArgs, trust: &Trust) -> Result<Vec<VerifierKey>, Error> {
    if trust.log_verifier_keys.is_empty() {
        let _ = &args.trust;
        return Err(audit::AuditError::NoLogKey.into());
    }
    Ok(trust
        .log_verifier_keys
        .iter()
        .map(|k| VerifierKey::parse(k))
        .collect::<Result<_, _>>()?)
}

/// The origin a checkpoint note claims (its first line; checked when the note is verified).
fn claimed_origin(note: &[u8]) -> String {
    let line = note.split(|&b| b == b'\n').next().unwrap_or(note);
    String::from_utf8_lossy(line).into_owned()
}

/// The key a log is checked against: the only key, or the one named by the log's origin.
fn key_for<'k>(keys: &'k [VerifierKey], note: &[u8], log: &str) -> Result<&'k VerifierKey, Error> {
    if let [only] = keys {
        return Ok(only);
    }
    let origin = claimed_origin(note);
    keys.iter().find(|k| k.name() == origin).ok_or_else(|| {
        audit::AuditError::SeveralLogs(format!(
            "{log}: no [[log]] key in the trust file is named for its origin `{origin}`"
        ))
        .into()
    })
}

/// The directory to audit for `log` (the `n`-th --log): `log` itself, or a mirror of the log
/// at the URL `log`, checked against its key first.
fn log_dir(
    args: &AuditArgs,
    keys: &[VerifierKey],
    log: &str,
    n: usize,
) -> Result<(PathBuf, Option<RemoveOnDrop>), Error> {
    use lightcone_verifier::log::http::{mirror, LogClient};
    if !(log.starts_with("http://") || log.starts_with("https://")) {
        return Ok((PathBuf::from(log), None));
    }
    let (dir, guard) = match &args.cache {
        Some(d) if args.log.len() > 1 => (d.join(format!("log-{n}")), None),
        Some(d) => (d.clone(), None),
        None => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            let d = std::env::temp_dir().join(format!(
                "lightcone-audit-{}-{nanos}-{n}",
                std::process::id()
            ));
            (d.clone(), Some(RemoveOnDrop(d)))
        }
    };
    let client = LogClient::new(log, std::time::Duration::from_secs(60))?;
    let key = if let [only] = keys {
        only
    } else {
        let reply = client.get("checkpoint", lightcone_verifier::log::note::MAX_NOTE_SIZE)?;
        key_for(keys, &reply.body, log)?
    };
    let size = mirror(&client, key, &dir, args.retries)?;
    eprintln!(
        "lightcone: fetched {log} ({size} entries) into {}",
        dir.display()
    );
    Ok((dir, guard))
}

/// Runs the audit and prints the summary.
pub fn run(args: AuditArgs) -> Result<(), Error> {
    let trust = Trust::load(&args.trust)?;
    let keys = log_keys(&args, &trust)?;
    if args.log.len() > 1 && (args.since.is_some() || args.save_checkpoint.is_some()) {
        return Err(audit::AuditError::SeveralLogs(
            "--since and --save-checkpoint take one log: audit each log alone to keep its checkpoint".into(),
        )
        .into());
    }
    let mut dirs = Vec::with_capacity(args.log.len());
    let mut _remove = Vec::new();
    for (n, log) in args.log.iter().enumerate() {
        let (dir, guard) = log_dir(&args, &keys, log, n + 1)?;
        dirs.push(dir);
        _remove.extend(guard);
    }
    // The checkpoint is read once, here: the audit verifies these bytes, and these bytes are
    // what --save-checkpoint keeps (a log that grew meanwhile must not pass the next --since).
    let mut readers = Vec::with_capacity(dirs.len());
    for dir in &dirs {
        let reader = lightcone_verifier::log::LogReader::open(dir)?;
        // A FIFO, device, directory or symlink in place of a tile is refused now, before the
        // policy and its borders are loaded (the reads check again).
        reader.check_files()?;
        readers.push(reader);
    }
    // The same log given twice is audited once (never counted twice); two views of one
    // origin are refused.
    let keep = audit::distinct_logs(&readers.iter().collect::<Vec<_>>())?;
    for (i, log) in args.log.iter().enumerate() {
        if !keep.contains(&i) {
            eprintln!(
                "lightcone: --log {log} is the same log (origin, size, root) as an earlier --log: audited once"
            );
        }
    }
    let mut logs = Vec::with_capacity(keep.len());
    for &i in &keep {
        let (Some(reader), Some(log)) = (readers.get(i), args.log.get(i)) else {
            continue;
        };
        logs.push((
            reader,
            key_for(&keys, reader.checkpoint_note(), log)?.clone(),
        ));
    }
    // The witness quorum, on a first audit as on later ones: a checkpoint that not enough
    // independent witnesses checked for consistency may be one branch of a split view.
    // With several logs, each log's checkpoint needs the quorum.
    let mut witnessed = Vec::new();
    let mut cosigned: Vec<Vec<String>> = Vec::new();
    if let Some(w) = WitnessPolicy::load(&args.trust)? {
        for (reader, _) in &logs {
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
            let of = if logs.len() > 1 {
                format!(" for {}", claimed_origin(reader.checkpoint_note()))
            } else {
                String::new()
            };
            cosigned.push(names.clone());
            witnessed.push(format!(
                "witnesses{of}: {} ({} of {} trusted, quorum {})",
                names.join(", "),
                names.len(),
                w.keys.len(),
                w.quorum
            ));
        }
    }
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
    let first_dir = dirs.first().cloned().unwrap_or_default();
    let options = AuditOptions {
        log_dir: &first_dir,
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
    let mut result = audit::audit_logs(&options, &logs, &mut progress)?;
    // The report names the witnesses that cosigned each log's checkpoint.
    if let Some(first) = cosigned.first() {
        result.log.witnessed_by = first.clone();
    }
    for (summary, names) in result.logs.iter_mut().zip(&cosigned) {
        summary.witnessed_by = names.clone();
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
    if let (Some(path), Some((reader, _))) = (&args.save_checkpoint, logs.first()) {
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
    for line in witnessed {
        println!("{line}");
    }
    print!("{}", report::text::summary(&result));
    for line in said {
        println!("{line}");
    }
    Ok(())
}
