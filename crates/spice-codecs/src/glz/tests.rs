use super::encode::{emit_match, encode_glz, GlzRef};
use super::*;
use crate::pixel::rgb16_to_rgba;

const BIG_WINDOW: u64 = 1 << 22;

use olive_test_support::XorShift;

fn hdr(kind: LzType, w: u32, h: u32, top_down: bool, id: u64, whd: u32) -> GlzHeader {
    GlzHeader {
        kind,
        width: w,
        height: h,
        stride: 0,
        top_down,
        id,
        win_head_dist: whd,
    }
}

fn bpp(kind: LzType) -> usize {
    match kind {
        LzType::Rgb16 => 2,
        LzType::Rgb24 => 3,
        _ => 4,
    }
}

/// A source image with runs, repeated rows and noise, so every token kind occurs.
fn source(kind: LzType, w: u32, h: u32, rng: &mut XorShift) -> Vec<u8> {
    let n = (w * h) as usize;
    let b = bpp(kind);
    let mut out = Vec::with_capacity(n * b);
    let mut px = vec![0u8; b];
    for i in 0..n {
        if i % 7 == 0 || rng.below(5) == 0 {
            for v in px.iter_mut() {
                *v = rng.next() as u8;
            }
            if kind == LzType::Rgba && rng.below(3) == 0 {
                px[3] = 255;
            }
        }
        out.extend_from_slice(&px);
    }
    out
}

/// The next frame: `prev` scrolled by `shift` units with a few pixels repainted.
fn next_frame(kind: LzType, prev: &[u8], shift: usize, rng: &mut XorShift) -> Vec<u8> {
    let b = bpp(kind);
    let n = prev.len() / b;
    let shift = shift % n;
    let mut out = prev[shift * b..].to_vec();
    out.extend_from_slice(&prev[..shift * b]);
    for _ in 0..1 + n / 50 {
        let i = rng.below(n) * b;
        for v in &mut out[i..i + b] {
            *v = rng.next() as u8;
        }
    }
    out
}

/// What the decoder must produce for `src`: RGBA in display order.
fn expected(kind: LzType, w: u32, top_down: bool, src: &[u8]) -> Vec<u8> {
    let px: Vec<[u8; 4]> = match kind {
        LzType::Rgb16 => src
            .chunks_exact(2)
            .map(|c| rgb16_to_rgba(u16::from_le_bytes([c[0], c[1]])))
            .collect(),
        LzType::Rgb24 => src
            .chunks_exact(3)
            .map(|c| [c[2], c[1], c[0], 255])
            .collect(),
        LzType::Rgb32 => src
            .chunks_exact(4)
            .map(|c| [c[2], c[1], c[0], 255])
            .collect(),
        _ => src
            .chunks_exact(4)
            .map(|c| [c[2], c[1], c[0], c[3]])
            .collect(),
    };
    let rows: Vec<&[[u8; 4]]> = px.chunks(w as usize).collect();
    let ordered: Vec<&[[u8; 4]]> = if top_down {
        rows
    } else {
        rows.into_iter().rev().collect()
    };
    ordered.concat().concat()
}

fn decoded(r: Result<GlzOutcome, CodecError>) -> Rgba {
    match r {
        Ok(GlzOutcome::Decoded(img)) => img,
        other => panic!("expected an image, got {other:?}"),
    }
}

fn ids(d: &GlzDictionary) -> Vec<u64> {
    d.ids().collect()
}

/// A literal-only stream of the given RGB32 pixels (B,G,R triples).
fn literal_body(bgr: &[[u8; 3]]) -> Vec<u8> {
    let mut out = Vec::new();
    for run in bgr.chunks(32) {
        out.push((run.len() - 1) as u8);
        for p in run {
            out.extend_from_slice(p);
        }
    }
    out
}

fn with_body(h: &GlzHeader, body: &[u8]) -> Vec<u8> {
    let mut s = h.to_bytes().to_vec();
    s.extend_from_slice(body);
    s
}

