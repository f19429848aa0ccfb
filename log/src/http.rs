//! The log over HTTP: a server that is the only holder of the log key, and a small client.
//!
//! The server
//! - accepts submissions at `POST <prefix>/lightcone/v1/add`. What a submission is, and who may
//!   make one, is the caller's [`Admission`]: it authenticates the body and returns the entries
//!   to append, or a [`Refusal`] with an HTTP status. This crate knows only that an entry is
//!   bytes (at most 65535 of them).
//! - sequences admitted submissions on one thread that owns the [`Log`]: it waits for the first
//!   submission, then at most [`ServerConfig::max_wait`] (or until [`ServerConfig::max_batch`]
//!   entries) for more, and appends them all as **one durable batch** (one fsync round). Each
//!   submission is answered with one index per entry, one decimal per line, only once the batch
//!   and the checkpoint covering it are durable.
//! - appends an entry only once: an entry whose bytes are already in the log (or earlier in the
//!   same batch) is answered with the index it already has. A client that retries a submission
//!   whose answer it never saw (the server was killed after the batch was durable) therefore
//!   gets the same indices, and the log holds no duplicate.
//! - serves the C2SP `tlog-tiles` read API from the log directory: `<prefix>/checkpoint`
//!   (`text/plain; charset=utf-8`, `Cache-Control: no-cache`) and `<prefix>/tile/…` (hash tiles
//!   and entry bundles, `application/octet-stream`, `Cache-Control: public, max-age=31536000,
//!   immutable`). The directory layout is the URL layout, so any static web server or CDN can
//!   serve reads instead.
//!
//! Bounds: request headers 64 KiB and 10 s to arrive, a submission body [`MAX_SUBMISSION`]
//! bytes, at most [`ServerConfig::max_connections`] connections and
//! [`ServerConfig::queue`] submissions waiting for the sequencer (more are answered
//! `503 Service Unavailable` with `Retry-After`), response bodies read by the client bounded by
//! the caller. Hostile bytes end as an HTTP status or a [`LogError`], never a panic.
//!
//! Plain HTTP only: TLS, where it is wanted, is a terminating proxy in front (the submissions
//! are signed end to end by the landmark and the log data by the log and witnesses, so TLS adds
//! confidentiality, not integrity).

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, HOST, RETRY_AFTER};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::{oneshot, Semaphore};

use crate::error::{LogError, Result};
use crate::hash::{leaf_hash, Hash};
use crate::note::MAX_NOTE_SIZE;
use crate::storage::{Log, Store, CHECKPOINT_FILE};
use crate::tile::{TileKind, TilePath, MAX_ENTRY_SIZE, TILE_WIDTH};

/// Where submissions are posted, below the log's URL prefix.
pub const ADD_PATH: &str = "lightcone/v1/add";
/// Largest submission body the server reads.
pub const MAX_SUBMISSION: usize = 1 << 20;
/// Most entries one submission may carry.
pub const MAX_ENTRIES_PER_SUBMISSION: usize = 4096;
/// Largest hash tile (256 hashes).
pub const MAX_HASH_TILE: usize = TILE_WIDTH as usize * 32;
/// Largest entry bundle (256 entries of 65535 bytes, each with its 2-byte length).
pub const MAX_BUNDLE: usize = TILE_WIDTH as usize * (2 + MAX_ENTRY_SIZE);

/// Why a submission is refused: the HTTP status to answer with and a reason for the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// 400 (malformed), 401/403 (not an authorised submitter), 422 (well-formed but refused).
    pub status: u16,
    /// Said to the client in the response body.
    pub reason: String,
}

impl Refusal {
    /// A refusal with this status and reason.
    pub fn new(status: u16, reason: impl Into<String>) -> Self {
        Refusal {
            status,
            reason: reason.into(),
        }
    }
}

/// Who may submit what: authenticates a submission body and returns the entries to append.
pub trait Admission: Send + Sync + 'static {
    /// Checks `body` and returns its entries (in order), or why it is refused.
    fn admit(&self, body: &[u8]) -> std::result::Result<Vec<Vec<u8>>, Refusal>;
}

