//! Synthetic fleets: real keys, certificates and signed measurements whose RTTs come from true
//! positions, without a network. For tests, benchmarks and load generation; the demo uses the
//! real network path instead.

use ed25519_dalek::SigningKey;
use lightcone::{
    AnyPublicKey, AnySignature, DeviceCertificate, Error, Landmark, LandmarkCertificate, LogRecord,
    Measurement, ModelName, OperatorName, Position, RamCounter, Responder, Response,
    ResponseTiming, Signer, Validity, Wire,
};
use rand_core::{CryptoRng, RngCore};

use crate::registry::Trust;

/// Eight landmark sites on three continents (Frankfurt, Paris, London, Warsaw, Singapore, Kuala
/// Lumpur, Ashburn, Tokyo), for benches and generated logs.
pub const SAMPLE_LANDMARKS: [(f64, f64); 8] = [
    (50.11, 8.68),
    (48.86, 2.35),
    (51.51, -0.13),
    (52.23, 21.01),
    (1.35, 103.82),
    (3.139, 101.687),
    (39.04, -77.49),
    (35.68, 139.69),
];

/// Minimum response time every synthetic chip model is endorsed with, ns.
pub const MIN_RESPONSE_NS: u64 = 20_000;
/// Mean Earth radius, metres (for synthetic RTTs only; the audit never trusts these).
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// A synthetic landmark: its key, its certificate, and where it really is.
pub struct SynthLandmark {
    /// The landmark's signing identity.
    pub landmark: Landmark<SigningKey>,
    /// Its key (to answer cross-check challenges).
    pub key: SigningKey,
    /// Its registry certificate (registered position).
    pub cert: LandmarkCertificate,
    /// Where it physically is, degrees (differs from the certificate if mispositioned).
    pub true_position: (f64, f64),
}

/// A chip's device key: Ed25519, or the ECDSA P-384 key of a Caliptra-style root of trust.
#[derive(Clone)]
pub enum ChipKey {
    /// An Ed25519 device key.
    Ed25519(SigningKey),
    /// An ECDSA P-384 device key (RFC 6979 signatures, SHA-384).
    P384(p384::ecdsa::SigningKey),
}

impl ChipKey {
    /// A fresh P-384 key from `rng`.
    pub fn generate_p384<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        ChipKey::P384(p384::ecdsa::SigningKey::random(rng))
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> lightcone::Algorithm {
        match self {
            ChipKey::Ed25519(_) => lightcone::Algorithm::Ed25519,
            ChipKey::P384(_) => lightcone::Algorithm::EcdsaP384Sha384,
        }
    }
}

impl From<SigningKey> for ChipKey {
    fn from(key: SigningKey) -> Self {
        ChipKey::Ed25519(key)
    }
}

impl From<p384::ecdsa::SigningKey> for ChipKey {
    fn from(key: p384::ecdsa::SigningKey) -> Self {
        ChipKey::P384(key)
    }
}

impl Signer for ChipKey {
    type PublicKey = AnyPublicKey;
    type Signature = AnySignature;

    fn public_key(&self) -> AnyPublicKey {
        match self {
            ChipKey::Ed25519(k) => k.public_key().into(),
            ChipKey::P384(k) => k.public_key(),
        }
    }

    fn try_sign(&mut self, message: &[u8]) -> Result<AnySignature, Error> {
        match self {
            ChipKey::Ed25519(k) => k.try_sign(message).map(Into::into),
            ChipKey::P384(k) => k.try_sign(message),
        }
    }
}

/// A synthetic chip: its responder and its device certificate.
pub struct SynthChip {
    /// The chip's responder.
    pub responder: Responder<ChipKey, RamCounter>,
    /// The chip's key.
    pub key: ChipKey,
    /// Its vendor certificate.
    pub cert: DeviceCertificate,
}

/// A whole synthetic deployment.
pub struct SynthFleet {
    /// The vendor root key.
    pub vendor: SigningKey,
    /// The registry key.
    pub registry: SigningKey,
    /// The log's signing key.
    pub log_key: SigningKey,
    /// The log's origin line.
    pub origin: String,
    /// Landmarks.
    pub landmarks: Vec<SynthLandmark>,
    /// Chips.
    pub chips: Vec<SynthChip>,
}

/// Certificates valid for all of 2020–2100.
pub fn long_validity() -> Validity {
    Validity {
        not_before: 1_577_836_800,
        not_after: 4_102_444_800,
    }
}

