//! The contract between the instance registry and the connections that serve it (the
//! token port and the WebSocket bridge).
//!
//! The registry owns instances and their VMs; a connection only ever sees an instance
//! through [`InstanceHandle`], so the token port can be tested with a fake registry
//! and the launcher can change without touching the wire protocol.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::broadcast;

/// VMNetX's controller states, as `auth-ok.state` spells them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VmState {
    Stopped,
    Starting,
    Running,
    Stopping,
    Destroyed,
}

impl VmState {
    /// The `auth-ok` wire string; destroyed instances are never authenticated, so
    /// "unknown" is what VMNetX sent for anything else.
    pub fn wire(self) -> &'static str {
        match self {
            VmState::Stopped => "stopped",
            VmState::Starting => "starting",
            VmState::Running => "running",
            VmState::Stopping => "stopping",
            VmState::Destroyed => "unknown",
        }
    }
}

/// What every authenticated control connection of an instance is told.
#[derive(Clone, Debug, PartialEq)]
pub enum ControlEvent {
    StartupProgress { fraction: f64 },
    StartupRejectedMemory,
    StartupFailed { message: String },
    VmStarted { check_display: bool },
    VmStopped,
    VmDestroyed,
}

/// Why an operation requested over the control connection was refused; the text goes
/// to the client in an `error` message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error("Can't start VM unless it is stopped")]
    NotStopped,
    #[error("Can't stop VM unless it is running")]
    NotRunning,
    #[error("Couldn't connect viewer")]
    ViewerUnavailable,
    #[error("{0}")]
    Failed(String),
}

/// One instance as seen by a connection.
pub trait InstanceHandle: Send + Sync {
    fn id(&self) -> &str;
    /// The package's friendly name (`auth-ok.name`).
    fn name(&self) -> String;
    fn state(&self) -> VmState;
    /// `auth-ok.limit_mouse_rate` (Hz), from the catalog item.
    fn limit_mouse_rate(&self) -> Option<u32>;
    /// Every state change and startup event, for broadcast to control connections.
    fn subscribe(&self) -> broadcast::Receiver<ControlEvent>;
    /// Records activity (a ping, a new connection, viewer traffic) for the idle timeout.
    fn touch(&self);
    /// The VM's SPICE UNIX socket, when it is running.
    fn spice_socket(&self) -> Option<PathBuf>;
    /// The QMP monitor through which a viewer's socket is handed to SPICE as TCP (see
    /// [`crate::qemu::handover`]), when the VM is running. Without one, viewers connect to
    /// [`InstanceHandle::spice_socket`] and get uncompressed images.
    fn spice_monitor(&self) -> Option<PathBuf> {
        None
    }
    /// The latest `startup-progress` fraction while a memory image loads.
    fn startup_progress(&self) -> Option<f64> {
        None
    }
    fn start_vm(&self) -> Result<(), ControlError>;
    fn stop_vm(&self) -> Result<(), ControlError>;
    fn destroy(&self);
}

/// Finds instances by token.
pub trait Registry: Send + Sync {
    /// The instance whose token equals `token` (compared in constant time), if it exists
    /// and is not destroyed.
    fn authenticate(&self, token: &str) -> Option<Arc<dyn InstanceHandle>>;
    /// `auth-ok.server_timeout_min` / `_max` in seconds (idle timeout, and idle timeout
    /// plus the garbage collector's period).
    fn server_timeouts(&self) -> (u64, u64);
    /// Called for every byte count bridged, for `/metrics`.
    fn count_bridged(&self, bytes: u64);
}
