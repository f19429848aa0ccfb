//! The landmark's side of a round, over UDP: fresh challenge, precise timing, strict checks,
//! signed measurement.
//!
//! Timing: a monotonic [`Instant`] read just before `send_to` and just after `recv_from`
//! returns; the difference is the measured RTT. (Kernel receive timestamps would shave the
//! wake-up latency off the RTT, but they read `CLOCK_REALTIME` while the send time is
//! monotonic, and the workspace forbids `unsafe`; user-space `Instant` on both ends only ever
//! adds time, which only enlarges the distance bound, so it is the conservative choice.)
//!
//! Every received datagram that is not the valid answer to the current challenge is discarded
//! and counted by [`DiscardReason`]: wrong source address, oversized, undecodable, unexpected
//! type, late (answers an earlier challenge of ours that timed out), unknown nonce (a challenge
//! we never issued), duplicate or replay (a challenge already answered), challenge mismatch,
//! wrong chip, bad signature. Timeouts, retries and unreachable chips are counted in the
//! [`ProbeReport`]; none of them is fatal.

use std::collections::{HashSet, VecDeque};
use std::io::ErrorKind;
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant};

use lightcone::{
    Challenge, ChipId, DeviceCertificate, Ed25519Signer, Landmark, LandmarkId, Measurement, Nonce,
    Verified,
};

pub mod spdm;

pub use spdm::{verify_gpu_chain, SpdmProbeReport, SpdmRound, VerifiedGpu};

use super::datagram::{Datagram, MAX_DATAGRAM};
use super::discard::{DiscardCounts, DiscardReason};
use super::error::NetError;
use super::spdm_datagram::SPDM_DATAGRAM_LEN;
use super::{duration_ns, unix_now_ns};
use crate::registry::Trust;

/// How many of its own recent nonces a prober remembers, to tell late answers and replays
/// from spoofed ones.
pub const NONCE_MEMORY: usize = 4096;

/// How a probe runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeConfig {
    /// Rounds to measure (each with a fresh challenge).
    pub rounds: u32,
    /// How long to wait for the answer to one challenge.
    pub timeout: Duration,
    /// Further attempts (each with a fresh challenge) after a timeout, per round.
    pub retries: u32,
    /// Pause between rounds.
    pub interval: Duration,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        ProbeConfig {
            rounds: 5,
            timeout: Duration::from_millis(500),
            retries: 2,
            interval: Duration::ZERO,
        }
    }
}

/// What one probe of one chip did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeReport {
    /// The chip's address (as challenged).
    pub addr: SocketAddr,
    /// The chip.
    pub chip_id: ChipId,
    /// Signed measurements, one per successful round.
    pub measurements: Vec<Measurement>,
    /// The RTT of each successful round, ns (same order as `measurements`).
    pub rtts_ns: Vec<u64>,
    /// Rounds attempted.
    pub rounds: u32,
    /// Rounds that got no valid answer after all retries.
    pub failed_rounds: u32,
    /// Challenges that timed out.
    pub timeouts: u32,
    /// Retries sent (challenges beyond the first of a round).
    pub retries: u32,
    /// Sends or receives that failed (e.g. ICMP port unreachable); the probe carried on.
    pub io_errors: u32,
    /// Datagrams discarded, by reason.
    pub discards: DiscardCounts,
}

impl ProbeReport {
    fn new(addr: SocketAddr, chip_id: ChipId) -> Self {
        ProbeReport {
            addr,
            chip_id,
            measurements: Vec::new(),
            rtts_ns: Vec::new(),
            rounds: 0,
            failed_rounds: 0,
            timeouts: 0,
            retries: 0,
            io_errors: 0,
            discards: DiscardCounts::default(),
        }
    }

    /// The smallest RTT, ns.
    pub fn min_rtt_ns(&self) -> Option<u64> {
        self.rtts_ns.iter().copied().min()
    }

    /// The median RTT, ns (the lower middle for an even count).
    pub fn median_rtt_ns(&self) -> Option<u64> {
        let mut v = self.rtts_ns.clone();
        v.sort_unstable();
        v.get(v.len().checked_sub(1)? / 2).copied()
    }

    /// Whether no round got a valid answer.
    pub fn unreachable(&self) -> bool {
        self.measurements.is_empty()
    }
}

