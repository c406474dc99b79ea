//! Kiosk profiles: `GET /api/kiosk/{name}` answers [`KioskProfile`] (what the page needs to
//! run the kiosk; never the staff PIN), `POST /api/kiosk/{name}/unlock` takes
//! [`UnlockRequest`]. [`Chord`] is the one parser of key chords such as
//! `"Ctrl+Alt+Delete"`, used by the gateway to check its configuration and by the page to
//! match key events, so the two cannot disagree on what a chord means.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The public part of a `[[kiosk]]` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KioskProfile {
    /// The kiosk's name, as in `/kiosk/{name}`.
    pub name: String,
    /// The titles it runs: one, or several that an attract loop cycles through.
    pub items: Vec<KioskItem>,
    /// Seconds each title's saved screen is shown in the attract loop.
    pub attract_secs: u32,
    /// Seconds without input before the "Still playing?" warning.
    pub idle_secs: u32,
    /// Seconds the warning counts down before the pristine reset.
    pub warning_secs: u32,
    /// Chords (`Ctrl+Alt+Delete`) the player swallows instead of sending them to the guest.
    pub blocked_keys: Vec<String>,
    /// The chord that opens the staff PIN dialog.
    pub staff_chord: String,
}

/// One title of a kiosk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KioskItem {
    /// The catalog id (what `POST /api/instances` names).
    pub id: String,
    /// Its title, shown over its screen in the attract loop.
    pub title: String,
    /// Whether `GET /api/items/{id}/screen` has a picture of it.
    #[serde(default)]
    pub screen: bool,
}

/// `POST /api/kiosk/{name}/unlock`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnlockRequest {
    /// The digits staff typed.
    pub pin: String,
}

/// A key chord: modifiers held plus one key named as `KeyboardEvent.code` names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Chord {
    /// Either Control key.
    pub ctrl: bool,
    /// Either Alt key (AltGr is reported as Ctrl+Alt by some browsers, so it matches too).
    pub alt: bool,
    /// Either Shift key.
    pub shift: bool,
    /// Either Meta (Windows, Command) key.
    pub meta: bool,
    /// The key's `KeyboardEvent.code`: `KeyW`, `Digit1`, `F4`, `Delete`, `Tab`…
    pub code: String,
}

/// Why a chord could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChordError(pub String);

impl fmt::Display for ChordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ChordError {}

/// Named keys accepted after the modifiers, each also its `KeyboardEvent.code`.
const NAMED_KEYS: &[&str] = &[
    "Delete",
    "Backspace",
    "Tab",
    "Escape",
    "Enter",
    "Space",
    "Insert",
    "Home",
    "End",
    "PageUp",
    "PageDown",
    "ArrowUp",
    "ArrowDown",
    "ArrowLeft",
    "ArrowRight",
    "PrintScreen",
    "Pause",
    "ScrollLock",
    "ContextMenu",
    "Minus",
    "Equal",
    "BracketLeft",
    "BracketRight",
    "Semicolon",
    "Quote",
    "Backquote",
    "Backslash",
    "Comma",
    "Period",
    "Slash",
];

/// Longest chord text read (a list in a config file, or a profile from the network).
const MAX_CHORD_LEN: usize = 64;

impl Chord {
    /// Reads `Ctrl+Alt+Delete`, `alt+f4`, `Ctrl+W`, `Meta+L`: modifiers (`Ctrl`/`Control`,
    /// `Alt`, `Shift`, `Meta`/`Win`/`Super`/`Cmd`) in any order and case, then one key: a
    /// letter, a digit, `F1`–`F24` or a named key (`Delete`, `Tab`, `Escape`…, or any
    /// `KeyboardEvent.code` such as `KeyW`).
    pub fn parse(text: &str) -> Result<Chord, ChordError> {
        if text.len() > MAX_CHORD_LEN {
            return Err(ChordError(format!(
                "a chord is at most {MAX_CHORD_LEN} characters"
            )));
        }
        let parts: Vec<&str> = text.split('+').map(str::trim).collect();
        let Some((key, mods)) = parts.split_last() else {
            return Err(ChordError("empty chord".into()));
        };
        let mut c = Chord {
            ctrl: false,
            alt: false,
            shift: false,
            meta: false,
            code: String::new(),
        };
        for m in mods {
            let flag = match m.to_ascii_lowercase().as_str() {
                "ctrl" | "control" => &mut c.ctrl,
                "alt" | "option" => &mut c.alt,
                "shift" => &mut c.shift,
                "meta" | "win" | "super" | "cmd" | "command" => &mut c.meta,
                _ => {
                    return Err(ChordError(format!(
                        "{m:?} is not a modifier (Ctrl, Alt, Shift, Meta) in {text:?}"
                    )))
                }
            };
            if *flag {
                return Err(ChordError(format!("{m} twice in {text:?}")));
            }
            *flag = true;
        }
        c.code = key_code(key)
            .ok_or_else(|| ChordError(format!("{key:?} is not a key name in {text:?}")))?;
        Ok(c)
    }

