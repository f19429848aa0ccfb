//! Witnesses: C2SP `tlog-witness` v1 (`add-checkpoint`) with C2SP `tlog-cosignature` v1
//! Ed25519 cosignatures.
//!
//! A [`Witness`] knows the logs it witnesses (their note verifier keys, by origin) and, for each,
//! the size and root of the latest checkpoint it cosigned, persisted in its state directory
//! (written to a temporary file, fsynced, renamed, directory fsynced) **before** it answers. The
//! check of the old size and the update happen under one lock, so two concurrent requests
//! cannot roll the state back. Per the spec:
//!
//! | request | answer |
//! |---|---|
//! | unparsable body, old size above the checkpoint size, more than 63 proof lines | 400 |
//! | checkpoint of an origin the witness does not know | 404 |
//! | no valid signature of the log's key | 403 |
//! | old size ≠ the size last cosigned (body: that size, `text/x.tlog.size`) | 409 |
//! | same size as last cosigned but another root (a split view) | 409 |
//! | consistency proof does not verify | 422 |
//! | otherwise | 200: one cosignature line |
//!
//! A cosignature line is `— <witness name> base64(key ID ‖ u64 BE timestamp ‖ Ed25519
//! signature)`, key ID = SHA-256(name ‖ "\n" ‖ 0x04 ‖ public key)[:4], over
//! `cosignature/v1\ntime <timestamp>\n` followed by the checkpoint's note text.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use http_body_util::{BodyExt as _, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, StatusCode};
use sha2::{Digest as _, Sha256};
use tokio::sync::Semaphore;

use crate::checkpoint::{open_checkpoint, Checkpoint};
use crate::error::{LogError, Result};
use crate::hash::{hash_from_base64, hash_to_base64, Hash};
use crate::http::{serve_connections, text, Resp};
use crate::note::{
    is_valid_key_name, key_id, parse_note, NoteSignature, VerifierKey, MAX_NOTE_SIZE,
};
use crate::proof::verify_consistency;

/// Signature type byte of `tlog-cosignature` v1 Ed25519 keys.
pub const ALG_COSIGNATURE_V1: u8 = 0x04;
/// Most consistency proof lines in an `add-checkpoint` request.
pub const MAX_PROOF_LINES: usize = 63;
/// Largest `add-checkpoint` body read.
pub const MAX_ADD_CHECKPOINT: usize = MAX_NOTE_SIZE + 64 * 64;

/// A witness's public key, as clients are configured with it: `name+hexid+base64(0x04 ‖ key)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CosignerKey {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl CosignerKey {
    /// The key of witness `name`.
    pub fn new(name: &str, key: VerifyingKey) -> Result<Self> {
        if !is_valid_key_name(name) {
            return Err(LogError::MalformedKey("invalid witness name"));
        }
        Ok(CosignerKey {
            name: name.to_owned(),
            id: key_id(name, ALG_COSIGNATURE_V1, key.as_bytes()),
            key,
        })
    }

    /// Parses `name+hexid+base64(0x04 ‖ 32-byte key)`, checking the key ID.
    pub fn parse(s: &str) -> Result<Self> {
        let mut parts = s.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(LogError::MalformedKey("expected name+keyid+key"));
        };
        if id.len() != 8 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(LogError::MalformedKey("key ID must be 8 hex digits"));
        }
        let id = u32::from_str_radix(id, 16).map_err(|_| LogError::MalformedKey("bad key ID"))?;
        let raw = B64
            .decode(b64)
            .map_err(|_| LogError::MalformedKey("key is not base64"))?;
        let Some((&ALG_COSIGNATURE_V1, key)) = raw.split_first() else {
            return Err(LogError::MalformedKey("not a cosignature/v1 (0x04) key"));
        };
        let key: [u8; 32] = key
            .try_into()
            .map_err(|_| LogError::MalformedKey("Ed25519 key must be 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&key)
            .map_err(|_| LogError::MalformedKey("not an Ed25519 public key"))?;
        let k = CosignerKey::new(name, key)?;
        if k.id != id {
            return Err(LogError::MalformedKey("key ID does not match name and key"));
        }
        Ok(k)
    }

    /// The witness name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Verifies one signature line of a note with text `text`; returns its timestamp.
    fn verify(&self, text: &str, sig: &NoteSignature) -> Option<u64> {
        if sig.name != self.name || sig.id != self.id || sig.signature.len() != 72 {
            return None;
        }
        let (ts, s) = sig.signature.split_first_chunk::<8>()?;
        let ts = u64::from_be_bytes(*ts);
        let s = Signature::from_slice(s).ok()?;
        self.key
            .verify_strict(cosigned_message(text, ts).as_bytes(), &s)
            .ok()
            .map(|()| ts)
    }
}

