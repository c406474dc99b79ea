//! The token port and the `/ws` bridge, end to end.
//!
//! Most checks run against an in-test registry whose "SPICE socket" is a local UNIX server
//! (echo, flood, or sink), so the protocol edge cases are fast and exact. One test boots the
//! real test guest under QEMU in a gateway configured like the demo and snapshots it through
//! `/ws` with `spice-snapshot`'s driver, as its `--gateway` command line does (no `Origin`),
//! comparing with QMP screendump pixel for pixel.

#[path = "../common/mod.rs"]
mod common;
mod fake;
mod qemu;
mod token_port;
mod ws;
