//! Minimal lightcone chip firmware for a Cortex-M4 (`thumbv7em-none-eabihf`).
//!
//! It holds the chip key of the known-answer vectors (`tests/vectors/core.txt`, seed 1: 32
//! bytes of 0x03; with `--features p384`, the P-384 chip of section `[seed 7
//! ecdsa-p384-sha384]`: a scalar of 48 bytes of 0x09), answers the challenge of those vectors from a buffer with the core
//! [`Responder`], measures how much stack `respond` used, and prints both over semihosting:
//!
//! ```text
//! response=<hex of the signed response>
//! respond_stack_bytes=<decimal>
//! ```
//!
//! then exits through semihosting with status 0 (or 1 if `respond` returned an error). The
//! counter starts after 41 and the chip reports 31 337 ns of processing, as in the vectors, so
//! the deterministic signature (Ed25519, or RFC 6979 ECDSA) must equal the vector's `response`
//! bit for bit;
//! `firmware/check.sh` runs it under QEMU (`mps2-an386`) and compares.
//!
//! No reachable panic: the panic handler calls [`lightcone_panic_is_possible`]. When nothing
//! can panic, the linker drops the handler and with it that symbol; `check.sh` fails if the
//! symbol is in the release ELF (the habit of Caliptra's `test_panic_missing`).
#![no_std]
#![no_main]
// Raw pointers are needed to paint and scan the stack for the stack measurement, nowhere else.
#![allow(unsafe_code)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use core::panic::PanicInfo;

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hio};
use lightcone::{RamCounter, Responder, Response, Wire};

/// The Ed25519 image: the chip key of seed 1 of the known-answer vectors.
#[cfg(not(feature = "p384"))]
mod chip {
    use ed25519_dalek::SigningKey;

    /// The device key type behind `Signer`.
    pub type Key = SigningKey;

    /// The chip's Ed25519 secret key (seed 1 of the known-answer vectors: 32 bytes of 0x03).
    /// Real firmware keeps it in a key store or hands signing to a crypto engine through
    /// `Signer`.
    pub fn key() -> Option<Key> {
        Some(SigningKey::from_bytes(&[3; 32]))
    }

    /// The challenge of the known-answer vectors, seed 1 (65 bytes), addressed to this chip.
    pub const CHALLENGE: [u8; 65] = super::CHALLENGE_SEED_1;
}

/// The P-384 image (`--features p384`): a Caliptra-style device key, the chip of section
/// `[seed 7 ecdsa-p384-sha384]` of the known-answer vectors. A Caliptra engine would implement
/// `Signer` over its ECC384 peripheral with the key inside it; this image signs in software
/// (RustCrypto `p384`, RFC 6979), so the signature is deterministic and must equal the vector's.
#[cfg(feature = "p384")]
mod chip {
    use lightcone::wire::Bytes;
    use lightcone::{AnyPublicKey, AnySignature, Error, Signer};

    /// A Caliptra-style P-384 engine behind `Signer`: the engine holds the key and reports the
    /// public key it was provisioned with (as Caliptra's IDevID is read out at manufacturing),
    /// so firmware never derives or encodes a point. Here the engine is the core's software
    /// signer (RustCrypto `p384`, RFC 6979, no panic path).
    pub struct Key {
        engine: p384::ecdsa::SigningKey,
        public: AnyPublicKey,
    }

    impl Signer for Key {
        type PublicKey = AnyPublicKey;
        type Signature = AnySignature;

        fn public_key(&self) -> AnyPublicKey {
            self.public
        }

        fn try_sign(&mut self, message: &[u8]) -> Result<AnySignature, Error> {
            self.engine.try_sign(message)
        }
    }

    /// The chip's P-384 key: secret scalar 48 bytes of 0x09, and its public key as the
    /// known-answer vectors state it. `None` if the scalar were invalid (it is not).
    pub fn key() -> Option<Key> {
        let engine = p384::ecdsa::SigningKey::from_bytes(&[9u8; 48].into()).ok()?;
        Some(Key {
            engine,
            public: AnyPublicKey::P384(Bytes(PUBLIC_KEY)),
        })
    }

    /// The public key of section `[seed 7 ecdsa-p384-sha384]` (uncompressed SEC1, 97 bytes).
    const PUBLIC_KEY: [u8; 97] = super::unhex(
        b"0433aa895ff1a0cd1c6e9e66d063aec6b35cb51e524a0d9def8b7a612582b4ffec4f0089b053399903528e0be7fe5acc09ba9b50526ea1620522103da8772f5e6e742a943d176c7dab0558c413efc34d42807bdd6476803b70b8566acd8e5c40aa",
    );

    /// The challenge of section `[seed 7 ecdsa-p384-sha384]` (65 bytes), addressed to this chip.
    pub const CHALLENGE: [u8; 65] = super::unhex(
        b"03506ef1879d748ce0713b0dd01da32ad25209c77032a57095e55e228f1a42ddaaf400927857aaf64114f561baacb379708c79a1dc1476ab573216a4020764bde5",
    );
}

/// The challenge of the known-answer vectors, seed 1 (65 bytes).
#[cfg_attr(feature = "p384", allow(dead_code))]
const CHALLENGE_SEED_1: [u8; 65] = unhex(
    b"03c5b940ed3f65c391965de8295fc5d25fb62e867fa2f33afe62d5d6b1642e1621023f37203a2476c42566a61cc55c3ca875dbb4cc41c0deb789f8e7bf88183638",
);

