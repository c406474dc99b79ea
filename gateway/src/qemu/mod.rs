//! QEMU as a child process: command line, spawning, readiness, migration, SPICE handover.

pub mod accel;
pub mod handover;
pub mod launcher;
pub mod migration;
pub mod qmp;
