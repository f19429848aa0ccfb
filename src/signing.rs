//! Signing behind a trait (so a hardware engine can hold the key, whatever its algorithm) and
//! verification by lightcone's one cofactored Ed25519 rule ([`crate::ed25519`]) for server
//! signatures; device signatures of any algorithm verify through
//! [`crate::algorithm::PreparedAnyKey`].
//!
//! Every signed structure is signed as `domain ‖ postcard(body)`, where `domain` names the
//! structure and the protocol version: a signature for one kind of record can never be replayed
//! as another.

use ed25519_dalek::Signature as DalekSignature;
use serde::{Deserialize, Serialize};

use crate::algorithm::{AnyPublicKey, AnySignature};
use crate::ed25519::{self, PreparedKey};
use crate::error::Error;
use crate::ids::{KeyBytes, PublicKey};
use crate::wire::{encode_to_slice, Bytes};

/// The one protocol version this build speaks; every message carries it in its first byte.
pub const PROTOCOL_VERSION: u8 = 3;

/// Domain-separation prefixes, one per signed structure.
pub mod domain {
    /// A chip's signature over its response.
    pub const RESPONSE: &[u8] = b"lightcone/v3/response\0";
    /// A landmark's signature over a measurement.
    pub const MEASUREMENT: &[u8] = b"lightcone/v3/measurement\0";
    /// A vendor's signature over a device certificate.
    pub const DEVICE_CERTIFICATE: &[u8] = b"lightcone/v3/device-certificate\0";
    /// The registry's signature over a landmark certificate.
    pub const LANDMARK_CERTIFICATE: &[u8] = b"lightcone/v3/landmark-certificate\0";
    /// A landmark's signature over a measurement answered with SPDM evidence.
    pub const SPDM_MEASUREMENT: &[u8] = b"lightcone/v3/spdm-measurement\0";
    /// The registry's signature over a GPU model's timing endorsement.
    pub const MODEL_ENDORSEMENT: &[u8] = b"lightcone/v3/model-endorsement\0";
}

/// Largest signed body in the protocol plus its domain prefix; messages are assembled on the
/// stack in a buffer of this size, so no allocator is needed.
pub(crate) const MAX_SIGNED_MESSAGE: usize = 320;

/// An Ed25519 signature: what servers (landmarks, vendors, the registry) sign with. On the wire
/// it is tagged like every signature ([`crate::algorithm`]): tag 0, then 64 bytes; decoding
/// refuses any other algorithm's tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "AnySignature", try_from = "AnySignature")]
pub struct Signature(pub Bytes<64>);

impl Signature {
    /// The raw 64 bytes.
    pub const fn to_bytes(&self) -> [u8; 64] {
        self.0 .0
    }
}

/// Something that holds a private key and signs with it: a software key, a secure element or a
/// chip's crypto engine (an Ed25519 key, or the ECDSA P-384 engine of a root of trust such as
/// Caliptra's). The key never has to leave the implementation.
///
/// The associated types name the algorithm at compile time: servers must be
/// [`Ed25519Signer`]s (their certificates and measurements carry Ed25519 [`Signature`]s), while
/// a chip's [`crate::Responder`] takes any signer whose key and signature convert to the tagged
/// [`AnyPublicKey`] and [`AnySignature`].
pub trait Signer {
    /// The public key's type ([`PublicKey`] for Ed25519, [`AnyPublicKey`] for others).
    type PublicKey: Copy + Into<AnyPublicKey> + KeyBytes;
    /// The signature's type ([`Signature`] for Ed25519, [`AnySignature`] for others).
    type Signature: Into<AnySignature>;

    /// The public half of the key.
    fn public_key(&self) -> Self::PublicKey;

    /// Signs `message` (already domain-separated by the caller) by the key's algorithm: pure
    /// Ed25519, or ECDSA with the curve's hash (SHA-384 for P-384) over `message` and the
    /// fixed-size `r ‖ s` form.
    fn try_sign(&mut self, message: &[u8]) -> Result<Self::Signature, Error>;
}

/// A [`Signer`] with an Ed25519 key: what landmarks, vendors and the registry sign with.
pub trait Ed25519Signer: Signer<PublicKey = PublicKey, Signature = Signature> {}

