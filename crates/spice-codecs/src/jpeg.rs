//! JPEG (SpiceImage type 105) and JPEG_ALPHA (type 108, `docs/spice-codecs.md` §6).
//!
//! The JPEG part is an ordinary JFIF from the server's libjpeg (baseline, YCbCr 4:2:0 or
//! 4:4:4; grayscale is handled too). It is decoded with zune-jpeg straight into the RGBA
//! output (zune's YCbCr→RGBA path writes A = 255); grayscale is decoded to luma and
//! expanded. zune-jpeg uses libjpeg-style "fancy" (triangle) chroma upsampling but its own
//! integer IDCT, so output can differ from libjpeg's `JDCT_ISLOW` by a few levels; see
//! the fixture tests for the measured bound.
//!
//! JPEG_ALPHA appends an LZ XXXA stream holding the alpha plane. The JPEG is always in
//! display order; the alpha stream is in source memory order, so with TOP_DOWN = 0 its
//! first row is the picture's bottom row ([`crate::decode_lz_alpha_into`] does the
//! mapping from the stream's own top_down field, which must agree with the flag).

use zune_jpeg::errors::DecodeErrors;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

use crate::lz::{LzHeader, LzType};
use crate::rgba::pixel_count;
use crate::{decode_lz_alpha_into, CodecError, Rgba, MAX_DIMENSION};

/// The TOP_DOWN bit of the JPEG_ALPHA flags byte.
pub const JPEG_ALPHA_TOP_DOWN: u8 = 1;

/// Decodes a JFIF/JPEG image to opaque RGBA.
///
/// Dimensions are checked against [`MAX_DIMENSION`] while parsing the frame header and
/// against [`crate::MAX_IMAGE_PIXELS`] before the image is allocated. Malformed streams
/// map onto the closest [`CodecError`]; since the error type has no JPEG-specific variant,
/// most are [`CodecError::Unsupported`] with a description of what was wrong.
pub fn decode_jpeg(data: &[u8]) -> Result<Rgba, CodecError> {
    let options = DecoderOptions::default()
        .set_max_width(MAX_DIMENSION as usize)
        .set_max_height(MAX_DIMENSION as usize)
        .jpeg_set_out_colorspace(ColorSpace::RGBA);
    let mut dec = JpegDecoder::new_with_options(data, options);
    dec.decode_headers().map_err(|e| map_error(e, data.len()))?;
    let (w, h) = dec.dimensions().ok_or(CodecError::Unsupported(
        "JPEG: no frame header before the scan",
    ))?;
    // zune's dimensions are u16, so these conversions cannot fail.
    let width = u32::try_from(w).unwrap_or(u32::MAX);
    let height = u32::try_from(h).unwrap_or(u32::MAX);
    let count = pixel_count(width, height)?;

    match dec.get_output_colorspace() {
        Some(ColorSpace::RGBA) => {
            let mut img = Rgba::new_checked(width, height)?;
            if dec.output_buffer_size() != Some(img.pixels.len()) {
                return Err(CodecError::Unsupported("JPEG: unexpected output size"));
            }
            dec.decode_into(&mut img.pixels)
                .map_err(|e| map_error(e, data.len()))?;
            Ok(img)
        }
        Some(ColorSpace::Luma) => {
            if dec.output_buffer_size() != Some(count) {
                return Err(CodecError::Unsupported("JPEG: unexpected output size"));
            }
            let mut luma = vec![0u8; count];
            dec.decode_into(&mut luma)
                .map_err(|e| map_error(e, data.len()))?;
            let mut img = Rgba::new_checked(width, height)?;
            for (o, &y) in img.pixels.chunks_exact_mut(4).zip(&luma) {
                o.copy_from_slice(&[y, y, y, 255]);
            }
            Ok(img)
        }
        _ => Err(CodecError::Unsupported(
            "JPEG colour space other than YCbCr, RGB or grayscale",
        )),
    }
}

/// Decodes a JPEG_ALPHA payload: `flags` and `jpeg_size` from the message, `data` the
/// `data_size` bytes that follow them (the JPEG, then the LZ XXXA alpha stream).
///
/// Checks, as the reference client does, that the LZ stream is of type XXXA, that its
/// top_down agrees with [`JPEG_ALPHA_TOP_DOWN`] in `flags`, and that its dimensions equal
/// the JPEG's. The LZ stream must end exactly at the end of `data`.
pub fn decode_jpeg_alpha(flags: u8, jpeg_size: u32, data: &[u8]) -> Result<Rgba, CodecError> {
    let split = usize::try_from(jpeg_size)
        .ok()
        .filter(|&n| n <= data.len())
        .ok_or(CodecError::Truncated {
            needed: u64::from(jpeg_size),
            available: data.len() as u64,
        })?;
    let (jpeg, alpha) = data.split_at(split);
    // Cheap header checks first, so a bad alpha stream does not cost a JPEG decode.
    let hdr = LzHeader::parse(alpha)?;
    if hdr.kind != LzType::Xxxa {
        return Err(CodecError::WrongLzType(hdr.kind as u32));
    }
    if hdr.top_down != (flags & JPEG_ALPHA_TOP_DOWN != 0) {
        return Err(CodecError::Unsupported(
            "JPEG_ALPHA: alpha stream top_down disagrees with the TOP_DOWN flag",
        ));
    }
    let mut img = decode_jpeg(jpeg)?;
    decode_lz_alpha_into(alpha, &mut img)?;
    Ok(img)
}

fn map_error(e: DecodeErrors, len: usize) -> CodecError {
    match e {
        DecodeErrors::ExhaustedData => CodecError::Truncated {
            needed: len as u64 + 1,
            available: len as u64,
        },
        DecodeErrors::IllegalMagicBytes(_) => {
            CodecError::Unsupported("JPEG: data does not start with an SOI marker")
        }
        DecodeErrors::ZeroError => CodecError::BadDimensions {
            width: 0,
            height: 0,
        },
        DecodeErrors::LargeDimensions(n) => {
            let n = u32::try_from(n).unwrap_or(u32::MAX);
            CodecError::BadDimensions {
                width: n,
                height: n,
            }
        }
        DecodeErrors::Unsupported(_) => CodecError::Unsupported(
            "JPEG coding process not supported (arithmetic, lossless or hierarchical)",
        ),
        DecodeErrors::HuffmanDecode(_) => {
            CodecError::Unsupported("malformed JPEG: bad Huffman table or entropy-coded data")
        }
        DecodeErrors::DqtError(_) => {
            CodecError::Unsupported("malformed JPEG: bad quantization table")
        }
        DecodeErrors::SosError(_) => CodecError::Unsupported("malformed JPEG: bad scan header"),
        DecodeErrors::SofError(_) => CodecError::Unsupported("malformed JPEG: bad frame header"),
        DecodeErrors::MCUError(_) => CodecError::Unsupported("malformed JPEG: bad MCU data"),
        _ => CodecError::Unsupported("malformed JPEG"),
    }
}
