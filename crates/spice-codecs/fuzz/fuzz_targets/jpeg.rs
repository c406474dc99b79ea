//! JPEG and JPEG_ALPHA. The whole input is tried as a JPEG; then byte 0 is the
//! JPEG_ALPHA flags, bytes 1–2 a jpeg_size (u16le) and the rest the data.
//!
//! Note: do not pass `-a`/`--debug-assertions` to `cargo fuzz`: zune-jpeg 0.4.21's scalar
//! IDCT then trips an `i32` overflow check on hostile coefficients (it wraps harmlessly
//! in release builds, which is cargo-fuzz's default).
#![no_main]

use libfuzzer_sys::fuzz_target;
use spice_codecs::jpeg::{decode_jpeg, decode_jpeg_alpha};

fuzz_target!(|data: &[u8]| {
    if let Ok(img) = decode_jpeg(data) {
        assert_eq!(
            img.pixels.len(),
            4 * img.width as usize * img.height as usize
        );
    }
    if let [flags, a, b, rest @ ..] = data {
        let _ = decode_jpeg_alpha(*flags, u32::from(u16::from_le_bytes([*a, *b])), rest);
    }
});
