use super::*;

/// Words as the spec prints them, stored little-endian as on the wire.
fn words(ws: &[u32]) -> Vec<u8> {
    ws.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// Whitespace-separated hex words.
fn hex_words(s: &str) -> Vec<u8> {
    let ws: Vec<u32> = s
        .split_whitespace()
        .map(|w| u32::from_str_radix(w, 16).unwrap())
        .collect();
    words(&ws)
}

/// Header for `kind`, `w`×`h`, followed by body words.
fn stream(kind: u32, w: u32, h: u32, body: &[u32]) -> Vec<u8> {
    let mut ws = vec![QUIC_MAGIC, QUIC_VERSION, kind, w, h];
    ws.extend_from_slice(body);
    words(&ws)
}

/// An image whose pixel (x, y) is `f(x, y)` as RGBA.
fn image(w: u32, h: u32, f: impl Fn(u32, u32) -> [u8; 4]) -> Vec<u8> {
    (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .flat_map(|(x, y)| f(x, y))
        .collect()
}

fn assert_decodes(data: &[u8], w: u32, h: u32, expected: &[u8]) {
    let img = decode_quic(data).unwrap();
    assert_eq!((img.width, img.height), (w, h));
    assert!(img.pixels == expected, "pixels differ");
}

/// Every proper prefix of a valid stream must fail cleanly (including the ones that
/// only drop the trailing zero word of §2.1).
fn assert_prefixes_fail(data: &[u8]) {
    for n in 0..data.len() {
        assert!(decode_quic(&data[..n]).is_err(), "prefix {n} decoded");
    }
}

const V8_WORDS: &str = "
43495551 00000000 00000004 00000064 0000001e 808080ff fff780e0 0000b4c0
7ffff7f0 00005a7f fffdfc00 00169fff ff7f0000 05a7ffff dfc00001 69fffff7
f000005a 7ffffdfc 0000169f ffff7f00 0005a7ff ffdfc000 0169ffff f7f80007
88e23e40 2000076f 10100000 02008000 1d7018f2 0100003b 78a00000 10040000
ebe3b002 000076f1 40000020 080001d7 c7600400 00ed98a0 8011ef1d 8011fcc5
04008f78 ec008fe6 28204fbc 7604ff31 41027de3 b027f98a 0813ef1d 813fcc50
409f78ec 09fe62c4 20262026 203204ff 314108fb c7611fe6 28211f78 ec23fcc5
0423ef1d 847f98a0 847de3b0 8ff31410 8fbc7611 fe628211 f78ec23f cc50423e
f1d847f9 8a0847de 3b047f98 a0847de3 b047f98b 10809880 9880c847 f98a0847
de3b08ff 314108fb c7611fe6 28211f78 ec23fcc5 0423ef1d 847f98a0 847de3b0
8ff31410 8fbc7608 ff314108 fbc7608f f314108f bc7608ff 314108fb c7608ff3
16210131 01310190 8ff31410 8fbc7611 fe628211 f78ec23f cc50423e f1d847f9
8a0847de 3b08ff31 4108fbc7 611fe628 211f78ec 23fcc504 23ef1d84 7f98a084
7de3b047 f8c50423 ef1d823f c62c4202 62026203 211fe628 211f78ec 23fcc504
23ef1d84 7f98a084 7de3b08f f314108f bc7611fe 628211f7 8ec23fcc 50423ef1
d823fc62 8211f78e c11fe314 108fbc76 30ff18a0 987de3b1 87f8c588 404c404c
4064c3fc c504c3ef 1d987f98 a0987de3 b30ff314 130fbc76 61fe6282 61f78ecc
3fcc504c 3ef1d987 f98a0987 de3b30ff 314130fb c7661fe6 28261f78 ec61fe31
4130fbc7 630ff18b 10809880 9880c987 f98a0987 de3b30ff 314130fb c7661fe6
28261f78 ecc3fcc5 04c3ef1d 987f98a0 987de3b3 0ff31413 0fbc7630 ff18a098
7de3b187 f8c504c3 ef1d8c3f c628261f 78ec61fe 31621013 10131019 30ff3141
30fbc766 1fe62826 1f78ecc3 fcc504c3 ef1d987f 98a0987d e3b30ff3 14130fbc
7661fe62 8261f78e cc3fcc50 4c3ef1d9 87f98a09 87de3b18 7f8c504c 3ef1d8c3
fc62c420 26202620 3261fe62 8261f78e cc3fcc50 4c3ef1d9 87f98a09 87de3b30
ff314130 fbc7661f e628261f 78ecc3fc c504c3ef 1d8c3fc6 28261f78 ec61fe31
4130fbc7 630ff18a 0987de3b 187f8c58 8404c404 c4064c3f cc504c3e f1d987f9
8a0987de 3b30ff31 4130fbc7 661fe628 261f78ec c3fcc504 c3ef1d98 7f98a098
7de3b30f f314130f bc7661fe 628261f7 8ec61fe3 14130fbc 7630ff18 b1080988
09880c98 7f98a098 7de3b30f f314130f bc7661fe 628261f7 8ecc3fcc 504c3ef1
d987f98a 0987de3b 30ff3141 30fbc763 0ff18a09 87de3b18 7f8c504c 3ef1d8c3
fc628261 f78ec61f e3162101 31013101 930ff314 130fbc76 61fe6282 61f78ecc
3fcc504c 3ef1d987 f98a0987 de3b30ff 314130fb c7661fe6 28261f78 ecc3fcc5
04c3ef1d 987f98a0 987de3b1 87f8c504 c3ef1d8c 3fc62c42 02620262 03261fe6
28261f78 ecc3fcc5 04c3ef1d 987f98a0 987de3b3 0ff31413 0fbc7661 fe628261
f78ecc3f cc504c3e f1d8c3fc 628261f7 8ec61fe3 14130fbc 7630ff18 a0987de3
b187f8c5 88404c40 4c4064c3 fcc504c3 ef1d987f 98a0987d e3b30ff3 14130fbc
7661fe62 8261f78e cc3fcc50 4c3ef1d9 87f98a09 87de3b30 ff314130 fbc7661f
e628261f 78ec61fe 314130fb c7630ff1 8b108098 809880c9 87f98a09 87de3b30
ff314130 fbc7661f e628261f 78ecc3fc c504c3ef 1d987f98 a0987de3 b30ff314
130fbc76 30ff18a0 987de3b1 87f8c504 c3ef1d8c 3fc62826 1f78ec61 fe316210
13101310 1930ff31 4130fbc7 661fe628 261f78ec c3fcc504 c3ef1d98 7f98a098
7de3b30f f314130f bc7661fe 628261f7 8ecc3fcc 504c3ef1 d987f98a 0987de3b
187f8c50 4c3ef1d8 c3fc62c4 20262026 203261fe 628261f7 8ecc3fcc 504c3ef1
d987f98a 0987de3b 30ff3141 30fbc766 1fe62826 1f78ecc3 fcc504c3 ef1d8c3f
c628261f 78ec61fe 314130fb c7630ff1 8a0987de 3b187f8c 588404c4 04c4064c
3fcc504c 3ef1d987 f98a0987 de3b30ff 314130fb c7661fe6 28261f78 ecc3fcc5
04c3ef1d 987f98a0 987de3b3 0ff31413 0fbc7661 fe628261 f78ec61f e314130f
bc7630ff 18b10809 8809880c 987f98a0 987de3b3 0ff31413 0fbc7661 fe628261
f78ecc3f cc504c3e f1d987f9 8a0987de 3b30ff31 4130fbc7 630ff18a 0987de3b
187f8c50 4c3ef1d8 c3fc6282 61f78ec6 1fe31621 01310131 01930ff3 14130fbc
7661fe62 8261f78e cc3fcc50 4c3ef1d9 87f98a09 87de3b30 ff314130 fbc7661f
e628261f 78ecc3fc c504c3ef 1d987f98 a0987de3 b30ff314 130fbc76 61fe62c4
20262026 203261fe 628261f7 8ecc3fcc 504c3ef1 d987f98a 0987de3b 30ff3141
30fbc766 1fe62826 1f78ecc3 fcc504c3 ef1d987f 98a0987d e3b30ff3 14130fbc
7661fe62 8261f78e cc3fcc58 8404c404 c4064c3f cc504c3e f1d987f9 8a0987de
3b30ff31 4130fbc7 661fe628 261f78ec c3fcc504 c3ef1d98 7f98a098 7de3b30f
f314130f bc7661fe 628261f7 8ecc3fcc 504c3ef1 d987f98b 10809880 9880c987
f98a0987 de3b30ff 314130fb c7661fe6 28261f78 ecc3fcc5 04c3ef1d 987f98a0
987de3b3 0ff31413 0fbc7661 fe628261 f78ecc3f cc504c3e f1d987f9 8a0987de
3b30ff31 62101310 13101930 ff314130 fbc7661f e628261f 78ecc3fc c504c3ef
1d987f98 a0987de3 b30ff314 130fbc76 61fe6282 61f78ecc 3fcc504c 3ef1d987
f98a0987 de3b30ff 314130fb c7661fe6 2c420262 02620326 1fe62826 1f78ecc3
fcc504c3 ef1d987f 98a0987d e3b30ff3 14130fbc 7661fe62 8261f78e cc3fcc50
4c3ef1d9 87f98a09 87de3b30 ff314130 fbc7661f e628261f 78ecc3fc c588404c
404c4064 c3fcc504 c3ef1d98 7f98a098 7de3b30f f314130f bc7661fe 628261f7
8ecc3fcc 504c3ef1 d987f98a 0987de3b 30ff3141 30fbc766 1fe62826 1f78ecc3
fcc504c3 ef1d987f 98b10809 8809880c 987f98a0 987de3b3 0ff31413 0fbc7661
fe628261 f78ecc3f cc504c3e f1d987f9 8a0987de 3b30ff31 4130fbc7 661fe628
261f78ec c3fcc504 c3ef1d98 7f98a098 7de3b30f f3162101 31013101 930ff314
130fbc76 61fe6282 61f78ecc 3fcc504c 3ef1d987 f98a0987 de3b30ff 314130fb
c7661fe6 28261f78 ecc3fcc5 04c3ef1d 987f98a0 987de3b3 0ff31413 0fbc7661
fe62c420 26202620 3261fe62 8261f78e cc3fcc50 4c3ef1d9 87f98a09 87de3b30
ff314130 fbc7661f e628261f 78ecc3fc c504c3ef 1d987f98 a0987de3 b30ff314
130fbc76 61fe6282 61f78ecc 3fcc5000 00000000
";

fn v11() -> Vec<u8> {
    let mut ws = vec![
        0x4349_5551,
        0,
        4,
        0x2bc,
        4,
        0x9292_9280,
        0x8080_8208,
        0x2222_4924,
        0x9255_5555,
        0x5555_5555,
        0x555f_ffff,
    ];
    ws.extend([0xffff_ffff; 64]);
    ws.extend([0xffd3_bffd, 0x051a_7ff4, 0xe400_0000, 0]);
    words(&ws)
}

/// (name, stream, width, height, expected RGBA).
type Vector = (&'static str, Vec<u8>, u32, u32, Vec<u8>);

/// All spec vectors with their expected RGBA output.
fn vectors() -> Vec<Vector> {
    let solid = |w, h, r, g, b| image(w, h, move |_, _| [r, g, b, 255]);
    let e = |v: u8| expand5(u16::from(v));
    let rgb5 = |r, g, b| [e(r), e(g), e(b), 255];
    vec![
        (
            "V1",
            stream(4, 1, 1, &[0x8080_8000, 0]),
            1,
            1,
            vec![0, 0, 0, 255],
        ),
        (
            "V2",
            stream(4, 1, 1, &[0x8181_8100, 0]),
            1,
            1,
            vec![255, 255, 255, 255],
        ),
        (
            "V2b",
            stream(4, 1, 1, &[0xa4e8_2c00, 0]),
            1,
            1,
            vec![0x12, 0x34, 0x56, 255],
        ),
        (
            "V3",
            stream(
                4,
                4,
                4,
                &[
                    0x94a8_bc80,
                    0x8080_8204,
                    0x0884_1e21,
                    0x0910_a445,
                    0x229a_eee0,
                    0,
                ],
            ),
            4,
            4,
            solid(4, 4, 10, 20, 30),
        ),
        (
            "V4",
            stream(
                5,
                2,
                2,
                &[0x8284_8680, 0x8080_817d, 0x0204_0c22, 0x2417_f800, 0],
            ),
            2,
            2,
            [[1, 2, 3, 255], [1, 2, 3, 128], [4, 5, 6, 0], [4, 5, 6, 0]].concat(),
        ),
        (
            "V5",
            stream(2, 3, 2, &[0x8c1d_1302, 0x8b6d_6000, 0x0c37_0000, 0]),
            3,
            2,
            [
                rgb5(31, 0, 15),
                rgb5(30, 1, 15),
                rgb5(0, 0, 0),
                rgb5(31, 0, 15),
                rgb5(31, 0, 15),
                rgb5(1, 2, 3),
            ]
            .concat(),
        ),
        (
            "V6",
            stream(1, 2, 1, &[0x8000_0017, 0x4000_0000, 0]),
            2,
            1,
            vec![0, 0, 0, 255, 200, 200, 200, 255],
        ),
        (
            "V7",
            stream(
                3,
                6,
                3,
                &[0x8e8e_8e80, 0x8080_8421, 0x1112_4927, 0xaaae_abfd, 0],
            ),
            6,
            3,
            solid(6, 3, 7, 7, 7),
        ),
        ("V11", v11(), 700, 4, solid(700, 4, 9, 9, 9)),
        (
            "V8",
            hex_words(V8_WORDS),
            100,
            30,
            image(100, 30, |x, y| {
                let b = if x % 10 < 7 { 0 } else { 255 };
                [(20 * (x / 10)) as u8, (8 * y) as u8, b, 255]
            }),
        ),
    ]
}

#[test]
fn spec_vectors() {
    for (name, data, w, h, expected) in vectors() {
        let img = decode_quic(&data).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((img.width, img.height), (w, h), "{name}");
        assert!(img.pixels == expected, "{name}: pixels differ");
    }
}

#[test]
fn vector_sizes_match_spec() {
    // Word counts the spec states, guarding the transcription of the long vectors.
    assert_eq!(v11().len(), 79 * 4);
    assert_eq!(hex_words(V8_WORDS).len(), 589 * 4);
}

#[test]
fn rgb24_and_rgb32_streams_differ_only_in_type() {
    let (_, mut data, w, h, expected) = vectors().remove(9);
    for kind in [3u32, 4] {
        data[8..12].copy_from_slice(&kind.to_le_bytes());
        assert_decodes(&data, w, h, &expected);
    }
}

#[test]
fn prefixes_fail() {
    for (_, data, ..) in vectors() {
        assert_prefixes_fail(&data);
    }
}

#[test]
fn trailing_bytes_are_ignored() {
    // Up to 3 bytes past the last whole word are not part of the stream; whole extra
    // words are padding after the image.
    for (name, data, w, h, expected) in vectors() {
        for extra in 1..=9 {
            let mut d = data.clone();
            d.extend(std::iter::repeat_n(0xA5, extra));
            let img = decode_quic(&d).unwrap_or_else(|e| panic!("{name}+{extra}: {e}"));
            assert_eq!((img.width, img.height), (w, h));
            assert!(img.pixels == expected, "{name}+{extra}");
        }
    }
}

#[test]
fn header_errors() {
    let good = stream(4, 1, 1, &[0x8080_8000, 0]);
    let mut d = good.clone();
    d[0] ^= 1;
    assert!(matches!(decode_quic(&d), Err(CodecError::BadMagic(_))));
    let mut d = good.clone();
    d[4] = 1;
    assert_eq!(decode_quic(&d), Err(CodecError::BadVersion(1)));
    for kind in [0u32, 6, 0xFFFF_FFFF] {
        let mut d = good.clone();
        d[8..12].copy_from_slice(&kind.to_le_bytes());
        assert!(matches!(decode_quic(&d), Err(CodecError::Unsupported(_))));
    }
    assert!(matches!(
        decode_quic(&stream(4, 0, 1, &[0, 0])),
        Err(CodecError::BadDimensions { .. })
    ));
    assert!(matches!(
        decode_quic(&stream(4, 1, 0, &[0, 0])),
        Err(CodecError::BadDimensions { .. })
    ));
    assert!(matches!(
        decode_quic(&stream(4, 16384, 16384, &[0, 0])),
        Err(CodecError::TooLarge { .. })
    ));
    assert!(matches!(
        decode_quic(&good[..19]),
        Err(CodecError::Truncated { .. })
    ));
    assert_eq!(
        QuicHeader::parse(&good),
        Ok(QuicHeader {
            kind: QuicType::Rgb32,
            width: 1,
            height: 1
        })
    );
}

#[test]
fn huge_image_from_tiny_stream_is_rejected_before_decoding() {
    // 8192×8192 within the pixel limit, but 8 bytes of body cannot code it.
    assert!(matches!(
        decode_quic(&stream(4, 8192, 8192, &[0, 0])),
        Err(CodecError::Truncated { .. })
    ));
}

#[test]
fn symbol_above_maximum_is_rejected() {
    // V6's second value is an escape (18 zeros, then 93 in 8 bits): 18 + 93 = 111.
    // Raising the 8-bit suffix to 255 gives symbol 273 > 255.
    // Bits: 10000000 (symbol 0), 18 zeros, then the 8-bit suffix.
    let suffix: u32 = 0xFF;
    let w0 = 0x8000_0000 | (suffix >> 2);
    let w1 = (suffix & 3) << 30;
    let d = stream(1, 2, 1, &[w0, w1, 0]);
    assert!(matches!(decode_quic(&d), Err(CodecError::Unsupported(_))));
}

#[test]
fn run_past_row_end_is_rejected() {
    // 4×2 flat image: row 1 ends with the single run code `10` (M = 0, L = 1) at x = 3,
    // followed only by zero padding, so the last one bit of the stream is that run's.
    // Setting the bit after it turns the code into `110`: L = 2 past the 4-pixel row.
    let img = rgba(4, 2, image(4, 2, |_, _| [10, 20, 30, 255]));
    let mut data = encode::encode_quic(QuicType::Rgb32, &img);
    assert!(decode_quic(&data).unwrap() == img);
    let bit = |i: usize| 4 * (i / 32) + 3 - (i % 32) / 8;
    let last_one = (0..data.len() * 8)
        .rev()
        .find(|&i| data[bit(i)] & (0x80 >> (i % 8)) != 0)
        .unwrap();
    let next = last_one + 1;
    data[bit(next)] |= 0x80 >> (next % 8);
    assert_eq!(
        decode_quic(&data),
        Err(CodecError::Unsupported(
            "QUIC run past the row end or an epoch boundary (corrupt stream)"
        ))
    );
}

use olive_test_support::XorShift;

#[test]
fn mutations_never_panic() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let seeds: Vec<Vec<u8>> = vectors().into_iter().map(|v| v.1).collect();
    let mut ok = 0;
    for i in 0..6000 {
        let seed = &seeds[i % seeds.len()];
        let m = rng.mutate(seed);
        if let Ok(img) = decode_quic(&m) {
            assert_eq!(
                img.pixels.len(),
                4 * img.width as usize * img.height as usize
            );
            ok += 1;
        }
    }
    // Sanity: the loop exercised both outcomes.
    assert!(ok > 0 && ok < 6000);
}

#[test]
fn random_bodies_never_panic() {
    // Valid headers of every type and a few sizes, followed by noise: drives the decoder
    // deep into run mode, escapes and epoch changes with garbage.
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    for kind in 1..=5u32 {
        for &(w, h) in &[(1, 1), (3, 5), (4, 4), (17, 9), (700, 4), (2100, 7)] {
            for _ in 0..20 {
                let n = rng.below(4000);
                let body: Vec<u32> = (0..n)
                    .map(|_| {
                        // Bias towards ones-heavy and zero-heavy words.
                        match rng.below(3) {
                            0 => rng.next() as u32,
                            1 => (rng.next() as u32) | (rng.next() as u32),
                            _ => (rng.next() as u32) & (rng.next() as u32),
                        }
                    })
                    .collect();
                let _ = decode_quic(&stream(kind, w, h, &body));
            }
        }
    }
}

/// Minimal SHA-256 (FIPS 180-4), so the spec's hash-only vectors can be checked without
/// a dev-dependency.
fn sha256(data: &[u8]) -> String {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut hs: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&(data.len() as u64 * 8).to_be_bytes());
    for block in msg.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (i, b) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let mut v = hs;
        for i in 0..64 {
            let s1 = v[4].rotate_right(6) ^ v[4].rotate_right(11) ^ v[4].rotate_right(25);
            let ch = (v[4] & v[5]) ^ (!v[4] & v[6]);
            let t1 = v[7]
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = v[0].rotate_right(2) ^ v[0].rotate_right(13) ^ v[0].rotate_right(22);
            let maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
            let t2 = s0.wrapping_add(maj);
            v = [
                t1.wrapping_add(t2),
                v[0],
                v[1],
                v[2],
                v[3].wrapping_add(t1),
                v[4],
                v[5],
                v[6],
            ];
        }
        for (h, x) in hs.iter_mut().zip(v) {
            *h = h.wrapping_add(x);
        }
    }
    hs.iter().map(|h| format!("{h:08x}")).collect()
}