impl std::fmt::Display for CosignerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut raw = vec![ALG_COSIGNATURE_V1];
        raw.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{:08x}+{}", self.name, self.id, B64.encode(raw))
    }
}

fn cosigned_message(text: &str, timestamp: u64) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{text}")
}

/// The cosignature line by `name`/`key` on a checkpoint whose note text is `text`.
pub fn cosign(name: &str, key: &SigningKey, text: &str, timestamp: u64) -> String {
    let id = key_id(name, ALG_COSIGNATURE_V1, key.verifying_key().as_bytes());
    let sig = key.sign(cosigned_message(text, timestamp).as_bytes());
    let mut raw = id.to_be_bytes().to_vec();
    raw.extend_from_slice(&timestamp.to_be_bytes());
    raw.extend_from_slice(&sig.to_bytes());
    format!("\u{2014} {name} {}\n", B64.encode(raw))
}

/// The witnesses among `keys` whose valid cosignature the signed note `note` carries. A
/// signature line that names a known witness but does not verify is an error (a forged or
/// corrupted cosignature is not silently skipped).
pub fn cosigners(note: &[u8], keys: &[CosignerKey]) -> Result<Vec<String>> {
    let parsed = parse_note(note)?;
    let mut out: Vec<String> = Vec::new();
    for sig in &parsed.signatures {
        let Some(k) = keys.iter().find(|k| k.name == sig.name && k.id == sig.id) else {
            continue;
        };
        if k.verify(&parsed.text, sig).is_none() {
            return Err(LogError::BadSignature {
                key: format!("{}+{:08x}", k.name, k.id),
            });
        }
        if !out.contains(&k.name) {
            out.push(k.name.clone());
        }
    }
    Ok(out)
}

/// Why `add-checkpoint` refused: status, body and content type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessRefusal {
    /// HTTP status.
    pub status: u16,
    /// Response body.
    pub body: String,
    /// `text/x.tlog.size` for a 409 on the old size, else plain text.
    pub size_conflict: bool,
}

fn refuse(status: u16, body: impl Into<String>) -> WitnessRefusal {
    WitnessRefusal {
        status,
        body: body.into(),
        size_conflict: false,
    }
}

/// A witness: its key, the logs it witnesses, and their latest cosigned state.
pub struct Witness {
    name: String,
    key: SigningKey,
    logs: Vec<VerifierKey>,
    state_dir: PathBuf,
    state: Mutex<HashMap<String, (u64, Hash)>>,
}

impl std::fmt::Debug for Witness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Witness")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

fn state_file(dir: &Path, origin: &str) -> PathBuf {
    let d = Sha256::digest(origin.as_bytes());
    let hex: String = d.iter().take(16).map(|b| format!("{b:02x}")).collect();
    dir.join(hex)
}

