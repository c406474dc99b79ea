//! Hand-built server messages for every display message shape, plus hostile variants.

use super::*;
use crate::framing::{encode_message, split_list};
use crate::messages::base::msg as base_msg;
use crate::messages::test_util::assert_prefixes_fail;
use crate::ProtoError;
use olive_test_support::Wire as B;

/// The display-message parts these tests keep writing, on top of the shared builder.
trait DisplayWire {
    /// DisplayBase: surface 0, box (0,0)-(8,8), and the clip rects (none: CLIP_NONE).
    fn base(&mut self, clip_rects: &[[i32; 4]]) -> &mut Self;
    /// An image descriptor.
    fn image_desc(&mut self, id: u64, ty: u8, w: u32, h: u32) -> &mut Self;
    /// A null QMask.
    fn no_mask(&mut self) -> &mut Self;
}

impl DisplayWire for B {
    fn base(&mut self, clip_rects: &[[i32; 4]]) -> &mut Self {
        self.u32(0).rect(0, 0, 8, 8);
        if clip_rects.is_empty() {
            self.u8(0)
        } else {
            self.u8(1).u32(clip_rects.len() as u32);
            for r in clip_rects {
                self.rect(r[0], r[1], r[2], r[3]);
            }
            self
        }
    }
    fn image_desc(&mut self, id: u64, ty: u8, w: u32, h: u32) -> &mut Self {
        self.u64(id).u8(ty).u8(0).u32(w).u32(h)
    }
    fn no_mask(&mut self) -> &mut Self {
        self.u8(0).i32(0).i32(0).u32(0)
    }
}

fn decode_ok(ty: u16, body: &[u8]) -> DisplayMsg<'_> {
    match decode_display(ty, body) {
        Ok(m) => m,
        Err(e) => panic!("decode {}: {e}", message_name(ty).unwrap_or("?")),
    }
}

/// DRAW_COPY, 2 clip rects, BITMAP 8BIT 2x2 with an inline 2-entry palette.
fn draw_copy_bitmap() -> Vec<u8> {
    let mut b = B::default();
    b.base(&[[0, 0, 4, 4], [4, 4, 8, 8]]);
    let src = b.slot();
    b.rect(0, 0, 2, 2).u16(draw::ropd::OP_PUT).u8(1).no_mask();
    b.patch(src).image_desc(42, 0, 2, 2);
    b.u8(5)
        .u8(image::bitmap_flags::PAL_CACHE_ME | image::bitmap_flags::TOP_DOWN);
    b.u32(2).u32(2).u32(2);
    let pal = b.slot();
    b.bytes(&[0, 1, 1, 0]);
    b.patch(pal)
        .u64(0x77)
        .u16(2)
        .u32(0x00ff_0000)
        .u32(0x0000_ff00);
    b.done()
}

#[test]
fn draw_copy_with_clip_and_bitmap_palette() {
    let body = draw_copy_bitmap();
    let DisplayMsg::DrawCopy(d) = decode_ok(msg::DRAW_COPY, &body) else {
        panic!()
    };
    assert_eq!(d.base.surface_id, 0);
    assert_eq!(d.base.bbox.width(), 8);
    assert_eq!(
        d.base.clip,
        Clip::Rects(vec![
            Rect {
                top: 0,
                left: 0,
                bottom: 4,
                right: 4
            },
            Rect {
                top: 4,
                left: 4,
                bottom: 8,
                right: 8
            }
        ])
    );
    assert_eq!(d.rop, draw::ropd::OP_PUT);
    assert_eq!(d.scale_mode, 1);
    assert_eq!(d.mask.bitmap, None);
    assert_eq!(d.src.descriptor.id, 42);
    assert_eq!(d.src.descriptor.kind, ImageType::Bitmap);
    let ImageData::Bitmap(bm) = &d.src.data else {
        panic!()
    };
    assert_eq!(bm.format, BitmapFormat::Bit8);
    assert_eq!((bm.width, bm.height, bm.stride), (2, 2, 2));
    assert_eq!(bm.data, &[0, 1, 1, 0]);
    assert_eq!(
        bm.palette,
        Some(PaletteSource::Inline(Palette {
            unique: 0x77,
            entries: vec![0x00ff_0000, 0x0000_ff00]
        }))
    );
    let m = decode_ok(msg::DRAW_COPY, &body);
    assert_eq!(m.images().len(), 1);
    assert!(m.display_base().is_some());
    assert_prefixes_fail(&body, |p| {
        decode_display(msg::DRAW_COPY, p).map(|m| format!("{m:?}"))
    });
}

