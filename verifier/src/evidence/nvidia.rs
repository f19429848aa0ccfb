//! A real NVIDIA GPU as an [`SpdmResponder`], through NVML (crate `lightcone-nvidia`).
//!
//! The chain is read once, when the GPU is opened, and converted to DER certificates
//! concatenated, leaf first (the driver may hand it out as PEM); each report is one
//! `nvmlDeviceGetConfComputeGpuAttestationReport` call with the landmark's derived nonce.

use lightcone::evidence::spdm::NONCE_LEN;
use lightcone_nvidia::Gpu;

use super::gpu::parse_der_chain;
use super::responder::{SpdmResponder, SpdmResponderError};
use super::x509::parse_pem_chain;
use super::EvidenceError;

/// An NVIDIA GPU in confidential computing mode, and its attestation chain (DER, leaf first).
#[derive(Debug)]
pub struct NvidiaGpu {
    gpu: Gpu,
    chain_der: Vec<u8>,
}

/// The chain as DER certificates concatenated: PEM blocks are decoded, DER is checked to split
/// into certificates.
pub fn chain_to_der(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let trimmed = bytes
        .iter()
        .position(|&b| !b.is_ascii_whitespace())
        .and_then(|start| bytes.get(start..))
        .unwrap_or(&[]);
    let certs = if trimmed.starts_with(b"-----BEGIN") {
        let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
        // The driver pads its buffer with NULs after the last block.
        parse_pem_chain(text.trim_end_matches('\0')).map_err(|e| e.to_string())?
    } else {
        parse_der_chain(bytes).map_err(|e| e.to_string())?
    };
    Ok(certs.iter().flat_map(|c| c.der().to_vec()).collect())
}

impl NvidiaGpu {
    /// Opens GPU `index` through NVML and reads its attestation chain; [`EvidenceError::NoGpu`]
    /// with NVML's reason when this machine has no such GPU (no driver, no device, no
    /// attestation support) or its chain does not parse.
    pub fn open(index: u32) -> Result<Self, EvidenceError> {
        let no_gpu = |why: String| EvidenceError::NoGpu(format!("GPU {index}: {why}"));
        let gpu = Gpu::open(index).map_err(|e| no_gpu(e.to_string()))?;
        let raw = gpu
            .attestation_cert_chain()
            .map_err(|e| no_gpu(e.to_string()))?;
        let chain_der =
            chain_to_der(&raw).map_err(|e| no_gpu(format!("its attestation chain: {e}")))?;
        Ok(NvidiaGpu { gpu, chain_der })
    }
}

impl SpdmResponder for NvidiaGpu {
    fn measure(&mut self, nonce: &[u8; NONCE_LEN]) -> Result<Vec<u8>, SpdmResponderError> {
        self.gpu
            .attestation_report(nonce)
            .map_err(|e| SpdmResponderError(e.to_string()))
    }

    fn chain_der(&self) -> Vec<u8> {
        self.chain_der.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::SimulatedGpu;

    #[test]
    fn pem_and_der_chains_become_der() {
        let gpu = SimulatedGpu::generate("nv-test").unwrap();
        let der = gpu.chain_der();
        let pem = crate::evidence::synthetic::to_pem(gpu.chain()).unwrap();
        let mut padded = pem.into_bytes();
        padded.extend_from_slice(&[0; 16]);
        assert_eq!(chain_to_der(&padded).unwrap(), der);
        assert_eq!(chain_to_der(&der).unwrap(), der);
        assert!(chain_to_der(b"junk").is_err());
    }

    #[test]
    fn without_a_gpu_open_is_no_gpu() {
        // No NVIDIA driver here or in CI; on a GPU machine this test has nothing to refuse.
        if let Err(e) = NvidiaGpu::open(0) {
            assert!(matches!(e, EvidenceError::NoGpu(_)), "{e}");
        }
    }
}
