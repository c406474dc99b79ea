//! `/embed/<item>`: the player alone, for a portal's iframe. Commands arrive by
//! `postMessage` ([`super::command`]) and are obeyed only from the parent window and only
//! from an origin the gateway lists in `embed_origins` (which the gateway writes into the
//! page's `<meta name="olive-embed-origins">`, and enforces itself with `frame-ancestors`).
//! The player's events go back to the parent as `{olive: name, ...detail}`, addressed to
//! each listed origin in turn: the browser delivers only to the one the parent really has,
//! so nothing reaches a page that is not listed.
//!
//! Query: `?autoplay=1`, `?scale=fit|whole|native`, `?aspect=crt|square`, `?view-only=1`, and a signed link's
//! `expires`, `key`, `sig`, `seat`.

use gloo::events::EventListener;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{HtmlElement, MessageEvent, Window};

use super::command::{origin_allowed, Command};
use super::controller::Embedded;
use crate::api::{grant_from_query, Gateway};
use crate::player::geometry::{Aspect, ScaleMode};
use crate::player::Launch;
use crate::ui::dom;

/// The events forwarded to the parent (see [`crate::player::events`]).
const EVENTS: [&str; 4] = ["statechange", "progress", "error", "ended"];

fn allowed_origins() -> Vec<String> {
    dom::document()
        .query_selector("meta[name=olive-embed-origins]")
        .ok()
        .flatten()
        .and_then(|m| m.get_attribute("content"))
        .map(|c| c.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

fn parent(window: &Window) -> Option<Window> {
    let p = window.parent().ok().flatten()?;
    let me: &JsValue = window.as_ref();
    let them: &JsValue = p.as_ref();
    (!js_sys::Object::is(me, them)).then_some(p)
}

/// Posts `{olive: name, ...detail}` to the parent, once per listed origin.
fn post(parent: &Window, origins: &[String], name: &str, detail: &JsValue) {
    let msg = js_sys::Object::new();
    if detail.is_object() {
        let _ = js_sys::Object::assign(&msg, detail.unchecked_ref());
    }
    let _ = js_sys::Reflect::set(&msg, &"olive".into(), &JsValue::from_str(name));
    for o in origins {
        let _ = parent.post_message(&msg, o);
    }
}

/// Shows the player for `item` in `root` and starts listening to the parent.
pub fn start(root: HtmlElement, item: String) {
    let _ = dom::document()
        .document_element()
        .map(|e| e.class_list().add_1("embed"));
    let window = web_sys::window().expect("window");
    let search = window.location().search().unwrap_or_default();
    let params = web_sys::UrlSearchParams::new_with_str(&search).ok();
    let flag = |name: &str| {
        params
            .as_ref()
            .and_then(|p| p.get(name))
            .is_some_and(|v| v == "1" || v == "true")
    };
    let mut launch = Launch::new(&item, &item);
    launch.gateway = Gateway::here();
    launch.grant = grant_from_query(&search);
    launch.view_only = flag("view-only");
    if let Some(s) = params.as_ref().and_then(|p| p.get("scale")) {
        launch.scale = ScaleMode::parse(&s);
    }
    if let Some(s) = params.as_ref().and_then(|p| p.get("aspect")) {
        launch.aspect = Aspect::parse(&s);
    }
    let player = Embedded::new(root.clone(), launch);
    let origins = allowed_origins();
    let mut listeners = Vec::new();
    if let Some(parent_window) = parent(&window) {
        for name in EVENTS {
            let (p, o) = (parent_window.clone(), origins.clone());
            listeners.push(EventListener::new(&root, name, move |e| {
                let detail = e
                    .dyn_ref::<web_sys::CustomEvent>()
                    .map(|c| c.detail())
                    .unwrap_or(JsValue::NULL);
                post(&p, &o, name, &detail);
            }));
        }
        let (p, o, me) = (parent_window.clone(), origins.clone(), player.clone());
        listeners.push(EventListener::new(&window, "message", move |e| {
            let Some(m) = e.dyn_ref::<MessageEvent>() else {
                return;
            };
            on_message(m, &p, &o, &me);
        }));
        post(&parent_window, &origins, "ready", &JsValue::NULL);
    }
    if flag("autoplay") {
        player.start();
    }
    // The page is the player: both live as long as it.
    std::mem::forget(listeners);
    std::mem::forget(player);
}

fn on_message(m: &MessageEvent, parent: &Window, origins: &[String], player: &Embedded) {
    let from_parent = m
        .source()
        .is_some_and(|s| js_sys::Object::is(s.as_ref(), parent.as_ref()));
    let origin = m.origin();
    if !from_parent || !origin_allowed(&origin, origins) {
        dom::log(&format!(
            "olive embed: message from {origin} ignored (not the parent, or not in embed_origins)"
        ));
        return;
    }
    let json = js_sys::JSON::stringify(&m.data())
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default();
    match Command::parse(&json) {
        Ok(Command::Start) => player.start(),
        Ok(Command::Stop) => player.stop(),
        Ok(Command::Reset) => player.reset(),
        Ok(Command::Fullscreen) => player.fullscreen(),
        Ok(Command::SendKeys { keys }) => player.send_keys(&keys),
        Ok(Command::TypeText { text }) => {
            player.type_text(&text);
        }
        Err(e) => {
            let msg = e.to_string();
            web_sys::console::warn_1(&JsValue::from_str(&format!("olive embed: {msg}")));
            let detail = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&detail, &"message".into(), &JsValue::from_str(&msg));
            post(parent, &[origin], "error", &detail.into());
        }
    }
}