fn draw_copy_lz_plt_cached() -> Vec<u8> {
    let mut b = B::default();
    b.base(&[]);
    let src = b.slot();
    b.rect(0, 0, 8, 8).u16(8).u8(0).no_mask();
    b.patch(src).image_desc(7, 100, 8, 8);
    b.u8(image::bitmap_flags::PAL_FROM_CACHE).u32(5).u64(0xabc);
    b.bytes(&[1, 2, 3, 4, 5]);
    b.done()
}

#[test]
fn lz_plt_with_cached_palette() {
    let body = draw_copy_lz_plt_cached();
    let DisplayMsg::DrawCopy(d) = decode_ok(msg::DRAW_COPY, &body) else {
        panic!()
    };
    assert_eq!(
        d.src.data,
        ImageData::LzPlt {
            flags: image::bitmap_flags::PAL_FROM_CACHE,
            palette: PaletteSource::FromCache(0xabc),
            data: &[1, 2, 3, 4, 5]
        }
    );
    assert_eq!(image_type_name(100), "LZ_PLT");
    assert_prefixes_fail(&body, |p| {
        decode_display(msg::DRAW_COPY, p).map(|m| format!("{m:?}"))
    });
}

#[test]
fn lz_plt_requires_palette() {
    let mut b = B::default();
    b.base(&[]);
    let src = b.slot();
    b.rect(0, 0, 8, 8).u16(8).u8(0).no_mask();
    b.patch(src)
        .image_desc(7, 100, 8, 8)
        .u8(0)
        .u32(1)
        .u32(0)
        .u8(9);
    assert!(decode_display(msg::DRAW_COPY, &b.done()).is_err());
}

fn list_wait_and_inval() -> Vec<u8> {
    let wait = B::default().u8(1).u8(2).u8(1).u64(55).done();
    let inval = B::default().u16(2).u8(1).u64(10).u8(1).u64(11).done();
    let mut b = B::default();
    b.u16(2).u32(10).u32(10 + 6 + wait.len() as u32);
    b.bytes(&encode_message(base_msg::WAIT_FOR_CHANNELS, &wait));
    b.bytes(&encode_message(msg::INVAL_LIST, &inval));
    b.done()
}

#[test]
fn list_with_wait_and_inval() {
    let body = list_wait_and_inval();
    let DisplayMsg::Base(BaseMsg::List(subs)) = decode_ok(base_msg::LIST, &body) else {
        panic!()
    };
    assert_eq!(subs.len(), 2);
    assert_eq!(
        decode_ok(subs[0].ty, subs[0].body),
        DisplayMsg::Base(BaseMsg::WaitForChannels(vec![WaitChannel {
            channel_type: crate::ChannelType::Display,
            channel_id: 1,
            serial: 55
        }]))
    );
    assert_eq!(
        decode_ok(subs[1].ty, subs[1].body),
        DisplayMsg::InvalList(vec![
            Resource { kind: 1, id: 10 },
            Resource { kind: 1, id: 11 }
        ])
    );
    assert_prefixes_fail(&body, |p| {
        decode_display(base_msg::LIST, p).map(|m| format!("{m:?}"))
    });
    assert_eq!(split_list(&body).unwrap().len(), 2);
}

/// Builds a DRAW_COPY around an image payload (descriptor + type-specific bytes).
fn copy_with_image(ty: u8, payload: &[u8]) -> Vec<u8> {
    let mut b = B::default();
    b.base(&[]);
    let src = b.slot();
    b.rect(0, 0, 4, 4).u16(8).u8(0).no_mask();
    b.patch(src).image_desc(1, ty, 4, 4).bytes(payload);
    b.done()
}

