//! The verifier's top-level error: one variant per area, each wrapping that area's own error.

/// Any failure of the verifier library; area errors convert into it with `?`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A core protocol check failed.
    #[error(transparent)]
    Core(#[from] lightcone::Error),
}
