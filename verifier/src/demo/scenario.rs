//! The embedded default fleet: landmarks in real cities, chips at real datacenter locations,
//! and the cases a regulator cares about (smuggled chips relayed through a city next to a
//! landmark, a cloned key on two continents, a mispositioned landmark, a chip that goes
//! silent). Also the path model that turns true positions into one-way delays.

use ed25519_dalek::SigningKey;
use lightcone::{
    DeviceCertificate, LandmarkCertificate, ModelName, OperatorName, Position, ResponseTiming,
    Signer, Validity,
};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

use super::DemoError;
use crate::synth::{sphere_distance_m, ChipKey};

/// A named point on Earth (degrees).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Place {
    /// City or site name.
    pub name: &'static str,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
}

impl Place {
    /// `(lat, lon)` in degrees.
    pub const fn at(&self) -> (f64, f64) {
        (self.lat, self.lon)
    }
}

const fn place(name: &'static str, lat: f64, lon: f64) -> Place {
    Place { name, lat, lon }
}

/// The honest landmarks: registered where they really are.
pub const LANDMARKS: [Place; 16] = [
    place("Ashburn", 39.0438, -77.4874),
    place("Dallas", 32.7767, -96.7970),
    place("San Jose", 37.3382, -121.8863),
    place("Toronto", 43.6532, -79.3832),
    place("São Paulo", -23.5505, -46.6333),
    place("London", 51.5074, -0.1278),
    place("Frankfurt", 50.1109, 8.6821),
    place("Stockholm", 59.3293, 18.0686),
    place("Warsaw", 52.2297, 21.0122),
    place("Dubai", 25.2048, 55.2708),
    place("Mumbai", 19.0760, 72.8777),
    place("Singapore", 1.3521, 103.8198),
    place("Kuala Lumpur", 3.1390, 101.6869),
    place("Tokyo", 35.6762, 139.6503),
    place("Seoul", 37.5665, 126.9780),
    place("Sydney", -33.8688, 151.2093),
];

/// Who runs each landmark of [`LANDMARKS`], in the same order. Two operators interleave so
/// that near landmarks belong to different operators: with `faulty_operators = 1` a chip is
/// verified only when what it proves survives dropping either operator's caps.
pub const LANDMARK_OPERATORS: [&str; 16] = [
    "Northlight Networks", // Ashburn
    "Meridian Exchange",   // Dallas
    "Northlight Networks", // San Jose
    "Meridian Exchange",   // Toronto
    "Meridian Exchange",   // São Paulo
    "Meridian Exchange",   // London
    "Northlight Networks", // Frankfurt
    "Meridian Exchange",   // Stockholm
    "Northlight Networks", // Warsaw
    "Meridian Exchange",   // Dubai
    "Northlight Networks", // Mumbai
    "Northlight Networks", // Singapore
    "Meridian Exchange",   // Kuala Lumpur
    "Meridian Exchange",   // Tokyo
    "Northlight Networks", // Seoul
    "Meridian Exchange",   // Sydney
];

/// The lying landmark: honestly placed in Seoul, run by an operator who colludes with the owner
/// of the chip smuggled to Beijing and signs 120 µs RTTs for it (its other measurements are
/// honest). With `faulty_operators = 1` the audit must not verify that chip, and must name the
/// operator whose caps alone would have made it compliant.
pub const LIAR: Place = place("Seoul (Hanriver)", 37.5172, 127.0473);
/// The lying landmark's operator.
pub const LIAR_OPERATOR: &str = "Hanriver Hosting";
/// The chip the liar lies for.
pub const LIAR_TARGET: &str = "smuggled-beijing";
/// The RTT the liar signs for its target, ns (≈ 18 km at c).
pub const LIAR_RTT_NS: u64 = 120_000;

/// What the lying landmark logs instead of `m`: the same chip-signed response, re-signed with
/// [`LIAR_RTT_NS`] (a faulty landmark can sign any RTT; it cannot forge the chip's signature).
pub fn lie(
    m: lightcone::Measurement,
    key: &mut SigningKey,
) -> Result<lightcone::Measurement, lightcone::Error> {
    let body = lightcone::message::MeasurementBody {
        rtt_ns: LIAR_RTT_NS,
        ..m.body
    };
    lightcone::Signed::sign(body, key)
}

