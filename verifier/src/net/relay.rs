//! A UDP delay relay: stands in for distance on a machine without netem.
//!
//! Each route has a listen socket and a target. A datagram from a client is held for the
//! route's one-way delay (plus a random jitter in `[0, jitter]`: jitter only ever adds delay)
//! and then forwarded to the target from a socket dedicated to that client; the target's
//! replies come back through that socket and are released to the client after the same delay.
//! So a round trip through a route takes at least `2 × delay` plus the target's own time.
//!
//! Release times are kept by one scheduler thread per [`Relay`] (sleep on a condition variable,
//! then a short spin for precision), so one relay serves hundreds of routes.
//!
//! Bounded under any traffic ([`RelayLimits`]): each route tracks at most
//! [`MAX_CLIENTS_PER_ROUTE`] clients, and when a new one arrives with the table full, the least
//! recently active client idle for at least `client_idle` is evicted (its socket and thread
//! end) so new clients are never locked out for good; the delay queue holds at most
//! `queue_bytes` of datagrams. Everything dropped is counted by reason.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rand_core::RngCore as _;

use super::duration_ns;
use super::error::NetError;

/// How often relay threads check the stop flag.
const POLL: Duration = Duration::from_millis(20);
/// Below this much remaining wait the scheduler spins instead of sleeping.
const SPIN: Duration = Duration::from_micros(300);
/// Most distinct clients one route tracks (each gets its own upstream socket and thread).
pub const MAX_CLIENTS_PER_ROUTE: usize = 64;
/// Largest datagram a relay forwards (anything UDP can carry, so tests can pass oversized
/// datagrams through it).
const RELAY_BUF: usize = 65_536;
/// Stack size of relay threads (buffers live on the heap).
const STACK: usize = 128 * 1024;

/// One-way delay and jitter of a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct RelayConfig {
    /// Added to every datagram, each way.
    pub delay: Duration,
    /// Upper end of an extra random delay, uniform in `[0, jitter]`, drawn per datagram.
    pub jitter: Duration,
}

/// A route to start: where to listen, where to forward, how much delay to add.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteSpec {
    /// Listen address (port 0 for an ephemeral port).
    pub listen: SocketAddr,
    /// The target (e.g. a chip agent).
    pub forward: SocketAddr,
    /// Delay and jitter, each way.
    pub config: RelayConfig,
}

/// What a relay holds at most.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RelayLimits {
    /// Clients tracked per route (each has an upstream socket and a thread).
    pub max_clients_per_route: usize,
    /// A client silent (both ways) this long may be evicted for a new one.
    pub client_idle: Duration,
    /// Bytes of datagrams waiting in the delay queue, all routes together.
    pub queue_bytes: usize,
}

impl Default for RelayLimits {
    /// 64 clients per route, evictable after 2 s of silence, 16 MiB queued.
    fn default() -> Self {
        RelayLimits {
            max_clients_per_route: MAX_CLIENTS_PER_ROUTE,
            client_idle: Duration::from_secs(2),
            queue_bytes: 16 << 20,
        }
    }
}

/// Counters of a relay, all routes together.
#[derive(Debug, Default)]
pub struct RelayCounters {
    /// Datagrams forwarded client → target.
    pub forwarded: AtomicU64,
    /// Datagrams returned target → client.
    pub returned: AtomicU64,
    /// Datagrams dropped, for any reason (the counters below, stranger replies, socket errors).
    pub dropped: AtomicU64,
    /// Of `dropped`: the delay queue was full.
    pub dropped_queue_full: AtomicU64,
    /// Of `dropped`: a new client while every tracked one was recently active.
    pub dropped_no_client_slot: AtomicU64,
    /// Idle clients evicted to make room for new ones.
    pub clients_evicted: AtomicU64,
}

struct Pending {
    release: Instant,
    seq: u64,
    socket: Arc<UdpSocket>,
    to: SocketAddr,
    bytes: Vec<u8>,
    forward: bool,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.release, self.seq) == (other.release, other.seq)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.release, self.seq).cmp(&(other.release, other.seq))
    }
}

#[derive(Default)]
struct Queue {
    heap: BinaryHeap<Reverse<Pending>>,
    seq: u64,
    /// Bytes of the datagrams in `heap`.
    bytes: usize,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    stop: AtomicBool,
    counters: RelayCounters,
    limits: RelayLimits,
}

