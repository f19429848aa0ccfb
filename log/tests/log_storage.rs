//! The on-disk log: layout, reading back, proofs from tiles, audits, and the clear errors the
//! issue asks for (missing file, torn tile, bad signature, root mismatch, immutable conflict).

use ed25519_dalek::SigningKey;
use lightcone_log::checkpoint::Checkpoint;
use lightcone_log::hash::{leaf_hash, Hash};
use lightcone_log::proof::{
    consistency_proof, inclusion_proof, verify_consistency, verify_inclusion, MemoryTree,
};
use lightcone_log::storage::PENDING_FILE;
use lightcone_log::{check_tlog_proof, Log, LogError, LogReader, NoteSigner};
use std::path::Path;

const ORIGIN: &str = "example.com/lightcone/test";

fn key() -> SigningKey {
    SigningKey::from_bytes(&[42; 32])
}

fn entry(i: u64) -> Vec<u8> {
    format!("measurement {i}").into_bytes()
}

fn new_log(dir: &Path) -> Log {
    Log::init(dir, ORIGIN, key()).unwrap()
}

fn fill(log: &mut Log, n: u64, batch: u64) {
    let start = log.size();
    let mut i = start;
    while i < start + n {
        let end = (i + batch).min(start + n);
        let es: Vec<Vec<u8>> = (i..end).map(entry).collect();
        assert_eq!(log.append_batch(&es).unwrap(), i..end);
        i = end;
    }
}

#[test]
fn layout_and_readback() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let mut log = new_log(&dir);
    fill(&mut log, 70_000, 4_999);
    let vkey = log.verifier_key().clone();
    drop(log);
    // c2sp.org/tlog-tiles: 273 full level-0 tiles, a partial of width 112, one full level-1
    // tile, a partial level-1 tile of width 17 and a partial level-2 tile of width 1.
    for p in [
        "tile/0/272",
        "tile/0/273.p/112",
        "tile/entries/272",
        "tile/entries/273.p/112",
        "tile/1/000",
        "tile/1/001.p/17",
        "tile/2/000.p/1",
    ] {
        assert!(dir.join(p).is_file(), "{p}");
    }
    assert!(
        !dir.join("tile/0/000.p").exists(),
        "superseded partials are removed"
    );
    assert_eq!(
        std::fs::metadata(dir.join("tile/0/000")).unwrap().len(),
        8192
    );

    let reader = LogReader::open(&dir).unwrap();
    let cp = reader.verify(&vkey).unwrap();
    assert_eq!(cp.size(), 70_000);
    let mut count = 0;
    for item in reader.entries() {
        let (i, e) = item.unwrap();
        assert_eq!(e, entry(i));
        count += 1;
    }
    assert_eq!(count, 70_000);
    assert_eq!(reader.entry(65_536).unwrap(), entry(65_536));

    // Proofs from tiles equal the proofs of an in-memory tree.
    let leaves: Vec<Hash> = (0..70_000).map(|i| leaf_hash(&entry(i))).collect();
    let mut mem = MemoryTree::from_leaf_hashes(leaves.clone());
    assert_eq!(mem.root(70_000).unwrap(), *cp.root());
    for i in [0u64, 1, 255, 256, 65_535, 65_536, 69_999, 12_345] {
        let p = reader.inclusion_proof(i).unwrap();
        assert_eq!(p, inclusion_proof(&mut mem, i, 70_000).unwrap());
        verify_inclusion(i, 70_000, &leaves[i as usize], &p, cp.root()).unwrap();
        let proof = reader.prove(i).unwrap();
        check_tlog_proof(&proof, &entry(i), &vkey).unwrap();
    }
    for old in [0u64, 1, 7, 256, 4_999, 65_536, 69_999, 70_000] {
        let p = reader.consistency_proof(old).unwrap();
        assert_eq!(p, consistency_proof(&mut mem, old, 70_000).unwrap());
        let old_root = reader.root_at(old).unwrap();
        assert_eq!(old_root, mem.root(old).unwrap());
        verify_consistency(old, 70_000, &old_root, cp.root(), &p).unwrap();
    }
    assert!(matches!(
        reader.inclusion_proof(70_000),
        Err(LogError::IndexOutOfRange { .. })
    ));
    assert!(reader.consistency_proof(70_001).is_err());
}

