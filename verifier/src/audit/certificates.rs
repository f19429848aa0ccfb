//! The audit's first pass: every certificate in the log, checked once against the trust roots,
//! with its key prepared once for the measurements that follow.
//!
//! Certificate signatures are batch-verified like measurement signatures ([`super::batch`]); the
//! other checks (issuer, id-to-key binding, fields, validity) are the core's
//! `check_claims`, so a certificate is accepted exactly when the core's `verify` accepts it.

use std::collections::{HashMap, HashSet};

use lightcone::ed25519::PreparedKey;
use lightcone::PreparedAnyKey;
use lightcone::{
    ChipId, DeviceCertificate, IssuerId, LandmarkCertificate, LandmarkId, LogEntry, LogRecord,
    Signature, Wire,
};
use rayon::prelude::*;
use sha2::Digest as _;

use super::batch::{self, Item};
use super::model::{Counts, Finding, FindingKind};
use super::AuditError;
use crate::log::tile::TILE_WIDTH;
use crate::log::LogReader;
use crate::registry::{RegistryError, Trust};

/// Most certificate signatures verified together in one batch.
const BATCH_CERTIFICATES: usize = 256;
/// Fewest certificate signatures per batch (smaller batches gain little over single checks).
const MIN_BATCH_CERTIFICATES: usize = 16;

/// One checked certificate of a chip, with its prepared key.
#[derive(Clone, Debug)]
pub struct ChipCert {
    /// The certificate.
    pub cert: DeviceCertificate,
    /// Name of the vendor root that issued it.
    pub vendor: String,
    /// Its device key (of any algorithm), prepared once.
    pub key: PreparedAnyKey,
}

/// One checked landmark certificate with its prepared key.
#[derive(Clone, Debug)]
pub struct LandmarkCert {
    /// The certificate.
    pub cert: LandmarkCertificate,
    /// Its landmark key, prepared once.
    pub key: PreparedKey,
}

/// Every certificate in the log that verified against the trust roots.
///
/// Each list is sorted by the certificates' canonical bytes, so nothing derived from it depends
/// on the order of the log's entries.
#[derive(Default)]
pub struct Certificates {
    /// Chip certificates by chip id (a chip may have several, e.g. renewals).
    pub chips: HashMap<ChipId, Vec<ChipCert>>,
    /// Landmark certificates by landmark id.
    pub landmarks: HashMap<LandmarkId, Vec<LandmarkCert>>,
    /// Operator name → the operator it counts as: names linked by one landmark key (a
    /// landmark re-certified to another operator, whose old operator may have kept the key)
    /// are one party, represented by the smallest name of the group.
    pub operator_group: HashMap<lightcone::OperatorName, lightcone::OperatorName>,
    /// GPU chains (SPDM-evidence chips) by chip id, in canonical order.
    pub gpus: super::gpus::GpuMap,
    /// Registry endorsements of GPU models' timing, in canonical order.
    pub endorsements: Vec<lightcone::Verified<lightcone::evidence::ModelEndorsement>>,
}

/// What the audit may assume about a chip's timing at one moment: the most conservative value
/// of every valid certificate for its key, whatever the log order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceTiming {
    /// The smallest endorsed minimum response time, ns.
    pub min_response_ns: u64,
    /// The smallest cap on self-reported processing, ns.
    pub max_processing_ns: u64,
    /// The largest timer tolerance, ppm.
    pub clock_tolerance_ppm: u32,
}

impl DeviceTiming {
    /// The processing time credited for a response reporting `reported_ns`.
    pub fn credited_ns(&self, reported_ns: u64, credit: lightcone::ProcessingCredit) -> u64 {
        lightcone::ResponseTiming {
            min_response_ns: self.min_response_ns,
            max_processing_ns: self.max_processing_ns,
            clock_tolerance_ppm: self.clock_tolerance_ppm,
        }
        .credited_ns(reported_ns, credit)
    }
}

/// Where a landmark was at one moment, as every certificate valid then says together.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LandmarkView {
    /// The position of the first valid certificate (in canonical order).
    pub position: lightcone::Position,
    /// Uncertainty that covers every valid certificate's position and uncertainty, metres.
    pub uncertainty_m: u64,
    /// The operator every valid certificate names, as the party it counts as
    /// ([`Certificates::operator_group`]).
    pub operator: lightcone::OperatorName,
}

