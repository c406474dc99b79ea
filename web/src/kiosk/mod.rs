//! Kiosk mode (`/kiosk/<name>`, `<olive-player kiosk="name">`): one title, or an attract
//! loop of a few, for strangers all day, from the gateway's `[[kiosk]]` profile.
//!
//! - Attract loop ([`attract`]): each title's saved screen in turn; a key, a click or a
//!   touch starts the title shown (inside that gesture: full screen, Keyboard Lock and the
//!   Wake Lock are asked for then, [`locks`]).
//! - Playing: the app's [`Player`] with the kiosk's blocked chords filtered before they
//!   become scancodes ([`crate::player::filter`]) and no toolbar. Every machine is asked
//!   for `fresh`, so a visitor never inherits the previous one's.
//! - Idle ([`idle`]): no input for `idle_secs` shows "Still playing? Resetting in N s";
//!   input cancels it; at zero the machine is destroyed and the title starts again from
//!   its memory image. The time from the warning's end to the title running again is
//!   published as `data-kiosk-reset-ms`.
//! - Staff ([`staff`]): the staff chord opens a PIN dialog; the gateway checks the PIN;
//!   the menu resets, switches titles or leaves kiosk mode.
//!
//! Automation contract: `#olive-kiosk` carries `data-kiosk-state` (loading, attract,
//! playing, warning, resetting, staff, left, error), `data-kiosk-item` (the title
//! playing), `data-kiosk-reset-ms`, `data-kiosk-wake-lock` (granted, refused, unsupported); the loop is `#olive-kiosk-attract` (`data-item`, the
//! title shown) with `#olive-kiosk-screen`; the warning `#olive-kiosk-warning`.

pub(crate) mod attract;
pub(crate) mod idle;
pub(crate) mod locks;
pub(crate) mod staff;
mod unlock;

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use gloo::events::{EventListener, EventListenerOptions, EventListenerPhase};
use gloo::timers::callback::{Interval, Timeout};
use olive_api::{Chord, KioskProfile};
use wasm_bindgen::JsCast;
use web_sys::{HtmlElement, KeyboardEvent};

use crate::api::{self, Gateway};
use crate::player::{Launch, Player};
use crate::ui::dom::{self, attr, el, text_el};

/// A running kiosk; dropping it ends the session and every timer.
pub struct Kiosk {
    inner: Rc<RefCell<State>>,
}

/// Where the kiosk is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Loading,
    Attract,
    Playing,
    Warning,
    Resetting,
    Staff,
    Left,
    Error,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Mode::Loading => "loading",
            Mode::Attract => "attract",
            Mode::Playing => "playing",
            Mode::Warning => "warning",
            Mode::Resetting => "resetting",
            Mode::Staff => "staff",
            Mode::Left => "left",
            Mode::Error => "error",
        }
    }
}

struct State {
    weak: Weak<RefCell<State>>,
    name: String,
    gateway: Gateway,
    root: HtmlElement,
    stage: HtmlElement,
    message: HtmlElement,
    attract: attract::Attract,
    warning: idle::Warning,
    staff: Option<staff::StaffViews>,
    locks: locks::Locks,
    profile: Option<KioskProfile>,
    staff_chord: Option<Chord>,
    mode: Mode,
    /// The title shown in the loop, or playing.
    current: usize,
    player: Option<Player>,
    /// `performance.now()` at the warning's end, until the title runs again.
    reset_started: Option<f64>,
    attract_timer: Option<Interval>,
    idle_timer: Option<Timeout>,
    countdown: Option<Interval>,
    seconds_left: u32,
    listeners: Vec<EventListener>,
    player_listeners: Vec<EventListener>,
}

impl Kiosk {
    /// Builds the kiosk `name` inside `container` and loads its profile from `gateway`.
    pub fn start(container: &HtmlElement, name: &str, gateway: Gateway) -> Kiosk {
        let root = el("div", "kiosk");
        root.set_id("olive-kiosk");
        let stage = el("div", "kiosk-stage");
        let message = text_el("p", "message", "Loading…");
        attr(&message, "role", "status");
        let attract = attract::Attract::new();
        let warning = idle::Warning::new();
        for c in [&message, &attract.root, &stage, &warning.root] {
            let _ = root.append_child(c);
        }
        let _ = container.append_child(&root);
        let inner = Rc::new_cyclic(|weak| {
            RefCell::new(State {
                weak: weak.clone(),
                name: name.to_owned(),
                gateway: gateway.clone(),
                root,
                stage,
                message,
                attract,
                warning,
                staff: None,
                locks: locks::Locks::default(),
                profile: None,
                staff_chord: None,
                mode: Mode::Loading,
                current: 0,
                player: None,
                reset_started: None,
                attract_timer: None,
                idle_timer: None,
                countdown: None,
                seconds_left: 0,
                listeners: Vec::new(),
                player_listeners: Vec::new(),
            })
        });
        inner.borrow_mut().set_mode(Mode::Loading);
        State::install_listeners(&inner);
        let weak = Rc::downgrade(&inner);
        let name = name.to_owned();
        wasm_bindgen_futures::spawn_local(async move {
            let result = api::kiosk_profile(&gateway, &name).await;
            State::with(&weak, |s| match result {
                Ok(p) => s.loaded(p),
                Err(e) => {
                    dom::log(&format!("kiosk {name}: {e:?}"));
                    s.fail(&format!("The kiosk \"{name}\" could not be loaded."));
                }
            });
        });
        Kiosk { inner }
    }

