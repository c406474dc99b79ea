use super::*;
use crate::bitmap::{decode_bitmap, BitmapFormat};
use crate::lz_encode::encode_lz;
use olive_test_support::XorShift;

/// Raw header words, deliberately unvalidated so bad headers can be built.
fn header(kind: u32, w: u32, h: u32, stride: u32, top_down: u32) -> Vec<u8> {
    [LZ_MAGIC, LZ_VERSION, kind, w, h, stride, top_down]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect()
}

fn stream(hdr: Vec<u8>, body: &[u8]) -> Vec<u8> {
    let mut s = hdr;
    s.extend_from_slice(body);
    s
}

/// Every proper prefix of a valid stream must fail cleanly.
fn assert_prefixes_fail(data: &[u8], palette: Option<&Palette>) {
    for n in 0..data.len() {
        assert!(
            decode_lz(&data[..n], palette).is_err(),
            "prefix of length {n} decoded"
        );
    }
}

#[test]
fn vector_lz1() {
    let data = stream(
        header(8, 8, 1, 32, 1),
        &[0x00, 0x03, 0x02, 0x01, 0xE0, 0x00, 0x00],
    );
    assert_eq!(
        &data[..LzHeader::LEN],
        &[
            0x20, 0x20, 0x5A, 0x4C, 0, 1, 0, 1, 0, 0, 0, 8, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0x20,
            0, 0, 0, 1
        ]
    );
    let img = decode_lz(&data, None).unwrap();
    assert_eq!(img.pixels, [1, 2, 3, 255].repeat(8));
    assert_prefixes_fail(&data, None);
    let mut long = data.clone();
    long.push(0);
    assert_eq!(decode_lz(&long, None), Err(CodecError::TrailingBytes(1)));
}

#[test]
fn vector_lz2_rgba() {
    let body = [
        0x03, 0x03, 0x02, 0x01, 0x03, 0x02, 0x01, 0x06, 0x05, 0x04, 0x06, 0x05, 0x04, 0x00, 0xFF,
        0x20, 0x00,
    ];
    let data = stream(header(9, 4, 1, 16, 1), &body);
    let img = decode_lz(&data, None).unwrap();
    assert_eq!(
        img.pixels,
        [1, 2, 3, 255, 1, 2, 3, 255, 4, 5, 6, 255, 4, 5, 6, 255]
    );
    assert_prefixes_fail(&data, None);
}

#[test]
fn vector_far_form() {
    // 10000 literal pixels, then `9F FF 07 10` (count 4, distance 10000), then 4 more.
    let px = |i: usize| [(i % 251) as u8, (i / 251) as u8, 7];
    let mut body = Vec::new();
    for chunk in (0..10000).collect::<Vec<_>>().chunks(32) {
        body.push(chunk.len() as u8 - 1);
        for &i in chunk {
            body.extend_from_slice(&px(i));
        }
    }
    body.extend_from_slice(&[0x9F, 0xFF, 0x07, 0x10]);
    body.push(3);
    for i in 0..4 {
        body.extend_from_slice(&px(20000 + i));
    }
    let data = stream(header(8, 10008, 1, 4 * 10008, 1), &body);
    let img = decode_lz(&data, None).unwrap();
    let rgba = |p: [u8; 3]| [p[2], p[1], p[0], 255];
    for i in 0..4 {
        assert_eq!(img.pixels[(10000 + i) * 4..][..4], rgba(px(i)));
        assert_eq!(img.pixels[(10004 + i) * 4..][..4], rgba(px(20000 + i)));
    }
    assert_eq!(img.pixels[9999 * 4..][..4], rgba(px(9999)));
}