impl Witness {
    /// A witness named `name` with `key`, witnessing `logs`, keeping its state in `state_dir`
    /// (created; state written by an earlier run is loaded).
    pub fn open(
        name: &str,
        key: SigningKey,
        logs: Vec<VerifierKey>,
        state_dir: &Path,
    ) -> Result<Self> {
        CosignerKey::new(name, key.verifying_key())?;
        fs::create_dir_all(state_dir).map_err(|e| LogError::io(state_dir, e))?;
        let mut state = HashMap::new();
        for log in &logs {
            let path = state_file(state_dir, log.name());
            let bytes =
                match crate::bounded_file::read(&path, 4096, crate::bounded_file::Links::Refuse) {
                    Ok(b) => b,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(LogError::io(&path, e)),
                };
            let text = String::from_utf8(bytes).map_err(|_| LogError::TornTile {
                path: path.clone(),
                reason: "witness state is not UTF-8".into(),
            })?;
            let mut lines = text.lines();
            let parsed = (|| {
                if lines.next()? != log.name() {
                    return None;
                }
                let size: u64 = lines.next()?.parse().ok()?;
                let root = hash_from_base64(lines.next()?).ok()?;
                Some((size, root))
            })();
            let Some(entry) = parsed else {
                return Err(LogError::TornTile {
                    path,
                    reason: "malformed witness state".into(),
                });
            };
            state.insert(log.name().to_owned(), entry);
        }
        Ok(Witness {
            name: name.to_owned(),
            key,
            logs,
            state_dir: state_dir.to_path_buf(),
            state: Mutex::new(state),
        })
    }

    /// This witness's public key.
    pub fn cosigner_key(&self) -> CosignerKey {
        // The name was checked in `open`.
        CosignerKey {
            name: self.name.clone(),
            id: key_id(
                &self.name,
                ALG_COSIGNATURE_V1,
                self.key.verifying_key().as_bytes(),
            ),
            key: self.key.verifying_key(),
        }
    }

    /// The latest cosigned size and root for `origin`.
    pub fn latest(&self, origin: &str) -> Option<(u64, Hash)> {
        self.state.lock().ok()?.get(origin).copied()
    }