/// Adds a literal RGB32 image whose pixel u is (B,G,R) = (u, u >> 8, u >> 16).
fn add_counting_image(dict: &mut GlzDictionary, id: u64, w: u32, h: u32, whd: u32) {
    let bgr: Vec<[u8; 3]> = (0..w * h)
        .map(|u| [u as u8, (u >> 8) as u8, (u >> 16) as u8])
        .collect();
    let data = with_body(
        &hdr(LzType::Rgb32, w, h, true, id, whd),
        &literal_body(&bgr),
    );
    decoded(decode_glz(&data, dict));
}

#[test]
fn vector_header_and_dictionary_reference() {
    let h = hdr(LzType::Rgb32, 4, 1, true, 5, 1);
    let mut bytes = h.to_bytes();
    bytes[17..21].copy_from_slice(&16u32.to_be_bytes());
    assert_eq!(
        bytes,
        [
            0x20, 0x20, 0x5A, 0x4C, 0x00, 0x01, 0x00, 0x01, 0x18, 0x00, 0x00, 0x00, 0x04, 0x00,
            0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x05, 0x00, 0x00, 0x00, 0x01
        ]
    );
    let parsed = GlzHeader::parse(&bytes).unwrap();
    assert_eq!(parsed, GlzHeader { stride: 16, ..h });

    let mut dict = GlzDictionary::new(BIG_WINDOW);
    add_counting_image(&mut dict, 4, 4, 3, 0);
    let mut data = bytes.to_vec();
    data.extend_from_slice(&[0x01, 1, 2, 3, 4, 5, 6, 0x4A, 0x00, 0x01]);
    let img = decoded(decode_glz(&data, &mut dict));
    assert_eq!(
        img.pixels,
        [3, 2, 1, 255, 6, 5, 4, 255, 0, 0, 10, 255, 0, 0, 11, 255]
    );
    assert_eq!(ids(&dict), [4, 5]);
}

#[test]
fn vector_alpha_pass() {
    let mut dict = GlzDictionary::new(BIG_WINDOW);
    let mut body = literal_body(&[[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]]);
    body.extend_from_slice(&[0x00, 0xFF, 0x20, 0x00, 0x00]);
    let data = with_body(&hdr(LzType::Rgba, 4, 1, true, 0, 0), &body);
    let img = decoded(decode_glz(&data, &mut dict));
    assert_eq!(
        img.pixels,
        [3, 2, 1, 255, 6, 5, 4, 255, 9, 8, 7, 255, 12, 11, 10, 255]
    );
    // Distinct alphas prove the pass writes byte 3 only.
    let mut body = literal_body(&[[1, 2, 3], [4, 5, 6]]);
    body.extend_from_slice(&[0x01, 0x10, 0x20]);
    let data = with_body(&hdr(LzType::Rgba, 2, 1, false, 1, 0), &body);
    let img = decoded(decode_glz(&data, &mut dict));
    assert_eq!(img.pixels, [3, 2, 1, 0x10, 6, 5, 4, 0x20]);
}

#[test]
fn vector_wide_offset() {
    // 5000 literal pixels, then `F7 03 38 01`: count 10 from D = 5000.
    let mut dict = GlzDictionary::new(BIG_WINDOW);
    let bgr: Vec<[u8; 3]> = (0..5000u32).map(|u| [u as u8, (u >> 8) as u8, 7]).collect();
    let mut body = literal_body(&bgr);
    body.extend_from_slice(&[0xF7, 0x03, 0x38, 0x01]);
    let data = with_body(&hdr(LzType::Rgb32, 5010, 1, true, 0, 0), &body);
    let img = decoded(decode_glz(&data, &mut dict));
    for u in 0..5010usize {
        let s = u % 5000;
        assert_eq!(
            img.pixels[u * 4..u * 4 + 4],
            [7, (s >> 8) as u8, s as u8, 255]
        );
    }
    let mut tok = Vec::new();
    emit_match(10, 0, 4999, &mut tok);
    assert_eq!(tok, [0xF7, 0x03, 0x38, 0x01]);
}