#[test]
fn every_image_type() {
    let sized = |extra: &[u8], data: &[u8]| {
        let mut v = extra.to_vec();
        v.extend((data.len() as u32).to_le_bytes());
        v.extend_from_slice(data);
        v
    };
    let cases: Vec<(u8, Vec<u8>, ImageData<'static>)> = vec![
        (1, sized(&[], &[1, 2]), ImageData::Quic { data: &[1, 2] }),
        (101, sized(&[], &[3]), ImageData::LzRgb { data: &[3] }),
        (
            102,
            sized(&[], &[4, 4]),
            ImageData::GlzRgb { data: &[4, 4] },
        ),
        (103, vec![], ImageData::FromCache),
        (104, vec![9, 0, 0, 0], ImageData::Surface { surface_id: 9 }),
        (
            105,
            sized(&[], &[0xff, 0xd8]),
            ImageData::Jpeg {
                data: &[0xff, 0xd8],
            },
        ),
        (106, vec![], ImageData::FromCacheLossless),
        (
            107,
            sized(&[100, 0, 0, 0], &[0x78, 0x9c]),
            ImageData::ZlibGlzRgb {
                glz_data_size: 100,
                data: &[0x78, 0x9c],
            },
        ),
        (
            108,
            sized(&[1, 2, 0, 0, 0], &[0xff, 0xd8, 7]),
            ImageData::JpegAlpha {
                flags: 1,
                jpeg_size: 2,
                data: &[0xff, 0xd8, 7],
            },
        ),
        (
            109,
            sized(&[], &[1, 8, 0]),
            ImageData::Lz4 { data: &[1, 8, 0] },
        ),
    ];
    for (ty, payload, want) in cases {
        let body = copy_with_image(ty, &payload);
        let DisplayMsg::DrawCopy(d) = decode_ok(msg::DRAW_COPY, &body) else {
            panic!()
        };
        assert_eq!(d.src.descriptor.kind.to_u8(), ty);
        assert_eq!(d.src.data, want, "type {ty}");
        assert_ne!(image_type_name(ty), "UNKNOWN");
        assert_prefixes_fail(&body, |p| {
            decode_display(msg::DRAW_COPY, p).map(|m| format!("{m:?}"))
        });
    }
    // Unknown image type.
    assert!(decode_display(msg::DRAW_COPY, &copy_with_image(50, &[0; 8])).is_err());
    // JPEG_ALPHA with jpeg_size past the data.
    let bad = copy_with_image(108, &sized(&[0, 9, 0, 0, 0], &[1, 2]));
    assert!(decode_display(msg::DRAW_COPY, &bad).is_err());
}

#[test]
fn hostile_pointers_and_counts() {
    let good = draw_copy_bitmap();
    // Offset of the src pointer: base (4 + 16 + 1 + 4 + 32).
    let src_at = 57;
    let set_ptr = |v: u32| {
        let mut b = good.clone();
        b[src_at..src_at + 4].copy_from_slice(&v.to_le_bytes());
        b
    };
    let past_end = set_ptr(good.len() as u32);
    assert!(matches!(
        decode_display(msg::DRAW_COPY, &past_end),
        Err(ProtoError::BadPointer { .. })
    ));
    assert!(decode_display(msg::DRAW_COPY, &set_ptr(u32::MAX)).is_err());
    // Points at itself (inside the inline part): a looping pointer.
    assert!(matches!(
        decode_display(msg::DRAW_COPY, &set_ptr(src_at as u32)),
        Err(ProtoError::BadPointer { .. })
    ));
    assert!(matches!(
        decode_display(msg::DRAW_COPY, &set_ptr(0)),
        Err(ProtoError::BadPointer { pointer: 0, .. })
    ));
    // Huge clip count.
    let mut b = good.clone();
    b[21..25].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        decode_display(msg::DRAW_COPY, &b),
        Err(ProtoError::CountTooLarge { .. })
    ));
    // Bitmap stride * height overflowing 32 bits.
    let img = u32::from_le_bytes(good[src_at..src_at + 4].try_into().unwrap()) as usize;
    let mut b = good.clone();
    let bm = img + 18;
    b[bm + 6..bm + 10].copy_from_slice(&u32::MAX.to_le_bytes());
    b[bm + 10..bm + 14].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        decode_display(msg::DRAW_COPY, &b),
        Err(ProtoError::Truncated { .. })
    ));
    // Palette count larger than the data.
    let mut b = good.clone();
    let n = b.len() - 8 - 2;
    b[n..n + 2].copy_from_slice(&u16::MAX.to_le_bytes());
    assert!(matches!(
        decode_display(msg::DRAW_COPY, &b),
        Err(ProtoError::CountTooLarge { .. })
    ));
}

