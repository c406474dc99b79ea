//! DRAW_COMPOSITE: Render compositing of a source (and optional mask) onto the target,
//! with premultiplied colours as pixman has them.
//!
//! * Operators: the Porter-Duff set (CLEAR..XOR, ADD, SATURATE) and its disjoint
//!   (0x10..0x1b) and conjoint (0x20..0x2b) variants. Each is a pair of blend factors
//!   `result = src * Fa + dst * Fb`; the separable/HSL blend modes (0x30..) are refused.
//! * Layers: source and mask sampled at the destination pixel centre, shifted by their
//!   origin, through an optional 2x3 affine transform in 16.16 fixed point, with
//!   nearest or bilinear filtering and NONE/NORMAL/PAD/REFLECT repeat.
//! * Component alpha: the mask's colour channels weight each colour channel separately.

use spice_codecs::Rgba;

use super::blend::mul255;
use super::raster::paint;
use super::sample::Filter;
use crate::display::geom::Rect;
use crate::display::surface::{Surface, SurfaceFormat};
use crate::error::DisplayError;

/// Render repeat modes (2 bits in the composite flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    None,
    Normal,
    Pad,
    Reflect,
}

impl Repeat {
    pub fn from_bits(v: u32) -> Self {
        match v & 3 {
            0 => Repeat::None,
            1 => Repeat::Normal,
            2 => Repeat::Pad,
            _ => Repeat::Reflect,
        }
    }

    /// The texel index for coordinate `i` along an axis of `len`, or `None` (transparent).
    fn index(self, i: i64, len: i64) -> Option<i64> {
        if len <= 0 {
            return None;
        }
        match self {
            Repeat::None => (0..len).contains(&i).then_some(i),
            Repeat::Normal => Some(i.rem_euclid(len)),
            Repeat::Pad => Some(i.clamp(0, len - 1)),
            Repeat::Reflect => {
                let m = i.rem_euclid(2 * len);
                Some(if m >= len { 2 * len - 1 - m } else { m })
            }
        }
    }
}

/// Render filters as the composite flags carry them (3 bits): NEAREST 0, BILINEAR 1,
/// then FAST, GOOD, BEST, which pixman treats as nearest, bilinear and bilinear.
pub fn filter_from_bits(v: u32) -> Filter {
    match v & 7 {
        1 | 3 | 4 => Filter::Bilinear,
        _ => Filter::Nearest,
    }
}

/// A source or mask picture.
pub struct Layer<'a> {
    pub image: &'a Rgba,
    /// 16.16 fixed point, row-major t00 t01 t02 t10 t11 t12; `None` is the identity.
    pub transform: Option<[i32; 6]>,
    /// Picture coordinates of the draw box's top-left pixel.
    pub origin: (i32, i32),
    pub repeat: Repeat,
    pub filter: Filter,
    /// The picture has no alpha channel (x8r8g8b8): alpha reads as 255.
    pub opaque: bool,
}

impl Layer<'_> {
    fn texel(&self, x: i64, y: i64) -> [u8; 4] {
        let (w, h) = (i64::from(self.image.width), i64::from(self.image.height));
        let (Some(x), Some(y)) = (self.repeat.index(x, w), self.repeat.index(y, h)) else {
            return [0; 4];
        };
        let i = ((y * w + x) * 4) as usize;
        let mut p = [0u8; 4];
        if let Some(src) = self.image.pixels.get(i..i + 4) {
            p.copy_from_slice(src);
        }
        if self.opaque {
            p[3] = 0xff;
        }
        p
    }

    /// The picture's value for draw-box offset (ox, oy).
    fn at(&self, ox: i64, oy: i64) -> [u8; 4] {
        // Pixel centre in 16.16.
        let u = i128::from(ox + i64::from(self.origin.0)) * 65536 + 32768;
        let v = i128::from(oy + i64::from(self.origin.1)) * 65536 + 32768;
        let (x, y) = match self.transform {
            None => (u, v),
            Some(t) => {
                let t: [i128; 6] = t.map(i128::from);
                (
                    ((t[0] * u + t[1] * v) >> 16) + t[2],
                    ((t[3] * u + t[4] * v) >> 16) + t[5],
                )
            }
        };
        // Far-away coordinates behave like any out-of-picture ones.
        let clamp = |c: i128| c.clamp(-(1 << 60), 1 << 60) as i64;
        let (x, y) = (clamp(x), clamp(y));
        match self.filter {
            Filter::Nearest => self.texel((x - 1) >> 16, (y - 1) >> 16),
            Filter::Bilinear => self.bilinear(x - 32768, y - 32768),
        }
    }

    fn bilinear(&self, x: i64, y: i64) -> [u8; 4] {
        let (x0, y0) = (x >> 16, y >> 16);
        let (wx, wy) = (((x >> 8) & 0xff) as u32, ((y >> 8) & 0xff) as u32);
        let tl = self.texel(x0, y0);
        let tr = self.texel(x0 + 1, y0);
        let bl = self.texel(x0, y0 + 1);
        let br = self.texel(x0 + 1, y0 + 1);
        let mut out = [0u8; 4];
        for c in 0..4 {
            let top = u32::from(tl[c]) * (256 - wx) + u32::from(tr[c]) * wx;
            let bottom = u32::from(bl[c]) * (256 - wx) + u32::from(br[c]) * wx;
            out[c] = ((top * (256 - wy) + bottom * wy + (1 << 15)) >> 16) as u8;
        }
        out
    }
}

