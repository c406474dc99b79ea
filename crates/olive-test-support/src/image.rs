//! Pictures in tests: RGBA8 images, PPM/PGM (QMP `screendump` writes P6) and PNG files,
//! and the comparisons rendering tests assert.
//!
//! One reader for the workspace: the QEMU harness, the JPEG fixtures (P5/P6 from
//! `djpeg`) and the golden pictures all go through it. Files here come from QEMU, from
//! fixtures and from earlier runs, so parsing is bounded and errors say what was wrong.

use std::path::{Path, PathBuf};

/// The largest picture read or made, in pixels (a 16384 × 16384 surface): a corrupt
/// header must not make a test allocate gigabytes.
pub const MAX_PIXELS: u64 = 1 << 28;

/// Why a picture could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// Reading or writing the file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The PNM header ended early or a field was not a number.
    #[error("bad PNM header: {0}")]
    PnmHeader(&'static str),
    /// Neither P6 (PPM) nor P5 (PGM).
    #[error("not a binary PPM or PGM (magic {0:?})")]
    PnmMagic(String),
    /// Only 8-bit samples are read.
    #[error("PNM maxval {0} unsupported (only 255)")]
    PnmMaxval(u32),
    /// Zero or oversized dimensions.
    #[error("picture {width}x{height} is empty or larger than {MAX_PIXELS} pixels")]
    Size {
        /// Claimed width.
        width: u32,
        /// Claimed height.
        height: u32,
    },
    /// The pixel data is shorter than the header says.
    #[error("pixel data has {have} bytes, the header needs {want}")]
    Short {
        /// Bytes present.
        have: usize,
        /// Bytes needed.
        want: usize,
    },
    /// The PNG decoder refused the file.
    #[error("PNG: {0}")]
    PngDecode(#[from] png::DecodingError),
    /// The PNG encoder failed.
    #[error("PNG: {0}")]
    PngEncode(#[from] png::EncodingError),
    /// A PNG layout this reader does not turn into RGBA.
    #[error("PNG colour type {0:?} unsupported")]
    PngColor(png::ColorType),
    /// A file name with no picture extension.
    #[error("{}: not .ppm, .pgm or .png", .0.display())]
    Extension(PathBuf),
}

/// An RGBA8 picture: bytes R, G, B, A; rows top to bottom, no padding. Pictures read from
/// PPM, PGM or RGB PNG have A = 255. The fields are public for struct literals in tests;
/// `pixels.len()` must be `4 * width * height` ([`Image::new`] checks it).
#[derive(Clone, PartialEq, Eq)]
pub struct Image {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `4 * width * height` bytes.
    pub pixels: Vec<u8>,
}

impl std::fmt::Debug for Image {
    // A failed assertion that prints megabytes of pixels helps nobody.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Image({}x{})", self.width, self.height)
    }
}

impl Image {
    /// A picture from RGBA8 pixels. Panics when the length does not match the size: a
    /// test that builds an inconsistent picture has a bug to see at once.
    pub fn new(width: u32, height: u32, pixels: Vec<u8>) -> Image {
        assert_eq!(
            pixels.len() as u64,
            u64::from(width) * u64::from(height) * 4,
            "{width}x{height} RGBA needs 4 bytes a pixel"
        );
        Image {
            width,
            height,
            pixels,
        }
    }

    /// A picture from RGB8 pixels (A = 255).
    pub fn from_rgb(width: u32, height: u32, rgb: &[u8]) -> Image {
        let pixels = rgb
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect();
        Image::new(width, height, pixels)
    }

    /// A `width`x`height` picture filled with `rgba`.
    pub fn filled(width: u32, height: u32, rgba: [u8; 4]) -> Image {
        let n = width as usize * height as usize;
        Image::new(width, height, rgba.repeat(n))
    }

    /// The same picture with every alpha at 255, to compare a surface with a screendump
    /// (which has no alpha).
    pub fn opaque(mut self) -> Image {
        self.pixels.chunks_exact_mut(4).for_each(|p| p[3] = 255);
        self
    }

    /// The pixel at (x, y) as [R, G, B, A]. Panics when out of bounds.
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 4] {
        assert!(
            x < self.width && y < self.height,
            "pixel ({x},{y}) outside {}x{}",
            self.width,
            self.height
        );
        let i = (y as usize * self.width as usize + x as usize) * 4;
        [
            self.pixels[i],
            self.pixels[i + 1],
            self.pixels[i + 2],
            self.pixels[i + 3],
        ]
    }

    /// The pixel at (x, y) as [R, G, B].
    pub fn rgb(&self, x: u32, y: u32) -> [u8; 3] {
        let [r, g, b, _] = self.pixel(x, y);
        [r, g, b]
    }

    /// The `w`x`h` part at (x, y). Panics when it reaches outside the picture.
    pub fn crop(&self, x: u32, y: u32, w: u32, h: u32) -> Image {
        assert!(
            x.checked_add(w).is_some_and(|r| r <= self.width)
                && y.checked_add(h).is_some_and(|b| b <= self.height),
            "crop {w}x{h}+{x}+{y} outside {}x{}",
            self.width,
            self.height
        );
        let row = self.width as usize * 4;
        let mut pixels = Vec::with_capacity(w as usize * h as usize * 4);
        for r in y..y + h {
            let start = r as usize * row + x as usize * 4;
            pixels.extend_from_slice(&self.pixels[start..start + w as usize * 4]);
        }
        Image::new(w, h, pixels)
    }

    /// Parses a binary PPM (P6) or PGM (P5) with maxval 255; comments are allowed in the
    /// header. Grey levels become R = G = B.
    pub fn from_ppm(data: &[u8]) -> Result<Image, ImageError> {
        parse_pnm(data)
    }

    /// Encodes as P6 PPM (alpha dropped).
    pub fn to_ppm(&self) -> Vec<u8> {
        let mut out = format!("P6\n{} {}\n255\n", self.width, self.height).into_bytes();
        out.reserve(self.width as usize * self.height as usize * 3);
        for px in self.pixels.chunks_exact(4) {
            out.extend_from_slice(&px[..3]);
        }
        out
    }

    /// Decodes a PNG of any bit depth and colour type into RGBA8.
    pub fn from_png(data: &[u8]) -> Result<Image, ImageError> {
        let mut decoder = png::Decoder::new(data);
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut reader = decoder.read_info()?;
        let (width, height) = reader.info().size();
        check_size(width, height)?;
        let mut buf = vec![0; reader.output_buffer_size()];
        let frame = reader.next_frame(&mut buf)?;
        let buf = &buf[..frame.buffer_size()];
        let pixels = match frame.color_type {
            png::ColorType::Rgba => buf.to_vec(),
            png::ColorType::Rgb => buf
                .chunks_exact(3)
                .flat_map(|p| [p[0], p[1], p[2], 255])
                .collect(),
            png::ColorType::Grayscale => buf.iter().flat_map(|&v| [v, v, v, 255]).collect(),
            png::ColorType::GrayscaleAlpha => buf
                .chunks_exact(2)
                .flat_map(|p| [p[0], p[0], p[0], p[1]])
                .collect(),
            other => return Err(ImageError::PngColor(other)),
        };
        let want = width as usize * height as usize * 4;
        if pixels.len() != want {
            return Err(ImageError::Short {
                have: pixels.len(),
                want,
            });
        }
        Ok(Image::new(width, height, pixels))
    }

    /// Encodes as PNG: RGB when every pixel is opaque (smaller golden files), else RGBA.
    pub fn to_png(&self) -> Result<Vec<u8>, ImageError> {
        let mut out = Vec::new();
        let opaque = self.pixels.chunks_exact(4).all(|p| p[3] == 255);
        let mut enc = png::Encoder::new(&mut out, self.width, self.height);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Best);
        let data = if opaque {
            enc.set_color(png::ColorType::Rgb);
            self.pixels
                .chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect()
        } else {
            enc.set_color(png::ColorType::Rgba);
            self.pixels.clone()
        };
        let mut w = enc.write_header()?;
        w.write_image_data(&data)?;
        w.finish()?;
        Ok(out)
    }

    /// Reads a `.ppm`, `.pgm` or `.png` file, by its extension.
    pub fn load(path: impl AsRef<Path>) -> Result<Image, ImageError> {
        let path = path.as_ref();
        let data = read(path)?;
        match extension(path) {
            Some("ppm" | "pgm") => Image::from_ppm(&data),
            Some("png") => Image::from_png(&data),
            _ => Err(ImageError::Extension(path.to_path_buf())),
        }
    }

    /// Writes a `.ppm` or `.png` file, by its extension.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), ImageError> {
        let path = path.as_ref();
        let data = match extension(path) {
            Some("ppm") => self.to_ppm(),
            Some("png") => self.to_png()?,
            _ => return Err(ImageError::Extension(path.to_path_buf())),
        };
        std::fs::write(path, data).map_err(|source| ImageError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Reads a PPM or PGM file.
    pub fn load_ppm(path: impl AsRef<Path>) -> Result<Image, ImageError> {
        Image::from_ppm(&read(path.as_ref())?)
    }

    /// Writes a P6 PPM file (e.g. a failure artifact).
    pub fn save_ppm(&self, path: impl AsRef<Path>) -> Result<(), ImageError> {
        let path = path.as_ref();
        std::fs::write(path, self.to_ppm()).map_err(|source| ImageError::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}

fn extension(path: &Path) -> Option<&str> {
    path.extension().and_then(|e| e.to_str())
}

fn read(path: &Path) -> Result<Vec<u8>, ImageError> {
    std::fs::read(path).map_err(|source| ImageError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn check_size(width: u32, height: u32) -> Result<(), ImageError> {
    let n = u64::from(width) * u64::from(height);
    if n == 0 || n > MAX_PIXELS {
        return Err(ImageError::Size { width, height });
    }
    Ok(())
}

/// Parses P5/P6 with maxval 255.
fn parse_pnm(data: &[u8]) -> Result<Image, ImageError> {
    let mut pos = 0usize;
    let mut fields: Vec<&str> = Vec::with_capacity(4);
    while fields.len() < 4 {
        // Whitespace and comments between fields.
        while let Some(&b) = data.get(pos) {
            if b.is_ascii_whitespace() {
                pos += 1;
            } else if b == b'#' {
                while data.get(pos).is_some_and(|&b| b != b'\n') {
                    pos += 1;
                }
            } else {
                break;
            }
        }
        let start = pos;
        while data
            .get(pos)
            .is_some_and(|&b| !b.is_ascii_whitespace() && b != b'#')
        {
            pos += 1;
        }
        if start == pos {
            return Err(ImageError::PnmHeader("truncated"));
        }
        let field = std::str::from_utf8(&data[start..pos])
            .map_err(|_| ImageError::PnmHeader("a field is not text"))?;
        fields.push(field);
    }
    let channels = match fields[0] {
        "P6" => 3,
        "P5" => 1,
        m => return Err(ImageError::PnmMagic(m.to_owned())),
    };
    let number = |s: &str, what| s.parse::<u32>().map_err(|_| ImageError::PnmHeader(what));
    let width = number(fields[1], "width is not a number")?;
    let height = number(fields[2], "height is not a number")?;
    let maxval = number(fields[3], "maxval is not a number")?;
    if maxval != 255 {
        return Err(ImageError::PnmMaxval(maxval));
    }
    check_size(width, height)?;
    // Exactly one whitespace byte separates the header from the samples.
    if !data.get(pos).is_some_and(|b| b.is_ascii_whitespace()) {
        return Err(ImageError::PnmHeader("truncated"));
    }
    let body = &data[pos + 1..];
    let want = width as usize * height as usize * channels;
    let Some(samples) = body.get(..want) else {
        return Err(ImageError::Short {
            have: body.len(),
            want,
        });
    };
    Ok(if channels == 3 {
        Image::from_rgb(width, height, samples)
    } else {
        let pixels = samples.iter().flat_map(|&v| [v, v, v, 255]).collect();
        Image::new(width, height, pixels)
    })
}

/// How two pictures differ.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diff {
    /// The pictures have different sizes (then nothing else is compared).
    pub size_mismatch: bool,
    /// Pixels whose RGB differ by more than the tolerance in some channel (alpha ignored).
    pub differing_pixels: u64,
    /// First differing pixel in row-major order.
    pub first_diff: Option<(u32, u32)>,
    /// Bounding box of the differing pixels: (x0, y0, x1, y1), inclusive.
    pub bbox: Option<(u32, u32, u32, u32)>,
    /// Largest per-channel absolute difference seen.
    pub max_channel_delta: u8,
}

impl Diff {
    /// Same size and no differing pixels.
    pub fn is_identical(&self) -> bool {
        !self.size_mismatch && self.differing_pixels == 0
    }
}

impl std::fmt::Display for Diff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.size_mismatch {
            return write!(f, "size mismatch");
        }
        write!(
            f,
            "{} differing pixels, first {:?}, bbox {:?}, max channel delta {}",
            self.differing_pixels, self.first_diff, self.bbox, self.max_channel_delta
        )
    }
}

/// Exact RGB comparison (alpha ignored).
pub fn compare(a: &Image, b: &Image) -> Diff {
    compare_with_tolerance(a, b, 0)
}

/// The largest RGB channel difference of two pixels.
fn delta(pa: &[u8], pb: &[u8]) -> u8 {
    (0..3).map(|c| pa[c].abs_diff(pb[c])).max().unwrap_or(0)
}

/// RGB comparison where a pixel differs if some channel differs by more than `tolerance`.
pub fn compare_with_tolerance(a: &Image, b: &Image, tolerance: u8) -> Diff {
    if a.width != b.width || a.height != b.height {
        return Diff {
            size_mismatch: true,
            ..Diff::default()
        };
    }
    let mut d = Diff::default();
    let w = a.width as usize;
    for (i, (pa, pb)) in a
        .pixels
        .chunks_exact(4)
        .zip(b.pixels.chunks_exact(4))
        .enumerate()
    {
        let delta = delta(pa, pb);
        d.max_channel_delta = d.max_channel_delta.max(delta);
        if delta > tolerance {
            let (x, y) = ((i % w) as u32, (i / w) as u32);
            d.differing_pixels += 1;
            d.first_diff.get_or_insert((x, y));
            d.bbox = Some(match d.bbox {
                None => (x, y, x, y),
                Some((x0, y0, x1, y1)) => (x0.min(x), y0.min(y), x1.max(x), y1.max(y)),
            });
        }
    }
    d
}

/// Mean absolute RGB channel difference (0 for identical pictures; `NaN` for pictures
/// of different sizes).
pub fn mean_abs_error(a: &Image, b: &Image) -> f64 {
    if a.width != b.width || a.height != b.height || a.pixels.is_empty() {
        return f64::NAN;
    }
    let sum: u64 = a
        .pixels
        .chunks_exact(4)
        .zip(b.pixels.chunks_exact(4))
        .map(|(pa, pb)| {
            (0..3)
                .map(|c| u64::from(pa[c].abs_diff(pb[c])))
                .sum::<u64>()
        })
        .sum();
    sum as f64 / (a.pixels.len() / 4 * 3) as f64
}

/// Peak signal-to-noise ratio over R, G and B in dB (infinite for identical pictures, 0
/// for pictures of different sizes): the measure lossy codecs are held to.
pub fn psnr(a: &Image, b: &Image) -> f64 {
    if a.width != b.width || a.height != b.height || a.pixels.is_empty() {
        return 0.0;
    }
    let (mut sum, mut n) = (0f64, 0f64);
    for (pa, pb) in a.pixels.chunks_exact(4).zip(b.pixels.chunks_exact(4)) {
        for c in 0..3 {
            let d = f64::from(pa[c]) - f64::from(pb[c]);
            sum += d * d;
            n += 1.0;
        }
    }
    if sum == 0.0 {
        return f64::INFINITY;
    }
    10.0 * (255.0f64 * 255.0 / (sum / n)).log10()
}

/// A picture of where `actual` differs from `expected` by more than `tolerance`: those
/// pixels in red, the others as a faint grey copy of `expected`. `None` when the sizes
/// differ (then there is nothing to overlay).
pub fn diff_picture(expected: &Image, actual: &Image, tolerance: u8) -> Option<Image> {
    if expected.width != actual.width || expected.height != actual.height {
        return None;
    }
    let pixels = expected
        .pixels
        .chunks_exact(4)
        .zip(actual.pixels.chunks_exact(4))
        .flat_map(|(e, a)| {
            if delta(e, a) > tolerance {
                [255, 0, 0, 255]
            } else {
                let grey = (u16::from(e[0]) + u16::from(e[1]) + u16::from(e[2])) / 3;
                let faint = (192 + grey / 4) as u8;
                [faint, faint, faint, 255]
            }
        })
        .collect();
    Some(Image::new(expected.width, expected.height, pixels))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: u32, h: u32) -> Image {
        let mut px = Vec::new();
        for y in 0..h {
            for x in 0..w {
                px.extend([(x * 40) as u8, (y * 60) as u8, 7, 255]);
            }
        }
        Image::new(w, h, px)
    }

    #[test]
    fn ppm_and_png_round_trip() {
        let img = gradient(5, 3);
        assert_eq!(Image::from_ppm(&img.to_ppm()).unwrap(), img);
        assert_eq!(Image::from_png(&img.to_png().unwrap()).unwrap(), img);
        let mut translucent = img.clone();
        translucent.pixels[3] = 9;
        let back = Image::from_png(&translucent.to_png().unwrap()).unwrap();
        assert_eq!(back, translucent, "alpha survives when it is there");
    }

    #[test]
    fn pnm_headers_with_comments_and_grey_maps() {
        let ppm = b"P6\n# made by hand\n2 1\n255\n\x01\x02\x03\x04\x05\x06";
        let img = Image::from_ppm(ppm).unwrap();
        assert_eq!((img.rgb(0, 0), img.rgb(1, 0)), ([1, 2, 3], [4, 5, 6]));
        let pgm = Image::from_ppm(b"P5 2 1 255 \x10\x20").unwrap();
        assert_eq!(pgm.pixel(1, 0), [0x20, 0x20, 0x20, 255]);
    }

    #[test]
    fn bad_pnm_is_an_error_not_a_panic() {
        for bad in [
            &b""[..],
            b"P6",
            b"P3 1 1 255 0 0 0",
            b"P6 1 1 65535 \0\0\0\0\0\0",
            b"P6 2 2 255 \0\0\0",
            b"P6 0 5 255 ",
            b"P6 99999 99999 255 ",
            b"P6 x 1 255 \0\0\0",
        ] {
            assert!(Image::from_ppm(bad).is_err(), "{bad:?}");
        }
        assert!(Image::from_png(b"\x89PNG\r\n\x1a\n").is_err());
    }

    #[test]
    fn comparisons_find_what_differs() {
        let a = gradient(4, 4);
        let mut b = a.clone();
        b.pixels[(2 * 4 + 1) * 4] ^= 0x10;
        let d = compare(&a, &b);
        assert_eq!((d.differing_pixels, d.first_diff), (1, Some((1, 2))));
        assert_eq!((d.bbox, d.max_channel_delta), (Some((1, 2, 1, 2)), 16));
        assert!(compare_with_tolerance(&a, &b, 16).is_identical());
        assert!(compare(&a, &gradient(4, 3)).size_mismatch);
        assert!(psnr(&a, &a).is_infinite() && psnr(&a, &b) > 30.0);
        assert!((mean_abs_error(&a, &b) - 16.0 / 48.0).abs() < 1e-12);
        let pic = diff_picture(&a, &b, 0).unwrap();
        assert_eq!(pic.pixel(1, 2), [255, 0, 0, 255]);
        assert_ne!(pic.pixel(0, 0), [255, 0, 0, 255]);
        assert_eq!(a.crop(1, 2, 2, 1).pixel(0, 0), a.pixel(1, 2));
    }

    #[test]
    fn psnr_of_a_known_error() {
        let a = Image::filled(2, 1, [100, 100, 100, 255]);
        let mut b = a.clone();
        b.pixels[0] = 110; // one channel off by 10 of 6: MSE = 100/6
        let want = 10.0 * (255.0f64 * 255.0 / (100.0 / 6.0)).log10();
        assert!((psnr(&a, &b) - want).abs() < 1e-9);
    }
}
