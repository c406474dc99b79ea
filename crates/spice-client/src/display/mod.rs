//! The display channel: surfaces, caches and drawing.

#![allow(
    missing_docs,
    reason = "docs still to be written; session.rs, the entry point, is documented"
)]

pub(crate) mod decode;
pub mod draw;
pub mod geom;
pub mod images;
mod render;
pub mod rop;
pub mod stream;
pub mod surface;

use std::collections::HashMap;
use std::sync::Arc;

use spice_codecs::Rgba;
use spice_proto::messages::display::{
    surface_flags, Brush, Clip, DisplayBase, DisplayMsg, Image, MonitorsConfig, Rect as WireRect,
};

pub use geom::Rect;
pub use surface::{ImageRef, Surface, SurfaceFormat};

use crate::error::DisplayError;
use crate::stats::Stats;
use images::ImageCaches;
use rop::Ropd;

/// What a display message changed, for the presenter.
#[derive(Debug, Clone, PartialEq)]
pub enum DisplayEvent {
    SurfaceCreated {
        surface_id: u32,
        width: u32,
        height: u32,
        primary: bool,
    },
    SurfaceDestroyed {
        surface_id: u32,
    },
    /// Pixels of `rect` on `surface_id` changed.
    Invalidate {
        surface_id: u32,
        rect: Rect,
    },
    /// The server finished sending the initial screen.
    Mark,
    MonitorsConfig(MonitorsConfig),
}

type Outcome = Result<DisplayEvent, DisplayError>;

#[derive(Debug, Default)]
pub struct DisplayState {
    surfaces: HashMap<u32, Surface>,
    primary: Option<u32>,
    caches: ImageCaches,
    streams: stream::StreamState,
}

impl DisplayState {
    /// A display whose image cache holds at most `cache_pixels` and whose GLZ dictionary
    /// keeps `glz_window_pixels` (both what DISPLAY_INIT offers).
    pub fn with_limits(cache_pixels: u64, glz_window_pixels: u64) -> Self {
        DisplayState {
            caches: ImageCaches::with_limits(cache_pixels, glz_window_pixels),
            ..Default::default()
        }
    }

    pub fn primary(&self) -> Option<&Surface> {
        self.primary.and_then(|id| self.surfaces.get(&id))
    }

    pub fn surface(&self, id: u32) -> Option<&Surface> {
        self.surfaces.get(&id)
    }

    pub fn caches(&self) -> &ImageCaches {
        &self.caches
    }

    /// Applies one display message. Each result is an event or a non-fatal error (a draw
    /// that could not be performed); the channel stays up either way.
    pub fn handle(&mut self, msg: &DisplayMsg<'_>, stats: &mut Stats) -> Vec<Outcome> {
        let mut out = self.flush_streams_before(msg, stats);
        match msg {
            DisplayMsg::SurfaceCreate(c) => {
                out.push(self.create_surface(c.surface_id, c.width, c.height, c.format, c.flags))
            }
            DisplayMsg::SurfaceDestroy { surface_id } => {
                self.surfaces.remove(surface_id);
                if self.primary == Some(*surface_id) {
                    self.primary = None;
                }
                out.push(Ok(DisplayEvent::SurfaceDestroyed {
                    surface_id: *surface_id,
                }));
            }
            DisplayMsg::Mark => out.push(Ok(DisplayEvent::Mark)),
            DisplayMsg::Reset => {
                self.surfaces.clear();
                self.primary = None;
                self.caches.invalidate_all_palettes();
            }
            DisplayMsg::MonitorsConfig(m) => out.push(Ok(DisplayEvent::MonitorsConfig(m.clone()))),
            DisplayMsg::InvalList(list) => {
                for r in list {
                    self.caches.invalidate_pixmap(r.id);
                }
            }
            DisplayMsg::InvalAllPixmaps(_) => self.caches.invalidate_all_pixmaps(),
            DisplayMsg::InvalPalette { id } => self.caches.invalidate_palette(*id),
            DisplayMsg::InvalAllPalettes => self.caches.invalidate_all_palettes(),
            DisplayMsg::CopyBits(c) => {
                out.extend(self.copy_bits(&c.base, c.src_pos.x, c.src_pos.y))
            }
            DisplayMsg::DrawCopy(d) | DisplayMsg::DrawBlend(d) => {
                out.extend(self.draw_copy(d, stats))
            }
            DisplayMsg::DrawFill(d) => {
                out.extend(self.draw_fill(&d.base, &d.brush, Ropd(d.rop), &d.mask, stats))
            }
            DisplayMsg::DrawBlackness(d) => out.extend(self.draw_fill(
                &d.base,
                &Brush::Solid(0),
                Ropd(Ropd::OP_BLACKNESS),
                &d.mask,
                stats,
            )),
            DisplayMsg::DrawWhiteness(d) => out.extend(self.draw_fill(
                &d.base,
                &Brush::Solid(0),
                Ropd(Ropd::OP_WHITENESS),
                &d.mask,
                stats,
            )),
            DisplayMsg::DrawInvers(d) => out.extend(self.draw_fill(
                &d.base,
                &Brush::Solid(0),
                Ropd(Ropd::OP_INVERS),
                &d.mask,
                stats,
            )),
            DisplayMsg::DrawOpaque(d) => out.extend(self.draw_opaque(d, stats)),
            DisplayMsg::DrawRop3(d) => out.extend(self.draw_rop3(d, stats)),
            DisplayMsg::DrawStroke(d) => out.extend(self.draw_stroke(d, stats)),
            DisplayMsg::DrawText(d) => out.extend(self.draw_text(d, stats)),
            DisplayMsg::DrawTransparent(d) => out.extend(self.draw_transparent(d, stats)),
            DisplayMsg::DrawAlphaBlend(d) => out.extend(self.draw_alpha_blend(d, stats)),
            DisplayMsg::DrawComposite(d) => out.extend(self.draw_composite(d, stats)),
            DisplayMsg::StreamCreate(_)
            | DisplayMsg::StreamData(_)
            | DisplayMsg::StreamDataSized(_)
            | DisplayMsg::StreamClip { .. }
            | DisplayMsg::StreamDestroy { .. }
            | DisplayMsg::StreamDestroyAll
            | DisplayMsg::StreamActivateReport(_) => out.extend(self.handle_stream(msg, stats)),
            _ => {}
        }
        out
    }