    /// Whether a key event matches: its key is this chord's, and every modifier of the
    /// chord is held (more may be: Ctrl+Alt+Shift+Delete is still Ctrl+Alt+Delete).
    pub fn matches(&self, code: &str, ctrl: bool, alt: bool, shift: bool, meta: bool) -> bool {
        code == self.code
            && (!self.ctrl || ctrl)
            && (!self.alt || alt)
            && (!self.shift || shift)
            && (!self.meta || meta)
    }

    /// Whether `code` is one of the modifier keys themselves.
    pub fn is_modifier(code: &str) -> bool {
        matches!(
            code,
            "ControlLeft"
                | "ControlRight"
                | "AltLeft"
                | "AltRight"
                | "ShiftLeft"
                | "ShiftRight"
                | "MetaLeft"
                | "MetaRight"
                | "OSLeft"
                | "OSRight"
        )
    }
}

impl fmt::Display for Chord {
    /// The canonical text: `Ctrl+Alt+Shift+Meta+` (those held) and the key as written
    /// in configurations (`W`, `1`, `F4`, `Delete`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (on, name) in [
            (self.ctrl, "Ctrl+"),
            (self.alt, "Alt+"),
            (self.shift, "Shift+"),
            (self.meta, "Meta+"),
        ] {
            if on {
                f.write_str(name)?;
            }
        }
        let key = self
            .code
            .strip_prefix("Key")
            .or_else(|| self.code.strip_prefix("Digit"))
            .unwrap_or(&self.code);
        f.write_str(key)
    }
}

/// The `KeyboardEvent.code` of a key name, or `None`.
fn key_code(key: &str) -> Option<String> {
    let mut chars = key.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        return if c.is_ascii_alphabetic() {
            Some(format!("Key{}", c.to_ascii_uppercase()))
        } else if c.is_ascii_digit() {
            Some(format!("Digit{c}"))
        } else {
            None
        };
    }
    let lower = key.to_ascii_lowercase();
    if let Some(n) = lower.strip_prefix('f') {
        if let Ok(n) = n.parse::<u8>() {
            return (1..=24).contains(&n).then(|| format!("F{n}"));
        }
    }
    let alias = match lower.as_str() {
        "del" => Some("Delete"),
        "esc" => Some("Escape"),
        "return" => Some("Enter"),
        "ins" => Some("Insert"),
        "pgup" => Some("PageUp"),
        "pgdn" => Some("PageDown"),
        _ => None,
    };
    if let Some(a) = alias {
        return Some(a.to_owned());
    }
    if let Some(k) = NAMED_KEYS.iter().find(|k| k.eq_ignore_ascii_case(key)) {
        return Some((*k).to_owned());
    }
    // A code as the browser names it: KeyW, Digit1, Numpad5.
    let code_like = ["Key", "Digit", "Numpad"]
        .iter()
        .any(|p| key.starts_with(p) && key.len() > p.len() && key.len() <= 16)
        && key.chars().all(|c| c.is_ascii_alphanumeric());
    code_like.then(|| key.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chords_parse_and_print() {
        let c = Chord::parse("Ctrl+Alt+Delete").unwrap();
        assert!(c.ctrl && c.alt && !c.shift && !c.meta);
        assert_eq!(c.code, "Delete");
        assert_eq!(c.to_string(), "Ctrl+Alt+Delete");
        assert_eq!(Chord::parse("alt + f4").unwrap().to_string(), "Alt+F4");
        assert_eq!(Chord::parse("Ctrl+w").unwrap().code, "KeyW");
        assert_eq!(Chord::parse("Ctrl+W").unwrap().to_string(), "Ctrl+W");
        assert_eq!(
            Chord::parse("Shift+Ctrl+Alt+K").unwrap().to_string(),
            "Ctrl+Alt+Shift+K"
        );
        assert_eq!(Chord::parse("Win+L").unwrap().to_string(), "Meta+L");
        assert_eq!(Chord::parse("Ctrl+1").unwrap().code, "Digit1");
        assert_eq!(Chord::parse("Ctrl+Esc").unwrap().code, "Escape");
        assert_eq!(Chord::parse("F11").unwrap().code, "F11");
        for bad in [
            "",
            "Ctrl+",
            "Hyper+X",
            "Ctrl+Ctrl+X",
            "Ctrl+F25",
            "Ctrl+é",
            "Ctrl+Nonsense",
            &"Ctrl+".repeat(20),
        ] {
            assert!(Chord::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_chord_matches_with_its_modifiers_held() {
        let c = Chord::parse("Ctrl+Alt+Delete").unwrap();
        assert!(c.matches("Delete", true, true, false, false));
        assert!(c.matches("Delete", true, true, true, false));
        assert!(!c.matches("Delete", true, false, false, false));
        assert!(!c.matches("Backspace", true, true, false, false));
        assert!(Chord::is_modifier("AltLeft"));
        assert!(!Chord::is_modifier("Delete"));
    }

    #[test]
    fn fresh_is_left_out_unless_asked_for() {
        let old: crate::CreateRequest = serde_json::from_str(r#"{"item":"doom"}"#).unwrap();
        assert!(!old.fresh);
        assert_eq!(serde_json::to_string(&old).unwrap(), r#"{"item":"doom"}"#);
        let fresh = crate::CreateRequest { fresh: true, ..old };
        assert_eq!(
            serde_json::to_string(&fresh).unwrap(),
            r#"{"item":"doom","fresh":true}"#
        );
    }
}
