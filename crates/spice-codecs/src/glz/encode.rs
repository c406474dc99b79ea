//! A small greedy GLZ *encoder*, for tests, benchmarks and fake servers.
//!
//! It is not the reference encoder. It finds in-image matches at distance 1, one row
//! back and via a single-slot hash of three units, and dictionary matches at the same
//! unit position and via a hash of each referenced image. That is enough to exercise
//! literals, every offset form (narrow, wide, long), image-distance bytes and length
//! extensions.

use super::GlzHeader;
use crate::lz::{LzType, ALPHA_BIAS};
use crate::rgba::pixel_count;
use crate::CodecError;

const HASH_BITS: u32 = 16;
/// Largest offset P the grammar can express (25 bits).
const MAX_OFFSET: usize = (1 << 25) - 1;
/// Largest image distance the wide form can express (3 bytes).
const MAX_WIDE_IMAGE_DIST: u32 = (1 << 24) - 1;

/// A dictionary image the encoder may reference.
#[derive(Debug, Clone, Copy)]
pub struct GlzRef<'a> {
    /// Id distance from the image being encoded (≥ 1, ≤ its `win_head_dist`).
    pub image_dist: u32,
    /// That image's source, in the same layout and LZ type as the image being encoded.
    pub src: &'a [u8],
}

