//! The sans-IO SPICE client.
//!
//! A [`Session`] is driven by the platform: it asks for transports to be opened, consumes
//! the bytes each channel received, and yields bytes to send plus events (dirty rectangles,
//! cursor changes, errors). Nothing here touches sockets, timers or the DOM, so the browser
//! app and the native tools run the same code.

pub mod cursor;
pub mod display;
pub mod error;
pub mod inputs;
mod link;
pub mod playback;
pub mod replay;
pub mod session;
pub mod stats;

pub use error::{ChannelError, DisplayError};
pub use session::{ChannelKey, Compression, Event, Output, Session, SessionConfig};
pub use spice_proto::ChannelType;
