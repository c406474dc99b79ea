//! QMask: a 1-bpp bitmap limiting a draw to the pixels whose bit is set (or clear, with
//! the INVERS flag). Pixels outside the bitmap are never drawn, inverted or not.

use spice_codecs::Rgba;

use crate::display::geom::Rect;

#[derive(Debug, Clone)]
pub struct Mask {
    /// Destination coordinates of the bitmap's top-left pixel.
    origin_x: i64,
    origin_y: i64,
    width: u32,
    height: u32,
    bits: Vec<bool>,
    invert: bool,
}

impl Mask {
    /// `image` is the decoded bitmap (set bits bright, see `DisplayState::mask_image`);
    /// mask pixel `pos` lands on the top-left of the draw box.
    pub fn new(image: &Rgba, box_: Rect, pos_x: i32, pos_y: i32, invert: bool) -> Self {
        let bits = image
            .pixels
            .chunks_exact(4)
            .map(|p| p[0] >= 0x80 || p[1] >= 0x80 || p[2] >= 0x80)
            .collect();
        Mask {
            origin_x: i64::from(box_.left) - i64::from(pos_x),
            origin_y: i64::from(box_.top) - i64::from(pos_y),
            width: image.width,
            height: image.height,
            bits,
            invert,
        }
    }

    pub fn covers(&self, x: i32, y: i32) -> bool {
        let mx = i64::from(x) - self.origin_x;
        let my = i64::from(y) - self.origin_y;
        if mx < 0 || my < 0 || mx >= i64::from(self.width) || my >= i64::from(self.height) {
            return false;
        }
        let i = my as usize * self.width as usize + mx as usize;
        self.bits.get(i).is_some_and(|&b| b != self.invert)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 3x2 mask: row 0 = set, clear, set; row 1 = clear, set, clear.
    fn image() -> Rgba {
        let on = [255, 255, 255, 255];
        let off = [0, 0, 0, 255];
        Rgba {
            width: 3,
            height: 2,
            pixels: [on, off, on, off, on, off].concat(),
        }
    }

    #[test]
    fn maps_box_origin_to_pos_and_honours_invers() {
        let m = Mask::new(&image(), Rect::new(10, 20, 13, 22), 1, 0, false);
        // dest (10,20) -> mask (1,0) = clear; (11,20) -> (2,0) = set; (10,21) -> (1,1) = set.
        assert!(!m.covers(10, 20));
        assert!(m.covers(11, 20));
        assert!(m.covers(10, 21));
        assert!(m.covers(9, 20), "mask (0,0) is left of the box");
        assert!(!m.covers(12, 20), "beyond the bitmap");
        let inv = Mask::new(&image(), Rect::new(10, 20, 13, 22), 1, 0, true);
        assert!(inv.covers(10, 20));
        assert!(!inv.covers(11, 20));
        assert!(!inv.covers(12, 20), "outside stays undrawn when inverted");
        assert!(!inv.covers(i32::MIN, i32::MAX));
    }
}