#[test]
fn vector_long_length() {
    // Two literal pixels, then `E0 FF 26 01`: count 300 at distance 2.
    let body = [0x01, 1, 1, 1, 2, 2, 2, 0xE0, 0xFF, 0x26, 0x01];
    let data = stream(header(8, 302, 1, 4 * 302, 1), &body);
    let img = decode_lz(&data, None).unwrap();
    for (i, p) in img.pixels.chunks_exact(4).enumerate() {
        let v = if i & 1 == 0 { 1 } else { 2 };
        assert_eq!(p, [v, v, v, 255]);
    }
    assert_prefixes_fail(&data, None);
}

#[test]
fn vector_plt1() {
    let pal = Palette::new(0, vec![0x000000, 0xFFFFFF]);
    let k = [0u8, 0, 0, 255];
    let w = [255u8, 255, 255, 255];
    let be = stream(header(2, 10, 1, 2, 1), &[0x01, 0xA5, 0xC0]);
    let img = decode_lz(&be, Some(&pal)).unwrap();
    assert_eq!(img.pixels, [w, k, w, k, k, w, k, w, w, w].concat());
    assert_prefixes_fail(&be, Some(&pal));
    let le = stream(header(1, 10, 1, 2, 1), &[0x01, 0xA5, 0xC0]);
    let img = decode_lz(&le, Some(&pal)).unwrap();
    assert_eq!(img.pixels, [w, k, w, k, k, w, k, w, k, k].concat());
}

#[test]
fn plt4_modulo_and_plt8_range() {
    let pal = Palette::new(0, vec![0x0000FF, 0x00FF00, 0xFF0000]);
    // PLT4_BE, width 2: byte 0x35 → indices 3, 5 → 0, 2.
    let data = stream(header(4, 2, 1, 1, 1), &[0x00, 0x35]);
    let img = decode_lz(&data, Some(&pal)).unwrap();
    assert_eq!(img.pixels, [0, 0, 255, 255, 255, 0, 0, 255]);
    // PLT4_LE: low nibble first → 5, 3 → 2, 0.
    let data = stream(header(3, 2, 1, 1, 1), &[0x00, 0x35]);
    let img = decode_lz(&data, Some(&pal)).unwrap();
    assert_eq!(img.pixels, [255, 0, 0, 255, 0, 0, 255, 255]);
    // PLT8 index 3 with three entries is an error.
    let data = stream(header(5, 2, 1, 2, 1), &[0x01, 0x02, 0x03]);
    assert_eq!(
        decode_lz(&data, Some(&pal)),
        Err(CodecError::PaletteIndex { index: 3, len: 3 })
    );
    assert_eq!(decode_lz(&data, None), Err(CodecError::MissingPalette));
}

#[test]
fn bottom_up_flips_rows() {
    // RGB32 1×2, bottom-up: first coded pixel is the bottom row.
    let body = [0x01, 1, 1, 1, 2, 2, 2];
    let img = decode_lz(&stream(header(8, 1, 2, 4, 0), &body), None).unwrap();
    assert_eq!(img.pixels, [2, 2, 2, 255, 1, 1, 1, 255]);
    let img = decode_lz(&stream(header(8, 1, 2, 4, 1), &body), None).unwrap();
    assert_eq!(img.pixels, [1, 1, 1, 255, 2, 2, 2, 255]);
}

#[test]
fn rgb16_literals_are_big_endian() {
    // 0x7C00 (red) coded high byte first, then a match of F=1 → count 2 at distance 1.
    let body = [0x00, 0x7C, 0x00, 0x20, 0x00];
    let img = decode_lz(&stream(header(6, 3, 1, 6, 1), &body), None).unwrap();
    assert_eq!(img.pixels, [255, 0, 0, 255].repeat(3));
}

#[test]
fn a8_decodes_to_black_with_alpha() {
    // Literal 9, then F=1 → count 3 at distance 1.
    let body = [0x00, 0x09, 0x20, 0x00];
    let img = decode_lz(&stream(header(11, 4, 1, 4, 1), &body), None).unwrap();
    assert_eq!(img.pixels, [0, 0, 0, 9].repeat(4));
}