#[test]
fn fill_solid_with_mask_and_pattern() {
    let mut b = B::default();
    b.base(&[]).u8(1).u32(0x00ff_00ff).u16(8);
    b.u8(draw::mask_flags::INVERS).i32(1).i32(2);
    let mask = b.slot();
    b.patch(mask).image_desc(3, 103, 8, 8);
    let body = b.done();
    let DisplayMsg::DrawFill(f) = decode_ok(msg::DRAW_FILL, &body) else {
        panic!()
    };
    assert_eq!(f.brush, Brush::Solid(0x00ff_00ff));
    assert_eq!(f.mask.pos, Point { x: 1, y: 2 });
    assert_eq!(f.mask.bitmap.as_ref().unwrap().data, ImageData::FromCache);
    assert_prefixes_fail(&body, |p| {
        decode_display(msg::DRAW_FILL, p).map(|m| format!("{m:?}"))
    });

    let mut b = B::default();
    b.base(&[]).u8(2);
    let pat = b.slot();
    b.i32(3).i32(4).u16(8).no_mask();
    b.patch(pat).image_desc(5, 104, 8, 8).u32(2);
    let body = b.done();
    let m = decode_ok(msg::DRAW_FILL, &body);
    let DisplayMsg::DrawFill(f) = &m else {
        panic!()
    };
    assert!(matches!(
        &f.brush,
        Brush::Pattern { image, pos: Point { x: 3, y: 4 } } if image.data == ImageData::Surface { surface_id: 2 }
    ));
    assert_eq!(m.images().len(), 1);
    assert_prefixes_fail(&body, |p| {
        decode_display(msg::DRAW_FILL, p).map(|m| format!("{m:?}"))
    });

    // Bad brush type.
    let body = B::default().base(&[]).u8(3).u16(8).no_mask().done();
    assert!(decode_display(msg::DRAW_FILL, &body).is_err());
}

