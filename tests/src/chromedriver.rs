//! The Chromium-only names of the browser harness, kept so existing callers (the gateway
//! harness uses [`free_port`]) need no change: the engine-neutral pieces live in
//! [`crate::driver`] (processes) and [`crate::engine`] (which browser, which capabilities).

pub use crate::driver::{free_port, DRIVER_START_TIMEOUT};
pub use crate::engine::{chromium_args, chromium_binary};
