//! Panic-freedom checks: every decoder is run over thousands of pseudo-randomly mutated
//! valid inputs. A stand-in for the cargo-fuzz targets that runs on stable in CI.

use crate::lz_encode::encode_lz;
use crate::{
    decode_bitmap, decode_cursor, decode_lz, decode_lz_alpha_into, BitmapFormat, LzType, Palette,
    Rgba,
};

use olive_test_support::XorShift;

fn palette(n: usize) -> Palette {
    Palette::new(0, (0..n as u32).map(|i| i * 0x010101).collect())
}

#[test]
fn lz_mutations_never_panic() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let pals = [palette(0), palette(1), palette(3), palette(256)];
    for t in 1..=11u32 {
        let kind = LzType::try_from(t).unwrap();
        let (w, h) = (13, 6);
        let src = rng.bytes(13 * 4 * 6);
        for top_down in [false, true] {
            let valid = encode_lz(kind, w, h, top_down, &src).unwrap();
            for _ in 0..400 {
                let m = rng.mutate(&valid);
                let pal = &pals[rng.below(pals.len())];
                let _ = decode_lz(&m, Some(pal));
                let _ = decode_lz(&m, None);
                let mut img = Rgba::new_checked(w, h).unwrap();
                let _ = decode_lz_alpha_into(&m, &mut img);
            }
        }
    }
    // Pure noise behind a valid header.
    for _ in 0..2000 {
        let t = 1 + rng.below(11) as u32;
        let kind = LzType::try_from(t).unwrap();
        let w = 1 + rng.below(40) as u32;
        let h = 1 + rng.below(40) as u32;
        let mut data = encode_lz(kind, w, h, true, &vec![0; 4 * 40 * 40]).unwrap();
        data.truncate(crate::LzHeader::LEN);
        let n = rng.below(300);
        data.extend(rng.bytes(n));
        let _ = decode_lz(&data, Some(&pals[3]));
    }
}

#[test]
fn bitmap_mutations_never_panic() {
    let mut rng = XorShift(0xD1B5_4A32_D192_ED03);
    let pals = [palette(0), palette(1), palette(2), palette(7), palette(256)];
    for _ in 0..4000 {
        let format = BitmapFormat::try_from(1 + rng.below(10) as u8).unwrap();
        let w = rng.below(40) as u32;
        let h = rng.below(40) as u32;
        let min = format.min_row_bytes(w) as usize;
        let stride = (min + rng.below(6)).saturating_sub(rng.below(2)) as u32;
        let len = (stride as usize * h as usize + rng.below(8)).saturating_sub(rng.below(8));
        let data = rng.bytes(len);
        let pal = &pals[rng.below(pals.len())];
        let top_down = rng.below(2) == 0;
        let _ = decode_bitmap(format, w, h, stride, top_down, &data, Some(pal));
        let _ = decode_bitmap(format, w, h, stride, top_down, &data, None);
    }
}

#[test]
fn cursor_mutations_never_panic() {
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    for _ in 0..4000 {
        let kind = rng.below(8) as u8;
        let w = rng.below(34) as u16;
        let h = rng.below(34) as u16;
        let n = rng.below(usize::from(w) * usize::from(h) * 5 + 80);
        let data = rng.bytes(n);
        if let Ok(c) = decode_cursor(kind, w, h, &data) {
            assert_eq!(c.rgba.pixels.len(), usize::from(w) * usize::from(h) * 4);
        }
    }
}