#[test]
fn reopen_continues_and_pinned_reader_survives() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let mut log = new_log(&dir);
    fill(&mut log, 300, 7);
    let vkey = log.verifier_key().clone();
    let old_reader = LogReader::open(&dir).unwrap();
    drop(log);
    let mut log = Log::open(&dir, key()).unwrap();
    assert_eq!(log.size(), 300);
    assert_eq!(log.recovery().interrupted, None);
    // Complete tile 1 (entries 256..512): its partial tiles are removed, and a reader pinned
    // at size 300 falls back to the prefix of the full tile.
    fill(&mut log, 300, 64);
    assert!(!dir.join("tile/0/001.p").exists());
    assert_eq!(old_reader.size(), 300);
    assert_eq!(old_reader.verify(&vkey).unwrap().size(), 300);
    assert_eq!(old_reader.entry(299).unwrap(), entry(299));
    check_tlog_proof(&old_reader.prove(299).unwrap(), &entry(299), &vkey).unwrap();
    let new_reader = LogReader::open(&dir).unwrap();
    let cp = new_reader.verify(&vkey).unwrap();
    let p = new_reader.consistency_proof(300).unwrap();
    verify_consistency(
        300,
        600,
        old_reader
            .checkpoint_unverified()
            .root
            .as_ref()
            .try_into()
            .unwrap(),
        cp.root(),
        &p,
    )
    .unwrap();
}

#[test]
fn writer_lock_init_twice_and_wrong_key() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let log = new_log(&dir);
    assert!(matches!(
        Log::open(&dir, key()),
        Err(LogError::Locked { .. })
    ));
    drop(log);
    assert!(matches!(
        Log::init(&dir, ORIGIN, key()),
        Err(LogError::AlreadyExists { .. })
    ));
    assert!(matches!(
        Log::open(&dir, SigningKey::from_bytes(&[1; 32])),
        Err(LogError::KeyMismatch(_))
    ));
    assert!(Log::init(tmp.path().join("bad"), "has space", key()).is_err());
}

#[test]
fn empty_batch_and_oversized_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let mut log = new_log(&dir);
    let none: [&[u8]; 0] = [];
    assert_eq!(log.append_batch(&none).unwrap(), 0..0);
    let big = vec![0u8; 65_536];
    assert!(matches!(
        log.append_batch(&[b"ok".to_vec(), big]),
        Err(LogError::EntryTooLarge(65_536))
    ));
    assert_eq!(log.size(), 0);
    assert!(
        !dir.join("tile").exists(),
        "nothing written for a rejected batch"
    );
    let max = vec![7u8; 65_535];
    assert_eq!(log.append_batch(std::slice::from_ref(&max)).unwrap(), 0..1);
    let reader = LogReader::open(&dir).unwrap();
    assert_eq!(reader.entry(0).unwrap(), max);
}

fn damaged(setup: impl FnOnce(&Path)) -> (LogError, LogError) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let mut log = new_log(&dir);
    fill(&mut log, 600, 100);
    let vkey = log.verifier_key().clone();
    drop(log);
    setup(&dir);
    let audit = LogReader::open(&dir)
        .and_then(|r| r.verify(&vkey))
        .unwrap_err();
    let open = Log::open(&dir, key()).err().unwrap_or(LogError::Poisoned);
    (audit, open)
}

#[test]
fn torn_partial_tile() {
    let (audit, open) = damaged(|dir| {
        let p = dir.join("tile/0/002.p/88");
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() - 5]).unwrap();
    });
    assert!(
        matches!(&audit, LogError::TornTile { path, .. } if path.ends_with("tile/0/002.p/88")),
        "{audit}"
    );
    assert!(
        matches!(&open, LogError::TornTile { path, .. } if path.ends_with("tile/0/002.p/88")),
        "{open}"
    );
    assert!(audit.to_string().contains("torn tile"));
}

#[test]
fn torn_entry_bundle() {
    let (audit, _) = damaged(|dir| {
        let p = dir.join("tile/entries/000");
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() - 1]).unwrap();
    });
    assert!(
        matches!(&audit, LogError::TornTile { path, .. } if path.ends_with("tile/entries/000")),
        "{audit}"
    );
}

#[test]
fn modified_full_tile_is_a_mismatch() {
    let (audit, open) = damaged(|dir| {
        let p = dir.join("tile/0/001");
        let mut bytes = std::fs::read(&p).unwrap();
        bytes[100] ^= 1;
        std::fs::write(&p, &bytes).unwrap();
    });
    assert!(
        matches!(&audit, LogError::TileMismatch { path } if path.ends_with("tile/0/001")),
        "{audit}"
    );
    // The writer only reads the right edge, which is intact.
    assert!(matches!(open, LogError::Poisoned));
}

