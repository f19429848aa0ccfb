//! `lightcone-log`: an append-only transparency log whose entries are opaque bytes, interoperable
//! with the C2SP / RFC 6962 transparency-log ecosystem. lightcone stores signed measurements in
//! it; nothing here knows what an entry means.
//!
//! - [`hash`]: RFC 6962 §2.1 leaf and node hashing (SHA-256, prefixes 0x00 and 0x01).
//! - [`proof`]: inclusion and consistency proofs (RFC 6962 generation, RFC 9162 verification)
//!   and their text forms (C2SP `tlog-proof@v1`; `old N` + hashes + checkpoint).
//! - [`tile`]: C2SP `tlog-tiles` paths, tile and entry-bundle contents.
//! - [`edge`]: the tree's right edge, computing new tiles and the root incrementally.
//! - [`note`]: C2SP `signed-note` with Ed25519, verifier and signer keys.
//! - [`checkpoint`]: C2SP `tlog-checkpoint` text, signing and verification.
//! - [`storage`]: the log's storage ([`Log`] writer, [`LogReader`]), crash-safe appends through
//!   a [`Store`]: a directory ([`FsStore`]) or an S3-compatible bucket ([`S3Store`]).
//! - [`http`]: the log server (the only holder of the log key; batched durable submissions,
//!   the `tlog-tiles` read API) and its client.
//! - [`witness`]: C2SP `tlog-witness` add-checkpoint and `tlog-cosignature` v1 Ed25519.
//! - [`bounded_file`] (re-exported `lightcone-files`), [`secret_file`]: bounded reads of
//!   hostile files, owner-only key files.
//!
//! ```
//! use lightcone_log::{Log, LogReader};
//! # let tmp = tempfile::tempdir().unwrap();
//! # let dir = tmp.path().join("log");
//! let key = ed25519_dalek::SigningKey::from_bytes(&[1; 32]);
//! let mut log = Log::init(&dir, "example.com/log", key).unwrap();
//! let indices = log.append_batch(&[b"first".as_slice(), b"second"]).unwrap();
//! assert_eq!(indices, 0..2);
//! let vkey = log.verifier_key().clone();
//!
//! let reader = LogReader::open(&dir).unwrap();
//! let checkpoint = reader.verify(&vkey).unwrap();
//! assert_eq!(checkpoint.size(), 2);
//! let proof = reader.prove(1).unwrap();
//! lightcone_log::check_tlog_proof(&proof, b"second", &vkey).unwrap();
//! ```

#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

/// Bounded reads of hostile files: the `lightcone-files` crate, shared with `lightcone-geo`.
pub use lightcone_files as bounded_file;
pub mod checkpoint;
pub mod edge;
pub mod error;
pub mod hash;
pub mod http;
pub mod note;
pub mod proof;
pub mod secret_file;
pub mod storage;
pub mod tile;
pub mod witness;

pub use checkpoint::{
    check_consistency_proof, check_tlog_proof, open_checkpoint, Checkpoint, VerifiedCheckpoint,
};
pub use error::LogError;
pub use hash::Hash;
pub use note::{NoteSigner, VerifierKey};
pub use proof::{ConsistencyProofText, TlogProof};
pub use storage::{Entries, FsStore, Log, LogReader, Recovery, S3Store, Store};
pub use tile::TilePath;
