//! Raw bitmaps: the first 11 bytes choose format, size, stride slack, orientation and
//! palette length; the rest is pixel data.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spice_codecs::{decode_bitmap, BitmapFormat, Palette};

fuzz_target!(|data: &[u8]| {
    let Some((head, body)) = data.split_first_chunk::<11>() else {
        return;
    };
    let Ok(format) = BitmapFormat::try_from(head[0] % 11) else {
        return;
    };
    let width = u32::from(u16::from_le_bytes([head[1], head[2]]));
    let height = u32::from(u16::from_le_bytes([head[3], head[4]]));
    // Mostly-plausible strides, with the occasional wild one.
    let stride = if head[5] == 0xFF {
        u32::from_le_bytes([head[6], head[7], head[8], head[9]])
    } else {
        (format.min_row_bytes(width) as u32).saturating_add(u32::from(head[5] % 8))
    };
    let top_down = head[6] & 1 != 0;
    let entries = (0..u32::from(head[10])).map(|i| i * 0x0101_0101).collect();
    let palette = Palette::new(0, entries);
    if let Ok(img) = decode_bitmap(
        format,
        width,
        height,
        stride,
        top_down,
        body,
        Some(&palette),
    ) {
        assert_eq!(img.pixels.len(), 4 * width as usize * height as usize);
    }
});
