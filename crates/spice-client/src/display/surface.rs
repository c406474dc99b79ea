//! A drawing surface held as RGBA8, so presenting it in a browser canvas is a plain copy.
//!
//! All drawing entry points clip against the surface bounds first; coordinates come from
//! the guest and are never trusted.

use super::draw::pixfmt;
use super::geom::Rect;
use super::rop::Ropd;
use crate::error::DisplayError;

/// The largest surface we agree to allocate: 16384 × 16384 is beyond any real guest mode
/// and still bounded (1 GiB would be too much for a browser tab, so also cap the area).
pub const MAX_SURFACE_SIDE: u32 = 16384;
pub const MAX_SURFACE_PIXELS: u64 = 8192 * 8192;

/// Pixel formats the server may ask for (SPICE surface formats).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SurfaceFormat {
    A1,
    A8,
    Rgb555,
    Rgb565,
    Xrgb32,
    Argb32,
}

impl SurfaceFormat {
    pub fn from_wire(v: u32) -> Option<Self> {
        Some(match v {
            1 => SurfaceFormat::A1,
            8 => SurfaceFormat::A8,
            16 => SurfaceFormat::Rgb555,
            80 => SurfaceFormat::Rgb565,
            32 => SurfaceFormat::Xrgb32,
            96 => SurfaceFormat::Argb32,
            _ => return None,
        })
    }

    /// Formats without an alpha channel always present alpha 255.
    pub fn is_opaque(self) -> bool {
        !matches!(
            self,
            SurfaceFormat::Argb32 | SurfaceFormat::A8 | SurfaceFormat::A1
        )
    }
}

/// A decoded image to draw from: RGBA8, rows top-down, tightly packed.
#[derive(Clone, Copy, Debug)]
pub struct ImageRef<'a> {
    pub width: u32,
    pub height: u32,
    pub pixels: &'a [u8],
}

impl ImageRef<'_> {
    fn bounds(&self) -> Rect {
        Rect::from_size(self.width, self.height)
    }

    fn is_consistent(&self) -> bool {
        (self.width as usize)
            .checked_mul(self.height as usize)
            .and_then(|n| n.checked_mul(4))
            == Some(self.pixels.len())
    }
}

#[derive(Clone, Debug)]
pub struct Surface {
    width: u32,
    height: u32,
    format: SurfaceFormat,
    pixels: Vec<u8>,
}

impl Surface {
    pub fn new(width: u32, height: u32, format: SurfaceFormat) -> Result<Self, DisplayError> {
        let area = u64::from(width) * u64::from(height);
        if width == 0
            || height == 0
            || width > MAX_SURFACE_SIDE
            || height > MAX_SURFACE_SIDE
            || area > MAX_SURFACE_PIXELS
        {
            return Err(DisplayError::SurfaceTooLarge { width, height });
        }
        let alpha = if format.is_opaque() { 0xff } else { 0 };
        let mut pixels = vec![0u8; area as usize * 4];
        if alpha != 0 {
            pixels.chunks_exact_mut(4).for_each(|p| p[3] = alpha);
        }
        Ok(Surface {
            width,
            height,
            format,
            pixels,
        })
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    pub fn format(&self) -> SurfaceFormat {
        self.format
    }

    /// RGBA8, rows top-down, `4 * width` bytes per row.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    pub fn bounds(&self) -> Rect {
        Rect::from_size(self.width, self.height)
    }

    pub(crate) fn pixels_mut(&mut self) -> &mut [u8] {
        &mut self.pixels
    }

    /// Brings `regions` back to what the surface format can hold after a draw that wrote
    /// arbitrary RGBA8: opaque alpha for xRGB, 5/6-bit channels for 16-bit formats, and
    /// for alpha-only formats the value replicated in every channel (raster ops compute
    /// it in the colour channels, compositing in alpha; both then read the same value).
    pub fn settle(&mut self, regions: &[Rect]) {
        if self.format == SurfaceFormat::Argb32 {
            return;
        }
        let format = self.format;
        let bits = pixfmt::channel_bits(format);
        for r in regions {
            let r = r.intersect(&self.bounds());
            if r.is_empty() {
                continue;
            }
            for y in r.top..r.bottom {
                let range = self.row_range(y, r.left, r.right);
                for p in self.pixels[range].chunks_exact_mut(4) {
                    settle_pixel(p, format, bits);
                }
            }
        }
    }

