//! Reading a source image for a destination pixel: `src_area` of the image maps onto the
//! draw box, scaled when the sizes differ (scale_mode NEAREST or INTERPOLATE = bilinear).
//! Pixel centres map onto pixel centres, so a 2x upscale repeats each pixel twice.

use spice_codecs::Rgba;

use crate::display::geom::Rect;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    Nearest,
    Bilinear,
}

impl Filter {
    pub fn from_scale_mode(mode: u8) -> Self {
        if mode == spice_proto::messages::display::scale_mode::NEAREST {
            Filter::Nearest
        } else {
            Filter::Bilinear
        }
    }
}

pub struct Sampler<'a> {
    image: &'a Rgba,
    box_: Rect,
    area: Rect,
    /// `area` cut to the image; sampling never reads outside it.
    valid: Rect,
    filter: Filter,
    scaled: bool,
}

impl<'a> Sampler<'a> {
    pub fn new(image: &'a Rgba, box_: Rect, area: Rect, filter: Filter) -> Self {
        let valid = area.intersect(&Rect::from_size(image.width, image.height));
        let consistent = (image.width as usize)
            .checked_mul(image.height as usize)
            .and_then(|n| n.checked_mul(4))
            == Some(image.pixels.len());
        Sampler {
            image,
            box_,
            area,
            valid: if consistent { valid } else { Rect::default() },
            filter,
            scaled: area.width() != box_.width() || area.height() != box_.height(),
        }
    }

    fn texel(&self, x: i64, y: i64) -> [u8; 4] {
        let i = ((y as usize) * self.image.width as usize + x as usize) * 4;
        let mut p = [0u8; 4];
        p.copy_from_slice(&self.image.pixels[i..i + 4]);
        p
    }

    fn inside(&self, x: i64, y: i64) -> bool {
        x >= i64::from(self.valid.left)
            && x < i64::from(self.valid.right)
            && y >= i64::from(self.valid.top)
            && y < i64::from(self.valid.bottom)
    }

    /// The source pixel for destination (x, y), or `None` where the source has none.
    pub fn at(&self, x: i32, y: i32) -> Option<[u8; 4]> {
        if self.valid.is_empty() || self.box_.is_empty() {
            return None;
        }
        let ox = i64::from(x) - i64::from(self.box_.left);
        let oy = i64::from(y) - i64::from(self.box_.top);
        if !self.scaled {
            let (sx, sy) = (
                ox + i64::from(self.area.left),
                oy + i64::from(self.area.top),
            );
            return self.inside(sx, sy).then(|| self.texel(sx, sy));
        }
        // Source position of the destination pixel centre, in 1/256 pixel.
        let fx = map_centre(ox, self.area.left, self.area.width(), self.box_.width());
        let fy = map_centre(oy, self.area.top, self.area.height(), self.box_.height());
        match self.filter {
            Filter::Nearest => {
                let (sx, sy) = ((fx + 128) >> 8, (fy + 128) >> 8);
                self.inside(sx, sy).then(|| self.texel(sx, sy))
            }
            Filter::Bilinear => Some(self.bilinear(fx, fy)),
        }
    }

    fn bilinear(&self, fx: i64, fy: i64) -> [u8; 4] {
        let v = &self.valid;
        let clamp_x = |x: i64| x.clamp(i64::from(v.left), i64::from(v.right) - 1);
        let clamp_y = |y: i64| y.clamp(i64::from(v.top), i64::from(v.bottom) - 1);
        let (x0, y0) = (fx >> 8, fy >> 8);
        let (wx, wy) = ((fx & 0xff) as u32, (fy & 0xff) as u32);
        let tl = self.texel(clamp_x(x0), clamp_y(y0));
        let tr = self.texel(clamp_x(x0 + 1), clamp_y(y0));
        let bl = self.texel(clamp_x(x0), clamp_y(y0 + 1));
        let br = self.texel(clamp_x(x0 + 1), clamp_y(y0 + 1));
        let mut out = [0u8; 4];
        for c in 0..4 {
            let top = u32::from(tl[c]) * (256 - wx) + u32::from(tr[c]) * wx;
            let bottom = u32::from(bl[c]) * (256 - wx) + u32::from(br[c]) * wx;
            out[c] = ((top * (256 - wy) + bottom * wy + (1 << 15)) >> 16) as u8;
        }
        out
    }
}

