use std::collections::HashMap;

use super::*;

fn s(code: &'static str, shift: bool, altgr: bool, dead: bool) -> Option<Stroke> {
    Some(Stroke {
        code,
        shift,
        altgr,
        dead,
    })
}

#[test]
fn every_printable_ascii_character_has_one_key_of_its_own() {
    for k in Keymap::ALL {
        let mut seen: HashMap<(&str, bool, bool), char> = HashMap::new();
        for c in (' '..='~').chain(['\n', '\t']) {
            let st = stroke(k, c).unwrap_or_else(|| panic!("{k:?} cannot type {c:?}"));
            for (code, _) in st.events() {
                assert!(
                    spice_client::inputs::keymap::scancode_for_code(code).is_some(),
                    "{k:?} {c:?} → {code}"
                );
            }
            // One key and level types one character, so no two may share it.
            if let Some(other) = seen.insert((st.code, st.shift, st.altgr), c) {
                panic!("{k:?}: {c:?} and {other:?} are both {st:?}");
            }
        }
    }
}

#[test]
fn the_tables_hold_no_character_twice_and_no_letters() {
    for (name, table) in [("us", us::TABLE), ("de", de::TABLE), ("fr", fr::TABLE)] {
        let mut chars: Vec<char> = table.iter().map(|e| e.0).collect();
        assert!(!chars.iter().any(char::is_ascii_alphabetic), "{name}");
        chars.sort_unstable();
        let n = chars.len();
        chars.dedup();
        assert_eq!(chars.len(), n, "{name} lists a character twice");
    }
}

#[test]
fn us_keys() {
    let k = Keymap::Us;
    assert_eq!(stroke(k, 'a'), s("KeyA", false, false, false));
    assert_eq!(stroke(k, 'Z'), s("KeyZ", true, false, false));
    assert_eq!(stroke(k, '7'), s("Digit7", false, false, false));
    assert_eq!(stroke(k, '~'), s("Backquote", true, false, false));
    assert_eq!(stroke(k, '>'), s("Period", true, false, false));
    assert_eq!(stroke(k, '\n'), s("Enter", false, false, false));
    assert_eq!(stroke(k, 'é'), None);
    assert_eq!(stroke(k, 'ß'), None);
}

#[test]
fn german_keys() {
    let k = Keymap::De;
    assert_eq!(stroke(k, 'z'), s("KeyY", false, false, false));
    assert_eq!(stroke(k, 'Y'), s("KeyZ", true, false, false));
    assert_eq!(stroke(k, '@'), s("KeyQ", false, true, false));
    assert_eq!(stroke(k, '{'), s("Digit7", false, true, false));
    assert_eq!(stroke(k, '['), s("Digit8", false, true, false));
    assert_eq!(stroke(k, ']'), s("Digit9", false, true, false));
    assert_eq!(stroke(k, '}'), s("Digit0", false, true, false));
    assert_eq!(stroke(k, '\\'), s("Minus", false, true, false));
    assert_eq!(stroke(k, '|'), s("IntlBackslash", false, true, false));
    assert_eq!(stroke(k, '~'), s("BracketRight", false, true, false));
    assert_eq!(stroke(k, '^'), s("Backquote", false, false, true));
    assert_eq!(stroke(k, '`'), s("Equal", true, false, true));
    assert_eq!(stroke(k, '/'), s("Digit7", true, false, false));
    assert_eq!(stroke(k, '-'), s("Slash", false, false, false));
    assert_eq!(stroke(k, '#'), s("Backslash", false, false, false));
    assert_eq!(stroke(k, 'ß'), s("Minus", false, false, false));
    assert_eq!(stroke(k, 'Ä'), s("Quote", true, false, false));
    assert_eq!(stroke(k, 'é'), None);
}

#[test]
fn french_keys() {
    let k = Keymap::Fr;
    assert_eq!(stroke(k, 'a'), s("KeyQ", false, false, false));
    assert_eq!(stroke(k, 'Q'), s("KeyA", true, false, false));
    assert_eq!(stroke(k, 'w'), s("KeyZ", false, false, false));
    assert_eq!(stroke(k, 'z'), s("KeyW", false, false, false));
    assert_eq!(stroke(k, 'm'), s("Semicolon", false, false, false));
    assert_eq!(stroke(k, '1'), s("Digit1", true, false, false));
    assert_eq!(stroke(k, '0'), s("Digit0", true, false, false));
    assert_eq!(stroke(k, '&'), s("Digit1", false, false, false));
    assert_eq!(stroke(k, 'é'), s("Digit2", false, false, false));
    assert_eq!(stroke(k, '@'), s("Digit0", false, true, false));
    assert_eq!(stroke(k, ','), s("KeyM", false, false, false));
    assert_eq!(stroke(k, '.'), s("Comma", true, false, false));
    assert_eq!(stroke(k, '^'), s("BracketLeft", false, false, true));
    assert_eq!(stroke(k, '~'), s("Digit2", false, true, true));
    assert_eq!(stroke(k, 'ß'), None);
}

#[test]
fn events_hold_modifiers_around_the_key_and_follow_a_dead_key_with_space() {
    assert_eq!(
        stroke(Keymap::Us, 'a').unwrap().events(),
        [("KeyA", true), ("KeyA", false)]
    );
    assert_eq!(
        stroke(Keymap::Fr, '~').unwrap().events(),
        [
            ("AltRight", true),
            ("Digit2", true),
            ("Digit2", false),
            ("AltRight", false),
            ("Space", true),
            ("Space", false),
        ]
    );
    assert_eq!(
        stroke(Keymap::De, '`').unwrap().events(),
        [
            ("ShiftLeft", true),
            ("Equal", true),
            ("Equal", false),
            ("ShiftLeft", false),
            ("Space", true),
            ("Space", false),
        ]
    );
}
