//! QEMU as a child process: the command line ([`args`]), the instance's files
//! ([`paths`]), spawning and readiness ([`launcher`]), the accelerator probe ([`accel`]),
//! QMP ([`qmp`]), saving and loading memory images ([`migration`]), the black-screen check
//! ([`screen`]), the SPICE handover ([`handover`]), `qemu-img` ([`img`]) and killing and
//! reaping processes ([`process`]).
//!
//! Nothing here knows about instances or packages: it takes a [`crate::model::Machine`]
//! and a directory, and hands back a running QEMU.

pub mod accel;
pub mod args;
pub mod handover;
pub mod img;
pub mod launcher;
pub mod migration;
pub mod paths;
pub mod process;
pub mod qmp;
pub mod screen;

pub use launcher::{LaunchError, Launched, Launcher};
pub use paths::InstancePaths;
