//! Key chords a kiosk keeps from the guest (Ctrl-Alt-Del would reboot it, Alt-F4 close
//! the title's window): checked in the key path before a key becomes a scancode. Outside a
//! kiosk the player has no filter and every key goes through.
//!
//! A blocked key's press is swallowed, and so are its autorepeats and its release, so the
//! guest never sees half of it. The modifiers held with it have already gone to the guest
//! (they are keys of their own); without the final key they do nothing.

use std::collections::HashSet;

use olive_api::Chord;

/// The chords to swallow, and the keys swallowed and still held.
#[derive(Debug, Default)]
pub(crate) struct KeyFilter {
    blocked: Vec<Chord>,
    held: HashSet<String>,
}

impl KeyFilter {
    /// A filter of `chords` (`Ctrl+Alt+Delete`…); unreadable ones are logged and skipped
    /// (the gateway checked them, so that is a version mismatch, not a visitor's doing).
    pub(crate) fn new(chords: &[String]) -> KeyFilter {
        let blocked = chords
            .iter()
            .filter_map(|c| match Chord::parse(c) {
                Ok(c) => Some(c),
                Err(e) => {
                    crate::ui::dom::log(&format!("kiosk: chord {c:?} ignored: {e}"));
                    None
                }
            })
            .collect();
        KeyFilter {
            blocked,
            held: HashSet::new(),
        }
    }

    /// Whether the key event (`code` pressed or released, with these modifiers held) is
    /// kept from the guest.
    pub(crate) fn swallow(&mut self, code: &str, pressed: bool, mods: [bool; 4]) -> bool {
        let [ctrl, alt, shift, meta] = mods;
        if !pressed {
            return self.held.remove(code);
        }
        if self.held.contains(code) {
            return true;
        }
        if self
            .blocked
            .iter()
            .any(|c| c.matches(code, ctrl, alt, shift, meta))
        {
            self.held.insert(code.to_owned());
            return true;
        }
        false
    }

    /// Focus left: nothing is held any more.
    pub(crate) fn reset(&mut self) {
        self.held.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blocked_chord_is_swallowed_with_its_repeats_and_release() {
        let mut f = KeyFilter::new(&["Ctrl+Alt+Delete".into(), "Alt+F4".into()]);
        let ctrl_alt = [true, true, false, false];
        assert!(!f.swallow("ControlLeft", true, [true, false, false, false]));
        assert!(!f.swallow("AltLeft", true, ctrl_alt));
        assert!(f.swallow("Delete", true, ctrl_alt));
        assert!(f.swallow("Delete", true, ctrl_alt), "autorepeat");
        // Released after Ctrl: still the swallowed key's release.
        assert!(f.swallow("Delete", false, [false, true, false, false]));
        assert!(!f.swallow("AltLeft", false, [false, false, false, false]));
        // Delete alone, and F4 without Alt, go through.
        assert!(!f.swallow("Delete", true, [false; 4]));
        assert!(!f.swallow("Delete", false, [false; 4]));
        assert!(!f.swallow("F4", true, [false; 4]));
        assert!(f.swallow("F4", true, [false, true, false, false]));
        f.reset();
        assert!(!f.swallow("F4", false, [false; 4]));
        // No filter, nothing swallowed.
        assert!(!KeyFilter::default().swallow("Delete", true, ctrl_alt));
    }
}
