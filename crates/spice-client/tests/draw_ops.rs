//! Every draw op through `DisplayState::handle`, against hand-computed pixels: clip
//! rects, masks (both bit orders, INVERS, position), brushes, scaling, off-screen
//! surfaces as sources and targets, 16-bit and A8 surfaces.

use spice_client::display::{DisplayEvent, DisplayState, Rect};
use spice_client::stats::Stats;
use spice_proto::messages::display::image::{Bitmap, BitmapFormat, ImageData, ImageDescriptor};
use spice_proto::messages::display::{
    alpha_flags, composite_flags as cf, line_flags, path_flags, ropd, string_flags, Brush, Clip,
    DisplayBase, DisplayMsg, DrawAlphaBlend, DrawComposite, DrawCopy, DrawFill, DrawMaskOnly,
    DrawOpaque, DrawRop3, DrawStroke, DrawText, DrawTransparent, Glyph, GlyphString, Image,
    ImageType, LineAttr, Path, PathSegment, Point, Point16, PointFix, QMask, Rect as WireRect,
    SurfaceCreate, Transform,
};

const XRGB: u32 = 32;
const ARGB: u32 = 96;
const A8: u32 = 8;
const RGB555: u32 = 16;
const RGB565: u32 = 80;

const BLACK: [u8; 4] = [0, 0, 0, 255];
const TOP_DOWN: u8 = 4;

struct Screen {
    state: DisplayState,
    stats: Stats,
}

impl Screen {
    /// Surface 0 (primary) of `w` x `h` in `format`.
    fn new(w: u32, h: u32, format: u32) -> Self {
        let mut s = Screen {
            state: DisplayState::default(),
            stats: Stats::default(),
        };
        s.add(0, w, h, format, 1);
        s
    }

    fn add(&mut self, id: u32, w: u32, h: u32, format: u32, flags: u32) {
        let msg = DisplayMsg::SurfaceCreate(SurfaceCreate {
            surface_id: id,
            width: w,
            height: h,
            format,
            flags,
        });
        let out = self.state.handle(&msg, &mut self.stats);
        assert!(out.iter().all(|o| o.is_ok()), "{out:?}");
    }

    /// Applies a draw that must succeed; returns the invalidated rect, if any.
    fn draw(&mut self, msg: DisplayMsg<'_>) -> Option<Rect> {
        let out = self.state.handle(&msg, &mut self.stats);
        let mut rect = None;
        for o in out {
            match o {
                Ok(DisplayEvent::Invalidate { rect: r, .. }) => rect = Some(r),
                Ok(other) => panic!("unexpected event {other:?}"),
                Err(e) => panic!("draw failed: {e}"),
            }
        }
        rect
    }

    fn px(&self, id: u32, x: u32, y: u32) -> [u8; 4] {
        let s = self.state.surface(id).expect("surface");
        let i = ((y * s.width() + x) * 4) as usize;
        s.pixels()[i..i + 4].try_into().unwrap()
    }

    fn row(&self, id: u32, y: u32) -> Vec<[u8; 4]> {
        let w = self.state.surface(id).unwrap().width();
        (0..w).map(|x| self.px(id, x, y)).collect()
    }

    /// Red channel of every pixel of row `y`.
    fn reds(&self, id: u32, y: u32) -> Vec<u8> {
        self.row(id, y).iter().map(|p| p[0]).collect()
    }
}

fn wrect(left: i32, top: i32, right: i32, bottom: i32) -> WireRect {
    WireRect {
        top,
        left,
        bottom,
        right,
    }
}

fn base(surface_id: u32, bbox: WireRect, clip: &[WireRect]) -> DisplayBase {
    DisplayBase {
        surface_id,
        bbox,
        clip: if clip.is_empty() {
            Clip::None
        } else {
            Clip::Rects(clip.to_vec())
        },
    }
}

fn no_mask() -> QMask<'static> {
    QMask {
        flags: 0,
        pos: Point { x: 0, y: 0 },
        bitmap: None,
    }
}

/// RGBA bitmap bytes (B, G, R, A per pixel) for `Image` to borrow.
fn rgba_bytes(px: &[[u8; 4]]) -> Vec<u8> {
    px.iter().flat_map(|p| [p[2], p[1], p[0], p[3]]).collect()
}

fn bitmap(data: &[u8], format: BitmapFormat, w: u32, h: u32, stride: u32) -> Image<'_> {
    Image {
        descriptor: ImageDescriptor {
            id: 0,
            kind: ImageType::from_u8(0),
            flags: 0,
            width: w,
            height: h,
        },
        data: ImageData::Bitmap(Bitmap {
            format,
            flags: TOP_DOWN,
            width: w,
            height: h,
            stride,
            palette: None,
            data,
        }),
    }
}

/// An RGBA (format 9, alpha kept) image of `w` x `h`.
fn rgba(data: &[u8], w: u32, h: u32) -> Image<'_> {
    bitmap(data, BitmapFormat::from_u8(9), w, h, w * 4)
}