#[test]
fn vector_long_offset() {
    // `70 D4 B0 2C 01 01`: count 3 from unit 200000 of image id − 300.
    let mut dict = GlzDictionary::new(BIG_WINDOW);
    add_counting_image(&mut dict, 1000, 1000, 201, 0);
    let data = with_body(
        &hdr(LzType::Rgb32, 3, 1, true, 1300, 300),
        &[0x70, 0xD4, 0xB0, 0x2C, 0x01, 0x01],
    );
    let img = decoded(decode_glz(&data, &mut dict));
    let want: Vec<u8> = (200_000u32..200_003)
        .flat_map(|u| [(u >> 16) as u8, (u >> 8) as u8, u as u8, 255])
        .collect();
    assert_eq!(img.pixels, want);
    let mut tok = Vec::new();
    emit_match(3, 300, 200_000, &mut tok);
    assert_eq!(tok, [0x70, 0xD4, 0xB0, 0x2C, 0x01, 0x01]);
    let mut tok = Vec::new();
    emit_match(2, 1, 10, &mut tok);
    assert_eq!(tok, [0x4A, 0x00, 0x01]);
}

#[test]
fn narrow_image_distance_bytes() {
    // W = 0 with n = 1: I = 64 + ... is split as bits 5–0 then 13–6.
    let mut dict = GlzDictionary::new(BIG_WINDOW);
    add_counting_image(&mut dict, 0, 8, 1, 0);
    let i = 100u32;
    let mut tok = Vec::new();
    emit_match(2, i, 5, &mut tok);
    assert_eq!(tok, [0x45, 0x00, 0x40 | (i & 63) as u8, (i >> 6) as u8]);
    let data = with_body(&hdr(LzType::Rgb32, 2, 1, true, 100, 100), &tok);
    let img = decoded(decode_glz(&data, &mut dict));
    assert_eq!(img.pixels, [0, 0, 5, 255, 0, 0, 6, 255]);
}

/// Encodes and decodes a sequence of frames, each referencing up to three predecessors,
/// with alternating orientations; returns the dictionary.
fn run_sequence(kind: LzType, w: u32, h: u32, frames: usize, first_top_down: bool) {
    let mut rng = XorShift(0x1234_5678 ^ kind as u64 ^ u64::from(w));
    let mut dict = GlzDictionary::new(BIG_WINDOW);
    let mut sources: Vec<Vec<u8>> = Vec::new();
    let base_id = 40;
    let mut remote_gain = false;
    for f in 0..frames {
        let src = match sources.last() {
            None => source(kind, w, h, &mut rng),
            Some(prev) => next_frame(kind, prev, rng.below((w * 3) as usize), &mut rng),
        };
        let whd = f.min(3) as u32;
        let refs: Vec<GlzRef<'_>> = (1..=whd as usize)
            .map(|d| GlzRef {
                image_dist: d as u32,
                src: &sources[f - d],
            })
            .collect();
        let top_down = first_top_down ^ (f % 2 == 1);
        let id = base_id + f as u64;
        let h_ = hdr(kind, w, h, top_down, id, whd);
        let data = encode_glz(&h_, &src, &refs).unwrap();
        if f > 0 {
            let alone = encode_glz(&hdr(kind, w, h, top_down, id, 0), &src, &[]).unwrap();
            remote_gain |= data.len() * 2 < alone.len();
        }
        let img = decoded(decode_glz(&data, &mut dict));
        assert_eq!((img.width, img.height), (w, h));
        assert!(
            img.pixels == expected(kind, w, top_down, &src),
            "{kind:?} {w}x{h} frame {f} differs"
        );
        // Single channel: only ids ≥ id − whd remain.
        let want: Vec<u64> = (id - u64::from(whd)..=id).collect();
        assert_eq!(ids(&dict), want);
        sources.push(src);
    }
    assert!(
        frames < 2 || w * h < 500 || remote_gain,
        "dictionary matches unused"
    );
}

#[test]
fn round_trip_every_type_and_orientation() {
    for kind in [LzType::Rgb16, LzType::Rgb24, LzType::Rgb32, LzType::Rgba] {
        for top_down in [true, false] {
            run_sequence(kind, 37, 23, 6, top_down);
            run_sequence(kind, 1, 1, 3, top_down);
            run_sequence(kind, 1, 70, 3, top_down);
            run_sequence(kind, 200, 3, 3, top_down);
        }
    }
}