/// A landmark that challenges chips over UDP from one socket.
pub struct Prober<S: Ed25519Signer> {
    landmark: Landmark<S>,
    socket: UdpSocket,
    issued: HashSet<Nonce>,
    issued_order: VecDeque<Nonce>,
    answered: HashSet<Nonce>,
    /// Large enough for an SPDM report: one byte over the largest datagram either kind of
    /// agent may send, so an oversized one is seen, not truncated.
    buf: Box<[u8; SPDM_DATAGRAM_LEN + 1]>,
}

/// What a wait for the current challenge's answer ended with.
// Short-lived (one per entry or round, moved at once); boxing would cost an allocation each.
#[allow(clippy::large_enum_variant)]
enum Wait {
    Answered(Verified<lightcone::Response>, Instant),
    TimedOut,
}

impl<S: Ed25519Signer> Prober<S> {
    /// A prober signing with the landmark key in `signer`, sending from `bind` (e.g.
    /// `127.0.0.1:0`).
    pub fn bind(bind: impl ToSocketAddrs, signer: S) -> Result<Self, NetError> {
        let socket =
            UdpSocket::bind(bind).map_err(|e| NetError::io("binding the landmark socket", e))?;
        Ok(Prober {
            landmark: Landmark::new(signer),
            socket,
            issued: HashSet::new(),
            issued_order: VecDeque::new(),
            answered: HashSet::new(),
            buf: Box::new([0u8; SPDM_DATAGRAM_LEN + 1]),
        })
    }

    /// This landmark's id.
    pub fn landmark_id(&self) -> LandmarkId {
        self.landmark.id()
    }

    /// The socket's address.
    pub fn local_addr(&self) -> Result<SocketAddr, NetError> {
        self.socket
            .local_addr()
            .map_err(|e| NetError::io("reading the landmark's address", e))
    }

    fn remember(&mut self, nonce: Nonce) {
        if self.issued.insert(nonce) {
            self.issued_order.push_back(nonce);
        }
        while self.issued_order.len() > NONCE_MEMORY {
            if let Some(old) = self.issued_order.pop_front() {
                self.issued.remove(&old);
                self.answered.remove(&old);
            }
        }
    }

