//! GLZ and ZLIB_GLZ streams against a populated dictionary.
//!
//! Byte 0 bit 0 chooses ZLIB_GLZ (then bytes 1–4 are glz_data_size, u32le); the rest is
//! the stream. The dictionary holds ids 0–7 of every GLZ type, none evicted, so mutated
//! references hit present images, missing ones, other types and out-of-range units.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use spice_codecs::glz::encode::{encode_glz, GlzRef};
use spice_codecs::glz::{decode_glz, decode_zlib_glz, GlzDictionary, GlzHeader, GlzOutcome};
use spice_codecs::LzType;

const KINDS: [LzType; 4] = [LzType::Rgb16, LzType::Rgb24, LzType::Rgb32, LzType::Rgba];

/// The dictionary's images as GLZ streams, encoded once per process.
fn streams() -> &'static [Vec<u8>] {
    static STREAMS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    STREAMS.get_or_init(encode_all)
}

fn dictionary() -> GlzDictionary {
    let mut dict = GlzDictionary::new(1 << 16);
    for data in streams() {
        let r = decode_glz(data, &mut dict);
        assert!(matches!(r, Ok(GlzOutcome::Decoded(_))), "{r:?}");
    }
    dict
}

fn encode_all() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut sources: Vec<Vec<u8>> = Vec::new();
    for id in 0..8u64 {
        let kind = KINDS[id as usize % 4];
        let (w, h) = (16u32, 4 + id as u32);
        let src: Vec<u8> = (0..w * h * 4)
            .map(|i| ((i / 7) as u8).wrapping_mul(31) ^ id as u8)
            .collect();
        let hdr = GlzHeader {
            kind,
            width: w,
            height: h,
            stride: 0,
            top_down: id % 3 != 0,
            id,
            win_head_dist: id as u32,
        };
        let refs: Vec<GlzRef<'_>> = if id >= 4 {
            vec![GlzRef {
                image_dist: 4,
                src: &sources[id as usize - 4],
            }]
        } else {
            Vec::new()
        };
        out.push(encode_glz(&hdr, &src, &refs).expect("encodable"));
        sources.push(src);
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut dict = dictionary();
    let window = dict.window_pixels();
    let r = if mode & 1 == 0 {
        decode_glz(rest, &mut dict)
    } else {
        let Some(size) = rest.get(..4) else {
            return;
        };
        let size = u32::from_le_bytes([size[0], size[1], size[2], size[3]]);
        decode_zlib_glz(size, &rest[4..], &mut dict)
    };
    if let Ok(GlzOutcome::Decoded(img)) = r {
        assert_eq!(
            img.pixels.len(),
            4 * img.width as usize * img.height as usize
        );
    }
    assert!(dict.stored_pixels() <= 2 * window);
});
