//! The VMNetX 0.5.1 thin-client control protocol, wire-compatible with VMNetX's Python
//! server and clients (`docs/vmnetx-notes.md` §2), for the Olive gateway and the
//! browser client.
//!
//! The crate is sans-IO: no sockets, clocks, timers, threads or global state. It
//! therefore builds for `wasm32-unknown-unknown` as well as natively. Input is treated as hostile: malformed bytes yield [`ProtocolError`],
//! never a panic, and memory is bounded by the bytes actually received (a frame is
//! capped at [`MAX_MESSAGE_SIZE`]; msgpack is validated without materialising it).
//!
//! Map of the crate:
//! - [`message`]: [`ClientMsg`], [`ServerMsg`], their msgpack encoding/decoding.
//! - [`framing`]: length-prefixed frames, incremental [`framing::Decoder`] with
//!   oversized-frame skipping and the hand-over to raw SPICE.
//! - [`client`]: the browser-side state machine (auth, pings, reconnect backoff,
//!   give-up after `server_timeout_max`).
//! - [`eta`]: VMNetX's humanised memory-load ETA.
//! - [`error`]: [`ProtocolError`] and VMNetX's error texts.
//!
//! # Sans-IO convention
//!
//! The same in `netx-proto` and `spice-client`, after quinn-proto's shape, so a platform
//! layer learns one way to drive both:
//! - **Time** is a [`std::time::Duration`] since the platform's epoch: any fixed origin
//!   the caller likes (`performance.now()` in a browser, a start `Instant` natively).
//!   Never `std::time::Instant`, which panics on `wasm32-unknown-unknown`, and never a
//!   bare number whose unit the reader has to guess.
//! - **Inputs** are methods named after what happened (`on_connected`, `on_message`,
//!   `tick(now)`); they return nothing. An input that needs the time takes `now`.
//! - **Outputs** queue up inside the state machine and are drained in order by a
//!   `poll_*` method ([`Client::poll_action`]) until it returns `None`, after every input.
//! - **Timers**: `next_deadline()` says when `tick(now)` must run next (`None`: no timer);
//!   calling `tick` early is harmless.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod client;
pub mod error;
pub mod eta;
pub mod framing;
pub mod message;
mod msgpack;

pub use client::{Action, Client, ClientEvent, ConnState, Role};
pub use error::ProtocolError;
pub use framing::{encode, try_encode, Decoder};
pub use message::{ClientMsg, Decode, Encode, ServerMsg};
pub use msgpack::MAX_DEPTH;

/// Largest accepted payload, in bytes (`_Endpoint.MAX_MESSAGE_SIZE = 1 << 20`). A frame
/// whose length prefix exceeds it is answered with "Message too large" and skipped.
pub const MAX_MESSAGE_SIZE: usize = 1 << 20;

/// VMNetX's default thin-client port (`vmnetx://host[:port]/ID/AUTHCODE`, port omitted
/// when it is this one).
pub const DEFAULT_PORT: u16 = 18923;
