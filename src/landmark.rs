//! The landmark side: issue fresh challenges, check answers, sign timed measurements.

use rand_core::{CryptoRng, RngCore};

use crate::cert::DeviceCertificate;
use crate::error::Error;
use crate::evidence::record::SpdmMeasurement;
use crate::ids::{ChipId, LandmarkId, PublicKey};
use crate::message::{Challenge, Measurement, MeasurementBody, Nonce, Response};
use crate::signed::Signed;
use crate::signing::{Ed25519Signer, PROTOCOL_VERSION};
use crate::verified::Verified;
use crate::wire::{Bytes, Wire};

/// A landmark's signing identity: builds challenges and signs measurements.
pub struct Landmark<S: Ed25519Signer> {
    signer: S,
    id: LandmarkId,
}

impl<S: Ed25519Signer> Landmark<S> {
    /// A landmark whose key `signer` holds.
    pub fn new(signer: S) -> Self {
        let id = LandmarkId::of(&signer.public_key());
        Landmark { signer, id }
    }

    /// This landmark's id.
    pub const fn id(&self) -> LandmarkId {
        self.id
    }

    /// A fresh challenge for `chip`, with a nonce from `rng` (use the OS CSPRNG).
    pub fn challenge<R: RngCore + CryptoRng>(
        &self,
        chip: ChipId,
        rng: &mut R,
    ) -> Result<Challenge, Error> {
        let mut nonce = [0u8; 32];
        rng.try_fill_bytes(&mut nonce)
            .map_err(|_| Error::RandomnessFailed)?;
        Ok(Challenge {
            version: PROTOCOL_VERSION,
            landmark_id: self.id,
            chip_id: chip,
            nonce: Nonce(Bytes(nonce)),
        })
    }

    /// Decodes `response` and checks that it answers exactly `issued` and is signed by the
    /// certified chip. A response to any other challenge (a replay) is refused.
    pub fn check_response(
        &self,
        issued: &Challenge,
        response: &[u8],
        device: &Verified<DeviceCertificate>,
    ) -> Result<Verified<Response>, Error> {
        let response = Response::decode(response)?;
        if issued.chip_id != device.body.chip_id {
            return Err(Error::WrongChip);
        }
        if response.body.challenge != *issued {
            return Err(Error::ChallengeMismatch);
        }
        response.verify(device)
    }

    /// Like [`Landmark::check_response`], for a responder known by key alone (another landmark
    /// answering a cross-check challenge with its landmark key).
    pub fn check_response_from_key(
        &self,
        issued: &Challenge,
        response: &[u8],
        responder: &PublicKey,
    ) -> Result<Verified<Response>, Error> {
        let response = Response::decode(response)?;
        if response.body.challenge != *issued {
            return Err(Error::ChallengeMismatch);
        }
        response.verify_with_key(responder)
    }

    /// Signs the measurement of a round answered with SPDM evidence: `report` (request ‖
    /// response, which the caller has checked against the GPU's verified chain) answered
    /// `challenge` in `rtt_ns`; `sent_at_ns` is the wall-clock send time (Unix ns).
    /// `WrongLandmark` for a challenge this landmark did not make.
    pub fn measure_spdm<'a>(
        &mut self,
        challenge: Challenge,
        report: &'a [u8],
        rtt_ns: u64,
        sent_at_ns: u64,
    ) -> Result<SpdmMeasurement<'a>, Error> {
        if challenge.landmark_id != self.id {
            return Err(Error::WrongLandmark);
        }
        SpdmMeasurement::sign(&mut self.signer, challenge, report, rtt_ns, sent_at_ns)
    }

    /// Signs the measurement of one round: the verified response, the RTT the landmark timed and
    /// the wall-clock time the challenge was sent (Unix ns).
    pub fn measure(
        &mut self,
        response: &Verified<Response>,
        rtt_ns: u64,
        sent_at_ns: u64,
    ) -> Result<Measurement, Error> {
        if response.body.challenge.landmark_id != self.id {
            return Err(Error::WrongLandmark);
        }
        let body = MeasurementBody {
            version: PROTOCOL_VERSION,
            response: **response,
            rtt_ns,
            sent_at_ns,
        };
        Signed::sign(body, &mut self.signer)
    }
}
