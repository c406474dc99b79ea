//! The guest agent's messages (spice-vdagent's `VDAgentMessage`), which travel as a byte
//! stream inside main-channel AGENT_DATA messages.
//!
//! Each message is a 20-byte header — `u32 protocol (1), u32 type, u64 opaque, u32 size` —
//! and `size` bytes of body. A message may span several AGENT_DATA messages and one
//! AGENT_DATA may end in the middle of a header, so reassembly is the session's job
//! (`spice-client`'s agent module); this module only encodes and decodes whole messages.
//!
//! Olive announces neither CLIPBOARD_SELECTION nor CLIPBOARD_GRAB_SERIAL, so clipboard
//! bodies carry no selection prefix and grabs no serial: the agent then uses the guest's
//! CLIPBOARD selection only, which is what a visitor's copy and paste mean.

pub use crate::caps::has_cap;
use crate::caps::Caps;
use crate::error::{ProtoError, Result};
use crate::reader::Reader;
use crate::writer::{len_u32, PutLe};

/// `VD_AGENT_PROTOCOL`: the only version there is.
pub const PROTOCOL: u32 = 1;
/// Bytes of a `VDAgentMessage` header.
pub const HEADER_SIZE: usize = 20;

/// `VDAgentMessage` types.
pub mod msg {
    pub const MOUSE_STATE: u32 = 1;
    pub const MONITORS_CONFIG: u32 = 2;
    pub const REPLY: u32 = 3;
    pub const CLIPBOARD: u32 = 4;
    pub const DISPLAY_CONFIG: u32 = 5;
    pub const ANNOUNCE_CAPABILITIES: u32 = 6;
    pub const CLIPBOARD_GRAB: u32 = 7;
    pub const CLIPBOARD_REQUEST: u32 = 8;
    pub const CLIPBOARD_RELEASE: u32 = 9;
    pub const FILE_XFER_START: u32 = 10;
    pub const FILE_XFER_STATUS: u32 = 11;
    pub const FILE_XFER_DATA: u32 = 12;
    pub const CLIENT_DISCONNECTED: u32 = 13;
    pub const MAX_CLIPBOARD: u32 = 14;
    pub const AUDIO_VOLUME_SYNC: u32 = 15;
    pub const GRAPHICS_DEVICE_INFO: u32 = 16;
}

/// Capability bit numbers of ANNOUNCE_CAPABILITIES.
pub mod cap {
    pub const MOUSE_STATE: u32 = 0;
    pub const MONITORS_CONFIG: u32 = 1;
    pub const REPLY: u32 = 2;
    pub const CLIPBOARD: u32 = 3;
    pub const DISPLAY_CONFIG: u32 = 4;
    pub const CLIPBOARD_BY_DEMAND: u32 = 5;
    pub const CLIPBOARD_SELECTION: u32 = 6;
    pub const SPARSE_MONITORS_CONFIG: u32 = 7;
    pub const GUEST_LINEEND_LF: u32 = 8;
    pub const GUEST_LINEEND_CRLF: u32 = 9;
    pub const MAX_CLIPBOARD: u32 = 10;
    pub const AUDIO_VOLUME_SYNC: u32 = 11;
    pub const MONITORS_CONFIG_POSITION: u32 = 12;
    pub const FILE_XFER_DISABLED: u32 = 13;
    pub const FILE_XFER_DETAILED_ERRORS: u32 = 14;
    pub const GRAPHICS_DEVICE_INFO: u32 = 15;
    pub const CLIPBOARD_NO_RELEASE_ON_REGRAB: u32 = 16;
    pub const CLIPBOARD_GRAB_SERIAL: u32 = 17;
}

/// Clipboard data types.
pub mod clipboard {
    pub const NONE: u32 = 0;
    pub const UTF8_TEXT: u32 = 1;
    pub const IMAGE_PNG: u32 = 2;
    pub const IMAGE_BMP: u32 = 3;
    pub const IMAGE_TIFF: u32 = 4;
    pub const IMAGE_JPG: u32 = 5;
    pub const FILE_LIST: u32 = 6;
}

/// Most capability words an announce may carry: 18 bits are defined; 8 words leave room
/// for future ones without letting a hostile agent make us keep kilobytes.
pub const MAX_CAP_WORDS: usize = 8;
/// Most types a CLIPBOARD_GRAB may list (seven are defined).
pub const MAX_GRAB_TYPES: usize = 32;

/// The header in front of every agent message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentHeader {
    pub protocol: u32,
    pub ty: u32,
    pub opaque: u64,
    pub size: u32,
}

