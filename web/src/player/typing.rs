//! Text to key presses, the queue that types them, and the on-screen keyboard's sticky
//! modifiers: pure logic.
//!
//! Text reaches the player three ways: the Type-text box, a phone keyboard (its `keydown`
//! events say `key = "Unidentified"` and carry no usable `code`; what was typed only shows
//! up in `beforeinput`/`input`) and a portal's `typeText`. The guest wants physical keys,
//! so each character becomes the keys of the item's layout ([`super::layout`]): one table
//! for all three. Characters the layout cannot type are skipped and reported, never sent
//! as some other key.

use std::collections::VecDeque;

use super::layout::{stroke, Keymap, Stroke};

/// Most characters one text may turn into keys (and most waiting in a [`Typist`]): a paste
/// of a whole document would otherwise queue minutes of typing.
pub(crate) const MAX_TEXT_CHARS: usize = 4096;

/// How many of the characters that cannot be typed are named (the rest are counted).
const MAX_NAMED: usize = 16;

/// A text as key strokes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// One stroke per character that can be typed, in order.
    pub(crate) strokes: Vec<Stroke>,
    /// How many characters were skipped: no key on the layout, or beyond the limit.
    pub(crate) skipped: usize,
    /// The distinct characters without a key, in order of appearance (at most 16).
    pub(crate) missing: Vec<char>,
}

impl Plan {
    /// `text` typed with `keymap`, at most `room` characters (a CR LF pair is one Enter).
    pub(crate) fn new(keymap: Keymap, text: &str, room: usize) -> Plan {
        let mut plan = Plan::default();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\r' && chars.peek() == Some(&'\n') {
                continue;
            }
            if plan.strokes.len() >= room {
                plan.skipped += 1;
                continue;
            }
            match stroke(keymap, c) {
                Some(s) => plan.strokes.push(s),
                None => {
                    plan.skipped += 1;
                    if plan.missing.len() < MAX_NAMED && !plan.missing.contains(&c) {
                        plan.missing.push(c);
                    }
                }
            }
        }
        plan
    }

    /// All key events `(code, pressed)`, for callers that send at once (a phone keyboard's
    /// few characters).
    pub(crate) fn events(&self) -> Vec<(String, bool)> {
        self.strokes
            .iter()
            .flat_map(|s| s.events())
            .map(|(c, d)| (c.to_owned(), d))
            .collect()
    }

    /// What the visitor reads when characters were skipped ("" when none were).
    pub(crate) fn skipped_text(&self) -> String {
        if self.skipped == 0 {
            return String::new();
        }
        let named: String = self
            .missing
            .iter()
            .map(|c| match c {
                c if c.is_control() => format!("U+{:04X}", u32::from(*c)),
                c => c.to_string(),
            })
            .collect::<Vec<_>>()
            .join(" ");
        let what = if self.skipped == 1 {
            "character"
        } else {
            "characters"
        };
        if named.is_empty() {
            format!("{} {what} not typed (too long).", self.skipped)
        } else {
            format!(
                "{} {what} not typed: this keyboard layout has no key for {named}.",
                self.skipped
            )
        }
    }
}

/// The key events `(code, pressed)` that type `text` with `keymap`, and how many
/// characters were skipped.
pub(crate) fn text_to_keys(keymap: Keymap, text: &str) -> (Vec<(String, bool)>, usize) {
    let plan = Plan::new(keymap, text, MAX_TEXT_CHARS);
    (plan.events(), plan.skipped)
}

/// Types strokes one key event at a time, so the player can pace them and the visitor
/// can stop them. A cancel drops the characters not started but finishes the one under
/// way, so no modifier stays held.
#[derive(Debug, Default)]
pub(crate) struct Typist {
    waiting: VecDeque<Stroke>,
    current: VecDeque<(&'static str, bool)>,
    done: usize,
    total: usize,
    cancelled: bool,
}

impl Typist {
    /// Room left before [`MAX_TEXT_CHARS`].
    pub(crate) fn room(&self) -> usize {
        MAX_TEXT_CHARS.saturating_sub(self.waiting.len())
    }