/// The operator of the mispositioned landmark.
pub const MISPOSITIONED_OPERATOR: &str = "Nile Colocation";

/// The mispositioned landmark: registered in Cairo, really racked in Frankfurt. The registered
/// site is far enough that its RTTs to London and Frankfurt beat light by 14 and 19 ms, so a busy
/// machine's scheduling delays cannot hide the lie (one impossible pair alone cannot say which
/// of its two landmarks lies, and the audit would exclude both).
pub const MISPOSITIONED_REGISTERED: Place = place("Cairo", 30.0444, 31.2357);
/// Where the mispositioned landmark really is.
pub const MISPOSITIONED_TRUE: Place = place("Frankfurt (really)", 50.1211, 8.7365);

/// What a chip of the fleet is, in the ground truth.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Role {
    /// Where it says it is, in a permitted country, answering directly.
    Honest,
    /// Honest, but stops answering after the first probing cycle.
    Silent,
    /// Really in a restricted country; its traffic is relayed through `via`, a city next to a
    /// landmark, to look as if it were there.
    Smuggled {
        /// The relay city.
        via: Place,
    },
    /// Its key also runs on a second board at `second`, which answers from the second cycle on
    /// (the copy started from the same counter state).
    Clone {
        /// Where the copy runs.
        second: Place,
    },
}

impl Role {
    /// The role as one word.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Honest => "honest",
            Role::Silent => "silent",
            Role::Smuggled { .. } => "smuggled",
            Role::Clone { .. } => "clone",
        }
    }
}

/// One chip of the default fleet.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChipSpec {
    /// A readable name (the report shows chip ids; the demo maps them back).
    pub name: &'static str,
    /// Where the chip really is.
    pub at: Place,
    /// ISO code of the country it really is in.
    pub country: &'static str,
    /// Its role in the ground truth.
    pub role: Role,
}

const fn honest(
    name: &'static str,
    site: &'static str,
    lat: f64,
    lon: f64,
    cc: &'static str,
) -> ChipSpec {
    ChipSpec {
        name,
        at: place(site, lat, lon),
        country: cc,
        role: Role::Honest,
    }
}

const fn smuggled(
    name: &'static str,
    site: &'static str,
    lat: f64,
    lon: f64,
    cc: &'static str,
    via: Place,
) -> ChipSpec {
    ChipSpec {
        name,
        at: place(site, lat, lon),
        country: cc,
        role: Role::Smuggled { via },
    }
}

