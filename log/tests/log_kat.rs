//! Known-answer tests for the attestation log, each vector from a public spec or reference
//! implementation (see the header of each file in tests/vectors/).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use lightcone_log::checkpoint::{parse_unverified, Checkpoint};
use lightcone_log::hash::{empty_root, hash_from_base64, leaf_hash, Hash};
use lightcone_log::note::{key_id, open_note, parse_note, ALG_ED25519};
use lightcone_log::proof::{
    consistency_proof, inclusion_proof, verify_consistency, verify_inclusion, MemoryTree,
};
use lightcone_log::tile::{encode_index, TileKind, TilePath};
use lightcone_log::{LogError, NoteSigner, VerifierKey};

fn vector(name: &str) -> String {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn records(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split(' ').map(str::to_owned).collect())
        .collect()
}

fn hex32(s: &str) -> Hash {
    hex::decode(s).unwrap().try_into().unwrap()
}

fn hex_list(s: &str) -> Vec<Hash> {
    if s == "-" {
        return vec![];
    }
    s.split(',').map(hex32).collect()
}

#[test]
fn rfc6962_reference_vectors() {
    let recs = records(&vector("log_rfc6962.txt"));
    let mut leaves: Vec<Vec<u8>> = Vec::new();
    for r in &recs {
        if r[0] == "leaf" {
            leaves.push(if r[1] == "-" {
                vec![]
            } else {
                hex::decode(&r[1]).unwrap()
            });
        }
    }
    assert_eq!(leaves.len(), 8);
    let hashes: Vec<Hash> = leaves.iter().map(|l| leaf_hash(l)).collect();
    let mut tree = MemoryTree::from_leaf_hashes(hashes.clone());
    let mut roots = vec![empty_root()];
    for size in 1..=8 {
        roots.push(tree.root(size).unwrap());
    }
    let mut checked = 0;
    for r in &recs {
        match r[0].as_str() {
            "empty" => assert_eq!(empty_root(), hex32(&r[1])),
            "leafhash" => {
                let data = if r[1] == "-" {
                    vec![]
                } else {
                    hex::decode(&r[1]).unwrap()
                };
                assert_eq!(leaf_hash(&data), hex32(&r[2]));
            }
            "root" => {
                let size: usize = r[1].parse().unwrap();
                assert_eq!(roots[size], hex32(&r[2]), "MTH(D[{size}])");
            }
            "inclusion" => {
                let (index, size): (u64, u64) = (r[1].parse().unwrap(), r[2].parse().unwrap());
                let want = hex_list(&r[3]);
                assert_eq!(inclusion_proof(&mut tree, index, size).unwrap(), want);
                let root = roots[size as usize];
                verify_inclusion(index, size, &hashes[index as usize], &want, &root).unwrap();
            }
            "consistency" => {
                let (m, n): (u64, u64) = (r[1].parse().unwrap(), r[2].parse().unwrap());
                let want = hex_list(&r[3]);
                assert_eq!(
                    consistency_proof(&mut tree, m, n).unwrap(),
                    want,
                    "{m}->{n}"
                );
                verify_consistency(m, n, &roots[m as usize], &roots[n as usize], &want).unwrap();
            }
            _ => continue,
        }
        checked += 1;
    }
    assert_eq!(checked, 1 + 2 + 8 + 5 + 5);
}

