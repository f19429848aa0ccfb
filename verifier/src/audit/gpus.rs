//! The audit's first pass for GPUs that answer with SPDM evidence: every `GpuChain` record
//! verified up to a trusted `[[x509_root]]`, and every registry `ModelEndorsement` checked, so
//! that measurements can find a GPU's key and the timing the registry endorsed for its model.
//!
//! Timing is conservative in the same way as for lightcone chips: a GPU is credited the
//! *smallest* endorsed minimum response time of every endorsement valid at the measurement's
//! time that matches it, and nothing at all when none does. A second, more favourable
//! endorsement therefore never shrinks a bound, whatever order the log shows them in.

use lightcone::evidence::ModelEndorsement;
use lightcone::{AnyPublicKey, ChipId, PreparedAnyKey, Verified, Wire};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::model::{Finding, FindingKind};
use crate::evidence::gpu::{chip_id_of_chain, identify_gpu, GpuIdentity};
use crate::registry::Trust;

/// One GPU chain that verified, with the leaf key prepared for its SPDM signatures.
#[derive(Clone, Debug)]
pub struct GpuCert {
    /// Who the chain says the GPU is.
    pub identity: GpuIdentity,
    /// The leaf key, prepared once.
    pub key: PreparedAnyKey,
    /// SHA-256 of the chain record: the canonical order of a GPU's chains.
    pub order: [u8; 32],
}

/// Checks every distinct chain record (`(log index, chain DER)`) in parallel; each bad one
/// becomes a finding, in log order.
pub fn check_chains(
    chains: Vec<(u64, Vec<u8>)>,
    trust: &Trust,
    findings: &mut Vec<Finding>,
    rejected: &mut u64,
) -> Vec<GpuCert> {
    let checked: Vec<Result<GpuCert, Finding>> = chains
        .into_par_iter()
        .map(|(index, der)| check_chain(index, &der, trust))
        .collect();
    let mut good = Vec::with_capacity(checked.len());
    for c in checked {
        match c {
            Ok(gpu) => good.push(gpu),
            Err(f) => {
                *rejected += 1;
                findings.push(f);
            }
        }
    }
    good.sort_by_key(|g| g.order);
    good
}

fn check_chain(index: u64, der: &[u8], trust: &Trust) -> Result<GpuCert, Finding> {
    let refuse = |why: String| Finding {
        kind: FindingKind::InvalidCertificate,
        chip_id: chip_id_of_chain(der).ok().map(|c| c.to_string()),
        landmark_id: None,
        log_index: Some(index),
        log_origin: None,
        detail: format!("GPU certificate chain rejected: {why}"),
    };
    let identity = identify_gpu(der, &trust.x509_roots).map_err(|e| refuse(e.to_string()))?;
    let key = PreparedAnyKey::new(&AnyPublicKey::P384(lightcone::wire::Bytes(
        *identity.leaf_key.to_sec1(),
    )))
    .map_err(|e| refuse(format!("leaf key: {e}")))?;
    Ok(GpuCert {
        identity,
        key,
        order: Sha256::digest(der).into(),
    })
}

/// Checks every distinct endorsement (`(log index, endorsement)`) against the registry key;
/// the good ones in canonical order, each bad one a finding.
pub fn check_endorsements(
    endorsements: Vec<(u64, ModelEndorsement)>,
    trust: &Trust,
    findings: &mut Vec<Finding>,
    rejected: &mut u64,
) -> Vec<Verified<ModelEndorsement>> {
    let mut good = Vec::with_capacity(endorsements.len());
    for (index, e) in endorsements {
        match e.verify(&trust.registry, e.body.validity.not_before) {
            Ok(v) => good.push(v),
            Err(why) => {
                *rejected += 1;
                findings.push(Finding {
                    kind: FindingKind::InvalidCertificate,
                    chip_id: None,
                    landmark_id: None,
                    log_index: Some(index),
                    log_origin: None,
                    detail: format!(
                        "model endorsement of {:?} rejected: {why}",
                        e.body.model.as_str()
                    ),
                });
            }
        }
    }
    good.sort_by_cached_key(|e| Wire::to_vec(&**e));
    good
}

/// The smallest minimum response time that the endorsements valid at `unix_s` give `gpu`, in
/// ns; 0 (nothing subtracted) when none matches.
pub fn min_response_ns(
    endorsements: &[Verified<ModelEndorsement>],
    gpu: &GpuIdentity,
    unix_s: u64,
) -> u64 {
    endorsements
        .iter()
        .filter(|e| e.body.validity.contains(unix_s) && e.matches(&gpu.root_sha256, &gpu.leaf_cn))
        .map(|e| e.body.timing.min_response_ns)
        .min()
        .unwrap_or(0)
}

/// The model a report shows for `gpu`: that of the matching endorsement with the smallest
/// minimum (at any time), else the leaf's common name.
pub fn model_of(endorsements: &[Verified<ModelEndorsement>], gpu: &GpuIdentity) -> String {
    endorsements
        .iter()
        .filter(|e| e.matches(&gpu.root_sha256, &gpu.leaf_cn))
        .min_by_key(|e| e.body.timing.min_response_ns)
        .map(|e| e.body.model.as_str().to_owned())
        .unwrap_or_else(|| gpu.leaf_cn.clone())
}

/// The GPU chains of one chip id that are valid at `unix_s`.
pub fn valid_at(list: &[GpuCert], unix_s: u64) -> impl Iterator<Item = &GpuCert> {
    list.iter()
        .filter(move |g| g.identity.validity.contains(unix_s))
}

/// A chip id's GPU chains, for lookups by id.
pub type GpuMap = std::collections::HashMap<ChipId, Vec<GpuCert>>;