fn surface_image(surface_id: u32, w: u32, h: u32) -> Image<'static> {
    Image {
        descriptor: ImageDescriptor {
            id: 0,
            kind: ImageType::from_u8(104),
            flags: 0,
            width: w,
            height: h,
        },
        data: ImageData::Surface { surface_id },
    }
}

/// A one-row, 1-bpp mask in either bit order.
fn mask(byte: &[u8], w: u32, big_endian: bool, flags: u8, pos: (i32, i32)) -> QMask<'_> {
    let format = BitmapFormat::from_u8(if big_endian { 2 } else { 1 });
    QMask {
        flags,
        pos: Point { x: pos.0, y: pos.1 },
        bitmap: Some(bitmap(byte, format, w, 1, byte.len() as u32)),
    }
}

fn grey(v: u8) -> [u8; 4] {
    [v, v, v, 255]
}

fn solid(s: &mut Screen, bbox: WireRect, color: u32) {
    s.draw(DisplayMsg::DrawFill(DrawFill {
        base: base(0, bbox, &[]),
        brush: Brush::Solid(color),
        rop: ropd::OP_PUT,
        mask: no_mask(),
    }));
}

// ---------------------------------------------------------------- fills and masks

#[test]
fn pattern_brush_tiles_from_its_origin_within_the_clip() {
    let mut s = Screen::new(5, 2, XRGB);
    let pat = rgba_bytes(&[grey(10), grey(20), grey(30), grey(40)]);
    let inval = s.draw(DisplayMsg::DrawFill(DrawFill {
        base: base(0, wrect(0, 0, 5, 2), &[wrect(0, 0, 4, 2)]),
        brush: Brush::Pattern {
            image: rgba(&pat, 2, 2),
            pos: Point { x: 1, y: 0 },
        },
        rop: ropd::OP_PUT,
        mask: no_mask(),
    }));
    assert_eq!(inval, Some(Rect::new(0, 0, 4, 2)));
    // Pattern (0,0) at x = 1: columns go 20 10 20 10, rows alternate 10/20 with 30/40.
    assert_eq!(s.reds(0, 0), vec![20, 10, 20, 10, 0]);
    assert_eq!(s.reds(0, 1), vec![40, 30, 40, 30, 0]);
    assert_eq!(s.px(0, 4, 0), BLACK, "outside the clip");
}

#[test]
fn masks_in_both_bit_orders_with_position_and_invers() {
    // Mask bits for pixels 0..5 = 1 0 1 1 0.
    let le = [0b0000_1101u8];
    let be = [0b1011_0000u8];
    for (bits, big) in [(&le, false), (&be, true)] {
        let mut s = Screen::new(5, 1, XRGB);
        s.draw(DisplayMsg::DrawFill(DrawFill {
            base: base(0, wrect(0, 0, 5, 1), &[]),
            brush: Brush::Solid(0x00ff_0000),
            rop: ropd::OP_PUT,
            mask: mask(bits, 5, big, 0, (0, 0)),
        }));
        assert_eq!(s.reds(0, 0), vec![255, 0, 255, 255, 0], "big endian {big}");
        // INVERS, and pos 1: dest x maps to mask x + 1 (bits 0 1 1 0 | outside).
        let mut s = Screen::new(5, 1, XRGB);
        s.draw(DisplayMsg::DrawFill(DrawFill {
            base: base(0, wrect(0, 0, 5, 1), &[]),
            brush: Brush::Solid(0x00ff_0000),
            rop: ropd::OP_PUT,
            mask: mask(bits, 5, big, 1, (1, 0)),
        }));
        assert_eq!(
            s.reds(0, 0),
            vec![255, 0, 0, 255, 0],
            "inverted, big endian {big}"
        );
    }
}

#[test]
fn blackness_whiteness_invers_through_mask_and_clip() {
    let mut s = Screen::new(4, 1, XRGB);
    solid(&mut s, wrect(0, 0, 4, 1), 0x0010_2030);
    let bits = [0b0000_0111u8]; // pixels 0, 1, 2
    s.draw(DisplayMsg::DrawInvers(DrawMaskOnly {
        base: base(0, wrect(0, 0, 4, 1), &[wrect(1, 0, 4, 1)]),
        mask: mask(&bits, 4, false, 0, (0, 0)),
    }));
    assert_eq!(
        s.row(0, 0),
        vec![
            [0x10, 0x20, 0x30, 255],
            [0xef, 0xdf, 0xcf, 255],
            [0xef, 0xdf, 0xcf, 255],
            [0x10, 0x20, 0x30, 255]
        ]
    );
    s.draw(DisplayMsg::DrawWhiteness(DrawMaskOnly {
        base: base(0, wrect(0, 0, 1, 1), &[]),
        mask: no_mask(),
    }));
    s.draw(DisplayMsg::DrawBlackness(DrawMaskOnly {
        base: base(0, wrect(1, 0, 4, 1), &[]),
        mask: mask(&[0b0000_0010], 3, false, 0, (0, 0)),
    }));
    assert_eq!(s.reds(0, 0), vec![0xff, 0xef, 0, 0x10]);
}

// ---------------------------------------------------------------- copies