/// Blend factor kinds; "own" is the alpha of the side the factor multiplies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Factor {
    Zero,
    One,
    /// Porter-Duff "in": other alpha, or its disjoint/conjoint form.
    In(Family),
    /// Porter-Duff "out": 1 - other alpha, or its disjoint/conjoint form.
    Out(Family),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Regular,
    Disjoint,
    Conjoint,
}

/// `min(255, n / d)` in 0..=255 units; `d == 0` counts as saturating.
fn ratio(n: u32, d: u32) -> u32 {
    (n * 255 + d / 2).checked_div(d).map_or(255, |r| r.min(255))
}

impl Factor {
    fn value(self, own: u32, other: u32) -> u32 {
        match self {
            Factor::Zero => 0,
            Factor::One => 255,
            Factor::In(Family::Regular) => other,
            Factor::Out(Family::Regular) => 255 - other,
            Factor::In(Family::Disjoint) => 255 - ratio(255 - other, own),
            Factor::Out(Family::Disjoint) => ratio(255 - other, own),
            Factor::In(Family::Conjoint) => ratio(other, own),
            Factor::Out(Family::Conjoint) => 255 - ratio(other, own),
        }
    }
}

/// (Fa, Fb) for a Render operator.
fn factors(op: u8) -> Option<(Factor, Factor)> {
    use Factor::{In, One, Out, Zero};
    let family = match op >> 4 {
        0 => Family::Regular,
        1 => Family::Disjoint,
        2 => Family::Conjoint,
        _ => return None,
    };
    let f = family;
    Some(match (op & 0xf, family) {
        (0, _) => (Zero, Zero),
        (1, _) => (One, Zero),
        (2, _) => (Zero, One),
        (3, _) => (One, Out(f)),
        (4, _) => (Out(f), One),
        (5, _) => (In(f), Zero),
        (6, _) => (Zero, In(f)),
        (7, _) => (Out(f), Zero),
        (8, _) => (Zero, Out(f)),
        (9, _) => (In(f), Out(f)),
        (10, _) => (Out(f), In(f)),
        (11, _) => (Out(f), Out(f)),
        (12, Family::Regular) => (One, One),
        (13, Family::Regular) => (Out(Family::Disjoint), One),
        _ => return None,
    })
}

/// One composited pixel. `dst` is premultiplied; `dst_opaque` makes its alpha 255.
pub fn pixel(
    op: u8,
    src: [u8; 4],
    mask: Option<[u8; 4]>,
    component_alpha: bool,
    dst: [u8; 4],
    dst_opaque: bool,
) -> Result<[u8; 4], DisplayError> {
    let (fa, fb) = factors(op).ok_or(DisplayError::UnsupportedImage("composite operator"))?;
    let m = |c: usize| match mask {
        None => 255,
        Some(m) if component_alpha => u32::from(m[c]),
        Some(m) => u32::from(m[3]),
    };
    let sa = u32::from(src[3]);
    let da = if dst_opaque { 255 } else { u32::from(dst[3]) };
    let mut out = [0u8; 4];
    for c in 0..4 {
        let s = mul255(u32::from(src[c]), m(c));
        let own_sa = mul255(sa, m(c));
        let d = if c == 3 { da } else { u32::from(dst[c]) };
        let a = fa.value(own_sa, da);
        let b = fb.value(da, own_sa);
        out[c] = (mul255(s, a) + mul255(d, b)).min(255) as u8;
    }
    if dst_opaque {
        out[3] = 255;
    }
    Ok(out)
}

pub struct Composite<'a> {
    pub op: u8,
    pub src: Layer<'a>,
    pub mask: Option<Layer<'a>>,
    pub component_alpha: bool,
    pub dest_opaque: bool,
}