    pub fn as_image(&self) -> ImageRef<'_> {
        ImageRef {
            width: self.width,
            height: self.height,
            pixels: &self.pixels,
        }
    }

    /// The parts of `area` that a draw may touch: inside the surface and, when clip rects
    /// are given, inside at least one of them.
    pub fn clip_regions(&self, area: Rect, clip: Option<&[Rect]>) -> Vec<Rect> {
        let area = area.intersect(&self.bounds());
        if area.is_empty() {
            return Vec::new();
        }
        match clip {
            None => vec![area],
            Some(rects) => rects
                .iter()
                .map(|r| r.intersect(&area))
                .filter(|r| !r.is_empty())
                .collect(),
        }
    }

    fn row_range(&self, y: i32, left: i32, right: i32) -> std::ops::Range<usize> {
        let start = (y as usize * self.width as usize + left as usize) * 4;
        start..start + (right - left) as usize * 4
    }

    /// Fills `rect` (already clipped to the surface) with `rgb` under `rop`.
    pub fn fill(&mut self, rect: Rect, rgb: [u8; 3], rop: Ropd) {
        let rect = rect.intersect(&self.bounds());
        if rect.is_empty() {
            return;
        }
        let opaque = self.format.is_opaque();
        let pixel = [rgb[0], rgb[1], rgb[2], 0xff];
        for y in rect.top..rect.bottom {
            let range = self.row_range(y, rect.left, rect.right);
            let row = &mut self.pixels[range];
            if rop.is_plain_put() {
                row.chunks_exact_mut(4)
                    .for_each(|p| p.copy_from_slice(&pixel));
            } else {
                let inv = rop.brush_inverted();
                for p in row.chunks_exact_mut(4) {
                    for c in 0..3 {
                        p[c] = rop.apply(pixel[c], p[c], inv);
                    }
                    if opaque {
                        p[3] = 0xff;
                    }
                }
            }
        }
    }

    /// Draws `src_area` of `src` into `dest` (already clipped), scaling with nearest
    /// neighbour when the sizes differ. `box_` is the unclipped destination box the
    /// source area maps onto.
    pub fn blit(&mut self, dest: Rect, box_: Rect, src: ImageRef<'_>, src_area: Rect, rop: Ropd) {
        if !src.is_consistent() || box_.is_empty() || src_area.is_empty() {
            return;
        }
        let dest = dest.intersect(&self.bounds()).intersect(&box_);
        if dest.is_empty() {
            return;
        }
        if src_area.width() == box_.width() && src_area.height() == box_.height() {
            self.blit_unscaled(dest, box_, src, src_area, rop);
        } else {
            self.blit_scaled(dest, box_, src, src_area, rop);
        }
    }

    fn blit_unscaled(
        &mut self,
        dest: Rect,
        box_: Rect,
        src: ImageRef<'_>,
        src_area: Rect,
        rop: Ropd,
    ) {
        let dx = src_area.left as i64 - box_.left as i64;
        let dy = src_area.top as i64 - box_.top as i64;
        // Bring the source bounds into destination coordinates and clip against them.
        let src_in_dest = shift(src.bounds().intersect(&src_area), -dx, -dy);
        let dest = dest.intersect(&src_in_dest);
        if dest.is_empty() {
            return;
        }
        let opaque = self.format.is_opaque();
        let width = dest.width() as usize * 4;
        for y in dest.top..dest.bottom {
            let sy = (y as i64 + dy) as usize;
            let sx = (dest.left as i64 + dx) as usize;
            let s_start = (sy * src.width as usize + sx) * 4;
            let s_row = &src.pixels[s_start..s_start + width];
            let range = self.row_range(y, dest.left, dest.right);
            let d_row = &mut self.pixels[range];
            write_row(d_row, s_row, rop, opaque);
        }
    }

    fn blit_scaled(
        &mut self,
        dest: Rect,
        box_: Rect,
        src: ImageRef<'_>,
        src_area: Rect,
        rop: Ropd,
    ) {
        let opaque = self.format.is_opaque();
        let (bw, bh) = (box_.width() as i64, box_.height() as i64);
        let (sw, sh) = (src_area.width() as i64, src_area.height() as i64);
        let mut pixel = [0u8; 4];
        for y in dest.top..dest.bottom {
            let sy = src_area.top as i64 + (y as i64 - box_.top as i64) * sh / bh;
            if sy < 0 || sy >= src.height as i64 {
                continue;
            }
            for x in dest.left..dest.right {
                let sx = src_area.left as i64 + (x as i64 - box_.left as i64) * sw / bw;
                if sx < 0 || sx >= src.width as i64 {
                    continue;
                }
                let s = ((sy as usize) * src.width as usize + sx as usize) * 4;
                pixel.copy_from_slice(&src.pixels[s..s + 4]);
                let d = (y as usize * self.width as usize + x as usize) * 4;
                write_row(&mut self.pixels[d..d + 4], &pixel, rop, opaque);
            }
        }
    }

    /// Copies the area at `src_pos` onto `dest` within this surface (COPY_BITS). Source
    /// and destination may overlap; the result is as if the source were read first.
    pub fn copy_bits(&mut self, dest: Rect, box_: Rect, src_x: i32, src_y: i32) {
        let dx = i64::from(src_x) - i64::from(box_.left);
        let dy = i64::from(src_y) - i64::from(box_.top);
        let src_in_dest = shift(self.bounds(), -dx, -dy);
        let dest = dest
            .intersect(&self.bounds())
            .intersect(&src_in_dest)
            .intersect(&box_);
        if dest.is_empty() {
            return;
        }
        let row_bytes = dest.width() as usize * 4;
        let stride = self.width as usize * 4;
        // A source above the destination must be copied bottom-up, or its lower rows
        // would be overwritten before they are read.
        let height = dest.bottom - dest.top;
        for i in 0..height {
            let y = if dy < 0 {
                dest.bottom - 1 - i
            } else {
                dest.top + i
            };
            let sy = (i64::from(y) + dy) as usize;
            let sx = (i64::from(dest.left) + dx) as usize;
            let from = sy * stride + sx * 4;
            let to = y as usize * stride + dest.left as usize * 4;
            self.pixels.copy_within(from..from + row_bytes, to);
        }
    }
}

