//! Uncompressed SPICE bitmaps (SpiceImage type BITMAP).
//!
//! Rows are converted one at a time straight into the output, reading source rows in
//! reverse for bottom-up bitmaps, so there is no intermediate copy and no flip pass.
//! Palette policy for out-of-range indices (shared with LZ palette images):
//! 4-bit indices wrap modulo the palette length, 1- and 8-bit ones are errors.

use crate::indexed::{IndexedRows, Packing};
use crate::palette::Palette;
use crate::pixel::rgb16_to_rgba;
use crate::rgba::pixel_count;
use crate::{CodecError, Rgba};

/// SPICE bitmap formats, numbered as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum BitmapFormat {
    /// 1 bpp palette, bit 0 is the leftmost pixel.
    OneBitLe = 1,
    /// 1 bpp palette, bit 7 is the leftmost pixel.
    OneBitBe = 2,
    /// 4 bpp palette, low nibble is the leftmost pixel.
    FourBitLe = 3,
    /// 4 bpp palette, high nibble is the leftmost pixel.
    FourBitBe = 4,
    /// 8 bpp palette.
    EightBit = 5,
    /// x1r5g5b5, little-endian u16.
    Sixteen = 6,
    /// B, G, R.
    TwentyFour = 7,
    /// B, G, R, X (X ignored).
    ThirtyTwo = 8,
    /// B, G, R, A.
    Rgba = 9,
    /// 8-bit alpha only.
    EightBitAlpha = 10,
}

impl TryFrom<u8> for BitmapFormat {
    type Error = CodecError;

    fn try_from(v: u8) -> Result<Self, CodecError> {
        Ok(match v {
            1 => BitmapFormat::OneBitLe,
            2 => BitmapFormat::OneBitBe,
            3 => BitmapFormat::FourBitLe,
            4 => BitmapFormat::FourBitBe,
            5 => BitmapFormat::EightBit,
            6 => BitmapFormat::Sixteen,
            7 => BitmapFormat::TwentyFour,
            8 => BitmapFormat::ThirtyTwo,
            9 => BitmapFormat::Rgba,
            10 => BitmapFormat::EightBitAlpha,
            _ => return Err(CodecError::UnknownFormat(v)),
        })
    }
}

impl BitmapFormat {
    /// Bits per pixel in the source data.
    pub fn bits_per_pixel(self) -> u32 {
        match self {
            BitmapFormat::OneBitLe | BitmapFormat::OneBitBe => 1,
            BitmapFormat::FourBitLe | BitmapFormat::FourBitBe => 4,
            BitmapFormat::EightBit | BitmapFormat::EightBitAlpha => 8,
            BitmapFormat::Sixteen => 16,
            BitmapFormat::TwentyFour => 24,
            BitmapFormat::ThirtyTwo | BitmapFormat::Rgba => 32,
        }
    }

    /// Smallest valid stride for `width` pixels.
    pub fn min_row_bytes(self, width: u32) -> u64 {
        (u64::from(width) * u64::from(self.bits_per_pixel())).div_ceil(8)
    }

    fn packing(self) -> Option<Packing> {
        match self {
            BitmapFormat::OneBitLe => Some(Packing::OneLe),
            BitmapFormat::OneBitBe => Some(Packing::OneBe),
            BitmapFormat::FourBitLe => Some(Packing::FourLe),
            BitmapFormat::FourBitBe => Some(Packing::FourBe),
            BitmapFormat::EightBit => Some(Packing::Eight),
            _ => None,
        }
    }
}

/// Decodes a raw bitmap to RGBA.
///
/// `stride` is the byte distance between source rows; `data` must hold `stride * height`
/// bytes (extra bytes are ignored, since the wire message may carry more). Rows are
/// stored bottom-up unless `top_down`. `palette` is required for the 1/4/8-bit formats and
/// ignored otherwise. Formats without alpha come out opaque; RGBA and 8BIT_A keep their
/// alpha (8BIT_A as black with that alpha). Use [`Rgba::force_opaque`] to drop alpha.
pub fn decode_bitmap(
    format: BitmapFormat,
    width: u32,
    height: u32,
    stride: u32,
    top_down: bool,
    data: &[u8],
    palette: Option<&Palette>,
) -> Result<Rgba, CodecError> {
    pixel_count(width, height)?;
    let min_row = format.min_row_bytes(width);
    if u64::from(stride) < min_row {
        return Err(CodecError::BadStride { stride, width });
    }
    let needed = u64::from(stride) * u64::from(height);
    if (data.len() as u64) < needed {
        return Err(CodecError::Truncated {
            needed,
            available: data.len() as u64,
        });
    }
    let indexed = match format.packing() {
        Some(p) => Some(IndexedRows::new(p, palette)?),
        None => None,
    };
    // Both fit in usize: they are bounded by data.len().
    let min_row = min_row as usize;
    let stride = stride as usize;
    let h = height as usize;

    let mut img = Rgba::new_checked(width, height)?;
    let row_out = img.row_bytes();
    for (y, out) in img.pixels.chunks_exact_mut(row_out).enumerate() {
        let sy = if top_down { y } else { h - 1 - y };
        let start = sy * stride;
        let src = data
            .get(start..start + min_row)
            .ok_or(CodecError::Truncated {
                needed: (start + min_row) as u64,
                available: data.len() as u64,
            })?;
        if let Some(ix) = &indexed {
            ix.expand_row(src, out)?;
        } else {
            convert_direct_row(format, src, out);
        }
    }
    Ok(img)
}

/// Converts one row of a non-palette format; `src` holds exactly the row's pixels.
fn convert_direct_row(format: BitmapFormat, src: &[u8], out: &mut [u8]) {
    let px = out.chunks_exact_mut(4);
    match format {
        BitmapFormat::ThirtyTwo => {
            for (o, s) in px.zip(src.chunks_exact(4)) {
                o.copy_from_slice(&[s[2], s[1], s[0], 255]);
            }
        }
        BitmapFormat::Rgba => {
            for (o, s) in px.zip(src.chunks_exact(4)) {
                o.copy_from_slice(&[s[2], s[1], s[0], s[3]]);
            }
        }
        BitmapFormat::TwentyFour => {
            for (o, s) in px.zip(src.chunks_exact(3)) {
                o.copy_from_slice(&[s[2], s[1], s[0], 255]);
            }
        }
        BitmapFormat::Sixteen => {
            for (o, s) in px.zip(src.chunks_exact(2)) {
                o.copy_from_slice(&rgb16_to_rgba(u16::from_le_bytes([s[0], s[1]])));
            }
        }
        BitmapFormat::EightBitAlpha => {
            for (o, &a) in px.zip(src) {
                o.copy_from_slice(&[0, 0, 0, a]);
            }
        }
        // Palette formats never reach here; leaving the row zeroed is harmless.
        _ => {}
    }
}

#[cfg(test)]
mod tests;