#[test]
fn opaque_rop3_blend_transparent_alpha_blackness() {
    let mut b = B::default();
    b.base(&[]);
    let src = b.slot();
    b.rect(0, 0, 1, 1).u8(1).u32(5).u16(8).u8(0).no_mask();
    b.patch(src).image_desc(1, 103, 1, 1);
    let body = b.done();
    let DisplayMsg::DrawOpaque(d) = decode_ok(msg::DRAW_OPAQUE, &body) else {
        panic!()
    };
    assert_eq!(d.brush, Brush::Solid(5));
    assert_prefixes_fail(&body, |p| {
        decode_display(msg::DRAW_OPAQUE, p).map(|m| format!("{m:?}"))
    });

    let mut b = B::default();
    b.base(&[]);
    let src = b.slot();
    b.rect(0, 0, 1, 1).u8(0).u8(0xcc).u8(1).no_mask();
    b.patch(src).image_desc(1, 103, 1, 1);
    let body = b.done();
    let DisplayMsg::DrawRop3(d) = decode_ok(msg::DRAW_ROP3, &body) else {
        panic!()
    };
    assert_eq!((d.rop3, d.scale_mode, &d.brush), (0xcc, 1, &Brush::None));
    assert_prefixes_fail(&body, |p| {
        decode_display(msg::DRAW_ROP3, p).map(|m| format!("{m:?}"))
    });

    let body = draw_copy_lz_plt_cached();
    assert!(matches!(
        decode_ok(msg::DRAW_BLEND, &body),
        DisplayMsg::DrawBlend(_)
    ));

    let mut b = B::default();
    b.base(&[]);
    let src = b.slot();
    b.rect(0, 0, 1, 1).u32(0xff00ff).u32(0x123);
    b.patch(src).image_desc(1, 103, 1, 1);
    let body = b.done();
    let DisplayMsg::DrawTransparent(d) = decode_ok(msg::DRAW_TRANSPARENT, &body) else {
        panic!()
    };
    assert_eq!((d.src_color, d.true_color), (0xff00ff, 0x123));
    assert_prefixes_fail(&body, |p| {
        decode_display(msg::DRAW_TRANSPARENT, p).map(|m| format!("{m:?}"))
    });

    let mut b = B::default();
    b.base(&[]).u8(1).u8(128);
    let src = b.slot();
    b.rect(0, 0, 1, 1);
    b.patch(src).image_desc(1, 103, 1, 1);
    let body = b.done();
    let DisplayMsg::DrawAlphaBlend(d) = decode_ok(msg::DRAW_ALPHA_BLEND, &body) else {
        panic!()
    };
    assert_eq!((d.alpha_flags, d.alpha), (1, 128));
    assert_prefixes_fail(&body, |p| {
        decode_display(msg::DRAW_ALPHA_BLEND, p).map(|m| format!("{m:?}"))
    });

    let body = B::default().base(&[[1, 1, 2, 2]]).no_mask().done();
    for ty in [msg::DRAW_BLACKNESS, msg::DRAW_WHITENESS, msg::DRAW_INVERS] {
        assert!(decode_ok(ty, &body).display_base().is_some());
        assert_prefixes_fail(&body, |p| decode_display(ty, p).map(|m| format!("{m:?}")));
    }
}

#[test]
fn stroke_with_style_and_path() {
    let mut b = B::default();
    b.base(&[]);
    let path = b.slot();
    b.u8(draw::line_flags::STYLED).u8(2);
    let style = b.slot();
    b.u8(1).u32(7).u16(1).u16(2);
    b.patch(path).u32(2);
    b.u8(draw::path_flags::BEGIN)
        .u32(2)
        .i32(0)
        .i32(0)
        .i32(16)
        .i32(16);
    b.u8(draw::path_flags::END | draw::path_flags::CLOSE)
        .u32(1)
        .i32(32)
        .i32(0);
    b.patch(style).i32(16).i32(32);
    let body = b.done();
    let DisplayMsg::DrawStroke(s) = decode_ok(msg::DRAW_STROKE, &body) else {
        panic!()
    };
    assert_eq!(s.path.segments.len(), 2);
    assert_eq!(s.path.segments[0].points[1], PointFix { x: 16, y: 16 });
    assert_eq!(s.path.segments[1].flags, 10);
    assert_eq!(s.attr.style, vec![16, 32]);
    assert_eq!(s.brush, Brush::Solid(7));
    assert_eq!((s.fore_mode, s.back_mode), (1, 2));
    assert_prefixes_fail(&body, |p| {
        decode_display(msg::DRAW_STROKE, p).map(|m| format!("{m:?}"))
    });

    // Huge segment count.
    let mut b = B::default();
    b.base(&[]);
    let path = b.slot();
    b.u8(0).u8(0).u16(0).u16(0);
    b.patch(path).u32(u32::MAX).u8(0);
    assert!(matches!(
        decode_display(msg::DRAW_STROKE, &b.done()),
        Err(ProtoError::CountTooLarge { .. })
    ));
}