/// The default fleet: 33 honest chips at real datacenter sites (one of which goes silent),
/// 5 smuggled chips and one cloned key.
pub const CHIPS: [ChipSpec; 39] = [
    honest(
        "ashburn-1",
        "Ashburn, VA (DC campus)",
        39.0168,
        -77.4595,
        "US",
    ),
    honest("new-york-1", "Secaucus, NJ", 40.7895, -74.0565, "US"),
    honest("chicago-1", "Chicago, IL (Cermak)", 41.8538, -87.6184, "US"),
    honest("dallas-1", "Dallas–Fort Worth, TX", 32.8998, -97.0403, "US"),
    honest("phoenix-1", "Phoenix, AZ", 33.4484, -112.0740, "US"),
    honest("santa-clara-1", "Santa Clara, CA", 37.3541, -121.9552, "US"),
    honest("hillsboro-1", "Hillsboro, OR", 45.5229, -122.9898, "US"),
    honest("toronto-1", "Toronto (Front St)", 43.6426, -79.3871, "CA"),
    honest("montreal-1", "Montréal", 45.5017, -73.5673, "CA"),
    honest("queretaro-1", "Querétaro", 20.5888, -100.3899, "MX"),
    honest(
        "sao-paulo-1",
        "Barueri, São Paulo",
        -23.5114,
        -46.8766,
        "BR",
    ),
    honest("santiago-1", "Santiago", -33.4489, -70.6693, "CL"),
    honest("slough-1", "Slough", 51.5105, -0.5950, "GB"),
    honest("dublin-1", "Dublin", 53.3498, -6.2603, "IE"),
    ChipSpec {
        name: "amsterdam-1",
        at: place("Amsterdam (Science Park)", 52.3563, 4.9529),
        country: "NL",
        role: Role::Silent,
    },
    honest("paris-1", "Paris (Saint-Denis)", 48.9244, 2.3601, "FR"),
    honest(
        "frankfurt-1",
        "Frankfurt (Hanauer Landstraße)",
        50.1188,
        8.7360,
        "DE",
    ),
    honest("stockholm-1", "Stockholm (Kista)", 59.4024, 17.9461, "SE"),
    honest("helsinki-1", "Helsinki", 60.1699, 24.9384, "FI"),
    honest("warsaw-1", "Warsaw", 52.1926, 20.9418, "PL"),
    honest("dubai-1", "Dubai", 25.0657, 55.1713, "AE"),
    honest("mumbai-1", "Mumbai", 19.1136, 72.8697, "IN"),
    honest("chennai-1", "Chennai", 13.0827, 80.2707, "IN"),
    honest("singapore-1", "Singapore (Jurong)", 1.3204, 103.6946, "SG"),
    honest("johor-1", "Johor (Nusajaya)", 1.4927, 103.6414, "MY"),
    honest("jakarta-1", "Jakarta", -6.2088, 106.8456, "ID"),
    honest("tokyo-1", "Tokyo (Shinagawa)", 35.6185, 139.7270, "JP"),
    honest("osaka-1", "Osaka", 34.6937, 135.5023, "JP"),
    honest("seoul-1", "Seoul (Gasan)", 37.4849, 126.8972, "KR"),
    honest("taipei-1", "Taipei", 25.0330, 121.5654, "TW"),
    honest("sydney-1", "Sydney (Mascot)", -33.9210, 151.1887, "AU"),
    honest("melbourne-1", "Melbourne", -37.8136, 144.9631, "AU"),
    honest("johannesburg-1", "Johannesburg", -26.2041, 28.0473, "ZA"),
    smuggled(
        "smuggled-shenzhen",
        "Shenzhen",
        22.5431,
        114.0579,
        "CN",
        place("Singapore", 1.2897, 103.8501),
    ),
    smuggled(
        "smuggled-beijing",
        "Beijing",
        39.9042,
        116.4074,
        "CN",
        place("Seoul", 37.5326, 127.0246),
    ),
    smuggled(
        "smuggled-shanghai",
        "Shanghai",
        31.2304,
        121.4737,
        "CN",
        place("Tokyo", 35.6895, 139.6917),
    ),
    smuggled(
        "smuggled-moscow",
        "Moscow",
        55.7558,
        37.6173,
        "RU",
        place("Stockholm", 59.3326, 18.0649),
    ),
    smuggled(
        "smuggled-tehran",
        "Tehran",
        35.6892,
        51.3890,
        "IR",
        place("Dubai", 25.2285, 55.3273),
    ),
    ChipSpec {
        name: "cloned-key",
        at: place("Frankfurt (Sossenheim)", 50.1198, 8.5993),
        country: "DE",
        role: Role::Clone {
            second: place("Singapore (Loyang)", 1.3711, 103.9686),
        },
    },
];

/// The demo's policy: an export-control style denylist, every other country permitted, and
/// the `[audit]` rules scaled down so that a one-minute demo spans several epochs.
pub fn policy_toml(epoch_s: f64) -> String {
    let minutes = epoch_s / 60.0;
    let fresh_hours = epoch_s * 0.99 / 3600.0;
    let heartbeat_hours = epoch_s * 0.99 / 3600.0;
    format!(
        "# lightcone demo policy: written the way export rules are: the EAR's Country Group D:5\n\
         # (arms-embargoed destinations; with names = \"EAR\", CN includes Hong Kong) and every\n\
         # place Russia occupies; every other country is permitted. Bounds use the speed of\n\
         # light (sound against every medium).\n\
         speed = \"c\"\n\
         names = \"EAR\"\n\
         permitted = [\"*\"]\n\
         forbidden = [\"CN\", \"RU+occupied\", \"BY\", \"EAR:E:1\"]\n\
         # Open sea is permitted; sea within 200 nmi of a forbidden country is not.\n\
         sea = \"permitted\"\n\
         sea_buffer_nm = 200\n\
         # Verdicts hold whatever one landmark operator signs (DESIGN §1a).\n\
         faulty_operators = 1\n\
         \n\
         # Scaled down for the demo: one probing cycle per epoch of {epoch_s} s; a chip is\n\
         # verified by a compliant epoch in the last two epochs (freshness just under one\n\
         # epoch), and a whole epoch without a valid epoch is silence.\n\
         [audit]\n\
         epoch_minutes = {minutes}\n\
         freshness_hours = {fresh_hours}\n\
         heartbeat_hours = {heartbeat_hours}\n\
         max_travel_kmh = 1000\n\
         clock_skew_ms = 1000\n"
    )
}