/// The counter value before this round (the vectors' first response carries counter 42).
const COUNTER_START_AFTER: u64 = 41;

/// The processing time the chip reports (the vectors use 31 337 ns; this board has no timer).
const PROCESSING_NS: u64 = 31_337;

/// The word painted over free stack before `respond` runs.
const PAINT: u32 = 0x5ac3_5ac3;

/// Stack left unpainted just below the caller's stack pointer, for `paint`'s own frame.
const PAINT_MARGIN: usize = 64;

extern "C" {
    /// End of `.bss`/`.uninit` and start of the free RAM the stack grows into (cortex-m-rt).
    static mut __sheap: u32;
}

#[entry]
fn main() -> ! {
    let Some(key) = chip::key() else {
        write(b"invalid chip key\n");
        debug::exit(debug::EXIT_FAILURE);
        loop {
            cortex_m::asm::wfi();
        }
    };
    let mut responder = Responder::new(key, RamCounter::starting_after(COUNTER_START_AFTER));
    let mut out = [0u8; Response::MAX_SIZE];

    let sp = cortex_m::register::msp::read() as usize;
    let bottom = core::ptr::addr_of_mut!(__sheap);
    let top = sp.saturating_sub(PAINT_MARGIN) as *mut u32;
    paint(bottom, top);
    let result = answer(&mut responder, &mut out);
    let lowest = lowest_touched(bottom, top);
    let stack_bytes = sp.saturating_sub(lowest);

    let status = match result.ok().and_then(|n| out.get(..n)) {
        Some(response) => {
            write(b"response=");
            write_hex(response);
            write(b"\nrespond_stack_bytes=");
            write_decimal(stack_bytes);
            write(b"\n");
            debug::EXIT_SUCCESS
        }
        None => {
            write(b"respond failed\n");
            debug::EXIT_FAILURE
        }
    };
    #[cfg(feature = "reachable-panic")]
    {
        // A bounds check the compiler cannot remove: the stack depth is only known at run time.
        let probe = [1u8; 4];
        if probe[stack_bytes % 5] == 0 {
            write(b"unreachable\n");
        }
    }
    debug::exit(status);
    loop {
        cortex_m::asm::wfi();
    }
}

/// The measured call: kept out of line so its whole frame lies below the painted mark.
#[inline(never)]
fn answer(
    responder: &mut Responder<chip::Key, RamCounter>,
    out: &mut [u8],
) -> Result<usize, lightcone::Error> {
    responder.respond(&chip::CHALLENGE, || PROCESSING_NS, out)
}

/// Paints `[bottom, top)` with [`PAINT`].
#[inline(never)]
fn paint(bottom: *mut u32, top: *mut u32) {
    let mut p = bottom;
    while p < top {
        // SAFETY: `[bottom, top)` is free RAM between the end of statics and the live stack
        // (`top` is below the caller's stack pointer by more than this function's frame).
        unsafe {
            p.write_volatile(PAINT);
            p = p.add(1);
        }
    }
}

/// The lowest address in `[bottom, top)` whose word no longer holds [`PAINT`].
#[inline(never)]
fn lowest_touched(bottom: *mut u32, top: *mut u32) -> usize {
    let mut p = bottom;
    while p < top {
        // SAFETY: as in `paint`; the region is only read.
        if unsafe { p.read_volatile() } != PAINT {
            break;
        }
        // SAFETY: `p < top`, so `p + 1` is at most `top`.
        p = unsafe { p.add(1) };
    }
    p as usize
}

fn write(bytes: &[u8]) {
    if let Ok(mut stdout) = hio::hstdout() {
        let _ = stdout.write_all(bytes);
    }
}

/// Writes bytes as lowercase hex, 32 bytes per semihosting call.
fn write_hex(bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for chunk in bytes.chunks(32) {
        let mut text = [0u8; 64];
        let mut len = 0;
        for (b, pair) in chunk.iter().zip(text.chunks_exact_mut(2)) {
            if let ([hi, lo], Some(h), Some(l)) = (
                pair,
                DIGITS.get(usize::from(b >> 4)),
                DIGITS.get(usize::from(b & 0xf)),
            ) {
                *hi = *h;
                *lo = *l;
                len += 2;
            }
        }
        if let Some(text) = text.get(..len) {
            write(text);
        }
    }
}

fn write_decimal(mut n: usize) {
    let mut text = [0u8; 20];
    let mut start = text.len();
    while let Some(slot) = start.checked_sub(1).and_then(|i| text.get_mut(i)) {
        *slot = b'0' + (n % 10) as u8;
        start -= 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if let Some(text) = text.get(start..) {
        write(text);
    }
}

/// Decodes hex at compile time (a malformed constant fails the build, never the firmware).
// Only ever evaluated by the compiler for `const` items: its indexing and panics are build
// errors, not code in the binary.
#[allow(clippy::indexing_slicing, clippy::panic)]
const fn unhex<const N: usize>(hex: &[u8]) -> [u8; N] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("not lowercase hex"),
        }
    }
    assert!(hex.len() == 2 * N, "wrong hex length");
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]);
        i += 1;
    }
    out
}

#[panic_handler]
fn panic(_: &PanicInfo) -> ! {
    lightcone_panic_is_possible();
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}

/// The sentinel: referenced only from the panic handler, so it survives in the ELF exactly
/// when some panic is reachable. Do not rename it without updating `check.sh`.
#[no_mangle]
#[inline(never)]
fn lightcone_panic_is_possible() {
    core::hint::black_box(());
}