    /// Receives one datagram until `deadline`: `Ok(None)` on timeout.
    fn recv_until(
        &mut self,
        deadline: Instant,
    ) -> Result<Option<(usize, SocketAddr, Instant)>, std::io::Error> {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Ok(None);
        }
        // A zero timeout means "block forever" to the OS; the check above rules it out.
        self.socket.set_read_timeout(Some(remaining))?;
        match self.socket.recv_from(self.buf.as_mut_slice()) {
            Ok((n, from)) => Ok(Some((n, from, Instant::now()))),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Classifies a received datagram against the current challenge.
    fn check(
        &self,
        n: usize,
        from: SocketAddr,
        expected_from: SocketAddr,
        issued: &Challenge,
        device: &Verified<DeviceCertificate>,
    ) -> Result<Verified<lightcone::Response>, DiscardReason> {
        if from != expected_from {
            return Err(DiscardReason::WrongSource);
        }
        if n > MAX_DATAGRAM {
            return Err(DiscardReason::Oversized);
        }
        let bytes = self.buf.get(..n).ok_or(DiscardReason::Oversized)?;
        let response = match Datagram::decode(bytes).map_err(|e| e.reason())? {
            Datagram::Response(r) => r,
            _ => return Err(DiscardReason::UnexpectedType),
        };
        let answered = &response.body.challenge;
        if answered.nonce != issued.nonce {
            return Err(if self.answered.contains(&answered.nonce) {
                DiscardReason::Duplicate
            } else if self.issued.contains(&answered.nonce) {
                DiscardReason::LateNonce
            } else {
                DiscardReason::UnknownNonce
            });
        }
        if self.answered.contains(&answered.nonce) {
            return Err(DiscardReason::Duplicate);
        }
        if answered.chip_id != issued.chip_id {
            return Err(DiscardReason::WrongChip);
        }
        if answered != issued {
            return Err(DiscardReason::ChallengeMismatch);
        }
        response.verify(device).map_err(|e| match e {
            lightcone::Error::WrongChip => DiscardReason::WrongChip,
            _ => DiscardReason::BadSignature,
        })
    }

    /// Sends `challenge` to `addr` and waits for its valid answer, counting everything else.
    fn exchange(
        &mut self,
        addr: SocketAddr,
        challenge: &Challenge,
        device: &Verified<DeviceCertificate>,
        timeout: Duration,
        report: &mut ProbeReport,
    ) -> (Wait, Instant) {
        let datagram = Datagram::Challenge(*challenge).to_vec();
        self.remember(challenge.nonce);
        let sent = Instant::now();
        if self.socket.send_to(&datagram, addr).is_err() {
            report.io_errors = report.io_errors.saturating_add(1);
        }
        let deadline = sent + timeout;
        loop {
            match self.recv_until(deadline) {
                Ok(Some((n, from, at))) => match self.check(n, from, addr, challenge, device) {
                    Ok(response) => return (Wait::Answered(response, at), sent),
                    Err(reason) => report.discards.add(reason),
                },
                Ok(None) => return (Wait::TimedOut, sent),
                Err(_) => {
                    // ICMP port unreachable and the like: note it and keep waiting until the
                    // deadline (never spin: back off briefly).
                    report.io_errors = report.io_errors.saturating_add(1);
                    std::thread::sleep(
                        Duration::from_millis(1)
                            .min(deadline.saturating_duration_since(Instant::now())),
                    );
                }
            }
        }
    }

    /// Measures `config.rounds` rounds against the chip at `addr`, certified by `device`.
    /// Never fails: every problem is counted in the report.
    pub fn probe(
        &mut self,
        addr: SocketAddr,
        device: &Verified<DeviceCertificate>,
        config: &ProbeConfig,
    ) -> ProbeReport {
        let chip = device.body.chip_id;
        let mut report = ProbeReport::new(addr, chip);
        for round in 0..config.rounds {
            if round > 0 && !config.interval.is_zero() {
                std::thread::sleep(config.interval);
            }
            report.rounds = report.rounds.saturating_add(1);
            let mut done = false;
            for attempt in 0..=config.retries {
                if attempt > 0 {
                    report.retries = report.retries.saturating_add(1);
                }
                let challenge = match self.landmark.challenge(chip, &mut rand_core::OsRng) {
                    Ok(c) => c,
                    Err(_) => {
                        report.io_errors = report.io_errors.saturating_add(1);
                        continue;
                    }
                };
                let sent_at_ns = unix_now_ns();
                match self.exchange(addr, &challenge, device, config.timeout, &mut report) {
                    (Wait::Answered(response, at), sent) => {
                        self.answered.insert(challenge.nonce);
                        let rtt_ns = duration_ns(at.saturating_duration_since(sent));
                        match self.landmark.measure(&response, rtt_ns, sent_at_ns) {
                            Ok(m) => {
                                report.measurements.push(m);
                                report.rtts_ns.push(rtt_ns);
                            }
                            Err(_) => report.discards.add(DiscardReason::SignerFailed),
                        }
                        done = true;
                        break;
                    }
                    (Wait::TimedOut, _) => report.timeouts = report.timeouts.saturating_add(1),
                }
            }
            if !done {
                report.failed_rounds = report.failed_rounds.saturating_add(1);
            }
        }
        report
    }

    /// Asks the agent at `addr` for its device certificate and verifies it against `trust`
    /// at `at_unix_s`; retries up to `attempts` times, waiting `timeout` for each.
    /// Unverifiable replies are counted in `discards` and ignored.
    pub fn fetch_certificate(
        &mut self,
        addr: SocketAddr,
        trust: &Trust,
        at_unix_s: u64,
        timeout: Duration,
        attempts: u32,
        discards: &mut DiscardCounts,
    ) -> Result<Verified<DeviceCertificate>, NetError> {
        let request = Datagram::CertificateRequest.to_vec();
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
                        match Datagram::decode(bytes) {
                            Ok(Datagram::CertificateReply(cert)) => {
                                match trust.verify_device(&cert, at_unix_s) {
                                    Ok(v) => return Ok(v),
                                    Err(_) => discards.add(DiscardReason::BadCertificate),
                                }
                            }
                            // A late response to an earlier challenge, say.
                            Ok(_) => discards.add(DiscardReason::UnexpectedType),
                            Err(e) => discards.add(e.reason()),
                        }
                    }
                    Ok(None) => break,
                    Err(_) => std::thread::sleep(Duration::from_millis(1)),
                }
            }
        }
        Err(NetError::NoCertificate {
            addr,
            attempts: attempts.max(1),
        })
    }
}
