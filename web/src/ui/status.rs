//! The player's states and what the visitor is told in each. `data-state` on the player
//! element is the automation contract (tests wait on it), so the names are fixed here.

/// The player's state, as exposed in `data-state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlayerState {
    /// Creating the instance / the VM is booting or loading its memory image.
    Loading,
    /// The VM runs; SPICE channels are linking and the first frame is not drawn yet.
    Connecting,
    /// The first frame of the primary surface is on the canvas.
    Running,
    /// The control connection was lost and is being retried.
    Reconnecting,
    /// The VM stopped (it shut itself down, or failed to start).
    Stopped,
    /// The session is over (idle timeout, time limit, ended by staff, or left).
    Ended,
    /// Something failed; the message says what.
    Error,
}

impl PlayerState {
    /// The `data-state` value.
    pub fn as_str(self) -> &'static str {
        match self {
            PlayerState::Loading => "loading",
            PlayerState::Connecting => "connecting",
            PlayerState::Running => "running",
            PlayerState::Reconnecting => "reconnecting",
            PlayerState::Stopped => "stopped",
            PlayerState::Ended => "ended",
            PlayerState::Error => "error",
        }
    }

    /// Whether nothing more will happen in this session (the visitor may Run again).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            PlayerState::Stopped | PlayerState::Ended | PlayerState::Error
        )
    }
}

/// Plain-words texts for the states and failures, in one place so they stay consistent.
pub mod text {
    /// Shown from the Run click until the gateway answers the create request (the instance
    /// does not exist yet, so there is no progress to show).
    pub const CREATING: &str = "Preparing the machine…";
    /// The instance exists and the VM is coming up; also shown again after a reconnect that
    /// happened before the screen was connected.
    pub const BOOTING: &str = "The machine is starting…";
    /// The VM resumes from a saved memory image: the server reports progress, so the status
    /// pairs this with the progress bar and an ETA instead of a bare "starting".
    pub const LOADING_MEMORY: &str = "Loading the saved state of the machine…";
    /// The VM runs and the SPICE channels link; the first frame is not drawn yet.
    pub const CONNECTING: &str = "Connecting to the screen…";
    /// The first frame is on the canvas. It tells the visitor the one thing they must do:
    /// the canvas only receives keys once it has focus.
    pub const RUNNING: &str = "Running. Click the screen to use the keyboard and mouse.";
    /// The control connection dropped or stopped answering pings and is being retried; the
    /// machine is still there, so the visitor should wait rather than Run again.
    pub const RECONNECTING: &str = "The connection was interrupted. Reconnecting…";
    /// The VM stopped by itself (the guest shut down, or it crashed): kept apart from
    /// [`ENDED`] so a shutdown is not mistaken for a timeout.
    pub const STOPPED: &str = "The machine has stopped.";
    /// The server destroyed the VM. The client is not told why, so every possible cause is
    /// named rather than guessing one.
    pub const ENDED: &str = "This session has ended: it was idle too long, reached its time limit, or was ended by the museum staff.";
    /// The portal's page ended the session (`stop()`, or `{olive: "stop"}`).
    pub const STOPPED_BY_PAGE: &str = "The session was ended.";
    /// The control connection's token was refused: a new Run creates a new instance with a
    /// new token, so that is the advice.
    pub const AUTH_FAILED: &str =
        "The server refused this session (authentication failed). Please press Run again.";
    /// The gateway's API or control WebSocket could not be reached at all: a network problem on
    /// the visitor's side is the likeliest cause.
    pub const UNREACHABLE: &str =
        "The server cannot be reached. Check your connection and try again.";
    /// Reconnecting gave up (netx-proto's `LOST_CONNECTION`): the session cannot be resumed,
    /// so the visitor is not left waiting for a reconnect that will not come.
    pub const LOST: &str =
        "The connection to the server was lost for too long; the session is gone.";
    /// The saved memory image was refused at startup and the VM cold-boots instead: slower,
    /// so the visitor is told why the progress bar went away.
    pub const MEMORY_REJECTED: &str =
        "The saved state could not be restored; starting the machine from scratch…";
}

