//! SPICE QUIC decoding (SpiceImage type 1): GRAY, RGB16, RGB24, RGB32 and RGBA.
//!
//! QUIC is a lossless, context-adaptive predictive coder (SFALIC-derived): each channel
//! value is predicted from its left and upper neighbours, and the residual is coded with a
//! Golomb–Rice code whose parameter an adaptive per-context model picks. Flat areas in
//! rows ≥ 1 are covered by adaptive run-length codes. Behaviour follows the clean-room
//! notes (`docs/spice-codecs.md` §2), not any LGPL implementation.
//!
//! Design, for speed in the browser:
//! - decoding writes straight into the [`Rgba`] output, row by row; the row above is read
//!   back from the output for prediction and run detection (5-bit values are recovered
//!   from the expanded bytes, since E(v) >> 3 = v), so there are no extra pixel buffers;
//! - the whole model lives in small fixed arrays (8 buckets × 8 counters per channel) plus
//!   one context row of `width + 1` bytes per channel;
//! - each group/layout combination is a separately monomorphised row loop (const
//!   generics), so the per-pixel code has no layout dispatch;
//! - the bit reader keeps a 64-bit MSB-aligned accumulator, so every codeword (≤ 26 bits)
//!   is decoded from a single 32-bit peek.
//!
//! Malformed streams are rejected strictly (§2.11): symbols above the channel maximum, runs
//! past the row end or past an epoch boundary, and streams that end before the reference
//! encoder's trailing zero word are all errors.

mod bits;
#[cfg(any(test, feature = "test-encoders"))]
pub mod encode;
mod model;

#[cfg(test)]
mod tests;

use crate::pixel::expand5;
use crate::rgba::pixel_count;
use crate::{CodecError, Rgba};
use bits::BitReader;
use model::{Channel, CodeTable, CODES5, CODES8};

/// First header word; the bytes "QUIC" on the wire.
pub const QUIC_MAGIC: u32 = 0x4349_5551;
/// The only header version (major 0, minor 0) servers emit.
pub const QUIC_VERSION: u32 = 0;

/// Header size: five little-endian words.
const HEADER_BYTES: usize = 20;

/// QUIC image types, numbered as in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum QuicType {
    /// 8-bit gray; never sent by spice-server, decoded here to R = G = B.
    Gray = 1,
    /// x1r5g5b5; each 5-bit channel is expanded to 8 bits on output.
    Rgb16 = 2,
    /// 24-bit; the bit stream is identical in form to RGB32.
    Rgb24 = 3,
    /// 32-bit xRGB; the X byte is not coded.
    Rgb32 = 4,
    /// 32-bit ARGB; a separate alpha group follows each colour row.
    Rgba = 5,
}

impl TryFrom<u32> for QuicType {
    type Error = CodecError;

    fn try_from(v: u32) -> Result<Self, CodecError> {
        Ok(match v {
            1 => QuicType::Gray,
            2 => QuicType::Rgb16,
            3 => QuicType::Rgb24,
            4 => QuicType::Rgb32,
            5 => QuicType::Rgba,
            _ => return Err(CodecError::Unsupported("unknown QUIC image type")),
        })
    }
}

/// The validated QUIC header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuicHeader {
    /// Image type.
    pub kind: QuicType,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl QuicHeader {
    /// Parses and validates the 20-byte header, including the crate's size limits, so a
    /// caller can compare the dimensions with the SpiceImage descriptor before decoding.
    pub fn parse(data: &[u8]) -> Result<Self, CodecError> {
        let word = |i: usize| -> Result<u32, CodecError> {
            data.get(4 * i..4 * i + 4)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_le_bytes)
                .ok_or(CodecError::Truncated {
                    needed: HEADER_BYTES as u64,
                    available: data.len() as u64,
                })
        };
        let magic = word(0)?;
        if magic != QUIC_MAGIC {
            return Err(CodecError::BadMagic(magic));
        }
        let version = word(1)?;
        if version != QUIC_VERSION {
            return Err(CodecError::BadVersion(version));
        }
        let kind = QuicType::try_from(word(2)?)?;
        let (width, height) = (word(3)?, word(4)?);
        pixel_count(width, height)?;
        Ok(QuicHeader {
            kind,
            width,
            height,
        })
    }
}

