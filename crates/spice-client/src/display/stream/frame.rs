//! One stream frame onto its surface: decode, put rows in display order, scale to the
//! destination and clip.

use spice_codecs::jpeg::decode_jpeg;
use spice_codecs::Rgba;
use spice_proto::messages::display::video_codec;

use crate::display::geom::Rect;
use crate::display::rop::Ropd;
use crate::display::surface::{ImageRef, Surface};
use crate::error::DisplayError;

/// A codec's name for statistics and messages.
pub fn codec_name(codec: u8) -> &'static str {
    match codec {
        video_codec::MJPEG => "MJPEG",
        video_codec::VP8 => "VP8",
        video_codec::H264 => "H264",
        video_codec::VP9 => "VP9",
        video_codec::H265 => "H265",
        _ => "UNKNOWN",
    }
}

/// Whether this client decodes `codec`; only these are advertised.
pub fn is_decodable(codec: u8) -> bool {
    codec == video_codec::MJPEG
}

/// Decodes one frame into display order (top row first).
pub(crate) fn decode(codec: u8, data: &[u8], top_down: bool) -> Result<Rgba, DisplayError> {
    if !is_decodable(codec) {
        return Err(DisplayError::UnsupportedImage(codec_name(codec)));
    }
    let mut image = decode_jpeg(data).map_err(|e| DisplayError::Codec(e.to_string()))?;
    if !top_down {
        flip_rows(&mut image);
    }
    Ok(image)
}

/// Bottom-up frames (the server encodes the source's memory order) are turned over.
pub(crate) fn flip_rows(image: &mut Rgba) {
    let row = image.width as usize * 4;
    if row == 0 || image.pixels.len() != row * image.height as usize {
        return;
    }
    let rows = image.height as usize;
    for y in 0..rows / 2 {
        let (upper, lower) = image.pixels.split_at_mut((rows - 1 - y) * row);
        upper[y * row..(y + 1) * row].swap_with_slice(&mut lower[..row]);
    }
}

/// Draws `image` scaled onto `dest`, only inside `clip` (the whole dest when `None`).
/// Returns the bounding box of what changed, empty when nothing did.
pub(crate) fn draw(surface: &mut Surface, image: &Rgba, dest: Rect, clip: Option<&[Rect]>) -> Rect {
    let src = ImageRef {
        width: image.width,
        height: image.height,
        pixels: &image.pixels,
    };
    let src_area = Rect::from_size(image.width, image.height);
    let mut changed = Rect::default();
    for region in surface.clip_regions(dest, clip) {
        surface.blit(region, dest, src, src_area, Ropd::PUT);
        changed = changed.union(&region);
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::display::surface::SurfaceFormat;

    /// A w×h image whose pixel (x, y) is (x, y, 100 + x + 10 y).
    fn ramp(width: u32, height: u32) -> Rgba {
        let mut pixels = Vec::new();
        for y in 0..height {
            for x in 0..width {
                pixels.extend_from_slice(&[x as u8, y as u8, (100 + x + 10 * y) as u8, 255]);
            }
        }
        Rgba {
            width,
            height,
            pixels,
        }
    }

    fn pixel(s: &Surface, x: u32, y: u32) -> [u8; 4] {
        let i = ((y * s.width() + x) * 4) as usize;
        s.pixels()[i..i + 4].try_into().unwrap()
    }

    #[test]
    fn flip_turns_rows_over() {
        let mut img = ramp(2, 3);
        flip_rows(&mut img);
        assert_eq!(&img.pixels[..8], &[0, 2, 120, 255, 1, 2, 121, 255]);
        assert_eq!(&img.pixels[8..16], &[0, 1, 110, 255, 1, 1, 111, 255]);
        assert_eq!(&img.pixels[16..], &[0, 0, 100, 255, 1, 0, 101, 255]);
    }

    #[test]
    fn unscaled_frame_lands_at_dest() {
        let mut s = Surface::new(8, 8, SurfaceFormat::Xrgb32).unwrap();
        let changed = draw(&mut s, &ramp(3, 2), Rect::new(4, 5, 7, 7), None);
        assert_eq!(changed, Rect::new(4, 5, 7, 7));
        assert_eq!(pixel(&s, 4, 5), [0, 0, 100, 255]);
        assert_eq!(pixel(&s, 6, 6), [2, 1, 112, 255]);
        assert_eq!(pixel(&s, 3, 5), [0, 0, 0, 255]);
        assert_eq!(pixel(&s, 7, 6), [0, 0, 0, 255]);
    }

    #[test]
    fn frame_is_scaled_to_dest_nearest() {
        let mut s = Surface::new(8, 8, SurfaceFormat::Xrgb32).unwrap();
        // 2×2 → 4×4: every source pixel becomes a 2×2 block.
        draw(&mut s, &ramp(2, 2), Rect::new(0, 0, 4, 4), None);
        for y in 0..4 {
            for x in 0..4 {
                let (sx, sy) = (x / 2, y / 2);
                assert_eq!(
                    pixel(&s, x, y),
                    [sx as u8, sy as u8, (100 + sx + 10 * sy) as u8, 255],
                    "({x}, {y})"
                );
            }
        }
        assert_eq!(pixel(&s, 4, 0), [0, 0, 0, 255]);
    }

    #[test]
    fn clip_limits_the_frame() {
        let mut s = Surface::new(8, 8, SurfaceFormat::Xrgb32).unwrap();
        let clip = [Rect::new(1, 1, 2, 3), Rect::new(3, 0, 8, 1)];
        let changed = draw(&mut s, &ramp(4, 4), Rect::new(0, 0, 4, 4), Some(&clip));
        assert_eq!(changed, Rect::new(1, 0, 4, 3));
        for y in 0..8 {
            for x in 0..8 {
                let inside = (x == 1 && (1..3).contains(&y)) || (x == 3 && y == 0);
                let want = if inside {
                    [x as u8, y as u8, (100 + x + 10 * y) as u8, 255]
                } else {
                    [0, 0, 0, 255]
                };
                assert_eq!(pixel(&s, x, y), want, "({x}, {y})");
            }
        }
    }

    #[test]
    fn dest_outside_the_surface_is_cut() {
        let mut s = Surface::new(4, 4, SurfaceFormat::Xrgb32).unwrap();
        let changed = draw(&mut s, &ramp(4, 4), Rect::new(2, -2, 6, 2), None);
        assert_eq!(changed, Rect::new(2, 0, 4, 2));
        assert_eq!(pixel(&s, 2, 0), [0, 2, 120, 255]);
        assert_eq!(pixel(&s, 3, 1), [1, 3, 131, 255]);
    }

    #[test]
    fn other_codecs_are_refused() {
        assert!(matches!(
            decode(video_codec::VP8, &[0; 16], true),
            Err(DisplayError::UnsupportedImage("VP8"))
        ));
    }
}
