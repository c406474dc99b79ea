//! SPICE GLZ decoding (GLZ_RGB and ZLIB_GLZ_RGB): LZ with a session-wide dictionary of
//! earlier images.
//!
//! GLZ extends the LZ token grammar (`docs/spice-codecs.md` §3, §4) with references into
//! previously decoded images. Those images live in a [`GlzDictionary`], which the client
//! owns once per session and shares between all display channels.
//!
//! Decoding is transactional: [`decode_glz`] decodes into a fresh buffer and only touches
//! the dictionary after the whole image decoded. When a reference names an image that has
//! not arrived yet (it may come on another display channel), the outcome is
//! [`GlzOutcome::NeedsImage`] and the dictionary is unchanged, so the caller can queue the
//! data and simply call again once more images were added.
//!
//! Design: images are decoded in stream order straight into RGBA bytes (R, G, B, A; the
//! conversion is per unit, so copying converted pixels is equivalent to the reference's
//! copying of 32-bit B, G, R, X pixels). That stream-order buffer is what the dictionary
//! keeps; the returned [`Rgba`] is a copy, flipped to display order when the stream is
//! bottom-up. RGB16, RGB24 and RGB32 decode with A = 255; RGBA keeps the coded alpha.
//!
//! Strictness: every input read, in-image reference and dictionary reference is bounds
//! checked; references beyond the image's `win_head_dist`, to evicted images or to images
//! of another LZ type are errors. Trailing bytes after the last pass are ignored, as in
//! the reference (the GLZ length is given by the enclosing `data_size`).

mod decode;
mod dictionary;
#[cfg(any(test, feature = "test-encoders"))]
pub mod encode;

#[cfg(test)]
mod tests;

pub use dictionary::GlzDictionary;

use crate::lz::{LzType, LZ_MAGIC, LZ_VERSION};
use crate::rgba::pixel_count;
use crate::{CodecError, Rgba, MAX_IMAGE_PIXELS};

/// Largest `glz_data_size` accepted by [`decode_zlib_glz`]: a header plus an all-literal
/// RGBA image of [`MAX_IMAGE_PIXELS`] pixels (3 + 1 literal bytes per pixel plus one
/// control byte per 32 units in each of the two passes).
pub const MAX_GLZ_STREAM_BYTES: u64 =
    GlzHeader::LEN as u64 + MAX_IMAGE_PIXELS * 4 + MAX_IMAGE_PIXELS / 16;

/// Upper bound on deflate's expansion ratio (258-byte matches coded in about 2 bits).
const MAX_DEFLATE_RATIO: usize = 1032;

/// The validated 33-byte GLZ header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GlzHeader {
    /// Image type; only RGB16, RGB24, RGB32 and RGBA occur in GLZ and are accepted.
    pub kind: LzType,
    /// Width in pixels.
    pub width: u32,
    /// Height in rows.
    pub height: u32,
    /// Bytes per source row; carried but ignored for the RGB types.
    pub stride: u32,
    /// Whether the first coded row is the top row.
    pub top_down: bool,
    /// Dictionary id of this image.
    pub id: u64,
    /// This image may reference ids `id - win_head_dist ..= id - 1` only.
    pub win_head_dist: u32,
}

impl GlzHeader {
    /// Encoded size.
    pub const LEN: usize = 33;

    /// Parses and validates the header at the start of `data`.
    ///
    /// A successful parse means the dimensions are within [`crate::MAX_DIMENSION`] and
    /// [`MAX_IMAGE_PIXELS`]. Types 1–5 (palettes, never sent by servers, and no palette
    /// is available to GLZ) and 10–11 (not defined for GLZ) are
    /// [`CodecError::WrongLzType`]; 0 and 12–15 are [`CodecError::UnknownLzType`].
    pub fn parse(data: &[u8]) -> Result<GlzHeader, CodecError> {
        let h = data.get(..Self::LEN).ok_or(CodecError::Truncated {
            needed: Self::LEN as u64,
            available: data.len() as u64,
        })?;
        let be32 = |at: usize| u32::from_be_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]]);
        let magic = be32(0);
        if magic != LZ_MAGIC {
            return Err(CodecError::BadMagic(magic));
        }
        let version = be32(4);
        if version != LZ_VERSION {
            return Err(CodecError::BadVersion(version));
        }
        let type_byte = h[8];
        let kind = LzType::try_from(u32::from(type_byte & 0x0F))?;
        if !matches!(
            kind,
            LzType::Rgb16 | LzType::Rgb24 | LzType::Rgb32 | LzType::Rgba
        ) {
            return Err(CodecError::WrongLzType(kind as u32));
        }
        let (width, height) = (be32(9), be32(13));
        pixel_count(width, height)?;
        let mut id = [0u8; 8];
        id.copy_from_slice(&h[21..29]);
        Ok(GlzHeader {
            kind,
            width,
            height,
            stride: be32(17),
            top_down: type_byte & 0xF0 != 0,
            id: u64::from_be_bytes(id),
            win_head_dist: be32(29),
        })
    }

    /// The header's wire form (type byte 0x10 | type when top-down, as servers write it).
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        out[0..4].copy_from_slice(&LZ_MAGIC.to_be_bytes());
        out[4..8].copy_from_slice(&LZ_VERSION.to_be_bytes());
        out[8] = self.kind as u8 | if self.top_down { 0x10 } else { 0 };
        out[9..13].copy_from_slice(&self.width.to_be_bytes());
        out[13..17].copy_from_slice(&self.height.to_be_bytes());
        out[17..21].copy_from_slice(&self.stride.to_be_bytes());
        out[21..29].copy_from_slice(&self.id.to_be_bytes());
        out[29..33].copy_from_slice(&self.win_head_dist.to_be_bytes());
        out
    }

    /// Pixels per pass (width × height).
    pub fn units(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }
}

