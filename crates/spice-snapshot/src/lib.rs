//! `spice-snapshot` as a library: the native session driver and the actions the tool
//! offers (typing, clicking, writing the screen), shared with the integration tests.

pub mod actions;
pub mod driver;
pub mod gateway;
pub mod png_out;

pub use driver::{Driver, Observed, Target};
