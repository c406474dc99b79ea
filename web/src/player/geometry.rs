//! Scaling and coordinate math of the player, kept free of the DOM so it is tested natively.
//!
//! The canvas always holds the guest surface at 1:1 in its backing store; scaling is done
//! with CSS size only, so the presenter never resamples and mapping a pointer back to
//! guest pixels is one division per axis (the two axes may scale differently: see
//! [`Aspect`]). The guest's pixels are the only detail there is, so a larger backing
//! store on a HiDPI screen would add none; what follows `devicePixelRatio` is the scale:
//! whole-pixel and original modes are computed in *device* pixels, so each guest pixel
//! covers a whole number of screen pixels across at any ratio (2 on a Retina screen in
//! original size, never 1.5).

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

/// Whether the guest's pixels are shown the shape a CRT gave them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Aspect {
    /// The classic PC modes of [`crt_pixel_aspect`] fill a 4:3 box, as they filled the
    /// 4:3 tube they were drawn for (default).
    #[default]
    Crt,
    /// Square pixels: the surface's own width and height ratio, for every mode.
    Square,
}

impl Aspect {
    /// The value of `data-aspect` and of the `aspect` attribute and query parameter.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Aspect::Crt => "crt",
            Aspect::Square => "square",
        }
    }

    /// Parses [`Aspect::as_str`]; unknown values mean the default.
    pub(crate) fn parse(s: &str) -> Aspect {
        match s {
            "square" => Aspect::Square,
            _ => Aspect::Crt,
        }
    }

    /// The other choice (the toolbar's 4:3 toggle).
    pub(crate) fn toggled(self) -> Aspect {
        match self {
            Aspect::Crt => Aspect::Square,
            Aspect::Square => Aspect::Crt,
        }
    }
}

/// The PC display modes whose pixels were not square: each filled the whole 4:3 screen of
/// the monitor it was made for, so its pixels were taller (or wider) than their count
/// says. 320x200 (CGA/EGA/VGA mode 13h, most DOS games), 320x400 (VGA "mode Y"), 360x400
/// (VGA 40-column text), 640x200 (CGA high resolution), 640x350 (EGA), 640x400 (VGA
/// 80x25 graphics, 400-line games), 720x350 (MDA and Hercules text) and 720x400 (VGA text,
/// what a PC shows before any driver loads).
const CRT_MODES: [(u32, u32); 8] = [
    (320, 200),
    (320, 400),
    (360, 400),
    (640, 200),
    (640, 350),
    (640, 400),
    (720, 350),
    (720, 400),
];

/// How tall one guest pixel of a `sw`×`sh` mode was, in widths of a pixel, on a 4:3 CRT:
/// `Some(1.35)` for 720x400 (its 400 lines filled the height 720 columns give a 4:3
/// box), `None` for modes with square pixels.
///
/// The rule is a list ([`CRT_MODES`]), not "any mode that is not 4:3": 640x480, 800x600
/// and 1024x768 were 4:3 with square pixels, 1280x1024 (5:4) was shown on 5:4 panels and
/// tubes of that shape, and a modern guest may take any size at all (a desktop that
/// follows the player's size, a 16:9 mode), whose pixels are square on the screens it
/// was made for. Only the modes that predate square pixels are stretched.
pub(crate) fn crt_pixel_aspect(sw: u32, sh: u32) -> Option<f64> {
    CRT_MODES
        .contains(&(sw, sh))
        .then(|| f64::from(sw) * 3.0 / (f64::from(sh) * 4.0))
}

/// The pixel aspect [`display_size`] uses (height over width of one guest pixel): the
/// CRT's for its modes when `aspect` asks for it, else 1. Original size shows the guest's
/// pixels one CSS pixel each, uncorrected: it is the pixel-inspection view, and a
/// corrected "original" would be neither the CRT's size nor the surface's.
pub(crate) fn pixel_aspect(aspect: Aspect, mode: ScaleMode, sw: u32, sh: u32) -> f64 {
    match (aspect, mode) {
        (Aspect::Crt, ScaleMode::Fit | ScaleMode::Integer) => {
            crt_pixel_aspect(sw, sh).unwrap_or(1.0)
        }
        _ => 1.0,
    }
}

