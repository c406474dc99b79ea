//! JPEG and JPEG_ALPHA. Fixtures in `tests/fixtures` were made with libjpeg-turbo 2.1.5:
//! `cjpeg -quality 85 -sample 2x2` (4:2:0), `cjpeg -quality 90 -sample 1x1` (4:4:4) and
//! `cjpeg -quality 85` on a PGM (grayscale); `*.djpeg.p?m` are `djpeg` (default ISLOW
//! IDCT, fancy upsampling) decodes of them, i.e. what a libjpeg client shows.

use olive_test_support::image::{compare, mean_abs_error, psnr, Image};
use olive_test_support::XorShift;
use spice_codecs::jpeg::{decode_jpeg, decode_jpeg_alpha};
use spice_codecs::lz_encode::encode_lz;
use spice_codecs::{CodecError, LzType, Rgba};

const J420: &[u8] = include_bytes!("fixtures/photo_61x47_420.jpg");
const J444: &[u8] = include_bytes!("fixtures/photo_61x47_444.jpg");
const JGRAY: &[u8] = include_bytes!("fixtures/gray_33x17.jpg");

/// The decoded picture, for comparison with the PNM fixtures.
fn picture(img: &Rgba) -> Image {
    Image::new(img.width, img.height, img.pixels.clone())
}

/// (max abs channel error, mean abs error, PSNR dB) of the RGB channels.
fn errors(img: &Image, reference: &Image) -> (u8, f64, f64) {
    assert_eq!((img.width, img.height), (reference.width, reference.height));
    (
        compare(img, reference).max_channel_delta,
        mean_abs_error(img, reference),
        psnr(img, reference),
    )
}

fn check_fixture(jpeg: &[u8], source: &[u8], reference: &[u8], min_psnr_source: f64) {
    let img = decode_jpeg(jpeg).unwrap();
    assert!(img.pixels.chunks_exact(4).all(|p| p[3] == 255));
    let img = picture(&img);
    let (_, _, psnr) = errors(&img, &Image::from_ppm(source).unwrap());
    assert!(psnr > min_psnr_source, "PSNR vs source {psnr:.2} dB");
    // Against libjpeg's own decode: zune's IDCT is not libjpeg's ISLOW, so allow a few
    // levels of difference but nothing structural.
    let (max, mean, psnr) = errors(&img, &Image::from_ppm(reference).unwrap());
    eprintln!("vs djpeg: max {max}, mean {mean:.3}, PSNR {psnr:.1} dB");
    assert!(max <= 8 && mean < 0.5 && psnr > 45.0, "{max} {mean} {psnr}");
}

#[test]
fn baseline_420() {
    check_fixture(
        J420,
        include_bytes!("fixtures/photo_61x47.ppm"),
        include_bytes!("fixtures/photo_61x47_420.djpeg.ppm"),
        24.0,
    );
}

#[test]
fn baseline_444() {
    check_fixture(
        J444,
        include_bytes!("fixtures/photo_61x47.ppm"),
        include_bytes!("fixtures/photo_61x47_444.djpeg.ppm"),
        28.0,
    );
}

#[test]
fn grayscale() {
    check_fixture(
        JGRAY,
        include_bytes!("fixtures/gray_33x17.pgm"),
        include_bytes!("fixtures/gray_33x17.djpeg.pgm"),
        28.0,
    );
    let img = decode_jpeg(JGRAY).unwrap();
    assert!(img
        .pixels
        .chunks_exact(4)
        .all(|p| p[0] == p[1] && p[1] == p[2] && p[3] == 255));
}

/// Offset of the SOF0 marker's height field.
fn sof_dims_at(jpeg: &[u8]) -> usize {
    let i = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    i + 5
}

