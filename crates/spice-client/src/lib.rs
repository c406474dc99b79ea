//! The sans-IO SPICE client.
//!
//! A [`Session`] is driven by the platform: it asks for transports to be opened, consumes
//! the bytes each channel received, and yields bytes to send plus events (dirty rectangles,
//! cursor changes, errors). Nothing here touches sockets, timers or the DOM, so the browser
//! app and the native tools run the same code.
//!
//! # Sans-IO convention
//!
//! The same in `spice-client` and `netx-proto`, after quinn-proto's shape, so a platform
//! layer learns one way to drive both:
//! - **Time** is a [`std::time::Duration`] since the platform's epoch: any fixed origin
//!   the caller likes (`performance.now()` in a browser, a start `Instant` natively).
//!   Never `std::time::Instant`, which panics on `wasm32-unknown-unknown`, and never a
//!   bare number whose unit the reader has to guess.
//! - **Inputs** are methods named after what happened ([`Session::connected`],
//!   [`Session::receive`], [`Session::transport_closed`], `tick(now)`, the keyboard and
//!   mouse methods); they return nothing, except that user input says whether it was
//!   taken (false while the inputs channel is down). An input that needs the time takes
//!   `now`; [`Session::receive`] uses the time of the last tick, so tick before it.
//! - **Outputs** queue up inside the state machine and are drained in order by a
//!   `poll_*` method ([`Session::poll_output`]) until it returns `None`, after every input.
//! - **Timers**: `next_deadline()` says when `tick(now)` must run next (`None`: no timer);
//!   calling `tick` early is harmless.

pub mod agent;
pub mod cursor;
pub mod display;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod inputs;
mod link;
pub mod playback;
pub mod replay;
pub mod session;
pub mod stats;

pub use error::{ChannelError, DisplayError};
pub use session::{ChannelKey, Compression, Event, Output, Session, SessionConfig};
pub use spice_proto::ChannelType;