/// The CSS size (width, height) of a `sw`×`sh` surface whose pixels are `par` times as
/// tall as wide ([`pixel_aspect`]), shown in a `cw`×`ch` CSS-pixel box on a screen with
/// `dpr` device pixels per CSS pixel.
///
/// - Fit: as large as fits, keeping the (corrected) aspect ratio.
/// - Integer: the largest whole number of device pixels per guest pixel across that fits,
///   and at least one CSS pixel's worth (a screen larger than the window scrolls). The
///   height follows the width at the corrected aspect, rounded to whole device pixels:
///   640x400 at 2 is 1280x960, 720x400 at 1 is 720x540. The CRT's stretch (1.2 for
///   320x200, 1.35 for 720x400, 480/350 for 640x350) is never a whole number, so one axis
///   has to be fractional; it is the vertical one, because the columns carry what must
///   stay even (the one-pixel strokes of text, dither patterns), while the rows come out
///   in a short repeating pattern (1.2: every fifth line one device pixel taller), much
///   like the scan lines they stand for.
/// - Original: one CSS pixel per guest pixel, rounded to whole device pixels (a ratio of
///   1.5 shows each guest pixel as 2 device pixels, not a blurry 1.5); `par` applies
///   here too, though [`pixel_aspect`] gives 1 for this mode.
pub(crate) fn display_size(
    mode: ScaleMode,
    sw: u32,
    sh: u32,
    par: f64,
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
    let par = if par.is_finite() && par > 0.0 {
        par
    } else {
        1.0
    };
    // The surface as it is to be seen, in guest pixel widths.
    let (sw, sh) = (f64::from(sw), f64::from(sh) * par);
    let fit = if cw > 0.0 && ch > 0.0 {
        (cw / sw).min(ch / sh)
    } else {
        1.0
    };
    // CSS pixels per guest pixel across.
    let scale = match mode {
        ScaleMode::Fit => return (sw * fit, sh * fit),
        ScaleMode::Integer => (fit * dpr).floor().max(dpr.round()).max(1.0) / dpr,
        ScaleMode::Original => dpr.round().max(1.0) / dpr,
    };
    let w = sw * scale;
    let h = if par == 1.0 {
        sh * scale
    } else {
        (sh * scale * dpr).round() / dpr
    };
    (w, h)
}

