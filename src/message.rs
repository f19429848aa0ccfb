//! The three messages of one measurement round (DESIGN §2).

use serde::{Deserialize, Serialize};

use crate::algorithm::{AnySignature, PreparedAnyKey};
use crate::cert::{DeviceCertificate, LandmarkCertificate};
use crate::distance::{DistanceBound, ProcessingCredit, Speed};
use crate::ed25519::PreparedKey;
use crate::error::Error;
use crate::ids::{ChipId, LandmarkId, PublicKey};
use crate::signed::{Signed, SignedBody};
use crate::signing::{domain, PROTOCOL_VERSION};
use crate::verified::Verified;
use crate::wire::{decode_canonical, Bytes, Wire, VARINT_U64_MAX};

/// A single-use random value that makes each challenge fresh.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Nonce(pub Bytes<32>);

/// Landmark → chip: "sign this, now". Not signed itself: the chip's signature covers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Challenge {
    /// Protocol version ([`PROTOCOL_VERSION`]).
    pub version: u8,
    /// The landmark that issued the challenge.
    pub landmark_id: LandmarkId,
    /// The chip the challenge is addressed to.
    pub chip_id: ChipId,
    /// Fresh randomness from the landmark's CSPRNG.
    pub nonce: Nonce,
}

impl Wire for Challenge {
    const MAX_SIZE: usize = 1 + 16 + 16 + 32;

    fn decode(bytes: &[u8]) -> Result<Self, Error> {
        match bytes.first() {
            Some(&PROTOCOL_VERSION) => decode_canonical(bytes),
            Some(_) => Err(Error::UnsupportedVersion),
            None => Err(Error::Malformed),
        }
    }
}

/// What a chip signs in answer to a challenge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseBody {
    /// Protocol version ([`PROTOCOL_VERSION`]).
    pub version: u8,
    /// The challenge answered, echoed whole so a logged response is self-describing.
    pub challenge: Challenge,
    /// The chip's monotonic response counter; never repeats, never goes back.
    pub counter: u64,
    /// What the chip's own timer saw between receiving the challenge and signing, in ns.
    /// Recorded and shown; only credited when a policy opts in (see [`ProcessingCredit`]).
    pub processing_ns: u64,
}

impl SignedBody for ResponseBody {
    const DOMAIN: &'static [u8] = domain::RESPONSE;
    const MAX_BODY_SIZE: usize = 1 + Challenge::MAX_SIZE + 2 * VARINT_U64_MAX;
}

/// Chip → landmark: the chip's signed answer, signed by the device key in its own algorithm
/// (Ed25519, ECDSA P-384 or P-256: [`AnySignature`]).
pub type Response = Signed<ResponseBody, AnySignature>;

impl Response {
    /// Verifies the chip's signature under the certified device key, and that the response
    /// answers a challenge addressed to that chip.
    pub fn verify(&self, device: &Verified<DeviceCertificate>) -> Result<Verified<Self>, Error> {
        if self.body.challenge.chip_id != device.body.chip_id {
            return Err(Error::WrongChip);
        }
        self.check_signature_any(&PreparedAnyKey::new(&device.body.device_key)?)?;
        Ok(Verified::new(*self))
    }

    /// Verifies a response from a responder known by key alone, such as another landmark
    /// answering a cross-check challenge with its landmark key: the challenge must be addressed
    /// to the id bound to `key`, and the signature must verify under it.
    pub fn verify_with_key(&self, key: &PublicKey) -> Result<Verified<Self>, Error> {
        if self.body.challenge.chip_id != ChipId::of(key) {
            return Err(Error::WrongChip);
        }
        self.check_signature_any(&PreparedAnyKey::Ed25519(PreparedKey::new(key)?))?;
        Ok(Verified::new(*self))
    }
}

/// What a landmark signs after timing a round.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeasurementBody {
    /// Protocol version ([`PROTOCOL_VERSION`]).
    pub version: u8,
    /// The chip's signed response (which carries the challenge).
    pub response: Response,
    /// Round-trip time from just before sending the challenge to just after receiving the
    /// response, by the landmark's monotonic clock, in ns.
    pub rtt_ns: u64,
    /// When the challenge was sent, by the landmark's wall clock: Unix time in ns (UTC).
    pub sent_at_ns: u64,
}

impl SignedBody for MeasurementBody {
    const DOMAIN: &'static [u8] = domain::MEASUREMENT;
    const MAX_BODY_SIZE: usize = 1 + Response::MAX_SIZE + 2 * VARINT_U64_MAX;
}

/// A landmark's signed record of one timed round.
pub type Measurement = Signed<MeasurementBody>;

impl Measurement {
    /// The landmark that took the measurement, as the challenge names it.
    pub const fn landmark_id(&self) -> LandmarkId {
        self.body.response.body.challenge.landmark_id
    }

    /// The chip that answered.
    pub const fn chip_id(&self) -> ChipId {
        self.body.response.body.challenge.chip_id
    }

    /// Verifies both signatures: the landmark's (under its certified key) and the chip's (under
    /// its certified device key), and that the ids in the challenge match the certificates.
    pub fn verify(
        &self,
        landmark: &Verified<LandmarkCertificate>,
        device: &Verified<DeviceCertificate>,
    ) -> Result<Verified<Self>, Error> {
        if self.landmark_id() != landmark.body.landmark_id {
            return Err(Error::WrongLandmark);
        }
        self.check_signature(&PreparedKey::new(&landmark.body.landmark_key)?)?;
        self.body.response.verify(device)?;
        Ok(Verified::new(*self))
    }
}

impl Verified<Measurement> {
    /// The distance bound this measurement proves (DESIGN §3): how far the chip can be from the
    /// landmark's surveyed position. The certificates must be the ones it was verified with.
    pub fn distance_bound(
        &self,
        device: &Verified<DeviceCertificate>,
        landmark: &Verified<LandmarkCertificate>,
        speed: Speed,
        credit: ProcessingCredit,
    ) -> DistanceBound {
        let processing = device
            .body
            .timing
            .credited_ns(self.body.response.body.processing_ns, credit);
        DistanceBound::from_rtt(
            self.body.rtt_ns,
            processing,
            u64::from(landmark.body.uncertainty_m),
            speed,
        )
    }
}