#[test]
fn round_trip_wide_and_long_offsets() {
    // 600 × 300 = 180000 units: same-position references reach P ≥ 2^17.
    for kind in [LzType::Rgb32, LzType::Rgba] {
        run_sequence(kind, 600, 300, 3, false);
    }
}

#[test]
fn eviction_follows_win_head_dist() {
    let mut dict = GlzDictionary::new(BIG_WINDOW);
    // (id, whd) with a window head (id − whd) that only moves forward.
    let steps: [(u64, u32, &[u64]); 7] = [
        (0, 0, &[0]),
        (1, 1, &[0, 1]),
        (2, 2, &[0, 1, 2]),
        (3, 1, &[2, 3]),
        (4, 2, &[2, 3, 4]),
        (5, 1, &[4, 5]),
        (6, 0, &[6]),
    ];
    for (id, whd, remain) in steps {
        add_counting_image(&mut dict, id, 4, 2, whd);
        assert_eq!(ids(&dict), remain, "after id {id}");
        assert_eq!(dict.stored_pixels(), 8 * remain.len() as u64);
    }
    assert_eq!(dict.released_below(), Some(6));
    // Image 7 referencing released image 5 is an error, and changes nothing.
    let mut tok = vec![0x00, 1, 2, 3];
    emit_match(1, 2, 0, &mut tok);
    let data = with_body(&hdr(LzType::Rgb32, 2, 1, true, 7, 2), &tok);
    assert!(matches!(
        decode_glz(&data, &mut dict),
        Err(CodecError::Unsupported(_))
    ));
    assert_eq!(ids(&dict), [6]);
    // An image older than the floor still decodes but is not stored.
    let data = with_body(&hdr(LzType::Rgb32, 1, 1, true, 3, 0), &[0x00, 1, 2, 3]);
    decoded(decode_glz(&data, &mut dict));
    assert_eq!(ids(&dict), [6]);
    dict.clear();
    assert!(dict.is_empty());
    assert_eq!(dict.released_below(), None);
    assert_eq!(dict.stored_pixels(), 0);
}

#[test]
fn needs_image_then_retry() {
    let mut dict = GlzDictionary::new(BIG_WINDOW);
    add_counting_image(&mut dict, 10, 4, 2, 0);
    // Image 12 (whd 2) copies from 10 and from 11, which has not arrived.
    let mut body = vec![0x00, 9, 9, 9];
    emit_match(2, 2, 3, &mut body);
    emit_match(3, 1, 0, &mut body);
    let data12 = with_body(&hdr(LzType::Rgb32, 6, 1, true, 12, 2), &body);
    let before = (ids(&dict), dict.stored_pixels(), dict.released_below());
    for _ in 0..2 {
        assert_eq!(
            decode_glz(&data12, &mut dict),
            Ok(GlzOutcome::NeedsImage { id: 11 })
        );
        assert_eq!(
            (ids(&dict), dict.stored_pixels(), dict.released_below()),
            before
        );
    }
    // Image 11 arrives on "another channel".
    let bgr: Vec<[u8; 3]> = (0..4).map(|u| [100 + u, 0, 0]).collect();
    let data11 = with_body(&hdr(LzType::Rgb32, 2, 2, false, 11, 1), &literal_body(&bgr));
    decoded(decode_glz(&data11, &mut dict));
    assert_eq!(ids(&dict), [10, 11]);
    let img = decoded(decode_glz(&data12, &mut dict));
    assert_eq!(
        img.pixels,
        [
            9, 9, 9, 255, 0, 0, 3, 255, 0, 0, 4, 255, 0, 0, 100, 255, 0, 0, 101, 255, 0, 0, 102,
            255
        ]
    );
    assert_eq!(ids(&dict), [10, 11, 12]);
    // Decoding the same id twice is refused.
    assert!(decode_glz(&data12, &mut dict).is_err());
}

