//! A panic-free `serde::Serializer` for postcard 1.x's wire format, writing into a [`Sink`].
//!
//! postcard stays the decoder; this is the core's encoder, so that every byte the core writes
//! (encodings, signed messages, the canonical re-encoding check) goes through code that has no
//! indexing, no unwrap and no panic path. postcard's own varint writer indexes a stack array in a
//! loop, a bounds check the compiler cannot remove, which left a reachable panic in the firmware.
//!
//! The format, as postcard 1.x writes it (its `ser/serializer.rs` and wire specification):
//!
//! | serde type | bytes |
//! |---|---|
//! | `bool`, `u8`, `i8` | one byte (`i8` as its two's-complement byte) |
//! | `u16`..`u128`, `usize` | unsigned LEB128 varint, least significant 7 bits first |
//! | `i16`..`i128` | zigzag (`(n << 1) ^ (n >> (bits - 1))`), then varint |
//! | `f32`, `f64` | IEEE 754 bits, little-endian |
//! | `char`, `str`, bytes | varint length, then the UTF-8 / raw bytes |
//! | option | `0`, or `1` then the value |
//! | unit, unit struct | nothing |
//! | enum variant | varint `u32` variant index, then its content |
//! | newtype struct | the inner value |
//! | seq, map | varint length (unknown length is an error), then the elements / pairs |
//! | tuple, tuple struct, struct | the fields in order, no length |

use core::fmt;

use serde::ser::{self, Serialize};

use super::sink::{Full, Sink};

/// Why encoding stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EncodeError {
    /// The sink had no room left.
    Full,
    /// A sequence or map did not say its length up front (postcard needs it first).
    LengthUnknown,
    /// The value's `Serialize` implementation reported an error.
    Custom,
}

impl From<Full> for EncodeError {
    fn from(_: Full) -> Self {
        EncodeError::Full
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EncodeError::Full => "output full",
            EncodeError::LengthUnknown => "sequence length unknown",
            EncodeError::Custom => "value failed to serialize",
        })
    }
}

impl ser::StdError for EncodeError {}

impl ser::Error for EncodeError {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        EncodeError::Custom
    }
}

/// Encodes `value` into `sink` in postcard's format.
pub(crate) fn encode<T: Serialize + ?Sized, S: Sink>(
    value: &T,
    sink: &mut S,
) -> Result<(), EncodeError> {
    value.serialize(&mut Encoder { sink })
}

/// The serializer: a borrowed sink.
pub(crate) struct Encoder<'s, S: Sink> {
    sink: &'s mut S,
}

impl<S: Sink> Encoder<'_, S> {
    fn byte(&mut self, byte: u8) -> Result<(), EncodeError> {
        Ok(self.sink.push(byte)?)
    }

    fn bytes(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        Ok(self.sink.extend(bytes)?)
    }

    /// Unsigned LEB128: 7 bits per byte, low first, high bit set on all but the last byte.
    fn varint(&mut self, mut value: u64) -> Result<(), EncodeError> {
        while value >= 0x80 {
            self.byte(value as u8 | 0x80)?;
            value >>= 7;
        }
        self.byte(value as u8)
    }

    fn varint_u128(&mut self, mut value: u128) -> Result<(), EncodeError> {
        while value >= 0x80 {
            self.byte(value as u8 | 0x80)?;
            value >>= 7;
        }
        self.byte(value as u8)
    }

    fn length(&mut self, len: usize) -> Result<(), EncodeError> {
        // usize is at most 64 bits on every target Rust supports; refuse rather than truncate.
        let len = u64::try_from(len).map_err(|_| EncodeError::Full)?;
        self.varint(len)
    }
}

/// Zigzag: small magnitudes of either sign become small unsigned numbers (0, -1, 1, -2, … →
/// 0, 1, 2, 3, …). Shifts never panic; `as` reinterprets the bits.
fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

