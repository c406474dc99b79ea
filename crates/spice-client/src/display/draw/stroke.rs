//! DRAW_STROKE geometry: a path of line and cubic Bézier segments in 28.4 fixed point,
//! flattened to polylines and rasterised as one-pixel-wide lines (the width-0 "cosmetic"
//! lines drivers send), optionally dashed by the LineAttr style.
//!
//! Dash lengths are counted in pixels along each line's major axis, restarting with every
//! subpath. Work is bounded: curves flatten to a fixed number of pieces, the total number
//! of path points is capped, and each line only walks the part inside the visible rect.

use spice_proto::messages::display::{line_flags, path_flags, LineAttr, Path, PointFix};

use super::coverage::Coverage;
use crate::display::geom::Rect;
use crate::error::DisplayError;

/// Straight pieces per Bézier curve.
const BEZIER_STEPS: i64 = 16;
/// Flattened points per path; a guest has no reason to send more in one stroke.
pub const MAX_PATH_POINTS: usize = 16384;

/// 28.4 fixed-point coordinates.
type Fix = (i64, i64);

/// The path's subpaths as polylines in 28.4 fixed point.
pub fn flatten(path: &Path) -> Result<Vec<Vec<Fix>>, DisplayError> {
    let mut subpaths: Vec<Vec<Fix>> = Vec::new();
    let mut current: Vec<Fix> = Vec::new();
    let mut total = 0usize;
    for seg in &path.segments {
        // Checked before expanding: 3 curve points become BEZIER_STEPS points.
        let per_point = if seg.flags & path_flags::BEZIER != 0 {
            BEZIER_STEPS as usize / 3 + 1
        } else {
            1
        };
        let growth = seg.points.len().saturating_mul(per_point);
        let planned = (total + current.len()).saturating_add(growth);
        if planned > MAX_PATH_POINTS {
            return Err(DisplayError::DrawTooLarge(planned as u64));
        }
        let mut points = seg.points.iter().map(fix);
        if seg.flags & path_flags::BEGIN != 0 || current.is_empty() {
            if !current.is_empty() {
                total += current.len();
                subpaths.push(std::mem::take(&mut current));
            }
            match points.next() {
                Some(p) => current.push(p),
                None => continue,
            }
        }
        let rest: Vec<Fix> = points.collect();
        if seg.flags & path_flags::BEZIER != 0 {
            let mut chunks = rest.chunks_exact(3);
            for c in &mut chunks {
                let start = *current.last().unwrap_or(&c[0]);
                for i in 1..=BEZIER_STEPS {
                    current.push(bezier(start, c[0], c[1], c[2], i));
                }
            }
            current.extend_from_slice(chunks.remainder());
        } else {
            current.extend_from_slice(&rest);
        }
        if seg.flags & path_flags::END != 0 {
            if seg.flags & path_flags::CLOSE != 0 {
                if let Some(&first) = current.first() {
                    current.push(first);
                }
            }
            total += current.len();
            subpaths.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        subpaths.push(current);
    }
    Ok(subpaths)
}

fn fix(p: &PointFix) -> Fix {
    (i64::from(p.x), i64::from(p.y))
}

/// Point `i / BEZIER_STEPS` along the cubic curve, exact in integer arithmetic.
fn bezier(p0: Fix, p1: Fix, p2: Fix, p3: Fix, i: i64) -> Fix {
    let n = BEZIER_STEPS;
    let (t, u) = (i, n - i);
    let eval = |a: i64, b: i64, c: i64, d: i64| {
        let num = a * u * u * u + 3 * b * u * u * t + 3 * c * u * t * t + d * t * t * t;
        let den = n * n * n;
        (num + den / 2).div_euclid(den)
    };
    (eval(p0.0, p1.0, p2.0, p3.0), eval(p0.1, p1.1, p2.1, p3.1))
}

/// Pixel containing a 28.4 coordinate, rounding to the nearest pixel.
fn to_pixel(v: i64) -> i64 {
    (v + 8) >> 4
}

/// On/off dash pattern in pixels; `None` draws solid lines.
struct Dashes {
    lengths: Vec<u64>,
    total: u64,
    start_with_gap: bool,
}

impl Dashes {
    fn new(attr: &LineAttr) -> Option<Self> {
        if attr.flags & line_flags::STYLED == 0 || attr.style.is_empty() {
            return None;
        }
        let lengths: Vec<u64> = attr
            .style
            .iter()
            .map(|&l| (to_pixel(i64::from(l)).max(1)) as u64)
            .collect();
        let total = lengths.iter().sum();
        Some(Dashes {
            lengths,
            total,
            start_with_gap: attr.flags & line_flags::START_WITH_GAP != 0,
        })
    }

    fn on(&self, pos: u64) -> bool {
        let mut p = pos % self.total;
        for (i, &l) in self.lengths.iter().enumerate() {
            if p < l {
                return (i % 2 == 0) != self.start_with_gap;
            }
            p -= l;
        }
        true
    }
}

/// Coverage of the stroked path within `visible`.
pub fn stroke(path: &Path, attr: &LineAttr, visible: Rect) -> Result<Coverage, DisplayError> {
    let mut cov = Coverage::new(visible)?;
    let dashes = Dashes::new(attr);
    for sub in flatten(path)? {
        let pixels: Vec<(i64, i64)> = sub
            .iter()
            .map(|&(x, y)| (to_pixel(x), to_pixel(y)))
            .collect();
        let mut pos = 0u64;
        for w in pixels.windows(2) {
            pos += line(&mut cov, w[0], w[1], pos, dashes.as_ref(), visible);
        }
        if let Some(&(x, y)) = pixels.last() {
            if dashes.as_ref().is_none_or(|d| d.on(pos)) {
                cov.add(x, y, 255);
            }
        }
    }
    Ok(cov)
}

/// Plots the line from `a` up to (not including) `b`; returns its length in steps.
fn line(
    cov: &mut Coverage,
    a: (i64, i64),
    b: (i64, i64),
    pos: u64,
    dashes: Option<&Dashes>,
    visible: Rect,
) -> u64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let steps = dx.abs().max(dy.abs());
    if steps == 0 {
        return 0;
    }
    // Only walk the steps whose major coordinate is inside the visible rect.
    let (major_start, major_dir, lo, hi) = if dx.abs() >= dy.abs() {
        (a.0, dx.signum(), visible.left, visible.right)
    } else {
        (a.1, dy.signum(), visible.top, visible.bottom)
    };
    let t_at = |v: i64| (v - major_start) * major_dir;
    let (t0, t1) = {
        let (p, q) = (t_at(i64::from(lo)), t_at(i64::from(hi) - 1));
        (p.min(q).max(0), p.max(q).min(steps - 1))
    };
    for t in t0..=t1 {
        if dashes.is_some_and(|d| !d.on(pos + t as u64)) {
            continue;
        }
        let x = a.0 + div_round(dx * t, steps);
        let y = a.1 + div_round(dy * t, steps);
        cov.add(x, y, 255);
    }
    steps as u64
}