fn copy<'a>(
    b: DisplayBase,
    src: Image<'a>,
    area: WireRect,
    rop: u16,
    scale: u8,
    m: QMask<'a>,
) -> DisplayMsg<'a> {
    DisplayMsg::DrawCopy(DrawCopy {
        base: b,
        src,
        src_area: area,
        rop,
        scale_mode: scale,
        mask: m,
    })
}

#[test]
fn copy_through_mask_and_clip() {
    let mut s = Screen::new(4, 1, XRGB);
    let src = rgba_bytes(&[grey(1), grey(2), grey(3), grey(4)]);
    let bits = [0b0000_1011u8]; // 0, 1, 3
    s.draw(copy(
        base(0, wrect(0, 0, 4, 1), &[wrect(1, 0, 4, 1)]),
        rgba(&src, 4, 1),
        wrect(0, 0, 4, 1),
        ropd::OP_PUT,
        1,
        mask(&bits, 4, false, 0, (0, 0)),
    ));
    assert_eq!(s.reds(0, 0), vec![0, 2, 0, 4]);
}

#[test]
fn scaled_copy_nearest_and_bilinear() {
    let src = rgba_bytes(&[grey(0), grey(100)]);
    let mut s = Screen::new(4, 1, XRGB);
    s.draw(copy(
        base(0, wrect(0, 0, 4, 1), &[]),
        rgba(&src, 2, 1),
        wrect(0, 0, 2, 1),
        ropd::OP_PUT,
        1,
        no_mask(),
    ));
    assert_eq!(s.reds(0, 0), vec![0, 0, 100, 100]);
    // Bilinear: centres map to -0.25, 0.25, 0.75, 1.25 -> 0, 25, 75, 100.
    s.draw(copy(
        base(0, wrect(0, 0, 4, 1), &[]),
        rgba(&src, 2, 1),
        wrect(0, 0, 2, 1),
        ropd::OP_PUT,
        0,
        no_mask(),
    ));
    assert_eq!(s.reds(0, 0), vec![0, 25, 75, 100]);
    assert_eq!(s.px(0, 1, 0), [25, 25, 25, 255]);
}

#[test]
fn blend_combines_source_and_destination_by_ropd() {
    let mut s = Screen::new(2, 1, XRGB);
    solid(&mut s, wrect(0, 0, 2, 1), 0x00f0_f0f0);
    let src = rgba_bytes(&[[0x0f, 0xff, 0x00, 255], [0xff, 0xff, 0xff, 255]]);
    s.draw(DisplayMsg::DrawBlend(DrawCopy {
        base: base(0, wrect(0, 0, 2, 1), &[]),
        src: rgba(&src, 2, 1),
        src_area: wrect(0, 0, 2, 1),
        rop: ropd::OP_XOR,
        scale_mode: 1,
        mask: no_mask(),
    }));
    assert_eq!(
        s.row(0, 0),
        vec![[0xff, 0x0f, 0xf0, 255], [0x0f, 0x0f, 0x0f, 255]]
    );
}

#[test]
fn opaque_combines_brush_with_source() {
    let mut s = Screen::new(2, 1, XRGB);
    solid(&mut s, wrect(0, 0, 2, 1), 0x0012_3456);
    let src = rgba_bytes(&[[0xff, 0x0f, 0xf0, 255], [0x00, 0xff, 0x3c, 255]]);
    // OP_AND with brush 0x0f0f0f: result = brush & source; the old destination is gone.
    s.draw(DisplayMsg::DrawOpaque(DrawOpaque {
        base: base(0, wrect(0, 0, 2, 1), &[]),
        src: rgba(&src, 2, 1),
        src_area: wrect(0, 0, 2, 1),
        brush: Brush::Solid(0x000f_0f0f),
        rop: ropd::OP_AND,
        scale_mode: 1,
        mask: no_mask(),
    }));
    assert_eq!(
        s.row(0, 0),
        vec![[0x0f, 0x0f, 0x00, 255], [0x00, 0x0f, 0x0c, 255]]
    );
    // INVERS_SRC | OP_PUT with no brush: the inverted source.
    s.draw(DisplayMsg::DrawOpaque(DrawOpaque {
        base: base(0, wrect(0, 0, 1, 1), &[]),
        src: rgba(&src, 2, 1),
        src_area: wrect(0, 0, 1, 1),
        brush: Brush::None,
        rop: ropd::OP_PUT | ropd::INVERS_SRC,
        scale_mode: 1,
        mask: no_mask(),
    }));
    assert_eq!(s.px(0, 0, 0), [0x00, 0xf0, 0x0f, 255]);
}

