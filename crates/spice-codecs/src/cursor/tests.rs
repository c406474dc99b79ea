use super::*;

const T: [u8; 4] = TRANSPARENT;
const K: [u8; 4] = BLACK;
const W: [u8; 4] = WHITE;

fn check(kind: u8, w: u16, h: u16, data: &[u8], expected: &[[u8; 4]], invert: bool) {
    let c = decode_cursor(kind, w, h, data).unwrap();
    assert_eq!(c.rgba.width, u32::from(w));
    assert_eq!(c.rgba.height, u32::from(h));
    assert_eq!(c.rgba.pixels, expected.concat(), "type {kind}");
    assert_eq!(c.has_invert, invert, "type {kind}");
    for n in 0..data.len() {
        assert!(
            matches!(
                decode_cursor(kind, w, h, &data[..n]),
                Err(CodecError::Truncated { .. })
            ),
            "type {kind} prefix {n}"
        );
    }
}

#[test]
fn alpha() {
    check(
        0,
        2,
        1,
        &[3, 2, 1, 128, 0, 0, 0, 0],
        &[[1, 2, 3, 128], [0, 0, 0, 0]],
        false,
    );
}

#[test]
fn mono_all_four_combinations() {
    // (0,0) AND1 XOR0, (1,0) AND0 XOR0, (0,1) AND0 XOR1, (1,1) AND1 XOR1.
    check(1, 2, 2, &[0x80, 0x40, 0x00, 0xC0], &[T, K, W, K], true);
    // Trailing data after the shape is ignored.
    let c = decode_cursor(1, 2, 2, &[0x80, 0x40, 0x00, 0x80, 9, 9]).unwrap();
    assert_eq!(c.rgba.pixels, [T, K, W, T].concat());
    assert!(!c.has_invert);
}

#[test]
fn mono_multi_byte_rows_checkerboard() {
    // Nine invert pixels in one row: two mask bytes per row, checker by parity.
    check(
        1,
        9,
        1,
        &[0xFF, 0x80, 0xFF, 0x80],
        &[K, W, K, W, K, W, K, W, K],
        true,
    );
}

#[test]
fn color4() {
    let mut data = vec![0x01, 0x20];
    let mut pal = [0u32; 16];
    pal[0] = 0x00FF_0000;
    pal[1] = 0xFFFF_FFFF;
    pal[2] = 0x0000_FF00;
    for p in pal {
        data.extend_from_slice(&p.to_le_bytes());
    }
    data.push(0b0110_0000);
    // Red opaque; white under mask → invert (odd parity → white); green under mask → clear.
    check(2, 3, 1, &data, &[[255, 0, 0, 255], W, T], true);
}

#[test]
fn color16() {
    let data = [0x00, 0x7C, 0xFF, 0x7F, 0x1F, 0x00, 0x40];
    check(
        4,
        3,
        1,
        &data,
        &[[255, 0, 0, 255], W, [0, 0, 255, 255]],
        true,
    );
    // Without the mask bit, white is just white.
    let data = [0x00, 0x7C, 0xFF, 0x7F, 0x1F, 0x00, 0x00];
    check(
        4,
        3,
        1,
        &data,
        &[[255, 0, 0, 255], W, [0, 0, 255, 255]],
        false,
    );
}

#[test]
fn color32() {
    let mut data = Vec::new();
    for p in [0x0011_2233u32, 0x00FF_FFFF, 0xFF00_0000, 0x00FF_FFFF] {
        data.extend_from_slice(&p.to_le_bytes());
    }
    data.extend_from_slice(&[0x00, 0xC0]);
    check(6, 2, 2, &data, &[[0x11, 0x22, 0x33, 255], W, T, K], true);
}

#[test]
fn unsupported_and_bad_sizes() {
    for kind in [3, 5, 7, 255] {
        assert!(matches!(
            decode_cursor(kind, 1, 1, &[0; 64]),
            Err(CodecError::Unsupported(_))
        ));
    }
    for (w, h) in [(0, 1), (1, 0), (513, 1), (1, 513), (u16::MAX, u16::MAX)] {
        assert!(matches!(
            decode_cursor(0, w, h, &[0; 64]),
            Err(CodecError::BadDimensions { .. })
        ));
    }
    assert!(decode_cursor(0, 512, 512, &vec![0; 512 * 512 * 4]).is_ok());
}
