//! Log records of chips that answer with SPDM evidence (DESIGN §2, §5): the GPU's X.509 chain,
//! logged once, and the landmark's signed measurement of one round with the GPU's report.
//!
//! The report (request ‖ response, as NVIDIA's tools record it) is variable-sized, so these
//! records borrow it from the entry's bytes instead of copying it into a fixed buffer: decoding
//! never allocates and never reads past the entry. The landmark signs a fixed-size body that
//! holds the report's SHA-256, so its Ed25519 signature batch-verifies like any measurement's.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::algorithm::AnyPublicKey;
use crate::cert::LandmarkCertificate;
use crate::distance::{DistanceBound, Speed};
use crate::ecdsa::P384PublicKey;
use crate::ed25519::PreparedKey;
use crate::error::Error;
use crate::evidence::spdm::{challenge_nonce, SpdmEvidence, OPERATION_ALL};
use crate::ids::{ChipId, LandmarkId};
use crate::message::Challenge;
use crate::signed::{Signed, SignedBody};
use crate::signing::{domain, Ed25519Signer, PROTOCOL_VERSION};
use crate::verified::Verified;
use crate::wire::{Bytes, Wire, VARINT_U64_MAX};

/// Largest SPDM report (request ‖ response) a record may carry: an H100's is about 4 KiB.
pub const SPDM_REPORT_MAX: usize = 32 * 1024;

/// Largest X.509 chain (DER certificates, concatenated) a record may carry: an H100's five
/// certificates are about 4 KiB.
pub const GPU_CHAIN_MAX: usize = 16 * 1024;

/// The chip id of a GPU whose attestation key is `key`: `SHA-256(SEC1 point)[..16]`, as for any
/// P-384 device key.
pub fn gpu_chip_id(key: &P384PublicKey) -> ChipId {
    ChipId::of(&AnyPublicKey::P384(Bytes(*key.to_sec1())))
}

/// A GPU's X.509 certificate chain, DER certificates concatenated, leaf first. Logged before
/// the GPU's first measurement; the verifier checks it up to a trusted X.509 root.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GpuChain<'a> {
    /// Protocol version ([`PROTOCOL_VERSION`]).
    pub version: u8,
    /// The certificates, DER, leaf first (1..=[`GPU_CHAIN_MAX`] bytes).
    #[serde(borrow)]
    pub chain_der: &'a [u8],
}

impl<'a> GpuChain<'a> {
    /// A chain record over `chain_der`; `Malformed` if empty or over [`GPU_CHAIN_MAX`].
    pub fn new(chain_der: &'a [u8]) -> Result<Self, Error> {
        let chain = GpuChain {
            version: PROTOCOL_VERSION,
            chain_der,
        };
        chain.check_size()?;
        Ok(chain)
    }

    fn check_size(&self) -> Result<(), Error> {
        if self.chain_der.is_empty() || self.chain_der.len() > GPU_CHAIN_MAX {
            return Err(Error::Malformed);
        }
        Ok(())
    }
}

/// What a landmark signs after timing a round answered with SPDM evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpdmMeasurementBody {
    /// Protocol version ([`PROTOCOL_VERSION`]).
    pub version: u8,
    /// The landmark's challenge; the SPDM request's nonce must be [`challenge_nonce`] of it.
    pub challenge: Challenge,
    /// SHA-256 of the report the record carries.
    pub report_sha256: Bytes<32>,
    /// Round-trip time by the landmark's monotonic clock, in ns.
    pub rtt_ns: u64,
    /// When the challenge was sent, by the landmark's wall clock: Unix time in ns (UTC).
    pub sent_at_ns: u64,
}

impl SignedBody for SpdmMeasurementBody {
    const DOMAIN: &'static [u8] = domain::SPDM_MEASUREMENT;
    const MAX_BODY_SIZE: usize = 1 + Challenge::MAX_SIZE + 32 + 2 * VARINT_U64_MAX;
}

/// The landmark's signature over an [`SpdmMeasurementBody`].
pub type SignedSpdmMeasurement = Signed<SpdmMeasurementBody>;

/// One SPDM round as logged: the landmark's signed body and the GPU's report it hashes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpdmMeasurement<'a> {
    /// The landmark's signed measurement.
    pub measurement: SignedSpdmMeasurement,
    /// The SPDM request followed by the GPU's signed response (1..=[`SPDM_REPORT_MAX`] bytes).
    #[serde(borrow)]
    pub report: &'a [u8],
}

impl<'a> SpdmMeasurement<'a> {
    /// Signs a measurement of `report`, the answer to `challenge` timed at `rtt_ns`.
    pub fn sign<S: Ed25519Signer + ?Sized>(
        landmark: &mut S,
        challenge: Challenge,
        report: &'a [u8],
        rtt_ns: u64,
        sent_at_ns: u64,
    ) -> Result<Self, Error> {
        let body = SpdmMeasurementBody {
            version: PROTOCOL_VERSION,
            challenge,
            report_sha256: Bytes(Sha256::digest(report).into()),
            rtt_ns,
            sent_at_ns,
        };
        let record = SpdmMeasurement {
            measurement: Signed::sign(body, landmark)?,
            report,
        };
        record.check_size()?;
        Ok(record)
    }

    /// The landmark that took the measurement, as the challenge names it.
    pub const fn landmark_id(&self) -> LandmarkId {
        self.measurement.body.challenge.landmark_id
    }