#[test]
fn rop3_uses_brush_source_and_destination() {
    let mut s = Screen::new(3, 1, XRGB);
    solid(&mut s, wrect(0, 0, 3, 1), 0x00aa_aaaa);
    let src = rgba_bytes(&[grey(0xcc), grey(0xcc), grey(0xcc)]);
    let pat = rgba_bytes(&[grey(0xf0)]);
    // 0xb8: S ? D : P per bit  ->  (0xcc & 0xaa) | (0x33 & 0xf0) = 0x88 | 0x30 = 0xb8.
    s.draw(DisplayMsg::DrawRop3(DrawRop3 {
        base: base(0, wrect(0, 0, 3, 1), &[wrect(0, 0, 2, 1)]),
        src: rgba(&src, 3, 1),
        src_area: wrect(0, 0, 3, 1),
        brush: Brush::Pattern {
            image: rgba(&pat, 1, 1),
            pos: Point { x: 0, y: 0 },
        },
        rop3: 0xb8,
        scale_mode: 1,
        mask: mask(&[0b0000_0001], 3, false, 0, (0, 0)),
    }));
    assert_eq!(
        s.reds(0, 0),
        vec![0xb8, 0xaa, 0xaa],
        "mask keeps x=1, clip keeps x=2"
    );
    // 0x5a: P xor D with a solid brush.
    s.draw(DisplayMsg::DrawRop3(DrawRop3 {
        base: base(0, wrect(0, 0, 3, 1), &[]),
        src: rgba(&src, 3, 1),
        src_area: wrect(0, 0, 3, 1),
        brush: Brush::Solid(0x00ff_00ff),
        rop3: 0x5a,
        scale_mode: 1,
        mask: no_mask(),
    }));
    assert_eq!(s.row(0, 0)[1], [0x55, 0xaa, 0x55, 255]);
}

// ---------------------------------------------------------------- stroke

fn pt(x: i32, y: i32) -> PointFix {
    PointFix {
        x: x * 16,
        y: y * 16,
    }
}

fn stroke(
    b: DisplayBase,
    points: &[PointFix],
    flags: u8,
    attr: LineAttr,
    brush: u32,
    mode: u16,
) -> DisplayMsg<'static> {
    DisplayMsg::DrawStroke(DrawStroke {
        base: b,
        path: Path {
            segments: vec![PathSegment {
                flags: path_flags::BEGIN | path_flags::END | flags,
                points: points.to_vec(),
            }],
        },
        attr,
        brush: Brush::Solid(brush),
        fore_mode: mode,
        back_mode: ropd::OP_PUT,
    })
}

fn solid_line() -> LineAttr {
    LineAttr {
        flags: 0,
        style: Vec::new(),
    }
}

#[test]
fn stroke_closed_outline_xor_twice_restores_and_clip_holds() {
    let mut s = Screen::new(4, 4, XRGB);
    let square = [pt(0, 0), pt(3, 0), pt(3, 3), pt(0, 3)];
    s.draw(stroke(
        base(0, wrect(0, 0, 4, 4), &[wrect(0, 0, 4, 3)]),
        &square,
        path_flags::CLOSE,
        solid_line(),
        0x00ff_0000,
        ropd::OP_XOR,
    ));
    assert_eq!(s.reds(0, 0), vec![255, 255, 255, 255]);
    assert_eq!(s.reds(0, 1), vec![255, 0, 0, 255]);
    assert_eq!(s.reds(0, 3), vec![0, 0, 0, 0], "clipped away");
    // Every outline pixel was XORed exactly once: a second pass restores black.
    s.draw(stroke(
        base(0, wrect(0, 0, 4, 4), &[]),
        &square,
        path_flags::CLOSE,
        solid_line(),
        0x00ff_0000,
        ropd::OP_XOR,
    ));
    assert_eq!(s.reds(0, 0), vec![0, 0, 0, 0]);
    assert_eq!(s.reds(0, 3), vec![255, 255, 255, 255]);
}

#[test]
fn dashed_stroke_and_bezier_segment() {
    let mut s = Screen::new(8, 1, XRGB);
    let dashed = LineAttr {
        flags: line_flags::STYLED,
        style: vec![16, 32],
    };
    s.draw(stroke(
        base(0, wrect(0, 0, 8, 1), &[]),
        &[pt(0, 0), pt(7, 0)],
        0,
        dashed,
        0x0000_00ff,
        ropd::OP_PUT,
    ));
    let blues: Vec<u8> = s.row(0, 0).iter().map(|p| p[2]).collect();
    assert_eq!(blues, vec![255, 0, 0, 255, 0, 0, 255, 0]);

    let mut s = Screen::new(9, 9, XRGB);
    s.draw(DisplayMsg::DrawStroke(DrawStroke {
        base: base(0, wrect(0, 0, 9, 9), &[]),
        path: Path {
            segments: vec![
                PathSegment {
                    flags: path_flags::BEGIN,
                    points: vec![pt(0, 8)],
                },
                PathSegment {
                    flags: path_flags::BEZIER | path_flags::END,
                    points: vec![pt(0, 0), pt(8, 0), pt(8, 8)],
                },
            ],
        },
        attr: solid_line(),
        brush: Brush::Solid(0x00ff_ffff),
        fore_mode: ropd::OP_PUT,
        back_mode: ropd::OP_PUT,
    }));
    // Apex of the symmetric curve at (4, 2); nothing on rows 0-1 or at the chord's middle.
    assert_eq!(s.px(0, 4, 2), [255, 255, 255, 255]);
    assert_eq!(s.px(0, 0, 8), [255, 255, 255, 255]);
    assert_eq!(s.px(0, 8, 8), [255, 255, 255, 255]);
    assert_eq!(s.reds(0, 1), vec![0; 9]);
    assert_eq!(s.px(0, 4, 8), BLACK);
}