/// `n / d` rounded to nearest, halves away from zero (d > 0).
fn div_round(n: i64, d: i64) -> i64 {
    if n >= 0 {
        (n + d / 2) / d
    } else {
        -((-n + d / 2) / d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spice_proto::messages::display::PathSegment;

    fn pt(x: i32, y: i32) -> PointFix {
        PointFix {
            x: x * 16,
            y: y * 16,
        }
    }

    fn seg(flags: u8, points: &[PointFix]) -> PathSegment {
        PathSegment {
            flags,
            points: points.to_vec(),
        }
    }

    fn solid() -> LineAttr {
        LineAttr {
            flags: 0,
            style: Vec::new(),
        }
    }

    fn covered(c: &Coverage) -> Vec<(i32, i32)> {
        let r = c.rect();
        let mut out = Vec::new();
        for y in r.top..r.bottom {
            for x in r.left..r.right {
                if c.get(x, y) == 255 {
                    out.push((x, y));
                }
            }
        }
        out
    }

    #[test]
    fn horizontal_and_diagonal_lines_include_both_ends() {
        let path = Path {
            segments: vec![seg(
                path_flags::BEGIN | path_flags::END,
                &[pt(1, 1), pt(4, 1), pt(6, 3)],
            )],
        };
        let c = stroke(&path, &solid(), Rect::new(0, 0, 8, 8)).unwrap();
        assert_eq!(
            covered(&c),
            vec![(1, 1), (2, 1), (3, 1), (4, 1), (5, 2), (6, 3)]
        );
    }

    #[test]
    fn closed_rectangle_outline() {
        let path = Path {
            segments: vec![seg(
                path_flags::BEGIN | path_flags::END | path_flags::CLOSE,
                &[pt(0, 0), pt(2, 0), pt(2, 2), pt(0, 2)],
            )],
        };
        let c = stroke(&path, &solid(), Rect::new(0, 0, 4, 4)).unwrap();
        assert_eq!(
            covered(&c),
            vec![
                (0, 0),
                (1, 0),
                (2, 0),
                (0, 1),
                (2, 1),
                (0, 2),
                (1, 2),
                (2, 2)
            ]
        );
    }

    #[test]
    fn fixed_point_coordinates_round_to_nearest_pixel() {
        // (0.5, 0.4375) -> (1, 0); (2.4375, 0) -> (2, 0).
        let path = Path {
            segments: vec![seg(
                path_flags::BEGIN | path_flags::END,
                &[PointFix { x: 8, y: 7 }, PointFix { x: 39, y: 0 }],
            )],
        };
        let c = stroke(&path, &solid(), Rect::new(0, 0, 4, 2)).unwrap();
        assert_eq!(covered(&c), vec![(1, 0), (2, 0)]);
    }

    #[test]
    fn dash_pattern_alternates_and_can_start_with_a_gap() {
        let path = Path {
            segments: vec![seg(
                path_flags::BEGIN | path_flags::END,
                &[pt(0, 0), pt(9, 0)],
            )],
        };
        let dashed = LineAttr {
            flags: line_flags::STYLED,
            style: vec![2 * 16, 16],
        };
        let c = stroke(&path, &dashed, Rect::new(0, 0, 10, 1)).unwrap();
        let xs: Vec<i32> = covered(&c).iter().map(|p| p.0).collect();
        assert_eq!(xs, vec![0, 1, 3, 4, 6, 7, 9]);
        let gap_first = LineAttr {
            flags: line_flags::STYLED | line_flags::START_WITH_GAP,
            ..dashed
        };
        let c = stroke(&path, &gap_first, Rect::new(0, 0, 10, 1)).unwrap();
        let xs: Vec<i32> = covered(&c).iter().map(|p| p.0).collect();
        assert_eq!(xs, vec![2, 5, 8]);
    }

    #[test]
    fn bezier_passes_through_its_ends_and_bulges_toward_controls() {
        // Symmetric arch from (0,8) to (8,8) with controls at (0,0) and (8,0): peak y = 2.
        let path = Path {
            segments: vec![
                seg(path_flags::BEGIN, &[pt(0, 8)]),
                seg(
                    path_flags::BEZIER | path_flags::END,
                    &[pt(0, 0), pt(8, 0), pt(8, 8)],
                ),
            ],
        };
        let c = stroke(&path, &solid(), Rect::new(0, 0, 9, 9)).unwrap();
        let pts = covered(&c);
        assert!(pts.contains(&(0, 8)) && pts.contains(&(8, 8)));
        assert_eq!(pts.iter().map(|p| p.1).min(), Some(2), "{pts:?}");
        assert!(pts.contains(&(4, 2)));
        assert!(!pts.contains(&(4, 8)), "the chord is not drawn");
    }

    #[test]
    fn huge_lines_only_walk_the_visible_part_and_point_count_is_capped() {
        let far = PointFix {
            x: i32::MAX,
            y: i32::MIN,
        };
        let path = Path {
            segments: vec![seg(path_flags::BEGIN | path_flags::END, &[pt(0, 0), far])],
        };
        let c = stroke(&path, &solid(), Rect::new(0, 0, 4, 4)).unwrap();
        assert_eq!(covered(&c), vec![(0, 0)]);
        let many = Path {
            segments: vec![seg(0, &vec![pt(1, 1); MAX_PATH_POINTS + 1])],
        };
        assert!(stroke(&many, &solid(), Rect::new(0, 0, 4, 4)).is_err());
    }
}