/// Decodes a QUIC stream (the SpiceImage payload's `data`, without `data_size`) to RGBA.
///
/// Alpha is 255 for every type except RGBA, whose alpha is carried verbatim. Rows are
/// top-down (QUIC always codes the top row first).
pub fn decode_quic(data: &[u8]) -> Result<Rgba, CodecError> {
    let h = QuicHeader::parse(data)?;
    let (w, ht) = (h.width as usize, h.height as usize);
    let count = pixel_count(h.width, h.height)?;

    // Cheap plausibility check before allocating: every channel of every pixel of row 0
    // and of columns 0–2 of later rows is coded normally (≥ 1 bit each), and the stream
    // ends with one zero word. This rejects a tiny stream claiming a huge image without
    // allocating for it.
    let channels: u64 = match h.kind {
        QuicType::Gray => 1,
        QuicType::Rgba => 4,
        _ => 3,
    };
    let min_bits = 160 + 32 + channels * (w as u64 + (ht as u64 - 1) * (w.min(3) as u64));
    let have_bits = (data.len() as u64 / 4) * 32;
    if min_bits > have_bits {
        return Err(CodecError::Truncated {
            needed: min_bits.div_ceil(32) * 4,
            available: data.len() as u64,
        });
    }

    // Filling with 255 gives opaque alpha for free; every colour byte is overwritten.
    let mut pixels = vec![255u8; count * 4];
    let mut br = BitReader::new(data, HEADER_BYTES);
    match h.kind {
        QuicType::Gray => {
            let mut ch = [Channel::new(w, 8)];
            let mut st = GroupState::default();
            for y in 0..ht {
                let (prev, cur) = rows(&mut pixels, y, w);
                decode_row::<1, GRAY>(&mut br, &mut st, &mut ch, &CODES8, prev, cur, y, w)?;
                br.check_overrun()?;
            }
        }
        QuicType::Rgb16 => {
            let mut ch = [Channel::new(w, 5), Channel::new(w, 5), Channel::new(w, 5)];
            let mut st = GroupState::default();
            for y in 0..ht {
                let (prev, cur) = rows(&mut pixels, y, w);
                decode_row::<3, RGB5>(&mut br, &mut st, &mut ch, &CODES5, prev, cur, y, w)?;
                br.check_overrun()?;
            }
        }
        QuicType::Rgb24 | QuicType::Rgb32 | QuicType::Rgba => {
            let alpha = h.kind == QuicType::Rgba;
            let mut ch = [Channel::new(w, 8), Channel::new(w, 8), Channel::new(w, 8)];
            let mut st = GroupState::default();
            // The alpha context row costs `w + 1` bytes; only allocate it when needed.
            let mut ach = [Channel::new(if alpha { w } else { 0 }, 8)];
            let mut ast = GroupState::default();
            for y in 0..ht {
                let (prev, cur) = rows(&mut pixels, y, w);
                decode_row::<3, RGB8>(&mut br, &mut st, &mut ch, &CODES8, prev, cur, y, w)?;
                if alpha {
                    decode_row::<1, ALPHA>(&mut br, &mut ast, &mut ach, &CODES8, prev, cur, y, w)?;
                }
                br.check_overrun()?;
            }
        }
    }
    br.check_trailer()?;
    Ok(Rgba {
        width: h.width,
        height: h.height,
        pixels,
    })
}

/// Splits the output into the row above `y` (if any) and row `y`.
fn rows(pixels: &mut [u8], y: usize, w: usize) -> (Option<&[u8]>, &mut [u8]) {
    let stride = 4 * w;
    let (above, rest) = pixels.split_at_mut(y * stride);
    let prev = y.checked_sub(1).map(|p| &above[p * stride..]);
    (prev, &mut rest[..stride])
}

