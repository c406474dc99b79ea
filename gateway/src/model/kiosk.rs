//! Kiosk profiles (`[[kiosk]]`): a museum machine that runs one title, or an attract loop
//! of a few, for strangers all day, resets itself when left alone and opens to staff only
//! with a PIN.

use std::time::Duration;

use olive_api::Chord;

/// One `[[kiosk]]` entry, validated (the items exist and resume from a memory image).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kiosk {
    /// The name in `/kiosk/{name}` (checked like item ids: URL-safe, unique).
    pub name: String,
    /// The catalog ids it runs, in loop order; at least one.
    pub items: Vec<String>,
    /// How long each title's saved screen is shown in the attract loop.
    pub attract: Duration,
    /// Time without input before the "Still playing?" warning.
    pub idle: Duration,
    /// How long the warning counts down before the reset.
    pub warning: Duration,
    /// Chords the page swallows before they become scancodes.
    pub blocked_keys: Vec<Chord>,
    /// The chord that opens the staff PIN dialog.
    pub staff_chord: Chord,
    /// The staff PIN (digits). Compared on the server only; never in an answer.
    pub pin: String,
}

/// `attract_secs` when not given.
pub const DEFAULT_ATTRACT_SECS: u64 = 8;
/// `idle_secs` when not given: long enough to read a game's help screen.
pub const DEFAULT_IDLE_SECS: u64 = 120;
/// `warning_secs` when not given: the "Resetting in 10 s" the issue asks for.
pub const DEFAULT_WARNING_SECS: u64 = 10;
/// `staff_chord` when not given: four keys no game asks a visitor to press together.
pub const DEFAULT_STAFF_CHORD: &str = "Ctrl+Alt+Shift+K";
/// `blocked_keys` when not given: what leaves the browser or the kiosk's window, closes
/// the tab, switches consoles or reboots the guest.
pub const DEFAULT_BLOCKED_KEYS: &[&str] = &[
    "Ctrl+Alt+Delete",
    "Ctrl+Alt+Backspace",
    "Alt+F4",
    "Alt+Tab",
    "Alt+Escape",
    "Ctrl+Escape",
    "Ctrl+W",
    "Ctrl+Q",
    "Ctrl+N",
    "Ctrl+T",
    "Ctrl+Tab",
    "Ctrl+Alt+F1",
    "Ctrl+Alt+F2",
    "Ctrl+Alt+F3",
    "Ctrl+Alt+F4",
    "Ctrl+Alt+F5",
    "Ctrl+Alt+F6",
    "Ctrl+Alt+F7",
    "Meta+L",
    "Meta+D",
];
