//! One embedded player: a poster (title, Run button) until it starts, then the same
//! [`Player`] the app's item page runs. `<olive-player>` and `/embed/<item>` both hold one
//! of these, so a portal gets the app's player, not a second one.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use gloo::events::EventListener;
use wasm_bindgen::JsCast;
use web_sys::{HtmlButtonElement, HtmlElement};

use crate::api::{self, ApiError};
use crate::player::{events, Launch, Player};
use crate::ui::dom::{attr, button, el, text_el};

/// A cheap handle: clones drive the same player.
#[derive(Clone)]
pub struct Embedded {
    inner: Rc<RefCell<State>>,
}

struct State {
    weak: Weak<RefCell<State>>,
    launch: Launch,
    root: HtmlElement,
    poster: HtmlElement,
    heading: HtmlElement,
    note: HtmlElement,
    run: HtmlButtonElement,
    player: Option<Player>,
    listeners: Vec<EventListener>,
}

impl Embedded {
    /// Builds the poster inside `root` and asks the gateway for the item's title (with the
    /// launch's grant, which an item that is not public needs even for that).
    pub fn new(root: HtmlElement, launch: Launch) -> Embedded {
        let poster = el("div", "item embedded");
        let heading = text_el("h2", "title", &launch.title);
        let note = el("p", "message");
        attr(&note, "role", "status");
        let run = button("Run", "run", Some(&format!("Run {}", launch.title)));
        attr(&run, "data-item", &launch.item);
        let _ = poster.append_child(&heading);
        let _ = poster.append_child(&note);
        let _ = poster.append_child(&run);
        let _ = root.append_child(&poster);
        let inner = Rc::new_cyclic(|weak| {
            RefCell::new(State {
                weak: weak.clone(),
                launch,
                root,
                poster,
                heading,
                note,
                run: run.clone(),
                player: None,
                listeners: Vec::new(),
            })
        });
        let me = Embedded { inner };
        let weak = Rc::downgrade(&me.inner);
        let click = EventListener::new(&run, "click", move |_| {
            State::with(&weak, |s| s.start());
        });
        me.inner.borrow_mut().listeners.push(click);
        me.fetch_title();
        me
    }

    fn fetch_title(&self) {
        let (gateway, item, grant) = {
            let s = self.inner.borrow();
            (
                s.launch.gateway.clone(),
                s.launch.item.clone(),
                s.launch.grant.clone(),
            )
        };
        let weak = Rc::downgrade(&self.inner);
        wasm_bindgen_futures::spawn_local(async move {
            let result = api::item(&gateway, &item, grant.as_ref()).await;
            State::with(&weak, |s| match result {
                Ok(it) => s.set_title(&it.title),
                Err(e) => s.refused(&e),
            });
        });
    }

    /// Launches, unless a session is already under way.
    pub fn start(&self) {
        if let Ok(mut s) = self.inner.try_borrow_mut() {
            s.start();
        }
    }

    /// Ends the session (the VM is destroyed); the player stays, saying so.
    pub fn stop(&self) {
        if let Some(p) = self.inner.borrow().player.as_ref() {
            p.stop();
        }
    }

    /// Ends the session and starts a fresh machine. The gateway hands a visitor who still
    /// owns a live machine of the item that same machine back, so the new launch asks for
    /// `fresh`; the plain starts after it do not, or a reload would throw the game away.
    pub fn reset(&self) {
        if let Ok(mut s) = self.inner.try_borrow_mut() {
            s.player = None;
            s.launch.fresh = true;
            s.start();
            s.launch.fresh = false;
        }
    }

    /// Full screen on or off (from a user gesture only).
    pub fn fullscreen(&self) {
        if let Some(p) = self.inner.borrow().player.as_ref() {
            p.toggle_fullscreen();
        }
    }

    /// A key chord (see [`Player::send_keys`]).
    pub fn send_keys(&self, keys: &[String]) {
        if let Some(p) = self.inner.borrow().player.as_ref() {
            p.send_keys(keys);
        }
    }

    /// Types text; returns how many characters were skipped (no key for them).
    pub fn type_text(&self, text: &str) -> usize {
        match self.inner.borrow().player.as_ref() {
            Some(p) => p.type_text(text),
            None => text.chars().count(),
        }
    }

    /// The player's `data-state` name, or `idle` before the first start.
    pub fn state(&self) -> String {
        match self.inner.borrow().player.as_ref() {
            Some(p) => p.state().as_str().to_owned(),
            None => "idle".to_owned(),
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

    fn set_title(&mut self, title: &str) {
        self.launch.title = title.to_owned();
        self.heading.set_text_content(Some(title));
        attr(&self.run, "aria-label", &format!("Run {title}"));
        if let Some(p) = &self.player {
            p.set_title(title);
        }
    }

    /// The gateway will not describe the item: say why, where the visitor looks, and tell
    /// the portal. Run stays, so a transient failure can be retried.
    fn refused(&mut self, e: &ApiError) {
        let msg = match e {
            ApiError::Status(403, m) => format!("This link cannot start the machine: {m}"),
            ApiError::Status(404, _) => {
                format!("The collection has no item \"{}\".", self.launch.item)
            }
            ApiError::Unreachable(_) => crate::ui::status::text::UNREACHABLE.to_owned(),
            other => format!("The item could not be loaded: {other:?}"),
        };
        self.note.set_text_content(Some(&msg));
        events::failed(&self.root, &msg);
    }

    fn start(&mut self) {
        if self.player.as_ref().is_some_and(|p| !p.state().is_final()) {
            return;
        }
        self.player = None;
        if let Some(old) = self.root.query_selector("#olive-player").ok().flatten() {
            old.remove();
        }
        let player = Player::launch(self.launch.clone());
        let _ = self.root.append_child(&player.element());
        self.poster.set_hidden(true);
        let weak = self.weak.clone();
        self.listeners.push(EventListener::new(
            &player.retry_button(),
            "click",
            move |_| State::with(&weak, |s| s.start()),
        ));
        let canvas = player
            .element()
            .query_selector("#olive-screen")
            .ok()
            .flatten()
            .and_then(|c| c.dyn_into::<HtmlElement>().ok());
        self.player = Some(player);
        if let Some(c) = canvas {
            gloo::timers::callback::Timeout::new(0, move || {
                let _ = c.focus();
            })
            .forget();
        }
    }
}