/// "The server is full" with the wait the server asked for.
pub fn server_full(retry_after_secs: Option<u64>) -> String {
    match retry_after_secs {
        Some(n) => format!("All machines are in use right now. Please try again in {n} s."),
        None => "All machines are in use right now. Please try again in a moment.".to_owned(),
    }
}

/// Waiting in line for one of the `seats` machines of `title`: "All 3 machines for X are
/// in use. You are number 2 in line — about 5 min." Without an estimate, none is given.
pub fn queued(seats: u32, title: &str, position: u32, eta_secs: Option<u64>) -> String {
    let busy = if seats == 1 {
        format!("The machine for {title} is in use.")
    } else {
        format!("All {seats} machines for {title} are in use.")
    };
    let wait = match eta_secs {
        Some(s) if s < 60 => " — less than a minute".to_owned(),
        Some(s) => format!(" — about {} min", s.div_ceil(60)),
        None => String::new(),
    };
    format!("{busy} You are number {position} in line{wait}.")
}

/// The queue lost the visitor's place (the gateway no longer knows the ticket).
pub const QUEUE_LOST: &str = "Your place in line was lost. Please press Run again.";

/// Maps a control-connection fatal message (netx-proto texts) to plain words.
pub fn control_fatal(message: &str) -> String {
    if message.contains("Authentication failed") || message.starts_with("Reauthentication failed") {
        text::AUTH_FAILED.to_owned()
    } else if message == netx_proto::client::LOST_CONNECTION {
        text::LOST.to_owned()
    } else if message == netx_proto::client::CONTROL_CONNECTION_CLOSED {
        text::UNREACHABLE.to_owned()
    } else {
        format!("The server reported a problem: {message}")
    }
}

/// Which channel a failure concerns, in words, and whether the session can go on
/// without it (cursor and sound can; main, display and inputs cannot).
pub fn channel_failure(kind: spice_client::ChannelType, error: &str) -> (String, bool) {
    use spice_client::ChannelType as T;
    let (what, fatal) = match kind {
        T::Main => ("the main connection", true),
        T::Display => ("the screen", true),
        T::Inputs => ("keyboard and mouse", true),
        T::Cursor => ("the mouse pointer shape", false),
        T::Playback => ("sound", false),
        _ => ("an optional channel", false),
    };
    let msg = if fatal {
        format!("Lost {what}: {error}")
    } else {
        format!("Lost {what} (the machine still works): {error}")
    };
    (msg, fatal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_texts() {
        assert_eq!(
            queued(3, "Tetris", 2, Some(250)),
            "All 3 machines for Tetris are in use. You are number 2 in line — about 5 min."
        );
        assert_eq!(
            queued(1, "Doom", 1, None),
            "The machine for Doom is in use. You are number 1 in line."
        );
        assert!(queued(1, "Doom", 1, Some(20)).ends_with("— less than a minute."));
    }

    #[test]
    fn state_names_are_the_contract() {
        let all = [
            (PlayerState::Loading, "loading"),
            (PlayerState::Connecting, "connecting"),
            (PlayerState::Running, "running"),
            (PlayerState::Reconnecting, "reconnecting"),
            (PlayerState::Stopped, "stopped"),
            (PlayerState::Ended, "ended"),
            (PlayerState::Error, "error"),
        ];
        for (s, n) in all {
            assert_eq!(s.as_str(), n);
        }
        assert!(PlayerState::Ended.is_final());
        assert!(!PlayerState::Reconnecting.is_final());
    }

    #[test]
    fn texts() {
        assert!(server_full(Some(30)).contains("30 s"));
        assert_eq!(control_fatal("Authentication failed"), text::AUTH_FAILED);
        assert_eq!(control_fatal("Lost connection with server"), text::LOST);
        assert_eq!(
            control_fatal("Control connection closed"),
            text::UNREACHABLE
        );
        assert!(control_fatal("Protocol error: x").contains("x"));
        let (m, fatal) = channel_failure(spice_client::ChannelType::Cursor, "boom");
        assert!(!fatal && m.contains("boom"));
        assert!(channel_failure(spice_client::ChannelType::Display, "x").1);
    }
}
