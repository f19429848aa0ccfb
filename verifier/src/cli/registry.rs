//! `lightcone registry`: the landmark registry's key and the auditor's trust file.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use lightcone::IssuerId;
use lightcone_verifier::registry::provision::{
    registry_init, write_trust, REGISTRY_KEY, REGISTRY_PUB,
};
use lightcone_verifier::Error;
use sha2::Digest as _;

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
    /// Endorse a GPU model's minimum response time (its vendor endorses none): GPUs whose
    /// chain ends at ROOT and whose leaf common name starts with PREFIX answer no faster.
    EndorseModel {
        /// The registry directory (its registry.key signs).
        #[arg(long)]
        registry: PathBuf,
        /// The model's name, as reports show it (1-16 characters).
        #[arg(long)]
        model: String,
        /// The X.509 root (PEM, one certificate) the GPUs' chains end at.
        #[arg(long)]
        root: PathBuf,
        /// The start of the leaf certificate's common name, e.g. `GH100`.
        #[arg(long)]
        leaf_cn_prefix: String,
        /// The measured minimum response time, in microseconds.
        #[arg(long)]
        min_response_us: u64,
        /// How long the endorsement is valid, in days from now.
        #[arg(long, default_value_t = 365)]
        days: u64,
        /// The endorsement file to create (never overwritten).
        #[arg(long)]
        out: PathBuf,
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
        RegistryCommand::EndorseModel {
            registry,
            model,
            root,
            leaf_cn_prefix,
            min_response_us,
            days,
            out,
        } => endorse_model(
            &registry,
            &model,
            &root,
            &leaf_cn_prefix,
            min_response_us,
            days,
            &out,
        ),
    }
}

/// Signs and writes a GPU model endorsement.
fn endorse_model(
    registry: &std::path::Path,
    model: &str,
    root: &std::path::Path,
    leaf_cn_prefix: &str,
    min_response_us: u64,
    days: u64,
    out: &std::path::Path,
) -> Result<(), Error> {
    use lightcone_verifier::registry::RegistryError;
    let bad = |field: &str, e: lightcone::Error| RegistryError::core(field.to_owned(), e);
    let (_, mut key) = lightcone_verifier::registry::provision::load_registry(registry)?;
    let root = lightcone_verifier::evidence::read_root(root)?;
    let root_sha256: [u8; 32] = sha2::Sha256::digest(root.der()).into();
    let min_ns = min_response_us
        .checked_mul(1_000)
        .ok_or_else(|| bad("--min-response-us", lightcone::Error::InvalidCertificate))?;
    let endorsement = lightcone::evidence::ModelEndorsement::issue(
        &mut key,
        lightcone::ModelName::new(model).map_err(|e| bad("--model", e))?,
        root_sha256,
        lightcone::evidence::LeafCnPrefix::new(leaf_cn_prefix)
            .map_err(|e| bad("--leaf-cn-prefix", e))?,
        lightcone::ResponseTiming::minimum_only(min_ns),
        lightcone_verifier::registry::provision::validity_days(days),
    )
    .map_err(|e| bad("model endorsement", e))?;
    lightcone_verifier::registry::certfile::write_model_endorsement(out, &endorsement)?;
    println!(
        "wrote {}: {model} (leaf CN {leaf_cn_prefix}*, root {}) answers no faster than {min_response_us} µs",
        out.display(),
        hex::encode(root_sha256)
    );
    Ok(())
}

/// A verifier key given inline or as a file, checked with the log module's parser.
fn verifier_key_text(arg: &str) -> Result<String, Error> {
    Ok(lightcone_verifier::log::VerifierKey::from_arg(arg)?.to_string())
}