impl AgentHeader {
    /// Reads a header from exactly [`HEADER_SIZE`] bytes.
    pub fn decode(bytes: &[u8; HEADER_SIZE]) -> Self {
        let u32_at =
            |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        let mut opaque = [0u8; 8];
        opaque.copy_from_slice(&bytes[8..16]);
        AgentHeader {
            protocol: u32_at(0),
            ty: u32_at(4),
            opaque: u64::from_le_bytes(opaque),
            size: u32_at(16),
        }
    }
}

/// One monitor of a MONITORS_CONFIG (`VDAgentMonConfig`; height comes before width).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonConfig {
    pub width: u32,
    pub height: u32,
    pub depth: u32,
    pub x: i32,
    pub y: i32,
}

/// Messages the agent sends the client (the ones Olive acts on, the rest as [`AgentMsg::Other`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentMsg<'a> {
    AnnounceCapabilities {
        /// The agent wants ours in return.
        request: bool,
        caps: Vec<u32>,
    },
    Reply {
        /// The message type answered.
        ty: u32,
        /// 0 success, 1 error.
        error: u32,
    },
    /// The guest's clipboard holds data of these types.
    ClipboardGrab { types: Vec<u32> },
    /// The guest wants the client's clipboard as `ty`.
    ClipboardRequest { ty: u32 },
    /// Clipboard contents the client asked for.
    Clipboard { ty: u32, data: &'a [u8] },
    /// The guest's clipboard no longer holds what it grabbed.
    ClipboardRelease,
    /// The largest clipboard the guest takes, in bytes (negative: no limit).
    MaxClipboard(i32),
    /// A type Olive does not act on (mouse state, file transfer, volume sync, ...).
    Other(u32),
}

/// Decodes one whole agent message body of type `ty` (as reassembled from AGENT_DATA).
pub fn decode_agent(ty: u32, body: &[u8]) -> Result<AgentMsg<'_>> {
    let mut r = Reader::new(body);
    Ok(match ty {
        msg::ANNOUNCE_CAPABILITIES => {
            let request = r.u32()? != 0;
            AgentMsg::AnnounceCapabilities {
                request,
                caps: words(&mut r, MAX_CAP_WORDS, "agent capability words")?,
            }
        }
        msg::REPLY => AgentMsg::Reply {
            ty: r.u32()?,
            error: r.u32()?,
        },
        msg::CLIPBOARD_GRAB => AgentMsg::ClipboardGrab {
            types: words(&mut r, MAX_GRAB_TYPES, "clipboard grab types")?,
        },
        msg::CLIPBOARD_REQUEST => AgentMsg::ClipboardRequest { ty: r.u32()? },
        msg::CLIPBOARD => AgentMsg::Clipboard {
            ty: r.u32()?,
            data: r.rest(),
        },
        msg::CLIPBOARD_RELEASE => AgentMsg::ClipboardRelease,
        msg::MAX_CLIPBOARD => AgentMsg::MaxClipboard(r.i32()?),
        other => AgentMsg::Other(other),
    })
}

/// The rest of `r` as u32 words, at most `max` of them (trailing odd bytes are ignored, as
/// the agent's own readers do).
fn words(r: &mut Reader<'_>, max: usize, what: &'static str) -> Result<Vec<u32>> {
    let count = r.remaining() / 4;
    if count > max {
        return Err(ProtoError::CountTooLarge {
            what,
            count: count as u64,
            available: max * 4,
        });
    }
    (0..count).map(|_| r.u32()).collect()
}

/// Messages the client sends the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientAgentMsg<'a> {
    AnnounceCapabilities {
        request: bool,
        caps: &'a [u32],
    },
    /// The screen layout the client wants (one entry per monitor).
    MonitorsConfig {
        monitors: &'a [MonConfig],
    },
    /// The client's clipboard holds data of these types.
    ClipboardGrab {
        types: &'a [u32],
    },
    ClipboardRequest {
        ty: u32,
    },
    Clipboard {
        ty: u32,
        data: &'a [u8],
    },
    ClipboardRelease,
    MaxClipboard(i32),
}

