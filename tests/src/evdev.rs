//! Expected Linux key codes for the end-to-end keyboard test.
//!
//! The test types each `KeyboardEvent.code` through SPICE into a Linux guest
//! and reads back the `EV_KEY` code the guest's keyboard driver reported. This
//! table is the *expected* answer, written from the guest's side and
//! deliberately **not** computed from `spice_client::inputs::keymap`:
//!
//! * the values are the `KEY_*` constants of
//!   `include/uapi/linux/input-event-codes.h` (restated below by name);
//! * the `code` → `KEY_*` pairing is what the guest's `atkbd` driver reports
//!   for that physical key: QEMU's i8042 runs with translation on, so atkbd
//!   sees set-1 bytes, undoes the translation (`atkbd_unxlate_table`) and
//!   looks the set-2 code up in `atkbd_set2_keycode`. For the physical keys
//!   this is the same pairing as the UI Events spec / keycodemapdb's
//!   "HTML code" ↔ "Linux Name" columns.
//!
//! So a wrong scancode in the keymap shows up as a different `KEY_*` here,
//! and a wrong row here disagrees with a correct keymap.
//!
//! Keys whose path through QEMU (spice-input → qnum → qcode → PS/2 model) or
//! atkbd is version-dependent or known to drop the key are listed in
//! [`UNCERTAIN`]: the test should report those, not fail on them. Keys that
//! make a normal guest do something drastic (logind powers off / suspends on
//! `KEY_POWER` / `KEY_SLEEP`) are listed in [`DISRUPTIVE`].

#![allow(
    missing_docs,
    reason = "the KEY_* constants keep the names of input-event-codes.h, which documents them"
)]

