//! P6 PPM (maxval 255) reading/writing and pixel comparison.

use anyhow::{bail, Context, Result};
use std::path::Path;

/// An RGBA image, 4 bytes per pixel (R, G, B, A), rows top to bottom, no padding.
/// Images from PPM have A = 255.
#[derive(Clone, PartialEq, Eq)]
pub struct Rgba {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
}

impl std::fmt::Debug for Rgba {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Rgba({}x{})", self.width, self.height)
    }
}

impl Rgba {
    /// A `width`x`height` image filled with `rgba`.
    pub fn filled(width: u32, height: u32, rgba: [u8; 4]) -> Rgba {
        let pixels = rgba
            .iter()
            .copied()
            .cycle()
            .take(width as usize * height as usize * 4)
            .collect();
        Rgba {
            width,
            height,
            pixels,
        }
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
        let p = self.pixel(x, y);
        [p[0], p[1], p[2]]
    }

    /// Parses a binary PPM (P6, maxval 255; comments allowed in the header).
    pub fn from_ppm(data: &[u8]) -> Result<Rgba> {
        parse_ppm(data)
    }

    /// Reads a PPM file.
    pub fn load_ppm(path: impl AsRef<Path>) -> Result<Rgba> {
        let path = path.as_ref();
        let data = std::fs::read(path).with_context(|| format!("read {}", path.display()))?;
        parse_ppm(&data).with_context(|| format!("parse {}", path.display()))
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

    /// Writes a P6 PPM file (e.g. a failure artifact).
    pub fn save_ppm(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        std::fs::write(path, self.to_ppm()).with_context(|| format!("write {}", path.display()))
    }
}

/// Parses a P6 PPM with maxval 255 into [`Rgba`] (A = 255).
pub fn parse_ppm(data: &[u8]) -> Result<Rgba> {
    let mut pos = 0usize;
    let mut fields = Vec::with_capacity(4);
    while fields.len() < 4 {
        // skip whitespace and comments
        while pos < data.len() {
            if data[pos].is_ascii_whitespace() {
                pos += 1;
            } else if data[pos] == b'#' {
                while pos < data.len() && data[pos] != b'\n' {
                    pos += 1;
                }
            } else {
                break;
            }
        }
        let start = pos;
        while pos < data.len() && !data[pos].is_ascii_whitespace() && data[pos] != b'#' {
            pos += 1;
        }
        if start == pos {
            bail!("truncated PPM header");
        }
        fields.push(std::str::from_utf8(&data[start..pos])?.to_string());
    }
    if fields[0] != "P6" {
        bail!("not a binary PPM (magic {:?})", fields[0]);
    }
    let width: u32 = fields[1].parse().context("PPM width")?;
    let height: u32 = fields[2].parse().context("PPM height")?;
    let maxval: u32 = fields[3].parse().context("PPM maxval")?;
    if maxval != 255 {
        bail!("PPM maxval {maxval} unsupported (only 255)");
    }
    // exactly one whitespace byte after maxval
    if pos >= data.len() || !data[pos].is_ascii_whitespace() {
        bail!("truncated PPM header");
    }
    pos += 1;
    let n = width as usize * height as usize;
    let body = &data[pos..];
    if body.len() < n * 3 {
        bail!("PPM body has {} bytes, expected {}", body.len(), n * 3);
    }
    let mut pixels = Vec::with_capacity(n * 4);
    for px in body[..n * 3].chunks_exact(3) {
        pixels.extend_from_slice(&[px[0], px[1], px[2], 255]);
    }
    Ok(Rgba {
        width,
        height,
        pixels,
    })
}

/// The result of comparing two images.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diff {
    /// The images have different dimensions (then nothing else is compared).
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
pub fn compare(a: &Rgba, b: &Rgba) -> Diff {
    compare_with_tolerance(a, b, 0)
}

/// RGB comparison where a pixel differs if some channel differs by more than `tolerance`.
pub fn compare_with_tolerance(a: &Rgba, b: &Rgba, tolerance: u8) -> Diff {
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
        let delta = (0..3).map(|c| pa[c].abs_diff(pb[c])).max().unwrap_or(0);
        d.max_channel_delta = d.max_channel_delta.max(delta);
        if delta > tolerance {
            let (x, y) = ((i % w) as u32, (i / w) as u32);
            d.differing_pixels += 1;
            if d.first_diff.is_none() {
                d.first_diff = Some((x, y));
            }
            d.bbox = Some(match d.bbox {
                None => (x, y, x, y),
                Some((x0, y0, x1, y1)) => (x0.min(x), y0.min(y), x1.max(x), y1.max(y)),
            });
        }
    }
    d
}

/// Peak signal-to-noise ratio over R, G and B in dB (infinite for identical images), the
/// measure lossy codecs are held to.
pub fn psnr(a: &Rgba, b: &Rgba) -> f64 {
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

#[cfg(test)]
mod psnr_tests {
    use super::*;

    #[test]
    fn psnr_of_a_known_error() {
        let a = Rgba::filled(2, 1, [100, 100, 100, 255]);
        let mut b = a.clone();
        assert!(psnr(&a, &b).is_infinite());
        b.pixels[0] = 110; // one channel off by 10 of 6: MSE = 100/6
        let want = 10.0 * (255.0f64 * 255.0 / (100.0 / 6.0)).log10();
        assert!((psnr(&a, &b) - want).abs() < 1e-9);
    }
}
