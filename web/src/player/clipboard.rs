//! The clipboard panel: copy and paste between the visitor and a guest with an agent.
//!
//! The browser's Clipboard API needs a secure context, and reading it a user gesture and
//! (in Chromium) a permission; many pages that embed Olive have neither. So the panel works
//! without it: the visitor pastes text into its box and sends it, and what the guest copies
//! appears in the box. Where the API is there, "Paste from my clipboard" reads it and the
//! guest's copies are also written to it. The panel's button only appears once the agent
//! announced clipboard support, since nothing else could carry the text.
//!
//! For automation `#olive-player` carries `data-agent` (`none`, or the agent's features:
//! `clipboard`, `resize`) and `data-guest-clipboard` (`none`, `shown`, `written`: the last
//! guest copy was shown in the box / also written to the browser's clipboard).

use gloo::events::EventListener;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{HtmlButtonElement, HtmlElement, HtmlTextAreaElement, KeyboardEvent};

use super::Inner;
use crate::ui::dom::{self, attr, button, el, text_el};

/// The panel's elements.
#[derive(Clone)]
pub(crate) struct ClipBox {
    /// The toolbar button, hidden until the agent offers a clipboard.
    pub(crate) toggle: HtmlButtonElement,
    /// `#olive-clipboard`.
    pub(crate) panel: HtmlElement,
    /// `#olive-clipboard-text`: the text to send, or what the guest copied.
    text: HtmlTextAreaElement,
    /// `#olive-clipboard-send`.
    send: HtmlButtonElement,
    /// `#olive-clipboard-paste`: reads the browser's clipboard (where the API exists).
    paste: HtmlButtonElement,
    /// `#olive-clipboard-status`.
    status: HtmlElement,
}

impl ClipBox {
    /// Builds the (closed, hidden) panel and its toolbar button.
    pub(crate) fn new() -> ClipBox {
        let toggle = button("Clipboard", "", None);
        toggle.set_id("olive-clipboard-toggle");
        attr(&toggle, "aria-expanded", "false");
        attr(&toggle, "aria-controls", "olive-clipboard");
        toggle.set_hidden(true);
        let panel = el("div", "typebox");
        panel.set_id("olive-clipboard");
        attr(&panel, "role", "group");
        attr(&panel, "aria-label", "Clipboard of the machine");
        panel.set_hidden(true);
        let label = el("label", "typebox-label");
        attr(&label, "for", "olive-clipboard-text");
        label.set_text_content(Some("Clipboard: paste here to send it to the machine"));
        let text: HtmlTextAreaElement = el("textarea", "").unchecked_into();
        text.set_id("olive-clipboard-text");
        text.set_rows(3);
        attr(&text, "spellcheck", "false");
        let send = button(
            "Send to the machine",
            "",
            Some("Put the text on the machine's clipboard"),
        );
        send.set_id("olive-clipboard-send");
        let paste = button("Paste from my clipboard", "", None);
        paste.set_id("olive-clipboard-paste");
        paste.set_hidden(browser_clipboard().is_none());
        let status = text_el("p", "typebox-status", "");
        status.set_id("olive-clipboard-status");
        attr(&status, "role", "status");
        attr(&status, "aria-live", "polite");
        let row = el("div", "typebox-actions");
        for e in [send.unchecked_ref::<HtmlElement>(), &paste, &status] {
            let _ = row.append_child(e);
        }
        let _ = panel.append_child(&label);
        let _ = panel.append_child(&text);
        let _ = panel.append_child(&row);
        ClipBox {
            toggle,
            panel,
            text,
            send,
            paste,
            status,
        }
    }

    fn say(&self, words: &str) {
        self.status.set_text_content(Some(words));
    }
}

impl Default for ClipBox {
    fn default() -> Self {
        ClipBox::new()
    }
}

/// `navigator.clipboard`, where the browser has it (secure contexts only).
fn browser_clipboard() -> Option<JsValue> {
    let nav = web_sys::window()?.navigator();
    js_sys::Reflect::get(&nav, &JsValue::from_str("clipboard"))
        .ok()
        .filter(|c| !c.is_undefined() && !c.is_null())
}

