//! The canvas presenter: copies changed regions of the guest surface (RGBA in wasm
//! memory) to the canvas.
//!
//! Draw ops only mark rectangles dirty ([`Presenter::invalidate`]); once per animation
//! frame [`Presenter::draw`] copies the merged regions with one `putImageData` each. The
//! canvas backing store is the surface size (1:1), scaling is CSS only.

use spice_client::display::Rect;
use wasm_bindgen::{Clamped, JsCast, JsValue};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData};

use super::dirty::DirtyRegion;

/// Presents one surface on one canvas.
pub struct Presenter {
    canvas: HtmlCanvasElement,
    ctx: CanvasRenderingContext2d,
    dirty: DirtyRegion,
    width: u32,
    height: u32,
    scratch: Vec<u8>,
    frames: u64,
}

/// The 2D context of a canvas.
pub fn context_2d(canvas: &HtmlCanvasElement) -> Result<CanvasRenderingContext2d, JsValue> {
    canvas
        .get_context("2d")?
        .ok_or_else(|| JsValue::from_str("no 2d context"))?
        .dyn_into()
        .map_err(|_| JsValue::from_str("not a 2d context"))
}

impl Presenter {
    /// Presents on `canvas`.
    pub fn new(canvas: HtmlCanvasElement) -> Result<Self, JsValue> {
        let ctx = context_2d(&canvas)?;
        Ok(Presenter {
            canvas,
            ctx,
            dirty: DirtyRegion::default(),
            width: 0,
            height: 0,
            scratch: Vec::new(),
            frames: 0,
        })
    }

    /// The primary surface was (re)created: the backing store follows its size.
    pub fn resize(&mut self, width: u32, height: u32) {
        self.width = width;
        self.height = height;
        self.canvas.set_width(width);
        self.canvas.set_height(height);
        self.dirty.clear();
    }

    /// The surface size the canvas holds.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// Marks a region changed.
    pub fn invalidate(&mut self, rect: Rect) {
        self.dirty
            .add(rect, Rect::from_size(self.width, self.height));
    }

    /// Whether a frame has something to copy.
    pub fn needs_draw(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// Frames drawn so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Copies every dirty region from `pixels` (RGBA, `width`×`height`). Returns the number
    /// of regions copied. A size mismatch (surface replaced since) draws nothing.
    pub fn draw(&mut self, pixels: &[u8], width: u32, height: u32) -> Result<usize, JsValue> {
        let rects = self.dirty.take();
        if width != self.width
            || height != self.height
            || pixels.len() != (width * height * 4) as usize
        {
            return Ok(0);
        }
        let full = Rect::from_size(width, height);
        for r in &rects {
            let (w, h) = (r.width(), r.height());
            let data = if *r == full {
                ImageData::new_with_u8_clamped_array_and_sh(Clamped(pixels), w, h)?
            } else {
                let stride = width as usize * 4;
                let row = w as usize * 4;
                self.scratch.clear();
                for y in r.top..r.bottom {
                    let start = y as usize * stride + r.left as usize * 4;
                    self.scratch.extend_from_slice(&pixels[start..start + row]);
                }
                ImageData::new_with_u8_clamped_array_and_sh(Clamped(&self.scratch), w, h)?
            };
            self.ctx
                .put_image_data(&data, f64::from(r.left), f64::from(r.top))?;
        }
        if !rects.is_empty() {
            self.frames += 1;
        }
        Ok(rects.len())
    }

    /// Reads one canvas pixel back (tests and diagnostics).
    pub fn pixel(&self, x: u32, y: u32) -> Result<[u8; 4], JsValue> {
        let d = self
            .ctx
            .get_image_data(f64::from(x), f64::from(y), 1.0, 1.0)?
            .data();
        Ok([d[0], d[1], d[2], d[3]])
    }
}
