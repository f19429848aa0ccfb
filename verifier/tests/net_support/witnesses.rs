//! Shared fixtures of the witness tests: a synthetic fleet's landmarks submitting signed rounds
//! to a log server, and waiting for a checkpoint with enough cosignatures.

use std::path::Path;
use std::time::{Duration, Instant};

use lightcone::{LogRecord, Wire};
use lightcone_verifier::log::http::{LogClient, ADD_PATH};
use lightcone_verifier::log::witness::{cosigners, CosignerKey};
use lightcone_verifier::net::submit::encode_submission;
use lightcone_verifier::synth::SynthFleet;

pub const T0_NS: u64 = 1_790_000_000 * 1_000_000_000;
pub const LANDMARKS: [(f64, f64); 3] = [(50.11, 8.68), (48.86, 2.35), (52.23, 21.01)];

pub fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

pub fn submit(
    f: &mut SynthFleet,
    rng: &mut rand_chacha::ChaCha20Rng,
    client: &LogClient,
    round: u64,
) {
    for l in 0..LANDMARKS.len() {
        let m = f
            .measure_unchecked(
                rng,
                (l, 0),
                (50.0, 8.5),
                T0_NS + round * 60_000_000_000 + l as u64,
            )
            .unwrap();
        let records = vec![
            LogRecord::LandmarkCertificate(f.landmarks[l].cert).to_vec(),
            LogRecord::DeviceCertificate(f.chips[0].cert).to_vec(),
            LogRecord::Measurement(m).to_vec(),
        ];
        let body = encode_submission(
            &f.origin,
            &f.landmarks[l].cert,
            &f.landmarks[l].key,
            &records,
        )
        .unwrap();
        let r = client.post(ADD_PATH, body, 1 << 20).unwrap();
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }
}

/// Waits until the served checkpoint has `size` entries and `n` valid cosignatures.
pub fn wait_cosigned(client: &LogClient, keys: &[CosignerKey], size: u64, n: usize) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let note = client.get("checkpoint", 1 << 20).unwrap().body;
        let text = String::from_utf8_lossy(&note).into_owned();
        let s: u64 = text.lines().nth(1).unwrap().parse().unwrap();
        if s == size && cosigners(&note, keys).unwrap().len() == n {
            return note;
        }
        assert!(
            Instant::now() < deadline,
            "no {n} cosignatures at size {size}: {text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