impl Certificates {
    /// A chip certificate valid at `unix_s` (the first in canonical order). Every certificate of
    /// a chip id holds the same key (the id is its hash); use [`Self::device_timing_at`] for
    /// what the certificates endorse.
    pub fn chip_at(&self, id: &ChipId, unix_s: u64) -> Option<&ChipCert> {
        self.chips
            .get(id)?
            .iter()
            .find(|c| c.cert.body.validity.contains(unix_s))
    }

    /// A landmark certificate valid at `unix_s` (the first in canonical order); use
    /// [`Self::landmark_view_at`] for its position.
    pub fn landmark_at(&self, id: &LandmarkId, unix_s: u64) -> Option<&LandmarkCert> {
        self.landmarks
            .get(id)?
            .iter()
            .find(|c| c.cert.body.validity.contains(unix_s))
    }

    /// The most conservative timing of every device certificate and GPU chain valid at
    /// `unix_s` (a GPU's timing is what the registry's endorsements valid then give it).
    pub fn device_timing_at(&self, id: &ChipId, unix_s: u64) -> Option<DeviceTiming> {
        let certified = self
            .chips
            .get(id)
            .into_iter()
            .flatten()
            .filter(|c| c.cert.body.validity.contains(unix_s))
            .map(|c| c.cert.body.timing);
        let gpus = self
            .gpus
            .get(id)
            .into_iter()
            .flat_map(|list| super::gpus::valid_at(list, unix_s))
            .map(|g| {
                let min = super::gpus::min_response_ns(&self.endorsements, &g.identity, unix_s);
                lightcone::ResponseTiming::minimum_only(min)
            });
        certified
            .chain(gpus)
            .fold(None, |acc: Option<DeviceTiming>, t| {
                Some(match acc {
                    None => DeviceTiming {
                        min_response_ns: t.min_response_ns,
                        max_processing_ns: t.max_processing_ns,
                        clock_tolerance_ppm: t.clock_tolerance_ppm,
                    },
                    Some(a) => DeviceTiming {
                        min_response_ns: a.min_response_ns.min(t.min_response_ns),
                        max_processing_ns: a.max_processing_ns.min(t.max_processing_ns),
                        clock_tolerance_ppm: a.clock_tolerance_ppm.max(t.clock_tolerance_ppm),
                    },
                })
            })
    }

    /// A GPU chain of chip `id` valid at `unix_s` (the first in canonical order; every chain
    /// of one chip id holds the same leaf key).
    pub fn gpu_at(&self, id: &ChipId, unix_s: u64) -> Option<&super::gpus::GpuCert> {
        super::gpus::valid_at(self.gpus.get(id)?, unix_s).next()
    }

    /// Whether the log holds a valid device certificate or GPU chain for chip `id`.
    pub fn is_certified(&self, id: &ChipId) -> bool {
        self.chips.contains_key(id) || self.gpus.contains_key(id)
    }

    /// Where landmark `id` was at `unix_s` by every certificate valid then: the first one's
    /// position, with the uncertainty grown to cover every other valid position. `Ok(None)`
    /// when none is valid; `Err` when valid certificates name different operators (the
    /// landmark cannot be attributed, so its measurements are refused).
    pub fn landmark_view_at(
        &self,
        id: &LandmarkId,
        unix_s: u64,
    ) -> Result<Option<LandmarkView>, String> {
        let Some(list) = self.landmarks.get(id) else {
            return Ok(None);
        };
        let mut valid = list
            .iter()
            .map(|c| &c.cert.body)
            .filter(|b| b.validity.contains(unix_s));
        let Some(first) = valid.next() else {
            return Ok(None);
        };
        let mut view = LandmarkView {
            position: first.position,
            uncertainty_m: u64::from(first.uncertainty_m),
            operator: self.party(first.operator),
        };
        let at = |p: lightcone::Position| (p.lat.degrees(), p.lon.degrees());
        for b in valid {
            if self.party(b.operator) != view.operator {
                return Err(format!(
                    "certificates valid at {unix_s} name two operators ({:?} and {:?})",
                    view.operator.as_str(),
                    b.operator.as_str()
                ));
            }
            let apart =
                crate::geo::tolerant::geodesic_upper_bound_m(at(view.position), at(b.position));
            let reach = (apart + f64::from(b.uncertainty_m)).ceil() as u64;
            view.uncertainty_m = view.uncertainty_m.max(reach);
        }
        Ok(Some(view))
    }

    /// The party an operator name counts as.
    pub fn party(&self, name: lightcone::OperatorName) -> lightcone::OperatorName {
        self.operator_group.get(&name).copied().unwrap_or(name)
    }

