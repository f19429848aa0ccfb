//! The registry's timing endorsement of a GPU model whose vendor endorses none (DESIGN §1, §3).
//!
//! An NVIDIA GPU's attestation key is vouched for by NVIDIA's X.509 chain, which says nothing
//! about how fast the GPU can answer. Without an endorsed minimum response time a verifier may
//! subtract nothing from a round trip (sound, but every bound is as large as the whole RTT).
//! The registry measures a model and signs a [`ModelEndorsement`]: for GPUs whose chain ends at
//! the X.509 root with SHA-256 `x509_root` and whose leaf certificate's common name starts with
//! `leaf_cn_prefix`, the model answers no faster than `timing.min_response_ns`. Auditors take
//! the *smallest* minimum of every valid endorsement that matches a GPU, so a second, more
//! favourable endorsement never shrinks a bound.

use serde::{Deserialize, Serialize};

use crate::cert::{ModelName, Name, Validity};
use crate::distance::ResponseTiming;
use crate::ed25519::PreparedKey;
use crate::error::Error;
use crate::ids::{IssuerId, PublicKey};
use crate::signed::{Signed, SignedBody};
use crate::signing::{domain, Ed25519Signer, PROTOCOL_VERSION};
use crate::verified::Verified;
use crate::wire::{Bytes, VARINT_U32_MAX, VARINT_U64_MAX};

/// Longest leaf common-name prefix an endorsement can match on, in bytes.
pub const LEAF_CN_PREFIX_LEN: usize = 32;

/// The start of a leaf certificate's common name that an endorsement applies to, such as
/// `GH100` for NVIDIA Hopper GPUs (1–32 printable ASCII characters).
pub type LeafCnPrefix = Name<LEAF_CN_PREFIX_LEN>;

/// What the registry endorses about one GPU model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelEndorsementBody {
    /// Protocol version ([`PROTOCOL_VERSION`]).
    pub version: u8,
    /// The registry key that signed this endorsement.
    pub issuer: IssuerId,
    /// The model's name, shown in reports.
    pub model: ModelName,
    /// SHA-256 of the DER of the X.509 root the GPU's chain must end at.
    pub x509_root: Bytes<32>,
    /// The leaf certificate's common name must start with this.
    pub leaf_cn_prefix: LeafCnPrefix,
    /// The model's response timing as the registry measured it.
    pub timing: ResponseTiming,
    /// When the endorsement may be used.
    pub validity: Validity,
}

impl SignedBody for ModelEndorsementBody {
    const DOMAIN: &'static [u8] = domain::MODEL_ENDORSEMENT;
    const MAX_BODY_SIZE: usize = 1
        + 16
        + crate::cert::MODEL_NAME_LEN
        + 32
        + LEAF_CN_PREFIX_LEN
        + 2 * VARINT_U64_MAX
        + VARINT_U32_MAX
        + 2 * VARINT_U64_MAX;
}

/// A model endorsement: the registry's signature over a [`ModelEndorsementBody`].
pub type ModelEndorsement = Signed<ModelEndorsementBody>;

impl ModelEndorsement {
    /// Issues an endorsement, signed by `registry`.
    pub fn issue<S: Ed25519Signer + ?Sized>(
        registry: &mut S,
        model: ModelName,
        x509_root_sha256: [u8; 32],
        leaf_cn_prefix: LeafCnPrefix,
        timing: ResponseTiming,
        validity: Validity,
    ) -> Result<Self, Error> {
        let body = ModelEndorsementBody {
            version: PROTOCOL_VERSION,
            issuer: IssuerId::of(&registry.public_key()),
            model,
            x509_root: Bytes(x509_root_sha256),
            leaf_cn_prefix,
            timing,
            validity,
        };
        check_fields(&body)?;
        Signed::sign(body, registry)
    }

    /// Verifies the registry signature under `registry_key`, the fields, and that the
    /// endorsement is valid at `at_unix_s`.
    pub fn verify(
        &self,
        registry_key: &PublicKey,
        at_unix_s: u64,
    ) -> Result<Verified<Self>, Error> {
        if self.body.issuer != IssuerId::of(registry_key) {
            return Err(Error::BadSignature);
        }
        self.check_signature(&PreparedKey::new(registry_key)?)?;
        check_fields(&self.body)?;
        if !self.body.validity.contains(at_unix_s) {
            return Err(Error::CertificateNotValid);
        }
        Ok(Verified::new(*self))
    }
}

impl Verified<ModelEndorsement> {
    /// Whether this endorsement applies to a GPU whose chain ends at the root with DER
    /// SHA-256 `root_sha256` and whose leaf common name is `leaf_cn`.
    pub fn matches(&self, root_sha256: &[u8; 32], leaf_cn: &str) -> bool {
        self.body.x509_root.0 == *root_sha256
            && leaf_cn.starts_with(self.body.leaf_cn_prefix.as_str())
    }
}

fn check_fields(body: &ModelEndorsementBody) -> Result<(), Error> {
    let v = &body.validity;
    if v.not_before > v.not_after || body.timing.max_processing_ns < body.timing.min_response_ns {
        return Err(Error::InvalidCertificate);
    }
    Ok(())
}
