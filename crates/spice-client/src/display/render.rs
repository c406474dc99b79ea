//! The draw ops that go through the per-pixel machinery of [`super::draw`]: each one
//! resolves its images first (so the caches stay in step even when the draw is clipped
//! away or fails), then paints the clip regions.

use std::sync::Arc;

use spice_codecs::Rgba;
use spice_proto::messages::display::image::{
    bitmap_flags, BitmapFormat, ImageData, Palette, PaletteSource,
};
use spice_proto::messages::display::{
    alpha_flags, composite_flags as cf, mask_flags, Brush, DisplayBase, DrawAlphaBlend,
    DrawComposite, DrawCopy, DrawOpaque, DrawRop3, DrawStroke, DrawText, DrawTransparent, Image,
    QMask,
};

use super::draw::blend::{alpha_over, is_key, lerp};
use super::draw::brush::Paint;
use super::draw::composite::{self, filter_from_bits, Composite, Layer, Repeat};
use super::draw::coverage::Coverage;
use super::draw::mask::Mask;
use super::draw::pixfmt::solid_color;
use super::draw::raster::paint;
use super::draw::rop3::rop3_pixel;
use super::draw::sample::{Filter, Sampler};
use super::draw::{stroke, text};
use super::geom::Rect;
use super::rop::Ropd;
use super::surface::{ImageRef, SurfaceFormat};
use super::{invalidate, to_rect, DisplayState, Outcome};
use crate::error::DisplayError;
use crate::stats::Stats;

/// Where a draw lands, ready to paint.
pub(super) struct Target {
    pub surface_id: u32,
    pub format: SurfaceFormat,
    pub box_: Rect,
    pub regions: Vec<Rect>,
    pub mask: Option<Mask>,
}

impl Target {
    /// The bounding rect of everything paintable, for coverage maps.
    fn visible(&self) -> Rect {
        self.regions
            .iter()
            .fold(Rect::default(), |acc, r| acc.union(r))
    }
}

type Drawn = Result<Target, DisplayError>;

impl DisplayState {
    /// Runs a draw and turns its result into events.
    fn finish(result: Drawn) -> Vec<Outcome> {
        match result {
            Ok(t) => invalidate(t.surface_id, &t.regions),
            Err(e) => vec![Err(e)],
        }
    }

    pub(super) fn target(
        &mut self,
        base: &DisplayBase,
        mask: Option<&QMask<'_>>,
        stats: &mut Stats,
    ) -> Drawn {
        let mask_image = match mask.and_then(|m| m.bitmap.as_ref()) {
            Some(image) => Some(self.resolve(&mask_image(image), stats)?),
            None => None,
        };
        let (box_, regions) = self.regions(base)?;
        let format = self
            .surfaces
            .get(&base.surface_id)
            .ok_or(DisplayError::NoSuchSurface(base.surface_id))?
            .format();
        let mask = match (mask, mask_image) {
            (Some(m), Some(image)) => Some(Mask::new(
                &image,
                box_,
                m.pos.x,
                m.pos.y,
                m.flags & mask_flags::INVERS != 0,
            )),
            _ => None,
        };
        Ok(Target {
            surface_id: base.surface_id,
            format,
            box_,
            regions,
            mask,
        })
    }

    /// A source image as the target needs it: alpha-only targets take its alpha.
    pub(super) fn source(
        &mut self,
        image: &Image<'_>,
        format: Option<SurfaceFormat>,
        stats: &mut Stats,
    ) -> Result<Arc<Rgba>, DisplayError> {
        let img = self.resolve(image, stats)?;
        Ok(match format {
            Some(SurfaceFormat::A8 | SurfaceFormat::A1) => Arc::new(alpha_as_grey(&img)),
            _ => img,
        })
    }

    pub(super) fn brush(
        &mut self,
        brush: &Brush<'_>,
        format: SurfaceFormat,
        stats: &mut Stats,
    ) -> Result<Option<Paint>, DisplayError> {
        Ok(match brush {
            Brush::None => None,
            Brush::Solid(c) => Some(Paint::Solid(solid_color(*c, format))),
            Brush::Pattern { image, pos } => Some(Paint::Pattern {
                image: self.source(image, Some(format), stats)?,
                x: pos.x,
                y: pos.y,
            }),
        })
    }

    fn target_format(&self, base: &DisplayBase) -> Option<SurfaceFormat> {
        self.surfaces.get(&base.surface_id).map(|s| s.format())
    }

    /// DRAW_COPY and DRAW_BLEND: the source through the ropd, scaled and masked.
    pub(super) fn draw_copy(&mut self, d: &DrawCopy<'_>, stats: &mut Stats) -> Vec<Outcome> {
        Self::finish(self.try_draw_copy(d, stats))
    }

