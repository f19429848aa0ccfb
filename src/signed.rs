//! `Signed<B>`: a body and one Ed25519 signature over `domain ‖ postcard(body)`.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::ed25519::PreparedKey;
use crate::error::Error;
use crate::signing::{
    sign_body, verify_body, with_signed_message, Signature, Signer, PROTOCOL_VERSION,
};
use crate::wire::{decode_canonical, Wire};

/// A structure that is signed: it names its domain prefix and its maximum encoded size.
pub trait SignedBody: Serialize + DeserializeOwned {
    /// The domain-separation prefix of signatures over this body.
    const DOMAIN: &'static [u8];
    /// The largest encoding of the body alone.
    const MAX_BODY_SIZE: usize;
}

/// A body with its signature. Decoding checks the encoding only; call the type's `verify` to
/// check the signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound = "B: SignedBody")]
pub struct Signed<B> {
    /// What is signed.
    pub body: B,
    /// The signature over `B::DOMAIN ‖ postcard(body)`.
    pub signature: Signature,
}

impl<B: SignedBody> Signed<B> {
    /// Signs `body` with `signer`.
    pub fn sign<S: Signer + ?Sized>(body: B, signer: &mut S) -> Result<Self, Error> {
        let signature = sign_body(signer, B::DOMAIN, &body)?;
        Ok(Signed { body, signature })
    }

    /// Checks the signature alone under `key` (lightcone's Ed25519 rule, [`crate::ed25519`]).
    /// Prefer the type's own `verify`, which also checks what the signature binds.
    pub fn check_signature(&self, key: &PreparedKey) -> Result<(), Error> {
        verify_body(key, B::DOMAIN, &self.body, &self.signature)
    }

    /// Hands the exact signed message (`domain ‖ postcard(body)`) to `f`: for batch verifiers
    /// that check many signatures at once.
    pub fn with_signed_message<R>(
        &self,
        f: impl FnOnce(&[u8]) -> Result<R, Error>,
    ) -> Result<R, Error> {
        with_signed_message(B::DOMAIN, &self.body, f)
    }
}

impl<B: SignedBody> Wire for Signed<B> {
    const MAX_SIZE: usize = B::MAX_BODY_SIZE + 64;

    fn decode(bytes: &[u8]) -> Result<Self, Error> {
        // Every body starts with its version byte; refuse other versions before parsing a
        // layout we may not know.
        match bytes.first() {
            Some(&PROTOCOL_VERSION) => decode_canonical(bytes),
            Some(_) => Err(Error::UnsupportedVersion),
            None => Err(Error::Malformed),
        }
    }
}
