//! The single error type of the crate.

use crate::channel::ChannelType;

/// Result alias used by every decoder in the crate.
pub type Result<T, E = ProtoError> = core::result::Result<T, E>;

/// Everything that can go wrong while encoding or decoding SPICE wire data.
///
/// The type is `Clone + PartialEq` so that stateful users (the [`crate::framing::Deframer`])
/// can keep reporting the error that poisoned a stream, and so tests can compare errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtoError {
    /// The input ended before a field could be read.
    #[error("truncated input: need {needed} bytes at offset {offset}, only {available} available")]
    Truncated {
        offset: usize,
        needed: usize,
        available: usize,
    },
    /// The link header did not start with "REDQ"; the peer is not a SPICE server.
    #[error("bad link magic {0:#010x} (expected \"REDQ\")")]
    BadMagic(u32),
    /// The peer speaks a protocol major version we do not implement.
    #[error("unsupported SPICE protocol version {major}.{minor}")]
    UnsupportedVersion { major: u32, minor: u32 },
    /// A pointer (offset into the message body) is outside the body or points back into
    /// the fixed part of the message, which could only come from a corrupt or hostile peer.
    #[error(
        "bad pointer {pointer:#x} for a {len}-byte body (pointees must lie in {floor}..{len})"
    )]
    BadPointer {
        pointer: u32,
        floor: usize,
        len: usize,
    },
    /// A count field claims more elements than the remaining bytes could hold.
    #[error("{what}: count {count} needs more than the {available} bytes remaining")]
    CountTooLarge {
        what: &'static str,
        count: u64,
        available: usize,
    },
    /// A length field exceeds the configured limit.
    #[error("message of {size} bytes exceeds the limit of {max} bytes")]
    MessageTooLarge { size: u64, max: u64 },
    /// The message type is not known for this channel. Sessions usually log and skip these.
    #[error("unknown message type {ty} on the {channel} channel")]
    UnknownMessage { channel: ChannelType, ty: u16 },
    /// A field holds a value the protocol does not allow here.
    #[error("invalid {what}: {value}")]
    InvalidValue { what: &'static str, value: u64 },
    /// The password does not fit into a SPICE ticket.
    #[error("password is {len} bytes long; SPICE allows at most {max}")]
    PasswordTooLong { len: usize, max: usize },
    /// Key parsing or encryption failed.
    #[error("crypto error: {0}")]
    Crypto(String),
}

impl ProtoError {
    /// Lets a session skip messages it does not understand without string matching.
    pub fn is_unknown_message(&self) -> bool {
        matches!(self, ProtoError::UnknownMessage { .. })
    }
}