#[test]
fn text_with_a1_glyphs() {
    let mut b = B::default();
    b.base(&[]);
    let s = b.slot();
    b.rect(0, 0, 8, 8).u8(1).u32(0xffffff).u8(0).u16(8).u16(8);
    b.patch(s).u16(2).u8(draw::string_flags::RASTER_A1);
    // 9x2 glyph at 1 bpp = 2 bytes/row * 2 rows.
    b.i32(1)
        .i32(2)
        .i32(0)
        .i32(0)
        .u16(9)
        .u16(2)
        .bytes(&[1, 2, 3, 4]);
    b.i32(10).i32(2).i32(0).i32(0).u16(1).u16(1).bytes(&[0x80]);
    let body = b.done();
    let DisplayMsg::DrawText(t) = decode_ok(msg::DRAW_TEXT, &body) else {
        panic!()
    };
    assert_eq!(t.text.bpp, 1);
    assert_eq!(t.text.glyphs.len(), 2);
    assert_eq!(t.text.glyphs[0].data, &[1, 2, 3, 4]);
    assert_eq!(t.text.glyphs[1].render_pos, Point { x: 10, y: 2 });
    assert_eq!(t.fore_brush, Brush::Solid(0xffffff));
    assert_eq!(t.back_brush, Brush::None);
    assert_prefixes_fail(&body, |p| {
        decode_display(msg::DRAW_TEXT, p).map(|m| format!("{m:?}"))
    });
}

#[test]
fn composite_with_optional_fields() {
    use draw::composite_flags::*;
    let mut b = B::default();
    b.base(&[]).u32(3 | HAS_MASK | HAS_SRC_TRANSFORM);
    let src = b.slot();
    let mask = b.slot();
    for v in 1..=6 {
        b.u32(v);
    }
    b.u16(1).u16(2).u16(3).u16(4);
    b.patch(src).image_desc(1, 103, 1, 1);
    b.patch(mask).image_desc(2, 106, 1, 1);
    let body = b.done();
    let m = decode_ok(msg::DRAW_COMPOSITE, &body);
    let DisplayMsg::DrawComposite(c) = &m else {
        panic!()
    };
    assert_eq!(c.op(), 3);
    assert_eq!(c.src_transform, Some(Transform([1, 2, 3, 4, 5, 6])));
    assert_eq!(c.mask_transform, None);
    assert_eq!(c.mask.as_ref().unwrap().data, ImageData::FromCacheLossless);
    assert_eq!(c.src_origin, Point16 { x: 1, y: 2 });
    assert_eq!(c.mask_origin, Point16 { x: 3, y: 4 });
    assert_eq!(m.images().len(), 2);
    assert_prefixes_fail(&body, |p| {
        decode_display(msg::DRAW_COMPOSITE, p).map(|m| format!("{m:?}"))
    });
}

