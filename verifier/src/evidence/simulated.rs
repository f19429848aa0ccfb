//! A simulated GPU: an SPDM 1.1 responder with a P-384 attestation key under a self-made
//! root → intermediate → leaf chain, answering `GET_MEASUREMENTS` the way an NVIDIA H100 does
//! (64 SHA-384 measurement blocks, a fresh responder nonce, about 420 bytes of opaque TLVs, a
//! 96-byte `r ‖ s` signature over SHA-384 of request ‖ response), so that a report it makes is
//! 4 117 bytes like the real sample and passes [`super::check_spdm_report`] under its root.
//!
//! It stands in for a real GPU in tests and demos; a landmark trusts its root only when its
//! trust file names it. It answers at once unless given a floor ([`SimulatedGpu::with_floor`]),
//! the minimum time a real GPU takes, which it then never beats.

use std::path::Path;
use std::time::{Duration, Instant};

use lightcone::evidence::spdm::{
    encode_unsigned_measurements, GetMeasurements, MeasurementBlock, NONCE_LEN, OPERATION_ALL,
};
use lightcone::{AnySignature, Signer as _};
use p384::ecdsa::SigningKey;
use rand_core::{OsRng, RngCore as _};
use sha2::{Digest as _, Sha384};

use super::responder::{SpdmResponder, SpdmResponderError};
use super::synthetic::{to_pem, SyntheticChain, SyntheticError};
use super::x509::Cert;
use super::EvidenceError;

/// Measurement blocks in a simulated report, as in the H100 sample.
pub const SIMULATED_BLOCKS: u8 = 64;
/// Opaque data bytes in a simulated report, as in the H100 sample.
pub const SIMULATED_OPAQUE_LEN: usize = 422;
/// The largest report a simulated GPU makes (request ‖ response), bytes.
const REPORT_BUF: usize = 8192;

/// A GPU made in software: its attestation key, its chain (leaf first), the root that chain
/// ends at, the measurements it reports, and the least time it takes to answer.
pub struct SimulatedGpu {
    key: SigningKey,
    chain: Vec<Cert>,
    root: Option<Cert>,
    measurements: Vec<[u8; 48]>,
    opaque: Vec<u8>,
    floor: Duration,
}

impl std::fmt::Debug for SimulatedGpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.debug_struct("SimulatedGpu")
            .field("leaf", &self.chain.first().map(Cert::subject))
            .field("floor", &self.floor)
            .finish_non_exhaustive()
    }
}

