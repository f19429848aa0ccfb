//! Canonical postcard encoding into caller buffers, and fixed-size byte fields.
//!
//! Every signed structure has exactly one encoding (DESIGN §6): decoding re-encodes the value and
//! compares it with the input byte for byte, so overlong varints and other aliases are refused
//! and one record has one hash.
//!
//! postcard decodes; the core's own panic-free `encoder` writes postcard's format into a `sink`
//! (a caller's slice, or a byte-for-byte comparison with an expected encoding), so no encoding
//! path in the core can panic (firmware/README.md).

use core::fmt;
use core::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeTuple, Serializer};

use crate::error::Error;

mod encoder;
mod sink;

use encoder::EncodeError;
use sink::{Compare, SliceWriter};

/// A message type with a fixed upper bound on its encoded size.
pub trait Wire: Serialize + for<'de> Deserialize<'de> {
    /// The largest number of bytes any value of this type encodes to.
    const MAX_SIZE: usize;

    /// Encodes into `buf`, returning the used prefix; `BufferTooSmall` if it does not fit.
    fn encode<'b>(&self, buf: &'b mut [u8]) -> Result<&'b mut [u8], Error> {
        encode_to_slice(self, buf)
    }

    /// Decodes exactly one canonical value from `bytes`: no trailing bytes, no aliases.
    fn decode(bytes: &[u8]) -> Result<Self, Error> {
        decode_canonical(bytes)
    }

    /// Encodes into a new vector (hosts only).
    #[cfg(feature = "std")]
    fn to_vec(&self) -> std::vec::Vec<u8> {
        // A Vec never runs out of room and our types always serialize.
        let mut out = std::vec::Vec::with_capacity(Self::MAX_SIZE);
        match encoder::encode(self, &mut out) {
            Ok(()) => out,
            Err(_) => std::vec::Vec::new(),
        }
    }
}

/// Encodes `value` into the start of `buf`, returning the used prefix; `BufferTooSmall` if it
/// does not fit.
pub(crate) fn encode_to_slice<'b, T: Serialize + ?Sized>(
    value: &T,
    buf: &'b mut [u8],
) -> Result<&'b mut [u8], Error> {
    let mut writer = SliceWriter::new(buf);
    encoder::encode(value, &mut writer).map_err(|e| match e {
        EncodeError::Full => Error::BufferTooSmall,
        EncodeError::LengthUnknown | EncodeError::Custom => Error::Malformed,
    })?;
    Ok(writer.into_written())
}

/// Decodes exactly one canonical `T` from `bytes`: no trailing bytes, no aliases.
pub(crate) fn decode_canonical<T: Serialize + for<'de> Deserialize<'de>>(
    bytes: &[u8],
) -> Result<T, Error> {
    let (value, rest) = postcard::take_from_bytes::<T>(bytes).map_err(|_| Error::Malformed)?;
    if !rest.is_empty() {
        return Err(Error::TrailingBytes);
    }
    if !encodes_to(&value, bytes) {
        return Err(Error::NonCanonical);
    }
    Ok(value)
}

/// As [`decode_canonical`], for a value that borrows from `bytes` (a record holding a
/// variable-sized report): decoding copies nothing and allocates nothing.
pub(crate) fn decode_canonical_borrowed<'a, T: Serialize + Deserialize<'a>>(
    bytes: &'a [u8],
) -> Result<T, Error> {
    let (value, rest) = postcard::take_from_bytes::<T>(bytes).map_err(|_| Error::Malformed)?;
    if !rest.is_empty() {
        return Err(Error::TrailingBytes);
    }
    if !encodes_to(&value, bytes) {
        return Err(Error::NonCanonical);
    }
    Ok(value)
}

/// Whether `value` encodes to exactly `expected`, checked without a buffer.
pub(crate) fn encodes_to<T: Serialize + ?Sized>(value: &T, expected: &[u8]) -> bool {
    let mut compare = Compare::new(expected);
    encoder::encode(value, &mut compare).is_ok() && compare.matched()
}

/// `N` raw bytes on the wire (postcard encodes them as exactly `N` bytes, no length prefix).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bytes<const N: usize>(pub [u8; N]);

impl<const N: usize> fmt::Debug for Bytes<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl<const N: usize> Serialize for Bytes<N> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(N)?;
        for byte in &self.0 {
            tuple.serialize_element(byte)?;
        }
        tuple.end()
    }
}

impl<'de, const N: usize> Deserialize<'de> for Bytes<N> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BytesVisitor<const M: usize>(PhantomData<[u8; M]>);

        impl<'de, const M: usize> Visitor<'de> for BytesVisitor<M> {
            type Value = Bytes<M>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{M} bytes")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Bytes<M>, A::Error> {
                let mut out = [0u8; M];
                for (i, slot) in out.iter_mut().enumerate() {
                    *slot = seq
                        .next_element()?
                        .ok_or_else(|| de::Error::invalid_length(i, &self))?;
                }
                Ok(Bytes(out))
            }
        }

        deserializer.deserialize_tuple(N, BytesVisitor::<N>(PhantomData))
    }
}

/// Worst-case postcard size of a `u64` varint.
pub const VARINT_U64_MAX: usize = 10;
/// Worst-case postcard size of a `u32` varint.
pub const VARINT_U32_MAX: usize = 5;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Sample {
        a: u64,
        b: Bytes<3>,
    }

    impl Wire for Sample {
        const MAX_SIZE: usize = VARINT_U64_MAX + 3;
    }

    #[test]
    fn roundtrip_and_canonical() {
        let s = Sample {
            a: 300,
            b: Bytes([1, 2, 3]),
        };
        let mut buf = [0u8; Sample::MAX_SIZE];
        let bytes = s.encode(&mut buf).unwrap();
        assert_eq!(bytes, &[0xac, 0x02, 1, 2, 3]);
        assert_eq!(Sample::decode(bytes).unwrap(), s);
        // 0 as an overlong varint (0x80 0x00) decodes in postcard but is not canonical.
        assert_eq!(
            Sample::decode(&[0x80, 0x00, 1, 2, 3]),
            Err(Error::NonCanonical)
        );
        assert_eq!(
            Sample::decode(&[0x00, 1, 2, 3, 9]),
            Err(Error::TrailingBytes)
        );
        assert_eq!(Sample::decode(&[0x00, 1, 2]), Err(Error::Malformed));
        assert_eq!(s.encode(&mut [0u8; 4]), Err(Error::BufferTooSmall));
    }
}