impl Shared {
    fn schedule(
        &self,
        socket: &Arc<UdpSocket>,
        to: SocketAddr,
        bytes: &[u8],
        received: Instant,
        config: RelayConfig,
        forward: bool,
    ) {
        let release = received + config.delay + jitter(config.jitter);
        let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        if q.bytes.saturating_add(bytes.len()) > self.limits.queue_bytes {
            drop(q);
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            self.counters
                .dropped_queue_full
                .fetch_add(1, Ordering::Relaxed);
            return;
        }
        q.bytes = q.bytes.saturating_add(bytes.len());
        q.seq = q.seq.wrapping_add(1);
        let seq = q.seq;
        q.heap.push(Reverse(Pending {
            release,
            seq,
            socket: Arc::clone(socket),
            to,
            bytes: bytes.to_vec(),
            forward,
        }));
        drop(q);
        self.wake.notify_one();
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

fn jitter(max: Duration) -> Duration {
    let max_ns = duration_ns(max);
    if max_ns == 0 {
        return Duration::ZERO;
    }
    let r = rand_core::OsRng.next_u64() % max_ns.saturating_add(1);
    Duration::from_nanos(r)
}

/// A running relay with one or more routes; stopped on [`Relay::shutdown`] or drop.
pub struct Relay {
    listen: Vec<SocketAddr>,
    shared: Arc<Shared>,
    threads: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Relay {
    /// Binds every route's listen socket and starts forwarding, with the default limits.
    pub fn start(routes: &[RouteSpec]) -> Result<Relay, NetError> {
        Relay::start_with(routes, RelayLimits::default())
    }

    /// [`Relay::start`] with explicit limits.
    pub fn start_with(routes: &[RouteSpec], limits: RelayLimits) -> Result<Relay, NetError> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            stop: AtomicBool::new(false),
            counters: RelayCounters::default(),
            limits,
        });
        let threads = Arc::new(Mutex::new(Vec::new()));
        let mut relay = Relay {
            listen: Vec::with_capacity(routes.len()),
            shared: Arc::clone(&shared),
            threads: Arc::clone(&threads),
        };
        let sched = Arc::clone(&shared);
        spawn(&threads, "relay-scheduler".into(), move || {
            scheduler(&sched)
        })?;
        for route in routes {
            let socket = UdpSocket::bind(route.listen).map_err(|e| {
                NetError::io(format!("binding relay listen socket {}", route.listen), e)
            })?;
            socket
                .set_read_timeout(Some(POLL))
                .map_err(|e| NetError::io("setting the relay read timeout", e))?;
            let addr = socket
                .local_addr()
                .map_err(|e| NetError::io("reading the relay address", e))?;
            relay.listen.push(addr);
            let socket = Arc::new(socket);
            let (sh, th, r) = (Arc::clone(&shared), Arc::clone(&threads), *route);
            spawn(&threads, format!("relay-{addr}"), move || {
                listen_loop(&sh, &th, &socket, r)
            })?;
        }
        Ok(relay)
    }

    /// The bound listen address of each route, in the order given to [`Relay::start`].
    pub fn listen_addrs(&self) -> &[SocketAddr] {
        &self.listen
    }

    /// The relay's counters.
    pub fn counters(&self) -> &RelayCounters {
        &self.shared.counters
    }

    /// Stops every thread and waits for them.
    pub fn shutdown(self) {
        drop(self);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        self.shared.wake.notify_all();
        loop {
            let next = self
                .threads
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop();
            match next {
                // A panicked relay thread has nothing left to clean up.
                Some(t) => drop(t.join()),
                None => break,
            }
        }
    }
}

fn spawn(
    threads: &Mutex<Vec<JoinHandle<()>>>,
    name: String,
    f: impl FnOnce() + Send + 'static,
) -> Result<(), NetError> {
    let handle = std::thread::Builder::new()
        .name(name)
        .stack_size(STACK)
        .spawn(f)
        .map_err(|e| NetError::io("spawning a relay thread", e))?;
    let mut threads = threads.lock().unwrap_or_else(PoisonError::into_inner);
    // Threads of evicted clients have ended: dropping their handles releases them.
    threads.retain(|t| !t.is_finished());
    threads.push(handle);
    Ok(())
}

fn unspecified_like(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(v4) if v4.is_loopback() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(v6) if v6.is_loopback() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    SocketAddr::new(ip, 0)
}

