//! Certificates: a vendor endorses a chip's key and timing; the registry endorses a landmark's
//! key and surveyed position.

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::algorithm::{AnyPublicKey, PreparedAnyKey};
use crate::distance::ResponseTiming;
use crate::ed25519::PreparedKey;
use crate::error::Error;
use crate::ids::{ChipId, IssuerId, LandmarkId, PublicKey};
use crate::position::Position;
use crate::signed::{Signed, SignedBody};
use crate::signing::{domain, Ed25519Signer, PROTOCOL_VERSION};
use crate::verified::Verified;
use crate::wire::{Bytes, VARINT_U32_MAX, VARINT_U64_MAX};

/// When a certificate may be used: Unix seconds, both ends inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Validity {
    /// First second the certificate is valid.
    pub not_before: u64,
    /// Last second the certificate is valid.
    pub not_after: u64,
}

impl Validity {
    /// Whether `unix_s` falls inside the window.
    pub const fn contains(&self, unix_s: u64) -> bool {
        self.not_before <= unix_s && unix_s <= self.not_after
    }
}

/// Length of a model name in bytes.
pub const MODEL_NAME_LEN: usize = 16;

/// Length of a landmark operator's name in bytes.
pub const OPERATOR_NAME_LEN: usize = 32;

/// A name of up to `N` printable ASCII bytes, zero-padded. Decoding rejects anything else, so a
/// name has one encoding and always prints cleanly.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "Bytes<N>", into = "Bytes<N>")]
pub struct Name<const N: usize>([u8; N]);

/// A chip model's name (1–16 printable ASCII characters).
pub type ModelName = Name<MODEL_NAME_LEN>;

/// The organisation that runs a landmark, as the registry certifies it (1–32 printable ASCII
/// characters). Landmarks of one operator count as one party in a verdict (DESIGN §1a): they
/// may be faulty together.
pub type OperatorName = Name<OPERATOR_NAME_LEN>;

impl<const N: usize> Name<N> {
    /// From a name of 1–`N` printable ASCII characters.
    pub fn new(name: &str) -> Result<Self, Error> {
        let mut bytes = [0u8; N];
        if name.is_empty() || name.len() > N {
            return Err(Error::InvalidCertificate);
        }
        for (slot, b) in bytes.iter_mut().zip(name.bytes()) {
            *slot = b;
        }
        Self::try_from(Bytes(bytes))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        let len = self.0.iter().position(|&b| b == 0).unwrap_or(N);
        self.0
            .get(..len)
            .and_then(|b| core::str::from_utf8(b).ok())
            .unwrap_or("")
    }
}

impl<const N: usize> TryFrom<Bytes<N>> for Name<N> {
    type Error = Error;

    fn try_from(bytes: Bytes<N>) -> Result<Self, Error> {
        let b = bytes.0;
        let len = b.iter().position(|&c| c == 0).unwrap_or(N);
        let (name, padding) = b.split_at(len);
        let printable = name.iter().all(|c| (0x20..0x7f).contains(c));
        if len == 0 || !printable || padding.iter().any(|&c| c != 0) {
            return Err(Error::InvalidCertificate);
        }
        Ok(Name(b))
    }
}

impl<const N: usize> From<Name<N>> for Bytes<N> {
    fn from(name: Name<N>) -> Self {
        Bytes(name.0)
    }
}

impl<const N: usize> fmt::Debug for Name<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({:?})", self.as_str())
    }
}

impl<const N: usize> fmt::Display for Name<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a vendor endorses about one chip: its key, its model and the model's timing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceCertificateBody {
    /// Protocol version ([`PROTOCOL_VERSION`]).
    pub version: u8,
    /// The chip's id; must equal `ChipId::of(&device_key)`.
    pub chip_id: ChipId,
    /// The chip's device public key, of any algorithm (the private half never leaves the
    /// silicon).
    pub device_key: AnyPublicKey,
    /// The vendor root that signed this certificate.
    pub issuer: IssuerId,
    /// The chip model.
    pub model: ModelName,
    /// The model's vendor-endorsed response timing.
    pub timing: ResponseTiming,
    /// When the certificate may be used.
    pub validity: Validity,
}

impl SignedBody for DeviceCertificateBody {
    const DOMAIN: &'static [u8] = domain::DEVICE_CERTIFICATE;
    const MAX_BODY_SIZE: usize = 1
        + 16
        + AnyPublicKey::MAX_SIZE
        + 16
        + MODEL_NAME_LEN
        + 2 * VARINT_U64_MAX
        + VARINT_U32_MAX
        + 2 * VARINT_U64_MAX;
}

/// A device certificate: the vendor's signature over a [`DeviceCertificateBody`].
pub type DeviceCertificate = Signed<DeviceCertificateBody>;

impl DeviceCertificate {
    /// Issues a certificate for `device_key` (of any algorithm), signed by the vendor root in
    /// `vendor` (Ed25519).
    pub fn issue<S: Ed25519Signer + ?Sized>(
        vendor: &mut S,
        device_key: impl Into<AnyPublicKey>,
        model: ModelName,
        timing: ResponseTiming,
        validity: Validity,
    ) -> Result<Self, Error> {
        let device_key = device_key.into();
        let body = DeviceCertificateBody {
            version: PROTOCOL_VERSION,
            chip_id: ChipId::of(&device_key),
            device_key,
            issuer: IssuerId::of(&vendor.public_key()),
            model,
            timing,
            validity,
        };
        check_fields(&body.validity)?;
        if body.timing.max_processing_ns < body.timing.min_response_ns {
            return Err(Error::InvalidCertificate);
        }
        Signed::sign(body, vendor)
    }

