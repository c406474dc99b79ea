//! The idle warning: after the kiosk's idle time without input, "Still playing? Resetting
//! in 10 s" counts down on screen (an alert, so a screen reader says it too); any input
//! cancels it, and at zero the kiosk resets the title. The timers live with the kiosk
//! ([`super::State`]); this is the warning's view and its words.

use web_sys::HtmlElement;

use crate::ui::dom::{attr, el, text_el};

/// The warning's words with `left` seconds to go.
pub(crate) fn warning_text(left: u32) -> String {
    format!("Still playing? Resetting in {left} s")
}

/// The warning overlay.
pub(crate) struct Warning {
    /// The overlay (hidden when no warning runs).
    pub(crate) root: HtmlElement,
    text: HtmlElement,
}

impl Warning {
    /// A hidden warning, to be put over the stage.
    pub(crate) fn new() -> Warning {
        let root = el("div", "kiosk-warning");
        root.set_id("olive-kiosk-warning");
        attr(&root, "role", "alert");
        attr(&root, "aria-live", "assertive");
        let text = text_el("p", "", "");
        let hint = text_el(
            "p",
            "hint",
            "Press any key or touch the screen to keep playing.",
        );
        let _ = root.append_child(&text);
        let _ = root.append_child(&hint);
        root.set_hidden(true);
        Warning { root, text }
    }

    /// Shows the warning with `left` seconds to go.
    pub(crate) fn show(&self, left: u32) {
        self.text.set_text_content(Some(&warning_text(left)));
        attr(&self.root, "data-seconds-left", &left.to_string());
        self.root.set_hidden(false);
    }

    /// Hides it.
    pub(crate) fn hide(&self) {
        self.root.set_hidden(true);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_words_the_issue_asks_for() {
        assert_eq!(super::warning_text(10), "Still playing? Resetting in 10 s");
    }
}
