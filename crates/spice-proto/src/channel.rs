//! SPICE channel types.

use core::fmt;

/// The kind of a SPICE channel, as carried in the link message and in `CHANNELS_LIST`.
///
/// Unknown values are preserved rather than rejected because servers may list channels a
/// client does not implement; the client simply does not connect to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelType {
    Main,
    Display,
    Inputs,
    Cursor,
    Playback,
    Record,
    Tunnel,
    Smartcard,
    Usbredir,
    Port,
    Webdav,
    Unknown(u8),
}

impl ChannelType {
    pub fn from_u8(v: u8) -> Self {
        match v {
            1 => Self::Main,
            2 => Self::Display,
            3 => Self::Inputs,
            4 => Self::Cursor,
            5 => Self::Playback,
            6 => Self::Record,
            7 => Self::Tunnel,
            8 => Self::Smartcard,
            9 => Self::Usbredir,
            10 => Self::Port,
            11 => Self::Webdav,
            other => Self::Unknown(other),
        }
    }

    pub fn to_u8(self) -> u8 {
        match self {
            Self::Main => 1,
            Self::Display => 2,
            Self::Inputs => 3,
            Self::Cursor => 4,
            Self::Playback => 5,
            Self::Record => 6,
            Self::Tunnel => 7,
            Self::Smartcard => 8,
            Self::Usbredir => 9,
            Self::Port => 10,
            Self::Webdav => 11,
            Self::Unknown(v) => v,
        }
    }

    /// Lower-case name, for logs and statistics.
    pub fn name(self) -> &'static str {
        match self {
            Self::Main => "main",
            Self::Display => "display",
            Self::Inputs => "inputs",
            Self::Cursor => "cursor",
            Self::Playback => "playback",
            Self::Record => "record",
            Self::Tunnel => "tunnel",
            Self::Smartcard => "smartcard",
            Self::Usbredir => "usbredir",
            Self::Port => "port",
            Self::Webdav => "webdav",
            Self::Unknown(_) => "unknown",
        }
    }
}

impl From<u8> for ChannelType {
    fn from(v: u8) -> Self {
        Self::from_u8(v)
    }
}

impl From<ChannelType> for u8 {
    fn from(v: ChannelType) -> Self {
        v.to_u8()
    }
}

impl fmt::Display for ChannelType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unknown(v) => write!(f, "unknown({v})"),
            other => f.write_str(other.name()),
        }
    }
}
