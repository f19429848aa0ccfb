//! Identities bound to keys: `id = SHA-256(public key)[..16]` (DESIGN §6).
//!
//! Because an id is derived from the key, a certificate cannot claim one chip's id with another
//! chip's key: verification recomputes the id and refuses a mismatch.

use core::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::algorithm::AnyPublicKey;
use crate::wire::Bytes;

/// Length of every identifier, in bytes.
pub const ID_LEN: usize = 16;

/// An Ed25519 public key (not yet checked to be a valid point): the key of a server role
/// (landmark, vendor, registry, log, witness). On the wire it is tagged like every key
/// ([`crate::algorithm`]): tag 0, then 32 bytes; decoding refuses any other algorithm's tag.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "AnyPublicKey", try_from = "AnyPublicKey")]
pub struct PublicKey(pub Bytes<32>);

impl PublicKey {
    /// The raw 32 bytes.
    pub const fn to_bytes(&self) -> [u8; 32] {
        self.0 .0
    }
}

/// A key an identifier can be derived from: its canonical bytes without the algorithm tag.
pub trait KeyBytes {
    /// The bytes the identifier hashes.
    fn key_bytes(&self) -> &[u8];
}

impl KeyBytes for PublicKey {
    fn key_bytes(&self) -> &[u8] {
        &self.0 .0
    }
}

impl KeyBytes for AnyPublicKey {
    fn key_bytes(&self) -> &[u8] {
        self.as_bytes()
    }
}

/// The first 16 bytes of SHA-256 over the key's bytes: the basis of every id.
fn fingerprint(key: &[u8]) -> [u8; ID_LEN] {
    let digest: [u8; 32] = Sha256::digest(key).into();
    let mut id = [0u8; ID_LEN];
    id.copy_from_slice(digest.get(..ID_LEN).unwrap_or(&[0u8; ID_LEN]));
    id
}

impl From<[u8; 32]> for PublicKey {
    fn from(bytes: [u8; 32]) -> Self {
        PublicKey(Bytes(bytes))
    }
}

impl From<&ed25519_dalek::VerifyingKey> for PublicKey {
    fn from(key: &ed25519_dalek::VerifyingKey) -> Self {
        PublicKey(Bytes(key.to_bytes()))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({:?})", self.0)
    }
}

macro_rules! key_bound_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub struct $name(pub Bytes<ID_LEN>);

        impl $name {
            /// The id bound to `key` (an Ed25519 [`PublicKey`] or an [`AnyPublicKey`]; the
            /// same key gives the same id in either form).
            pub fn of<K: KeyBytes + ?Sized>(key: &K) -> Self {
                $name(Bytes(fingerprint(key.key_bytes())))
            }

            /// The raw 16 bytes.
            pub const fn to_bytes(&self) -> [u8; ID_LEN] {
                self.0 .0
            }
        }

        impl From<[u8; ID_LEN]> for $name {
            fn from(bytes: [u8; ID_LEN]) -> Self {
                $name(Bytes(bytes))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:?}", self.0)
            }
        }
    };
}

key_bound_id!(
    /// A chip's identity: the fingerprint of its device key.
    ChipId
);
key_bound_id!(
    /// A landmark's identity: the fingerprint of its landmark key.
    LandmarkId
);
key_bound_id!(
    /// The identity of a certificate issuer (a vendor root or the landmark registry).
    IssuerId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_is_sha256_prefix() {
        // SHA-256 of 32 zero bytes = 66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925
        let id = ChipId::of(&PublicKey::from([0u8; 32]));
        assert_eq!(
            id.to_bytes(),
            [
                0x66, 0x68, 0x7a, 0xad, 0xf8, 0x62, 0xbd, 0x77, 0x6c, 0x8f, 0xc1, 0x8b, 0x8e, 0x9f,
                0x8e, 0x20
            ]
        );
        assert_eq!(std::format!("{id}"), "66687aadf862bd776c8fc18b8e9f8e20");
    }
}
