//! The contract between the instance registry and the connections that serve it (the
//! token port and the WebSocket bridge).
//!
//! A connection only ever sees an instance through [`InstanceHandle`], so the token port
//! is tested with a fake registry, and the registry and its engines can change without
//! touching the wire protocol. The data the contract carries (states, events, refusals,
//! where SPICE listens) is the model's.

use std::sync::Arc;

use tokio::sync::broadcast;

pub use crate::model::{ControlError, ControlEvent, SpiceAddress, SpiceEndpoint, VmState};

use crate::instances::{self, Instance};

/// One instance as seen by a connection.
pub trait InstanceHandle: Send + Sync {
    /// The instance id.
    fn id(&self) -> &str;
    /// The package's friendly name (`auth-ok.name`).
    fn name(&self) -> String;
    /// Its state now (`auth-ok.state`).
    fn state(&self) -> VmState;
    /// `auth-ok.limit_mouse_rate` (Hz), from the catalog item.
    fn limit_mouse_rate(&self) -> Option<u32>;
    /// Every state change and startup event, for broadcast to control connections.
    fn subscribe(&self) -> broadcast::Receiver<ControlEvent>;
    /// Records activity (a ping, a new connection, viewer traffic) for the idle timeout.
    fn touch(&self);
    /// How a viewer reaches the display, when the VM is running.
    fn spice(&self) -> Option<SpiceEndpoint>;
    /// The latest `startup-progress` fraction while a memory image loads.
    fn startup_progress(&self) -> Option<f64> {
        None
    }
    /// `start-vm`: boots the VM from stopped, or says why not.
    fn start_vm(&self) -> Result<(), ControlError>;
    /// `stop-vm`: powers the VM off from running, or says why not.
    fn stop_vm(&self) -> Result<(), ControlError>;
    /// `destroy`: kills the VM and deletes the instance.
    fn destroy(&self);
    /// A connection authenticated to it (counted for the disconnect grace).
    fn connected(&self) {}
    /// A connection counted by [`InstanceHandle::connected`] closed.
    fn disconnected(&self) {}
}

/// Finds instances by token.
pub trait Registry: Send + Sync {
    /// The instance whose token equals `token` (compared in constant time), if it exists
    /// and is not destroyed.
    fn authenticate(&self, token: &str) -> Option<Arc<dyn InstanceHandle>>;
    /// `auth-ok.server_timeout_min` / `_max` in seconds.
    fn server_timeouts(&self) -> (u64, u64);
    /// Called for every byte count bridged, for `/metrics`.
    fn count_bridged(&self, bytes: u64);
}

impl InstanceHandle for Arc<Instance> {
    fn id(&self) -> &str {
        Instance::id(self)
    }
    fn name(&self) -> String {
        self.item().meta.title.clone()
    }
    fn state(&self) -> VmState {
        Instance::state(self)
    }
    fn limit_mouse_rate(&self) -> Option<u32> {
        self.item().machine.limit_mouse_rate()
    }
    fn subscribe(&self) -> broadcast::Receiver<ControlEvent> {
        Instance::subscribe(self)
    }
    fn touch(&self) {
        Instance::touch(self)
    }
    fn spice(&self) -> Option<SpiceEndpoint> {
        Instance::spice(self)
    }
    fn startup_progress(&self) -> Option<f64> {
        Instance::startup_progress(self)
    }
    fn start_vm(&self) -> Result<(), ControlError> {
        Instance::start_vm(self)
    }
    fn stop_vm(&self) -> Result<(), ControlError> {
        Instance::stop_vm(self)
    }
    fn destroy(&self) {
        Instance::destroy(self)
    }
    fn connected(&self) {
        Instance::connected(self)
    }
    fn disconnected(&self) {
        Instance::disconnected(self)
    }
}

impl Registry for instances::Registry {
    fn authenticate(&self, token: &str) -> Option<Arc<dyn InstanceHandle>> {
        instances::Registry::authenticate(self, token)
            .map(|i| Arc::new(i) as Arc<dyn InstanceHandle>)
    }
    fn server_timeouts(&self) -> (u64, u64) {
        instances::Registry::server_timeouts(self)
    }
    fn count_bridged(&self, bytes: u64) {
        instances::Registry::count_bridged(self, bytes)
    }
}
