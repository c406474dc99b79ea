//! Olive's browser app: the collection page and the wasm SPICE player.
//!
//! Map: [`router`] (URLs), [`api`] (gateway HTTP API), [`collection`] (catalog pages),
//! [`player`] (the session: control connection, SPICE channels, presenter, input, cursor,
//! audio), [`embed`] (the `<olive-player>` element and the `/embed/` page), [`ui`] (status
//! texts, DOM helpers). [`App`] ties them to the page; its item page runs the player as the
//! same `<olive-player>` element a portal uses (see [`embed::element`]).
//!
//! Automation contract (end-to-end tests and the launch benchmark rely on it): Run buttons
//! carry `data-item`; the player element `#olive-player` has `data-state` (loading,
//! connecting, running, reconnecting, stopped, ended, error), `data-instance`,
//! `data-mouse-mode` (client|server), `data-first-pixel-ms`, `data-audio-frames`, the paths
//! feature detection chose (see [`player::features`]), and a JS function property
//! `oliveAudioProbe`; the screen canvas is `#olive-screen`; the on-screen keyboard is
//! `#olive-osk` (keys carry `data-code`). On the item page (and a portal's) all of these live
//! in the open shadow root of `<olive-player>`; the `/embed/` and kiosk pages have them in
//! the document.

#![forbid(unsafe_code)]
#![allow(
    rustdoc::private_intra_doc_links,
    reason = "the docs are a map for the app's developers (`cargo doc --document-private-items`), \
              and most of the app is crate-private: the public API is only what main.rs and \
              the wasm tests reach"
)]

pub mod api;
pub(crate) mod collection;
pub mod embed;
pub mod kiosk;
pub mod player;
pub(crate) mod router;
pub mod ui;

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use gloo::events::EventListener;
use wasm_bindgen::JsCast;
use web_sys::HtmlElement;

use api::{Item, LaunchGrant};
use router::Route;
use ui::dom::{self, attr, el, text_el};

/// The application: owns the page's content, the catalog and the current player.
pub(crate) struct App {
    weak: Weak<RefCell<App>>,
    root: HtmlElement,
    content: HtmlElement,
    items: Option<Vec<Item>>,
    player: Option<PlayerElement>,
    /// A portal's signed launch link in the address (`/item/<id>?expires=…&key=…&sig=…`):
    /// it lets this page show and run an item the public collection does not list.
    grant: Option<LaunchGrant>,
    listeners: Vec<EventListener>,
    page_listeners: Vec<EventListener>,
}

/// The item page's `<olive-player>`. Taking it off the page ends its session (the element's
/// `disconnectedCallback` stops the player, and the gateway destroys the VM), so dropping
/// this does: navigating away, Run again and `pagehide` all go through it.
struct PlayerElement(web_sys::Element);

impl Drop for PlayerElement {
    fn drop(&mut self) {
        self.0.remove();
    }
}

/// Starts the app on the current page (`<main id="olive-app">`).
pub fn start() {
    console_error_panic_hook::set_once();
    let doc = dom::document();
    // A portal's page that loads `<olive-player>` runs this too: there is no app there.
    let Some(root) = doc.get_element_by_id("olive-app") else {
        return;
    };
    match current_route() {
        Route::Embed(id) => {
            embed::frame::start(root.unchecked_into(), id);
            return;
        }
        Route::Kiosk(name) => {
            // No site chrome: the kiosk is the whole page, for as long as the page lives.
            let _ = doc
                .document_element()
                .map(|e| e.class_list().add_1("kiosk-page"));
            let kiosk = kiosk::Kiosk::start(root.unchecked_ref(), &name, api::Gateway::here());
            std::mem::forget(kiosk);
            return;
        }
        _ => {}
    }
    // The item page's player is `<olive-player>`, run by this module (not a second copy).
    embed::element::define();
    let app = App::mount(root.unchecked_into());
    // The app lives as long as the page.
    std::mem::forget(app);
}

