//! Main channel: session setup, channel list, mouse mode, multimedia time and the agent
//! (vdagent) byte transport.

use crate::channel::ChannelType;
use crate::error::{ProtoError, Result};
use crate::messages::base::{is_base, BaseMsg};
use crate::messages::{decode_base_for, ClientMessage};
use crate::reader::Reader;
use crate::writer::PutLe;

/// Server → client message numbers.
pub mod msg {
    pub const MIGRATE_BEGIN: u16 = 101;
    pub const MIGRATE_CANCEL: u16 = 102;
    pub const INIT: u16 = 103;
    pub const CHANNELS_LIST: u16 = 104;
    pub const MOUSE_MODE: u16 = 105;
    pub const MULTI_MEDIA_TIME: u16 = 106;
    pub const AGENT_CONNECTED: u16 = 107;
    pub const AGENT_DISCONNECTED: u16 = 108;
    pub const AGENT_DATA: u16 = 109;
    pub const AGENT_TOKEN: u16 = 110;
    pub const MIGRATE_SWITCH_HOST: u16 = 111;
    pub const MIGRATE_END: u16 = 112;
    pub const NAME: u16 = 113;
    pub const UUID: u16 = 114;
    pub const AGENT_CONNECTED_TOKENS: u16 = 115;
    pub const MIGRATE_BEGIN_SEAMLESS: u16 = 116;
    pub const MIGRATE_DST_SEAMLESS_ACK: u16 = 117;
    pub const MIGRATE_DST_SEAMLESS_NACK: u16 = 118;
}

/// Client → server message numbers.
pub mod msgc {
    pub const CLIENT_INFO: u16 = 101;
    pub const MIGRATE_CONNECTED: u16 = 102;
    pub const MIGRATE_CONNECT_ERROR: u16 = 103;
    pub const ATTACH_CHANNELS: u16 = 104;
    pub const MOUSE_MODE_REQUEST: u16 = 105;
    pub const AGENT_START: u16 = 106;
    pub const AGENT_DATA: u16 = 107;
    pub const AGENT_TOKEN: u16 = 108;
    pub const MIGRATE_END: u16 = 109;
}

/// Mouse mode flags (MOUSE_MODE, INIT, MOUSE_MODE_REQUEST).
pub mod mouse_mode {
    /// Relative motion; the guest draws the pointer.
    pub const SERVER: u16 = 1;
    /// Absolute positions in primary-surface coordinates.
    pub const CLIENT: u16 = 2;
}

