//! LZ4 image payloads: bytes 0–3 choose the claimed width and height (1–256 each), the
//! rest is the payload (top_down, format, blocks).
#![no_main]

use libfuzzer_sys::fuzz_target;
use spice_codecs::lz4::decode_lz4;

fuzz_target!(|data: &[u8]| {
    let Some((dims, payload)) = data.split_first_chunk::<4>() else {
        return;
    };
    let w = u32::from(u16::from_le_bytes([dims[0], dims[1]]) % 256) + 1;
    let h = u32::from(u16::from_le_bytes([dims[2], dims[3]]) % 256) + 1;
    if let Ok(img) = decode_lz4(payload, w, h) {
        assert_eq!((img.width, img.height), (w, h));
        assert_eq!(img.pixels.len(), 4 * w as usize * h as usize);
    }
});