fn zigzag_i128(n: i128) -> u128 {
    ((n << 1) ^ (n >> 127)) as u128
}

impl<S: Sink> ser::Serializer for &mut Encoder<'_, S> {
    type Ok = ();
    type Error = EncodeError;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    fn is_human_readable(&self) -> bool {
        false
    }

    fn serialize_bool(self, v: bool) -> Result<(), EncodeError> {
        self.byte(u8::from(v))
    }

    fn serialize_i8(self, v: i8) -> Result<(), EncodeError> {
        self.byte(v as u8)
    }

    fn serialize_i16(self, v: i16) -> Result<(), EncodeError> {
        // Zigzag of an i16 fits in 16 bits, so widening first gives the same number.
        self.varint(zigzag(i64::from(v)))
    }

    fn serialize_i32(self, v: i32) -> Result<(), EncodeError> {
        self.varint(zigzag(i64::from(v)))
    }

    fn serialize_i64(self, v: i64) -> Result<(), EncodeError> {
        self.varint(zigzag(v))
    }

    fn serialize_i128(self, v: i128) -> Result<(), EncodeError> {
        self.varint_u128(zigzag_i128(v))
    }

    fn serialize_u8(self, v: u8) -> Result<(), EncodeError> {
        self.byte(v)
    }

    fn serialize_u16(self, v: u16) -> Result<(), EncodeError> {
        self.varint(u64::from(v))
    }

    fn serialize_u32(self, v: u32) -> Result<(), EncodeError> {
        self.varint(u64::from(v))
    }

    fn serialize_u64(self, v: u64) -> Result<(), EncodeError> {
        self.varint(v)
    }

    fn serialize_u128(self, v: u128) -> Result<(), EncodeError> {
        self.varint_u128(v)
    }

    fn serialize_f32(self, v: f32) -> Result<(), EncodeError> {
        self.bytes(&v.to_bits().to_le_bytes())
    }

    fn serialize_f64(self, v: f64) -> Result<(), EncodeError> {
        self.bytes(&v.to_bits().to_le_bytes())
    }

    fn serialize_char(self, v: char) -> Result<(), EncodeError> {
        let mut utf8 = [0u8; 4];
        self.serialize_str(v.encode_utf8(&mut utf8))
    }

    fn serialize_str(self, v: &str) -> Result<(), EncodeError> {
        self.serialize_bytes(v.as_bytes())
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<(), EncodeError> {
        self.length(v.len())?;
        self.bytes(v)
    }

    fn serialize_none(self) -> Result<(), EncodeError> {
        self.byte(0)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), EncodeError> {
        self.byte(1)?;
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), EncodeError> {
        Ok(())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), EncodeError> {
        Ok(())
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        variant_index: u32,
        _variant: &'static str,
    ) -> Result<(), EncodeError> {
        self.varint(u64::from(variant_index))
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), EncodeError> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        variant_index: u32,
        _variant: &'static str,
        value: &T,
    ) -> Result<(), EncodeError> {
        self.varint(u64::from(variant_index))?;
        value.serialize(self)
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Self, EncodeError> {
        self.length(len.ok_or(EncodeError::LengthUnknown)?)?;
        Ok(self)
    }

    fn serialize_tuple(self, _len: usize) -> Result<Self, EncodeError> {
        Ok(self)
    }

    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Self, EncodeError> {
        Ok(self)
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        variant_index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self, EncodeError> {
        self.varint(u64::from(variant_index))?;
        Ok(self)
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Self, EncodeError> {
        self.length(len.ok_or(EncodeError::LengthUnknown)?)?;
        Ok(self)
    }

    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self, EncodeError> {
        Ok(self)
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        variant_index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self, EncodeError> {
        self.varint(u64::from(variant_index))?;
        Ok(self)
    }

    /// A `Display` value as a string: one pass counts its bytes for the length prefix, a second
    /// writes them (no buffer, no allocation), as postcard does.
    fn collect_str<T: fmt::Display + ?Sized>(self, value: &T) -> Result<(), EncodeError> {
        use fmt::Write;

        struct Count(usize);
        impl Write for Count {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                self.0 = self.0.checked_add(s.len()).ok_or(fmt::Error)?;
                Ok(())
            }
        }
        struct Out<'e, 's, S: Sink>(&'e mut Encoder<'s, S>, Result<(), EncodeError>);
        impl<S: Sink> Write for Out<'_, '_, S> {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                self.1 = self.0.bytes(s.as_bytes());
                self.1.map_err(|_| fmt::Error)
            }
        }

        let mut count = Count(0);
        write!(count, "{value}").map_err(|_| EncodeError::Custom)?;
        self.length(count.0)?;
        let mut out = Out(self, Ok(()));
        match write!(out, "{value}") {
            Ok(()) => Ok(()),
            Err(_) => Err(match out.1 {
                Err(e) => e,
                Ok(()) => EncodeError::Custom,
            }),
        }
    }
}

/// Elements, fields and map entries are written one after another: the compound types only
/// differ in what came before them (a length, a variant index or nothing).
macro_rules! concatenate {
    ($($trait:ident :: $method:ident),* $(,)?) => {$(
        impl<S: Sink> ser::$trait for &mut Encoder<'_, S> {
            type Ok = ();
            type Error = EncodeError;

            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
                value.serialize(&mut **self)
            }

            fn end(self) -> Result<(), EncodeError> {
                Ok(())
            }
        }
    )*};
}