// ---------------------------------------------------------------- text

fn text_msg<'a>(
    b: DisplayBase,
    glyphs: Vec<Glyph<'a>>,
    flags: u8,
    bpp: u8,
    back: Brush<'a>,
    back_area: WireRect,
) -> DisplayMsg<'a> {
    DisplayMsg::DrawText(DrawText {
        base: b,
        text: GlyphString { flags, bpp, glyphs },
        back_area,
        fore_brush: Brush::Solid(0x00ff_ffff),
        back_brush: back,
        fore_mode: ropd::OP_PUT,
        back_mode: ropd::OP_PUT,
    })
}

fn glyph(x: i32, y: i32, w: u16, h: u16, data: &[u8]) -> Glyph<'_> {
    Glyph {
        render_pos: Point { x, y },
        glyph_origin: Point { x: 0, y: -1 },
        width: w,
        height: h,
        data,
    }
}

#[test]
fn a1_text_over_opaque_background_with_clip() {
    let mut s = Screen::new(5, 3, XRGB);
    let bits = [0b1010_0000u8, 0b0100_0000]; // 3x2: X.X / .X.
    s.draw(text_msg(
        base(0, wrect(0, 0, 5, 3), &[wrect(0, 0, 3, 3)]),
        vec![glyph(1, 2, 3, 2, &bits)],
        string_flags::RASTER_A1,
        1,
        Brush::Solid(0x0000_0080),
        wrect(0, 0, 5, 3),
    ));
    let w = [255, 255, 255, 255];
    let b = [0, 0, 0x80, 255];
    assert_eq!(s.row(0, 0), vec![b, b, b, BLACK, BLACK]);
    // Glyph top-left = render_pos (1,2) + origin (0,-1) = (1,1); x = 3 is clipped.
    assert_eq!(s.row(0, 1), vec![b, w, b, BLACK, BLACK]);
    assert_eq!(s.row(0, 2), vec![b, b, w, BLACK, BLACK]);
}

#[test]
fn a4_and_a8_text_blend_by_coverage() {
    let mut s = Screen::new(3, 1, XRGB);
    let a4 = [0xf8u8, 0x00];
    s.draw(text_msg(
        base(0, wrect(0, 0, 3, 1), &[]),
        vec![glyph(0, 1, 3, 1, &a4)],
        string_flags::RASTER_A4,
        4,
        Brush::None,
        wrect(0, 0, 0, 0),
    ));
    assert_eq!(s.reds(0, 0), vec![255, 136, 0]);
    let a8 = [0u8, 0, 64];
    s.draw(text_msg(
        base(0, wrect(0, 0, 3, 1), &[]),
        vec![glyph(0, 1, 3, 1, &a8)],
        string_flags::RASTER_A8,
        8,
        Brush::None,
        wrect(0, 0, 0, 0),
    ));
    assert_eq!(s.reds(0, 0), vec![255, 136, 64]);
}

// ---------------------------------------------------------------- transparent, alpha blend

#[test]
fn transparent_skips_the_key_colour() {
    let mut s = Screen::new(3, 1, XRGB);
    solid(&mut s, wrect(0, 0, 3, 1), 0x0000_0009);
    let src = rgba_bytes(&[[1, 2, 3, 255], [0xff, 0, 0xff, 255], [4, 5, 6, 255]]);
    s.draw(DisplayMsg::DrawTransparent(DrawTransparent {
        base: base(0, wrect(0, 0, 3, 1), &[]),
        src: rgba(&src, 3, 1),
        src_area: wrect(0, 0, 3, 1),
        src_color: 0x00ff_00ff,
        true_color: 0x00ff_00ff,
    }));
    assert_eq!(
        s.row(0, 0),
        vec![[1, 2, 3, 255], [0, 0, 9, 255], [4, 5, 6, 255]]
    );
}

#[test]
fn alpha_blend_with_source_alpha_and_global_alpha() {
    let mut s = Screen::new(2, 1, XRGB);
    solid(&mut s, wrect(0, 0, 2, 1), 0x0000_00c8);
    // Premultiplied half-transparent red, and an opaque white.
    let src = rgba_bytes(&[[128, 0, 0, 128], [255, 255, 255, 255]]);
    s.draw(DisplayMsg::DrawAlphaBlend(DrawAlphaBlend {
        base: base(0, wrect(0, 0, 2, 1), &[]),
        alpha_flags: alpha_flags::SRC_SURFACE_HAS_ALPHA,
        alpha: 255,
        src: rgba(&src, 2, 1),
        src_area: wrect(0, 0, 2, 1),
    }));
    assert_eq!(s.row(0, 0), vec![[128, 0, 100, 255], [255, 255, 255, 255]]);
    // Global alpha 64 over the white pixel, source alpha ignored (no flag).
    let black = rgba_bytes(&[[0, 0, 0, 0]]);
    s.draw(DisplayMsg::DrawAlphaBlend(DrawAlphaBlend {
        base: base(0, wrect(1, 0, 2, 1), &[]),
        alpha_flags: 0,
        alpha: 64,
        src: rgba(&black, 1, 1),
        src_area: wrect(0, 0, 1, 1),
    }));
    assert_eq!(s.px(0, 1, 0), [191, 191, 191, 255]);
}

