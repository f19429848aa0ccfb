//! Landmarks submit to a log server instead of writing the log: the server is the only holder
//! of the log key, and a landmark holds only its own landmark key.
//!
//! A submission is
//!
//! ```text
//! "lightcone-submission/v1\n"
//! u16 BE length ‖ the landmark certificate (wire encoding)
//! u16 BE count  ‖ count × (u16 BE length ‖ entry)
//! 64-byte Ed25519 signature by the certified landmark key over
//!     "lightcone log submission v1\0" ‖ log origin ‖ "\0" ‖ every byte above
//! ```
//!
//! The server ([`LandmarkAdmission`]) refuses, with an HTTP status:
//! - 400 a malformed submission (any trailing or missing byte, a certificate that is not
//!   canonical);
//! - 403 a certificate the trust file's registry did not sign, or one not valid now (expired);
//! - 401 a signature that is not the certified landmark key's over this log's origin (so a
//!   submission for another log cannot be replayed here);
//! - 422 an entry that is not a log record, a measurement of another landmark, or another
//!   landmark's certificate.
//!
//! Replaying an accepted submission is harmless: the server appends each distinct entry once
//! and answers a repeat with the index it has.
//!
//! The landmark side ([`Submitter`]) writes every submission durably to an outbox directory
//! before sending it and removes it only when the server has acknowledged it, so a landmark
//! restart loses nothing; undelivered submissions are retried with exponential backoff.

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ed25519_dalek::{Signer as _, SigningKey};
use lightcone::ed25519::{verify, PreparedKey};
use lightcone::wire::Bytes;
use lightcone::{
    DeviceCertificate, LandmarkCertificate, LogEntry, LogRecord, Measurement, Signature, Wire,
};

use super::error::NetError;
use super::logbook::{probe_records, LogSink};
use crate::log::http::{Admission, LogClient, Refusal, ADD_PATH, MAX_SUBMISSION};
use crate::registry::Trust;

/// First bytes of every submission.
pub const SUBMISSION_MAGIC: &[u8] = b"lightcone-submission/v1\n";
/// Domain separation of the landmark's signature over a submission.
pub const SUBMISSION_DOMAIN: &[u8] = b"lightcone log submission v1\0";
/// Largest answer read from the server.
const MAX_ANSWER: usize = 1 << 20;

fn signed_message(origin: &str, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(SUBMISSION_DOMAIN.len() + origin.len() + 1 + body.len());
    m.extend_from_slice(SUBMISSION_DOMAIN);
    m.extend_from_slice(origin.as_bytes());
    m.push(0);
    m.extend_from_slice(body);
    m
}

fn push_u16_prefixed(out: &mut Vec<u8>, bytes: &[u8]) -> Result<(), NetError> {
    let len = u16::try_from(bytes.len()).map_err(|_| NetError::Config {
        path: PathBuf::from("<submission>"),
        reason: format!("an entry of {} bytes is over 65535", bytes.len()),
    })?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
    Ok(())
}

/// Encodes and signs a submission of `entries` to the log `origin`.
pub fn encode_submission(
    origin: &str,
    cert: &LandmarkCertificate,
    key: &SigningKey,
    entries: &[Vec<u8>],
) -> Result<Vec<u8>, NetError> {
    let mut body = SUBMISSION_MAGIC.to_vec();
    push_u16_prefixed(&mut body, &cert.to_vec())?;
    let count = u16::try_from(entries.len()).map_err(|_| NetError::Config {
        path: PathBuf::from("<submission>"),
        reason: "more than 65535 entries in one submission".into(),
    })?;
    body.extend_from_slice(&count.to_be_bytes());
    for e in entries {
        push_u16_prefixed(&mut body, e)?;
    }
    let sig = key.sign(&signed_message(origin, &body));
    body.extend_from_slice(&sig.to_bytes());
    if body.len() > MAX_SUBMISSION {
        return Err(NetError::Config {
            path: PathBuf::from("<submission>"),
            reason: format!(
                "a submission of {} bytes is over {MAX_SUBMISSION}",
                body.len()
            ),
        });
    }
    Ok(body)
}

