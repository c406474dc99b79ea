//! Modifier state taken from the key event itself, not only from modifier key presses.
//!
//! Keys go to the guest by physical key, so the guest only types `S` if it saw a Shift key
//! go down first. Synthesized events (WebDriver, remote-control tools, some on-screen and
//! phone keyboards) often carry `shiftKey` (or `ctrlKey`, `altKey`,
//! `getModifierState("AltGraph")`) without any keydown of that modifier, so a client that
//! follows key presses alone types `s` and `<` for `S` and `>`. Conversely a modifier whose
//! keyup never reached the page (released while another window had focus) would stay held
//! in the guest.
//!
//! [`ModifierSync`] sits after the AltGr filter and, for every non-modifier key event,
//! compares what the event says with what the guest was sent:
//!
//! - a modifier the event says is down but the guest does not hold is pressed just before
//!   the key and released just after that key's release ("around it");
//! - a modifier the guest holds but the event says is up is released before the key.
//!
//! Firefox's synthesized events do not even set `shiftKey`: WebDriver's `S` arrives as
//! `key = "S"`, `code = "KeyS"`, `shiftKey = false`. [`implied_shift`] reads Shift from
//! the character then: an upper-case letter without Caps Lock, or exactly the character a
//! US layout's Shift gives on that key. On a real keyboard of any layout `shiftKey` is
//! already set for such characters, so this only fires on synthesized events (a non-US
//! layout whose unshifted key equals the US shifted character of the same physical key
//! would be misread, and none of the common ones has one).
//!
//! AltGr: on Windows an AltGr press also reports `ctrlKey` and `altKey`, and the fake
//! `ControlLeft` in front of it is dropped by [`super::keys::AltGrFilter`]; so while the
//! event says AltGraph, Ctrl and Alt are never synthesized for it. Pure logic, no DOM:
//! unit-tested natively.

use spice_client::inputs::keymap::scancode_for_code;

use super::keys::KeyAction;

/// What a key event says about the modifiers (`shiftKey`, `ctrlKey`, `altKey`,
/// `getModifierState("AltGraph")`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct EventModifiers {
    /// `shiftKey`.
    pub(crate) shift: bool,
    /// `ctrlKey`; also set for AltGr on Windows, which is why [`EventModifiers::altgraph`]
    /// is read too.
    pub(crate) ctrl: bool,
    /// `altKey`; also set for AltGr on Windows.
    pub(crate) alt: bool,
    /// `getModifierState("AltGraph")`: when set, Ctrl and Alt are not synthesized for it.
    pub(crate) altgraph: bool,
}

/// Whether an event for the physical key `code` that produced the character `key` needs
/// Shift although it does not say so (see the module docs).
pub(crate) fn implied_shift(code: &str, key: &str, caps_lock: bool) -> bool {
    let mut chars = key.chars();
    let (Some(c), None) = (chars.next(), chars.next()) else {
        return false;
    };
    if let Some(letter) = code.strip_prefix("Key") {
        return !caps_lock && c.is_ascii_uppercase() && letter.len() == 1;
    }
    let shifted = match code {
        "Digit1" => '!',
        "Digit2" => '@',
        "Digit3" => '#',
        "Digit4" => '$',
        "Digit5" => '%',
        "Digit6" => '^',
        "Digit7" => '&',
        "Digit8" => '*',
        "Digit9" => '(',
        "Digit0" => ')',
        "Minus" => '_',
        "Equal" => '+',
        "BracketLeft" => '{',
        "BracketRight" => '}',
        "Backslash" => '|',
        "Semicolon" => ':',
        "Quote" => '"',
        "Backquote" => '~',
        "Comma" => '<',
        "Period" => '>',
        "Slash" => '?',
        _ => return false,
    };
    c == shifted
}

/// A modifier the guest knows as physical keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Modifier {
    Shift,
    Ctrl,
    Alt,
    AltGraph,
}

impl Modifier {
    const ALL: [Modifier; 4] = [
        Modifier::Shift,
        Modifier::Ctrl,
        Modifier::Alt,
        Modifier::AltGraph,
    ];

