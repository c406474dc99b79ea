//! The generic per-pixel loop: every pixel of the clip regions that the mask lets
//! through, then the surface format's normalisation (alpha, 16-bit quantisation).

use super::mask::Mask;
use crate::display::geom::Rect;
use crate::display::surface::Surface;

/// Calls `f(x, y, pixel)` for every pixel of `regions` (already clipped to the draw box)
/// that `mask` covers. `pixel` is the destination's RGBA8, four bytes.
pub fn paint(
    surface: &mut Surface,
    regions: &[Rect],
    mask: Option<&Mask>,
    mut f: impl FnMut(i32, i32, &mut [u8]),
) {
    let bounds = surface.bounds();
    let width = surface.width() as usize;
    let pixels = surface.pixels_mut();
    for r in regions {
        let r = r.intersect(&bounds);
        if r.is_empty() {
            continue;
        }
        for y in r.top..r.bottom {
            let start = (y as usize * width + r.left as usize) * 4;
            let row = &mut pixels[start..start + r.width() as usize * 4];
            for (x, p) in (r.left..r.right).zip(row.chunks_exact_mut(4)) {
                if mask.is_none_or(|m| m.covers(x, y)) {
                    f(x, y, p);
                }
            }
        }
    }
    surface.settle(regions);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::display::surface::SurfaceFormat;

    #[test]
    fn visits_only_clipped_pixels_and_forces_opaque_alpha() {
        let mut s = Surface::new(4, 2, SurfaceFormat::Xrgb32).unwrap();
        let mut seen = Vec::new();
        paint(&mut s, &[Rect::new(2, 1, 9, 9)], None, |x, y, p| {
            seen.push((x, y));
            p.copy_from_slice(&[1, 2, 3, 0]);
        });
        assert_eq!(seen, vec![(2, 1), (3, 1)]);
        assert_eq!(&s.pixels()[(4 + 2) * 4..(4 + 3) * 4], &[1, 2, 3, 255]);
        assert_eq!(&s.pixels()[4 * 4..5 * 4], &[0, 0, 0, 255]);
    }
}
