//! German (T1, QWERTZ), as Windows and Linux (`de`) lay it out: Y and Z swapped, umlauts
//! right of P, L and Ö, brackets and braces on AltGr+7…0, `\` on AltGr+ß, `@` on AltGr+Q,
//! `|` on AltGr+< (the ISO key left of Y), `~` on AltGr++; `^` (left of 1) and `` ` ``
//! (Shift+´) are dead.

use super::{Entry, D, G, N, S};

/// QWERTZ: only Y and Z trade places.
pub(super) fn letter(c: char) -> &'static str {
    match c {
        'y' => "KeyZ",
        'z' => "KeyY",
        _ => super::us_letter(c),
    }
}

/// Everything but letters, Space, Enter and Tab.
pub(super) const TABLE: &[Entry] = &[
    ('1', "Digit1", N),
    ('2', "Digit2", N),
    ('3', "Digit3", N),
    ('4', "Digit4", N),
    ('5', "Digit5", N),
    ('6', "Digit6", N),
    ('7', "Digit7", N),
    ('8', "Digit8", N),
    ('9', "Digit9", N),
    ('0', "Digit0", N),
    ('!', "Digit1", S),
    ('"', "Digit2", S),
    ('§', "Digit3", S),
    ('$', "Digit4", S),
    ('%', "Digit5", S),
    ('&', "Digit6", S),
    ('/', "Digit7", S),
    ('(', "Digit8", S),
    (')', "Digit9", S),
    ('=', "Digit0", S),
    ('²', "Digit2", G),
    ('³', "Digit3", G),
    ('{', "Digit7", G),
    ('[', "Digit8", G),
    (']', "Digit9", G),
    ('}', "Digit0", G),
    ('ß', "Minus", N),
    ('?', "Minus", S),
    ('\\', "Minus", G),
    ('´', "Equal", D),
    ('`', "Equal", S | D),
    ('^', "Backquote", D),
    ('°', "Backquote", S),
    ('@', "KeyQ", G),
    ('€', "KeyE", G),
    ('µ', "KeyM", G),
    ('ü', "BracketLeft", N),
    ('Ü', "BracketLeft", S),
    ('+', "BracketRight", N),
    ('*', "BracketRight", S),
    ('~', "BracketRight", G),
    ('ö', "Semicolon", N),
    ('Ö', "Semicolon", S),
    ('ä', "Quote", N),
    ('Ä', "Quote", S),
    ('#', "Backslash", N),
    ('\'', "Backslash", S),
    ('<', "IntlBackslash", N),
    ('>', "IntlBackslash", S),
    ('|', "IntlBackslash", G),
    (',', "Comma", N),
    (';', "Comma", S),
    ('.', "Period", N),
    (':', "Period", S),
    ('-', "Slash", N),
    ('_', "Slash", S),
];