#[test]
fn alpha_blend_keeps_destination_alpha_when_asked() {
    let mut s = Screen::new(1, 1, ARGB);
    let src = rgba_bytes(&[[100, 0, 0, 100]]);
    s.draw(DisplayMsg::DrawAlphaBlend(DrawAlphaBlend {
        base: base(0, wrect(0, 0, 1, 1), &[]),
        alpha_flags: alpha_flags::SRC_SURFACE_HAS_ALPHA | alpha_flags::DEST_HAS_ALPHA,
        alpha: 255,
        src: rgba(&src, 1, 1),
        src_area: wrect(0, 0, 1, 1),
    }));
    assert_eq!(s.px(0, 0, 0), [100, 0, 0, 100]);
}

// ---------------------------------------------------------------- composite

fn composite<'a>(
    b: DisplayBase,
    flags: u32,
    src: Image<'a>,
    mask: Option<Image<'a>>,
    src_t: Option<Transform>,
    origin: (i16, i16),
) -> DisplayMsg<'a> {
    DisplayMsg::DrawComposite(DrawComposite {
        base: b,
        flags: flags | if mask.is_some() { cf::HAS_MASK } else { 0 },
        src,
        mask,
        src_transform: src_t,
        mask_transform: None,
        src_origin: Point16 {
            x: origin.0,
            y: origin.1,
        },
        mask_origin: Point16 { x: 0, y: 0 },
    })
}

const OP_SRC: u32 = 1;
const OP_OVER: u32 = 3;
const OP_ADD: u32 = 12;

#[test]
fn composite_over_with_a8_surface_mask_onto_offscreen_target() {
    let mut s = Screen::new(2, 1, XRGB);
    s.add(1, 3, 1, A8, 0);
    s.add(2, 3, 1, XRGB, 0);
    // A8 mask surface: fill writes the value from the colour's low byte.
    s.draw(DisplayMsg::DrawFill(DrawFill {
        base: base(1, wrect(0, 0, 2, 1), &[]),
        brush: Brush::Solid(0x80),
        rop: ropd::OP_PUT,
        mask: no_mask(),
    }));
    s.draw(DisplayMsg::DrawFill(DrawFill {
        base: base(1, wrect(1, 0, 2, 1), &[]),
        brush: Brush::Solid(0xff),
        rop: ropd::OP_PUT,
        mask: no_mask(),
    }));
    // Target 2 starts blue; source is opaque red (repeat NORMAL of one pixel).
    s.draw(DisplayMsg::DrawFill(DrawFill {
        base: base(2, wrect(0, 0, 3, 1), &[]),
        brush: Brush::Solid(0x0000_00c8),
        rop: ropd::OP_PUT,
        mask: no_mask(),
    }));
    let red = rgba_bytes(&[[255, 0, 0, 255]]);
    let inval = s.draw(composite(
        base(2, wrect(0, 0, 3, 1), &[]),
        OP_OVER | 1 << cf::SRC_REPEAT_SHIFT,
        rgba(&red, 1, 1),
        Some(surface_image(1, 3, 1)),
        None,
        (0, 0),
    ));
    assert_eq!(inval, Some(Rect::new(0, 0, 3, 1)));
    // mask 0x80: red*0.5 + blue*(1-0.5); mask 0xff: red; mask 0: unchanged.
    assert_eq!(
        s.row(2, 0),
        vec![[128, 0, 100, 255], [255, 0, 0, 255], [0, 0, 200, 255]]
    );
    assert_eq!(s.row(0, 0), vec![BLACK, BLACK], "primary untouched");
}

#[test]
fn composite_src_from_surface_with_translation_and_clip() {
    let mut s = Screen::new(4, 1, XRGB);
    s.add(1, 4, 1, XRGB, 0);
    let ramp = rgba_bytes(&[grey(10), grey(20), grey(30), grey(40)]);
    s.draw(copy(
        base(1, wrect(0, 0, 4, 1), &[]),
        rgba(&ramp, 4, 1),
        wrect(0, 0, 4, 1),
        ropd::OP_PUT,
        1,
        no_mask(),
    ));
    // Source shifted by origin 1 and transform +1 px: dest x reads source x + 2; no repeat.
    let shift = Transform([1 << 16, 0, 1 << 16, 0, 1 << 16, 0]);
    s.draw(composite(
        base(0, wrect(0, 0, 4, 1), &[wrect(0, 0, 3, 1)]),
        OP_SRC,
        surface_image(1, 4, 1),
        None,
        Some(shift),
        (1, 0),
    ));
    // x0 <- 30, x1 <- 40, x2 <- outside (transparent black, alpha forced on xRGB), x3 clipped.
    assert_eq!(s.reds(0, 0), vec![30, 40, 0, 0]);
    assert_eq!(s.px(0, 2, 0), BLACK);
}

