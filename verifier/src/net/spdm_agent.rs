//! The chip agent of a GPU that answers with SPDM evidence: it receives a landmark's
//! challenge, asks its [`SpdmResponder`] (a real GPU through NVML, or a simulated one) for a
//! signed measurement report over `nonce = challenge_nonce(challenge)`, and sends the report
//! back; on request it hands out the GPU's certificate chain. It holds no key and judges
//! nothing: the landmark checks the report, the nonce, the signature and the chain.
//!
//! Like the lightcone agent ([`super::chip_agent`]) it never sends more than it received
//! (requests are padded to the largest reply, [`super::spdm_datagram`]), answers only
//! challenges for its own chip id, rate-limits the challenges it would answer (each costs the
//! GPU a signature), and counts every datagram it discards.

use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use lightcone::evidence::spdm::challenge_nonce;
use lightcone::ChipId;

use super::chip_agent::{AgentCounters, AgentHandle, POLL_INTERVAL};
use super::discard::DiscardReason;
use super::error::NetError;
use super::rate::{RateLimiter, RateLimits};
use super::spdm_datagram::{SpdmDatagram, SPDM_DATAGRAM_LEN, SPDM_PAYLOAD_MAX, TAG_CHAIN_REPLY};
use crate::evidence::{chip_id_of_chain, SpdmResponder};

/// What the agent sends back for one datagram.
enum Reply {
    Report(Vec<u8>),
    Chain,
}

/// Answers SPDM challenges for one GPU on one UDP socket.
pub struct SpdmAgent<R: SpdmResponder> {
    socket: UdpSocket,
    responder: R,
    chip_id: ChipId,
    chain_reply: Vec<u8>,
    counters: Arc<AgentCounters>,
    limiter: RateLimiter,
}

impl<R: SpdmResponder> SpdmAgent<R> {
    /// Binds `addr` and answers for the GPU `responder` speaks to. Its chip id is that of the
    /// leaf key of its chain; a chain that does not parse, or is over [`SPDM_PAYLOAD_MAX`]
    /// bytes, is refused here (the agent could not hand it out).
    pub fn bind(addr: impl ToSocketAddrs, responder: R) -> Result<Self, NetError> {
        let chain = responder.chain_der();
        let bad = |reason: String| NetError::Config {
            path: "the GPU's certificate chain".into(),
            reason,
        };
        let chip_id = chip_id_of_chain(&chain).map_err(|e| bad(e.to_string()))?;
        let chain_reply = SpdmDatagram::ChainReply(&chain)
            .to_vec()
            .map_err(|_| bad(format!("{} bytes, over {SPDM_PAYLOAD_MAX}", chain.len())))?;
        let socket =
            UdpSocket::bind(addr).map_err(|e| NetError::io("binding the GPU agent socket", e))?;
        socket
            .set_read_timeout(Some(POLL_INTERVAL))
            .map_err(|e| NetError::io("setting the read timeout", e))?;
        Ok(SpdmAgent {
            socket,
            responder,
            chip_id,
            chain_reply,
            counters: Arc::new(AgentCounters::default()),
            limiter: RateLimiter::new(RateLimits::default()),
        })
    }

    /// Replaces the default [`RateLimits`].
    pub fn with_rate_limits(mut self, limits: RateLimits) -> Self {
        self.limiter = RateLimiter::new(limits);
        self
    }

    /// The GPU's chip id (of its chain's leaf key).
    pub fn chip_id(&self) -> ChipId {
        self.chip_id
    }

    /// The bound address.
    pub fn local_addr(&self) -> Result<SocketAddr, NetError> {
        self.socket
            .local_addr()
            .map_err(|e| NetError::io("reading the agent's address", e))
    }

    /// The agent's counters.
    pub fn counters(&self) -> Arc<AgentCounters> {
        Arc::clone(&self.counters)
    }

    /// Handles one datagram from `from` (`None`: no rate limit, for tests and fuzzers) and
    /// returns the reply's bytes, or why it is discarded. Never panics.
    pub fn handle(
        &mut self,
        datagram: &[u8],
        from: Option<SocketAddr>,
        received: Instant,
    ) -> Result<Vec<u8>, DiscardReason> {
        match self.reply(datagram, from, received)? {
            Reply::Report(bytes) => Ok(bytes),
            Reply::Chain => Ok(self.chain_reply.clone()),
        }
    }

