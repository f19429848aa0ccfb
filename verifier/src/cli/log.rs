//! `lightcone log`: create, append to, audit and prove things about an attestation log.
//!
//! The log directory holds only public files (`checkpoint`, `tile/…`) and can be served as is.
//! The signing key lives outside it: by default in `<DIR>.key` next to the directory.

use clap::{Args, Subcommand};
use lightcone_verifier::bounded_file::{self, Links};
use lightcone_verifier::log::checkpoint::{
    check_consistency_proof, check_tlog_proof, open_checkpoint,
};
use lightcone_verifier::log::hash::{empty_root, hash_from_base64, hash_to_base64};
use lightcone_verifier::log::note::MAX_NOTE_SIZE;
use lightcone_verifier::log::proof::{ConsistencyProofText, TlogProof, TLOG_PROOF_HEADER};
use lightcone_verifier::log::storage::{
    generate_signing_key, read_key_file, write_key_file, CHECKPOINT_FILE,
};
use lightcone_verifier::log::tile::MAX_ENTRY_SIZE;
use lightcone_verifier::log::{
    FsStore, Log, LogError, LogReader, NoteSigner, S3Store, Store, VerifierKey,
};
use lightcone_verifier::Error;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

/// Largest proof file: a checkpoint note, with up to 64 hashes and a few short lines.
const PROOF_FILE_MAX: u64 = MAX_NOTE_SIZE as u64 + 8192;

/// Arguments of `lightcone log`.
#[derive(Args, Debug)]
pub struct LogArgs {
    #[command(subcommand)]
    command: LogCommand,
}

#[derive(Subcommand, Debug)]
enum LogCommand {
    /// Create a log and its signing key (or use --key FILE); prints the verifier key.
    Init {
        /// Log directory (created; must not hold a log).
        #[arg(long, required_unless_present = "store", conflicts_with = "store")]
        dir: Option<PathBuf>,
        /// Instead of a directory: an S3-compatible bucket prefix, s3://BUCKET[/PREFIX] (the
        /// bucket must exist; endpoint and credentials from the AWS_* environment). Needs --key.
        #[arg(long)]
        store: Option<String>,
        /// Origin line of the checkpoints, also the key name, e.g. example.com/lightcone/log1.
        #[arg(long)]
        origin: String,
        /// Signing key file (PRIVATE+KEY+… form): read if it exists, else created with mode
        /// 0600. Default: <DIR>.key beside the directory.
        #[arg(long)]
        key: Option<PathBuf>,
    },
    /// Append entries: each FILE's bytes become one entry; stdin is one entry if no FILE.
    Append {
        /// Log directory.
        #[arg(long)]
        dir: PathBuf,
        /// Signing key file. Default: <DIR>.key beside the directory.
        #[arg(long)]
        key: Option<PathBuf>,
        /// Entries per durable batch (default: all in one batch).
        #[arg(long)]
        batch: Option<usize>,
        /// Entry files.
        files: Vec<PathBuf>,
    },
    /// Re-derive every tile and the root from the entries and check the checkpoint signature.
    Verify {
        /// Log directory.
        #[arg(long)]
        dir: PathBuf,
        /// Verifier key (name+keyid+base64) or a file holding it.
        #[arg(long)]
        key: String,
    },
    /// Print an inclusion proof (C2SP tlog-proof@v1 text) for entry N.
    Prove {
        /// Log directory.
        #[arg(long)]
        dir: PathBuf,
        /// Entry index.
        #[arg(long)]
        index: u64,
    },
    /// Print a consistency proof from tree size SIZE to the current checkpoint.
    Consistency {
        /// Log directory.
        #[arg(long)]
        dir: PathBuf,
        /// Older tree size.
        #[arg(long)]
        from: u64,
    },
    /// Serve the log over HTTP: the only process that holds the log key. Accepts signed
    /// submissions from landmarks the trust file's registry certified (POST
    /// /lightcone/v1/add), appends them in durable batches, answers each with its indices, and
    /// serves the C2SP tlog-tiles read API (/checkpoint, /tile/…). Prints `listening on ADDR`.
    Serve {
        /// Log directory.
        #[arg(long, required_unless_present = "store", conflicts_with = "store")]
        dir: Option<PathBuf>,
        /// Instead of a directory: the log in an S3-compatible bucket prefix,
        /// s3://BUCKET[/PREFIX] (endpoint and credentials from the AWS_* environment). Needs
        /// --key. Run one server per prefix: an object store has no writer lock.
        #[arg(long)]
        store: Option<String>,
        /// Signing key file. Default: <DIR>.key beside the directory.
        #[arg(long)]
        key: Option<PathBuf>,
        /// Address to listen on, e.g. 127.0.0.1:8080 (port 0: any free port).
        #[arg(long)]
        listen: std::net::SocketAddr,
        /// The trust file whose registry certifies the landmarks allowed to submit.
        #[arg(long)]
        trust: PathBuf,
        /// Longest wait, in milliseconds (0–1000), for more submissions before a batch is
        /// written.
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=1000))]
        max_wait_ms: u64,
        /// A witness to submit every new checkpoint to, as URL=KEY (KEY as `lightcone witness
        /// init` printed it); repeatable. Their cosignatures are published in the checkpoint.
        #[arg(long = "witness")]
        witnesses: Vec<String>,
    },
    /// Check a proof printed by `prove` or `consistency`, offline.
    CheckProof {
        /// Verifier key (name+keyid+base64) or a file holding it.
        #[arg(long)]
        key: String,
        /// The proof file.
        #[arg(long)]
        proof: PathBuf,
        /// For an inclusion proof: the entry's bytes.
        #[arg(long)]
        entry: Option<PathBuf>,
        /// For a consistency proof: the older signed checkpoint you kept.
        #[arg(long, conflicts_with = "old_root")]
        old_checkpoint: Option<PathBuf>,
        /// For a consistency proof: the older root hash (base64) instead of a checkpoint.
        #[arg(long)]
        old_root: Option<String>,
    },
}

