//! The chip agent: the host-side process that answers challenges for one chip over UDP.
//!
//! It holds a [`Responder`] (any [`Signer`]: a software key here, a chip's crypto engine in
//! production) and answers only well-formed challenges addressed to its own chip id; anything
//! else is a counted discard and the agent keeps serving. It also answers certificate requests
//! with its device certificate, which the landmark verifies against its own trust roots.
//!
//! An agent cannot be turned into a weapon: no datagram it sends is larger than the one it
//! answers (challenges and certificate requests are padded to the largest reply, see
//! [`super::datagram`]), and challenges it would answer are rate-limited per source and in all
//! ([`super::rate`]), each refusal a counted discard, since every answer costs the chip a
//! signature and a counter step.
//!
//! Landmarks run agents too, with their landmark key and no certificate, so that landmarks can
//! measure each other (`ChipId::of(key)` has the same bytes as the `LandmarkId`).
//!
//! Many agents fit in one process: [`ChipAgent::spawn`] runs one on its own thread and returns
//! an [`AgentHandle`] that stops it cleanly.

use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lightcone::{
    ChipId, DeviceCertificate, MonotonicCounter, RamCounter, Responder, Signer, Wire as _,
};

use super::datagram::{
    challenge_in, is_cert_request_padding, split_tag, Datagram, MAX_DATAGRAM, TAG_CERT_REPLY,
    TAG_CERT_REQUEST, TAG_CHALLENGE,
};
use super::discard::{AtomicDiscardCounts, DiscardCounts, DiscardReason};
use super::error::NetError;
use super::rate::{RateLimiter, RateLimits};
use super::{duration_ns, unix_now_ns};

/// How often a serving agent checks its stop flag.
pub const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// An agent's counters, shared with whoever holds its [`AgentHandle`].
#[derive(Debug, Default)]
pub struct AgentCounters {
    /// Challenges answered.
    pub answered: AtomicU64,
    /// Certificate requests answered.
    pub certificates: AtomicU64,
    /// Socket errors survived (receive or send).
    pub io_errors: AtomicU64,
    /// Datagrams discarded, by reason.
    pub discarded: AtomicDiscardCounts,
}

impl AgentCounters {
    /// Challenges answered so far.
    pub fn answered(&self) -> u64 {
        self.answered.load(Ordering::Relaxed)
    }

    /// Discards so far, by reason.
    pub fn discards(&self) -> DiscardCounts {
        self.discarded.snapshot()
    }
}

/// Answers challenges for one chip on one UDP socket.
pub struct ChipAgent<S: Signer, C: MonotonicCounter = RamCounter> {
    socket: UdpSocket,
    responder: Responder<S, C>,
    certificate: Option<DeviceCertificate>,
    counters: Arc<AgentCounters>,
    limiter: RateLimiter,
}

impl<S: Signer> ChipAgent<S, RamCounter> {
    /// Binds `addr` (use port 0 for an ephemeral port) and answers for the chip whose key
    /// `signer` holds. `certificate`, if given, must certify that key; it is sent to landmarks
    /// that ask for it.
    ///
    /// The response counter starts after the current Unix time in microseconds, so it keeps
    /// increasing across restarts without stored state (as long as the agent answers fewer than
    /// a million challenges a second and the clock does not go back). Use
    /// [`ChipAgent::with_counter`] to supply a persisted counter instead.
    pub fn bind(
        addr: impl ToSocketAddrs,
        signer: S,
        certificate: Option<DeviceCertificate>,
    ) -> Result<Self, NetError> {
        let counter = RamCounter::starting_after(unix_now_ns() / 1_000);
        Self::with_counter(addr, signer, counter, certificate)
    }
}

impl<S: Signer, C: MonotonicCounter> ChipAgent<S, C> {
    /// Like [`ChipAgent::bind`], with an explicit response counter.
    pub fn with_counter(
        addr: impl ToSocketAddrs,
        signer: S,
        counter: C,
        certificate: Option<DeviceCertificate>,
    ) -> Result<Self, NetError> {
        if let Some(cert) = &certificate {
            if cert.body.device_key != signer.public_key().into() {
                return Err(NetError::KeyMismatch(format!(
                    "the certificate is for chip {}, the key is chip {}",
                    cert.body.chip_id,
                    ChipId::of(&signer.public_key())
                )));
            }
        }
        let socket =
            UdpSocket::bind(addr).map_err(|e| NetError::io("binding the chip agent socket", e))?;
        socket
            .set_read_timeout(Some(POLL_INTERVAL))
            .map_err(|e| NetError::io("setting the read timeout", e))?;
        Ok(ChipAgent {
            socket,
            responder: Responder::new(signer, counter),
            certificate,
            counters: Arc::new(AgentCounters::default()),
            limiter: RateLimiter::new(RateLimits::default()),
        })
    }

    /// Replaces the default [`RateLimits`].
    pub fn with_rate_limits(mut self, limits: RateLimits) -> Self {
        self.limiter = RateLimiter::new(limits);
        self
    }

