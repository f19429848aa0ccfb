//! Rate limits of a chip agent: a token bucket per source address, and one for all sources
//! together.
//!
//! Anyone who can reach an agent can send it well-formed challenges (a challenge carries no
//! landmark signature: checking one would cost the chip as much as answering it), and every
//! answer costs the chip a signature and a step of its monotonic counter, which firmware may
//! persist in flash. The per-source bucket keeps one flooding source from crowding out the
//! landmarks; the total bucket bounds what the chip spends whatever the number of (possibly
//! spoofed) sources. Only challenges the agent would answer take tokens: garbage costs a
//! decode and nothing else, and is discarded for its own reason.
//!
//! The source table is bounded: when full, sources idle long enough for their bucket to be
//! full again are forgotten (forgetting them changes nothing), else the least recently seen.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use super::discard::DiscardReason;

/// An agent's rate limits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimits {
    /// Challenges answered per second, per source address, sustained.
    pub per_source_per_s: f64,
    /// Challenges one source may send at once (a probe's rounds and retries back to back).
    pub per_source_burst: f64,
    /// Challenges answered per second, all sources together, sustained.
    pub total_per_s: f64,
    /// Challenges all sources together may send at once.
    pub total_burst: f64,
    /// Sources tracked at once.
    pub max_sources: usize,
}

impl Default for RateLimits {
    /// 50 a second per source (bursts of 32), 1 000 a second in all (bursts of 256), 4 096
    /// sources: far above what landmarks send (a few rounds per chip per epoch), far below what
    /// a flood sends.
    fn default() -> Self {
        RateLimits {
            per_source_per_s: 50.0,
            per_source_burst: 32.0,
            total_per_s: 1000.0,
            total_burst: 256.0,
            max_sources: 4096,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn full(burst: f64, now: Instant) -> Bucket {
        Bucket {
            tokens: burst,
            last: now,
        }
    }

    fn refill(&mut self, now: Instant, per_s: f64, burst: f64) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * per_s).min(burst);
        self.last = now;
    }
}

/// The buckets of one agent.
#[derive(Debug)]
pub struct RateLimiter {
    limits: RateLimits,
    sources: HashMap<SocketAddr, Bucket>,
    total: Bucket,
}

impl RateLimiter {
    /// Buckets for `limits`, all full.
    pub fn new(limits: RateLimits) -> RateLimiter {
        RateLimiter {
            limits,
            sources: HashMap::new(),
            total: Bucket::full(limits.total_burst, Instant::now()),
        }
    }

    /// The limits.
    pub fn limits(&self) -> RateLimits {
        self.limits
    }

    /// Takes a token for a challenge from `from` received at `now`, or says which limit it is
    /// over ([`DiscardReason::RateLimited`] or [`DiscardReason::Overloaded`]).
    pub fn allow(&mut self, from: SocketAddr, now: Instant) -> Result<(), DiscardReason> {
        let l = self.limits;
        if !self.sources.contains_key(&from) {
            self.make_room(now);
        }
        let source = self
            .sources
            .entry(from)
            .or_insert_with(|| Bucket::full(l.per_source_burst, now));
        source.refill(now, l.per_source_per_s, l.per_source_burst);
        if source.tokens < 1.0 {
            return Err(DiscardReason::RateLimited);
        }
        self.total.refill(now, l.total_per_s, l.total_burst);
        if self.total.tokens < 1.0 {
            return Err(DiscardReason::Overloaded);
        }
        source.tokens -= 1.0;
        self.total.tokens -= 1.0;
        Ok(())
    }

    /// Sources tracked now.
    pub fn sources(&self) -> usize {
        self.sources.len()
    }

    fn make_room(&mut self, now: Instant) {
        let l = self.limits;
        if self.sources.len() < l.max_sources.max(1) {
            return;
        }
        // Idle long enough to be full again: forgetting them changes nothing.
        self.sources.retain(|_, b| {
            let idle = now.saturating_duration_since(b.last).as_secs_f64();
            b.tokens + idle * l.per_source_per_s < l.per_source_burst
        });
        if self.sources.len() >= l.max_sources.max(1) {
            if let Some(oldest) = self
                .sources
                .iter()
                .min_by_key(|(_, b)| b.last)
                .map(|(a, _)| *a)
            {
                self.sources.remove(&oldest);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn a_flooding_source_is_limited_and_others_are_not() {
        let t0 = Instant::now();
        let mut r = RateLimiter::new(RateLimits {
            per_source_per_s: 10.0,
            per_source_burst: 5.0,
            total_per_s: 1000.0,
            total_burst: 100.0,
            max_sources: 16,
        });
        let allowed = (0..1000).filter(|_| r.allow(addr(1), t0).is_ok()).count();
        assert_eq!(allowed, 5);
        assert_eq!(r.allow(addr(1), t0), Err(DiscardReason::RateLimited));
        assert_eq!(r.allow(addr(2), t0), Ok(()));
        // A second later the flooder has 10 more.
        let t1 = t0 + Duration::from_secs(1);
        let allowed = (0..1000).filter(|_| r.allow(addr(1), t1).is_ok()).count();
        assert_eq!(allowed, 5, "capped at the burst");
    }

    #[test]
    fn many_sources_are_bounded_in_all_and_in_memory() {
        let t0 = Instant::now();
        let mut r = RateLimiter::new(RateLimits {
            per_source_per_s: 10.0,
            per_source_burst: 5.0,
            total_per_s: 100.0,
            total_burst: 50.0,
            max_sources: 64,
        });
        let allowed = (0..10_000u16)
            .filter(|p| r.allow(addr(*p), t0).is_ok())
            .count();
        assert_eq!(allowed, 50, "the total burst");
        assert!(r.sources() <= 64);
        assert_eq!(r.allow(addr(20_000), t0), Err(DiscardReason::Overloaded));
    }
}