impl ClientAgentMsg<'_> {
    /// The message type.
    pub fn ty(&self) -> u32 {
        match self {
            Self::AnnounceCapabilities { .. } => msg::ANNOUNCE_CAPABILITIES,
            Self::MonitorsConfig { .. } => msg::MONITORS_CONFIG,
            Self::ClipboardGrab { .. } => msg::CLIPBOARD_GRAB,
            Self::ClipboardRequest { .. } => msg::CLIPBOARD_REQUEST,
            Self::Clipboard { .. } => msg::CLIPBOARD,
            Self::ClipboardRelease => msg::CLIPBOARD_RELEASE,
            Self::MaxClipboard(_) => msg::MAX_CLIPBOARD,
        }
    }

    /// Header and body, ready to be cut into AGENT_DATA messages.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        match self {
            Self::AnnounceCapabilities { request, caps } => {
                body.put_u32(u32::from(*request));
                caps.iter().for_each(|c| body.put_u32(*c));
            }
            Self::MonitorsConfig { monitors } => {
                body.put_u32(len_u32(monitors.len()));
                body.put_u32(0); // flags: no positions, no physical size
                for m in *monitors {
                    body.put_u32(m.height);
                    body.put_u32(m.width);
                    body.put_u32(m.depth);
                    body.put_i32(m.x);
                    body.put_i32(m.y);
                }
            }
            Self::ClipboardGrab { types } => types.iter().for_each(|t| body.put_u32(*t)),
            Self::ClipboardRequest { ty } => body.put_u32(*ty),
            Self::Clipboard { ty, data } => {
                body.put_u32(*ty);
                body.extend_from_slice(data);
            }
            Self::ClipboardRelease => {}
            Self::MaxClipboard(max) => body.put_i32(*max),
        }
        let mut out = Vec::with_capacity(HEADER_SIZE + body.len());
        out.put_u32(PROTOCOL);
        out.put_u32(self.ty());
        out.put_u64(0);
        out.put_u32(len_u32(body.len()));
        out.extend_from_slice(&body);
        out
    }
}

/// Capability words with the given bits set (the same bit layout as the channels' caps).
pub fn caps_words(bits: &[u32]) -> Vec<u32> {
    bits.iter()
        .fold(Caps::default(), |c, b| c.with(*b))
        .into_words()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(bytes: &[u8]) -> (AgentHeader, &[u8]) {
        let head: &[u8; HEADER_SIZE] = bytes[..HEADER_SIZE].try_into().unwrap();
        (AgentHeader::decode(head), &bytes[HEADER_SIZE..])
    }

    #[test]
    fn monitors_config_puts_height_before_width() {
        let m = MonConfig {
            width: 800,
            height: 600,
            depth: 32,
            x: 0,
            y: 0,
        };
        let bytes = ClientAgentMsg::MonitorsConfig { monitors: &[m] }.encode();
        let (h, body) = split(&bytes);
        assert_eq!((h.protocol, h.ty, h.size), (1, msg::MONITORS_CONFIG, 28));
        assert_eq!(&body[..8], &[1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&body[8..12], &600u32.to_le_bytes());
        assert_eq!(&body[12..16], &800u32.to_le_bytes());
    }

    #[test]
    fn clipboard_round_trips_through_the_agent_decoder() {
        let bytes = ClientAgentMsg::Clipboard {
            ty: clipboard::UTF8_TEXT,
            data: b"hello",
        }
        .encode();
        let (h, body) = split(&bytes);
        assert_eq!(
            decode_agent(h.ty, body).unwrap(),
            AgentMsg::Clipboard {
                ty: clipboard::UTF8_TEXT,
                data: b"hello"
            }
        );
    }

    #[test]
    fn announce_and_grab_are_bounded() {
        let mut body = vec![1, 0, 0, 0];
        body.extend(std::iter::repeat_n(0xff, 4 * (MAX_CAP_WORDS + 1)));
        assert!(decode_agent(msg::ANNOUNCE_CAPABILITIES, &body).is_err());
        let grab = vec![1u8; 4 * (MAX_GRAB_TYPES + 1)];
        assert!(decode_agent(msg::CLIPBOARD_GRAB, &grab).is_err());
        assert_eq!(
            decode_agent(msg::CLIPBOARD_GRAB, &[1, 0, 0, 0, 2, 0, 0, 0]).unwrap(),
            AgentMsg::ClipboardGrab { types: vec![1, 2] }
        );
        assert!(decode_agent(msg::REPLY, &[1, 0]).is_err());
    }

    #[test]
    fn caps_words_sets_and_reads_bits() {
        let w = caps_words(&[cap::MONITORS_CONFIG, cap::CLIPBOARD_BY_DEMAND, 33]);
        assert_eq!(w, vec![0b100010, 0b10]);
        assert!(has_cap(&w, cap::CLIPBOARD_BY_DEMAND));
        assert!(!has_cap(&w, cap::CLIPBOARD_SELECTION));
        assert!(!has_cap(&w, 200));
    }
}
