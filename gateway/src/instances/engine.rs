//! The seam between the instance lifecycle and the machines VMs run on.
//!
//! The registry decides *when* a VM starts, stops and is destroyed (VMNetX's state machine,
//! the idle timeout, the session limit, capacity); an [`Engine`] decides *how*. Today's
//! engine is a QEMU child process on this host (`crate::engine::QemuEngine`); a VM on
//! another host fits the same trait, because a [`Vm`] is reached by an address
//! ([`SpiceEndpoint`]: a UNIX path or `host:port`, plus an optional handover monitor) and
//! owns its own teardown. The lifecycle's tests use a fake engine under paused tokio time.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::model::{Codec, Item, ItemMeta, SpiceEndpoint};

/// An engine's error; its text is shown to the visitor (`startup-failed`) or the curator.
pub type EngineError = Box<dyn std::error::Error + Send + Sync>;

/// A future an engine hands back (the traits are used as trait objects).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a launch reports while it runs; the lifecycle tells the visitor.
#[derive(Clone, Debug, PartialEq)]
pub enum LaunchEvent {
    /// The fraction of the memory image loaded so far.
    Progress(f64),
    /// The memory image could not be resumed; the engine cold-boots instead. The reason is
    /// for the log.
    MemoryRejected(String),
}

/// One start of an instance's VM.
pub struct LaunchRequest<'a> {
    /// The instance id (names its directory and its log lines).
    pub instance: &'a str,
    /// The item to run.
    pub item: &'a Item,
    /// The SPICE ticket viewers will present.
    pub spice_password: &'a str,
    /// Where the engine reports progress (`startup-progress`, a rejected memory image).
    pub report: &'a (dyn Fn(LaunchEvent) + Send + Sync),
}

/// A VM that is ready for viewers.
pub struct Started {
    /// The running VM.
    pub vm: Arc<dyn Vm>,
    /// It resumed a memory image (clients are told to check the display, as in VMNetX).
    pub resumed: bool,
    /// From the request to readiness.
    pub elapsed: Duration,
}

/// How a VM ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exit {
    /// It stopped by itself (the guest powered off, or the process died); the status text.
    Exited(String),
    /// [`Vm::kill`] ended it.
    Killed,
}

/// What [`Vm::save`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedPackage {
    /// The package's friendly name.
    pub name: String,
    /// Size of the memory image file.
    pub memory_bytes: Option<u64>,
}

/// Where instance VMs run.
pub trait Engine: Send + Sync {
    /// Makes the instance's place before anything runs; returns its local directory (the
    /// instance's files: sockets, logs).
    fn create(&self, instance: &str) -> Result<PathBuf, EngineError>;

    /// Starts a VM of `req.item` for the instance (resuming its memory image on a first
    /// start, as the engine decides) and resolves once it is ready. On error nothing is left
    /// running.
    fn launch<'a>(&'a self, req: LaunchRequest<'a>) -> BoxFuture<'a, Result<Started, EngineError>>;

    /// Deletes everything of the instance; called once its VM is dead.
    fn remove<'a>(&'a self, instance: &'a str) -> BoxFuture<'a, ()>;
}

/// One running VM.
pub trait Vm: Send + Sync {
    /// The process id, when the VM is a local process.
    fn pid(&self) -> Option<u32>;

    /// How viewers reach its display.
    fn spice(&self) -> SpiceEndpoint;

    /// Resolves once the VM has ended, by itself or by [`Vm::kill`].
    fn wait(&self) -> BoxFuture<'_, Exit>;

    /// Hard power-off (VMNetX's stop); resolves once the VM is dead. Idempotent.
    fn kill(&self) -> BoxFuture<'_, ()>;

    /// Saves the running VM as a package in the new directory `out` (the curator's "this
    /// is the moment"); the VM pauses for the save, then continues.
    fn save<'a>(
        &'a self,
        meta: &'a ItemMeta,
        out: &'a Path,
        codec: Codec,
    ) -> BoxFuture<'a, Result<SavedPackage, EngineError>>;
}
