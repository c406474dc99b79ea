//! The guest's mouse pointer.
//!
//! Preferred: a CSS cursor (`cursor: url(data:…) hx hy, auto`), which the browser draws at
//! pointer speed with no latency. Browsers ignore CSS cursors larger than 128 px and cannot
//! invert the screen under XOR pixels, so such shapes — and every shape in server mouse
//! mode, where the pointer is locked and the guest decides where it is — are drawn on an
//! overlay canvas above the screen instead.

use spice_client::cursor::CursorShape;
use wasm_bindgen::{Clamped, JsValue};
use web_sys::{HtmlCanvasElement, ImageData};

use super::presenter::context_2d;
use crate::ui::dom;

/// Largest side a CSS cursor may have (Chromium and Firefox ignore larger ones).
pub const MAX_CSS_CURSOR: u32 = 128;

/// How the current shape is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorMode {
    /// CSS `cursor` on the screen canvas.
    Css,
    /// Drawn on the overlay canvas.
    Overlay,
    /// `cursor: none`: hidden by the guest (or no shape yet).
    Hidden,
}

/// Whether a shape can be a CSS cursor.
pub fn fits_css(width: u32, height: u32, has_invert: bool, server_mode: bool) -> bool {
    !server_mode && !has_invert && width <= MAX_CSS_CURSOR && height <= MAX_CSS_CURSOR
}

/// Shows the guest's pointer over the screen canvas.
pub struct CursorView {
    screen: HtmlCanvasElement,
    overlay: HtmlCanvasElement,
    shape: Option<CursorShape>,
    visible: bool,
    server_mode: bool,
    mode: CursorMode,
    /// Pointer position in surface pixels.
    pos: (f64, f64),
    /// CSS pixels per surface pixel, across and down (they differ on a 4:3-corrected
    /// screen).
    scale: (f64, f64),
}

impl CursorView {
    /// For the screen canvas and its overlay.
    pub fn new(screen: HtmlCanvasElement, overlay: HtmlCanvasElement) -> Self {
        let v = CursorView {
            screen,
            overlay,
            shape: None,
            visible: true,
            server_mode: false,
            mode: CursorMode::Hidden,
            pos: (0.0, 0.0),
            scale: (1.0, 1.0),
        };
        v.overlay.style().set_property("display", "none").ok();
        v
    }

    /// The current mode (tests, `data-cursor`).
    pub fn mode(&self) -> CursorMode {
        self.mode
    }

    /// A new shape (None = empty cursor) and visibility.
    pub fn set_shape(&mut self, shape: Option<CursorShape>, visible: bool) {
        self.shape = shape;
        self.visible = visible;
        self.apply();
    }

    /// The guest hid or showed the pointer.
    pub fn set_visible(&mut self, visible: bool) {
        self.visible = visible;
        self.apply();
    }

    /// Server mouse mode draws on the overlay; client mode prefers CSS.
    pub fn set_server_mode(&mut self, server: bool) {
        if self.server_mode != server {
            self.server_mode = server;
            self.apply();
        }
    }

    /// The CSS scale of the screen changed (CSS pixels per surface pixel, across and down).
    pub fn set_scale(&mut self, x: f64, y: f64) {
        let ok = |v: f64| v.is_finite() && v > 0.0;
        if ok(x) && ok(y) && (x - self.scale.0).abs() + (y - self.scale.1).abs() > 1e-9 {
            self.scale = (x, y);
            self.place();
        }
    }

    /// The pointer is at (x, y) surface pixels (CURSOR_MOVE in server mode, the local
    /// pointer in client mode).
    pub fn move_to(&mut self, x: f64, y: f64) {
        self.pos = (x, y);
        if self.mode == CursorMode::Overlay {
            self.place();
        }
    }

    fn apply(&mut self) {
        let style = self.screen.style();
        let shape = match (&self.shape, self.visible) {
            (Some(s), true) if s.image.rgba.width > 0 && s.image.rgba.height > 0 => s.clone(),
            _ => {
                self.mode = CursorMode::Hidden;
                style.set_property("cursor", "none").ok();
                self.overlay.style().set_property("display", "none").ok();
                return;
            }
        };
        let img = &shape.image.rgba;
        if fits_css(
            img.width,
            img.height,
            shape.image.has_invert,
            self.server_mode,
        ) {
            match css_url(&img.pixels, img.width, img.height) {
                Ok(url) => {
                    let v = format!("url({url}) {} {}, auto", shape.hot_x, shape.hot_y);
                    style.set_property("cursor", &v).ok();
                    self.overlay.style().set_property("display", "none").ok();
                    self.mode = CursorMode::Css;
                    return;
                }
                Err(e) => dom::log(&format!("css cursor failed, using overlay: {e:?}")),
            }
        }
        style.set_property("cursor", "none").ok();
        self.overlay.set_width(img.width);
        self.overlay.set_height(img.height);
        if let Ok(ctx) = context_2d(&self.overlay) {
            if let Ok(d) = ImageData::new_with_u8_clamped_array_and_sh(
                Clamped(&img.pixels),
                img.width,
                img.height,
            ) {
                ctx.put_image_data(&d, 0.0, 0.0).ok();
            }
        }
        self.overlay.style().set_property("display", "block").ok();
        self.mode = CursorMode::Overlay;
        self.place();
    }

    fn place(&self) {
        let Some(s) = &self.shape else { return };
        let st = self.overlay.style();
        let (kx, ky) = self.scale;
        let x = (self.pos.0 - f64::from(s.hot_x)) * kx;
        let y = (self.pos.1 - f64::from(s.hot_y)) * ky;
        st.set_property("transform", &format!("translate({x}px, {y}px)"))
            .ok();
        st.set_property(
            "width",
            &format!("{}px", f64::from(s.image.rgba.width) * kx),
        )
        .ok();
        st.set_property(
            "height",
            &format!("{}px", f64::from(s.image.rgba.height) * ky),
        )
        .ok();
    }
}

/// Renders RGBA into an offscreen canvas and returns its PNG data URL.
fn css_url(pixels: &[u8], width: u32, height: u32) -> Result<String, JsValue> {
    let c: HtmlCanvasElement = wasm_bindgen::JsCast::unchecked_into(dom::el("canvas", ""));
    c.set_width(width);
    c.set_height(height);
    let ctx = context_2d(&c)?;
    let d = ImageData::new_with_u8_clamped_array_and_sh(Clamped(pixels), width, height)?;
    ctx.put_image_data(&d, 0.0, 0.0)?;
    c.to_data_url()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn css_rules() {
        assert!(fits_css(32, 32, false, false));
        assert!(fits_css(128, 128, false, false));
        assert!(!fits_css(129, 16, false, false));
        assert!(!fits_css(32, 32, true, false));
        assert!(!fits_css(32, 32, false, true));
    }
}