/// Fibre propagation speed, m/s (2c/3).
pub const FIBRE_M_PER_S: f64 = 299_792_458.0 * 2.0 / 3.0;
/// Access-network delay added to every path, one way, ns.
pub const ACCESS_NS: f64 = 50_000.0;
/// Path stretch (route length over great circle) is drawn per path from this range.
pub const STRETCH: (f64, f64) = (1.3, 1.6);
/// Relay jitter per direction: up to this share of the one-way delay (plus [`JITTER_FLOOR_NS`]).
pub const JITTER_SHARE: f64 = 0.02;
/// Smallest jitter per direction, ns.
pub const JITTER_FLOOR_NS: f64 = 20_000.0;
/// The endorsed minimum response time of the demo's chip model, ns.
pub const MIN_RESPONSE_NS: u64 = 20_000;
/// Registered position uncertainty of every landmark, metres.
pub const LANDMARK_UNCERTAINTY_M: u32 = 100;

/// One-way delay of an internet path of great-circle length between `a` and `b`, ns.
pub fn one_way_ns(a: (f64, f64), b: (f64, f64), stretch: f64) -> f64 {
    sphere_distance_m(a, b) * stretch / FIBRE_M_PER_S * 1e9 + ACCESS_NS
}

/// A landmark of the built fleet.
pub struct DemoLandmark {
    /// City name (as registered).
    pub name: String,
    /// Who runs it (as certified).
    pub operator: String,
    /// Its key.
    pub key: SigningKey,
    /// Its registry-signed certificate.
    pub cert: LandmarkCertificate,
    /// The registered position.
    pub registered: (f64, f64),
    /// Where it really is.
    pub true_at: (f64, f64),
}

/// The chips whose device key is the ECDSA P-384 key of a Caliptra-style root of trust,
/// certified by the second vendor ([`CALIPTRA_VENDOR`]); the others hold Ed25519 keys. They sign
/// in software, a millisecond or more per response, which their RTTs include (their model is
/// endorsed with the same small minimum as the others: sound, only less precise), so they sit
/// far from any border where that would matter, but one is smuggled. Three, not more: software
/// P-384 signing and verification share the demo machine's cores with every other agent.
pub const P384_CHIPS: [&str; 3] = ["frankfurt-1", "tokyo-1", "smuggled-shenzhen"];

/// The name of the vendor root of the ECDSA P-384 chips.
pub const CALIPTRA_VENDOR: &str = "caliptra-demo";

/// The name of the vendor root of the Ed25519 chips.
pub const ED25519_VENDOR: &str = "acme-demo";

/// The simulated NVIDIA-style GPUs: they answer with SPDM 1.1 evidence signed by a P-384
/// attestation key under the [`GPU_ROOT`] chain, not with lightcone responses. One is honest in
/// Ashburn, where landmarks of both operators are near and no forbidden country is (an honest
/// Ed25519 chip there is decidable for seeds 7 and 2026); one is smuggled to Hong Kong (China under
/// the EAR reading) and relayed through Singapore, as the real smuggling cases were.
pub const GPUS: [ChipSpec; 2] = [
    honest(
        "gpu-ashburn",
        "Ashburn, VA (Dulles GPU cloud)",
        38.9530,
        -77.4480,
        "US",
    ),
    smuggled(
        "gpu-smuggled-hong-kong",
        "Hong Kong (Tseung Kwan O)",
        22.3080,
        114.2600,
        "HK",
        place("Singapore (Tai Seng)", 1.3358, 103.8880),
    ),
];

/// The name of the simulated GPUs' X.509 root in the trust file (the report's vendor).
pub const GPU_ROOT: &str = "lightcone-simulated-gpu";
/// The GPUs' model, as the registry endorses it.
pub const GPU_MODEL: &str = "H100-sim";
/// The common-name prefix of the simulated GPUs' leaf certificates (`<name> GPU <gpu name>`),
/// which the registry's endorsement names.
pub const GPU_LEAF_CN_PREFIX: &str = "lightcone simulated GPU";
/// The least time a simulated GPU takes to answer (it never answers sooner), ns; the registry
/// endorses exactly this minimum for [`GPU_MODEL`], so the audit subtracts what the GPU truly
/// needs and never more.
pub const GPU_FLOOR_NS: u64 = 400_000;