    fn reply(
        &mut self,
        datagram: &[u8],
        from: Option<SocketAddr>,
        received: Instant,
    ) -> Result<Reply, DiscardReason> {
        match SpdmDatagram::decode(datagram).map_err(|e| e.reason())? {
            SpdmDatagram::Challenge(challenge) => {
                if challenge.chip_id != self.chip_id {
                    return Err(DiscardReason::WrongChip);
                }
                if let Some(from) = from {
                    self.limiter.allow(from, received)?;
                }
                let nonce = challenge_nonce(&challenge).map_err(|_| DiscardReason::Undecodable)?;
                let report = self
                    .responder
                    .measure(&nonce)
                    .map_err(|_| DiscardReason::SignerFailed)?;
                SpdmDatagram::Report(&report)
                    .to_vec()
                    .map(Reply::Report)
                    .map_err(|_| DiscardReason::SignerFailed)
            }
            SpdmDatagram::ChainRequest => Ok(Reply::Chain),
            SpdmDatagram::Report(_) | SpdmDatagram::ChainReply(_) => {
                Err(DiscardReason::UnexpectedType)
            }
        }
    }

    /// Serves until `stop` is set: receives, handles, replies to the sender. Socket errors are
    /// counted and survived; the stop flag is checked at least every [`POLL_INTERVAL`].
    pub fn serve(&mut self, stop: &AtomicBool) {
        let mut buf = vec![0u8; SPDM_DATAGRAM_LEN + 1];
        while !stop.load(Ordering::Relaxed) {
            let (n, from) = match self.socket.recv_from(&mut buf) {
                Ok(got) => got,
                Err(e) if super::is_idle(&e) => continue,
                Err(_) => {
                    self.counters.io_errors.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
            };
            let received = Instant::now();
            let datagram = buf.get(..n).unwrap_or(&[]);
            match self.handle(datagram, Some(from), received) {
                Ok(reply) => {
                    if self.socket.send_to(&reply, from).is_err() {
                        self.counters.io_errors.fetch_add(1, Ordering::Relaxed);
                    } else if reply.first() == Some(&TAG_CHAIN_REPLY) {
                        self.counters.certificates.fetch_add(1, Ordering::Relaxed);
                    } else {
                        self.counters.answered.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Err(reason) => self.counters.discarded.add(reason),
            }
        }
    }
}

impl<R: SpdmResponder + Send + 'static> SpdmAgent<R> {
    /// Runs the agent on its own thread until the handle is shut down or dropped.
    pub fn spawn(mut self) -> Result<AgentHandle, NetError> {
        let addr = self.local_addr()?;
        let chip_id = self.chip_id;
        let counters = self.counters();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name(format!("gpu-agent-{addr}"))
            .stack_size(256 * 1024)
            .spawn(move || self.serve(&flag))
            .map_err(|e| NetError::io("spawning the GPU agent thread", e))?;
        Ok(AgentHandle::new(addr, chip_id, counters, stop, thread))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::SimulatedGpu;
    use lightcone::evidence::spdm::SpdmEvidence;

    fn challenge(chip_id: ChipId) -> lightcone::Challenge {
        lightcone::Challenge {
            version: lightcone::PROTOCOL_VERSION,
            landmark_id: lightcone::LandmarkId::from([1; 16]),
            chip_id,
            nonce: lightcone::Nonce(lightcone::wire::Bytes([3; 32])),
        }
    }

    #[test]
    fn answers_its_own_challenges_and_refuses_the_rest() {
        let gpu = SimulatedGpu::generate("agent-test").unwrap();
        let chain = gpu.chain_der();
        let mut agent = SpdmAgent::bind("127.0.0.1:0", gpu).unwrap();
        let now = Instant::now();
        let c = challenge(agent.chip_id());
        let reply = agent
            .handle(&SpdmDatagram::Challenge(c).to_vec().unwrap(), None, now)
            .unwrap();
        let Ok(SpdmDatagram::Report(report)) = SpdmDatagram::decode(&reply) else {
            panic!("not a report");
        };
        let evidence = SpdmEvidence::parse_concatenated(report).unwrap();
        assert_eq!(evidence.request().nonce(), &challenge_nonce(&c).unwrap());
        let got = agent
            .handle(&SpdmDatagram::ChainRequest.to_vec().unwrap(), None, now)
            .unwrap();
        assert_eq!(
            SpdmDatagram::decode(&got),
            Ok(SpdmDatagram::ChainReply(&chain))
        );
        // Never more out than in.
        assert!(reply.len() <= SPDM_DATAGRAM_LEN && got.len() <= SPDM_DATAGRAM_LEN);
        let other = challenge(ChipId::from([9; 16]));
        let wrong = SpdmDatagram::Challenge(other).to_vec().unwrap();
        assert_eq!(
            agent.handle(&wrong, None, now).err(),
            Some(DiscardReason::WrongChip)
        );
        let mut truncated = SpdmDatagram::Challenge(c).to_vec().unwrap();
        truncated.truncate(100);
        assert_eq!(
            agent.handle(&truncated, None, now).err(),
            Some(DiscardReason::Undecodable)
        );
        assert_eq!(
            agent.handle(&reply, None, now).err(),
            Some(DiscardReason::UnexpectedType)
        );
        assert_eq!(
            agent.handle(&vec![0u8; 9000], None, now).err(),
            Some(DiscardReason::Oversized)
        );
    }
}
