//! A real S3-compatible server for the tests: `moto_server` (PyPI `moto[server]`) on loopback.
//!
//! The binary: `$MOTO_SERVER`, else `target/moto-venv/bin/moto_server` (`.ci/run` installs it
//! there). Without it [`start`] says SKIPPED and returns `None`, unless
//! `LIGHTCONE_REQUIRE_MOTO=1` (CI sets it when the install worked), which makes it fail.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lightcone_verifier::log::S3Store;

/// The bucket [`start`] creates.
pub const BUCKET: &str = "logs";

fn moto_server() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("MOTO_SERVER") {
        return Some(p.into());
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/moto-venv/bin/moto_server");
    p.exists().then_some(p)
}

/// `moto_server` on loopback with bucket [`BUCKET`], killed on drop.
pub struct Moto {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts moto, or says SKIPPED and returns `None` when it is not installed.
pub fn start() -> Option<Moto> {
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
    let moto = Moto { child, port };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !moto
        .raw("PUT", &format!("/{BUCKET}"), b"")
        .is_some_and(|l| l.contains(" 200"))
    {
        assert!(Instant::now() < deadline, "moto_server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(moto)
}

impl Moto {
    /// The standard AWS environment that points a `lightcone` process at this server.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            (
                "AWS_ENDPOINT_URL",
                format!("http://127.0.0.1:{}", self.port),
            ),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// A store at `url` (`s3://logs/…`) on this server, for the test's own reads.
    pub fn store(&self, url: &str) -> Arc<S3Store> {
        let endpoint = format!("http://127.0.0.1:{}", self.port);
        Arc::new(
            S3Store::with_options(
                url,
                &[
                    ("aws_endpoint", &endpoint),
                    ("aws_allow_http", "true"),
                    ("aws_access_key_id", "test"),
                    ("aws_secret_access_key", "test"),
                    ("aws_region", "us-east-1"),
                ],
            )
            .unwrap(),
        )
    }

    /// One plain HTTP/1.1 request, the attacker's own client: the status line. Moto checks
    /// no signature, but an object's owner must be named by an `Authorization` header.
    pub fn raw(&self, method: &str, path: &str, body: &[u8]) -> Option<String> {
        let port = self.port;
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: AWS4-HMAC-SHA256 \
             Credential=test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).ok()?;
        s.write_all(body).ok()?;
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).ok()?;
        String::from_utf8_lossy(&answer)
            .lines()
            .next()
            .map(str::to_owned)
    }
}
