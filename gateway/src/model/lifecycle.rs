//! An instance's life as its clients see it: VMNetX's states and events, and where its
//! display is reached.

use std::path::PathBuf;

/// VMNetX's controller states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VmState {
    /// No QEMU process; the overlay is kept, so `start-vm` boots the guest's own writes.
    Stopped,
    /// QEMU is starting or loading a memory image; clients see progress.
    Starting,
    /// The guest runs and viewers may connect.
    Running,
    /// A power-off is under way; becomes `Stopped`.
    Stopping,
    /// Gone for good: the directory is deleted and the id no longer resolves.
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
    /// `startup-progress`: how far loading a memory image has come.
    StartupProgress {
        /// 0.0 to 1.0 of the image's bytes fed to QEMU.
        fraction: f64,
    },
    /// `startup-rejected-memory`: the memory image could not be loaded; the guest boots cold.
    StartupRejectedMemory,
    /// `message` is shown to the visitor.
    StartupFailed {
        /// The reason, in plain words.
        message: String,
    },
    /// `vm-started`: the guest runs.
    VmStarted {
        /// True after resuming a memory image, so the client checks for a black screen.
        check_display: bool,
    },
    /// `vm-stopped`: QEMU is gone; `start-vm` may boot it again.
    VmStopped,
    /// `vm-destroyed`: the instance is gone; clients should disconnect.
    VmDestroyed,
}

/// Why an operation requested over the control connection was refused; the text goes to
/// the client in an `error` message (VMNetX's words).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// `start-vm` while the VM is not stopped.
    #[error("Can't start VM unless it is stopped")]
    NotStopped,
    /// `stop-vm` while the VM is not running.
    #[error("Can't stop VM unless it is running")]
    NotRunning,
    /// A viewer asked for the display but the VM has none to hand out (not running, or the handover failed).
    #[error("Couldn't connect viewer")]
    ViewerUnavailable,
    /// The gateway is stopping and accepts no more operations.
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
    /// Where the SPICE server listens.
    pub address: SpiceAddress,
    /// A QMP monitor through which a viewer's socket is handed to SPICE as a TCP peer
    /// (`qemu::handover`), when there is one. Without it viewers connect to `address`;
    /// over a UNIX socket spice-server then sends uncompressed images.
    pub handover: Option<PathBuf>,
}