/// Opaque data shaped like NVIDIA's: little-endian `u16` type, `u16` length, value; the values
/// name the simulation, the rest is zero padding to [`SIMULATED_OPAQUE_LEN`].
fn opaque_tlvs(name: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(SIMULATED_OPAQUE_LEN);
    let mut tlv = |kind: u16, value: &[u8]| {
        let len = u16::try_from(value.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(value.get(..usize::from(len)).unwrap_or(&[]));
    };
    tlv(0x0001, b"lightcone simulated GPU");
    tlv(0x0002, name.as_bytes());
    tlv(0x0003, b"not a real device: for tests and demos");
    out.resize(SIMULATED_OPAQUE_LEN, 0);
    out
}

/// Measurement values a GPU named `name` reports: SHA-384 of the name and the index.
fn measurements_of(name: &str) -> Vec<[u8; 48]> {
    (1..=SIMULATED_BLOCKS)
        .map(|i| {
            let mut h = Sha384::new();
            h.update(b"lightcone simulated GPU measurement\0");
            h.update(name.as_bytes());
            h.update([i]);
            h.finalize().into()
        })
        .collect()
}

impl SimulatedGpu {
    /// A GPU with fresh random keys (root, intermediate, attestation key) named `name`.
    pub fn generate(name: &str) -> Result<Self, SyntheticError> {
        let chain = SyntheticChain::with_keys(
            "lightcone simulated",
            name,
            SigningKey::random(&mut OsRng),
            SigningKey::random(&mut OsRng),
            SigningKey::random(&mut OsRng),
        )?;
        Self::from_chain(name, &chain)
    }

    /// A GPU whose attestation key is `chain.leaf_key`, with the chain `chain` issues.
    pub fn from_chain(name: &str, chain: &SyntheticChain) -> Result<Self, SyntheticError> {
        let (certs, root) = chain.build()?;
        Ok(Self::from_parts(
            name,
            chain.leaf_key.clone(),
            certs,
            Some(root),
        ))
    }

    /// A GPU of an attestation key and a chain (leaf first) that the caller vouches belong
    /// together (as a stored simulated GPU's files do); `root` if known.
    pub fn from_parts(name: &str, key: SigningKey, chain: Vec<Cert>, root: Option<Cert>) -> Self {
        SimulatedGpu {
            key,
            chain,
            root,
            measurements: measurements_of(name),
            opaque: opaque_tlvs(name),
            floor: Duration::ZERO,
        }
    }

    /// Never answers in less than `floor` (a real GPU's minimum), counted from the request.
    pub fn with_floor(mut self, floor: Duration) -> Self {
        self.floor = floor;
        self
    }

    /// The attestation key (to store a simulated GPU's files).
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// The chain, leaf first, without the root.
    pub fn chain(&self) -> &[Cert] {
        &self.chain
    }

    /// The root the chain ends at, when this GPU made it.
    pub fn root(&self) -> Option<&Cert> {
        self.root.as_ref()
    }

    /// One signed report: `GET_MEASUREMENTS` (all blocks, slot 0) with `nonce`, then the
    /// signed `MEASUREMENTS` response.
    pub fn report(&mut self, nonce: &[u8; NONCE_LEN]) -> Result<Vec<u8>, SpdmResponderError> {
        let failed = |e: lightcone::Error| SpdmResponderError(format!("simulated GPU: {e}"));
        let request = GetMeasurements::new(OPERATION_ALL, *nonce, 0).map_err(failed)?;
        let blocks: Vec<MeasurementBlock<'_>> = self
            .measurements
            .iter()
            .zip(1u8..)
            .map(|(value, index)| MeasurementBlock {
                index,
                // Mutable firmware, a digest.
                value_type: 0x01,
                value,
            })
            .collect();
        let mut responder_nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut responder_nonce);
        let mut buf = vec![0u8; REPORT_BUF];
        let unsigned = encode_unsigned_measurements(
            &request,
            &blocks,
            &responder_nonce,
            &self.opaque,
            &mut buf,
        )
        .map_err(failed)?;
        let mut report = Vec::with_capacity(request.as_bytes().len() + unsigned.len() + 96);
        report.extend_from_slice(request.as_bytes());
        report.extend_from_slice(unsigned);
        // The core's P-384 signer signs SHA-384 of its message: exactly the SPDM transcript.
        match self.key.try_sign(&report).map_err(failed)? {
            AnySignature::P384(sig) => report.extend_from_slice(&sig.0),
            _ => {
                return Err(SpdmResponderError(
                    "simulated GPU: not a P-384 signature".into(),
                ))
            }
        }
        Ok(report)
    }
}

/// The simulated GPU's secret attestation key file in its directory (hex, mode 0600).
pub const SIM_KEY: &str = "gpu.key";
/// Its chain, PEM, leaf first, without the root.
pub const SIM_CHAIN: &str = "chain.pem";
/// The root its chain ends at, PEM.
pub const SIM_ROOT: &str = "root.pem";
/// A `[[x509_root]]` entry naming that root, to paste into a landmark's trust file.
pub const SIM_TRUST_SNIPPET: &str = "x509_root.toml";

fn format_err(path: &Path, why: impl std::fmt::Display) -> EvidenceError {
    EvidenceError::Format {
        path: path.to_path_buf(),
        why: why.to_string(),
    }
}

fn write_new(path: &Path, contents: &[u8], secret: bool) -> Result<(), EvidenceError> {
    let io = |source| EvidenceError::Io {
        path: path.to_path_buf(),
        source,
    };
    if secret {
        crate::secret_file::create(path, contents).map_err(io)
    } else {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, contents))
            .map_err(io)
    }
}

