//! LZ4 image payload (SpiceImage type 109): round trips through lz4_flex's block
//! compressor, multi-block streams with cross-block matches, malformed framing, and
//! no-panic sweeps.

use lz4_flex::block::{compress, compress_with_dict, decompress_into};
use spice_codecs::lz4::decode_lz4;
use spice_codecs::{decode_bitmap, BitmapFormat, CodecError};

use olive_test_support::XorShift;

fn bpp(format: BitmapFormat) -> usize {
    match format {
        BitmapFormat::Sixteen => 2,
        BitmapFormat::TwentyFour => 3,
        _ => 4,
    }
}

/// A source bitmap in memory order: noisy rows, every fourth row repeating an earlier
/// one, so LZ4 finds both literals and matches.
fn source(format: BitmapFormat, w: usize, h: usize, seed: u64) -> Vec<u8> {
    let mut rng = XorShift(seed);
    let row = w * bpp(format);
    let mut src = vec![0u8; row * h];
    for y in 0..h {
        if y % 4 == 3 {
            src.copy_within((y - 3) * row..(y - 2) * row, y * row);
        } else {
            for b in &mut src[y * row..(y + 1) * row] {
                *b = (rng.next() % 7) as u8 * 37;
            }
        }
    }
    src
}

/// The wire payload: top_down, format, then one LZ4 block per chunk of `rows_per_block`
/// rows, each compressed with the previous 64 KiB of source as its dictionary (what an
/// LZ4 streaming context does).
fn payload(
    format: BitmapFormat,
    top_down: bool,
    src: &[u8],
    row: usize,
    rows_per_block: usize,
) -> Vec<u8> {
    let mut out = vec![u8::from(top_down), format as u8];
    let chunk = row * rows_per_block;
    let mut at = 0;
    while at < src.len() {
        let end = (at + chunk).min(src.len());
        let dict = &src[at.saturating_sub(65535)..at];
        let block = if dict.is_empty() {
            compress(&src[at..end])
        } else {
            compress_with_dict(&src[at..end], dict)
        };
        out.extend_from_slice(&(block.len() as u32).to_be_bytes());
        out.extend_from_slice(&block);
        at = end;
    }
    out
}

/// Splits a payload into its blocks (for tests that tamper with the framing).
fn blocks(p: &[u8]) -> Vec<&[u8]> {
    let mut v = Vec::new();
    let mut at = 2;
    while at < p.len() {
        let n = u32::from_be_bytes(p[at..at + 4].try_into().unwrap()) as usize;
        v.push(&p[at + 4..at + 4 + n]);
        at += 4 + n;
    }
    v
}

const FORMATS: [BitmapFormat; 4] = [
    BitmapFormat::Sixteen,
    BitmapFormat::TwentyFour,
    BitmapFormat::ThirtyTwo,
    BitmapFormat::Rgba,
];

#[test]
fn round_trips_every_format_orientation_and_chunking() {
    for format in FORMATS {
        for (w, h) in [(1, 1), (5, 3), (37, 29), (300, 200)] {
            let row = w * bpp(format);
            let src = source(format, w, h, 7 + w as u64);
            for top_down in [true, false] {
                let expected =
                    decode_bitmap(format, w as u32, h as u32, row as u32, top_down, &src, None)
                        .unwrap();
                for rows_per_block in [h, 1, 7] {
                    let p = payload(format, top_down, &src, row, rows_per_block);
                    let img = decode_lz4(&p, w as u32, h as u32).unwrap();
                    assert_eq!(
                        img, expected,
                        "{format:?} {w}x{h} top_down={top_down} rows/block={rows_per_block}"
                    );
                }
            }
        }
    }
}

#[test]
fn pixel_conversions() {
    // One pixel per format, bottom-up 1×2 so the flip is visible too.
    let cases: [(BitmapFormat, Vec<u8>, [u8; 8]); 4] = [
        (
            BitmapFormat::Sixteen,
            // row0 (bottom): R=31 G=0 B=16 bit15 set; row1 (top): G=31
            vec![0x10, 0xFC, 0xE0, 0x03],
            [0, 255, 0, 255, 255, 0, 132, 255],
        ),
        (
            BitmapFormat::TwentyFour,
            vec![1, 2, 3, 4, 5, 6],
            [6, 5, 4, 255, 3, 2, 1, 255],
        ),
        (
            BitmapFormat::ThirtyTwo,
            vec![1, 2, 3, 9, 4, 5, 6, 9],
            [6, 5, 4, 255, 3, 2, 1, 255],
        ),
        (
            BitmapFormat::Rgba,
            vec![1, 2, 3, 9, 4, 5, 6, 10],
            [6, 5, 4, 10, 3, 2, 1, 9],
        ),
    ];
    for (format, src, want) in cases {
        let p = payload(format, false, &src, src.len() / 2, 2);
        assert_eq!(decode_lz4(&p, 1, 2).unwrap().pixels, want, "{format:?}");
        let p = payload(format, true, &src, src.len() / 2, 2);
        let img = decode_lz4(&p, 1, 2).unwrap();
        assert_eq!(img.pixels[..4], want[4..], "{format:?}");
    }
}

