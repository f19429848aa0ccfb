//! SPDM 1.1 measurement evidence (DMTF DSP0274 1.1): a `GET_MEASUREMENTS` request and the
//! signed `MEASUREMENTS` response of a responder such as an NVIDIA Hopper GPU.
//!
//! # How a lightcone challenge becomes an SPDM nonce
//!
//! The landmark's challenge becomes the requester nonce of the `GET_MEASUREMENTS` request:
//! `nonce = SHA-256(encoded challenge)` ([`challenge_nonce`]), where the encoding is the
//! challenge's one canonical wire encoding (version byte first, landmark id, chip id, the
//! landmark's fresh 32-byte nonce). The GPU signs the request together with its response, so its
//! signature binds the landmark, the chip and the fresh nonce, and cannot have been made before
//! the challenge existed.
//!
//! # What the signature covers, and what the response's nonce is
//!
//! The responder signs, with ECDSA P-384 over SHA-384, the transcript `L1 = request ‖ response
//! without its signature` (DSP0274 1.1, "measurement signature"; the 1.1 transcript has no
//! VCA prefix). The request is in `L1`, so the signature covers the requester's nonce: that is
//! the freshness binding, and [`SpdmEvidence::verify`] checks both that the signature holds and
//! that the request's nonce is the one expected.
//!
//! The `Nonce` field *of the response* is **not an echo** of the requester's nonce: DSP0274 has
//! the responder choose a fresh random value of its own there (both NVIDIA samples in
//! `shared/vectors/nvidia-hopper/` carry a responder nonce different from the request's). It is
//! exposed as [`Measurements::responder_nonce`] for logging and never compared with the
//! requester's nonce.
//!
//! # Strict parsing
//!
//! Parsing is bounded by the input slice, never allocates, never panics, and refuses anything
//! this verifier would have to guess about:
//!
//! - request: exactly [`GET_MEASUREMENTS_LEN`] bytes; version `0x11`; code `0xE0`; `Param1` is
//!   exactly "signature requested" (`0x01`, the only attribute 1.1 defines); `Param2` is the
//!   measurement operation (`0x00` count, `0x01..=0xFE` one index, `0xFF` all); the slot is
//!   `0..=7`.
//! - response: the request's version; code `0x60`; `Param1` zero unless the operation was a
//!   count; `Param2` equal to the request's slot; the measurement record exactly
//!   `MeasurementRecordLength` bytes of exactly `NumberOfBlocks` blocks, each a DMTF-format
//!   measurement (`MeasurementSpecification = 0x01`, `MeasurementSize = 3 + value size`) with
//!   strictly increasing indices in `0x01..=0xFE`; the block count matches the operation (none
//!   for a count, one block with the requested index for one index, at least one for all);
//!   `OpaqueLength ≤ 1024`; then exactly a 96-byte P-384 signature and nothing after it.

use sha2::{Digest as _, Sha256, Sha384};

use crate::ecdsa::{P384PublicKey, P384Signature, P384_SIGNATURE_LEN};
use crate::error::Error;
use crate::message::Challenge;
use crate::verified::Verified;
use crate::wire::Wire;

/// SPDM version 1.1, as the version byte encodes it.
pub const SPDM_VERSION_1_1: u8 = 0x11;
/// Request code of `GET_MEASUREMENTS`.
pub const GET_MEASUREMENTS_CODE: u8 = 0xE0;
/// Response code of `MEASUREMENTS`.
pub const MEASUREMENTS_CODE: u8 = 0x60;
/// `GET_MEASUREMENTS` `Param1`: the requester asks for a signature.
pub const SIGNATURE_REQUESTED: u8 = 0x01;
/// `GET_MEASUREMENTS` `Param2`: only the number of measurement indices.
pub const OPERATION_COUNT: u8 = 0x00;
/// `GET_MEASUREMENTS` `Param2`: every measurement block.
pub const OPERATION_ALL: u8 = 0xFF;
/// Length of an SPDM nonce.
pub const NONCE_LEN: usize = 32;
/// Length of a signed 1.1 `GET_MEASUREMENTS` request: header, nonce, slot.
pub const GET_MEASUREMENTS_LEN: usize = 4 + NONCE_LEN + 1;
/// The largest opaque data DSP0274 1.1 allows in `MEASUREMENTS`.
pub const MAX_OPAQUE_LEN: usize = 1024;
/// The highest certificate slot of SPDM 1.1.
pub const MAX_SLOT: u8 = 7;
/// `MeasurementSpecification` of DMTF-format measurement blocks.
pub const DMTF_MEASUREMENT_SPEC: u8 = 0x01;