concatenate!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field,
);

macro_rules! concatenate_fields {
    ($($trait:ident),* $(,)?) => {$(
        impl<S: Sink> ser::$trait for &mut Encoder<'_, S> {
            type Ok = ();
            type Error = EncodeError;

            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                _key: &'static str,
                value: &T,
            ) -> Result<(), EncodeError> {
                value.serialize(&mut **self)
            }

            fn end(self) -> Result<(), EncodeError> {
                Ok(())
            }
        }
    )*};
}

concatenate_fields!(SerializeStruct, SerializeStructVariant);

impl<S: Sink> ser::SerializeMap for &mut Encoder<'_, S> {
    type Ok = ();
    type Error = EncodeError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), EncodeError> {
        key.serialize(&mut **self)
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
        value.serialize(&mut **self)
    }

    fn end(self) -> Result<(), EncodeError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::string::String;
    use std::vec::Vec;

    use proptest::prelude::*;
    use serde::Serialize;

    use super::*;
    use crate::wire::sink::SliceWriter;

    fn ours<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
        let mut out = Vec::new();
        encode(value, &mut out).unwrap();
        out
    }

    /// postcard's encoding (through `to_slice`: the core's tests run without postcard's std).
    fn postcards<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
        let mut buf = std::vec![0u8; 1 << 14];
        let len = postcard::to_slice(value, &mut buf).unwrap().len();
        buf.truncate(len);
        buf
    }

    #[test]
    fn unsigned_varint_edges() {
        let cases: [(u64, &[u8]); 9] = [
            (0, &[0x00]),
            (1, &[0x01]),
            (127, &[0x7f]),
            (128, &[0x80, 0x01]),
            (300, &[0xac, 0x02]),
            (16_383, &[0xff, 0x7f]),
            (16_384, &[0x80, 0x80, 0x01]),
            (u64::from(u32::MAX), &[0xff, 0xff, 0xff, 0xff, 0x0f]),
            (
                u64::MAX,
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(ours(&value), expected, "{value}");
            assert_eq!(ours(&value), postcards(&value), "{value}");
        }
        assert_eq!(ours(&u64::MAX).len(), crate::wire::VARINT_U64_MAX);
        assert_eq!(ours(&u32::MAX).len(), crate::wire::VARINT_U32_MAX);
        assert_eq!(ours(&u16::MAX), [0xff, 0xff, 0x03]);
        assert_eq!(ours(&u128::MAX), postcards(&u128::MAX));
        assert_eq!(ours(&u128::MAX).len(), 19);
        // u8 is raw, not a varint.
        assert_eq!(ours(&200u8), [200]);
    }

    #[test]
    fn zigzag_edges() {
        let cases: [(i32, &[u8]); 7] = [
            (0, &[0x00]),
            (-1, &[0x01]),
            (1, &[0x02]),
            (-64, &[0x7f]),
            (64, &[0x80, 0x01]),
            (i32::MAX, &[0xfe, 0xff, 0xff, 0xff, 0x0f]),
            (i32::MIN, &[0xff, 0xff, 0xff, 0xff, 0x0f]),
        ];
        for (value, expected) in cases {
            assert_eq!(ours(&value), expected, "{value}");
            assert_eq!(ours(&value), postcards(&value), "{value}");
        }
        for v in [i16::MIN, -1, 0, 1, i16::MAX] {
            assert_eq!(ours(&v), postcards(&v), "{v}");
        }
        for v in [i64::MIN, -1, 0, 1, i64::MAX] {
            assert_eq!(ours(&v), postcards(&v), "{v}");
        }
        for v in [i128::MIN, -1, 0, 1, i128::MAX] {
            assert_eq!(ours(&v), postcards(&v), "{v}");
        }
        // i8 is its raw two's-complement byte.
        assert_eq!(ours(&-1i8), [0xff]);
        assert_eq!(ours(&i8::MIN), [0x80]);
    }

    /// A byte string serialized with `serialize_bytes` (serde's `[u8]` is a sequence).
    struct Raw<'a>(&'a [u8]);
    impl Serialize for Raw<'_> {
        fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(self.0)
        }
    }

    /// A sequence that does not announce its length.
    struct Unsized;
    impl Serialize for Unsized {
        fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq([1u8, 2].iter().filter(|_| true))
        }
    }

    /// A `Display` value written through `collect_str`.
    struct Shown(u32);
    impl Serialize for Shown {
        fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_str(&format_args!("<{}>", self.0))
        }
    }

    #[derive(Serialize, Clone, Debug)]
    struct Unit;

    #[derive(Serialize, Clone, Debug)]
    struct Newtype(u32);

    #[derive(Serialize, Clone, Debug)]
    enum Shape {
        Empty,
        Wrapped(i64),
        Pair(u16, bool),
        Named { x: i32, name: String },
    }

    /// Every shape of serde's data model that postcard supports.
    #[derive(Serialize, Clone, Debug)]
    struct Everything {
        flag: bool,
        small: (i8, u8),
        ints: (i16, i32, i64, i128),
        uints: (u16, u32, u64, u128, usize),
        floats: (f32, f64),
        letter: char,
        text: String,
        list: Vec<u64>,
        map: BTreeMap<u8, Option<i32>>,
        maybe: Option<Newtype>,
        nothing: (),
        unit: Unit,
        shapes: Vec<Shape>,
        fixed: [u8; 5],
    }

    fn shape() -> impl Strategy<Value = Shape> {
        prop_oneof![
            Just(Shape::Empty),
            any::<i64>().prop_map(Shape::Wrapped),
            any::<(u16, bool)>().prop_map(|(a, b)| Shape::Pair(a, b)),
            (any::<i32>(), ".{0,8}").prop_map(|(x, name)| Shape::Named { x, name }),
        ]
    }

    fn everything() -> impl Strategy<Value = Everything> {
        (
            (
                any::<bool>(),
                any::<(i8, u8)>(),
                any::<(i16, i32, i64, i128)>(),
            ),
            (any::<(u16, u32, u64, u128, usize)>(), any::<(f32, f64)>()),
            (
                any::<char>(),
                ".{0,40}",
                proptest::collection::vec(any::<u64>(), 0..200),
            ),
            proptest::collection::btree_map(any::<u8>(), any::<Option<i32>>(), 0..8),
            any::<Option<u32>>(),
            proptest::collection::vec(shape(), 0..4),
            any::<[u8; 5]>(),
        )
            .prop_map(|(a, b, c, map, maybe, shapes, fixed)| Everything {
                flag: a.0,
                small: a.1,
                ints: a.2,
                uints: b.0,
                floats: b.1,
                letter: c.0,
                text: c.1,
                list: c.2,
                map,
                maybe: maybe.map(Newtype),
                nothing: (),
                unit: Unit,
                shapes,
                fixed,
            })
    }

    #[test]
    fn byte_strings_unknown_lengths_and_collected_strings() {
        let long = [7u8; 300];
        for bytes in [&[][..], &[1, 2, 3], &long] {
            assert_eq!(ours(&Raw(bytes)), postcards(&Raw(bytes)));
        }
        assert_eq!(ours(&Raw(&long))[..2], [0xac, 0x02]);
        let mut out = Vec::new();
        assert_eq!(encode(&Unsized, &mut out), Err(EncodeError::LengthUnknown));
        assert_eq!(ours(&Shown(12_345)), b"\x07<12345>");
        assert_eq!(ours(&Shown(7)), postcards(&Shown(7)));
        assert_eq!(ours(&'\u{10ffff}'), postcards(&'\u{10ffff}'));
        assert_eq!(ours(&f64::NAN), postcards(&f64::NAN));
        assert_eq!(ours(&-0.0f32), postcards(&-0.0f32));
    }

    #[test]
    fn a_full_buffer_fails_at_every_length_and_never_writes_past_it() {
        let value = Everything {
            flag: true,
            small: (-5, 250),
            ints: (i16::MIN, i32::MIN, i64::MAX, i128::MIN),
            uints: (u16::MAX, 128, u64::MAX, u128::MAX, usize::MAX),
            floats: (1.5, -2.25),
            letter: '€',
            text: "lightcone".into(),
            list: std::vec![0, 127, 128, u64::MAX],
            map: [(1, Some(-1)), (2, None)].into_iter().collect(),
            maybe: Some(Newtype(300)),
            nothing: (),
            unit: Unit,
            shapes: std::vec![
                Shape::Empty,
                Shape::Wrapped(-1),
                Shape::Pair(1, false),
                Shape::Named {
                    x: 0,
                    name: "ab".into()
                }
            ],
            fixed: [1, 2, 3, 4, 5],
        };
        let expected = postcards(&value);
        for len in 0..expected.len() {
            // A guard byte after the buffer: writing past the end would change it.
            let mut buf = std::vec![0xa5u8; len + 1];
            let (head, guard) = buf.split_at_mut(len);
            let mut w = SliceWriter::new(head);
            assert_eq!(
                encode(&value, &mut w),
                Err(EncodeError::Full),
                "length {len}"
            );
            assert_eq!(guard, [0xa5], "length {len}");
            // What was written is a prefix of the encoding.
            let written = w.into_written().len();
            assert_eq!(head[..written], expected[..written], "length {len}");
        }
        let mut buf = std::vec![0u8; expected.len()];
        let mut w = SliceWriter::new(&mut buf);
        encode(&value, &mut w).unwrap();
        assert_eq!(w.into_written(), &expected[..]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// The encoder writes byte for byte what postcard writes, for every shape serde has.
        #[test]
        fn matches_postcard_over_the_whole_data_model(value in everything()) {
            let expected = postcards(&value);
            prop_assert_eq!(ours(&value), expected.clone());
            let mut buf = std::vec![0u8; expected.len()];
            let mut w = SliceWriter::new(&mut buf);
            encode(&value, &mut w).unwrap();
            prop_assert_eq!(w.into_written(), &expected[..]);
        }
    }
}
