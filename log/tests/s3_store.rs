//! The log in a real S3-compatible server: `moto_server` (PyPI `moto[server]`), started here on
//! loopback. Appends, reopening, recovery of a batch whose checkpoint was never published,
//! and a tile already in the bucket with other bytes (another writer, or an attacker).
//!
//! The server binary: `$MOTO_SERVER`, else `target/moto-venv/bin/moto_server` (`.ci/run`
//! installs it there). Without it these tests say SKIPPED and pass, unless
//! `LIGHTCONE_REQUIRE_MOTO=1` (CI sets it when the install worked), which makes them fail.

use ed25519_dalek::SigningKey;
use lightcone_log::edge::TileFile;
use lightcone_log::tile::TilePath;
use lightcone_log::{Log, LogError, LogReader, Recovery, S3Store, Store};
use std::io::{Read as _, Write as _};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ORIGIN: &str = "example.com/lightcone/s3";

fn moto_server() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("MOTO_SERVER") {
        return Some(p.into());
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/moto-venv/bin/moto_server");
    p.exists().then_some(p)
}

/// A moto server on loopback with one bucket, killed on drop.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts moto with bucket `logs`, or `None` (SKIPPED) when it is not installed.
fn start_moto() -> Option<Moto> {
    let Some(bin) = moto_server() else {
        assert!(
            std::env::var("LIGHTCONE_REQUIRE_MOTO").is_err(),
            "moto_server is required but not installed"
        );
        println!("SKIPPED: moto_server not installed (see .ci/run)");
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let moto = Moto {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    // Moto takes any credentials: a bare PUT creates the bucket.
    while !put_bucket(port, "logs") {
        assert!(Instant::now() < deadline, "moto_server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(moto)
}

fn put_bucket(port: u16, bucket: &str) -> bool {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let req = format!(
        "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    let mut answer = String::new();
    s.write_all(req.as_bytes()).is_ok()
        && s.read_to_string(&mut answer).is_ok()
        && answer.starts_with("HTTP/1.1 200")
}

fn store(moto: &Moto, url: &str) -> Arc<S3Store> {
    Arc::new(
        S3Store::with_options(
            url,
            &[
                ("aws_endpoint", &moto.endpoint),
                ("aws_allow_http", "true"),
                ("aws_access_key_id", "test"),
                ("aws_secret_access_key", "test"),
                ("aws_region", "us-east-1"),
            ],
        )
        .unwrap(),
    )
}

fn key() -> SigningKey {
    SigningKey::from_bytes(&[43; 32])
}

fn entries(range: Range<u64>, tag: &str) -> Vec<Vec<u8>> {
    range.map(|i| format!("{tag} {i}").into_bytes()).collect()
}

#[test]
fn a_log_in_s3_appends_reopens_and_verifies_like_a_directory() {
    let Some(moto) = start_moto() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let s3 = store(&moto, "s3://logs/a/log");
    let mut log = Log::init_in(s3.clone(), ORIGIN, key()).unwrap();
    let mut local = Log::init(tmp.path().join("log"), ORIGIN, key()).unwrap();
    // Batches that fill, cross and leave partial tiles, as on disk.
    for (i, n) in [(0u64, 3u64), (3, 300), (303, 1), (304, 500)] {
        let es = entries(i..i + n, "e");
        assert_eq!(log.append_batch(&es).unwrap(), i..i + n);
        local.append_batch(&es).unwrap();
    }
    let vkey = log.verifier_key().clone();
    assert_eq!(log.checkpoint().root(), local.checkpoint().root());
    // Partial tiles that full ones superseded are removed in the background.
    let deadline = Instant::now() + Duration::from_secs(10);
    while ["tile/entries/000.p/3", "tile/0/000.p/3"]
        .iter()
        .any(|t| s3.check(t, 1 << 20).is_ok())
    {
        assert!(
            Instant::now() < deadline,
            "superseded partial tiles are still there"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    s3.check("tile/entries/000", 1 << 24).unwrap();
    drop(log);
    // A second init of the same prefix is refused.
    assert!(matches!(
        Log::init_in(store(&moto, "s3://logs/a/log"), ORIGIN, key()),
        Err(LogError::AlreadyExists { .. })
    ));

    // Reopened from the bucket alone: the edge is rebuilt and appends continue.
    let mut log = Log::open_in(store(&moto, "s3://logs/a/log"), key()).unwrap();
    assert_eq!(log.recovery(), &Recovery::default());
    assert_eq!(log.size(), 804);
    log.append_batch(&entries(804..900, "e")).unwrap();
    local.append_batch(&entries(804..900, "e")).unwrap();
    assert_eq!(log.checkpoint().root(), local.checkpoint().root());

    // A reader of the bucket re-derives every tile and proves inclusion.
    let reader = LogReader::open_in(store(&moto, "s3://logs/a/log")).unwrap();
    reader.check_files().unwrap();
    let cp = reader.verify(&vkey).unwrap();
    assert_eq!(cp.size(), 900);
    let proof = reader.prove(850).unwrap();
    lightcone_log::check_tlog_proof(&proof, b"e 850", &vkey).unwrap();
    let disk = LogReader::open(tmp.path().join("log")).unwrap();
    for tile in ["tile/0/003.p/132", "tile/entries/001", "tile/1/000.p/3"] {
        let t = TilePath::parse(tile).unwrap();
        assert_eq!(
            reader.read_tile(t.kind, t.index).unwrap(),
            disk.read_tile(t.kind, t.index).unwrap(),
            "{tile}"
        );
    }
    // Another prefix of the same bucket is another log.
    assert!(matches!(
        LogReader::open_in(store(&moto, "s3://logs/b")),
        Err(LogError::MissingFile { .. })
    ));
}

/// The S3 store, except that publishing a checkpoint fails: a crash after the tiles.
#[derive(Debug)]
struct CrashBeforeCheckpoint(Arc<S3Store>);

impl Store for CrashBeforeCheckpoint {
    fn location(&self) -> &Path {
        self.0.location()
    }
    fn read(&self, name: &str, limit: u64) -> lightcone_log::error::Result<Vec<u8>> {
        self.0.read(name, limit)
    }
    fn check(&self, name: &str, limit: u64) -> lightcone_log::error::Result<()> {
        self.0.check(name, limit)
    }
    fn write_tiles(
        &self,
        sizes: Range<u64>,
        tiles: &[TileFile],
    ) -> lightcone_log::error::Result<()> {
        self.0.write_tiles(sizes, tiles)
    }
    fn publish_checkpoint(&self, _: &[u8]) -> lightcone_log::error::Result<()> {
        Err(LogError::Internal("crashed before the checkpoint"))
    }
    fn recover(&self, size: u64) -> lightcone_log::error::Result<Recovery> {
        self.0.recover(size)
    }
    fn tidy(&self, completed: &[TilePath]) {
        self.0.tidy(completed)
    }
}

#[test]
fn a_crash_between_tiles_and_checkpoint_leaves_the_old_checkpoint_and_is_undone() {
    let Some(moto) = start_moto() else { return };
    let url = "s3://logs/crash";
    let mut log = Log::init_in(store(&moto, url), ORIGIN, key()).unwrap();
    log.append_batch(&entries(0..10, "kept")).unwrap();
    let vkey = log.verifier_key().clone();
    drop(log);

    let crashing = Arc::new(CrashBeforeCheckpoint(store(&moto, url)));
    let mut log = Log::open_in(crashing, key()).unwrap();
    assert!(log.append_batch(&entries(10..300, "lost")).is_err());
    assert!(matches!(
        log.append_batch(&entries(10..11, "x")),
        Err(LogError::Poisoned)
    ));
    drop(log);
    // The unpublished tiles are in the bucket, the old checkpoint is what readers see.
    let s3 = store(&moto, url);
    assert!(s3.read("tile/entries/000", 1 << 20).is_ok());
    let reader = LogReader::open_in(s3.clone()).unwrap();
    assert_eq!(reader.verify(&vkey).unwrap().size(), 10);

    // Reopening removes exactly that batch's tiles, then other entries take their places.
    let mut log = Log::open_in(s3.clone(), key()).unwrap();
    assert_eq!(log.recovery().interrupted, Some(10..300));
    let removed: Vec<String> = log
        .recovery()
        .removed
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        removed.contains(&format!("{url}/tile/entries/000")),
        "{removed:?}"
    );
    assert!(
        removed.contains(&format!("{url}/tile/entries/001.p/44")),
        "{removed:?}"
    );
    assert!(!removed.iter().any(|p| p.ends_with(".p/10")), "{removed:?}");
    log.append_batch(&entries(10..300, "other")).unwrap();
    let reader = LogReader::open_in(s3).unwrap();
    assert_eq!(reader.verify(&vkey).unwrap().size(), 300);
    assert_eq!(reader.entry(200).unwrap(), b"other 200");
}

#[test]
fn a_tile_already_in_the_bucket_with_other_bytes_is_never_overwritten() {
    let Some(moto) = start_moto() else { return };
    let url = "s3://logs/conflict";
    let mut log = Log::init_in(store(&moto, url), ORIGIN, key()).unwrap();
    log.append_batch(&entries(0..2, "e")).unwrap();
    // Someone else creates the bundle the next append needs, with other bytes.
    let other = store(&moto, url);
    let planted = TilePath::parse("tile/entries/000.p/3").unwrap();
    let bytes = b"\x00\x05plant\x00\x05plant\x00\x05plant".to_vec();
    other
        .write_tiles(2..3, &[(planted, bytes.clone())])
        .unwrap();
    match log.append_batch(&entries(2..3, "e")) {
        Err(LogError::ImmutableConflict { path }) => {
            assert_eq!(path, PathBuf::from(format!("{url}/tile/entries/000.p/3")))
        }
        other => panic!("expected an immutable conflict, got {other:?}"),
    }
    // The planted object is intact and no checkpoint covers it.
    assert_eq!(other.read("tile/entries/000.p/3", 1 << 20).unwrap(), bytes);
    assert_eq!(LogReader::open_in(other).unwrap().size(), 2);
}

#[test]
fn objects_larger_than_their_kind_allows_are_refused_unread() {
    let Some(moto) = start_moto() else { return };
    let s3 = store(&moto, "s3://logs/big");
    let tile = TilePath::parse("tile/0/000.p/1").unwrap();
    s3.write_tiles(0..1, &[(tile, vec![0; 64])]).unwrap();
    assert!(matches!(
        s3.read("tile/0/000.p/1", 32),
        Err(LogError::Refused { .. })
    ));
    assert!(matches!(
        s3.check("tile/0/000.p/1", 32),
        Err(LogError::Refused { .. })
    ));
    assert!(matches!(
        s3.read("tile/0/001", 8192),
        Err(LogError::MissingFile { .. })
    ));
}
