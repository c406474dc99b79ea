//! The one place that maps a wire image's coding to its spice-codecs decoder.
//!
//! The renderer (through the server-driven caches of [`super::images`]) and the codec
//! benchmark path ([`crate::replay::decode_images`]) both turn wire images into pixels;
//! with the dispatch written once, a codec cannot be added to one and forgotten in the
//! other. Caches and palettes stay the caller's business: this only decodes.

use spice_codecs::glz::{decode_glz, decode_zlib_glz, GlzDictionary, GlzOutcome};
use spice_codecs::jpeg::{decode_jpeg, decode_jpeg_alpha};
use spice_codecs::lz4::decode_lz4;
use spice_codecs::quic::decode_quic;
use spice_codecs::{decode_bitmap, decode_lz, BitmapFormat, CodecError, Palette, Rgba};
use spice_proto::messages::display::image::{bitmap_flags, ImageData};

/// What decoding one wire image gave.
pub(crate) enum Outcome {
    /// The pixels, and whether the codec was lossy (JPEG): a lossy picture must never
    /// answer a FROM_CACHE_LOSSLESS.
    Pixels { image: Rgba, lossy: bool },
    /// A GLZ image refers to dictionary image `id`, which is not there.
    MissingGlzImage(u64),
    /// The message carries no pixels (a cache reference or a surface).
    NotInMessage,
}

fn glz(outcome: GlzOutcome) -> Outcome {
    match outcome {
        GlzOutcome::Decoded(image) => Outcome::Pixels {
            image,
            lossy: false,
        },
        GlzOutcome::NeedsImage { id } => Outcome::MissingGlzImage(id),
    }
}

/// Decodes the pixels `data` carries. `width` and `height` are the descriptor's (LZ4
/// streams do not repeat them); `palette` is the bitmap's or LZ_PLT's palette, already
/// resolved through the palette cache (`None`: an indexed image then fails to decode);
/// `glz` is the session's dictionary.
pub(crate) fn decode(
    data: &ImageData<'_>,
    width: u32,
    height: u32,
    palette: Option<&Palette>,
    glz_dict: &mut GlzDictionary,
) -> Result<Outcome, CodecError> {
    let lossless = |image| Outcome::Pixels {
        image,
        lossy: false,
    };
    let lossy = |image| Outcome::Pixels { image, lossy: true };
    Ok(match data {
        ImageData::Bitmap(b) => lossless(decode_bitmap(
            BitmapFormat::try_from(b.format.to_u8())?,
            b.width,
            b.height,
            b.stride,
            b.flags & bitmap_flags::TOP_DOWN != 0,
            b.data,
            palette,
        )?),
        ImageData::LzRgb { data } => lossless(decode_lz(data, None)?),
        ImageData::LzPlt { data, .. } => lossless(decode_lz(data, palette)?),
        ImageData::Quic { data } => lossless(decode_quic(data)?),
        ImageData::GlzRgb { data } => glz(decode_glz(data, glz_dict)?),
        ImageData::ZlibGlzRgb {
            glz_data_size,
            data,
        } => glz(decode_zlib_glz(*glz_data_size, data, glz_dict)?),
        ImageData::Lz4 { data } => lossless(decode_lz4(data, width, height)?),
        ImageData::Jpeg { data } => lossy(decode_jpeg(data)?),
        ImageData::JpegAlpha {
            flags,
            jpeg_size,
            data,
        } => lossy(decode_jpeg_alpha(*flags, *jpeg_size, data)?),
        ImageData::FromCache | ImageData::FromCacheLossless | ImageData::Surface { .. } => {
            Outcome::NotInMessage
        }
    })
}