/// Per-group coding state (§2.7, §2.9); carries over from row to row.
#[derive(Default)]
struct GroupState {
    /// Skip counter S: normally decoded pixels left before the next model update.
    skip: u32,
    /// Draw counter k into the pseudo-random table.
    draw: u32,
    /// Run-length state M ∈ [0, 31].
    run_state: u32,
}

// Row layouts, as const-generic selectors so each gets its own specialised loop.
/// R, G, B at bytes 0–2, 8 bits each.
const RGB8: u8 = 0;
/// R, G, B at bytes 0–2, 5 bits each (stored expanded).
const RGB5: u8 = 1;
/// One 8-bit value replicated into R, G and B.
const GRAY: u8 = 2;
/// Alpha at byte 3.
const ALPHA: u8 = 3;

/// Wait mask per epoch (§2.7).
const WAIT_MASK: [u32; 7] = [0, 1, 3, 7, 15, 31, 63];
/// Bucket halving trigger per epoch (§2.7).
const TRIGGER: [u32; 7] = [110, 550, 900, 800, 550, 400, 350];
/// Raster indices per epoch.
const EPOCH_PIXELS: usize = 2048;
/// The last epoch; its boundary (6 × 2048) is the last one that splits runs.
const MAX_EPOCH: usize = 6;

/// Run-length code exponent J[M] (§2.9).
const RUN_J: [u32; 32] = [
    0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 9, 10, 11, 12, 13,
    14, 15,
];

/// Byte offset within a pixel of channel `c` for `MODE`.
#[inline(always)]
fn offset<const MODE: u8>(c: usize) -> usize {
    match MODE {
        ALPHA => 3,
        GRAY => 0,
        _ => c,
    }
}

/// The coded (bpc-bit) value of channel `c` of pixel `x` in `row`.
#[inline(always)]
fn read<const MODE: u8>(row: &[u8], x: usize, c: usize) -> u8 {
    let v = row[4 * x + offset::<MODE>(c)];
    // E(v) = 8v + ⌊v/4⌋ with ⌊v/4⌋ < 8, so the expansion is undone by a shift.
    if MODE == RGB5 {
        v >> 3
    } else {
        v
    }
}

/// Stores the decoded value of channel `c` of pixel `x`.
#[inline(always)]
fn write<const MODE: u8>(row: &mut [u8], x: usize, c: usize, v: u8) {
    match MODE {
        RGB5 => row[4 * x + c] = expand5(u16::from(v)),
        GRAY => row[4 * x..4 * x + 3].fill(v),
        _ => row[4 * x + offset::<MODE>(c)] = v,
    }
}

/// Group equality of pixels `i` and `j` (§2.2): the colour channels, or alpha only.
#[inline(always)]
fn same<const MODE: u8>(row: &[u8], i: usize, j: usize) -> bool {
    let mask: u32 = if MODE == ALPHA {
        0xFF00_0000
    } else {
        0x00FF_FFFF
    };
    (pixel(row, i) ^ pixel(row, j)) & mask == 0
}

/// Pixel `i` of `row` as a little-endian u32 (R in the low byte).
#[inline(always)]
fn pixel(row: &[u8], i: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&row[4 * i..4 * i + 4]);
    u32::from_le_bytes(b)
}

/// Copies the group's channels of pixel `x - 1` into `x .. x + len` (run fill).
///
/// Colour groups copy all four bytes: byte 3 is either the opaque 255 of a non-alpha
/// type or is overwritten by the alpha pass of the same row.
#[inline(always)]
fn fill_run<const MODE: u8>(row: &mut [u8], x: usize, len: usize) {
    let (head, tail) = row.split_at_mut(4 * x);
    let mut src = [0u8; 4];
    src.copy_from_slice(&head[4 * x - 4..]);
    let dst = &mut tail[..4 * len];
    if MODE == ALPHA {
        for px in dst.chunks_exact_mut(4) {
            px[3] = src[3];
        }
    } else {
        for px in dst.chunks_exact_mut(4) {
            px.copy_from_slice(&src);
        }
    }
}

