//! Turning wire images into pixels, through the server-driven caches.
//!
//! The server keeps the books for both caches: it decides what the client stores (CACHE_ME,
//! PAL_CACHE_ME) and what it drops (INVAL_* messages). We never evict on our own, so a
//! FROM_CACHE reference that misses means the stream is corrupt, not that we ran short.
//! Every image is decoded when it arrives, even if its draw ends up clipped away, because
//! decoding is what fills the caches.

use std::collections::HashMap;
use std::sync::Arc;

use spice_codecs::glz::GlzDictionary;
use spice_codecs::{CodecError, Palette as CodecPalette, Rgba};
use spice_proto::messages::display::image::{bitmap_flags, image_flags, ImageData, PaletteSource};
use spice_proto::messages::display::Image;

use super::decode::{decode, Outcome};
use crate::error::DisplayError;
use crate::stats::Stats;

/// Palette cache size fixed by the server (it never sends more live ids than this).
const MAX_PALETTES: usize = 128;

/// The pixmap cache size we offer in DISPLAY_INIT when nobody says otherwise, in pixels.
pub const DEFAULT_PIXMAP_CACHE_PIXELS: u64 = 20 * 1024 * 1024;

/// A cached image and whether it came from a lossy codec (JPEG): FROM_CACHE_LOSSLESS must
/// never be served a lossy entry.
#[derive(Debug, Clone)]
struct Cached {
    image: Arc<Rgba>,
    lossy: bool,
}

/// The GLZ window we offer when nobody says otherwise, in pixels (16 MiB of RGBA; the
/// server only uses GLZ for images smaller than the window).
pub const DEFAULT_GLZ_WINDOW_PIXELS: u64 = 4 * 1024 * 1024;

#[derive(Debug)]
pub struct ImageCaches {
    pixmaps: HashMap<u64, Cached>,
    /// The session's GLZ dictionary; like the pixmap cache it is driven by the server.
    glz: GlzDictionary,
    palettes: HashMap<u64, CodecPalette>,
    /// The size we offered; the server must keep its cache within it. We hold it to that
    /// so a misbehaving server cannot make the client cache without bound.
    budget_pixels: u64,
    used_pixels: u64,
}

impl Default for ImageCaches {
    fn default() -> Self {
        Self::with_budget(DEFAULT_PIXMAP_CACHE_PIXELS)
    }
}

fn cost(image: &Rgba) -> u64 {
    u64::from(image.width) * u64::from(image.height)
}

impl ImageCaches {
    pub fn with_budget(budget_pixels: u64) -> Self {
        Self::with_limits(budget_pixels, DEFAULT_GLZ_WINDOW_PIXELS)
    }

    /// `glz_window_pixels` is what DISPLAY_INIT offered (0: GLZ off).
    pub fn with_limits(budget_pixels: u64, glz_window_pixels: u64) -> Self {
        ImageCaches {
            glz: GlzDictionary::new(glz_window_pixels),
            pixmaps: HashMap::new(),
            palettes: HashMap::new(),
            budget_pixels,
            used_pixels: 0,
        }
    }

    pub fn invalidate_pixmap(&mut self, id: u64) {
        if let Some(old) = self.pixmaps.remove(&id) {
            self.used_pixels -= cost(&old.image);
        }
    }

    pub fn invalidate_all_pixmaps(&mut self) {
        self.pixmaps.clear();
        self.used_pixels = 0;
    }

    pub fn cached_pixels(&self) -> u64 {
        self.used_pixels
    }

    pub fn invalidate_palette(&mut self, id: u64) {
        self.palettes.remove(&id);
    }

    pub fn invalidate_all_palettes(&mut self) {
        self.palettes.clear();
    }

    pub fn cached_pixmaps(&self) -> usize {
        self.pixmaps.len()
    }

    /// Decodes `image` (or finds it in the cache) and applies its cache instructions.
    ///
    /// `surface` resolves SURFACE images (an off-screen surface used as a source).
    pub fn resolve(
        &mut self,
        image: &Image<'_>,
        surface: impl FnOnce(u32) -> Option<Rgba>,
        stats: &mut Stats,
    ) -> Result<Arc<Rgba>, DisplayError> {
        let d = &image.descriptor;
        stats.count_image(spice_proto::messages::display::image::image_type_name(
            d.kind.to_u8(),
        ));
        let (decoded, lossy) = match &image.data {
            ImageData::FromCache => {
                return self
                    .pixmaps
                    .get(&d.id)
                    .map(|c| c.image.clone())
                    .ok_or(DisplayError::NotInCache(d.id));
            }
            ImageData::FromCacheLossless => {
                return match self.pixmaps.get(&d.id) {
                    Some(c) if !c.lossy => Ok(c.image.clone()),
                    Some(_) => Err(DisplayError::Codec(format!(
                        "image {:#x} was asked for losslessly but only a JPEG version is cached",
                        d.id
                    ))),
                    None => Err(DisplayError::NotInCache(d.id)),
                };
            }
            ImageData::Surface { surface_id } => (
                surface(*surface_id).ok_or(DisplayError::NoSuchSurface(*surface_id))?,
                false,
            ),
            coded => self.decode_coded(coded, d.width, d.height)?,
        };
        if decoded.width != d.width || decoded.height != d.height {
            return Err(DisplayError::Codec(format!(
                "image {:#x} decoded to {}x{} but its descriptor says {}x{}",
                d.id, decoded.width, decoded.height, d.width, d.height
            )));
        }
        let decoded = Arc::new(decoded);
        if d.flags & (image_flags::CACHE_ME | image_flags::CACHE_REPLACE_ME) != 0 {
            self.invalidate_pixmap(d.id);
            let needed = self.used_pixels + cost(&decoded);
            if needed > self.budget_pixels {
                return Err(DisplayError::CacheOverflow {
                    needed,
                    budget: self.budget_pixels,
                });
            }
            self.used_pixels = needed;
            self.pixmaps.insert(
                d.id,
                Cached {
                    image: decoded.clone(),
                    lossy,
                },
            );
        }
        Ok(decoded)
    }

