//! `KeyboardEvent.code` → PC XT scancode set 1, as carried by the SPICE inputs
//! channel (`KEY_DOWN` / `KEY_UP` `{u32 code}`).
//!
//! # Wire encoding
//!
//! spice-server walks the `u32` from its **low byte** upwards, stopping at the
//! first `0` byte, and pushes every byte to the guest keyboard. Hence:
//!
//! | key kind             | press                | release                        |
//! |----------------------|----------------------|--------------------------------|
//! | normal (`sc`)        | `sc`                 | `sc \| 0x80`                   |
//! | extended (`E0 sc`)   | `0xE0 \| sc << 8`    | `0xE0 \| (sc \| 0x80) << 8`    |
//!
//! e.g. `KeyA` = `0x1E` / `0x9E`, `ArrowUp` = `0x48E0` / `0xC8E0` (the same
//! values spice-gtk sends).
//!
//! # Where the values come from
//!
//! The server in practice is QEMU. Its `ui/spice-input.c` turns the byte
//! stream back into a "qnum" (`sc & 0x7f`, `| 0x80` after an `E0` prefix, the
//! byte's own `0x80` bit meaning "release") and looks that up in the table
//! generated from keycodemapdb's `AT set1 keycode` column
//! (`qemu_input_map_qnum_to_qcode`). A scancode QEMU has no qnum entry for is
//! silently dropped, so every value below is the keycodemapdb / Linux atkbd
//! set-1 value (which is also Microsoft's "Keyboard Scan Code Specification"
//! for every key of the 104/105/106/107-key layouts and the media keys). The
//! places where sources disagree are called out:
//!
//! * **F13–F24.** Microsoft's table puts them at `64 65 66 67 68 69 6A 6B 6C
//!   6D 6E 76`. QEMU/keycodemapdb (and Linux's atkbd, whose default table is
//!   where keycodemapdb's set-1 column comes from) use `F13 5D, F14 5E,
//!   F15 5F, F16 55, F17 E0 03, F18 E0 77, F19 E0 04, F20 5A, F21 74,
//!   F22 E0 79, F23 6D, F24 6F`. In QEMU the Microsoft values would be
//!   *misread*: qnum `0x64` is `KEY_OPEN`, `0x65` `KEY_PASTE`, `0x67`
//!   `KEY_FILE`, ... so we use the keycodemapdb values. (QEMU's PS/2 model has
//!   no set-2 code for F16–F24, so on a PS/2 guest those keys are lost whatever
//!   we send; usb-kbd / virtio-keyboard guests get them.)
//! * **Lang1 / Lang2** (Korean Hangul / Hanja, Japanese Mac Kana / Eisu).
//!   Hardware sends the single byte `F2` / `F1` on press and *nothing* on
//!   release. That byte has the "release" bit set, so QEMU's spice-input would
//!   read it as a release of `0x72` / `0x71`, and keycodemapdb deliberately
//!   gives these keys qnum `0x72` / `0x71` (`HANJA_HANGEUL_KEYS`). We therefore
//!   store `code: 0x72` / `0x71`: press sends `0x72` (qnum 0x72 down → qcode
//!   `lang1` → QEMU's PS/2 model emits the real `F2`), release sends `0xF2`
//!   (which QEMU's PS/2 model ignores for these keys, as hardware has no break
//!   code). See [`HANGEUL_HANJA_RAW`].
//! * **Pause** is `E1 1D 45 E1 9D C5` on hardware (press only, no release).
//!   We encode it as the extended key `E0 46` (press `0x46E0`, release
//!   `0xC6E0`) because that is Pause's qnum in QEMU (keycodemapdb
//!   `KEY_PAUSE` = `0xe046`, qnum `0xC6`): every QEMU with the keycodemapdb
//!   tables maps it to qcode `pause`, and its PS/2 model then emits the full
//!   `E1 ...` sequence (or the Ctrl+Break sequence `E0 46 E0 C6` when Ctrl is
//!   held, which is exactly what `E0 46` means on hardware). The 6-byte
//!   sequence *can* be sent with `KEY_SCANCODE` ([`PAUSE_RAW_PRESS`]), but
//!   only newer QEMU (`kbd_push_key` with a `pauseseq` matcher) understands
//!   `E1`; older versions turn each byte into a bogus key event
//!   (`E1` → release of qnum 0x61). A 3-byte `KEY_DOWN` of `0x451DE1` would be
//!   walked byte by byte as `E1 1D 45` and leave QEMU's matcher half-way, so
//!   it is not used either.
//! * **PrintScreen** is `E0 37` (what a 101-key board sends without
//!   modifiers, after the fake-shift `E0 2A` which we do not send). QEMU maps
//!   qnum `0xB7` to `KEY_SYSRQ` (keycodemapdb keeps it as an explicit alias of
//!   the Alt+SysRq code `0x54`), and its PS/2 model regenerates the full
//!   sequence.
//! * **IntlRo** (`0x73`) is both the Japanese `\ _ ろ` key and the Brazilian
//!   ABNT `/ ?` key; **NumpadComma** (`0x7E`) is the ABNT keypad `.` key
//!   (`KEY_KPCOMMA`). Japanese keypad comma (`KEY_KPJPCOMMA`, `0x5C`) has no
//!   `KeyboardEvent.code` of its own.
//!
//! Aliases (the only pairs of names that share a scancode): `OSLeft` =
//! `MetaLeft`, `OSRight` = `MetaRight` (Firefox < 118), `VolumeMute` /
//! `VolumeDown` / `VolumeUp` = `AudioVolume*` (older Chrome/Firefox); see
//! [`ALIASES`].
//!
//! No dependencies beyond `core`; compiles for wasm32.

