//! Keyboard, mouse, wheel and touch from the page to the guest, plus the toolbar.
//!
//! - Keys go by `KeyboardEvent.code` (the physical key), so any host layout works: the
//!   guest maps scancodes with its own layout. Handled keys are `preventDefault`ed so the
//!   browser's shortcuts do not fire while the screen has focus. AltGr: see
//!   [`super::keys::AltGrFilter`]; modifiers the event reports without a key press of
//!   their own: see [`super::modifiers::ModifierSync`].
//! - Focus: on blur every held key and button is released (otherwise the guest sees a key
//!   stuck down); on focus the lock keys are synchronised. A focus event carries no
//!   modifier state, so the sync happens on the first keyboard or mouse event after it,
//!   through `getModifierState` (Caps 4, Num 2, Scroll 1 as `KEY_MODIFIERS` bits).
//! - Mouse: client (absolute) mode when the server offers it, mapping through the canvas's
//!   box and scale; otherwise pointer lock on click and relative motion.

use gloo::events::{EventListener, EventListenerOptions};
use gloo::timers::callback::{Interval, Timeout};
use spice_client::inputs::keymap::lock_state;
use spice_client::inputs::Button;
use wasm_bindgen::JsCast;
use web_sys::{KeyboardEvent, MouseEvent, WheelEvent};

use super::features::{exit_fullscreen, fullscreen_element, lock_keyboard, request_fullscreen};
use super::geometry::{
    client_to_surface, display_size, pixel_aspect, pixelated, Aspect, BoxRect, ScaleMode,
};
use super::keys::{AltGrFilter, KeyAction, KeyCombo, WheelAccumulator};
use super::modifiers::{implied_shift, EventModifiers, ModifierSync};
use super::Inner;
use crate::ui::dom::{self, attr};

/// Input state that outlives single events.
#[derive(Default)]
pub(crate) struct InputState {
    /// The guest's mouse mode: client mode sends absolute positions and leaves the
    /// pointer free; server mode sends relative motion, captured with Pointer Lock where
    /// the browser has it.
    pub(crate) client_mode: bool,
    altgr: AltGrFilter,
    modifiers: ModifierSync,
    /// The modifier state of the last key event (for the AltGr flush timer's keys).
    last_mods: EventModifiers,
    wheel: WheelAccumulator,
    sync_locks: bool,
    flush_timer: Option<Timeout>,
    user_muted: bool,
    /// Key events waiting for their turn (see [`KEY_PACE_MS`]).
    key_queue: std::collections::VecDeque<(String, bool)>,
    key_timer: Option<Timeout>,
    /// Touch as a mouse (see [`super::touch`]), its long-press timer, and the fraction of
    /// a guest pixel of touchpad motion not sent yet.
    pub(super) gestures: super::touch::Gestures,
    pub(super) touch_timer: Option<Timeout>,
    pub(super) touch_rest: (f64, f64),
    /// The on-screen keyboard's armed modifiers.
    pub(super) sticky: super::typing::StickyModifiers,
    /// Text being typed (the Type-text box, `typeText`), behind `key_queue`.
    pub(super) typist: super::typing::Typist,
    /// The `devicePixelRatio` the canvas was last sized for, and the check that it still
    /// is (see [`Inner::watch_dpr`]).
    applied_dpr: f64,
    dpr_watch: Option<Interval>,
}

/// How often `devicePixelRatio` is compared with the one the canvas was sized for (ms).
const DPR_CHECK_MS: u32 = 1000;

/// How long a held-back ControlLeft waits for its AltRight (ms).
const ALTGR_FLUSH_MS: u32 = 15;

/// Minimum spacing of key events sent to the guest (ms). QEMU's PS/2 keyboard holds only
/// 16 bytes, and a busy guest (old OS, software emulation) drains it slowly: a burst —
/// a fast typist, a key combo, automation — would otherwise lose keys. 10 ms per event
/// is far below what a person notices.
const KEY_PACE_MS: u32 = 10;

