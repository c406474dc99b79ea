//! The Rust half of `<olive-player>`. The element itself is `web/olive-player.js`, written
//! by hand because a custom element must be a JavaScript class extending `HTMLElement`,
//! which wasm-bindgen cannot declare; it keeps only the element's life cycle and forwards
//! every call here, so the behaviour lives in one place with the app's.
//!
//! The app's own item page uses the same element ([`define`], then
//! [`crate::App`] creates `<olive-player>`), so there is one player, not two. The page
//! already runs this module (trunk's loader instantiated it), and the element must not load
//! a second copy. So the element's file is also imported into this module's glue, as a
//! wasm-bindgen snippet (`#[wasm_bindgen(module = "/olive-player.js")]`, the same file the
//! gateway serves to portals): imported this way it has no `OLIVE_ASSETS` and does nothing
//! by itself, and [`define`] registers the class with this instance's [`mount_player`]
//! (and the page's stylesheets for the shadow root). A portal's page never calls
//! [`define`]: the gateway's `/olive-player.js` defines the element and loads the wasm
//! itself.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::HtmlElement;

use super::controller::Embedded;
use crate::api::{grant_from_query, Gateway};
use crate::kiosk::Kiosk;
use crate::player::geometry::{Aspect, ScaleMode};
use crate::player::Launch;

#[wasm_bindgen(module = "/olive-player.js")]
extern "C" {
    /// Defines `<olive-player>` unless the page already has it (see the module docs).
    #[wasm_bindgen(js_name = defineOlivePlayer)]
    fn define_olive_player(how: &JsValue) -> bool;
}

/// Registers `<olive-player>` on the app's page, driven by this (already initialised)
/// module: elements mount synchronously when connected, styled by the page's stylesheets.
/// Returns whether this call defined it.
pub fn define() -> bool {
    let mount = Closure::<dyn Fn(HtmlElement, JsValue) -> Result<JsValue, JsValue>>::new(
        |container, options| mount_player(container, options).map(JsValue::from),
    );
    let glue = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&glue, &"mountPlayer".into(), &mount.into_js_value());
    let css = js_sys::Array::new();
    if let Ok(links) = crate::ui::dom::document().query_selector_all("link[rel=stylesheet]") {
        for i in 0..links.length() {
            if let Some(href) = links
                .item(i)
                .and_then(|n| n.dyn_into::<web_sys::HtmlLinkElement>().ok())
                .map(|l| l.href())
            {
                css.push(&JsValue::from_str(&href));
            }
        }
    }
    let how = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&how, &"glue".into(), &glue);
    let _ = js_sys::Reflect::set(&how, &"css".into(), &css);
    define_olive_player(&how)
}

/// What `<olive-player>` hands over: its attributes, already read by the element.
fn option(options: &JsValue, name: &str) -> Option<String> {
    js_sys::Reflect::get(options, &JsValue::from_str(name))
        .ok()
        .and_then(|v| v.as_string())
        .filter(|s| !s.is_empty())
}

/// The launch an element's attributes describe: `item` (required), `gateway` (the module's
/// origin when absent), `token` (a signed link's query), `scale`, `aspect`, `view-only`.
fn launch_from(options: &JsValue) -> Result<Launch, JsValue> {
    let item = option(options, "item")
        .ok_or_else(|| JsValue::from_str("<olive-player>: the item attribute is required"))?;
    let gateway = gateway_from(options)?;
    let mut launch = Launch::new(&item, &item);
    launch.gateway = gateway;
    launch.grant = option(options, "token").and_then(|t| grant_from_query(&t));
    launch.view_only = js_sys::Reflect::get(options, &JsValue::from_str("viewOnly"))
        .ok()
        .is_some_and(|v| v.is_truthy());
    if let Some(s) = option(options, "scale") {
        launch.scale = ScaleMode::parse(&s);
    }
    if let Some(s) = option(options, "aspect") {
        launch.aspect = Aspect::parse(&s);
    }
    Ok(launch)
}