#[test]
fn out_of_order_channels_defer_eviction() {
    let mut dict = GlzDictionary::new(BIG_WINDOW);
    add_counting_image(&mut dict, 0, 2, 2, 0);
    add_counting_image(&mut dict, 2, 2, 2, 2);
    add_counting_image(&mut dict, 3, 2, 2, 1);
    // Id 1 is missing: nothing may go, 1 might still reference 0.
    assert_eq!(ids(&dict), [0, 2, 3]);
    add_counting_image(&mut dict, 1, 2, 2, 1);
    // Contiguous up to 3, whose whd 1 releases everything below 2.
    assert_eq!(ids(&dict), [2, 3]);
    assert_eq!(dict.released_below(), Some(2));
}

#[test]
fn stalled_eviction_is_capped() {
    // Window 100 pixels; 10×10 images; id 1 never arrives.
    let mut dict = GlzDictionary::new(100);
    for id in [0, 2, 3, 4, 5] {
        add_counting_image(&mut dict, id, 10, 10, 1);
        assert!(dict.stored_pixels() <= 200);
    }
    assert_eq!(ids(&dict), [4, 5]);
    // References to force-released images are errors, not NeedsImage.
    let mut tok = Vec::new();
    emit_match(1, 4, 0, &mut tok);
    let data = with_body(&hdr(LzType::Rgb32, 1, 1, true, 6, 4), &tok);
    assert!(decode_glz(&data, &mut dict).is_err());
    // Larger than the window: refused before decoding.
    let big = with_body(&hdr(LzType::Rgb32, 101, 1, true, 7, 0), &[]);
    assert!(matches!(
        decode_glz(&big, &mut dict),
        Err(CodecError::Unsupported(_))
    ));
}

#[test]
fn bad_references_are_errors() {
    let mut dict = GlzDictionary::new(BIG_WINDOW);
    add_counting_image(&mut dict, 5, 4, 1, 0);
    let rgba = with_body(
        &hdr(LzType::Rgba, 1, 1, true, 6, 1),
        &[0x00, 1, 2, 3, 0x00, 4],
    );
    decoded(decode_glz(&rgba, &mut dict));
    let try_ref = |dict: &mut GlzDictionary, kind, id, whd, image_dist, p, field| {
        let mut body = Vec::new();
        emit_match(field, image_dist, p, &mut body);
        if kind == LzType::Rgba {
            body.extend_from_slice(&[0x00, 0]);
        }
        decode_glz(&with_body(&hdr(kind, 1, 1, true, id, whd), &body), dict)
    };
    let before = ids(&dict);
    // Beyond win_head_dist.
    assert!(try_ref(&mut dict, LzType::Rgb32, 7, 1, 2, 0, 1).is_err());
    // Before id 0.
    assert!(try_ref(&mut dict, LzType::Rgb32, 3, 9, 9, 0, 1).is_err());
    // Same type is fine; another LZ type (RGBA 6 from RGB32, RGB32 5 from RGBA) is not.
    assert!(try_ref(&mut dict, LzType::Rgb32, 8, 3, 3, 0, 1).is_ok());
    assert!(try_ref(&mut dict, LzType::Rgb32, 9, 3, 3, 0, 1).is_err());
    assert!(try_ref(&mut dict, LzType::Rgba, 10, 5, 5, 0, 1).is_err());
    // Past the end of the referenced image (4 units): P = 3 is fine, P = 4 is not.
    assert!(try_ref(&mut dict, LzType::Rgb32, 11, 6, 6, 3, 1).is_ok());
    assert_eq!(
        try_ref(&mut dict, LzType::Rgb32, 12, 7, 7, 4, 1),
        Err(CodecError::Overshoot {
            position: 4,
            count: 1,
            total: 4
        })
    );
    let mut after = before.clone();
    after.extend([8, 11]);
    assert_eq!(ids(&dict), after);

    // In-image reference before the start, and an overshooting run.
    let mut body = vec![0x00, 1, 2, 3];
    emit_match(1, 0, 1, &mut body);
    assert!(matches!(
        decode_glz(
            &with_body(&hdr(LzType::Rgb32, 2, 1, true, 20, 0), &body),
            &mut dict
        ),
        Err(CodecError::MatchBeforeStart { .. })
    ));
    let mut body = vec![0x00, 1, 2, 3];
    emit_match(2, 0, 0, &mut body);
    assert!(matches!(
        decode_glz(
            &with_body(&hdr(LzType::Rgb32, 2, 1, true, 20, 0), &body),
            &mut dict
        ),
        Err(CodecError::Overshoot { .. })
    ));
}

