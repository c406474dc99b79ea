//! The on-screen keyboard: the guest's keys as buttons (for touch screens, and for keys a
//! phone keyboard lacks: Esc, Tab, Ctrl, Alt, arrows, F1–F12), sticky modifiers
//! ([`super::typing::StickyModifiers`]), and a text field that takes what a phone keyboard
//! types (`beforeinput`/`input`, since its keydowns say `Unidentified`) and types it into
//! the guest key by key ([`super::typing::text_to_keys`]).
//!
//! Every key is a real `<button>` with a name, so the panel is also usable with a keyboard
//! or a switch device; the panel is toggled by the toolbar's "Keyboard" button
//! (`aria-expanded`).

use gloo::events::{EventListener, EventListenerOptions};
use wasm_bindgen::JsCast;
use web_sys::{HtmlButtonElement, HtmlElement, HtmlInputElement, InputEvent, KeyboardEvent};

use super::typing::{text_to_keys, STICKY};
use super::Inner;
use crate::ui::dom::{self, attr, button, el, text_el};

/// The panel's rows: (`code`, label, accessible name when the label is a symbol).
const ROWS: &[&[(&str, &str, &str)]] = &[
    &[
        ("Escape", "Esc", "Escape"),
        ("F1", "F1", ""),
        ("F2", "F2", ""),
        ("F3", "F3", ""),
        ("F4", "F4", ""),
        ("F5", "F5", ""),
        ("F6", "F6", ""),
        ("F7", "F7", ""),
        ("F8", "F8", ""),
        ("F9", "F9", ""),
        ("F10", "F10", ""),
        ("F11", "F11", ""),
        ("F12", "F12", ""),
    ],
    &[
        ("Digit1", "1", ""),
        ("Digit2", "2", ""),
        ("Digit3", "3", ""),
        ("Digit4", "4", ""),
        ("Digit5", "5", ""),
        ("Digit6", "6", ""),
        ("Digit7", "7", ""),
        ("Digit8", "8", ""),
        ("Digit9", "9", ""),
        ("Digit0", "0", ""),
        ("Backspace", "⌫", "Backspace"),
    ],
    &[
        ("Tab", "Tab", ""),
        ("KeyQ", "q", ""),
        ("KeyW", "w", ""),
        ("KeyE", "e", ""),
        ("KeyR", "r", ""),
        ("KeyT", "t", ""),
        ("KeyY", "y", ""),
        ("KeyU", "u", ""),
        ("KeyI", "i", ""),
        ("KeyO", "o", ""),
        ("KeyP", "p", ""),
    ],
    &[
        ("KeyA", "a", ""),
        ("KeyS", "s", ""),
        ("KeyD", "d", ""),
        ("KeyF", "f", ""),
        ("KeyG", "g", ""),
        ("KeyH", "h", ""),
        ("KeyJ", "j", ""),
        ("KeyK", "k", ""),
        ("KeyL", "l", ""),
        ("Enter", "Enter", ""),
    ],
    &[
        ("ShiftLeft", "Shift", ""),
        ("KeyZ", "z", ""),
        ("KeyX", "x", ""),
        ("KeyC", "c", ""),
        ("KeyV", "v", ""),
        ("KeyB", "b", ""),
        ("KeyN", "n", ""),
        ("KeyM", "m", ""),
        ("ArrowUp", "↑", "Arrow up"),
    ],
    &[
        ("ControlLeft", "Ctrl", "Control"),
        ("AltLeft", "Alt", ""),
        ("Space", "Space", ""),
        ("ArrowLeft", "←", "Arrow left"),
        ("ArrowDown", "↓", "Arrow down"),
        ("ArrowRight", "→", "Arrow right"),
        ("Delete", "Del", "Delete"),
    ],
];

/// The keyboard's elements.
#[derive(Clone)]
pub(crate) struct Osk {
    /// The toolbar button that shows or hides the panel (`aria-expanded` follows).
    pub(crate) toggle: HtmlButtonElement,
    /// `#olive-osk`, below the screen; its keys carry `data-code` (the automation contract).
    pub(crate) panel: HtmlElement,
    /// Takes what a phone's own keyboard types (which sends no usable key events) and
    /// replays it to the guest key by key.
    pub(crate) text: HtmlInputElement,
    modifiers: Vec<(String, HtmlButtonElement)>,
}