#[test]
fn simple_server_messages() {
    let cases: Vec<(u16, Vec<u8>, DisplayMsg<'static>)> = vec![
        (
            msg::SURFACE_CREATE,
            B::default().u32(0).u32(1024).u32(768).u32(32).u32(1).done(),
            DisplayMsg::SurfaceCreate(SurfaceCreate {
                surface_id: 0,
                width: 1024,
                height: 768,
                format: surface_format::XRGB32,
                flags: surface_flags::PRIMARY,
            }),
        ),
        (
            msg::SURFACE_DESTROY,
            B::default().u32(3).done(),
            DisplayMsg::SurfaceDestroy { surface_id: 3 },
        ),
        (
            msg::MONITORS_CONFIG,
            B::default()
                .u16(1)
                .u16(4)
                .u32(0)
                .u32(0)
                .u32(800)
                .u32(600)
                .u32(0)
                .u32(0)
                .u32(0)
                .done(),
            DisplayMsg::MonitorsConfig(MonitorsConfig {
                max_allowed: 4,
                heads: vec![Head {
                    monitor_id: 0,
                    surface_id: 0,
                    width: 800,
                    height: 600,
                    x: 0,
                    y: 0,
                    flags: 0,
                }],
            }),
        ),
        (
            msg::INVAL_PALETTE,
            B::default().u64(9).done(),
            DisplayMsg::InvalPalette { id: 9 },
        ),
        (
            msg::INVAL_ALL_PIXMAPS,
            B::default().u8(1).u8(2).u8(0).u64(4).done(),
            DisplayMsg::InvalAllPixmaps(vec![WaitChannel {
                channel_type: crate::ChannelType::Display,
                channel_id: 0,
                serial: 4,
            }]),
        ),
        (
            msg::COPY_BITS,
            B::default().base(&[]).i32(5).i32(6).done(),
            DisplayMsg::CopyBits(CopyBits {
                base: DisplayBase {
                    surface_id: 0,
                    bbox: Rect {
                        top: 0,
                        left: 0,
                        bottom: 8,
                        right: 8,
                    },
                    clip: Clip::None,
                },
                src_pos: Point { x: 5, y: 6 },
            }),
        ),
        (
            msg::STREAM_CREATE,
            B::default()
                .u32(0)
                .u32(3)
                .u8(1)
                .u8(video_codec::MJPEG)
                .u64(99)
                .u32(64)
                .u32(48)
                .u32(64)
                .u32(48)
                .rect(0, 0, 48, 64)
                .u8(0)
                .done(),
            DisplayMsg::StreamCreate(StreamCreate {
                surface_id: 0,
                id: 3,
                flags: 1,
                codec: 1,
                stamp: 99,
                stream_width: 64,
                stream_height: 48,
                src_width: 64,
                src_height: 48,
                dest: Rect {
                    top: 0,
                    left: 0,
                    bottom: 48,
                    right: 64,
                },
                clip: Clip::None,
            }),
        ),
        (
            msg::STREAM_DATA,
            B::default()
                .u32(3)
                .u32(1000)
                .u32(2)
                .bytes(&[0xff, 0xd8])
                .done(),
            DisplayMsg::StreamData(StreamData {
                id: 3,
                mm_time: 1000,
                data: &[0xff, 0xd8],
            }),
        ),
        (
            msg::STREAM_DATA_SIZED,
            B::default()
                .u32(3)
                .u32(1000)
                .u32(32)
                .u32(16)
                .rect(0, 0, 16, 32)
                .u32(1)
                .bytes(&[7])
                .done(),
            DisplayMsg::StreamDataSized(StreamDataSized {
                id: 3,
                mm_time: 1000,
                width: 32,
                height: 16,
                dest: Rect {
                    top: 0,
                    left: 0,
                    bottom: 16,
                    right: 32,
                },
                data: &[7],
            }),
        ),
        (
            msg::STREAM_CLIP,
            B::default().u32(3).u8(1).u32(1).rect(1, 2, 3, 4).done(),
            DisplayMsg::StreamClip {
                id: 3,
                clip: Clip::Rects(vec![Rect {
                    top: 1,
                    left: 2,
                    bottom: 3,
                    right: 4,
                }]),
            },
        ),
        (
            msg::STREAM_DESTROY,
            B::default().u32(3).done(),
            DisplayMsg::StreamDestroy { id: 3 },
        ),
        (
            msg::STREAM_ACTIVATE_REPORT,
            B::default().u32(1).u32(2).u32(3).u32(4).done(),
            DisplayMsg::StreamActivateReport(StreamActivateReport {
                stream_id: 1,
                unique_id: 2,
                max_window_size: 3,
                timeout_ms: 4,
            }),
        ),
        (
            msg::QUALITY_INDICATOR,
            vec![80],
            DisplayMsg::QualityIndicator { quality: 80 },
        ),
        (
            msg::MODE,
            B::default().u32(640).u32(480).u32(32).done(),
            DisplayMsg::Mode {
                x_res: 640,
                y_res: 480,
                bits: 32,
            },
        ),
        (
            msg::GL_DRAW,
            B::default().u32(1).u32(2).u32(3).u32(4).done(),
            DisplayMsg::GlDraw {
                x: 1,
                y: 2,
                w: 3,
                h: 4,
            },
        ),
    ];
    for (ty, body, want) in cases {
        assert_eq!(decode_ok(ty, &body), want);
        assert_prefixes_fail(&body, |p| decode_display(ty, p).map(|m| format!("{m:?}")));
        assert_ne!(
            crate::messages::message_name(crate::ChannelType::Display, ty),
            "UNKNOWN"
        );
    }
    for (ty, want) in [
        (msg::MARK, DisplayMsg::Mark),
        (msg::RESET, DisplayMsg::Reset),
        (msg::INVAL_ALL_PALETTES, DisplayMsg::InvalAllPalettes),
        (msg::STREAM_DESTROY_ALL, DisplayMsg::StreamDestroyAll),
    ] {
        assert_eq!(decode_ok(ty, &[]), want);
    }
    assert!(decode_display(msg::GL_SCANOUT_UNIX, &[0; 64])
        .unwrap_err()
        .is_unknown_message());
    // Huge monitor count.
    let b = B::default().u16(u16::MAX).u16(1).u32(0).done();
    assert!(decode_display(msg::MONITORS_CONFIG, &b).is_err());
}