#[test]
fn header_validation() {
    let ok = header(8, 8, 1, 32, 1);
    assert!(LzHeader::parse(&ok).is_ok());
    let mut bad = ok.clone();
    bad[0] = 0x21;
    assert!(matches!(
        LzHeader::parse(&bad),
        Err(CodecError::BadMagic(_))
    ));
    let mut bad = ok.clone();
    bad[7] = 2;
    assert!(matches!(
        LzHeader::parse(&bad),
        Err(CodecError::BadVersion(_))
    ));
    for t in [0, 12, 0xFFFF_FFFF] {
        assert_eq!(
            LzHeader::parse(&header(t, 8, 1, 32, 1)),
            Err(CodecError::UnknownLzType(t))
        );
    }
    // RGB strides must be exact.
    assert!(LzHeader::parse(&header(8, 8, 1, 36, 1)).is_err());
    assert!(LzHeader::parse(&header(7, 8, 1, 24, 1)).is_ok());
    assert!(LzHeader::parse(&header(6, 8, 1, 16, 1)).is_ok());
    assert!(LzHeader::parse(&header(11, 8, 1, 8, 1)).is_ok());
    // Palette strides: ceil(width / ppb), nothing else.
    assert!(LzHeader::parse(&header(1, 10, 1, 2, 1)).is_ok());
    assert!(LzHeader::parse(&header(1, 10, 1, 1, 1)).is_err());
    assert!(LzHeader::parse(&header(1, 10, 1, 3, 1)).is_err());
    assert!(LzHeader::parse(&header(1, 16, 1, 2, 1)).is_ok());
    assert!(LzHeader::parse(&header(1, 16, 1, 3, 1)).is_err());
    assert!(LzHeader::parse(&header(3, 5, 1, 3, 1)).is_ok());
    assert!(LzHeader::parse(&header(5, 5, 1, 5, 1)).is_ok());
    // Dimensions.
    assert!(matches!(
        LzHeader::parse(&header(8, 0, 1, 0, 1)),
        Err(CodecError::BadDimensions { .. })
    ));
    assert!(matches!(
        LzHeader::parse(&header(8, 16384, 16384, 65536, 1)),
        Err(CodecError::TooLarge { .. })
    ));
    assert!(matches!(
        LzHeader::parse(&header(8, 0x4000_0000, 1, 0, 1)),
        Err(CodecError::BadDimensions { .. })
    ));
    // Any non-zero top_down means top-down.
    assert!(LzHeader::parse(&header(8, 8, 1, 32, 7)).unwrap().top_down);
    for n in 0..LzHeader::LEN {
        assert!(LzHeader::parse(&ok[..n]).is_err());
    }
    let h = LzHeader::parse(&ok).unwrap();
    assert_eq!(h.to_bytes().to_vec(), ok);
}

#[test]
fn implausible_size_rejected_before_allocation() {
    // 16384 × 4096 claimed with a 3-byte body.
    let data = stream(header(8, 16384, 4096, 65536, 1), &[0, 1, 2]);
    assert!(matches!(
        decode_lz(&data, None),
        Err(CodecError::Truncated { .. })
    ));
}

#[test]
fn token_errors() {
    // Literal overshoot: three pixels into a 2-pixel image.
    let data = stream(header(8, 2, 1, 8, 1), &[0x02, 1, 1, 1, 2, 2, 2, 3, 3, 3]);
    assert!(matches!(
        decode_lz(&data, None),
        Err(CodecError::Overshoot { .. })
    ));
    // Match overshoot: count 7 with one pixel left.
    let data = stream(header(8, 2, 1, 8, 1), &[0x00, 1, 1, 1, 0xE0, 0x00, 0x00]);
    assert!(matches!(
        decode_lz(&data, None),
        Err(CodecError::Overshoot { .. })
    ));
    // Distance 2 from position 1.
    let data = stream(header(8, 2, 1, 8, 1), &[0x00, 1, 1, 1, 0x20, 0x01]);
    assert_eq!(
        decode_lz(&data, None),
        Err(CodecError::MatchBeforeStart {
            position: 1,
            distance: 2
        })
    );
    // A match as the very first token.
    let data = stream(header(8, 2, 1, 8, 1), &[0x40, 0x00, 0, 0, 0]);
    assert!(matches!(
        decode_lz(&data, None),
        Err(CodecError::MatchBeforeStart { .. })
    ));
    // A length extension of 255s that never terminates.
    let mut body = vec![0x00, 1, 1, 1, 0xE0];
    body.extend([255u8; 64]);
    let data = stream(header(8, 2000, 1, 8000, 1), &body);
    assert!(matches!(
        decode_lz(&data, None),
        Err(CodecError::Truncated { .. })
    ));
    // RGBA alpha pass overshoot.
    let body = [0x00, 1, 2, 3, 0x00, 0xFF, 0x00, 0xFF];
    let data = stream(header(9, 1, 1, 4, 1), &body);
    assert!(decode_lz(&data, None).is_err());
}

