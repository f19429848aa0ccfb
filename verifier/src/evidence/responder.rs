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

/// How long a responder took to answer, over several rounds, in ns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AnswerTimes {
    /// Rounds timed.
    pub rounds: usize,
    /// The fastest answer.
    pub min_ns: u64,
    /// The median (the lower middle for an even count).
    pub median_ns: u64,
    /// The 90th percentile (nearest rank).
    pub p90_ns: u64,
    /// The slowest answer.
    pub max_ns: u64,
}

impl AnswerTimes {
    /// The summary of `times` (ns); `None` if there are none.
    pub fn of(times: &[u64]) -> Option<Self> {
        let mut sorted = times.to_vec();
        sorted.sort_unstable();
        let n = sorted.len();
        let rank = |p: usize| -> Option<u64> {
            // Nearest rank: the smallest value with at least p% of the values at or below it.
            let r = (n.checked_mul(p)?).div_ceil(100).max(1);
            sorted.get(r.checked_sub(1)?).copied()
        };
        Some(AnswerTimes {
            rounds: n,
            min_ns: *sorted.first()?,
            median_ns: *sorted.get(n.checked_sub(1)? / 2)?,
            p90_ns: rank(90)?,
            max_ns: *sorted.last()?,
        })
    }
}

/// Asks `responder` for one report over a fresh random nonce and checks it against the leaf
/// key of the responder's own chain: it parses, carries the nonce, and its signature holds.
/// An agent runs this before serving, so a GPU whose chain is not its own never starts.
pub fn self_check<R: SpdmResponder + ?Sized>(responder: &mut R) -> Result<(), SpdmResponderError> {
    use rand_core::RngCore as _;
    let fail = |why: String| SpdmResponderError(format!("self-check: {why}"));
    let chain = super::gpu::parse_der_chain(&responder.chain_der())
        .map_err(|e| fail(format!("the chain: {e}")))?;
    let leaf = chain.first().ok_or_else(|| fail("an empty chain".into()))?;
    let key = super::x509::p384_key_of(leaf, 0).map_err(|e| fail(format!("the leaf: {e}")))?;
    let mut nonce = [0u8; NONCE_LEN];
    rand_core::OsRng.fill_bytes(&mut nonce);
    let report = responder.measure(&nonce)?;
    let evidence = lightcone::evidence::spdm::SpdmEvidence::parse_concatenated(&report)
        .map_err(|e| fail(format!("the report does not parse: {e}")))?;
    if evidence.request().operation() != lightcone::evidence::spdm::OPERATION_ALL {
        return Err(fail(
            "the report does not hold every measurement block, and landmarks refuse it".into(),
        ));
    }
    evidence.verify(&key, &nonce).map_err(|e| {
        fail(format!(
            "the report is not signed by the chain's leaf key: {e}"
        ))
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_times() {
        assert_eq!(AnswerTimes::of(&[]), None);
        let one = AnswerTimes::of(&[5]).unwrap();
        assert_eq!(
            (one.min_ns, one.median_ns, one.p90_ns, one.max_ns),
            (5, 5, 5, 5)
        );
        let times: Vec<u64> = (1..=10).rev().collect();
        let t = AnswerTimes::of(&times).unwrap();
        assert_eq!(
            (t.rounds, t.min_ns, t.median_ns, t.p90_ns, t.max_ns),
            (10, 1, 5, 9, 10)
        );
        let t = AnswerTimes::of(&(1..=100).collect::<Vec<u64>>()).unwrap();
        assert_eq!((t.median_ns, t.p90_ns), (50, 90));
    }

    #[test]
    fn self_check_refuses_a_gpu_with_another_chain() {
        let mut gpu = super::super::SimulatedGpu::generate("a").unwrap();
        assert!(self_check(&mut gpu).is_ok());
        struct Liar(super::super::SimulatedGpu, Vec<u8>);
        impl SpdmResponder for Liar {
            fn measure(&mut self, n: &[u8; NONCE_LEN]) -> Result<Vec<u8>, SpdmResponderError> {
                self.0.measure(n)
            }
            fn chain_der(&self) -> Vec<u8> {
                self.1.clone()
            }
        }
        let other = super::super::SimulatedGpu::generate("b")
            .unwrap()
            .chain_der();
        assert!(self_check(&mut Liar(gpu, other)).is_err());
    }
}