impl SimulatedGpu {
    /// Writes the GPU's files into `dir` (created; existing files are never overwritten):
    /// [`SIM_KEY`], [`SIM_CHAIN`], [`SIM_ROOT`] and [`SIM_TRUST_SNIPPET`] (`[[x509_root]]` named
    /// `root_name`). The root's and intermediate's keys are not kept.
    pub fn store(&self, dir: &Path, root_name: &str) -> Result<(), EvidenceError> {
        std::fs::create_dir_all(dir).map_err(|source| EvidenceError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let root = self
            .root
            .as_ref()
            .ok_or_else(|| format_err(dir, "this simulated GPU has no root to store"))?;
        let pem = |certs: &[Cert]| to_pem(certs).map_err(|e| format_err(dir, e));
        let root_pem = pem(std::slice::from_ref(root))?;
        let snippet = format!(
            "[[x509_root]]\nname = {name:?}\nsha256 = \"{sha}\"\ncertificate = \"\"\"\n{root_pem}\"\"\"\n",
            name = root_name,
            sha = root.fingerprint(),
        );
        let key_hex = zeroize::Zeroizing::new(hex::encode(self.key.to_bytes()));
        write_new(&dir.join(SIM_KEY), key_hex.as_bytes(), true)?;
        write_new(&dir.join(SIM_CHAIN), pem(&self.chain)?.as_bytes(), false)?;
        write_new(&dir.join(SIM_ROOT), root_pem.as_bytes(), false)?;
        write_new(&dir.join(SIM_TRUST_SNIPPET), snippet.as_bytes(), false)
    }

    /// Loads a simulated GPU that [`SimulatedGpu::store`] wrote, named `name`; refuses a key
    /// that is not the chain's leaf key.
    pub fn load(dir: &Path, name: &str) -> Result<Self, EvidenceError> {
        let key_path = dir.join(SIM_KEY);
        let text = crate::bounded_file::read_to_string(
            &key_path,
            1024,
            crate::bounded_file::Links::Follow,
        )
        .map_err(|source| EvidenceError::Io {
            path: key_path.clone(),
            source,
        })?;
        let secret = zeroize::Zeroizing::new(
            hex::decode(text.trim()).map_err(|e| format_err(&key_path, format!("not hex: {e}")))?,
        );
        let key = SigningKey::from_slice(&secret)
            .map_err(|_| format_err(&key_path, "not a P-384 secret key"))?;
        let chain_path = dir.join(SIM_CHAIN);
        let chain = super::read_pem_certs(&chain_path)?;
        let leaf = chain
            .first()
            .ok_or_else(|| format_err(&chain_path, "no certificate"))?;
        let leaf_key = super::x509::p384_key_of(leaf, 0).map_err(|e| format_err(&chain_path, e))?;
        if leaf_key.to_sec1().as_slice() != key.verifying_key().to_encoded_point(false).as_bytes() {
            return Err(format_err(&key_path, "the key is not the chain's leaf key"));
        }
        let root = super::read_root(&dir.join(SIM_ROOT)).ok();
        Ok(SimulatedGpu::from_parts(name, key, chain, root))
    }
}

impl SpdmResponder for SimulatedGpu {
    fn measure(&mut self, nonce: &[u8; NONCE_LEN]) -> Result<Vec<u8>, SpdmResponderError> {
        let started = Instant::now();
        let report = self.report(nonce)?;
        let spent = started.elapsed();
        if spent < self.floor {
            std::thread::sleep(self.floor.saturating_sub(spent));
        }
        Ok(report)
    }