// --- include/uapi/linux/input-event-codes.h -------------------------------
pub const KEY_ESC: u16 = 1;
pub const KEY_1: u16 = 2;
pub const KEY_2: u16 = 3;
pub const KEY_3: u16 = 4;
pub const KEY_4: u16 = 5;
pub const KEY_5: u16 = 6;
pub const KEY_6: u16 = 7;
pub const KEY_7: u16 = 8;
pub const KEY_8: u16 = 9;
pub const KEY_9: u16 = 10;
pub const KEY_0: u16 = 11;
pub const KEY_MINUS: u16 = 12;
pub const KEY_EQUAL: u16 = 13;
pub const KEY_BACKSPACE: u16 = 14;
pub const KEY_TAB: u16 = 15;
pub const KEY_Q: u16 = 16;
pub const KEY_W: u16 = 17;
pub const KEY_E: u16 = 18;
pub const KEY_R: u16 = 19;
pub const KEY_T: u16 = 20;
pub const KEY_Y: u16 = 21;
pub const KEY_U: u16 = 22;
pub const KEY_I: u16 = 23;
pub const KEY_O: u16 = 24;
pub const KEY_P: u16 = 25;
pub const KEY_LEFTBRACE: u16 = 26;
pub const KEY_RIGHTBRACE: u16 = 27;
pub const KEY_ENTER: u16 = 28;
pub const KEY_LEFTCTRL: u16 = 29;
pub const KEY_A: u16 = 30;
pub const KEY_S: u16 = 31;
pub const KEY_D: u16 = 32;
pub const KEY_F: u16 = 33;
pub const KEY_G: u16 = 34;
pub const KEY_H: u16 = 35;
pub const KEY_J: u16 = 36;
pub const KEY_K: u16 = 37;
pub const KEY_L: u16 = 38;
pub const KEY_SEMICOLON: u16 = 39;
pub const KEY_APOSTROPHE: u16 = 40;
pub const KEY_GRAVE: u16 = 41;
pub const KEY_LEFTSHIFT: u16 = 42;
pub const KEY_BACKSLASH: u16 = 43;
pub const KEY_Z: u16 = 44;
pub const KEY_X: u16 = 45;
pub const KEY_C: u16 = 46;
pub const KEY_V: u16 = 47;
pub const KEY_B: u16 = 48;
pub const KEY_N: u16 = 49;
pub const KEY_M: u16 = 50;
pub const KEY_COMMA: u16 = 51;
pub const KEY_DOT: u16 = 52;
pub const KEY_SLASH: u16 = 53;
pub const KEY_RIGHTSHIFT: u16 = 54;
pub const KEY_KPASTERISK: u16 = 55;
pub const KEY_LEFTALT: u16 = 56;
pub const KEY_SPACE: u16 = 57;
pub const KEY_CAPSLOCK: u16 = 58;
pub const KEY_F1: u16 = 59;
pub const KEY_F2: u16 = 60;
pub const KEY_F3: u16 = 61;
pub const KEY_F4: u16 = 62;
pub const KEY_F5: u16 = 63;
pub const KEY_F6: u16 = 64;
pub const KEY_F7: u16 = 65;
pub const KEY_F8: u16 = 66;
pub const KEY_F9: u16 = 67;
pub const KEY_F10: u16 = 68;
pub const KEY_NUMLOCK: u16 = 69;
pub const KEY_SCROLLLOCK: u16 = 70;
pub const KEY_KP7: u16 = 71;
pub const KEY_KP8: u16 = 72;
pub const KEY_KP9: u16 = 73;
pub const KEY_KPMINUS: u16 = 74;
pub const KEY_KP4: u16 = 75;
pub const KEY_KP5: u16 = 76;
pub const KEY_KP6: u16 = 77;
pub const KEY_KPPLUS: u16 = 78;
pub const KEY_KP1: u16 = 79;
pub const KEY_KP2: u16 = 80;
pub const KEY_KP3: u16 = 81;
pub const KEY_KP0: u16 = 82;
pub const KEY_KPDOT: u16 = 83;
pub const KEY_ZENKAKUHANKAKU: u16 = 85;
pub const KEY_102ND: u16 = 86;
pub const KEY_F11: u16 = 87;
pub const KEY_F12: u16 = 88;
pub const KEY_RO: u16 = 89;
pub const KEY_KATAKANA: u16 = 90;
pub const KEY_HIRAGANA: u16 = 91;
pub const KEY_HENKAN: u16 = 92;
pub const KEY_KATAKANAHIRAGANA: u16 = 93;
pub const KEY_MUHENKAN: u16 = 94;
pub const KEY_KPENTER: u16 = 96;
pub const KEY_RIGHTCTRL: u16 = 97;
pub const KEY_KPSLASH: u16 = 98;
pub const KEY_SYSRQ: u16 = 99;
pub const KEY_RIGHTALT: u16 = 100;
pub const KEY_HOME: u16 = 102;
pub const KEY_UP: u16 = 103;
pub const KEY_PAGEUP: u16 = 104;
pub const KEY_LEFT: u16 = 105;
pub const KEY_RIGHT: u16 = 106;
pub const KEY_END: u16 = 107;
pub const KEY_DOWN: u16 = 108;
pub const KEY_PAGEDOWN: u16 = 109;
pub const KEY_INSERT: u16 = 110;
pub const KEY_DELETE: u16 = 111;
pub const KEY_MUTE: u16 = 113;
pub const KEY_VOLUMEDOWN: u16 = 114;
pub const KEY_VOLUMEUP: u16 = 115;
pub const KEY_POWER: u16 = 116;
pub const KEY_KPEQUAL: u16 = 117;
pub const KEY_PAUSE: u16 = 119;
pub const KEY_KPCOMMA: u16 = 121;
pub const KEY_HANGEUL: u16 = 122;
pub const KEY_HANJA: u16 = 123;
pub const KEY_YEN: u16 = 124;
pub const KEY_LEFTMETA: u16 = 125;
pub const KEY_RIGHTMETA: u16 = 126;
pub const KEY_COMPOSE: u16 = 127;
pub const KEY_STOP: u16 = 128;
pub const KEY_CALC: u16 = 140;
pub const KEY_SLEEP: u16 = 142;
pub const KEY_WAKEUP: u16 = 143;
pub const KEY_MAIL: u16 = 155;
pub const KEY_BOOKMARKS: u16 = 156;
pub const KEY_COMPUTER: u16 = 157;
pub const KEY_BACK: u16 = 158;
pub const KEY_FORWARD: u16 = 159;
pub const KEY_NEXTSONG: u16 = 163;
pub const KEY_PLAYPAUSE: u16 = 164;
pub const KEY_PREVIOUSSONG: u16 = 165;
pub const KEY_STOPCD: u16 = 166;
pub const KEY_HOMEPAGE: u16 = 172;
pub const KEY_REFRESH: u16 = 173;
pub const KEY_F13: u16 = 183;
pub const KEY_F14: u16 = 184;
pub const KEY_F15: u16 = 185;
pub const KEY_F16: u16 = 186;
pub const KEY_F17: u16 = 187;
pub const KEY_F18: u16 = 188;
pub const KEY_F19: u16 = 189;
pub const KEY_F20: u16 = 190;
pub const KEY_F21: u16 = 191;
pub const KEY_F22: u16 = 192;
pub const KEY_F23: u16 = 193;
pub const KEY_F24: u16 = 194;
pub const KEY_SEARCH: u16 = 217;
pub const KEY_MEDIA: u16 = 226;