#[test]
fn client_round_trips() {
    let msgs = [
        (
            DisplayClientMsg::Init {
                pixmap_cache_id: 1,
                pixmap_cache_size: 10_000_000,
                glz_dictionary_id: 0,
                glz_dictionary_window_size: 0,
            },
            14,
        ),
        (
            DisplayClientMsg::StreamReport(StreamReport {
                stream_id: 1,
                unique_id: 2,
                start_frame_mm_time: 3,
                end_frame_mm_time: 4,
                num_frames: 0,
                num_drops: u32::MAX,
                last_frame_delay: -5,
                audio_delay: u32::MAX,
            }),
            32,
        ),
        (
            DisplayClientMsg::PreferredCompression(image_compression::LZ),
            1,
        ),
        (DisplayClientMsg::GlDrawDone, 0),
        (
            DisplayClientMsg::PreferredVideoCodecType(vec![video_codec::VP8, video_codec::MJPEG]),
            3,
        ),
    ];
    for (m, len) in msgs {
        let (ty, body) = m.encode();
        assert_eq!(body.len(), len, "{m:?}");
        assert_eq!(DisplayClientMsg::decode(ty, &body).unwrap(), m);
    }
    let init = DisplayClientMsg::Init {
        pixmap_cache_id: 1,
        pixmap_cache_size: 2,
        glz_dictionary_id: 3,
        glz_dictionary_window_size: 4,
    }
    .to_frame();
    assert_eq!(
        init,
        vec![101, 0, 14, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 3, 4, 0, 0, 0]
    );
}

/// Random byte mutations of every valid message above must decode or fail, never panic.
#[test]
fn mutated_messages_never_panic() {
    let corpus: Vec<(u16, Vec<u8>)> = vec![
        (msg::DRAW_COPY, draw_copy_bitmap()),
        (msg::DRAW_COPY, draw_copy_lz_plt_cached()),
        (base_msg::LIST, list_wait_and_inval()),
        (
            msg::DRAW_COPY,
            copy_with_image(108, &[1, 2, 0, 0, 0, 3, 0, 0, 0, 1, 2, 3]),
        ),
    ];
    let mut rng = olive_test_support::XorShift(0x1234_5678_9abc_def1);
    let types = [
        msg::DRAW_COPY,
        msg::DRAW_FILL,
        msg::DRAW_OPAQUE,
        msg::DRAW_ROP3,
        msg::DRAW_STROKE,
        msg::DRAW_TEXT,
        msg::DRAW_COMPOSITE,
        msg::DRAW_ALPHA_BLEND,
        msg::DRAW_TRANSPARENT,
        msg::STREAM_CREATE,
        msg::MONITORS_CONFIG,
        base_msg::LIST,
    ];
    for (ty, body) in &corpus {
        for _ in 0..3000 {
            let mut m = body.clone();
            for _ in 0..=(rng.next() % 4) {
                let i = (rng.next() % m.len() as u64) as usize;
                m[i] = match rng.next() % 3 {
                    0 => 0xff,
                    1 => 0,
                    _ => rng.next() as u8,
                };
            }
            let _ = decode_display(*ty, &m);
            let other = types[(rng.next() % types.len() as u64) as usize];
            let _ = decode_display(other, &m);
            let cut = (rng.next() % (m.len() as u64 + 1)) as usize;
            let _ = decode_display(*ty, &m[..cut]);
        }
    }
}