/// `start + (offset + 0.5) * src_len / dst_len - 0.5`, in 1/256 pixel: the source
/// coordinate (of a pixel's top-left corner) whose centre lines up with the destination
/// pixel's centre.
fn map_centre(offset: i64, start: i32, src_len: u32, dst_len: u32) -> i64 {
    // Guest-sized lengths and offsets overflow i64 here; far-away results just miss.
    let num = i128::from(2 * offset + 1) * i128::from(src_len) * 256;
    let v = i128::from(start) * 256 + num / (2 * i128::from(dst_len.max(1))) - 128;
    v.clamp(-(1 << 60), 1 << 60) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(width: u32, height: u32) -> Rgba {
        Rgba {
            width,
            height,
            pixels: (0..width * height)
                .flat_map(|i| [(i * 10) as u8, 0, 0, 255])
                .collect(),
        }
    }

    #[test]
    fn unscaled_offsets_by_src_area_and_stops_at_the_image_edge() {
        let img = ramp(4, 1);
        let s = Sampler::new(
            &img,
            Rect::new(10, 0, 13, 1),
            Rect::new(2, 0, 5, 1),
            Filter::Nearest,
        );
        assert_eq!(s.at(10, 0), Some([20, 0, 0, 255]));
        assert_eq!(s.at(11, 0), Some([30, 0, 0, 255]));
        assert_eq!(s.at(12, 0), None, "src x 4 is past the image");
    }

    #[test]
    fn nearest_upscale_repeats_and_downscale_takes_centres() {
        let img = ramp(2, 1);
        let up = Sampler::new(
            &img,
            Rect::new(0, 0, 4, 1),
            Rect::new(0, 0, 2, 1),
            Filter::Nearest,
        );
        let xs: Vec<u8> = (0..4).map(|x| up.at(x, 0).unwrap()[0]).collect();
        assert_eq!(xs, vec![0, 0, 10, 10]);
        let img = ramp(4, 1);
        let down = Sampler::new(
            &img,
            Rect::new(0, 0, 2, 1),
            Rect::new(0, 0, 4, 1),
            Filter::Nearest,
        );
        // Destination centre 0.5 -> source 1.0 (pixel 1), 1.5 -> 3.0 (pixel 3): ties go right.
        assert_eq!(down.at(0, 0).unwrap()[0], 10);
        assert_eq!(down.at(1, 0).unwrap()[0], 30);
    }

    #[test]
    fn extreme_areas_do_not_overflow() {
        let img = ramp(2, 1);
        let area = Rect::new(i32::MIN, 0, i32::MAX, 1);
        for filter in [Filter::Nearest, Filter::Bilinear] {
            let s = Sampler::new(&img, Rect::new(i32::MIN, 0, 1, 1), area, filter);
            let _ = s.at(0, 0);
            let s = Sampler::new(&img, Rect::new(0, 0, 1, 1), area, filter);
            let _ = s.at(0, 0);
        }
        // A wide area squeezed into one pixel whose centre lands inside the image.
        let s = Sampler::new(
            &img,
            Rect::new(0, 0, 1, 1),
            Rect::new(-1, 0, 3, 1),
            Filter::Nearest,
        );
        assert_eq!(s.at(0, 0), Some([10, 0, 0, 255]));
    }

    #[test]
    fn bilinear_interpolates_between_centres_and_clamps_at_edges() {
        let img = ramp(2, 1); // 0, 10
        let s = Sampler::new(
            &img,
            Rect::new(0, 0, 4, 1),
            Rect::new(0, 0, 2, 1),
            Filter::Bilinear,
        );
        // Centres 0.5,1.5,2.5,3.5 -> source positions -0.25, 0.25, 0.75, 1.25.
        let xs: Vec<u8> = (0..4).map(|x| s.at(x, 0).unwrap()[0]).collect();
        assert_eq!(xs, vec![0, 3, 8, 10]);
    }
}