/// Receives from clients on a route's listen socket and schedules forwarding.
fn listen_loop(
    shared: &Arc<Shared>,
    threads: &Arc<Mutex<Vec<JoinHandle<()>>>>,
    listen: &Arc<UdpSocket>,
    route: RouteSpec,
) {
    let mut buf = vec![0u8; RELAY_BUF];
    let mut upstream: HashMap<SocketAddr, Upstream> = HashMap::new();
    while !shared.stopped() {
        let (n, client) = match listen.recv_from(&mut buf) {
            Ok(got) => got,
            Err(e) if super::is_idle(&e) => continue,
            Err(_) => {
                shared.counters.dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
        };
        let received = Instant::now();
        let known = upstream
            .get(&client)
            .map(|u| (Arc::clone(&u.socket), Arc::clone(&u.active)));
        let socket = match known {
            Some((s, active)) => {
                active.touch();
                s
            }
            None => {
                if upstream.len() >= shared.limits.max_clients_per_route.max(1)
                    && !evict_idle(shared, &mut upstream, received)
                {
                    shared.counters.dropped.fetch_add(1, Ordering::Relaxed);
                    shared
                        .counters
                        .dropped_no_client_slot
                        .fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                match new_upstream(shared, threads, listen, client, route) {
                    Some(u) => {
                        let s = Arc::clone(&u.socket);
                        upstream.insert(client, u);
                        s
                    }
                    None => {
                        shared.counters.dropped.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                }
            }
        };
        shared.schedule(
            &socket,
            route.forward,
            buf.get(..n).unwrap_or(&[]),
            received,
            route.config,
            true,
        );
    }
}

/// When a client was last active (either way), shared by the listen loop and its thread.
#[derive(Debug)]
struct Activity {
    since: Instant,
    /// Nanoseconds after `since` of the last datagram.
    last_ns: AtomicU64,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            since: Instant::now(),
            last_ns: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        self.last_ns
            .store(duration_ns(self.since.elapsed()), Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.since + Duration::from_nanos(self.last_ns.load(Ordering::Relaxed))
    }
}

/// One client's socket toward the target; its thread ends when `closed` is set.
struct Upstream {
    socket: Arc<UdpSocket>,
    active: Arc<Activity>,
    closed: Arc<AtomicBool>,
}

/// Evicts the least recently active client if it has been idle for the route's
/// `client_idle`; whether one was evicted.
fn evict_idle(shared: &Shared, upstream: &mut HashMap<SocketAddr, Upstream>, now: Instant) -> bool {
    let Some((client, last)) = upstream
        .iter()
        .map(|(c, u)| (*c, u.active.last()))
        .min_by_key(|(_, last)| *last)
    else {
        return false;
    };
    if now.saturating_duration_since(last) < shared.limits.client_idle {
        return false;
    }
    if let Some(u) = upstream.remove(&client) {
        u.closed.store(true, Ordering::Relaxed);
    }
    shared
        .counters
        .clients_evicted
        .fetch_add(1, Ordering::Relaxed);
    true
}

/// A socket toward the target for one client, with a thread returning the target's replies.
fn new_upstream(
    shared: &Arc<Shared>,
    threads: &Arc<Mutex<Vec<JoinHandle<()>>>>,
    listen: &Arc<UdpSocket>,
    client: SocketAddr,
    route: RouteSpec,
) -> Option<Upstream> {
    let socket = UdpSocket::bind(unspecified_like(route.forward)).ok()?;
    socket.set_read_timeout(Some(POLL)).ok()?;
    let socket = Arc::new(socket);
    let active = Arc::new(Activity::new());
    let closed = Arc::new(AtomicBool::new(false));
    let (sh, up, back) = (Arc::clone(shared), Arc::clone(&socket), Arc::clone(listen));
    let (act, done) = (Arc::clone(&active), Arc::clone(&closed));
    spawn(threads, format!("relay-up-{client}"), move || {
        let mut buf = vec![0u8; RELAY_BUF];
        while !sh.stopped() && !done.load(Ordering::Relaxed) {
            match up.recv_from(&mut buf) {
                Ok((n, from)) if from == route.forward => {
                    act.touch();
                    let received = Instant::now();
                    sh.schedule(
                        &back,
                        client,
                        buf.get(..n).unwrap_or(&[]),
                        received,
                        route.config,
                        false,
                    );
                }
                Ok(_) => {
                    sh.counters.dropped.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) if super::is_idle(&e) => {}
                Err(_) => {
                    sh.counters.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    })
    .ok()?;
    Some(Upstream {
        socket,
        active,
        closed,
    })
}

/// Releases scheduled datagrams at their release time: sleeps on the condition variable, then
/// spins for the last few hundred microseconds. Never releases early.
fn scheduler(shared: &Shared) {
    let mut q = shared.queue.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        if shared.stopped() {
            return;
        }
        let now = Instant::now();
        let next = q.heap.peek().map(|Reverse(p)| p.release);
        match next {
            None => {
                q = shared
                    .wake
                    .wait_timeout(q, POLL)
                    .map(|(g, _)| g)
                    .unwrap_or_else(|e| e.into_inner().0);
            }
            Some(release) if release <= now => {
                if let Some(Reverse(p)) = q.heap.pop() {
                    q.bytes = q.bytes.saturating_sub(p.bytes.len());
                    drop(q);
                    let counter = if p.socket.send_to(&p.bytes, p.to).is_err() {
                        &shared.counters.dropped
                    } else if p.forward {
                        &shared.counters.forwarded
                    } else {
                        &shared.counters.returned
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                    q = shared.queue.lock().unwrap_or_else(PoisonError::into_inner);
                }
            }
            Some(release) => {
                let wait = release - now;
                if wait > SPIN {
                    q = shared
                        .wake
                        .wait_timeout(q, (wait - SPIN).min(POLL))
                        .map(|(g, _)| g)
                        .unwrap_or_else(|e| e.into_inner().0);
                } else {
                    drop(q);
                    while Instant::now() < release {
                        std::thread::yield_now();
                    }
                    q = shared.queue.lock().unwrap_or_else(PoisonError::into_inner);
                }
            }
        }
    }
}