#[test]
fn composite_add_onto_a8_and_component_alpha() {
    let mut s = Screen::new(2, 1, A8);
    let src = rgba_bytes(&[[0, 0, 0, 100]]);
    for _ in 0..3 {
        s.draw(composite(
            base(0, wrect(0, 0, 1, 1), &[]),
            OP_ADD | 1 << cf::SRC_REPEAT_SHIFT,
            rgba(&src, 1, 1),
            None,
            None,
            (0, 0),
        ));
    }
    assert_eq!(s.px(0, 0, 0)[3], 255, "saturates");
    assert_eq!(s.px(0, 1, 0)[3], 0);

    let mut s = Screen::new(1, 1, XRGB);
    solid(&mut s, wrect(0, 0, 1, 1), 0x0064_6464);
    let white = rgba_bytes(&[[255, 255, 255, 255]]);
    let ca_mask = rgba_bytes(&[[255, 0, 128, 255]]);
    s.draw(composite(
        base(0, wrect(0, 0, 1, 1), &[]),
        OP_OVER | cf::COMPONENT_ALPHA,
        rgba(&white, 1, 1),
        Some(rgba(&ca_mask, 1, 1)),
        None,
        (0, 0),
    ));
    // red: full white; green: untouched 100; blue: 128 + 100*(127/255) = 128 + 50.
    assert_eq!(s.px(0, 0, 0), [255, 100, 178, 255]);
}

#[test]
fn composite_refuses_blend_mode_operators() {
    let mut s = Screen::new(1, 1, XRGB);
    let src = rgba_bytes(&[[1, 2, 3, 255]]);
    let msg = composite(
        base(0, wrect(0, 0, 1, 1), &[]),
        0x30,
        rgba(&src, 1, 1),
        None,
        None,
        (0, 0),
    );
    let out = s.state.handle(&msg, &mut s.stats);
    assert!(out.iter().any(|o| o.is_err()));
    assert_eq!(s.px(0, 0, 0), BLACK);
}

// ---------------------------------------------------------------- 16-bit surfaces

#[test]
fn sixteen_bit_surfaces_take_brushes_in_their_format_and_stay_quantised() {
    let mut s = Screen::new(2, 1, RGB555);
    // 555 brush: r = 0x1f, g = 0x10, b = 0x01.
    solid(&mut s, wrect(0, 0, 2, 1), 0x7e01);
    assert_eq!(s.px(0, 0, 0), [0xff, 0x84, 0x08, 255]);
    // XOR with g = 0x1f flips the 5-bit value: 0x10 ^ 0x1f = 0x0f -> 0x7b.
    s.draw(DisplayMsg::DrawFill(DrawFill {
        base: base(0, wrect(0, 0, 1, 1), &[]),
        brush: Brush::Solid(0x03e0),
        rop: ropd::OP_XOR,
        mask: no_mask(),
    }));
    assert_eq!(s.px(0, 0, 0), [0xff, 0x7b, 0x08, 255]);
    // A copied 8-bit image is reduced to 5/6 bits per channel.
    let mut s = Screen::new(1, 1, RGB565);
    let src = rgba_bytes(&[[0x87, 0x87, 0x87, 255]]);
    s.draw(copy(
        base(0, wrect(0, 0, 1, 1), &[]),
        rgba(&src, 1, 1),
        wrect(0, 0, 1, 1),
        ropd::OP_PUT,
        1,
        no_mask(),
    ));
    assert_eq!(s.px(0, 0, 0), [0x84, 0x86, 0x84, 255]);
}

// ---------------------------------------------------------------- clips and masks on the remaining ops

#[test]
fn opaque_and_blend_honour_mask_and_clip() {
    let mut s = Screen::new(4, 1, XRGB);
    solid(&mut s, wrect(0, 0, 4, 1), 0x0011_1111);
    let src = rgba_bytes(&[grey(0xf0), grey(0xf0), grey(0xf0), grey(0xf0)]);
    let bits = [0b0000_1101u8]; // 0, 2, 3
    s.draw(DisplayMsg::DrawOpaque(DrawOpaque {
        base: base(0, wrect(0, 0, 4, 1), &[wrect(0, 0, 3, 1)]),
        src: rgba(&src, 4, 1),
        src_area: wrect(0, 0, 4, 1),
        brush: Brush::Solid(0x000f_0f0f),
        rop: ropd::OP_OR,
        scale_mode: 1,
        mask: mask(&bits, 4, false, 0, (0, 0)),
    }));
    assert_eq!(s.reds(0, 0), vec![0xff, 0x11, 0xff, 0x11]);
    s.draw(DisplayMsg::DrawBlend(DrawCopy {
        base: base(0, wrect(0, 0, 4, 1), &[wrect(1, 0, 4, 1)]),
        src: rgba(&src, 4, 1),
        src_area: wrect(0, 0, 4, 1),
        rop: ropd::OP_AND,
        scale_mode: 1,
        mask: mask(&bits, 4, true, 0, (0, 0)),
    }));
    // Big-endian 0b0000_1101 sets pixels 4.. (none of 0..4) -> nothing drawn.
    assert_eq!(s.reds(0, 0), vec![0xff, 0x11, 0xff, 0x11]);
    let be = [0b0110_0000u8]; // 1, 2
    s.draw(DisplayMsg::DrawBlend(DrawCopy {
        base: base(0, wrect(0, 0, 4, 1), &[wrect(2, 0, 4, 1)]),
        src: rgba(&src, 4, 1),
        src_area: wrect(0, 0, 4, 1),
        rop: ropd::OP_AND,
        scale_mode: 1,
        mask: mask(&be, 4, true, 0, (0, 0)),
    }));
    assert_eq!(s.reds(0, 0), vec![0xff, 0x11, 0xf0, 0x11]);
}