    /// Queues `strokes` behind what is waiting; an idle typist starts counting afresh.
    pub(crate) fn push(&mut self, strokes: Vec<Stroke>) {
        if !self.is_busy() {
            self.done = 0;
            self.total = 0;
            self.cancelled = false;
        }
        self.total += strokes.len();
        self.waiting.extend(strokes);
    }

    /// The next key event, if any. A character counts as done once its last event is out.
    pub(crate) fn next_event(&mut self) -> Option<(&'static str, bool)> {
        if self.current.is_empty() {
            let s = self.waiting.pop_front()?;
            self.current = s.events().into();
        }
        let ev = self.current.pop_front();
        if self.current.is_empty() {
            self.done += 1;
        }
        ev
    }

    /// Drops what has not started; returns how many characters were dropped.
    pub(crate) fn cancel(&mut self) -> usize {
        let dropped = self.waiting.len();
        if dropped > 0 || !self.current.is_empty() {
            self.cancelled = true;
        }
        self.waiting.clear();
        dropped
    }

    /// Characters typed and characters asked for (since it was last idle; a cancel leaves
    /// the total as asked, so the visitor reads how far it got).
    pub(crate) fn progress(&self) -> (usize, usize) {
        (self.done, self.total)
    }

    /// Whether events are left.
    pub(crate) fn is_busy(&self) -> bool {
        !self.waiting.is_empty() || !self.current.is_empty()
    }

    /// Whether the last run was stopped by [`Typist::cancel`].
    pub(crate) fn was_cancelled(&self) -> bool {
        self.cancelled
    }
}

/// The on-screen keyboard's modifiers: tapping Ctrl, Alt or Shift arms it (shown
/// pressed); the next other key is sent with every armed modifier held around it, then
/// they disarm. Tapping an armed modifier again disarms it.
#[derive(Debug, Default, Clone)]
pub(crate) struct StickyModifiers {
    armed: Vec<&'static str>,
}

/// The modifier keys the on-screen keyboard offers.
pub(crate) const STICKY: [&str; 3] = ["ControlLeft", "AltLeft", "ShiftLeft"];

impl StickyModifiers {
    /// The on-screen key `code` was tapped: the key events to send (none for a modifier,
    /// which only arms or disarms).
    pub(crate) fn tap(&mut self, code: &str) -> Vec<(String, bool)> {
        if let Some(m) = STICKY.iter().find(|m| **m == code) {
            match self.armed.iter().position(|a| a == m) {
                Some(i) => {
                    self.armed.remove(i);
                }
                None => self.armed.push(m),
            }
            return Vec::new();
        }
        let mut out: Vec<(String, bool)> =
            self.armed.iter().map(|m| (m.to_string(), true)).collect();
        out.push((code.to_owned(), true));
        out.push((code.to_owned(), false));
        out.extend(self.armed.iter().rev().map(|m| (m.to_string(), false)));
        self.armed.clear();
        out
    }