/// The Linux `KEY_*` code a Linux guest (atkbd on QEMU's i8042) reports for
/// the physical key with this `KeyboardEvent.code`, or `None` if the code is
/// not one the keymap covers.
pub fn linux_keycode_for_code(code: &str) -> Option<u16> {
    Some(match code {
        "Escape" => KEY_ESC,
        "F1" => KEY_F1,
        "F2" => KEY_F2,
        "F3" => KEY_F3,
        "F4" => KEY_F4,
        "F5" => KEY_F5,
        "F6" => KEY_F6,
        "F7" => KEY_F7,
        "F8" => KEY_F8,
        "F9" => KEY_F9,
        "F10" => KEY_F10,
        "F11" => KEY_F11,
        "F12" => KEY_F12,
        "PrintScreen" => KEY_SYSRQ,
        "ScrollLock" => KEY_SCROLLLOCK,
        "Pause" => KEY_PAUSE,

        "Backquote" => KEY_GRAVE,
        "Digit1" => KEY_1,
        "Digit2" => KEY_2,
        "Digit3" => KEY_3,
        "Digit4" => KEY_4,
        "Digit5" => KEY_5,
        "Digit6" => KEY_6,
        "Digit7" => KEY_7,
        "Digit8" => KEY_8,
        "Digit9" => KEY_9,
        "Digit0" => KEY_0,
        "Minus" => KEY_MINUS,
        "Equal" => KEY_EQUAL,
        "Backspace" => KEY_BACKSPACE,

        "Tab" => KEY_TAB,
        "KeyQ" => KEY_Q,
        "KeyW" => KEY_W,
        "KeyE" => KEY_E,
        "KeyR" => KEY_R,
        "KeyT" => KEY_T,
        "KeyY" => KEY_Y,
        "KeyU" => KEY_U,
        "KeyI" => KEY_I,
        "KeyO" => KEY_O,
        "KeyP" => KEY_P,
        "BracketLeft" => KEY_LEFTBRACE,
        "BracketRight" => KEY_RIGHTBRACE,
        "Backslash" => KEY_BACKSLASH,

        "CapsLock" => KEY_CAPSLOCK,
        "KeyA" => KEY_A,
        "KeyS" => KEY_S,
        "KeyD" => KEY_D,
        "KeyF" => KEY_F,
        "KeyG" => KEY_G,
        "KeyH" => KEY_H,
        "KeyJ" => KEY_J,
        "KeyK" => KEY_K,
        "KeyL" => KEY_L,
        "Semicolon" => KEY_SEMICOLON,
        "Quote" => KEY_APOSTROPHE,
        "Enter" => KEY_ENTER,

        "ShiftLeft" => KEY_LEFTSHIFT,
        "IntlBackslash" => KEY_102ND,
        "KeyZ" => KEY_Z,
        "KeyX" => KEY_X,
        "KeyC" => KEY_C,
        "KeyV" => KEY_V,
        "KeyB" => KEY_B,
        "KeyN" => KEY_N,
        "KeyM" => KEY_M,
        "Comma" => KEY_COMMA,
        "Period" => KEY_DOT,
        "Slash" => KEY_SLASH,
        "ShiftRight" => KEY_RIGHTSHIFT,

        "ControlLeft" => KEY_LEFTCTRL,
        "MetaLeft" | "OSLeft" => KEY_LEFTMETA,
        "AltLeft" => KEY_LEFTALT,
        "Space" => KEY_SPACE,
        "AltRight" => KEY_RIGHTALT,
        "MetaRight" | "OSRight" => KEY_RIGHTMETA,
        "ContextMenu" => KEY_COMPOSE,
        "ControlRight" => KEY_RIGHTCTRL,

        "Insert" => KEY_INSERT,
        "Home" => KEY_HOME,
        "PageUp" => KEY_PAGEUP,
        "Delete" => KEY_DELETE,
        "End" => KEY_END,
        "PageDown" => KEY_PAGEDOWN,
        "ArrowUp" => KEY_UP,
        "ArrowLeft" => KEY_LEFT,
        "ArrowDown" => KEY_DOWN,
        "ArrowRight" => KEY_RIGHT,

        "NumLock" => KEY_NUMLOCK,
        "NumpadDivide" => KEY_KPSLASH,
        "NumpadMultiply" => KEY_KPASTERISK,
        "NumpadSubtract" => KEY_KPMINUS,
        "Numpad7" => KEY_KP7,
        "Numpad8" => KEY_KP8,
        "Numpad9" => KEY_KP9,
        "NumpadAdd" => KEY_KPPLUS,
        "Numpad4" => KEY_KP4,
        "Numpad5" => KEY_KP5,
        "Numpad6" => KEY_KP6,
        "Numpad1" => KEY_KP1,
        "Numpad2" => KEY_KP2,
        "Numpad3" => KEY_KP3,
        "NumpadEnter" => KEY_KPENTER,
        "Numpad0" => KEY_KP0,
        "NumpadDecimal" => KEY_KPDOT,
        "NumpadEqual" => KEY_KPEQUAL,
        "NumpadComma" => KEY_KPCOMMA,

        "F13" => KEY_F13,
        "F14" => KEY_F14,
        "F15" => KEY_F15,
        "F16" => KEY_F16,
        "F17" => KEY_F17,
        "F18" => KEY_F18,
        "F19" => KEY_F19,
        "F20" => KEY_F20,
        "F21" => KEY_F21,
        "F22" => KEY_F22,
        "F23" => KEY_F23,
        "F24" => KEY_F24,

        "IntlRo" => KEY_RO,
        "IntlYen" => KEY_YEN,
        "KanaMode" => KEY_KATAKANAHIRAGANA,
        "Convert" => KEY_HENKAN,
        "NonConvert" => KEY_MUHENKAN,
        "Lang1" => KEY_HANGEUL,
        "Lang2" => KEY_HANJA,
        "Lang3" => KEY_KATAKANA,
        "Lang4" => KEY_HIRAGANA,
        "Lang5" => KEY_ZENKAKUHANKAKU,

        "AudioVolumeMute" | "VolumeMute" => KEY_MUTE,
        "AudioVolumeDown" | "VolumeDown" => KEY_VOLUMEDOWN,
        "AudioVolumeUp" | "VolumeUp" => KEY_VOLUMEUP,
        "MediaTrackNext" => KEY_NEXTSONG,
        "MediaTrackPrevious" => KEY_PREVIOUSSONG,
        "MediaStop" => KEY_STOPCD,
        "MediaPlayPause" => KEY_PLAYPAUSE,
        "LaunchMail" => KEY_MAIL,
        "MediaSelect" => KEY_MEDIA,
        "LaunchApp1" => KEY_COMPUTER,
        "LaunchApp2" => KEY_CALC,
        "BrowserSearch" => KEY_SEARCH,
        "BrowserHome" => KEY_HOMEPAGE,
        "BrowserBack" => KEY_BACK,
        "BrowserForward" => KEY_FORWARD,
        "BrowserStop" => KEY_STOP,
        "BrowserRefresh" => KEY_REFRESH,
        "BrowserFavorites" => KEY_BOOKMARKS,
        "Power" => KEY_POWER,
        "Sleep" => KEY_SLEEP,
        "WakeUp" => KEY_WAKEUP,

        _ => return None,
    })
}