/// Runs `lightcone log …`.
pub fn run(args: LogArgs) -> Result<(), Error> {
    match args.command {
        LogCommand::Init {
            dir,
            store,
            origin,
            key,
        } => init(&Place::new(dir, store)?, &origin, key),
        LogCommand::Append {
            dir,
            key,
            batch,
            files,
        } => append(&dir, key, batch, &files),
        LogCommand::Verify { dir, key } => {
            let key = verifier_key(&key)?;
            let cp = LogReader::open(&dir)?.verify(&key)?;
            println!(
                "ok: {} verified: {} entries, root {}, every tile re-derived from the entries",
                cp.origin(),
                cp.size(),
                hash_to_base64(cp.root())
            );
            Ok(())
        }
        LogCommand::Prove { dir, index } => {
            let proof = LogReader::open(&dir)?.prove(index)?;
            write_stdout(&proof.to_text())
        }
        LogCommand::Consistency { dir, from } => {
            let proof = LogReader::open(&dir)?.prove_consistency(from)?;
            write_stdout(&proof.to_text())
        }
        LogCommand::Serve {
            dir,
            store,
            key,
            listen,
            trust,
            max_wait_ms,
            witnesses,
        } => serve(
            &Place::new(dir, store)?,
            key,
            listen,
            &trust,
            max_wait_ms,
            &witnesses,
        ),
        LogCommand::CheckProof {
            key,
            proof,
            entry,
            old_checkpoint,
            old_root,
        } => check_proof(&key, &proof, entry, old_checkpoint, old_root),
    }
}

/// Where a log is: a directory, or an object store URL.
enum Place {
    Dir(PathBuf),
    Store(String),
}

impl Place {
    /// From the `--dir` and `--store` options (clap lets exactly one through).
    fn new(dir: Option<PathBuf>, store: Option<String>) -> Result<Place, Error> {
        match (dir, store) {
            (Some(d), None) => Ok(Place::Dir(d)),
            (None, Some(s)) => Ok(Place::Store(s)),
            _ => Err(LogError::MalformedKey("give one of --dir and --store").into()),
        }
    }

    /// The signing key file: `--key`, else `<DIR>.key` beside a directory.
    fn key_path(&self, key: Option<PathBuf>) -> Result<PathBuf, Error> {
        match (key, self) {
            (Some(k), _) => Ok(k),
            (None, Place::Dir(dir)) => default_key_path(dir),
            (None, Place::Store(_)) => {
                Err(LogError::MalformedKey("a log in an object store needs --key FILE").into())
            }
        }
    }

    /// The store, opened for writing (a directory takes its writer lock).
    fn writer(&self) -> Result<std::sync::Arc<dyn Store>, Error> {
        Ok(match self {
            Place::Dir(dir) => std::sync::Arc::new(FsStore::open_writer(dir)?),
            Place::Store(url) => std::sync::Arc::new(S3Store::from_env(url)?),
        })
    }

