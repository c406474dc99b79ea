//! The LZ4 image payload (SpiceImage type 109), `docs/spice-codecs.md` §5.
//!
//! Payload `data` (after the descriptor's `u32le data_size`): `u8 top_down`,
//! `u8 bitmap_format`, then one or more blocks, each a `u32be` compressed length followed
//! by that many bytes of a raw LZ4 block. The blocks form one stream: a match in block k
//! may reach back (at most 65535 bytes) into the output of blocks 0..k of the same image.
//! The concatenated output is the source bitmap, rows tightly packed (stride = width ×
//! bpp) in memory order, i.e. bottom row first unless `top_down`.
//!
//! Each block is decoded with lz4_flex's `decompress_into_with_dict`: the output buffer
//! is split into the already-decoded prefix (its last 64 KiB passed as the external
//! dictionary) and the remaining tail (the block's output). lz4_flex handles a match that
//! starts in the dictionary and continues into the new output, so this is exactly
//! prefix-mode streaming decompression.
//!
//! 32BIT and RGBA decode straight into the output image and are then swizzled (and
//! flipped) in place; 16BIT and 24BIT decode into a scratch buffer that is converted with
//! the bitmap converter, so every decoder agrees on the pixel conversions.

use lz4_flex::block::{decompress_into, decompress_into_with_dict, DecompressError};

use crate::rgba::pixel_count;
use crate::{decode_bitmap, BitmapFormat, CodecError, Rgba};

/// How far back an LZ4 match can reach (16-bit offsets).
const WINDOW: usize = 65535;

/// No LZ4 block expands by more than this factor (a run costs one 255 byte per 255
/// output bytes), so a payload this much smaller than the image is rejected before the
/// image is allocated.
const MAX_RATIO: u64 = 256;

/// Decodes an LZ4 image payload into `width` × `height` RGBA.
///
/// `data` starts at the `top_down` byte (the `u32le data_size` prefix already removed)
/// and must contain exactly the blocks; `width` and `height` come from the image
/// descriptor. The decoded byte count must equal `height × width × bpp` exactly: a
/// shortfall is [`CodecError::Truncated`], a block that would write past the end is
/// [`CodecError::Overshoot`], a further block after the image is complete is
/// [`CodecError::TrailingBytes`]. 32BIT comes out opaque, RGBA keeps its alpha, 16BIT
/// uses the SPICE 5→8-bit expansion. Palette formats and 8BIT_A are
/// [`CodecError::Unsupported`] (spice-gtk rejects them too).
///
/// Errors inside an LZ4 block are reported at block granularity (lz4_flex does not say
/// where in the block it failed): `position` fields hold the output offset, in bytes, at
/// which the failing block starts.
pub fn decode_lz4(data: &[u8], width: u32, height: u32) -> Result<Rgba, CodecError> {
    let count = pixel_count(width, height)?;
    let [top_down, format, ..] = *data else {
        return Err(CodecError::Truncated {
            needed: 2,
            available: data.len() as u64,
        });
    };
    let top_down = top_down != 0;
    let format = BitmapFormat::try_from(format)?;
    let bpp = match format {
        BitmapFormat::Sixteen => 2,
        BitmapFormat::TwentyFour => 3,
        BitmapFormat::ThirtyTwo | BitmapFormat::Rgba => 4,
        _ => {
            return Err(CodecError::Unsupported(
                "LZ4 image in a format other than 16BIT, 24BIT, 32BIT or RGBA",
            ))
        }
    };
    // count ≤ 2^26, so this fits in usize even on wasm32.
    let total = count * bpp;
    let blocks = &data[2..];
    if (blocks.len() as u64).saturating_mul(MAX_RATIO) < total as u64 {
        return Err(CodecError::Truncated {
            needed: (total as u64).div_ceil(MAX_RATIO) + 2,
            available: data.len() as u64,
        });
    }

    if bpp == 4 {
        let mut img = Rgba::new_checked(width, height)?;
        inflate_blocks(blocks, &mut img.pixels)?;
        finish_32(&mut img, format == BitmapFormat::Rgba, top_down);
        Ok(img)
    } else {
        let mut raw = vec![0u8; total];
        inflate_blocks(blocks, &mut raw)?;
        // Stride is width × bpp ≤ 16384 × 3, and decode_bitmap re-checks everything.
        decode_bitmap(
            format,
            width,
            height,
            width * bpp as u32,
            top_down,
            &raw,
            None,
        )
    }
}