#[test]
fn dimension_limits_before_allocation() {
    let at = sof_dims_at(J420);
    let with_dims = |w: u16, h: u16| {
        let mut j = J420.to_vec();
        j[at..at + 2].copy_from_slice(&h.to_be_bytes());
        j[at + 2..at + 4].copy_from_slice(&w.to_be_bytes());
        j
    };
    assert!(matches!(
        decode_jpeg(&with_dims(16384, 16384)),
        Err(CodecError::TooLarge { .. })
    ));
    assert!(decode_jpeg(&with_dims(16385, 10)).is_err());
    assert!(decode_jpeg(&with_dims(0, 10)).is_err());
    assert!(decode_jpeg(&with_dims(60000, 60000)).is_err());
}

#[test]
fn not_a_jpeg() {
    assert!(decode_jpeg(&[]).is_err());
    assert!(decode_jpeg(b"GIF89a").is_err());
    assert!(decode_jpeg(&[0xFF, 0xD8]).is_err());
}

/// BGRA source in memory order for an XXXA stream: display row r is memory row r when
/// top-down, h−1−r otherwise. Alpha at display (x, y) is `alpha(x, y)`.
fn alpha_stream(w: u32, h: u32, top_down: bool) -> Vec<u8> {
    let mut src = Vec::new();
    for m in 0..h {
        let y = if top_down { m } else { h - 1 - m };
        for x in 0..w {
            src.extend_from_slice(&[0, 0, 0, alpha(x, y)]);
        }
    }
    encode_lz(LzType::Xxxa, w, h, top_down, &src).unwrap()
}

fn alpha(x: u32, y: u32) -> u8 {
    // Distinct per row so a flipped mapping shows.
    (y * 5 + (x / 8) * 40) as u8
}

fn jpeg_alpha_payload(jpeg: &[u8], alpha: &[u8]) -> (u32, Vec<u8>) {
    let mut d = jpeg.to_vec();
    d.extend_from_slice(alpha);
    (jpeg.len() as u32, d)
}

#[test]
fn jpeg_alpha_both_orientations() {
    let colour = decode_jpeg(J420).unwrap();
    let (w, h) = (colour.width, colour.height);
    for top_down in [true, false] {
        let (js, data) = jpeg_alpha_payload(J420, &alpha_stream(w, h, top_down));
        let img = decode_jpeg_alpha(u8::from(top_down), js, &data).unwrap();
        assert_eq!((img.width, img.height), (w, h));
        for y in 0..h {
            for x in 0..w {
                let i = 4 * (y * w + x) as usize;
                assert_eq!(
                    img.pixels[i + 3],
                    alpha(x, y),
                    "({x},{y}) top_down={top_down}"
                );
                assert_eq!(img.pixels[i..i + 3], colour.pixels[i..i + 3]);
            }
        }
    }
}

#[test]
fn jpeg_alpha_errors() {
    let (w, h) = (61, 47);
    let good = alpha_stream(w, h, false);
    let (js, data) = jpeg_alpha_payload(J444, &good);
    decode_jpeg_alpha(0, js, &data).unwrap();
    // Flag disagrees with the stream's top_down.
    assert!(matches!(
        decode_jpeg_alpha(1, js, &data),
        Err(CodecError::Unsupported(_))
    ));
    // Other flag bits are ignored.
    decode_jpeg_alpha(0xFE, js, &data).unwrap();
    // jpeg_size beyond the data.
    assert!(matches!(
        decode_jpeg_alpha(0, data.len() as u32 + 1, &data),
        Err(CodecError::Truncated { .. })
    ));
    assert!(decode_jpeg_alpha(0, u32::MAX, &data).is_err());
    // Split in the wrong place.
    assert!(decode_jpeg_alpha(0, js - 1, &data).is_err());
    assert!(decode_jpeg_alpha(0, js + 1, &data).is_err());
    // Alpha stream of the wrong type or size.
    let src = vec![7u8; (w * h * 4) as usize];
    let rgba = encode_lz(LzType::Rgba, w, h, false, &src).unwrap();
    let (js2, d2) = jpeg_alpha_payload(J444, &rgba);
    assert_eq!(
        decode_jpeg_alpha(0, js2, &d2),
        Err(CodecError::WrongLzType(9))
    );
    let (js2, d2) = jpeg_alpha_payload(J444, &alpha_stream(w, h - 1, false));
    assert!(matches!(
        decode_jpeg_alpha(0, js2, &d2),
        Err(CodecError::SizeMismatch { .. })
    ));
    // Trailing bytes after the alpha stream.
    let mut d2 = data.clone();
    d2.push(0);
    assert!(decode_jpeg_alpha(0, js, &d2).is_err());
    // No alpha stream at all.
    assert!(decode_jpeg_alpha(0, js, &data[..js as usize]).is_err());
}