/// The corruptions transparency-dev/merkle's verify_test.go applies to every known-good proof
/// (wrong index or size, wrong leaf or root, garbage before or after, a flipped bit, a
/// dropped or inserted node) must all fail.
#[test]
fn reference_corruptions_fail() {
    let leaves: Vec<Hash> = (0..8u8).map(|i| leaf_hash(&[i])).collect();
    let mut tree = MemoryTree::from_leaf_hashes(leaves.clone());
    let some: Hash = hex32("abacaba000000000000000000000000000000000000000000060061e00123456");
    for size in 1..=8u64 {
        let root = tree.root(size).unwrap();
        for index in 0..size {
            let proof = inclusion_proof(&mut tree, index, size).unwrap();
            let leaf = leaves[index as usize];
            let bad = |i: u64, s: u64, l: &Hash, p: &[Hash], r: &Hash| {
                assert!(verify_inclusion(i, s, l, p, r).is_err(), "{index}/{size}");
            };
            bad(index.wrapping_sub(1), size, &leaf, &proof, &root);
            bad(index + 1, size, &leaf, &proof, &root);
            bad(index ^ 2, size, &leaf, &proof, &root);
            bad(index, size * 2, &leaf, &proof, &root);
            bad(index, size / 2, &leaf, &proof, &root);
            bad(index, size, &some, &proof, &root);
            bad(index, size, &leaf, &proof, &empty_root());
            bad(index, size, &leaf, &proof, &some);
            let mut p = proof.clone();
            p.push(root);
            bad(index, size, &leaf, &p, &root);
            let mut p = vec![root];
            p.extend(&proof);
            bad(index, size, &leaf, &p, &root);
            for i in 0..proof.len() {
                let mut p = proof.clone();
                p[i][0] ^= 8;
                bad(index, size, &leaf, &p, &root);
            }
            if !proof.is_empty() {
                bad(index, size, &leaf, &proof[..proof.len() - 1], &root);
            }
        }
        for old in 1..size {
            let proof = consistency_proof(&mut tree, old, size).unwrap();
            let old_root = tree.root(old).unwrap();
            let bad = |m: u64, n: u64, r1: &Hash, r2: &Hash, p: &[Hash]| {
                assert!(
                    verify_consistency(m, n, r1, r2, p).is_err(),
                    "{old}->{size}"
                );
            };
            bad(old - 1, size, &old_root, &root, &proof);
            bad(old + 1, size, &old_root, &root, &proof);
            bad(old ^ 2, size, &old_root, &root, &proof);
            bad(old, size * 2, &old_root, &root, &proof);
            bad(old, size / 2, &old_root, &root, &proof);
            bad(old, size, &some, &root, &proof);
            bad(old, size, &old_root, &some, &proof);
            bad(old, size, &root, &old_root, &proof);
            bad(old, size, &old_root, &root, &[]);
            for extra in [old_root, root, proof[0]] {
                let mut p = proof.clone();
                p.push(extra);
                bad(old, size, &old_root, &root, &p);
                let mut p = vec![extra];
                p.extend(&proof);
                bad(old, size, &old_root, &root, &p);
            }
            bad(old, size, &old_root, &root, &proof[..proof.len() - 1]);
            for i in 0..proof.len() {
                let mut p = proof.clone();
                p[i][0] ^= 16;
                bad(old, size, &old_root, &root, &p);
            }
        }
    }
    // The trivial cases of transparency-dev/merkle TestVerifyConsistency.
    let e = empty_root();
    assert!(verify_consistency(0, 0, &e, &e, &[]).is_ok());
    assert!(verify_consistency(1, 1, &some, &some, &[]).is_ok());
    assert!(verify_consistency(1, 1, &e, &some, &[]).is_err());
    assert!(verify_consistency(1, 0, &e, &e, &[]).is_err());
    assert!(verify_consistency(2, 1, &e, &e, &[]).is_err());
    assert!(verify_consistency(1, 2, &some, &e, &[]).is_err());
    assert!(verify_consistency(0, 0, &e, &e, &[e]).is_err());
    assert!(verify_consistency(0, 1, &e, &e, &[e]).is_err());
    assert!(verify_consistency(1, 1, &e, &e, &[e]).is_err());
}

fn field<'a>(recs: &'a [Vec<String>], name: &str) -> &'a [String] {
    &recs.iter().find(|r| r[0] == name).unwrap()[1..]
}

