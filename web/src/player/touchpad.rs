//! Touch events on the screen canvas through [`super::touch::Gestures`] to the guest's
//! mouse (see that module for the gestures). Touches are `preventDefault`ed so the browser
//! neither scrolls, zooms nor emulates mouse events (each tap is sent once, from here).

use gloo::events::{EventListener, EventListenerOptions};
use gloo::timers::callback::Timeout;
use spice_client::inputs::Button;
use wasm_bindgen::JsCast;
use web_sys::TouchEvent;

use super::touch::{TouchButton, TouchOut};
use super::Inner;
use crate::ui::dom;

/// Which touch callback runs.
#[derive(Clone, Copy)]
enum Phase {
    Start,
    Move,
    End,
}

impl Inner {
    /// Listens for touches on the canvas.
    pub(super) fn install_touch(&mut self, ls: &mut Vec<EventListener>) {
        let active = EventListenerOptions::enable_prevent_default();
        for (name, phase) in [
            ("touchstart", Phase::Start),
            ("touchmove", Phase::Move),
            ("touchend", Phase::End),
            ("touchcancel", Phase::End),
        ] {
            let weak = self.weak.clone();
            ls.push(EventListener::new_with_options(
                &self.view.canvas,
                name,
                active,
                move |e| {
                    let e: &TouchEvent = e.unchecked_ref();
                    e.prevent_default();
                    Inner::with(&weak, |p| p.on_touch(e, phase));
                },
            ));
        }
    }

    fn on_touch(&mut self, e: &TouchEvent, phase: Phase) {
        if let Some(a) = self.audio.as_ref() {
            a.resume();
        }
        if matches!(phase, Phase::Start) {
            let _ = self.view.canvas.focus();
        }
        // Server mouse mode is the default until the server says otherwise, so the mode
        // is read at each touch rather than only when it changes.
        let relative = !self.input.client_mode;
        self.input.gestures.set_relative(relative);
        let now = dom::now_ms();
        let touches = e.changed_touches();
        let mut out = Vec::new();
        for i in 0..touches.length() {
            let Some(t) = touches.get(i) else { continue };
            let (id, x, y) = (
                t.identifier(),
                f64::from(t.client_x()),
                f64::from(t.client_y()),
            );
            let g = &mut self.input.gestures;
            out.extend(match phase {
                Phase::Start => g.start(id, x, y, now),
                Phase::Move => g.moved(id, x, y, now),
                Phase::End => g.end(id, now),
            });
        }
        self.apply_touch(out);
        self.arm_touch_timer();
    }

    /// Re-arms the long-press timer to the recognizer's deadline.
    fn arm_touch_timer(&mut self) {
        self.input.touch_timer = self.input.gestures.next_deadline().map(|at| {
            let wait = (at - dom::now_ms()).clamp(0.0, 10_000.0) as u32;
            let weak = self.weak.clone();
            Timeout::new(wait, move || {
                Inner::with(&weak, |p| {
                    p.input.touch_timer = None;
                    let out = p.input.gestures.tick(dom::now_ms());
                    p.apply_touch(out);
                    p.arm_touch_timer();
                });
            })
        });
    }

    fn apply_touch(&mut self, out: Vec<TouchOut>) {
        if out.is_empty() || self.session.is_none() {
            return;
        }
        for o in out {
            match o {
                TouchOut::MoveTo { x, y } => {
                    if self.input.client_mode {
                        self.position_at(x, y);
                    }
                }
                TouchOut::MoveBy { dx, dy } => self.touch_motion(dx, dy),
                TouchOut::Button { button, down } => {
                    let b = match button {
                        TouchButton::Left => Button::Left,
                        TouchButton::Right => Button::Right,
                    };
                    if let Some(s) = self.session.as_mut() {
                        s.mouse_button(b, down);
                    }
                }
                TouchOut::Wheel { up } => {
                    if let Some(s) = self.session.as_mut() {
                        s.mouse_wheel(up);
                    }
                }
            }
        }
        self.pump();
    }

    /// Touchpad motion in CSS pixels, scaled to guest pixels, fractions carried over.
    fn touch_motion(&mut self, dx: f64, dy: f64) {
        let (sw, sh) = self.presenter.size();
        let r = self.view.canvas.get_bounding_client_rect();
        // Per axis: a 4:3-corrected screen has fewer guest pixels per CSS pixel down.
        let k = |size: u32, css: f64| {
            if css > 0.0 && size > 0 {
                f64::from(size) / css
            } else {
                1.0
            }
        };
        let (ax, ay) = self.input.touch_rest;
        let (fx, fy) = (ax + dx * k(sw, r.width()), ay + dy * k(sh, r.height()));
        let (ix, iy) = (fx.trunc(), fy.trunc());
        self.input.touch_rest = (fx - ix, fy - iy);
        if ix != 0.0 || iy != 0.0 {
            if let Some(s) = self.session.as_mut() {
                s.mouse_motion(ix as i32, iy as i32);
            }
        }
    }
}