#[test]
fn xxxa_alpha_into() {
    // Literal 10 20, then F=1 → count 3 at distance 2: 10 20 10 20 10.
    let body = [0x01, 0x10, 0x20, 0x20, 0x01];
    let single_row = stream(header(10, 5, 1, 20, 0), &body);
    assert_eq!(
        decode_lz(&single_row, None),
        Err(CodecError::WrongLzType(10))
    );
    let mut img = Rgba::new_checked(5, 1).unwrap();
    decode_lz_alpha_into(&single_row, &mut img).unwrap();
    let alphas: Vec<u8> = img.pixels.chunks_exact(4).map(|p| p[3]).collect();
    assert_eq!(alphas, [0x10, 0x20, 0x10, 0x20, 0x10]);
    assert!(img.pixels.chunks_exact(4).all(|p| p[..3] == [0, 0, 0]));

    let base: Vec<u8> = (1..=16).collect();
    let body = [0x03, 1, 2, 3, 4];
    let top_down = stream(header(10, 2, 2, 8, 1), &body);
    let mut img = Rgba {
        width: 2,
        height: 2,
        pixels: base.clone(),
    };
    decode_lz_alpha_into(&top_down, &mut img).unwrap();
    assert_eq!(
        img.pixels,
        [1, 2, 3, 1, 5, 6, 7, 2, 9, 10, 11, 3, 13, 14, 15, 4]
    );
    let bottom_up = stream(header(10, 2, 2, 8, 0), &body);
    let mut img = Rgba {
        width: 2,
        height: 2,
        pixels: base.clone(),
    };
    decode_lz_alpha_into(&bottom_up, &mut img).unwrap();
    assert_eq!(
        img.pixels,
        [1, 2, 3, 3, 5, 6, 7, 4, 9, 10, 11, 1, 13, 14, 15, 2]
    );

    // Failures leave the target untouched.
    for n in 0..top_down.len() {
        let mut img = Rgba {
            width: 2,
            height: 2,
            pixels: base.clone(),
        };
        assert!(decode_lz_alpha_into(&top_down[..n], &mut img).is_err());
        assert_eq!(img.pixels, base);
    }
    let mut wrong = Rgba::new_checked(3, 2).unwrap();
    assert!(matches!(
        decode_lz_alpha_into(&top_down, &mut wrong),
        Err(CodecError::SizeMismatch { .. })
    ));
    let mut inconsistent = Rgba {
        width: 2,
        height: 2,
        pixels: vec![0; 3],
    };
    assert!(matches!(
        decode_lz_alpha_into(&top_down, &mut inconsistent),
        Err(CodecError::SizeMismatch { .. })
    ));
    let rgb32 = stream(
        header(8, 2, 2, 8, 1),
        &[[0x03].as_slice(), &[0; 12]].concat(),
    );
    let mut img = Rgba::new_checked(2, 2).unwrap();
    assert_eq!(
        decode_lz_alpha_into(&rgb32, &mut img),
        Err(CodecError::WrongLzType(8))
    );
}