/// Composites onto `regions` of `surface`; `box_` is the draw box layer origins refer to.
pub fn draw(
    surface: &mut Surface,
    regions: &[Rect],
    box_: Rect,
    c: &Composite<'_>,
) -> Result<(), DisplayError> {
    factors(c.op).ok_or(DisplayError::UnsupportedImage("composite operator"))?;
    let format = surface.format();
    let alpha_only = matches!(format, SurfaceFormat::A8 | SurfaceFormat::A1);
    let dst_opaque = c.dest_opaque || format.is_opaque();
    let mut result = Ok(());
    paint(surface, regions, None, |x, y, p| {
        let (ox, oy) = (
            i64::from(x) - i64::from(box_.left),
            i64::from(y) - i64::from(box_.top),
        );
        let s = c.src.at(ox, oy);
        let m = c.mask.as_ref().map(|m| m.at(ox, oy));
        let d = if alpha_only {
            [0, 0, 0, p[3]]
        } else {
            [p[0], p[1], p[2], p[3]]
        };
        match pixel(c.op, s, m, c.component_alpha, d, dst_opaque) {
            Ok(v) if alpha_only => p.copy_from_slice(&[v[3]; 4]),
            Ok(v) => p.copy_from_slice(&v),
            Err(e) => result = Err(e),
        }
    });
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    const OVER: u8 = 3;

    fn px(op: u8, s: [u8; 4], d: [u8; 4]) -> [u8; 4] {
        pixel(op, s, None, false, d, false).unwrap()
    }

    #[test]
    fn porter_duff_operators_on_hand_computed_pixels() {
        // Premultiplied: s = red at alpha 0.4 (102), d = blue at alpha 0.6 (153).
        let s = [102, 0, 0, 102];
        let d = [0, 0, 153, 153];
        assert_eq!(px(0, s, d), [0, 0, 0, 0], "CLEAR");
        assert_eq!(px(1, s, d), s, "SRC");
        assert_eq!(px(2, s, d), d, "DST");
        // OVER: s + d*(1-0.4) = (102, 0, 92, 102+92)
        assert_eq!(px(OVER, s, d), [102, 0, 92, 194], "OVER");
        // OVER_REVERSE: s*(1-0.6) + d = (41, 0, 153, 194)
        assert_eq!(px(4, s, d), [41, 0, 153, 194], "OVER_REVERSE");
        // IN: s*0.6 = (61, 0, 0, 61)
        assert_eq!(px(5, s, d), [61, 0, 0, 61], "IN");
        // IN_REVERSE: d*0.4 = (0, 0, 61, 61)
        assert_eq!(px(6, s, d), [0, 0, 61, 61], "IN_REVERSE");
        // OUT: s*0.4 = (41,0,0,41)
        assert_eq!(px(7, s, d), [41, 0, 0, 41], "OUT");
        // OUT_REVERSE: d*0.6 = (0,0,92,92)
        assert_eq!(px(8, s, d), [0, 0, 92, 92], "OUT_REVERSE");
        // ATOP: s*0.6 + d*0.6 = (61, 0, 92, 153)
        assert_eq!(px(9, s, d), [61, 0, 92, 153], "ATOP");
        // ATOP_REVERSE: s*0.4 + d*0.4 = (41, 0, 61, 102)
        assert_eq!(px(10, s, d), [41, 0, 61, 102], "ATOP_REVERSE");
        // XOR: s*0.4 + d*0.6 = (41, 0, 92, 133)
        assert_eq!(px(11, s, d), [41, 0, 92, 133], "XOR");
        // ADD saturates.
        assert_eq!(
            px(12, [200, 0, 0, 200], [100, 0, 0, 100]),
            [255, 0, 0, 255],
            "ADD"
        );
        // SATURATE: Fa = min(1, (1-0.6)/0.4) = 1 -> like ADD here.
        assert_eq!(px(13, s, d), [102, 0, 153, 255], "SATURATE");
        // SATURATE with a strong source: Fa = (1-0.6)/0.8 = 0.5.
        assert_eq!(px(13, [204, 0, 0, 204], d), [102, 0, 153, 255]);
        assert!(
            pixel(0x30, s, None, false, d, false).is_err(),
            "blend modes"
        );
        assert!(pixel(14, s, None, false, d, false).is_err());
    }

    #[test]
    fn disjoint_and_conjoint_over() {
        let s = [102, 0, 0, 102]; // 0.4
        let d = [0, 0, 153, 153]; // 0.6
                                  // Disjoint OVER: Fb = min(1, (1-0.4)/0.6) = 1.
        assert_eq!(px(0x13, s, d), [102, 0, 153, 255]);
        // Conjoint OVER: Fb = max(1 - 0.4/0.6, 0) = 1/3.
        assert_eq!(px(0x23, s, d), [102, 0, 51, 153]);
        // Conjoint IN: Fa = min(1, 0.6/0.4) = 1.
        assert_eq!(px(0x25, s, d), [102, 0, 0, 102]);
    }

    #[test]
    fn mask_alpha_and_component_alpha_and_opaque_destination() {
        let s = [200, 100, 50, 255];
        let d = [10, 20, 30, 255];
        // Unified mask at 0.5: s' = (100, 50, 25, 128), d*(1-0.5).
        let r = pixel(OVER, s, Some([0, 0, 0, 128]), false, d, false).unwrap();
        assert_eq!(r, [100 + 5, 50 + 10, 25 + 15, 255]);
        // Component alpha: red fully, green half, blue not at all.
        let r = pixel(OVER, s, Some([255, 128, 0, 255]), true, d, false).unwrap();
        assert_eq!(r, [200, 50 + 10, 30, 255]);
        // SRC onto an opaque destination keeps alpha 255 even from a clear source.
        let r = pixel(1, [0, 0, 0, 0], None, false, d, true).unwrap();
        assert_eq!(r, [0, 0, 0, 255]);
    }

    fn image(w: u32, h: u32) -> Rgba {
        Rgba {
            width: w,
            height: h,
            pixels: (0..w * h).flat_map(|i| [i as u8 * 10, 0, 0, 255]).collect(),
        }
    }

    fn layer(image: &Rgba, repeat: Repeat, filter: Filter, t: Option<[i32; 6]>) -> Layer<'_> {
        Layer {
            image,
            transform: t,
            origin: (0, 0),
            repeat,
            filter,
            opaque: false,
        }
    }

    #[test]
    fn repeat_modes() {
        let img = image(3, 1); // 0, 10, 20
        let row = |r: Repeat| -> Vec<u8> {
            let l = layer(&img, r, Filter::Nearest, None);
            (-3..6).map(|x| l.at(x, 0)[0]).collect()
        };
        assert_eq!(row(Repeat::None), vec![0, 0, 0, 0, 10, 20, 0, 0, 0]);
        assert_eq!(row(Repeat::Normal), vec![0, 10, 20, 0, 10, 20, 0, 10, 20]);
        assert_eq!(row(Repeat::Pad), vec![0, 0, 0, 0, 10, 20, 20, 20, 20]);
        assert_eq!(row(Repeat::Reflect), vec![20, 10, 0, 0, 10, 20, 20, 10, 0]);
        let l = layer(&img, Repeat::None, Filter::Nearest, None);
        assert_eq!(l.at(-1, 0)[3], 0, "outside is transparent");
    }

    #[test]
    fn transforms_scale_and_translate_with_both_filters() {
        let img = image(4, 1); // 0 10 20 30
                               // Scale by 2 (source = 2 * dest): dest centre 0.5 -> 1.0 -> nearest picks pixel 0.
        let scale2 = Some([2 << 16, 0, 0, 0, 2 << 16, 0]);
        let l = layer(&img, Repeat::Pad, Filter::Nearest, scale2);
        let xs: Vec<u8> = (0..2).map(|x| l.at(x, 0)[0]).collect();
        assert_eq!(xs, vec![0, 20]);
        let l = layer(&img, Repeat::Pad, Filter::Bilinear, scale2);
        // Bilinear at 1.0 -> halfway between pixel 0 and 1 centres: 5; at 3.0 -> 25.
        let xs: Vec<u8> = (0..2).map(|x| l.at(x, 0)[0]).collect();
        assert_eq!(xs, vec![5, 25]);
        // Translate by +1.5 px (source = dest + 1.5): bilinear 5+10=15 at dest 0.
        let shift = Some([1 << 16, 0, 3 << 15, 0, 1 << 16, 0]);
        let l = layer(&img, Repeat::Pad, Filter::Bilinear, shift);
        assert_eq!(l.at(0, 0)[0], 15);
        // Origin shifts before the transform.
        let mut l = layer(&img, Repeat::None, Filter::Nearest, None);
        l.origin = (2, 0);
        assert_eq!(l.at(0, 0)[0], 20);
    }

    #[test]
    fn draws_onto_a8_and_respects_clip_regions() {
        let mut s = Surface::new(3, 1, SurfaceFormat::A8).unwrap();
        let src = Rgba {
            width: 1,
            height: 1,
            pixels: vec![0, 0, 0, 100],
        };
        let c = Composite {
            op: 12,
            src: layer(&src, Repeat::Normal, Filter::Nearest, None),
            mask: None,
            component_alpha: false,
            dest_opaque: false,
        };
        let all = Rect::new(0, 0, 3, 1);
        draw(&mut s, &[Rect::new(1, 0, 3, 1)], all, &c).unwrap();
        draw(&mut s, &[Rect::new(2, 0, 3, 1)], all, &c).unwrap();
        let alphas: Vec<u8> = s.pixels().chunks(4).map(|p| p[3]).collect();
        assert_eq!(alphas, vec![0, 100, 200]);
    }
}
