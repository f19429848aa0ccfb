//! Datagrams of a round answered with SPDM evidence (a GPU's agent), beside the lightcone ones
//! of [`super::datagram`]: one tag byte, then the body.
//!
//! | tag | datagram | body |
//! |---|---|---|
//! | `0x05` | SPDM challenge (landmark → GPU agent) | `Challenge`, then zero padding to [`SPDM_DATAGRAM_LEN`] bytes |
//! | `0x06` | SPDM report (agent → landmark) | the `GET_MEASUREMENTS` request ‖ signed `MEASUREMENTS` response, 1..=[`SPDM_PAYLOAD_MAX`] bytes |
//! | `0x07` | chain request (landmark → agent) | zero padding to [`SPDM_DATAGRAM_LEN`] bytes |
//! | `0x08` | chain reply (agent → landmark) | the GPU's X.509 chain, DER certificates concatenated, leaf first, 1..=[`SPDM_PAYLOAD_MAX`] bytes |
//!
//! An H100's report is 4 117 bytes and its chain about 3.4 KiB, far over the 1 024 bytes of a
//! lightcone datagram, so these datagrams are larger: up to [`SPDM_DATAGRAM_LEN`] = 8 193 bytes
//! (NVML's report buffer is 8 192 bytes and its attestation chain buffer 5 120, so anything a
//! GPU returns fits). Over Ethernet they travel as IP fragments, which only ever adds delay.
//! Both requests are padded to exactly [`SPDM_DATAGRAM_LEN`], the largest reply, so an agent
//! never sends more bytes than it received (no amplification toward a spoofed source).
//!
//! Every decode is fallible with a typed reason ([`SpdmDatagramError`]) and never panics; the
//! agent and the landmark read into a buffer one byte larger than [`SPDM_DATAGRAM_LEN`], so an
//! oversized datagram is seen and refused, never silently truncated.

use lightcone::{Challenge, Wire as _};

use super::discard::DiscardReason;

/// Largest report or chain an SPDM datagram carries, bytes.
pub const SPDM_PAYLOAD_MAX: usize = 8192;
/// Exact length of both requests, and the most any reply may be: the tag and
/// [`SPDM_PAYLOAD_MAX`] bytes.
pub const SPDM_DATAGRAM_LEN: usize = 1 + SPDM_PAYLOAD_MAX;

/// Tag of an SPDM challenge.
pub const TAG_SPDM_CHALLENGE: u8 = 0x05;
/// Tag of an SPDM report.
pub const TAG_SPDM_REPORT: u8 = 0x06;
/// Tag of a chain request.
pub const TAG_CHAIN_REQUEST: u8 = 0x07;
/// Tag of a chain reply.
pub const TAG_CHAIN_REPLY: u8 = 0x08;

/// One decoded SPDM datagram; reports and chains borrow from the received bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpdmDatagram<'a> {
    /// Landmark → agent: have the GPU sign a report over `challenge_nonce` of this, now.
    Challenge(Challenge),
    /// Agent → landmark: the GPU's report (the landmark still checks everything in it).
    Report(&'a [u8]),
    /// Landmark → agent: send me the GPU's certificate chain.
    ChainRequest,
    /// Agent → landmark: the chain (the landmark verifies it against its own X.509 roots).
    ChainReply(&'a [u8]),
}

/// Why bytes are not an SPDM datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SpdmDatagramError {
    /// No bytes at all.
    #[error("empty datagram")]
    Empty,
    /// More than [`SPDM_DATAGRAM_LEN`] bytes.
    #[error("datagram of {0} bytes exceeds {SPDM_DATAGRAM_LEN}")]
    Oversized(usize),
    /// A request that is not exactly [`SPDM_DATAGRAM_LEN`] bytes (truncated, or short).
    #[error("request of {0} bytes, not {SPDM_DATAGRAM_LEN}")]
    WrongLength(usize),
    /// A request whose padding is not all zeros.
    #[error("request padding is not zero")]
    DirtyPadding,
    /// A report or chain reply with nothing in it.
    #[error("reply without a payload")]
    EmptyPayload,
    /// Unknown type tag.
    #[error("unknown SPDM datagram tag {0:#04x}")]
    UnknownTag(u8),
    /// The challenge does not decode.
    #[error("bad challenge: {0}")]
    Challenge(lightcone::Error),
}