#[test]
fn modified_entry_is_a_mismatch() {
    let (audit, _) = damaged(|dir| {
        let p = dir.join("tile/entries/001");
        let mut bytes = std::fs::read(&p).unwrap();
        bytes[10] ^= 1;
        std::fs::write(&p, &bytes).unwrap();
    });
    assert!(
        matches!(&audit, LogError::TileMismatch { path } if path.ends_with("tile/0/001")),
        "{audit}"
    );
}

#[test]
fn missing_file() {
    let (audit, _) = damaged(|dir| std::fs::remove_file(dir.join("tile/entries/001")).unwrap());
    assert!(
        matches!(&audit, LogError::MissingFile { path } if path.ends_with("tile/entries/001")),
        "{audit}"
    );
    assert!(audit.to_string().contains("missing file"));
    let (audit, open) = damaged(|dir| std::fs::remove_file(dir.join("checkpoint")).unwrap());
    assert!(matches!(audit, LogError::MissingFile { .. }));
    assert!(matches!(open, LogError::MissingFile { .. }));
}

#[test]
fn bad_signature() {
    let (audit, open) = damaged(|dir| {
        let p = dir.join("checkpoint");
        let text = std::fs::read_to_string(&p).unwrap();
        // Change one base64 character of the signature (after the key ID).
        let pos = text.rfind(' ').unwrap() + 10;
        let mut bytes = text.into_bytes();
        bytes[pos] = if bytes[pos] == b'A' { b'B' } else { b'A' };
        std::fs::write(&p, bytes).unwrap();
    });
    assert!(matches!(audit, LogError::BadSignature { .. }), "{audit}");
    assert!(matches!(open, LogError::BadSignature { .. }), "{open}");
}

#[test]
fn root_mismatch() {
    let (audit, open) = damaged(|dir| {
        // A validly signed checkpoint whose root is not the data's root.
        let signer = NoteSigner::new(ORIGIN, key()).unwrap();
        let cp = Checkpoint {
            origin: ORIGIN.into(),
            size: 600,
            root: [7; 32],
            extensions: vec![],
        };
        std::fs::write(dir.join("checkpoint"), cp.sign(&signer).unwrap()).unwrap();
    });
    assert!(
        matches!(audit, LogError::RootMismatch { size: 600, .. }),
        "{audit}"
    );
    assert!(
        matches!(open, LogError::RootMismatch { size: 600, .. }),
        "{open}"
    );
    assert!(audit.to_string().contains("root mismatch"));
}

#[test]
fn immutable_file_is_never_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let mut log = new_log(&dir);
    fill(&mut log, 250, 250);
    drop(log);
    // A file the next append would create already exists with other bytes, and no recovery
    // record explains it: the writer refuses and leaves it alone.
    std::fs::write(dir.join("tile/entries/000"), b"someone else's bytes").unwrap();
    let mut log = Log::open(&dir, key()).unwrap();
    let es: Vec<Vec<u8>> = (250..260).map(entry).collect();
    let err = log.append_batch(&es).unwrap_err();
    assert!(
        matches!(&err, LogError::ImmutableConflict { path } if path.ends_with("tile/entries/000")),
        "{err}"
    );
    assert_eq!(
        std::fs::read(dir.join("tile/entries/000")).unwrap(),
        b"someone else's bytes"
    );
    assert!(matches!(log.append_batch(&es), Err(LogError::Poisoned)));
    assert_eq!(LogReader::open(&dir).unwrap().size(), 250);
}