/// A simulated GPU of the built fleet: its spec, attestation key and chain.
pub struct DemoGpu {
    /// Its spec.
    pub spec: ChipSpec,
    /// Its P-384 attestation key (the chain's leaf key).
    pub key: p384::ecdsa::SigningKey,
    /// Its chain, leaf first, without the root.
    pub chain: Vec<crate::evidence::x509::Cert>,
    /// Its chip id (of the leaf key).
    pub chip_id: lightcone::ChipId,
}

impl DemoGpu {
    /// A fresh responder for this GPU's agent, with the [`GPU_FLOOR_NS`] floor.
    pub fn simulated(&self, root: &crate::evidence::x509::Cert) -> crate::evidence::SimulatedGpu {
        crate::evidence::SimulatedGpu::from_parts(
            self.spec.name,
            self.key.clone(),
            self.chain.clone(),
            Some(root.clone()),
        )
        .with_floor(std::time::Duration::from_nanos(GPU_FLOOR_NS))
    }
}

/// The simulated GPUs of a seed: one root and one intermediate (as a vendor's product line has),
/// a leaf per GPU; every key from their own stream, so the chips' keys and paths of a seed are
/// what they were before the GPUs existed. Returns the GPUs and the root.
fn build_gpus(seed: u64) -> Result<(Vec<DemoGpu>, crate::evidence::x509::Cert), DemoError> {
    use crate::evidence::synthetic::SyntheticChain;
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0x4750_555f_6465_6d6f);
    let root_key = p384::ecdsa::SigningKey::random(&mut rng);
    let ca_key = p384::ecdsa::SigningKey::random(&mut rng);
    let synthetic =
        |e: crate::evidence::synthetic::SyntheticError| DemoError::Options(e.to_string());
    let mut gpus = Vec::new();
    let mut root = None;
    for spec in GPUS {
        let leaf_key = p384::ecdsa::SigningKey::random(&mut rng);
        let chain = SyntheticChain::with_keys(
            "lightcone simulated",
            spec.name,
            root_key.clone(),
            ca_key.clone(),
            leaf_key.clone(),
        )
        .map_err(synthetic)?;
        let (certs, this_root) = chain.build().map_err(synthetic)?;
        // The root is signed deterministically (RFC 6979), so every chain ends at one root.
        match &root {
            Some(r) if r != &this_root => {
                return Err(DemoError::Options("the GPU chains' roots differ".into()))
            }
            _ => root = Some(this_root),
        }
        let der: Vec<u8> = certs.iter().flat_map(|c| c.der().to_vec()).collect();
        let chip_id = crate::evidence::chip_id_of_chain(&der)
            .map_err(|e| DemoError::Options(format!("a simulated GPU chain: {e}")))?;
        gpus.push(DemoGpu {
            spec,
            key: leaf_key,
            chain: certs,
            chip_id,
        });
    }
    let root = root.ok_or_else(|| DemoError::Options("no simulated GPU".into()))?;
    Ok((gpus, root))
}

/// A chip of the built fleet.
pub struct DemoChip {
    /// Its spec.
    pub spec: ChipSpec,
    /// Its device key (Ed25519, or P-384 for [`P384_CHIPS`]).
    pub key: ChipKey,
    /// Its vendor-signed certificate.
    pub cert: DeviceCertificate,
}