/// A decoded, not yet checked submission.
struct Parsed<'a> {
    cert: LandmarkCertificate,
    entries: Vec<&'a [u8]>,
    signed: &'a [u8],
    signature: [u8; 64],
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    let (head, tail) = rest.split_at_checked(n)?;
    *rest = tail;
    Some(head)
}

fn take_u16(rest: &mut &[u8]) -> Option<usize> {
    let b = take(rest, 2)?;
    Some(usize::from(u16::from_be_bytes([*b.first()?, *b.get(1)?])))
}

fn parse(body: &[u8]) -> Option<Parsed<'_>> {
    let signed_len = body.len().checked_sub(64)?;
    let (signed, sig) = body.split_at_checked(signed_len)?;
    let mut rest = signed.strip_prefix(SUBMISSION_MAGIC)?;
    let n = take_u16(&mut rest)?;
    let cert_bytes = take(&mut rest, n)?;
    let cert = LandmarkCertificate::decode(cert_bytes).ok()?;
    if cert.to_vec() != cert_bytes {
        return None;
    }
    let count = take_u16(&mut rest)?;
    let mut entries = Vec::with_capacity(count.min(4096));
    for _ in 0..count {
        let n = take_u16(&mut rest)?;
        entries.push(take(&mut rest, n)?);
    }
    if !rest.is_empty() {
        return None;
    }
    Some(Parsed {
        cert,
        entries,
        signed,
        signature: sig.try_into().ok()?,
    })
}

/// The log server's check of landmark submissions against the trust file's registry.
#[derive(Debug)]
pub struct LandmarkAdmission {
    trust: Trust,
    origin: String,
    now_s: fn() -> u64,
}

fn unix_now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl LandmarkAdmission {
    /// Admits submissions to the log `origin` from landmarks the `trust` registry certified,
    /// judged at the current time.
    pub fn new(trust: Trust, origin: &str) -> Self {
        LandmarkAdmission {
            trust,
            origin: origin.to_owned(),
            now_s: unix_now_s,
        }
    }
}

impl Admission for LandmarkAdmission {
    fn admit(&self, body: &[u8]) -> Result<Vec<Vec<u8>>, Refusal> {
        let p = parse(body).ok_or_else(|| Refusal::new(400, "malformed submission"))?;
        let verified = self
            .trust
            .verify_landmark(&p.cert, (self.now_s)())
            .map_err(|e| Refusal::new(403, format!("landmark certificate refused: {e}")))?;
        let key = PreparedKey::new(&verified.body.landmark_key)
            .map_err(|e| Refusal::new(403, format!("landmark key unusable: {e}")))?;
        verify(
            &key,
            &signed_message(&self.origin, p.signed),
            &Signature(Bytes(p.signature)),
        )
        .map_err(|_| {
            Refusal::new(
                401,
                format!(
                    "not signed by landmark {}'s certified key for log {}",
                    p.cert.body.landmark_id, self.origin
                ),
            )
        })?;
        let own = p.cert.to_vec();
        let mut out = Vec::with_capacity(p.entries.len());
        for (i, e) in p.entries.iter().enumerate() {
            match LogEntry::decode(e) {
                Ok(LogEntry::Record(LogRecord::Measurement(m)))
                    if m.landmark_id() == p.cert.body.landmark_id => {}
                Ok(LogEntry::Spdm(m)) if m.landmark_id() == p.cert.body.landmark_id => {}
                Ok(LogEntry::Record(LogRecord::Measurement(m))) => {
                    return Err(Refusal::new(
                        422,
                        format!("entry {i}: a measurement of landmark {}", m.landmark_id()),
                    ))
                }
                Ok(LogEntry::Spdm(m)) => {
                    return Err(Refusal::new(
                        422,
                        format!(
                            "entry {i}: an SPDM measurement of landmark {}",
                            m.landmark_id()
                        ),
                    ))
                }
                Ok(LogEntry::Record(LogRecord::LandmarkCertificate(c))) if c.to_vec() == own => {}
                Ok(LogEntry::Record(LogRecord::LandmarkCertificate(_))) => {
                    return Err(Refusal::new(
                        422,
                        format!("entry {i}: another landmark's certificate"),
                    ))
                }
                // Certificates, chains and endorsements carry their issuers' own signatures
                // (vendor, X.509 CA, registry): a landmark relays them, the audit checks them.
                Ok(LogEntry::Record(
                    LogRecord::DeviceCertificate(_) | LogRecord::ModelEndorsement(_),
                ))
                | Ok(LogEntry::GpuChain(_)) => {}
                Err(_) => return Err(Refusal::new(422, format!("entry {i}: not a log record"))),
            }
            out.push(e.to_vec());
        }
        Ok(out)
    }
}