    /// The GPU that answered, as the challenge names it.
    pub const fn chip_id(&self) -> ChipId {
        self.measurement.body.challenge.chip_id
    }

    fn check_size(&self) -> Result<(), Error> {
        if self.report.is_empty() || self.report.len() > SPDM_REPORT_MAX {
            return Err(Error::Malformed);
        }
        Ok(())
    }

    /// Every check except the landmark's signature (for auditors that batch-verify it): the
    /// report is the one the landmark signed (its SHA-256), the challenge names the GPU whose
    /// key is `gpu_key` (`WrongChip`), the report parses strictly, its request asks for every
    /// measurement block (`OPERATION_ALL`, the request endorsed minimums are measured with)
    /// and carries [`challenge_nonce`] of the challenge (`ChallengeMismatch`), and the GPU's P-384
    /// signature over the transcript holds (`BadSignature`). The chain that vouches for
    /// `gpu_key` is the caller's to check.
    pub fn check_evidence(&self, gpu_key: &P384PublicKey) -> Result<SpdmEvidence<'a>, Error> {
        let evidence = self.check_binding(gpu_key)?;
        evidence.verify_signature(gpu_key)?;
        Ok(evidence)
    }

    /// [`Self::check_evidence`] without the GPU's signature, for auditors that verify it with
    /// another implementation: the GPU signed [`Self::transcript`] with ECDSA P-384/SHA-384,
    /// and the signature is [`lightcone::evidence::spdm::Measurements::signature_bytes`].
    ///
    /// [`lightcone::evidence::spdm::Measurements::signature_bytes`]:
    ///     crate::evidence::spdm::Measurements::signature_bytes
    pub fn check_binding(&self, gpu_key: &P384PublicKey) -> Result<SpdmEvidence<'a>, Error> {
        self.check_size()?;
        let digest: [u8; 32] = Sha256::digest(self.report).into();
        if digest != self.measurement.body.report_sha256.0 {
            return Err(Error::BadSignature);
        }
        if self.chip_id() != gpu_chip_id(gpu_key) {
            return Err(Error::WrongChip);
        }
        let evidence = SpdmEvidence::parse_concatenated(self.report)?;
        // Endorsed minimums are measured for the full report: a cheaper request (a count, one
        // block) could be answered faster than the minimum and must not be credited it.
        if evidence.request().operation() != OPERATION_ALL {
            return Err(Error::ChallengeMismatch);
        }
        evidence.check_nonce(&challenge_nonce(&self.measurement.body.challenge)?)?;
        Ok(evidence)
    }

    /// The bytes the GPU signed: the report without its final 96-byte signature (the request
    /// followed by the unsigned response). Meaningful once [`Self::check_binding`] passed.
    pub fn transcript(&self) -> &'a [u8] {
        let end = self
            .report
            .len()
            .saturating_sub(crate::ecdsa::P384_SIGNATURE_LEN);
        self.report.get(..end).unwrap_or_default()
    }

    /// Verifies the whole record: the landmark's signature under its certified key, the
    /// landmark id, and [`Self::check_evidence`] under `gpu_key`.
    pub fn verify(
        &self,
        landmark: &Verified<LandmarkCertificate>,
        gpu_key: &P384PublicKey,
    ) -> Result<Verified<Self>, Error> {
        if self.landmark_id() != landmark.body.landmark_id {
            return Err(Error::WrongLandmark);
        }
        self.measurement
            .check_signature(&PreparedKey::new(&landmark.body.landmark_key)?)?;
        self.check_evidence(gpu_key)?;
        Ok(Verified::new(*self))
    }
}

impl Verified<SpdmMeasurement<'_>> {
    /// The distance bound this measurement proves: the RTT less `min_response_ns` (the
    /// smallest endorsed minimum of the GPU's model, 0 when none is endorsed), at `speed`, plus
    /// the landmark's uncertainty. GPUs report no processing time, so none is ever credited.
    pub fn distance_bound(
        &self,
        min_response_ns: u64,
        landmark: &Verified<LandmarkCertificate>,
        speed: Speed,
    ) -> DistanceBound {
        DistanceBound::from_rtt(
            self.measurement.body.rtt_ns,
            min_response_ns,
            u64::from(landmark.body.uncertainty_m),
            speed,
        )
    }
}

/// Decodes a record of these kinds from `bytes` after its tag: the version byte first, one
/// canonical encoding, no trailing bytes, sizes in bounds.
pub(crate) fn decode_gpu_chain(bytes: &[u8]) -> Result<GpuChain<'_>, Error> {
    check_version(bytes)?;
    let chain: GpuChain<'_> = crate::wire::decode_canonical_borrowed(bytes)?;
    chain.check_size()?;
    Ok(chain)
}

/// As [`decode_gpu_chain`], for an SPDM measurement.
pub(crate) fn decode_spdm_measurement(bytes: &[u8]) -> Result<SpdmMeasurement<'_>, Error> {
    check_version(bytes)?;
    let record: SpdmMeasurement<'_> = crate::wire::decode_canonical_borrowed(bytes)?;
    record.check_size()?;
    Ok(record)
}

fn check_version(bytes: &[u8]) -> Result<(), Error> {
    match bytes.first() {
        Some(&PROTOCOL_VERSION) => Ok(()),
        Some(_) => Err(Error::UnsupportedVersion),
        None => Err(Error::Malformed),
    }
}
