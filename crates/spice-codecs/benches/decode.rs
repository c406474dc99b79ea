//! Decode throughput on a synthetic 1024×768 desktop frame, plus optional recorded frames.
//!
//! Run: `cargo bench -p spice-codecs -- --warm-up-time 1 --measurement-time 3`.
//!
//! # Recorded frames (`OLIVE_FRAMES`)
//!
//! If the environment variable `OLIVE_FRAMES` names a readable file, its images are
//! benchmarked too (an empty or unset value skips this). The file is a sequence of
//! records, each `u32le len` followed by `len` bytes:
//!
//! - an 18-byte SpiceImage descriptor: `u64le id, u8 type, u8 flags, u32le width,
//!   u32le height`;
//! - the type's payload exactly as on the wire, except that wherever the wire carries a
//!   palette pointer or cached palette id, the palette itself is inlined in its wire form
//!   (`u64le unique, u16le n, u32le entries[n]`):
//!   - type 0 BITMAP: `u8 format, u8 flags (TOP_DOWN = 4), u32le width, u32le height,
//!     u32le stride, [palette if format ≤ 5], data`;
//!   - type 100 LZ_PLT: `u8 flags, u32le data_size, palette, data`;
//!   - type 101 LZ_RGB: `u32le data_size, data`.
//!
//! Other image types are skipped (their decoders live elsewhere or do not exist yet).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use spice_codecs::lz_encode::encode_lz;
use spice_codecs::{decode_bitmap, decode_lz, BitmapFormat, LzType, Palette};

const W: u32 = 1024;
const H: u32 = 768;

/// Palette indices of a desktop-like frame: a title-bar gradient, a flat side panel, a
/// noisy "photo" tile and a page of text made of 64 pseudo-random 7×11 glyphs, so the LZ
/// stream mixes long runs, row matches, short matches and literals like a real desktop.
fn frame_indices() -> Vec<u8> {
    let hash = |a: usize, b: usize, c: usize| {
        let mut h = (a as u32)
            .wrapping_mul(0x9E37_79B1)
            .wrapping_add((b as u32).wrapping_mul(0x85EB_CA77))
            .wrapping_add((c as u32).wrapping_mul(0xC2B2_AE3D));
        h ^= h >> 15;
        h = h.wrapping_mul(0x2C1B_3C6D);
        h ^ (h >> 13)
    };
    let mut px = vec![0u8; (W * H) as usize];
    for (y, row) in px.chunks_exact_mut(W as usize).enumerate() {
        for (x, p) in row.iter_mut().enumerate() {
            *p = if y < 64 {
                // Title-bar gradient.
                ((x + 2 * y) / 5) as u8
            } else if x < 200 {
                // Side panel with a few separator lines.
                if y % 40 == 0 {
                    90
                } else {
                    200
                }
            } else if x >= 800 && y >= 500 {
                // Photo-like tile: smooth base plus noise.
                ((x + y) / 4 + (hash(x, y, 7) % 9) as usize) as u8
            } else {
                let (cx, cy, gx, gy) = (x / 9, y / 16, x % 9, y % 16);
                let blank = cx % 11 == 10 || hash(cx, cy, 1) % 7 == 0;
                let glyph = (hash(cx, cy, 2) % 64) as usize;
                if !blank && gy < 11 && gx < 7 && hash(glyph, gx, gy) % 3 == 0 {
                    10
                } else {
                    255
                }
            };
        }
    }
    px
}

fn palette() -> Palette {
    Palette::new(
        1,
        (0..256u32)
            .map(|i| (i << 16) | ((255 - i) << 8) | ((i * 7) & 255))
            .collect(),
    )
}

/// The same frame as 32-bit B,G,R,X.
fn frame_bgrx(indices: &[u8], pal: &Palette) -> Vec<u8> {
    indices
        .iter()
        .flat_map(|&i| pal.entries[usize::from(i)].to_le_bytes())
        .collect()
}

