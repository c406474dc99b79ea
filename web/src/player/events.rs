//! The player's DOM events, the contract a portal listens to: `statechange`
//! (`{state, message}`, the `data-state` names), `progress` (`{percent, text}` while a
//! memory image loads), `error` (`{message}`, the words the visitor sees) and `ended`
//! (`{state}`). They bubble and are `composed`, so they leave the `<olive-player>` shadow
//! root and reach the host element, and an `/embed/` page forwards them to its parent.

use wasm_bindgen::JsValue;
use web_sys::{CustomEvent, CustomEventInit, Element};

use crate::ui::status::PlayerState;

fn detail(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = js_sys::Object::new();
    for (k, v) in pairs {
        let _ = js_sys::Reflect::set(&o, &JsValue::from_str(k), v);
    }
    o.into()
}

fn emit(target: &Element, name: &str, detail: JsValue) {
    let init = CustomEventInit::new();
    init.set_bubbles(true);
    init.set_composed(true);
    init.set_detail(&detail);
    if let Ok(e) = CustomEvent::new_with_event_init_dict(name, &init) {
        let _ = target.dispatch_event(&e);
    }
}

/// A state was entered (or its message changed, `changed = false`): `statechange`, and
/// `error` or `ended` when it is final.
pub(crate) fn state_changed(target: &Element, state: PlayerState, message: &str, changed: bool) {
    let s = JsValue::from_str(state.as_str());
    let m = JsValue::from_str(message);
    emit(
        target,
        "statechange",
        detail(&[("state", s.clone()), ("message", m.clone())]),
    );
    if !changed {
        return;
    }
    match state {
        PlayerState::Error => emit(target, "error", detail(&[("message", m)])),
        PlayerState::Stopped | PlayerState::Ended => emit(target, "ended", detail(&[("state", s)])),
        _ => {}
    }
}

/// The memory image is `percent` loaded (`text` is what the progress bar says).
pub(crate) fn progress(target: &Element, percent: f64, text: &str) {
    emit(
        target,
        "progress",
        detail(&[
            ("percent", JsValue::from_f64(percent)),
            ("text", JsValue::from_str(text)),
        ]),
    );
}

/// Something failed before a player existed (the item cannot be loaded): `error`.
pub(crate) fn failed(target: &Element, message: &str) {
    emit(
        target,
        "error",
        detail(&[("message", JsValue::from_str(message))]),
    );
}
