//! The landmark's side of a round answered with SPDM evidence (DESIGN §2): the GPU's chain is
//! fetched once from its agent and verified against the landmark's X.509 roots (the chip id is
//! its leaf key's); then each round sends a fresh challenge, times it exactly like a lightcone
//! round, and accepts only a report that parses strictly, whose request nonce is
//! `challenge_nonce` of *this* challenge, and whose P-384 signature holds under the verified
//! leaf key. Only then does the landmark sign an `SpdmMeasurement` over it.
//!
//! Anything else is discarded and counted, never logged: a report over another nonce (a replay
//! of a recorded report, a late answer: [`DiscardReason::UnknownNonce`],
//! [`DiscardReason::LateNonce`], [`DiscardReason::Duplicate`]), a report signed by another key
//! (another GPU answering, or an agent handing out another GPU's chain:
//! [`DiscardReason::BadSignature`]), a report that does not parse
//! ([`DiscardReason::Undecodable`]), a report that does not ask for every measurement block
//! (a cheaper request could beat the endorsed minimum: [`DiscardReason::ChallengeMismatch`]).
//! The round then waits on for a valid answer until its
//! timeout, and the counts are in the [`SpdmProbeReport`] the CLI prints as a warning.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use lightcone::ecdsa::P384PublicKey;
use lightcone::evidence::spdm::{challenge_nonce, SpdmEvidence, OPERATION_ALL};
use lightcone::evidence::ModelEndorsement;
use lightcone::evidence::{SignedSpdmMeasurement, SpdmMeasurement};
use lightcone::wire::Bytes;
use lightcone::{Challenge, ChipId, Ed25519Signer, Nonce};
use sha2::{Digest as _, Sha256};

use super::{ProbeConfig, Prober};
use crate::evidence::chip_id_of_key;
use crate::evidence::gpu::{common_name, parse_der_chain};
use crate::evidence::x509::{verify_chain, Cert, ChainError};
use crate::net::discard::{DiscardCounts, DiscardReason};
use crate::net::error::NetError;
use crate::net::spdm_datagram::{SpdmDatagram, SPDM_DATAGRAM_LEN};
use crate::net::{duration_ns, unix_now_ns};

/// A GPU whose chain verified up to one of the landmark's X.509 roots.
#[derive(Clone, Debug)]
pub struct VerifiedGpu {
    /// The GPU's chip id: of its leaf key.
    pub chip_id: ChipId,
    /// The chain as the agent sent it (DER, leaf first): what the landmark logs.
    pub chain_der: Vec<u8>,
    /// The attestation key, which must sign every report.
    pub leaf_key: P384PublicKey,
    /// The leaf certificate's subject.
    pub leaf_subject: String,
    /// The name of the root it verified under.
    pub root_name: String,
    /// SHA-256 of that root's DER (what a registry endorsement names).
    pub root_sha256: [u8; 32],
    /// The leaf's common name (an endorsement matches on its prefix; empty if none).
    pub leaf_cn: String,
}

impl VerifiedGpu {
    /// Checks that `endorsement` is the registry's (`registry_key`), valid at `at_unix_s`, and
    /// applies to this GPU (its root and leaf common name): only such an endorsement is logged
    /// with the GPU's chain.
    pub fn check_endorsement(
        &self,
        endorsement: &ModelEndorsement,
        registry_key: &lightcone::PublicKey,
        at_unix_s: u64,
    ) -> Result<(), String> {
        let verified = endorsement
            .verify(registry_key, at_unix_s)
            .map_err(|e| format!("the model endorsement does not verify: {e}"))?;
        if !verified.matches(&self.root_sha256, &self.leaf_cn) {
            return Err(format!(
                "the endorsement of model {} is not for this GPU (root {}, leaf CN {:?})",
                verified.body.model.as_str(),
                self.root_name,
                self.leaf_cn
            ));
        }
        Ok(())
    }
}

/// Verifies a GPU's chain (DER, leaf first) at `at` (Unix seconds) against whichever of `roots`
/// it ends at (the chain's last certificate is that root, or names it as issuer).
pub fn verify_gpu_chain(
    chain_der: &[u8],
    roots: &[(String, Cert)],
    at: u64,
) -> Result<VerifiedGpu, ChainError> {
    let chain = parse_der_chain(chain_der)?;
    let mut last_error = ChainError::UntrustedRoot("no trusted X.509 root is configured".into());
    for (name, root) in roots {
        match verify_chain(&chain, root, at) {
            Ok(v) => {
                return Ok(VerifiedGpu {
                    chip_id: chip_id_of_key(&v.leaf_key),
                    chain_der: chain_der.to_vec(),
                    leaf_subject: v.leaf_subject().to_owned(),
                    leaf_key: v.leaf_key,
                    root_name: name.clone(),
                    root_sha256: Sha256::digest(root.der()).into(),
                    leaf_cn: chain.first().and_then(common_name).unwrap_or_default(),
                })
            }
            Err(e) => last_error = e,
        }
    }
    Err(last_error)
}

