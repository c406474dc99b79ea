//! The player: one visitor session with one preserved machine.
//!
//! [`Player`] owns everything of a session in one `Rc<RefCell<Inner>>`: the control
//! connection (netx-proto), the SPICE [`Session`] and one WebSocket per channel, the
//! presenter, cursor, input and audio. DOM and socket callbacks hold a `Weak` to it, so
//! dropping the player (leaving the page, Run again) tears every callback down.
//!
//! Re-entrancy: WebSocket, timer and animation-frame callbacks are always separate tasks,
//! so they borrow mutably without conflict. `focus`/`blur` may fire synchronously from
//! inside our own code (focusing the canvas), so those handlers use `try_borrow_mut`.

pub mod audio;
pub(crate) mod channel;
pub(crate) mod clipboard;
pub(crate) mod control;
pub mod cursor;
pub(crate) mod dirty;
pub(crate) mod events;
pub(crate) mod features;
pub(crate) mod filter;
pub(crate) mod follow;
pub(crate) mod geometry;
pub(crate) mod input;
pub(crate) mod keys;
pub(crate) mod layout;
pub(crate) mod modifiers;
pub(crate) mod opus;
pub(crate) mod osk;
pub(crate) mod pcm;
pub mod presenter;
pub(crate) mod queue;
pub(crate) mod session;
pub(crate) mod touch;
pub(crate) mod touchpad;
pub(crate) mod transport;
pub(crate) mod typebox;
pub(crate) mod typing;
pub(crate) mod view;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};

use gloo::events::EventListener;
use spice_client::{ChannelKey, Session};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

use crate::api::{self, ApiError, CreateAnswer, Gateway, Instance, LaunchGrant};
use crate::ui::dom::{self, attr};
use crate::ui::status::{self, text, PlayerState};
use audio::{Audio, AudioStats};
use cursor::CursorView;
use geometry::{Aspect, ScaleMode};
use presenter::Presenter;
use view::View;

/// What to launch, and how: the app's Run button and a portal's `<olive-player>` both
/// describe a session with this, so there is one player behind both.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The catalog id.
    pub(crate) item: String,
    /// The heading above the screen.
    pub(crate) title: String,
    /// Where the API and the sockets are.
    pub(crate) gateway: Gateway,
    /// A portal's signed launch link, for items that are not public.
    pub(crate) grant: Option<LaunchGrant>,
    /// Show the machine without sending it input (a portal's preview, a lobby screen).
    pub(crate) view_only: bool,
    /// The initial scaling.
    pub(crate) scale: ScaleMode,
    /// Whether the classic PC modes are shown at 4:3 (the toolbar's "4:3" toggles it).
    pub(crate) aspect: Aspect,
    /// Ask for a pristine machine: the visitor's own running one of the item is replaced
    /// (a kiosk's reset), not handed back.
    pub(crate) fresh: bool,
    /// Kiosk mode: these chords never reach the guest, and the toolbar (whose key menu
    /// would send them) is hidden. `None`: every key goes through.
    pub(crate) kiosk_keys: Option<Vec<String>>,
}

impl Launch {
    /// The app's own launch: this gateway, no grant, input on, fit to the space.
    pub fn new(item: &str, title: &str) -> Launch {
        Launch {
            item: item.to_owned(),
            title: title.to_owned(),
            gateway: Gateway::here(),
            grant: None,
            view_only: false,
            scale: ScaleMode::Fit,
            aspect: Aspect::Crt,
            fresh: false,
            kiosk_keys: None,
        }
    }
}

/// A running (or finished) player. Dropping it ends the session.
pub struct Player {
    inner: Rc<RefCell<Inner>>,
}