/// Codes whose end-to-end result on a QEMU PS/2 + Linux atkbd guest is
/// version-dependent or expected to be lost. The test should report a
/// mismatch or a missing event for these, not fail.
///
/// * `F13`–`F15`: need QEMU's `f13`..`f15` qcodes (added to QEMU long after
///   the rest of the table) and their PS/2 set-2 codes (`2F 37 3F`); atkbd
///   then reports `KEY_F13..15`.
/// * `F16`–`F24`: QEMU's PS/2 model has no set-2 code for them (nor does
///   atkbd's default table for their set-1 codes), so a PS/2 guest sees
///   nothing; usb-kbd / virtio-keyboard guests do get them. Newer kernels also
///   remap some Microsoft-style codes (e.g. set-1 `6E` → `KEY_F23`), which
///   does not help here.
/// * `Lang1` / `Lang2`: press-only keys (`F2` / `F1`, no break code); need
///   QEMU's `lang1` / `lang2` qcodes. atkbd reports press+release on the
///   single byte; our `KEY_UP` is expected to be swallowed.
/// * `Lang3` (`KEY_KATAKANA`) and `Lang5` (`KEY_ZENKAKUHANKAKU`) have no QEMU
///   qcode at all, so QEMU drops them; `Lang4` (`KEY_HIRAGANA`) depends on the
///   PS/2 model having the `hiragana` qcode.
/// * `BrowserSearch`: keycodemapdb gives `KEY_SEARCH` no QEMU qcode, so QEMU
///   drops it.
/// * `BrowserHome`: atkbd's set-2 `E0 3A` entry was `KEY_WWW` (150) in old
///   kernels and is `KEY_HOMEPAGE` (172) now.
pub const UNCERTAIN: &[&str] = &[
    "F13",
    "F14",
    "F15",
    "F16",
    "F17",
    "F18",
    "F19",
    "F20",
    "F21",
    "F22",
    "F23",
    "F24",
    "Lang1",
    "Lang2",
    "Lang3",
    "Lang4",
    "Lang5",
    "BrowserSearch",
    "BrowserHome",
];

