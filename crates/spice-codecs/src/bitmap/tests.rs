use super::*;

/// Lays out display-order rows in memory order with the given stride (padding 0xEE).
fn layout(rows: &[&[u8]], stride: usize, top_down: bool) -> Vec<u8> {
    let mut ordered: Vec<&[u8]> = rows.to_vec();
    if !top_down {
        ordered.reverse();
    }
    let mut out = Vec::new();
    for r in ordered {
        out.extend_from_slice(r);
        out.resize(out.len() + stride - r.len(), 0xEE);
    }
    out
}

/// Decodes in both orientations and checks the same display-order result.
fn check(
    format: BitmapFormat,
    w: u32,
    rows: &[&[u8]],
    stride: usize,
    palette: Option<&Palette>,
    expected: &[u8],
) {
    for top_down in [true, false] {
        let data = layout(rows, stride, top_down);
        let img = decode_bitmap(
            format,
            w,
            rows.len() as u32,
            stride as u32,
            top_down,
            &data,
            palette,
        )
        .unwrap_or_else(|e| panic!("{format:?} top_down={top_down}: {e}"));
        assert_eq!(img.width, w);
        assert_eq!(img.pixels, expected, "{format:?} top_down={top_down}");
        // Every proper prefix of the data must be rejected.
        for n in 0..data.len() {
            assert!(decode_bitmap(
                format,
                w,
                rows.len() as u32,
                stride as u32,
                top_down,
                &data[..n],
                palette
            )
            .is_err());
        }
    }
}

fn pal(entries: &[u32]) -> Palette {
    Palette::new(1, entries.to_vec())
}

#[test]
fn format_numbers() {
    for v in 1..=10u8 {
        assert_eq!(BitmapFormat::try_from(v).unwrap() as u8, v);
    }
    assert_eq!(BitmapFormat::try_from(0), Err(CodecError::UnknownFormat(0)));
    assert_eq!(
        BitmapFormat::try_from(11),
        Err(CodecError::UnknownFormat(11))
    );
}

#[test]
fn thirty_two() {
    check(
        BitmapFormat::ThirtyTwo,
        2,
        &[&[3, 2, 1, 9, 6, 5, 4, 9], &[9, 8, 7, 0, 12, 11, 10, 0]],
        12,
        None,
        &[1, 2, 3, 255, 4, 5, 6, 255, 7, 8, 9, 255, 10, 11, 12, 255],
    );
}

#[test]
fn rgba_keeps_alpha() {
    check(
        BitmapFormat::Rgba,
        2,
        &[&[3, 2, 1, 9, 6, 5, 4, 0], &[9, 8, 7, 128, 12, 11, 10, 255]],
        8,
        None,
        &[1, 2, 3, 9, 4, 5, 6, 0, 7, 8, 9, 128, 10, 11, 12, 255],
    );
}

#[test]
fn twenty_four() {
    check(
        BitmapFormat::TwentyFour,
        2,
        &[&[3, 2, 1, 6, 5, 4], &[9, 8, 7, 12, 11, 10]],
        8,
        None,
        &[1, 2, 3, 255, 4, 5, 6, 255, 7, 8, 9, 255, 10, 11, 12, 255],
    );
}

#[test]
fn sixteen() {
    // 0x7C00 red, 0x03E0 green, 0x001F blue, 0xC210 = bit 15 + (16,16,16).
    check(
        BitmapFormat::Sixteen,
        2,
        &[&[0x00, 0x7C, 0xE0, 0x03], &[0x1F, 0x00, 0x10, 0xC2]],
        4,
        None,
        &[
            255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 132, 132, 132, 255,
        ],
    );
}

#[test]
fn eight_bit_alpha() {
    check(
        BitmapFormat::EightBitAlpha,
        3,
        &[&[0, 7, 255], &[1, 2, 3]],
        4,
        None,
        &[
            0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 255, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3,
        ],
    );
}

const P3: [u32; 3] = [0xFF10_2030, 0x0040_5060, 0x0070_8090];
const C0: [u8; 4] = [0x10, 0x20, 0x30, 255];
const C1: [u8; 4] = [0x40, 0x50, 0x60, 255];
const C2: [u8; 4] = [0x70, 0x80, 0x90, 255];

fn cat(px: &[[u8; 4]]) -> Vec<u8> {
    px.concat()
}

#[test]
fn eight_bit() {
    let p = pal(&P3);
    check(
        BitmapFormat::EightBit,
        3,
        &[&[0, 1, 2], &[2, 2, 0]],
        4,
        Some(&p),
        &cat(&[C0, C1, C2, C2, C2, C0]),
    );
}

#[test]
fn eight_bit_out_of_range_is_error() {
    let p = pal(&P3);
    let r = decode_bitmap(BitmapFormat::EightBit, 2, 1, 2, true, &[0, 3], Some(&p));
    assert_eq!(r, Err(CodecError::PaletteIndex { index: 3, len: 3 }));
    // Padding bytes beyond the width are not pixels and are not checked.
    let r = decode_bitmap(
        BitmapFormat::EightBit,
        2,
        1,
        3,
        true,
        &[0, 2, 200],
        Some(&p),
    );
    assert!(r.is_ok());
}

#[test]
fn missing_palette() {
    for f in 1..=5 {
        let f = BitmapFormat::try_from(f).unwrap();
        assert_eq!(
            decode_bitmap(f, 1, 1, 1, true, &[0], None),
            Err(CodecError::MissingPalette)
        );
    }
}