/// Everything of one session. See the module docs.
pub(crate) struct Inner {
    weak: Weak<RefCell<Inner>>,
    /// The DOM.
    pub(crate) view: View,
    item: String,
    gateway: Gateway,
    /// Input goes nowhere (see [`Launch::view_only`]).
    view_only: bool,
    state: PlayerState,
    /// `performance.now()` at the Run click.
    t_run: f64,
    instance: Option<Instance>,
    /// The title, for the queue's words.
    title: String,
    /// The queue stream while waiting for a seat.
    queue: Option<queue::QueueWatch>,
    ws_url: String,
    control: Option<control::Control>,
    session: Option<Session>,
    viewers: HashMap<ChannelKey, channel::Viewer>,
    presenter: Presenter,
    frame_pending: bool,
    raf: Option<Closure<dyn FnMut(f64)>>,
    cursor: CursorView,
    input: input::InputState,
    audio: Option<Audio>,
    audio_stats: Rc<RefCell<AudioStats>>,
    audio_attr_at: f64,
    scale_mode: ScaleMode,
    /// The visitor's choice of pixel shape ([`geometry::pixel_aspect`] says whether it
    /// applies to the current mode).
    aspect: Aspect,
    progress_since: Option<f64>,
    state_before_reconnect: PlayerState,
    listeners: Vec<EventListener>,
    probe: Option<Closure<dyn Fn() -> js_sys::Float32Array>>,
    /// The browser decodes Opus (checked at launch, long before the VM is up).
    opus_supported: bool,
    /// Optional APIs found at launch.
    pub(crate) features: features::Features,
    opus: Option<opus::OpusDecoder>,
    audio_attr_timer: Option<gloo::timers::callback::Timeout>,
    /// A fatal channel failure waiting for the control connection's explanation.
    pending_failure: Option<String>,
    failure_timer: Option<gloo::timers::callback::Timeout>,
    /// Wakes the session when its next video frame is due (and that time).
    stream_timer: Option<(std::time::Duration, gloo::timers::callback::Timeout)>,
    /// The guest's keyboard layout, from the created instance: typed text uses it.
    keymap: layout::Keymap,
    /// What the Type-text box adds to its progress (characters it could not type).
    typing_note: String,
    /// A kiosk's blocked chords (see [`filter`]); `None` outside kiosk mode.
    pub(crate) key_filter: Option<filter::KeyFilter>,
    /// The agent can resize the guest: it follows the player's size ([`follow`]).
    agent_resize: bool,
    /// A size waiting for the debounce before the guest is asked to follow it.
    follow: Option<follow::PendingSize>,
}

impl Player {
    /// Builds the player for `item` and starts the launch. Call from the Run click
    /// handler: the AudioContext is created here, inside the user gesture.
    pub fn launch(launch: Launch) -> Player {
        let Launch {
            item,
            title,
            gateway,
            grant,
            view_only,
            scale,
            aspect,
            fresh,
            kiosk_keys,
        } = launch;
        let item = item.as_str();
        let t_run = dom::now_ms();
        let view = View::new(&title);
        let audio_stats = Rc::new(RefCell::new(AudioStats::default()));
        let features = features::Features::detect();
        let audio = match Audio::new(audio_stats.clone(), features.audio_worklet) {
            Ok(a) => Some(a),
            Err(e) => {
                dom::log(&format!("no audio: {e:?}"));
                None
            }
        };
        let presenter = Presenter::new(view.canvas.clone()).expect("canvas 2d context");
        let cursor = CursorView::new(view.canvas.clone(), view.overlay.clone());
        let ws_url = gateway.ws("/ws");
        let inner = Rc::new_cyclic(|weak| {
            RefCell::new(Inner {
                weak: weak.clone(),
                view,
                item: item.to_owned(),
                gateway: gateway.clone(),
                view_only,
                state: PlayerState::Loading,
                t_run,
                instance: None,
                title: title.clone(),
                queue: None,
                ws_url,
                control: None,
                session: None,
                viewers: HashMap::new(),
                presenter,
                frame_pending: false,
                raf: None,
                cursor,
                input: input::InputState::default(),
                audio,
                audio_stats,
                audio_attr_at: 0.0,
                scale_mode: scale,
                aspect,
                progress_since: None,
                state_before_reconnect: PlayerState::Connecting,
                listeners: Vec::new(),
                probe: None,
                opus_supported: false,
                features,
                opus: None,
                pending_failure: None,
                failure_timer: None,
                stream_timer: None,
                audio_attr_timer: None,
                keymap: layout::Keymap::default(),
                typing_note: String::new(),
                key_filter: kiosk_keys.as_deref().map(filter::KeyFilter::new),
                agent_resize: false,
                follow: None,
            })
        });
        {
            let mut p = inner.borrow_mut();
            p.set_state(PlayerState::Loading, text::CREATING);
            if p.view_only {
                p.view.osk.toggle.set_hidden(true);
                p.view.typebox.toggle.set_hidden(true);
                p.view.clipbox.toggle.set_hidden(true);
                attr(&p.view.root, "data-view-only", "true");
            }
            attr(&p.view.root, "data-mouse-mode", "server");
            p.show_aspect_choice();
            attr(&p.view.root, "data-audio-frames", "0");
            if p.key_filter.is_some() {
                // The key menu would send the chords the kiosk blocks; a kiosk has no
                // controls for visitors anyway.
                if let Ok(Some(bar)) = p.view.root.query_selector(".player-toolbar") {
                    let _ = bar.set_attribute("hidden", "");
                }
                attr(&p.view.root, "data-kiosk", "true");
            }
            p.features.publish(&p.view.root);
            p.publish_audio_path();
            p.probe = Some(audio::install_probe(&p.view.root, p.audio_stats.clone()));
            p.install_listeners();
        }
        let weak = Rc::downgrade(&inner);
        wasm_bindgen_futures::spawn_local(async move {
            let ok = features.audio_decoder && opus::supported().await;
            if let Some(rc) = weak.upgrade() {
                rc.borrow_mut().opus_supported = ok;
            }
        });
        let weak = Rc::downgrade(&inner);
        let item = item.to_owned();
        wasm_bindgen_futures::spawn_local(async move {
            let result = api::create_instance(&gateway, &item, grant.as_ref(), fresh).await;
            if let Some(rc) = weak.upgrade() {
                rc.borrow_mut().on_created(result);
            }
        });
        Player { inner }
    }