#[test]
fn truncation_sweeps_never_panic() {
    for j in [J420, J444, JGRAY] {
        for n in 0..j.len() {
            if let Ok(img) = decode_jpeg(&j[..n]) {
                // libjpeg-style leniency: a cut scan may still decode (padded).
                assert_eq!(img.pixels.len(), 4 * (img.width * img.height) as usize);
            }
        }
    }
    let (js, data) = jpeg_alpha_payload(J420, &alpha_stream(61, 47, true));
    for n in 0..data.len() {
        assert!(decode_jpeg_alpha(1, js, &data[..n]).is_err(), "prefix {n}");
    }
}

/// Hostile JPEGs. zune-jpeg 0.4.21's scalar IDCT overflows `i32` on huge dequantised
/// coefficients; the workspace turns overflow checks off for zune-jpeg in every profile,
/// so that wraps into garbage pixels (as release builds always did) instead of panicking.
#[test]
fn mutations_never_panic() {
    let mut rng = XorShift(0xDEAD_BEEF_1234_5678);
    let (js, alpha_payload) = jpeg_alpha_payload(J420, &alpha_stream(61, 47, false));
    for j in [J420, J444, JGRAY, &alpha_payload[..]] {
        for _ in 0..1500 {
            let mut m = j.to_vec();
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(m.len());
                match rng.below(4) {
                    0 => m[i] ^= 1 << rng.below(8),
                    1 => m[i] = [0, 0xFF, 0xC0, 0xDA, 0xD9][rng.below(5)],
                    2 => m.truncate(i),
                    _ => m[i] = rng.next() as u8,
                }
                if m.is_empty() {
                    break;
                }
            }
            if let Ok(img) = decode_jpeg(&m) {
                assert_eq!(img.pixels.len(), 4 * (img.width * img.height) as usize);
            }
            let _ = decode_jpeg_alpha(0, js, &m);
        }
    }
}

#[test]
fn alpha_mutations_never_panic() {
    let mut rng = XorShift(0x0BAD_5EED_1234_5678);
    let alpha = alpha_stream(61, 47, true);
    for _ in 0..3000 {
        let mut m = alpha.clone();
        for _ in 0..1 + rng.below(4) {
            let i = rng.below(m.len());
            match rng.below(3) {
                0 => m[i] ^= 1 << rng.below(8),
                1 => m.truncate(i.max(1)),
                _ => m[i] = rng.next() as u8,
            }
        }
        let (js, data) = jpeg_alpha_payload(J420, &m);
        if let Ok(img) = decode_jpeg_alpha(1, js, &data) {
            assert_eq!((img.width, img.height), (61, 47));
        }
    }
}

/// Accuracy against libjpeg on arbitrary images: set `OLIVE_JPEG_REF` to a directory of
/// `NAME.jpg` + `NAME.ref.ppm` (from `djpeg -ppm`) and run with `--ignored --nocapture`.
#[test]
#[ignore]
fn accuracy_vs_libjpeg() {
    let Some(dir) = std::env::var_os("OLIVE_JPEG_REF") else {
        return;
    };
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "jpg").then_some(p)
        })
        .collect();
    names.sort();
    for p in names {
        let img = picture(&decode_jpeg(&std::fs::read(&p).unwrap()).unwrap());
        let reference = Image::load_ppm(p.with_extension("ref.ppm")).unwrap();
        let (max, mean, psnr) = errors(&img, &reference);
        println!(
            "{}: {}x{} max {max} mean {mean:.4} PSNR {psnr:.2} dB",
            p.file_name().unwrap().to_string_lossy(),
            img.width,
            img.height
        );
    }
}