/// A landmark's client of a log server, with a durable outbox.
#[derive(Debug)]
pub struct Submitter {
    client: LogClient,
    outbox: PathBuf,
    origin: String,
    key: SigningKey,
    cert: LandmarkCertificate,
    /// How long one delivery keeps retrying before it leaves the submission in the outbox.
    pub patience: Duration,
    counter: u64,
}

fn io_err(context: &str, path: &Path, e: std::io::Error) -> NetError {
    NetError::io(format!("{context} {}", path.display()), e)
}

fn sync_dir(dir: &Path) -> Result<(), NetError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err("syncing", dir, e))
}

impl Submitter {
    /// A submitter to the log at `url` whose origin is `origin`, keeping undelivered
    /// submissions in `outbox` (created, mode 0700).
    pub fn new(
        url: &str,
        origin: &str,
        outbox: &Path,
        key: SigningKey,
        cert: LandmarkCertificate,
    ) -> Result<Self, NetError> {
        use std::os::unix::fs::DirBuilderExt as _;
        let client = LogClient::new(url, Duration::from_secs(30))?;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(outbox)
            .map_err(|e| io_err("creating", outbox, e))?;
        Ok(Submitter {
            client,
            outbox: outbox.to_path_buf(),
            origin: origin.to_owned(),
            key,
            cert,
            patience: Duration::from_secs(30),
            counter: 0,
        })
    }

    /// The log origin of a server, read from the first line of its checkpoint (used only to
    /// bind signatures to the log; the server refuses a wrong origin).
    pub fn fetch_origin(url: &str) -> Result<String, NetError> {
        let client = LogClient::new(url, Duration::from_secs(10))?;
        let reply = client.get("checkpoint", crate::log::note::MAX_NOTE_SIZE)?;
        let bad = |reason: &str| NetError::Config {
            path: PathBuf::from(url),
            reason: reason.to_owned(),
        };
        if reply.status != 200 {
            return Err(bad(&format!("checkpoint: HTTP {}", reply.status)));
        }
        let text = std::str::from_utf8(&reply.body).map_err(|_| bad("checkpoint not UTF-8"))?;
        let origin = text.lines().next().unwrap_or_default();
        if origin.is_empty() {
            return Err(bad("checkpoint has no origin line"));
        }
        Ok(origin.to_owned())
    }

    /// Submissions waiting in the outbox, oldest first.
    pub fn pending(&self) -> Result<Vec<PathBuf>, NetError> {
        let mut out: Vec<PathBuf> = fs::read_dir(&self.outbox)
            .map_err(|e| io_err("reading", &self.outbox, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "sub"))
            .collect();
        out.sort();
        Ok(out)
    }

    /// Signs `entries` and stores the submission durably in the outbox; returns its file.
    pub fn enqueue(&mut self, entries: &[Vec<u8>]) -> Result<PathBuf, NetError> {
        let body = encode_submission(&self.origin, &self.cert, &self.key, entries)?;
        let now_ns = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        self.counter = self.counter.wrapping_add(1);
        let name = format!("{now_ns:024}-{:08}-{}", self.counter, std::process::id());
        let tmp = self.outbox.join(format!("{name}.tmp"));
        let path = self.outbox.join(format!("{name}.sub"));
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| io_err("creating", &tmp, e))?;
        f.write_all(&body)
            .and_then(|()| f.sync_all())
            .map_err(|e| io_err("writing", &tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| io_err("renaming", &tmp, e))?;
        sync_dir(&self.outbox)?;
        Ok(path)
    }

