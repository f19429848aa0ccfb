//! Writes a synthetic log of N measurements with its trust and policy files, for load and
//! memory measurements of `lightcone audit`:
//!
//! ```text
//! cargo run --release -p lightcone-verifier --example generate_log -- OUT_DIR 1000000
//! /usr/bin/time -v target/release/lightcone audit --log OUT_DIR/log \
//!     --trust OUT_DIR/trust.toml --policy OUT_DIR/policy.toml
//! ```

use lightcone::{LogRecord, Wire};
use lightcone_verifier::log::Log;
use lightcone_verifier::registry::TrustFile;
use lightcone_verifier::synth::{SynthFleet, SAMPLE_LANDMARKS};
use rand_core::SeedableRng;

const LANDMARKS: [(f64, f64); 8] = SAMPLE_LANDMARKS;
const CHIP_SITES: [(f64, f64); 4] = [(50.0, 8.5), (48.9, 2.4), (1.3, 103.8), (39.0, -77.5)];
const T0_NS: u64 = 1_790_000_000 * 1_000_000_000;
const CHIPS: usize = 1000;
const BATCH: usize = 20_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = std::path::PathBuf::from(args.next().ok_or("usage: generate_log OUT_DIR N")?);
    let n: usize = args
        .next()
        .ok_or("usage: generate_log OUT_DIR N")?
        .parse()?;
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(11);
    let mut fleet = SynthFleet::new(&mut rng, &LANDMARKS, CHIPS)?;
    std::fs::create_dir_all(&out)?;
    let mut log = Log::init(out.join("log"), &fleet.origin, fleet.log_key.clone())?;
    let certs: Vec<Vec<u8>> = fleet
        .certificate_records()
        .iter()
        .map(|r| r.to_vec())
        .collect();
    log.append_batch(&certs)?;
    let mut batch = Vec::with_capacity(BATCH);
    for i in 0..n {
        // Round-robin over chips and landmarks; one epoch of every chip every 15 minutes.
        let chip = i % CHIPS;
        let l = (i / CHIPS) % LANDMARKS.len();
        let epoch = (i / (CHIPS * LANDMARKS.len())) as u64;
        let t = T0_NS + epoch * 900_000_000_000 + (chip * LANDMARKS.len() + l) as u64 * 100_000;
        let site = CHIP_SITES[chip % CHIP_SITES.len()];
        let m = fleet.measure_unchecked(&mut rng, (l, chip), site, t)?;
        batch.push(LogRecord::Measurement(m).to_vec());
        if batch.len() == BATCH || i + 1 == n {
            log.append_batch(&batch)?;
            batch.clear();
            eprint!("\r{} / {n}", i + 1);
        }
    }
    eprintln!();
    TrustFile::new(
        fleet.registry_public(),
        &[("synthetic-vendor".into(), fleet.vendor_public())],
        fleet.trust().log_verifier_key,
    )
    .write(&out.join("trust.toml"))?;
    std::fs::write(
        out.join("policy.toml"),
        "permitted = [\"*\"]\nforbidden = [\"CN\", \"RU\"]\n[audit]\nfreshness_hours = 1000\nheartbeat_hours = 1000\n",
    )?;
    println!("wrote {n} measurements to {}", out.display());
    Ok(())
}
