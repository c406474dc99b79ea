//! Rectangles in surface pixel coordinates.
//!
//! The wire `Rect` comes from the guest and may be inverted, empty or far outside any
//! surface; everything here is total (no panics, saturating arithmetic) so that clipping a
//! hostile rectangle simply yields nothing to draw.

/// A half-open rectangle: `left <= x < right`, `top <= y < bottom`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Rect {
    pub left: i32,
    pub top: i32,
    pub right: i32,
    pub bottom: i32,
}

impl Rect {
    pub const fn new(left: i32, top: i32, right: i32, bottom: i32) -> Self {
        Rect {
            left,
            top,
            right,
            bottom,
        }
    }

    pub fn from_size(width: u32, height: u32) -> Self {
        Rect::new(0, 0, clamp_u32(width), clamp_u32(height))
    }

    pub fn is_empty(&self) -> bool {
        self.right <= self.left || self.bottom <= self.top
    }

    /// Width, or 0 for an inverted rectangle.
    pub fn width(&self) -> u32 {
        (i64::from(self.right) - i64::from(self.left)).clamp(0, i64::from(u32::MAX)) as u32
    }

    /// Height, or 0 for an inverted rectangle.
    pub fn height(&self) -> u32 {
        (i64::from(self.bottom) - i64::from(self.top)).clamp(0, i64::from(u32::MAX)) as u32
    }

    pub fn area(&self) -> u64 {
        u64::from(self.width()) * u64::from(self.height())
    }

    pub fn intersect(&self, other: &Rect) -> Rect {
        Rect::new(
            self.left.max(other.left),
            self.top.max(other.top),
            self.right.min(other.right),
            self.bottom.min(other.bottom),
        )
    }

    /// The smallest rectangle holding both; an empty side is ignored.
    pub fn union(&self, other: &Rect) -> Rect {
        if self.is_empty() {
            return *other;
        }
        if other.is_empty() {
            return *self;
        }
        Rect::new(
            self.left.min(other.left),
            self.top.min(other.top),
            self.right.max(other.right),
            self.bottom.max(other.bottom),
        )
    }

    pub fn translate(&self, dx: i32, dy: i32) -> Rect {
        Rect::new(
            self.left.saturating_add(dx),
            self.top.saturating_add(dy),
            self.right.saturating_add(dx),
            self.bottom.saturating_add(dy),
        )
    }
}

fn clamp_u32(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverted_rect_is_empty_with_zero_size() {
        let r = Rect::new(10, 10, 5, 20);
        assert!(r.is_empty());
        assert_eq!(r.width(), 0);
        assert_eq!(r.area(), 0);
    }

    #[test]
    fn extreme_coordinates_do_not_overflow() {
        let r = Rect::new(i32::MIN, i32::MIN, i32::MAX, i32::MAX);
        assert_eq!(r.width(), u32::MAX);
        assert_eq!(r.translate(i32::MAX, 1).right, i32::MAX);
        let clipped = r.intersect(&Rect::from_size(640, 480));
        assert_eq!(clipped, Rect::new(0, 0, 640, 480));
    }

    #[test]
    fn union_ignores_empty() {
        let a = Rect::new(0, 0, 2, 2);
        assert_eq!(a.union(&Rect::default()), a);
        assert_eq!(Rect::default().union(&a), a);
        assert_eq!(a.union(&Rect::new(5, 5, 6, 7)), Rect::new(0, 0, 6, 7));
    }
}
