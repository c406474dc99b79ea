//! Every draw op as the server puts it on the wire, decoded and rendered by the same path
//! a live session uses: each must draw without an error. The bodies double as the display
//! fuzz target's seeds (set OLIVE_FUZZ_SEEDS to a directory to write them there).

use olive_test_support::Wire;
use spice_client::replay::render_frames_with_surfaces;
use spice_proto::framing::encode_message;
use spice_proto::messages::display::{composite_flags as cf, msg, path_flags, ropd};

/// The draw-message parts these bodies share, on top of the shared wire builder.
trait DrawWire {
    /// Surface, box (0,0)-(8,8), one clip rect.
    fn base(&mut self, surface: u32) -> &mut Self;
    fn no_mask(&mut self) -> &mut Self;
    /// RGBA bitmap image of `w` x `h`, top-down, no palette.
    fn rgba_image(&mut self, w: u32, h: u32) -> &mut Self;
    /// 1-bpp big-endian 8x8 mask image (a checkerboard of rows).
    fn mask_image(&mut self) -> &mut Self;
    fn surface_image(&mut self, id: u32, w: u32, h: u32) -> &mut Self;
}

impl DrawWire for Wire {
    fn base(&mut self, surface: u32) -> &mut Self {
        self.u32(surface)
            .rect(0, 0, 8, 8)
            .u8(1)
            .u32(1)
            .rect(0, 1, 7, 8)
    }
    fn no_mask(&mut self) -> &mut Self {
        self.u8(0).i32(0).i32(0).u32(0)
    }
    fn rgba_image(&mut self, w: u32, h: u32) -> &mut Self {
        self.u32(0).u32(0).u8(0).u8(0).u32(w).u32(h);
        self.u8(9).u8(4).u32(w).u32(h).u32(w * 4).u32(0);
        let pixels: Vec<u8> = (0..w * h * 4).map(|i| (i * 37) as u8).collect();
        self.bytes(&pixels)
    }
    fn mask_image(&mut self) -> &mut Self {
        self.u32(0).u32(0).u8(0).u8(0).u32(8).u32(8);
        self.u8(2).u8(4).u32(8).u32(8).u32(1).u32(0);
        self.bytes(&[0xaa, 0x55, 0xaa, 0x55, 0xff, 0x00, 0xf0, 0x0f])
    }
    fn surface_image(&mut self, id: u32, w: u32, h: u32) -> &mut Self {
        self.u32(0).u32(0).u8(104).u8(0).u32(w).u32(h).u32(id)
    }
}

fn fill_pattern_masked() -> Vec<u8> {
    let mut b = Wire::new();
    b.base(0).u8(2);
    let pat = b.slot();
    b.i32(3).i32(5).u16(ropd::OP_XOR);
    b.u8(1).i32(0).i32(0);
    let mask = b.slot();
    b.patch(pat).rgba_image(3, 2);
    b.patch(mask).mask_image();
    b.done()
}

fn opaque() -> Vec<u8> {
    let mut b = Wire::new();
    b.base(0);
    let src = b.slot();
    b.rect(0, 0, 4, 4)
        .u8(1)
        .u32(0x0012_3456)
        .u16(ropd::OP_AND | ropd::INVERS_SRC)
        .u8(0)
        .no_mask();
    b.patch(src).rgba_image(4, 4);
    b.done()
}

fn blend() -> Vec<u8> {
    let mut b = Wire::new();
    b.base(3);
    let src = b.slot();
    b.rect(0, 0, 8, 8).u16(ropd::OP_OR).u8(1).no_mask();
    b.patch(src).rgba_image(8, 8);
    b.done()
}

fn rop3() -> Vec<u8> {
    let mut b = Wire::new();
    b.base(0);
    let src = b.slot();
    b.rect(0, 0, 8, 8).u8(2);
    let pat = b.slot();
    b.i32(0).i32(0).u8(0xb8).u8(1).u8(0).i32(1).i32(1);
    let mask = b.slot();
    b.patch(src).rgba_image(8, 8);
    b.patch(pat).rgba_image(2, 2);
    b.patch(mask).mask_image();
    b.done()
}

fn stroke() -> Vec<u8> {
    let mut b = Wire::new();
    b.base(0);
    let path = b.slot();
    b.u8(8).u8(2);
    let style = b.slot();
    b.u8(1).u32(0x00ff_0000).u16(ropd::OP_XOR).u16(ropd::OP_PUT);
    b.patch(path).u32(2);
    b.u8(path_flags::BEGIN).u32(1).i32(0).i32(0);
    b.u8(path_flags::BEZIER | path_flags::END | path_flags::CLOSE)
        .u32(3)
        .i32(100)
        .i32(0)
        .i32(100)
        .i32(100)
        .i32(0)
        .i32(100);
    b.patch(style).i32(32).i32(16);
    b.done()
}