/// Tuning of the server; [`Default`] suits a small deployment.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// How long the sequencer waits for more submissions after the first of a batch.
    pub max_wait: Duration,
    /// Most entries in one batch.
    pub max_batch: usize,
    /// Most submissions waiting for the sequencer.
    pub queue: usize,
    /// Most open connections.
    pub max_connections: usize,
    /// HTTP worker threads.
    pub workers: usize,
    /// Witnesses every new checkpoint is submitted to (`tlog-witness` add-checkpoint); their
    /// cosignatures are appended to the published checkpoint.
    pub witnesses: Vec<WitnessConfig>,
    /// Least time between two witness rounds while submissions keep coming (an idle log is
    /// witnessed at once).
    pub witness_interval: Duration,
}

/// A witness the log server submits its checkpoints to.
#[derive(Clone, Debug)]
pub struct WitnessConfig {
    /// The witness's submission prefix, `http://host:port[/prefix]`.
    pub url: String,
    /// Its cosignature key (cosignatures by other keys are dropped).
    pub key: crate::witness::CosignerKey,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_wait: Duration::from_millis(2),
            max_batch: 16_384,
            queue: 4096,
            max_connections: 1024,
            workers: 2,
            witnesses: Vec::new(),
            witness_interval: Duration::from_millis(100),
        }
    }
}

type Answer = std::result::Result<Vec<u64>, String>;

struct Job {
    entries: Vec<Vec<u8>>,
    reply: oneshot::Sender<Answer>,
}

struct State {
    store: Arc<dyn Store>,
    admission: Arc<dyn Admission>,
    jobs: mpsc::SyncSender<Job>,
}

/// A running log server. Dropping it stops serving (the runtime shuts down; the sequencer
/// finishes the batch it is writing and exits).
pub struct LogServer {
    addr: SocketAddr,
    runtime: Option<tokio::runtime::Runtime>,
    sequencer: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for LogServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogServer")
            .field("addr", &self.addr)
            .finish()
    }
}

/// The leaf hash of every entry of `log`, with its index (for de-duplication).
fn index_entries(log: &Log) -> Result<HashMap<Hash, u64>> {
    let mut known = HashMap::new();
    if log.size() == 0 {
        return Ok(known);
    }
    let reader = log.reader()?;
    for entry in reader.entries() {
        let (i, bytes) = entry?;
        known.entry(leaf_hash(&bytes)).or_insert(i);
    }
    Ok(known)
}

impl LogServer {
    /// Starts serving `log` on `listener` with `admission` deciding who may submit.
    pub fn start(
        log: Log,
        listener: TcpListener,
        admission: Arc<dyn Admission>,
        config: ServerConfig,
    ) -> Result<LogServer> {
        let dir = log.dir().to_path_buf();
        let log_store = log.store().clone();
        let io = |source| LogError::Io {
            path: dir.clone(),
            source,
        };
        let addr = listener.local_addr().map_err(io)?;
        listener.set_nonblocking(true).map_err(io)?;
        let known = index_entries(&log)?;
        let (tx, rx) = mpsc::sync_channel(config.queue.max(1));
        let seq_config = config.clone();
        let sequencer = std::thread::Builder::new()
            .name("log-sequencer".into())
            .spawn(move || sequence(log, known, rx, &seq_config))
            .map_err(io)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.workers.max(1))
            .enable_io()
            .enable_time()
            .build()
            .map_err(io)?;
        let listener = {
            let _guard = runtime.enter();
            tokio::net::TcpListener::from_std(listener).map_err(io)?
        };
        let state = Arc::new(State {
            store: log_store,
            admission,
            jobs: tx,
        });
        let permits = Arc::new(Semaphore::new(config.max_connections.max(1)));
        runtime.spawn(accept_loop(listener, state, permits));
        Ok(LogServer {
            addr,
            runtime: Some(runtime),
            sequencer: Some(sequencer),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Blocks until the server stops (it runs until the process ends).
    pub fn wait(mut self) {
        if let Some(s) = self.sequencer.take() {
            let _ = s.join();
        }
    }
}

impl Drop for LogServer {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(1));
        }
        if let Some(s) = self.sequencer.take() {
            let _ = s.join();
        }
    }
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    state: Arc<State>,
    permits: Arc<Semaphore>,
) {
    serve_connections(listener, permits, move |req| handle(state.clone(), req)).await;
}

