//! Algorithm-tagged public keys and signatures (DESIGN §6).
//!
//! Every key and signature on the wire names its algorithm in a first tag byte (postcard's enum
//! variant index), then carries the algorithm's one fixed-size canonical form:
//!
//! | tag | algorithm | public key | signature |
//! |---|---|---|---|
//! | 0 | Ed25519 ([`crate::ed25519`]) | 32 bytes | 64 bytes `R ‖ S` |
//! | 1 | ECDSA P-384 / SHA-384 ([`crate::ecdsa`]) | 97 bytes, uncompressed SEC1 | 96 bytes `r ‖ s` |
//! | 2 | ECDSA P-256 / SHA-256 ([`crate::ecdsa`]) | 65 bytes, uncompressed SEC1 | 64 bytes `r ‖ s` |
//!
//! Servers (landmarks, vendors, the registry, the log, witnesses) sign with Ed25519 only: their
//! keys and signatures are the types [`PublicKey`] and [`Signature`], which encode with tag 0 and
//! refuse any other tag when decoded. Device keys may be any of the three: [`AnyPublicKey`] and
//! [`AnySignature`]. A signature of one algorithm never verifies under a key of another
//! ([`PreparedAnyKey::verify`]).
//!
//! An identifier hashes the key's canonical bytes *without* the tag
//! (`SHA-256(key bytes)[..16]`, [`crate::ids`]): the three forms have different lengths, so no
//! two keys of different algorithms share an identifier's preimage, and the id of a chip whose
//! key sits in an X.509 certificate is the SHA-256 of the certificate's SEC1 point.

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::ecdsa::{
    P256PublicKey, P256Signature, P384PublicKey, P384Signature, P256_PUBLIC_KEY_LEN,
    P256_SIGNATURE_LEN, P384_PUBLIC_KEY_LEN, P384_SIGNATURE_LEN,
};
use crate::ed25519::{self, PreparedKey};
use crate::error::Error;
use crate::ids::PublicKey;
use crate::signing::Signature;
use crate::wire::Bytes;

/// A signature algorithm lightcone speaks. The discriminant is the tag byte on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Algorithm {
    /// Pure Ed25519 under lightcone's cofactored rule ([`crate::ed25519`]).
    Ed25519 = 0,
    /// ECDSA over P-384 with SHA-384 ([`crate::ecdsa::P384PublicKey`]).
    EcdsaP384Sha384 = 1,
    /// ECDSA over P-256 with SHA-256 ([`crate::ecdsa::P256PublicKey`]).
    EcdsaP256Sha256 = 2,
}

impl Algorithm {
    /// The tag byte that precedes a key or signature of this algorithm on the wire.
    pub const fn tag(self) -> u8 {
        self as u8
    }

    /// A stable lower-case name for reports and files: `ed25519`, `ecdsa-p384-sha384`,
    /// `ecdsa-p256-sha256`.
    pub const fn name(self) -> &'static str {
        match self {
            Algorithm::Ed25519 => "ed25519",
            Algorithm::EcdsaP384Sha384 => "ecdsa-p384-sha384",
            Algorithm::EcdsaP256Sha256 => "ecdsa-p256-sha256",
        }
    }

    /// The algorithm named `name` (as [`Self::name`] writes it).
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Algorithm::Ed25519,
            Algorithm::EcdsaP384Sha384,
            Algorithm::EcdsaP256Sha256,
        ]
        .into_iter()
        .find(|a| a.name() == name)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A public key of any algorithm, as it travels on the wire: tag, then the fixed-size form.
/// Not yet checked to be a valid point: [`PreparedAnyKey::new`] does that.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AnyPublicKey {
    /// An Ed25519 key (32 bytes).
    Ed25519(Bytes<32>),
    /// An ECDSA P-384 key: uncompressed SEC1, `0x04 ‖ X ‖ Y` (97 bytes).
    P384(Bytes<P384_PUBLIC_KEY_LEN>),
    /// An ECDSA P-256 key: uncompressed SEC1, `0x04 ‖ X ‖ Y` (65 bytes).
    P256(Bytes<P256_PUBLIC_KEY_LEN>),
}

impl AnyPublicKey {
    /// Largest encoding: tag plus a P-384 point.
    pub const MAX_SIZE: usize = 1 + P384_PUBLIC_KEY_LEN;

    /// The key's algorithm.
    pub const fn algorithm(&self) -> Algorithm {
        match self {
            AnyPublicKey::Ed25519(_) => Algorithm::Ed25519,
            AnyPublicKey::P384(_) => Algorithm::EcdsaP384Sha384,
            AnyPublicKey::P256(_) => Algorithm::EcdsaP256Sha256,
        }
    }

