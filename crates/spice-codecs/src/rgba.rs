//! The common output image type and the size limits every decoder enforces.

use crate::CodecError;

/// Upper bound on decoded pixels (64 Mi, i.e. 256 MiB of RGBA).
///
/// Every decoder checks this *before* allocating so a hostile header cannot make the
/// browser tab grow its linear memory to gigabytes.
pub const MAX_IMAGE_PIXELS: u64 = 1 << 26;

/// Upper bound on either side of an image; larger than any real SPICE surface.
pub const MAX_DIMENSION: u32 = 16384;

/// A decoded image: RGBA8 in memory order R, G, B, A, rows top-down, tightly packed.
///
/// This is exactly the layout of a browser `ImageData`, so the buffer can be handed over
/// without another conversion pass.
#[derive(Clone, PartialEq, Eq)]
pub struct Rgba {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `4 * width * height` bytes.
    pub pixels: Vec<u8>,
}

impl std::fmt::Debug for Rgba {
    // Printing megabytes of pixels in a failed assertion helps nobody.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rgba")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("pixels.len", &self.pixels.len())
            .finish()
    }
}

impl Rgba {
    /// A transparent-black image, after validating the dimensions against the limits.
    pub fn new_checked(width: u32, height: u32) -> Result<Self, CodecError> {
        let count = pixel_count(width, height)?;
        Ok(Rgba {
            width,
            height,
            pixels: vec![0; count * 4],
        })
    }

    /// Sets every alpha byte to 255.
    ///
    /// For callers that must ignore decoded alpha, e.g. when the destination surface
    /// format has no alpha. Interpreting the SpiceImage descriptor's HIGH_BITS_SET flag
    /// (and so whether byte 3 of 32-bit data means anything) is protocol policy and
    /// therefore the caller's decision; decoders here only report what the data says.
    pub fn force_opaque(&mut self) {
        for px in self.pixels.chunks_exact_mut(4) {
            px[3] = 255;
        }
    }

    /// Bytes per row of `pixels`.
    pub fn row_bytes(&self) -> usize {
        self.width as usize * 4
    }
}

/// Validates dimensions and returns the pixel count, which then fits in `usize` even on
/// wasm32 (2^26 pixels × 4 bytes < 2^32).
pub(crate) fn pixel_count(width: u32, height: u32) -> Result<usize, CodecError> {
    if width == 0 || height == 0 || width > MAX_DIMENSION || height > MAX_DIMENSION {
        return Err(CodecError::BadDimensions { width, height });
    }
    let count = u64::from(width) * u64::from(height);
    if count > MAX_IMAGE_PIXELS {
        return Err(CodecError::TooLarge { width, height });
    }
    usize::try_from(count).map_err(|_| CodecError::TooLarge { width, height })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        assert!(Rgba::new_checked(0, 1).is_err());
        assert!(Rgba::new_checked(1, 0).is_err());
        assert!(Rgba::new_checked(16385, 1).is_err());
        assert!(matches!(
            Rgba::new_checked(16384, 16384),
            Err(CodecError::TooLarge { .. })
        ));
        let img = Rgba::new_checked(16384, 4096).unwrap();
        assert_eq!(img.pixels.len(), 16384 * 4096 * 4);
    }

    #[test]
    fn opaque() {
        let mut img = Rgba::new_checked(2, 1).unwrap();
        img.force_opaque();
        assert_eq!(img.pixels, [0, 0, 0, 255, 0, 0, 0, 255]);
    }
}
