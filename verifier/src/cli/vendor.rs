//! `lightcone vendor`: a chip vendor's root key.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use lightcone::IssuerId;
use lightcone_verifier::registry::provision::{vendor_init, VENDOR_KEY, VENDOR_PUB};
use lightcone_verifier::Error;

/// Arguments of `lightcone vendor`.
#[derive(Args, Debug)]
pub struct VendorArgs {
    #[command(subcommand)]
    command: VendorCommand,
}

#[derive(Subcommand, Debug)]
enum VendorCommand {
    /// Create a vendor root key: DIR/vendor.key (0600) and DIR/vendor.pub.toml.
    Init {
        /// Directory for the vendor's files (created).
        #[arg(long)]
        dir: PathBuf,
        /// The vendor's name, as auditors will see it in the trust file.
        #[arg(long)]
        name: String,
    },
}

/// Runs `lightcone vendor …`.
pub fn run(args: VendorArgs) -> Result<(), Error> {
    match args.command {
        VendorCommand::Init { dir, name } => {
            let key = vendor_init(&dir, &name)?;
            println!("vendor {name}: root key id {}", IssuerId::of(&key));
            println!("secret key: {}", dir.join(VENDOR_KEY).display());
            println!("public key: {}", dir.join(VENDOR_PUB).display());
            Ok(())
        }
    }
}