/// The fleet built from a seed: keys, certificates and path stretches.
pub struct Fleet {
    /// The seed it was built from.
    pub seed: u64,
    /// The vendor root key of the Ed25519 chips ([`ED25519_VENDOR`]).
    pub vendor: SigningKey,
    /// The vendor root key of the P-384 chips ([`CALIPTRA_VENDOR`]; itself Ed25519, as every
    /// vendor root).
    pub caliptra_vendor: SigningKey,
    /// The landmark registry's key.
    pub registry: SigningKey,
    /// The log's signing key.
    pub log_key: SigningKey,
    /// Landmarks: the 16 honest ones, the lying one, then the mispositioned one (last).
    pub landmarks: Vec<DemoLandmark>,
    /// Chips, in [`CHIPS`] order.
    pub chips: Vec<DemoChip>,
    /// Path stretch landmark → chip (`[l][c]`); for a clone's second board `[l][chips.len()]`.
    pub stretch: Vec<Vec<f64>>,
    /// Path stretch landmark → landmark (`[a][b]`).
    pub cross_stretch: Vec<Vec<f64>>,
    /// Path stretch relay city → true position, per chip.
    pub relay_stretch: Vec<f64>,
    /// The simulated GPUs, in [`GPUS`] order.
    pub gpus: Vec<DemoGpu>,
    /// The X.509 root of every GPU's chain.
    pub gpu_root: crate::evidence::x509::Cert,
    /// Path stretch landmark → GPU (`[l][g]`).
    pub gpu_stretch: Vec<Vec<f64>>,
    /// Path stretch relay city → true position, per GPU.
    pub gpu_relay_stretch: Vec<f64>,
}

fn draw_stretch(rng: &mut ChaCha20Rng) -> f64 {
    let u = f64::from(rng.next_u32()) / f64::from(u32::MAX);
    STRETCH.0 + (STRETCH.1 - STRETCH.0) * u
}

/// Which board of a chip answers: the chip itself, or a clone's second board.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Board {
    /// The chip (or the clone's first board).
    Primary,
    /// A clone's second board.
    Second,
}

impl Fleet {
    /// Builds the default fleet: every key and every path stretch comes from `seed`
    /// (ChaCha20); certificates are valid from a day ago for 30 days.
    pub fn build(seed: u64, validity: Validity) -> Result<Fleet, DemoError> {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut vendor = SigningKey::generate(&mut rng);
        let mut registry = SigningKey::generate(&mut rng);
        let log_key = SigningKey::generate(&mut rng);
        let mut landmarks = Vec::new();
        let sites = LANDMARKS
            .iter()
            .zip(LANDMARK_OPERATORS)
            .map(|(p, op)| (p.name, op, p.at(), p.at()))
            .chain(std::iter::once((
                LIAR.name,
                LIAR_OPERATOR,
                LIAR.at(),
                LIAR.at(),
            )))
            .chain(std::iter::once((
                MISPOSITIONED_REGISTERED.name,
                MISPOSITIONED_OPERATOR,
                MISPOSITIONED_REGISTERED.at(),
                MISPOSITIONED_TRUE.at(),
            )));
        for (name, operator, registered, true_at) in sites {
            let key = SigningKey::generate(&mut rng);
            let cert = LandmarkCertificate::issue(
                &mut registry,
                key.public_key(),
                OperatorName::new(operator)?,
                Position::from_degrees(registered.0, registered.1)?,
                LANDMARK_UNCERTAINTY_M,
                validity,
            )?;
            landmarks.push(DemoLandmark {
                name: name.to_owned(),
                operator: operator.to_owned(),
                key,
                cert,
                registered,
                true_at,
            });
        }
        // The P-384 chips and their vendor draw from a second stream, so the main stream (and
        // with it every other key and path of a seed) is what it was before they existed.
        let mut p384_rng = ChaCha20Rng::seed_from_u64(seed ^ 0x5033_3834_5f64_656d);
        let mut caliptra_vendor = SigningKey::generate(&mut p384_rng);
        let mut chips = Vec::new();
        for spec in CHIPS {
            let ed25519 = SigningKey::generate(&mut rng);
            let (key, issuer, model) = if P384_CHIPS.contains(&spec.name) {
                (
                    ChipKey::generate_p384(&mut p384_rng),
                    &mut caliptra_vendor,
                    "CALIPTRA-DEMO",
                )
            } else {
                (ChipKey::Ed25519(ed25519), &mut vendor, "LC-H200-DEMO")
            };
            let cert = DeviceCertificate::issue(
                issuer,
                key.public_key(),
                ModelName::new(model)?,
                ResponseTiming::minimum_only(MIN_RESPONSE_NS),
                validity,
            )?;
            chips.push(DemoChip { spec, key, cert });
        }
        let n_chips = chips.len();
        let stretch = (0..landmarks.len())
            .map(|_| (0..=n_chips).map(|_| draw_stretch(&mut rng)).collect())
            .collect();
        let cross_stretch = (0..landmarks.len())
            .map(|_| {
                (0..landmarks.len())
                    .map(|_| draw_stretch(&mut rng))
                    .collect()
            })
            .collect();
        let relay_stretch = (0..n_chips).map(|_| draw_stretch(&mut rng)).collect();
        let (gpus, gpu_root) = build_gpus(seed)?;
        let mut gpu_rng = ChaCha20Rng::seed_from_u64(seed ^ 0x4750_555f_7061_7468);
        let gpu_stretch = (0..landmarks.len())
            .map(|_| gpus.iter().map(|_| draw_stretch(&mut gpu_rng)).collect())
            .collect();
        let gpu_relay_stretch = gpus.iter().map(|_| draw_stretch(&mut gpu_rng)).collect();
        Ok(Fleet {
            seed,
            vendor,
            caliptra_vendor,
            registry,
            log_key,
            landmarks,
            chips,
            stretch,
            cross_stretch,
            relay_stretch,
            gpus,
            gpu_root,
            gpu_stretch,
            gpu_relay_stretch,
        })
    }

