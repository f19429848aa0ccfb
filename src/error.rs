//! The core's one error type: small, `Copy`, with stable numeric codes.

/// Everything that can go wrong in the core. Codes are stable across versions: logs and
/// firmware telemetry may store them, so a variant's code never changes and is never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not a valid encoding of the expected message.
    #[error("malformed encoding")]
    Malformed,
    /// The bytes decode, but are not the one canonical encoding of the value.
    #[error("non-canonical encoding")]
    NonCanonical,
    /// Bytes were left over after the message.
    #[error("trailing bytes after message")]
    TrailingBytes,
    /// The message carries a protocol version this build does not speak.
    #[error("unsupported protocol version")]
    UnsupportedVersion,
    /// The caller's output buffer is too small for the message.
    #[error("output buffer too small")]
    BufferTooSmall,
    /// A signature did not verify under lightcone's Ed25519 rule ([`crate::ed25519`]).
    #[error("bad signature")]
    BadSignature,
    /// A public key is not a valid (or is a weak, small-order) Ed25519 point.
    #[error("invalid public key")]
    InvalidPublicKey,
    /// The message is addressed to a different chip.
    #[error("wrong chip id")]
    WrongChip,
    /// The message names a different landmark than expected.
    #[error("wrong landmark id")]
    WrongLandmark,
    /// The response answers a different challenge than the one issued.
    #[error("response does not match challenge")]
    ChallengeMismatch,
    /// An identifier does not match the key it claims to be derived from.
    #[error("identifier does not match public key")]
    IdMismatch,
    /// A certificate is not valid at the time in question.
    #[error("certificate expired or not yet valid")]
    CertificateNotValid,
    /// A latitude or longitude is out of range.
    #[error("coordinate out of range")]
    InvalidCoordinate,
    /// A propagation speed is zero or faster than light.
    #[error("invalid propagation speed")]
    InvalidSpeed,
    /// The chip's response counter would wrap; the device must be re-provisioned.
    #[error("response counter exhausted")]
    CounterExhausted,
    /// The signer (e.g. a hardware engine) failed.
    #[error("signer failed")]
    SignerFailed,
    /// A certificate field is inconsistent (e.g. validity ends before it starts).
    #[error("invalid certificate field")]
    InvalidCertificate,
    /// The random number generator failed to produce a nonce.
    #[error("randomness source failed")]
    RandomnessFailed,
    /// A key or signature of an algorithm this role does not accept (e.g. an ECDSA key where a
    /// server's Ed25519 key must be).
    #[error("unsupported signature algorithm")]
    UnsupportedAlgorithm,
}

impl Error {
    /// The stable numeric code of this error.
    pub const fn code(self) -> u16 {
        match self {
            Error::Malformed => 1,
            Error::NonCanonical => 2,
            Error::TrailingBytes => 3,
            Error::UnsupportedVersion => 4,
            Error::BufferTooSmall => 5,
            Error::BadSignature => 6,
            Error::InvalidPublicKey => 7,
            Error::WrongChip => 8,
            Error::WrongLandmark => 9,
            Error::ChallengeMismatch => 10,
            Error::IdMismatch => 11,
            Error::CertificateNotValid => 12,
            Error::InvalidCoordinate => 13,
            Error::InvalidSpeed => 14,
            Error::CounterExhausted => 15,
            Error::SignerFailed => 16,
            Error::InvalidCertificate => 17,
            Error::RandomnessFailed => 18,
            Error::UnsupportedAlgorithm => 19,
        }
    }
}