    fn persist(&self, origin: &str, size: u64, root: &Hash) -> Result<()> {
        let path = state_file(&self.state_dir, origin);
        let tmp = path.with_extension("tmp");
        let body = format!("{origin}\n{size}\n{}\n", hash_to_base64(root));
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(|e| LogError::io(&tmp, e))?;
        f.write_all(body.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| LogError::io(&tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| LogError::io(&path, e))?;
        File::open(&self.state_dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| LogError::io(&self.state_dir, e))
    }

    /// Handles an `add-checkpoint` body at Unix time `now`: the cosignature line, or why not.
    pub fn add_checkpoint(
        &self,
        body: &[u8],
        now: u64,
    ) -> std::result::Result<String, WitnessRefusal> {
        let text = std::str::from_utf8(body).map_err(|_| refuse(400, "not UTF-8"))?;
        let (head, note) = text
            .split_once("\n\n")
            .ok_or_else(|| refuse(400, "missing the empty line before the checkpoint"))?;
        let mut lines = head.split('\n');
        let old: u64 = lines
            .next()
            .and_then(|l| l.strip_prefix("old "))
            .filter(|n| *n == "0" || (!n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit())))
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| refuse(400, "first line must be `old <size>`"))?;
        let mut proof = Vec::new();
        for l in lines {
            if proof.len() >= MAX_PROOF_LINES {
                return Err(refuse(400, "more than 63 proof lines"));
            }
            proof.push(
                hash_from_base64(l).map_err(|_| refuse(400, "proof line is not a base64 hash"))?,
            );
        }
        let parsed = parse_note(note.as_bytes()).map_err(|e| refuse(400, e.to_string()))?;
        let unverified =
            Checkpoint::parse_text(&parsed.text).map_err(|e| refuse(400, e.to_string()))?;
        let Some(log_key) = self.logs.iter().find(|k| k.name() == unverified.origin) else {
            return Err(refuse(404, "unknown log origin"));
        };
        let cp = open_checkpoint(note.as_bytes(), log_key)
            .map_err(|_| refuse(403, "no valid signature by the log's key"))?;
        if old > cp.size() {
            return Err(refuse(400, "old size is above the checkpoint size"));
        }
        let mut state = self
            .state
            .lock()
            .map_err(|_| refuse(500, "witness state poisoned"))?;
        let (last_size, last_root) = state
            .get(cp.origin())
            .copied()
            .unwrap_or((0, crate::hash::empty_root()));
        if old != last_size {
            return Err(WitnessRefusal {
                status: 409,
                body: format!("{last_size}\n"),
                size_conflict: true,
            });
        }
        if old == cp.size() {
            if *cp.root() != last_root {
                return Err(refuse(
                    409,
                    "same size as the latest cosigned checkpoint, another root: a split view",
                ));
            }
        } else if old == 0 {
            if !proof.is_empty() {
                return Err(refuse(422, "the proof from size 0 must be empty"));
            }
        } else if verify_consistency(old, cp.size(), &last_root, cp.root(), &proof).is_err() {
            return Err(refuse(422, "consistency proof does not verify"));
        }
        self.persist(cp.origin(), cp.size(), cp.root())
            .map_err(|e| refuse(500, format!("could not persist the witness state: {e}")))?;
        state.insert(cp.origin().to_owned(), (cp.size(), *cp.root()));
        drop(state);
        Ok(cosign(&self.name, &self.key, &parsed.text, now))
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

async fn handle(
    w: Arc<Witness>,
    req: Request<Incoming>,
) -> std::result::Result<Resp, std::convert::Infallible> {
    let path = req.uri().path().trim_start_matches('/').to_owned();
    if path != "add-checkpoint" {
        return Ok(text(StatusCode::NOT_FOUND, "POST /add-checkpoint"));
    }
    if req.method() != Method::POST {
        return Ok(text(StatusCode::METHOD_NOT_ALLOWED, "POST /add-checkpoint"));
    }
    let body = match Limited::new(req.into_body(), MAX_ADD_CHECKPOINT)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(_) => return Ok(text(StatusCode::PAYLOAD_TOO_LARGE, "request too large")),
    };
    let w2 = w.clone();
    let answer = tokio::task::spawn_blocking(move || w2.add_checkpoint(&body, unix_now())).await;
    Ok(match answer {
        Ok(Ok(line)) => text(StatusCode::OK, line),
        Ok(Err(r)) => {
            let mut resp = text(
                StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_REQUEST),
                r.body,
            );
            if r.size_conflict {
                resp.headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static("text/x.tlog.size"));
            }
            resp
        }
        Err(_) => text(StatusCode::INTERNAL_SERVER_ERROR, "witness task failed"),
    })
}

/// A running witness server (`POST /add-checkpoint`); dropping it stops serving.
pub struct WitnessServer {
    addr: SocketAddr,
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for WitnessServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WitnessServer")
            .field("addr", &self.addr)
            .finish()
    }
}

impl WitnessServer {
    /// Serves `witness` on `listener`.
    pub fn start(witness: Witness, listener: TcpListener) -> Result<Self> {
        let io = |e| LogError::io("witness listener", e);
        let addr = listener.local_addr().map_err(io)?;
        listener.set_nonblocking(true).map_err(io)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_io()
            .enable_time()
            .build()
            .map_err(io)?;
        let listener = {
            let _g = runtime.enter();
            tokio::net::TcpListener::from_std(listener).map_err(io)?
        };
        let w = Arc::new(witness);
        let permits = Arc::new(Semaphore::new(256));
        runtime.spawn(serve_connections(listener, permits, move |req| {
            handle(w.clone(), req)
        }));
        Ok(WitnessServer {
            addr,
            runtime: Some(runtime),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until the process ends.
    pub fn wait(self) {
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
}

impl Drop for WitnessServer {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(1));
        }
    }
}
