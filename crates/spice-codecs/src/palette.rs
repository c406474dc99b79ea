//! Indexed-colour palettes and their conversion to RGBA lookup tables.
//!
//! Out-of-range indices are a policy question that each format answers differently
//! (see [`crate::bitmap`] and [`crate::lz`]); the lookup table always has 256 entries so
//! indexing it with a `u8` can never go out of bounds, and the policy is applied by the
//! decoders, not by a per-pixel branch here.

use crate::pixel::xrgb_to_rgba;
use crate::CodecError;

/// A SPICE palette as carried in a BITMAP or LZ_PLT image (or its palette cache).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Palette {
    /// The cache key (`palette.unique` on the wire).
    pub unique: u64,
    /// Entries as 0x??RRGGBB; the top byte is ignored.
    pub entries: Vec<u32>,
}

impl Palette {
    /// Wraps already-parsed entries.
    pub fn new(unique: u64, entries: Vec<u32>) -> Self {
        Palette { unique, entries }
    }

    /// Parses the wire form `u64le unique, u16le n, u32le entries[n]`.
    ///
    /// Returns the palette and the number of bytes consumed, because on the wire it is
    /// followed by other fields.
    pub fn parse(data: &[u8]) -> Result<(Palette, usize), CodecError> {
        let truncated = |needed: usize| CodecError::Truncated {
            needed: needed as u64,
            available: data.len() as u64,
        };
        let head = data.get(..10).ok_or_else(|| truncated(10))?;
        let mut unique = [0u8; 8];
        unique.copy_from_slice(&head[..8]);
        let n = usize::from(u16::from_le_bytes([head[8], head[9]]));
        let end = 10 + 4 * n;
        let body = data.get(10..end).ok_or_else(|| truncated(end))?;
        let entries = body
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok((
            Palette {
                unique: u64::from_le_bytes(unique),
                entries,
            },
            end,
        ))
    }

    /// Each entry as opaque RGBA, in palette order.
    pub fn to_rgba_table(&self) -> Vec<[u8; 4]> {
        self.entries.iter().map(|&e| xrgb_to_rgba(e)).collect()
    }
}

/// A 256-entry RGBA table plus the real entry count, so callers can apply their
/// out-of-range policy once per row instead of once per pixel.
pub(crate) struct Lut {
    pub table: [[u8; 4]; 256],
    pub len: usize,
}

impl Lut {
    /// Entries beyond the palette are opaque black; callers must reject indices ≥ `len`.
    pub(crate) fn direct(palette: &Palette) -> Lut {
        let mut table = [[0, 0, 0, 255]; 256];
        for (slot, &e) in table.iter_mut().zip(&palette.entries) {
            *slot = xrgb_to_rgba(e);
        }
        Lut {
            table,
            len: palette.entries.len(),
        }
    }

    /// Index `i` maps to entry `i mod len`, the reference's rule for 4-bit data.
    pub(crate) fn modulo(palette: &Palette) -> Result<Lut, CodecError> {
        let n = palette.entries.len();
        if n == 0 {
            return Err(CodecError::PaletteIndex { index: 0, len: 0 });
        }
        let mut table = [[0, 0, 0, 255]; 256];
        for (i, slot) in table.iter_mut().enumerate() {
            *slot = xrgb_to_rgba(palette.entries[i % n]);
        }
        Ok(Lut { table, len: n })
    }

    /// Rejects a row of 8-bit indices if any is outside the palette; a max-reduction
    /// vectorises, a per-pixel branch in the lookup loop would not.
    pub(crate) fn check_indices(&self, row: &[u8]) -> Result<(), CodecError> {
        if self.len >= 256 {
            return Ok(());
        }
        let max = row.iter().copied().max().unwrap_or(0);
        if usize::from(max) >= self.len {
            return Err(CodecError::PaletteIndex {
                index: u32::from(max),
                len: self.len as u32,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_wire() {
        let mut w = 7u64.to_le_bytes().to_vec();
        w.extend_from_slice(&2u16.to_le_bytes());
        w.extend_from_slice(&0x00FF_0000u32.to_le_bytes());
        w.extend_from_slice(&0x0000_00FFu32.to_le_bytes());
        w.push(0xEE);
        let (p, used) = Palette::parse(&w).unwrap();
        assert_eq!(used, 18);
        assert_eq!(p.unique, 7);
        assert_eq!(p.entries, [0x00FF_0000, 0xFF]);
        assert_eq!(p.to_rgba_table(), [[255, 0, 0, 255], [0, 0, 255, 255]]);
        for n in 0..18 {
            assert!(Palette::parse(&w[..n]).is_err());
        }
    }

    #[test]
    fn luts() {
        let p = Palette::new(0, vec![0x10_20_30, 0x40_50_60, 0x70_80_90]);
        let m = Lut::modulo(&p).unwrap();
        assert_eq!(m.table[4], [0x40, 0x50, 0x60, 255]);
        assert!(Lut::modulo(&Palette::default()).is_err());
        let d = Lut::direct(&p);
        assert!(d.check_indices(&[0, 1, 2]).is_ok());
        assert_eq!(
            d.check_indices(&[0, 3]),
            Err(CodecError::PaletteIndex { index: 3, len: 3 })
        );
    }
}