/// The SPDM requester nonce for a lightcone challenge: SHA-256 of the challenge's canonical
/// encoding (module docs).
pub fn challenge_nonce(challenge: &Challenge) -> Result<[u8; NONCE_LEN], Error> {
    let mut buf = [0u8; Challenge::MAX_SIZE];
    let encoded = challenge.encode(&mut buf)?;
    Ok(nonce_of_encoded_challenge(encoded))
}

/// The SPDM requester nonce for an already encoded challenge: `SHA-256(encoded)`.
pub fn nonce_of_encoded_challenge(encoded: &[u8]) -> [u8; NONCE_LEN] {
    Sha256::digest(encoded).into()
}

/// A bounded, panic-free reader over a byte slice.
#[derive(Clone, Debug)]
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    const fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let (head, tail) = self.rest.split_at_checked(n).ok_or(Error::Malformed)?;
        self.rest = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        self.take(N)?.try_into().map_err(|_| Error::Malformed)
    }

    fn u8(&mut self) -> Result<u8, Error> {
        let [b] = self.array::<1>()?;
        Ok(b)
    }

    fn u16_le(&mut self) -> Result<u16, Error> {
        Ok(u16::from_le_bytes(self.array::<2>()?))
    }

    fn u24_le(&mut self) -> Result<usize, Error> {
        let [a, b, c] = self.array::<3>()?;
        Ok(usize::from(a) | usize::from(b) << 8 | usize::from(c) << 16)
    }

    const fn remaining(&self) -> usize {
        self.rest.len()
    }
}

/// A signed SPDM 1.1 `GET_MEASUREMENTS` request, checked (module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GetMeasurements {
    bytes: [u8; GET_MEASUREMENTS_LEN],
    operation: u8,
    nonce: [u8; NONCE_LEN],
    slot: u8,
}

impl GetMeasurements {
    /// The request a landmark (or the chip agent on its behalf) sends: signature requested,
    /// `operation` (usually [`OPERATION_ALL`]), the requester `nonce`, certificate `slot`.
    /// `Malformed` for a slot above [`MAX_SLOT`].
    pub fn new(operation: u8, nonce: [u8; NONCE_LEN], slot: u8) -> Result<Self, Error> {
        if slot > MAX_SLOT {
            return Err(Error::Malformed);
        }
        let mut bytes = [0u8; GET_MEASUREMENTS_LEN];
        let (header, tail) = bytes.split_at_mut(4);
        header.copy_from_slice(&[
            SPDM_VERSION_1_1,
            GET_MEASUREMENTS_CODE,
            SIGNATURE_REQUESTED,
            operation,
        ]);
        let (nonce_part, slot_part) = tail.split_at_mut(NONCE_LEN);
        nonce_part.copy_from_slice(&nonce);
        slot_part.copy_from_slice(&[slot]);
        Ok(GetMeasurements {
            bytes,
            operation,
            nonce,
            slot,
        })
    }

    /// Parses exactly one request: `Malformed` if short or not a signed `GET_MEASUREMENTS`,
    /// `UnsupportedVersion` for any version but 1.1, `TrailingBytes` if longer.
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        let version = r.u8()?;
        if version != SPDM_VERSION_1_1 {
            return Err(Error::UnsupportedVersion);
        }
        let code = r.u8()?;
        let attributes = r.u8()?;
        let operation = r.u8()?;
        if code != GET_MEASUREMENTS_CODE || attributes != SIGNATURE_REQUESTED {
            return Err(Error::Malformed);
        }
        let nonce = r.array::<NONCE_LEN>()?;
        let slot = r.u8()?;
        if r.remaining() != 0 {
            return Err(Error::TrailingBytes);
        }
        if slot > MAX_SLOT {
            return Err(Error::Malformed);
        }
        GetMeasurements::new(operation, nonce, slot)
    }

    /// The request's bytes, as sent and as signed.
    pub const fn as_bytes(&self) -> &[u8; GET_MEASUREMENTS_LEN] {
        &self.bytes
    }

    /// The requester's nonce.
    pub const fn nonce(&self) -> &[u8; NONCE_LEN] {
        &self.nonce
    }

    /// The measurement operation (`Param2`).
    pub const fn operation(&self) -> u8 {
        self.operation
    }

    /// The certificate slot whose key is to sign.
    pub const fn slot(&self) -> u8 {
        self.slot
    }
}

/// One DMTF-format measurement block of a `MEASUREMENTS` record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MeasurementBlock<'a> {
    /// The measurement index, `0x01..=0xFE`.
    pub index: u8,
    /// `DMTFSpecMeasurementValueType`: bit 7 set for a raw bit stream, clear for a digest;
    /// bits 6..0 say what was measured (ROM, firmware, configuration, …).
    pub value_type: u8,
    /// The measurement value (a digest, or the raw bit stream).
    pub value: &'a [u8],
}

