//! The draw ops that go through the per-pixel path (masks, ROP3, compositing, text,
//! strokes) on a 256x256 area, next to the unmasked DRAW_COPY row-copy path for scale.
//! Throughput is in destination pixels.

#![allow(
    missing_docs,
    reason = "criterion_main! and the bench harness generate an undocumented main"
)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use spice_client::display::DisplayState;
use spice_client::stats::Stats;
use spice_proto::messages::display::image::{Bitmap, BitmapFormat, ImageData, ImageDescriptor};
use spice_proto::messages::display::{
    composite_flags as cf, path_flags, ropd, Brush, Clip, DisplayBase, DisplayMsg, DrawComposite,
    DrawCopy, DrawRop3, DrawStroke, DrawText, Glyph, GlyphString, Image, ImageType, LineAttr, Path,
    PathSegment, Point, Point16, PointFix, QMask, Rect, SurfaceCreate, Transform,
};

const SIDE: u32 = 256;

fn base() -> DisplayBase {
    DisplayBase {
        surface_id: 0,
        bbox: area(),
        clip: Clip::None,
    }
}

fn area() -> Rect {
    Rect {
        top: 0,
        left: 0,
        bottom: SIDE as i32,
        right: SIDE as i32,
    }
}

fn bitmap(data: &[u8], format: u8, stride: u32) -> Image<'_> {
    Image {
        descriptor: ImageDescriptor {
            id: 0,
            kind: ImageType::from_u8(0),
            flags: 0,
            width: SIDE,
            height: SIDE,
        },
        data: ImageData::Bitmap(Bitmap {
            format: BitmapFormat::from_u8(format),
            flags: 4,
            width: SIDE,
            height: SIDE,
            stride,
            palette: None,
            data,
        }),
    }
}

fn no_mask() -> QMask<'static> {
    QMask {
        flags: 0,
        pos: Point { x: 0, y: 0 },
        bitmap: None,
    }
}

fn state() -> (DisplayState, Stats) {
    let mut st = DisplayState::default();
    let mut stats = Stats::default();
    st.handle(
        &DisplayMsg::SurfaceCreate(SurfaceCreate {
            surface_id: 0,
            width: SIDE,
            height: SIDE,
            format: 32,
            flags: 1,
        }),
        &mut stats,
    );
    (st, stats)
}

fn benches(c: &mut Criterion) {
    let pixels: Vec<u8> = (0..SIDE * SIDE * 4).map(|i| (i * 7) as u8).collect();
    let mask_bits: Vec<u8> = (0..SIDE * SIDE / 8).map(|i| (i * 13) as u8).collect();
    let glyph_data = [0x80u8; 8 * 12];
    let mut msgs: Vec<(&str, DisplayMsg<'_>)> = vec![
        (
            "copy",
            DisplayMsg::DrawCopy(DrawCopy {
                base: base(),
                src: bitmap(&pixels, 9, SIDE * 4),
                src_area: area(),
                rop: ropd::OP_PUT,
                scale_mode: 1,
                mask: no_mask(),
            }),
        ),
        (
            "copy_masked",
            DisplayMsg::DrawCopy(DrawCopy {
                base: base(),
                src: bitmap(&pixels, 9, SIDE * 4),
                src_area: area(),
                rop: ropd::OP_PUT,
                scale_mode: 1,
                mask: QMask {
                    flags: 0,
                    pos: Point { x: 0, y: 0 },
                    bitmap: Some(bitmap(&mask_bits, 2, SIDE / 8)),
                },
            }),
        ),
        (
            "copy_bilinear_2x",
            DisplayMsg::DrawCopy(DrawCopy {
                base: base(),
                src: bitmap(&pixels, 9, SIDE * 4),
                src_area: Rect {
                    top: 0,
                    left: 0,
                    bottom: SIDE as i32 / 2,
                    right: SIDE as i32 / 2,
                },
                rop: ropd::OP_PUT,
                scale_mode: 0,
                mask: no_mask(),
            }),
        ),
        (
            "rop3",
            DisplayMsg::DrawRop3(DrawRop3 {
                base: base(),
                src: bitmap(&pixels, 9, SIDE * 4),
                src_area: area(),
                brush: Brush::Solid(0x00f0_f0f0),
                rop3: 0xb8,
                scale_mode: 1,
                mask: no_mask(),
            }),
        ),
        (
            "composite_over_transformed",
            DisplayMsg::DrawComposite(DrawComposite {
                base: base(),
                flags: 3 | 1 << cf::SRC_FILTER_SHIFT | 1 << cf::SRC_REPEAT_SHIFT,
                src: bitmap(&pixels, 9, SIDE * 4),
                mask: None,
                src_transform: Some(Transform([0xc000, 0x2000, 0, 0x1000, 0xc000, 0])),
                mask_transform: None,
                src_origin: Point16 { x: 0, y: 0 },
                mask_origin: Point16 { x: 0, y: 0 },
            }),
        ),
        (
            "text_a1_1024_glyphs",
            DisplayMsg::DrawText(DrawText {
                base: base(),
                text: GlyphString {
                    flags: 1,
                    bpp: 1,
                    glyphs: (0..1024)
                        .map(|i| Glyph {
                            render_pos: Point {
                                x: (i % 32) * 8,
                                y: (i / 32) * 8 + 12,
                            },
                            glyph_origin: Point { x: 0, y: -12 },
                            width: 8,
                            height: 12,
                            data: &glyph_data[..12],
                        })
                        .collect(),
                },
                back_area: area(),
                fore_brush: Brush::Solid(0x00ff_ffff),
                back_brush: Brush::Solid(0),
                fore_mode: ropd::OP_PUT,
                back_mode: ropd::OP_PUT,
            }),
        ),
        (
            "stroke_256_lines",
            DisplayMsg::DrawStroke(DrawStroke {
                base: base(),
                path: Path {
                    segments: vec![PathSegment {
                        flags: path_flags::BEGIN | path_flags::END,
                        points: (0..256)
                            .map(|i| PointFix {
                                x: (i % 2) * 255 * 16,
                                y: i * 16,
                            })
                            .collect(),
                    }],
                },
                attr: LineAttr {
                    flags: 0,
                    style: Vec::new(),
                },
                brush: Brush::Solid(0x00ff_0000),
                fore_mode: ropd::OP_XOR,
                back_mode: ropd::OP_PUT,
            }),
        ),
    ];
    let mut group = c.benchmark_group("draw_ops");
    group.throughput(Throughput::Elements(u64::from(SIDE * SIDE)));
    for (name, msg) in msgs.drain(..) {
        let (mut st, mut stats) = state();
        assert!(
            st.handle(&msg, &mut stats).iter().all(|o| o.is_ok()),
            "{name}"
        );
        group.bench_function(name, |b| b.iter(|| st.handle(&msg, &mut stats)));
    }
    group.finish();
}

criterion_group!(draw_ops_benches, benches);
criterion_main!(draw_ops_benches);
