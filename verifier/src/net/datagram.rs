//! Datagram framing: one type tag byte, then the core's canonical encoding of the message.
//!
//! | tag | datagram | body |
//! |---|---|---|
//! | `0x01` | challenge (landmark → chip) | `Challenge`, then zero padding to [`CHALLENGE_LEN`] bytes |
//! | `0x02` | response (chip → landmark) | `Response` |
//! | `0x03` | certificate request (landmark → chip) | zero padding to [`CERT_REQUEST_LEN`] bytes |
//! | `0x04` | certificate reply (chip → landmark) | `DeviceCertificate` |
//!
//! Every decode is fallible with a typed reason and never panics; datagrams over
//! [`MAX_DATAGRAM`] bytes are refused before parsing.
//!
//! Every request is padded to at least the size of the largest reply it can get (a challenge to
//! the largest response, a certificate request to the largest certificate reply), so an agent
//! can never be used to amplify traffic toward a spoofed source address: it sends at most as
//! many bytes as it received.

use lightcone::{Challenge, DeviceCertificate, Response, Wire};

use super::discard::DiscardReason;

/// Largest datagram either side accepts, in bytes. Receivers read into a buffer one byte
/// larger, so anything bigger is seen (and discarded as oversized) rather than truncated.
pub const MAX_DATAGRAM: usize = 1024;

/// Tag of a challenge datagram.
pub const TAG_CHALLENGE: u8 = 0x01;
/// Tag of a response datagram.
pub const TAG_RESPONSE: u8 = 0x02;
/// Tag of a certificate request datagram.
pub const TAG_CERT_REQUEST: u8 = 0x03;
/// Tag of a certificate reply datagram.
pub const TAG_CERT_REPLY: u8 = 0x04;

/// Exact length of a certificate request: the tag and zero padding, as long as the largest
/// certificate reply (no amplification).
pub const CERT_REQUEST_LEN: usize = 1 + DeviceCertificate::MAX_SIZE;

/// Exact length of a challenge datagram: the tag, the challenge, and zero padding up to the
/// largest response datagram (the tag and [`Response::MAX_SIZE`]), so a response is never
/// larger than the challenge it answers (no amplification).
pub const CHALLENGE_LEN: usize = 1 + Response::MAX_SIZE;
const _: () = assert!(CHALLENGE_LEN <= MAX_DATAGRAM);

/// The challenge inside a challenge datagram's `body` (after the tag): exactly
/// [`CHALLENGE_LEN`]` - 1` bytes, the challenge's [`Challenge::MAX_SIZE`] bytes then zeros.
pub fn challenge_in(body: &[u8]) -> Option<&[u8]> {
    if body.len() != CHALLENGE_LEN - 1 {
        return None;
    }
    let (challenge, padding) = body.split_at_checked(Challenge::MAX_SIZE)?;
    padding.iter().all(|&b| b == 0).then_some(challenge)
}

/// Whether `body` (after the tag) is a well-formed certificate request's padding.
pub fn is_cert_request_padding(body: &[u8]) -> bool {
    body.len() == CERT_REQUEST_LEN - 1 && body.iter().all(|&b| b == 0)
}

/// One decoded datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Datagram {
    /// Landmark → chip: sign this, now.
    Challenge(Challenge),
    /// Chip → landmark: the signed answer.
    Response(Response),
    /// Landmark → chip: send me your device certificate.
    CertificateRequest,
    /// Chip → landmark: my device certificate (the landmark still verifies it).
    CertificateReply(DeviceCertificate),
}

/// Why bytes are not a datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DatagramError {
    /// No bytes at all.
    #[error("empty datagram")]
    Empty,
    /// More than [`MAX_DATAGRAM`] bytes.
    #[error("datagram of {0} bytes exceeds {MAX_DATAGRAM}")]
    Oversized(usize),
    /// Unknown type tag.
    #[error("unknown datagram tag {0:#04x}")]
    UnknownTag(u8),
    /// The body does not decode.
    #[error("bad datagram body: {0}")]
    Body(lightcone::Error),
}

impl DatagramError {
    /// The discard reason a receiver counts for this error.
    pub const fn reason(self) -> DiscardReason {
        match self {
            DatagramError::Empty => DiscardReason::Empty,
            DatagramError::Oversized(_) => DiscardReason::Oversized,
            DatagramError::UnknownTag(_) => DiscardReason::UnknownTag,
            DatagramError::Body(_) => DiscardReason::Undecodable,
        }
    }
}

/// Checks size and splits off the tag.
pub fn split_tag(bytes: &[u8]) -> Result<(u8, &[u8]), DatagramError> {
    if bytes.len() > MAX_DATAGRAM {
        return Err(DatagramError::Oversized(bytes.len()));
    }
    bytes
        .split_first()
        .map(|(t, b)| (*t, b))
        .ok_or(DatagramError::Empty)
}

