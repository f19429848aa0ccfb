//! Log records: what a transparency log entry holds (DESIGN §5).
//!
//! Certificates travel in the log beside the measurements, so a log is self-contained: with the
//! trust roots alone an auditor can check everything in it.
//!
//! The first byte of an entry is its kind, the second the record's version byte:
//!
//! | tag | record | size |
//! |---|---|---|
//! | 0 | [`DeviceCertificate`] | fixed |
//! | 1 | [`LandmarkCertificate`] | fixed |
//! | 2 | [`Measurement`] | fixed |
//! | 3 | [`ModelEndorsement`] (the registry's timing for a GPU model) | fixed |
//! | 4 | [`GpuChain`] (a GPU's X.509 chain) | variable, borrowed |
//! | 5 | [`SpdmMeasurement`] (a round answered with SPDM evidence) | variable, borrowed |
//!
//! [`LogRecord`] is the fixed-size kinds (0–3), a `Copy` value that firmware and hosts share;
//! [`LogEntry`] is every kind, borrowing the variable-sized ones from the entry's bytes.

use serde::{Deserialize, Serialize};

use crate::cert::{DeviceCertificate, LandmarkCertificate};
use crate::error::Error;
use crate::evidence::endorsement::ModelEndorsement;
use crate::evidence::record::{
    decode_gpu_chain, decode_spdm_measurement, GpuChain, SpdmMeasurement,
};
use crate::message::Measurement;
use crate::signing::PROTOCOL_VERSION;
use crate::wire::{decode_canonical, encode_to_slice, Wire};

/// Tag of a [`GpuChain`] entry.
pub const TAG_GPU_CHAIN: u8 = 4;
/// Tag of an [`SpdmMeasurement`] entry.
pub const TAG_SPDM_MEASUREMENT: u8 = 5;

/// One fixed-size log entry: a tagged record. The tag is postcard's enum variant index, so the
/// first byte of an entry says what it is; variants are only ever appended, never reordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogRecord {
    /// A chip's device certificate, logged before its first measurement.
    DeviceCertificate(DeviceCertificate),
    /// A landmark's certificate, logged before its first measurement.
    LandmarkCertificate(LandmarkCertificate),
    /// A landmark's signed measurement of one round.
    Measurement(Measurement),
    /// The registry's timing endorsement of a GPU model, logged before the first measurement
    /// of a GPU it applies to.
    ModelEndorsement(ModelEndorsement),
}

impl Wire for LogRecord {
    const MAX_SIZE: usize = {
        let mut max = DeviceCertificate::MAX_SIZE;
        if LandmarkCertificate::MAX_SIZE > max {
            max = LandmarkCertificate::MAX_SIZE;
        }
        if Measurement::MAX_SIZE > max {
            max = Measurement::MAX_SIZE;
        }
        if ModelEndorsement::MAX_SIZE > max {
            max = ModelEndorsement::MAX_SIZE;
        }
        1 + max
    };

    fn decode(bytes: &[u8]) -> Result<Self, Error> {
        // byte 0: variant tag (0..=3); byte 1: the record's own version byte.
        match (bytes.first(), bytes.get(1)) {
            (Some(0..=3), Some(&PROTOCOL_VERSION)) => decode_canonical(bytes),
            (Some(0..=5), Some(_)) => Err(Error::UnsupportedVersion),
            _ => Err(Error::Malformed),
        }
    }
}

/// Any log entry: a fixed-size [`LogRecord`], or a record that borrows a variable-sized part
/// (a GPU's chain, an SPDM report) from the entry's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogEntry<'a> {
    /// Tags 0–3.
    Record(LogRecord),
    /// Tag 4: a GPU's X.509 chain.
    GpuChain(GpuChain<'a>),
    /// Tag 5: a round answered with SPDM evidence.
    Spdm(SpdmMeasurement<'a>),
}

impl<'a> LogEntry<'a> {
    /// Decodes one entry: its tag, its version, one canonical encoding, nothing after it.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, Error> {
        match bytes.split_first() {
            Some((&TAG_GPU_CHAIN, rest)) => decode_gpu_chain(rest).map(LogEntry::GpuChain),
            Some((&TAG_SPDM_MEASUREMENT, rest)) => {
                decode_spdm_measurement(rest).map(LogEntry::Spdm)
            }
            _ => LogRecord::decode(bytes).map(LogEntry::Record),
        }
    }

    /// Encodes the entry into `buf`, returning the used prefix; `BufferTooSmall` if it does
    /// not fit.
    pub fn encode<'b>(&self, buf: &'b mut [u8]) -> Result<&'b [u8], Error> {
        let (tag, rest) = match self {
            LogEntry::Record(record) => return record.encode(buf).map(|b| &*b),
            LogEntry::GpuChain(_) => (TAG_GPU_CHAIN, 1),
            LogEntry::Spdm(_) => (TAG_SPDM_MEASUREMENT, 1),
        };
        let (head, tail) = buf.split_first_mut().ok_or(Error::BufferTooSmall)?;
        *head = tag;
        let written = match self {
            LogEntry::GpuChain(chain) => encode_to_slice(chain, tail)?.len(),
            LogEntry::Spdm(spdm) => encode_to_slice(spdm, tail)?.len(),
            LogEntry::Record(_) => 0,
        };
        buf.get(..rest + written).ok_or(Error::BufferTooSmall)
    }

    /// Encodes the entry into a new vector (hosts only).
    #[cfg(feature = "std")]
    pub fn to_vec(&self) -> std::vec::Vec<u8> {
        let mut buf = std::vec![0u8; 1 + LogRecord::MAX_SIZE + crate::evidence::record::SPDM_REPORT_MAX + 256];
        match self.encode(&mut buf) {
            Ok(bytes) => bytes.to_vec(),
            Err(_) => std::vec::Vec::new(),
        }
    }
}

impl From<LogRecord> for LogEntry<'_> {
    fn from(record: LogRecord) -> Self {
        LogEntry::Record(record)
    }
}