    /// Verifies the vendor signature under `vendor_root`, the id-to-key binding, the fields,
    /// and that the certificate is valid at `at_unix_s`.
    pub fn verify(&self, vendor_root: &PublicKey, at_unix_s: u64) -> Result<Verified<Self>, Error> {
        if self.body.issuer != IssuerId::of(vendor_root) {
            return Err(Error::BadSignature);
        }
        self.check_signature(&PreparedKey::new(vendor_root)?)?;
        self.check_claims(vendor_root, at_unix_s)?;
        Ok(Verified::new(*self))
    }

    /// Every check of [`Self::verify`] except the vendor signature: issuer, id-to-key binding,
    /// fields, validity at `at_unix_s`. Returns the device key, prepared for verifying the
    /// chip's signatures. For auditors that batch-verify certificate signatures with
    /// [`Signed::with_signed_message`]; a certificate is only valid when both pass.
    pub fn check_claims(
        &self,
        vendor_root: &PublicKey,
        at_unix_s: u64,
    ) -> Result<PreparedAnyKey, Error> {
        let b = &self.body;
        if b.issuer != IssuerId::of(vendor_root) {
            return Err(Error::BadSignature);
        }
        if b.chip_id != ChipId::of(&b.device_key) {
            return Err(Error::IdMismatch);
        }
        let key = PreparedAnyKey::new(&b.device_key)?;
        check_fields(&b.validity)?;
        if b.timing.max_processing_ns < b.timing.min_response_ns {
            return Err(Error::InvalidCertificate);
        }
        if !b.validity.contains(at_unix_s) {
            return Err(Error::CertificateNotValid);
        }
        Ok(key)
    }
}

/// What the registry endorses about one landmark: its key, its operator and its surveyed
/// position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LandmarkCertificateBody {
    /// Protocol version ([`PROTOCOL_VERSION`]).
    pub version: u8,
    /// The landmark's id; must equal `LandmarkId::of(&landmark_key)`.
    pub landmark_id: LandmarkId,
    /// The landmark's public key, which signs its measurements.
    pub landmark_key: PublicKey,
    /// The registry key that signed this certificate.
    pub issuer: IssuerId,
    /// Who runs the landmark. Verdicts tolerate up to `f` faulty operators, not landmarks.
    pub operator: OperatorName,
    /// The surveyed position.
    pub position: Position,
    /// How far, at most, the landmark's true position is from `position`, in metres.
    pub uncertainty_m: u32,
    /// When the certificate may be used.
    pub validity: Validity,
}

impl SignedBody for LandmarkCertificateBody {
    const DOMAIN: &'static [u8] = domain::LANDMARK_CERTIFICATE;
    // Latitude ≤ 90e6 µ° zigzags below 2^28 (4 varint bytes); longitude needs 5.
    const MAX_BODY_SIZE: usize = 1
        + 16
        + 33
        + 16
        + OPERATOR_NAME_LEN
        + 4
        + VARINT_U32_MAX
        + VARINT_U32_MAX
        + 2 * VARINT_U64_MAX;
}

/// A landmark certificate: the registry's signature over a [`LandmarkCertificateBody`].
pub type LandmarkCertificate = Signed<LandmarkCertificateBody>;

impl LandmarkCertificate {
    /// Issues a certificate for `landmark_key`, run by `operator`, at `position`, signed by
    /// `registry`.
    pub fn issue<S: Ed25519Signer + ?Sized>(
        registry: &mut S,
        landmark_key: PublicKey,
        operator: OperatorName,
        position: Position,
        uncertainty_m: u32,
        validity: Validity,
    ) -> Result<Self, Error> {
        check_fields(&validity)?;
        let body = LandmarkCertificateBody {
            version: PROTOCOL_VERSION,
            landmark_id: LandmarkId::of(&landmark_key),
            landmark_key,
            issuer: IssuerId::of(&registry.public_key()),
            operator,
            position,
            uncertainty_m,
            validity,
        };
        Signed::sign(body, registry)
    }

    /// Verifies the registry signature under `registry_key`, the id-to-key binding, the fields,
    /// and that the certificate is valid at `at_unix_s`.
    pub fn verify(
        &self,
        registry_key: &PublicKey,
        at_unix_s: u64,
    ) -> Result<Verified<Self>, Error> {
        if self.body.issuer != IssuerId::of(registry_key) {
            return Err(Error::BadSignature);
        }
        self.check_signature(&PreparedKey::new(registry_key)?)?;
        self.check_claims(registry_key, at_unix_s)?;
        Ok(Verified::new(*self))
    }

    /// Every check of [`Self::verify`] except the registry signature: issuer, id-to-key binding,
    /// fields, validity at `at_unix_s`. Returns the landmark key, prepared for verifying the
    /// landmark's signatures. For auditors that batch-verify certificate signatures; a
    /// certificate is only valid when both pass.
    pub fn check_claims(
        &self,
        registry_key: &PublicKey,
        at_unix_s: u64,
    ) -> Result<PreparedKey, Error> {
        let b = &self.body;
        if b.issuer != IssuerId::of(registry_key) {
            return Err(Error::BadSignature);
        }
        if b.landmark_id != LandmarkId::of(&b.landmark_key) {
            return Err(Error::IdMismatch);
        }
        let key = PreparedKey::new(&b.landmark_key)?;
        check_fields(&b.validity)?;
        if !b.validity.contains(at_unix_s) {
            return Err(Error::CertificateNotValid);
        }
        Ok(key)
    }
}

fn check_fields(validity: &Validity) -> Result<(), Error> {
    if validity.not_before > validity.not_after {
        return Err(Error::InvalidCertificate);
    }
    Ok(())
}