    /// The physical keys that count as holding this modifier.
    fn codes(self) -> &'static [&'static str] {
        match self {
            Modifier::Shift => &["ShiftLeft", "ShiftRight"],
            Modifier::Ctrl => &["ControlLeft", "ControlRight"],
            Modifier::Alt => &["AltLeft", "AltRight"],
            Modifier::AltGraph => &["AltRight"],
        }
    }

    /// The key pressed when the modifier has to be synthesized.
    fn synth_code(self) -> &'static str {
        match self {
            Modifier::Shift => "ShiftLeft",
            Modifier::Ctrl => "ControlLeft",
            Modifier::Alt => "AltLeft",
            Modifier::AltGraph => "AltRight",
        }
    }

    fn of_code(code: &str) -> bool {
        Modifier::ALL.iter().any(|m| m.codes().contains(&code))
    }
}

/// What the event says about one modifier: down, up, or nothing to act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Says {
    Down,
    Up,
    Ignore,
}

fn says(m: Modifier, e: EventModifiers) -> Says {
    let flag = |b: bool| if b { Says::Down } else { Says::Up };
    match m {
        Modifier::Shift => flag(e.shift),
        // AltGr reports ctrlKey on Windows: never synthesize Ctrl for it, but a Ctrl the
        // event says is up is still released.
        Modifier::Ctrl if e.altgraph && e.ctrl => Says::Ignore,
        Modifier::Ctrl => flag(e.ctrl),
        // AltGr is AltRight: with AltGraph down, Alt is judged by the AltGraph rule.
        Modifier::Alt if e.altgraph => Says::Ignore,
        Modifier::Alt => flag(e.alt),
        Modifier::AltGraph if e.altgraph => Says::Down,
        // AltRight held as a plain Alt (not AltGraph) is the Alt rule's business.
        Modifier::AltGraph => Says::Ignore,
    }
}

/// Keeps the guest's modifiers in line with what key events say. See the module docs.
#[derive(Debug, Default)]
pub(crate) struct ModifierSync {
    /// Modifier keys the guest holds (pressed by the visitor or by us).
    held: Vec<String>,
    /// Modifiers pressed by us for a key, released after that key's release.
    synthesized: Vec<(String, Vec<String>)>,
}

impl ModifierSync {
    /// Filters the actions of one key event whose modifier state is `mods`.
    pub(crate) fn apply(
        &mut self,
        actions: Vec<KeyAction>,
        mods: EventModifiers,
    ) -> Vec<KeyAction> {
        let mut out = Vec::with_capacity(actions.len() + 2);
        for a in actions {
            if Modifier::of_code(&a.code) {
                self.track(&a);
                out.push(a);
            } else if scancode_for_code(&a.code).is_none() {
                // Not a key the guest will get (e.g. a phone's `Unidentified`): nothing to
                // press modifiers around.
                out.push(a);
            } else if a.pressed {
                self.before_key(&a.code, mods, &mut out);
                out.push(a);
            } else {
                out.push(a.clone());
                self.after_release(&a.code, &mut out);
            }
        }
        out
    }

    /// Forgets everything (focus lost: the session releases every key itself).
    pub(crate) fn reset(&mut self) {
        self.held.clear();
        self.synthesized.clear();
    }

    /// Whether the guest holds `code` according to what was sent.
    pub(crate) fn holds(&self, code: &str) -> bool {
        self.held.iter().any(|h| h == code)
    }

    fn track(&mut self, a: &KeyAction) {
        if a.pressed {
            if !self.holds(&a.code) {
                self.held.push(a.code.clone());
            }
        } else {
            self.held.retain(|h| *h != a.code);
            // A modifier the visitor released is no longer ours to release.
            for (_, mods) in &mut self.synthesized {
                mods.retain(|m| *m != a.code);
            }
        }
    }