#[test]
fn four_bit_le_and_be() {
    let p = pal(&P3);
    // width 3: bytes 0x12, 0x30 (the last nibble is padding).
    check(
        BitmapFormat::FourBitLe,
        3,
        &[&[0x12, 0x30], &[0x01, 0x02]],
        2,
        Some(&p),
        // LE: low nibble first → 2,1,0 ; 1,0,2
        &cat(&[C2, C1, C0, C1, C0, C2]),
    );
    check(
        BitmapFormat::FourBitBe,
        3,
        &[&[0x12, 0x20], &[0x01, 0x20]],
        2,
        Some(&p),
        // BE: high nibble first → 1,2,2 ; 0,1,2
        &cat(&[C1, C2, C2, C0, C1, C2]),
    );
}

#[test]
fn four_bit_index_wraps_modulo() {
    let p = pal(&P3);
    // Indices 4 and 15 → 4 mod 3 = 1, 15 mod 3 = 0.
    let img = decode_bitmap(BitmapFormat::FourBitBe, 2, 1, 1, true, &[0x4F], Some(&p)).unwrap();
    assert_eq!(img.pixels, cat(&[C1, C0]));
}

#[test]
fn one_bit_le_and_be() {
    let p = pal(&[0x000000, 0xFFFFFF]);
    let k = [0, 0, 0, 255];
    let w = [255, 255, 255, 255];
    // The PLT1 example of docs/spice-codecs.md §3.6: 0xA5 0xC0, width 10.
    check(
        BitmapFormat::OneBitBe,
        10,
        &[&[0xA5, 0xC0], &[0x00, 0x40]],
        4,
        Some(&p),
        &cat(&[
            w, k, w, k, k, w, k, w, w, w, //
            k, k, k, k, k, k, k, k, k, w,
        ]),
    );
    check(
        BitmapFormat::OneBitLe,
        10,
        &[&[0xA5, 0xC0], &[0x00, 0x02]],
        4,
        Some(&p),
        &cat(&[
            w, k, w, k, k, w, k, w, k, k, //
            k, k, k, k, k, k, k, k, k, w,
        ]),
    );
}

#[test]
fn one_bit_short_palette() {
    let p = pal(&[0x123456]);
    // Only clear bits within the width: fine even with one entry.
    let img = decode_bitmap(BitmapFormat::OneBitBe, 3, 1, 1, true, &[0x1F], Some(&p)).unwrap();
    assert_eq!(img.pixels, cat(&[[0x12, 0x34, 0x56, 255]; 3]));
    assert_eq!(
        decode_bitmap(BitmapFormat::OneBitLe, 3, 1, 1, true, &[0x04], Some(&p)),
        Err(CodecError::PaletteIndex { index: 1, len: 1 })
    );
    assert!(decode_bitmap(BitmapFormat::OneBitLe, 3, 1, 1, true, &[0], Some(&pal(&[]))).is_err());
}

#[test]
fn wide_rows_use_whole_octets() {
    // 19 pixels of 1 bpp: two full octets plus a 3-pixel tail.
    let p = pal(&[0x000000, 0xFFFFFF]);
    let img = decode_bitmap(
        BitmapFormat::OneBitBe,
        19,
        1,
        3,
        true,
        &[0xFF, 0x00, 0xA0],
        Some(&p),
    )
    .unwrap();
    let px: Vec<u8> = img.pixels.chunks_exact(4).map(|c| c[0]).collect();
    let mut expected = vec![255u8; 8];
    expected.extend([0u8; 8]);
    expected.extend([255, 0, 255]);
    assert_eq!(px, expected);
}

#[test]
fn stride_and_size_validation() {
    assert_eq!(
        decode_bitmap(BitmapFormat::ThirtyTwo, 2, 1, 7, true, &[0; 16], None),
        Err(CodecError::BadStride {
            stride: 7,
            width: 2
        })
    );
    assert_eq!(
        decode_bitmap(
            BitmapFormat::OneBitBe,
            9,
            1,
            1,
            true,
            &[0; 16],
            Some(&pal(&[0, 1]))
        ),
        Err(CodecError::BadStride {
            stride: 1,
            width: 9
        })
    );
    assert!(matches!(
        decode_bitmap(BitmapFormat::ThirtyTwo, 0, 1, 4, true, &[0; 16], None),
        Err(CodecError::BadDimensions { .. })
    ));
    assert!(matches!(
        decode_bitmap(BitmapFormat::ThirtyTwo, 1, 0, 4, true, &[0; 16], None),
        Err(CodecError::BadDimensions { .. })
    ));
    assert!(matches!(
        decode_bitmap(
            BitmapFormat::EightBitAlpha,
            16384,
            16384,
            16384,
            true,
            &[],
            None
        ),
        Err(CodecError::TooLarge { .. })
    ));
    assert!(matches!(
        decode_bitmap(
            BitmapFormat::EightBitAlpha,
            u32::MAX,
            1,
            u32::MAX,
            true,
            &[],
            None
        ),
        Err(CodecError::BadDimensions { .. })
    ));
    // Huge stride: rejected by the length check, not by arithmetic overflow.
    assert!(matches!(
        decode_bitmap(
            BitmapFormat::EightBitAlpha,
            1,
            16384,
            u32::MAX,
            true,
            &[0; 64],
            None
        ),
        Err(CodecError::Truncated { .. })
    ));
}

#[test]
fn force_opaque_after_decode() {
    let mut img = decode_bitmap(BitmapFormat::Rgba, 1, 1, 4, true, &[1, 2, 3, 4], None).unwrap();
    img.force_opaque();
    assert_eq!(img.pixels, [3, 2, 1, 255]);
}