/// Accepts connections on `listener` (at most `permits` at once) and answers each request with
/// `handler`, with the bounds of this module (64 KiB of headers, 10 s to send them).
pub(crate) async fn serve_connections<F, Fut>(
    listener: tokio::net::TcpListener,
    permits: Arc<Semaphore>,
    handler: F,
) where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = std::result::Result<Resp, Infallible>> + Send + 'static,
{
    loop {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of descriptors or similar: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        tokio::spawn(async move {
            let service = service_fn(handler);
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .max_buf_size(64 << 10)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            drop(permit);
        });
    }
}

/// What the sequencer knows of its witnesses: a client and the size each last cosigned.
struct Witnessing {
    witnesses: Vec<(WitnessConfig, Option<LogClient>, u64)>,
    last: Instant,
    pending: bool,
}

impl Witnessing {
    fn new(config: &ServerConfig) -> Self {
        Witnessing {
            witnesses: config
                .witnesses
                .iter()
                .map(|w| {
                    let client = LogClient::new(&w.url, Duration::from_secs(10)).ok();
                    (w.clone(), client, 0)
                })
                .collect(),
            last: Instant::now(),
            pending: !config.witnesses.is_empty(),
        }
    }

    /// Submits the log's current checkpoint to every witness and publishes it with the
    /// cosignatures that verify. A witness that is down or refuses is reported and skipped.
    fn round(&mut self, log: &Log) {
        self.last = Instant::now();
        self.pending = false;
        let note = log.checkpoint().note().to_vec();
        let size = log.size();
        let mut lines = String::new();
        for (w, client, known) in &mut self.witnesses {
            let Some(client) = client.as_ref() else {
                continue;
            };
            for _attempt in 0..2 {
                let body = match add_checkpoint_body(log, *known, &note) {
                    Ok(b) => b,
                    Err(e) => {
                        eprintln!("lightcone: witness {}: no proof from {known}: {e}", w.url);
                        break;
                    }
                };
                match client.post("add-checkpoint", body, 64 << 10) {
                    Ok(r) if r.status == 200 => {
                        let line = String::from_utf8_lossy(&r.body).into_owned();
                        let mut cosigned = note.clone();
                        cosigned.extend_from_slice(line.as_bytes());
                        match crate::witness::cosigners(&cosigned, std::slice::from_ref(&w.key)) {
                            Ok(names) if !names.is_empty() => {
                                *known = size;
                                for l in line.lines() {
                                    if l.starts_with(&format!("\u{2014} {} ", w.key.name())) {
                                        lines.push_str(l);
                                        lines.push('\n');
                                    }
                                }
                            }
                            _ => eprintln!("lightcone: witness {}: no valid cosignature", w.url),
                        }
                        break;
                    }
                    Ok(r) if r.status == 409 => {
                        // Our idea of its size was stale: retry once from the size it holds.
                        match std::str::from_utf8(&r.body)
                            .ok()
                            .and_then(|t| t.trim().parse::<u64>().ok())
                        {
                            Some(n) if n <= size && n != *known => *known = n,
                            _ => {
                                eprintln!(
                                    "lightcone: witness {} refuses (409 {}): it saw another history",
                                    w.url,
                                    String::from_utf8_lossy(&r.body).trim()
                                );
                                break;
                            }
                        }
                    }
                    Ok(r) => {
                        eprintln!(
                            "lightcone: witness {}: HTTP {} {}",
                            w.url,
                            r.status,
                            String::from_utf8_lossy(&r.body).trim()
                        );
                        break;
                    }
                    Err(e) => {
                        eprintln!("lightcone: witness {}: {e}", w.url);
                        self.pending = true;
                        break;
                    }
                }
            }
        }
        if lines.is_empty() {
            return;
        }
        let mut published = note;
        published.extend_from_slice(lines.as_bytes());
        if let Err(e) = log.store().publish_checkpoint(&published) {
            eprintln!("lightcone: publishing the cosigned checkpoint: {e}");
        }
    }
}

