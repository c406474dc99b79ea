//! Conversions of single SPICE pixel encodings to RGBA8.
//!
//! Kept in one place so every decoder (bitmap, LZ, cursor) agrees bit for bit, in
//! particular on the 5→8-bit expansion, which differs between naive implementations.

/// E(v) = 8v + ⌊v/4⌋ for every 5-bit v; a table keeps the 16-bit hot loops to loads.
const EXPAND5: [u8; 32] = {
    let mut t = [0u8; 32];
    let mut v = 0;
    while v < 32 {
        t[v] = (8 * v + v / 4) as u8;
        v += 1;
    }
    t
};

/// The SPICE 5→8-bit expansion; replicates the top 3 bits into the low bits.
#[inline]
pub fn expand5(v: u16) -> u8 {
    EXPAND5[usize::from(v & 31)]
}

/// x1r5g5b5 (bit 15 ignored) to opaque RGBA.
#[inline]
pub fn rgb16_to_rgba(v: u16) -> [u8; 4] {
    [expand5(v >> 10), expand5(v >> 5), expand5(v), 255]
}

/// A 0x??RRGGBB value (palette entry, 32-bit pixel read as u32) to opaque RGBA.
#[inline]
pub fn xrgb_to_rgba(v: u32) -> [u8; 4] {
    let [b, g, r, _] = v.to_le_bytes();
    [r, g, b, 255]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion() {
        assert_eq!(expand5(0), 0);
        assert_eq!(expand5(31), 255);
        assert_eq!(expand5(16), 132);
        assert_eq!(expand5(1), 8);
        assert_eq!(expand5(4), 33);
    }

    #[test]
    fn rgb16() {
        // R=31, G=0, B=16, bit 15 set (ignored)
        assert_eq!(rgb16_to_rgba(0x8000 | (31 << 10) | 16), [255, 0, 132, 255]);
    }

    #[test]
    fn xrgb() {
        assert_eq!(xrgb_to_rgba(0xAA11_2233), [0x11, 0x22, 0x33, 255]);
    }
}