    /// Decodes an image whose pixels are in the message, its palette resolved through
    /// the palette cache; returns the pixels and whether they are lossy.
    fn decode_coded(
        &mut self,
        data: &ImageData<'_>,
        width: u32,
        height: u32,
    ) -> Result<(Rgba, bool), DisplayError> {
        let palette = match data {
            ImageData::Bitmap(b) => match &b.palette {
                Some(src) => Some(self.palette(src, b.flags & bitmap_flags::PAL_CACHE_ME != 0)?),
                None => None,
            },
            ImageData::LzPlt { flags, palette, .. } => {
                Some(self.palette(palette, flags & bitmap_flags::PAL_CACHE_ME != 0)?)
            }
            _ => None,
        };
        match decode(data, width, height, palette.as_ref(), &mut self.glz).map_err(codec_error)? {
            Outcome::Pixels { image, lossy } => Ok((image, lossy)),
            // One display channel delivers images in order, so a reference to an image
            // that never came means the stream is broken, not that we should wait.
            Outcome::MissingGlzImage(id) => Err(DisplayError::Codec(format!(
                "GLZ image refers to dictionary image {id}, which never arrived"
            ))),
            Outcome::NotInMessage => Err(DisplayError::Codec(
                "a cache or surface reference reached the decoder".into(),
            )),
        }
    }

    fn palette(
        &mut self,
        src: &PaletteSource,
        cache_me: bool,
    ) -> Result<CodecPalette, DisplayError> {
        match src {
            PaletteSource::FromCache(id) => self
                .palettes
                .get(id)
                .cloned()
                .ok_or(DisplayError::PaletteNotInCache(*id)),
            PaletteSource::Inline(p) => {
                let palette = CodecPalette::new(p.unique, p.entries.clone());
                if cache_me {
                    if self.palettes.len() >= MAX_PALETTES && !self.palettes.contains_key(&p.unique)
                    {
                        return Err(DisplayError::Codec(format!(
                            "server asked to cache more than {MAX_PALETTES} palettes"
                        )));
                    }
                    self.palettes.insert(p.unique, palette.clone());
                }
                Ok(palette)
            }
        }
    }
}

fn codec_error(e: CodecError) -> DisplayError {
    DisplayError::Codec(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use spice_proto::messages::display::{Image, ImageDescriptor, ImageType};

    fn lz_image(id: u64, flags: u8, w: u32, h: u32) -> (Vec<u8>, ImageDescriptor) {
        let pixels = vec![7u8; (w * h * 4) as usize];
        let data =
            spice_codecs::lz_encode::encode_lz(spice_codecs::LzType::Rgb32, w, h, true, &pixels)
                .unwrap();
        (
            data,
            ImageDescriptor {
                id,
                kind: ImageType::from_u8(101),
                flags,
                width: w,
                height: h,
            },
        )
    }

    #[test]
    fn cache_follows_the_server_and_holds_it_to_the_budget() {
        let mut caches = ImageCaches::with_budget(100);
        let mut stats = Stats::default();
        let (data, d) = lz_image(1, image_flags::CACHE_ME, 8, 8);
        let img = Image {
            descriptor: d,
            data: ImageData::LzRgb { data: &data },
        };
        caches.resolve(&img, |_| None, &mut stats).unwrap();
        assert_eq!(caches.cached_pixels(), 64);
        let hit = Image {
            descriptor: ImageDescriptor {
                kind: ImageType::from_u8(103),
                ..d
            },
            data: ImageData::FromCache,
        };
        assert_eq!(caches.resolve(&hit, |_| None, &mut stats).unwrap().width, 8);
        // A second 64-pixel image would exceed the 100 pixels offered.
        let (data2, d2) = lz_image(2, image_flags::CACHE_ME, 8, 8);
        let img2 = Image {
            descriptor: d2,
            data: ImageData::LzRgb { data: &data2 },
        };
        assert!(matches!(
            caches.resolve(&img2, |_| None, &mut stats),
            Err(DisplayError::CacheOverflow { .. })
        ));
        // Once the server invalidates the first, the second fits.
        caches.invalidate_pixmap(1);
        caches.resolve(&img2, |_| None, &mut stats).unwrap();
        assert_eq!(caches.cached_pixels(), 64);
        assert!(matches!(
            caches.resolve(&hit, |_| None, &mut stats),
            Err(DisplayError::NotInCache(1))
        ));
        assert_eq!(stats.images.get("LZ_RGB"), Some(&3));
    }
}
