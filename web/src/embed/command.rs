//! The commands a portal sends an embedded player, as `postMessage` data or method calls:
//! pure, so the parsing and the origin rule are tested natively.
//!
//! Messages are objects tagged by `olive`: `{"olive": "start"}`, `"stop"`, `"reset"`,
//! `"fullscreen"`, `{"olive": "sendKeys", "keys": ["ControlLeft", "AltLeft", "Delete"]}`,
//! `{"olive": "typeText", "text": "dir\n"}`. Anything from a page is untrusted: sizes are
//! bounded and an unknown message is an error the page's console shows, nothing else.

use serde::Deserialize;

/// Longest text one `typeText` may type (a paragraph; a paste box is the place for more).
pub const MAX_TEXT: usize = 4096;
/// Most keys one `sendKeys` chord may hold.
pub const MAX_KEYS: usize = 8;

/// One command for an embedded player.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "olive", rename_all = "camelCase", deny_unknown_fields)]
pub enum Command {
    /// Launch (the Run button's job).
    Start,
    /// End the session; the VM is destroyed.
    Stop,
    /// End the session and launch a fresh one.
    Reset,
    /// Enter or leave full screen (only inside a user gesture, browsers insist).
    Fullscreen,
    /// Press these keys in order and release them in reverse.
    SendKeys {
        /// `KeyboardEvent.code` names.
        keys: Vec<String>,
    },
    /// Type this text as key presses.
    TypeText {
        /// The text.
        text: String,
    },
}

/// Why a message is not a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    /// Not one of the commands, or a field is wrong.
    Unknown(String),
    /// Over [`MAX_TEXT`] or [`MAX_KEYS`].
    TooLarge,
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CommandError::Unknown(e) => write!(f, "not an Olive command: {e}"),
            CommandError::TooLarge => write!(
                f,
                "command too large (text up to {MAX_TEXT} characters, up to {MAX_KEYS} keys)"
            ),
        }
    }
}

impl Command {
    /// Parses a message's JSON (at most a few KiB are read: longer is too large).
    pub fn parse(json: &str) -> Result<Command, CommandError> {
        if json.len() > MAX_TEXT * 6 + 256 {
            return Err(CommandError::TooLarge);
        }
        let c: Command =
            serde_json::from_str(json).map_err(|e| CommandError::Unknown(e.to_string()))?;
        match &c {
            Command::TypeText { text } if text.chars().count() > MAX_TEXT => {
                Err(CommandError::TooLarge)
            }
            Command::SendKeys { keys }
                if keys.len() > MAX_KEYS || keys.iter().any(|k| k.len() > 32) =>
            {
                Err(CommandError::TooLarge)
            }
            _ => Ok(c),
        }
    }
}

/// Whether a message from `origin` may command the player: only origins on the gateway's
/// `embed_origins` list (compared as the browser spells them, without case).
pub fn origin_allowed(origin: &str, allowed: &[String]) -> bool {
    origin != "null" && allowed.iter().any(|a| a.eq_ignore_ascii_case(origin))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_command() {
        assert_eq!(Command::parse(r#"{"olive":"start"}"#), Ok(Command::Start));
        assert_eq!(Command::parse(r#"{"olive":"stop"}"#), Ok(Command::Stop));
        assert_eq!(Command::parse(r#"{"olive":"reset"}"#), Ok(Command::Reset));
        assert_eq!(
            Command::parse(r#"{"olive":"fullscreen"}"#),
            Ok(Command::Fullscreen)
        );
        assert_eq!(
            Command::parse(r#"{"olive":"typeText","text":"dir\n"}"#),
            Ok(Command::TypeText {
                text: "dir\n".into()
            })
        );
        assert_eq!(
            Command::parse(r#"{"olive":"sendKeys","keys":["ControlLeft","AltLeft","Delete"]}"#),
            Ok(Command::SendKeys {
                keys: vec!["ControlLeft".into(), "AltLeft".into(), "Delete".into()]
            })
        );
    }

    #[test]
    fn refuses_what_is_not_a_command() {
        for bad in [
            "",
            "null",
            "42",
            r#"{"olive":"format-c"}"#,
            r#"{"olive":"typeText"}"#,
            r#"{"olive":"typeText","text":5}"#,
            r#"{"type":"start"}"#,
        ] {
            assert!(
                matches!(Command::parse(bad), Err(CommandError::Unknown(_))),
                "{bad}"
            );
        }
        let long = format!(
            r#"{{"olive":"typeText","text":"{}"}}"#,
            "a".repeat(MAX_TEXT + 1)
        );
        assert_eq!(Command::parse(&long), Err(CommandError::TooLarge));
        let huge = "x".repeat(1 << 20);
        assert_eq!(Command::parse(&huge), Err(CommandError::TooLarge));
        let keys = format!(
            r#"{{"olive":"sendKeys","keys":[{}]}}"#,
            ["\"KeyA\""; MAX_KEYS + 1].join(",")
        );
        assert_eq!(Command::parse(&keys), Err(CommandError::TooLarge));
    }

    #[test]
    fn only_listed_origins_command() {
        let list = vec!["https://portal.example".to_owned()];
        assert!(origin_allowed("https://portal.example", &list));
        assert!(origin_allowed("https://PORTAL.example", &list));
        assert!(!origin_allowed("https://portal.example.evil", &list));
        assert!(!origin_allowed("http://portal.example", &list));
        assert!(!origin_allowed("null", &["null".to_owned()]));
        assert!(!origin_allowed("https://portal.example", &[]));
    }
}
