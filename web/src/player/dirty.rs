//! Dirty-rectangle accumulation for the presenter.
//!
//! Every draw op invalidates a rectangle; copying each one to the canvas separately would
//! cost one `putImageData` per op (thousands per second while a window is dragged). The
//! presenter instead collects them here and, once per animation frame, copies the merged
//! set. Merging trades a little over-copying for far fewer canvas calls: two rectangles
//! merge when their bounding box is not much larger than the two together, and past
//! [`MAX_RECTS`] everything collapses into one bounding box.

use spice_client::display::Rect;

/// Most separate regions copied per frame.
pub(crate) const MAX_RECTS: usize = 16;

/// Merge when the union wastes at most this fraction over the two areas.
const SLACK: f64 = 1.25;

/// The regions to copy on the next frame.
#[derive(Debug, Default, Clone)]
pub(crate) struct DirtyRegion {
    rects: Vec<Rect>,
}

impl DirtyRegion {
    /// Adds a changed rectangle, clipped to `bounds` (the surface).
    pub(crate) fn add(&mut self, rect: Rect, bounds: Rect) {
        let mut r = rect.intersect(&bounds);
        if r.is_empty() {
            return;
        }
        // Absorb every rectangle the growing one should merge with, until stable.
        loop {
            let pos = self.rects.iter().position(|o| should_merge(o, &r));
            match pos {
                Some(i) => {
                    let o = self.rects.swap_remove(i);
                    r = r.union(&o);
                }
                None => break,
            }
        }
        self.rects.push(r);
        if self.rects.len() > MAX_RECTS {
            let all = self.rects.iter().fold(Rect::default(), |a, b| union(&a, b));
            self.rects.clear();
            self.rects.push(all);
        }
    }

    /// Whether nothing is pending.
    pub(crate) fn is_empty(&self) -> bool {
        self.rects.is_empty()
    }

    /// Takes the pending rectangles (disjoint or not: overlap only costs a re-copy).
    pub(crate) fn take(&mut self) -> Vec<Rect> {
        std::mem::take(&mut self.rects)
    }

    /// Drops everything (the surface went away).
    pub(crate) fn clear(&mut self) {
        self.rects.clear();
    }
}

fn union(a: &Rect, b: &Rect) -> Rect {
    if a.is_empty() {
        *b
    } else {
        a.union(b)
    }
}

fn should_merge(a: &Rect, b: &Rect) -> bool {
    let u = a.union(b);
    let overlap = !a.intersect(b).is_empty();
    overlap || (u.area() as f64) <= (a.area() + b.area()) as f64 * SLACK
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Rect = Rect::new(0, 0, 1000, 1000);

    #[test]
    fn clips_and_drops_empty() {
        let mut d = DirtyRegion::default();
        d.add(Rect::new(-10, -10, 5, 5), B);
        d.add(Rect::new(2000, 0, 3000, 10), B);
        d.add(Rect::new(5, 5, 5, 9), B);
        assert_eq!(d.take(), vec![Rect::new(0, 0, 5, 5)]);
        assert!(d.is_empty());
    }

    #[test]
    fn adjacent_and_overlapping_merge() {
        let mut d = DirtyRegion::default();
        d.add(Rect::new(0, 0, 10, 10), B);
        d.add(Rect::new(10, 0, 20, 10), B);
        d.add(Rect::new(5, 5, 15, 15), B);
        assert_eq!(d.take(), vec![Rect::new(0, 0, 20, 15)]);
    }

    #[test]
    fn distant_stay_separate() {
        let mut d = DirtyRegion::default();
        d.add(Rect::new(0, 0, 10, 10), B);
        d.add(Rect::new(500, 500, 510, 510), B);
        assert_eq!(d.take().len(), 2);
    }

    #[test]
    fn chain_merges_transitively() {
        let mut d = DirtyRegion::default();
        d.add(Rect::new(0, 0, 10, 10), B);
        d.add(Rect::new(20, 0, 30, 10), B);
        // Bridges both.
        d.add(Rect::new(5, 0, 25, 10), B);
        assert_eq!(d.take(), vec![Rect::new(0, 0, 30, 10)]);
    }

    #[test]
    fn collapses_beyond_max() {
        let mut d = DirtyRegion::default();
        for i in 0..(MAX_RECTS as i32 + 1) {
            d.add(Rect::new(i * 50, i * 50, i * 50 + 1, i * 50 + 1), B);
        }
        let r = d.take();
        assert_eq!(
            r,
            vec![Rect::new(
                0,
                0,
                MAX_RECTS as i32 * 50 + 1,
                MAX_RECTS as i32 * 50 + 1
            )]
        );
    }
}
