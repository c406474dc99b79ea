//! The idle warning: after the kiosk's idle time without input, "Still playing? Resetting
//! in 10 s" counts down on screen (an alert, so a screen reader says it too); any input
//! cancels it, and at zero the kiosk resets the title: the warning's view, its words, and
//! the idle clock and countdown of [`super::State`].

use gloo::timers::callback::{Interval, Timeout};
use web_sys::HtmlElement;

use super::{Mode, State};
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

impl State {
    /// Input while playing: the idle clock starts again, a warning is cancelled.
    pub(super) fn activity(&mut self) {
        match self.mode {
            Mode::Warning => {
                self.countdown = None;
                self.warning.hide();
                self.set_mode(Mode::Playing);
                self.arm_idle();
            }
            Mode::Playing => self.arm_idle(),
            _ => {}
        }
    }

    pub(super) fn arm_idle(&mut self) {
        let Some(p) = self.profile.as_ref() else {
            return;
        };
        let weak = self.weak.clone();
        let ms = p.idle_secs.clamp(1, 86_400) * 1000;
        self.idle_timer = Some(Timeout::new(ms, move || {
            State::with(&weak, |s| s.warn());
        }));
    }

    fn warn(&mut self) {
        let Some(p) = self.profile.as_ref() else {
            return;
        };
        if self.mode != Mode::Playing {
            return;
        }
        self.seconds_left = p.warning_secs.max(1);
        self.warning.show(self.seconds_left);
        self.set_mode(Mode::Warning);
        let weak = self.weak.clone();
        self.countdown = Some(Interval::new(1000, move || {
            State::with(&weak, |s| s.tick());
        }));
    }

    fn tick(&mut self) {
        if self.mode != Mode::Warning {
            self.countdown = None;
            return;
        }
        self.seconds_left = self.seconds_left.saturating_sub(1);
        if self.seconds_left == 0 {
            self.countdown = None;
            self.reset();
        } else {
            self.warning.show(self.seconds_left);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_words_the_issue_asks_for() {
        assert_eq!(super::warning_text(10), "Still playing? Resetting in 10 s");
    }
}