    /// The key's canonical bytes without the tag (what identifiers hash).
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            AnyPublicKey::Ed25519(b) => &b.0,
            AnyPublicKey::P384(b) => &b.0,
            AnyPublicKey::P256(b) => &b.0,
        }
    }

    /// The key as an Ed25519 key, when it is one.
    pub const fn ed25519(&self) -> Option<PublicKey> {
        match self {
            AnyPublicKey::Ed25519(b) => Some(PublicKey(*b)),
            _ => None,
        }
    }

    /// A key of `algorithm` from its canonical bytes (exactly the algorithm's length); the
    /// point itself is checked later, by [`PreparedAnyKey::new`].
    pub fn from_parts(algorithm: Algorithm, bytes: &[u8]) -> Result<Self, Error> {
        match algorithm {
            Algorithm::Ed25519 => bytes.try_into().map(|b| AnyPublicKey::Ed25519(Bytes(b))),
            Algorithm::EcdsaP384Sha384 => bytes.try_into().map(|b| AnyPublicKey::P384(Bytes(b))),
            Algorithm::EcdsaP256Sha256 => bytes.try_into().map(|b| AnyPublicKey::P256(Bytes(b))),
        }
        .map_err(|_| Error::InvalidPublicKey)
    }
}

impl From<PublicKey> for AnyPublicKey {
    fn from(key: PublicKey) -> Self {
        AnyPublicKey::Ed25519(key.0)
    }
}

impl From<&P384PublicKey> for AnyPublicKey {
    fn from(key: &P384PublicKey) -> Self {
        AnyPublicKey::P384(Bytes(*key.to_sec1()))
    }
}

impl From<&P256PublicKey> for AnyPublicKey {
    fn from(key: &P256PublicKey) -> Self {
        AnyPublicKey::P256(Bytes(*key.to_sec1()))
    }
}

impl TryFrom<AnyPublicKey> for PublicKey {
    type Error = Error;

    fn try_from(key: AnyPublicKey) -> Result<Self, Error> {
        key.ed25519().ok_or(Error::UnsupportedAlgorithm)
    }
}

impl PartialEq<PublicKey> for AnyPublicKey {
    fn eq(&self, other: &PublicKey) -> bool {
        *self == AnyPublicKey::from(*other)
    }
}

impl fmt::Debug for AnyPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnyPublicKey::Ed25519(b) => write!(f, "Ed25519({b:?})"),
            AnyPublicKey::P384(b) => write!(f, "P384({b:?})"),
            AnyPublicKey::P256(b) => write!(f, "P256({b:?})"),
        }
    }
}

/// A signature of any algorithm, as it travels on the wire: tag, then the fixed-size form.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AnySignature {
    /// An Ed25519 signature, `R ‖ S` (64 bytes).
    Ed25519(Bytes<64>),
    /// An ECDSA P-384 signature, `r ‖ s` (96 bytes; high and low `s` both valid).
    P384(Bytes<P384_SIGNATURE_LEN>),
    /// An ECDSA P-256 signature, `r ‖ s` (64 bytes; high and low `s` both valid).
    P256(Bytes<P256_SIGNATURE_LEN>),
}

impl AnySignature {
    /// Largest encoding: tag plus a P-384 signature.
    pub const MAX_SIZE: usize = 1 + P384_SIGNATURE_LEN;

    /// The signature's algorithm.
    pub const fn algorithm(&self) -> Algorithm {
        match self {
            AnySignature::Ed25519(_) => Algorithm::Ed25519,
            AnySignature::P384(_) => Algorithm::EcdsaP384Sha384,
            AnySignature::P256(_) => Algorithm::EcdsaP256Sha256,
        }
    }

    /// The signature's bytes without the tag.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            AnySignature::Ed25519(b) => &b.0,
            AnySignature::P384(b) => &b.0,
            AnySignature::P256(b) => &b.0,
        }
    }

    /// A signature of `algorithm` from its fixed-size bytes (exactly the algorithm's length).
    pub fn from_parts(algorithm: Algorithm, bytes: &[u8]) -> Result<Self, Error> {
        match algorithm {
            Algorithm::Ed25519 => bytes.try_into().map(|b| AnySignature::Ed25519(Bytes(b))),
            Algorithm::EcdsaP384Sha384 => bytes.try_into().map(|b| AnySignature::P384(Bytes(b))),
            Algorithm::EcdsaP256Sha256 => bytes.try_into().map(|b| AnySignature::P256(Bytes(b))),
        }
        .map_err(|_| Error::BadSignature)
    }

    /// The signature as an Ed25519 signature, when it is one.
    pub const fn ed25519(&self) -> Option<Signature> {
        match self {
            AnySignature::Ed25519(b) => Some(Signature(*b)),
            _ => None,
        }
    }
}

impl From<Signature> for AnySignature {
    fn from(signature: Signature) -> Self {
        AnySignature::Ed25519(signature.0)
    }
}

impl From<P384Signature> for AnySignature {
    fn from(signature: P384Signature) -> Self {
        AnySignature::P384(Bytes(*signature.to_bytes()))
    }
}

impl From<P256Signature> for AnySignature {
    fn from(signature: P256Signature) -> Self {
        AnySignature::P256(Bytes(*signature.to_bytes()))
    }
}

