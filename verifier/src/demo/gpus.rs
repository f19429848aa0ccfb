//! The demo's simulated NVIDIA-style GPUs, wired like its chips through the real parts: the
//! registry endorses their model's minimum answer time, the trust file names their X.509 root,
//! each runs an [`SpdmAgent`] on loopback, every landmark reaches each through its own relay
//! route, fetches and verifies its chain once, probes it every cycle with SPDM challenges, and
//! submits the rounds to the log server (with the endorsement and the chain, which the server
//! appends once, before the first round).

use std::net::SocketAddr;
use std::time::Duration;

use lightcone::evidence::{LeafCnPrefix, ModelEndorsement};
use lightcone::{ModelName, ResponseTiming, Signer as _, Validity};
use sha2::{Digest as _, Sha256};

use super::scenario::{Fleet, GPU_FLOOR_NS, GPU_LEAF_CN_PREFIX, GPU_MODEL, GPU_ROOT};
use super::service::LogService;
use super::DemoError;
use crate::evidence::synthetic::to_pem;
use crate::evidence::x509::Cert;
use crate::net::probe::{SpdmRound, VerifiedGpu};
use crate::net::{AgentHandle, DiscardCounts, GpuRecords, Prober, RouteSpec, SpdmAgent};
use crate::registry::trust::X509RootEntry;

/// Attempts at fetching a GPU's chain through the relay.
const CHAIN_ATTEMPTS: u32 = 3;

/// The `[[x509_root]]` entry of the GPUs' root, named [`GPU_ROOT`].
pub fn trust_entry(fleet: &Fleet) -> Result<X509RootEntry, DemoError> {
    let pem = to_pem(std::slice::from_ref(&fleet.gpu_root))
        .map_err(|e| DemoError::Options(e.to_string()))?;
    Ok(X509RootEntry {
        name: GPU_ROOT.to_owned(),
        sha256: fleet.gpu_root.fingerprint(),
        certificate: pem,
    })
}

/// The registry's endorsement of [`GPU_MODEL`]: GPUs under the fleet's root whose leaf CN starts
/// with [`GPU_LEAF_CN_PREFIX`] need at least [`GPU_FLOOR_NS`] to answer (exactly the simulated
/// floor, so the audit subtracts what they truly need, never more).
pub fn endorsement(fleet: &Fleet, validity: Validity) -> Result<ModelEndorsement, DemoError> {
    let root_sha256: [u8; 32] = Sha256::digest(fleet.gpu_root.der()).into();
    let mut registry = fleet.registry.clone();
    Ok(ModelEndorsement::issue(
        &mut registry,
        ModelName::new(GPU_MODEL)?,
        root_sha256,
        LeafCnPrefix::new(GPU_LEAF_CN_PREFIX)?,
        ResponseTiming::minimum_only(GPU_FLOOR_NS),
        validity,
    )?)
}

/// Starts one SPDM agent per GPU on loopback, in [`Fleet::gpus`] order.
pub fn start_agents(fleet: &Fleet, local: &str) -> Result<Vec<AgentHandle>, DemoError> {
    fleet
        .gpus
        .iter()
        .map(|g| Ok(SpdmAgent::bind(local, g.simulated(&fleet.gpu_root))?.spawn()?))
        .collect()
}

/// Adds a relay route from every landmark to every GPU agent (the path model's delay from the
/// landmark's true position); returns the route index of `[l][g]`.
pub fn add_routes(
    fleet: &Fleet,
    agents: &[AgentHandle],
    routes: &mut Vec<RouteSpec>,
    spec: &dyn Fn(SocketAddr, f64) -> RouteSpec,
) -> Vec<Vec<usize>> {
    (0..fleet.landmarks.len())
        .map(|l| {
            agents
                .iter()
                .enumerate()
                .map(|(g, agent)| {
                    routes.push(spec(agent.addr(), fleet.gpu_delay_ns(l, g)));
                    routes.len() - 1
                })
                .collect()
        })
        .collect()
}

/// Every landmark fetches every GPU's chain through its own route (concurrently, one thread per
/// landmark), verifies it against the trust file's X.509 roots and checks the endorsement
/// against it, as `lightcone landmark probe --spdm` does. Returns the verified GPUs `[l][g]`.
pub fn fetch_chains(
    fleet: &Fleet,
    (roots, registry): (&[(String, Cert)], &lightcone::PublicKey),
    endorsement: &ModelEndorsement,
    addrs: &[Vec<SocketAddr>],
    at_unix_s: u64,
) -> Result<Vec<Vec<VerifiedGpu>>, DemoError> {
    std::thread::scope(|s| {
        let handles: Vec<_> = fleet
            .landmarks
            .iter()
            .zip(addrs)
            .map(|(lm, row)| {
                s.spawn(move || -> Result<Vec<VerifiedGpu>, DemoError> {
                    let mut prober = Prober::bind("127.0.0.1:0", lm.key.clone())?;
                    let mut discards = DiscardCounts::default();
                    row.iter()
                        .map(|addr| {
                            let gpu = prober.fetch_gpu_chain(
                                *addr,
                                roots,
                                at_unix_s,
                                Duration::from_millis(800),
                                CHAIN_ATTEMPTS,
                                &mut discards,
                            )?;
                            gpu.check_endorsement(endorsement, registry, at_unix_s)
                                .map_err(DemoError::Options)?;
                            Ok(gpu)
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| DemoError::Worker("a chain-fetching thread panicked".into()))?
            })
            .collect()
    })
}

/// Landmark `landmark` submits the rounds of its probes of GPUs (`(gpu, rounds)`), each with the
/// endorsement and the GPU's chain; returns how many rounds.
pub fn submit(
    service: &LogService,
    landmark: usize,
    (gpus, endorsement): (&[VerifiedGpu], &ModelEndorsement),
    probes: &[(usize, Vec<SpdmRound>)],
) -> Result<u64, DemoError> {
    let mut n = 0u64;
    for (g, rounds) in probes {
        let Some(gpu) = gpus.get(*g) else { continue };
        let records = GpuRecords {
            chain_der: &gpu.chain_der,
            endorsement: Some(endorsement),
        };
        service.submit_spdm(landmark, records, rounds)?;
        n = n.saturating_add(rounds.len() as u64);
    }
    Ok(n)
}

/// The registry's key, for checking the endorsement.
pub fn registry_key(fleet: &Fleet) -> lightcone::PublicKey {
    fleet.registry.public_key()
}
