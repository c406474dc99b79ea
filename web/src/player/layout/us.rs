//! US English (ANSI QWERTY): the layout of a guest that was never told otherwise.

use super::{Entry, N, S};

/// Letters sit where their name says.
pub(super) fn letter(c: char) -> &'static str {
    super::us_letter(c)
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
    ('@', "Digit2", S),
    ('#', "Digit3", S),
    ('$', "Digit4", S),
    ('%', "Digit5", S),
    ('^', "Digit6", S),
    ('&', "Digit7", S),
    ('*', "Digit8", S),
    ('(', "Digit9", S),
    (')', "Digit0", S),
    ('-', "Minus", N),
    ('_', "Minus", S),
    ('=', "Equal", N),
    ('+', "Equal", S),
    ('[', "BracketLeft", N),
    ('{', "BracketLeft", S),
    (']', "BracketRight", N),
    ('}', "BracketRight", S),
    ('\\', "Backslash", N),
    ('|', "Backslash", S),
    (';', "Semicolon", N),
    (':', "Semicolon", S),
    ('\'', "Quote", N),
    ('"', "Quote", S),
    ('`', "Backquote", N),
    ('~', "Backquote", S),
    (',', "Comma", N),
    ('<', "Comma", S),
    ('.', "Period", N),
    ('>', "Period", S),
    ('/', "Slash", N),
    ('?', "Slash", S),
];