    fn before_key(&mut self, code: &str, mods: EventModifiers, out: &mut Vec<KeyAction>) {
        let mut pressed_for_key = Vec::new();
        for m in Modifier::ALL {
            let holding: Vec<String> = self
                .held
                .iter()
                .filter(|h| m.codes().contains(&h.as_str()))
                .cloned()
                .collect();
            match says(m, mods) {
                Says::Up => {
                    for h in holding {
                        self.release(&h, out);
                    }
                }
                Says::Down if holding.is_empty() => {
                    let c = m.synth_code().to_owned();
                    out.push(KeyAction {
                        code: c.clone(),
                        pressed: true,
                    });
                    self.held.push(c.clone());
                    pressed_for_key.push(c);
                }
                _ => {}
            }
        }
        if !pressed_for_key.is_empty() {
            match self.synthesized.iter_mut().find(|(k, _)| k == code) {
                Some((_, v)) => v.extend(pressed_for_key),
                None => self.synthesized.push((code.to_owned(), pressed_for_key)),
            }
        }
    }

    fn after_release(&mut self, code: &str, out: &mut Vec<KeyAction>) {
        let Some(i) = self.synthesized.iter().position(|(k, _)| k == code) else {
            return;
        };
        let (_, mods) = self.synthesized.remove(i);
        for m in mods.iter().rev() {
            self.release(m, out);
        }
    }