#[test]
fn real_certificate_transparency_proofs() {
    let recs = records(&vector("log_ct_argon2020.txt"));
    let size: u64 = field(&recs, "tree_size")[0].parse().unwrap();
    let root = hash_from_base64(&field(&recs, "root")[0]).unwrap();
    let index: u64 = field(&recs, "leaf_index")[0].parse().unwrap();
    let leaf = B64.decode(&field(&recs, "leaf_input")[0]).unwrap();
    let path: Vec<Hash> = field(&recs, "audit_path")
        .iter()
        .map(|h| hash_from_base64(h).unwrap())
        .collect();
    verify_inclusion(index, size, &leaf_hash(&leaf), &path, &root).unwrap();
    assert!(verify_inclusion(index + 1, size, &leaf_hash(&leaf), &path, &root).is_err());
    let old_size: u64 = field(&recs, "old_size")[0].parse().unwrap();
    let old_root = hash_from_base64(&field(&recs, "old_root")[0]).unwrap();
    let proof: Vec<Hash> = field(&recs, "consistency")
        .iter()
        .map(|h| hash_from_base64(h).unwrap())
        .collect();
    verify_consistency(old_size, size, &old_root, &root, &proof).unwrap();
    assert!(verify_consistency(old_size + 1, size, &old_root, &root, &proof).is_err());
}

#[test]
fn go_sumdb_note_keys_and_signature() {
    let recs = records(&vector("log_note_keys.txt"));
    let peter = VerifierKey::parse(&field(&recs, "peter_vkey")[0]).unwrap();
    assert_eq!(peter.name(), "PeterNeumann");
    assert_eq!(peter.id(), 0xc74f20a3);
    assert_eq!(peter.to_string(), field(&recs, "peter_vkey")[0]);
    assert_eq!(
        key_id(
            "PeterNeumann",
            ALG_ED25519,
            peter.verifying_key().as_bytes()
        ),
        0xc74f20a3
    );
    let signer = NoteSigner::parse(&field(&recs, "peter_skey")[0]).unwrap();
    assert_eq!(signer.verifier_key(), &peter);
    assert_eq!(*signer.to_private_string(), field(&recs, "peter_skey")[0]);

    // Ed25519 is deterministic: signing Go's text gives Go's note byte for byte.
    let text = vector("log_note_text.txt");
    let want = vector("log_note_peterneumann.note");
    assert_eq!(
        String::from_utf8(signer.sign(&text).unwrap()).unwrap(),
        want
    );
    let opened = open_note(want.as_bytes(), std::slice::from_ref(&peter)).unwrap();
    assert_eq!(opened.text, text);

    for bad in recs.iter().filter(|r| r[0] == "bad_vkey") {
        assert!(VerifierKey::parse(&bad[1]).is_err(), "{}", bad[1]);
    }
    // Go's TestNewVerifier: every proper substring and every single-byte change is rejected.
    let vkey = field(&recs, "peter_vkey")[0].as_bytes().to_vec();
    for i in 0..vkey.len() {
        for j in i + 1..=vkey.len() {
            if i != 0 || j != vkey.len() {
                if let Ok(s) = std::str::from_utf8(&vkey[i..j]) {
                    assert!(VerifierKey::parse(s).is_err(), "{s}");
                }
            }
        }
        let mut b = vkey.clone();
        b[i] = b[i].wrapping_add(1);
        if let Ok(s) = std::str::from_utf8(&b) {
            assert!(VerifierKey::parse(s).is_err(), "{s}");
        }
    }
    let skey = field(&recs, "peter_skey")[0].as_bytes().to_vec();
    for i in 0..skey.len() {
        let mut b = skey.clone();
        b[i] = b[i].wrapping_add(1);
        if let Ok(s) = std::str::from_utf8(&b) {
            assert!(NoteSigner::parse(s).is_err(), "{s}");
        }
    }
}

