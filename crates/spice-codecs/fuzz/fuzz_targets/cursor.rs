//! Cursor shapes: byte 0 is the type, bytes 1–4 the size, the rest the shape data.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spice_codecs::decode_cursor;

fuzz_target!(|data: &[u8]| {
    let Some((head, body)) = data.split_first_chunk::<5>() else {
        return;
    };
    let width = u16::from_le_bytes([head[1], head[2]]);
    let height = u16::from_le_bytes([head[3], head[4]]);
    if let Ok(c) = decode_cursor(head[0], width, height, body) {
        assert_eq!(
            c.rgba.pixels.len(),
            4 * usize::from(width) * usize::from(height)
        );
    }
});