impl Datagram {
    /// Decodes a datagram; the body must be one canonical message with no trailing bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, DatagramError> {
        let (tag, body) = split_tag(bytes)?;
        match tag {
            TAG_CHALLENGE => challenge_in(body)
                .ok_or(DatagramError::Body(lightcone::Error::Malformed))
                .and_then(|c| Challenge::decode(c).map_err(DatagramError::Body))
                .map(Datagram::Challenge),
            TAG_RESPONSE => Response::decode(body)
                .map(Datagram::Response)
                .map_err(DatagramError::Body),
            TAG_CERT_REQUEST if is_cert_request_padding(body) => Ok(Datagram::CertificateRequest),
            TAG_CERT_REQUEST => Err(DatagramError::Body(lightcone::Error::Malformed)),
            TAG_CERT_REPLY => DeviceCertificate::decode(body)
                .map(Datagram::CertificateReply)
                .map_err(DatagramError::Body),
            other => Err(DatagramError::UnknownTag(other)),
        }
    }

    /// The type tag.
    pub const fn tag(&self) -> u8 {
        match self {
            Datagram::Challenge(_) => TAG_CHALLENGE,
            Datagram::Response(_) => TAG_RESPONSE,
            Datagram::CertificateRequest => TAG_CERT_REQUEST,
            Datagram::CertificateReply(_) => TAG_CERT_REPLY,
        }
    }

    /// Encodes into `buf` and returns the number of bytes written.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, lightcone::Error> {
        let (head, body) = buf
            .split_first_mut()
            .ok_or(lightcone::Error::BufferTooSmall)?;
        *head = self.tag();
        let len = match self {
            Datagram::Challenge(c) => {
                let padded = body
                    .get_mut(..CHALLENGE_LEN - 1)
                    .ok_or(lightcone::Error::BufferTooSmall)?;
                padded.fill(0);
                let (head, _) = padded
                    .split_at_mut_checked(Challenge::MAX_SIZE)
                    .ok_or(lightcone::Error::BufferTooSmall)?;
                if c.encode(head)?.len() != Challenge::MAX_SIZE {
                    // A challenge always encodes to its fixed size; never send a short one.
                    return Err(lightcone::Error::Malformed);
                }
                padded.len()
            }
            Datagram::Response(r) => r.encode(body)?.len(),
            Datagram::CertificateRequest => {
                let padding = body
                    .get_mut(..CERT_REQUEST_LEN - 1)
                    .ok_or(lightcone::Error::BufferTooSmall)?;
                padding.fill(0);
                padding.len()
            }
            Datagram::CertificateReply(c) => c.encode(body)?.len(),
        };
        Ok(len.saturating_add(1))
    }

    /// Encodes into a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut buf = [0u8; MAX_DATAGRAM];
        match self.encode(&mut buf) {
            Ok(n) => buf.get(..n).map(<[u8]>::to_vec).unwrap_or_default(),
            // Every message fits in MAX_DATAGRAM (checked by a test), so this is unreachable.
            Err(_) => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_fits() {
        // A certificate reply is never larger than the request that asked for it.
        // One tag byte, then the message.
        let framed = |size: usize| size + 1;
        assert!(framed(DeviceCertificate::MAX_SIZE) <= CERT_REQUEST_LEN);
        assert!(framed(Challenge::MAX_SIZE) <= MAX_DATAGRAM);
        assert!(framed(Response::MAX_SIZE) <= MAX_DATAGRAM);
        assert!(framed(DeviceCertificate::MAX_SIZE) <= MAX_DATAGRAM);
        // A response is never larger than the challenge that asked for it.
        assert!(framed(Response::MAX_SIZE) <= CHALLENGE_LEN);
    }

    #[test]
    fn challenges_are_padded_to_the_largest_response() {
        let c = Challenge {
            version: lightcone::PROTOCOL_VERSION,
            landmark_id: lightcone::LandmarkId::from([1; 16]),
            chip_id: lightcone::ChipId::from([2; 16]),
            nonce: lightcone::Nonce(lightcone::wire::Bytes([3; 32])),
        };
        let bytes = Datagram::Challenge(c).to_vec();
        assert_eq!(bytes.len(), CHALLENGE_LEN);
        assert_eq!(CHALLENGE_LEN, 184, "docs/operators.md states this size");
        assert_eq!(Datagram::decode(&bytes), Ok(Datagram::Challenge(c)));
        // The bare challenge (66 bytes, the old framing) and a short or dirty padding are refused.
        let bare = [&[TAG_CHALLENGE][..], &c.to_vec()].concat();
        assert!(Datagram::decode(&bare).is_err());
        assert!(Datagram::decode(&bytes[..CHALLENGE_LEN - 1]).is_err());
        let mut dirty = bytes.clone();
        dirty[CHALLENGE_LEN - 1] = 1;
        assert!(Datagram::decode(&dirty).is_err());
    }

    #[test]
    fn typed_refusals() {
        assert_eq!(Datagram::decode(&[]), Err(DatagramError::Empty));
        assert_eq!(
            Datagram::decode(&[0x7f]),
            Err(DatagramError::UnknownTag(0x7f))
        );
        assert_eq!(
            Datagram::decode(&[0u8; 2000]),
            Err(DatagramError::Oversized(2000))
        );
        assert!(matches!(
            Datagram::decode(&[TAG_CHALLENGE, 1, 2]),
            Err(DatagramError::Body(_))
        ));
        let request = Datagram::CertificateRequest.to_vec();
        assert_eq!(request.len(), CERT_REQUEST_LEN);
        assert_eq!(CERT_REQUEST_LEN, 258, "docs/operators.md states this size");
        assert_eq!(request[0], TAG_CERT_REQUEST);
        assert_eq!(Datagram::decode(&request), Ok(Datagram::CertificateRequest));
        assert!(Datagram::decode(&[TAG_CERT_REQUEST]).is_err());
        assert!(Datagram::decode(&request[..CERT_REQUEST_LEN - 1]).is_err());
        let mut nonzero = request.clone();
        nonzero[9] = 1;
        assert!(Datagram::decode(&nonzero).is_err());
    }
}