#[test]
fn later_blocks_reference_earlier_output() {
    // 32 rows of 1 KiB noise, then the same 32 rows again: block 2 is (almost) one long
    // match into block 1, which only decodes with block 1's output as history.
    let (w, h) = (256usize, 64usize);
    let row = w * 4;
    let mut src = source(BitmapFormat::ThirtyTwo, w, h / 2, 99);
    src.extend_from_within(..);
    for rows_per_block in [32, 16, 8] {
        let p = payload(BitmapFormat::ThirtyTwo, true, &src, row, rows_per_block);
        let bl = blocks(&p);
        let half = bl.len() / 2;
        // The second half of the blocks repeats the first half's output.
        for b in &bl[half..] {
            assert!(
                b.len() < rows_per_block * row / 4,
                "block of {} bytes is not a back-reference",
                b.len()
            );
            let mut scratch = vec![0u8; rows_per_block * row];
            assert!(decompress_into(b, &mut scratch).is_err());
        }
        let img = decode_lz4(&p, w as u32, h as u32).unwrap();
        let expected = decode_bitmap(
            BitmapFormat::ThirtyTwo,
            w as u32,
            h as u32,
            row as u32,
            true,
            &src,
            None,
        )
        .unwrap();
        assert_eq!(img, expected);
    }
}

#[test]
fn match_crossing_block_boundary_and_window() {
    // Blocks of 100 KiB: matches reach back up to 64 KiB, partly into the previous block
    // (dictionary) and partly into the current one.
    let (w, h) = (1000usize, 120usize);
    let row = w * 3;
    let mut rng = XorShift(5);
    let pattern: Vec<u8> = (0..60_001).map(|_| rng.next() as u8).collect();
    let src: Vec<u8> = pattern.iter().copied().cycle().take(row * h).collect();
    let p = payload(BitmapFormat::TwentyFour, false, &src, row, 34);
    assert!(blocks(&p).len() >= 4);
    assert!(
        p.len() < src.len() / 2,
        "pattern was not matched across blocks"
    );
    let img = decode_lz4(&p, w as u32, h as u32).unwrap();
    let expected = decode_bitmap(
        BitmapFormat::TwentyFour,
        w as u32,
        h as u32,
        row as u32,
        false,
        &src,
        None,
    )
    .unwrap();
    assert_eq!(img, expected);
}

#[test]
fn reference_before_start_is_error() {
    let src = source(BitmapFormat::ThirtyTwo, 64, 8, 3);
    let p = payload(BitmapFormat::ThirtyTwo, true, &src[..64 * 4 * 4], 256, 4);
    let mut q = vec![1, 8];
    // A block compressed against a dictionary the decoder never saw.
    let block = compress_with_dict(&src[..256 * 4], &src[256 * 4..]);
    q.extend_from_slice(&(block.len() as u32).to_be_bytes());
    q.extend_from_slice(&block);
    assert!(matches!(
        decode_lz4(&q, 64, 4),
        Err(CodecError::MatchBeforeStart { .. })
    ));
    // Sanity: the honest payload decodes.
    decode_lz4(&p, 64, 4).unwrap();
}

