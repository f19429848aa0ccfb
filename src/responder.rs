//! The chip side: challenge bytes in, signed response bytes out, into a caller's buffer.

use crate::error::Error;
use crate::ids::ChipId;
use crate::message::{Challenge, Response, ResponseBody};
use crate::signed::Signed;
use crate::signing::{Signer, PROTOCOL_VERSION};
use crate::wire::Wire;

/// A counter that only goes up, across resets: firmware backs it with flash or fuses and must
/// persist the new value before returning it, or a reset could replay old counter values.
pub trait MonotonicCounter {
    /// Advances the counter and returns the new value.
    fn advance(&mut self) -> Result<u64, Error>;
}

/// A counter in RAM, for hosts that persist it themselves and for tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RamCounter(u64);

impl RamCounter {
    /// A counter whose next value will be `last + 1`.
    pub const fn starting_after(last: u64) -> Self {
        RamCounter(last)
    }

    /// The last value handed out (0 before the first).
    pub const fn last(&self) -> u64 {
        self.0
    }
}

impl MonotonicCounter for RamCounter {
    fn advance(&mut self) -> Result<u64, Error> {
        self.0 = self.0.checked_add(1).ok_or(Error::CounterExhausted)?;
        Ok(self.0)
    }
}

/// Answers challenges for one chip: checks the challenge is for this chip, advances the counter,
/// signs, and writes the response.
pub struct Responder<S: Signer, C: MonotonicCounter> {
    signer: S,
    counter: C,
    chip_id: ChipId,
}

impl<S: Signer, C: MonotonicCounter> Responder<S, C> {
    /// A responder for the chip whose key `signer` holds.
    pub fn new(signer: S, counter: C) -> Self {
        let chip_id = ChipId::of(&signer.public_key());
        Responder {
            signer,
            counter,
            chip_id,
        }
    }

    /// This chip's id.
    pub const fn chip_id(&self) -> ChipId {
        self.chip_id
    }

    /// Answers `challenge` into `out` (at least [`Response::MAX_SIZE`] bytes) and returns the
    /// number of bytes written.
    ///
    /// `processing_ns` is called just before signing and returns the chip timer's reading since
    /// the challenge arrived (return 0 if the chip has no timer). Challenges addressed to another
    /// chip are refused with [`Error::WrongChip`], before the counter advances.
    pub fn respond(
        &mut self,
        challenge: &[u8],
        processing_ns: impl FnOnce() -> u64,
        out: &mut [u8],
    ) -> Result<usize, Error> {
        if out.len() < Response::MAX_SIZE {
            return Err(Error::BufferTooSmall);
        }
        let challenge = Challenge::decode(challenge)?;
        if challenge.chip_id != self.chip_id {
            return Err(Error::WrongChip);
        }
        let counter = self.counter.advance()?;
        let body = ResponseBody {
            version: PROTOCOL_VERSION,
            challenge,
            counter,
            processing_ns: processing_ns(),
        };
        let response = Signed::sign(body, &mut self.signer)?;
        Ok(response.encode(out)?.len())
    }
}