impl TryFrom<AnySignature> for Signature {
    type Error = Error;

    fn try_from(signature: AnySignature) -> Result<Self, Error> {
        signature.ed25519().ok_or(Error::UnsupportedAlgorithm)
    }
}

impl fmt::Debug for AnySignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnySignature::Ed25519(b) => write!(f, "Ed25519({b:?})"),
            AnySignature::P384(b) => write!(f, "P384({b:?})"),
            AnySignature::P256(b) => write!(f, "P256({b:?})"),
        }
    }
}

/// A key of any algorithm that passed its algorithm's key checks, ready to verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PreparedAnyKey {
    /// An Ed25519 key (canonical, not of small order).
    Ed25519(PreparedKey),
    /// A P-384 point on the curve.
    P384(P384PublicKey),
    /// A P-256 point on the curve.
    P256(P256PublicKey),
}

impl PreparedAnyKey {
    /// Checks `key` by its algorithm's rules; [`Error::InvalidPublicKey`] when it fails them.
    pub fn new(key: &AnyPublicKey) -> Result<Self, Error> {
        Ok(match key {
            AnyPublicKey::Ed25519(b) => PreparedAnyKey::Ed25519(PreparedKey::new(&PublicKey(*b))?),
            AnyPublicKey::P384(b) => PreparedAnyKey::P384(P384PublicKey::from_sec1(&b.0)?),
            AnyPublicKey::P256(b) => PreparedAnyKey::P256(P256PublicKey::from_sec1(&b.0)?),
        })
    }

    /// The key's algorithm.
    pub const fn algorithm(&self) -> Algorithm {
        match self {
            PreparedAnyKey::Ed25519(_) => Algorithm::Ed25519,
            PreparedAnyKey::P384(_) => Algorithm::EcdsaP384Sha384,
            PreparedAnyKey::P256(_) => Algorithm::EcdsaP256Sha256,
        }
    }

    /// The Ed25519 key, when this is one (for batch verifiers).
    pub const fn ed25519(&self) -> Option<&PreparedKey> {
        match self {
            PreparedAnyKey::Ed25519(k) => Some(k),
            _ => None,
        }
    }

    /// Verifies `signature` over `message` by the key's algorithm. A signature of another
    /// algorithm than the key's is [`Error::BadSignature`], as is any malformed one.
    pub fn verify(&self, message: &[u8], signature: &AnySignature) -> Result<(), Error> {
        match (self, signature) {
            (PreparedAnyKey::Ed25519(k), AnySignature::Ed25519(s)) => {
                ed25519::verify(k, message, &Signature(*s))
            }
            (PreparedAnyKey::P384(k), AnySignature::P384(s)) => {
                k.verify(message, &P384Signature::from_slice(&s.0)?)
            }
            (PreparedAnyKey::P256(k), AnySignature::P256(s)) => {
                k.verify(message, &P256Signature::from_slice(&s.0)?)
            }
            _ => Err(Error::BadSignature),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{decode_canonical, encode_to_slice};

    #[test]
    fn tags_and_sizes() {
        let mut buf = [0u8; 128];
        let k = AnyPublicKey::P384(Bytes([4; 97]));
        let enc = encode_to_slice(&k, &mut buf).unwrap();
        assert_eq!(enc.len(), AnyPublicKey::MAX_SIZE);
        assert_eq!(enc[0], 1);
        let ed = PublicKey::from([9; 32]);
        let enc = encode_to_slice(&ed, &mut buf).unwrap().to_vec();
        assert_eq!(enc.len(), 33);
        assert_eq!(enc[0], 0);
        assert_eq!(decode_canonical::<PublicKey>(&enc), Ok(ed));
        let any = decode_canonical::<AnyPublicKey>(&enc).unwrap();
        assert_eq!(any, AnyPublicKey::from(ed));
        // A P-256 key where an Ed25519 (server) key must be: refused.
        let p256 = AnyPublicKey::P256(Bytes([4; 65]));
        let enc = encode_to_slice(&p256, &mut buf).unwrap().to_vec();
        assert!(decode_canonical::<PublicKey>(&enc).is_err());
        // An unknown tag: refused.
        let mut bad = [0u8; 33];
        bad[0] = 3;
        assert!(decode_canonical::<AnyPublicKey>(&bad).is_err());
        let s = AnySignature::P384(Bytes([1; 96]));
        let enc = encode_to_slice(&s, &mut buf).unwrap().to_vec();
        assert_eq!(enc.len(), AnySignature::MAX_SIZE);
        assert!(decode_canonical::<Signature>(&enc).is_err());
    }

    #[test]
    fn names_round_trip() {
        for a in [
            Algorithm::Ed25519,
            Algorithm::EcdsaP384Sha384,
            Algorithm::EcdsaP256Sha256,
        ] {
            assert_eq!(Algorithm::from_name(a.name()), Some(a));
        }
        assert_eq!(Algorithm::from_name("rsa"), None);
    }
}
