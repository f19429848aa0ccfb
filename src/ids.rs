//! Identities bound to keys: `id = SHA-256(public key)[..16]` (DESIGN §6).
//!
//! Because an id is derived from the key, a certificate cannot claim one chip's id with another
//! chip's key: verification recomputes the id and refuses a mismatch.

use core::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::wire::Bytes;

/// Length of every identifier, in bytes.
pub const ID_LEN: usize = 16;

/// An Ed25519 public key as it travels on the wire (not yet checked to be a valid point).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PublicKey(pub Bytes<32>);

impl PublicKey {
    /// The raw 32 bytes.
    pub const fn to_bytes(&self) -> [u8; 32] {
        self.0 .0
    }

    /// The first 16 bytes of SHA-256 over the key: the basis of every id.
    fn fingerprint(&self) -> [u8; ID_LEN] {
        let digest: [u8; 32] = Sha256::digest(self.0 .0).into();
        let mut id = [0u8; ID_LEN];
        id.copy_from_slice(digest.get(..ID_LEN).unwrap_or(&[0u8; ID_LEN]));
        id
    }
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
            /// The id bound to `key`.
            pub fn of(key: &PublicKey) -> Self {
                $name(Bytes(key.fingerprint()))
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