/// Decodes the block sequence as one LZ4 stream filling `out` exactly.
fn inflate_blocks(blocks: &[u8], out: &mut [u8]) -> Result<(), CodecError> {
    let total = out.len();
    let mut at = 0usize; // offset into `blocks`
    let mut pos = 0usize; // bytes of `out` decoded so far
    while at < blocks.len() {
        // Offsets reported to the caller are relative to the payload (top_down byte = 0).
        let available = blocks.len() as u64 + 2;
        let len_bytes = blocks.get(at..at + 4).ok_or(CodecError::Truncated {
            needed: at as u64 + 6,
            available,
        })?;
        let len = u32::from_be_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]);
        let start = at + 4;
        let block = start
            .checked_add(len as usize)
            .and_then(|end| blocks.get(start..end))
            .ok_or(CodecError::Truncated {
                needed: start as u64 + u64::from(len) + 2,
                available,
            })?;
        if pos == total {
            return Err(CodecError::TrailingBytes((blocks.len() - at) as u64));
        }
        let (done, tail) = out.split_at_mut(pos);
        let result = if pos == 0 {
            decompress_into(block, tail)
        } else {
            decompress_into_with_dict(block, tail, &done[pos.saturating_sub(WINDOW)..])
        };
        pos += result.map_err(|e| block_error(e, pos, total, block.len(), start))?;
        at = start + block.len();
    }
    if pos != total {
        return Err(CodecError::Truncated {
            needed: total as u64,
            available: pos as u64,
        });
    }
    Ok(())
}

/// Maps an lz4_flex error for the block whose output starts at `pos` (and whose input
/// starts at `start` in the block area) to the closest [`CodecError`].
fn block_error(
    e: DecompressError,
    pos: usize,
    total: usize,
    block_len: usize,
    start: usize,
) -> CodecError {
    match e {
        DecompressError::OutputTooSmall { expected, .. } => CodecError::Overshoot {
            position: pos as u64,
            count: expected as u64,
            total: total as u64,
        },
        DecompressError::OffsetZero | DecompressError::OffsetOutOfBounds => {
            CodecError::MatchBeforeStart {
                position: pos as u64,
                distance: 0,
            }
        }
        // LiteralOutOfBounds, ExpectedAnotherByte (and anything future): the block ended
        // mid-sequence.
        _ => CodecError::Truncated {
            needed: (start + block_len) as u64 + 3,
            available: (start + block_len) as u64 + 2,
        },
    }
}

/// In place: B,G,R,X/A → R,G,B,A (A = 255 unless `keep_alpha`), then flip bottom-up rows.
fn finish_32(img: &mut Rgba, keep_alpha: bool, top_down: bool) {
    if keep_alpha {
        for px in img.pixels.chunks_exact_mut(4) {
            px.swap(0, 2);
        }
    } else {
        for px in img.pixels.chunks_exact_mut(4) {
            px.swap(0, 2);
            px[3] = 255;
        }
    }
    if !top_down {
        let row = img.row_bytes();
        let half = img.height as usize / 2 * row;
        let len = img.pixels.len();
        let (upper, rest) = img.pixels.split_at_mut(half);
        let lower = &mut rest[len - 2 * half..];
        for (a, b) in upper
            .chunks_exact_mut(row)
            .zip(lower.rchunks_exact_mut(row))
        {
            a.swap_with_slice(b);
        }
    }
}
