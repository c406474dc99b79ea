//! Display channel: surfaces, drawing, image caches, video streams, monitor layout.

pub mod draw;
pub mod geometry;
pub mod image;
pub(crate) mod pointer;
pub mod stream;

#[cfg(test)]
mod tests;

use crate::channel::ChannelType;
use crate::error::{ProtoError, Result};
use crate::messages::base::{is_base, read_wait_list, BaseMsg, WaitChannel};
use crate::messages::{decode_base_for, ClientMessage};
use crate::reader::Reader;
use crate::writer::PutLe;

pub use draw::*;
pub use geometry::{Clip, Point, Point16, PointFix, Rect};
pub use image::{
    image_type_name, Bitmap, BitmapFormat, Image, ImageData, ImageDescriptor, ImageType, Palette,
    PaletteSource,
};
pub use stream::{StreamActivateReport, StreamCreate, StreamData, StreamDataSized, StreamReport};

/// Server → client message numbers.
pub mod msg {
    pub const MODE: u16 = 101;
    pub const MARK: u16 = 102;
    pub const RESET: u16 = 103;
    pub const COPY_BITS: u16 = 104;
    pub const INVAL_LIST: u16 = 105;
    pub const INVAL_ALL_PIXMAPS: u16 = 106;
    pub const INVAL_PALETTE: u16 = 107;
    pub const INVAL_ALL_PALETTES: u16 = 108;
    pub const STREAM_CREATE: u16 = 122;
    pub const STREAM_DATA: u16 = 123;
    pub const STREAM_CLIP: u16 = 124;
    pub const STREAM_DESTROY: u16 = 125;
    pub const STREAM_DESTROY_ALL: u16 = 126;
    pub const DRAW_FILL: u16 = 302;
    pub const DRAW_OPAQUE: u16 = 303;
    pub const DRAW_COPY: u16 = 304;
    pub const DRAW_BLEND: u16 = 305;
    pub const DRAW_BLACKNESS: u16 = 306;
    pub const DRAW_WHITENESS: u16 = 307;
    pub const DRAW_INVERS: u16 = 308;
    pub const DRAW_ROP3: u16 = 309;
    pub const DRAW_STROKE: u16 = 310;
    pub const DRAW_TEXT: u16 = 311;
    pub const DRAW_TRANSPARENT: u16 = 312;
    pub const DRAW_ALPHA_BLEND: u16 = 313;
    pub const SURFACE_CREATE: u16 = 314;
    pub const SURFACE_DESTROY: u16 = 315;
    pub const STREAM_DATA_SIZED: u16 = 316;
    pub const MONITORS_CONFIG: u16 = 317;
    pub const DRAW_COMPOSITE: u16 = 318;
    pub const STREAM_ACTIVATE_REPORT: u16 = 319;
    pub const GL_SCANOUT_UNIX: u16 = 320;
    pub const GL_DRAW: u16 = 321;
    pub const QUALITY_INDICATOR: u16 = 322;
}

/// Client → server message numbers.
pub mod msgc {
    pub const INIT: u16 = 101;
    pub const STREAM_REPORT: u16 = 102;
    pub const PREFERRED_COMPRESSION: u16 = 103;
    pub const GL_DRAW_DONE: u16 = 104;
    pub const PREFERRED_VIDEO_CODEC_TYPE: u16 = 105;
}

/// Surface pixel formats (SURFACE_CREATE).
pub mod surface_format {
    pub const A1: u32 = 1;
    pub const A8: u32 = 8;
    pub const X1R5G5B5: u32 = 16;
    pub const R5G6B5: u32 = 80;
    pub const XRGB32: u32 = 32;
    pub const ARGB32: u32 = 96;
}

/// SURFACE_CREATE flags.
pub mod surface_flags {
    /// The surface is the monitor framebuffer.
    pub const PRIMARY: u32 = 1;
    pub const STREAMING_MODE: u32 = 2;
}

