//! Errors of the client state machines.

#![allow(
    missing_docs,
    reason = "docs still to be written; session.rs, the entry point, is documented"
)]

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DisplayError {
    #[error("surface {width}x{height} is larger than this client accepts")]
    SurfaceTooLarge { width: u32, height: u32 },
    #[error("surface format {0} is not supported")]
    UnsupportedSurfaceFormat(u32),
    #[error("surface {0} does not exist")]
    NoSuchSurface(u32),
    #[error("image {0:#x} is not in the cache")]
    NotInCache(u64),
    #[error("palette {0:#x} is not in the cache")]
    PaletteNotInCache(u64),
    #[error("image type {0} is not supported yet")]
    UnsupportedImage(&'static str),
    #[error("the server overfilled the image cache ({needed} pixels, {budget} offered)")]
    CacheOverflow { needed: u64, budget: u64 },
    #[error("image decoding failed: {0}")]
    Codec(String),
    /// A stroke, glyph string or coverage area beyond what one draw may reasonably need.
    #[error("draw too large ({0} points or pixels)")]
    DrawTooLarge(u64),
    #[error("stream {0} does not exist")]
    NoSuchStream(u32),
    #[error("stream id {0} is out of range")]
    StreamIdOutOfRange(u32),
}

/// Why a channel failed. Every one of these reaches the caller as an event: a channel that
/// dies silently (VMNetX once lost its guest cursor for months that way) is a bug.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ChannelError {
    #[error("the server refused the link: {0}")]
    LinkRefused(spice_proto::link::LinkError),
    #[error("protocol violation: {0}")]
    Protocol(#[from] spice_proto::ProtoError),
    #[error("display error: {0}")]
    Display(#[from] DisplayError),
    #[error("the server disconnected the channel: {0}")]
    Disconnected(String),
    #[error("the connection closed: {0}")]
    TransportClosed(String),
    #[error("{0}")]
    Unexpected(String),
}