/// Calls `navigator.clipboard[method](args...)` and awaits its promise.
async fn call_clipboard(method: &str, args: &js_sys::Array) -> Result<JsValue, JsValue> {
    let clip = browser_clipboard().ok_or_else(|| JsValue::from_str("no Clipboard API"))?;
    let f: js_sys::Function =
        js_sys::Reflect::get(&clip, &JsValue::from_str(method))?.dyn_into()?;
    let promise: js_sys::Promise = f.apply(&clip, args)?.dyn_into()?;
    JsFuture::from(promise).await
}

impl Inner {
    /// Wires the panel (not in view-only mode).
    pub(super) fn install_clipbox(&mut self, ls: &mut Vec<EventListener>) {
        let cb = self.view.clipbox.clone();
        attr(&self.view.root, "data-agent", "none");
        attr(&self.view.root, "data-guest-clipboard", "none");
        let weak = self.weak.clone();
        ls.push(EventListener::new(&cb.toggle, "click", move |_| {
            Inner::with(&weak, |p| {
                let open = p.view.clipbox.panel.hidden();
                p.set_clipbox_open(open);
            });
        }));
        let weak = self.weak.clone();
        ls.push(EventListener::new(&cb.send, "click", move |_| {
            Inner::with(&weak, |p| {
                let text = p.view.clipbox.text.value();
                p.send_clipboard(&text);
            });
        }));
        let weak = self.weak.clone();
        ls.push(EventListener::new(&cb.paste, "click", move |_| {
            let weak = weak.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let read = call_clipboard("readText", &js_sys::Array::new()).await;
                Inner::with(&weak, |p| match read.ok().and_then(|v| v.as_string()) {
                    Some(text) => {
                        p.view.clipbox.text.set_value(&text);
                        p.send_clipboard(&text);
                    }
                    None => p.view.clipbox.say(
                        "The browser did not let Olive read your clipboard: paste into the box instead.",
                    ),
                });
            });
        }));
        let weak = self.weak.clone();
        ls.push(EventListener::new(&cb.panel, "keydown", move |e| {
            let e: &KeyboardEvent = e.unchecked_ref();
            if e.key() == "Escape" {
                e.prevent_default();
                Inner::with(&weak, |p| p.set_clipbox_open(false));
            }
        }));
    }

    fn set_clipbox_open(&mut self, open: bool) {
        let cb = self.view.clipbox.clone();
        cb.panel.set_hidden(!open);
        attr(
            &cb.toggle,
            "aria-expanded",
            if open { "true" } else { "false" },
        );
        self.apply_scale();
        if open {
            let _ = cb.text.focus();
        } else {
            let _ = self.view.canvas.focus();
        }
    }

    /// The visitor's text goes to the guest's clipboard.
    fn send_clipboard(&mut self, text: &str) {
        let cb = self.view.clipbox.clone();
        let Some(session) = self.session.as_mut() else {
            cb.say("The machine is not running.");
            return;
        };
        match session.set_clipboard(text) {
            Ok(()) => cb.say("On the machine's clipboard: paste it there."),
            Err(e) => cb.say(&format!("Not sent: {e}.")),
        }
        self.pump();
    }

    /// The agent said what it can do: offer the panel, follow the player's size.
    pub(super) fn on_agent_capabilities(&mut self, clipboard: bool, resize: bool) {
        let features: Vec<&str> = [("clipboard", clipboard), ("resize", resize)]
            .iter()
            .filter(|(_, on)| *on)
            .map(|(n, _)| *n)
            .collect();
        let word = if features.is_empty() {
            "none".to_owned()
        } else {
            features.join(" ")
        };
        attr(&self.view.root, "data-agent", &word);
        self.agent_resize = resize;
        if !self.view_only {
            self.view.clipbox.toggle.set_hidden(!clipboard);
        }
        self.apply_scale();
    }

    /// The guest copied text: show it, and write it to the browser's clipboard if allowed.
    pub(super) fn on_guest_clipboard(&mut self, text: String) {
        let cb = self.view.clipbox.clone();
        cb.text.set_value(&text);
        cb.say("Copied in the machine: it is in the box.");
        attr(&self.view.root, "data-guest-clipboard", "shown");
        if browser_clipboard().is_none() {
            return;
        }
        let root = self.view.root.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let args = js_sys::Array::of1(&JsValue::from_str(&text));
            match call_clipboard("writeText", &args).await {
                Ok(_) => {
                    attr(&root, "data-guest-clipboard", "written");
                    cb.say("Copied in the machine: it is in the box and on your clipboard.");
                }
                Err(e) => dom::log(&format!("clipboard write refused: {e:?}")),
            }
        });
    }
}
