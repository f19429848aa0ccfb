//! `lightcone-nvidia`: a real NVIDIA GPU's attestation through NVML, for lightcone's chip agent.
//!
//! NVML (`libnvidia-ml.so.1`, part of the NVIDIA driver) is loaded at run time, so this crate
//! builds and its users test on machines without NVIDIA software; there, [`Gpu::open`] fails
//! with [`NvmlError::LibraryMissing`]. On a machine with the driver and a GPU in confidential
//! computing mode (Hopper, Blackwell):
//!
//! - [`Gpu::attestation_report`] hands NVML a 32-byte nonce and returns what the GPU signed: the
//!   SPDM 1.1 `GET_MEASUREMENTS` request carrying that nonce, followed by the signed
//!   `MEASUREMENTS` response (`nvmlDeviceGetConfComputeGpuAttestationReport`);
//! - [`Gpu::attestation_cert_chain`] returns the attestation key's certificate chain as the
//!   driver gives it (`nvmlDeviceGetConfComputeGpuCertificate`, `attestationCertChain`).
//!
//! Every `unsafe` block is in the private `ffi` module, each with its `SAFETY` argument; the
//! API here is safe. Nothing here checks a report or a chain: the landmark does.
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

mod ffi;

/// Length of the nonce NVML takes.
pub const NONCE_LEN: usize = ffi::NONCE_SIZE;
/// The shared library loaded.
pub const LIBRARY: &str = "libnvidia-ml.so.1";

/// Why NVML gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NvmlError {
    /// The NVIDIA driver's NVML library is not on this machine (or not loadable).
    #[error("NVML ({LIBRARY}) could not be loaded: {0}; is the NVIDIA driver installed?")]
    LibraryMissing(String),
    /// The library lacks a function this crate needs (a driver too old for confidential
    /// computing attestation).
    #[error("NVML has no {0}: the NVIDIA driver is too old for GPU attestation")]
    MissingSymbol(&'static str),
    /// An NVML call returned an error code.
    #[error("{call} failed: {message} (NVML error {code})")]
    Call {
        /// The function.
        call: &'static str,
        /// NVML's return code.
        code: i32,
        /// NVML's text for it.
        message: String,
    },
    /// NVML returned a size larger than its own buffer.
    #[error("{0}: NVML returned a size past its buffer")]
    BadSize(&'static str),
}

impl NvmlError {
    /// Whether the error says this machine has no usable NVIDIA GPU at all (no library, a
    /// driver without attestation, no device at that index, no GPU), as opposed to a GPU
    /// that failed one request.
    pub fn is_no_gpu(&self) -> bool {
        match self {
            NvmlError::LibraryMissing(_) | NvmlError::MissingSymbol(_) => true,
            NvmlError::Call { call, .. } => *call != ffi::ATTESTATION_REPORT,
            NvmlError::BadSize(_) => false,
        }
    }
}

/// One GPU, opened through NVML (initialised on open, shut down on drop).
pub struct Gpu {
    nvml: ffi::Nvml,
    device: ffi::Device,
    index: u32,
}

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gpu").field("index", &self.index).finish()
    }
}

impl Gpu {
    /// Loads NVML, initialises it, and opens the GPU at `index` (as `nvidia-smi` numbers them).
    pub fn open(index: u32) -> Result<Self, NvmlError> {
        let nvml = ffi::Nvml::load()?;
        let device = nvml.device_by_index(index)?;
        Ok(Gpu {
            nvml,
            device,
            index,
        })
    }

    /// The index it was opened at.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The GPU's SPDM report over `nonce`: request ‖ signed response, as the driver returns it.
    pub fn attestation_report(&self, nonce: &[u8; NONCE_LEN]) -> Result<Vec<u8>, NvmlError> {
        self.nvml.attestation_report(&self.device, nonce)
    }

    /// The attestation key's certificate chain, as the driver returns it (PEM or DER,
    /// leaf first).
    pub fn attestation_cert_chain(&self) -> Result<Vec<u8>, NvmlError> {
        self.nvml.attestation_cert_chain(&self.device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn struct_layouts_match_nvml_h() {
        // nvml.h: three unsigned ints, a 32-byte nonce, 8 KiB report, 4 KiB CEC report.
        assert_eq!(ffi::report_struct_size(), 12 + 32 + 0x2000 + 0x1000);
        // Two unsigned ints, a 4 KiB chain, a 5 KiB attestation chain.
        assert_eq!(ffi::certificate_struct_size(), 8 + 0x1000 + 0x1400);
    }

    #[test]
    fn without_the_driver_open_says_so() {
        // This machine (and CI) has no NVIDIA driver: a clear error, never a crash. On a GPU
        // machine the test instead checks that the GPU opens.
        match Gpu::open(0) {
            Err(e) => {
                assert!(e.is_no_gpu(), "{e}");
                assert!(!e.to_string().is_empty());
            }
            Ok(gpu) => assert_eq!(gpu.index(), 0),
        }
    }

    #[test]
    fn a_missing_library_is_a_clear_error() {
        let e = ffi::Nvml::load_from("libdoes-not-exist-lightcone.so.1").err();
        assert!(matches!(e, Some(NvmlError::LibraryMissing(_))));
        assert!(e.is_some_and(|e| e.to_string().contains("NVIDIA driver")));
    }
}