/// PREFERRED_COMPRESSION values. `LZ` restricts the server to BITMAP, LZ_RGB and LZ_PLT.
pub mod image_compression {
    pub const OFF: u8 = 1;
    pub const AUTO_GLZ: u8 = 2;
    pub const AUTO_LZ: u8 = 3;
    pub const QUIC: u8 = 4;
    pub const GLZ: u8 = 5;
    pub const LZ: u8 = 6;
    pub const LZ4: u8 = 7;
}

/// Video codec numbers (STREAM_CREATE, PREFERRED_VIDEO_CODEC_TYPE).
pub mod video_codec {
    pub const MJPEG: u8 = 1;
    pub const VP8: u8 = 2;
    pub const H264: u8 = 3;
    pub const VP9: u8 = 4;
    pub const H265: u8 = 5;
}

/// Resource type in INVAL_LIST.
pub mod resource_type {
    pub const PIXMAP: u8 = 1;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SurfaceCreate {
    pub surface_id: u32,
    pub width: u32,
    pub height: u32,
    pub format: u32,
    pub flags: u32,
}

/// A cache entry to drop (INVAL_LIST).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resource {
    pub kind: u8,
    pub id: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub monitor_id: u32,
    pub surface_id: u32,
    pub width: u32,
    pub height: u32,
    pub x: u32,
    pub y: u32,
    pub flags: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorsConfig {
    pub max_allowed: u16,
    pub heads: Vec<Head>,
}

/// Server → client display messages. Draws borrow image payloads from the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisplayMsg<'a> {
    Base(BaseMsg<'a>),
    /// Legacy, not sent by spice-server 0.15.
    Mode {
        x_res: u32,
        y_res: u32,
        bits: u32,
    },
    /// The initial screen contents are complete.
    Mark,
    Reset,
    CopyBits(CopyBits),
    InvalList(Vec<Resource>),
    /// Clear the pixmap cache after the listed channels reach the given serials.
    InvalAllPixmaps(Vec<WaitChannel>),
    InvalPalette {
        id: u64,
    },
    InvalAllPalettes,
    StreamCreate(StreamCreate),
    StreamData(StreamData<'a>),
    StreamDataSized(StreamDataSized<'a>),
    StreamClip {
        id: u32,
        clip: Clip,
    },
    StreamDestroy {
        id: u32,
    },
    StreamDestroyAll,
    StreamActivateReport(StreamActivateReport),
    DrawFill(DrawFill<'a>),
    DrawOpaque(DrawOpaque<'a>),
    DrawCopy(DrawCopy<'a>),
    DrawBlend(DrawCopy<'a>),
    DrawBlackness(DrawMaskOnly<'a>),
    DrawWhiteness(DrawMaskOnly<'a>),
    DrawInvers(DrawMaskOnly<'a>),
    DrawRop3(DrawRop3<'a>),
    DrawStroke(DrawStroke<'a>),
    DrawText(DrawText<'a>),
    DrawTransparent(DrawTransparent<'a>),
    DrawAlphaBlend(DrawAlphaBlend<'a>),
    DrawComposite(DrawComposite<'a>),
    SurfaceCreate(SurfaceCreate),
    SurfaceDestroy {
        surface_id: u32,
    },
    MonitorsConfig(MonitorsConfig),
    /// Body layout assumed to be a single `u8` (not covered by the protocol notes).
    QualityIndicator {
        quality: u8,
    },
    /// Local GL only; decoded so a misconfigured server does not break the channel.
    GlDraw {
        x: u32,
        y: u32,
        w: u32,
        h: u32,
    },
}

pub fn decode_display(ty: u16, body: &[u8]) -> Result<DisplayMsg<'_>> {
    if is_base(ty) {
        return Ok(DisplayMsg::Base(decode_base_for(
            ChannelType::Display,
            ty,
            body,
        )?));
    }
    let mut r = Reader::new(body);
    Ok(match ty {
        msg::MODE => DisplayMsg::Mode {
            x_res: r.u32()?,
            y_res: r.u32()?,
            bits: r.u32()?,
        },
        msg::MARK => DisplayMsg::Mark,
        msg::RESET => DisplayMsg::Reset,
        msg::COPY_BITS => DisplayMsg::CopyBits(CopyBits::decode(body)?),
        msg::INVAL_LIST => {
            let n = r.u16()?;
            DisplayMsg::InvalList(r.vec("inval list", n.into(), 9, |r| {
                Ok(Resource {
                    kind: r.u8()?,
                    id: r.u64()?,
                })
            })?)
        }
        msg::INVAL_ALL_PIXMAPS => DisplayMsg::InvalAllPixmaps(read_wait_list(&mut r)?),
        msg::INVAL_PALETTE => DisplayMsg::InvalPalette { id: r.u64()? },
        msg::INVAL_ALL_PALETTES => DisplayMsg::InvalAllPalettes,
        msg::STREAM_CREATE => DisplayMsg::StreamCreate(StreamCreate::read(&mut r)?),
        msg::STREAM_DATA => DisplayMsg::StreamData(StreamData::read(&mut r)?),
        msg::STREAM_DATA_SIZED => DisplayMsg::StreamDataSized(StreamDataSized::read(&mut r)?),
        msg::STREAM_CLIP => DisplayMsg::StreamClip {
            id: r.u32()?,
            clip: Clip::read(&mut r)?,
        },
        msg::STREAM_DESTROY => DisplayMsg::StreamDestroy { id: r.u32()? },
        msg::STREAM_DESTROY_ALL => DisplayMsg::StreamDestroyAll,
        msg::STREAM_ACTIVATE_REPORT => {
            DisplayMsg::StreamActivateReport(StreamActivateReport::read(&mut r)?)
        }
        msg::DRAW_FILL => DisplayMsg::DrawFill(DrawFill::decode(body)?),
        msg::DRAW_OPAQUE => DisplayMsg::DrawOpaque(DrawOpaque::decode(body)?),
        msg::DRAW_COPY => DisplayMsg::DrawCopy(DrawCopy::decode(body)?),
        msg::DRAW_BLEND => DisplayMsg::DrawBlend(DrawCopy::decode(body)?),
        msg::DRAW_BLACKNESS => DisplayMsg::DrawBlackness(DrawMaskOnly::decode(body)?),
        msg::DRAW_WHITENESS => DisplayMsg::DrawWhiteness(DrawMaskOnly::decode(body)?),
        msg::DRAW_INVERS => DisplayMsg::DrawInvers(DrawMaskOnly::decode(body)?),
        msg::DRAW_ROP3 => DisplayMsg::DrawRop3(DrawRop3::decode(body)?),
        msg::DRAW_STROKE => DisplayMsg::DrawStroke(DrawStroke::decode(body)?),
        msg::DRAW_TEXT => DisplayMsg::DrawText(DrawText::decode(body)?),
        msg::DRAW_TRANSPARENT => DisplayMsg::DrawTransparent(DrawTransparent::decode(body)?),
        msg::DRAW_ALPHA_BLEND => DisplayMsg::DrawAlphaBlend(DrawAlphaBlend::decode(body)?),
        msg::DRAW_COMPOSITE => DisplayMsg::DrawComposite(DrawComposite::decode(body)?),
        msg::SURFACE_CREATE => DisplayMsg::SurfaceCreate(SurfaceCreate {
            surface_id: r.u32()?,
            width: r.u32()?,
            height: r.u32()?,
            format: r.u32()?,
            flags: r.u32()?,
        }),
        msg::SURFACE_DESTROY => DisplayMsg::SurfaceDestroy {
            surface_id: r.u32()?,
        },
        msg::MONITORS_CONFIG => {
            let count = r.u16()?;
            let max_allowed = r.u16()?;
            let heads = r.vec("monitor heads", count.into(), 28, |r| {
                Ok(Head {
                    monitor_id: r.u32()?,
                    surface_id: r.u32()?,
                    width: r.u32()?,
                    height: r.u32()?,
                    x: r.u32()?,
                    y: r.u32()?,
                    flags: r.u32()?,
                })
            })?;
            DisplayMsg::MonitorsConfig(MonitorsConfig { max_allowed, heads })
        }
        msg::QUALITY_INDICATOR => DisplayMsg::QualityIndicator { quality: r.u8()? },
        msg::GL_DRAW => DisplayMsg::GlDraw {
            x: r.u32()?,
            y: r.u32()?,
            w: r.u32()?,
            h: r.u32()?,
        },
        _ => {
            return Err(ProtoError::UnknownMessage {
                channel: ChannelType::Display,
                ty,
            })
        }
    })
}

impl<'a> DisplayMsg<'a> {
    /// Every image the message carries (source, mask, patterns), in wire order.
    ///
    /// Renderers must decode these even when the draw itself is clipped away or
    /// unsupported, because CACHE_ME images and GLZ images feed caches the server mirrors.
    pub fn images(&self) -> Vec<&Image<'a>> {
        let mut v = Vec::new();
        match self {
            Self::DrawFill(d) => {
                v.extend(d.brush.image());
                v.extend(d.mask.bitmap.as_ref());
            }
            Self::DrawOpaque(d) => {
                v.push(&d.src);
                v.extend(d.brush.image());
                v.extend(d.mask.bitmap.as_ref());
            }
            Self::DrawCopy(d) | Self::DrawBlend(d) => {
                v.push(&d.src);
                v.extend(d.mask.bitmap.as_ref());
            }
            Self::DrawBlackness(d) | Self::DrawWhiteness(d) | Self::DrawInvers(d) => {
                v.extend(d.mask.bitmap.as_ref());
            }
            Self::DrawRop3(d) => {
                v.push(&d.src);
                v.extend(d.brush.image());
                v.extend(d.mask.bitmap.as_ref());
            }
            Self::DrawStroke(d) => v.extend(d.brush.image()),
            Self::DrawText(d) => {
                v.extend(d.fore_brush.image());
                v.extend(d.back_brush.image());
            }
            Self::DrawTransparent(d) => v.push(&d.src),
            Self::DrawAlphaBlend(d) => v.push(&d.src),
            Self::DrawComposite(d) => {
                v.push(&d.src);
                v.extend(d.mask.as_ref());
            }
            _ => {}
        }
        v
    }

    /// The draw's common header, for draws that have one.
    pub fn display_base(&self) -> Option<&DisplayBase> {
        Some(match self {
            Self::CopyBits(d) => &d.base,
            Self::DrawFill(d) => &d.base,
            Self::DrawOpaque(d) => &d.base,
            Self::DrawCopy(d) | Self::DrawBlend(d) => &d.base,
            Self::DrawBlackness(d) | Self::DrawWhiteness(d) | Self::DrawInvers(d) => &d.base,
            Self::DrawRop3(d) => &d.base,
            Self::DrawStroke(d) => &d.base,
            Self::DrawText(d) => &d.base,
            Self::DrawTransparent(d) => &d.base,
            Self::DrawAlphaBlend(d) => &d.base,
            Self::DrawComposite(d) => &d.base,
            _ => return None,
        })
    }
}

/// Client → server display messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisplayClientMsg {
    /// Must be sent right after the link completes; the server waits for it. A GLZ window
    /// of 0 disables GLZ.
    Init {
        pixmap_cache_id: u8,
        /// In pixels.
        pixmap_cache_size: i64,
        glz_dictionary_id: u8,
        /// In pixels.
        glz_dictionary_window_size: i32,
    },
    StreamReport(StreamReport),
    /// One of [`image_compression`].
    PreferredCompression(u8),
    GlDrawDone,
    /// Codec numbers from [`video_codec`], most preferred first; at most 255 are sent.
    PreferredVideoCodecType(Vec<u8>),
}

impl DisplayClientMsg {
    pub fn decode(ty: u16, body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        Ok(match ty {
            msgc::INIT => Self::Init {
                pixmap_cache_id: r.u8()?,
                pixmap_cache_size: r.i64()?,
                glz_dictionary_id: r.u8()?,
                glz_dictionary_window_size: r.i32()?,
            },
            msgc::STREAM_REPORT => Self::StreamReport(StreamReport::read(&mut r)?),
            msgc::PREFERRED_COMPRESSION => Self::PreferredCompression(r.u8()?),
            msgc::GL_DRAW_DONE => Self::GlDrawDone,
            msgc::PREFERRED_VIDEO_CODEC_TYPE => {
                let n = r.u8()?;
                Self::PreferredVideoCodecType(r.bytes(n.into())?.to_vec())
            }
            _ => {
                return Err(ProtoError::UnknownMessage {
                    channel: ChannelType::Display,
                    ty,
                })
            }
        })
    }
}

impl ClientMessage for DisplayClientMsg {
    fn msg_type(&self) -> u16 {
        match self {
            Self::Init { .. } => msgc::INIT,
            Self::StreamReport(_) => msgc::STREAM_REPORT,
            Self::PreferredCompression(_) => msgc::PREFERRED_COMPRESSION,
            Self::GlDrawDone => msgc::GL_DRAW_DONE,
            Self::PreferredVideoCodecType(_) => msgc::PREFERRED_VIDEO_CODEC_TYPE,
        }
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        match self {
            Self::Init {
                pixmap_cache_id,
                pixmap_cache_size,
                glz_dictionary_id,
                glz_dictionary_window_size,
            } => {
                out.put_u8(*pixmap_cache_id);
                out.put_i64(*pixmap_cache_size);
                out.put_u8(*glz_dictionary_id);
                out.put_i32(*glz_dictionary_window_size);
            }
            Self::StreamReport(s) => s.write(out),
            Self::PreferredCompression(c) => out.put_u8(*c),
            Self::GlDrawDone => {}
            Self::PreferredVideoCodecType(codecs) => {
                let codecs = codecs.get(..255).unwrap_or(codecs);
                out.put_u8(u8::try_from(codecs.len()).unwrap_or(u8::MAX));
                out.extend_from_slice(codecs);
            }
        }
    }
}

pub(crate) fn message_name(ty: u16) -> Option<&'static str> {
    Some(match ty {
        msg::MODE => "MODE",
        msg::MARK => "MARK",
        msg::RESET => "RESET",
        msg::COPY_BITS => "COPY_BITS",
        msg::INVAL_LIST => "INVAL_LIST",
        msg::INVAL_ALL_PIXMAPS => "INVAL_ALL_PIXMAPS",
        msg::INVAL_PALETTE => "INVAL_PALETTE",
        msg::INVAL_ALL_PALETTES => "INVAL_ALL_PALETTES",
        msg::STREAM_CREATE => "STREAM_CREATE",
        msg::STREAM_DATA => "STREAM_DATA",
        msg::STREAM_CLIP => "STREAM_CLIP",
        msg::STREAM_DESTROY => "STREAM_DESTROY",
        msg::STREAM_DESTROY_ALL => "STREAM_DESTROY_ALL",
        msg::DRAW_FILL => "DRAW_FILL",
        msg::DRAW_OPAQUE => "DRAW_OPAQUE",
        msg::DRAW_COPY => "DRAW_COPY",
        msg::DRAW_BLEND => "DRAW_BLEND",
        msg::DRAW_BLACKNESS => "DRAW_BLACKNESS",
        msg::DRAW_WHITENESS => "DRAW_WHITENESS",
        msg::DRAW_INVERS => "DRAW_INVERS",
        msg::DRAW_ROP3 => "DRAW_ROP3",
        msg::DRAW_STROKE => "DRAW_STROKE",
        msg::DRAW_TEXT => "DRAW_TEXT",
        msg::DRAW_TRANSPARENT => "DRAW_TRANSPARENT",
        msg::DRAW_ALPHA_BLEND => "DRAW_ALPHA_BLEND",
        msg::SURFACE_CREATE => "SURFACE_CREATE",
        msg::SURFACE_DESTROY => "SURFACE_DESTROY",
        msg::STREAM_DATA_SIZED => "STREAM_DATA_SIZED",
        msg::MONITORS_CONFIG => "MONITORS_CONFIG",
        msg::DRAW_COMPOSITE => "DRAW_COMPOSITE",
        msg::STREAM_ACTIVATE_REPORT => "STREAM_ACTIVATE_REPORT",
        msg::GL_SCANOUT_UNIX => "GL_SCANOUT_UNIX",
        msg::GL_DRAW => "GL_DRAW",
        msg::QUALITY_INDICATOR => "QUALITY_INDICATOR",
        _ => return None,
    })
}