impl Osk {
    /// Builds the (hidden) panel and its toggle button.
    pub(crate) fn new() -> Osk {
        let toggle = button("Keyboard", "", Some("On-screen keyboard"));
        attr(&toggle, "aria-expanded", "false");
        attr(&toggle, "aria-controls", "olive-osk");
        let panel = el("div", "osk");
        panel.set_id("olive-osk");
        attr(&panel, "role", "group");
        attr(&panel, "aria-label", "On-screen keyboard");
        panel.set_hidden(true);
        let label = el("label", "osk-text");
        let _ = label.append_child(&text_el("span", "", "Type text"));
        let text: HtmlInputElement = el("input", "").unchecked_into();
        text.set_type("text");
        for (k, v) in [
            ("autocapitalize", "off"),
            ("autocomplete", "off"),
            ("autocorrect", "off"),
            ("spellcheck", "false"),
            ("enterkeyhint", "send"),
        ] {
            attr(&text, k, v);
        }
        let _ = label.append_child(&text);
        let _ = panel.append_child(&label);
        let mut modifiers = Vec::new();
        for row in ROWS {
            let r = el("div", "osk-row");
            for (code, label, name) in *row {
                let b = button(label, "osk-key", (!name.is_empty()).then_some(*name));
                attr(&b, "data-code", code);
                if STICKY.contains(code) {
                    attr(&b, "aria-pressed", "false");
                    modifiers.push((code.to_string(), b.clone()));
                }
                let _ = r.append_child(&b);
            }
            let _ = panel.append_child(&r);
        }
        Osk {
            toggle,
            panel,
            text,
            modifiers,
        }
    }
}

impl Default for Osk {
    fn default() -> Self {
        Osk::new()
    }
}

impl Inner {
    /// Wires the keyboard's toggle, keys and text field.
    pub(super) fn install_osk(&mut self, ls: &mut Vec<EventListener>) {
        let osk = self.view.osk.clone();
        let o = osk.clone();
        ls.push(EventListener::new(&osk.toggle, "click", move |_| {
            let open = o.panel.hidden();
            o.panel.set_hidden(!open);
            attr(
                &o.toggle,
                "aria-expanded",
                if open { "true" } else { "false" },
            );
        }));
        let weak = self.weak.clone();
        ls.push(EventListener::new(&osk.panel, "click", move |e| {
            let code = e
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .and_then(|t| t.closest("[data-code]").ok().flatten())
                .and_then(|b| b.get_attribute("data-code"));
            if let Some(code) = code {
                Inner::with(&weak, |p| p.osk_key(&code));
            }
        }));
        let active = EventListenerOptions::enable_prevent_default();
        let weak = self.weak.clone();
        ls.push(EventListener::new_with_options(
            &osk.text,
            "beforeinput",
            active,
            move |e| {
                let e: &InputEvent = e.unchecked_ref();
                let key = match e.input_type().as_str() {
                    "deleteContentBackward" => "Backspace",
                    "deleteContentForward" => "Delete",
                    "insertLineBreak" | "insertParagraph" => "Enter",
                    _ => return,
                };
                e.prevent_default();
                Inner::with(&weak, |p| p.queue_keys(tap(key)));
            },
        ));
        let weak = self.weak.clone();
        let field = osk.text.clone();
        ls.push(EventListener::new(&osk.text, "input", move |_| {
            let typed = field.value();
            field.set_value("");
            if typed.is_empty() {
                return;
            }
            Inner::with(&weak, |p| {
                let (keys, skipped) = text_to_keys(p.keymap, &typed);
                if skipped > 0 {
                    dom::log(&format!(
                        "{skipped} characters cannot be typed into the guest"
                    ));
                }
                p.queue_keys(keys)
            });
        }));
        let weak = self.weak.clone();
        ls.push(EventListener::new_with_options(
            &osk.text,
            "keydown",
            active,
            move |e| {
                let e: &KeyboardEvent = e.unchecked_ref();
                // Text comes through `input`; keys without text (Enter, Esc, arrows, F1…)
                // from a hardware keyboard are sent as themselves. A phone's
                // `Unidentified` keydowns are left to `beforeinput`/`input`.
                let (key, code) = (e.key(), e.code());
                let textless = key.chars().count() > 1 && key != "Unidentified";
                if textless && spice_client::inputs::keymap::scancode_for_code(&code).is_some() {
                    e.prevent_default();
                    Inner::with(&weak, |p| p.queue_keys(tap(&code)));
                }
            },
        ));
    }

    /// An on-screen key was pressed.
    fn osk_key(&mut self, code: &str) {
        let seq = self.input.sticky.tap(code);
        for (m, b) in &self.view.osk.modifiers {
            let on = self.input.sticky.is_armed(m);
            attr(b, "aria-pressed", if on { "true" } else { "false" });
        }
        self.queue_keys(seq);
    }
}

fn tap(code: &str) -> Vec<(String, bool)> {
    vec![(code.to_owned(), true), (code.to_owned(), false)]
}
