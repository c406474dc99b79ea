//! SpiceImage: the image descriptor plus one of the compressed or raw payloads.
//!
//! Payload bytes are borrowed from the message body; decompression is the codec crate's
//! job. Only framing is validated here (sizes against bytes present, pointers, palette
//! counts), not whether e.g. `stride` is plausible for `width` and `format`.

use crate::error::{ProtoError, Result};
use crate::messages::display::pointer::Body;
use crate::reader::Reader;

/// `ImageDescriptor::flags` bits.
pub mod image_flags {
    /// Store the decoded image in the pixmap cache under `descriptor.id`.
    pub const CACHE_ME: u8 = 1;
    /// 32-bit xRGB data whose X byte must be forced to 0xFF.
    pub const HIGH_BITS_SET: u8 = 2;
    /// Replace the (lossy) cache entry with this lossless image.
    pub const CACHE_REPLACE_ME: u8 = 4;
}

/// `Bitmap::flags` / `LzPlt` flags bits.
pub mod bitmap_flags {
    pub const PAL_CACHE_ME: u8 = 1;
    pub const PAL_FROM_CACHE: u8 = 2;
    /// Rows are stored top-down; otherwise bottom-up.
    pub const TOP_DOWN: u8 = 4;
}

/// JPEG_ALPHA flags bits.
pub mod jpeg_alpha_flags {
    pub const TOP_DOWN: u8 = 1;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageType {
    Bitmap,
    Quic,
    LzPlt,
    LzRgb,
    GlzRgb,
    FromCache,
    Surface,
    Jpeg,
    FromCacheLossless,
    ZlibGlzRgb,
    JpegAlpha,
    Lz4,
    Unknown(u8),
}

impl ImageType {
    pub fn from_u8(v: u8) -> Self {
        match v {
            0 => Self::Bitmap,
            1 => Self::Quic,
            100 => Self::LzPlt,
            101 => Self::LzRgb,
            102 => Self::GlzRgb,
            103 => Self::FromCache,
            104 => Self::Surface,
            105 => Self::Jpeg,
            106 => Self::FromCacheLossless,
            107 => Self::ZlibGlzRgb,
            108 => Self::JpegAlpha,
            109 => Self::Lz4,
            other => Self::Unknown(other),
        }
    }

    pub fn to_u8(self) -> u8 {
        match self {
            Self::Bitmap => 0,
            Self::Quic => 1,
            Self::LzPlt => 100,
            Self::LzRgb => 101,
            Self::GlzRgb => 102,
            Self::FromCache => 103,
            Self::Surface => 104,
            Self::Jpeg => 105,
            Self::FromCacheLossless => 106,
            Self::ZlibGlzRgb => 107,
            Self::JpegAlpha => 108,
            Self::Lz4 => 109,
            Self::Unknown(v) => v,
        }
    }

    /// Protocol name ("LZ_RGB", "BITMAP", ...), for statistics.
    pub fn name(self) -> &'static str {
        match self {
            Self::Bitmap => "BITMAP",
            Self::Quic => "QUIC",
            Self::LzPlt => "LZ_PLT",
            Self::LzRgb => "LZ_RGB",
            Self::GlzRgb => "GLZ_RGB",
            Self::FromCache => "FROM_CACHE",
            Self::Surface => "SURFACE",
            Self::Jpeg => "JPEG",
            Self::FromCacheLossless => "FROM_CACHE_LOSSLESS",
            Self::ZlibGlzRgb => "ZLIB_GLZ_RGB",
            Self::JpegAlpha => "JPEG_ALPHA",
            Self::Lz4 => "LZ4",
            Self::Unknown(_) => "UNKNOWN",
        }
    }
}

/// Name of wire image type `v`, for statistics.
pub fn image_type_name(v: u8) -> &'static str {
    ImageType::from_u8(v).name()
}

/// Pixel format of a BITMAP image (and LZ4's embedded format byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BitmapFormat {
    /// 1 bpp, palette, LSB first.
    Bit1Le,
    /// 1 bpp, palette, MSB first.
    Bit1Be,
    Bit4Le,
    Bit4Be,
    /// 8 bpp palette indices.
    Bit8,
    /// x1r5g5b5 little-endian.
    Bit16,
    /// B, G, R.
    Bit24,
    /// B, G, R, X.
    Bit32,
    /// B, G, R, A.
    Rgba,
    /// 8-bit alpha only.
    Bit8A,
    Unknown(u8),
}

