//! French (AZERTY), as Windows and Linux (`fr`) lay it out: A/Q and Z/W swapped, M right of
//! L, the digits on Shift (the unshifted row is `& é " ' ( - è _ ç à`), `@ # { [ | \ ] }`
//! and `` ` `` `~` on AltGr. `^` and `¨` (right of P) are dead; so are AltGr+2 (`~`) and
//! AltGr+7 (`` ` ``), as on Windows, the systems agentless guests mostly run.

use super::{Entry, D, G, N, S};

/// AZERTY: A/Q and Z/W trade places, M moves right of L (where US has `;`).
pub(super) fn letter(c: char) -> &'static str {
    match c {
        'a' => "KeyQ",
        'q' => "KeyA",
        'z' => "KeyW",
        'w' => "KeyZ",
        'm' => "Semicolon",
        _ => super::us_letter(c),
    }
}

/// Everything but letters, Space, Enter and Tab.
pub(super) const TABLE: &[Entry] = &[
    ('&', "Digit1", N),
    ('é', "Digit2", N),
    ('"', "Digit3", N),
    ('\'', "Digit4", N),
    ('(', "Digit5", N),
    ('-', "Digit6", N),
    ('è', "Digit7", N),
    ('_', "Digit8", N),
    ('ç', "Digit9", N),
    ('à', "Digit0", N),
    ('1', "Digit1", S),
    ('2', "Digit2", S),
    ('3', "Digit3", S),
    ('4', "Digit4", S),
    ('5', "Digit5", S),
    ('6', "Digit6", S),
    ('7', "Digit7", S),
    ('8', "Digit8", S),
    ('9', "Digit9", S),
    ('0', "Digit0", S),
    ('~', "Digit2", G | D),
    ('#', "Digit3", G),
    ('{', "Digit4", G),
    ('[', "Digit5", G),
    ('|', "Digit6", G),
    ('`', "Digit7", G | D),
    ('\\', "Digit8", G),
    ('@', "Digit0", G),
    (')', "Minus", N),
    ('°', "Minus", S),
    (']', "Minus", G),
    ('=', "Equal", N),
    ('+', "Equal", S),
    ('}', "Equal", G),
    ('²', "Backquote", N),
    ('€', "KeyE", G),
    ('^', "BracketLeft", D),
    ('¨', "BracketLeft", S | D),
    ('$', "BracketRight", N),
    ('£', "BracketRight", S),
    ('¤', "BracketRight", G),
    ('ù', "Quote", N),
    ('%', "Quote", S),
    ('*', "Backslash", N),
    ('µ', "Backslash", S),
    ('<', "IntlBackslash", N),
    ('>', "IntlBackslash", S),
    (',', "KeyM", N),
    ('?', "KeyM", S),
    (';', "Comma", N),
    ('.', "Comma", S),
    (':', "Period", N),
    ('/', "Period", S),
    ('!', "Slash", N),
    ('§', "Slash", S),
];