impl Inner {
    /// Wires the canvas, the page and the toolbar to this player, once per Run. The
    /// listeners are kept in `self.listeners`, so dropping the player unhooks them all.
    pub(super) fn install_listeners(&mut self) {
        let canvas = self.view.canvas.clone();
        let active = EventListenerOptions::enable_prevent_default();
        let mut ls = Vec::new();
        macro_rules! on {
            ($target:expr, $ty:expr, $ev:ty, $method:ident) => {{
                let weak = self.weak.clone();
                ls.push(EventListener::new_with_options(
                    &$target,
                    $ty,
                    active,
                    move |e| {
                        let e: &$ev = e.unchecked_ref();
                        Inner::with(&weak, |p| p.$method(e));
                    },
                ));
            }};
        }
        if !self.view_only {
            on!(canvas, "keydown", KeyboardEvent, on_key_down);
            on!(canvas, "keyup", KeyboardEvent, on_key_up);
            on!(canvas, "mousemove", MouseEvent, on_mouse_move);
            on!(canvas, "mousedown", MouseEvent, on_mouse_down);
            on!(canvas, "mouseup", MouseEvent, on_mouse_up);
            on!(canvas, "wheel", WheelEvent, on_wheel);
            self.install_touch(&mut ls);
            self.install_osk(&mut ls);
            self.install_typebox(&mut ls);
            self.install_clipbox(&mut ls);
        }
        ls.push(EventListener::new_with_options(
            &canvas,
            "contextmenu",
            active,
            |e| e.prevent_default(),
        ));
        let weak = self.weak.clone();
        ls.push(EventListener::new(&canvas, "blur", move |_| {
            Inner::with(&weak, |p| p.on_blur());
        }));
        let weak = self.weak.clone();
        ls.push(EventListener::new(&canvas, "focus", move |_| {
            Inner::with(&weak, |p| p.input.sync_locks = true);
        }));

        // Toolbar.
        let weak = self.weak.clone();
        let scale = self.view.scale.clone();
        ls.push(EventListener::new(&self.view.scale, "change", move |_| {
            let mode = ScaleMode::parse(&scale.value());
            Inner::with(&weak, |p| {
                p.scale_mode = mode;
                p.apply_scale();
            });
        }));
        let weak = self.weak.clone();
        ls.push(EventListener::new(&self.view.aspect, "click", move |_| {
            Inner::with(&weak, |p| {
                p.aspect = p.aspect.toggled();
                p.apply_scale();
            });
        }));
        let keys = self.view.keys.clone();
        let weak = self.weak.clone();
        let canvas2 = canvas.clone();
        ls.push(EventListener::new(&self.view.keys, "change", move |_| {
            if let Some(c) = KeyCombo::from_id(&keys.value()) {
                Inner::with(&weak, |p| p.send_combo(c));
            }
            keys.set_value("");
            let _ = canvas2.focus();
        }));
        let weak = self.weak.clone();
        ls.push(EventListener::new(
            &self.view.fullscreen,
            "click",
            move |_| {
                Inner::with(&weak, |p| p.toggle_fullscreen());
            },
        ));
        let weak = self.weak.clone();
        let volume = self.view.volume.clone();
        ls.push(EventListener::new(&self.view.volume, "input", move |_| {
            let v = volume.value_as_number() as f32 / 100.0;
            Inner::with(&weak, |p| {
                if let Some(a) = p.audio.as_mut() {
                    a.set_user_volume(v);
                }
            });
        }));
        let weak = self.weak.clone();
        ls.push(EventListener::new(&self.view.mute, "click", move |_| {
            Inner::with(&weak, |p| p.toggle_mute());
        }));
        let window = web_sys::window().expect("window");
        let weak = self.weak.clone();
        ls.push(EventListener::new(&window, "resize", move |_| {
            Inner::with(&weak, |p| p.apply_scale());
        }));
        for name in ["fullscreenchange", "webkitfullscreenchange"] {
            let weak = self.weak.clone();
            ls.push(EventListener::new(&dom::document(), name, move |_| {
                Inner::with(&weak, |p| p.on_fullscreen_change());
            }));
        }
        self.listeners = ls;
        self.watch_dpr();
        if let Some(a) = self.audio.as_mut() {
            a.set_user_volume(0.8);
        }
    }

