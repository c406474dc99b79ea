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

#![allow(
    missing_docs,
    reason = "criterion_main! and the bench harness generate an undocumented main"
)]

use std::hint::black_box;

use criterion::BatchSize;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use olive_test_support::{Image, Scratch, XorShift};
use spice_codecs::glz::encode::{encode_glz, GlzRef};
use spice_codecs::glz::{decode_glz, decode_zlib_glz, GlzDictionary, GlzHeader, GlzOutcome};
use spice_codecs::jpeg::decode_jpeg;
use spice_codecs::lz4::decode_lz4;
use spice_codecs::lz_encode::encode_lz;
use spice_codecs::quic::encode::encode_quic;
use spice_codecs::quic::{decode_quic, QuicType};
use spice_codecs::{decode_bitmap, decode_lz, BitmapFormat, LzType, Palette, Rgba};

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

/// GLZ: a 1024×768 RGB32 frame that references the previous frame, as a desktop update
/// does after scrolling a window (the page moved up 37 rows, a new region painted below,
/// the clock and a cursor-sized block changed). Each iteration decodes it into a
/// dictionary holding the previous frame (set up outside the timing).
fn glz(c: &mut Criterion) {
    let pal = palette();
    let idx = frame_indices();
    let prev = frame_bgrx(&idx, &pal);
    let row = (W * 4) as usize;
    let mut next = prev.clone();
    // Scroll the text area (rows 64.., columns 200..800) up by 37 rows.
    let shift = 37;
    for y in 64..H as usize - shift {
        let (a, b) = (y * row + 200 * 4, (y + shift) * row + 200 * 4);
        let moved = prev[b..b + 600 * 4].to_vec();
        next[a..a + 600 * 4].copy_from_slice(&moved);
    }
    // Fresh content in the exposed strip and a few small changed blocks.
    let mut rng = XorShift(0x9E37_79B9);
    for y in (H as usize - shift)..H as usize {
        for x in 200..800 {
            if rng.below(3) == 0 {
                next[y * row + x * 4..y * row + x * 4 + 3].copy_from_slice(&[10, 20, 30]);
            }
        }
    }
    for (bx, by) in [(950, 10), (500, 300), (120, 700)] {
        for y in by..by + 16 {
            for x in bx..bx + 16 {
                next[y * row + x * 4] ^= 0x55;
            }
        }
    }
    let pixels = u64::from(W * H);
    let mut g = c.benchmark_group("glz");
    g.throughput(Throughput::Elements(pixels));
    for top_down in [true, false] {
        let o = if top_down { "top_down" } else { "bottom_up" };
        let head = |id, whd| GlzHeader {
            kind: LzType::Rgb32,
            width: W,
            height: H,
            stride: W * 4,
            top_down,
            id,
            win_head_dist: whd,
        };
        let first = encode_glz(&head(0, 0), &prev, &[]).unwrap();
        let refs = [GlzRef {
            image_dist: 1,
            src: &prev,
        }];
        let second = encode_glz(&head(1, 1), &next, &refs).unwrap();
        let zlib = miniz_oxide::deflate::compress_to_vec_zlib(&second, 6);
        println!(
            "glz rgb32 {o}: intra {} bytes, with previous frame {} bytes ({:.3} bytes/pixel), \
             zlib {} bytes",
            first.len(),
            second.len(),
            second.len() as f64 / pixels as f64,
            zlib.len()
        );
        let setup = || {
            let mut d = GlzDictionary::new(4 * pixels);
            assert!(matches!(
                decode_glz(&first, &mut d),
                Ok(GlzOutcome::Decoded(_))
            ));
            d
        };
        g.bench_function(BenchmarkId::new("rgb32_intra", o), |b| {
            b.iter_batched(
                || GlzDictionary::new(4 * pixels),
                |mut d| {
                    let r = decode_glz(black_box(&first), &mut d).unwrap();
                    (d, r)
                },
                BatchSize::LargeInput,
            )
        });
        g.bench_function(BenchmarkId::new("rgb32_ref_prev", o), |b| {
            b.iter_batched(
                setup,
                |mut d| {
                    let r = decode_glz(black_box(&second), &mut d).unwrap();
                    (d, r)
                },
                BatchSize::LargeInput,
            )
        });
        g.bench_function(BenchmarkId::new("zlib_rgb32_ref_prev", o), |b| {
            b.iter_batched(
                setup,
                |mut d| {
                    let r = decode_zlib_glz(second.len() as u32, black_box(&zlib), &mut d).unwrap();
                    (d, r)
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

/// The frame as an LZ4 image payload (SpiceImage type 109) in `chunks` blocks, each
/// compressed against the previous 64 KiB like the server's streaming context.
fn lz4_payload(src: &[u8], format: BitmapFormat, top_down: bool, chunks: usize) -> Vec<u8> {
    let mut out = vec![u8::from(top_down), format as u8];
    let row = src.len() / H as usize;
    let chunk = row * (H as usize).div_ceil(chunks);
    for (i, part) in src.chunks(chunk).enumerate() {
        let at = i * chunk;
        let dict = &src[at.saturating_sub(65535)..at];
        let block = if dict.is_empty() {
            lz4_flex::block::compress(part)
        } else {
            lz4_flex::block::compress_with_dict(part, dict)
        };
        out.extend_from_slice(&(block.len() as u32).to_be_bytes());
        out.extend_from_slice(&block);
    }
    out
}

fn lz4(c: &mut Criterion) {
    let pal = palette();
    let bgrx = frame_bgrx(&frame_indices(), &pal);
    let bgr: Vec<u8> = bgrx
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    let pixels = u64::from(W * H);
    let mut g = c.benchmark_group("lz4");
    g.throughput(Throughput::Elements(pixels));
    let cases = [
        ("32bit", BitmapFormat::ThirtyTwo, &bgrx, true, 1),
        ("32bit_bottom_up", BitmapFormat::ThirtyTwo, &bgrx, false, 1),
        ("32bit_8_blocks", BitmapFormat::ThirtyTwo, &bgrx, true, 8),
        ("24bit", BitmapFormat::TwentyFour, &bgr, true, 1),
    ];
    for (name, format, src, top_down, chunks) in cases {
        let payload = lz4_payload(src, format, top_down, chunks);
        println!(
            "lz4 {name}: {} bytes ({:.2} bytes/pixel)",
            payload.len(),
            payload.len() as f64 / pixels as f64
        );
        g.bench_function(name, |b| {
            b.iter(|| decode_lz4(black_box(&payload), W, H).unwrap())
        });
    }
    g.finish();
}

/// JPEG of the synthetic frame, made by libjpeg's `cjpeg` if it is installed (the crate
/// has no JPEG encoder). `OLIVE_JPEG` may instead name any JPEG file to benchmark.
fn jpeg(c: &mut Criterion) {
    let mut inputs: Vec<(String, Vec<u8>)> = Vec::new();
    if let Some(path) = std::env::var_os("OLIVE_JPEG").filter(|p| !p.is_empty()) {
        match std::fs::read(&path) {
            Ok(d) => inputs.push(("file".into(), d)),
            Err(e) => eprintln!("OLIVE_JPEG: cannot read {path:?}: {e}"),
        }
    }
    let rgb: Vec<u8> = frame_bgrx(&frame_indices(), &palette())
        .chunks_exact(4)
        .flat_map(|p| [p[2], p[1], p[0]])
        .collect();
    let dir = Scratch::new("bench-jpeg");
    let src = dir.join("frame.ppm");
    if Image::from_rgb(W, H, &rgb).save_ppm(&src).is_ok() {
        for (name, sample) in [("q85_420", "2x2"), ("q85_444", "1x1")] {
            let out = dir.join(format!("{name}.jpg"));
            let ok = std::process::Command::new("cjpeg")
                .args(["-quality", "85", "-sample", sample, "-outfile"])
                .arg(&out)
                .arg(&src)
                .status()
                .is_ok_and(|s| s.success());
            match std::fs::read(&out) {
                Ok(d) if ok => inputs.push((name.into(), d)),
                _ => eprintln!("jpeg bench: cjpeg unavailable, skipping {name}"),
            }
        }
    }
    drop(dir);
    let mut g = c.benchmark_group("jpeg");
    for (name, data) in &inputs {
        let Ok(img) = decode_jpeg(data) else {
            eprintln!("jpeg bench: {name} does not decode, skipped");
            continue;
        };
        println!(
            "jpeg {name}: {}x{}, {} bytes",
            img.width,
            img.height,
            data.len()
        );
        g.throughput(Throughput::Elements(
            u64::from(img.width) * u64::from(img.height),
        ));
        g.bench_function(name.as_str(), |b| {
            b.iter(|| decode_jpeg(black_box(data)).unwrap())
        });
    }
    g.finish();
}

/// QUIC: the synthetic desktop frame coded as RGB32, RGBA (alpha: an opaque frame with a
/// translucent panel) and RGB16, plus spec vector V9 (640×48 RGBA, noisy gradients). All
/// streams come from the crate's reference-compatible encoder, which reproduces the spec's
/// vectors bit for bit.
fn quic(c: &mut Criterion) {
    let pal = palette();
    let bgrx = frame_bgrx(&frame_indices(), &pal);
    let pixels: Vec<u8> = bgrx
        .chunks_exact(4)
        .enumerate()
        .flat_map(|(i, p)| {
            let (x, y) = (i as u32 % W, i as u32 / W);
            let a = if (300..700).contains(&x) && (200..500).contains(&y) {
                160
            } else {
                255
            };
            [p[2], p[1], p[0], a]
        })
        .collect();
    let frame = Rgba {
        width: W,
        height: H,
        pixels,
    };
    let mut g = c.benchmark_group("quic");
    g.throughput(Throughput::Elements(u64::from(W * H)));
    for (name, kind) in [
        ("rgb32", QuicType::Rgb32),
        ("rgba", QuicType::Rgba),
        ("rgb16", QuicType::Rgb16),
    ] {
        let stream = encode_quic(kind, &frame);
        println!(
            "quic {name}: {} bytes ({:.2} bytes/pixel)",
            stream.len(),
            stream.len() as f64 / f64::from(W * H)
        );
        g.bench_function(BenchmarkId::new("desktop", name), |b| {
            b.iter(|| decode_quic(black_box(&stream)).unwrap())
        });
    }
    g.finish();

    let (vw, vh) = (640u32, 48u32);
    let v9 = Rgba {
        width: vw,
        height: vh,
        pixels: (0..vh)
            .flat_map(|y| (0..vw).map(move |x| (x, y)))
            .flat_map(|(x, y)| {
                let b = if (x / 8 + y / 8) % 2 == 1 { 5 * y } else { 0 };
                let a = if x < 320 { 255 } else { x % 256 };
                [(3 * x + y) as u8, (40 * (x / 16)) as u8, b as u8, a as u8]
            })
            .collect(),
    };
    let stream = encode_quic(QuicType::Rgba, &v9);
    let mut g = c.benchmark_group("quic");
    g.throughput(Throughput::Elements(u64::from(vw * vh)));
    g.bench_function("v9_rgba_640x48", |b| {
        b.iter(|| decode_quic(black_box(&stream)).unwrap())
    });
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

criterion_group!(benches, synthetic, glz, lz4, jpeg, quic, recorded);
criterion_main!(benches);
