//! Expansion of packed palette-index rows (1, 4 and 8 bits per pixel) to RGBA.
//!
//! Shared by raw bitmaps and LZ palette images, which use the same packings and must
//! apply the same out-of-range policy:
//!
//! - 1 bit: entries 0 and 1 are used directly; a pixel that needs a missing entry is an
//!   error.
//! - 4 bit: the index is taken modulo the palette length (the reference's rule, which
//!   tolerates the short palettes some guests send).
//! - 8 bit: an index beyond the palette is an error ([`CodecError::PaletteIndex`]). We do not
//!   clamp: a wrong colour would silently persist in the image cache, while an error is
//!   visible in logs and the server resends on the next damage.

use crate::palette::{Lut, Palette};
use crate::CodecError;

/// How palette indices are packed into bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Packing {
    /// 1 bit per pixel, bit 0 is the leftmost pixel.
    OneLe,
    /// 1 bit per pixel, bit 7 is the leftmost pixel.
    OneBe,
    /// 4 bits per pixel, low nibble is the leftmost pixel.
    FourLe,
    /// 4 bits per pixel, high nibble is the leftmost pixel.
    FourBe,
    /// 1 byte per pixel.
    Eight,
}

impl Packing {
    pub(crate) fn pixels_per_byte(self) -> u32 {
        match self {
            Packing::OneLe | Packing::OneBe => 8,
            Packing::FourLe | Packing::FourBe => 2,
            Packing::Eight => 1,
        }
    }

    /// Bytes holding `width` pixels, i.e. the minimal row size.
    pub(crate) fn row_bytes(self, width: u32) -> u32 {
        width.div_ceil(self.pixels_per_byte())
    }
}

/// A row expander bound to one palette.
pub(crate) struct IndexedRows {
    packing: Packing,
    lut: Lut,
}

impl IndexedRows {
    pub(crate) fn new(packing: Packing, palette: Option<&Palette>) -> Result<Self, CodecError> {
        let palette = palette.ok_or(CodecError::MissingPalette)?;
        let lut = match packing {
            Packing::FourLe | Packing::FourBe => Lut::modulo(palette)?,
            _ => Lut::direct(palette),
        };
        if lut.len == 0 {
            return Err(CodecError::PaletteIndex { index: 0, len: 0 });
        }
        Ok(IndexedRows { packing, lut })
    }

    /// Writes `out.len() / 4` pixels from `src`, which must hold at least
    /// `row_bytes(width)` bytes; bytes beyond that (stride padding) are ignored.
    pub(crate) fn expand_row(&self, src: &[u8], out: &mut [u8]) -> Result<(), CodecError> {
        let width = out.len() / 4;
        let t = &self.lut.table;
        match self.packing {
            Packing::Eight => {
                let src = src.get(..width).ok_or(CodecError::Truncated {
                    needed: width as u64,
                    available: src.len() as u64,
                })?;
                self.lut.check_indices(src)?;
                for (o, &i) in out.chunks_exact_mut(4).zip(src) {
                    o.copy_from_slice(&t[usize::from(i)]);
                }
            }
            Packing::FourLe | Packing::FourBe => {
                let (first, second) = if self.packing == Packing::FourLe {
                    (0, 4)
                } else {
                    (4, 0)
                };
                let mut pairs = out.chunks_exact_mut(8);
                for (o, &b) in (&mut pairs).zip(src) {
                    o[..4].copy_from_slice(&t[usize::from((b >> first) & 15)]);
                    o[4..].copy_from_slice(&t[usize::from((b >> second) & 15)]);
                }
                let rest = pairs.into_remainder();
                if !rest.is_empty() {
                    let b = src.get(width / 2).copied().unwrap_or(0);
                    rest.copy_from_slice(&t[usize::from((b >> first) & 15)]);
                }
            }
            Packing::OneLe | Packing::OneBe => {
                if self.lut.len < 2 {
                    self.check_no_set_bit(src, width)?;
                }
                let le = self.packing == Packing::OneLe;
                let shift = |i: usize| if le { i } else { 7 - i };
                let mut octets = out.chunks_exact_mut(32);
                for (o, &b) in (&mut octets).zip(src) {
                    for (i, px) in o.chunks_exact_mut(4).enumerate() {
                        px.copy_from_slice(&t[usize::from((b >> shift(i)) & 1)]);
                    }
                }
                let rest = octets.into_remainder();
                let b = src.get(width / 8).copied().unwrap_or(0);
                for (i, px) in rest.chunks_exact_mut(4).enumerate() {
                    px.copy_from_slice(&t[usize::from((b >> shift(i)) & 1)]);
                }
            }
        }
        Ok(())
    }

    /// A one-entry palette is only acceptable for a 1-bit row if entry 1 is never used.
    fn check_no_set_bit(&self, src: &[u8], width: usize) -> Result<(), CodecError> {
        let le = self.packing == Packing::OneLe;
        let used = src
            .iter()
            .take(width.div_ceil(8))
            .enumerate()
            .any(|(i, &b)| {
                let valid = (width - i * 8).min(8);
                let mask = if valid == 8 {
                    0xFF
                } else if le {
                    (1u8 << valid) - 1
                } else {
                    !(0xFFu8 >> valid)
                };
                b & mask != 0
            });
        if used {
            return Err(CodecError::PaletteIndex {
                index: 1,
                len: self.lut.len as u32,
            });
        }
        Ok(())
    }
}
