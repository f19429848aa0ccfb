//! Parallel work over the log's bundles with results consumed in log order, as they complete.
//!
//! Workers take batches of consecutive bundles from a shared cursor, so batches finish roughly
//! in order and the in-order consumer (the audit's aggregation) runs alongside verification
//! instead of after it. Batches shrink near the end of the log (to a share of what is left per
//! worker, down to one bundle) so the cores finish together. At most [`AHEAD_PER_WORKER`]
//! batches per worker wait for an earlier one, which bounds memory on any log.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use rayon::prelude::*;

/// Completed batches that may wait for an earlier one, per worker.
const AHEAD_PER_WORKER: usize = 4;

/// The shared cursor and the results waiting for their turn.
struct State<T, C> {
    /// Next bundle to hand out.
    next_bundle: u64,
    /// Number of the next batch to hand out.
    next_batch: usize,
    /// Number of the next batch to consume.
    next_to_consume: usize,
    /// Completed batches waiting for an earlier one.
    waiting: BTreeMap<usize, T>,
    /// The in-order consumer; `false` stops the run.
    consume: C,
    /// Set once the consumer asked to stop.
    stopped: bool,
}

/// Runs `work(first_bundle, end_bundle)` over all `bundles` in batches of at most `max_batch`
/// bundles on the current rayon pool, and hands each result to `consume` in bundle order.
/// `consume` returns `false` to stop early (for example on a read error).
pub fn in_order<T: Send>(
    bundles: u64,
    max_batch: u64,
    work: impl Fn(u64, u64) -> T + Sync,
    consume: impl FnMut(T) -> bool + Send,
) {
    let workers = rayon::current_num_threads().max(1);
    let state = Mutex::new(State {
        next_bundle: 0,
        next_batch: 0,
        next_to_consume: 0,
        waiting: BTreeMap::new(),
        consume,
        stopped: false,
    });
    let max_ahead = AHEAD_PER_WORKER.saturating_mul(workers);
    (0..workers).into_par_iter().for_each(|_| loop {
        let (batch, first, end) = {
            let Ok(mut s) = state.lock() else { return };
            if s.stopped || s.next_bundle >= bundles {
                return;
            }
            if s.next_batch.saturating_sub(s.next_to_consume) > max_ahead {
                // Another worker holds the batch everyone waits for: let it finish.
                drop(s);
                std::thread::sleep(Duration::from_micros(200));
                continue;
            }
            let left = bundles - s.next_bundle;
            let share = left.div_ceil(2 * workers as u64);
            let size = share.clamp(1, max_batch.max(1));
            let taken = (s.next_batch, s.next_bundle, s.next_bundle + size);
            s.next_batch += 1;
            s.next_bundle += size;
            taken
        };
        let result = work(first, end);
        let Ok(mut s) = state.lock() else { return };
        s.waiting.insert(batch, result);
        loop {
            let next = s.next_to_consume;
            let Some(ready) = s.waiting.remove(&next) else {
                break;
            };
            s.next_to_consume += 1;
            if !(s.consume)(ready) {
                s.stopped = true;
                s.waiting.clear();
                return;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every bundle is covered exactly once, results arrive in order, on pools of 1 to 4
    /// threads, for log sizes around the batch boundaries.
    #[test]
    fn every_bundle_once_and_in_order() {
        for threads in 1..=4 {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            for bundles in [0u64, 1, 2, 3, 7, 8, 9, 40, 41, 100] {
                let mut seen = Vec::new();
                pool.install(|| {
                    in_order(
                        bundles,
                        4,
                        |first, end| {
                            assert!(first < end && end - first <= 4);
                            (first..end).collect::<Vec<u64>>()
                        },
                        |batch| {
                            seen.extend(batch);
                            true
                        },
                    )
                });
                assert_eq!(seen, (0..bundles).collect::<Vec<_>>(), "{threads} threads");
            }
        }
    }

    /// A consumer that stops sees nothing after it stopped.
    #[test]
    fn stopping_stops() {
        let mut seen = Vec::new();
        in_order(
            50,
            2,
            |first, _| first,
            |first| {
                seen.push(first);
                first < 10
            },
        );
        assert_eq!(seen.last(), Some(&10));
        assert!(seen.windows(2).all(|w| w[0] < w[1]));
    }
}