/// Caps/Num/Scroll lock LED bits of `KEY_MODIFIERS` / inputs `INIT`.
pub const LED_SCROLL: u16 = 1;
/// See [`LED_SCROLL`].
pub const LED_NUM: u16 = 2;
/// See [`LED_SCROLL`].
pub const LED_CAPS: u16 = 4;

/// The `E0` prefix byte of extended set-1 scancodes.
pub const EXTENDED_PREFIX: u8 = 0xE0;

/// The hardware set-1 Pause sequence (`E1 1D 45 E1 9D C5`), sent on press
/// only; Pause has no break code. For `KEY_SCANCODE` to servers whose keyboard
/// understands the `E1` prefix (newer QEMU does). [`scancode_for_code`]`("Pause")`
/// returns the `E0 46` form instead; see the module docs.
pub const PAUSE_RAW_PRESS: &[u8] = &[0xE1, 0x1D, 0x45, 0xE1, 0x9D, 0xC5];

/// The hardware bytes of Lang1 (Hangul, `F2`) and Lang2 (Hanja, `F1`): a
/// single byte on press, nothing on release. For servers other than QEMU
/// that take raw bytes via `KEY_SCANCODE`; see the module docs for why the
/// table stores `0x72` / `0x71`.
pub const HANGEUL_HANJA_RAW: [(&str, u8); 2] = [("Lang1", 0xF2), ("Lang2", 0xF1)];

/// A set-1 scancode: `code` is the make byte without the release bit,
/// `extended` means it is preceded by `E0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Scancode {
    pub code: u8,
    pub extended: bool,
}

impl Scancode {
    /// A normal (un-prefixed) scancode.
    pub const fn normal(code: u8) -> Self {
        Scancode {
            code,
            extended: false,
        }
    }

    /// An `E0`-prefixed scancode.
    pub const fn ext(code: u8) -> Self {
        Scancode {
            code,
            extended: true,
        }
    }

    /// The `KEY_DOWN` `code`: `sc`, or `0xE0 | sc << 8` for extended keys.
    pub const fn press(self) -> u32 {
        let sc = (self.code & 0x7F) as u32;
        if self.extended {
            EXTENDED_PREFIX as u32 | (sc << 8)
        } else {
            sc
        }
    }

    /// The `KEY_UP` `code`: `sc | 0x80`, or `0xE0 | (sc | 0x80) << 8`.
    pub const fn release(self) -> u32 {
        let sc = (self.code | 0x80) as u32;
        if self.extended {
            EXTENDED_PREFIX as u32 | (sc << 8)
        } else {
            sc
        }
    }

    /// The bytes `press()` puts on the guest keyboard, in order.
    pub fn press_bytes(self) -> ([u8; 2], usize) {
        if self.extended {
            ([EXTENDED_PREFIX, self.code & 0x7F], 2)
        } else {
            ([self.code & 0x7F, 0], 1)
        }
    }
}

const fn n(code: u8) -> Scancode {
    Scancode::normal(code)
}
const fn e(code: u8) -> Scancode {
    Scancode::ext(code)
}

