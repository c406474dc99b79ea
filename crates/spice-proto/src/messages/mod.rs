//! Typed channel messages.
//!
//! Server → client messages are decoded into enums that borrow bulk data (image bytes,
//! agent data, cursor pixels) from the message body, so decoding a large DRAW_COPY does
//! not copy its pixels; callers that need to keep data beyond the body's lifetime copy it
//! themselves. Client → server messages are owned and implement [`ClientMessage`].
//!
//! Bytes after a message's last field are ignored, as spice's own demarshaller does, so a
//! newer server appending fields does not break decoding. Channel decoders delegate types
//! below 101 to [`base`], so every channel enum has a `Base(BaseMsg)` variant; a
//! `BaseMsg::List` carries sub-messages that the session decodes with the same channel
//! decoder ([`crate::framing::split_list`] already rejects nested lists).

pub mod base;
pub mod cursor;
pub mod display;
pub mod inputs;
pub mod main;
pub mod playback;

use crate::channel::ChannelType;
use crate::error::{ProtoError, Result};
use crate::framing::encode_message;

pub use base::{BaseClientMsg, BaseMsg};
pub use cursor::{decode_cursor, CursorMsg};
pub use display::{decode_display, DisplayClientMsg, DisplayMsg};
pub use inputs::{decode_inputs, InputsClientMsg, InputsMsg};
pub use main::{decode_main, MainClientMsg, MainMsg};
pub use playback::{decode_playback, PlaybackMsg};

/// A message the client sends. The session adds framing with [`ClientMessage::to_frame`].
pub trait ClientMessage {
    fn msg_type(&self) -> u16;
    fn encode_body(&self, out: &mut Vec<u8>);

    /// Message type and body, for transports that frame themselves.
    fn encode(&self) -> (u16, Vec<u8>) {
        let mut body = Vec::new();
        self.encode_body(&mut body);
        (self.msg_type(), body)
    }

    /// Mini-header framed bytes, ready to send.
    fn to_frame(&self) -> Vec<u8> {
        let (ty, body) = self.encode();
        encode_message(ty, &body)
    }
}

