//! Messages common to every channel (types 1..=8 in both directions).

use crate::channel::ChannelType;
use crate::error::{ProtoError, Result};
use crate::framing::{split_list, SubMessage};
use crate::messages::ClientMessage;
use crate::reader::Reader;
use crate::writer::PutLe;

/// Server → client message numbers.
pub mod msg {
    pub const MIGRATE: u16 = 1;
    pub const MIGRATE_DATA: u16 = 2;
    pub const SET_ACK: u16 = 3;
    pub const PING: u16 = 4;
    pub const WAIT_FOR_CHANNELS: u16 = 5;
    pub const DISCONNECTING: u16 = 6;
    pub const NOTIFY: u16 = 7;
    pub const LIST: u16 = 8;
}

/// Client → server message numbers.
pub mod msgc {
    pub const ACK_SYNC: u16 = 1;
    pub const ACK: u16 = 2;
    pub const PONG: u16 = 3;
    pub const MIGRATE_FLUSH_MARK: u16 = 4;
    pub const MIGRATE_DATA: u16 = 5;
    pub const DISCONNECTING: u16 = 6;
}

/// Channel-specific messages start here; lower numbers belong to this module.
pub const FIRST_CHANNEL_MSG: u16 = 101;

/// Whether `ty` is a base message number, so channel decoders know to delegate here.
pub fn is_base(ty: u16) -> bool {
    (1..FIRST_CHANNEL_MSG).contains(&ty)
}

/// One entry of WAIT_FOR_CHANNELS: "do not process further messages until channel
/// (`channel_type`, `channel_id`) has processed message number `serial`".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitChannel {
    pub channel_type: ChannelType,
    pub channel_id: u8,
    pub serial: u64,
}