/// The whole table: `KeyboardEvent.code` → set-1 scancode.
///
/// Order: the 104-key ANSI block, IntlBackslash, aliases, then extras
/// (F13–F24, Japanese/Korean/Brazilian keys, media/browser/system keys).
pub const TABLE: &[(&str, Scancode)] = &[
    // --- Function row -----------------------------------------------------
    ("Escape", n(0x01)),
    ("F1", n(0x3B)),
    ("F2", n(0x3C)),
    ("F3", n(0x3D)),
    ("F4", n(0x3E)),
    ("F5", n(0x3F)),
    ("F6", n(0x40)),
    ("F7", n(0x41)),
    ("F8", n(0x42)),
    ("F9", n(0x43)),
    ("F10", n(0x44)),
    ("F11", n(0x57)),
    ("F12", n(0x58)),
    ("PrintScreen", e(0x37)),
    ("ScrollLock", n(0x46)),
    ("Pause", e(0x46)), // special: see module docs
    // --- Number row -------------------------------------------------------
    ("Backquote", n(0x29)),
    ("Digit1", n(0x02)),
    ("Digit2", n(0x03)),
    ("Digit3", n(0x04)),
    ("Digit4", n(0x05)),
    ("Digit5", n(0x06)),
    ("Digit6", n(0x07)),
    ("Digit7", n(0x08)),
    ("Digit8", n(0x09)),
    ("Digit9", n(0x0A)),
    ("Digit0", n(0x0B)),
    ("Minus", n(0x0C)),
    ("Equal", n(0x0D)),
    ("Backspace", n(0x0E)),
    // --- Top letter row ---------------------------------------------------
    ("Tab", n(0x0F)),
    ("KeyQ", n(0x10)),
    ("KeyW", n(0x11)),
    ("KeyE", n(0x12)),
    ("KeyR", n(0x13)),
    ("KeyT", n(0x14)),
    ("KeyY", n(0x15)),
    ("KeyU", n(0x16)),
    ("KeyI", n(0x17)),
    ("KeyO", n(0x18)),
    ("KeyP", n(0x19)),
    ("BracketLeft", n(0x1A)),
    ("BracketRight", n(0x1B)),
    ("Backslash", n(0x2B)), // ANSI: above Enter; ISO: the #~ key left of Enter
    // --- Home row ---------------------------------------------------------
    ("CapsLock", n(0x3A)),
    ("KeyA", n(0x1E)),
    ("KeyS", n(0x1F)),
    ("KeyD", n(0x20)),
    ("KeyF", n(0x21)),
    ("KeyG", n(0x22)),
    ("KeyH", n(0x23)),
    ("KeyJ", n(0x24)),
    ("KeyK", n(0x25)),
    ("KeyL", n(0x26)),
    ("Semicolon", n(0x27)),
    ("Quote", n(0x28)),
    ("Enter", n(0x1C)),
    // --- Bottom letter row ------------------------------------------------
    ("ShiftLeft", n(0x2A)),
    ("KeyZ", n(0x2C)),
    ("KeyX", n(0x2D)),
    ("KeyC", n(0x2E)),
    ("KeyV", n(0x2F)),
    ("KeyB", n(0x30)),
    ("KeyN", n(0x31)),
    ("KeyM", n(0x32)),
    ("Comma", n(0x33)),
    ("Period", n(0x34)),
    ("Slash", n(0x35)),
    ("ShiftRight", n(0x36)),
    // --- Space row --------------------------------------------------------
    ("ControlLeft", n(0x1D)),
    ("MetaLeft", e(0x5B)),
    ("AltLeft", n(0x38)),
    ("Space", n(0x39)),
    ("AltRight", e(0x38)),
    ("MetaRight", e(0x5C)),
    ("ContextMenu", e(0x5D)),
    ("ControlRight", e(0x1D)),
    // --- Editing / navigation block ---------------------------------------
    ("Insert", e(0x52)),
    ("Home", e(0x47)),
    ("PageUp", e(0x49)),
    ("Delete", e(0x53)),
    ("End", e(0x4F)),
    ("PageDown", e(0x51)),
    ("ArrowUp", e(0x48)),
    ("ArrowLeft", e(0x4B)),
    ("ArrowDown", e(0x50)),
    ("ArrowRight", e(0x4D)),
    // --- Numeric keypad ---------------------------------------------------
    ("NumLock", n(0x45)),
    ("NumpadDivide", e(0x35)),
    ("NumpadMultiply", n(0x37)),
    ("NumpadSubtract", n(0x4A)),
    ("Numpad7", n(0x47)),
    ("Numpad8", n(0x48)),
    ("Numpad9", n(0x49)),
    ("NumpadAdd", n(0x4E)),
    ("Numpad4", n(0x4B)),
    ("Numpad5", n(0x4C)),
    ("Numpad6", n(0x4D)),
    ("Numpad1", n(0x4F)),
    ("Numpad2", n(0x50)),
    ("Numpad3", n(0x51)),
    ("NumpadEnter", e(0x1C)),
    ("Numpad0", n(0x52)),
    ("NumpadDecimal", n(0x53)),
    // --- ISO 105th key ----------------------------------------------------
    ("IntlBackslash", n(0x56)),
    // --- Aliases (same physical key as an entry above) --------------------
    ("OSLeft", e(0x5B)),
    ("OSRight", e(0x5C)),
    ("VolumeMute", e(0x20)),
    ("VolumeDown", e(0x2E)),
    ("VolumeUp", e(0x30)),
    // --- F13–F24 (keycodemapdb / QEMU qnum values, not Microsoft's) -------
    ("F13", n(0x5D)),
    ("F14", n(0x5E)),
    ("F15", n(0x5F)),
    ("F16", n(0x55)),
    ("F17", e(0x03)),
    ("F18", e(0x77)),
    ("F19", e(0x04)),
    ("F20", n(0x5A)),
    ("F21", n(0x74)),
    ("F22", e(0x79)),
    ("F23", n(0x6D)),
    ("F24", n(0x6F)),
    // --- Extra keypad keys ------------------------------------------------
    ("NumpadEqual", n(0x59)),
    ("NumpadComma", n(0x7E)), // ABNT keypad '.', KEY_KPCOMMA
    // --- Japanese (JIS 106/109) / Brazilian (ABNT2) / Korean --------------
    ("IntlRo", n(0x73)),     // JIS \_ro, ABNT /?
    ("IntlYen", n(0x7D)),    // JIS yen
    ("KanaMode", n(0x70)),   // JIS katakana/hiragana/romaji
    ("Convert", n(0x79)),    // JIS henkan
    ("NonConvert", n(0x7B)), // JIS muhenkan
    ("Lang1", n(0x72)),      // Hangul / Kana: hardware F2, see module docs
    ("Lang2", n(0x71)),      // Hanja / Eisu: hardware F1, see module docs
    ("Lang3", n(0x78)),      // Katakana
    ("Lang4", n(0x77)),      // Hiragana
    ("Lang5", n(0x76)),      // Zenkaku/Hankaku
    // --- Media / browser / system keys (all E0-prefixed) ------------------
    ("AudioVolumeMute", e(0x20)),
    ("AudioVolumeDown", e(0x2E)),
    ("AudioVolumeUp", e(0x30)),
    ("MediaTrackNext", e(0x19)),
    ("MediaTrackPrevious", e(0x10)),
    ("MediaStop", e(0x24)),
    ("MediaPlayPause", e(0x22)),
    ("LaunchMail", e(0x6C)),
    ("MediaSelect", e(0x6D)),
    ("LaunchApp1", e(0x6B)),
    ("LaunchApp2", e(0x21)),
    ("BrowserSearch", e(0x65)),
    ("BrowserHome", e(0x32)),
    ("BrowserBack", e(0x6A)),
    ("BrowserForward", e(0x69)),
    ("BrowserStop", e(0x68)),
    ("BrowserRefresh", e(0x67)),
    ("BrowserFavorites", e(0x66)),
    ("Power", e(0x5E)),
    ("Sleep", e(0x5F)),
    ("WakeUp", e(0x63)),
];