/// Result of a GLZ decode that did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GlzOutcome {
    /// The image, in display order; it has also been added to the dictionary (unless its
    /// id is older than anything the dictionary can still be asked for).
    Decoded(Rgba),
    /// The stream references dictionary image `id`, which has not arrived yet (it may
    /// come on another display channel). Nothing was changed: call again with the same
    /// data after more images have been added to the dictionary.
    NeedsImage {
        /// The missing image id.
        id: u64,
    },
}

/// Decodes a complete GLZ stream (header and body) against the session dictionary.
///
/// On [`GlzOutcome::Decoded`] the image is stored in `dict` and eviction is applied by
/// `win_head_dist` (see [`GlzDictionary`]). On [`GlzOutcome::NeedsImage`] or an error,
/// `dict` is left untouched.
pub fn decode_glz(data: &[u8], dict: &mut GlzDictionary) -> Result<GlzOutcome, CodecError> {
    let hdr = GlzHeader::parse(data)?;
    dict.check_admissible(&hdr)?;
    let body = data.get(GlzHeader::LEN..).unwrap_or(&[]);
    let pixels = match decode::decode_body(&hdr, body, dict)? {
        decode::Body::Decoded(p) => p,
        decode::Body::Missing(id) => return Ok(GlzOutcome::NeedsImage { id }),
    };
    let row = hdr.width as usize * 4;
    let display = if dict.will_store(hdr.id) {
        let display = if hdr.top_down {
            pixels.clone()
        } else {
            flip_rows(&pixels, row)
        };
        dict.insert(&hdr, pixels);
        display
    } else if hdr.top_down {
        pixels
    } else {
        flip_rows(&pixels, row)
    };
    Ok(GlzOutcome::Decoded(Rgba {
        width: hdr.width,
        height: hdr.height,
        pixels: display,
    }))
}

/// Decodes a ZLIB_GLZ_RGB payload: `data` is a zlib (RFC 1950) stream that must inflate
/// to exactly `glz_data_size` bytes of GLZ stream, which is then decoded by
/// [`decode_glz`].
///
/// `glz_data_size` above [`MAX_GLZ_STREAM_BYTES`] is refused before inflating, and the
/// inflater never produces more than `glz_data_size` bytes (its buffer grows with the
/// actual output, so a lying size costs nothing).
pub fn decode_zlib_glz(
    glz_data_size: u32,
    data: &[u8],
    dict: &mut GlzDictionary,
) -> Result<GlzOutcome, CodecError> {
    let size = u64::from(glz_data_size);
    if size > MAX_GLZ_STREAM_BYTES {
        return Err(CodecError::Unsupported(
            "ZLIB_GLZ glz_data_size exceeds the image size limit",
        ));
    }
    if size < GlzHeader::LEN as u64 {
        return Err(CodecError::Truncated {
            needed: GlzHeader::LEN as u64,
            available: size,
        });
    }
    let limit = usize::try_from(size)
        .map_err(|_| CodecError::Unsupported("ZLIB_GLZ glz_data_size exceeds the address space"))?;
    // Deflate cannot expand by more than about 1032:1, so a larger claim is a lie that
    // can be refused before inflating anything.
    let possible = data
        .len()
        .saturating_mul(MAX_DEFLATE_RATIO)
        .saturating_add(64);
    if limit > possible {
        return Err(CodecError::Truncated {
            needed: size.div_ceil(MAX_DEFLATE_RATIO as u64),
            available: data.len() as u64,
        });
    }
    let glz = inflate_zlib(data, limit)?;
    if glz.len() != limit {
        return Err(CodecError::Truncated {
            needed: size,
            available: glz.len() as u64,
        });
    }
    decode_glz(&glz, dict)
}

/// Inflates a zlib stream to at most `limit` bytes, checking the Adler-32 trailer.
fn inflate_zlib(data: &[u8], limit: usize) -> Result<Vec<u8>, CodecError> {
    use miniz_oxide::inflate::{decompress_to_vec_zlib_with_limit, TINFLStatus};
    decompress_to_vec_zlib_with_limit(data, limit).map_err(|e| match e.status {
        TINFLStatus::HasMoreOutput => {
            CodecError::Unsupported("ZLIB_GLZ stream inflates past glz_data_size")
        }
        TINFLStatus::NeedsMoreInput | TINFLStatus::FailedCannotMakeProgress => {
            CodecError::Truncated {
                needed: data.len() as u64 + 1,
                available: data.len() as u64,
            }
        }
        TINFLStatus::Adler32Mismatch => {
            CodecError::Unsupported("ZLIB_GLZ zlib stream fails its Adler-32 check")
        }
        _ => CodecError::Unsupported("ZLIB_GLZ data is not a valid zlib stream"),
    })
}

/// Rows of `pixels` (each `row` bytes) in reverse order.
fn flip_rows(pixels: &[u8], row: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(pixels.len());
    for r in pixels.chunks_exact(row.max(1)).rev() {
        out.extend_from_slice(r);
    }
    out
}