    /// Resets the title now (a portal's `reset()`).
    pub fn reset(&self) {
        State::with(&Rc::downgrade(&self.inner), |s| s.reset());
    }

    /// Leaves kiosk mode (a portal's `stop()`).
    pub fn leave(&self) {
        State::with(&Rc::downgrade(&self.inner), |s| s.leave());
    }

    /// Full screen and the locks (from a user gesture).
    pub fn engage(&self) {
        if let Ok(s) = self.inner.try_borrow() {
            s.locks.engage(&s.root);
        }
    }

    /// `data-kiosk-state`'s name.
    pub fn state(&self) -> String {
        self.inner
            .try_borrow()
            .map(|s| s.mode.as_str().to_owned())
            .unwrap_or_default()
    }
}

impl Drop for Kiosk {
    fn drop(&mut self) {
        if let Ok(mut s) = self.inner.try_borrow_mut() {
            s.stop_timers();
            s.player = None;
            s.locks.release();
        }
    }
}

impl State {
    fn with(weak: &Weak<RefCell<State>>, f: impl FnOnce(&mut State)) {
        if let Some(rc) = weak.upgrade() {
            if let Ok(mut s) = rc.try_borrow_mut() {
                f(&mut s);
            }
        }
    }

    fn set_mode(&mut self, mode: Mode) {
        self.mode = mode;
        attr(&self.root, "data-kiosk-state", mode.as_str());
    }

    /// Input anywhere on the page: keys (with the staff chord), pointers and touches.
    /// Capture phase on the window, so the kiosk hears every input before the player.
    fn install_listeners(rc: &Rc<RefCell<State>>) {
        let window = web_sys::window().expect("window");
        let capture = EventListenerOptions {
            phase: EventListenerPhase::Capture,
            passive: false,
        };
        let mut ls = Vec::new();
        let weak = Rc::downgrade(rc);
        ls.push(EventListener::new_with_options(
            &window,
            "keydown",
            capture,
            move |e| {
                let e: &KeyboardEvent = e.unchecked_ref();
                State::with(&weak, |s| s.on_key(e));
            },
        ));
        for ty in ["pointerdown", "touchstart"] {
            let weak = Rc::downgrade(rc);
            ls.push(EventListener::new_with_options(
                &window,
                ty,
                capture,
                move |_| State::with(&weak, |s| s.on_press()),
            ));
        }
        for ty in ["pointermove", "wheel", "keyup"] {
            let weak = Rc::downgrade(rc);
            ls.push(EventListener::new_with_options(
                &window,
                ty,
                capture,
                move |_| State::with(&weak, |s| s.activity()),
            ));
        }
        // Leaving the page ends the session: the machine is destroyed, not left to the
        // disconnect grace.
        let weak = Rc::downgrade(rc);
        ls.push(EventListener::new(&window, "pagehide", move |_| {
            State::with(&weak, |s| s.player = None);
        }));
        rc.borrow_mut().listeners = ls;
    }

    fn loaded(&mut self, profile: KioskProfile) {
        if profile.items.is_empty() {
            return self.fail("This kiosk has no titles.");
        }
        self.staff_chord = Chord::parse(&profile.staff_chord).ok();
        let views = staff::StaffViews::new(&profile.items);
        let _ = self.root.append_child(&views.pin_dialog);
        let _ = self.root.append_child(&views.menu);
        self.staff = Some(views);
        self.wire_staff();
        attr(&self.root, "data-kiosk", &profile.name);
        let single = profile.items.len() == 1;
        self.profile = Some(profile);
        self.message.set_hidden(true);
        if single {
            // One title: it starts by itself (and is full screen from the first touch).
            self.play(0);
        } else {
            self.show_attract();
        }
    }

    fn fail(&mut self, msg: &str) {
        self.message.set_text_content(Some(msg));
        self.message.set_hidden(false);
        self.set_mode(Mode::Error);
    }

    fn stop_timers(&mut self) {
        self.attract_timer = None;
        self.idle_timer = None;
        self.countdown = None;
    }

    fn show_attract(&mut self) {
        self.stop_timers();
        self.player = None;
        self.player_listeners.clear();
        self.warning.hide();
        let Some(p) = self.profile.as_ref() else {
            return;
        };
        self.current %= p.items.len();
        self.attract.show(&self.gateway, &p.items[self.current]);
        let weak = self.weak.clone();
        let period = p.attract_secs.clamp(1, 3600) * 1000;
        self.attract_timer = Some(Interval::new(period, move || {
            State::with(&weak, |s| s.next_screen());
        }));
        self.set_mode(Mode::Attract);
    }