    /// The full-screen button: the engine's API (prefixed where needed); a refusal is
    /// shown as a notice, never thrown. The whole player goes full screen, toolbar
    /// included, so the way out stays visible (with Keyboard Lock, Esc goes to the guest).
    pub(super) fn toggle_fullscreen(&mut self) {
        let api = self.features.fullscreen;
        if fullscreen_element().is_some() {
            exit_fullscreen(api);
        } else if let Err(e) = request_fullscreen(api, &self.view.root) {
            dom::log(&format!("full screen: {e}"));
            self.view
                .set_notice("This browser did not allow full screen here.");
        }
    }

    /// Entered or left full screen: `data-fullscreen`, the button's state, the scale, and
    /// Keyboard Lock where the browser has it.
    fn on_fullscreen_change(&mut self) {
        let on = fullscreen_element().is_some();
        attr(
            &self.view.root,
            "data-fullscreen",
            if on { "on" } else { "off" },
        );
        attr(
            &self.view.fullscreen,
            "aria-pressed",
            if on { "true" } else { "false" },
        );
        if on && self.features.keyboard_lock {
            lock_keyboard();
        }
        self.apply_scale();
    }

    fn toggle_mute(&mut self) {
        self.input.user_muted = !self.input.user_muted;
        let m = self.input.user_muted;
        if let Some(a) = self.audio.as_mut() {
            a.set_user_muted(m);
        }
        self.view
            .mute
            .set_text_content(Some(if m { "Unmute" } else { "Mute" }));
        attr(
            &self.view.mute,
            "aria-pressed",
            if m { "true" } else { "false" },
        );
    }

    /// Queues key events (on-screen keyboard, text from a phone keyboard) behind what is
    /// already waiting, paced like typed keys.
    pub(super) fn queue_keys(&mut self, seq: Vec<(String, bool)>) {
        if self.session.is_none() {
            return;
        }
        self.input.key_queue.extend(seq);
        self.drain_keys();
    }

    fn send_combo(&mut self, c: KeyCombo) {
        if self.session.is_none() {
            return;
        }
        self.input.key_queue.extend(c.sequence());
        self.drain_keys();
    }

    /// Sends the next queued key event unless one went out less than [`KEY_PACE_MS`] ago;
    /// a timer sends the rest, one per interval. Typed text comes after the keys queued
    /// here, at its own pace ([`super::typebox::TEXT_PACE_MS`]).
    pub(super) fn drain_keys(&mut self) {
        if self.input.key_timer.is_some() {
            return;
        }
        let (code, down, pace) = match self.input.key_queue.pop_front() {
            Some((code, down)) => (code, down, KEY_PACE_MS),
            None => match self.next_typed() {
                Some((code, down)) => (code.to_owned(), down, super::typebox::TEXT_PACE_MS),
                None => return,
            },
        };
        if let Some(s) = self.session.as_mut() {
            s.key(&code, down);
        }
        self.pump();
        let weak = self.weak.clone();
        self.input.key_timer = Some(Timeout::new(pace, move || {
            Inner::with(&weak, |p| {
                p.input.key_timer = None;
                p.drain_keys();
            });
        }));
    }

