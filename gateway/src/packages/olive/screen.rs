//! A package's saved screen (`screen.ppm`, QMP's screendump format) as PNG, for browsers:
//! a kiosk's attract loop shows it while no machine runs. The file is the curator's, but it
//! is still read with bounds: a header that lies about its size is refused, not trusted.

use std::path::Path;

use crate::qemu::screen::Ppm;

/// Largest screen accepted per side (QEMU's displays stop well below this).
const MAX_SIDE: usize = 8192;

/// Why a screen could not be turned into a PNG.
#[derive(Debug, thiserror::Error)]
pub enum ScreenError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Not a binary PPM (P6, maxval 255) of a plausible size.
    #[error("{0}: not a P6 screendump")]
    Format(String),
    /// The PNG encoder failed.
    #[error("PNG: {0}")]
    Encode(String),
}

/// Width, height and the RGB bytes of a P6 PPM (the gateway's one PPM reader,
/// [`Ppm::parse`]), bounded per side.
fn parse_ppm(b: &[u8]) -> Option<(u32, u32, &[u8])> {
    let p = Ppm::parse(b)?;
    if p.width == 0 || p.height == 0 || p.width > MAX_SIDE || p.height > MAX_SIDE {
        return None;
    }
    Some((
        u32::try_from(p.width).ok()?,
        u32::try_from(p.height).ok()?,
        p.rgb,
    ))
}

/// The PPM at `path` as PNG bytes.
pub fn png_of_ppm(path: &Path) -> Result<Vec<u8>, ScreenError> {
    let bytes = std::fs::read(path).map_err(|source| ScreenError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let (w, h, rgb) =
        parse_ppm(&bytes).ok_or_else(|| ScreenError::Format(path.display().to_string()))?;
    encode_png(w, h, rgb)
}

fn encode_png(w: u32, h: u32, rgb: &[u8]) -> Result<Vec<u8>, ScreenError> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Fast);
    let mut writer = enc
        .write_header()
        .map_err(|e| ScreenError::Encode(e.to_string()))?;
    writer
        .write_image_data(rgb)
        .map_err(|e| ScreenError::Encode(e.to_string()))?;
    writer
        .finish()
        .map_err(|e| ScreenError::Encode(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_screendump_becomes_a_png_and_lies_are_refused() {
        let mut ppm = b"P6\n# QEMU\n2 1\n255\n".to_vec();
        ppm.extend_from_slice(&[255, 0, 0, 0, 0, 255]);
        let (w, h, px) = parse_ppm(&ppm).unwrap();
        assert_eq!((w, h, px.len()), (2, 1, 6));
        let png = encode_png(w, h, px).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let mut dec = png::Decoder::new(std::io::Cursor::new(png))
            .read_info()
            .unwrap();
        let mut buf = vec![0; dec.output_buffer_size()];
        dec.next_frame(&mut buf).unwrap();
        assert_eq!(&buf[..6], &[255, 0, 0, 0, 0, 255]);
        for bad in [
            &b"P6\n2 1\n255\n\xff"[..],
            b"P5\n2 1\n255\n123456",
            b"P6\n99999 1\n255\n",
            b"P6\n2 1\n65535\n123456789abc",
            b"P6 2",
            b"",
        ] {
            assert!(parse_ppm(bad).is_none(), "{bad:?}");
        }
    }
}
