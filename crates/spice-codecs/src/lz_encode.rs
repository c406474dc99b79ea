//! A small, greedy LZ *encoder* producing streams in the SPICE LZ grammar.
//!
//! It exists so the decoder can be tested on every type and orientation, benchmarked on
//! realistic frames, and fed by fake servers in integration tests. It is not the
//! reference encoder: it finds matches only at distance 1, one row back, and via a
//! single-slot hash of three units, which is enough to exercise literals, near and far
//! offsets and length extensions.

use crate::lz::{LzHeader, LzType, ALPHA_BIAS};
use crate::rgba::pixel_count;
use crate::CodecError;

/// Largest distance the grammar can express (far form, 16 bits + 8192).
const MAX_DISTANCE: usize = 65535 + 8192;
const HASH_BITS: u32 = 16;

/// Encodes `src`, the source bitmap in memory (stream) order, as a complete LZ stream.
///
/// `src` holds `stride * height` bytes with the canonical stride for `kind` (packed
/// bytes for palette types; 2, 3, 4 or 1 bytes per pixel for RGB16 (u16le), RGB24
/// (B,G,R), RGB32/RGBA/XXXA (B,G,R,X/A) and A8). `top_down` is only recorded in the
/// header: it says how the caller laid out `src`.
pub fn encode_lz(
    kind: LzType,
    width: u32,
    height: u32,
    top_down: bool,
    src: &[u8],
) -> Result<Vec<u8>, CodecError> {
    pixel_count(width, height)?;
    let stride = match kind.packing() {
        Some(p) => p.row_bytes(width),
        None => width * kind.bytes_per_pixel(),
    };
    let hdr = LzHeader {
        kind,
        width,
        height,
        stride,
        top_down,
    };
    let needed = stride as usize * height as usize;
    let src = src.get(..needed).ok_or(CodecError::Truncated {
        needed: needed as u64,
        available: src.len() as u64,
    })?;
    let mut out = hdr.to_bytes().to_vec();
    let row_units = if kind.is_palette() {
        stride as usize
    } else {
        width as usize
    };
    let bias = kind.bias();
    match kind {
        LzType::Rgb16 => {
            let u: Vec<u32> = src
                .chunks_exact(2)
                .map(|c| u32::from(u16::from_le_bytes([c[0], c[1]])))
                .collect();
            encode_pass(&u, row_units, bias, 2, &mut out);
        }
        LzType::Rgb24 => {
            let u: Vec<u32> = src.chunks_exact(3).map(bgr_key).collect();
            encode_pass(&u, row_units, bias, 3, &mut out);
        }
        LzType::Rgb32 | LzType::Rgba => {
            let u: Vec<u32> = src.chunks_exact(4).map(bgr_key).collect();
            encode_pass(&u, row_units, bias, 3, &mut out);
            if kind == LzType::Rgba {
                let a: Vec<u32> = src.chunks_exact(4).map(|c| u32::from(c[3])).collect();
                encode_pass(&a, row_units, ALPHA_BIAS, 1, &mut out);
            }
        }
        LzType::Xxxa => {
            let a: Vec<u32> = src.chunks_exact(4).map(|c| u32::from(c[3])).collect();
            encode_pass(&a, row_units, bias, 1, &mut out);
        }
        _ => {
            let u: Vec<u32> = src.iter().map(|&b| u32::from(b)).collect();
            encode_pass(&u, row_units, bias, 1, &mut out);
        }
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

fn match_len(u: &[u32], cand: usize, pos: usize) -> usize {
    u[pos..]
        .iter()
        .zip(&u[cand..])
        .take_while(|(a, b)| a == b)
        .count()
}

/// Encodes one pass of `units`, each written as `lit_bytes` literal bytes.
fn encode_pass(units: &[u32], row_units: usize, bias: usize, lit_bytes: usize, out: &mut Vec<u8>) {
    let mut table = vec![usize::MAX; 1 << HASH_BITS];
    let mut lit_start = 0;
    let mut pos = 0;
    let min_count = bias + 1;
    while pos < units.len() {
        let mut best = (0, 0);
        let mut consider = |cand: usize| {
            if cand < pos && pos - cand <= MAX_DISTANCE {
                let len = match_len(units, cand, pos);
                if len > best.0 {
                    best = (len, pos - cand);
                }
            }
        };
        if pos >= 1 {
            consider(pos - 1);
        }
        if pos >= row_units {
            consider(pos - row_units);
        }
        if pos + 3 <= units.len() {
            let h = hash3(&units[pos..]);
            let cand = table[h];
            table[h] = pos;
            if cand != usize::MAX {
                consider(cand);
            }
        }
        let (len, distance) = best;
        if len >= min_count {
            flush_literals(&units[lit_start..pos], lit_bytes, out);
            emit_match(len - bias, distance, out);
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

/// Emits a match with length field `field` (≥ 1) at `distance` (1 ..= MAX_DISTANCE).
fn emit_match(field: usize, distance: usize, out: &mut Vec<u8>) {
    let far = distance > 8191;
    let (high, low) = if far {
        (31, 255)
    } else {
        ((distance - 1) >> 8, (distance - 1) & 255)
    };
    let l = field.min(7);
    out.push(((l << 5) | high) as u8);
    if l == 7 {
        let mut rest = field - 7;
        while rest >= 255 {
            out.push(255);
            rest -= 255;
        }
        out.push(rest as u8);
    }
    out.push(low as u8);
    if far {
        let d = distance - 8192;
        out.extend_from_slice(&[(d >> 8) as u8, d as u8]);
    }
}