impl<'a> MeasurementBlock<'a> {
    /// Reads one block from the front of `r`.
    fn read(r: &mut Reader<'a>) -> Result<Self, Error> {
        let index = r.u8()?;
        let spec = r.u8()?;
        let size = usize::from(r.u16_le()?);
        let mut m = Reader::new(r.take(size)?);
        let value_type = m.u8()?;
        let value_size = usize::from(m.u16_le()?);
        let value = m.take(value_size)?;
        if index == 0x00 || index == 0xFF || spec != DMTF_MEASUREMENT_SPEC || m.remaining() != 0 {
            return Err(Error::Malformed);
        }
        Ok(MeasurementBlock {
            index,
            value_type,
            value,
        })
    }
}

/// The blocks of a checked measurement record, in order.
#[derive(Clone, Debug)]
pub struct Blocks<'a> {
    reader: Reader<'a>,
}

impl<'a> Iterator for Blocks<'a> {
    type Item = MeasurementBlock<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        // The record was checked whole at parse time, so this cannot fail; stop if it did.
        if self.reader.remaining() == 0 {
            return None;
        }
        MeasurementBlock::read(&mut self.reader).ok()
    }
}

/// A checked SPDM 1.1 `MEASUREMENTS` response, borrowed from its bytes (module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Measurements<'a> {
    param1: u8,
    number_of_blocks: u8,
    record: &'a [u8],
    responder_nonce: [u8; NONCE_LEN],
    opaque: &'a [u8],
    signed: &'a [u8],
    signature: [u8; P384_SIGNATURE_LEN],
}

impl<'a> Measurements<'a> {
    /// Parses the response to `request` (its version, operation and slot constrain the
    /// response): `Malformed` for any deviation from the module's rules, `UnsupportedVersion`
    /// for a version other than the request's, `TrailingBytes` for bytes after the signature.
    pub fn parse(bytes: &'a [u8], request: &GetMeasurements) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        if r.u8()? != SPDM_VERSION_1_1 {
            return Err(Error::UnsupportedVersion);
        }
        let code = r.u8()?;
        let param1 = r.u8()?;
        let param2 = r.u8()?;
        let number_of_blocks = r.u8()?;
        let record_len = r.u24_le()?;
        if code != MEASUREMENTS_CODE || param2 != request.slot() {
            return Err(Error::Malformed);
        }
        if request.operation() != OPERATION_COUNT && param1 != 0 {
            return Err(Error::Malformed);
        }
        let record = r.take(record_len)?;
        check_record(record, number_of_blocks, request.operation())?;
        let responder_nonce = r.array::<NONCE_LEN>()?;
        let opaque_len = usize::from(r.u16_le()?);
        if opaque_len > MAX_OPAQUE_LEN {
            return Err(Error::Malformed);
        }
        let opaque = r.take(opaque_len)?;
        let signed_len = bytes
            .len()
            .checked_sub(r.remaining())
            .ok_or(Error::Malformed)?;
        let signature = r.array::<P384_SIGNATURE_LEN>()?;
        if r.remaining() != 0 {
            return Err(Error::TrailingBytes);
        }
        let signed = bytes.get(..signed_len).ok_or(Error::Malformed)?;
        Ok(Measurements {
            param1,
            number_of_blocks,
            record,
            responder_nonce,
            opaque,
            signed,
            signature,
        })
    }

    /// `Param1`: the total number of measurement indices when the operation was a count, else 0.
    pub const fn param1(&self) -> u8 {
        self.param1
    }

    /// The number of measurement blocks.
    pub const fn number_of_blocks(&self) -> u8 {
        self.number_of_blocks
    }

    /// The measurement blocks, in order.
    pub fn blocks(&self) -> Blocks<'a> {
        Blocks {
            reader: Reader::new(self.record),
        }
    }

    /// The measurement record's bytes.
    pub const fn record(&self) -> &'a [u8] {
        self.record
    }

    /// The responder's own fresh nonce (not an echo of the request's; module docs).
    pub const fn responder_nonce(&self) -> &[u8; NONCE_LEN] {
        &self.responder_nonce
    }

    /// The opaque data (vendor-defined; NVIDIA puts driver and firmware facts here).
    pub const fn opaque_data(&self) -> &'a [u8] {
        self.opaque
    }

    /// The response without its signature: the part the signature covers after the request.
    pub const fn signed_part(&self) -> &'a [u8] {
        self.signed
    }

    /// The signature's bytes, `r ‖ s`, as received (not yet range-checked).
    pub const fn signature_bytes(&self) -> &[u8; P384_SIGNATURE_LEN] {
        &self.signature
    }
}

