//! Writing a surface as PNG.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use anyhow::{Context, Result};
use spice_client::display::Surface;

/// Writes the surface as an 8-bit RGB PNG (alpha is dropped: the primary surface is opaque).
pub fn write_png(surface: &Surface, path: &Path) -> Result<()> {
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut enc = png::Encoder::new(BufWriter::new(file), surface.width(), surface.height());
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let rgb: Vec<u8> = surface
        .pixels()
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    let mut w = enc.write_header().context("writing PNG header")?;
    w.write_image_data(&rgb).context("writing PNG data")?;
    w.finish().context("finishing PNG")?;
    Ok(())
}
