//! Brushes: a solid colour or a pattern image tiled from the pattern origin (surface
//! coordinates: pattern pixel (0,0) sits at `pos` and repeats in both directions).

use std::sync::Arc;

use spice_codecs::Rgba;

#[derive(Debug, Clone)]
pub enum Paint {
    Solid([u8; 4]),
    Pattern { image: Arc<Rgba>, x: i32, y: i32 },
}

impl Paint {
    pub fn at(&self, x: i32, y: i32) -> [u8; 4] {
        match self {
            Paint::Solid(c) => *c,
            Paint::Pattern {
                image,
                x: px,
                y: py,
            } => {
                let (w, h) = (i64::from(image.width), i64::from(image.height));
                if w == 0 || h == 0 {
                    return [0, 0, 0, 0xff];
                }
                let tx = (i64::from(x) - i64::from(*px)).rem_euclid(w);
                let ty = (i64::from(y) - i64::from(*py)).rem_euclid(h);
                let i = ((ty * w + tx) * 4) as usize;
                image
                    .pixels
                    .get(i..i + 4)
                    .and_then(|p| p.try_into().ok())
                    .unwrap_or([0, 0, 0, 0xff])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_tiles_from_its_origin_in_both_directions() {
        // 2x2: a b / c d, each pixel's red channel is its letter index.
        let pixels = [0u8, 1, 2, 3]
            .iter()
            .flat_map(|&v| [v, 0, 0, 255])
            .collect();
        let p = Paint::Pattern {
            image: Arc::new(Rgba {
                width: 2,
                height: 2,
                pixels,
            }),
            x: 5,
            y: 7,
        };
        assert_eq!(p.at(5, 7)[0], 0);
        assert_eq!(p.at(6, 7)[0], 1);
        assert_eq!(p.at(5, 8)[0], 2);
        assert_eq!(p.at(8, 10)[0], 3, "3 right and 3 down wraps to (1,1)");
        assert_eq!(p.at(4, 6)[0], 3, "left of and above the origin");
        assert_eq!(Paint::Solid([1, 2, 3, 4]).at(-9, 99), [1, 2, 3, 4]);
    }
}