/// Checks that `record` is exactly `count` well-formed blocks with strictly increasing indices,
/// as many as `operation` calls for.
fn check_record(record: &[u8], count: u8, operation: u8) -> Result<(), Error> {
    let mut r = Reader::new(record);
    let mut last: Option<u8> = None;
    let mut seen: u8 = 0;
    while r.remaining() != 0 {
        let block = MeasurementBlock::read(&mut r)?;
        if last.is_some_and(|l| block.index <= l) {
            return Err(Error::Malformed);
        }
        last = Some(block.index);
        seen = seen.checked_add(1).ok_or(Error::Malformed)?;
    }
    let count_fits = match operation {
        OPERATION_COUNT => count == 0,
        OPERATION_ALL => count >= 1,
        index => count == 1 && last == Some(index),
    };
    if seen != count || !count_fits {
        return Err(Error::Malformed);
    }
    Ok(())
}

/// A bounded, panic-free writer into a caller's buffer.
struct Writer<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> Writer<'b> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let end = self
            .len
            .checked_add(bytes.len())
            .ok_or(Error::BufferTooSmall)?;
        let dst = self
            .buf
            .get_mut(self.len..end)
            .ok_or(Error::BufferTooSmall)?;
        dst.copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }
}

/// Encodes the `MEASUREMENTS` response to `request` *without its signature* into `out`, for a
/// responder (a simulated GPU, a test, a fuzz seed): `Param1` 0, `Param2` the request's slot,
/// the `blocks` as DMTF measurements, `responder_nonce`, `opaque`. The responder then signs
/// SHA-384 of `request ‖ the returned bytes` with its P-384 key and appends the 96-byte `r ‖ s`.
/// `BufferTooSmall` if `out` is too short; `Malformed` if the result would not parse (a block
/// or the record too long, indices not increasing or not what the operation asks for, opaque
/// data over [`MAX_OPAQUE_LEN`]).
pub fn encode_unsigned_measurements<'b>(
    request: &GetMeasurements,
    blocks: &[MeasurementBlock<'_>],
    responder_nonce: &[u8; NONCE_LEN],
    opaque: &[u8],
    out: &'b mut [u8],
) -> Result<&'b [u8], Error> {
    let count = u8::try_from(blocks.len()).map_err(|_| Error::Malformed)?;
    let mut record_len: usize = 0;
    for b in blocks {
        record_len = record_len
            .checked_add(7)
            .and_then(|n| n.checked_add(b.value.len()))
            .ok_or(Error::Malformed)?;
    }
    if record_len >= 1 << 24 || opaque.len() > MAX_OPAQUE_LEN {
        return Err(Error::Malformed);
    }
    let mut w = Writer { buf: out, len: 0 };
    let [l0, l1, l2, _] = u32::try_from(record_len)
        .map_err(|_| Error::Malformed)?
        .to_le_bytes();
    w.put(&[
        SPDM_VERSION_1_1,
        MEASUREMENTS_CODE,
        0,
        request.slot(),
        count,
        l0,
        l1,
        l2,
    ])?;
    for b in blocks {
        let value_size = u16::try_from(b.value.len()).map_err(|_| Error::Malformed)?;
        let size = value_size.checked_add(3).ok_or(Error::Malformed)?;
        w.put(&[b.index, DMTF_MEASUREMENT_SPEC])?;
        w.put(&size.to_le_bytes())?;
        w.put(&[b.value_type])?;
        w.put(&value_size.to_le_bytes())?;
        w.put(b.value)?;
    }
    w.put(responder_nonce)?;
    let opaque_len = u16::try_from(opaque.len()).map_err(|_| Error::Malformed)?;
    w.put(&opaque_len.to_le_bytes())?;
    w.put(opaque)?;
    let Writer { buf, len } = w;
    let written: &'b [u8] = buf.get(..len).ok_or(Error::BufferTooSmall)?;
    // What we write, we must be able to read: check it as a response would be checked.
    let mut r = Reader::new(written);
    let _header = r.take(8)?;
    check_record(r.take(record_len)?, count, request.operation())?;
    Ok(written)
}