impl SpdmDatagramError {
    /// The discard reason a receiver counts for this error.
    pub const fn reason(self) -> DiscardReason {
        match self {
            SpdmDatagramError::Empty => DiscardReason::Empty,
            SpdmDatagramError::Oversized(_) => DiscardReason::Oversized,
            SpdmDatagramError::UnknownTag(_) => DiscardReason::UnknownTag,
            SpdmDatagramError::WrongLength(_)
            | SpdmDatagramError::DirtyPadding
            | SpdmDatagramError::EmptyPayload
            | SpdmDatagramError::Challenge(_) => DiscardReason::Undecodable,
        }
    }
}

/// The body of a request (after the tag), checked: exactly [`SPDM_DATAGRAM_LEN`]` - 1` bytes
/// whose bytes from `used` on are zero; returns the first `used` bytes.
fn padded(body: &[u8], used: usize) -> Result<&[u8], SpdmDatagramError> {
    if body.len() != SPDM_DATAGRAM_LEN - 1 {
        return Err(SpdmDatagramError::WrongLength(body.len().saturating_add(1)));
    }
    let (head, padding) = body
        .split_at_checked(used)
        .ok_or(SpdmDatagramError::WrongLength(body.len().saturating_add(1)))?;
    if padding.iter().any(|&b| b != 0) {
        return Err(SpdmDatagramError::DirtyPadding);
    }
    Ok(head)
}

fn payload(body: &[u8]) -> Result<&[u8], SpdmDatagramError> {
    if body.is_empty() {
        return Err(SpdmDatagramError::EmptyPayload);
    }
    Ok(body)
}

impl<'a> SpdmDatagram<'a> {
    /// Decodes an SPDM datagram (module docs).
    pub fn decode(bytes: &'a [u8]) -> Result<Self, SpdmDatagramError> {
        if bytes.len() > SPDM_DATAGRAM_LEN {
            return Err(SpdmDatagramError::Oversized(bytes.len()));
        }
        let (&tag, body) = bytes.split_first().ok_or(SpdmDatagramError::Empty)?;
        match tag {
            TAG_SPDM_CHALLENGE => {
                let c = padded(body, Challenge::MAX_SIZE)?;
                Challenge::decode(c)
                    .map(SpdmDatagram::Challenge)
                    .map_err(SpdmDatagramError::Challenge)
            }
            TAG_SPDM_REPORT => payload(body).map(SpdmDatagram::Report),
            TAG_CHAIN_REQUEST => padded(body, 0).map(|_| SpdmDatagram::ChainRequest),
            TAG_CHAIN_REPLY => payload(body).map(SpdmDatagram::ChainReply),
            other => Err(SpdmDatagramError::UnknownTag(other)),
        }
    }

    /// The type tag.
    pub const fn tag(&self) -> u8 {
        match self {
            SpdmDatagram::Challenge(_) => TAG_SPDM_CHALLENGE,
            SpdmDatagram::Report(_) => TAG_SPDM_REPORT,
            SpdmDatagram::ChainRequest => TAG_CHAIN_REQUEST,
            SpdmDatagram::ChainReply(_) => TAG_CHAIN_REPLY,
        }
    }

