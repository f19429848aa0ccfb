//! The witness against real logs: cosigns consistent growth, refuses a split view (same size,
//! other root; or growth from another root) before and after a restart, and follows the
//! tlog-witness status rules. Also over loopback HTTP.

use std::net::TcpListener;
use std::time::Duration;

use ed25519_dalek::SigningKey;
use lightcone_log::hash::hash_to_base64;
use lightcone_log::http::LogClient;
use lightcone_log::witness::{cosigners, CosignerKey, Witness, WitnessServer};
use lightcone_log::{Log, LogReader};

const ORIGIN: &str = "example.org/witnessed-log";

fn log_with(dir: &std::path::Path, prefix: &str, n: usize) -> Log {
    let mut log = Log::init(dir, ORIGIN, SigningKey::from_bytes(&[4; 32])).unwrap();
    let entries: Vec<Vec<u8>> = (0..n)
        .map(|i| format!("{prefix}{i}").into_bytes())
        .collect();
    log.append_batch(&entries).unwrap();
    log
}

fn body(dir: &std::path::Path, old: u64) -> Vec<u8> {
    let r = LogReader::open(dir).unwrap();
    let mut b = format!("old {old}\n");
    if old > 0 && old < r.size() {
        for h in r.consistency_proof(old).unwrap() {
            b.push_str(&hash_to_base64(&h));
            b.push('\n');
        }
    }
    b.push('\n');
    let mut b = b.into_bytes();
    b.extend_from_slice(r.checkpoint_note());
    b
}

#[test]
fn cosigns_consistent_growth_and_refuses_split_views_across_restarts() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    let mut log = log_with(&a, "a", 10);
    let vkey = log.verifier_key().clone();
    let wkey = SigningKey::from_bytes(&[8; 32]);
    let state = tmp.path().join("witness-state");
    let w = Witness::open(
        "witness.example/w1",
        wkey.clone(),
        vec![vkey.clone()],
        &state,
    )
    .unwrap();
    let ck = CosignerKey::parse(&w.cosigner_key().to_string()).unwrap();

    // First sight: old 0, empty proof.
    let line = w.add_checkpoint(&body(&a, 0), 1_700_000_000).unwrap();
    let mut cosigned = LogReader::open(&a).unwrap().checkpoint_note().to_vec();
    cosigned.extend_from_slice(line.as_bytes());
    assert_eq!(
        cosigners(&cosigned, std::slice::from_ref(&ck)).unwrap(),
        vec!["witness.example/w1"]
    );
    // The log's own verification still accepts the cosigned note (unknown signers ignored).
    lightcone_log::open_checkpoint(&cosigned, &vkey).unwrap();
    // A tampered cosignature is an error, not a silent skip.
    {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let (name, sig) = line.trim_end().rsplit_once(' ').unwrap();
        let mut raw = b64.decode(sig).unwrap();
        raw[20] ^= 1;
        let mut bad = LogReader::open(&a).unwrap().checkpoint_note().to_vec();
        bad.extend_from_slice(format!("{name} {}\n", b64.encode(raw)).as_bytes());
        assert!(cosigners(&bad, std::slice::from_ref(&ck)).is_err());
    }

    // Growth with a consistency proof.
    log.append_batch(&[b"a10".as_slice(), b"a11", b"a12"])
        .unwrap();
    assert!(w.add_checkpoint(&body(&a, 10), 1_700_000_001).is_ok());
    assert_eq!(w.latest(ORIGIN).unwrap().0, 13);
    // A stale old size: 409 with the latest size.
    let r = w.add_checkpoint(&body(&a, 10), 1_700_000_002).unwrap_err();
    assert_eq!(
        (r.status, r.body.as_str(), r.size_conflict),
        (409, "13\n", true)
    );
    // The same checkpoint again is fine (same size, same root).
    assert!(w.add_checkpoint(&body(&a, 13), 1_700_000_003).is_ok());

    // A fork: the same key, the same size, other entries.
    drop(log_with(&b, "b", 13));
    let r = w.add_checkpoint(&body(&b, 13), 1_700_000_004).unwrap_err();
    assert_eq!(r.status, 409, "{}", r.body);
    // The fork grown further, with a proof from *its* size 13: does not verify against ours.
    {
        let mut fork = Log::open(&b, SigningKey::from_bytes(&[4; 32])).unwrap();
        fork.append_batch(&[b"b13".as_slice(), b"b14"]).unwrap();
    }
    let r = w.add_checkpoint(&body(&b, 13), 1_700_000_005).unwrap_err();
    assert_eq!(r.status, 422, "{}", r.body);

    // Restart: the state survives, the split view is still refused, growth still cosigned.
    drop(w);
    let w = Witness::open("witness.example/w1", wkey, vec![vkey.clone()], &state).unwrap();
    assert_eq!(w.latest(ORIGIN).unwrap().0, 13);
    assert_eq!(
        w.add_checkpoint(&body(&b, 0), 1_700_000_006)
            .unwrap_err()
            .status,
        409
    );
    assert_eq!(
        w.add_checkpoint(&body(&b, 13), 1_700_000_006)
            .unwrap_err()
            .status,
        422
    );

    // Status rules.
    let other = tmp.path().join("other");
    let mut foreign = Log::init(
        &other,
        "example.org/other",
        SigningKey::from_bytes(&[6; 32]),
    )
    .unwrap();
    foreign.append_batch(&[b"x".as_slice()]).unwrap();
    assert_eq!(
        w.add_checkpoint(&body(&other, 0), 1).unwrap_err().status,
        404
    );
    let forged = tmp.path().join("forged");
    let mut f = Log::init(&forged, ORIGIN, SigningKey::from_bytes(&[7; 32])).unwrap();
    f.append_batch(&[b"x".as_slice()]).unwrap();
    assert_eq!(
        w.add_checkpoint(&body(&forged, 0), 1).unwrap_err().status,
        403
    );
    let mut over = body(&a, 0);
    over.splice(0..5, b"old 99".iter().copied());
    assert_eq!(w.add_checkpoint(&over, 1).unwrap_err().status, 400);
    for junk in [
        &b""[..],
        b"old 01\n\n",
        b"\xff\xfe",
        b"old 1\nnot-a-hash\n\nx",
    ] {
        assert_eq!(w.add_checkpoint(junk, 1).unwrap_err().status, 400);
    }

    // Over HTTP.
    let server = WitnessServer::start(w, TcpListener::bind("127.0.0.1:0").unwrap()).unwrap();
    let client =
        LogClient::new(&format!("http://{}", server.addr()), Duration::from_secs(5)).unwrap();
    let r = client.post("add-checkpoint", body(&a, 13), 4096).unwrap();
    assert_eq!(r.status, 200);
    assert!(String::from_utf8(r.body)
        .unwrap()
        .starts_with("\u{2014} witness.example/w1 "));
    let r = client.post("add-checkpoint", body(&b, 0), 4096).unwrap();
    assert_eq!((r.status, r.body.as_slice()), (409, b"13\n".as_slice()));
    assert_eq!(client.get("add-checkpoint", 4096).unwrap().status, 405);
}