    /// Sizes the canvas (CSS only) for the scale mode and the space available.
    pub(super) fn apply_scale(&mut self) {
        let (sw, sh) = self.presenter.size();
        if sw == 0 || sh == 0 {
            return;
        }
        let window = web_sys::window().expect("window");
        let full = fullscreen_element().is_some();
        let inner_h = window
            .inner_height()
            .ok()
            .and_then(|v| v.as_f64())
            .unwrap_or(768.0);
        // The player is scrolled to the top once running (and is the full-screen
        // element), so only its own toolbar and status line sit above the screen.
        let chrome = (self.view.stage.get_bounding_client_rect().top()
            - self.view.root.get_bounding_client_rect().top())
        .max(0.0);
        let margin = if full { 0.0 } else { 16.0 };
        let cw = f64::from(self.view.stage.client_width()).max(1.0);
        let ch = (inner_h - chrome - margin).max(if full { 100.0 } else { 200.0 });
        let dpr = window.device_pixel_ratio();
        let dpr = if dpr.is_finite() && dpr > 0.0 {
            dpr
        } else {
            1.0
        };
        self.input.applied_dpr = window.device_pixel_ratio();
        let par = pixel_aspect(self.aspect, self.scale_mode, sw, sh);
        let (w, h) = display_size(self.scale_mode, sw, sh, par, cw, ch, dpr);
        let st = self.view.canvas.style();
        let _ = st.set_property("width", &format!("{w}px"));
        let _ = st.set_property("height", &format!("{h}px"));
        let crisp = pixelated(w, h, sw, sh, dpr);
        let _ = st.set_property("image-rendering", if crisp { "pixelated" } else { "auto" });
        attr(&self.view.root, "data-scale", self.scale_mode.as_str());
        let applied = if par == 1.0 {
            Aspect::Square
        } else {
            Aspect::Crt
        };
        attr(&self.view.root, "data-aspect", applied.as_str());
        self.show_aspect_choice();
        attr(&self.view.root, "data-dpr", &dpr.to_string());
        // Device pixels per guest pixel across: a whole number in the crisp modes.
        attr(
            &self.view.root,
            "data-device-scale",
            &(w * dpr / f64::from(sw)).to_string(),
        );
        self.cursor.set_scale(w / f64::from(sw), h / f64::from(sh));
        snap_to_device_pixels(&self.view.canvas, dpr);
        self.follow_size(cw, ch);
    }

    /// The 4:3 toggle shows the visitor's choice (`aria-pressed`), also for modes it does
    /// not apply to; `data-aspect` says what is applied.
    pub(super) fn show_aspect_choice(&self) {
        let pressed = if self.aspect == Aspect::Crt {
            "true"
        } else {
            "false"
        };
        attr(&self.view.aspect, "aria-pressed", pressed);
    }

    /// Re-sizes the canvas when `devicePixelRatio` changes without a resize event (the
    /// window moved to another screen, zoom on some engines, emulation): whole-pixel
    /// scaling computed for the old ratio would show 1.5 device pixels per guest pixel.
    /// A media query for the current ratio is the documented signal, but headless
    /// Chromium did not fire its `change` when only the ratio changed, so the ratio is
    /// compared once a second instead (a property read; layout only when it changed).
    fn watch_dpr(&mut self) {
        let weak = self.weak.clone();
        self.input.dpr_watch = Some(Interval::new(DPR_CHECK_MS, move || {
            Inner::with(&weak, |p| {
                let dpr = web_sys::window().map_or(1.0, |w| w.device_pixel_ratio());
                if dpr != p.input.applied_dpr {
                    p.apply_scale();
                }
            });
        }));
    }

    /// The guest switched mouse mode (SPICE main channel): published as
    /// `data-mouse-mode`, and the cursor and pointer lock follow, since a locked pointer
    /// in client mode would leave the visitor without one.
    pub(super) fn set_mouse_mode(&mut self, client: bool) {
        self.input.client_mode = client;
        attr(
            &self.view.root,
            "data-mouse-mode",
            if client { "client" } else { "server" },
        );
        self.cursor.set_server_mode(!client);
        if client {
            self.release_pointer_lock();
        }
    }

    /// Gives the visitor their pointer back (client mode, session over). Guarded by
    /// feature detection: calling `exitPointerLock` where it is missing throws.
    pub(super) fn release_pointer_lock(&self) {
        if !self.features.pointer_lock {
            return;
        }
        if self.pointer_lock_element().is_some() {
            dom::document().exit_pointer_lock();
        }
    }

    /// The locked element as seen from the canvas: inside `<olive-player>`'s shadow root
    /// `document.pointerLockElement` is the host, so ask the canvas's own root.
    fn pointer_lock_element(&self) -> Option<web_sys::Element> {
        let root: wasm_bindgen::JsValue = self.view.canvas.get_root_node().into();
        js_sys::Reflect::get(&root, &"pointerLockElement".into())
            .ok()
            .and_then(|v| v.dyn_into::<web_sys::Element>().ok())
    }

    /// Whether relative motion goes to the guest: the pointer is locked to the canvas, or
    /// the browser has no Pointer Lock (then the visitor's moves over the canvas count).
    fn pointer_locked(&self) -> bool {
        if !self.features.pointer_lock {
            return true;
        }
        self.pointer_lock_element()
            .is_some_and(|e| e == *self.view.canvas.unchecked_ref::<web_sys::Element>())
    }