    fn chain_der(&self) -> Vec<u8> {
        self.chain.iter().flat_map(|c| c.der().to_vec()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::gpu::parse_der_chain;
    use crate::evidence::{check_spdm_report, chip_id_of_chain, chip_id_of_key};

    const NOW: u64 = 1_800_000_000;

    #[test]
    fn a_report_is_shaped_like_the_h100s_and_verifies_under_its_root() {
        let mut gpu = SimulatedGpu::generate("sim-0").unwrap();
        let nonce = [0x42; NONCE_LEN];
        let report = gpu.measure(&nonce).unwrap();
        assert_eq!(report.len(), 4117, "the H100 sample's size");
        let chain = parse_der_chain(&gpu.chain_der()).unwrap();
        assert_eq!(chain, gpu.chain());
        let root = gpu.root().unwrap().clone();
        let judged = check_spdm_report(&report, &chain, &root, Some(&nonce), NOW);
        assert!(judged.valid, "{:?}", judged.reason);
        assert_eq!(judged.blocks, Some(SIMULATED_BLOCKS));
        let leaf_key = judged.chain.unwrap().leaf_key;
        assert_eq!(
            chip_id_of_chain(&gpu.chain_der()).unwrap(),
            chip_id_of_key(&leaf_key)
        );
        // Another nonce, a changed byte, another GPU's root: refused.
        assert!(!check_spdm_report(&report, &chain, &root, Some(&[0x43; 32]), NOW).valid);
        let mut tampered = report.clone();
        tampered[100] ^= 1;
        assert!(!check_spdm_report(&tampered, &chain, &root, Some(&nonce), NOW).valid);
        let other = SimulatedGpu::generate("sim-1").unwrap();
        let other_root = other.root().unwrap();
        assert!(!check_spdm_report(&report, &chain, other_root, Some(&nonce), NOW).valid);
    }

    #[test]
    fn fresh_responder_nonces_and_the_floor() {
        let mut gpu = SimulatedGpu::generate("sim-2")
            .unwrap()
            .with_floor(Duration::from_millis(30));
        let started = Instant::now();
        let a = gpu.measure(&[1; NONCE_LEN]).unwrap();
        assert!(started.elapsed() >= Duration::from_millis(30));
        let b = gpu.measure(&[1; NONCE_LEN]).unwrap();
        assert_ne!(a, b, "each report has its own responder nonce");
        // Without a floor it does not sleep: far below 30 ms even on a loaded machine is not
        // guaranteed, so only the floor's lower bound is asserted above.
        assert_eq!(SimulatedGpu::generate("x").unwrap().floor, Duration::ZERO);
    }

    #[test]
    fn stored_and_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let gpu = SimulatedGpu::generate("sim-4").unwrap();
        gpu.store(dir.path(), "sim-root").unwrap();
        let mut again = SimulatedGpu::load(dir.path(), "sim-4").unwrap();
        assert_eq!(again.chain_der(), gpu.chain_der());
        let report = again.measure(&[5; 32]).unwrap();
        let root = again.root().unwrap().clone();
        assert!(check_spdm_report(&report, again.chain(), &root, Some(&[5; 32]), NOW).valid);
        let snippet = std::fs::read_to_string(dir.path().join(SIM_TRUST_SNIPPET)).unwrap();
        assert!(snippet.contains(&root.fingerprint()));
        // Never overwritten; a key that is not the leaf's is refused.
        assert!(gpu.store(dir.path(), "sim-root").is_err());
        let other = tempfile::tempdir().unwrap();
        SimulatedGpu::generate("sim-5")
            .unwrap()
            .store(other.path(), "r")
            .unwrap();
        std::fs::copy(other.path().join(SIM_KEY), dir.path().join("other.key")).unwrap();
        std::fs::rename(dir.path().join("other.key"), dir.path().join(SIM_KEY)).unwrap();
        assert!(SimulatedGpu::load(dir.path(), "sim-4").is_err());
    }

    #[test]
    fn parse_der_chain_refuses_junk() {
        let gpu = SimulatedGpu::generate("sim-3").unwrap();
        let der = gpu.chain_der();
        assert!(parse_der_chain(&[]).is_err());
        assert!(parse_der_chain(&der[..der.len() - 1]).is_err());
        let mut extra = der.clone();
        extra.push(0);
        assert!(parse_der_chain(&extra).is_err());
        assert!(parse_der_chain(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_err());
    }
}
