//! Log server throughput over loopback HTTP: 16 concurrent submitters, each posting
//! submissions of ENTRIES entries of 256 bytes, every one acknowledged only once durable
//! (one fsync round per batch). Prints entries per second for a few submission sizes.
//!
//! Run: `cargo bench -p lightcone-log --bench server` (about 15 s).
#![allow(missing_docs)]

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use lightcone_log::http::{Admission, LogClient, LogServer, Refusal, ServerConfig, ADD_PATH};
use lightcone_log::Log;

/// Bodies are u16-length-prefixed entries (no authentication: this measures the server).
struct Framed;

impl Admission for Framed {
    fn admit(&self, body: &[u8]) -> Result<Vec<Vec<u8>>, Refusal> {
        let mut out = Vec::new();
        let mut rest = body;
        while let [a, b, tail @ ..] = rest {
            let n = usize::from(u16::from_be_bytes([*a, *b]));
            let (e, t) = tail
                .split_at_checked(n)
                .ok_or_else(|| Refusal::new(400, "truncated"))?;
            out.push(e.to_vec());
            rest = t;
        }
        Ok(out)
    }
}

fn main() {
    const SUBMITTERS: usize = 16;
    let secs: f64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    for per in [1usize, 16, 64] {
        let tmp = tempfile::tempdir().unwrap();
        let log = Log::init(
            tmp.path().join("log"),
            "bench.example/log",
            SigningKey::from_bytes(&[3; 32]),
        )
        .unwrap();
        let server = LogServer::start(
            log,
            TcpListener::bind("127.0.0.1:0").unwrap(),
            Arc::new(Framed),
            ServerConfig::default(),
        )
        .unwrap();
        let url = format!("http://{}", server.addr());
        let started = Instant::now();
        let until = started + Duration::from_secs_f64(secs);
        let threads: Vec<_> = (0..SUBMITTERS)
            .map(|t| {
                let url = url.clone();
                std::thread::spawn(move || {
                    let client = LogClient::new(&url, Duration::from_secs(30)).unwrap();
                    let mut n = 0u64;
                    let mut seq = 0u64;
                    while Instant::now() < until {
                        let mut body = Vec::with_capacity(per * 258);
                        for _ in 0..per {
                            let mut e = format!("{t}-{seq}-").into_bytes();
                            e.resize(256, 0xab);
                            body.extend_from_slice(&256u16.to_be_bytes());
                            body.extend_from_slice(&e);
                            seq += 1;
                        }
                        let r = client.post(ADD_PATH, body, 1 << 20).unwrap();
                        assert_eq!(r.status, 200);
                        n += per as u64;
                    }
                    n
                })
            })
            .collect();
        let total: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
        let elapsed = started.elapsed().as_secs_f64();
        println!(
            "log_server/{SUBMITTERS} submitters x {per} entries per submission: {total} entries in {elapsed:.2} s = {:.0} entries/s (durable, acknowledged)",
            total as f64 / elapsed
        );
        drop(server);
    }
}