fn synthetic(c: &mut Criterion) {
    let pal = palette();
    let idx = frame_indices();
    let bgrx = frame_bgrx(&idx, &pal);
    let pixels = u64::from(W * H);

    let mut g = c.benchmark_group("bitmap");
    g.throughput(Throughput::Elements(pixels));
    for top_down in [true, false] {
        let o = if top_down { "top_down" } else { "bottom_up" };
        g.bench_function(BenchmarkId::new("32bit", o), |b| {
            b.iter(|| {
                decode_bitmap(
                    BitmapFormat::ThirtyTwo,
                    W,
                    H,
                    W * 4,
                    top_down,
                    black_box(&bgrx),
                    None,
                )
                .unwrap()
            })
        });
        g.bench_function(BenchmarkId::new("8bit", o), |b| {
            b.iter(|| {
                decode_bitmap(
                    BitmapFormat::EightBit,
                    W,
                    H,
                    W,
                    top_down,
                    black_box(&idx),
                    Some(&pal),
                )
                .unwrap()
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("lz");
    g.throughput(Throughput::Elements(pixels));
    for top_down in [true, false] {
        let o = if top_down { "top_down" } else { "bottom_up" };
        let stream = encode_lz(LzType::Rgb32, W, H, top_down, &bgrx).unwrap();
        println!(
            "lz rgb32 {o}: {} bytes ({:.2} bytes/pixel)",
            stream.len(),
            stream.len() as f64 / pixels as f64
        );
        g.bench_function(BenchmarkId::new("rgb32", o), |b| {
            b.iter(|| decode_lz(black_box(&stream), None).unwrap())
        });
    }
    g.finish();
}

/// One recorded image, ready to decode.
enum Recorded {
    Bitmap {
        format: BitmapFormat,
        width: u32,
        height: u32,
        stride: u32,
        top_down: bool,
        palette: Option<Palette>,
        data: Vec<u8>,
    },
    Lz {
        palette: Option<Palette>,
        data: Vec<u8>,
    },
}

impl Recorded {
    fn decode(&self) -> Option<spice_codecs::Rgba> {
        match self {
            Recorded::Bitmap {
                format,
                width,
                height,
                stride,
                top_down,
                palette,
                data,
            } => decode_bitmap(
                *format,
                *width,
                *height,
                *stride,
                *top_down,
                data,
                palette.as_ref(),
            )
            .ok(),
            Recorded::Lz { palette, data } => decode_lz(data, palette.as_ref()).ok(),
        }
    }
}

fn u32le(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn parse_record(r: &[u8]) -> Option<Recorded> {
    let kind = *r.get(8)?;
    let p = r.get(18..)?;
    match kind {
        0 => {
            let format = BitmapFormat::try_from(*p.first()?).ok()?;
            let flags = *p.get(1)?;
            let (width, height, stride) = (u32le(p, 2)?, u32le(p, 6)?, u32le(p, 10)?);
            let mut at = 14;
            let palette = if (format as u8) <= 5 {
                let (pal, used) = Palette::parse(p.get(at..)?).ok()?;
                at += used;
                Some(pal)
            } else {
                None
            };
            Some(Recorded::Bitmap {
                format,
                width,
                height,
                stride,
                top_down: flags & 4 != 0,
                palette,
                data: p.get(at..)?.to_vec(),
            })
        }
        100 => {
            let size = u32le(p, 1)? as usize;
            let (pal, used) = Palette::parse(p.get(5..)?).ok()?;
            let data = p.get(5 + used..)?.get(..size)?.to_vec();
            Some(Recorded::Lz {
                palette: Some(pal),
                data,
            })
        }
        101 => {
            let size = u32le(p, 0)? as usize;
            Some(Recorded::Lz {
                palette: None,
                data: p.get(4..)?.get(..size)?.to_vec(),
            })
        }
        _ => None,
    }
}

fn recorded(c: &mut Criterion) {
    let Some(path) = std::env::var_os("OLIVE_FRAMES").filter(|p| !p.is_empty()) else {
        return;
    };
    let file = match std::fs::read(&path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("OLIVE_FRAMES: cannot read {path:?}: {e}");
            return;
        }
    };
    let mut frames = Vec::new();
    let mut skipped = 0;
    let mut rest = file.as_slice();
    while let Some(len) = u32le(rest, 0) {
        let Some(rec) = rest.get(4..4 + len as usize) else {
            break;
        };
        rest = &rest[4 + len as usize..];
        match parse_record(rec) {
            Some(f) if f.decode().is_some() => frames.push(f),
            _ => skipped += 1,
        }
    }
    let pixels: u64 = frames
        .iter()
        .filter_map(|f| f.decode())
        .map(|i| u64::from(i.width) * u64::from(i.height))
        .sum();
    eprintln!(
        "OLIVE_FRAMES: {} decodable images ({pixels} pixels), {skipped} skipped",
        frames.len()
    );
    if frames.is_empty() {
        return;
    }
    let mut g = c.benchmark_group("recorded");
    g.throughput(Throughput::Elements(pixels));
    g.bench_function("all", |b| {
        b.iter(|| {
            for f in &frames {
                black_box(f.decode());
            }
        })
    });
    g.finish();
}

criterion_group!(benches, synthetic, recorded);
criterion_main!(benches);