    /// Whether `code` is armed (its button shows `aria-pressed=true`).
    pub(crate) fn is_armed(&self, code: &str) -> bool {
        self.armed.contains(&code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(v: &[(&str, bool)]) -> Vec<(String, bool)> {
        v.iter().map(|(c, d)| (c.to_string(), *d)).collect()
    }

    #[test]
    fn text_becomes_presses() {
        let (k, skipped) = text_to_keys(Keymap::Us, "aB é\r\n");
        assert_eq!(
            k,
            ev(&[
                ("KeyA", true),
                ("KeyA", false),
                ("ShiftLeft", true),
                ("KeyB", true),
                ("KeyB", false),
                ("ShiftLeft", false),
                ("Space", true),
                ("Space", false),
                ("Enter", true),
                ("Enter", false),
            ])
        );
        assert_eq!(skipped, 1);
        let (k, _) = text_to_keys(Keymap::De, "z");
        assert_eq!(k, ev(&[("KeyY", true), ("KeyY", false)]));
        let long = "x".repeat(MAX_TEXT_CHARS + 10);
        let (k, skipped) = text_to_keys(Keymap::Us, &long);
        assert_eq!(k.len(), MAX_TEXT_CHARS * 2);
        assert_eq!(skipped, 10);
    }

    #[test]
    fn characters_without_a_key_are_named() {
        let p = Plan::new(Keymap::Us, "née ñ é\u{7}", 100);
        assert_eq!(p.strokes.len(), 4);
        assert_eq!(p.skipped, 4);
        assert_eq!(p.missing, ['é', 'ñ', '\u{7}']);
        assert_eq!(
            p.skipped_text(),
            "4 characters not typed: this keyboard layout has no key for é ñ U+0007."
        );
        assert_eq!(Plan::new(Keymap::De, "é", 100).skipped, 1);
        assert_eq!(Plan::new(Keymap::Fr, "é", 100).skipped, 0);
        let p = Plan::new(Keymap::Us, "abc", 2);
        assert_eq!((p.strokes.len(), p.skipped), (2, 1));
        assert_eq!(p.skipped_text(), "1 character not typed (too long).");
        assert_eq!(Plan::new(Keymap::Us, "ok", 2).skipped_text(), "");
    }

    fn drain(t: &mut Typist) -> Vec<(String, bool)> {
        std::iter::from_fn(|| t.next_event())
            .map(|(c, d)| (c.to_owned(), d))
            .collect()
    }

    #[test]
    fn the_typist_counts_characters_and_cancel_finishes_the_one_under_way() {
        let mut t = Typist::default();
        assert!(!t.is_busy());
        t.push(Plan::new(Keymap::Us, "aBc", 100).strokes);
        assert_eq!(t.progress(), (0, 3));
        assert_eq!(t.next_event(), Some(("KeyA", true)));
        assert_eq!(t.progress(), (0, 3));
        assert_eq!(t.next_event(), Some(("KeyA", false)));
        assert_eq!(t.progress(), (1, 3));
        assert_eq!(t.next_event(), Some(("ShiftLeft", true)));
        assert_eq!(t.cancel(), 1);
        assert!(t.was_cancelled());
        assert_eq!(
            drain(&mut t),
            ev(&[("KeyB", true), ("KeyB", false), ("ShiftLeft", false)])
        );
        assert_eq!(t.progress(), (2, 3));
        assert!(!t.is_busy());
        // A new text starts a new count; pushing while busy adds to it.
        t.push(Plan::new(Keymap::Us, "x", 100).strokes);
        assert!(!t.was_cancelled());
        t.push(Plan::new(Keymap::Us, "y", 100).strokes);
        assert_eq!(t.progress(), (0, 2));
        assert_eq!(drain(&mut t).len(), 4);
        assert_eq!(t.progress(), (2, 2));
        assert_eq!(t.cancel(), 0);
        assert!(!t.was_cancelled());
        assert_eq!(t.room(), MAX_TEXT_CHARS);
    }

    #[test]
    fn sticky_modifiers_hold_around_the_next_key() {
        let mut s = StickyModifiers::default();
        assert_eq!(s.tap("ControlLeft"), vec![]);
        assert_eq!(s.tap("AltLeft"), vec![]);
        assert!(s.is_armed("ControlLeft"));
        assert_eq!(
            s.tap("Delete"),
            ev(&[
                ("ControlLeft", true),
                ("AltLeft", true),
                ("Delete", true),
                ("Delete", false),
                ("AltLeft", false),
                ("ControlLeft", false),
            ])
        );
        assert!(!s.is_armed("ControlLeft"));
        assert_eq!(s.tap("KeyA"), ev(&[("KeyA", true), ("KeyA", false)]));
        s.tap("ShiftLeft");
        s.tap("ShiftLeft");
        assert!(!s.is_armed("ShiftLeft"));
    }
}