    /// Links operator names that share a landmark key into one party each.
    fn group_operators(&mut self) {
        use lightcone::OperatorName;
        let mut parent: std::collections::BTreeMap<OperatorName, OperatorName> =
            std::collections::BTreeMap::new();
        fn root(
            parent: &std::collections::BTreeMap<OperatorName, OperatorName>,
            mut x: OperatorName,
        ) -> OperatorName {
            while let Some(&p) = parent.get(&x) {
                if p == x {
                    break;
                }
                x = p;
            }
            x
        }
        for list in self.landmarks.values() {
            let mut names = list.iter().map(|c| c.cert.body.operator);
            let Some(first) = names.next() else { continue };
            parent.entry(first).or_insert(first);
            for n in names {
                parent.entry(n).or_insert(n);
                let (a, b) = (root(&parent, first), root(&parent, n));
                // The smaller name becomes the root, so the result is order-independent.
                let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
                parent.insert(hi, lo);
            }
        }
        let names: Vec<OperatorName> = parent.keys().copied().collect();
        self.operator_group = names.into_iter().map(|n| (n, root(&parent, n))).collect();
    }

    /// Chips certified by more than one vendor root: each vendor is trusted for its own chips
    /// only, so two vendors claiming one key cannot both be right. Sorted by chip id.
    pub fn conflicting_issuers(&self) -> Vec<(ChipId, Vec<String>)> {
        let ids: HashSet<&ChipId> = self.chips.keys().chain(self.gpus.keys()).collect();
        let mut out: Vec<(ChipId, Vec<String>)> = ids
            .into_iter()
            .filter_map(|id| {
                let certified = self.chips.get(id).into_iter().flatten();
                let chains = self.gpus.get(id).into_iter().flatten();
                let mut vendors: Vec<String> = certified
                    .map(|c| c.vendor.clone())
                    .chain(chains.map(|g| g.identity.root_name.clone()))
                    .collect();
                vendors.sort();
                vendors.dedup();
                (vendors.len() > 1).then_some((*id, vendors))
            })
            .collect();
        out.sort_by_key(|(id, _)| *id);
        out
    }
}

/// Collects every distinct certificate in the log, checks them all (in parallel, signatures in
/// batches) and keeps the good ones; each bad one becomes a finding, in log order.
pub fn read_certificates(
    reader: &LogReader,
    trust: &Trust,
    findings: &mut Vec<Finding>,
    counts: &mut Counts,
) -> Result<Certificates, AuditError> {
    read_certificates_of(&[(reader, 0)], trust, findings, counts)
}

