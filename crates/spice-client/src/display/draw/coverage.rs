//! A per-pixel coverage map (0 = untouched, 255 = fully covered) over the visible part of
//! a stroke or a glyph string. Building coverage first and painting once means a pixel
//! hit twice (a polyline joint, overlapping glyphs) is still painted once, which matters
//! for XOR-like raster ops.

use crate::display::geom::Rect;
use crate::error::DisplayError;

/// The largest map we build: beyond a 4K screen's area, yet a bounded allocation even if
/// the guest draws on a huge surface.
pub const MAX_COVERAGE_PIXELS: u64 = 4096 * 4096;

#[derive(Debug, Clone)]
pub struct Coverage {
    rect: Rect,
    alpha: Vec<u8>,
}

impl Coverage {
    pub fn new(rect: Rect) -> Result<Self, DisplayError> {
        let area = rect.area();
        if area > MAX_COVERAGE_PIXELS {
            return Err(DisplayError::DrawTooLarge(area));
        }
        Ok(Coverage {
            rect,
            alpha: vec![0; area as usize],
        })
    }

    pub fn rect(&self) -> Rect {
        self.rect
    }

    fn index(&self, x: i64, y: i64) -> Option<usize> {
        let r = &self.rect;
        if x < i64::from(r.left)
            || y < i64::from(r.top)
            || x >= i64::from(r.right)
            || y >= i64::from(r.bottom)
        {
            return None;
        }
        let w = i64::from(r.width());
        Some(((y - i64::from(r.top)) * w + (x - i64::from(r.left))) as usize)
    }

    /// Raises the coverage of (x, y) to at least `a`; points outside are ignored.
    pub fn add(&mut self, x: i64, y: i64, a: u8) {
        if let Some(i) = self.index(x, y) {
            self.alpha[i] = self.alpha[i].max(a);
        }
    }

    pub fn get(&self, x: i32, y: i32) -> u8 {
        self.index(x.into(), y.into()).map_or(0, |i| self.alpha[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_maximum_and_ignores_outside_points() {
        let mut c = Coverage::new(Rect::new(2, 2, 4, 4)).unwrap();
        c.add(3, 3, 10);
        c.add(3, 3, 5);
        c.add(9, 9, 255);
        c.add(i64::MIN, i64::MAX, 255);
        assert_eq!(c.get(3, 3), 10);
        assert_eq!(c.get(2, 2), 0);
        assert_eq!(c.get(9, 9), 0);
        assert!(Coverage::new(Rect::new(0, 0, 5000, 5000)).is_err());
    }
}