/// Names that share a scancode with another entry: `(alias, canonical)`.
pub const ALIASES: &[(&str, &str)] = &[
    ("OSLeft", "MetaLeft"),
    ("OSRight", "MetaRight"),
    ("VolumeMute", "AudioVolumeMute"),
    ("VolumeDown", "AudioVolumeDown"),
    ("VolumeUp", "AudioVolumeUp"),
];

const TABLE_LEN: usize = TABLE.len();

/// Every `KeyboardEvent.code` name in [`TABLE`], in table order.
pub const ALL_CODES: &[&str] = &{
    let mut names = [""; TABLE_LEN];
    let mut i = 0;
    while i < TABLE_LEN {
        names[i] = TABLE[i].0;
        i += 1;
    }
    names
};

/// Exactly the 105 keys of a full-size ISO keyboard: the 104 ANSI keys plus
/// `IntlBackslash` (the `<>|` key between left Shift and Z).
///
/// ANSI 104 = the IBM 101-key layout (Escape, F1–F12, PrintScreen,
/// ScrollLock, Pause; 47 typing keys incl. Backquote..Backspace, Tab,
/// BracketLeft/Right, Backslash, CapsLock, Semicolon, Quote, Enter,
/// Shift×2, Comma, Period, Slash, Space; Control×2, Alt×2; the 6 editing keys
/// and 4 arrows; the 17-key numeric pad) + MetaLeft, MetaRight, ContextMenu.
/// On ISO boards the key left of Enter reports `Backslash` (UI Events code
/// spec), so the ISO set is ANSI + `IntlBackslash` with no renames.
#[rustfmt::skip]
pub const ISO_105: &[&str] = &[
    // function row (16)
    "Escape", "F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "F10", "F11", "F12",
    "PrintScreen", "ScrollLock", "Pause",
    // number row (14)
    "Backquote", "Digit1", "Digit2", "Digit3", "Digit4", "Digit5", "Digit6", "Digit7", "Digit8",
    "Digit9", "Digit0", "Minus", "Equal", "Backspace",
    // top row (14)
    "Tab", "KeyQ", "KeyW", "KeyE", "KeyR", "KeyT", "KeyY", "KeyU", "KeyI", "KeyO", "KeyP",
    "BracketLeft", "BracketRight", "Backslash",
    // home row (13)
    "CapsLock", "KeyA", "KeyS", "KeyD", "KeyF", "KeyG", "KeyH", "KeyJ", "KeyK", "KeyL",
    "Semicolon", "Quote", "Enter",
    // bottom row (12 + IntlBackslash)
    "ShiftLeft", "IntlBackslash", "KeyZ", "KeyX", "KeyC", "KeyV", "KeyB", "KeyN", "KeyM",
    "Comma", "Period", "Slash", "ShiftRight",
    // space row (8)
    "ControlLeft", "MetaLeft", "AltLeft", "Space", "AltRight", "MetaRight", "ContextMenu",
    "ControlRight",
    // editing block (6) + arrows (4)
    "Insert", "Home", "PageUp", "Delete", "End", "PageDown",
    "ArrowUp", "ArrowLeft", "ArrowDown", "ArrowRight",
    // numeric keypad (17)
    "NumLock", "NumpadDivide", "NumpadMultiply", "NumpadSubtract",
    "Numpad7", "Numpad8", "Numpad9", "NumpadAdd",
    "Numpad4", "Numpad5", "Numpad6",
    "Numpad1", "Numpad2", "Numpad3", "NumpadEnter",
    "Numpad0", "NumpadDecimal",
];

