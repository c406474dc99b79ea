//! Tiny DOM helpers: building elements without a framework keeps the bundle small.

use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Document, Element, HtmlElement};

/// The page's document. Only called after the page loaded, where it always exists.
pub fn document() -> Document {
    web_sys::window()
        .and_then(|w| w.document())
        .expect("a document")
}

/// Creates `<tag class=...>`.
pub fn el(tag: &str, class: &str) -> HtmlElement {
    let e: HtmlElement = document()
        .create_element(tag)
        .expect("create_element")
        .unchecked_into();
    if !class.is_empty() {
        e.set_class_name(class);
    }
    e
}

/// Creates `<tag class=...>text</tag>`.
pub fn text_el(tag: &str, class: &str, text: &str) -> HtmlElement {
    let e = el(tag, class);
    e.set_text_content(Some(text));
    e
}

/// Sets an attribute, ignoring the (impossible for valid names) error.
pub fn attr(e: &Element, name: &str, value: &str) {
    let _ = e.set_attribute(name, value);
}

/// A `<button type=button>` with a visible label and an optional accessible name.
pub fn button(label: &str, class: &str, aria: Option<&str>) -> web_sys::HtmlButtonElement {
    let b: web_sys::HtmlButtonElement = el("button", class).unchecked_into();
    b.set_type("button");
    b.set_text_content(Some(label));
    if let Some(a) = aria {
        attr(&b, "aria-label", a);
    }
    b
}

/// `performance.now()` in ms (0 where unavailable, e.g. natively).
pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}

/// `performance.now()` as the sans-IO state machines' time: since the page's time origin.
pub fn now() -> std::time::Duration {
    std::time::Duration::try_from_secs_f64(now_ms() / 1000.0).unwrap_or_default()
}

/// Logs to the console (diagnostics for developers; visitors see the status line).
pub fn log(msg: &str) {
    web_sys::console::log_1(&JsValue::from_str(msg));
}

/// Whether the page was opened with `?embed=1` (hide the site chrome in an iframe).
pub fn is_embed() -> bool {
    web_sys::window()
        .and_then(|w| w.location().search().ok())
        .and_then(|s| web_sys::UrlSearchParams::new_with_str(&s).ok())
        .and_then(|p| p.get("embed"))
        .is_some_and(|v| v == "1" || v == "true")
}