/// [`read_certificates`] over several logs audited together: `(reader, offset)`, where an
/// entry's index is `offset` plus its index in its log.
pub fn read_certificates_of(
    readers: &[(&LogReader, u64)],
    trust: &Trust,
    findings: &mut Vec<Finding>,
    counts: &mut Counts,
) -> Result<Certificates, AuditError> {
    // Only certificate entries (tags 0 and 1, and for GPUs 3 and 4: endorsements and chains)
    // are kept, so this holds the log's certificates, not its measurements. Measurements wait
    // for pass 2, which also reports entries that do not decode.
    let width = u64::from(TILE_WIDTH);
    let bundles: Vec<(&LogReader, u64, u64)> = readers
        .iter()
        .flat_map(|&(reader, offset)| (0..reader.bundle_count()).map(move |n| (reader, offset, n)))
        .collect();
    for (reader, _) in readers {
        counts.entries += reader.size();
    }
    let mut found = Found::default();
    // Bundles in parallel, a bounded number at a time, each entry kept only the first time its
    // SHA-256 is seen: memory grows with the log's distinct certificates, not with repeats.
    for group in bundles.chunks(PASS1_BUNDLES_AT_ONCE) {
        let per_bundle: Vec<Result<Vec<IndexedEntry>, AuditError>> = group
            .par_iter()
            .map(|&(reader, offset, n)| {
                let start = n.saturating_mul(width).saturating_add(offset);
                Ok((start..)
                    .zip(reader.read_bundle(n)?)
                    .filter(|(_, bytes)| matches!(bytes.first(), Some(0 | 1 | 3 | 4)))
                    .collect())
            })
            .collect();
        for bundle in per_bundle {
            for (index, bytes) in bundle? {
                found.add(index, &bytes, counts);
            }
        }
    }
    let Found {
        distinct,
        chains,
        endorsements,
        ..
    } = found;

    let roots = Roots::prepare(trust);
    let claimed: Vec<Claimed<'_>> = distinct
        .into_par_iter()
        .map(|(index, cert)| Claimed::check(index, cert, &roots))
        .collect();
    // Logs hold far fewer certificates than measurements: split them evenly over the cores
    // rather than into full batches, or one core would check them all.
    let per_batch = claimed
        .len()
        .div_ceil(rayon::current_num_threads().max(1))
        .clamp(MIN_BATCH_CERTIFICATES, BATCH_CERTIFICATES);
    let signatures: Vec<bool> = claimed
        .par_chunks(per_batch)
        .flat_map_iter(signatures_valid)
        .collect();

    let mut certs = Certificates::default();
    for gpu in super::gpus::check_chains(chains, trust, findings, &mut counts.rejected) {
        certs
            .gpus
            .entry(gpu.identity.chip_id)
            .or_default()
            .push(gpu);
    }
    certs.endorsements =
        super::gpus::check_endorsements(endorsements, trust, findings, &mut counts.rejected);
    for (c, signature_ok) in claimed.into_iter().zip(signatures) {
        match c.verdict(signature_ok) {
            Ok(Checked::Chip(chip)) => certs
                .chips
                .entry(chip.cert.body.chip_id)
                .or_default()
                .push(chip),
            Ok(Checked::Landmark(l)) => certs
                .landmarks
                .entry(l.cert.body.landmark_id)
                .or_default()
                .push(l),
            Err(finding) => {
                counts.rejected += 1;
                findings.push(finding);
            }
        }
    }
    // Canonical order: which certificate came first in the log must not change a verdict.
    for list in certs.chips.values_mut() {
        list.sort_by_cached_key(|c| Wire::to_vec(&c.cert));
    }
    for list in certs.landmarks.values_mut() {
        list.sort_by_cached_key(|c| Wire::to_vec(&c.cert));
    }
    certs.group_operators();
    Ok(certs)
}

/// A log entry's index and bytes.
type IndexedEntry = (u64, Vec<u8>);

/// Bundles read at once in the certificate pass (each at most 256 entries).
const PASS1_BUNDLES_AT_ONCE: usize = 64;

/// The distinct certificate-like entries of pass 1, in log order of first appearance.
#[derive(Default)]
struct Found {
    seen: HashSet<[u8; 32]>,
    distinct: Vec<(u64, CertRecord)>,
    chains: Vec<(u64, Vec<u8>)>,
    endorsements: Vec<(u64, lightcone::evidence::ModelEndorsement)>,
}

impl Found {
    /// Counts one entry (repeats included) and keeps it if its bytes are new.
    fn add(&mut self, index: u64, bytes: &[u8], counts: &mut Counts) {
        let Ok(entry) = LogEntry::decode(bytes) else {
            return; // pass 2 reports entries that do not decode
        };
        match entry {
            LogEntry::Record(LogRecord::DeviceCertificate(_)) => counts.device_certificates += 1,
            LogEntry::Record(LogRecord::LandmarkCertificate(_)) => {
                counts.landmark_certificates += 1
            }
            LogEntry::Record(LogRecord::ModelEndorsement(_)) => counts.model_endorsements += 1,
            LogEntry::GpuChain(_) => counts.gpu_chains += 1,
            LogEntry::Record(LogRecord::Measurement(_)) | LogEntry::Spdm(_) => return,
        }
        if !self.seen.insert(sha2::Sha256::digest(bytes).into()) {
            return;
        }
        match entry {
            LogEntry::Record(LogRecord::DeviceCertificate(c)) => {
                self.distinct.push((index, CertRecord::Device(c)))
            }
            LogEntry::Record(LogRecord::LandmarkCertificate(c)) => {
                self.distinct.push((index, CertRecord::Landmark(c)))
            }
            LogEntry::Record(LogRecord::ModelEndorsement(e)) => self.endorsements.push((index, e)),
            LogEntry::GpuChain(c) => self.chains.push((index, c.chain_der.to_vec())),
            LogEntry::Record(LogRecord::Measurement(_)) | LogEntry::Spdm(_) => {}
        }
    }
}

/// A certificate entry, before its checks.
enum CertRecord {
    Device(DeviceCertificate),
    Landmark(LandmarkCertificate),
}

/// A certificate that passed every check.
enum Checked {
    Chip(ChipCert),
    Landmark(LandmarkCert),
}

