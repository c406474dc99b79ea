//! Geometric wire types shared by display (and cursor) messages.

use crate::error::{ProtoError, Result};
use crate::reader::Reader;
use crate::writer::PutLe;

/// A rectangle. On the wire the order is **top, left, bottom, right**; bottom/right are
/// exclusive. Values come from the peer, so a rect may be inverted; the size helpers
/// treat that as empty instead of underflowing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Rect {
    pub top: i32,
    pub left: i32,
    pub bottom: i32,
    pub right: i32,
}

impl Rect {
    pub const WIRE_SIZE: usize = 16;

    pub fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            top: r.i32()?,
            left: r.i32()?,
            bottom: r.i32()?,
            right: r.i32()?,
        })
    }

    pub fn write(&self, out: &mut Vec<u8>) {
        out.put_i32(self.top);
        out.put_i32(self.left);
        out.put_i32(self.bottom);
        out.put_i32(self.right);
    }

    /// `right - left`, or 0 if inverted.
    pub fn width(&self) -> u32 {
        span(self.left, self.right)
    }

    /// `bottom - top`, or 0 if inverted.
    pub fn height(&self) -> u32 {
        span(self.top, self.bottom)
    }

    pub fn is_empty(&self) -> bool {
        self.width() == 0 || self.height() == 0
    }
}

fn span(lo: i32, hi: i32) -> u32 {
    u32::try_from(i64::from(hi) - i64::from(lo)).unwrap_or(0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Point {
    pub x: i32,
    pub y: i32,
}

impl Point {
    pub fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            x: r.i32()?,
            y: r.i32()?,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Point16 {
    pub x: i16,
    pub y: i16,
}

impl Point16 {
    pub fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            x: r.i16()?,
            y: r.i16()?,
        })
    }
}

/// A point in 28.4 fixed point (divide by 16 for pixels), used by paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PointFix {
    pub x: i32,
    pub y: i32,
}

impl PointFix {
    pub fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            x: r.i32()?,
            y: r.i32()?,
        })
    }
}

/// Clip region of a draw or stream; the draw may only touch pixels inside all rects' union.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Clip {
    #[default]
    None,
    Rects(Vec<Rect>),
}

impl Clip {
    pub fn read(r: &mut Reader<'_>) -> Result<Self> {
        match r.u8()? {
            0 => Ok(Self::None),
            1 => {
                let n = r.u32()?;
                Ok(Self::Rects(r.vec(
                    "clip rects",
                    n.into(),
                    Rect::WIRE_SIZE,
                    Rect::read,
                )?))
            }
            other => Err(ProtoError::InvalidValue {
                what: "clip type",
                value: other.into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rect_sizes_never_panic() {
        let r = Rect {
            top: 10,
            left: 20,
            bottom: 30,
            right: 25,
        };
        assert_eq!((r.width(), r.height()), (5, 20));
        let inv = Rect {
            top: 5,
            left: 5,
            bottom: 0,
            right: i32::MIN,
        };
        assert_eq!((inv.width(), inv.height()), (0, 0));
        assert!(inv.is_empty());
        let huge = Rect {
            top: i32::MIN,
            left: i32::MIN,
            bottom: i32::MAX,
            right: i32::MAX,
        };
        assert_eq!(huge.width(), u32::MAX);
    }

    #[test]
    fn rect_wire_order() {
        let mut v = Vec::new();
        Rect {
            top: 1,
            left: 2,
            bottom: 3,
            right: 4,
        }
        .write(&mut v);
        assert_eq!(&v[..4], &1i32.to_le_bytes());
        assert_eq!(&v[4..8], &2i32.to_le_bytes());
        let r = Rect::read(&mut Reader::new(&v)).unwrap();
        assert_eq!((r.top, r.left, r.bottom, r.right), (1, 2, 3, 4));
    }

    #[test]
    fn clip_rejects_bad_type_and_count() {
        assert!(Clip::read(&mut Reader::new(&[2])).is_err());
        assert!(Clip::read(&mut Reader::new(&[1, 0xff, 0xff, 0xff, 0xff])).is_err());
        assert_eq!(
            Clip::read(&mut Reader::new(&[1, 0, 0, 0, 0])).unwrap(),
            Clip::Rects(vec![])
        );
    }
}