#[test]
fn transparent_and_alpha_blend_honour_clip() {
    let mut s = Screen::new(3, 1, XRGB);
    let src = rgba_bytes(&[grey(7), grey(8), grey(9)]);
    s.draw(DisplayMsg::DrawTransparent(DrawTransparent {
        base: base(
            0,
            wrect(0, 0, 3, 1),
            &[wrect(0, 0, 1, 1), wrect(2, 0, 3, 1)],
        ),
        src: rgba(&src, 3, 1),
        src_area: wrect(0, 0, 3, 1),
        src_color: 0x0000_0000,
        true_color: 0,
    }));
    assert_eq!(s.reds(0, 0), vec![7, 0, 9]);
    s.draw(DisplayMsg::DrawAlphaBlend(DrawAlphaBlend {
        base: base(0, wrect(0, 0, 3, 1), &[wrect(1, 0, 2, 1)]),
        alpha_flags: 0,
        alpha: 255,
        src: rgba(&src, 3, 1),
        src_area: wrect(0, 0, 3, 1),
    }));
    assert_eq!(s.reds(0, 0), vec![7, 8, 9]);
}

#[test]
fn offscreen_surface_is_a_source_and_a_target() {
    let mut s = Screen::new(3, 1, XRGB);
    s.add(5, 2, 1, ARGB, 0);
    let src = rgba_bytes(&[[10, 20, 30, 40], [50, 60, 70, 80]]);
    let inval = s.draw(copy(
        base(5, wrect(0, 0, 2, 1), &[]),
        rgba(&src, 2, 1),
        wrect(0, 0, 2, 1),
        ropd::OP_PUT,
        1,
        no_mask(),
    ));
    assert_eq!(inval, Some(Rect::new(0, 0, 2, 1)));
    assert_eq!(
        s.row(5, 0),
        vec![[10, 20, 30, 40], [50, 60, 70, 80]],
        "ARGB keeps alpha"
    );
    assert_eq!(s.row(0, 0), vec![BLACK; 3], "primary untouched");
    // Surface 5 drawn onto the primary at x = 1 (its alpha dropped: xRGB target).
    s.draw(copy(
        base(0, wrect(1, 0, 3, 1), &[]),
        surface_image(5, 2, 1),
        wrect(0, 0, 2, 1),
        ropd::OP_PUT,
        1,
        no_mask(),
    ));
    assert_eq!(
        s.row(0, 0),
        vec![BLACK, [10, 20, 30, 255], [50, 60, 70, 255]]
    );
}

#[test]
fn stroke_with_pattern_brush_through_and_rop() {
    let mut s = Screen::new(4, 1, XRGB);
    solid(&mut s, wrect(0, 0, 4, 1), 0x00ff_ffff);
    let pat = rgba_bytes(&[grey(0x0f), grey(0xf0)]);
    s.draw(DisplayMsg::DrawStroke(DrawStroke {
        base: base(0, wrect(0, 0, 4, 1), &[]),
        path: Path {
            segments: vec![PathSegment {
                flags: path_flags::BEGIN | path_flags::END,
                points: vec![pt(0, 0), pt(2, 0)],
            }],
        },
        attr: solid_line(),
        brush: Brush::Pattern {
            image: rgba(&pat, 2, 1),
            pos: Point { x: 0, y: 0 },
        },
        fore_mode: ropd::OP_AND,
        back_mode: ropd::OP_PUT,
    }));
    assert_eq!(s.reds(0, 0), vec![0x0f, 0xf0, 0x0f, 0xff]);
}

#[test]
fn a_failing_source_still_lets_the_mask_enter_the_cache() {
    let mut s = Screen::new(2, 1, XRGB);
    let missing = Image {
        descriptor: ImageDescriptor {
            id: 99,
            kind: ImageType::from_u8(103),
            flags: 0,
            width: 2,
            height: 1,
        },
        data: ImageData::FromCache,
    };
    let bits = [0b0000_0001u8];
    let mut m = mask(&bits, 2, false, 0, (0, 0));
    if let Some(img) = m.bitmap.as_mut() {
        img.descriptor.id = 77;
        img.descriptor.flags = 1; // CACHE_ME
    }
    let msg = copy(
        base(0, wrect(0, 0, 2, 1), &[]),
        missing,
        wrect(0, 0, 2, 1),
        ropd::OP_PUT,
        1,
        m,
    );
    let out = s.state.handle(&msg, &mut s.stats);
    assert_eq!(out.len(), 1);
    assert!(out[0].is_err());
    assert_eq!(s.state.caches().cached_pixmaps(), 1, "the mask was cached");
    assert_eq!(s.row(0, 0), vec![BLACK, BLACK]);
}