/// The raster index at which a run starting at `g` must end at the latest, other than
/// the row end: the next multiple of 2048 strictly after `g`, if it is an epoch boundary.
#[inline]
fn epoch_limit(g: usize) -> usize {
    let next = (g / EPOCH_PIXELS + 1) * EPOCH_PIXELS;
    if next <= MAX_EPOCH * EPOCH_PIXELS {
        next
    } else {
        usize::MAX
    }
}

/// Decodes one group's coded row `y` (§2.10) into `cur`.
///
/// `prev` is the finished row above (None for row 0). `NCH` is the group's channel count
/// and `MODE` its layout.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn decode_row<const NCH: usize, const MODE: u8>(
    br: &mut BitReader<'_>,
    st: &mut GroupState,
    ch: &mut [Channel; NCH],
    codes: &CodeTable,
    prev: Option<&[u8]>,
    cur: &mut [u8],
    y: usize,
    w: usize,
) -> Result<(), CodecError> {
    let row_start = y * w;
    // K[-1] (§2.8): 0 before row 0, else the symbol of pixel 0 of the row above.
    for c in ch.iter_mut() {
        c.ctx[0] = if y == 0 { 0 } else { c.ctx[1] };
    }
    // Hot per-channel state kept in locals instead of being re-read from memory that was
    // just written: the bucket selected by the context for the next pixel, and the left
    // neighbour's value (0 at x = 0, which is also the row-0 prediction there).
    let mut ctx_bucket = [0usize; NCH];
    let mut left = [0u32; NCH];
    for (cb, c) in ctx_bucket.iter_mut().zip(ch.iter()) {
        *cb = codes.bucket(c.ctx[0]);
    }
    let mut x = 0;
    // Column at which a zero-length run was just decoded; that pixel is coded normally.
    let mut zero_run_at = usize::MAX;
    while x < w {
        if let Some(prev) = prev {
            if x >= 3
                && zero_run_at != x
                && same::<MODE>(prev, x - 1, x)
                && same::<MODE>(cur, x - 1, x - 2)
            {
                let g = row_start + x;
                let limit = (row_start + w).min(epoch_limit(g)) - g;
                let len = br.run_length(&mut st.run_state, limit)?;
                if len == 0 {
                    zero_run_at = x;
                } else {
                    fill_run::<MODE>(cur, x, len);
                    x += len;
                    // The left value is unchanged (the run copied it), but the context
                    // is the stale symbol still stored at x − 1 (§2.8).
                    if x < w {
                        for (cb, c) in ctx_bucket.iter_mut().zip(ch.iter()) {
                            *cb = codes.bucket(c.ctx[x]);
                        }
                    }
                }
                continue;
            }
        }
        let mut sym = [0u8; NCH];
        let mut bucket = [0usize; NCH];
        for c in 0..NCH {
            let chan = &mut ch[c];
            let b = ctx_bucket[c];
            let s = br.symbol(codes, chan.buckets[b].best)?;
            chan.ctx[x + 1] = s;
            ctx_bucket[c] = codes.bucket(s);
            sym[c] = s;
            bucket[c] = b;
            let pred = match prev {
                None => left[c],
                Some(p) => {
                    let above = u32::from(read::<MODE>(p, x, c));
                    if x == 0 {
                        above
                    } else {
                        (left[c] + above) >> 1
                    }
                }
            };
            let v = (pred + codes.offset(s)) & codes.max;
            left[c] = v;
            write::<MODE>(cur, x, c, v as u8);
        }
        // Model update schedule (§2.7).
        if st.skip == 0 {
            let e = ((row_start + x) / EPOCH_PIXELS).min(MAX_EPOCH);
            for c in 0..NCH {
                ch[c].buckets[bucket[c]].update(codes, sym[c], TRIGGER[e]);
            }
            st.skip = model::TABLE[(st.draw & 255) as usize] & WAIT_MASK[e];
            st.draw = st.draw.wrapping_add(1);
        } else {
            st.skip -= 1;
        }
        x += 1;
    }
    Ok(())
}