    /// The player element, to insert into the page.
    pub fn element(&self) -> web_sys::HtmlElement {
        self.inner.borrow().view.root.clone()
    }

    /// The "Run again" button (the app wires it).
    pub fn retry_button(&self) -> web_sys::HtmlButtonElement {
        self.inner.borrow().view.retry.clone()
    }

    /// Names the title in the player's labels and the queue's words: an embedded player
    /// starts before the gateway has described its item, knowing only the item's id.
    pub fn set_title(&self, title: &str) {
        if let Ok(mut p) = self.inner.try_borrow_mut() {
            p.view.set_title(title);
            p.title = title.to_owned();
        }
    }

    /// The current state.
    pub fn state(&self) -> PlayerState {
        self.inner.borrow().state
    }

    /// Ends the session on the page's request (a portal's `stop()`): the VM is destroyed
    /// and the player says so.
    pub fn stop(&self) {
        if let Ok(mut p) = self.inner.try_borrow_mut() {
            if !p.state.is_final() {
                p.shutdown();
                p.set_state(PlayerState::Ended, text::STOPPED_BY_PAGE);
            }
        }
    }

    /// Presses `codes` (`KeyboardEvent.code` names) in order and releases them in reverse:
    /// a chord such as `["ControlLeft", "AltLeft", "Delete"]`. Unknown names are skipped by
    /// the session's key map, as for any key the guest has no scancode for.
    pub fn send_keys(&self, codes: &[String]) {
        if let Ok(mut p) = self.inner.try_borrow_mut() {
            let mut seq: Vec<(String, bool)> = codes.iter().map(|c| (c.clone(), true)).collect();
            seq.extend(codes.iter().rev().map(|c| (c.clone(), false)));
            p.queue_keys(seq);
        }
    }

    /// Types `text` as the key presses of the item's layout, paced and behind any text
    /// still being typed (the Type-text box's queue, whose Cancel stops it too); returns
    /// how many characters were not typed (no key on the layout, too long, or no machine
    /// running to type into).
    pub fn type_text(&self, text: &str) -> usize {
        let plan = match self.inner.try_borrow_mut() {
            Ok(mut p) if !p.view_only => p.type_text(text),
            _ => None,
        };
        plan.map_or_else(|| text.chars().count(), |p| p.skipped)
    }

    /// Enters or leaves full screen, as the toolbar button does (browsers allow it only
    /// inside a user gesture: call it from the page's click handler).
    pub fn toggle_fullscreen(&self) {
        if let Ok(mut p) = self.inner.try_borrow_mut() {
            p.toggle_fullscreen();
        }
    }

    /// Ends the session: tells the server to destroy the VM, closes everything.
    pub fn close(&self) {
        if let Ok(mut p) = self.inner.try_borrow_mut() {
            p.shutdown();
        }
    }
}

impl Drop for Player {
    fn drop(&mut self) {
        self.close();
    }
}

impl Inner {
    /// Runs `f` on the player behind `weak`, if it still exists and is not busy.
    pub(crate) fn with(weak: &Weak<RefCell<Inner>>, f: impl FnOnce(&mut Inner)) {
        if let Some(rc) = weak.upgrade() {
            match rc.try_borrow_mut() {
                Ok(mut p) => f(&mut p),
                Err(_) => dom::log("player busy: event dropped"),
            }
        }
    }

    /// Moves to `state` with the status text `message`.
    pub(crate) fn set_state(&mut self, state: PlayerState, message: &str) {
        let changed = self.state != state;
        self.state = state;
        events::state_changed(&self.view.root, state, message, changed);
        attr(&self.view.root, "data-state", state.as_str());
        self.view.status.set_text_content(Some(message));
        self.view.retry.set_hidden(!state.is_final());
        if state != PlayerState::Loading {
            self.view.set_progress(None, "");
        }
        if state.is_final() {
            self.view.root.class_list().add_1("finished").ok();
        }
    }

    fn on_created(&mut self, result: Result<CreateAnswer, ApiError>) {
        match result {
            Ok(CreateAnswer::Queued(q)) => self.on_queued(q),
            Ok(CreateAnswer::Instance(i)) => self.on_instance(Ok(i)),
            Err(e) => self.on_instance(Err(e)),
        }
    }

