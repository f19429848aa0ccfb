//! Signed notes, checkpoints and keys: any bytes parse or give a typed error, never a panic;
//! what parses re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lightcone_verifier::log::checkpoint::{open_checkpoint, parse_unverified, Checkpoint};
use lightcone_verifier::log::note::{open_note, parse_note};
use lightcone_verifier::log::{NoteSigner, VerifierKey};

// Go sumdb/note's test key (golang/mod sumdb/note/note_test.go).
const PETER: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";

fuzz_target!(|data: &[u8]| {
    let Ok(key) = VerifierKey::parse(PETER) else {
        return;
    };
    if let Ok(note) = parse_note(data) {
        assert!(note.text.ends_with('\n'));
        assert!(!note.signatures.is_empty());
    }
    let _ = open_note(data, std::slice::from_ref(&key));
    let _ = open_checkpoint(data, &key);
    if let Ok(cp) = parse_unverified(data) {
        assert_eq!(Checkpoint::parse_text(&cp.to_text()).ok(), Some(cp));
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(cp) = Checkpoint::parse_text(text) {
            assert_eq!(cp.to_text(), text);
        }
        if let Ok(k) = VerifierKey::parse(text) {
            assert_eq!(VerifierKey::parse(&k.to_string()).ok(), Some(k));
        }
        let _ = NoteSigner::parse(text);
    }
});
