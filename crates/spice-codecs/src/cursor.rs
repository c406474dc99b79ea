//! SPICE cursor shapes (cursor channel SET/INIT) to RGBA.
//!
//! Browsers cannot XOR a cursor with the screen, so "invert" pixels are drawn as an
//! opaque black/white checkerboard (by pixel parity) — visible on any background, like
//! spice-gtk's grey checker — and reported via [`CursorImage::has_invert`] so a caller
//! may prefer a software cursor for such shapes.
//!
//! For the colour types, a set AND-mask bit makes the pixel transparent, except over a
//! white source pixel, which (XOR-ing white) means invert. Other colours under a set mask
//! would XOR-tint the screen, which is approximated as transparent.
//!
//! All masks and pixel rows are top-down. Bytes beyond the shape's data are ignored,
//! because the shape is "the rest of the message".

use crate::pixel::{rgb16_to_rgba, xrgb_to_rgba};
use crate::{CodecError, Rgba};

/// Largest accepted cursor side; far above what any guest sends, small enough that a
/// hostile header costs at most 1 MiB.
pub const MAX_CURSOR_DIMENSION: u16 = 512;

const TRANSPARENT: [u8; 4] = [0, 0, 0, 0];
const BLACK: [u8; 4] = [0, 0, 0, 255];
const WHITE: [u8; 4] = [255, 255, 255, 255];

/// A decoded cursor shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorImage {
    /// The shape, straight (non-premultiplied) alpha.
    pub rgba: Rgba,
    /// Whether some pixels were "invert screen" and were drawn as a checkerboard.
    pub has_invert: bool,
}

/// Decodes cursor shape data of SPICE cursor type `kind` (0 ALPHA, 1 MONO, 2 COLOR4,
/// 4 COLOR16, 6 COLOR32); COLOR8, COLOR24 and unknown types are
/// [`CodecError::Unsupported`], as in spice-gtk.
pub fn decode_cursor(
    kind: u8,
    width: u16,
    height: u16,
    data: &[u8],
) -> Result<CursorImage, CodecError> {
    if width == 0 || height == 0 || width > MAX_CURSOR_DIMENSION || height > MAX_CURSOR_DIMENSION {
        return Err(CodecError::BadDimensions {
            width: u32::from(width),
            height: u32::from(height),
        });
    }
    let w = usize::from(width);
    let h = usize::from(height);
    let mask_row = w.div_ceil(8);
    let mask_len = mask_row * h;
    let mut img = Rgba::new_checked(u32::from(width), u32::from(height))?;
    let mut has_invert = false;

    match kind {
        0 => {
            let src = take(data, 0, w * h * 4)?;
            for (o, s) in img.pixels.chunks_exact_mut(4).zip(src.chunks_exact(4)) {
                o.copy_from_slice(&[s[2], s[1], s[0], s[3]]);
            }
        }
        1 => {
            let and = take(data, 0, mask_len)?;
            let xor = take(data, mask_len, mask_len)?;
            for_each_pixel(&mut img, |x, y| {
                let a = mask_bit(and, mask_row, x, y);
                let x_ = mask_bit(xor, mask_row, x, y);
                match (a, x_) {
                    (true, false) => TRANSPARENT,
                    (false, false) => BLACK,
                    (false, true) => WHITE,
                    (true, true) => {
                        has_invert = true;
                        checker(x, y)
                    }
                }
            });
        }
        2 => {
            let row = w.div_ceil(2);
            let px = take(data, 0, row * h)?;
            let pal = take(data, row * h, 64)?;
            let and = take(data, row * h + 64, mask_len)?;
            let mut colors = [0u32; 16];
            for (c, b) in colors.iter_mut().zip(pal.chunks_exact(4)) {
                *c = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
            for_each_pixel(&mut img, |x, y| {
                let b = px[y * row + x / 2];
                let idx = if x & 1 == 0 { b >> 4 } else { b & 15 };
                let c = colors[usize::from(idx)];
                masked(
                    mask_bit(and, mask_row, x, y),
                    c & 0xFF_FFFF == 0xFF_FFFF,
                    xrgb_to_rgba(c),
                    x,
                    y,
                    &mut has_invert,
                )
            });
        }
        4 => {
            let px = take(data, 0, w * h * 2)?;
            let and = take(data, w * h * 2, mask_len)?;
            for_each_pixel(&mut img, |x, y| {
                let i = (y * w + x) * 2;
                let v = u16::from_le_bytes([px[i], px[i + 1]]);
                masked(
                    mask_bit(and, mask_row, x, y),
                    v & 0x7FFF == 0x7FFF,
                    rgb16_to_rgba(v),
                    x,
                    y,
                    &mut has_invert,
                )
            });
        }
        6 => {
            let px = take(data, 0, w * h * 4)?;
            let and = take(data, w * h * 4, mask_len)?;
            for_each_pixel(&mut img, |x, y| {
                let i = (y * w + x) * 4;
                let v = u32::from_le_bytes([px[i], px[i + 1], px[i + 2], px[i + 3]]);
                masked(
                    mask_bit(and, mask_row, x, y),
                    v & 0xFF_FFFF == 0xFF_FFFF,
                    xrgb_to_rgba(v),
                    x,
                    y,
                    &mut has_invert,
                )
            });
        }
        3 => return Err(CodecError::Unsupported("cursor type COLOR8")),
        5 => return Err(CodecError::Unsupported("cursor type COLOR24")),
        _ => return Err(CodecError::Unsupported("unknown cursor type")),
    }
    Ok(CursorImage {
        rgba: img,
        has_invert,
    })
}

/// `data[start..start + len]`, or a truncation error; sizes here are bounded by the
/// 512×512 limit, so the arithmetic cannot overflow.
fn take(data: &[u8], start: usize, len: usize) -> Result<&[u8], CodecError> {
    data.get(start..start + len).ok_or(CodecError::Truncated {
        needed: (start + len) as u64,
        available: data.len() as u64,
    })
}

/// Cursors are tiny, so clarity beats a chunked inner loop here.
fn for_each_pixel(img: &mut Rgba, mut f: impl FnMut(usize, usize) -> [u8; 4]) {
    let w = img.width as usize;
    for (y, row) in img.pixels.chunks_exact_mut(w * 4).enumerate() {
        for (x, px) in row.chunks_exact_mut(4).enumerate() {
            px.copy_from_slice(&f(x, y));
        }
    }
}

/// MSB-first mask bit; callers have checked the mask holds `row * height` bytes.
fn mask_bit(mask: &[u8], row: usize, x: usize, y: usize) -> bool {
    mask.get(y * row + x / 8)
        .is_some_and(|b| b & (0x80 >> (x % 8)) != 0)
}

fn checker(x: usize, y: usize) -> [u8; 4] {
    if (x + y) & 1 == 0 {
        BLACK
    } else {
        WHITE
    }
}

fn masked(
    and: bool,
    white: bool,
    color: [u8; 4],
    x: usize,
    y: usize,
    has_invert: &mut bool,
) -> [u8; 4] {
    match (and, white) {
        (false, _) => color,
        (true, true) => {
            *has_invert = true;
            checker(x, y)
        }
        (true, false) => TRANSPARENT,
    }
}

#[cfg(test)]
mod tests;