impl App {
    /// Builds the chrome inside `root` and shows the current route.
    pub(crate) fn mount(root: HtmlElement) -> Rc<RefCell<App>> {
        let embed = dom::is_embed();
        if embed {
            let _ = dom::document()
                .document_element()
                .map(|e| e.class_list().add_1("embed"));
        }
        let header = el("header", "site");
        let home = text_el("a", "home", "Olive");
        attr(&home, "href", "/");
        let _ = header.append_child(&home);
        let _ = header.append_child(&text_el(
            "p",
            "tagline",
            "Preserved software, running in your browser",
        ));
        header.set_hidden(embed);
        let content = el("div", "content");
        let _ = root.append_child(&header);
        let _ = root.append_child(&content);
        let app = Rc::new_cyclic(|weak| {
            RefCell::new(App {
                weak: weak.clone(),
                root,
                content,
                items: None,
                player: None,
                grant: web_sys::window()
                    .and_then(|w| w.location().search().ok())
                    .and_then(|q| api::grant_from_query(&q)),
                listeners: Vec::new(),
                page_listeners: Vec::new(),
            })
        });
        {
            let mut a = app.borrow_mut();
            let window = web_sys::window().expect("window");
            let weak = a.weak.clone();
            a.listeners
                .push(EventListener::new(&window, "popstate", move |_| {
                    App::with(&weak, |a| a.show(current_route()));
                }));
            let weak = a.weak.clone();
            a.listeners
                .push(EventListener::new(&window, "pagehide", move |_| {
                    // Leaving ends the session: the VM is destroyed, not left to time out.
                    App::with(&weak, |a| a.player = None);
                }));
            let weak = a.weak.clone();
            a.listeners
                .push(EventListener::new(&home, "click", move |e| {
                    let me: &web_sys::MouseEvent = e.unchecked_ref();
                    if me.ctrl_key() || me.meta_key() || me.shift_key() {
                        return;
                    }
                    e.prevent_default();
                    App::with(&weak, |a| a.navigate(Route::Collection));
                }));
        }
        App::load(&app);
        app
    }

    fn with(weak: &Weak<RefCell<App>>, f: impl FnOnce(&mut App)) {
        if let Some(rc) = weak.upgrade() {
            if let Ok(mut a) = rc.try_borrow_mut() {
                f(&mut a);
            }
        }
    }

    fn load(app: &Rc<RefCell<App>>) {
        app.borrow_mut().show_message("Loading the collection…");
        let weak = Rc::downgrade(app);
        wasm_bindgen_futures::spawn_local(async move {
            let result = api::collection().await;
            App::with(&weak, |a| match result {
                Ok(items) => {
                    a.items = Some(items);
                    a.show(current_route());
                }
                Err(e) => {
                    dom::log(&format!("collection: {e:?}"));
                    a.show_message("The collection could not be loaded. Please reload the page.");
                }
            });
        });
    }

    fn show_message(&mut self, msg: &str) {
        self.page_listeners.clear();
        self.content.set_inner_html("");
        let p = text_el("p", "message", msg);
        attr(&p, "role", "status");
        let _ = self.content.append_child(&p);
    }

