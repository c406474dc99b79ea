//! The Type-text box: the visitor writes (or pastes) text, and the player types it into the
//! guest key by key with the item's layout ([`super::layout`]), for guests without an
//! agent to paste into. The same queue ([`super::typing::Typist`]) serves a portal's
//! `typeText`, so both are paced alike and Cancel stops either.
//!
//! Pacing: one key event per [`TEXT_PACE_MS`], so a key is held 15 ms and the next starts
//! 15 ms after its release: about 33 plain characters a second (a shifted one takes twice
//! as long). That is slower than the 10 ms of the player's other queued keys, because a
//! text is long and an old guest reading its keyboard buffer between other work must not
//! lose characters of it.
//!
//! The box is a toolbar button (`aria-expanded`) and a panel (`#olive-type`) with a labelled
//! textarea, Send, Cancel (only while typing) and a polite status ("12 / 40"). Escape or the
//! button closes it and gives the focus back to the screen. Keys pressed in the textarea
//! never reach the guest: only the screen listens for keys. Not built in view-only mode.
//! For automation `#olive-player` carries `data-typing` (`idle`, `typing`, `done`,
//! `cancelled`) and `data-typing-progress` (`12/40`).

use gloo::events::EventListener;
use wasm_bindgen::JsCast;
use web_sys::{HtmlButtonElement, HtmlElement, HtmlTextAreaElement, KeyboardEvent};

use super::typing::Plan;
use super::Inner;
use crate::ui::dom::{attr, button, el, text_el};

/// Spacing of the key events of typed text (ms); see the module docs.
pub(crate) const TEXT_PACE_MS: u32 = 15;

/// The box's elements.
#[derive(Clone)]
pub(crate) struct TypeBox {
    /// The toolbar button that opens and closes the panel.
    pub(crate) toggle: HtmlButtonElement,
    /// `#olive-type`, below the status line, above the screen.
    pub(crate) panel: HtmlElement,
    /// `#olive-type-text`.
    text: HtmlTextAreaElement,
    /// `#olive-type-send`.
    send: HtmlButtonElement,
    /// `#olive-type-cancel`, shown while typing.
    cancel: HtmlButtonElement,
    /// `#olive-type-status`: progress, then the outcome and any characters not typed.
    status: HtmlElement,
}

impl TypeBox {
    /// Builds the (closed) box and its toolbar button.
    pub(crate) fn new() -> TypeBox {
        let toggle = button("Type text", "", None);
        attr(&toggle, "aria-expanded", "false");
        attr(&toggle, "aria-controls", "olive-type");
        let panel = el("div", "typebox");
        panel.set_id("olive-type");
        attr(&panel, "role", "group");
        attr(&panel, "aria-label", "Type text into the machine");
        panel.set_hidden(true);
        let label = el("label", "typebox-label");
        attr(&label, "for", "olive-type-text");
        label.set_text_content(Some("Text to type into the machine"));
        let text: HtmlTextAreaElement = el("textarea", "").unchecked_into();
        text.set_id("olive-type-text");
        text.set_rows(3);
        for (k, v) in [
            ("autocapitalize", "off"),
            ("autocomplete", "off"),
            ("autocorrect", "off"),
            ("spellcheck", "false"),
        ] {
            attr(&text, k, v);
        }
        let send = button("Send", "", Some("Send the text as key presses"));
        send.set_id("olive-type-send");
        let cancel = button("Cancel", "", Some("Stop typing"));
        cancel.set_id("olive-type-cancel");
        cancel.set_hidden(true);
        let status = text_el("p", "typebox-status", "");
        status.set_id("olive-type-status");
        attr(&status, "role", "status");
        attr(&status, "aria-live", "polite");
        let row = el("div", "typebox-actions");
        let _ = row.append_child(&send);
        let _ = row.append_child(&cancel);
        let _ = row.append_child(&status);
        let _ = panel.append_child(&label);
        let _ = panel.append_child(&text);
        let _ = panel.append_child(&row);
        TypeBox {
            toggle,
            panel,
            text,
            send,
            cancel,
            status,
        }
    }
}

impl Default for TypeBox {
    fn default() -> Self {
        TypeBox::new()
    }
}

