//! `Signed<B, S>`: a body and one tagged signature over `domain ‖ postcard(body)`.
//!
//! `S` is [`Signature`] (Ed25519, what servers sign: certificates, measurements) unless a body
//! names another form: a chip's [`crate::Response`] carries an [`AnySignature`].

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::algorithm::{AnySignature, PreparedAnyKey};
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

/// A signature's wire form: Ed25519 only ([`Signature`]) or any algorithm ([`AnySignature`]).
pub trait SignatureForm: Copy + Serialize + DeserializeOwned + Into<AnySignature> {
    /// The largest encoding, tag included.
    const MAX_SIZE: usize;
}

impl SignatureForm for Signature {
    const MAX_SIZE: usize = 1 + 64;
}

impl SignatureForm for AnySignature {
    const MAX_SIZE: usize = AnySignature::MAX_SIZE;
}

/// A body with its signature. Decoding checks the encoding only; call the type's `verify` to
/// check the signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound = "B: SignedBody, S: SignatureForm")]
pub struct Signed<B, S = Signature> {
    /// What is signed.
    pub body: B,
    /// The signature over `B::DOMAIN ‖ postcard(body)`.
    pub signature: S,
}

impl<B: SignedBody, S: SignatureForm> Signed<B, S> {
    /// Signs `body` with `signer`. The signer's algorithm is fixed by the types: a body whose
    /// signature form is [`Signature`] takes an Ed25519 signer only.
    pub fn sign<G: Signer + ?Sized>(body: B, signer: &mut G) -> Result<Self, Error>
    where
        G::Signature: Into<S>,
    {
        let signature = sign_body(signer, B::DOMAIN, &body)?.into();
        Ok(Signed { body, signature })
    }

    /// Checks the signature alone under `key`, by the key's algorithm. Prefer the type's own
    /// `verify`, which also checks what the signature binds.
    pub fn check_signature_any(&self, key: &PreparedAnyKey) -> Result<(), Error> {
        let signature: AnySignature = self.signature.into();
        with_signed_message(B::DOMAIN, &self.body, |message| {
            key.verify(message, &signature)
        })
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

impl<B: SignedBody> Signed<B, Signature> {
    /// Checks the signature alone under `key` (lightcone's Ed25519 rule, [`crate::ed25519`]).
    /// Prefer the type's own `verify`, which also checks what the signature binds.
    pub fn check_signature(&self, key: &PreparedKey) -> Result<(), Error> {
        verify_body(key, B::DOMAIN, &self.body, &self.signature)
    }
}

impl<B: SignedBody, S: SignatureForm> Wire for Signed<B, S> {
    const MAX_SIZE: usize = B::MAX_BODY_SIZE + S::MAX_SIZE;

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