impl BitmapFormat {
    pub fn from_u8(v: u8) -> Self {
        match v {
            1 => Self::Bit1Le,
            2 => Self::Bit1Be,
            3 => Self::Bit4Le,
            4 => Self::Bit4Be,
            5 => Self::Bit8,
            6 => Self::Bit16,
            7 => Self::Bit24,
            8 => Self::Bit32,
            9 => Self::Rgba,
            10 => Self::Bit8A,
            other => Self::Unknown(other),
        }
    }

    pub fn to_u8(self) -> u8 {
        match self {
            Self::Bit1Le => 1,
            Self::Bit1Be => 2,
            Self::Bit4Le => 3,
            Self::Bit4Be => 4,
            Self::Bit8 => 5,
            Self::Bit16 => 6,
            Self::Bit24 => 7,
            Self::Bit32 => 8,
            Self::Rgba => 9,
            Self::Bit8A => 10,
            Self::Unknown(v) => v,
        }
    }

    /// Bits per pixel, `None` for unknown formats.
    pub fn bits_per_pixel(self) -> Option<u32> {
        Some(match self {
            Self::Bit1Le | Self::Bit1Be => 1,
            Self::Bit4Le | Self::Bit4Be => 4,
            Self::Bit8 | Self::Bit8A => 8,
            Self::Bit16 => 16,
            Self::Bit24 => 24,
            Self::Bit32 | Self::Rgba => 32,
            Self::Unknown(_) => return None,
        })
    }

    /// Whether pixels are palette indices (the image then needs a palette).
    pub fn has_palette(self) -> bool {
        matches!(
            self,
            Self::Bit1Le | Self::Bit1Be | Self::Bit4Le | Self::Bit4Be | Self::Bit8
        )
    }
}

/// A palette: `unique` is its cache key; entries are xRGB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Palette {
    pub unique: u64,
    pub entries: Vec<u32>,
}

impl Palette {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let unique = r.u64()?;
        let n = r.u16()?;
        let entries = r.vec("palette entries", n.into(), 4, |r| r.u32())?;
        Ok(Self { unique, entries })
    }
}

/// Where a palette-based image gets its palette from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaletteSource {
    /// Sent with the image; store it in the palette cache if `PAL_CACHE_ME` is set.
    Inline(Palette),
    /// Look up the palette cache by this `unique`.
    FromCache(u64),
}