/// The set-1 scancode for a `KeyboardEvent.code` value, or `None` for codes
/// with no PC scancode (`Fn`, `Unidentified`, `""`, ...).
pub fn scancode_for_code(code: &str) -> Option<Scancode> {
    TABLE
        .iter()
        .find(|(name, _)| *name == code)
        .map(|&(_, sc)| sc)
}

/// The `KeyboardEvent.code` for a scancode (canonical name, never an alias).
pub fn code_for_scancode(sc: Scancode) -> Option<&'static str> {
    TABLE
        .iter()
        .find(|(name, s)| *s == sc && !ALIASES.iter().any(|(a, _)| a == name))
        .map(|&(name, _)| name)
}

/// Which lock LEDs a `KeyboardEvent.getModifierState()` snapshot implies, as
/// the `u16` of `KEY_MODIFIERS`.
pub fn lock_state(caps: bool, num: bool, scroll: bool) -> u16 {
    (if caps { LED_CAPS } else { 0 })
        | (if num { LED_NUM } else { 0 })
        | (if scroll { LED_SCROLL } else { 0 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    fn sc(code: &str) -> Scancode {
        scancode_for_code(code).unwrap_or_else(|| panic!("{code} unmapped"))
    }

    #[test]
    fn encoding_examples() {
        assert_eq!(sc("KeyA").press(), 0x1E);
        assert_eq!(sc("KeyA").release(), 0x9E);
        assert_eq!(sc("ArrowUp").press(), 0x48E0);
        assert_eq!(sc("ArrowUp").release(), 0xC8E0);
        assert_eq!(sc("Escape").press(), 0x01);
        assert_eq!(sc("Escape").release(), 0x81);
        assert_eq!(sc("NumpadEnter").press(), 0x1CE0);
        assert_eq!(sc("NumpadEnter").release(), 0x9CE0);
        assert_eq!(sc("NumpadDivide").press(), 0x35E0);
        assert_eq!(sc("ControlRight").release(), 0x9DE0);
        assert_eq!(sc("MetaLeft").press(), 0x5BE0);
        assert_eq!(sc("PrintScreen").press(), 0x37E0);
        assert_eq!(sc("IntlBackslash").press(), 0x56);
        assert_eq!(sc("IntlRo").press(), 0x73);
        assert_eq!(sc("IntlYen").press(), 0x7D);
        assert_eq!(sc("NumpadComma").press(), 0x7E);
        assert_eq!(sc("AudioVolumeMute").press(), 0x20E0);
        assert_eq!(sc("Power").press(), 0x5EE0);
        assert_eq!(sc("KeyA").press_bytes(), ([0x1E, 0], 1));
        assert_eq!(sc("ArrowUp").press_bytes(), ([0xE0, 0x48], 2));
    }

    #[test]
    fn pause_and_lang_special_cases() {
        // Pause = E0 46 (QEMU qnum 0xC6), distinct from ScrollLock = 46.
        assert_eq!(sc("Pause"), Scancode::ext(0x46));
        assert_eq!(sc("Pause").press(), 0x46E0);
        assert_eq!(sc("Pause").release(), 0xC6E0);
        assert_eq!(sc("ScrollLock").press(), 0x46);
        assert_eq!(PAUSE_RAW_PRESS, &[0xE1, 0x1D, 0x45, 0xE1, 0x9D, 0xC5]);
        // Lang1/Lang2: make 0x72/0x71, "break" byte is the hardware F2/F1.
        assert_eq!(sc("Lang1").press(), 0x72);
        assert_eq!(sc("Lang1").release(), 0xF2);
        assert_eq!(sc("Lang2").press(), 0x71);
        assert_eq!(sc("Lang2").release(), 0xF1);
        for (name, raw) in HANGEUL_HANJA_RAW {
            assert_eq!(sc(name).release(), raw as u32);
        }
    }

    #[test]
    fn wire_codes_never_contain_a_zero_byte_before_the_end() {
        // The server stops at the first 0 byte: a press must be non-zero in
        // its low byte and, for extended keys, in its second byte.
        for &(name, s) in TABLE {
            for v in [s.press(), s.release()] {
                let bytes = v.to_le_bytes();
                let len = if s.extended { 2 } else { 1 };
                assert!(bytes[..len].iter().all(|&b| b != 0), "{name}: {v:#x}");
                assert!(bytes[len..].iter().all(|&b| b == 0), "{name}: {v:#x}");
            }
            assert!(s.code & 0x80 == 0, "{name}: make code has the release bit");
            assert!(s.code != 0, "{name}: zero scancode");
            if !s.extended {
                assert!(s.code != 0x60 && s.code != 0x61, "{name}: E0/E1 collide");
            }
        }
    }

    #[test]
    fn names_unique_and_all_codes_matches_table() {
        let mut seen = HashSet::new();
        for name in ALL_CODES {
            assert!(seen.insert(*name), "duplicate name {name}");
            assert!(scancode_for_code(name).is_some());
        }
        assert_eq!(ALL_CODES.len(), TABLE.len());
        for (i, (name, _)) in TABLE.iter().enumerate() {
            assert_eq!(ALL_CODES[i], *name);
        }
    }

    #[test]
    fn no_duplicate_scancodes_except_aliases() {
        let alias: HashMap<&str, &str> = ALIASES.iter().copied().collect();
        let mut by_sc: HashMap<Scancode, &str> = HashMap::new();
        for &(name, s) in TABLE {
            if let Some(canon) = alias.get(name) {
                assert_eq!(sc(canon), s, "alias {name} != {canon}");
                continue;
            }
            if let Some(prev) = by_sc.insert(s, name) {
                panic!("{name} and {prev} share {s:?}");
            }
        }
        for (a, c) in ALIASES {
            assert!(!alias.contains_key(c), "{c} is itself an alias");
            assert_eq!(code_for_scancode(sc(a)), Some(*c));
        }
    }

    #[test]
    fn iso_105_is_complete_and_mapped() {
        assert_eq!(ISO_105.len(), 105);
        let set: HashSet<&str> = ISO_105.iter().copied().collect();
        assert_eq!(set.len(), 105);
        let scs: HashSet<Scancode> = ISO_105.iter().map(|c| sc(c)).collect();
        assert_eq!(scs.len(), 105, "two ISO keys share a scancode");
        assert!(set.contains("IntlBackslash"));
        // ANSI 104 = ISO 105 minus IntlBackslash.
        assert_eq!(
            ISO_105.iter().filter(|c| **c != "IntlBackslash").count(),
            104
        );
        for alias in ["OSLeft", "OSRight"] {
            assert!(!set.contains(alias));
        }
    }

    #[test]
    fn standard_block_matches_linear_set1_layout() {
        // Independent re-statement of the set-1 layout: the 83-key XT codes
        // 01..53 follow the physical key order.
        let xt_order = [
            "Escape",
            "Digit1",
            "Digit2",
            "Digit3",
            "Digit4",
            "Digit5",
            "Digit6",
            "Digit7",
            "Digit8",
            "Digit9",
            "Digit0",
            "Minus",
            "Equal",
            "Backspace",
            "Tab",
            "KeyQ",
            "KeyW",
            "KeyE",
            "KeyR",
            "KeyT",
            "KeyY",
            "KeyU",
            "KeyI",
            "KeyO",
            "KeyP",
            "BracketLeft",
            "BracketRight",
            "Enter",
            "ControlLeft",
            "KeyA",
            "KeyS",
            "KeyD",
            "KeyF",
            "KeyG",
            "KeyH",
            "KeyJ",
            "KeyK",
            "KeyL",
            "Semicolon",
            "Quote",
            "Backquote",
            "ShiftLeft",
            "Backslash",
            "KeyZ",
            "KeyX",
            "KeyC",
            "KeyV",
            "KeyB",
            "KeyN",
            "KeyM",
            "Comma",
            "Period",
            "Slash",
            "ShiftRight",
            "NumpadMultiply",
            "AltLeft",
            "Space",
            "CapsLock",
            "F1",
            "F2",
            "F3",
            "F4",
            "F5",
            "F6",
            "F7",
            "F8",
            "F9",
            "F10",
            "NumLock",
            "ScrollLock",
            "Numpad7",
            "Numpad8",
            "Numpad9",
            "NumpadSubtract",
            "Numpad4",
            "Numpad5",
            "Numpad6",
            "NumpadAdd",
            "Numpad1",
            "Numpad2",
            "Numpad3",
            "Numpad0",
            "NumpadDecimal",
        ];
        for (i, name) in xt_order.iter().enumerate() {
            assert_eq!(sc(name), Scancode::normal(i as u8 + 1), "{name}");
        }
        // The 101-key additions that reuse a keypad code behind E0.
        for (grey, pad) in [
            ("Home", "Numpad7"),
            ("ArrowUp", "Numpad8"),
            ("PageUp", "Numpad9"),
            ("ArrowLeft", "Numpad4"),
            ("ArrowRight", "Numpad6"),
            ("End", "Numpad1"),
            ("ArrowDown", "Numpad2"),
            ("PageDown", "Numpad3"),
            ("Insert", "Numpad0"),
            ("Delete", "NumpadDecimal"),
            ("NumpadEnter", "Enter"),
            ("ControlRight", "ControlLeft"),
            ("AltRight", "AltLeft"),
            ("NumpadDivide", "Slash"),
            ("PrintScreen", "NumpadMultiply"),
        ] {
            assert_eq!(sc(grey), Scancode::ext(sc(pad).code), "{grey}");
        }
    }

    #[test]
    fn unknown_codes() {
        for c in ["", "Fn", "FnLock", "Unidentified", "keya", "KEYA", "Hyper"] {
            assert_eq!(scancode_for_code(c), None, "{c}");
        }
    }

    #[test]
    fn leds() {
        assert_eq!((LED_SCROLL, LED_NUM, LED_CAPS), (1, 2, 4));
        assert_eq!(lock_state(true, true, true), 7);
        assert_eq!(lock_state(true, false, false), LED_CAPS);
        assert_eq!(lock_state(false, true, false), LED_NUM);
        assert_eq!(lock_state(false, false, false), 0);
    }
}
