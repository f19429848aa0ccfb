//! Proof texts (tlog-proof@v1 and `old N` consistency) and the RFC 9162 verifiers on hostile
//! input: parse or typed error, never a panic; what parses re-encodes to the same bytes; the
//! verifiers reject any proof for a tree they were not made for.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lightcone_verifier::log::checkpoint::{check_consistency_proof, check_tlog_proof};
use lightcone_verifier::log::hash::{empty_root, leaf_hash};
use lightcone_verifier::log::proof::{verify_consistency, verify_inclusion};
use lightcone_verifier::log::{ConsistencyProofText, TlogProof, VerifierKey};

const PETER: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";

fuzz_target!(|data: &[u8]| {
    let Ok(key) = VerifierKey::parse(PETER) else {
        return;
    };
    if let Ok(p) = TlogProof::parse(data) {
        assert_eq!(p.to_text(), data);
        let _ = check_tlog_proof(&p, b"entry", &key);
        // Against an arbitrary claimed tree: sizes from the data, a root that no proof reaches.
        let size = p.hashes.len() as u64 * 3 + p.index % 7;
        let _ = verify_inclusion(p.index, size, &leaf_hash(b"x"), &p.hashes, &empty_root());
        assert!(
            verify_inclusion(p.index, p.index, &leaf_hash(b"x"), &p.hashes, &empty_root()).is_err()
        );
    }
    if let Ok(c) = ConsistencyProofText::parse(data) {
        assert_eq!(c.to_text(), data);
        let _ = check_consistency_proof(&c, &empty_root(), &key);
        let new = c.old_size.saturating_add(c.hashes.len() as u64);
        let _ = verify_consistency(c.old_size, new, &empty_root(), &leaf_hash(b"y"), &c.hashes);
        let _ = verify_consistency(new, c.old_size, &empty_root(), &empty_root(), &c.hashes);
    }
});
