//! The Rust half of `<olive-player>`. The element itself is `web/olive-player.js`, written
//! by hand because a custom element must be a JavaScript class extending `HTMLElement`,
//! which wasm-bindgen cannot declare; it keeps only the element's life cycle and forwards
//! every call here, so the behaviour lives in one place with the app's.

use wasm_bindgen::prelude::*;
use web_sys::HtmlElement;

use super::controller::Embedded;
use crate::api::{grant_from_query, Gateway};
use crate::player::geometry::ScaleMode;
use crate::player::Launch;

/// What `<olive-player>` hands over: its attributes, already read by the element.
fn option(options: &JsValue, name: &str) -> Option<String> {
    js_sys::Reflect::get(options, &JsValue::from_str(name))
        .ok()
        .and_then(|v| v.as_string())
        .filter(|s| !s.is_empty())
}

/// The launch an element's attributes describe: `item` (required), `gateway` (the module's
/// origin when absent), `token` (a signed link's query), `scale`, `view-only`.
fn launch_from(options: &JsValue) -> Result<Launch, JsValue> {
    let item = option(options, "item")
        .ok_or_else(|| JsValue::from_str("<olive-player>: the item attribute is required"))?;
    let gateway = match option(options, "gateway") {
        Some(url) => Gateway::at(&url).ok_or_else(|| {
            JsValue::from_str(&format!(
                "<olive-player>: gateway {url:?} is not an http(s) address"
            ))
        })?,
        None => Gateway::here(),
    };
    let mut launch = Launch::new(&item, &item);
    launch.gateway = gateway;
    launch.grant = option(options, "token").and_then(|t| grant_from_query(&t));
    launch.view_only = js_sys::Reflect::get(options, &JsValue::from_str("viewOnly"))
        .ok()
        .is_some_and(|v| v.is_truthy());
    if let Some(s) = option(options, "scale") {
        launch.scale = ScaleMode::parse(&s);
    }
    Ok(launch)
}

/// A mounted `<olive-player>`: the methods the element exposes to the portal's scripts.
#[wasm_bindgen]
pub struct OlivePlayer {
    player: Embedded,
}

/// Mounts a player into `container` (inside the element's shadow root). `options`:
/// `{item, gateway?, token?, scale?, viewOnly?}`.
#[wasm_bindgen(js_name = mountPlayer)]
pub fn mount_player(container: HtmlElement, options: JsValue) -> Result<OlivePlayer, JsValue> {
    let launch = launch_from(&options)?;
    Ok(OlivePlayer {
        player: Embedded::new(container, launch),
    })
}

#[wasm_bindgen]
impl OlivePlayer {
    /// Launches (no-op while a session runs).
    pub fn start(&self) {
        self.player.start();
    }

    /// Ends the session.
    pub fn stop(&self) {
        self.player.stop();
    }

    /// Ends the session and launches a fresh machine.
    pub fn reset(&self) {
        self.player.reset();
    }

    /// Full screen on or off (call from a click handler).
    pub fn fullscreen(&self) {
        self.player.fullscreen();
    }

    /// Presses `keys` (`KeyboardEvent.code` names) as one chord.
    #[wasm_bindgen(js_name = sendKeys)]
    pub fn send_keys(&self, keys: Vec<String>) {
        let keys: Vec<String> = keys.into_iter().take(super::command::MAX_KEYS).collect();
        self.player.send_keys(&keys);
    }

    /// Types `text`; returns how many characters had no key and were skipped.
    #[wasm_bindgen(js_name = typeText)]
    pub fn type_text(&self, text: &str) -> usize {
        let text: String = text.chars().take(super::command::MAX_TEXT).collect();
        self.player.type_text(&text)
    }

    /// `idle` before the first start, then the player's `data-state` name.
    pub fn state(&self) -> String {
        self.player.state()
    }
}