    fn next_screen(&mut self) {
        let Some(p) = self.profile.as_ref() else {
            return;
        };
        self.current = (self.current + 1) % p.items.len();
        self.attract.show(&self.gateway, &p.items[self.current]);
    }

    /// Starts (or restarts, pristine) title `index`. Called from a visitor's gesture when
    /// it can be, for full screen and the AudioContext.
    fn play(&mut self, index: usize) {
        let Some(p) = self.profile.as_ref() else {
            return;
        };
        let Some(item) = p.items.get(index).cloned() else {
            return;
        };
        let mut blocked = p.blocked_keys.clone();
        blocked.push(p.staff_chord.clone());
        self.stop_timers();
        self.attract.hide();
        self.warning.hide();
        self.player_listeners.clear();
        self.player = None;
        if let Some(old) = self.stage.query_selector("#olive-player").ok().flatten() {
            old.remove();
        }
        self.current = index;
        let player = Player::launch(Launch {
            fresh: true,
            kiosk_keys: Some(blocked),
            gateway: self.gateway.clone(),
            ..Launch::new(&item.id, &item.title)
        });
        let element = player.element();
        let _ = self.stage.append_child(&element);
        let weak = self.weak.clone();
        self.player_listeners
            .push(EventListener::new(&element, "statechange", move |e| {
                let state = e
                    .dyn_ref::<web_sys::CustomEvent>()
                    .and_then(|c| js_sys::Reflect::get(&c.detail(), &"state".into()).ok())
                    .and_then(|v| v.as_string())
                    .unwrap_or_default();
                State::with(&weak, |s| s.on_player_state(&state));
            }));
        if let Ok(Some(c)) = element.query_selector("#olive-screen") {
            if let Ok(c) = c.dyn_into::<HtmlElement>() {
                Timeout::new(0, move || {
                    let _ = c.focus();
                })
                .forget();
            }
        }
        self.player = Some(player);
        attr(&self.root, "data-kiosk-item", &item.id);
        if self.mode != Mode::Resetting {
            self.set_mode(Mode::Playing);
        }
        self.arm_idle();
    }

    fn on_player_state(&mut self, state: &str) {
        match state {
            "running" => {
                if let Some(t0) = self.reset_started.take() {
                    let ms = dom::now_ms() - t0;
                    attr(&self.root, "data-kiosk-reset-ms", &format!("{ms:.0}"));
                }
                if self.mode == Mode::Resetting {
                    self.set_mode(Mode::Playing);
                    self.arm_idle();
                }
            }
            // The machine went away (or never came): start over, so the kiosk never
            // stands still on an error for the next visitor.
            "error" | "ended" | "stopped" if self.mode != Mode::Left => {
                let weak = self.weak.clone();
                self.idle_timer = Some(Timeout::new(10_000, move || {
                    State::with(&weak, |s| s.reset());
                }));
            }
            _ => {}
        }
    }

    fn on_key(&mut self, e: &KeyboardEvent) {
        let staff = self.staff_chord.as_ref().is_some_and(|c| {
            c.matches(
                &e.code(),
                e.ctrl_key(),
                e.alt_key(),
                e.shift_key(),
                e.meta_key(),
            )
        });
        if staff && !matches!(self.mode, Mode::Staff | Mode::Left | Mode::Loading) {
            e.prevent_default();
            e.stop_propagation();
            self.open_pin();
            return;
        }
        if Chord::is_modifier(&e.code()) {
            // A modifier alone does not start a title (staff begin their chord with them).
            self.activity();
            return;
        }
        self.on_press();
    }

    /// A key, click or touch: in the loop it starts the title shown.
    fn on_press(&mut self) {
        match self.mode {
            Mode::Attract => {
                self.locks.engage(&self.root);
                let i = self.current;
                self.play(i);
            }
            Mode::Playing | Mode::Warning => {
                self.locks.engage(&self.root);
                self.activity();
            }
            _ => {}
        }
    }

    /// The pristine reset: the visitor's machine is destroyed and the same title starts
    /// again from its memory image (asked for `fresh`).
    fn reset(&mut self) {
        if self.profile.is_none() || self.mode == Mode::Left {
            return;
        }
        self.hide_staff_boxes();
        self.reset_started = Some(dom::now_ms());
        self.set_mode(Mode::Resetting);
        let i = self.current;
        self.play(i);
    }

    /// Ends kiosk mode: the machine is destroyed, full screen and the locks released.
    fn leave(&mut self) {
        self.stop_timers();
        self.hide_staff_boxes();
        self.player_listeners.clear();
        self.player = None;
        self.locks.release();
        self.attract.hide();
        self.warning.hide();
        self.stage.set_inner_html("");
        self.listeners.clear();
        self.message.set_text_content(Some(
            "Kiosk mode has ended. Reload the page to start it again.",
        ));
        self.message.set_hidden(false);
        self.set_mode(Mode::Left);
    }
}