#[test]
fn header_validation() {
    let good = hdr(LzType::Rgb32, 2, 2, true, 1, 0).to_bytes();
    assert!(GlzHeader::parse(&good).is_ok());
    for n in 0..GlzHeader::LEN {
        assert!(matches!(
            GlzHeader::parse(&good[..n]),
            Err(CodecError::Truncated { .. })
        ));
    }
    let with_type = |t: u8| {
        let mut b = good;
        b[8] = t;
        GlzHeader::parse(&b)
    };
    for t in [1, 2, 3, 4, 5, 10, 11] {
        assert_eq!(
            with_type(t).unwrap_err(),
            CodecError::WrongLzType(u32::from(t))
        );
    }
    for t in [0, 12, 15] {
        assert_eq!(
            with_type(t).unwrap_err(),
            CodecError::UnknownLzType(u32::from(t))
        );
    }
    assert!(!with_type(0x08).unwrap().top_down);
    assert!(with_type(0x28).unwrap().top_down);
    let mut b = good;
    b[0] = 0;
    assert!(matches!(GlzHeader::parse(&b), Err(CodecError::BadMagic(_))));
    let mut b = good;
    b[7] = 2;
    assert!(matches!(
        GlzHeader::parse(&b),
        Err(CodecError::BadVersion(_))
    ));
    let mut b = good;
    b[9..13].copy_from_slice(&0u32.to_be_bytes());
    assert!(matches!(
        GlzHeader::parse(&b),
        Err(CodecError::BadDimensions { .. })
    ));
    let mut b = good;
    b[9..13].copy_from_slice(&16384u32.to_be_bytes());
    b[13..17].copy_from_slice(&16384u32.to_be_bytes());
    assert!(matches!(
        GlzHeader::parse(&b),
        Err(CodecError::TooLarge { .. })
    ));
}

#[test]
fn zlib_round_trip() {
    use miniz_oxide::deflate::compress_to_vec_zlib;
    let mut rng = XorShift(77);
    let mut dict = GlzDictionary::new(BIG_WINDOW);
    let src0 = source(LzType::Rgb32, 64, 16, &mut rng);
    let src1 = next_frame(LzType::Rgb32, &src0, 64, &mut rng);
    let g0 = encode_glz(&hdr(LzType::Rgb32, 64, 16, false, 0, 0), &src0, &[]).unwrap();
    let refs = [GlzRef {
        image_dist: 1,
        src: &src0,
    }];
    let g1 = encode_glz(&hdr(LzType::Rgb32, 64, 16, true, 1, 1), &src1, &refs).unwrap();
    let z0 = compress_to_vec_zlib(&g0, 6);
    let z1 = compress_to_vec_zlib(&g1, 6);
    // Out of order: 1 needs 0.
    assert_eq!(
        decode_zlib_glz(g1.len() as u32, &z1, &mut dict),
        Ok(GlzOutcome::NeedsImage { id: 0 })
    );
    let img0 = decoded(decode_zlib_glz(g0.len() as u32, &z0, &mut dict));
    assert_eq!(img0.pixels, expected(LzType::Rgb32, 64, false, &src0));
    let n1 = g1.len() as u32;
    // Wrong sizes, corrupt data and bogus sizes fail without touching the dictionary.
    assert!(decode_zlib_glz(n1 - 1, &z1, &mut dict).is_err());
    assert!(matches!(
        decode_zlib_glz(n1 + 1, &z1, &mut dict),
        Err(CodecError::Truncated { .. })
    ));
    let mut bad = z1.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert!(decode_zlib_glz(n1, &bad, &mut dict).is_err());
    assert!(decode_zlib_glz(n1, &z1[..z1.len() / 2], &mut dict).is_err());
    assert!(decode_zlib_glz(n1, &g1, &mut dict).is_err());
    assert!(decode_zlib_glz(u32::MAX, &z1, &mut dict).is_err());
    assert!(matches!(
        decode_zlib_glz(100_000_000, &z1, &mut dict),
        Err(CodecError::Truncated { .. })
    ));
    assert!(decode_zlib_glz(10, &z1, &mut dict).is_err());
    assert_eq!(ids(&dict), [0]);
    let img1 = decoded(decode_zlib_glz(n1, &z1, &mut dict));
    assert_eq!(img1.pixels, expected(LzType::Rgb32, 64, true, &src1));
    assert_eq!(ids(&dict), [0, 1]);
}