    /// Delivers one stored submission, retrying with exponential backoff (0.1 s doubling to
    /// 5 s) for at most `patience`; removes it once acknowledged and returns its indices.
    /// A refusal (4xx) is final: the file moves to `outbox/refused/` and the error is returned.
    pub fn deliver(&self, path: &Path) -> Result<Vec<u64>, NetError> {
        let body = crate::bounded_file::read(
            path,
            MAX_SUBMISSION as u64,
            crate::bounded_file::Links::Refuse,
        )
        .map_err(|e| io_err("reading", path, e))?;
        let started = Instant::now();
        let mut backoff = Duration::from_millis(100);
        loop {
            let last = match self.client.post(ADD_PATH, body.clone(), MAX_ANSWER) {
                Ok(r) if r.status == 200 => {
                    let indices = parse_indices(&r.body).ok_or_else(|| NetError::Config {
                        path: PathBuf::from(self.client.url()),
                        reason: "malformed acknowledgement".into(),
                    })?;
                    fs::remove_file(path).map_err(|e| io_err("removing", path, e))?;
                    sync_dir(&self.outbox)?;
                    return Ok(indices);
                }
                Ok(r) if (400..500).contains(&r.status) => {
                    let refused = self.outbox.join("refused");
                    let _ = fs::create_dir_all(&refused);
                    if let Some(name) = path.file_name() {
                        let _ = fs::rename(path, refused.join(name));
                    }
                    return Err(crate::log::LogError::HttpStatus {
                        url: self.client.url().to_owned(),
                        status: r.status,
                        reason: String::from_utf8_lossy(&r.body)
                            .trim()
                            .chars()
                            .take(300)
                            .collect(),
                    }
                    .into());
                }
                Ok(r) => NetError::Log(crate::log::LogError::HttpStatus {
                    url: self.client.url().to_owned(),
                    status: r.status,
                    reason: String::from_utf8_lossy(&r.body)
                        .trim()
                        .chars()
                        .take(300)
                        .collect(),
                }),
                Err(e) => NetError::Log(e),
            };
            if started.elapsed() + backoff > self.patience {
                return Err(last);
            }
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }

    /// Delivers every stored submission, oldest first; stops at the first that cannot be
    /// delivered (it stays in the outbox). Returns how many were delivered.
    pub fn flush(&self) -> Result<usize, NetError> {
        let mut n = 0;
        for p in self.pending()? {
            self.deliver(&p)?;
            n += 1;
        }
        Ok(n)
    }
}

fn parse_indices(body: &[u8]) -> Option<Vec<u64>> {
    std::str::from_utf8(body)
        .ok()?
        .lines()
        .map(|l| l.parse().ok())
        .collect()
}

impl LogSink for Submitter {
    fn append(
        &mut self,
        landmark: &LandmarkCertificate,
        device: &DeviceCertificate,
        measurements: &[Measurement],
    ) -> Result<Range<u64>, NetError> {
        if measurements.is_empty() {
            self.flush()?;
            return Ok(0..0);
        }
        let records = probe_records(landmark, device, measurements);
        self.deliver_all(&records, 2)
    }

    fn append_spdm(
        &mut self,
        landmark: &LandmarkCertificate,
        gpu: super::logbook::GpuRecords<'_>,
        rounds: &[crate::net::probe::SpdmRound],
    ) -> Result<Range<u64>, NetError> {
        if rounds.is_empty() {
            self.flush()?;
            return Ok(0..0);
        }
        let (records, prefix) = super::logbook::spdm_probe_records(landmark, gpu, rounds)?;
        self.deliver_all(&records, prefix)
    }

    fn describe(&self) -> String {
        self.client.url().to_owned()
    }
}

impl Submitter {
    /// Stores `records` (`prefix` certificate-like entries, then measurements) durably in the
    /// outbox, delivers everything waiting there oldest first, and returns the indices of the
    /// measurements.
    fn deliver_all(&mut self, records: &[Vec<u8>], prefix: usize) -> Result<Range<u64>, NetError> {
        // Stored durably first, so a failure below loses nothing; then everything in the
        // outbox is delivered, oldest first.
        let path = self.enqueue(records)?;
        let mut indices = Vec::new();
        for p in self.pending()? {
            let got = self.deliver(&p)?;
            if p == path {
                indices = got;
            }
        }
        // The measurements are the last entries and fresh, so they are consecutive.
        let first = indices.get(prefix).copied().unwrap_or(0);
        let last = indices.last().copied().unwrap_or(first);
        Ok(first..last.saturating_add(1))
    }
}
