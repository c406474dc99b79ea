//! An instance's life as its clients see it: VMNetX's states and events, and where its
//! display is reached.

use std::path::PathBuf;

/// VMNetX's controller states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VmState {
    Stopped,
    Starting,
    Running,
    Stopping,
    Destroyed,
}

impl VmState {
    /// The live states, in the order `/metrics` lists them.
    pub const LIVE: [VmState; 4] = [
        VmState::Stopped,
        VmState::Starting,
        VmState::Running,
        VmState::Stopping,
    ];

    /// The `auth-ok` wire string; destroyed instances are never authenticated, so
    /// "unknown" is what VMNetX sent for anything else.
    pub fn wire(self) -> &'static str {
        match self {
            VmState::Destroyed => "unknown",
            other => other.name(),
        }
    }

    /// The name used by the API and metrics (VMNetX's words, "destroyed" spelled out).
    pub fn name(self) -> &'static str {
        match self {
            VmState::Stopped => "stopped",
            VmState::Starting => "starting",
            VmState::Running => "running",
            VmState::Stopping => "stopping",
            VmState::Destroyed => "destroyed",
        }
    }
}

/// What every authenticated control connection of an instance is told.
#[derive(Clone, Debug, PartialEq)]
pub enum ControlEvent {
    StartupProgress {
        fraction: f64,
    },
    StartupRejectedMemory,
    /// `message` is shown to the visitor.
    StartupFailed {
        message: String,
    },
    VmStarted {
        check_display: bool,
    },
    VmStopped,
    VmDestroyed,
}

/// Why an operation requested over the control connection was refused; the text goes to
/// the client in an `error` message (VMNetX's words).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error("Can't start VM unless it is stopped")]
    NotStopped,
    #[error("Can't stop VM unless it is running")]
    NotRunning,
    #[error("Couldn't connect viewer")]
    ViewerUnavailable,
    #[error("The server is shutting down")]
    ShuttingDown,
}

/// Where a VM's SPICE server listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpiceAddress {
    /// A UNIX socket on this machine (QEMU's `-spice unix=on`).
    Unix(PathBuf),
    /// `host:port`, for a VM on another host.
    Tcp(String),
}

/// How a viewer reaches a running VM's display.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpiceEndpoint {
    pub address: SpiceAddress,
    /// A QMP monitor through which a viewer's socket is handed to SPICE as a TCP peer
    /// (`qemu::handover`), when there is one. Without it viewers connect to `address`;
    /// over a UNIX socket spice-server then sends uncompressed images.
    pub handover: Option<PathBuf>,
}
