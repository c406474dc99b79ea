//! Scaling and coordinate math of the player, kept free of the DOM so it is tested natively.
//!
//! The canvas always holds the guest surface at 1:1 in its backing store; scaling is done
//! with CSS size only, so the presenter never resamples and mapping a pointer back to
//! guest pixels is one division. The guest's pixels are the only detail there is, so a
//! larger backing store on a HiDPI screen would add none; what follows `devicePixelRatio`
//! is the scale: whole-pixel and original modes are computed in *device* pixels, so each
//! guest pixel covers a whole number of screen pixels at any ratio (2 on a Retina screen
//! in original size, never 1.5).

/// How the guest screen is fitted into the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum ScaleMode {
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
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ScaleMode::Fit => "fit",
            ScaleMode::Integer => "integer",
            ScaleMode::Original => "original",
        }
    }

    /// Parses [`ScaleMode::as_str`]; unknown values mean the default.
    pub(crate) fn parse(s: &str) -> ScaleMode {
        match s {
            "integer" => ScaleMode::Integer,
            "original" => ScaleMode::Original,
            _ => ScaleMode::Fit,
        }
    }
}

/// The CSS size (width, height) of a `sw`×`sh` surface shown in a `cw`×`ch` CSS-pixel
/// box on a screen with `dpr` device pixels per CSS pixel.
///
/// - Fit: as large as fits.
/// - Integer: the largest whole number of device pixels per guest pixel that fits, and
///   at least one CSS pixel's worth (a screen larger than the window scrolls).
/// - Original: one CSS pixel per guest pixel, rounded to whole device pixels (a ratio of
///   1.5 shows each guest pixel as 2 device pixels, not a blurry 1.5).
pub(crate) fn display_size(
    mode: ScaleMode,
    sw: u32,
    sh: u32,
    cw: f64,
    ch: f64,
    dpr: f64,
) -> (f64, f64) {
    if sw == 0 || sh == 0 {
        return (0.0, 0.0);
    }
    let dpr = if dpr.is_finite() && dpr > 0.0 {
        dpr
    } else {
        1.0
    };
    let (sw, sh) = (f64::from(sw), f64::from(sh));
    let fit = if cw > 0.0 && ch > 0.0 {
        (cw / sw).min(ch / sh)
    } else {
        1.0
    };
    // CSS pixels per guest pixel.
    let scale = match mode {
        ScaleMode::Fit => fit,
        ScaleMode::Integer => (fit * dpr).floor().max(dpr.round()).max(1.0) / dpr,
        ScaleMode::Original => dpr.round().max(1.0) / dpr,
    };
    (sw * scale, sh * scale)
}

/// The element's box on the page (`getBoundingClientRect`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BoxRect {
    /// CSS pixels from the viewport's left edge, like `MouseEvent.clientX`.
    pub(crate) left: f64,
    /// CSS pixels from the viewport's top edge, like `MouseEvent.clientY`.
    pub(crate) top: f64,
    /// Displayed width in CSS pixels; 0 while the element is not laid out, which the
    /// mapping must survive.
    pub(crate) width: f64,
    /// Displayed height in CSS pixels.
    pub(crate) height: f64,
}

/// Maps a client (viewport) position to a surface pixel, clamped to the surface, so a
/// drag that leaves the canvas pins the guest pointer to the edge instead of wrapping.
pub(crate) fn client_to_surface(x: f64, y: f64, rect: BoxRect, sw: u32, sh: u32) -> (u32, u32) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_keeps_aspect() {
        assert_eq!(
            display_size(ScaleMode::Fit, 640, 480, 1280.0, 800.0, 1.0),
            (1066.6666666666667, 800.0)
        );
        assert_eq!(
            display_size(ScaleMode::Fit, 640, 480, 320.0, 800.0, 1.0),
            (320.0, 240.0)
        );
    }

    #[test]
    fn integer_is_whole_and_at_least_one() {
        assert_eq!(
            display_size(ScaleMode::Integer, 640, 480, 1280.0, 1000.0, 1.0),
            (1280.0, 960.0)
        );
        assert_eq!(
            display_size(ScaleMode::Integer, 640, 480, 1279.0, 1000.0, 1.0),
            (640.0, 480.0)
        );
        assert_eq!(
            display_size(ScaleMode::Integer, 640, 480, 100.0, 100.0, 1.0),
            (640.0, 480.0)
        );
    }

    #[test]
    fn original_and_degenerate() {
        assert_eq!(
            display_size(ScaleMode::Original, 800, 600, 10.0, 10.0, 1.0),
            (800.0, 600.0)
        );
        assert_eq!(
            display_size(ScaleMode::Fit, 0, 600, 10.0, 10.0, 1.0),
            (0.0, 0.0)
        );
        assert_eq!(
            display_size(ScaleMode::Fit, 800, 600, 0.0, 0.0, 1.0),
            (800.0, 600.0)
        );
    }

    #[test]
    fn whole_device_pixels_on_hidpi() {
        // dpr 2, room for 1.3 CSS px per guest pixel: 2 device px each (1 CSS px).
        assert_eq!(
            display_size(ScaleMode::Integer, 640, 480, 832.0, 624.0, 2.0),
            (640.0, 480.0)
        );
        // dpr 2, room for 1.6: 3 device px each.
        assert_eq!(
            display_size(ScaleMode::Integer, 640, 480, 1024.0, 768.0, 2.0),
            (960.0, 720.0)
        );
        // dpr 1.5: original size is 2 device px per guest pixel, not 1.5.
        let (w, _) = display_size(ScaleMode::Original, 640, 480, 10.0, 10.0, 1.5);
        assert!((w * 1.5 / 640.0 - 2.0).abs() < 1e-9, "{w}");
        let (w, _) = display_size(ScaleMode::Integer, 640, 480, 2000.0, 2000.0, 1.5);
        assert_eq!((w * 1.5 / 640.0).fract(), 0.0);
        // Garbage ratios count as 1.
        assert_eq!(
            display_size(ScaleMode::Original, 800, 600, 1.0, 1.0, f64::NAN),
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
    }
}