    fn sync_locks(&mut self, e: &MouseEvent) {
        self.sync_locks_with(
            e.get_modifier_state("CapsLock"),
            e.get_modifier_state("NumLock"),
            e.get_modifier_state("ScrollLock"),
        );
    }

    fn sync_locks_with(&mut self, caps: bool, num: bool, scroll: bool) {
        if !self.input.sync_locks {
            return;
        }
        if let Some(s) = self.session.as_mut() {
            if s.set_lock_keys(lock_state(caps, num, scroll)) {
                self.input.sync_locks = false;
            }
        }
    }

    fn forward_keys(&mut self, actions: Vec<KeyAction>) {
        if self.session.is_none() {
            return;
        }
        let actions = self.input.modifiers.apply(actions, self.input.last_mods);
        self.input
            .key_queue
            .extend(actions.into_iter().map(|a| (a.code, a.pressed)));
        self.drain_keys();
    }

    fn on_key(&mut self, e: &KeyboardEvent, pressed: bool) {
        if self.session.is_none() {
            return;
        }
        self.sync_locks_with(
            e.get_modifier_state("CapsLock"),
            e.get_modifier_state("NumLock"),
            e.get_modifier_state("ScrollLock"),
        );
        let code = e.code();
        if let Some(f) = self.key_filter.as_mut() {
            let mods = [e.ctrl_key(), e.alt_key(), e.shift_key(), e.meta_key()];
            if f.swallow(&code, pressed, mods) {
                // A kiosk's blocked chord: neither the guest nor the browser gets it.
                e.prevent_default();
                e.stop_propagation();
                return;
            }
        }
        let known = spice_client::inputs::keymap::scancode_for_code(&code).is_some();
        self.input.last_mods = EventModifiers {
            shift: e.shift_key()
                || implied_shift(&code, &e.key(), e.get_modifier_state("CapsLock")),
            ctrl: e.ctrl_key(),
            alt: e.alt_key(),
            altgraph: e.get_modifier_state("AltGraph"),
        };
        let actions = self.input.altgr.event(
            &code,
            pressed,
            e.time_stamp(),
            e.get_modifier_state("AltGraph"),
        );
        self.forward_keys(actions);
        if known {
            // Keep the browser's own shortcuts (Ctrl-W, F5, Tab…) out of the way.
            e.prevent_default();
            e.stop_propagation();
        }
        self.input.flush_timer = None;
        if self.input.altgr.has_pending() {
            let weak = self.weak.clone();
            self.input.flush_timer = Some(Timeout::new(ALTGR_FLUSH_MS, move || {
                Inner::with(&weak, |p| {
                    let a = p.input.altgr.flush();
                    p.forward_keys(a);
                    p.pump();
                });
            }));
        }
        self.pump();
    }

    fn on_key_down(&mut self, e: &KeyboardEvent) {
        self.on_key(e, true);
    }

    fn on_key_up(&mut self, e: &KeyboardEvent) {
        self.on_key(e, false);
    }

    fn on_blur(&mut self) {
        if let Some(f) = self.key_filter.as_mut() {
            f.reset();
        }
        self.input.altgr.reset();
        self.input.gestures.reset();
        self.input.touch_timer = None;
        self.input.modifiers.reset();
        self.input.flush_timer = None;
        self.input.key_timer = None;
        let queued: Vec<(String, bool)> = self.input.key_queue.drain(..).collect();
        if let Some(s) = self.session.as_mut() {
            // What was typed still goes to the guest; then nothing stays held down.
            for (code, down) in queued {
                s.key(&code, down);
            }
            s.release_all();
        }
        self.pump();
        // Typed text keeps its pace: it does not come from the screen's focus.
        self.drain_keys();
    }

    fn box_rect(&self) -> BoxRect {
        let r = self.view.canvas.get_bounding_client_rect();
        BoxRect {
            left: r.left(),
            top: r.top(),
            width: r.width(),
            height: r.height(),
        }
    }