fn settle_pixel(p: &mut [u8], format: SurfaceFormat, bits: Option<[u32; 3]>) {
    match format {
        SurfaceFormat::A8 => {
            let v = p[0];
            p.fill(v);
        }
        SurfaceFormat::A1 => {
            let v = if p[0] >= 0x80 { 0xff } else { 0 };
            p.fill(v);
        }
        _ => {
            if let Some(bits) = bits {
                for c in 0..3 {
                    p[c] = pixfmt::quantize(p[c], bits[c]);
                }
            }
            p[3] = 0xff;
        }
    }
}

fn shift(r: Rect, dx: i64, dy: i64) -> Rect {
    let c =
        |v: i32, d: i64| (i64::from(v) + d).clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
    Rect::new(c(r.left, dx), c(r.top, dy), c(r.right, dx), c(r.bottom, dy))
}

fn write_row(dst: &mut [u8], src: &[u8], rop: Ropd, opaque: bool) {
    if rop.is_plain_put() {
        dst.copy_from_slice(src);
        if opaque {
            dst.chunks_exact_mut(4).for_each(|p| p[3] = 0xff);
        }
        return;
    }
    let inv = rop.src_inverted();
    for (d, s) in dst.chunks_exact_mut(4).zip(src.chunks_exact(4)) {
        for c in 0..3 {
            d[c] = rop.apply(s[c], d[c], inv);
        }
        d[3] = if opaque { 0xff } else { s[3] };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn px(s: &Surface, x: u32, y: u32) -> [u8; 4] {
        let i = ((y * s.width() + x) * 4) as usize;
        s.pixels()[i..i + 4].try_into().unwrap()
    }

    fn numbered(width: u32, height: u32) -> Vec<u8> {
        (0..width * height)
            .flat_map(|i| [i as u8, (i >> 8) as u8, 7, 0x80])
            .collect()
    }

    #[test]
    fn oversized_surfaces_are_refused() {
        assert!(Surface::new(0, 10, SurfaceFormat::Xrgb32).is_err());
        assert!(Surface::new(16385, 1, SurfaceFormat::Xrgb32).is_err());
        assert!(Surface::new(16384, 16384, SurfaceFormat::Xrgb32).is_err());
        assert!(Surface::new(1024, 768, SurfaceFormat::Xrgb32).is_ok());
    }

    #[test]
    fn fill_respects_clip_and_bounds() {
        let mut s = Surface::new(4, 4, SurfaceFormat::Xrgb32).unwrap();
        let regions = s.clip_regions(Rect::new(-5, -5, 10, 10), Some(&[Rect::new(1, 1, 3, 2)]));
        assert_eq!(regions, vec![Rect::new(1, 1, 3, 2)]);
        for r in regions {
            s.fill(r, [9, 8, 7], Ropd::PUT);
        }
        assert_eq!(px(&s, 1, 1), [9, 8, 7, 255]);
        assert_eq!(px(&s, 2, 1), [9, 8, 7, 255]);
        assert_eq!(px(&s, 3, 1), [0, 0, 0, 255]);
        assert_eq!(px(&s, 1, 2), [0, 0, 0, 255]);
    }

    #[test]
    fn xor_fill_twice_restores() {
        let mut s = Surface::new(2, 1, SurfaceFormat::Xrgb32).unwrap();
        s.fill(s.bounds(), [10, 20, 30], Ropd::PUT);
        s.fill(s.bounds(), [0xff, 0, 0x0f], Ropd(Ropd::OP_XOR));
        assert_eq!(px(&s, 0, 0), [10 ^ 0xff, 20, 30 ^ 0x0f, 255]);
        s.fill(s.bounds(), [0xff, 0, 0x0f], Ropd(Ropd::OP_XOR));
        assert_eq!(px(&s, 1, 0), [10, 20, 30, 255]);
    }

    #[test]
    fn blit_uses_src_area_offset_and_forces_alpha_on_opaque_surfaces() {
        let src_pixels = numbered(4, 4);
        let src = ImageRef {
            width: 4,
            height: 4,
            pixels: &src_pixels,
        };
        let mut s = Surface::new(8, 8, SurfaceFormat::Xrgb32).unwrap();
        let box_ = Rect::new(5, 5, 7, 7);
        s.blit(box_, box_, src, Rect::new(2, 1, 4, 3), Ropd::PUT);
        // dest (5,5) <- src (1,2): index 1*4+2 = 6
        assert_eq!(px(&s, 5, 5), [6, 0, 7, 255]);
        assert_eq!(px(&s, 6, 6), [11, 0, 7, 255]);
        assert_eq!(px(&s, 4, 5), [0, 0, 0, 255]);
    }

    #[test]
    fn blit_clips_to_image_bounds() {
        let src_pixels = numbered(2, 2);
        let src = ImageRef {
            width: 2,
            height: 2,
            pixels: &src_pixels,
        };
        let mut s = Surface::new(4, 4, SurfaceFormat::Argb32).unwrap();
        // src_area extends past the image: only the overlapping pixel is drawn.
        let box_ = Rect::new(0, 0, 2, 2);
        s.blit(box_, box_, src, Rect::new(1, 1, 3, 3), Ropd::PUT);
        assert_eq!(px(&s, 0, 0), [3, 0, 7, 0x80]);
        assert_eq!(px(&s, 1, 0), [0, 0, 0, 0]);
    }

    #[test]
    fn blit_scales_nearest() {
        let src_pixels = numbered(2, 1);
        let src = ImageRef {
            width: 2,
            height: 1,
            pixels: &src_pixels,
        };
        let mut s = Surface::new(4, 2, SurfaceFormat::Xrgb32).unwrap();
        let box_ = Rect::new(0, 0, 4, 2);
        s.blit(box_, box_, src, Rect::new(0, 0, 2, 1), Ropd::PUT);
        assert_eq!(px(&s, 1, 1)[0], 0);
        assert_eq!(px(&s, 2, 0)[0], 1);
        assert_eq!(px(&s, 3, 1)[0], 1);
    }

    #[test]
    fn copy_bits_handles_overlap_in_every_direction() {
        for (sx, sy) in [(0, 0), (1, 0), (0, 1), (1, 1), (2, 2)] {
            let (w, h) = (5u32, 5u32);
            let mut s = Surface::new(w, h, SurfaceFormat::Argb32).unwrap();
            let original = numbered(w, h);
            let box_ = Rect::new(0, 0, 5, 5);
            s.blit(
                box_,
                box_,
                ImageRef {
                    width: w,
                    height: h,
                    pixels: &original,
                },
                box_,
                Ropd::PUT,
            );
            let dest = Rect::new(1, 1, 4, 4);
            s.copy_bits(dest, dest, sx, sy);
            for y in 1..4 {
                for x in 1..4 {
                    let src_index = ((sy + y - 1) * w as i32 + (sx + x - 1)) as u8;
                    assert_eq!(
                        px(&s, x as u32, y as u32)[0],
                        src_index,
                        "src ({sx},{sy}) at ({x},{y})"
                    );
                }
            }
        }
    }

    #[test]
    fn copy_bits_from_outside_the_surface_is_clipped() {
        let mut s = Surface::new(4, 4, SurfaceFormat::Xrgb32).unwrap();
        let dest = Rect::new(0, 0, 4, 4);
        s.copy_bits(dest, dest, -100, i32::MAX);
        s.copy_bits(dest, dest, 2, 2);
        assert_eq!(px(&s, 0, 0), [0, 0, 0, 255]);
    }
}
