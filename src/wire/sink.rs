//! Where the encoder's bytes go: a caller's slice, a comparison with expected bytes, or (on
//! hosts) a vector. A full sink is an error value, never a panic.

/// The sink has no room for the bytes it was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Full;

/// Receives encoded bytes in order.
pub(crate) trait Sink {
    /// Appends one byte, or refuses it with [`Full`].
    fn push(&mut self, byte: u8) -> Result<(), Full>;

    /// Appends `bytes`, or refuses them with [`Full`]; the default pushes them one by one.
    fn extend(&mut self, bytes: &[u8]) -> Result<(), Full> {
        bytes.iter().try_for_each(|&b| self.push(b))
    }
}

/// Writes into a caller's buffer from its start.
pub(crate) struct SliceWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> SliceWriter<'a> {
    /// A writer that fills `buf` from index 0.
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        SliceWriter { buf, len: 0 }
    }

    /// The written prefix of the buffer.
    pub(crate) fn into_written(self) -> &'a mut [u8] {
        let (written, _) = self.buf.split_at_mut(self.len.min(self.buf.len()));
        written
    }
}

impl Sink for SliceWriter<'_> {
    fn push(&mut self, byte: u8) -> Result<(), Full> {
        let slot = self.buf.get_mut(self.len).ok_or(Full)?;
        *slot = byte;
        self.len = self.len.saturating_add(1);
        Ok(())
    }

    fn extend(&mut self, bytes: &[u8]) -> Result<(), Full> {
        let end = self.len.checked_add(bytes.len()).ok_or(Full)?;
        // Checked as a whole first, so a refused extend writes nothing.
        let dst = self.buf.get_mut(self.len..end).ok_or(Full)?;
        // A zip instead of `copy_from_slice`, whose length check is a panic path.
        for (d, s) in dst.iter_mut().zip(bytes) {
            *d = *s;
        }
        self.len = end;
        Ok(())
    }
}

/// Compares the bytes it receives with an expected encoding, without a buffer. It takes every
/// byte (it is never full) and remembers whether all matched and the lengths agree.
pub(crate) struct Compare<'a> {
    expected: &'a [u8],
    pos: usize,
    same: bool,
}

impl<'a> Compare<'a> {
    /// A comparer against `expected`.
    pub(crate) fn new(expected: &'a [u8]) -> Self {
        Compare {
            expected,
            pos: 0,
            same: true,
        }
    }

    /// Whether the bytes received are exactly `expected`.
    pub(crate) fn matched(&self) -> bool {
        self.same && self.pos == self.expected.len()
    }
}

impl Sink for Compare<'_> {
    fn push(&mut self, byte: u8) -> Result<(), Full> {
        if self.expected.get(self.pos) != Some(&byte) {
            self.same = false;
        }
        self.pos = self.pos.saturating_add(1);
        Ok(())
    }

    fn extend(&mut self, bytes: &[u8]) -> Result<(), Full> {
        let end = self.pos.saturating_add(bytes.len());
        if self.expected.get(self.pos..end) != Some(bytes) {
            self.same = false;
        }
        self.pos = end;
        Ok(())
    }
}

/// Hosts (and tests): appends to a vector (never full).
#[cfg(any(test, feature = "std"))]
impl Sink for std::vec::Vec<u8> {
    fn push(&mut self, byte: u8) -> Result<(), Full> {
        std::vec::Vec::push(self, byte);
        Ok(())
    }

    fn extend(&mut self, bytes: &[u8]) -> Result<(), Full> {
        self.extend_from_slice(bytes);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_writer_fills_and_then_refuses() {
        let mut buf = [0u8; 4];
        let mut w = SliceWriter::new(&mut buf);
        assert_eq!(w.push(1), Ok(()));
        assert_eq!(w.extend(&[2, 3]), Ok(()));
        // Two bytes do not fit in the one left: nothing is written.
        assert_eq!(w.extend(&[4, 5]), Err(Full));
        assert_eq!(w.push(4), Ok(()));
        assert_eq!(w.push(5), Err(Full));
        assert_eq!(w.extend(&[]), Ok(()));
        assert_eq!(w.into_written(), &[1, 2, 3, 4]);
    }

    #[test]
    fn slice_writer_on_an_empty_buffer() {
        let mut w = SliceWriter::new(&mut []);
        assert_eq!(w.push(0), Err(Full));
        assert_eq!(w.extend(&[0]), Err(Full));
        assert_eq!(w.extend(&[]), Ok(()));
        assert!(w.into_written().is_empty());
    }

    #[test]
    fn compare_needs_same_bytes_and_same_length() {
        let check = |chunks: &[&[u8]]| {
            let mut c = Compare::new(&[1, 2, 3]);
            for chunk in chunks {
                match chunk {
                    [b] => c.push(*b).unwrap(),
                    _ => c.extend(chunk).unwrap(),
                }
            }
            c.matched()
        };
        assert!(check(&[&[1], &[2, 3]]));
        assert!(check(&[&[1, 2, 3]]));
        assert!(!check(&[&[1, 2]]));
        assert!(!check(&[&[1, 2, 3], &[4]]));
        assert!(!check(&[&[1, 9, 3]]));
        assert!(!check(&[&[1, 2, 3, 4]]));
        assert!(!check(&[&[2], &[1], &[3]]));
    }
}
