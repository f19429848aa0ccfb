//! The verifier's X.509 path (`lightcone_verifier::evidence::x509`) on hostile bytes: as one
//! DER certificate, and as PEM text parsed into a chain that is then verified against its own
//! last certificate as the root. Never a panic; a certificate that parses re-encodes to its
//! input; a chain that verifies names its leaf first and ends with the root's subject.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lightcone_verifier::evidence::x509::{parse_pem_chain, verify_chain, Cert};

/// 2026-01-01T00:00:00Z.
const AT: u64 = 1_767_225_600;

fuzz_target!(|data: &[u8]| {
    if let Ok(cert) = Cert::from_der(data, 0) {
        assert_eq!(cert.der(), data);
        let _ = verify_chain(std::slice::from_ref(&cert), &cert, AT);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(chain) = parse_pem_chain(text) {
            if let Some(root) = chain.last() {
                if let Ok(v) = verify_chain(&chain, root, AT) {
                    assert_eq!(v.leaf_subject(), chain[0].subject());
                    assert_eq!(v.subjects.last(), Some(&root.subject()));
                }
            }
        }
    }
});