/// An `add-checkpoint` body: `old N`, the consistency proof from N, a blank line, the note.
fn add_checkpoint_body(log: &Log, old: u64, note: &[u8]) -> Result<Vec<u8>> {
    let mut body = format!("old {old}\n");
    if old > 0 && old < log.size() {
        for h in log.reader()?.consistency_proof(old)? {
            body.push_str(&crate::hash::hash_to_base64(&h));
            body.push('\n');
        }
    }
    body.push('\n');
    let mut body = body.into_bytes();
    body.extend_from_slice(note);
    Ok(body)
}

/// The sequencer: batches submissions, appends each batch durably, answers; between batches,
/// has the newest checkpoint cosigned by the witnesses.
fn sequence(
    mut log: Log,
    mut known: HashMap<Hash, u64>,
    jobs: mpsc::Receiver<Job>,
    config: &ServerConfig,
) {
    let mut witnessing = Witnessing::new(config);
    if witnessing.pending && log.size() > 0 {
        witnessing.round(&log);
    }
    loop {
        let first = if witnessing.pending {
            match jobs.recv_timeout(config.witness_interval) {
                Ok(j) => j,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    witnessing.round(&log);
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
        } else {
            match jobs.recv() {
                Ok(j) => j,
                Err(_) => return,
            }
        };
        let now = Instant::now();
        let deadline = now.checked_add(config.max_wait).unwrap_or(now);
        let mut count = first.entries.len();
        let mut batch = vec![first];
        while count < config.max_batch {
            let left = deadline.saturating_duration_since(Instant::now());
            match jobs.recv_timeout(left) {
                Ok(job) => {
                    count = count.saturating_add(job.entries.len());
                    batch.push(job);
                }
                Err(_) => break,
            }
        }
        let base = log.size();
        let mut fresh: HashMap<Hash, u64> = HashMap::new();
        let mut new_entries: Vec<&[u8]> = Vec::new();
        let mut answers: Vec<Vec<u64>> = Vec::with_capacity(batch.len());
        for job in &batch {
            let mut indices = Vec::with_capacity(job.entries.len());
            for entry in &job.entries {
                let h = leaf_hash(entry);
                let index = match known.get(&h).or_else(|| fresh.get(&h)) {
                    Some(&i) => i,
                    None => {
                        let i = base.saturating_add(new_entries.len() as u64);
                        fresh.insert(h, i);
                        new_entries.push(entry);
                        i
                    }
                };
                indices.push(index);
            }
            answers.push(indices);
        }
        let appended = log.append_batch(&new_entries);
        match appended {
            Ok(range) => {
                known.extend(fresh);
                for (job, indices) in batch.into_iter().zip(answers) {
                    let _ = job.reply.send(Ok(indices));
                }
                if !range.is_empty() && !witnessing.witnesses.is_empty() {
                    witnessing.pending = true;
                    if witnessing.last.elapsed() >= config.witness_interval {
                        witnessing.round(&log);
                    }
                }
            }
            Err(e) => {
                let reason = e.to_string();
                for job in batch {
                    let _ = job.reply.send(Err(reason.clone()));
                }
            }
        }
    }
}

pub(crate) type Resp = Response<Full<Bytes>>;

pub(crate) fn text(status: StatusCode, body: impl Into<String>) -> Resp {
    let mut body: String = body.into();
    if !body.ends_with('\n') {
        body.push('\n');
    }
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> std::result::Result<Resp, Infallible> {
    let path = req.uri().path().trim_start_matches('/').to_owned();
    Ok(match (req.method(), path.as_str()) {
        (&Method::POST, ADD_PATH) => add(&state, req).await,
        (&Method::GET, p) => {
            // Store reads block (a file read, or an S3 GET on the store's own runtime).
            let (state, p) = (state.clone(), p.to_owned());
            tokio::task::spawn_blocking(move || read(state.store.as_ref(), &p))
                .await
                .unwrap_or_else(|_| text(StatusCode::INTERNAL_SERVER_ERROR, "read failed"))
        }
        (_, ADD_PATH) => text(StatusCode::METHOD_NOT_ALLOWED, "POST submissions here"),
        _ => text(StatusCode::METHOD_NOT_ALLOWED, "only GET is served here"),
    })
}

async fn add(state: &State, req: Request<Incoming>) -> Resp {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(n) = declared.filter(|&n| n > MAX_SUBMISSION as u64) {
        // A body up to twice the limit is read and dropped first: answering while the client
        // still writes makes the server close on unread bytes, and the reset can destroy the
        // 413 before the client reads it (it would then retry instead of giving up).
        if n <= 2 * MAX_SUBMISSION as u64 {
            let _ = Limited::new(req.into_body(), 2 * MAX_SUBMISSION)
                .collect()
                .await;
        }
        return text(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("a submission is at most {MAX_SUBMISSION} bytes"),
        );
    }
    let body = match Limited::new(req.into_body(), MAX_SUBMISSION)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return text(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("a submission is at most {MAX_SUBMISSION} bytes"),
            )
        }
        Err(e) => return text(StatusCode::BAD_REQUEST, format!("reading the body: {e}")),
    };
    let entries = match state.admission.admit(&body) {
        Ok(entries) => entries,
        Err(r) => {
            let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_REQUEST);
            return text(status, r.reason);
        }
    };
    if entries.is_empty() || entries.len() > MAX_ENTRIES_PER_SUBMISSION {
        return text(
            StatusCode::BAD_REQUEST,
            format!("a submission carries 1 to {MAX_ENTRIES_PER_SUBMISSION} entries"),
        );
    }
    if entries.iter().any(|e| e.len() > MAX_ENTRY_SIZE) {
        return text(
            StatusCode::BAD_REQUEST,
            format!("an entry is at most {MAX_ENTRY_SIZE} bytes"),
        );
    }
    let (reply, answer) = oneshot::channel();
    if state.jobs.try_send(Job { entries, reply }).is_err() {
        let mut r = text(
            StatusCode::SERVICE_UNAVAILABLE,
            "the sequencer is busy; retry",
        );
        r.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("1"));
        return r;
    }
    match answer.await {
        Ok(Ok(indices)) => {
            let mut body = String::with_capacity(indices.len() * 8);
            for i in indices {
                body.push_str(&i.to_string());
                body.push('\n');
            }
            text(StatusCode::OK, body)
        }
        Ok(Err(reason)) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the log could not store the batch: {reason}"),
        ),
        Err(_) => text(StatusCode::SERVICE_UNAVAILABLE, "the log is shutting down"),
    }
}