impl<S: Signer<PublicKey = PublicKey, Signature = Signature> + ?Sized> Ed25519Signer for S {}

impl Signer for ed25519_dalek::SigningKey {
    type PublicKey = PublicKey;
    type Signature = Signature;

    fn public_key(&self) -> PublicKey {
        PublicKey::from(&self.verifying_key())
    }

    fn try_sign(&mut self, message: &[u8]) -> Result<Signature, Error> {
        let signature: DalekSignature = ed25519_dalek::Signer::sign(self, message);
        Ok(Signature(Bytes(signature.to_bytes())))
    }
}

macro_rules! ecdsa_software_signer {
    (
        $(#[$doc:meta])*
        curve: $curve:ident,
        curve_type: $Curve:ident,
        hash: $hash:ty,
        variant: $variant:ident,
        key_len: $key_len:path,
        sig_len: $sig_len:path $(,)?
    ) => {
        $(#[$doc])*
        impl Signer for $curve::ecdsa::SigningKey {
            type PublicKey = AnyPublicKey;
            type Signature = AnySignature;

            fn public_key(&self) -> AnyPublicKey {
                let point = self.verifying_key().to_encoded_point(false);
                let mut bytes = [0u8; $key_len];
                if point.as_bytes().len() == bytes.len() {
                    bytes.copy_from_slice(point.as_bytes());
                }
                AnyPublicKey::$variant(Bytes(bytes))
            }

            /// RFC 6979 deterministic ECDSA over the curve's hash of `message`: the same
            /// signature as `ecdsa::SigningKey::sign`, by a path with no panic in it (that one
            /// unwraps the RFC 6979 nonce's conversion to a scalar, which firmware's panic check
            /// finds). The hash is the field's size, so it is the message representative as is.
            fn try_sign(&mut self, message: &[u8]) -> Result<AnySignature, Error> {
                use ecdsa_core::hazmat::SignPrimitive as _;
                use sha2::Digest as _;
                use $curve::elliptic_curve::{
                    Curve as _, FieldBytesEncoding as _,
                    PrimeField as _,
                };
                let secret: &$curve::Scalar = self.as_nonzero_scalar().as_ref();
                let z: $curve::FieldBytes = <$hash>::digest(message);
                let k = rfc6979::generate_k::<$hash, _>(
                    &secret.to_repr(),
                    &$curve::$Curve::ORDER.encode_field_bytes(),
                    &z,
                    &[],
                );
                let k = Option::<$curve::Scalar>::from($curve::Scalar::from_repr(k))
                    .ok_or(Error::SignerFailed)?;
                let (signature, _) = secret
                    .try_sign_prehashed(k, &z)
                    .map_err(|_| Error::SignerFailed)?;
                let encoded = signature.to_bytes();
                let mut bytes = [0u8; $sig_len];
                if encoded.len() != bytes.len() {
                    return Err(Error::SignerFailed);
                }
                bytes.copy_from_slice(&encoded);
                Ok(AnySignature::$variant(Bytes(bytes)))
            }
        }
    };
}

ecdsa_software_signer!(
    /// A software P-384 key (RFC 6979 deterministic ECDSA with SHA-384), for hosts, tests and
    /// the P-384 firmware example; a Caliptra-style engine implements [`Signer`] the same way,
    /// with the key inside the engine.
    curve: p384,
    curve_type: NistP384,
    hash: sha2::Sha384,
    variant: P384,
    key_len: crate::ecdsa::P384_PUBLIC_KEY_LEN,
    sig_len: crate::ecdsa::P384_SIGNATURE_LEN,
);

ecdsa_software_signer!(
    /// A software P-256 key (RFC 6979 deterministic ECDSA with SHA-256), for hosts and tests.
    curve: p256,
    curve_type: NistP256,
    hash: sha2::Sha256,
    variant: P256,
    key_len: crate::ecdsa::P256_PUBLIC_KEY_LEN,
    sig_len: crate::ecdsa::P256_SIGNATURE_LEN,
);

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
) -> Result<S::Signature, Error> {
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
