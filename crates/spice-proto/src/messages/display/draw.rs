//! Drawing operations (DRAW_* and COPY_BITS) and their building blocks.
//!
//! Every draw starts with [`DisplayBase`] (target surface, bounding box, clip). Source
//! images, masks, patterns, paths and strings are behind pointers and are resolved here,
//! so renderers get fully decoded structures.

use crate::error::{ProtoError, Result};
use crate::messages::display::geometry::{Clip, Point, Point16, PointFix, Rect};
use crate::messages::display::image::Image;
use crate::messages::display::pointer::Body;
use crate::reader::{image_size, Reader};

/// ROP descriptor bits (`rop` fields of FILL/OPAQUE/COPY/BLEND).
pub mod ropd {
    pub const INVERS_SRC: u16 = 1;
    pub const INVERS_BRUSH: u16 = 2;
    pub const INVERS_DEST: u16 = 4;
    pub const OP_PUT: u16 = 8;
    pub const OP_OR: u16 = 16;
    pub const OP_AND: u16 = 32;
    pub const OP_XOR: u16 = 64;
    pub const OP_BLACKNESS: u16 = 128;
    pub const OP_WHITENESS: u16 = 256;
    pub const OP_INVERS: u16 = 512;
    pub const INVERS_RES: u16 = 1024;
}

/// `scale_mode` values, used when `src_area` and the box differ in size.
pub mod scale_mode {
    pub const INTERPOLATE: u8 = 0;
    pub const NEAREST: u8 = 1;
}

/// `QMask::flags` bits.
pub mod mask_flags {
    pub const INVERS: u8 = 1;
}

/// `DrawAlphaBlend::alpha_flags` bits.
pub mod alpha_flags {
    pub const DEST_HAS_ALPHA: u8 = 1;
    pub const SRC_SURFACE_HAS_ALPHA: u8 = 2;
}

/// `GlyphString::flags` bits.
pub mod string_flags {
    pub const RASTER_A1: u8 = 1;
    pub const RASTER_A4: u8 = 2;
    pub const RASTER_A8: u8 = 4;
    pub const RASTER_TOP_DOWN: u8 = 8;
}

/// `PathSegment::flags` bits.
pub mod path_flags {
    pub const BEGIN: u8 = 1;
    pub const END: u8 = 2;
    pub const CLOSE: u8 = 8;
    pub const BEZIER: u8 = 16;
}

/// `LineAttr::flags` bits.
pub mod line_flags {
    pub const START_WITH_GAP: u8 = 4;
    pub const STYLED: u8 = 8;
}

/// `DrawComposite::flags` layout.
pub mod composite_flags {
    pub const OP_MASK: u32 = 0xff;
    pub const SRC_FILTER_SHIFT: u32 = 8;
    pub const MASK_FILTER_SHIFT: u32 = 11;
    pub const SRC_REPEAT_SHIFT: u32 = 14;
    pub const MASK_REPEAT_SHIFT: u32 = 16;
    pub const COMPONENT_ALPHA: u32 = 1 << 18;
    pub const HAS_MASK: u32 = 1 << 19;
    pub const HAS_SRC_TRANSFORM: u32 = 1 << 20;
    pub const HAS_MASK_TRANSFORM: u32 = 1 << 21;
    pub const SOURCE_OPAQUE: u32 = 1 << 22;
    pub const MASK_OPAQUE: u32 = 1 << 23;
    pub const DEST_OPAQUE: u32 = 1 << 24;
}

/// Target and extent shared by every draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayBase {
    pub surface_id: u32,
    /// Bounding box of the draw on the target surface (`box` on the wire).
    pub bbox: Rect,
    pub clip: Clip,
}

impl DisplayBase {
    pub fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            surface_id: r.u32()?,
            bbox: Rect::read(r)?,
            clip: Clip::read(r)?,
        })
    }
}

/// A 1-bpp mask restricting the draw; `bitmap: None` means no mask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QMask<'a> {
    pub flags: u8,
    /// Mask pixel that corresponds to the top-left of the box.
    pub pos: Point,
    pub bitmap: Option<Image<'a>>,
}

struct RawQMask {
    flags: u8,
    pos: Point,
    ptr: u32,
}

