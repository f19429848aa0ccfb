//! Landmarks and chips on a real network: UDP datagrams, the chip agent, the landmark's timed
//! probe, a delay relay standing in for distance, fleets of chips probed on a schedule, and
//! the batch of log records a probe produces.
//!
//! Everything is a library type first, so one process can run many of them (the demo runs tens
//! of chip agents, hundreds of relay routes and a prober per landmark); the `lightcone` command
//! is a thin shell over them.
//!
//! - [`datagram`]: one tag byte, then the core's canonical encoding; every decode is fallible.
//! - [`chip_agent`]: answers challenges with the core [`Responder`](lightcone::Responder).
//! - [`probe`]: a landmark's rounds: fresh nonce, monotonic timing, checks, signed measurements.
//! - [`relay`]: a UDP forwarder that adds a one-way delay (and jitter that only adds).
//! - [`fleet`]: a fleet file and probing a list of chips on a schedule.
//! - [`logbook`]: a landmark's appends to the transparency log (certificates, then measurements).
//! - [`discard`]: why a datagram was dropped, and counters of each reason.
//! - [`rate`]: a chip agent's rate limits, per source and in all.
//! - [`spdm_datagram`], [`spdm_agent`]: rounds answered with a GPU's SPDM evidence.

pub mod chip_agent;
pub mod datagram;
pub mod discard;
pub mod error;
pub mod fleet;
pub mod logbook;
pub mod probe;
pub mod rate;
pub mod relay;
pub mod spdm_agent;
pub mod spdm_datagram;
pub mod submit;

pub use chip_agent::{AgentCounters, AgentHandle, ChipAgent};
pub use datagram::{Datagram, DatagramError, MAX_DATAGRAM};
pub use discard::{DiscardCounts, DiscardReason};
pub use error::NetError;
pub use logbook::{probe_records, GpuRecords, LogSink, Logbook};
pub use probe::{ProbeConfig, ProbeReport, Prober};
pub use rate::RateLimits;
pub use relay::{Relay, RelayConfig, RelayLimits, RouteSpec};
pub use spdm_agent::SpdmAgent;
pub use spdm_datagram::{SpdmDatagram, SpdmDatagramError};
pub use submit::{LandmarkAdmission, Submitter};

/// Whether a receive error only means nothing arrived before the socket's read timeout (or a
/// signal interrupted the wait): receive loops go on without counting it as an error.
pub(crate) fn is_idle(e: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        e.kind(),
        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
    )
}

/// Nanoseconds in a duration, saturating at `u64::MAX`.
pub(crate) fn duration_ns(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The wall clock as Unix nanoseconds (0 before 1970).
pub fn unix_now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(duration_ns)
        .unwrap_or(0)
}
