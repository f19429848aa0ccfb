//! `lightcone log` end to end: init, append (files and stdin), verify, prove and
//! consistency, checked by `check-proof` as a second tool would; and clear failures.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_lightcone");

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn fails(args: &[&str], needle: &str) {
    let out = run(args);
    assert!(!out.status.success(), "{args:?} should fail");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(needle), "{args:?}: {err}");
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

#[test]
fn log_commands_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let d = p(&dir);
    let vkey = ok(&["log", "init", "--dir", &d, "--origin", "example.com/cli"]);
    let vkey = vkey.trim().to_owned();
    assert!(vkey.starts_with("example.com/cli+"));
    let key_file = tmp.path().join("log.key");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&key_file).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    assert!(std::fs::read_to_string(&key_file)
        .unwrap()
        .starts_with("PRIVATE+KEY+example.com/cli+"));
    fails(
        &["log", "init", "--dir", &d, "--origin", "example.com/cli"],
        "already holds a log",
    );

    let mut files = Vec::new();
    for i in 0..300 {
        let f = tmp.path().join(format!("m{i}"));
        std::fs::write(&f, format!("measurement {i}")).unwrap();
        files.push(p(&f));
    }
    let mut args = vec!["log", "append", "--dir", &d, "--batch", "100"];
    args.extend(files.iter().map(String::as_str));
    let out = ok(&args);
    assert_eq!(out.lines().count(), 3);
    assert!(out
        .lines()
        .last()
        .unwrap()
        .starts_with("appended 200..300 size 300 root "));
    let mut child = Command::new(BIN)
        .args(["log", "append", "--dir", &d])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"from stdin")
        .unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
    fails(
        &["log", "append", "--dir", &d, &p(&tmp.path().join("nope"))],
        "missing file",
    );

    let verified = ok(&["log", "verify", "--dir", &d, "--key", &vkey]);
    assert!(verified.contains("301 entries"), "{verified}");
    let vkey_file = tmp.path().join("vkey");
    std::fs::write(&vkey_file, format!("{vkey}\n")).unwrap();
    ok(&["log", "verify", "--dir", &d, "--key", &p(&vkey_file)]);

    // Inclusion proof, checked offline against the entry.
    let proof = ok(&["log", "prove", "--dir", &d, "--index", "300"]);
    assert!(proof.starts_with("c2sp.org/tlog-proof@v1\nindex 300\n"));
    let proof_file = tmp.path().join("proof");
    std::fs::write(&proof_file, &proof).unwrap();
    let entry = tmp.path().join("entry");
    std::fs::write(&entry, "from stdin").unwrap();
    ok(&[
        "log",
        "check-proof",
        "--key",
        &vkey,
        "--proof",
        &p(&proof_file),
        "--entry",
        &p(&entry),
    ]);
    fails(
        &[
            "log",
            "check-proof",
            "--key",
            &vkey,
            "--proof",
            &p(&proof_file),
            "--entry",
            &files[0],
        ],
        "proof does not verify",
    );
    fails(
        &["log", "prove", "--dir", &d, "--index", "301"],
        "out of range",
    );

    // Consistency proof from a checkpoint kept earlier.
    let old_cp = tmp.path().join("old-checkpoint");
    std::fs::copy(dir.join("checkpoint"), &old_cp).unwrap();
    ok(&["log", "append", "--dir", &d, &files[1], &files[2]]);
    let cons = ok(&["log", "consistency", "--dir", &d, "--from", "301"]);
    assert!(cons.starts_with("old 301\n"));
    let cons_file = tmp.path().join("consistency");
    std::fs::write(&cons_file, &cons).unwrap();
    ok(&[
        "log",
        "check-proof",
        "--key",
        &vkey,
        "--proof",
        &p(&cons_file),
        "--old-checkpoint",
        &p(&old_cp),
    ]);

    // A key that did not sign, a torn tile, a bad signature: each reported as such.
    let other = ok(&[
        "log",
        "init",
        "--dir",
        &p(&tmp.path().join("other")),
        "--origin",
        "example.com/cli",
    ]);
    fails(
        &["log", "verify", "--dir", &d, "--key", other.trim()],
        "no signature from a known key",
    );
    let tile = dir.join("tile/0/000");
    let bytes = std::fs::read(&tile).unwrap();
    std::fs::write(&tile, &bytes[..100]).unwrap();
    fails(&["log", "verify", "--dir", &d, "--key", &vkey], "torn tile");
    std::fs::write(&tile, &bytes).unwrap();
    ok(&["log", "verify", "--dir", &d, "--key", &vkey]);
    let cp = dir.join("checkpoint");
    let mut note = std::fs::read(&cp).unwrap();
    let at = note.len() - 10;
    note[at] = if note[at] == b'A' { b'B' } else { b'A' };
    std::fs::write(&cp, &note).unwrap();
    fails(
        &["log", "verify", "--dir", &d, "--key", &vkey],
        "bad signature",
    );
}
