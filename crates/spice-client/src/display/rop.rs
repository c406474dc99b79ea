//! SPICE raster-operation descriptors (`ropd`) applied to 8-bit colour channels.
//!
//! The operations are bitwise, so applying them per byte to R, G and B gives the same
//! result as applying them to the packed xRGB word the guest driver thinks in.

use spice_proto::messages::display::ropd;

/// A raw `ropd` value as sent by the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ropd(pub u16);

impl Ropd {
    pub const INVERS_SRC: u16 = ropd::INVERS_SRC;
    pub const INVERS_BRUSH: u16 = ropd::INVERS_BRUSH;
    pub const INVERS_DEST: u16 = ropd::INVERS_DEST;
    pub const OP_PUT: u16 = ropd::OP_PUT;
    pub const OP_OR: u16 = ropd::OP_OR;
    pub const OP_AND: u16 = ropd::OP_AND;
    pub const OP_XOR: u16 = ropd::OP_XOR;
    pub const OP_BLACKNESS: u16 = ropd::OP_BLACKNESS;
    pub const OP_WHITENESS: u16 = ropd::OP_WHITENESS;
    pub const OP_INVERS: u16 = ropd::OP_INVERS;
    pub const INVERS_RES: u16 = ropd::INVERS_RES;

    pub const PUT: Ropd = Ropd(Self::OP_PUT);

    /// True when the result is the source unchanged, which allows plain row copies.
    pub fn is_plain_put(self) -> bool {
        self.0 & (Self::OP_OR | Self::OP_AND | Self::OP_XOR) == 0
            && self.0 & (Self::OP_BLACKNESS | Self::OP_WHITENESS | Self::OP_INVERS) == 0
            && self.0 & (Self::INVERS_SRC | Self::INVERS_DEST | Self::INVERS_RES) == 0
    }

    /// Combines one channel of the source (the brush, for fills) with the destination.
    ///
    /// `source_inverted` tells which inversion bit applies to the source: INVERS_SRC for
    /// image sources, INVERS_BRUSH for brushes.
    pub fn apply(self, src: u8, dst: u8, source_inverted: bool) -> u8 {
        let bits = self.0;
        let s = if source_inverted { !src } else { src };
        let d = if bits & Self::INVERS_DEST != 0 {
            !dst
        } else {
            dst
        };
        let r = if bits & Self::OP_BLACKNESS != 0 {
            0
        } else if bits & Self::OP_WHITENESS != 0 {
            0xff
        } else if bits & Self::OP_INVERS != 0 {
            !dst
        } else if bits & Self::OP_XOR != 0 {
            s ^ d
        } else if bits & Self::OP_AND != 0 {
            s & d
        } else if bits & Self::OP_OR != 0 {
            s | d
        } else {
            s
        };
        if bits & Self::INVERS_RES != 0 {
            !r
        } else {
            r
        }
    }

    pub fn src_inverted(self) -> bool {
        self.0 & Self::INVERS_SRC != 0
    }

    pub fn brush_inverted(self) -> bool {
        self.0 & Self::INVERS_BRUSH != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_copies_source() {
        assert!(Ropd::PUT.is_plain_put());
        assert_eq!(Ropd::PUT.apply(0x12, 0xff, false), 0x12);
    }

    #[test]
    fn boolean_ops_match_hand_computed_values() {
        let s = 0b1100_1010;
        let d = 0b1010_0110;
        assert_eq!(Ropd(Ropd::OP_OR).apply(s, d, false), 0b1110_1110);
        assert_eq!(Ropd(Ropd::OP_AND).apply(s, d, false), 0b1000_0010);
        assert_eq!(Ropd(Ropd::OP_XOR).apply(s, d, false), 0b0110_1100);
        assert_eq!(Ropd(Ropd::OP_BLACKNESS).apply(s, d, false), 0);
        assert_eq!(Ropd(Ropd::OP_WHITENESS).apply(s, d, false), 0xff);
        assert_eq!(Ropd(Ropd::OP_INVERS).apply(s, d, false), !d);
        assert_eq!(
            Ropd(Ropd::OP_PUT | Ropd::INVERS_SRC).apply(s, d, true),
            !s,
            "inverted source"
        );
        assert_eq!(
            Ropd(Ropd::OP_AND | Ropd::INVERS_DEST | Ropd::INVERS_RES).apply(s, d, false),
            !(s & !d)
        );
        assert!(!Ropd(Ropd::OP_XOR).is_plain_put());
    }
}