/// A decoded server message of any channel this crate understands.
///
/// Display messages are large (a draw holds up to three decoded images inline), but a
/// message is decoded, handled and dropped one at a time, so boxing would only add an
/// allocation per message.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ServerMsg<'a> {
    Main(MainMsg<'a>),
    Display(DisplayMsg<'a>),
    Inputs(InputsMsg<'a>),
    Cursor(CursorMsg<'a>),
    Playback(PlaybackMsg<'a>),
    /// A base message on a channel whose specific messages this crate does not decode
    /// (record, ...), so such channels can still be kept alive (acks, pings).
    Base(BaseMsg<'a>),
}

/// Decodes a server message for `channel`. Channel-specific messages of channels without
/// a decoder yield [`ProtoError::UnknownMessage`].
pub fn decode_server(channel: ChannelType, ty: u16, body: &[u8]) -> Result<ServerMsg<'_>> {
    Ok(match channel {
        ChannelType::Main => ServerMsg::Main(decode_main(ty, body)?),
        ChannelType::Display => ServerMsg::Display(decode_display(ty, body)?),
        ChannelType::Inputs => ServerMsg::Inputs(decode_inputs(ty, body)?),
        ChannelType::Cursor => ServerMsg::Cursor(decode_cursor(ty, body)?),
        ChannelType::Playback => ServerMsg::Playback(decode_playback(ty, body)?),
        other if base::is_base(ty) => ServerMsg::Base(decode_base_for(other, ty, body)?),
        other => return Err(ProtoError::UnknownMessage { channel: other, ty }),
    })
}

/// Decodes a base message, reporting unknown base numbers against `channel`.
pub(crate) fn decode_base_for(channel: ChannelType, ty: u16, body: &[u8]) -> Result<BaseMsg<'_>> {
    match base::base_message_name(ty) {
        Some(_) => BaseMsg::decode(ty, body),
        None => Err(ProtoError::UnknownMessage { channel, ty }),
    }
}

/// Name of server message `ty` on `channel` ("DRAW_COPY", "SET_ACK", ...), for statistics.
/// Unknown numbers give "UNKNOWN".
pub fn message_name(channel: ChannelType, ty: u16) -> &'static str {
    if let Some(n) = base::base_message_name(ty) {
        return n;
    }
    let n = match channel {
        ChannelType::Main => main::message_name(ty),
        ChannelType::Display => display::message_name(ty),
        ChannelType::Inputs => inputs::message_name(ty),
        ChannelType::Cursor => cursor::message_name(ty),
        ChannelType::Playback => playback::message_name(ty),
        ChannelType::Record => record_message_name(ty),
        _ => None,
    };
    n.unwrap_or("UNKNOWN")
}

fn record_message_name(ty: u16) -> Option<&'static str> {
    Some(match ty {
        101 => "START",
        102 => "STOP",
        103 => "VOLUME",
        104 => "MUTE",
        _ => return None,
    })
}

#[cfg(test)]
pub(crate) mod test_util {
    use core::fmt::Debug;

    /// Every strict prefix of a valid message must decode to an error, never panic.
    pub(crate) fn assert_prefixes_fail<T: Debug>(
        full: &[u8],
        decode: impl Fn(&[u8]) -> crate::Result<T>,
    ) {
        assert!(
            decode(full).is_ok(),
            "full message must decode: {:?}",
            decode(full)
        );
        for n in 0..full.len() {
            let prefix = full.get(..n).unwrap_or(&[]);
            let r = decode(prefix);
            assert!(
                r.is_err(),
                "prefix of {n}/{} bytes decoded: {r:?}",
                full.len()
            );
        }
    }

    /// Like [`assert_prefixes_fail`] for messages ending in "rest of message" data, where
    /// prefixes that keep the fixed part legitimately decode: those only must not panic.
    pub(crate) fn assert_prefixes_fail_until<T: Debug>(
        full: &[u8],
        fixed_len: usize,
        decode: impl Fn(&[u8]) -> crate::Result<T>,
    ) {
        assert!(
            decode(full).is_ok(),
            "full message must decode: {:?}",
            decode(full)
        );
        for n in 0..full.len() {
            let prefix = full.get(..n).unwrap_or(&[]);
            let r = decode(prefix);
            if n < fixed_len {
                assert!(
                    r.is_err(),
                    "prefix of {n}/{} bytes decoded: {r:?}",
                    full.len()
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(message_name(ChannelType::Display, 304), "DRAW_COPY");
        assert_eq!(message_name(ChannelType::Display, 314), "SURFACE_CREATE");
        assert_eq!(message_name(ChannelType::Cursor, 3), "SET_ACK");
        assert_eq!(message_name(ChannelType::Main, 103), "INIT");
        assert_eq!(message_name(ChannelType::Playback, 101), "DATA");
        assert_eq!(message_name(ChannelType::Playback, 107), "LATENCY");
        assert_eq!(message_name(ChannelType::Playback, 108), "UNKNOWN");
        assert_eq!(message_name(ChannelType::Webdav, 101), "UNKNOWN");
    }

    #[test]
    fn decode_server_dispatches() {
        let ping = [1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0];
        assert!(matches!(
            decode_server(ChannelType::Record, 4, &ping),
            Ok(ServerMsg::Base(BaseMsg::Ping {
                id: 1,
                timestamp: 2,
                ..
            }))
        ));
        assert!(matches!(
            decode_server(ChannelType::Record, 101, &ping),
            Err(ProtoError::UnknownMessage {
                channel: ChannelType::Record,
                ty: 101
            })
        ));
        assert!(matches!(
            decode_server(ChannelType::Playback, 4, &ping),
            Ok(ServerMsg::Playback(PlaybackMsg::Base(BaseMsg::Ping {
                id: 1,
                ..
            })))
        ));
        assert!(matches!(
            decode_server(ChannelType::Playback, 101, &ping),
            Ok(ServerMsg::Playback(PlaybackMsg::Data { time: 1, .. }))
        ));
        assert!(matches!(
            decode_server(ChannelType::Playback, 120, &ping),
            Err(ProtoError::UnknownMessage {
                channel: ChannelType::Playback,
                ty: 120
            })
        ));
        assert!(matches!(
            decode_server(ChannelType::Display, 50, &ping),
            Err(ProtoError::UnknownMessage {
                channel: ChannelType::Display,
                ty: 50
            })
        ));
        assert!(decode_server(ChannelType::Inputs, 4, &ping).is_ok());
    }
}
