//! Ternary raster operations (DRAW_ROP3): each result bit is the bit of the rop3 code
//! indexed by `(P << 2) | (S << 1) | D`, with P the brush, S the source and D the
//! destination. Evaluated a byte at a time as a sum of the code's minterms.

pub fn rop3(code: u8, p: u8, s: u8, d: u8) -> u8 {
    rop3_word(code, p.into(), s.into(), d.into()) as u8
}

/// `rop3` on every bit of a word at once: a whole pixel's channels per call.
fn rop3_word(code: u8, p: u32, s: u32, d: u32) -> u32 {
    let mut r = 0u32;
    for i in 0..8u8 {
        if code >> i & 1 == 0 {
            continue;
        }
        let pick = |bit: u8, v: u32| if i & bit != 0 { v } else { !v };
        r |= pick(4, p) & pick(2, s) & pick(1, d);
    }
    r
}

/// `rop3` on the colour channels; alpha is left to the surface format.
pub fn rop3_pixel(code: u8, p: [u8; 4], s: [u8; 4], dst: &mut [u8]) {
    let word = |v: [u8; 4]| u32::from_le_bytes([v[0], v[1], v[2], 0]);
    let d = [dst[0], dst[1], dst[2], 0];
    let r = rop3_word(code, word(p), word(s), word(d)).to_le_bytes();
    dst[..3].copy_from_slice(&r[..3]);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Per-bit definition, independent of the minterm evaluation.
    fn reference(code: u8, p: u8, s: u8, d: u8) -> u8 {
        (0..8).fold(0, |acc, b| {
            let idx = ((p >> b & 1) << 2) | ((s >> b & 1) << 1) | (d >> b & 1);
            acc | ((code >> idx & 1) << b)
        })
    }

    #[test]
    fn every_code_matches_the_truth_table() {
        let samples = [0x00u8, 0xff, 0xaa, 0x55, 0x0f, 0xf0, 0x3c, 0x96];
        for code in 0..=255u8 {
            for &p in &samples {
                for &s in &samples {
                    for &d in &samples {
                        assert_eq!(rop3(code, p, s, d), reference(code, p, s, d), "{code:#x}");
                    }
                }
            }
        }
    }

    #[test]
    fn pixel_form_applies_per_channel_and_keeps_alpha() {
        let mut d = [0xaa, 0x0f, 0xff, 7];
        rop3_pixel(0xb8, [0xf0, 0xff, 0x00, 1], [0xcc, 0x00, 0xff, 2], &mut d);
        assert_eq!(d, [0xb8, 0xff, 0xff, 7]);
    }

    #[test]
    fn named_windows_codes() {
        let (p, s, d) = (0b1111_0000, 0b1100_1100, 0b1010_1010);
        assert_eq!(rop3(0xcc, p, s, d), s, "SRCCOPY");
        assert_eq!(rop3(0xf0, p, s, d), p, "PATCOPY");
        assert_eq!(rop3(0xaa, p, s, d), d, "no-op");
        assert_eq!(rop3(0x55, p, s, d), !d, "DSTINVERT");
        assert_eq!(rop3(0x66, p, s, d), s ^ d, "SRCINVERT");
        assert_eq!(rop3(0x88, p, s, d), s & d, "SRCAND");
        assert_eq!(rop3(0xee, p, s, d), s | d, "SRCPAINT");
        assert_eq!(rop3(0xbb, p, s, d), !s | d, "MERGEPAINT");
        assert_eq!(rop3(0x5a, p, s, d), p ^ d, "PATINVERT");
        assert_eq!(rop3(0xc0, p, s, d), p & s, "MERGECOPY");
        assert_eq!(rop3(0xb8, p, s, d), (s & d) | (!s & p), "PSDPxax");
        assert_eq!(rop3(0x00, p, s, d), 0);
        assert_eq!(rop3(0xff, p, s, d), 0xff);
    }
}