    fn release(&mut self, code: &str, out: &mut Vec<KeyAction>) {
        if self.holds(code) {
            self.held.retain(|h| h != code);
            for (_, mods) in &mut self.synthesized {
                mods.retain(|m| m != code);
            }
            out.push(KeyAction {
                code: code.to_owned(),
                pressed: false,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn down(c: &str) -> KeyAction {
        KeyAction {
            code: c.into(),
            pressed: true,
        }
    }
    fn up(c: &str) -> KeyAction {
        KeyAction {
            code: c.into(),
            pressed: false,
        }
    }
    const NONE: EventModifiers = EventModifiers {
        shift: false,
        ctrl: false,
        alt: false,
        altgraph: false,
    };
    const SHIFT: EventModifiers = EventModifiers {
        shift: true,
        ..NONE
    };

    #[test]
    fn shift_from_the_event_is_pressed_around_the_key() {
        let mut s = ModifierSync::default();
        // WebDriver's "S": keydown/keyup KeyS with shiftKey, no Shift event.
        assert_eq!(
            s.apply(vec![down("KeyS")], SHIFT),
            vec![down("ShiftLeft"), down("KeyS")]
        );
        assert_eq!(
            s.apply(vec![up("KeyS")], SHIFT),
            vec![up("KeyS"), up("ShiftLeft")]
        );
        // ">" is Shift+Period on a US layout.
        assert_eq!(
            s.apply(vec![down("Period")], SHIFT),
            vec![down("ShiftLeft"), down("Period")]
        );
        assert_eq!(
            s.apply(vec![up("Period")], SHIFT),
            vec![up("Period"), up("ShiftLeft")]
        );
        assert!(!s.holds("ShiftLeft"));
        // An unknown key gets nothing pressed around it.
        assert_eq!(
            s.apply(vec![down("Unidentified")], SHIFT),
            vec![down("Unidentified")]
        );
    }

    #[test]
    fn shift_implied_by_the_character() {
        // Firefox's WebDriver "S" and ">": no shiftKey at all.
        assert!(implied_shift("KeyS", "S", false));
        assert!(implied_shift("Period", ">", false));
        assert!(implied_shift("Digit1", "!", false));
        assert!(!implied_shift("KeyS", "s", false));
        assert!(!implied_shift("KeyS", "S", true)); // Caps Lock makes it upper case
        assert!(!implied_shift("Period", ".", false));
        assert!(!implied_shift("Enter", "Enter", false));
        assert!(!implied_shift("Unidentified", "S", false));
        // AZERTY's unshifted "&" on Digit1 and German's "-" on Slash need no Shift.
        assert!(!implied_shift("Digit1", "&", false));
        assert!(!implied_shift("Slash", "-", false));
    }

    #[test]
    fn a_real_shift_is_left_alone() {
        let mut s = ModifierSync::default();
        assert_eq!(
            s.apply(vec![down("ShiftRight")], SHIFT),
            vec![down("ShiftRight")]
        );
        assert_eq!(s.apply(vec![down("KeyA")], SHIFT), vec![down("KeyA")]);
        assert_eq!(s.apply(vec![up("KeyA")], SHIFT), vec![up("KeyA")]);
        assert_eq!(
            s.apply(vec![up("ShiftRight")], NONE),
            vec![up("ShiftRight")]
        );
        assert_eq!(s.apply(vec![down("KeyA")], NONE), vec![down("KeyA")]);
    }

    #[test]
    fn a_held_modifier_the_event_says_is_up_is_released() {
        let mut s = ModifierSync::default();
        let ctrl = EventModifiers { ctrl: true, ..NONE };
        assert_eq!(
            s.apply(vec![down("ControlLeft")], ctrl),
            vec![down("ControlLeft")]
        );
        // Its keyup was lost (another window had focus); the next key says Ctrl is up.
        assert_eq!(
            s.apply(vec![down("KeyC")], NONE),
            vec![up("ControlLeft"), down("KeyC")]
        );
        assert!(!s.holds("ControlLeft"));
        // A later real release of it is passed on once and changes nothing.
        assert_eq!(
            s.apply(vec![up("ControlLeft")], NONE),
            vec![up("ControlLeft")]
        );
    }

    #[test]
    fn ctrl_and_alt_are_synthesized_too() {
        let mut s = ModifierSync::default();
        let m = EventModifiers {
            ctrl: true,
            alt: true,
            ..NONE
        };
        assert_eq!(
            s.apply(vec![down("Delete")], m),
            vec![down("ControlLeft"), down("AltLeft"), down("Delete")]
        );
        assert_eq!(
            s.apply(vec![up("Delete")], m),
            vec![up("Delete"), up("AltLeft"), up("ControlLeft")]
        );
    }

    #[test]
    fn altgr_is_synthesized_but_never_as_ctrl_alt() {
        let mut s = ModifierSync::default();
        // Windows AltGr: the filter dropped the fake ControlLeft; the event says ctrl, alt
        // and AltGraph while only AltRight is held.
        let wa = EventModifiers {
            ctrl: true,
            alt: true,
            altgraph: true,
            ..NONE
        };
        assert_eq!(s.apply(vec![down("AltRight")], wa), vec![down("AltRight")]);
        assert_eq!(s.apply(vec![down("KeyQ")], wa), vec![down("KeyQ")]);
        assert_eq!(s.apply(vec![up("KeyQ")], wa), vec![up("KeyQ")]);
        assert_eq!(s.apply(vec![up("AltRight")], NONE), vec![up("AltRight")]);
        // An on-screen keyboard's "@" on a German layout: AltGraph without any key event.
        let ag = EventModifiers {
            altgraph: true,
            ..NONE
        };
        assert_eq!(
            s.apply(vec![down("KeyQ")], ag),
            vec![down("AltRight"), down("KeyQ")]
        );
        assert_eq!(
            s.apply(vec![up("KeyQ")], ag),
            vec![up("KeyQ"), up("AltRight")]
        );
    }

    #[test]
    fn linux_altgr_held_without_alt_flag_stays_held() {
        let mut s = ModifierSync::default();
        let ag = EventModifiers {
            altgraph: true,
            ..NONE
        };
        assert_eq!(s.apply(vec![down("AltRight")], ag), vec![down("AltRight")]);
        // altKey is false while AltGraph is down: AltRight must not be released.
        assert_eq!(s.apply(vec![down("KeyE")], ag), vec![down("KeyE")]);
        assert!(s.holds("AltRight"));
    }

    #[test]
    fn a_modifier_released_by_the_visitor_is_not_released_twice() {
        let mut s = ModifierSync::default();
        assert_eq!(
            s.apply(vec![down("KeyS")], SHIFT),
            vec![down("ShiftLeft"), down("KeyS")]
        );
        // The visitor's own ShiftLeft keyup arrives in between.
        assert_eq!(s.apply(vec![up("ShiftLeft")], NONE), vec![up("ShiftLeft")]);
        assert_eq!(s.apply(vec![up("KeyS")], NONE), vec![up("KeyS")]);
        s.reset();
        assert!(!s.holds("ShiftLeft"));
    }
}
