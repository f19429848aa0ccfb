//! The verifier's top-level error: one variant per area, each wrapping that area's own error.

/// Any failure of the verifier library; area errors convert into it with `?`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A core protocol check failed.
    #[error(transparent)]
    Core(#[from] lightcone::Error),
    /// Borders, policy, scenario or verdict input was unusable.
    #[error(transparent)]
    Geo(#[from] crate::geo::GeoError),
    /// The attestation log failed (storage, proofs, notes, checkpoints).
    #[error(transparent)]
    Log(#[from] crate::log::LogError),
    /// Provisioning material (key, certificate or trust file) was unusable.
    #[error(transparent)]
    Registry(#[from] crate::registry::RegistryError),
    /// A network component (chip agent, probe, relay, fleet) failed locally.
    #[error(transparent)]
    Net(#[from] crate::net::NetError),
    /// A report (summary, JSON or HTML) could not be written.
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
    /// The demo could not run.
    #[error(transparent)]
    Demo(#[from] crate::demo::DemoError),
    /// Recorded vendor evidence (SPDM report, certificates) was unusable.
    #[error(transparent)]
    Evidence(#[from] crate::evidence::EvidenceError),
    /// The audit could not be completed.
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
}