    /// Sends the absolute position (client mode) for a viewport point.
    pub(super) fn position_at(&mut self, x: f64, y: f64) {
        let (sw, sh) = self.presenter.size();
        let (sx, sy) = client_to_surface(x, y, self.box_rect(), sw, sh);
        self.cursor.move_to(f64::from(sx), f64::from(sy));
        if let Some(s) = self.session.as_mut() {
            s.mouse_position(sx, sy);
        }
    }

    fn flush_altgr(&mut self) {
        let a = self.input.altgr.flush();
        if !a.is_empty() {
            self.input.flush_timer = None;
            self.forward_keys(a);
        }
    }

    fn on_mouse_move(&mut self, e: &MouseEvent) {
        if self.session.is_none() {
            return;
        }
        self.sync_locks(e);
        if self.input.client_mode {
            self.position_at(f64::from(e.client_x()), f64::from(e.client_y()));
        } else if self.pointer_locked() {
            if let Some(s) = self.session.as_mut() {
                s.mouse_motion(e.movement_x(), e.movement_y());
            }
        }
        self.pump();
    }

    fn on_mouse_down(&mut self, e: &MouseEvent) {
        if let Some(a) = self.audio.as_ref() {
            a.resume();
        }
        if self.session.is_none() {
            return;
        }
        self.sync_locks(e);
        self.flush_altgr();
        if !self.input.client_mode && !self.pointer_locked() {
            // Server mode: the first click captures the pointer; it is not sent.
            self.view.canvas.request_pointer_lock();
            return;
        }
        if self.input.client_mode {
            self.position_at(f64::from(e.client_x()), f64::from(e.client_y()));
        }
        if let (Some(b), Some(s)) = (Button::from_dom(e.button()), self.session.as_mut()) {
            s.mouse_button(b, true);
        }
        self.pump();
    }

    fn on_mouse_up(&mut self, e: &MouseEvent) {
        if let (Some(b), Some(s)) = (Button::from_dom(e.button()), self.session.as_mut()) {
            s.mouse_button(b, false);
        }
        self.pump();
    }

    fn on_wheel(&mut self, e: &WheelEvent) {
        e.prevent_default();
        if let Some(up) = self.input.wheel.event(e.delta_y(), e.delta_mode()) {
            if let Some(s) = self.session.as_mut() {
                s.mouse_wheel(up);
            }
            self.pump();
        }
    }
}

/// Moves the screen (its `.screen-wrap`, so the cursor overlay comes along) by less than
/// one device pixel so that its top-left corner lands on a whole device pixel.
///
/// `display_size` gives the canvas a whole number of device pixels per guest pixel, but
/// that only shows crisp if the canvas also *starts* on a device pixel: at a fractional
/// offset the compositor resamples it and rows or columns of guest pixels come out one
/// device pixel too thin or too thick. Where the screen sits is up to the page around
/// the player: centring in a stage of odd width, a status line of fractional height, or
/// the host page of `<olive-player>` (a portal's, or the app's item page, where the
/// shadow host's `contain: content` stops margins collapsing through it) can all leave it
/// at, say, y = 120.25 CSS px, which is 240.5 device pixels at a ratio of 2. So instead of
/// relying on the layout, the offset is measured and corrected: the wrap is already
/// `position: relative`, and `left`/`top` shift it without moving anything else.
fn snap_to_device_pixels(canvas: &web_sys::HtmlCanvasElement, dpr: f64) {
    let Some(wrap) = canvas
        .parent_element()
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    else {
        return;
    };
    let st = wrap.style();
    let _ = st.remove_property("left");
    let _ = st.remove_property("top");
    let r = canvas.get_bounding_client_rect();
    // CSS px to add so that `v * dpr` becomes whole (nearest, so under half a device px).
    let nudge = |v: f64| {
        let d = v * dpr;
        let n = (d.round() - d) / dpr;
        if n.abs() < 1e-4 {
            0.0
        } else {
            n
        }
    };
    let (dx, dy) = (nudge(r.left()), nudge(r.top()));
    if dx != 0.0 {
        let _ = st.set_property("left", &format!("{dx}px"));
    }
    if dy != 0.0 {
        let _ = st.set_property("top", &format!("{dy}px"));
    }
}