/// Whether the screen is drawn with `image-rendering: pixelated`: when each guest pixel
/// covers at least one device pixel each way (the box is as large as the surface or
/// larger), nearest-neighbour keeps its edges sharp; when the box is smaller, it would
/// drop whole rows and columns (a line of text, a one-pixel cursor), so the browser's
/// smooth filter is kept.
pub(crate) fn pixelated(w: f64, h: f64, sw: u32, sh: u32, dpr: f64) -> bool {
    let dpr = if dpr.is_finite() && dpr > 0.0 {
        dpr
    } else {
        1.0
    };
    // Layout rounds sizes to 1/64 CSS px.
    let eps = 1.0 / 64.0;
    sw > 0 && sh > 0 && w * dpr + eps >= f64::from(sw) && h * dpr + eps >= f64::from(sh)
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
/// Each axis goes through its own extent of the box, so a 4:3-corrected screen (taller
/// guest pixels than wide) maps as exactly as a square one.
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
            display_size(ScaleMode::Fit, 640, 480, 1.0, 1280.0, 800.0, 1.0),
            (1066.6666666666667, 800.0)
        );
        assert_eq!(
            display_size(ScaleMode::Fit, 640, 480, 1.0, 320.0, 800.0, 1.0),
            (320.0, 240.0)
        );
    }

    #[test]
    fn integer_is_whole_and_at_least_one() {
        assert_eq!(
            display_size(ScaleMode::Integer, 640, 480, 1.0, 1280.0, 1000.0, 1.0),
            (1280.0, 960.0)
        );
        assert_eq!(
            display_size(ScaleMode::Integer, 640, 480, 1.0, 1279.0, 1000.0, 1.0),
            (640.0, 480.0)
        );
        assert_eq!(
            display_size(ScaleMode::Integer, 640, 480, 1.0, 100.0, 100.0, 1.0),
            (640.0, 480.0)
        );
    }

    #[test]
    fn original_and_degenerate() {
        assert_eq!(
            display_size(ScaleMode::Original, 800, 600, 1.0, 10.0, 10.0, 1.0),
            (800.0, 600.0)
        );
        assert_eq!(
            display_size(ScaleMode::Fit, 0, 600, 1.0, 10.0, 10.0, 1.0),
            (0.0, 0.0)
        );
        assert_eq!(
            display_size(ScaleMode::Fit, 800, 600, 1.0, 0.0, 0.0, 1.0),
            (800.0, 600.0)
        );
    }

    #[test]
    fn whole_device_pixels_on_hidpi() {
        // dpr 2, room for 1.3 CSS px per guest pixel: 2 device px each (1 CSS px).
        assert_eq!(
            display_size(ScaleMode::Integer, 640, 480, 1.0, 832.0, 624.0, 2.0),
            (640.0, 480.0)
        );
        // dpr 2, room for 1.6: 3 device px each.
        assert_eq!(
            display_size(ScaleMode::Integer, 640, 480, 1.0, 1024.0, 768.0, 2.0),
            (960.0, 720.0)
        );
        // dpr 1.5: original size is 2 device px per guest pixel, not 1.5.
        let (w, _) = display_size(ScaleMode::Original, 640, 480, 1.0, 10.0, 10.0, 1.5);
        assert!((w * 1.5 / 640.0 - 2.0).abs() < 1e-9, "{w}");
        let (w, _) = display_size(ScaleMode::Integer, 640, 480, 1.0, 2000.0, 2000.0, 1.5);
        assert_eq!((w * 1.5 / 640.0).fract(), 0.0);
        // Garbage ratios count as 1.
        assert_eq!(
            display_size(ScaleMode::Original, 800, 600, 1.0, 1.0, 1.0, f64::NAN),
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

    #[test]
    fn crt_modes_are_a_list() {
        assert_eq!(crt_pixel_aspect(720, 400), Some(1.35));
        assert_eq!(crt_pixel_aspect(320, 200), Some(1.2));
        assert_eq!(crt_pixel_aspect(640, 400), Some(1.2));
        assert_eq!(crt_pixel_aspect(640, 200), Some(2.4));
        let ega = crt_pixel_aspect(640, 350).unwrap();
        assert!((350.0 * ega - 480.0).abs() < 1e-9, "{ega}");
        let mda = crt_pixel_aspect(720, 350).unwrap();
        assert!((350.0 * mda - 540.0).abs() < 1e-9, "{mda}");
        // Square already, or made for screens of their own shape.
        for (w, h) in [
            (320, 240),
            (640, 480),
            (800, 600),
            (1024, 768),
            (1280, 1024),
            (1920, 1080),
            (1200, 420),
        ] {
            assert_eq!(crt_pixel_aspect(w, h), None, "{w}x{h}");
        }
    }

    #[test]
    fn aspect_applies_to_fit_and_integer_only() {
        assert_eq!(pixel_aspect(Aspect::Crt, ScaleMode::Fit, 720, 400), 1.35);
        assert_eq!(
            pixel_aspect(Aspect::Crt, ScaleMode::Integer, 720, 400),
            1.35
        );
        assert_eq!(
            pixel_aspect(Aspect::Crt, ScaleMode::Original, 720, 400),
            1.0
        );
        assert_eq!(pixel_aspect(Aspect::Square, ScaleMode::Fit, 720, 400), 1.0);
        assert_eq!(pixel_aspect(Aspect::Crt, ScaleMode::Fit, 1024, 768), 1.0);
        for a in [Aspect::Crt, Aspect::Square] {
            assert_eq!(Aspect::parse(a.as_str()), a);
            assert_eq!(a.toggled().toggled(), a);
        }
        assert_eq!(Aspect::parse("bogus"), Aspect::Crt);
    }

    #[test]
    fn fit_is_the_largest_four_by_three_box() {
        let (w, h) = display_size(ScaleMode::Fit, 720, 400, 1.35, 1600.0, 1000.0, 1.0);
        assert!(
            (w - 4000.0 / 3.0).abs() < 1e-9 && (h - 1000.0).abs() < 1e-9,
            "{w}x{h}"
        );
        let (w, h) = display_size(ScaleMode::Fit, 320, 200, 1.2, 800.0, 1000.0, 2.0);
        assert!((w - 800.0).abs() < 1e-9 && (h - 600.0).abs() < 1e-9);
        // Square pixels: unchanged.
        let par = pixel_aspect(Aspect::Crt, ScaleMode::Fit, 640, 480);
        assert_eq!(
            display_size(ScaleMode::Fit, 640, 480, par, 1280.0, 800.0, 1.0),
            display_size(ScaleMode::Fit, 640, 480, 1.0, 1280.0, 800.0, 1.0)
        );
    }

    #[test]
    fn integer_is_whole_across_and_four_by_three() {
        let d = |sw, sh, cw, ch, dpr| {
            let par = crt_pixel_aspect(sw, sh).unwrap();
            display_size(ScaleMode::Integer, sw, sh, par, cw, ch, dpr)
        };
        assert_eq!(d(640, 400, 1300.0, 1000.0, 1.0), (1280.0, 960.0));
        assert_eq!(d(720, 400, 1000.0, 700.0, 1.0), (720.0, 540.0));
        assert_eq!(d(720, 400, 1500.0, 1100.0, 1.0), (1440.0, 1080.0));
        assert_eq!(d(640, 350, 2000.0, 1000.0, 1.0), (1280.0, 960.0));
        // The height limits: 4 times across, not 6.
        assert_eq!(d(320, 200, 1920.0, 1080.0, 1.0), (1280.0, 960.0));
        // Too small a window: still one device pixel across per guest pixel.
        assert_eq!(d(720, 400, 300.0, 200.0, 1.0), (720.0, 540.0));
        for dpr in [1.0, 1.25, 1.5, 2.0, 3.0] {
            for (sw, sh) in CRT_MODES {
                let (w, h) = d(sw, sh, 1600.0, 1200.0, dpr);
                let across = w * dpr / f64::from(sw);
                assert_eq!(across.fract(), 0.0, "{sw}x{sh} at {dpr}: {across}");
                assert!(
                    ((h * dpr).round() - h * dpr).abs() < 1e-9,
                    "{sw}x{sh} at {dpr}: {h}"
                );
                assert!(
                    (w / h - 4.0 / 3.0).abs() * h < 1.0,
                    "{sw}x{sh} at {dpr}: {w}x{h}"
                );
            }
        }
    }

    #[test]
    fn maps_through_uneven_scales() {
        // 720x400 shown 720x540: 1 CSS px per column, 1.35 per row.
        let r = BoxRect {
            left: 10.0,
            top: 20.0,
            width: 720.0,
            height: 540.0,
        };
        assert_eq!(client_to_surface(10.0, 20.0, r, 720, 400), (0, 0));
        assert_eq!(client_to_surface(310.5, 154.9, r, 720, 400), (300, 99));
        assert_eq!(client_to_surface(310.5, 155.0, r, 720, 400), (300, 100));
        assert_eq!(client_to_surface(729.9, 559.9, r, 720, 400), (719, 399));
        // Every row's first CSS pixel maps back to that row.
        for y in 0..400u32 {
            let cy = 20.0 + f64::from(y) * 1.35 + 0.01;
            assert_eq!(client_to_surface(15.0, cy, r, 720, 400).1, y);
        }
    }

    #[test]
    fn pixelated_only_when_upscaled() {
        assert!(pixelated(720.0, 540.0, 720, 400, 1.0));
        assert!(pixelated(1440.0, 1080.0, 720, 400, 1.0));
        assert!(pixelated(720.0, 400.0, 720, 400, 1.0));
        assert!(!pixelated(600.0, 450.0, 720, 400, 1.0));
        assert!(!pixelated(700.0, 540.0, 720, 400, 1.0));
        // 360x270 CSS px at a ratio of 2 is 720x540 device pixels.
        assert!(pixelated(360.0, 270.0, 720, 400, 2.0));
        assert!(!pixelated(360.0, 270.0, 720, 400, 1.0));
        assert!(!pixelated(0.0, 0.0, 0, 0, 1.0));
    }
}
