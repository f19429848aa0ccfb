//! What answers an SPDM measurement request on a chip agent: a real GPU (through NVML, crate
//! `lightcone-nvidia`) or a [`SimulatedGpu`](super::simulated::SimulatedGpu).

use lightcone::evidence::spdm::NONCE_LEN;

/// Why a responder gave no report (the GPU refused, the driver failed, a signing error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SpdmResponderError(pub String);

/// A device that signs SPDM 1.1 measurement reports with an attestation key under an X.509
/// chain.
pub trait SpdmResponder {
    /// One report for the requester nonce `nonce`: the `GET_MEASUREMENTS` request followed by
    /// the signed `MEASUREMENTS` response, as NVIDIA's tools record it.
    fn measure(&mut self, nonce: &[u8; NONCE_LEN]) -> Result<Vec<u8>, SpdmResponderError>;

    /// The attestation key's certificate chain: DER certificates concatenated, leaf first.
    fn chain_der(&self) -> Vec<u8>;
}

impl<R: SpdmResponder + ?Sized> SpdmResponder for Box<R> {
    fn measure(&mut self, nonce: &[u8; NONCE_LEN]) -> Result<Vec<u8>, SpdmResponderError> {
        (**self).measure(nonce)
    }

    fn chain_der(&self) -> Vec<u8> {
        (**self).chain_der()
    }
}