/// A deterministic test picture: flat areas, a gradient and some noise, so the encoder
/// produces literals, runs, row matches and hashed matches.
fn picture(bytes: usize, seed: u32) -> Vec<u8> {
    let mut rng = XorShift(u64::from(seed) | 1);
    (0..bytes)
        .map(|i| {
            let x = rng.next();
            match (i / 97) % 4 {
                0 => 0x55,
                1 => (i / 7) as u8,
                2 => (x >> 56) as u8 & 0x0F,
                _ => (x >> 56) as u8,
            }
        })
        .collect()
}

fn bitmap_format(kind: LzType) -> BitmapFormat {
    match kind {
        LzType::Plt1Le => BitmapFormat::OneBitLe,
        LzType::Plt1Be => BitmapFormat::OneBitBe,
        LzType::Plt4Le => BitmapFormat::FourBitLe,
        LzType::Plt4Be => BitmapFormat::FourBitBe,
        LzType::Plt8 => BitmapFormat::EightBit,
        LzType::Rgb16 => BitmapFormat::Sixteen,
        LzType::Rgb24 => BitmapFormat::TwentyFour,
        LzType::Rgb32 => BitmapFormat::ThirtyTwo,
        LzType::Rgba | LzType::Xxxa => BitmapFormat::Rgba,
        LzType::A8 => BitmapFormat::EightBitAlpha,
    }
}

/// Round trip of every type and orientation through the test encoder, checked against
/// the raw-bitmap decoder on the same source (an independent code path).
#[test]
fn round_trips_all_types() {
    let pal = Palette::new(
        9,
        (0..256u32).map(|i| i.wrapping_mul(0x0001_0305)).collect(),
    );
    for t in 1..=11u32 {
        let kind = LzType::try_from(t).unwrap();
        for (w, h) in [(1, 1), (3, 2), (17, 5), (64, 40), (333, 7)] {
            for top_down in [true, false] {
                let fmt = bitmap_format(kind);
                let stride = fmt.min_row_bytes(w) as usize;
                let src = picture(stride * h as usize, t * 1000 + w);
                let data = encode_lz(kind, w, h, top_down, &src).unwrap();
                let expected =
                    decode_bitmap(fmt, w, h, stride as u32, top_down, &src, Some(&pal)).unwrap();
                if kind == LzType::Xxxa {
                    let mut img = Rgba::new_checked(w, h).unwrap();
                    img.pixels.fill(0x77);
                    decode_lz_alpha_into(&data, &mut img).unwrap();
                    for (got, exp) in img.pixels.chunks_exact(4).zip(expected.pixels.chunks(4)) {
                        assert_eq!(got, [0x77, 0x77, 0x77, exp[3]]);
                    }
                } else {
                    let img = decode_lz(&data, Some(&pal))
                        .unwrap_or_else(|e| panic!("{kind:?} {w}x{h} {top_down}: {e}"));
                    assert_eq!(img, expected, "{kind:?} {w}x{h} top_down={top_down}");
                    if w * h <= 51 {
                        assert_prefixes_fail(&data, Some(&pal));
                    }
                }
            }
        }
    }
}

/// A wide image whose repeats sit more than 8191 pixels back exercises the far form and
/// long lengths through the encoder as well.
#[test]
fn round_trip_far_and_long() {
    let w = 9000u32;
    let mut src = picture(w as usize * 4, 5);
    src.extend_from_within(..);
    src.extend(std::iter::repeat_n(0x42, w as usize * 4));
    for top_down in [true, false] {
        let data = encode_lz(LzType::Rgb32, w, 3, top_down, &src).unwrap();
        assert!(
            data.len() < 9000 * 3 + 200,
            "encoder failed to find matches"
        );
        let img = decode_lz(&data, None).unwrap();
        let expected =
            decode_bitmap(BitmapFormat::ThirtyTwo, w, 3, w * 4, top_down, &src, None).unwrap();
        assert_eq!(img, expected);
    }
}