    /// The chip this agent answers for.
    pub fn chip_id(&self) -> ChipId {
        self.responder.chip_id()
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

    /// Handles one received datagram (`received` is when it arrived) and writes the reply into
    /// `out` (at least [`MAX_DATAGRAM`] bytes), returning its length; or says why the datagram
    /// is discarded. Pure of I/O, so tests and fuzzers can drive it directly; it never panics.
    /// No rate limit applies (see [`ChipAgent::handle_from`]).
    pub fn handle(
        &mut self,
        datagram: &[u8],
        received: Instant,
        out: &mut [u8],
    ) -> Result<usize, DiscardReason> {
        self.handle_limited(datagram, None, received, out)
    }

    /// [`ChipAgent::handle`] for a datagram from `from`, under the agent's rate limits: a
    /// challenge it would answer takes a token of `from`'s bucket and of the total one, or is
    /// discarded as [`DiscardReason::RateLimited`] or [`DiscardReason::Overloaded`].
    pub fn handle_from(
        &mut self,
        datagram: &[u8],
        from: SocketAddr,
        received: Instant,
        out: &mut [u8],
    ) -> Result<usize, DiscardReason> {
        self.handle_limited(datagram, Some(from), received, out)
    }

    fn handle_limited(
        &mut self,
        datagram: &[u8],
        from: Option<SocketAddr>,
        received: Instant,
        out: &mut [u8],
    ) -> Result<usize, DiscardReason> {
        let (tag, body) = split_tag(datagram).map_err(|e| e.reason())?;
        match tag {
            TAG_CHALLENGE => {
                let challenge = challenge_in(body).ok_or(DiscardReason::Undecodable)?;
                if let Some(from) = from {
                    // Only a challenge that would be answered costs a token.
                    let decoded = lightcone::Challenge::decode(challenge)
                        .map_err(|_| DiscardReason::Undecodable)?;
                    if decoded.chip_id != self.chip_id() {
                        return Err(DiscardReason::WrongChip);
                    }
                    self.limiter.allow(from, received)?;
                }
                let (head, rest) = out.split_first_mut().ok_or(DiscardReason::SignerFailed)?;
                let processing = || duration_ns(received.elapsed());
                match self.responder.respond(challenge, processing, rest) {
                    Ok(n) => {
                        *head = super::datagram::TAG_RESPONSE;
                        Ok(n.saturating_add(1))
                    }
                    Err(lightcone::Error::WrongChip) => Err(DiscardReason::WrongChip),
                    Err(
                        lightcone::Error::Malformed
                        | lightcone::Error::NonCanonical
                        | lightcone::Error::TrailingBytes
                        | lightcone::Error::UnsupportedVersion,
                    ) => Err(DiscardReason::Undecodable),
                    Err(_) => Err(DiscardReason::SignerFailed),
                }
            }
            TAG_CERT_REQUEST if is_cert_request_padding(body) => {
                let cert = self.certificate.ok_or(DiscardReason::UnexpectedType)?;
                let n = Datagram::CertificateReply(cert)
                    .encode(out)
                    .map_err(|_| DiscardReason::SignerFailed)?;
                Ok(n)
            }
            TAG_CERT_REQUEST => Err(DiscardReason::Undecodable),
            _ => match Datagram::decode(datagram) {
                Ok(_) => Err(DiscardReason::UnexpectedType),
                Err(e) => Err(e.reason()),
            },
        }
    }

    /// Serves until `stop` is set: receives, handles, replies to the sender. Socket errors are
    /// counted and survived; the stop flag is checked at least every [`POLL_INTERVAL`].
    pub fn serve(&mut self, stop: &AtomicBool) {
        let mut buf = [0u8; MAX_DATAGRAM + 1];
        let mut out = [0u8; MAX_DATAGRAM];
        while !stop.load(Ordering::Relaxed) {
            let (n, from) = match self.socket.recv_from(&mut buf) {
                Ok(got) => got,
                Err(e) if super::is_idle(&e) => continue,
                Err(_) => {
                    // E.g. ICMP errors from an earlier reply; never fatal.
                    self.counters.io_errors.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
            };
            let received = Instant::now();
            let datagram = buf.get(..n).unwrap_or(&[]);
            match self.handle_from(datagram, from, received, &mut out) {
                Ok(len) => {
                    let reply = out.get(..len).unwrap_or(&[]);
                    if self.socket.send_to(reply, from).is_err() {
                        self.counters.io_errors.fetch_add(1, Ordering::Relaxed);
                    } else if reply.first() == Some(&TAG_CERT_REPLY) {
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

impl<S: Signer + Send + 'static, C: MonotonicCounter + Send + 'static> ChipAgent<S, C> {
    /// Runs the agent on its own thread until the handle is shut down or dropped.
    pub fn spawn(mut self) -> Result<AgentHandle, NetError> {
        let addr = self.local_addr()?;
        let chip_id = self.chip_id();
        let counters = self.counters();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name(format!("chip-agent-{addr}"))
            .stack_size(256 * 1024)
            .spawn(move || self.serve(&flag))
            .map_err(|e| NetError::io("spawning the chip agent thread", e))?;
        Ok(AgentHandle::new(addr, chip_id, counters, stop, thread))
    }
}

/// A running chip agent; stops it (and joins its thread) on [`AgentHandle::shutdown`] or drop.
#[derive(Debug)]
pub struct AgentHandle {
    addr: SocketAddr,
    chip_id: ChipId,
    counters: Arc<AgentCounters>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl AgentHandle {
    /// The handle of an agent running on `thread`, which stops when `stop` is set.
    pub(crate) fn new(
        addr: SocketAddr,
        chip_id: ChipId,
        counters: Arc<AgentCounters>,
        stop: Arc<AtomicBool>,
        thread: JoinHandle<()>,
    ) -> Self {
        AgentHandle {
            addr,
            chip_id,
            counters,
            stop,
            thread: Some(thread),
        }
    }

    /// Where the agent listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The chip it answers for.
    pub fn chip_id(&self) -> ChipId {
        self.chip_id
    }

    /// Its counters.
    pub fn counters(&self) -> &AgentCounters {
        &self.counters
    }

    /// Stops the agent and waits for its thread (at most about one [`POLL_INTERVAL`]).
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            // A panicked agent thread has nothing left to clean up.
            let _ = t.join();
        }
    }
}

impl Drop for AgentHandle {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}