#[test]
fn go_sumdb_note_open_rules() {
    let recs = records(&vector("log_note_keys.txt"));
    let peter = VerifierKey::parse(&field(&recs, "peter_vkey")[0]).unwrap();
    let enoch = VerifierKey::parse(&field(&recs, "enoch_vkey")[0]).unwrap();
    let text = vector("log_note_text.txt");
    let peter_note = vector("log_note_peterneumann.note");
    let peter_sig = peter_note
        .strip_prefix(&format!("{text}\n"))
        .unwrap()
        .to_owned();
    let enoch_sig = format!("\u{2014} EnochRoot {}\n", field(&recs, "enoch_sig")[0]);
    let both = format!("{text}\n{peter_sig}{enoch_sig}");

    // One known key, one unknown: the unknown signer is ignored.
    let n = open_note(both.as_bytes(), std::slice::from_ref(&peter)).unwrap();
    assert_eq!(n.verified_by, vec!["PeterNeumann+c74f20a3".to_string()]);
    let n = open_note(both.as_bytes(), &[peter.clone(), enoch.clone()]).unwrap();
    assert_eq!(n.verified_by.len(), 2);
    // No known key.
    assert!(matches!(
        open_note(both.as_bytes(), &[]),
        Err(LogError::NoKnownSignature)
    ));
    // A bad signature from a known key rejects the whole note.
    let tampered = format!("{text}\n{}ABCD{}", &peter_sig[..60], &peter_sig[60..]);
    assert!(matches!(
        open_note(tampered.as_bytes(), std::slice::from_ref(&peter)),
        Err(LogError::BadSignature { .. })
    ));
    // ... but the same bad line from an unknown key is ignored.
    assert!(open_note(
        format!("{tampered}{enoch_sig}").as_bytes(),
        std::slice::from_ref(&enoch)
    )
    .is_ok());
    // Too many signatures (Go's limit is 100).
    let many = format!("{text}\n{}", peter_sig.repeat(101));
    assert!(matches!(
        open_note(many.as_bytes(), std::slice::from_ref(&peter)),
        Err(LogError::MalformedNote(_))
    ));
    // Go's malformed messages.
    for bad in [
        text.clone(),
        format!("{text}\n"),
        format!("{text}\n{}", &peter_sig[..peter_sig.len() - 1]),
        format!("\x01{text}\n{peter_sig}"),
        format!("{text}\n\u{2014} Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="),
        format!("{text}\n{peter_sig}Unexpected line.\n"),
    ] {
        assert!(matches!(parse_note(bad.as_bytes()), Err(LogError::MalformedNote(_))), "{bad:?}");
    }
    let mut invalid_utf8 = vec![0xff];
    invalid_utf8.extend_from_slice(format!("{text}\n{peter_sig}").as_bytes());
    assert!(parse_note(&invalid_utf8).is_err());
}

#[test]
fn c2sp_checkpoint_example_parses() {
    let note = vector("log_checkpoint_c2sp_example.note");
    let parsed = parse_note(note.as_bytes()).unwrap();
    assert_eq!(parsed.signatures.len(), 1);
    assert_eq!(parsed.signatures[0].name, "example.com/behind-the-sofa");
    assert_eq!(parsed.signatures[0].signature.len(), 64);
    let cp: Checkpoint = parse_unverified(note.as_bytes()).unwrap();
    assert_eq!(cp.origin, "example.com/behind-the-sofa");
    assert_eq!(cp.size, 20852163);
    assert_eq!(
        cp.root,
        hash_from_base64("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=").unwrap()
    );
    assert_eq!(cp.to_text(), parsed.text);
}

#[test]
fn c2sp_tile_path_examples() {
    // c2sp.org/tlog-tiles: "index 1234067 will be encoded as x001/x234/067".
    assert_eq!(encode_index(1_234_067), "x001/x234/067");
    let t = TilePath::parse("tile/entries/x001/x234/067.p/8").unwrap();
    assert_eq!(
        (t.kind, t.index, t.width),
        (TileKind::Entries, 1_234_067, 8)
    );
    let t = TilePath::parse("tile/2/x001/x234/067").unwrap();
    assert_eq!(
        (t.kind, t.index, t.width),
        (TileKind::Level(2), 1_234_067, 256)
    );
}