/// Codes that make a stock Linux guest act (systemd-logind: `KEY_POWER` →
/// power off, `KEY_SLEEP` → suspend; `KEY_WAKEUP` is harmless but pairs with
/// them). An end-to-end test should skip these unless the guest is configured
/// to ignore them (e.g. `HandlePowerKey=ignore`) or nothing but the test
/// reader is running.
pub const DISRUPTIVE: &[&str] = &["Power", "Sleep", "WakeUp"];

/// The key codes the guest's input report (`EV KEY code=N value=1` lines) shows pressed.
pub fn pressed(log: &str) -> Vec<u16> {
    log.lines()
        .filter_map(|l| l.trim_end().strip_prefix("EV KEY code="))
        .filter_map(|r| r.split_once(" value="))
        .filter(|(_, v)| *v == "1")
        .filter_map(|(c, _)| c.parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use spice_client::inputs::keymap::{scancode_for_code, Scancode, ALL_CODES, ISO_105};

    /// Model of the guest side: set-1 bytes after i8042 translation →
    /// `atkbd_unxlate_table` → `atkbd_set2_keycode` (mainline defaults).
    /// Only the entries the keymap needs; 0 = atkbd has no key there.
    fn atkbd_translated(sc: Scancode) -> u16 {
        // atkbd_unxlate_table (set-1 code → set-2 code).
        const UNXLATE: [u8; 128] = [
            0, 118, 22, 30, 38, 37, 46, 54, 61, 62, 70, 69, 78, 85, 102, 13, 21, 29, 36, 45, 44,
            53, 60, 67, 68, 77, 84, 91, 90, 20, 28, 27, 35, 43, 52, 51, 59, 66, 75, 76, 82, 14, 18,
            93, 26, 34, 33, 42, 50, 49, 58, 65, 73, 74, 89, 124, 17, 41, 88, 5, 6, 4, 12, 3, 11, 2,
            10, 1, 9, 119, 126, 108, 117, 125, 123, 107, 115, 116, 121, 105, 114, 122, 112, 113,
            127, 96, 97, 120, 7, 15, 23, 31, 39, 47, 55, 63, 71, 79, 86, 94, 8, 16, 24, 32, 40, 48,
            56, 64, 72, 80, 87, 111, 19, 25, 57, 81, 83, 92, 95, 98, 99, 100, 101, 103, 104, 106,
            109, 110,
        ];
        // atkbd_set2_keycode[0..256] (E0-prefixed codes at 0x80 | code).
        const SET2: [u16; 256] = [
            0, 67, 65, 63, 61, 59, 60, 88, 0, 68, 66, 64, 62, 15, 41, 117, //
            0, 56, 42, 93, 29, 16, 2, 0, 0, 0, 44, 31, 30, 17, 3, 0, //
            0, 46, 45, 32, 18, 5, 4, 95, 0, 57, 47, 33, 20, 19, 6, 183, //
            0, 49, 48, 35, 34, 21, 7, 184, 0, 0, 50, 36, 22, 8, 9, 185, //
            0, 51, 37, 23, 24, 11, 10, 0, 0, 52, 53, 38, 39, 25, 12, 0, //
            0, 89, 40, 0, 26, 13, 0, 0, 58, 54, 28, 27, 0, 43, 0, 85, //
            0, 86, 91, 90, 92, 0, 14, 94, 0, 79, 124, 75, 71, 121, 0, 0, //
            82, 83, 80, 76, 77, 72, 1, 69, 87, 78, 81, 74, 55, 73, 70, 99, //
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, //
            217, 100, 255, 0, 97, 165, 0, 0, 156, 0, 0, 0, 0, 0, 0, 125, //
            173, 114, 0, 113, 0, 0, 0, 126, 128, 0, 0, 140, 0, 0, 0, 127, //
            159, 0, 115, 0, 164, 0, 0, 116, 158, 0, 172, 166, 0, 0, 0, 142, //
            157, 0, 0, 0, 0, 0, 0, 0, 155, 0, 98, 0, 0, 163, 0, 0, //
            226, 0, 0, 0, 0, 0, 0, 0, 0, 255, 96, 0, 0, 0, 143, 0, //
            0, 0, 0, 0, 0, 0, 0, 0, 0, 107, 0, 105, 102, 0, 0, 112, //
            110, 111, 108, 112, 106, 103, 0, 119, 0, 118, 109, 0, 99, 104, 119, 0, //
        ];
        let set2 = UNXLATE[(sc.code & 0x7F) as usize] as usize;
        SET2[set2 | if sc.extended { 0x80 } else { 0 }]
    }

    /// Keys whose bytes reach atkbd in a different form than we send them:
    /// press-only Lang1/Lang2 arrive as the single byte `F2`/`F1`. (QEMU also
    /// regenerates PrintScreen as `E0 2A E0 37` and Pause as `E1 1D 45 ...`,
    /// but atkbd ignores the fake shift and maps `E0 46` to `KEY_PAUSE` too,
    /// so those two still go through the plain model.)
    const REGENERATED: &[&str] = &["Lang1", "Lang2"];

    #[test]
    fn every_keymap_code_has_an_expected_keycode() {
        for code in ALL_CODES {
            assert!(linux_keycode_for_code(code).is_some(), "{code}");
        }
        assert_eq!(linux_keycode_for_code("Fn"), None);
        assert_eq!(linux_keycode_for_code(""), None);
    }

    #[test]
    fn spot_checks() {
        let want = [
            ("KeyA", 30),
            ("Enter", 28),
            ("NumpadEnter", 96),
            ("ArrowUp", 103),
            ("IntlBackslash", 86),
            ("IntlRo", 89),
            ("IntlYen", 124),
            ("MetaLeft", 125),
            ("OSLeft", 125),
            ("ContextMenu", 127),
            ("PrintScreen", 99),
            ("Pause", 119),
            ("F13", 183),
            ("F24", 194),
            ("NumpadComma", 121),
            ("NumpadEqual", 117),
        ];
        for (code, key) in want {
            assert_eq!(linux_keycode_for_code(code), Some(key), "{code}");
        }
    }

    #[test]
    fn iso_keys_are_distinct_and_certain() {
        let mut seen = std::collections::HashSet::new();
        for code in ISO_105 {
            let key = linux_keycode_for_code(code).unwrap();
            assert!(seen.insert(key), "{code}: KEY {key} twice");
            assert!(!UNCERTAIN.contains(code), "{code}");
        }
        for code in UNCERTAIN.iter().chain(DISRUPTIVE) {
            assert!(ALL_CODES.contains(code), "{code} not in keymap");
        }
    }

    /// Cross-check the keymap's scancodes against this table through a model
    /// of atkbd: catches a wrong entry on either side.
    #[test]
    fn keymap_agrees_with_atkbd_model() {
        let mut mismatches = Vec::new();
        for code in ALL_CODES {
            if REGENERATED.contains(code) {
                continue;
            }
            let sc = scancode_for_code(code).unwrap();
            let got = atkbd_translated(sc);
            let want = linux_keycode_for_code(code).unwrap();
            if got != want && !UNCERTAIN.contains(code) {
                mismatches.push(format!("{code}: {sc:?} -> atkbd {got}, expected {want}"));
            }
        }
        assert!(mismatches.is_empty(), "{mismatches:#?}");
        // The press-only keys: atkbd maps the bare F2/F1 bytes itself.
        assert_eq!(scancode_for_code("Lang1").unwrap().release(), 0xF2);
        assert_eq!(scancode_for_code("Lang2").unwrap().release(), 0xF1);
        // Pause: atkbd maps E1 1D 45 as set-2 E1 14 77, i.e. table[0x80|0x77].
        assert_eq!(
            atkbd_translated(Scancode {
                code: 0x45,
                extended: true
            }),
            KEY_PAUSE
        );
    }
}