/// One round answered with a valid report: the landmark's signed measurement and the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpdmRound {
    /// The landmark's signed measurement (the report's SHA-256 inside).
    pub measurement: SignedSpdmMeasurement,
    /// The GPU's report, request ‖ response.
    pub report: Vec<u8>,
}

impl SpdmRound {
    /// The log record of this round, borrowing the report.
    pub fn record(&self) -> SpdmMeasurement<'_> {
        SpdmMeasurement {
            measurement: self.measurement,
            report: &self.report,
        }
    }
}

/// What one SPDM probe of one GPU did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpdmProbeReport {
    /// The GPU agent's address.
    pub addr: SocketAddr,
    /// The GPU.
    pub chip_id: ChipId,
    /// One per successful round.
    pub rounds_ok: Vec<SpdmRound>,
    /// The RTT of each successful round, ns (same order).
    pub rtts_ns: Vec<u64>,
    /// Rounds attempted.
    pub rounds: u32,
    /// Rounds that got no valid answer after all retries.
    pub failed_rounds: u32,
    /// Challenges that timed out.
    pub timeouts: u32,
    /// Retries sent.
    pub retries: u32,
    /// Sends or receives that failed.
    pub io_errors: u32,
    /// Datagrams discarded, by reason.
    pub discards: DiscardCounts,
}

impl SpdmProbeReport {
    /// The smallest RTT, ns.
    pub fn min_rtt_ns(&self) -> Option<u64> {
        self.rtts_ns.iter().copied().min()
    }

    /// Answers that were refused as evidence (wrong nonce, bad signature, unparsable): the
    /// count the landmark warns about.
    pub fn refused_evidence(&self) -> u64 {
        [
            DiscardReason::UnknownNonce,
            DiscardReason::LateNonce,
            DiscardReason::Duplicate,
            DiscardReason::BadSignature,
            DiscardReason::Undecodable,
            DiscardReason::ChallengeMismatch,
        ]
        .iter()
        .map(|r| self.discards.get(*r))
        .sum()
    }
}

/// What waiting for one SPDM answer ended with.
enum SpdmWait {
    Answered(Vec<u8>, Instant),
    TimedOut,
}

/// The derived nonce of `challenge`, as the prober's nonce sets hold it: SHA-256 outputs and
/// the landmark's random nonces are distinct 32-byte values, so one set can hold both.
fn derived(challenge: &Challenge) -> Option<Nonce> {
    challenge_nonce(challenge).ok().map(|n| Nonce(Bytes(n)))
}

impl<S: Ed25519Signer> Prober<S> {
    /// Classifies a received datagram against the current SPDM challenge (module docs).
    fn check_spdm(
        &self,
        n: usize,
        from: SocketAddr,
        expected_from: SocketAddr,
        expected_nonce: &Nonce,
        gpu: &VerifiedGpu,
    ) -> Result<Vec<u8>, DiscardReason> {
        if from != expected_from {
            return Err(DiscardReason::WrongSource);
        }
        if n > SPDM_DATAGRAM_LEN {
            return Err(DiscardReason::Oversized);
        }
        let bytes = self.buf.get(..n).ok_or(DiscardReason::Oversized)?;
        let report = match SpdmDatagram::decode(bytes).map_err(|e| e.reason())? {
            SpdmDatagram::Report(r) => r,
            _ => return Err(DiscardReason::UnexpectedType),
        };
        let evidence =
            SpdmEvidence::parse_concatenated(report).map_err(|_| DiscardReason::Undecodable)?;
        // Endorsed minimums are measured for a report of every block; a cheaper request (a
        // count, one block) could be answered faster, and the audit refuses it (blaming the
        // landmark that signed it), so the landmark never signs one.
        if evidence.request().operation() != OPERATION_ALL {
            return Err(DiscardReason::ChallengeMismatch);
        }
        let nonce = Nonce(Bytes(*evidence.request().nonce()));
        if nonce != *expected_nonce || self.answered.contains(&nonce) {
            return Err(if self.answered.contains(&nonce) {
                DiscardReason::Duplicate
            } else if self.issued.contains(&nonce) {
                DiscardReason::LateNonce
            } else {
                DiscardReason::UnknownNonce
            });
        }
        evidence
            .verify_signature(&gpu.leaf_key)
            .map_err(|_| DiscardReason::BadSignature)?;
        Ok(report.to_vec())
    }

    /// Sends the SPDM challenge and waits for its valid answer, counting everything else.
    fn exchange_spdm(
        &mut self,
        addr: SocketAddr,
        challenge: &Challenge,
        gpu: &VerifiedGpu,
        timeout: Duration,
        report: &mut SpdmProbeReport,
    ) -> (SpdmWait, Instant) {
        let (Some(nonce), Ok(datagram)) = (
            derived(challenge),
            SpdmDatagram::Challenge(*challenge).to_vec(),
        ) else {
            report.io_errors = report.io_errors.saturating_add(1);
            return (SpdmWait::TimedOut, Instant::now());
        };
        self.remember(nonce);
        let sent = Instant::now();
        if self.socket.send_to(&datagram, addr).is_err() {
            report.io_errors = report.io_errors.saturating_add(1);
        }
        let deadline = sent + timeout;
        loop {
            match self.recv_until(deadline) {
                Ok(Some((n, from, at))) => match self.check_spdm(n, from, addr, &nonce, gpu) {
                    Ok(bytes) => return (SpdmWait::Answered(bytes, at), sent),
                    Err(reason) => report.discards.add(reason),
                },
                Ok(None) => return (SpdmWait::TimedOut, sent),
                Err(_) => {
                    report.io_errors = report.io_errors.saturating_add(1);
                    std::thread::sleep(
                        Duration::from_millis(1)
                            .min(deadline.saturating_duration_since(Instant::now())),
                    );
                }
            }
        }
    }

