//! `lightcone evidence verify --spdm FILE --chain FILE (--root FILE | --trust TRUST.toml)
//! [--nonce HEX] [--at SECS]`: checks a recorded SPDM 1.1 measurement report (hex of the request
//! followed by the response, as NVIDIA's tools record it) against a PEM certificate chain (leaf
//! first) and a PEM root, or the `[[x509_root]]` roots of a trust file, and
//! prints one JSON object: `valid`, `nonce` (the request's, hex), `leaf_subject`, and `reason`
//! when invalid, with the responder nonce, block count and chain. Exit status 0 when valid, 1
//! when the evidence is invalid, 2 for unusable input (with a message on stderr).

use std::io::Write as _;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use lightcone_verifier::evidence::{
    check_spdm_report, check_spdm_report_with_roots, parse_nonce_hex, read_pem_certs,
    read_report_hex, read_root,
};
use lightcone_verifier::registry::Trust;
use lightcone_verifier::Error;
use serde_json::json;

/// Arguments of `lightcone evidence`.
#[derive(Args, Debug)]
pub struct EvidenceArgs {
    #[command(subcommand)]
    command: EvidenceCommand,
}

#[derive(Subcommand, Debug)]
enum EvidenceCommand {
    /// Verify a recorded SPDM measurement report: nonce, P-384 signature, chain to the root.
    Verify {
        /// The report: hex of the GET_MEASUREMENTS request followed by the MEASUREMENTS response.
        #[arg(long)]
        spdm: PathBuf,
        /// The attestation key's certificate chain, PEM, leaf first.
        #[arg(long)]
        chain: PathBuf,
        /// The trusted root certificate, PEM (e.g. NVIDIA's Device Identity CA).
        #[arg(long, required_unless_present = "trust", conflicts_with = "trust")]
        root: Option<PathBuf>,
        /// A trust file whose `[[x509_root]]` entries are the trusted roots (instead of --root).
        #[arg(long)]
        trust: Option<PathBuf>,
        /// The requester nonce the report must carry (64 hex digits); without it the nonce is
        /// reported, and only signature and chain are checked.
        #[arg(long)]
        nonce: Option<String>,
        /// Check certificate validity at this time (Unix seconds) instead of now.
        #[arg(long)]
        at: Option<u64>,
    },
}

/// Runs `lightcone evidence …`; exits with status 1 itself when the evidence is invalid.
pub fn run(args: EvidenceArgs) -> Result<(), Error> {
    match args.command {
        EvidenceCommand::Verify {
            spdm,
            chain,
            root,
            trust,
            nonce,
            at,
        } => {
            let expected = nonce.as_deref().map(parse_nonce_hex).transpose()?;
            let report = read_report_hex(&spdm)?;
            let chain = read_pem_certs(&chain)?;
            let roots = match (root, trust) {
                (Some(root), _) => vec![(String::new(), read_root(&root)?)],
                (None, Some(trust)) => Trust::load_x509_roots(&trust)?,
                (None, None) => Vec::new(), // clap requires one of them
            };
            let at = at.unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0)
            });
            let (judged, root_name) = match roots.as_slice() {
                [(name, root)] if name.is_empty() => (
                    check_spdm_report(&report, &chain, root, expected.as_ref(), at),
                    None,
                ),
                _ => check_spdm_report_with_roots(&report, &chain, &roots, expected.as_ref(), at),
            };
            let mut out = json!({
                "valid": judged.valid,
                "kind": "spdm-1.1-measurements",
                "nonce": judged.nonce.map(hex::encode),
                "nonce_checked": expected.is_some(),
                "responder_nonce": judged.responder_nonce.map(hex::encode),
                "measurement_blocks": judged.blocks,
                "leaf_subject": judged.leaf_subject,
                "checked_at": at,
            });
            if let Some(chain) = &judged.chain {
                out["chain"] = json!(chain.subjects);
                out["root_sha256"] = json!(chain.root_fingerprint);
            }
            if let Some(name) = root_name {
                out["root_name"] = json!(name);
            }
            if let Some(reason) = &judged.reason {
                out["reason"] = json!(reason);
            }
            println!("{out}");
            if judged.valid {
                Ok(())
            } else {
                let _ = std::io::stdout().flush();
                std::process::exit(1)
            }
        }
    }
}
