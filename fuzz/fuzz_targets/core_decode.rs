//! Every core decoder on arbitrary bytes: no panic, and whatever decodes re-encodes to the
//! same bytes (one record, one encoding).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lightcone::evidence::ModelEndorsement;
use lightcone::{
    Challenge, DeviceCertificate, LandmarkCertificate, LogEntry, LogRecord, Measurement, Response,
    Wire,
};

fn roundtrip<T: Wire>(data: &[u8]) {
    if let Ok(value) = T::decode(data) {
        assert_eq!(value.to_vec(), data, "decoded value re-encodes differently");
        assert!(data.len() <= T::MAX_SIZE, "encoding longer than MAX_SIZE");
    }
}

fuzz_target!(|data: &[u8]| {
    roundtrip::<Challenge>(data);
    roundtrip::<Response>(data);
    roundtrip::<Measurement>(data);
    roundtrip::<DeviceCertificate>(data);
    roundtrip::<LandmarkCertificate>(data);
    roundtrip::<LogRecord>(data);
    roundtrip::<ModelEndorsement>(data);
    if let Ok(entry) = LogEntry::decode(data) {
        assert_eq!(entry.to_vec(), data, "decoded entry re-encodes differently");
    }
});