fn read(store: &dyn Store, path: &str) -> Resp {
    let (name, limit, content_type, cache) = if path == CHECKPOINT_FILE {
        (
            CHECKPOINT_FILE.to_owned(),
            MAX_NOTE_SIZE,
            "text/plain; charset=utf-8",
            "no-cache",
        )
    } else {
        match TilePath::parse(path) {
            Ok(t) => (
                t.to_path_string(),
                if t.kind == TileKind::Entries {
                    MAX_BUNDLE
                } else {
                    MAX_HASH_TILE
                },
                "application/octet-stream",
                "public, max-age=31536000, immutable",
            ),
            Err(_) => return text(StatusCode::NOT_FOUND, "no such resource"),
        }
    };
    match store.read(&name, limit as u64) {
        Ok(bytes) => {
            let mut r = Response::new(Full::new(Bytes::from(bytes)));
            r.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
            r.headers_mut()
                .insert(CACHE_CONTROL, HeaderValue::from_static(cache));
            r
        }
        Err(LogError::MissingFile { .. }) => text(StatusCode::NOT_FOUND, "no such resource"),
        Err(_) => text(StatusCode::INTERNAL_SERVER_ERROR, "resource unreadable"),
    }
}

/// A plain-HTTP client of one log URL (`http://host:port[/prefix]`): blocking calls, one
/// connection per request, every response body bounded.
#[derive(Debug)]
pub struct LogClient {
    url: String,
    authority: String,
    prefix: String,
    timeout: Duration,
    runtime: tokio::runtime::Runtime,
}