fn text(flags: u8, bpp: usize) -> Vec<u8> {
    let mut b = Wire::new();
    b.base(0);
    let s = b.slot();
    b.rect(0, 0, 8, 8)
        .u8(1)
        .u32(0x00ff_ffff)
        .u8(1)
        .u32(0x0000_0080)
        .u16(ropd::OP_PUT)
        .u16(ropd::OP_PUT);
    b.patch(s).u16(2).u8(flags | 8);
    for x in [1, 4] {
        let (w, h) = (3usize, 4usize);
        b.i32(x).i32(5).i32(0).i32(-4).u16(w as u16).u16(h as u16);
        let size = (w * bpp).div_ceil(8) * h;
        let data: Vec<u8> = (0..size).map(|i| (i * 91) as u8).collect();
        b.bytes(&data);
    }
    b.done()
}

fn transparent() -> Vec<u8> {
    let mut b = Wire::new();
    b.base(2);
    let src = b.slot();
    b.rect(0, 0, 8, 8).u32(0x0025_4a6f).u32(0);
    b.patch(src).rgba_image(8, 8);
    b.done()
}

fn alpha_blend() -> Vec<u8> {
    let mut b = Wire::new();
    b.base(0).u8(3).u8(200);
    let src = b.slot();
    b.rect(0, 0, 4, 4);
    b.patch(src).rgba_image(4, 4);
    b.done()
}

fn composite() -> Vec<u8> {
    let mut b = Wire::new();
    b.base(0);
    let flags = 3
        | 1 << cf::SRC_FILTER_SHIFT
        | 1 << cf::SRC_REPEAT_SHIFT
        | 3 << cf::MASK_REPEAT_SHIFT
        | cf::HAS_MASK
        | cf::HAS_SRC_TRANSFORM
        | cf::COMPONENT_ALPHA;
    b.u32(flags);
    let src = b.slot();
    let mask = b.slot();
    for v in [
        0x0001_8000u32,
        0x4000,
        0x0002_0000,
        0,
        0x0001_0000,
        0xffff_8000,
    ] {
        b.u32(v);
    }
    b.u16(2).u16(1).u16(0).u16(0);
    b.patch(src).rgba_image(3, 3);
    b.patch(mask).surface_image(1, 32, 32);
    b.done()
}

fn scaled_copy_to_16_bit() -> Vec<u8> {
    let mut b = Wire::new();
    b.base(2);
    let src = b.slot();
    b.rect(0, 0, 5, 3).u16(ropd::OP_PUT).u8(0).no_mask();
    b.patch(src).rgba_image(3, 5);
    b.done()
}

fn invers_on_a8_masked() -> Vec<u8> {
    let mut b = Wire::new();
    b.base(1).u8(0).i32(2).i32(1);
    let mask = b.slot();
    b.patch(mask).mask_image();
    b.done()
}

fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "fill_pattern_masked",
            encode_message(msg::DRAW_FILL, &fill_pattern_masked()),
        ),
        ("opaque", encode_message(msg::DRAW_OPAQUE, &opaque())),
        ("blend", encode_message(msg::DRAW_BLEND, &blend())),
        ("rop3", encode_message(msg::DRAW_ROP3, &rop3())),
        ("stroke", encode_message(msg::DRAW_STROKE, &stroke())),
        ("text_a1", encode_message(msg::DRAW_TEXT, &text(1, 1))),
        ("text_a4", encode_message(msg::DRAW_TEXT, &text(2, 4))),
        ("text_a8", encode_message(msg::DRAW_TEXT, &text(4, 8))),
        (
            "transparent",
            encode_message(msg::DRAW_TRANSPARENT, &transparent()),
        ),
        (
            "alpha_blend",
            encode_message(msg::DRAW_ALPHA_BLEND, &alpha_blend()),
        ),
        (
            "composite",
            encode_message(msg::DRAW_COMPOSITE, &composite()),
        ),
        (
            "scaled_copy_16",
            encode_message(msg::DRAW_COPY, &scaled_copy_to_16_bit()),
        ),
        (
            "invers_a8_masked",
            encode_message(msg::DRAW_INVERS, &invers_on_a8_masked()),
        ),
    ]
}

#[test]
fn every_draw_op_renders_from_the_wire_without_error() {
    for (name, frame) in seeds() {
        assert_eq!(render_frames_with_surfaces(&frame), 0, "{name}");
    }
    if let Some(dir) = std::env::var_os("OLIVE_FUZZ_SEEDS") {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, frame) in seeds() {
            std::fs::write(std::path::Path::new(&dir).join(name), frame).unwrap();
        }
    }
}

#[test]
fn a_draw_on_a_missing_surface_fails_visibly() {
    let mut body = opaque();
    body[..4].copy_from_slice(&9u32.to_le_bytes());
    assert_eq!(
        render_frames_with_surfaces(&encode_message(msg::DRAW_OPAQUE, &body)),
        1
    );
}
