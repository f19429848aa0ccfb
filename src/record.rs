//! Log records: what a transparency log entry holds (DESIGN §5).
//!
//! Certificates travel in the log beside the measurements, so a log is self-contained: with the
//! trust roots alone an auditor can check everything in it.

use serde::{Deserialize, Serialize};

use crate::cert::{DeviceCertificate, LandmarkCertificate};
use crate::error::Error;
use crate::message::Measurement;
use crate::signing::PROTOCOL_VERSION;
use crate::wire::{decode_canonical, Wire};

/// One log entry: a tagged record. The tag is postcard's enum variant index, so the first byte
/// of an entry says what it is; variants are only ever appended, never reordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogRecord {
    /// A chip's device certificate, logged before its first measurement.
    DeviceCertificate(DeviceCertificate),
    /// A landmark's certificate, logged before its first measurement.
    LandmarkCertificate(LandmarkCertificate),
    /// A landmark's signed measurement of one round.
    Measurement(Measurement),
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
        1 + max
    };

    fn decode(bytes: &[u8]) -> Result<Self, Error> {
        // byte 0: variant tag (0..=2); byte 1: the record's own version byte.
        match (bytes.first(), bytes.get(1)) {
            (Some(0..=2), Some(&PROTOCOL_VERSION)) => decode_canonical(bytes),
            (Some(0..=2), Some(_)) => Err(Error::UnsupportedVersion),
            _ => Err(Error::Malformed),
        }
    }
}