/// A response: status and body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// The body (bounded by the caller's limit).
    pub body: Vec<u8>,
}

impl LogClient {
    /// A client of `url`; each request gives up after `timeout`.
    pub fn new(url: &str, timeout: Duration) -> Result<LogClient> {
        let bad = |reason: &str| LogError::Http {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let rest = match url.strip_prefix("http://") {
            Some(r) => r,
            None if url.starts_with("https://") => {
                return Err(bad(
                    "https is not built in; put the log behind a TLS-terminating proxy and reach it over http on the trusted side",
                ))
            }
            None => return Err(bad("the URL must start with http://")),
        };
        let (authority, prefix) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        if authority.is_empty()
            || authority.contains('@')
            || !authority
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b))
        {
            return Err(bad("the URL needs a host[:port] with no user info"));
        }
        if prefix.bytes().any(|b| b == b'?' || b == b'#' || b <= b' ') {
            return Err(bad(
                "the URL path may not carry a query, fragment or spaces",
            ));
        }
        let authority = if authority.contains(':') && !authority.ends_with(']') {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| bad(&e.to_string()))?;
        Ok(LogClient {
            url: url.trim_end_matches('/').to_owned(),
            authority,
            prefix: prefix.to_owned(),
            timeout,
            runtime,
        })
    }

    /// The log URL (without a trailing slash).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `GET <prefix>/<path>`, reading at most `limit` bytes of body.
    pub fn get(&self, path: &str, limit: usize) -> Result<Reply> {
        self.request(Method::GET, path, Bytes::new(), limit)
    }

    /// `POST <prefix>/<path>` with `body`, reading at most `limit` bytes of answer.
    pub fn post(&self, path: &str, body: Vec<u8>, limit: usize) -> Result<Reply> {
        self.request(Method::POST, path, Bytes::from(body), limit)
    }

    fn request(&self, method: Method, path: &str, body: Bytes, limit: usize) -> Result<Reply> {
        let full = format!("{}/{}", self.prefix, path.trim_start_matches('/'));
        let err = |reason: String| LogError::Http {
            url: format!("{}/{}", self.url, path.trim_start_matches('/')),
            reason,
        };
        let fut = async {
            let stream = tokio::net::TcpStream::connect(&self.authority)
                .await
                .map_err(|e| format!("connect: {e}"))?;
            let _ = stream.set_nodelay(true);
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| format!("handshake: {e}"))?;
            let conn = tokio::spawn(conn);
            let host = self
                .authority
                .strip_suffix(":80")
                .unwrap_or(&self.authority);
            let req = Request::builder()
                .method(method)
                .uri(full.as_str())
                .header(HOST, host)
                .header(CONTENT_LENGTH, body.len())
                .body(Full::new(body))
                .map_err(|e| format!("request: {e}"))?;
            let res = sender
                .send_request(req)
                .await
                .map_err(|e| format!("request: {e}"))?;
            let status = res.status().as_u16();
            let body = Limited::new(res.into_body(), limit)
                .collect()
                .await
                .map_err(|e| format!("reading the response (limit {limit} bytes): {e}"))?
                .to_bytes();
            drop(sender);
            conn.abort();
            Ok::<_, String>(Reply {
                status,
                body: body.to_vec(),
            })
        };
        match self
            .runtime
            .block_on(async { tokio::time::timeout(self.timeout, fut).await })
        {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(reason)) => Err(err(reason)),
            Err(_) => Err(err(format!("no answer within {:?}", self.timeout))),
        }
    }
}