/// Great-circle distance on a sphere, metres (synthetic RTTs only).
pub fn sphere_distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (p1, p2) = (a.0.to_radians(), b.0.to_radians());
    let h = ((p2 - p1) / 2.0).sin().powi(2)
        + p1.cos() * p2.cos() * ((b.1 - a.1).to_radians() / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// A realistic internet RTT between two points: fibre (2c/3) along a path 1.3× the great
/// circle, plus `overhead_ns`. Always above the light-speed minimum.
pub fn internet_rtt_ns(a: (f64, f64), b: (f64, f64), overhead_ns: u64) -> u64 {
    let one_way_s = sphere_distance_m(a, b) * 1.3 / (299_792_458.0 * 2.0 / 3.0);
    (2.0 * one_way_s * 1e9).ceil() as u64 + overhead_ns
}

impl SynthFleet {
    /// A fleet with keys from `rng`, landmarks at `landmarks` (registered = true position) and
    /// `chips` chips.
    pub fn new<R: RngCore + CryptoRng>(
        rng: &mut R,
        landmarks: &[(f64, f64)],
        chips: usize,
    ) -> Result<Self, Error> {
        let mut fleet = SynthFleet {
            vendor: SigningKey::generate(rng),
            registry: SigningKey::generate(rng),
            log_key: SigningKey::generate(rng),
            origin: "example.org/lightcone-test-log".to_owned(),
            landmarks: Vec::new(),
            chips: Vec::new(),
        };
        for (i, &at) in landmarks.iter().enumerate() {
            fleet.add_landmark(SigningKey::generate(rng), at, &format!("operator-{i}"))?;
        }
        for _ in 0..chips {
            fleet.add_chip(SigningKey::generate(rng))?;
        }
        Ok(fleet)
    }

    /// Adds a landmark with `key` at `at` (registered = true position), run by `operator`;
    /// returns its index.
    pub fn add_landmark(
        &mut self,
        key: SigningKey,
        at: (f64, f64),
        operator: &str,
    ) -> Result<usize, Error> {
        let cert = LandmarkCertificate::issue(
            &mut self.registry,
            key.public_key(),
            OperatorName::new(operator)?,
            Position::from_degrees(at.0, at.1)?,
            100,
            long_validity(),
        )?;
        self.landmarks.push(SynthLandmark {
            landmark: Landmark::new(key.clone()),
            key,
            cert,
            true_position: at,
        });
        Ok(self.landmarks.len() - 1)
    }

    /// A new registry certificate for landmark `i`'s key at `registered`, valid for
    /// `validity` and run by `operator` (a re-survey, a move, or a transfer). The landmark
    /// keeps its key; its true position becomes `registered`. Returns the new certificate.
    pub fn recertify_landmark(
        &mut self,
        i: usize,
        registered: (f64, f64),
        operator: &str,
        validity: Validity,
    ) -> Result<LandmarkCertificate, Error> {
        let lm = self.landmarks.get_mut(i).ok_or(Error::WrongLandmark)?;
        let cert = LandmarkCertificate::issue(
            &mut self.registry,
            lm.key.public_key(),
            OperatorName::new(operator)?,
            Position::from_degrees(registered.0, registered.1)?,
            100,
            validity,
        )?;
        lm.cert = cert;
        lm.true_position = registered;
        Ok(cert)
    }

    /// Adds a chip with `key` (Ed25519 or P-384), certified by the fleet's vendor; returns its
    /// index.
    pub fn add_chip(&mut self, key: impl Into<ChipKey>) -> Result<usize, Error> {
        let key = key.into();
        let cert = DeviceCertificate::issue(
            &mut self.vendor,
            key.public_key(),
            ModelName::new("LC-SYNTH")?,
            ResponseTiming::minimum_only(MIN_RESPONSE_NS),
            long_validity(),
        )?;
        self.chips.push(SynthChip {
            responder: Responder::new(key.clone(), RamCounter::default()),
            key,
            cert,
        });
        Ok(self.chips.len() - 1)
    }

    /// A second device holding chip `c`'s key, with its own counter: a clone. Returns its
    /// index (it shares the certificate).
    pub fn clone_chip(&mut self, c: usize) -> Option<usize> {
        let original = self.chips.get(c)?;
        let clone = SynthChip {
            responder: Responder::new(original.key.clone(), RamCounter::default()),
            key: original.key.clone(),
            cert: original.cert,
        };
        self.chips.push(clone);
        Some(self.chips.len() - 1)
    }

    /// Moves landmark `i` physically to `true_position`, keeping its registered position: a
    /// mispositioned (or lying) landmark.
    pub fn misplace_landmark(&mut self, i: usize, true_position: (f64, f64)) {
        if let Some(l) = self.landmarks.get_mut(i) {
            l.true_position = true_position;
        }
    }

    /// The registry's public key.
    pub fn registry_public(&self) -> lightcone::PublicKey {
        self.registry.public_key()
    }

    /// The vendor root's public key.
    pub fn vendor_public(&self) -> lightcone::PublicKey {
        self.vendor.public_key()
    }

    /// The trust roots an auditor holds for this fleet.
    pub fn trust(&self) -> Trust {
        let key = crate::log::note::NoteSigner::new(&self.origin, self.log_key.clone())
            .map(|s| s.verifier_key().to_string())
            .ok();
        Trust {
            registry: self.registry.public_key(),
            vendors: vec![("synthetic-vendor".to_owned(), self.vendor.public_key())],
            log_verifier_keys: key.iter().cloned().collect(),
            log_verifier_key: key,
            x509_roots: Vec::new(),
        }
    }

    /// Every certificate, as log records (clones share their original's certificate).
    pub fn certificate_records(&self) -> Vec<LogRecord> {
        let mut out: Vec<LogRecord> = self
            .landmarks
            .iter()
            .map(|l| LogRecord::LandmarkCertificate(l.cert))
            .collect();
        for chip in &self.chips {
            let record = LogRecord::DeviceCertificate(chip.cert);
            if !out.contains(&record) {
                out.push(record);
            }
        }
        out
    }

    /// One measured round: landmark `l` challenges chip `c`, which is really at `chip_at`;
    /// `extra_delay_ns` is added delay (an adversary can add delay, never remove it).
    pub fn measure<R: RngCore + CryptoRng>(
        &mut self,
        rng: &mut R,
        (l, c): (usize, usize),
        chip_at: (f64, f64),
        sent_at_ns: u64,
        extra_delay_ns: u64,
    ) -> Result<Measurement, Error> {
        let lm = self.landmarks.get_mut(l).ok_or(Error::WrongLandmark)?;
        let chip = self.chips.get_mut(c).ok_or(Error::WrongChip)?;
        let rtt = internet_rtt_ns(lm.true_position, chip_at, MIN_RESPONSE_NS) + extra_delay_ns;
        let challenge = lm.landmark.challenge(chip.responder.chip_id(), rng)?;
        let mut out = [0u8; Response::MAX_SIZE];
        let n = chip
            .responder
            .respond(&challenge.to_vec(), || 0, &mut out)?;
        let device = chip
            .cert
            .verify(&self.vendor.public_key(), sent_at_ns / 1_000_000_000)?;
        let response = lm.landmark.check_response(
            &challenge,
            out.get(..n).ok_or(Error::Malformed)?,
            &device,
        )?;
        lm.landmark.measure(&response, rtt, sent_at_ns)
    }

    /// Like [`SynthFleet::measure`] without the landmark's checks of the response (the chip
    /// still signs a real response, the landmark a real measurement): for generating large
    /// logs quickly. Only for data the caller knows to be well formed.
    pub fn measure_unchecked<R: RngCore + CryptoRng>(
        &mut self,
        rng: &mut R,
        (l, c): (usize, usize),
        chip_at: (f64, f64),
        sent_at_ns: u64,
    ) -> Result<Measurement, Error> {
        let lm = self.landmarks.get(l).ok_or(Error::WrongLandmark)?;
        let rtt = internet_rtt_ns(lm.true_position, chip_at, MIN_RESPONSE_NS);
        self.measure_as_liar(rng, (l, c), rtt, sent_at_ns)
    }

    /// What a faulty landmark can log: chip `c` answers landmark `l`'s challenge (a real
    /// response, real counter, nonce from `rng`), and the landmark signs whatever `rtt_ns` and
    /// `sent_at_ns` it likes.
    pub fn measure_as_liar<R: RngCore + CryptoRng>(
        &mut self,
        rng: &mut R,
        (l, c): (usize, usize),
        rtt_ns: u64,
        sent_at_ns: u64,
    ) -> Result<Measurement, Error> {
        let lm = self.landmarks.get_mut(l).ok_or(Error::WrongLandmark)?;
        let chip = self.chips.get_mut(c).ok_or(Error::WrongChip)?;
        let challenge = lm.landmark.challenge(chip.responder.chip_id(), rng)?;
        let mut out = [0u8; Response::MAX_SIZE];
        let n = chip
            .responder
            .respond(&challenge.to_vec(), || 0, &mut out)?;
        let response = Response::decode(out.get(..n).ok_or(Error::Malformed)?)?;
        let body = lightcone::message::MeasurementBody {
            version: lightcone::PROTOCOL_VERSION,
            response,
            rtt_ns,
            sent_at_ns,
        };
        lightcone::Signed::sign(body, &mut lm.key)
    }

    /// Landmark `a` measures landmark `b`, which answers with its landmark key, from their true
    /// positions.
    pub fn cross_measure<R: RngCore + CryptoRng>(
        &mut self,
        rng: &mut R,
        a: usize,
        b: usize,
        sent_at_ns: u64,
    ) -> Result<Measurement, Error> {
        let lb = self.landmarks.get(b).ok_or(Error::WrongLandmark)?;
        let (pb, kb) = (lb.true_position, lb.key.clone());
        let la = self.landmarks.get_mut(a).ok_or(Error::WrongLandmark)?;
        let rtt = internet_rtt_ns(la.true_position, pb, 5_000);
        let mut responder = Responder::new(kb.clone(), RamCounter::default());
        let challenge = la.landmark.challenge(responder.chip_id(), rng)?;
        let mut out = [0u8; Response::MAX_SIZE];
        let n = responder.respond(&challenge.to_vec(), || 0, &mut out)?;
        let response = la.landmark.check_response_from_key(
            &challenge,
            out.get(..n).ok_or(Error::Malformed)?,
            &kb.public_key(),
        )?;
        la.landmark.measure(&response, rtt, sent_at_ns)
    }
}
