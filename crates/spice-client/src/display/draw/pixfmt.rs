//! Surface pixel formats seen from the renderer: surfaces are stored as RGBA8, so colours
//! given in a surface's own format (solid brushes) are expanded, and 16-bit surfaces are
//! kept quantised to what the guest could store.
//!
//! Expansion replicates the high bits into the low ones. Bitwise raster ops commute with
//! that replication, so ROPs on quantised RGBA8 give exactly the 16-bit result.

use crate::display::surface::SurfaceFormat;

/// Widens a `bits`-bit channel value to 8 bits by bit replication.
pub fn expand(v: u32, bits: u32) -> u8 {
    let v = v & ((1 << bits) - 1);
    let mut out = v << (8 - bits);
    let mut shift = bits;
    while shift < 8 {
        out |= out >> shift;
        shift *= 2;
    }
    out as u8
}

/// Rounds an 8-bit channel down to `bits` bits and widens it again.
pub fn quantize(c: u8, bits: u32) -> u8 {
    expand(u32::from(c) >> (8 - bits), bits)
}

/// A brush colour (in the target surface's format) as RGBA8.
pub fn solid_color(color: u32, format: SurfaceFormat) -> [u8; 4] {
    match format {
        SurfaceFormat::Rgb555 => [
            expand(color >> 10, 5),
            expand(color >> 5, 5),
            expand(color, 5),
            0xff,
        ],
        SurfaceFormat::Rgb565 => [
            expand(color >> 11, 5),
            expand(color >> 5, 6),
            expand(color, 5),
            0xff,
        ],
        // Alpha-only surfaces keep their value replicated in every channel (see
        // `Surface::settle`), so raster ops work on it like on a grey level.
        SurfaceFormat::A8 => [color as u8; 4],
        SurfaceFormat::A1 => [if color & 1 != 0 { 0xff } else { 0 }; 4],
        SurfaceFormat::Xrgb32 | SurfaceFormat::Argb32 => {
            [(color >> 16) as u8, (color >> 8) as u8, color as u8, 0xff]
        }
    }
}

/// Channel widths of the 16-bit formats, `None` for the others.
pub fn channel_bits(format: SurfaceFormat) -> Option<[u32; 3]> {
    match format {
        SurfaceFormat::Rgb555 => Some([5, 5, 5]),
        SurfaceFormat::Rgb565 => Some([5, 6, 5]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_replicates_high_bits() {
        assert_eq!(expand(0x1f, 5), 0xff);
        assert_eq!(expand(0x10, 5), 0x84);
        assert_eq!(expand(0x01, 6), 0x04);
        assert_eq!(expand(0x20, 6), 0x82);
        assert_eq!(expand(1, 1), 0xff);
        assert_eq!(quantize(0x87, 5), 0x84);
    }

    #[test]
    fn brush_colours_follow_the_surface_format() {
        // 555: r=0x1f g=0x00 b=0x10
        assert_eq!(
            solid_color(0x7c10, SurfaceFormat::Rgb555),
            [0xff, 0, 0x84, 0xff]
        );
        // 565: r=0 g=0x3f b=0x01
        assert_eq!(
            solid_color(0x07e1, SurfaceFormat::Rgb565),
            [0, 0xff, 0x08, 0xff]
        );
        assert_eq!(
            solid_color(0x00123456, SurfaceFormat::Xrgb32),
            [0x12, 0x34, 0x56, 0xff]
        );
        assert_eq!(solid_color(0x1280, SurfaceFormat::A8), [0x80; 4]);
    }

    #[test]
    fn xor_commutes_with_expansion() {
        for a in 0..32u32 {
            for b in 0..32u32 {
                assert_eq!(expand(a, 5) ^ expand(b, 5), expand(a ^ b, 5));
            }
        }
    }
}
