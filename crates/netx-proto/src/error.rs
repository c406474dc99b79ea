//! Protocol errors, with the exact texts VMNetX puts in its `error` replies.

use crate::MAX_MESSAGE_SIZE;

/// Why an incoming frame could not be turned into a message.
///
/// VMNetX answers every such problem with an `error{message}` and keeps reading the next
/// frame; [`ProtocolError::wire_text`] gives the text it would have sent, so that a Rust
/// peer looks the same to a VMNetX peer (and to anyone reading its logs). `Display` is a
/// more detailed text meant for our own logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// The length prefix exceeds [`MAX_MESSAGE_SIZE`]. The frame's payload is skipped
    /// by the [`crate::framing::Decoder`], so decoding resumes at the next frame.
    #[error("Message too large ({len} bytes, limit {max})", max = MAX_MESSAGE_SIZE)]
    MessageTooLarge {
        /// Declared payload length.
        len: u32,
    },
    /// Not msgpack, not exactly one map, too deeply nested, or no `"_"` key.
    #[error("Invalid message: {reason}")]
    InvalidMessage {
        /// Detail for logs; not sent on the wire.
        reason: &'static str,
    },
    /// `"_"` names no message this side understands (or is not a string).
    #[error("Unknown message type {msg_type:?}")]
    UnknownMessageType {
        /// The type as received, lossily decoded, for logs.
        msg_type: String,
    },
    /// A required field is absent.
    #[error("Missing field in {msg_type} message: '{field}'")]
    MissingField {
        /// Wire name of the message type.
        msg_type: &'static str,
        /// Wire name of the field.
        field: &'static str,
    },
    /// A field is present but of a type we cannot interpret (e.g. a map where a string
    /// belongs). VMNetX has no text for this (Python would have raised a `TypeError`
    /// deep in a signal handler); we answer "Invalid message".
    #[error("Invalid field in {msg_type} message: '{field}'")]
    InvalidField {
        /// Wire name of the message type.
        msg_type: &'static str,
        /// Wire name of the field.
        field: &'static str,
    },
}

impl ProtocolError {
    /// The text a VMNetX 0.5.1 endpoint sends in its `error` reply for this problem.
    ///
    /// Missing fields reproduce a quirk of `vmnetx/protocol.py`: only the *server*
    /// endpoint names the message type (`ServerEndpoint._dispatch`: "Missing field in
    /// authenticate message: 'token'"); the client endpoint, and the shared handler of
    /// the `error` message, say "Missing field in message: 'state'". Which text applies
    /// follows from the message type, since each type travels in one direction only
    /// (`error` travels both ways and uses the shared handler's text).
    pub fn wire_text(&self) -> String {
        match self {
            ProtocolError::MessageTooLarge { .. } => "Message too large".into(),
            ProtocolError::InvalidMessage { .. } | ProtocolError::InvalidField { .. } => {
                "Invalid message".into()
            }
            ProtocolError::UnknownMessageType { .. } => "Unknown message type".into(),
            ProtocolError::MissingField { msg_type, field } => {
                if crate::message::is_client_to_server_type(msg_type) && *msg_type != "error" {
                    format!("Missing field in {msg_type} message: '{field}'")
                } else {
                    format!("Missing field in message: '{field}'")
                }
            }
        }
    }

    pub(crate) fn invalid(reason: &'static str) -> Self {
        ProtocolError::InvalidMessage { reason }
    }
}
