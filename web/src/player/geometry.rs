//! Scaling and coordinate math of the player, kept free of the DOM so it is tested natively.
//!
//! The canvas always holds the guest surface at 1:1 in its backing store; scaling is done
//! with CSS size only, so the presenter never resamples and mapping a pointer back to
//! guest pixels is one division.

/// How the guest screen is fitted into the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScaleMode {
    /// As large as fits, keeping the aspect ratio (default).
    #[default]
    Fit,
    /// The largest whole multiple that fits (at least 1): crisp pixels for old games.
    Integer,
    /// One guest pixel per CSS pixel.
    Original,
}

impl ScaleMode {
    /// The value used in the `<select>` and in `data-scale`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScaleMode::Fit => "fit",
            ScaleMode::Integer => "integer",
            ScaleMode::Original => "original",
        }
    }

    /// Parses [`ScaleMode::as_str`]; unknown values mean the default.
    pub fn parse(s: &str) -> ScaleMode {
        match s {
            "integer" => ScaleMode::Integer,
            "original" => ScaleMode::Original,
            _ => ScaleMode::Fit,
        }
    }
}

/// The CSS size (width, height) of a `sw`×`sh` surface shown in a `cw`×`ch` box.
pub fn display_size(mode: ScaleMode, sw: u32, sh: u32, cw: f64, ch: f64) -> (f64, f64) {
    if sw == 0 || sh == 0 {
        return (0.0, 0.0);
    }
    let (sw, sh) = (f64::from(sw), f64::from(sh));
    let fit = if cw > 0.0 && ch > 0.0 {
        (cw / sw).min(ch / sh)
    } else {
        1.0
    };
    let scale = match mode {
        ScaleMode::Fit => fit,
        ScaleMode::Integer => fit.floor().max(1.0),
        ScaleMode::Original => 1.0,
    };
    (sw * scale, sh * scale)
}

/// The element's box on the page (`getBoundingClientRect`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoxRect {
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub height: f64,
}

/// Maps a client (viewport) position to a surface pixel, clamped to the surface, so a
/// drag that leaves the canvas pins the guest pointer to the edge instead of wrapping.
pub fn client_to_surface(x: f64, y: f64, rect: BoxRect, sw: u32, sh: u32) -> (u32, u32) {
    let map = |p: f64, origin: f64, extent: f64, size: u32| -> u32 {
        if size == 0 || extent <= 0.0 || !p.is_finite() {
            return 0;
        }
        let v = ((p - origin) * f64::from(size) / extent).floor();
        v.clamp(0.0, f64::from(size - 1)) as u32
    };
    (
        map(x, rect.left, rect.width, sw),
        map(y, rect.top, rect.height, sh),
    )
}

/// Maps a surface pixel to a position relative to the element's top-left corner, in CSS
/// pixels (for the cursor overlay).
pub fn surface_to_element(x: f64, y: f64, rect: BoxRect, sw: u32, sh: u32) -> (f64, f64) {
    if sw == 0 || sh == 0 {
        return (0.0, 0.0);
    }
    (
        x * rect.width / f64::from(sw),
        y * rect.height / f64::from(sh),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_keeps_aspect() {
        assert_eq!(
            display_size(ScaleMode::Fit, 640, 480, 1280.0, 800.0),
            (1066.6666666666667, 800.0)
        );
        assert_eq!(
            display_size(ScaleMode::Fit, 640, 480, 320.0, 800.0),
            (320.0, 240.0)
        );
    }

    #[test]
    fn integer_is_whole_and_at_least_one() {
        assert_eq!(
            display_size(ScaleMode::Integer, 640, 480, 1280.0, 1000.0),
            (1280.0, 960.0)
        );
        assert_eq!(
            display_size(ScaleMode::Integer, 640, 480, 1279.0, 1000.0),
            (640.0, 480.0)
        );
        assert_eq!(
            display_size(ScaleMode::Integer, 640, 480, 100.0, 100.0),
            (640.0, 480.0)
        );
    }

    #[test]
    fn original_and_degenerate() {
        assert_eq!(
            display_size(ScaleMode::Original, 800, 600, 10.0, 10.0),
            (800.0, 600.0)
        );
        assert_eq!(display_size(ScaleMode::Fit, 0, 600, 10.0, 10.0), (0.0, 0.0));
        assert_eq!(
            display_size(ScaleMode::Fit, 800, 600, 0.0, 0.0),
            (800.0, 600.0)
        );
    }

    #[test]
    fn modes_round_trip() {
        for m in [ScaleMode::Fit, ScaleMode::Integer, ScaleMode::Original] {
            assert_eq!(ScaleMode::parse(m.as_str()), m);
        }
        assert_eq!(ScaleMode::parse("bogus"), ScaleMode::Fit);
    }

    #[test]
    fn maps_and_clamps() {
        let r = BoxRect {
            left: 100.0,
            top: 50.0,
            width: 1280.0,
            height: 960.0,
        };
        assert_eq!(client_to_surface(100.0, 50.0, r, 640, 480), (0, 0));
        assert_eq!(client_to_surface(101.9, 51.9, r, 640, 480), (0, 0));
        assert_eq!(client_to_surface(102.0, 52.0, r, 640, 480), (1, 1));
        assert_eq!(client_to_surface(1379.9, 1009.9, r, 640, 480), (639, 479));
        assert_eq!(client_to_surface(5000.0, 5000.0, r, 640, 480), (639, 479));
        assert_eq!(client_to_surface(-5.0, -5.0, r, 640, 480), (0, 0));
        assert_eq!(client_to_surface(f64::NAN, 60.0, r, 640, 480), (0, 5));
        let z = BoxRect { width: 0.0, ..r };
        assert_eq!(client_to_surface(200.0, 60.0, z, 640, 480), (0, 5));
        assert_eq!(
            surface_to_element(320.0, 240.0, r, 640, 480),
            (640.0, 480.0)
        );
    }
}