#[test]
fn interrupted_append_is_rolled_back() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let mut log = new_log(&dir);
    fill(&mut log, 250, 50);
    let vkey = log.verifier_key().clone();
    let published = std::fs::read(dir.join("checkpoint")).unwrap();
    // Simulate a crash after the tiles of 250..300 were written but before the checkpoint:
    // do the append, then put back the old checkpoint and the recovery record.
    let partials = ["tile/0/000.p/250", "tile/entries/000.p/250"]
        .map(|p| (p, std::fs::read(dir.join(p)).unwrap()));
    fill(&mut log, 50, 50);
    drop(log);
    // (A real crash comes before the housekeeping that drops superseded partial tiles.)
    for (p, bytes) in &partials {
        std::fs::create_dir_all(dir.join(p).parent().unwrap()).unwrap();
        std::fs::write(dir.join(p), bytes).unwrap();
    }
    std::fs::write(dir.join("checkpoint"), &published).unwrap();
    std::fs::write(dir.join(PENDING_FILE), "lightcone-pending v1\n250\n300\n").unwrap();
    std::fs::write(dir.join("tile/0/.001.p.tmp"), b"junk").unwrap_or(());

    let mut log = Log::open(&dir, key()).unwrap();
    assert_eq!(log.size(), 250);
    assert_eq!(log.recovery().interrupted, Some(250..300));
    assert!(log
        .recovery()
        .removed
        .iter()
        .any(|p| p.ends_with("tile/entries/000")));
    assert!(!dir.join(PENDING_FILE).exists());
    // Different entries at the same positions now go through, and the log audits clean.
    let es: Vec<Vec<u8>> = (0..60).map(|i| format!("other {i}").into_bytes()).collect();
    assert_eq!(log.append_batch(&es).unwrap(), 250..310);
    drop(log);
    let reader = LogReader::open(&dir).unwrap();
    assert_eq!(reader.verify(&vkey).unwrap().size(), 310);
    assert_eq!(reader.entry(251).unwrap(), b"other 1");
}

#[test]
fn inconsistent_recovery_record_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let mut log = new_log(&dir);
    fill(&mut log, 10, 10);
    drop(log);
    std::fs::write(dir.join(PENDING_FILE), "lightcone-pending v1\n5\n20\n").unwrap();
    assert!(matches!(
        Log::open(&dir, key()),
        Err(LogError::BadRecoveryRecord { .. })
    ));
}

#[test]
fn crash_before_the_record_was_durable_leaves_no_temporaries() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let mut log = new_log(&dir);
    fill(&mut log, 10, 10);
    drop(log);
    // A crash in phase 1-2: the record and the tiles exist only under temporary names.
    std::fs::write(
        dir.join(format!(".{PENDING_FILE}.tmp")),
        "lightcone-pending v1\n10\n20\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("tile/0/000.p")).unwrap();
    std::fs::write(dir.join("tile/0/000.p/.20.tmp"), b"half a tile").unwrap();
    std::fs::write(dir.join("tile/entries/000.p/.20.tmp"), b"half a bundle").unwrap();
    let log = Log::open(&dir, key()).unwrap();
    assert_eq!(log.recovery().interrupted, None);
    assert_eq!(log.recovery().removed.len(), 3);
    assert!(!dir.join("tile/0/000.p/.20.tmp").exists());
    assert!(!dir.join(format!(".{PENDING_FILE}.tmp")).exists());
}

/// `LogReader::check_files` accepts every tree the writer makes (sizes around tile and level
/// boundaries, superseded partial tiles removed) and refuses a FIFO, a directory or a symlink
/// in place of a hash tile or an entry bundle, naming it, without reading anything.
#[test]
fn check_files_accepts_every_written_tree_and_refuses_special_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = new_log(dir.path());
    let mut size = 0u64;
    for target in [
        1u64, 255, 256, 257, 511, 512, 65_535, 65_536, 65_537, 66_000,
    ] {
        fill(&mut log, target - size, 4096);
        size = target;
        let reader = LogReader::open(dir.path()).unwrap();
        assert_eq!(reader.size(), size);
        reader
            .check_files()
            .unwrap_or_else(|e| panic!("size {size}: {e}"));
        reader.verify(log.verifier_key()).unwrap();
    }
    drop(log);
    for victim in ["tile/0/000", "tile/entries/001", "tile/1/000"] {
        let path = dir.path().join(victim);
        let saved = std::fs::read(&path).unwrap();
        for how in ["fifo", "dir", "symlink"] {
            std::fs::remove_file(&path).unwrap();
            match how {
                "fifo" => assert!(std::process::Command::new("mkfifo")
                    .arg(&path)
                    .status()
                    .unwrap()
                    .success()),
                "dir" => std::fs::create_dir(&path).unwrap(),
                _ => std::os::unix::fs::symlink("/dev/zero", &path).unwrap(),
            }
            let err = LogReader::open(dir.path())
                .unwrap()
                .check_files()
                .unwrap_err();
            assert!(
                matches!(err, LogError::Refused { .. }),
                "{victim} as {how}: {err}"
            );
            assert!(err.to_string().contains(victim), "{err}");
            if how == "dir" {
                std::fs::remove_dir(&path).unwrap();
            } else {
                std::fs::remove_file(&path).unwrap();
            }
            std::fs::write(&path, &saved).unwrap();
        }
    }
    LogReader::open(dir.path()).unwrap().check_files().unwrap();
}