    /// Index of the mispositioned landmark.
    pub fn mispositioned(&self) -> usize {
        self.landmarks.len().saturating_sub(1)
    }

    /// Index of the lying landmark.
    pub fn liar(&self) -> usize {
        self.landmarks.len().saturating_sub(2)
    }

    /// Index of the chip the liar signs short RTTs for.
    pub fn liar_target(&self) -> Option<usize> {
        self.chips.iter().position(|c| c.spec.name == LIAR_TARGET)
    }

    fn stretch_at(&self, l: usize, c: usize) -> f64 {
        self.stretch
            .get(l)
            .and_then(|row| row.get(c))
            .copied()
            .unwrap_or(STRETCH.1)
    }

    /// Nominal one-way delay (without jitter), ns, from landmark `l`'s true position to chip
    /// `c`'s `board`, along the path the chip's traffic really takes.
    pub fn chip_delay_ns(&self, l: usize, c: usize, board: Board) -> f64 {
        let (Some(lm), Some(chip)) = (self.landmarks.get(l), self.chips.get(c)) else {
            return 0.0;
        };
        let from = lm.true_at;
        match (chip.spec.role, board) {
            (Role::Smuggled { via }, _) => {
                let relay = self.relay_stretch.get(c).copied().unwrap_or(STRETCH.1);
                one_way_ns(from, via.at(), self.stretch_at(l, c))
                    + one_way_ns(via.at(), chip.spec.at.at(), relay)
            }
            (Role::Clone { second }, Board::Second) => {
                one_way_ns(from, second.at(), self.stretch_at(l, self.chips.len()))
            }
            _ => one_way_ns(from, chip.spec.at.at(), self.stretch_at(l, c)),
        }
    }

    /// Nominal one-way delay (without jitter), ns, from landmark `l`'s true position to GPU `g`,
    /// along the path its traffic really takes (through the relay city of a smuggled one).
    pub fn gpu_delay_ns(&self, l: usize, g: usize) -> f64 {
        let (Some(lm), Some(gpu)) = (self.landmarks.get(l), self.gpus.get(g)) else {
            return 0.0;
        };
        let stretch = self
            .gpu_stretch
            .get(l)
            .and_then(|row| row.get(g))
            .copied()
            .unwrap_or(STRETCH.1);
        match gpu.spec.role {
            Role::Smuggled { via } => {
                let relay = self.gpu_relay_stretch.get(g).copied().unwrap_or(STRETCH.1);
                one_way_ns(lm.true_at, via.at(), stretch)
                    + one_way_ns(via.at(), gpu.spec.at.at(), relay)
            }
            _ => one_way_ns(lm.true_at, gpu.spec.at.at(), stretch),
        }
    }

    /// Nominal one-way delay between the true positions of landmarks `a` and `b`, ns.
    pub fn cross_delay_ns(&self, a: usize, b: usize) -> f64 {
        let (Some(la), Some(lb)) = (self.landmarks.get(a), self.landmarks.get(b)) else {
            return 0.0;
        };
        let s = self
            .cross_stretch
            .get(a.min(b))
            .and_then(|r| r.get(a.max(b)))
            .copied()
            .unwrap_or(STRETCH.1);
        one_way_ns(la.true_at, lb.true_at, s)
    }
}

/// Relay jitter bound for a one-way delay, ns.
pub fn jitter_ns(delay_ns: f64) -> f64 {
    delay_ns * JITTER_SHARE + JITTER_FLOOR_NS
}