/// Answers `request` as an SPDM responder holding a P-384 attestation key in `signer` (a
/// simulated GPU, a test, a Caliptra-style engine): writes the whole report, `request ‖
/// MEASUREMENTS response` with its signature, into `out` and returns it. The signature is ECDSA
/// P-384 with SHA-384 over `request ‖ unsigned response`, the transcript of
/// [`SpdmEvidence::transcript_digest`]. `UnsupportedAlgorithm` if `signer` is not P-384;
/// otherwise as [`encode_unsigned_measurements`].
pub fn answer_measurements<'b, S: crate::signing::Signer + ?Sized>(
    signer: &mut S,
    request: &GetMeasurements,
    blocks: &[MeasurementBlock<'_>],
    responder_nonce: &[u8; NONCE_LEN],
    opaque: &[u8],
    out: &'b mut [u8],
) -> Result<&'b [u8], Error> {
    let (head, tail) = out
        .split_at_mut_checked(GET_MEASUREMENTS_LEN)
        .ok_or(Error::BufferTooSmall)?;
    head.copy_from_slice(request.as_bytes());
    let unsigned_len =
        encode_unsigned_measurements(request, blocks, responder_nonce, opaque, tail)?.len();
    let signed_len = GET_MEASUREMENTS_LEN + unsigned_len;
    let transcript = out.get(..signed_len).ok_or(Error::BufferTooSmall)?;
    let signature = match signer.try_sign(transcript)?.into() {
        crate::algorithm::AnySignature::P384(bytes) => bytes.0,
        _ => return Err(Error::UnsupportedAlgorithm),
    };
    let end = signed_len + P384_SIGNATURE_LEN;
    out.get_mut(signed_len..end)
        .ok_or(Error::BufferTooSmall)?
        .copy_from_slice(&signature);
    out.get(..end).ok_or(Error::BufferTooSmall)
}

/// A request and its response: one SPDM measurement report, parsed, not yet verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpdmEvidence<'a> {
    request: GetMeasurements,
    response: Measurements<'a>,
}

impl<'a> SpdmEvidence<'a> {
    /// Parses a request and its response, given apart.
    pub fn parse(request: &[u8], response: &'a [u8]) -> Result<Self, Error> {
        let request = GetMeasurements::parse(request)?;
        let response = Measurements::parse(response, &request)?;
        Ok(SpdmEvidence { request, response })
    }

    /// Parses a report given as the request followed by the response, as NVIDIA's tools record
    /// it (the request's length is fixed, so the split is unambiguous).
    pub fn parse_concatenated(report: &'a [u8]) -> Result<Self, Error> {
        let (request, response) = report
            .split_at_checked(GET_MEASUREMENTS_LEN)
            .ok_or(Error::Malformed)?;
        SpdmEvidence::parse(request, response)
    }

    /// The request.
    pub const fn request(&self) -> &GetMeasurements {
        &self.request
    }

