//! End-to-end harness for Olive: builds the test guest (`tests/guest/`), boots it under QEMU
//! (TCG) with SPICE on a UNIX socket, talks to it over two serial ports and QMP, and compares
//! screendumps.
//!
//! Browser end-to-end tests (`tests/browser*.rs`) use [`gateway::TestGateway`] (olive-gateway
//! in-process) and [`browser::Browser`]: Chromium, Firefox or WebKit ([`engine::Engine`])
//! through its WebDriver server ([`driver`]).
//!
//! QEMU-backed tests must run one at a time: take [`lock::qemu_lock`] first (or use
//! [`qemu::Qemu::launch_locked`]).

pub mod a11y;
pub mod browser;
pub mod checks;
pub mod chromedriver;
pub mod driver;
pub mod engine;
pub mod evdev;
pub mod gateway;
pub mod guest;
pub mod guests;
pub mod harvester;
pub mod lock;
pub mod ppm;
pub mod qemu;
pub mod qmp;

pub use guest::{ensure_guest, GuestImages};
pub use lock::{qemu_lock, QemuLock};
pub use olive_test_support::Scratch;
pub use ppm::{compare, compare_with_tolerance, Diff, Rgba};
pub use qemu::{Qemu, QemuConfig, Ready, SerialMark, Vga};
pub use qmp::Qmp;