#[test]
fn framing_errors() {
    let (w, h) = (16usize, 6usize);
    let src = source(BitmapFormat::ThirtyTwo, w, h, 11);
    let p = payload(BitmapFormat::ThirtyTwo, true, &src, w * 4, 2);
    let (w, h) = (w as u32, h as u32);
    decode_lz4(&p, w, h).unwrap();

    // Header.
    assert!(matches!(
        decode_lz4(&p[..1], w, h),
        Err(CodecError::Truncated { .. })
    ));
    for (fmt, want) in [
        (0, CodecError::UnknownFormat(0)),
        (11, CodecError::UnknownFormat(11)),
    ] {
        let mut q = p.clone();
        q[1] = fmt;
        assert_eq!(decode_lz4(&q, w, h), Err(want));
    }
    for fmt in [1, 5, 10] {
        let mut q = p.clone();
        q[1] = fmt;
        assert!(matches!(
            decode_lz4(&q, w, h),
            Err(CodecError::Unsupported(_))
        ));
    }

    // Length prefix larger than what is left, or cut short.
    let bl = blocks(&p);
    let last_prefix = p.len() - bl[2].len() - 4;
    let mut q = p.clone();
    q[last_prefix + 3] += 1;
    assert!(matches!(
        decode_lz4(&q, w, h),
        Err(CodecError::Truncated { .. })
    ));
    let mut q = p.clone();
    q[last_prefix..last_prefix + 4].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        decode_lz4(&q, w, h),
        Err(CodecError::Truncated { .. })
    ));
    for cut in 1..4 {
        assert!(matches!(
            decode_lz4(&p[..last_prefix + cut], w, h),
            Err(CodecError::Truncated { .. })
        ));
    }
    // Length prefix smaller than the block: the block is cut and the rest is garbage.
    let mut q = p.clone();
    q[last_prefix + 3] -= 1;
    assert!(decode_lz4(&q, w, h).is_err());
    // A zero-length block is not a valid LZ4 block.
    let mut q = p.clone();
    q.extend_from_slice(&[0, 0, 0, 0]);
    assert!(decode_lz4(&q, w, h).is_err());

    // Short output: the last block missing.
    assert_eq!(
        decode_lz4(&p[..last_prefix], w, h),
        Err(CodecError::Truncated {
            needed: u64::from(w * h * 4),
            available: u64::from(w * 4 * 4)
        })
    );
    // Long output: the descriptor claims fewer rows than the blocks hold.
    assert!(matches!(
        decode_lz4(&p, w, h - 1),
        Err(CodecError::Overshoot { .. })
    ));
    // Extra block after the image is complete.
    let mut q = p.clone();
    q.extend_from_slice(&p[last_prefix..]);
    assert!(matches!(
        decode_lz4(&q, w, h),
        Err(CodecError::TrailingBytes(_))
    ));
    // No blocks at all.
    assert!(matches!(
        decode_lz4(&p[..2], w, h),
        Err(CodecError::Truncated { .. })
    ));
}

#[test]
fn dimensions_checked_before_allocation() {
    let p = payload(BitmapFormat::ThirtyTwo, true, &[1, 2, 3, 4], 4, 1);
    assert!(matches!(
        decode_lz4(&p, 0, 1),
        Err(CodecError::BadDimensions { .. })
    ));
    assert!(matches!(
        decode_lz4(&p, 16385, 1),
        Err(CodecError::BadDimensions { .. })
    ));
    assert!(matches!(
        decode_lz4(&p, 16384, 16384),
        Err(CodecError::TooLarge { .. })
    ));
    // Legal dimensions, but a 15-byte payload cannot expand to 256 MiB.
    assert!(matches!(
        decode_lz4(&p, 16384, 4096),
        Err(CodecError::Truncated { .. })
    ));
}

#[test]
fn truncation_sweep_never_panics() {
    for format in FORMATS {
        let (w, h) = (23usize, 9usize);
        let src = source(format, w, h, 17);
        for top_down in [true, false] {
            let p = payload(format, top_down, &src, w * bpp(format), 4);
            for n in 0..p.len() {
                assert!(
                    decode_lz4(&p[..n], w as u32, h as u32).is_err(),
                    "prefix {n}"
                );
            }
        }
    }
}

#[test]
fn mutations_never_panic() {
    let mut rng = XorShift(0x1234_5678_9ABC_DEF1);
    for format in FORMATS {
        let (w, h) = (19usize, 11usize);
        let src = source(format, w, h, 23);
        for top_down in [true, false] {
            for rows_per_block in [11, 3] {
                let p = payload(format, top_down, &src, w * bpp(format), rows_per_block);
                for _ in 0..1500 {
                    let m = rng.mutate(&p);
                    let (mw, mh) = match rng.below(4) {
                        0 => (w as u32 + 1, h as u32),
                        1 => (w as u32, h as u32 - 1),
                        _ => (w as u32, h as u32),
                    };
                    if let Ok(img) = decode_lz4(&m, mw, mh) {
                        assert_eq!(img.pixels.len(), 4 * mw as usize * mh as usize);
                    }
                }
            }
        }
    }
}