/// Copies the log served at `client`'s URL (any `tlog-tiles` server: `lightcone log serve`, a
/// static web server, a CDN) into `dir`, for a local audit of exactly those bytes.
///
/// The checkpoint is fetched first and pins the tree size; then every entry bundle and hash
/// tile that size needs (a partial tile that is gone is replaced by the full tile, as the spec
/// allows). Full tiles already in `dir` from an earlier mirror are kept, not fetched again
/// (tiles are immutable, and the audit re-derives every one from the entries anyway). Nothing
/// here is trusted: the audit verifies the checkpoint's signatures and hashes every byte
/// against it, so a server that changes bytes between fetches (another fork's tiles under this
/// checkpoint) makes the audit fail, never mix forks. Each fetch is retried `retries` times
/// with backoff on connection errors and 5xx answers; a 404 is a missing file. The
/// checkpoint's signature is checked against `key` before anything else is fetched, so a
/// server cannot make the mirror fetch an unsigned tree of any size. Returns the tree size.
pub fn mirror(
    client: &LogClient,
    key: &crate::note::VerifierKey,
    dir: &Path,
    retries: u32,
) -> Result<u64> {
    use crate::checkpoint::open_checkpoint;
    use crate::tile::{hashes_at_level, tile_for_size};
    let mkdir = |p: &Path| {
        std::fs::create_dir_all(p).map_err(|source| LogError::Io {
            path: p.to_path_buf(),
            source,
        })
    };
    mkdir(dir)?;
    let note = fetch(client, CHECKPOINT_FILE, MAX_NOTE_SIZE, retries)?.ok_or_else(|| {
        LogError::MissingFile {
            path: PathBuf::from(format!("{}/{CHECKPOINT_FILE}", client.url())),
        }
    })?;
    let size = open_checkpoint(&note, key)?.size();
    let levels = (0..=crate::tile::MAX_LEVEL).take_while(|&l| hashes_at_level(size, l) > 0);
    for kind in std::iter::once(TileKind::Entries).chain(levels.map(TileKind::Level)) {
        let limit = if kind == TileKind::Entries {
            MAX_BUNDLE
        } else {
            MAX_HASH_TILE
        };
        let mut index = 0u64;
        while let Some(tile) = tile_for_size(kind, index, size) {
            index = index.saturating_add(1);
            let full = tile.full();
            let full_path = dir.join(full.to_path_string());
            if tile.is_full() && full_path.is_file() {
                continue;
            }
            let (path, bytes) = match fetch(client, &tile.to_path_string(), limit, retries)? {
                Some(b) => (dir.join(tile.to_path_string()), b),
                None if !tile.is_full() => {
                    match fetch(client, &full.to_path_string(), limit, retries)? {
                        Some(b) => (full_path, b),
                        None => {
                            return Err(LogError::MissingFile {
                                path: PathBuf::from(format!("{}/{tile}", client.url())),
                            })
                        }
                    }
                }
                None => {
                    return Err(LogError::MissingFile {
                        path: PathBuf::from(format!("{}/{tile}", client.url())),
                    })
                }
            };
            if let Some(parent) = path.parent() {
                mkdir(parent)?;
            }
            std::fs::write(&path, &bytes).map_err(|source| LogError::Io {
                path: path.clone(),
                source,
            })?;
        }
    }
    let cp = dir.join(CHECKPOINT_FILE);
    std::fs::write(&cp, &note).map_err(|source| LogError::Io { path: cp, source })?;
    Ok(size)
}

/// GET with retries: `Some(body)` on 200, `None` on 404, an error otherwise.
fn fetch(client: &LogClient, path: &str, limit: usize, retries: u32) -> Result<Option<Vec<u8>>> {
    let mut backoff = Duration::from_millis(100);
    let mut attempt = 0u32;
    loop {
        let failure = match client.get(path, limit) {
            Ok(r) if r.status == 200 => return Ok(Some(r.body)),
            Ok(r) if r.status == 404 => return Ok(None),
            Ok(r) if r.status < 500 && r.status != 429 => {
                return Err(LogError::HttpStatus {
                    url: format!("{}/{path}", client.url()),
                    status: r.status,
                    reason: String::from_utf8_lossy(&r.body).chars().take(200).collect(),
                })
            }
            Ok(r) => LogError::HttpStatus {
                url: format!("{}/{path}", client.url()),
                status: r.status,
                reason: String::from_utf8_lossy(&r.body).chars().take(200).collect(),
            },
            Err(e) => e,
        };
        if attempt >= retries {
            return Err(failure);
        }
        attempt += 1;
        std::thread::sleep(backoff);
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}
