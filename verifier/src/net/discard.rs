//! Why a datagram was dropped, and counters of each reason. Hostile or stale input is always
//! a counted discard, never an error and never a panic.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// Why a received datagram was discarded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DiscardReason {
    /// Empty datagram.
    Empty,
    /// Larger than [`MAX_DATAGRAM`](super::MAX_DATAGRAM) (or truncated by the receive buffer).
    Oversized,
    /// The type tag is unknown.
    UnknownTag,
    /// The body does not decode canonically (truncated, trailing bytes, bad version, …).
    Undecodable,
    /// A valid datagram of a type this side does not accept (e.g. a challenge sent to a landmark).
    UnexpectedType,
    /// From an address other than the one challenged.
    WrongSource,
    /// Addressed to, or signed for, another chip.
    WrongChip,
    /// Answers a challenge this landmark issued earlier that already timed out (a late answer).
    LateNonce,
    /// Answers a challenge this landmark never issued (spoofed, or another landmark's).
    UnknownNonce,
    /// Answers a challenge that was already answered (a duplicate or a replay).
    Duplicate,
    /// Carries the current nonce but a different challenge.
    ChallengeMismatch,
    /// The signature does not verify under the certified key.
    BadSignature,
    /// A device certificate that does not verify against the trust roots.
    BadCertificate,
    /// The local signer failed while answering.
    SignerFailed,
    /// A valid challenge over its source's rate limit (each answer costs the chip a signature
    /// and a counter step).
    RateLimited,
    /// A valid challenge over the agent's rate limit for all sources together.
    Overloaded,
}

impl DiscardReason {
    /// Every reason, in counter order.
    pub const ALL: [DiscardReason; 16] = [
        DiscardReason::Empty,
        DiscardReason::Oversized,
        DiscardReason::UnknownTag,
        DiscardReason::Undecodable,
        DiscardReason::UnexpectedType,
        DiscardReason::WrongSource,
        DiscardReason::WrongChip,
        DiscardReason::LateNonce,
        DiscardReason::UnknownNonce,
        DiscardReason::Duplicate,
        DiscardReason::ChallengeMismatch,
        DiscardReason::BadSignature,
        DiscardReason::BadCertificate,
        DiscardReason::SignerFailed,
        DiscardReason::RateLimited,
        DiscardReason::Overloaded,
    ];

    /// A short stable name, used in reports.
    pub const fn name(self) -> &'static str {
        match self {
            DiscardReason::Empty => "empty",
            DiscardReason::Oversized => "oversized",
            DiscardReason::UnknownTag => "unknown-tag",
            DiscardReason::Undecodable => "undecodable",
            DiscardReason::UnexpectedType => "unexpected-type",
            DiscardReason::WrongSource => "wrong-source",
            DiscardReason::WrongChip => "wrong-chip",
            DiscardReason::LateNonce => "late-nonce",
            DiscardReason::UnknownNonce => "unknown-nonce",
            DiscardReason::Duplicate => "duplicate",
            DiscardReason::ChallengeMismatch => "challenge-mismatch",
            DiscardReason::BadSignature => "bad-signature",
            DiscardReason::BadCertificate => "bad-certificate",
            DiscardReason::SignerFailed => "signer-failed",
            DiscardReason::RateLimited => "rate-limited",
            DiscardReason::Overloaded => "overloaded",
        }
    }

    const fn index(self) -> usize {
        match self {
            DiscardReason::Empty => 0,
            DiscardReason::Oversized => 1,
            DiscardReason::UnknownTag => 2,
            DiscardReason::Undecodable => 3,
            DiscardReason::UnexpectedType => 4,
            DiscardReason::WrongSource => 5,
            DiscardReason::WrongChip => 6,
            DiscardReason::LateNonce => 7,
            DiscardReason::UnknownNonce => 8,
            DiscardReason::Duplicate => 9,
            DiscardReason::ChallengeMismatch => 10,
            DiscardReason::BadSignature => 11,
            DiscardReason::BadCertificate => 12,
            DiscardReason::SignerFailed => 13,
            DiscardReason::RateLimited => 14,
            DiscardReason::Overloaded => 15,
        }
    }
}

impl fmt::Display for DiscardReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Discarded datagrams by reason (a plain snapshot).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiscardCounts([u64; DiscardReason::ALL.len()]);

impl DiscardCounts {
    /// Counts one discard.
    pub fn add(&mut self, reason: DiscardReason) {
        if let Some(c) = self.0.get_mut(reason.index()) {
            *c = c.saturating_add(1);
        }
    }

    /// How many were discarded for `reason`.
    pub fn get(&self, reason: DiscardReason) -> u64 {
        self.0.get(reason.index()).copied().unwrap_or(0)
    }

    /// All discards.
    pub fn total(&self) -> u64 {
        self.0.iter().fold(0u64, |a, b| a.saturating_add(*b))
    }

    /// Adds another set of counts into this one.
    pub fn merge(&mut self, other: &DiscardCounts) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a = a.saturating_add(*b);
        }
    }

    /// The non-zero counts, by reason.
    pub fn nonzero(&self) -> impl Iterator<Item = (DiscardReason, u64)> + '_ {
        DiscardReason::ALL
            .iter()
            .map(|r| (*r, self.get(*r)))
            .filter(|(_, n)| *n > 0)
    }
}

impl fmt::Display for DiscardCounts {
    /// `none`, or `reason=n` pairs separated by spaces.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut any = false;
        for (reason, n) in self.nonzero() {
            if any {
                f.write_str(" ")?;
            }
            write!(f, "{reason}={n}")?;
            any = true;
        }
        if !any {
            f.write_str("none")?;
        }
        Ok(())
    }
}

/// Discard counters shared between threads (a chip agent's, read by its owner).
#[derive(Debug, Default)]
pub struct AtomicDiscardCounts([AtomicU64; DiscardReason::ALL.len()]);

impl AtomicDiscardCounts {
    /// Counts one discard.
    pub fn add(&self, reason: DiscardReason) {
        if let Some(c) = self.0.get(reason.index()) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A snapshot of the counts.
    pub fn snapshot(&self) -> DiscardCounts {
        let mut out = DiscardCounts::default();
        for (slot, c) in out.0.iter_mut().zip(self.0.iter()) {
            *slot = c.load(Ordering::Relaxed);
        }
        out
    }
}