    fn display(&self) -> String {
        match self {
            Place::Dir(dir) => dir.display().to_string(),
            Place::Store(url) => url.clone(),
        }
    }
}

fn serve(
    place: &Place,
    key: Option<PathBuf>,
    listen: std::net::SocketAddr,
    trust: &Path,
    max_wait_ms: u64,
    witnesses: &[String],
) -> Result<(), Error> {
    use lightcone_verifier::log::http::{LogServer, ServerConfig, WitnessConfig};
    use lightcone_verifier::log::witness::CosignerKey;
    let witnesses = witnesses
        .iter()
        .map(|w| {
            let (url, key) = w
                .split_once('=')
                .ok_or(LogError::MalformedKey("--witness takes URL=KEY"))?;
            Ok(WitnessConfig {
                url: url.to_owned(),
                key: CosignerKey::parse(key)?,
            })
        })
        .collect::<Result<Vec<_>, LogError>>()?;
    use lightcone_verifier::net::LandmarkAdmission;
    let key_path = place.key_path(key)?;
    let trust = lightcone_verifier::registry::Trust::load(trust)?;
    let signer = read_key_file(&key_path)?;
    let log = Log::open_in(place.writer()?, signer.signing_key().clone())?;
    if let Some(range) = &log.recovery().interrupted {
        eprintln!(
            "lightcone: undid an append interrupted before its checkpoint ({}..{})",
            range.start, range.end
        );
    }
    let origin = log.checkpoint().origin().to_owned();
    let listener = std::net::TcpListener::bind(listen)
        .map_err(|e| LogError::io(format!("listening on {listen}"), e))?;
    let config = ServerConfig {
        max_wait: std::time::Duration::from_millis(max_wait_ms),
        witnesses,
        ..ServerConfig::default()
    };
    let size = log.size();
    let server = LogServer::start(
        log,
        listener,
        std::sync::Arc::new(LandmarkAdmission::new(trust, &origin)),
        config,
    )?;
    eprintln!(
        "lightcone: serving log {origin} ({size} entries) from {}",
        place.display()
    );
    println!("listening on {}", server.addr());
    server.wait();
    Ok(())
}