    /// The datagram's bytes; `Malformed` for a payload over [`SPDM_PAYLOAD_MAX`] or empty, or a
    /// challenge that does not encode to its fixed size.
    pub fn to_vec(&self) -> Result<Vec<u8>, lightcone::Error> {
        let mut out = vec![self.tag()];
        match self {
            SpdmDatagram::Challenge(c) => {
                let encoded = c.to_vec();
                if encoded.len() != Challenge::MAX_SIZE {
                    return Err(lightcone::Error::Malformed);
                }
                out.extend_from_slice(&encoded);
                out.resize(SPDM_DATAGRAM_LEN, 0);
            }
            SpdmDatagram::ChainRequest => out.resize(SPDM_DATAGRAM_LEN, 0),
            SpdmDatagram::Report(p) | SpdmDatagram::ChainReply(p) => {
                if p.is_empty() || p.len() > SPDM_PAYLOAD_MAX {
                    return Err(lightcone::Error::Malformed);
                }
                out.extend_from_slice(p);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn challenge() -> Challenge {
        Challenge {
            version: lightcone::PROTOCOL_VERSION,
            landmark_id: lightcone::LandmarkId::from([1; 16]),
            chip_id: lightcone::ChipId::from([2; 16]),
            nonce: lightcone::Nonce(lightcone::wire::Bytes([3; 32])),
        }
    }

    #[test]
    fn requests_are_padded_to_the_largest_reply() {
        let c = SpdmDatagram::Challenge(challenge()).to_vec().unwrap();
        assert_eq!(c.len(), SPDM_DATAGRAM_LEN);
        assert_eq!(
            SPDM_DATAGRAM_LEN, 8193,
            "docs/operators.md states this size"
        );
        assert_eq!(
            SpdmDatagram::decode(&c),
            Ok(SpdmDatagram::Challenge(challenge()))
        );
        let r = SpdmDatagram::ChainRequest.to_vec().unwrap();
        assert_eq!(r.len(), SPDM_DATAGRAM_LEN);
        assert_eq!(SpdmDatagram::decode(&r), Ok(SpdmDatagram::ChainRequest));
        // The largest reply is exactly as long as a request.
        let big = vec![7u8; SPDM_PAYLOAD_MAX];
        assert_eq!(
            SpdmDatagram::Report(&big).to_vec().unwrap().len(),
            SPDM_DATAGRAM_LEN
        );
        let over = vec![7u8; SPDM_PAYLOAD_MAX + 1];
        assert!(SpdmDatagram::ChainReply(&over).to_vec().is_err());
        assert!(SpdmDatagram::Report(&[]).to_vec().is_err());
    }

    #[test]
    fn hostile_bytes_get_typed_refusals() {
        let c = SpdmDatagram::Challenge(challenge()).to_vec().unwrap();
        assert_eq!(SpdmDatagram::decode(&[]), Err(SpdmDatagramError::Empty));
        assert_eq!(
            SpdmDatagram::decode(&c[..c.len() - 1]),
            Err(SpdmDatagramError::WrongLength(SPDM_DATAGRAM_LEN - 1))
        );
        assert_eq!(
            SpdmDatagram::decode(&c[..1]),
            Err(SpdmDatagramError::WrongLength(1))
        );
        let mut long = c.clone();
        long.push(0);
        assert_eq!(
            SpdmDatagram::decode(&long),
            Err(SpdmDatagramError::Oversized(SPDM_DATAGRAM_LEN + 1))
        );
        let mut dirty = c.clone();
        dirty[SPDM_DATAGRAM_LEN - 1] = 1;
        assert_eq!(
            SpdmDatagram::decode(&dirty),
            Err(SpdmDatagramError::DirtyPadding)
        );
        let mut bad_version = c.clone();
        bad_version[1] ^= 0xff;
        assert!(matches!(
            SpdmDatagram::decode(&bad_version),
            Err(SpdmDatagramError::Challenge(_))
        ));
        assert_eq!(
            SpdmDatagram::decode(&[TAG_SPDM_REPORT]),
            Err(SpdmDatagramError::EmptyPayload)
        );
        assert_eq!(
            SpdmDatagram::decode(&[0x7f, 0]),
            Err(SpdmDatagramError::UnknownTag(0x7f))
        );
        assert_eq!(
            SpdmDatagramError::Oversized(9000).reason(),
            DiscardReason::Oversized
        );
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_decode_to_one_encoding_or_a_typed_error(
            tag in 0u8..=9,
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..9000),
        ) {
            let bytes = [&[tag][..], &body].concat();
            if let Ok(d) = SpdmDatagram::decode(&bytes) {
                proptest::prop_assert_eq!(d.to_vec().ok(), Some(bytes));
            }
        }
    }
}