/// Largest AGENT_DATA body the server accepts (VD_AGENT_MAX_DATA_SIZE).
pub const AGENT_MAX_DATA_SIZE: usize = 2048;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MainInit {
    /// Every non-main channel must link with this as `connection_id`.
    pub session_id: u32,
    pub display_channels_hint: u32,
    pub supported_mouse_modes: u32,
    pub current_mouse_mode: u32,
    pub agent_connected: u32,
    pub agent_tokens: u32,
    /// Server mm-time minus 400 ms (MM_TIME_DELTA).
    pub multi_media_time: u32,
    pub ram_hint: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelId {
    pub channel_type: ChannelType,
    pub id: u8,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MainMsg<'a> {
    Base(BaseMsg<'a>),
    Init(MainInit),
    ChannelsList(Vec<ChannelId>),
    MouseMode {
        supported: u16,
        current: u16,
    },
    MultiMediaTime(u32),
    AgentConnected,
    AgentDisconnected {
        error: u32,
    },
    /// A chunk of the agent byte stream; VDAgentMessages may span several chunks.
    AgentData(&'a [u8]),
    AgentToken(u32),
    AgentConnectedTokens(u32),
    /// Guest name, trailing NUL removed, decoded lossily (display only).
    Name(String),
    Uuid([u8; 16]),
    /// Any migration message. A client that advertises no migration caps never receives
    /// these, so they are kept opaque.
    Migration {
        ty: u16,
        data: &'a [u8],
    },
}

pub fn decode_main(ty: u16, body: &[u8]) -> Result<MainMsg<'_>> {
    if is_base(ty) {
        return Ok(MainMsg::Base(decode_base_for(ChannelType::Main, ty, body)?));
    }
    let mut r = Reader::new(body);
    Ok(match ty {
        msg::INIT => MainMsg::Init(MainInit {
            session_id: r.u32()?,
            display_channels_hint: r.u32()?,
            supported_mouse_modes: r.u32()?,
            current_mouse_mode: r.u32()?,
            agent_connected: r.u32()?,
            agent_tokens: r.u32()?,
            multi_media_time: r.u32()?,
            ram_hint: r.u32()?,
        }),
        msg::CHANNELS_LIST => {
            let n = r.u32()?;
            MainMsg::ChannelsList(r.vec("channels", n.into(), 2, |r| {
                Ok(ChannelId {
                    channel_type: ChannelType::from_u8(r.u8()?),
                    id: r.u8()?,
                })
            })?)
        }
        msg::MOUSE_MODE => MainMsg::MouseMode {
            supported: r.u16()?,
            current: r.u16()?,
        },
        msg::MULTI_MEDIA_TIME => MainMsg::MultiMediaTime(r.u32()?),
        msg::AGENT_CONNECTED => MainMsg::AgentConnected,
        msg::AGENT_DISCONNECTED => MainMsg::AgentDisconnected { error: r.u32()? },
        msg::AGENT_DATA => MainMsg::AgentData(r.rest()),
        msg::AGENT_TOKEN => MainMsg::AgentToken(r.u32()?),
        msg::AGENT_CONNECTED_TOKENS => MainMsg::AgentConnectedTokens(r.u32()?),
        msg::NAME => {
            let len = r.u32()?;
            let name = r.bytes_u64(len.into())?;
            let name = name.split(|&b| b == 0).next().unwrap_or(&[]);
            MainMsg::Name(String::from_utf8_lossy(name).into_owned())
        }
        msg::UUID => MainMsg::Uuid(r.array()?),
        msg::MIGRATE_BEGIN
        | msg::MIGRATE_CANCEL
        | msg::MIGRATE_SWITCH_HOST
        | msg::MIGRATE_END
        | msg::MIGRATE_BEGIN_SEAMLESS
        | msg::MIGRATE_DST_SEAMLESS_ACK
        | msg::MIGRATE_DST_SEAMLESS_NACK => MainMsg::Migration { ty, data: r.rest() },
        _ => {
            return Err(ProtoError::UnknownMessage {
                channel: ChannelType::Main,
                ty,
            })
        }
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MainClientMsg {
    /// Legacy; modern servers ignore it.
    ClientInfo {
        cache_size: u64,
    },
    MigrateConnected,
    MigrateConnectError,
    /// Asks the server for CHANNELS_LIST.
    AttachChannels,
    MouseModeRequest {
        mode: u16,
    },
    /// `num_tokens` = how many AGENT_DATA messages the server may send before waiting for
    /// AGENT_TOKEN; clients commonly send `u32::MAX`-like "unlimited" values or 0.
    AgentStart {
        num_tokens: u32,
    },
    /// At most [`AGENT_MAX_DATA_SIZE`] bytes; each costs one server token.
    AgentData(Vec<u8>),
    AgentToken {
        num_tokens: u32,
    },
    MigrateEnd,
}

impl MainClientMsg {
    pub fn decode(ty: u16, body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        Ok(match ty {
            msgc::CLIENT_INFO => Self::ClientInfo {
                cache_size: r.u64()?,
            },
            msgc::MIGRATE_CONNECTED => Self::MigrateConnected,
            msgc::MIGRATE_CONNECT_ERROR => Self::MigrateConnectError,
            msgc::ATTACH_CHANNELS => Self::AttachChannels,
            msgc::MOUSE_MODE_REQUEST => Self::MouseModeRequest { mode: r.u16()? },
            msgc::AGENT_START => Self::AgentStart {
                num_tokens: r.u32()?,
            },
            msgc::AGENT_DATA => Self::AgentData(r.rest().to_vec()),
            msgc::AGENT_TOKEN => Self::AgentToken {
                num_tokens: r.u32()?,
            },
            msgc::MIGRATE_END => Self::MigrateEnd,
            _ => {
                return Err(ProtoError::UnknownMessage {
                    channel: ChannelType::Main,
                    ty,
                })
            }
        })
    }
}

impl ClientMessage for MainClientMsg {
    fn msg_type(&self) -> u16 {
        match self {
            Self::ClientInfo { .. } => msgc::CLIENT_INFO,
            Self::MigrateConnected => msgc::MIGRATE_CONNECTED,
            Self::MigrateConnectError => msgc::MIGRATE_CONNECT_ERROR,
            Self::AttachChannels => msgc::ATTACH_CHANNELS,
            Self::MouseModeRequest { .. } => msgc::MOUSE_MODE_REQUEST,
            Self::AgentStart { .. } => msgc::AGENT_START,
            Self::AgentData(_) => msgc::AGENT_DATA,
            Self::AgentToken { .. } => msgc::AGENT_TOKEN,
            Self::MigrateEnd => msgc::MIGRATE_END,
        }
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        match self {
            Self::ClientInfo { cache_size } => out.put_u64(*cache_size),
            Self::MigrateConnected
            | Self::MigrateConnectError
            | Self::AttachChannels
            | Self::MigrateEnd => {}
            Self::MouseModeRequest { mode } => out.put_u16(*mode),
            Self::AgentStart { num_tokens } | Self::AgentToken { num_tokens } => {
                out.put_u32(*num_tokens)
            }
            Self::AgentData(d) => out.extend_from_slice(d),
        }
    }
}

pub(crate) fn message_name(ty: u16) -> Option<&'static str> {
    Some(match ty {
        msg::MIGRATE_BEGIN => "MIGRATE_BEGIN",
        msg::MIGRATE_CANCEL => "MIGRATE_CANCEL",
        msg::INIT => "INIT",
        msg::CHANNELS_LIST => "CHANNELS_LIST",
        msg::MOUSE_MODE => "MOUSE_MODE",
        msg::MULTI_MEDIA_TIME => "MULTI_MEDIA_TIME",
        msg::AGENT_CONNECTED => "AGENT_CONNECTED",
        msg::AGENT_DISCONNECTED => "AGENT_DISCONNECTED",
        msg::AGENT_DATA => "AGENT_DATA",
        msg::AGENT_TOKEN => "AGENT_TOKEN",
        msg::MIGRATE_SWITCH_HOST => "MIGRATE_SWITCH_HOST",
        msg::MIGRATE_END => "MIGRATE_END",
        msg::NAME => "NAME",
        msg::UUID => "UUID",
        msg::AGENT_CONNECTED_TOKENS => "AGENT_CONNECTED_TOKENS",
        msg::MIGRATE_BEGIN_SEAMLESS => "MIGRATE_BEGIN_SEAMLESS",
        msg::MIGRATE_DST_SEAMLESS_ACK => "MIGRATE_DST_SEAMLESS_ACK",
        msg::MIGRATE_DST_SEAMLESS_NACK => "MIGRATE_DST_SEAMLESS_NACK",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::test_util::{assert_prefixes_fail, assert_prefixes_fail_until};

    #[test]
    fn client_round_trips() {
        let msgs = [
            MainClientMsg::ClientInfo { cache_size: 5 },
            MainClientMsg::MigrateConnected,
            MainClientMsg::MigrateConnectError,
            MainClientMsg::AttachChannels,
            MainClientMsg::MouseModeRequest {
                mode: mouse_mode::CLIENT,
            },
            MainClientMsg::AgentStart { num_tokens: !0 },
            MainClientMsg::AgentData(vec![1, 0, 0, 0, 2]),
            MainClientMsg::AgentToken { num_tokens: 10 },
            MainClientMsg::MigrateEnd,
        ];
        for m in msgs {
            let (ty, body) = m.encode();
            assert_eq!(MainClientMsg::decode(ty, &body).unwrap(), m);
        }
        assert_eq!(
            MainClientMsg::AttachChannels.to_frame(),
            vec![104, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            MainClientMsg::MouseModeRequest { mode: 2 }.to_frame(),
            vec![105, 0, 2, 0, 0, 0, 2, 0]
        );
    }

    #[test]
    fn init() {
        let mut b = Vec::new();
        for v in 1..=8u32 {
            b.put_u32(v);
        }
        let MainMsg::Init(i) = decode_main(msg::INIT, &b).unwrap() else {
            panic!()
        };
        assert_eq!(i.session_id, 1);
        assert_eq!(i.ram_hint, 8);
        assert_eq!(i.agent_tokens, 6);
        assert_prefixes_fail(&b, |p| decode_main(msg::INIT, p).map(|m| format!("{m:?}")));
    }

    #[test]
    fn channels_list() {
        let b = [3, 0, 0, 0, 2, 0, 3, 0, 9, 1];
        let m = decode_main(msg::CHANNELS_LIST, &b).unwrap();
        assert_eq!(
            m,
            MainMsg::ChannelsList(vec![
                ChannelId {
                    channel_type: ChannelType::Display,
                    id: 0
                },
                ChannelId {
                    channel_type: ChannelType::Inputs,
                    id: 0
                },
                ChannelId {
                    channel_type: ChannelType::Usbredir,
                    id: 1
                },
            ])
        );
        assert_prefixes_fail(&b, |p| {
            decode_main(msg::CHANNELS_LIST, p).map(|m| format!("{m:?}"))
        });
        let huge = [0xff, 0xff, 0xff, 0xff, 2, 0];
        assert!(matches!(
            decode_main(msg::CHANNELS_LIST, &huge),
            Err(ProtoError::CountTooLarge { .. })
        ));
    }

    #[test]
    fn small_messages() {
        assert_eq!(
            decode_main(msg::MOUSE_MODE, &[3, 0, 2, 0]).unwrap(),
            MainMsg::MouseMode {
                supported: 3,
                current: 2
            }
        );
        assert_prefixes_fail(&[3, 0, 2, 0], |p| {
            decode_main(msg::MOUSE_MODE, p).map(|m| format!("{m:?}"))
        });
        assert_eq!(
            decode_main(msg::MULTI_MEDIA_TIME, &[1, 0, 0, 0]).unwrap(),
            MainMsg::MultiMediaTime(1)
        );
        assert_eq!(
            decode_main(msg::AGENT_DATA, &[1, 2]).unwrap(),
            MainMsg::AgentData(&[1, 2])
        );
        assert_eq!(
            decode_main(msg::AGENT_CONNECTED_TOKENS, &[10, 0, 0, 0]).unwrap(),
            MainMsg::AgentConnectedTokens(10)
        );
        let name = [4, 0, 0, 0, b'v', b'm', b'1', 0];
        assert_eq!(
            decode_main(msg::NAME, &name).unwrap(),
            MainMsg::Name("vm1".into())
        );
        assert_prefixes_fail(&name, |p| {
            decode_main(msg::NAME, p).map(|m| format!("{m:?}"))
        });
        let uuid: Vec<u8> = (0..16).collect();
        assert_prefixes_fail(&uuid, |p| {
            decode_main(msg::UUID, p).map(|m| format!("{m:?}"))
        });
        assert_prefixes_fail_until(&[1, 2, 3], 0, |p| {
            decode_main(msg::MIGRATE_BEGIN, p).map(|m| format!("{m:?}"))
        });
        assert!(decode_main(msg::SET_ACK_PROBE, &[0; 8]).is_ok());
        assert!(decode_main(200, &[]).unwrap_err().is_unknown_message());
    }

    mod msg {
        pub(crate) use super::super::msg::*;
        pub(crate) const SET_ACK_PROBE: u16 = crate::messages::base::msg::SET_ACK;
    }
}