    fn try_draw_copy(&mut self, d: &DrawCopy<'_>, stats: &mut Stats) -> Drawn {
        let format = self.target_format(&d.base);
        // Every image is decoded before any error is reported, so the caches stay in step.
        let image = self.source(&d.src, format, stats);
        let t = self.target(&d.base, Some(&d.mask), stats)?;
        let image = image?;
        let rop = Ropd(d.rop);
        let area = to_rect(&d.src_area);
        let scaled = area.width() != t.box_.width() || area.height() != t.box_.height();
        let surface = self.surface_mut(t.surface_id)?;
        if t.mask.is_none() && !scaled {
            // The hot path: row copies.
            let src = ImageRef {
                width: image.width,
                height: image.height,
                pixels: &image.pixels,
            };
            for r in &t.regions {
                surface.blit(*r, t.box_, src, area, rop);
            }
            if t.format != SurfaceFormat::Xrgb32 {
                surface.settle(&t.regions);
            }
            return Ok(t);
        }
        let sampler = Sampler::new(&image, t.box_, area, Filter::from_scale_mode(d.scale_mode));
        let inv = rop.src_inverted();
        paint(surface, &t.regions, t.mask.as_ref(), |x, y, p| {
            if let Some(s) = sampler.at(x, y) {
                for c in 0..3 {
                    p[c] = rop.apply(s[c], p[c], inv);
                }
                p[3] = s[3];
            }
        });
        Ok(t)
    }

    /// DRAW_FILL (and BLACKNESS/WHITENESS/INVERS, whose "brush" is irrelevant).
    pub(super) fn draw_fill(
        &mut self,
        base: &DisplayBase,
        brush: &Brush<'_>,
        rop: Ropd,
        mask: &QMask<'_>,
        stats: &mut Stats,
    ) -> Vec<Outcome> {
        Self::finish(self.try_fill(base, brush, rop, mask, stats))
    }

    fn try_fill(
        &mut self,
        base: &DisplayBase,
        brush: &Brush<'_>,
        rop: Ropd,
        mask: &QMask<'_>,
        stats: &mut Stats,
    ) -> Drawn {
        let format = self.target_format(base).unwrap_or(SurfaceFormat::Xrgb32);
        let paint_of = self.brush(brush, format, stats);
        let t = self.target(base, Some(mask), stats)?;
        let paint_of = paint_of?;
        let Some(brush) = paint_of else {
            return Ok(Target {
                regions: Vec::new(),
                ..t
            });
        };
        let surface = self.surface_mut(t.surface_id)?;
        if let (Paint::Solid(c), None) = (&brush, &t.mask) {
            for r in &t.regions {
                surface.fill(*r, [c[0], c[1], c[2]], rop);
            }
            if t.format != SurfaceFormat::Xrgb32 {
                surface.settle(&t.regions);
            }
            return Ok(t);
        }
        let inv = rop.brush_inverted();
        paint(surface, &t.regions, t.mask.as_ref(), |x, y, p| {
            let b = brush.at(x, y);
            for c in 0..3 {
                p[c] = rop.apply(b[c], p[c], inv);
            }
        });
        Ok(t)
    }

    /// DRAW_OPAQUE: the source is drawn opaquely, then combined with the brush by the
    /// ropd, the (optionally inverted) source standing in for the destination.
    pub(super) fn draw_opaque(&mut self, d: &DrawOpaque<'_>, stats: &mut Stats) -> Vec<Outcome> {
        Self::finish(self.try_opaque(d, stats))
    }

    fn try_opaque(&mut self, d: &DrawOpaque<'_>, stats: &mut Stats) -> Drawn {
        let format = self.target_format(&d.base);
        let image = self.source(&d.src, format, stats);
        let brush = self.brush(&d.brush, format.unwrap_or(SurfaceFormat::Xrgb32), stats);
        let t = self.target(&d.base, Some(&d.mask), stats)?;
        let (image, brush) = (image?, brush?);
        let rop = Ropd(d.rop);
        let src_inv = rop.src_inverted();
        let brush_rop = Ropd(d.rop & !Ropd::INVERS_SRC);
        let sampler = Sampler::new(
            &image,
            t.box_,
            to_rect(&d.src_area),
            Filter::from_scale_mode(d.scale_mode),
        );
        let surface = self.surface_mut(t.surface_id)?;
        paint(surface, &t.regions, t.mask.as_ref(), |x, y, p| {
            let Some(s) = sampler.at(x, y) else { return };
            for c in 0..3 {
                let s = if src_inv { !s[c] } else { s[c] };
                p[c] = match &brush {
                    Some(b) => brush_rop.apply(b.at(x, y)[c], s, rop.brush_inverted()),
                    None => s,
                };
            }
            p[3] = s[3];
        });
        Ok(t)
    }

