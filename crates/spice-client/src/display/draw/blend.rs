//! Per-pixel arithmetic of DRAW_ALPHA_BLEND, DRAW_TRANSPARENT and anti-aliased (A4/A8)
//! glyph coverage. Colours with alpha are premultiplied, as pixman's a8r8g8b8 is.

/// `a * b / 255`, rounded to nearest, exact for all 8-bit inputs.
pub fn mul255(a: u32, b: u32) -> u32 {
    let t = a * b + 128;
    (t + (t >> 8)) >> 8
}

/// Source OVER destination with the source scaled by the global `alpha`.
///
/// `src_has_alpha` false treats the source as opaque (its alpha byte is padding);
/// `dst_has_alpha` false treats the destination as opaque and leaves its alpha at 255.
pub fn alpha_over(
    src: [u8; 4],
    dst: &mut [u8],
    alpha: u8,
    src_has_alpha: bool,
    dst_has_alpha: bool,
) {
    let ga = u32::from(alpha);
    let sa = if src_has_alpha {
        u32::from(src[3])
    } else {
        255
    };
    let sa = mul255(sa, ga);
    let inv = 255 - sa;
    for c in 0..3 {
        let s = mul255(u32::from(src[c]), ga);
        dst[c] = (s + mul255(u32::from(dst[c]), inv)).min(255) as u8;
    }
    dst[3] = if dst_has_alpha {
        (sa + mul255(u32::from(dst[3]), inv)).min(255) as u8
    } else {
        255
    };
}

/// Blends `new` over `old` by a coverage level: 255 = `new`, 0 = `old`.
pub fn lerp(old: &[u8], new: [u8; 4], level: u8) -> [u8; 4] {
    let a = u32::from(level);
    let mut out = [0u8; 4];
    for c in 0..4 {
        out[c] = (mul255(u32::from(new[c]), a) + mul255(u32::from(old[c]), 255 - a)) as u8;
    }
    out
}

/// True when the source pixel has the transparent key colour (xRGB, alpha ignored).
pub fn is_key(src: [u8; 4], key: u32) -> bool {
    src[0] == (key >> 16) as u8 && src[1] == (key >> 8) as u8 && src[2] == key as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mul255_is_exact_rounding() {
        for a in 0..=255u32 {
            for b in 0..=255u32 {
                assert_eq!(mul255(a, b), (a * b * 2 + 255) / 510, "{a}*{b}");
            }
        }
    }

    #[test]
    fn premultiplied_over_with_global_alpha() {
        // Half-transparent premultiplied red over opaque blue.
        let mut d = [0, 0, 200, 255];
        alpha_over([128, 0, 0, 128], &mut d, 255, true, false);
        assert_eq!(d, [128, 0, 100, 255]);
        // Opaque source at global alpha 64: s*64/255 + d*(191/255).
        let mut d = [0, 0, 200, 255];
        alpha_over([255, 255, 255, 0], &mut d, 64, false, false);
        assert_eq!(d, [64, 64, 64 + 150, 255]);
        // Destination alpha accumulates when it is kept.
        let mut d = [0, 0, 0, 0];
        alpha_over([100, 0, 0, 100], &mut d, 255, true, true);
        assert_eq!(d, [100, 0, 0, 100]);
    }

    #[test]
    fn lerp_by_level_and_colour_key() {
        assert_eq!(
            lerp(&[0, 100, 200, 255], [255, 255, 255, 255], 0),
            [0, 100, 200, 255]
        );
        assert_eq!(
            lerp(&[0, 100, 200, 255], [255, 0, 0, 255], 255),
            [255, 0, 0, 255]
        );
        assert_eq!(
            lerp(&[0, 0, 0, 255], [255, 255, 255, 255], 136),
            [136, 136, 136, 255]
        );
        assert!(is_key([0x12, 0x34, 0x56, 0], 0xff12_3456));
        assert!(!is_key([0x12, 0x34, 0x57, 0], 0x0012_3456));
    }
}