    /// The response.
    pub const fn response(&self) -> &Measurements<'a> {
        &self.response
    }

    /// SHA-384 of the transcript the responder signs: request ‖ response without signature.
    pub fn transcript_digest(&self) -> [u8; 48] {
        let mut h = Sha384::new();
        h.update(self.request.as_bytes());
        h.update(self.response.signed_part());
        h.finalize().into()
    }

    /// Checks the responder's P-384 signature over the transcript under `key` (the leaf
    /// certificate's key); `BadSignature` if it does not hold or is not in `1..n`.
    pub fn verify_signature(&self, key: &P384PublicKey) -> Result<(), Error> {
        let signature = P384Signature::from_slice(self.response.signature_bytes())?;
        key.verify_prehash(&self.transcript_digest(), &signature)
    }

    /// Checks that the request carries `expected` as its nonce (for a lightcone round,
    /// [`challenge_nonce`] of the challenge); `ChallengeMismatch` otherwise.
    pub fn check_nonce(&self, expected: &[u8; NONCE_LEN]) -> Result<(), Error> {
        if self.request.nonce() == expected {
            Ok(())
        } else {
            Err(Error::ChallengeMismatch)
        }
    }

    /// Verifies the report: the request's nonce is `expected`, and the signature over the
    /// transcript holds under `key`. The certificate chain that vouches for `key` is the
    /// caller's to check (the verifier crate's X.509 path).
    pub fn verify(
        self,
        key: &P384PublicKey,
        expected: &[u8; NONCE_LEN],
    ) -> Result<Verified<SpdmEvidence<'a>>, Error> {
        self.check_nonce(expected)?;
        self.verify_signature(key)?;
        Ok(Verified::new(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ChipId, LandmarkId};
    use crate::message::Nonce;
    use crate::wire::Bytes;
    use p384::ecdsa::signature::hazmat::PrehashSigner as _;
    use std::vec;
    use std::vec::Vec;

    const NONCE: [u8; 32] = [0x5a; 32];
    const RESPONDER_NONCE: [u8; 32] = [0xc3; 32];

    fn key() -> (p384::ecdsa::SigningKey, P384PublicKey) {
        key_from(0x11)
    }

    fn key_from(byte: u8) -> (p384::ecdsa::SigningKey, P384PublicKey) {
        let mut secret = [byte; 48];
        secret[0] = 0x01;
        let sk = p384::ecdsa::SigningKey::from_slice(&secret).unwrap();
        let pk = P384PublicKey::from_sec1(sk.verifying_key().to_encoded_point(false).as_bytes())
            .unwrap();
        (sk, pk)
    }

    /// A synthetic, well-formed signed report: request bytes and response bytes.
    fn report(operation: u8, blocks: &[MeasurementBlock<'_>], opaque: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let (sk, _) = key();
        let request = GetMeasurements::new(operation, NONCE, 0).unwrap();
        let mut buf = [0u8; 4096];
        let unsigned =
            encode_unsigned_measurements(&request, blocks, &RESPONDER_NONCE, opaque, &mut buf)
                .unwrap();
        let mut h = Sha384::new();
        h.update(request.as_bytes());
        h.update(unsigned);
        let digest: [u8; 48] = h.finalize().into();
        let sig: p384::ecdsa::Signature = sk.sign_prehash(&digest).unwrap();
        let mut response = unsigned.to_vec();
        response.extend_from_slice(&sig.to_bytes());
        (request.as_bytes().to_vec(), response)
    }

    fn two_blocks() -> [MeasurementBlock<'static>; 2] {
        [
            MeasurementBlock {
                index: 1,
                value_type: 0x01,
                value: &[0xaa; 48],
            },
            MeasurementBlock {
                index: 2,
                value_type: 0x02,
                value: &[0xbb; 48],
            },
        ]
    }

    #[test]
    fn synthetic_report_verifies_and_reads_back() {
        let (_, pk) = key();
        let (req, resp) = report(OPERATION_ALL, &two_blocks(), b"opaque");
        let ev = SpdmEvidence::parse(&req, &resp).unwrap();
        assert_eq!(ev.request().nonce(), &NONCE);
        assert_eq!(ev.response().responder_nonce(), &RESPONDER_NONCE);
        assert_eq!(ev.response().opaque_data(), b"opaque");
        assert_eq!(ev.response().number_of_blocks(), 2);
        assert_eq!(ev.response().blocks().collect::<Vec<_>>(), two_blocks());
        assert_eq!(ev.response().signed_part().len() + 96, resp.len());
        let verified = ev.verify(&pk, &NONCE).unwrap();
        assert_eq!(verified.request().slot(), 0);
        let mut both = req.clone();
        both.extend_from_slice(&resp);
        assert_eq!(SpdmEvidence::parse_concatenated(&both).unwrap(), ev);
    }

    #[test]
    fn wrong_nonce_and_wrong_key_are_refused() {
        let (req, resp) = report(OPERATION_ALL, &two_blocks(), &[]);
        let ev = SpdmEvidence::parse(&req, &resp).unwrap();
        let (_, pk) = key();
        let mut other = NONCE;
        other[31] ^= 1;
        assert_eq!(ev.verify(&pk, &other), Err(Error::ChallengeMismatch));
        let (_, other_key) = key_from(0x42);
        assert_eq!(ev.verify(&other_key, &NONCE), Err(Error::BadSignature));
    }

    #[test]
    fn every_changed_byte_is_refused() {
        let (_, pk) = key();
        let (req, resp) = report(OPERATION_ALL, &two_blocks(), b"op");
        let mut both = req.clone();
        both.extend_from_slice(&resp);
        assert!(SpdmEvidence::parse_concatenated(&both)
            .and_then(|e| e.verify(&pk, &NONCE))
            .is_ok());
        for i in 0..both.len() {
            // Alternate the low and the high bit, so both ends of each field get changed.
            let flip = if i % 2 == 0 { 0x01u8 } else { 0x80 };
            let mut bad = both.clone();
            bad[i] ^= flip;
            let got = SpdmEvidence::parse_concatenated(&bad).and_then(|e| e.verify(&pk, &NONCE));
            assert!(got.is_err(), "byte {i} ^ {flip:#x} accepted");
        }
    }

    #[test]
    fn truncated_or_extended_is_refused() {
        let (req, resp) = report(OPERATION_ALL, &two_blocks(), b"op");
        for n in 0..resp.len() {
            assert!(SpdmEvidence::parse(&req, &resp[..n]).is_err(), "prefix {n}");
        }
        let mut long = resp.clone();
        long.push(0);
        assert_eq!(SpdmEvidence::parse(&req, &long), Err(Error::TrailingBytes));
        for n in 0..req.len() {
            assert!(GetMeasurements::parse(&req[..n]).is_err());
        }
        let mut long_req = req.clone();
        long_req.push(0);
        assert_eq!(GetMeasurements::parse(&long_req), Err(Error::TrailingBytes));
    }

    #[test]
    fn request_rules() {
        let good = GetMeasurements::new(OPERATION_ALL, NONCE, 3).unwrap();
        assert_eq!(GetMeasurements::parse(good.as_bytes()), Ok(good));
        let cases: [(usize, u8, Error); 5] = [
            (0, 0x10, Error::UnsupportedVersion),
            (0, 0x12, Error::UnsupportedVersion),
            (1, 0xE1, Error::Malformed),
            (2, 0x00, Error::Malformed),
            (36, 8, Error::Malformed),
        ];
        for (at, value, want) in cases {
            let mut bad = *good.as_bytes();
            bad[at] = value;
            assert_eq!(
                GetMeasurements::parse(&bad),
                Err(want),
                "byte {at} = {value:#x}"
            );
        }
        let mut raw = *good.as_bytes();
        raw[2] = 0x03; // 1.2's raw-bitstream bit: not 1.1
        assert_eq!(GetMeasurements::parse(&raw), Err(Error::Malformed));
        assert_eq!(
            GetMeasurements::new(OPERATION_ALL, NONCE, 8),
            Err(Error::Malformed)
        );
    }

    /// Builds a response by hand (no encoder) so that each rule can be broken on its own.
    fn raw_response(
        header: [u8; 5],
        record: &[u8],
        record_len: usize,
        opaque_len: u16,
        opaque: &[u8],
    ) -> Vec<u8> {
        let mut v = header.to_vec();
        v.extend_from_slice(&(record_len as u32).to_le_bytes()[..3]);
        v.extend_from_slice(record);
        v.extend_from_slice(&RESPONDER_NONCE);
        v.extend_from_slice(&opaque_len.to_le_bytes());
        v.extend_from_slice(opaque);
        v.extend_from_slice(&[1u8; 96]);
        v
    }

    fn block(index: u8, spec: u8, size_delta: i32, value: &[u8]) -> Vec<u8> {
        let size = (3 + value.len() as i32 + size_delta) as u16;
        let mut v = vec![index, spec];
        v.extend_from_slice(&size.to_le_bytes());
        v.push(0x01);
        v.extend_from_slice(&(value.len() as u16).to_le_bytes());
        v.extend_from_slice(value);
        v
    }

    #[test]
    fn response_rules() {
        let req = GetMeasurements::new(OPERATION_ALL, NONCE, 0).unwrap();
        let parse = |bytes: &[u8]| Measurements::parse(bytes, &req).map(|_| ());
        let b1 = block(1, 1, 0, &[7; 48]);
        let b2 = block(2, 1, 0, &[8; 48]);
        let rec: Vec<u8> = [b1.clone(), b2.clone()].concat();
        let hdr = [0x11, 0x60, 0, 0, 2];
        // The baseline parses, so each case below fails for its one change.
        assert_eq!(parse(&raw_response(hdr, &rec, rec.len(), 2, b"ok")), Ok(()));
        let bad: Vec<(&str, Vec<u8>, Error)> = vec![
            (
                "version 1.2",
                raw_response([0x12, 0x60, 0, 0, 2], &rec, rec.len(), 0, &[]),
                Error::UnsupportedVersion,
            ),
            (
                "code",
                raw_response([0x11, 0x61, 0, 0, 2], &rec, rec.len(), 0, &[]),
                Error::Malformed,
            ),
            (
                "param1 set",
                raw_response([0x11, 0x60, 1, 0, 2], &rec, rec.len(), 0, &[]),
                Error::Malformed,
            ),
            (
                "other slot",
                raw_response([0x11, 0x60, 0, 1, 2], &rec, rec.len(), 0, &[]),
                Error::Malformed,
            ),
            (
                "too few blocks",
                raw_response([0x11, 0x60, 0, 0, 1], &rec, rec.len(), 0, &[]),
                Error::Malformed,
            ),
            (
                "too many blocks",
                raw_response([0x11, 0x60, 0, 0, 3], &rec, rec.len(), 0, &[]),
                Error::Malformed,
            ),
            (
                "no blocks for all",
                raw_response([0x11, 0x60, 0, 0, 0], &[], 0, 0, &[]),
                Error::Malformed,
            ),
            (
                "record length short",
                raw_response(hdr, &rec, rec.len() - 1, 0, &[]),
                Error::Malformed,
            ),
            (
                "record length long",
                raw_response(hdr, &rec, rec.len() + 1, 0, &[]),
                Error::Malformed,
            ),
            (
                "indices not increasing",
                raw_response(hdr, &[b2.clone(), b1.clone()].concat(), rec.len(), 0, &[]),
                Error::Malformed,
            ),
            (
                "duplicate index",
                raw_response(hdr, &[b1.clone(), b1.clone()].concat(), rec.len(), 0, &[]),
                Error::Malformed,
            ),
            (
                "index 0",
                raw_response(
                    hdr,
                    &[block(0, 1, 0, &[7; 48]), b2.clone()].concat(),
                    rec.len(),
                    0,
                    &[],
                ),
                Error::Malformed,
            ),
            (
                "index 0xff",
                raw_response(
                    hdr,
                    &[b1.clone(), block(0xff, 1, 0, &[8; 48])].concat(),
                    rec.len(),
                    0,
                    &[],
                ),
                Error::Malformed,
            ),
            (
                "not DMTF",
                raw_response(
                    hdr,
                    &[b1.clone(), block(2, 2, 0, &[8; 48])].concat(),
                    rec.len(),
                    0,
                    &[],
                ),
                Error::Malformed,
            ),
            (
                "measurement size too big",
                raw_response(
                    hdr,
                    &[b1.clone(), block(2, 1, 1, &[8; 48]), vec![0]].concat(),
                    rec.len() + 1,
                    0,
                    &[],
                ),
                Error::Malformed,
            ),
            (
                "opaque over 1024",
                raw_response(hdr, &rec, rec.len(), 1025, &[0; 1025]),
                Error::Malformed,
            ),
            (
                "opaque length past end",
                raw_response(hdr, &rec, rec.len(), 200, &[0; 10]),
                Error::Malformed,
            ),
        ];
        for (what, bytes, want) in bad {
            assert_eq!(parse(&bytes), Err(want), "{what}");
        }
        let mut short_sig = raw_response(hdr, &rec, rec.len(), 0, &[]);
        short_sig.pop();
        assert_eq!(parse(&short_sig), Err(Error::Malformed));
        // A response must match the operation asked for.
        let one = GetMeasurements::new(2, NONCE, 0).unwrap();
        let only_b2 = raw_response([0x11, 0x60, 0, 0, 1], &b2, b2.len(), 0, &[]);
        assert!(Measurements::parse(&only_b2, &one).is_ok());
        let only_b1 = raw_response([0x11, 0x60, 0, 0, 1], &b1, b1.len(), 0, &[]);
        assert_eq!(Measurements::parse(&only_b1, &one), Err(Error::Malformed));
        let count = GetMeasurements::new(OPERATION_COUNT, NONCE, 0).unwrap();
        let counted = raw_response([0x11, 0x60, 64, 0, 0], &[], 0, 0, &[]);
        assert_eq!(
            Measurements::parse(&counted, &count).map(|m| m.param1()),
            Ok(64)
        );
        assert_eq!(Measurements::parse(&only_b1, &count), Err(Error::Malformed));
    }

    #[test]
    fn encoder_refuses_what_the_parser_would() {
        let req = GetMeasurements::new(OPERATION_ALL, NONCE, 0).unwrap();
        let mut buf = [0u8; 256];
        let b = two_blocks();
        let swapped = [b[1], b[0]];
        assert_eq!(
            encode_unsigned_measurements(&req, &swapped, &RESPONDER_NONCE, &[], &mut buf),
            Err(Error::Malformed)
        );
        assert_eq!(
            encode_unsigned_measurements(&req, &b, &RESPONDER_NONCE, &[0; 1025], &mut [0u8; 2048]),
            Err(Error::Malformed)
        );
        assert_eq!(
            encode_unsigned_measurements(&req, &b, &RESPONDER_NONCE, &[], &mut [0u8; 100]),
            Err(Error::BufferTooSmall)
        );
    }

    #[test]
    fn challenge_nonce_is_sha256_of_the_encoding_and_binds_every_field() {
        let challenge = Challenge {
            version: crate::PROTOCOL_VERSION,
            landmark_id: LandmarkId::from([1; 16]),
            chip_id: ChipId::from([2; 16]),
            nonce: Nonce(Bytes([3; 32])),
        };
        let mut buf = [0u8; Challenge::MAX_SIZE];
        let encoded = challenge.encode(&mut buf).unwrap().to_vec();
        let want: [u8; 32] = Sha256::digest(&encoded).into();
        assert_eq!(challenge_nonce(&challenge), Ok(want));
        assert_eq!(nonce_of_encoded_challenge(&encoded), want);
        let mut other = challenge;
        other.landmark_id = LandmarkId::from([9; 16]);
        assert_ne!(challenge_nonce(&other), Ok(want));
        let mut other = challenge;
        other.chip_id = ChipId::from([9; 16]);
        assert_ne!(challenge_nonce(&other), Ok(want));
        let mut other = challenge;
        other.nonce = Nonce(Bytes([9; 32]));
        assert_ne!(challenge_nonce(&other), Ok(want));
    }
}