/// A dictionary holding ids 0..3 of `kind`, plus a valid stream for id 3 referencing
/// them, and its sources.
fn populated(kind: LzType, seed: u64) -> (GlzDictionary, Vec<u8>) {
    let mut rng = XorShift(seed);
    let (w, h) = (19, 7);
    let mut dict = GlzDictionary::new(4096);
    let mut sources: Vec<Vec<u8>> = Vec::new();
    for id in 0..4u64 {
        let src = match sources.last() {
            None => source(kind, w, h, &mut rng),
            Some(p) => next_frame(kind, p, rng.below(40), &mut rng),
        };
        let refs: Vec<GlzRef<'_>> = (1..=id as usize)
            .map(|d| GlzRef {
                image_dist: d as u32,
                src: &sources[id as usize - d],
            })
            .collect();
        let data = encode_glz(&hdr(kind, w, h, id % 2 == 0, id, id as u32), &src, &refs).unwrap();
        if id == 3 {
            return (dict, data);
        }
        decoded(decode_glz(&data, &mut dict));
        sources.push(src);
    }
    unreachable!()
}

fn snapshot(d: &GlzDictionary) -> (Vec<u64>, u64, Option<u64>) {
    (ids(d), d.stored_pixels(), d.released_below())
}

#[test]
fn truncation_sweep() {
    for kind in [LzType::Rgb16, LzType::Rgb24, LzType::Rgb32, LzType::Rgba] {
        let (mut dict, data) = populated(kind, 5 + kind as u64);
        let before = snapshot(&dict);
        for n in 0..data.len() {
            assert!(
                decode_glz(&data[..n], &mut dict).is_err(),
                "{kind:?} prefix {n} decoded"
            );
            assert_eq!(snapshot(&dict), before);
        }
        decoded(decode_glz(&data, &mut dict));
    }
}

#[test]
fn mutations_never_panic() {
    let mut rng = XorShift(0xA076_1D64_78BD_642F);
    for kind in [LzType::Rgb16, LzType::Rgb24, LzType::Rgb32, LzType::Rgba] {
        let (base, data) = populated(kind, 11 + kind as u64);
        let mut dict = base;
        for round in 0..1500 {
            let mut m = data.clone();
            for _ in 0..1 + rng.below(4) {
                match rng.below(4) {
                    0 => {
                        let i = rng.below(m.len());
                        m[i] ^= 1 << rng.below(8);
                    }
                    1 => {
                        let i = rng.below(m.len());
                        m[i] = [0, 1, 0x1F, 0x20, 0x30, 0x3F, 0xE0, 0xF0, 0xFF][rng.below(9)];
                    }
                    2 => {
                        let n = rng.below(m.len() + 1);
                        m.truncate(n);
                    }
                    _ => {
                        let i = rng.below(m.len() + 1);
                        m.insert(i, rng.next() as u8);
                    }
                }
                if m.is_empty() {
                    break;
                }
            }
            if let Ok(GlzOutcome::Decoded(img)) = decode_glz(&m, &mut dict) {
                assert_eq!(
                    img.pixels.len(),
                    4 * img.width as usize * img.height as usize
                );
            }
            assert!(dict.stored_pixels() <= 2 * dict.window_pixels());
            if round % 100 == 99 {
                dict = populated(kind, 11 + kind as u64).0;
            }
        }
    }
}
