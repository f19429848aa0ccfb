//! `lightcone witness`: a C2SP `tlog-witness` v1 witness that cosigns a log's checkpoints only
//! after checking they are consistent with everything it cosigned before.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use lightcone_verifier::log::storage::{generate_signing_key, read_key_file, write_key_file};
use lightcone_verifier::log::witness::{CosignerKey, Witness, WitnessServer};
use lightcone_verifier::log::{LogError, NoteSigner, VerifierKey};
use lightcone_verifier::Error;

/// Arguments of `lightcone witness`.
#[derive(Args, Debug)]
pub struct WitnessArgs {
    #[command(subcommand)]
    command: WitnessCommand,
}

#[derive(Subcommand, Debug)]
enum WitnessCommand {
    /// Create a witness key (DIR/witness.key, mode 0600); prints its cosignature key, the
    /// `name+id+key` that logs (`log serve --witness URL=KEY`) and trust files name.
    Init {
        /// Witness directory (created).
        #[arg(long)]
        dir: PathBuf,
        /// Witness name, e.g. witness.example.org/w1.
        #[arg(long)]
        name: String,
    },
    /// Serve POST /add-checkpoint. Prints `listening on ADDR`. State (the latest cosigned
    /// size and root of each log) lives in DIR/state and survives restarts.
    Serve {
        /// Witness directory (from `witness init`).
        #[arg(long)]
        dir: PathBuf,
        /// Address to listen on (port 0: any free port).
        #[arg(long)]
        listen: std::net::SocketAddr,
        /// Verifier key of a log to witness (name+id+key, or a file holding it); repeatable.
        #[arg(long = "log-key", required = true)]
        log_keys: Vec<String>,
    },
}

fn key_path(dir: &Path) -> PathBuf {
    dir.join("witness.key")
}

/// Runs `lightcone witness …`.
pub fn run(args: WitnessArgs) -> Result<(), Error> {
    match args.command {
        WitnessCommand::Init { dir, name } => {
            std::fs::create_dir_all(&dir).map_err(|e| LogError::io(&dir, e))?;
            let signer = NoteSigner::new(&name, generate_signing_key())?;
            let key = CosignerKey::new(&name, signer.signing_key().verifying_key())?;
            write_key_file(&key_path(&dir), &signer)?;
            println!("{key}");
            Ok(())
        }
        WitnessCommand::Serve {
            dir,
            listen,
            log_keys,
        } => {
            let signer = read_key_file(&key_path(&dir))?;
            let logs = log_keys
                .iter()
                .map(|k| VerifierKey::from_arg(k))
                .collect::<Result<Vec<_>, _>>()?;
            let name = signer.verifier_key().name().to_owned();
            let witness = Witness::open(
                &name,
                signer.signing_key().clone(),
                logs,
                &dir.join("state"),
            )?;
            let key = witness.cosigner_key();
            let listener = std::net::TcpListener::bind(listen)
                .map_err(|e| LogError::io(format!("listening on {listen}"), e))?;
            let server = WitnessServer::start(witness, listener)?;
            eprintln!("lightcone: witness {key}");
            println!("listening on {}", server.addr());
            server.wait();
            Ok(())
        }
    }
}