    /// DRAW_ROP3: brush, source and destination through a ternary raster op.
    pub(super) fn draw_rop3(&mut self, d: &DrawRop3<'_>, stats: &mut Stats) -> Vec<Outcome> {
        Self::finish(self.try_rop3(d, stats))
    }

    fn try_rop3(&mut self, d: &DrawRop3<'_>, stats: &mut Stats) -> Drawn {
        let format = self.target_format(&d.base);
        let image = self.source(&d.src, format, stats);
        let brush = self.brush(&d.brush, format.unwrap_or(SurfaceFormat::Xrgb32), stats);
        let t = self.target(&d.base, Some(&d.mask), stats)?;
        let (image, brush) = (image?, brush?);
        let sampler = Sampler::new(
            &image,
            t.box_,
            to_rect(&d.src_area),
            Filter::from_scale_mode(d.scale_mode),
        );
        let code = d.rop3;
        let surface = self.surface_mut(t.surface_id)?;
        paint(surface, &t.regions, t.mask.as_ref(), |x, y, p| {
            let Some(s) = sampler.at(x, y) else { return };
            let b = brush.as_ref().map_or([0; 4], |b| b.at(x, y));
            rop3_pixel(code, b, s, p);
        });
        Ok(t)
    }

    /// DRAW_STROKE: one-pixel lines of the brush through `fore_mode`.
    pub(super) fn draw_stroke(&mut self, d: &DrawStroke<'_>, stats: &mut Stats) -> Vec<Outcome> {
        Self::finish(self.try_stroke(d, stats))
    }

    fn try_stroke(&mut self, d: &DrawStroke<'_>, stats: &mut Stats) -> Drawn {
        let format = self.target_format(&d.base).unwrap_or(SurfaceFormat::Xrgb32);
        let brush = self.brush(&d.brush, format, stats)?;
        let t = self.target(&d.base, None, stats)?;
        let Some(brush) = brush else {
            return Ok(Target {
                regions: Vec::new(),
                ..t
            });
        };
        let cov = stroke::stroke(&d.path, &d.attr, t.visible())?;
        let surface = self.surface_mut(t.surface_id)?;
        paint_coverage(surface, &t.regions, &cov, &brush, Ropd(d.fore_mode));
        Ok(t)
    }

    /// DRAW_TEXT: the opaque background (when there is a back brush), then the glyphs.
    pub(super) fn draw_text(&mut self, d: &DrawText<'_>, stats: &mut Stats) -> Vec<Outcome> {
        Self::finish(self.try_text(d, stats))
    }

    fn try_text(&mut self, d: &DrawText<'_>, stats: &mut Stats) -> Drawn {
        let format = self.target_format(&d.base).unwrap_or(SurfaceFormat::Xrgb32);
        let fore = self.brush(&d.fore_brush, format, stats);
        let back = self.brush(&d.back_brush, format, stats);
        let (fore, back) = (fore?, back?);
        let t = self.target(&d.base, None, stats)?;
        let cov = text::coverage(&d.text, t.visible())?;
        let surface = self.surface_mut(t.surface_id)?;
        if let Some(back) = back {
            let area = to_rect(&d.back_area);
            let regions: Vec<Rect> = t.regions.iter().map(|r| r.intersect(&area)).collect();
            let rop = Ropd(d.back_mode);
            let inv = rop.brush_inverted();
            paint(surface, &regions, None, |x, y, p| {
                let b = back.at(x, y);
                for c in 0..3 {
                    p[c] = rop.apply(b[c], p[c], inv);
                }
            });
        }
        if let Some(fore) = fore {
            paint_coverage(surface, &t.regions, &cov, &fore, Ropd(d.fore_mode));
        }
        Ok(t)
    }

    /// DRAW_TRANSPARENT: the source except the pixels of the key colour.
    pub(super) fn draw_transparent(
        &mut self,
        d: &DrawTransparent<'_>,
        stats: &mut Stats,
    ) -> Vec<Outcome> {
        Self::finish(self.try_transparent(d, stats))
    }

    fn try_transparent(&mut self, d: &DrawTransparent<'_>, stats: &mut Stats) -> Drawn {
        let image = self.resolve(&d.src, stats)?;
        let t = self.target(&d.base, None, stats)?;
        let sampler = Sampler::new(&image, t.box_, to_rect(&d.src_area), Filter::Nearest);
        let key = d.src_color;
        let surface = self.surface_mut(t.surface_id)?;
        paint(surface, &t.regions, None, |x, y, p| {
            if let Some(s) = sampler.at(x, y).filter(|s| !is_key(*s, key)) {
                p.copy_from_slice(&s);
            }
        });
        Ok(t)
    }