/// The trust roots, each key checked and prepared once.
struct Roots {
    /// Vendor roots: issuer id, name, key, prepared key (or why it is unusable).
    vendors: Vec<(
        IssuerId,
        String,
        lightcone::PublicKey,
        Result<PreparedKey, lightcone::Error>,
    )>,
    registry: (
        IssuerId,
        lightcone::PublicKey,
        Result<PreparedKey, lightcone::Error>,
    ),
}

impl Roots {
    fn prepare(trust: &Trust) -> Self {
        Roots {
            vendors: trust
                .vendors
                .iter()
                .map(|(name, key)| (IssuerId::of(key), name.clone(), *key, PreparedKey::new(key)))
                .collect(),
            registry: (
                IssuerId::of(&trust.registry),
                trust.registry,
                PreparedKey::new(&trust.registry),
            ),
        }
    }
}

/// One certificate with everything but its signature checked, and what the signature check
/// needs.
struct Claimed<'r> {
    index: u64,
    cert: CertRecord,
    /// The issuing root's prepared key, or why the certificate has none.
    issuer: Result<&'r PreparedKey, RegistryError>,
    /// The issuing vendor's name (chips only).
    vendor: String,
    /// The certified key, prepared, if every claim holds.
    claims: Result<PreparedAnyKey, lightcone::Error>,
    /// The signed message (`domain ‖ body`).
    message: Vec<u8>,
}

impl<'r> Claimed<'r> {
    fn check(index: u64, cert: CertRecord, roots: &'r Roots) -> Self {
        let (issuer, vendor, claims, message) = match &cert {
            CertRecord::Device(c) => match roots.vendors.iter().find(|v| v.0 == c.body.issuer) {
                None => (
                    Err(RegistryError::UnknownIssuer {
                        issuer: c.body.issuer.to_string(),
                        role: "vendor root",
                    }),
                    String::new(),
                    Err(lightcone::Error::BadSignature),
                    Vec::new(),
                ),
                Some((_, name, key, prepared)) => (
                    prepared
                        .as_ref()
                        .map_err(|e| RegistryError::core(format!("vendor root {name}"), *e)),
                    name.clone(),
                    c.check_claims(key, c.body.validity.not_before),
                    signed_message(c),
                ),
            },
            CertRecord::Landmark(c) => {
                let (id, key, prepared) = &roots.registry;
                if c.body.issuer == *id {
                    (
                        prepared
                            .as_ref()
                            .map_err(|e| RegistryError::core("registry key", *e)),
                        String::new(),
                        c.check_claims(key, c.body.validity.not_before)
                            .map(PreparedAnyKey::Ed25519),
                        signed_message(c),
                    )
                } else {
                    (
                        Err(RegistryError::UnknownIssuer {
                            issuer: c.body.issuer.to_string(),
                            role: "registry",
                        }),
                        String::new(),
                        Err(lightcone::Error::BadSignature),
                        Vec::new(),
                    )
                }
            }
        };
        Claimed {
            index,
            cert,
            issuer,
            vendor,
            claims,
            message,
        }
    }

    fn signature(&self) -> Signature {
        match &self.cert {
            CertRecord::Device(c) => c.signature,
            CertRecord::Landmark(c) => c.signature,
        }
    }

    /// The outcome, given whether the signature verified. Errors are reported in the order the
    /// core's `verify` checks: issuer, signature, then the claims.
    fn verdict(self, signature_ok: bool) -> Result<Checked, Finding> {
        let (what, chip_id, landmark_id) = match &self.cert {
            CertRecord::Device(c) => (
                format!("device certificate of chip {}", c.body.chip_id),
                Some(c.body.chip_id.to_string()),
                None,
            ),
            CertRecord::Landmark(c) => (
                format!("landmark certificate of {}", c.body.landmark_id),
                None,
                Some(c.body.landmark_id.to_string()),
            ),
        };
        let checked = match (self.issuer, signature_ok, self.claims) {
            (Err(why), _, _) => Err(why),
            (Ok(_), false, _) => Err(RegistryError::core(what, lightcone::Error::BadSignature)),
            (Ok(_), true, Err(e)) => Err(RegistryError::core(what, e)),
            (Ok(_), true, Ok(key)) => Ok(key),
        };
        let kind = match self.cert {
            CertRecord::Device(_) => "device",
            CertRecord::Landmark(_) => "landmark",
        };
        match (checked, self.cert) {
            (Ok(key), CertRecord::Device(cert)) => Ok(Checked::Chip(ChipCert {
                cert,
                vendor: self.vendor,
                key,
            })),
            (Ok(PreparedAnyKey::Ed25519(key)), CertRecord::Landmark(cert)) => {
                Ok(Checked::Landmark(LandmarkCert { cert, key }))
            }
            // A landmark certificate's key is Ed25519 by its type; this arm only keeps the
            // match total.
            (Ok(_), CertRecord::Landmark(_)) => Err(Finding {
                kind: FindingKind::InvalidCertificate,
                chip_id,
                landmark_id,
                log_index: Some(self.index),
                log_origin: None,
                detail: format!("{kind} certificate rejected: its key is not Ed25519"),
            }),
            (Err(why), _) => Err(Finding {
                kind: FindingKind::InvalidCertificate,
                chip_id,
                landmark_id,
                log_index: Some(self.index),
                log_origin: None,
                detail: format!("{kind} certificate rejected: {why}"),
            }),
        }
    }
}

