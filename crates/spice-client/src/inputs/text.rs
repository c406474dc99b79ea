//! Typing text as key presses, for tools and tests that "type" into a guest.
//!
//! Scancodes are physical keys, so text needs a layout to become keys; we use US ANSI,
//! the layout test guests and most preserved systems default to.

/// One key stroke: the `KeyboardEvent.code` of the key and whether Shift is held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stroke {
    pub code: &'static str,
    pub shift: bool,
}

const UNSHIFTED: &[(char, &str)] = &[
    ('`', "Backquote"),
    ('-', "Minus"),
    ('=', "Equal"),
    ('[', "BracketLeft"),
    (']', "BracketRight"),
    ('\\', "Backslash"),
    (';', "Semicolon"),
    ('\'', "Quote"),
    (',', "Comma"),
    ('.', "Period"),
    ('/', "Slash"),
    (' ', "Space"),
    ('\n', "Enter"),
    ('\t', "Tab"),
];

const SHIFTED: &[(char, &str)] = &[
    ('~', "Backquote"),
    ('!', "Digit1"),
    ('@', "Digit2"),
    ('#', "Digit3"),
    ('$', "Digit4"),
    ('%', "Digit5"),
    ('^', "Digit6"),
    ('&', "Digit7"),
    ('*', "Digit8"),
    ('(', "Digit9"),
    (')', "Digit0"),
    ('_', "Minus"),
    ('+', "Equal"),
    ('{', "BracketLeft"),
    ('}', "BracketRight"),
    ('|', "Backslash"),
    (':', "Semicolon"),
    ('"', "Quote"),
    ('<', "Comma"),
    ('>', "Period"),
    ('?', "Slash"),
];

const LETTERS: [&str; 26] = [
    "KeyA", "KeyB", "KeyC", "KeyD", "KeyE", "KeyF", "KeyG", "KeyH", "KeyI", "KeyJ", "KeyK", "KeyL",
    "KeyM", "KeyN", "KeyO", "KeyP", "KeyQ", "KeyR", "KeyS", "KeyT", "KeyU", "KeyV", "KeyW", "KeyX",
    "KeyY", "KeyZ",
];

const DIGITS: [&str; 10] = [
    "Digit0", "Digit1", "Digit2", "Digit3", "Digit4", "Digit5", "Digit6", "Digit7", "Digit8",
    "Digit9",
];

/// The key stroke that types `c` on a US keyboard, if there is one.
pub fn stroke_for_char(c: char) -> Option<Stroke> {
    if c.is_ascii_lowercase() {
        return Some(Stroke {
            code: LETTERS[(c as u8 - b'a') as usize],
            shift: false,
        });
    }
    if c.is_ascii_uppercase() {
        return Some(Stroke {
            code: LETTERS[(c as u8 - b'A') as usize],
            shift: true,
        });
    }
    if c.is_ascii_digit() {
        return Some(Stroke {
            code: DIGITS[(c as u8 - b'0') as usize],
            shift: false,
        });
    }
    let find = |table: &[(char, &'static str)], shift| {
        table
            .iter()
            .find(|(ch, _)| *ch == c)
            .map(|(_, code)| Stroke { code, shift })
    };
    find(UNSHIFTED, false).or_else(|| find(SHIFTED, true))
}

/// Strokes for a whole string; the first character without a key is the error.
pub fn strokes_for_text(text: &str) -> Result<Vec<Stroke>, char> {
    text.chars().map(|c| stroke_for_char(c).ok_or(c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::keymap::scancode_for_code;

    #[test]
    fn every_printable_ascii_char_has_a_mapped_key() {
        for c in (0x20u8..0x7f).map(char::from) {
            let s = stroke_for_char(c).unwrap_or_else(|| panic!("no stroke for {c:?}"));
            assert!(scancode_for_code(s.code).is_some(), "{} unmapped", s.code);
        }
    }

    #[test]
    fn shift_only_where_needed() {
        assert_eq!(
            strokes_for_text("aB:").unwrap(),
            vec![
                Stroke {
                    code: "KeyA",
                    shift: false
                },
                Stroke {
                    code: "KeyB",
                    shift: true
                },
                Stroke {
                    code: "Semicolon",
                    shift: true
                },
            ]
        );
        assert_eq!(strokes_for_text("é"), Err('é'));
    }
}