    /// DRAW_ALPHA_BLEND: premultiplied source OVER the destination at a global alpha.
    pub(super) fn draw_alpha_blend(
        &mut self,
        d: &DrawAlphaBlend<'_>,
        stats: &mut Stats,
    ) -> Vec<Outcome> {
        Self::finish(self.try_alpha_blend(d, stats))
    }

    fn try_alpha_blend(&mut self, d: &DrawAlphaBlend<'_>, stats: &mut Stats) -> Drawn {
        let image = self.resolve(&d.src, stats)?;
        let t = self.target(&d.base, None, stats)?;
        let sampler = Sampler::new(&image, t.box_, to_rect(&d.src_area), Filter::Bilinear);
        let src_alpha = d.alpha_flags & alpha_flags::SRC_SURFACE_HAS_ALPHA != 0;
        let dst_alpha = d.alpha_flags & alpha_flags::DEST_HAS_ALPHA != 0;
        let alpha = d.alpha;
        let surface = self.surface_mut(t.surface_id)?;
        paint(surface, &t.regions, None, |x, y, p| {
            if let Some(s) = sampler.at(x, y) {
                alpha_over(s, p, alpha, src_alpha, dst_alpha);
            }
        });
        Ok(t)
    }

    /// DRAW_COMPOSITE.
    pub(super) fn draw_composite(
        &mut self,
        d: &DrawComposite<'_>,
        stats: &mut Stats,
    ) -> Vec<Outcome> {
        Self::finish(self.try_composite(d, stats))
    }

    fn try_composite(&mut self, d: &DrawComposite<'_>, stats: &mut Stats) -> Drawn {
        let src = self.resolve(&d.src, stats);
        let mask = d.mask.as_ref().map(|m| self.resolve(m, stats)).transpose();
        let (src, mask) = (src?, mask?);
        let t = self.target(&d.base, None, stats)?;
        let f = d.flags;
        let c = Composite {
            op: d.op(),
            src: Layer {
                image: &src,
                transform: d.src_transform.map(|t| t.0.map(|v| v as i32)),
                origin: (d.src_origin.x.into(), d.src_origin.y.into()),
                repeat: Repeat::from_bits(f >> cf::SRC_REPEAT_SHIFT),
                filter: filter_from_bits(f >> cf::SRC_FILTER_SHIFT),
                opaque: f & cf::SOURCE_OPAQUE != 0,
            },
            mask: mask.as_deref().map(|image| Layer {
                image,
                transform: d.mask_transform.map(|t| t.0.map(|v| v as i32)),
                origin: (d.mask_origin.x.into(), d.mask_origin.y.into()),
                repeat: Repeat::from_bits(f >> cf::MASK_REPEAT_SHIFT),
                filter: filter_from_bits(f >> cf::MASK_FILTER_SHIFT),
                opaque: f & cf::MASK_OPAQUE != 0,
            }),
            component_alpha: f & cf::COMPONENT_ALPHA != 0,
            dest_opaque: f & cf::DEST_OPAQUE != 0,
        };
        let surface = self.surface_mut(t.surface_id)?;
        composite::draw(surface, &t.regions, t.box_, &c)?;
        Ok(t)
    }
}

/// Paints `brush` through `rop` where `cov` is set; partial coverage (anti-aliased
/// glyphs) blends the raster-op result with the old pixel.
fn paint_coverage(
    surface: &mut super::Surface,
    regions: &[Rect],
    cov: &Coverage,
    brush: &Paint,
    rop: Ropd,
) {
    let inv = rop.brush_inverted();
    paint(surface, regions, None, |x, y, p| {
        let level = cov.get(x, y);
        if level == 0 {
            return;
        }
        let b = brush.at(x, y);
        let mut new = [0, 0, 0, p[3]];
        for c in 0..3 {
            new[c] = rop.apply(b[c], p[c], inv);
        }
        let out = if level == 255 {
            new
        } else {
            lerp(p, new, level)
        };
        p.copy_from_slice(&out);
    });
}

/// Masks are 1-bpp bitmaps whose palette, if any, does not matter: give them black and
/// white entries so the ordinary image path (and its cache) decodes them.
fn mask_image<'a>(image: &Image<'a>) -> Image<'a> {
    let mut image = image.clone();
    if let ImageData::Bitmap(b) = &mut image.data {
        if matches!(b.format, BitmapFormat::Bit1Le | BitmapFormat::Bit1Be) {
            b.palette = Some(PaletteSource::Inline(Palette {
                unique: 0,
                entries: vec![0, 0x00ff_ffff],
            }));
            b.flags &= !(bitmap_flags::PAL_CACHE_ME | bitmap_flags::PAL_FROM_CACHE);
        }
    }
    image
}

fn alpha_as_grey(img: &Rgba) -> Rgba {
    Rgba {
        width: img.width,
        height: img.height,
        pixels: img.pixels.chunks_exact(4).flat_map(|p| [p[3]; 4]).collect(),
    }
}