    /// Measures `config.rounds` rounds against the GPU agent at `addr`, whose chain `gpu` is.
    /// Never fails: every problem is counted in the report.
    pub fn probe_spdm(
        &mut self,
        addr: SocketAddr,
        gpu: &VerifiedGpu,
        config: &ProbeConfig,
    ) -> SpdmProbeReport {
        let mut report = SpdmProbeReport {
            addr,
            chip_id: gpu.chip_id,
            rounds_ok: Vec::new(),
            rtts_ns: Vec::new(),
            rounds: 0,
            failed_rounds: 0,
            timeouts: 0,
            retries: 0,
            io_errors: 0,
            discards: DiscardCounts::default(),
        };
        for round in 0..config.rounds {
            if round > 0 && !config.interval.is_zero() {
                std::thread::sleep(config.interval);
            }
            report.rounds = report.rounds.saturating_add(1);
            if !self.spdm_round(addr, gpu, config, &mut report) {
                report.failed_rounds = report.failed_rounds.saturating_add(1);
            }
        }
        report
    }

    /// One round with its retries; whether it got a valid, signed answer.
    fn spdm_round(
        &mut self,
        addr: SocketAddr,
        gpu: &VerifiedGpu,
        config: &ProbeConfig,
        report: &mut SpdmProbeReport,
    ) -> bool {
        for attempt in 0..=config.retries {
            if attempt > 0 {
                report.retries = report.retries.saturating_add(1);
            }
            let Ok(challenge) = self.landmark.challenge(gpu.chip_id, &mut rand_core::OsRng) else {
                report.io_errors = report.io_errors.saturating_add(1);
                continue;
            };
            let sent_at_ns = unix_now_ns();
            match self.exchange_spdm(addr, &challenge, gpu, config.timeout, report) {
                (SpdmWait::Answered(bytes, at), sent) => {
                    if let Some(n) = derived(&challenge) {
                        self.answered.insert(n);
                    }
                    let rtt_ns = duration_ns(at.saturating_duration_since(sent));
                    match self
                        .landmark
                        .measure_spdm(challenge, &bytes, rtt_ns, sent_at_ns)
                    {
                        Ok(m) => {
                            let measurement = m.measurement;
                            report.rounds_ok.push(SpdmRound {
                                measurement,
                                report: bytes,
                            });
                            report.rtts_ns.push(rtt_ns);
                        }
                        Err(_) => report.discards.add(DiscardReason::SignerFailed),
                    }
                    return true;
                }
                (SpdmWait::TimedOut, _) => report.timeouts = report.timeouts.saturating_add(1),
            }
        }
        false
    }

    /// Asks the agent at `addr` for its GPU's chain and verifies it against `roots` at
    /// `at_unix_s`; retries up to `attempts` times, waiting `timeout` for each. Chains that do
    /// not verify are counted as [`DiscardReason::BadCertificate`] and ignored.
    pub fn fetch_gpu_chain(
        &mut self,
        addr: SocketAddr,
        roots: &[(String, Cert)],
        at_unix_s: u64,
        timeout: Duration,
        attempts: u32,
        discards: &mut DiscardCounts,
    ) -> Result<VerifiedGpu, NetError> {
        let Ok(request) = SpdmDatagram::ChainRequest.to_vec() else {
            return Err(NetError::NoChain { addr, attempts: 0 });
        };
        for _ in 0..attempts.max(1) {
            // A failed send shows up as a timeout below.
            let _ = self.socket.send_to(&request, addr);
            let deadline = Instant::now() + timeout;
            loop {
                match self.recv_until(deadline) {
                    Ok(Some((n, from, _))) => {
                        if from != addr {
                            discards.add(DiscardReason::WrongSource);
                            continue;
                        }
                        let bytes = self.buf.get(..n).unwrap_or(&[]);
                        match SpdmDatagram::decode(bytes) {
                            Ok(SpdmDatagram::ChainReply(chain)) => {
                                match verify_gpu_chain(chain, roots, at_unix_s) {
                                    Ok(v) => return Ok(v),
                                    Err(_) => discards.add(DiscardReason::BadCertificate),
                                }
                            }
                            Ok(_) => discards.add(DiscardReason::UnexpectedType),
                            Err(e) => discards.add(e.reason()),
                        }
                    }
                    Ok(None) => break,
                    Err(_) => std::thread::sleep(Duration::from_millis(1)),
                }
            }
        }
        Err(NetError::NoChain {
            addr,
            attempts: attempts.max(1),
        })
    }
}
