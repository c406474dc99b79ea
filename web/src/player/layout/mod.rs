//! Keyboard layouts as data: for a character, the physical key (`KeyboardEvent.code`) and
//! the modifiers a person with that layout presses to type it. Pure, no DOM.
//!
//! The guest maps scancodes with its own layout setting, which the player cannot see; the
//! catalog says which one it is ([`Keymap`], `keymap = "de"` on the item). A German guest
//! turns the key right of T into `z`, so typing `z` for it means pressing `KeyY`.
//!
//! Each layout is a table of the characters it types off its letters (`us`, `de`, `fr`
//! modules): a key, Shift, AltGr (`AltRight`, which Windows and Linux both read as AltGr
//! on these layouts), and whether the key is dead (it waits for the next key; Space makes
//! it type itself). ASCII capitals are their letter with Shift. A character a layout has
//! no key for is `None`, so the caller can say so instead of sending a wrong one.

mod de;
mod fr;
mod us;

pub(crate) use olive_api::Keymap;

/// No modifier.
const N: u8 = 0;
/// Shift held.
const S: u8 = 1;
/// AltGr (AltRight) held.
const G: u8 = 2;
/// A dead key: followed by Space so it types itself.
const D: u8 = 4;

/// One row of a layout table: the character, its key and the modifier bits.
type Entry = (char, &'static str, u8);

/// What to press for one character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stroke {
    /// The physical key.
    pub(crate) code: &'static str,
    /// Shift is held around it.
    pub(crate) shift: bool,
    /// AltGr (`AltRight`) is held around it.
    pub(crate) altgr: bool,
    /// The key is dead on this layout: a Space follows, which makes it type itself.
    pub(crate) dead: bool,
}

impl Stroke {
    fn from_bits(code: &'static str, bits: u8) -> Stroke {
        Stroke {
            code,
            shift: bits & S != 0,
            altgr: bits & G != 0,
            dead: bits & D != 0,
        }
    }

    /// The key events, in order: modifiers down, the key down and up, modifiers up in
    /// reverse, then Space for a dead key. `(code, pressed)`.
    pub(crate) fn events(self) -> Vec<(&'static str, bool)> {
        let mods: Vec<&'static str> = [(self.shift, "ShiftLeft"), (self.altgr, "AltRight")]
            .into_iter()
            .filter_map(|(on, m)| on.then_some(m))
            .collect();
        let mut out: Vec<(&'static str, bool)> = mods.iter().map(|m| (*m, true)).collect();
        out.push((self.code, true));
        out.push((self.code, false));
        out.extend(mods.iter().rev().map(|m| (*m, false)));
        if self.dead {
            out.push(("Space", true));
            out.push(("Space", false));
        }
        out
    }
}

/// The key and modifiers that type `c` with `keymap`, or `None` when that layout has no
/// key for it.
pub(crate) fn stroke(keymap: Keymap, c: char) -> Option<Stroke> {
    let plain = |code| Some(Stroke::from_bits(code, N));
    match c {
        ' ' => return plain("Space"),
        '\n' | '\r' => return plain("Enter"),
        '\t' => return plain("Tab"),
        _ => {}
    }
    let (letters, table): (fn(char) -> &'static str, &[Entry]) = match keymap {
        Keymap::Us => (us::letter, us::TABLE),
        Keymap::De => (de::letter, de::TABLE),
        Keymap::Fr => (fr::letter, fr::TABLE),
    };
    if c.is_ascii_lowercase() {
        return plain(letters(c));
    }
    if c.is_ascii_uppercase() {
        return Some(Stroke::from_bits(letters(c.to_ascii_lowercase()), S));
    }
    table
        .iter()
        .find(|(t, _, _)| *t == c)
        .map(|(_, code, bits)| Stroke::from_bits(code, *bits))
}

/// The US position of a letter (`KeyA` for `a`): where QWERTY layouts keep it.
fn us_letter(c: char) -> &'static str {
    const LETTERS: [&str; 26] = [
        "KeyA", "KeyB", "KeyC", "KeyD", "KeyE", "KeyF", "KeyG", "KeyH", "KeyI", "KeyJ", "KeyK",
        "KeyL", "KeyM", "KeyN", "KeyO", "KeyP", "KeyQ", "KeyR", "KeyS", "KeyT", "KeyU", "KeyV",
        "KeyW", "KeyX", "KeyY", "KeyZ",
    ];
    LETTERS[usize::from((c as u8).wrapping_sub(b'a')) % 26]
}

#[cfg(test)]
mod tests;
