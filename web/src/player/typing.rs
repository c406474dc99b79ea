//! Text to key presses, and the on-screen keyboard's sticky modifiers: pure logic.
//!
//! Phone keyboards send `keydown` events with `key = "Unidentified"` (keyCode 229) and no
//! usable `code`; what they typed only shows up in `beforeinput`/`input` as text. The
//! guest wants physical keys, so the text is typed back as the keys of a US layout
//! ([`keys_for_char`]): the guest's own layout setting decides what they mean, as for any
//! other key. Characters a US layout cannot type are skipped (and counted).

/// `(KeyboardEvent.code, shift)` that types `c` on a US layout.
pub(crate) fn keys_for_char(c: char) -> Option<(&'static str, bool)> {
    const LETTERS: [&str; 26] = [
        "KeyA", "KeyB", "KeyC", "KeyD", "KeyE", "KeyF", "KeyG", "KeyH", "KeyI", "KeyJ", "KeyK",
        "KeyL", "KeyM", "KeyN", "KeyO", "KeyP", "KeyQ", "KeyR", "KeyS", "KeyT", "KeyU", "KeyV",
        "KeyW", "KeyX", "KeyY", "KeyZ",
    ];
    const DIGITS: [&str; 10] = [
        "Digit0", "Digit1", "Digit2", "Digit3", "Digit4", "Digit5", "Digit6", "Digit7", "Digit8",
        "Digit9",
    ];
    if c.is_ascii_lowercase() {
        return Some((LETTERS[(c as u8 - b'a') as usize], false));
    }
    if c.is_ascii_uppercase() {
        return Some((LETTERS[(c as u8 - b'A') as usize], true));
    }
    if c.is_ascii_digit() {
        return Some((DIGITS[(c as u8 - b'0') as usize], false));
    }
    Some(match c {
        ' ' => ("Space", false),
        '\n' | '\r' => ("Enter", false),
        '\t' => ("Tab", false),
        '!' => ("Digit1", true),
        '@' => ("Digit2", true),
        '#' => ("Digit3", true),
        '$' => ("Digit4", true),
        '%' => ("Digit5", true),
        '^' => ("Digit6", true),
        '&' => ("Digit7", true),
        '*' => ("Digit8", true),
        '(' => ("Digit9", true),
        ')' => ("Digit0", true),
        '-' => ("Minus", false),
        '_' => ("Minus", true),
        '=' => ("Equal", false),
        '+' => ("Equal", true),
        '[' => ("BracketLeft", false),
        '{' => ("BracketLeft", true),
        ']' => ("BracketRight", false),
        '}' => ("BracketRight", true),
        '\\' => ("Backslash", false),
        '|' => ("Backslash", true),
        ';' => ("Semicolon", false),
        ':' => ("Semicolon", true),
        '\'' => ("Quote", false),
        '"' => ("Quote", true),
        '`' => ("Backquote", false),
        '~' => ("Backquote", true),
        ',' => ("Comma", false),
        '<' => ("Comma", true),
        '.' => ("Period", false),
        '>' => ("Period", true),
        '/' => ("Slash", false),
        '?' => ("Slash", true),
        _ => return None,
    })
}

/// Most characters one `input` event may turn into keys: a paste of a whole document
/// would otherwise queue minutes of typing.
pub(crate) const MAX_TEXT_CHARS: usize = 4096;

/// The key events (`code`, pressed) that type `text`, and how many characters were skipped
/// (not typeable on a US layout, or beyond [`MAX_TEXT_CHARS`]).
pub(crate) fn text_to_keys(text: &str) -> (Vec<(String, bool)>, usize) {
    let mut out = Vec::new();
    let mut skipped = 0;
    for (i, c) in text.chars().enumerate() {
        let Some((code, shift)) = keys_for_char(c).filter(|_| i < MAX_TEXT_CHARS) else {
            skipped += 1;
            continue;
        };
        if shift {
            out.push(("ShiftLeft".to_owned(), true));
        }
        out.push((code.to_owned(), true));
        out.push((code.to_owned(), false));
        if shift {
            out.push(("ShiftLeft".to_owned(), false));
        }
    }
    (out, skipped)
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
    fn characters_map_to_us_keys() {
        assert_eq!(keys_for_char('a'), Some(("KeyA", false)));
        assert_eq!(keys_for_char('Z'), Some(("KeyZ", true)));
        assert_eq!(keys_for_char('7'), Some(("Digit7", false)));
        assert_eq!(keys_for_char('>'), Some(("Period", true)));
        assert_eq!(keys_for_char('é'), None);
        // Every mapped code is a key the guest knows.
        for c in (' '..='~').chain(['\n', '\t']) {
            let (code, _) = keys_for_char(c).unwrap();
            assert!(
                spice_client::inputs::keymap::scancode_for_code(code).is_some(),
                "{c:?} → {code}"
            );
        }
    }

    #[test]
    fn text_becomes_presses() {
        let (k, skipped) = text_to_keys("aB é");
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
            ])
        );
        assert_eq!(skipped, 1);
        let long = "x".repeat(MAX_TEXT_CHARS + 10);
        let (k, skipped) = text_to_keys(&long);
        assert_eq!(k.len(), MAX_TEXT_CHARS * 2);
        assert_eq!(skipped, 10);
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
