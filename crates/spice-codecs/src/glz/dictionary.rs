//! The session-wide GLZ dictionary (the decoder's window).

use std::collections::BTreeMap;

use super::GlzHeader;
use crate::lz::LzType;
use crate::{CodecError, MAX_IMAGE_PIXELS};

/// One decoded image as kept for later references.
pub(super) struct StoredImage {
    pub kind: LzType,
    pub win_head_dist: u32,
    /// RGBA bytes in *stream* order (never flipped); `units = pixels.len() / 4`.
    pub pixels: Vec<u8>,
}

impl StoredImage {
    pub(crate) fn units(&self) -> usize {
        self.pixels.len() / 4
    }
}

/// Decoded GLZ images that later images may reference, keyed by image id.
///
/// A client owns one per session, shared by all its display channels (ids are assigned
/// per dictionary, not per channel), and clears it on connect, reconnect and migration
/// (not on DISPLAY_RESET or INVAL_ALL_PIXMAPS).
///
/// # Eviction
///
/// After adding image X, let T be the newest image of the contiguous run of ids received
/// (starting from the first image ever added): every image with id < T − T.win_head_dist
/// is released, and references to such ids are errors from then on. With one display
/// channel this is "drop ids < X − X.win_head_dist". Images after a gap are kept until
/// the gap is filled, because the missing image may reference them.
///
/// # Memory bound
///
/// Images with more pixels than the window are rejected (servers send GLZ only below the
/// window size). If a gap that is never filled (or an image that failed to decode) stalls
/// eviction, the oldest images are force-released once the stored total exceeds twice
/// the window, so the dictionary never holds more than the window plus one image of at
/// most the window's size. A well-behaved single-channel stream never hits this bound.
pub struct GlzDictionary {
    window: u64,
    images: BTreeMap<u64, StoredImage>,
    stored_pixels: u64,
    /// Newest id of the contiguous run of received ids.
    last_contiguous: Option<u64>,
    /// Every id below this has been released (or is too old to be stored).
    floor: Option<u64>,
}

impl std::fmt::Debug for GlzDictionary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GlzDictionary")
            .field("window", &self.window)
            .field("ids", &self.images.keys().collect::<Vec<_>>())
            .field("stored_pixels", &self.stored_pixels)
            .field("last_contiguous", &self.last_contiguous)
            .field("floor", &self.floor)
            .finish()
    }
}

impl GlzDictionary {
    /// An empty dictionary for the window size (in pixels) the client announced in
    /// DISPLAY_INIT (`glz_dictionary_window_size`). Values above
    /// [`MAX_IMAGE_PIXELS`] are clamped to it.
    pub fn new(window_pixels: u64) -> Self {
        GlzDictionary {
            window: window_pixels.min(MAX_IMAGE_PIXELS),
            images: BTreeMap::new(),
            stored_pixels: 0,
            last_contiguous: None,
            floor: None,
        }
    }

    /// The window size in pixels (after clamping).
    pub fn window_pixels(&self) -> u64 {
        self.window
    }

    /// Releases every image and forgets all id bookkeeping (session connect, reconnect,
    /// migration).
    pub fn clear(&mut self) {
        *self = GlzDictionary::new(self.window);
    }

    /// Number of images held.
    pub fn len(&self) -> usize {
        self.images.len()
    }

    /// Whether no image is held.
    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }

    /// Whether image `id` is held.
    pub fn contains(&self, id: u64) -> bool {
        self.images.contains_key(&id)
    }

    /// Ids of the images held, ascending.
    pub fn ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.images.keys().copied()
    }

    /// Total pixels held (at most twice the window).
    pub fn stored_pixels(&self) -> u64 {
        self.stored_pixels
    }

    /// Ids below this can no longer be referenced (released, or never to be stored).
    pub fn released_below(&self) -> Option<u64> {
        self.floor
    }

    /// Checks, before decoding, that the image could be stored at all.
    pub(super) fn check_admissible(&self, hdr: &GlzHeader) -> Result<(), CodecError> {
        if hdr.units() > self.window {
            return Err(CodecError::Unsupported(
                "GLZ image larger than the dictionary window",
            ));
        }
        if self.images.contains_key(&hdr.id) {
            return Err(CodecError::Unsupported(
                "GLZ image id already in the dictionary",
            ));
        }
        Ok(())
    }

    /// What a reference from the image being decoded to id `id - image_dist` resolves to.
    pub(super) fn lookup(
        &self,
        hdr: &GlzHeader,
        image_dist: u32,
    ) -> Result<Lookup<'_>, CodecError> {
        if image_dist > hdr.win_head_dist {
            return Err(CodecError::Unsupported(
                "GLZ reference beyond the image's win_head_dist",
            ));
        }
        let id = hdr
            .id
            .checked_sub(u64::from(image_dist))
            .ok_or(CodecError::Unsupported("GLZ reference before image id 0"))?;
        match self.images.get(&id) {
            Some(img) if img.kind == hdr.kind => Ok(Lookup::Found(img)),
            Some(_) => Err(CodecError::Unsupported(
                "GLZ reference to an image of another LZ type",
            )),
            None if self.floor.is_some_and(|f| id < f) => Err(CodecError::Unsupported(
                "GLZ reference to an image already released from the dictionary",
            )),
            None => Ok(Lookup::Missing(id)),
        }
    }

    /// Whether a freshly decoded image `id` goes into the dictionary; ids below the floor
    /// can never be referenced again.
    pub(super) fn will_store(&self, id: u64) -> bool {
        self.floor.is_none_or(|f| id >= f)
    }

    /// Adds a decoded image (stream-order RGBA) and applies eviction.
    pub(super) fn insert(&mut self, hdr: &GlzHeader, pixels: Vec<u8>) {
        let units = pixels.len() as u64 / 4;
        let id = hdr.id;
        self.images.insert(
            id,
            StoredImage {
                kind: hdr.kind,
                win_head_dist: hdr.win_head_dist,
                pixels,
            },
        );
        self.stored_pixels += units;
        let t = self.advance_contiguous(self.last_contiguous.unwrap_or(id));
        if let Some(img) = self.images.get(&t) {
            self.raise_floor(t.saturating_sub(u64::from(img.win_head_dist)));
        }
        self.enforce_cap();
    }

    /// Moves the contiguous mark forward over ids that are present.
    fn advance_contiguous(&mut self, mut t: u64) -> u64 {
        while let Some(next) = t.checked_add(1) {
            if !self.images.contains_key(&next) {
                break;
            }
            t = next;
        }
        self.last_contiguous = Some(t);
        t
    }

    /// Releases every image below `floor` (the floor never moves back).
    fn raise_floor(&mut self, floor: u64) {
        if self.floor.is_some_and(|f| f >= floor) {
            return;
        }
        self.floor = Some(floor);
        let kept = self.images.split_off(&floor);
        for img in std::mem::replace(&mut self.images, kept).into_values() {
            self.stored_pixels -= img.units() as u64;
        }
    }

    /// Force-releases the oldest images while more than twice the window is held.
    fn enforce_cap(&mut self) {
        let cap = self.window.saturating_mul(2);
        while self.stored_pixels > cap && self.images.len() > 1 {
            let Some((&oldest, _)) = self.images.first_key_value() else {
                return;
            };
            self.raise_floor(oldest.saturating_add(1));
            if let Some(t) = self.last_contiguous {
                if t < oldest {
                    self.advance_contiguous(oldest);
                }
            }
        }
    }
}

/// A resolved dictionary reference.
pub(super) enum Lookup<'d> {
    Found(&'d StoredImage),
    Missing(u64),
}