    /// Goes to `route` with pushState (works inside an iframe: no top-level navigation).
    pub(crate) fn navigate(&mut self, route: Route) {
        if current_route() != route {
            if let Ok(h) = web_sys::window().expect("window").history() {
                let _ =
                    h.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&route.path()));
            }
        }
        self.show(route);
    }

    fn show(&mut self, route: Route) {
        let Some(items) = self.items.clone() else {
            return;
        };
        self.player = None;
        self.page_listeners.clear();
        self.content.set_inner_html("");
        match route {
            Route::Collection => {
                set_title("Olive: collection");
                let h = text_el("h1", "visually-hidden", "Collection");
                let _ = self.content.append_child(&h);
                let groups = collection::grouped(&items);
                // Cards are h2 on a page without groups, h3 under their group's h2.
                let named = groups.iter().any(|(name, _)| name.is_some());
                for (name, members) in groups {
                    let list = collection::list(name.unwrap_or("Collection"));
                    if let Some(name) = name {
                        let section = el("section", "group");
                        let _ = section.append_child(&text_el("h2", "group-title", name));
                        let _ = section.append_child(&list);
                        let _ = self.content.append_child(&section);
                    } else {
                        let _ = self.content.append_child(&list);
                    }
                    for item in members {
                        self.add_card(&list, item, if named { "h3" } else { "h2" });
                    }
                }
                if items.is_empty() {
                    let _ = self.content.append_child(&text_el(
                        "p",
                        "message",
                        "The collection is empty.",
                    ));
                }
            }
            // Kiosk mode is its own page (no app around it): load it as one.
            Route::Kiosk(_) => {
                let _ = web_sys::window().map(|w| w.location().reload());
            }
            Route::Item(id) | Route::Embed(id) => match items.iter().find(|i| i.id == id) {
                Some(item) => {
                    set_title(&format!("Olive: {}", item.title));
                    let v = collection::item_page(item);
                    self.wire_run(&v.run, item);
                    let _ = self.content.append_child(&v.root);
                }
                None if self.grant.is_some() => self.load_granted(id),
                None => self.show_message(&format!("The collection has no item \"{id}\".")),
            },
        }
    }

    /// An item outside the public collection, described by the gateway because the link's
    /// grant is valid; a refused grant is shown in plain words.
    fn load_granted(&mut self, id: String) {
        self.show_message("Loading the item…");
        let grant = self.grant.clone();
        let weak = self.weak.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let result = api::item(&api::Gateway::here(), &id, grant.as_ref()).await;
            App::with(&weak, |a| match result {
                Ok(item) => {
                    a.items.get_or_insert_with(Vec::new).push(item);
                    a.show(current_route());
                }
                Err(api::ApiError::Status(403, m)) => {
                    a.show_message(&format!("This link cannot start the machine: {m}"))
                }
                Err(_) => a.show_message(&format!("The collection has no item \"{id}\".")),
            });
        });
    }

    /// Appends `item`'s card to `list`, its Run button and title link wired.
    fn add_card(&mut self, list: &HtmlElement, item: &Item, heading: &str) {
        let v = collection::card(item, heading);
        self.wire_run(&v.run, item);
        if let Some(link) = v.link {
            let weak = self.weak.clone();
            let id = item.id.clone();
            self.page_listeners
                .push(EventListener::new(&link, "click", move |e| {
                    let me: &web_sys::MouseEvent = e.unchecked_ref();
                    if me.ctrl_key() || me.meta_key() || me.shift_key() || me.button() != 0 {
                        return;
                    }
                    e.prevent_default();
                    App::with(&weak, |a| a.navigate(Route::Item(id.clone())));
                }));
        }
        let _ = list.append_child(&v.root);
    }

    fn wire_run(&mut self, button: &HtmlElement, item: &Item) {
        let weak = self.weak.clone();
        let item = item.clone();
        self.page_listeners
            .push(EventListener::new(button, "click", move |_| {
                App::with(&weak, |a| a.run(&item));
            }));
    }

    /// Run: show the item page and launch the player. Runs inside the click (a user
    /// gesture), which the AudioContext needs.
    pub(crate) fn run(&mut self, item: &Item) {
        let route = Route::Item(item.id.clone());
        if current_route() != route
            || self
                .content
                .query_selector(".item")
                .ok()
                .flatten()
                .is_none()
        {
            self.navigate(route);
        }
        // Dropping the old element takes it off the page, which ends its session.
        self.player = None;
        let Ok(element) = dom::document().create_element("olive-player") else {
            return;
        };
        let origin = web_sys::window()
            .and_then(|w| w.location().origin().ok())
            .unwrap_or_default();
        attr(&element, "item", &item.id);
        attr(&element, "gateway", &origin);
        if let Some(g) = &self.grant {
            attr(&element, "token", &api::grant_query(g));
        }
        attr(&element, "autoplay", "");
        // Connecting mounts the player and starts it, synchronously, inside this click; it
        // focuses the screen once the handler returns and wires its own Retry button.
        let _ = self.content.append_child(&element);
        self.player = Some(PlayerElement(element));
        if let Some(run) = self.content.query_selector(".item .run").ok().flatten() {
            let _ = run.set_attribute("hidden", "");
        }
        let _ = self.root.class_list().add_1("playing");
    }
}

fn current_route() -> Route {
    let path = web_sys::window()
        .and_then(|w| w.location().pathname().ok())
        .unwrap_or_default();
    Route::parse(&path)
}

fn set_title(t: &str) {
    dom::document().set_title(t);
}