#[test]
fn sha256_self_check() {
    assert_eq!(
        sha256(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn spec_hashes_of_long_vectors_and_table() {
    assert_eq!(
        sha256(&v11()),
        "2d97d11e7cd9bf6f7950bc4859ac2ac9cdeac355dded8a34bfdb9bf031798aa0"
    );
    assert_eq!(
        sha256(&hex_words(V8_WORDS)),
        "6b4855c7c546b61dd10df162c69438959ec9af6629e923b2acfbcc8e27175d1d"
    );
    let table: Vec<u8> = model::TABLE.iter().flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!(
        sha256(&table),
        "e6e2a9f140e50fb2953cbb074a60797464e3ab88da61f8410643d7404cd36326"
    );
}

fn rgba(w: u32, h: u32, pixels: Vec<u8>) -> Rgba {
    Rgba {
        width: w,
        height: h,
        pixels,
    }
}

/// Spec vector V9: 640×48 RGBA (hash only in the spec).
pub(super) fn v9_image() -> Rgba {
    rgba(
        640,
        48,
        image(640, 48, |x, y| {
            let b = if (x / 8 + y / 8) % 2 == 1 { 5 * y } else { 0 };
            let a = if x < 320 { 255 } else { x % 256 };
            [(3 * x + y) as u8, (40 * (x / 16)) as u8, b as u8, a as u8]
        }),
    )
}

/// Spec vector V10: 4100×4 RGB32 (hash only in the spec).
fn v10_image() -> Rgba {
    rgba(
        4100,
        4,
        image(4100, 4, |x, y| {
            if x == 2500 {
                [0, 0, y as u8, 255]
            } else {
                [200, 100, 50, 255]
            }
        }),
    )
}

#[test]
fn encoder_reproduces_every_spec_vector() {
    let kinds = [4, 4, 4, 4, 5, 2, 1, 3, 4, 4];
    for ((name, data, w, h, expected), kind) in vectors().into_iter().zip(kinds) {
        let kind = QuicType::try_from(kind).unwrap();
        let enc = encode::encode_quic(kind, &rgba(w, h, expected));
        assert!(enc == data, "{name}: encoder output differs");
    }
}

#[test]
fn hash_only_vectors_v9_v10() {
    for (name, kind, img, n_words, hash) in [
        (
            "V9",
            QuicType::Rgba,
            v9_image(),
            13211,
            "a41409fb39132af66e1f45487d6b09c5f398e0991bb86a4e4a72dd745e05345c",
        ),
        (
            "V10",
            QuicType::Rgb32,
            v10_image(),
            417,
            "f0f2e07b52b94e6eea27da39cdfe0c134360dd5a67c50af6c8de5581166e28f3",
        ),
    ] {
        let enc = encode::encode_quic(kind, &img);
        assert_eq!(enc.len(), 4 * n_words, "{name}");
        assert_eq!(sha256(&enc), hash, "{name}");
        let dec = decode_quic(&enc).unwrap();
        assert!(dec == img, "{name}: decode differs");
    }
}

/// Random, blocky and flat content for every type, at sizes that cross epochs, split
/// runs at epoch boundaries and hit model halving: decode(encode(x)) must equal x (after
/// the type's quantisation).
#[test]
fn roundtrip_all_types() {
    let mut rng = XorShift(0xD1B5_4A32_D192_ED03);
    let sizes = [
        (1, 1),
        (2, 3),
        (3, 3),
        (4, 1),
        (5, 7),
        (31, 40),
        (300, 60),
        (4100, 4),
    ];
    for kind in 1..=5u32 {
        let kind = QuicType::try_from(kind).unwrap();
        for &(w, h) in &sizes {
            for style in 0..3 {
                let mut px = Vec::with_capacity(4 * w * h);
                for y in 0..h {
                    for x in 0..w {
                        let v = match style {
                            0 => rng.next() as u32,
                            1 => (((x / 7) * 31 + (y / 5) * 17) as u32).wrapping_mul(0x0102_0305),
                            _ => {
                                if rng.below(50) == 0 {
                                    rng.next() as u32
                                } else {
                                    0x4080_C0FF
                                }
                            }
                        };
                        px.extend_from_slice(&v.to_le_bytes());
                    }
                }
                // Quantise the source as the type does, so it equals the decoded image.
                for p in px.chunks_exact_mut(4) {
                    match kind {
                        QuicType::Gray => {
                            p[1] = p[0];
                            p[2] = p[0];
                            p[3] = 255;
                        }
                        QuicType::Rgb16 => {
                            for c in &mut p[..3] {
                                *c = expand5(u16::from(*c >> 3));
                            }
                            p[3] = 255;
                        }
                        QuicType::Rgba => {}
                        _ => p[3] = 255,
                    }
                }
                let img = rgba(w as u32, h as u32, px);
                let enc = encode::encode_quic(kind, &img);
                let dec = decode_quic(&enc)
                    .unwrap_or_else(|e| panic!("{kind:?} {w}x{h} style {style}: {e}"));
                assert!(dec == img, "{kind:?} {w}x{h} style {style}");
                if w * h <= 64 {
                    assert_prefixes_fail(&enc);
                }
            }
        }
    }
}