    fn create_surface(
        &mut self,
        id: u32,
        width: u32,
        height: u32,
        format: u32,
        flags: u32,
    ) -> Outcome {
        let fmt = SurfaceFormat::from_wire(format)
            .ok_or(DisplayError::UnsupportedSurfaceFormat(format))?;
        let surface = Surface::new(width, height, fmt)?;
        let primary = flags & surface_flags::PRIMARY != 0;
        if primary {
            self.primary = Some(id);
        }
        self.surfaces.insert(id, surface);
        Ok(DisplayEvent::SurfaceCreated {
            surface_id: id,
            width,
            height,
            primary,
        })
    }

    fn resolve(&mut self, image: &Image<'_>, stats: &mut Stats) -> Result<Arc<Rgba>, DisplayError> {
        let surfaces = &self.surfaces;
        self.caches
            .resolve(image, |id| surfaces.get(&id).map(surface_to_rgba), stats)
    }

    /// Where a draw lands: the box within the surface, cut by the clip rects.
    fn regions(&self, base: &DisplayBase) -> Result<(Rect, Vec<Rect>), DisplayError> {
        let surface = self
            .surfaces
            .get(&base.surface_id)
            .ok_or(DisplayError::NoSuchSurface(base.surface_id))?;
        let box_ = to_rect(&base.bbox);
        let regions = match &base.clip {
            Clip::None => surface.clip_regions(box_, None),
            Clip::Rects(rects) => {
                let rects: Vec<Rect> = rects.iter().map(to_rect).collect();
                surface.clip_regions(box_, Some(&rects))
            }
        };
        Ok((box_, regions))
    }

    fn surface_mut(&mut self, id: u32) -> Result<&mut Surface, DisplayError> {
        self.surfaces
            .get_mut(&id)
            .ok_or(DisplayError::NoSuchSurface(id))
    }

    fn copy_bits(&mut self, base: &DisplayBase, src_x: i32, src_y: i32) -> Vec<Outcome> {
        let (box_, regions) = match self.regions(base) {
            Ok(r) => r,
            Err(e) => return vec![Err(e)],
        };
        if let Some(surface) = self.surfaces.get_mut(&base.surface_id) {
            for r in &regions {
                surface.copy_bits(*r, box_, src_x, src_y);
            }
        }
        invalidate(base.surface_id, &regions)
    }
}

fn invalidate(surface_id: u32, regions: &[Rect]) -> Vec<Outcome> {
    let rect = regions.iter().fold(Rect::default(), |acc, r| acc.union(r));
    if rect.is_empty() {
        Vec::new()
    } else {
        vec![Ok(DisplayEvent::Invalidate { surface_id, rect })]
    }
}

fn to_rect(r: &WireRect) -> Rect {
    Rect::new(r.left, r.top, r.right, r.bottom)
}

/// A surface used as a source image. Alpha-only surfaces read as pixman's a8: black
/// with the surface's value as alpha.
fn surface_to_rgba(s: &Surface) -> Rgba {
    let pixels = match s.format() {
        SurfaceFormat::A8 | SurfaceFormat::A1 => s
            .pixels()
            .chunks_exact(4)
            .flat_map(|p| [0, 0, 0, p[3]])
            .collect(),
        _ => s.pixels().to_vec(),
    };
    Rgba {
        width: s.width(),
        height: s.height(),
        pixels,
    }
}