fn init(place: &Place, origin: &str, key: Option<PathBuf>) -> Result<(), Error> {
    // Refuse an existing log before a key file is created for it.
    let store: std::sync::Arc<dyn Store> = match place {
        Place::Dir(dir) => {
            let checkpoint = dir.join(CHECKPOINT_FILE);
            if checkpoint.exists() {
                return Err(LogError::AlreadyExists { path: checkpoint }.into());
            }
            std::sync::Arc::new(FsStore::create(dir)?)
        }
        Place::Store(_) => {
            let store = place.writer()?;
            match store.read(CHECKPOINT_FILE, MAX_NOTE_SIZE as u64) {
                Err(LogError::MissingFile { .. }) => store,
                Ok(_) => {
                    let path = store.path_of(CHECKPOINT_FILE);
                    return Err(LogError::AlreadyExists { path }.into());
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    let key_path = place.key_path(key)?;
    let signer = if key_path.exists() {
        let signer = read_key_file(&key_path)?;
        if signer.verifier_key().name() != origin {
            return Err(LogError::KeyMismatch(format!(
                "{} is a key for {:?}, not for origin {origin:?}",
                key_path.display(),
                signer.verifier_key().name()
            ))
            .into());
        }
        signer
    } else {
        let signer = NoteSigner::new(origin, generate_signing_key())?;
        write_key_file(&key_path, &signer)?;
        eprintln!(
            "lightcone: new signing key in {} (mode 0600)",
            key_path.display()
        );
        signer
    };
    let log = Log::init_in(store, origin, signer.signing_key().clone())?;
    eprintln!("lightcone: created log {} at {}", origin, place.display());
    println!("{}", log.verifier_key());
    Ok(())
}

fn append(
    dir: &Path,
    key: Option<PathBuf>,
    batch: Option<usize>,
    files: &[PathBuf],
) -> Result<(), Error> {
    let key_path = match key {
        Some(k) => k,
        None => default_key_path(dir)?,
    };
    let signer = read_key_file(&key_path)?;
    let mut entries = Vec::with_capacity(files.len().max(1));
    if files.is_empty() {
        let mut buf = Vec::new();
        std::io::stdin()
            .take(MAX_ENTRY_SIZE as u64 + 1)
            .read_to_end(&mut buf)
            .map_err(|e| LogError::io("<stdin>", e))?;
        entries.push(buf);
    } else {
        for f in files {
            entries.push(
                bounded_file::read(f, MAX_ENTRY_SIZE as u64, Links::Follow)
                    .map_err(|e| LogError::io(f, e))?,
            );
        }
    }
    let mut log = Log::open(dir, signer.signing_key().clone())?;
    if let Some(range) = &log.recovery().interrupted {
        eprintln!(
            "lightcone: recovered from an interrupted append of entries {}..{}: removed {} unpublished files",
            range.start,
            range.end,
            log.recovery().removed.len()
        );
    }
    let batch = batch.unwrap_or(entries.len()).max(1);
    for chunk in entries.chunks(batch) {
        let range = log.append_batch(chunk)?;
        println!(
            "appended {}..{} size {} root {}",
            range.start,
            range.end,
            log.size(),
            hash_to_base64(log.checkpoint().root())
        );
    }
    Ok(())
}

fn check_proof(
    key: &str,
    proof_path: &Path,
    entry: Option<PathBuf>,
    old_checkpoint: Option<PathBuf>,
    old_root: Option<String>,
) -> Result<(), Error> {
    let key = verifier_key(key)?;
    let text = bounded_file::read(proof_path, PROOF_FILE_MAX, Links::Follow)
        .map_err(|e| LogError::io(proof_path, e))?;
    if text.starts_with(format!("{TLOG_PROOF_HEADER}\n").as_bytes()) {
        let proof = TlogProof::parse(&text)?;
        let Some(entry_path) = entry else {
            return Err(LogError::MalformedProof("an inclusion proof needs --entry FILE").into());
        };
        let entry = bounded_file::read(&entry_path, MAX_ENTRY_SIZE as u64, Links::Follow)
            .map_err(|e| LogError::io(&entry_path, e))?;
        let cp = check_tlog_proof(&proof, &entry, &key)?;
        println!(
            "ok: entry {} is in {} at tree size {} (root {})",
            proof.index,
            cp.origin(),
            cp.size(),
            hash_to_base64(cp.root())
        );
    } else if text.starts_with(b"old ") {
        let proof = ConsistencyProofText::parse(&text)?;
        let old_root = match (old_checkpoint, old_root) {
            (Some(path), _) => {
                let note = bounded_file::read(&path, MAX_NOTE_SIZE as u64, Links::Follow)
                    .map_err(|e| LogError::io(&path, e))?;
                let old = open_checkpoint(&note, &key)?;
                if old.size() != proof.old_size {
                    return Err(LogError::MalformedProof(
                        "the old checkpoint's size is not the proof's old size",
                    )
                    .into());
                }
                *old.root()
            }
            (None, Some(b64)) => hash_from_base64(&b64)?,
            (None, None) if proof.old_size == 0 => empty_root(),
            (None, None) => {
                return Err(LogError::MalformedProof(
                    "a consistency proof needs --old-checkpoint FILE or --old-root HASH",
                )
                .into())
            }
        };
        let cp = check_consistency_proof(&proof, &old_root, &key)?;
        println!(
            "ok: {} at tree size {} (root {}) extends tree size {}",
            cp.origin(),
            cp.size(),
            hash_to_base64(cp.root()),
            proof.old_size
        );
    } else {
        return Err(LogError::MalformedProof(
            "not a tlog-proof@v1 inclusion proof nor an `old N` consistency proof",
        )
        .into());
    }
    Ok(())
}

/// A verifier key given inline, or the path of a file holding one.
fn verifier_key(arg: &str) -> Result<VerifierKey, Error> {
    Ok(VerifierKey::from_arg(arg)?)
}

/// `<DIR>.key` beside the log directory: outside it, so serving the directory never serves
/// the key.
fn default_key_path(dir: &Path) -> Result<PathBuf, Error> {
    let abs = if dir.exists() {
        std::fs::canonicalize(dir).map_err(|e| LogError::io(dir, e))?
    } else {
        dir.to_path_buf()
    };
    let Some(name) = abs.file_name() else {
        return Err(LogError::MalformedKey(
            "cannot derive a key path from the log directory; pass --key",
        )
        .into());
    };
    let mut name = name.to_os_string();
    name.push(".key");
    Ok(abs.with_file_name(name))
}

fn write_stdout(bytes: &[u8]) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|e| LogError::io("<stdout>", e).into())
}