pub(crate) fn read_wait_list(r: &mut Reader<'_>) -> Result<Vec<WaitChannel>> {
    let n = r.u8()?;
    r.vec("wait channels", n.into(), 10, |r| {
        Ok(WaitChannel {
            channel_type: ChannelType::from_u8(r.u8()?),
            channel_id: r.u8()?,
            serial: r.u64()?,
        })
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notify {
    pub time_stamp: u64,
    /// 0 info, 1 warning, 2 error.
    pub severity: u32,
    pub visibility: u32,
    pub what: u32,
    /// Lossily decoded: it is only ever logged.
    pub message: String,
}

/// Server → client base messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BaseMsg<'a> {
    /// Only sent if the client advertised migration; carries the migrate flags.
    Migrate {
        flags: u32,
    },
    MigrateData(&'a [u8]),
    /// Answer with [`BaseClientMsg::AckSync`] and then ACK every `window` messages.
    SetAck {
        generation: u32,
        window: u32,
    },
    /// Answer with [`BaseClientMsg::Pong`]; `data` only exists to measure bandwidth.
    Ping {
        id: u32,
        timestamp: u64,
        data: &'a [u8],
    },
    WaitForChannels(Vec<WaitChannel>),
    Disconnecting {
        time_stamp: u64,
        reason: u32,
    },
    Notify(Notify),
    /// Sub-messages in offset-table order; decode each with the channel's decoder and
    /// count the whole LIST as one message for acks and serials.
    List(Vec<SubMessage<'a>>),
}

impl<'a> BaseMsg<'a> {
    pub fn decode(ty: u16, body: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        Ok(match ty {
            msg::MIGRATE => Self::Migrate { flags: r.u32()? },
            msg::MIGRATE_DATA => Self::MigrateData(r.rest()),
            msg::SET_ACK => Self::SetAck {
                generation: r.u32()?,
                window: r.u32()?,
            },
            msg::PING => Self::Ping {
                id: r.u32()?,
                timestamp: r.u64()?,
                data: r.rest(),
            },
            msg::WAIT_FOR_CHANNELS => Self::WaitForChannels(read_wait_list(&mut r)?),
            msg::DISCONNECTING => Self::Disconnecting {
                time_stamp: r.u64()?,
                reason: r.u32()?,
            },
            msg::NOTIFY => {
                let time_stamp = r.u64()?;
                let severity = r.u32()?;
                let visibility = r.u32()?;
                let what = r.u32()?;
                let len = r.u32()?;
                let text = r.bytes_u64(len.into())?;
                // The server appends a NUL that is not counted in `len`; some senders count it.
                let text = text.strip_suffix(&[0]).unwrap_or(text);
                Self::Notify(Notify {
                    time_stamp,
                    severity,
                    visibility,
                    what,
                    message: String::from_utf8_lossy(text).into_owned(),
                })
            }
            msg::LIST => Self::List(split_list(body)?),
            other => {
                return Err(ProtoError::InvalidValue {
                    what: "base message type",
                    value: other.into(),
                })
            }
        })
    }
}

/// Client → server base messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BaseClientMsg {
    AckSync { generation: u32 },
    Ack,
    Pong { id: u32, timestamp: u64 },
    MigrateFlushMark,
    MigrateData(Vec<u8>),
    Disconnecting { time_stamp: u64, reason: u32 },
}

impl BaseClientMsg {
    /// Decodes what [`ClientMessage::encode`] produces (for test servers and round trips).
    pub fn decode(ty: u16, body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        Ok(match ty {
            msgc::ACK_SYNC => Self::AckSync {
                generation: r.u32()?,
            },
            msgc::ACK => Self::Ack,
            msgc::PONG => Self::Pong {
                id: r.u32()?,
                timestamp: r.u64()?,
            },
            msgc::MIGRATE_FLUSH_MARK => Self::MigrateFlushMark,
            msgc::MIGRATE_DATA => Self::MigrateData(r.rest().to_vec()),
            msgc::DISCONNECTING => Self::Disconnecting {
                time_stamp: r.u64()?,
                reason: r.u32()?,
            },
            other => {
                return Err(ProtoError::InvalidValue {
                    what: "base client message type",
                    value: other.into(),
                })
            }
        })
    }
}

impl ClientMessage for BaseClientMsg {
    fn msg_type(&self) -> u16 {
        match self {
            Self::AckSync { .. } => msgc::ACK_SYNC,
            Self::Ack => msgc::ACK,
            Self::Pong { .. } => msgc::PONG,
            Self::MigrateFlushMark => msgc::MIGRATE_FLUSH_MARK,
            Self::MigrateData(_) => msgc::MIGRATE_DATA,
            Self::Disconnecting { .. } => msgc::DISCONNECTING,
        }
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        match self {
            Self::AckSync { generation } => out.put_u32(*generation),
            Self::Ack | Self::MigrateFlushMark => {}
            Self::Pong { id, timestamp } => {
                out.put_u32(*id);
                out.put_u64(*timestamp);
            }
            Self::MigrateData(d) => out.extend_from_slice(d),
            Self::Disconnecting { time_stamp, reason } => {
                out.put_u64(*time_stamp);
                out.put_u32(*reason);
            }
        }
    }
}

/// Names for statistics and logs.
pub fn base_message_name(ty: u16) -> Option<&'static str> {
    Some(match ty {
        msg::MIGRATE => "MIGRATE",
        msg::MIGRATE_DATA => "MIGRATE_DATA",
        msg::SET_ACK => "SET_ACK",
        msg::PING => "PING",
        msg::WAIT_FOR_CHANNELS => "WAIT_FOR_CHANNELS",
        msg::DISCONNECTING => "DISCONNECTING",
        msg::NOTIFY => "NOTIFY",
        msg::LIST => "LIST",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::test_util::assert_prefixes_fail;

    #[test]
    fn client_round_trips() {
        let msgs = [
            BaseClientMsg::AckSync { generation: 7 },
            BaseClientMsg::Ack,
            BaseClientMsg::Pong {
                id: 3,
                timestamp: 0x0102_0304_0506_0708,
            },
            BaseClientMsg::MigrateFlushMark,
            BaseClientMsg::MigrateData(vec![1, 2, 3]),
            BaseClientMsg::Disconnecting {
                time_stamp: 9,
                reason: 1,
            },
        ];
        for m in msgs {
            let (ty, body) = m.encode();
            assert_eq!(BaseClientMsg::decode(ty, &body).unwrap(), m);
        }
        assert_eq!(
            BaseClientMsg::Pong {
                id: 1,
                timestamp: 2
            }
            .encode()
            .1
            .len(),
            12
        );
        assert_eq!(BaseClientMsg::Ack.to_frame(), vec![2, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn server_messages() {
        let mut b = Vec::new();
        b.put_u32(1);
        b.put_u32(20);
        assert_eq!(
            BaseMsg::decode(msg::SET_ACK, &b).unwrap(),
            BaseMsg::SetAck {
                generation: 1,
                window: 20
            }
        );
        assert_prefixes_fail(&b, |p| {
            BaseMsg::decode(msg::SET_ACK, p).map(|m| format!("{m:?}"))
        });

        let mut b = Vec::new();
        b.put_u32(5);
        b.put_u64(77);
        b.extend([0u8; 10]);
        assert_eq!(
            BaseMsg::decode(msg::PING, &b).unwrap(),
            BaseMsg::Ping {
                id: 5,
                timestamp: 77,
                data: &[0; 10]
            }
        );

        let mut b = Vec::new();
        b.put_u64(1);
        b.put_u32(1);
        b.put_u32(0);
        b.put_u32(0);
        b.put_u32(5);
        b.extend(b"hello\0");
        let m = BaseMsg::decode(msg::NOTIFY, &b).unwrap();
        let BaseMsg::Notify(n) = m else { panic!() };
        assert_eq!(n.message, "hello");
        assert_eq!(n.severity, 1);
        assert_prefixes_fail(&b[..b.len() - 1], |p| {
            BaseMsg::decode(msg::NOTIFY, p).map(|m| format!("{m:?}"))
        });

        let mut b = Vec::new();
        b.put_u64(1);
        b.put_u32(3);
        assert_eq!(
            BaseMsg::decode(msg::DISCONNECTING, &b).unwrap(),
            BaseMsg::Disconnecting {
                time_stamp: 1,
                reason: 3
            }
        );
        assert_prefixes_fail(&b, |p| {
            BaseMsg::decode(msg::DISCONNECTING, p).map(|m| format!("{m:?}"))
        });
    }

    #[test]
    fn wait_for_channels_and_huge_count() {
        let b = [1u8, 2, 0, 9, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            BaseMsg::decode(msg::WAIT_FOR_CHANNELS, &b).unwrap(),
            BaseMsg::WaitForChannels(vec![WaitChannel {
                channel_type: ChannelType::Display,
                channel_id: 0,
                serial: 9
            }])
        );
        assert_prefixes_fail(&b, |p| {
            BaseMsg::decode(msg::WAIT_FOR_CHANNELS, p).map(|m| format!("{m:?}"))
        });
        let b = [255u8, 2, 0, 9, 0, 0, 0, 0, 0, 0, 0];
        assert!(matches!(
            BaseMsg::decode(msg::WAIT_FOR_CHANNELS, &b),
            Err(ProtoError::CountTooLarge { .. })
        ));
    }
}