    pub(crate) fn on_instance(&mut self, result: Result<Instance, ApiError>) {
        match result {
            Ok(inst) => {
                attr(&self.view.root, "data-instance", &inst.id);
                self.keymap = inst.keymap;
                attr(&self.view.root, "data-keymap", inst.keymap.as_str());
                self.ws_url = self.gateway.ws(&inst.control_url);
                self.set_state(PlayerState::Loading, text::BOOTING);
                let token = inst.token.clone();
                self.instance = Some(inst);
                self.start_control(token);
            }
            Err(ApiError::Full(n)) => self.set_state(PlayerState::Error, &status::server_full(n)),
            Err(ApiError::Unreachable(e)) => {
                dom::log(&format!("create instance: {e}"));
                self.set_state(PlayerState::Error, text::UNREACHABLE)
            }
            Err(ApiError::Status(404, _)) => self.set_state(
                PlayerState::Error,
                &format!("The collection has no item \"{}\".", self.item),
            ),
            Err(ApiError::Status(403, m)) => self.set_state(
                PlayerState::Error,
                &format!("This link cannot start the machine: {m}"),
            ),
            Err(ApiError::Status(code, m)) => self.set_state(
                PlayerState::Error,
                &format!("The server could not start the machine ({code}): {m}"),
            ),
            Err(ApiError::Malformed(m)) => self.set_state(
                PlayerState::Error,
                &format!("The server sent an answer this page does not understand: {m}"),
            ),
        }
    }

    /// Leaves: destroy the VM, close every connection, stop sound.
    pub(crate) fn shutdown(&mut self) {
        self.queue = None;
        self.shutdown_control();
        self.viewers.clear();
        self.session = None;
        if let Some(a) = self.audio.take() {
            a.close();
        }
        self.listeners.clear();
    }

    /// Updates `data-audio-frames` at most four times per second.
    /// Publishes the frame count at most every 250 ms; a throttled update is not lost but
    /// runs when the interval ends (audio may arrive in one burst and then stop).
    fn update_audio_attr(&mut self, force: bool) {
        let now = dom::now_ms();
        if force || now - self.audio_attr_at >= 250.0 {
            self.audio_attr_at = now;
            self.audio_attr_timer = None;
            let n = self.audio_stats.borrow().frames;
            attr(&self.view.root, "data-audio-frames", &n.to_string());
            self.publish_audio_path();
        } else if self.audio_attr_timer.is_none() {
            let weak = self.weak.clone();
            let wait = (250.0 - (now - self.audio_attr_at)).max(0.0) as u32;
            self.audio_attr_timer = Some(gloo::timers::callback::Timeout::new(wait, move || {
                Inner::with(&weak, |p| {
                    p.audio_attr_timer = None;
                    p.update_audio_attr(true);
                });
            }));
        }
    }

    /// `data-audio-path` and `data-audio-context` (the path may change once: a worklet
    /// that fails to load falls back to buffers).
    fn publish_audio_path(&self) {
        let (path, state) = match self.audio.as_ref() {
            Some(a) => (a.path(), a.context_state()),
            None => ("none", "none"),
        };
        attr(&self.view.root, "data-audio-path", path);
        attr(&self.view.root, "data-audio-context", state);
    }

    /// Asks for an animation frame if none is pending.
    fn schedule_frame(&mut self) {
        if self.frame_pending {
            return;
        }
        if self.raf.is_none() {
            let weak = self.weak.clone();
            self.raf = Some(Closure::new(move |_t: f64| {
                Inner::with(&weak, |p| p.on_frame());
            }));
        }
        if let (Some(w), Some(cb)) = (web_sys::window(), self.raf.as_ref()) {
            if w.request_animation_frame(cb.as_ref().unchecked_ref())
                .is_ok()
            {
                self.frame_pending = true;
            }
        }
    }

    fn on_frame(&mut self) {
        self.frame_pending = false;
        let Some(surface) = self.session.as_ref().and_then(|s| s.primary_surface()) else {
            return;
        };
        match self
            .presenter
            .draw(surface.pixels(), surface.width(), surface.height())
        {
            Ok(n) if n > 0 && self.state == PlayerState::Connecting => {
                let ms = dom::now_ms() - self.t_run;
                attr(&self.view.root, "data-first-pixel-ms", &format!("{ms:.0}"));
                self.set_state(PlayerState::Running, text::RUNNING);
                // The machine is what the visitor came for: bring it to the top and give
                // it all the height the window has.
                self.view.root.scroll_into_view();
                self.apply_scale();
            }
            Ok(_) => {}
            Err(e) => dom::log(&format!("draw failed: {e:?}")),
        }
    }
}
