#![doc = include_str!("../README.md")]
#![no_std]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented
    )
)]

#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod algorithm;
pub mod cert;
pub mod distance;
pub mod ecdsa;
pub mod ed25519;
pub mod error;
pub mod evidence;
pub mod ids;
pub mod landmark;
pub mod message;
pub mod position;
pub mod record;
pub mod responder;
pub mod signed;
pub mod signing;
pub mod verified;
pub mod wire;

pub use algorithm::{Algorithm, AnyPublicKey, AnySignature, PreparedAnyKey};
pub use cert::{DeviceCertificate, LandmarkCertificate, ModelName, Name, OperatorName, Validity};
pub use distance::{DistanceBound, ProcessingCredit, ResponseTiming, Speed};
pub use error::Error;
pub use ids::{ChipId, IssuerId, LandmarkId, PublicKey};
pub use landmark::Landmark;
pub use message::{Challenge, Measurement, Nonce, Response};
pub use position::{Latitude, Longitude, Position};
pub use record::{LogEntry, LogRecord};
pub use responder::{MonotonicCounter, RamCounter, Responder};
pub use signed::Signed;
pub use signing::{Ed25519Signer, Signature, Signer, PROTOCOL_VERSION};
pub use verified::Verified;
pub use wire::Wire;
