//! Signing behind a trait (so a hardware engine can hold the key) and verification by
//! lightcone's one cofactored Ed25519 rule ([`crate::ed25519`]).
//!
//! Every signed structure is signed as `domain ‖ postcard(body)`, where `domain` names the
//! structure and the protocol version: a signature for one kind of record can never be replayed
//! as another.

use ed25519_dalek::Signature as DalekSignature;
use serde::{Deserialize, Serialize};

use crate::ed25519::{self, PreparedKey};
use crate::error::Error;
use crate::ids::PublicKey;
use crate::wire::{encode_to_slice, Bytes};

/// The one protocol version this build speaks; every message carries it in its first byte.
pub const PROTOCOL_VERSION: u8 = 2;

/// Domain-separation prefixes, one per signed structure.
pub mod domain {
    /// A chip's signature over its response.
    pub const RESPONSE: &[u8] = b"lightcone/v2/response\0";
    /// A landmark's signature over a measurement.
    pub const MEASUREMENT: &[u8] = b"lightcone/v2/measurement\0";
    /// A vendor's signature over a device certificate.
    pub const DEVICE_CERTIFICATE: &[u8] = b"lightcone/v2/device-certificate\0";
    /// The registry's signature over a landmark certificate.
    pub const LANDMARK_CERTIFICATE: &[u8] = b"lightcone/v2/landmark-certificate\0";
}

/// Largest signed body in the protocol plus its domain prefix; messages are assembled on the
/// stack in a buffer of this size, so no allocator is needed.
pub(crate) const MAX_SIGNED_MESSAGE: usize = 320;

/// An Ed25519 signature as it travels on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Signature(pub Bytes<64>);

impl Signature {
    /// The raw 64 bytes.
    pub const fn to_bytes(&self) -> [u8; 64] {
        self.0 .0
    }
}

/// Something that holds an Ed25519 private key and signs with it: a software key, a secure
/// element or a chip's crypto engine. The key never has to leave the implementation.
pub trait Signer {
    /// The public half of the key.
    fn public_key(&self) -> PublicKey;

    /// Signs `message` (already domain-separated by the caller) with pure Ed25519.
    fn try_sign(&mut self, message: &[u8]) -> Result<Signature, Error>;
}

impl Signer for ed25519_dalek::SigningKey {
    fn public_key(&self) -> PublicKey {
        PublicKey::from(&self.verifying_key())
    }

    fn try_sign(&mut self, message: &[u8]) -> Result<Signature, Error> {
        let signature: DalekSignature = ed25519_dalek::Signer::sign(self, message);
        Ok(Signature(Bytes(signature.to_bytes())))
    }
}

/// Builds `domain ‖ postcard(body)` in a stack buffer and hands it to `f`.
pub(crate) fn with_signed_message<T: Serialize, R>(
    domain: &[u8],
    body: &T,
    f: impl FnOnce(&[u8]) -> Result<R, Error>,
) -> Result<R, Error> {
    let mut buf = [0u8; MAX_SIGNED_MESSAGE];
    let (head, tail) = buf.split_at_mut(domain.len().min(MAX_SIGNED_MESSAGE));
    if head.len() != domain.len() {
        return Err(Error::BufferTooSmall);
    }
    head.copy_from_slice(domain);
    let body_len = encode_to_slice(body, tail)
        .map_err(|_| Error::BufferTooSmall)?
        .len();
    let total = domain.len().saturating_add(body_len);
    let message = buf.get(..total).ok_or(Error::BufferTooSmall)?;
    f(message)
}

/// Signs `domain ‖ postcard(body)` with `signer`.
pub(crate) fn sign_body<T: Serialize, S: Signer + ?Sized>(
    signer: &mut S,
    domain: &[u8],
    body: &T,
) -> Result<Signature, Error> {
    with_signed_message(domain, body, |message| signer.try_sign(message))
}

/// Checks `signature` over `domain ‖ postcard(body)` under `key` by lightcone's Ed25519 rule
/// (see [`crate::ed25519`]: strict encodings, cofactored equation, same as batch verification).
pub(crate) fn verify_body<T: Serialize>(
    key: &PreparedKey,
    domain: &[u8],
    body: &T,
    signature: &Signature,
) -> Result<(), Error> {
    with_signed_message(domain, body, |message| {
        ed25519::verify(key, message, signature)
    })
}

/// Parses a public key as an `ed25519_dalek` key after lightcone's key checks (canonical
/// encoding, not of small order; see [`crate::ed25519::PreparedKey`]). Mixed-order keys (a
/// prime-order point plus a torsion component) pass: the cofactored rule accepts them.
pub fn verifying_key(key: &PublicKey) -> Result<ed25519_dalek::VerifyingKey, Error> {
    PreparedKey::new(key)?;
    ed25519_dalek::VerifyingKey::from_bytes(&key.to_bytes()).map_err(|_| Error::InvalidPublicKey)
}
