//! The log server over real loopback HTTP: many concurrent submitters, nothing lost, nothing
//! duplicated, retries answered with the indices already given, the tiles API readable and
//! verifiable, hostile requests answered with a status.

use std::collections::HashSet;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::SigningKey;
use lightcone_log::http::{Admission, LogClient, LogServer, Refusal, ServerConfig, ADD_PATH};
use lightcone_log::{Log, LogReader};

/// Test admission: a body is `OK` followed by entries separated by `\n`; anything else is 403.
struct Lines;

impl Admission for Lines {
    fn admit(&self, body: &[u8]) -> Result<Vec<Vec<u8>>, Refusal> {
        let rest = body
            .strip_prefix(b"OK\n")
            .ok_or_else(|| Refusal::new(403, "not authorised"))?;
        Ok(rest.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect())
    }
}

fn start(dir: &std::path::Path) -> (LogServer, String, lightcone_log::VerifierKey) {
    let log = Log::init(dir, "test.example/log", SigningKey::from_bytes(&[9; 32])).unwrap();
    let vkey = log.verifier_key().clone();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = LogServer::start(log, listener, Arc::new(Lines), ServerConfig::default()).unwrap();
    let url = format!("http://{}", server.addr());
    (server, url, vkey)
}

fn indices(body: &[u8]) -> Vec<u64> {
    std::str::from_utf8(body)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect()
}

#[test]
fn sixteen_concurrent_submitters_nothing_lost_nothing_duplicated() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let (server, url, vkey) = start(&dir);
    const SUBMITTERS: usize = 16;
    const PER: usize = 40;
    let threads: Vec<_> = (0..SUBMITTERS)
        .map(|t| {
            let url = url.clone();
            std::thread::spawn(move || {
                let client = LogClient::new(&url, Duration::from_secs(20)).unwrap();
                let mut got = Vec::new();
                for s in 0..PER {
                    let entries: Vec<String> = (0..4).map(|k| format!("t{t}-s{s}-e{k}")).collect();
                    let body = format!("OK\n{}", entries.join("\n"));
                    let r = client.post(ADD_PATH, body.into_bytes(), 1 << 20).unwrap();
                    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
                    let idx = indices(&r.body);
                    assert_eq!(idx.len(), 4);
                    got.extend(entries.into_iter().zip(idx));
                }
                got
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in threads {
        all.extend(t.join().unwrap());
    }
    assert_eq!(all.len(), SUBMITTERS * PER * 4);
    let distinct: HashSet<u64> = all.iter().map(|(_, i)| *i).collect();
    assert_eq!(
        distinct.len(),
        all.len(),
        "two entries were given one index"
    );

    // A retry of an acknowledged submission gets the same indices and appends nothing.
    let client = LogClient::new(&url, Duration::from_secs(5)).unwrap();
    let size_before = LogReader::open(&dir).unwrap().size();
    let r = client
        .post(ADD_PATH, b"OK\nt3-s7-e0\nt3-s7-e1".to_vec(), 1 << 20)
        .unwrap();
    let want: Vec<u64> = all
        .iter()
        .filter(|(e, _)| e == "t3-s7-e0" || e == "t3-s7-e1")
        .map(|(_, i)| *i)
        .collect();
    assert_eq!(indices(&r.body), want);
    assert_eq!(LogReader::open(&dir).unwrap().size(), size_before);

    // Every acknowledged index holds its entry, in a log that verifies under its key.
    let reader = LogReader::open(&dir).unwrap();
    let cp = reader.verify(&vkey).unwrap();
    assert_eq!(cp.size(), all.len() as u64);
    for (entry, i) in &all {
        assert_eq!(reader.entry(*i).unwrap(), entry.as_bytes());
    }

    // The read API: checkpoint and tiles with the spec's content types and caching.
    let cp_reply = client.get("checkpoint", 1 << 20).unwrap();
    assert_eq!(cp_reply.status, 200);
    assert_eq!(cp_reply.body, reader.checkpoint_note());
    let tile = client.get("tile/0/000", 1 << 20).unwrap();
    assert_eq!(tile.status, 200);
    assert_eq!(tile.body.len(), 256 * 32);
    let bundle = client.get("tile/entries/000", 1 << 24).unwrap();
    assert_eq!(bundle.status, 200);
    drop(server);
}

#[test]
fn hostile_requests_get_a_status() {
    let tmp = tempfile::tempdir().unwrap();
    let (_server, url, _) = start(&tmp.path().join("log"));
    let client = LogClient::new(&url, Duration::from_secs(5)).unwrap();
    // Unauthorised.
    assert_eq!(
        client
            .post(ADD_PATH, b"nope".to_vec(), 4096)
            .unwrap()
            .status,
        403
    );
    // Too large.
    let big = vec![b'a'; (1 << 20) + 1];
    assert_eq!(client.post(ADD_PATH, big, 4096).unwrap().status, 413);
    // An entry over 65535 bytes.
    let mut e = b"OK\n".to_vec();
    e.resize(70_000, b'x');
    assert_eq!(client.post(ADD_PATH, e, 4096).unwrap().status, 400);
    // Paths outside the API, traversal, non-canonical tiles.
    for p in [
        "../etc/passwd",
        "tile/0/../../checkpoint",
        "tile/00/000",
        "tile/0/x000/001",
        ".lightcone-pending",
        "tile/0/999",
    ] {
        assert_eq!(client.get(p, 4096).unwrap().status, 404, "{p}");
    }
    // Wrong method.
    assert_eq!(
        client.post("checkpoint", Vec::new(), 4096).unwrap().status,
        405
    );
    // A response larger than the client's limit is an error, not an allocation.
    assert!(client.get("checkpoint", 8).is_err());
    // Malformed URLs are typed errors.
    for u in [
        "ftp://x",
        "https://x",
        "http://",
        "http://a@b/",
        "http://h/p?q",
    ] {
        assert!(LogClient::new(u, Duration::from_secs(1)).is_err(), "{u}");
    }
}
