//! `lightcone registry`: the landmark registry's key and the auditor's trust file.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use lightcone::IssuerId;
use lightcone_verifier::registry::provision::{
    registry_init, write_trust, REGISTRY_KEY, REGISTRY_PUB,
};
use lightcone_verifier::Error;

/// Arguments of `lightcone registry`.
#[derive(Args, Debug)]
pub struct RegistryArgs {
    #[command(subcommand)]
    command: RegistryCommand,
}

#[derive(Subcommand, Debug)]
enum RegistryCommand {
    /// Create the registry key: DIR/registry.key (0600) and DIR/registry.pub.toml.
    Init {
        /// Directory for the registry's files (created).
        #[arg(long)]
        dir: PathBuf,
        /// The registry's name.
        #[arg(long, default_value = "registry")]
        name: String,
    },
    /// Write a trust file: vendor roots, the registry key and the log verifier key.
    Trust {
        /// The trust file to create (never overwritten).
        #[arg(long)]
        out: PathBuf,
        /// The registry directory (its registry.pub.toml is read).
        #[arg(long)]
        registry: PathBuf,
        /// A vendor directory (its vendor.pub.toml is read); repeat for several vendors.
        #[arg(long = "vendor")]
        vendors: Vec<PathBuf>,
        /// The log's verifier key (`name+hexid+base64`, as `lightcone log init` prints it), or a
        /// file holding it.
        #[arg(long)]
        log_verifier_key: Option<String>,
    },
}

/// Runs `lightcone registry …`.
pub fn run(args: RegistryArgs) -> Result<(), Error> {
    match args.command {
        RegistryCommand::Init { dir, name } => {
            let key = registry_init(&dir, &name)?;
            println!("registry {name}: key id {}", IssuerId::of(&key));
            println!("secret key: {}", dir.join(REGISTRY_KEY).display());
            println!("public key: {}", dir.join(REGISTRY_PUB).display());
            Ok(())
        }
        RegistryCommand::Trust {
            out,
            registry,
            vendors,
            log_verifier_key,
        } => {
            let log_key = match log_verifier_key {
                Some(k) => Some(verifier_key_text(&k)?),
                None => None,
            };
            let trust = write_trust(&out, &registry, &vendors, log_key)?;
            println!(
                "wrote {}: registry, {} vendor root(s){}",
                out.display(),
                trust.vendors.len(),
                if trust.log.is_some() {
                    ", log verifier key"
                } else {
                    ""
                }
            );
            Ok(())
        }
    }
}

/// A verifier key given inline or as a file, checked with the log module's parser.
fn verifier_key_text(arg: &str) -> Result<String, Error> {
    Ok(lightcone_verifier::log::VerifierKey::from_arg(arg)?.to_string())
}