impl Inner {
    /// Wires the box (not in view-only mode).
    pub(super) fn install_typebox(&mut self, ls: &mut Vec<EventListener>) {
        let tb = self.view.typebox.clone();
        attr(&self.view.root, "data-typing", "idle");
        let weak = self.weak.clone();
        ls.push(EventListener::new(&tb.toggle, "click", move |_| {
            Inner::with(&weak, |p| {
                let open = p.view.typebox.panel.hidden();
                p.set_typebox_open(open);
            });
        }));
        let weak = self.weak.clone();
        ls.push(EventListener::new(&tb.send, "click", move |_| {
            Inner::with(&weak, |p| p.send_typebox());
        }));
        let weak = self.weak.clone();
        ls.push(EventListener::new(&tb.cancel, "click", move |_| {
            Inner::with(&weak, |p| {
                p.input.typist.cancel();
                p.show_typing();
                // Cancel hides itself; the focus goes back to the text, not to the page.
                let _ = p.view.typebox.text.focus();
            });
        }));
        let weak = self.weak.clone();
        ls.push(EventListener::new(&tb.panel, "keydown", move |e| {
            let e: &KeyboardEvent = e.unchecked_ref();
            match e.key().as_str() {
                "Escape" => {
                    e.prevent_default();
                    Inner::with(&weak, |p| p.set_typebox_open(false));
                }
                // Ctrl+Enter sends, as in a chat box; a plain Enter is a new line.
                "Enter" if e.ctrl_key() || e.meta_key() => {
                    e.prevent_default();
                    Inner::with(&weak, |p| p.send_typebox());
                }
                _ => {}
            }
        }));
    }

    /// Opens the box (focus to its text) or closes it (focus back to the screen). The
    /// screen is re-fitted, since the box takes height above it.
    fn set_typebox_open(&mut self, open: bool) {
        let tb = self.view.typebox.clone();
        tb.panel.set_hidden(!open);
        attr(
            &tb.toggle,
            "aria-expanded",
            if open { "true" } else { "false" },
        );
        self.apply_scale();
        if open {
            let _ = tb.text.focus();
        } else {
            let _ = self.view.canvas.focus();
        }
    }

    /// Send: the box's text goes to the typist.
    fn send_typebox(&mut self) {
        let tb = self.view.typebox.clone();
        let text = tb.text.value();
        if text.is_empty() {
            return;
        }
        tb.text.set_value("");
        let skipped = self.type_text(&text);
        if skipped.is_none() {
            tb.status
                .set_text_content(Some("The machine is not running: nothing was typed."));
        }
    }

    /// Queues `text` for typing with the item's layout; `None` when there is no session to
    /// type into, else the plan (what was skipped). Used by the box and by `typeText`.
    pub(super) fn type_text(&mut self, text: &str) -> Option<Plan> {
        self.session.as_ref()?;
        let plan = Plan::new(self.keymap, text, self.input.typist.room());
        if plan.skipped > 0 {
            crate::ui::dom::log(&plan.skipped_text());
        }
        self.input.typist.push(plan.strokes.clone());
        self.typing_note = plan.skipped_text();
        self.show_typing();
        self.drain_keys();
        Some(plan)
    }

    /// The typist's next event, with the box's progress brought up to date when a
    /// character completes.
    pub(super) fn next_typed(&mut self) -> Option<(&'static str, bool)> {
        let before = self.input.typist.progress();
        let ev = self.input.typist.next_event()?;
        if self.input.typist.progress() != before || !self.input.typist.is_busy() {
            self.show_typing();
        }
        Some(ev)
    }

    /// Shows the typist's state in the box and on `#olive-player`.
    pub(super) fn show_typing(&self) {
        let t = &self.input.typist;
        let (done, total) = t.progress();
        let state = match (t.is_busy(), t.was_cancelled()) {
            (true, _) => "typing",
            (false, true) => "cancelled",
            (false, false) if total > 0 => "done",
            (false, false) => "idle",
        };
        let tb = &self.view.typebox;
        attr(&self.view.root, "data-typing", state);
        attr(
            &self.view.root,
            "data-typing-progress",
            &format!("{done}/{total}"),
        );
        let mut line = match state {
            "typing" => format!("{done} / {total}"),
            "cancelled" => format!("Cancelled after {done} of {total} characters."),
            "done" => format!("Typed {done} / {total}."),
            _ => String::new(),
        };
        if !self.typing_note.is_empty() {
            line.push(' ');
            line.push_str(&self.typing_note);
        }
        tb.status.set_text_content(Some(&line));
        tb.cancel.set_hidden(!t.is_busy());
    }
}
