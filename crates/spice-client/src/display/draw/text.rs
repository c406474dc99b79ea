//! DRAW_TEXT glyph rasters: A1 (MSB first), A4 (high nibble first, 16 levels) and A8
//! glyphs, rows top-down, each placed with its top-left at `render_pos + glyph_origin`.
//! Glyphs are gathered into one coverage map so overlapping glyphs paint once.

use spice_proto::messages::display::{Glyph, GlyphString};

use super::coverage::Coverage;
use crate::display::geom::Rect;
use crate::error::DisplayError;

pub fn coverage(text: &GlyphString<'_>, visible: Rect) -> Result<Coverage, DisplayError> {
    let mut cov = Coverage::new(visible)?;
    for g in &text.glyphs {
        add_glyph(&mut cov, g, text.bpp, visible);
    }
    Ok(cov)
}

fn add_glyph(cov: &mut Coverage, g: &Glyph<'_>, bpp: u8, visible: Rect) {
    if !matches!(bpp, 1 | 4 | 8) {
        return;
    }
    let left = i64::from(g.render_pos.x) + i64::from(g.glyph_origin.x);
    let top = i64::from(g.render_pos.y) + i64::from(g.glyph_origin.y);
    let stride = (usize::from(g.width) * usize::from(bpp)).div_ceil(8);
    // Only the rows and columns that land inside the visible rect.
    let gx0 = (i64::from(visible.left) - left).clamp(0, g.width.into());
    let gx1 = (i64::from(visible.right) - left).clamp(0, g.width.into());
    let gy0 = (i64::from(visible.top) - top).clamp(0, g.height.into());
    let gy1 = (i64::from(visible.bottom) - top).clamp(0, g.height.into());
    for gy in gy0..gy1 {
        let Some(row) = g.data.get(gy as usize * stride..(gy as usize + 1) * stride) else {
            return;
        };
        for gx in gx0..gx1 {
            let a = level(row, gx as usize, bpp);
            if a != 0 {
                cov.add(left + gx, top + gy, a);
            }
        }
    }
}

/// Coverage of glyph pixel `x` in `row`, scaled to 0..=255.
fn level(row: &[u8], x: usize, bpp: u8) -> u8 {
    match bpp {
        1 => {
            let bit = row.get(x / 8).map_or(0, |b| b >> (7 - x % 8) & 1);
            bit * 0xff
        }
        4 => {
            let nibble =
                row.get(x / 2)
                    .map_or(0, |b| if x.is_multiple_of(2) { b >> 4 } else { b & 0xf });
            nibble * 17
        }
        _ => row.get(x).copied().unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spice_proto::messages::display::Point;

    fn glyph(x: i32, y: i32, ox: i32, oy: i32, w: u16, h: u16, data: &[u8]) -> Glyph<'_> {
        Glyph {
            render_pos: Point { x, y },
            glyph_origin: Point { x: ox, y: oy },
            width: w,
            height: h,
            data,
        }
    }

    fn dump(c: &Coverage) -> Vec<Vec<u8>> {
        let r = c.rect();
        (r.top..r.bottom)
            .map(|y| (r.left..r.right).map(|x| c.get(x, y)).collect())
            .collect()
    }

    #[test]
    fn a1_glyph_is_msb_first_at_render_pos_plus_origin() {
        // 3x2: row0 = 101, row1 = 010 (one padded byte per row).
        let data = [0b1010_0000, 0b0100_0000];
        let s = GlyphString {
            flags: 1,
            bpp: 1,
            glyphs: vec![glyph(3, 4, -2, -3, 3, 2, &data)],
        };
        let c = coverage(&s, Rect::new(0, 0, 4, 3)).unwrap();
        assert_eq!(
            dump(&c),
            vec![vec![0, 0, 0, 0], vec![0, 255, 0, 255], vec![0, 0, 255, 0]]
        );
    }

    #[test]
    fn a4_and_a8_levels_and_clipping() {
        let a4 = [0xf8, 0x10];
        let s = GlyphString {
            flags: 2,
            bpp: 4,
            glyphs: vec![glyph(0, 0, 0, 0, 3, 1, &a4)],
        };
        let c = coverage(&s, Rect::new(0, 0, 3, 1)).unwrap();
        assert_eq!(dump(&c), vec![vec![255, 136, 17]]);
        let a8 = [1, 2, 3, 4];
        let s = GlyphString {
            flags: 4,
            bpp: 8,
            glyphs: vec![glyph(5, 5, 0, 0, 2, 2, &a8)],
        };
        let c = coverage(&s, Rect::new(6, 5, 8, 7)).unwrap();
        assert_eq!(dump(&c), vec![vec![2, 0], vec![4, 0]]);
    }

    #[test]
    fn overlapping_glyphs_keep_the_stronger_coverage() {
        let a = [100u8];
        let b = [50u8];
        let s = GlyphString {
            flags: 4,
            bpp: 8,
            glyphs: vec![glyph(0, 0, 0, 0, 1, 1, &a), glyph(0, 0, 0, 0, 1, 1, &b)],
        };
        assert_eq!(coverage(&s, Rect::new(0, 0, 1, 1)).unwrap().get(0, 0), 100);
    }
}