/// `domain ‖ body` of a certificate; empty if it cannot be re-encoded (its signature then fails).
fn signed_message<B: lightcone::signed::SignedBody>(cert: &lightcone::Signed<B>) -> Vec<u8> {
    cert.with_signed_message(|m| Ok(m.to_vec()))
        .unwrap_or_default()
}

/// Batch-verifies the signatures of the certificates in `chunk` whose issuer is trusted; the
/// others are reported invalid (and are rejected for their issuer anyway).
fn signatures_valid(chunk: &[Claimed<'_>]) -> Vec<bool> {
    let mut items = Vec::with_capacity(chunk.len());
    let mut slots = Vec::with_capacity(chunk.len());
    for (slot, c) in chunk.iter().enumerate() {
        if let Ok(key) = c.issuer {
            items.push(Item {
                key,
                message: &c.message,
                signature: c.signature(),
            });
            slots.push(slot);
        }
    }
    let mut valid = vec![false; chunk.len()];
    for (slot, ok) in slots.into_iter().zip(batch::verify_all(&items)) {
        if let Some(v) = valid.get_mut(slot) {
            *v = ok;
        }
    }
    valid
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::SynthFleet;
    use rand_core::SeedableRng;

    /// Runs the audit's certificate checks (claims, batched signatures, verdict) on `certs`.
    fn audit_accepts(certs: Vec<CertRecord>, trust: &Trust) -> Vec<bool> {
        let roots = Roots::prepare(trust);
        let claimed: Vec<Claimed<'_>> = certs
            .into_iter()
            .enumerate()
            .map(|(i, c)| Claimed::check(i as u64, c, &roots))
            .collect();
        let signatures: Vec<bool> = claimed
            .chunks(BATCH_CERTIFICATES)
            .flat_map(signatures_valid)
            .collect();
        claimed
            .into_iter()
            .zip(signatures)
            .map(|(c, ok)| c.verdict(ok).is_ok())
            .collect()
    }

    /// Every single-bit flip of a device and a landmark certificate that still decodes: the
    /// audit's batched checks accept exactly what the core's `verify` (through the trust file)
    /// accepts, so batching changes speed, never verdicts.
    #[test]
    fn batched_checks_accept_exactly_what_single_verification_accepts() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        let fleet = SynthFleet::new(&mut rng, &[(50.0, 8.0), (48.0, 2.0)], 2).unwrap();
        let trust = fleet.trust();
        let mut certs = Vec::new();
        let mut expected = Vec::new();
        for record in fleet.certificate_records() {
            let bytes = record.to_vec();
            for bit in 0..=bytes.len() * 8 {
                let mut b = bytes.clone();
                if let Some(byte) = b.get_mut(bit / 8) {
                    *byte ^= 1 << (bit % 8);
                }
                match LogRecord::decode(&b) {
                    Ok(LogRecord::DeviceCertificate(c)) => {
                        let at = c.body.validity.not_before;
                        expected.push(trust.verify_device(&c, at).is_ok());
                        certs.push(CertRecord::Device(c));
                    }
                    Ok(LogRecord::LandmarkCertificate(c)) => {
                        let at = c.body.validity.not_before;
                        expected.push(trust.verify_landmark(&c, at).is_ok());
                        certs.push(CertRecord::Landmark(c));
                    }
                    _ => {}
                }
            }
        }
        // Unflipped copies are valid; a good share of flips still decode and must be refused.
        assert!(expected.iter().filter(|ok| **ok).count() >= 4);
        assert!(expected.iter().filter(|ok| !**ok).count() > 500);
        assert_eq!(audit_accepts(certs, &trust), expected);
    }
}
