//! LZ streams: byte 0 chooses the palette length, the rest is the stream (header
//! included). Also runs the XXXA in-place entry point against a matching image.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spice_codecs::{decode_lz, decode_lz_alpha_into, LzHeader, Palette, Rgba};

fuzz_target!(|data: &[u8]| {
    let Some((&n, stream)) = data.split_first() else {
        return;
    };
    let palette = Palette::new(0, (0..u32::from(n)).map(|i| i * 0x0001_0203).collect());
    if let Ok(img) = decode_lz(stream, Some(&palette)) {
        assert_eq!(
            img.pixels.len(),
            4 * img.width as usize * img.height as usize
        );
    }
    if let Ok(h) = LzHeader::parse(stream) {
        if u64::from(h.width) * u64::from(h.height) <= 1 << 20 {
            if let Ok(mut img) = Rgba::new_checked(h.width, h.height) {
                let _ = decode_lz_alpha_into(stream, &mut img);
            }
        }
    }
});