fn read_palette_source(
    r: &mut Reader<'_>,
    body: Body<'_>,
    flags: u8,
    nonnull: bool,
) -> Result<Option<PaletteSource>> {
    if flags & bitmap_flags::PAL_FROM_CACHE != 0 {
        return Ok(Some(PaletteSource::FromCache(r.u64()?)));
    }
    let ptr = r.u32()?;
    let target = if nonnull {
        Some(body.deref_nonnull(ptr)?)
    } else {
        body.deref(ptr)?
    };
    match target {
        Some(mut p) => Ok(Some(PaletteSource::Inline(Palette::read(&mut p)?))),
        None => Ok(None),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageDescriptor {
    /// Cache key (pixmap cache, GLZ dictionary).
    pub id: u64,
    pub kind: ImageType,
    pub flags: u8,
    pub width: u32,
    pub height: u32,
}

/// An uncompressed bitmap. `data` holds exactly `stride * height` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitmap<'a> {
    pub format: BitmapFormat,
    pub flags: u8,
    pub width: u32,
    pub height: u32,
    pub stride: u32,
    /// `None` when the bitmap has no palette (true-colour formats send a NULL pointer).
    pub palette: Option<PaletteSource>,
    pub data: &'a [u8],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageData<'a> {
    Bitmap(Bitmap<'a>),
    Quic {
        data: &'a [u8],
    },
    LzPlt {
        flags: u8,
        palette: PaletteSource,
        data: &'a [u8],
    },
    LzRgb {
        data: &'a [u8],
    },
    GlzRgb {
        data: &'a [u8],
    },
    /// Look up the pixmap cache by `descriptor.id`.
    FromCache,
    Surface {
        surface_id: u32,
    },
    Jpeg {
        data: &'a [u8],
    },
    /// Like `FromCache`, but the entry must be lossless.
    FromCacheLossless,
    /// `data` inflates (zlib) to `glz_data_size` bytes of GLZ stream.
    ZlibGlzRgb {
        glz_data_size: u32,
        data: &'a [u8],
    },
    /// `data` = JPEG (`jpeg_size` bytes) followed by an LZ XXXA alpha stream.
    JpegAlpha {
        flags: u8,
        jpeg_size: u32,
        data: &'a [u8],
    },
    /// `data` starts with `u8 top_down, u8 bitmap_format`, then big-endian length-prefixed
    /// LZ4 blocks.
    Lz4 {
        data: &'a [u8],
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image<'a> {
    pub descriptor: ImageDescriptor,
    pub data: ImageData<'a>,
}

impl<'a> Image<'a> {
    /// Decodes the image a (nullable) pointer refers to.
    pub(crate) fn at(body: Body<'a>, ptr: u32) -> Result<Option<Self>> {
        match body.deref(ptr)? {
            Some(mut r) => Ok(Some(Self::read(&mut r, body)?)),
            None => Ok(None),
        }
    }

    /// Decodes the image a pointer the protocol declares non-null refers to.
    pub(crate) fn at_nonnull(body: Body<'a>, ptr: u32) -> Result<Self> {
        let mut r = body.deref_nonnull(ptr)?;
        Self::read(&mut r, body)
    }

    fn read(r: &mut Reader<'a>, body: Body<'a>) -> Result<Self> {
        let descriptor = ImageDescriptor {
            id: r.u64()?,
            kind: ImageType::from_u8(r.u8()?),
            flags: r.u8()?,
            width: r.u32()?,
            height: r.u32()?,
        };
        let data = match descriptor.kind {
            ImageType::Bitmap => {
                let format = BitmapFormat::from_u8(r.u8()?);
                let flags = r.u8()?;
                let width = r.u32()?;
                let height = r.u32()?;
                let stride = r.u32()?;
                let palette = read_palette_source(r, body, flags, false)?;
                let size = u64::from(stride) * u64::from(height);
                ImageData::Bitmap(Bitmap {
                    format,
                    flags,
                    width,
                    height,
                    stride,
                    palette,
                    data: r.bytes_u64(size)?,
                })
            }
            ImageType::Quic => ImageData::Quic { data: sized(r)? },
            ImageType::LzPlt => {
                let flags = r.u8()?;
                let size = r.u32()?;
                let palette =
                    read_palette_source(r, body, flags, true)?.ok_or(ProtoError::InvalidValue {
                        what: "LZ_PLT without palette",
                        value: 0,
                    })?;
                ImageData::LzPlt {
                    flags,
                    palette,
                    data: r.bytes_u64(size.into())?,
                }
            }
            ImageType::LzRgb => ImageData::LzRgb { data: sized(r)? },
            ImageType::GlzRgb => ImageData::GlzRgb { data: sized(r)? },
            ImageType::FromCache => ImageData::FromCache,
            ImageType::Surface => ImageData::Surface {
                surface_id: r.u32()?,
            },
            ImageType::Jpeg => ImageData::Jpeg { data: sized(r)? },
            ImageType::FromCacheLossless => ImageData::FromCacheLossless,
            ImageType::ZlibGlzRgb => ImageData::ZlibGlzRgb {
                glz_data_size: r.u32()?,
                data: sized(r)?,
            },
            ImageType::JpegAlpha => {
                let flags = r.u8()?;
                let jpeg_size = r.u32()?;
                let data = sized(r)?;
                if u64::from(jpeg_size) > data.len() as u64 {
                    return Err(ProtoError::InvalidValue {
                        what: "JPEG_ALPHA jpeg_size beyond data",
                        value: jpeg_size.into(),
                    });
                }
                ImageData::JpegAlpha {
                    flags,
                    jpeg_size,
                    data,
                }
            }
            ImageType::Lz4 => ImageData::Lz4 { data: sized(r)? },
            ImageType::Unknown(v) => {
                return Err(ProtoError::InvalidValue {
                    what: "image type",
                    value: v.into(),
                })
            }
        };
        Ok(Self { descriptor, data })
    }
}

/// `u32 size; u8 data[size]`, the common payload shape.
fn sized<'a>(r: &mut Reader<'a>) -> Result<&'a [u8]> {
    let n = r.u32()?;
    r.bytes_u64(n.into())
}