/// What an element runs: one title, or (`kiosk="NAME"`) a gateway's kiosk profile.
enum Mounted {
    Player(Embedded),
    Kiosk(Kiosk),
}

/// The `gateway` attribute (the module's origin when absent).
fn gateway_from(options: &JsValue) -> Result<Gateway, JsValue> {
    match option(options, "gateway") {
        Some(url) => Gateway::at(&url).ok_or_else(|| {
            JsValue::from_str(&format!(
                "<olive-player>: gateway {url:?} is not an http(s) address"
            ))
        }),
        None => Ok(Gateway::here()),
    }
}

/// A mounted `<olive-player>`: the methods the element exposes to the portal's scripts.
#[wasm_bindgen]
pub struct OlivePlayer {
    mounted: Mounted,
}

/// Mounts a player into `container` (inside the element's shadow root). `options`:
/// `{item, gateway?, token?, scale?, aspect?, viewOnly?, kiosk?}`; with `kiosk` the element runs
/// that kiosk profile (its titles, idle reset, blocked keys, staff unlock) and `item` is
/// not needed.
#[wasm_bindgen(js_name = mountPlayer)]
pub fn mount_player(container: HtmlElement, options: JsValue) -> Result<OlivePlayer, JsValue> {
    if let Some(name) = option(&options, "kiosk") {
        let gateway = gateway_from(&options)?;
        return Ok(OlivePlayer {
            mounted: Mounted::Kiosk(Kiosk::start(&container, &name, gateway)),
        });
    }
    let launch = launch_from(&options)?;
    Ok(OlivePlayer {
        mounted: Mounted::Player(Embedded::new(container, launch)),
    })
}

#[wasm_bindgen]
impl OlivePlayer {
    /// Launches (no-op while a session runs; a kiosk starts by itself).
    pub fn start(&self) {
        if let Mounted::Player(p) = &self.mounted {
            p.start();
        }
    }

    /// Ends the session (a kiosk leaves kiosk mode).
    pub fn stop(&self) {
        match &self.mounted {
            Mounted::Player(p) => p.stop(),
            Mounted::Kiosk(k) => k.leave(),
        }
    }

    /// Ends the session and launches a fresh machine.
    pub fn reset(&self) {
        match &self.mounted {
            Mounted::Player(p) => p.reset(),
            Mounted::Kiosk(k) => k.reset(),
        }
    }

    /// Full screen on or off (call from a click handler); a kiosk goes full screen.
    pub fn fullscreen(&self) {
        match &self.mounted {
            Mounted::Player(p) => p.fullscreen(),
            Mounted::Kiosk(k) => k.engage(),
        }
    }

    /// Presses `keys` (`KeyboardEvent.code` names) as one chord (not in a kiosk: its
    /// visitors' keys are the only ones it takes).
    #[wasm_bindgen(js_name = sendKeys)]
    pub fn send_keys(&self, keys: Vec<String>) {
        let keys: Vec<String> = keys.into_iter().take(super::command::MAX_KEYS).collect();
        if let Mounted::Player(p) = &self.mounted {
            p.send_keys(&keys);
        }
    }

    /// Types `text`; returns how many characters had no key and were skipped (all of
    /// them in a kiosk).
    #[wasm_bindgen(js_name = typeText)]
    pub fn type_text(&self, text: &str) -> usize {
        let text: String = text.chars().take(super::command::MAX_TEXT).collect();
        match &self.mounted {
            Mounted::Player(p) => p.type_text(&text),
            Mounted::Kiosk(_) => text.chars().count(),
        }
    }

    /// `idle` before the first start, then the player's `data-state` name; for a kiosk
    /// its `data-kiosk-state` name.
    pub fn state(&self) -> String {
        match &self.mounted {
            Mounted::Player(p) => p.state(),
            Mounted::Kiosk(k) => k.state(),
        }
    }
}