/// Encodes `src` (the source bitmap in stream order) as a complete GLZ stream.
///
/// `src` holds `width * height` pixels: u16le x1r5g5b5 for RGB16, B,G,R for RGB24 and
/// B,G,R,X / B,G,R,A for RGB32 / RGBA. The header (id, `win_head_dist`, top_down) is
/// written as given; `stride` is set to width × bytes per pixel. `refs` must be images of
/// the same type; the caller keeps them consistent with the decoder's dictionary.
pub fn encode_glz(hdr: &GlzHeader, src: &[u8], refs: &[GlzRef<'_>]) -> Result<Vec<u8>, CodecError> {
    let n = pixel_count(hdr.width, hdr.height)?;
    let bpp = match hdr.kind {
        LzType::Rgb16 => 2,
        LzType::Rgb24 => 3,
        LzType::Rgb32 | LzType::Rgba => 4,
        other => return Err(CodecError::WrongLzType(other as u32)),
    };
    let needed = n * bpp;
    let src = src.get(..needed).ok_or(CodecError::Truncated {
        needed: needed as u64,
        available: src.len() as u64,
    })?;
    let mut hdr = *hdr;
    hdr.stride = hdr.width.saturating_mul(bpp as u32);
    let mut out = hdr.to_bytes().to_vec();
    let row = hdr.width as usize;
    let colour = |s: &[u8]| -> Vec<u32> {
        match bpp {
            2 => s
                .chunks_exact(2)
                .map(|c| u32::from(u16::from_le_bytes([c[0], c[1]])))
                .collect(),
            _ => s.chunks_exact(bpp).map(bgr_key).collect(),
        }
    };
    let lit_bytes = if bpp == 2 { 2 } else { 3 };
    let refs_colour: Vec<(u32, Vec<u32>)> =
        refs.iter().map(|r| (r.image_dist, colour(r.src))).collect();
    encode_pass(
        &colour(src),
        &refs_colour,
        row,
        hdr.kind.bias(),
        lit_bytes,
        &mut out,
    );
    if hdr.kind == LzType::Rgba {
        let alpha = |s: &[u8]| -> Vec<u32> { s.chunks_exact(4).map(|c| u32::from(c[3])).collect() };
        let refs_alpha: Vec<(u32, Vec<u32>)> =
            refs.iter().map(|r| (r.image_dist, alpha(r.src))).collect();
        encode_pass(&alpha(src), &refs_alpha, row, ALPHA_BIAS, 1, &mut out);
    }
    Ok(out)
}

fn bgr_key(c: &[u8]) -> u32 {
    u32::from(c[0]) | u32::from(c[1]) << 8 | u32::from(c[2]) << 16
}

fn hash3(u: &[u32]) -> usize {
    let h = u[0]
        .wrapping_mul(0x9E37_79B1)
        .wrapping_add(u[1].wrapping_mul(0x85EB_CA77))
        .wrapping_add(u[2].wrapping_mul(0xC2B2_AE3D));
    (h >> (32 - HASH_BITS)) as usize
}

fn match_len(a: &[u32], b: &[u32]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Hash of every 3-unit window of `u` to its last position.
fn build_table(u: &[u32]) -> Vec<usize> {
    let mut table = vec![usize::MAX; 1 << HASH_BITS];
    for p in 0..u.len().saturating_sub(2) {
        table[hash3(&u[p..])] = p;
    }
    table
}

/// Encodes one pass. `refs` are (image distance, units) of dictionary images.
fn encode_pass(
    units: &[u32],
    refs: &[(u32, Vec<u32>)],
    row: usize,
    bias: usize,
    lit_bytes: usize,
    out: &mut Vec<u8>,
) {
    let ref_tables: Vec<Vec<usize>> = refs.iter().map(|(_, u)| build_table(u)).collect();
    let mut table = vec![usize::MAX; 1 << HASH_BITS];
    let min_count = (bias + 1).max(2);
    let mut lit_start = 0;
    let mut pos = 0;
    while pos < units.len() {
        // (length, image distance, P)
        let mut best = (0usize, 0u32, 0usize);
        let here = &units[pos..];
        let local = |cand: usize, best: &mut (usize, u32, usize)| {
            if cand < pos && pos - cand - 1 <= MAX_OFFSET {
                let len = match_len(here, &units[cand..]);
                if len > best.0 {
                    *best = (len, 0, pos - cand - 1);
                }
            }
        };
        if pos >= 1 {
            local(pos - 1, &mut best);
        }
        if pos >= row {
            local(pos - row, &mut best);
        }
        let h = (here.len() >= 3).then(|| hash3(here));
        if let Some(h) = h {
            let cand = table[h];
            table[h] = pos;
            if cand != usize::MAX {
                local(cand, &mut best);
            }
        }
        for ((dist, r), t) in refs.iter().zip(&ref_tables) {
            let mut remote = |cand: usize| {
                if cand < r.len() && cand <= MAX_OFFSET && *dist <= MAX_WIDE_IMAGE_DIST {
                    let len = match_len(here, &r[cand..]);
                    if len > best.0 {
                        best = (len, *dist, cand);
                    }
                }
            };
            remote(pos);
            if let Some(h) = h {
                if t[h] != usize::MAX {
                    remote(t[h]);
                }
            }
        }
        let (len, image_dist, p) = best;
        if len >= min_count {
            flush_literals(&units[lit_start..pos], lit_bytes, out);
            emit_match(len - bias, image_dist, p, out);
            pos += len;
            lit_start = pos;
        } else {
            pos += 1;
        }
    }
    flush_literals(&units[lit_start..], lit_bytes, out);
}

fn flush_literals(units: &[u32], lit_bytes: usize, out: &mut Vec<u8>) {
    for run in units.chunks(32) {
        out.push((run.len() - 1) as u8);
        for &u in run {
            match lit_bytes {
                1 => out.push(u as u8),
                2 => out.extend_from_slice(&[(u >> 8) as u8, u as u8]),
                _ => out.extend_from_slice(&[u as u8, (u >> 8) as u8, (u >> 16) as u8]),
            }
        }
    }
}

/// Emits a match with length field `field` (≥ 1), image distance `image_dist` and
/// offset `p` (D − 1 for in-image matches), with the encoder's minimal forms.
pub(crate) fn emit_match(field: usize, image_dist: u32, p: usize, out: &mut Vec<u8>) {
    let l = field.min(7);
    let wide = p >= 4096;
    out.push(((l << 5) | usize::from(wide) << 4 | (p & 15)) as u8);
    if l == 7 {
        let mut rest = field - 7;
        while rest >= 255 {
            out.push(255);
            rest -= 255;
        }
        out.push(rest as u8);
    }
    out.push((p >> 4) as u8);
    let i = image_dist;
    if !wide {
        let n: u32 = match i {
            0..64 => 0,
            64..0x4000 => 1,
            0x4000..0x40_0000 => 2,
            _ => 3,
        };
        out.push((n << 6 | (i & 63)) as u8);
        for k in 0..n {
            out.push((i >> (6 + 8 * k)) as u8);
        }
    } else {
        let long = p >= 1 << 17;
        let n: u32 = match i {
            0 => 0,
            1..256 => 1,
            256..0x1_0000 => 2,
            _ => 3,
        };
        out.push((n << 6 | u32::from(long) << 5 | ((p >> 12) & 31) as u32) as u8);
        for k in 0..n {
            out.push((i >> (8 * k)) as u8);
        }
        if long {
            out.push((p >> 17) as u8);
        }
    }
}