impl RawQMask {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            flags: r.u8()?,
            pos: Point::read(r)?,
            ptr: r.u32()?,
        })
    }

    fn resolve<'a>(self, body: Body<'a>) -> Result<QMask<'a>> {
        Ok(QMask {
            flags: self.flags,
            pos: self.pos,
            bitmap: Image::at(body, self.ptr)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Brush<'a> {
    None,
    /// xRGB colour (in the target surface's format).
    Solid(u32),
    /// Tiled image; `pos` is the pattern offset.
    Pattern {
        image: Image<'a>,
        pos: Point,
    },
}

enum RawBrush {
    None,
    Solid(u32),
    Pattern { ptr: u32, pos: Point },
}

impl RawBrush {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        match r.u8()? {
            0 => Ok(Self::None),
            1 => Ok(Self::Solid(r.u32()?)),
            2 => Ok(Self::Pattern {
                ptr: r.u32()?,
                pos: Point::read(r)?,
            }),
            other => Err(ProtoError::InvalidValue {
                what: "brush type",
                value: other.into(),
            }),
        }
    }

    fn resolve<'a>(self, body: Body<'a>) -> Result<Brush<'a>> {
        Ok(match self {
            Self::None => Brush::None,
            Self::Solid(c) => Brush::Solid(c),
            Self::Pattern { ptr, pos } => Brush::Pattern {
                image: Image::at_nonnull(body, ptr)?,
                pos,
            },
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawFill<'a> {
    pub base: DisplayBase,
    pub brush: Brush<'a>,
    pub rop: u16,
    pub mask: QMask<'a>,
}

impl<'a> DrawFill<'a> {
    pub(crate) fn decode(body: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        let base = DisplayBase::read(&mut r)?;
        let brush = RawBrush::read(&mut r)?;
        let rop = r.u16()?;
        let mask = RawQMask::read(&mut r)?;
        let b = Body::new(body, r.position());
        Ok(Self {
            base,
            brush: brush.resolve(b)?,
            rop,
            mask: mask.resolve(b)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawOpaque<'a> {
    pub base: DisplayBase,
    pub src: Image<'a>,
    pub src_area: Rect,
    pub brush: Brush<'a>,
    pub rop: u16,
    pub scale_mode: u8,
    pub mask: QMask<'a>,
}

impl<'a> DrawOpaque<'a> {
    pub(crate) fn decode(body: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        let base = DisplayBase::read(&mut r)?;
        let src = r.u32()?;
        let src_area = Rect::read(&mut r)?;
        let brush = RawBrush::read(&mut r)?;
        let rop = r.u16()?;
        let scale_mode = r.u8()?;
        let mask = RawQMask::read(&mut r)?;
        let b = Body::new(body, r.position());
        Ok(Self {
            base,
            src: Image::at_nonnull(b, src)?,
            src_area,
            brush: brush.resolve(b)?,
            rop,
            scale_mode,
            mask: mask.resolve(b)?,
        })
    }
}

/// DRAW_COPY and DRAW_BLEND share this layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawCopy<'a> {
    pub base: DisplayBase,
    pub src: Image<'a>,
    /// Source rectangle in `src`; scaled to `base.bbox` if the sizes differ.
    pub src_area: Rect,
    pub rop: u16,
    pub scale_mode: u8,
    pub mask: QMask<'a>,
}

impl<'a> DrawCopy<'a> {
    pub(crate) fn decode(body: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        let base = DisplayBase::read(&mut r)?;
        let src = r.u32()?;
        let src_area = Rect::read(&mut r)?;
        let rop = r.u16()?;
        let scale_mode = r.u8()?;
        let mask = RawQMask::read(&mut r)?;
        let b = Body::new(body, r.position());
        Ok(Self {
            base,
            src: Image::at_nonnull(b, src)?,
            src_area,
            rop,
            scale_mode,
            mask: mask.resolve(b)?,
        })
    }
}

/// DRAW_BLACKNESS, DRAW_WHITENESS and DRAW_INVERS share this layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawMaskOnly<'a> {
    pub base: DisplayBase,
    pub mask: QMask<'a>,
}

impl<'a> DrawMaskOnly<'a> {
    pub(crate) fn decode(body: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        let base = DisplayBase::read(&mut r)?;
        let mask = RawQMask::read(&mut r)?;
        let b = Body::new(body, r.position());
        Ok(Self {
            base,
            mask: mask.resolve(b)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawRop3<'a> {
    pub base: DisplayBase,
    pub src: Image<'a>,
    pub src_area: Rect,
    pub brush: Brush<'a>,
    /// Windows ternary raster operation code.
    pub rop3: u8,
    pub scale_mode: u8,
    pub mask: QMask<'a>,
}

impl<'a> DrawRop3<'a> {
    pub(crate) fn decode(body: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        let base = DisplayBase::read(&mut r)?;
        let src = r.u32()?;
        let src_area = Rect::read(&mut r)?;
        let brush = RawBrush::read(&mut r)?;
        let rop3 = r.u8()?;
        let scale_mode = r.u8()?;
        let mask = RawQMask::read(&mut r)?;
        let b = Body::new(body, r.position());
        Ok(Self {
            base,
            src: Image::at_nonnull(b, src)?,
            src_area,
            brush: brush.resolve(b)?,
            rop3,
            scale_mode,
            mask: mask.resolve(b)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathSegment {
    pub flags: u8,
    pub points: Vec<PointFix>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    pub segments: Vec<PathSegment>,
}

impl Path {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let n = r.u32()?;
        let segments = r.vec("path segments", n.into(), 5, |r| {
            let flags = r.u8()?;
            let count = r.u32()?;
            let points = r.vec("path points", count.into(), 8, PointFix::read)?;
            Ok(PathSegment { flags, points })
        })?;
        Ok(Self { segments })
    }
}

/// Line attributes; `style` (28.4 fixed dash lengths) is only present when STYLED.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineAttr {
    pub flags: u8,
    pub style: Vec<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawStroke<'a> {
    pub base: DisplayBase,
    pub path: Path,
    pub attr: LineAttr,
    pub brush: Brush<'a>,
    pub fore_mode: u16,
    pub back_mode: u16,
}

impl<'a> DrawStroke<'a> {
    pub(crate) fn decode(body: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        let base = DisplayBase::read(&mut r)?;
        let path = r.u32()?;
        let lflags = r.u8()?;
        let style = if lflags & line_flags::STYLED != 0 {
            Some((r.u8()?, r.u32()?))
        } else {
            None
        };
        let brush = RawBrush::read(&mut r)?;
        let fore_mode = r.u16()?;
        let back_mode = r.u16()?;
        let b = Body::new(body, r.position());
        let path = Path::read(&mut b.deref_nonnull(path)?)?;
        let style = match style {
            Some((nseg, ptr)) if nseg > 0 => {
                let mut s = b.deref_nonnull(ptr)?;
                s.vec("line style", nseg.into(), 4, |r| r.i32())?
            }
            _ => Vec::new(),
        };
        Ok(Self {
            base,
            path,
            attr: LineAttr {
                flags: lflags,
                style,
            },
            brush: brush.resolve(b)?,
            fore_mode,
            back_mode,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glyph<'a> {
    pub render_pos: Point,
    pub glyph_origin: Point,
    pub width: u16,
    pub height: u16,
    /// `((width * bpp + 7) / 8) * height` bytes, bpp from the string's raster flag.
    pub data: &'a [u8],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlyphString<'a> {
    pub flags: u8,
    /// 1, 4 or 8, from the RASTER_A* flag.
    pub bpp: u8,
    pub glyphs: Vec<Glyph<'a>>,
}

impl<'a> GlyphString<'a> {
    fn read(r: &mut Reader<'a>) -> Result<Self> {
        let len = r.u16()?;
        let flags = r.u8()?;
        let bpp = if flags & string_flags::RASTER_A1 != 0 {
            1
        } else if flags & string_flags::RASTER_A4 != 0 {
            4
        } else if flags & string_flags::RASTER_A8 != 0 {
            8
        } else if len == 0 {
            0
        } else {
            return Err(ProtoError::InvalidValue {
                what: "string raster flags",
                value: flags.into(),
            });
        };
        let glyphs = r.vec("glyphs", len.into(), 20, |r| {
            let render_pos = Point::read(r)?;
            let glyph_origin = Point::read(r)?;
            let width = r.u16()?;
            let height = r.u16()?;
            let size = image_size(bpp.into(), width.into(), height.into()).ok_or(
                ProtoError::InvalidValue {
                    what: "glyph size",
                    value: width.into(),
                },
            )?;
            Ok(Glyph {
                render_pos,
                glyph_origin,
                width,
                height,
                data: r.bytes_u64(size)?,
            })
        })?;
        Ok(Self { flags, bpp, glyphs })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawText<'a> {
    pub base: DisplayBase,
    pub text: GlyphString<'a>,
    pub back_area: Rect,
    pub fore_brush: Brush<'a>,
    pub back_brush: Brush<'a>,
    pub fore_mode: u16,
    pub back_mode: u16,
}

impl<'a> DrawText<'a> {
    pub(crate) fn decode(body: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        let base = DisplayBase::read(&mut r)?;
        let text = r.u32()?;
        let back_area = Rect::read(&mut r)?;
        let fore = RawBrush::read(&mut r)?;
        let back = RawBrush::read(&mut r)?;
        let fore_mode = r.u16()?;
        let back_mode = r.u16()?;
        let b = Body::new(body, r.position());
        Ok(Self {
            base,
            text: GlyphString::read(&mut b.deref_nonnull(text)?)?,
            back_area,
            fore_brush: fore.resolve(b)?,
            back_brush: back.resolve(b)?,
            fore_mode,
            back_mode,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawTransparent<'a> {
    pub base: DisplayBase,
    pub src: Image<'a>,
    pub src_area: Rect,
    /// Source pixels of this colour are not drawn.
    pub src_color: u32,
    pub true_color: u32,
}

impl<'a> DrawTransparent<'a> {
    pub(crate) fn decode(body: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        let base = DisplayBase::read(&mut r)?;
        let src = r.u32()?;
        let src_area = Rect::read(&mut r)?;
        let src_color = r.u32()?;
        let true_color = r.u32()?;
        let b = Body::new(body, r.position());
        Ok(Self {
            base,
            src: Image::at_nonnull(b, src)?,
            src_area,
            src_color,
            true_color,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawAlphaBlend<'a> {
    pub base: DisplayBase,
    pub alpha_flags: u8,
    /// Global alpha applied on top of per-pixel alpha.
    pub alpha: u8,
    pub src: Image<'a>,
    pub src_area: Rect,
}

impl<'a> DrawAlphaBlend<'a> {
    pub(crate) fn decode(body: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        let base = DisplayBase::read(&mut r)?;
        let alpha_flags = r.u8()?;
        let alpha = r.u8()?;
        let src = r.u32()?;
        let src_area = Rect::read(&mut r)?;
        let b = Body::new(body, r.position());
        Ok(Self {
            base,
            alpha_flags,
            alpha,
            src: Image::at_nonnull(b, src)?,
            src_area,
        })
    }
}

/// A 2x3 affine transform in 16.16 fixed point, row-major (t00 t01 t02 t10 t11 t12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transform(pub [u32; 6]);

impl Transform {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let mut t = [0u32; 6];
        for v in &mut t {
            *v = r.u32()?;
        }
        Ok(Self(t))
    }
}

/// Render-style composite; only sent if the client advertised the COMPOSITE cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawComposite<'a> {
    pub base: DisplayBase,
    pub flags: u32,
    pub src: Image<'a>,
    pub mask: Option<Image<'a>>,
    pub src_transform: Option<Transform>,
    pub mask_transform: Option<Transform>,
    pub src_origin: Point16,
    pub mask_origin: Point16,
}

impl<'a> DrawComposite<'a> {
    pub(crate) fn decode(body: &'a [u8]) -> Result<Self> {
        use composite_flags::{HAS_MASK, HAS_MASK_TRANSFORM, HAS_SRC_TRANSFORM};
        let mut r = Reader::new(body);
        let base = DisplayBase::read(&mut r)?;
        let flags = r.u32()?;
        let src = r.u32()?;
        let mask = if flags & HAS_MASK != 0 {
            Some(r.u32()?)
        } else {
            None
        };
        let src_transform = if flags & HAS_SRC_TRANSFORM != 0 {
            Some(Transform::read(&mut r)?)
        } else {
            None
        };
        let mask_transform = if flags & HAS_MASK_TRANSFORM != 0 {
            Some(Transform::read(&mut r)?)
        } else {
            None
        };
        let src_origin = Point16::read(&mut r)?;
        let mask_origin = Point16::read(&mut r)?;
        let b = Body::new(body, r.position());
        let mask = match mask {
            Some(ptr) => Some(Image::at_nonnull(b, ptr)?),
            None => None,
        };
        Ok(Self {
            base,
            flags,
            src: Image::at_nonnull(b, src)?,
            mask,
            src_transform,
            mask_transform,
            src_origin,
            mask_origin,
        })
    }

    /// Pixman/Render operator number.
    pub fn op(&self) -> u8 {
        (self.flags & composite_flags::OP_MASK) as u8
    }
}

/// COPY_BITS: copy `bbox`-sized area from `src_pos` to `bbox` on the same surface
/// (memmove semantics when the areas overlap).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyBits {
    pub base: DisplayBase,
    pub src_pos: Point,
}

impl CopyBits {
    pub(crate) fn decode(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        Ok(Self {
            base: DisplayBase::read(&mut r)?,
            src_pos: Point::read(&mut r)?,
        })
    }
}

impl<'a> Brush<'a> {
    pub fn image(&self) -> Option<&Image<'a>> {
        match self {
            Brush::Pattern { image, .. } => Some(image),
            _ => None,
        }
    }
}
