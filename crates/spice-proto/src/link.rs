//! Link stage: the unframed handshake that opens every channel connection.
//!
//! Sequence (per connection): client sends [`LinkMess::encode`]; server answers with a
//! [`LinkHeader`] followed by a [`LinkReply`] body; client sends
//! [`AuthMechanism::encode`] (when it advertised `PROTOCOL_AUTH_SELECTION`) and the
//! 128-byte ticket from [`crate::ticket::encrypt_ticket`]; server answers with a bare
//! u32 link result, see [`decode_link_result`]. After that the channel uses mini-header
//! framing ([`crate::framing`]).

use core::fmt;

use crate::channel::ChannelType;
use crate::error::{ProtoError, Result};
use crate::reader::Reader;
use crate::writer::{len_u32, PutLe};

/// "REDQ" read as a little-endian u32.
pub const LINK_MAGIC: u32 = u32::from_le_bytes(*b"REDQ");
pub const VERSION_MAJOR: u32 = 2;
pub const VERSION_MINOR: u32 = 2;
pub const LINK_HEADER_SIZE: usize = 16;
/// Fixed part of SpiceLinkMess; also the value of its `caps_offset`.
pub const LINK_MESS_SIZE: usize = 18;
/// Fixed part of SpiceLinkReply; also the value of its `caps_offset`.
pub const LINK_REPLY_SIZE: usize = 178;
/// Size of the DER SubjectPublicKeyInfo of the server's RSA-1024 key.
pub const PUB_KEY_SIZE: usize = 162;
/// The server refuses more capability words than this; we apply the same bound to its reply.
pub const MAX_LINK_CAPS: u64 = 1024;
/// Upper bound for `LinkHeader::size`: a reply with the maximum number of caps. Anything
/// larger cannot be a valid link message and is rejected before buffering it.
pub const MAX_LINK_SIZE: u32 = LINK_REPLY_SIZE as u32 + 4 * MAX_LINK_CAPS as u32;
/// Byte length of the link result the server sends after the ticket.
pub const LINK_RESULT_SIZE: usize = 4;

/// SpiceLinkHeader: precedes both the link message and the link reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkHeader {
    pub major: u32,
    pub minor: u32,
    /// Number of bytes that follow the header.
    pub size: u32,
}

impl LinkHeader {
    /// Decodes the first [`LINK_HEADER_SIZE`] bytes of `bytes` (extra bytes are ignored,
    /// so the caller can pass its whole receive buffer).
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let magic = r.u32()?;
        if magic != LINK_MAGIC {
            return Err(ProtoError::BadMagic(magic));
        }
        let major = r.u32()?;
        let minor = r.u32()?;
        let size = r.u32()?;
        if major != VERSION_MAJOR {
            return Err(ProtoError::UnsupportedVersion { major, minor });
        }
        if size > MAX_LINK_SIZE {
            return Err(ProtoError::MessageTooLarge {
                size: size.into(),
                max: MAX_LINK_SIZE.into(),
            });
        }
        Ok(Self { major, minor, size })
    }

    pub fn encode(&self) -> [u8; LINK_HEADER_SIZE] {
        let mut v = Vec::with_capacity(LINK_HEADER_SIZE);
        v.put_u32(LINK_MAGIC);
        v.put_u32(self.major);
        v.put_u32(self.minor);
        v.put_u32(self.size);
        let mut out = [0u8; LINK_HEADER_SIZE];
        out.copy_from_slice(&v);
        out
    }

    fn for_size(size: usize) -> Self {
        Self {
            major: VERSION_MAJOR,
            minor: VERSION_MINOR,
            size: len_u32(size),
        }
    }
}

/// SpiceLinkMess: what the client asks for on a new connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkMess {
    /// 0 for the main channel; the session id from MAIN_INIT for every other channel.
    pub connection_id: u32,
    pub channel_type: ChannelType,
    pub channel_id: u8,
    pub common_caps: Vec<u32>,
    pub channel_caps: Vec<u32>,
}

impl LinkMess {
    /// Link header + link message + caps: everything the client sends first.
    pub fn encode(&self) -> Vec<u8> {
        let caps = self.common_caps.len() + self.channel_caps.len();
        let size = LINK_MESS_SIZE + 4 * caps;
        let mut v = Vec::with_capacity(LINK_HEADER_SIZE + size);
        v.extend_from_slice(&LinkHeader::for_size(size).encode());
        v.put_u32(self.connection_id);
        v.put_u8(self.channel_type.to_u8());
        v.put_u8(self.channel_id);
        v.put_u32(len_u32(self.common_caps.len()));
        v.put_u32(len_u32(self.channel_caps.len()));
        v.put_u32(LINK_MESS_SIZE as u32);
        for &c in self.common_caps.iter().chain(&self.channel_caps) {
            v.put_u32(c);
        }
        v
    }

    /// Decodes the body after the link header (for test servers and fuzzing).
    pub fn decode(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        let connection_id = r.u32()?;
        let channel_type = ChannelType::from_u8(r.u8()?);
        let channel_id = r.u8()?;
        let ncommon = r.u32()?;
        let nchannel = r.u32()?;
        let caps_offset = r.u32()?;
        let (common_caps, channel_caps) =
            read_caps(body, LINK_MESS_SIZE, ncommon, nchannel, caps_offset)?;
        Ok(Self {
            connection_id,
            channel_type,
            channel_id,
            common_caps,
            channel_caps,
        })
    }
}

fn read_caps(
    body: &[u8],
    floor: usize,
    ncommon: u32,
    nchannel: u32,
    caps_offset: u32,
) -> Result<(Vec<u32>, Vec<u32>)> {
    let total = u64::from(ncommon) + u64::from(nchannel);
    if total > MAX_LINK_CAPS {
        return Err(ProtoError::CountTooLarge {
            what: "link capabilities",
            count: total,
            available: body.len(),
        });
    }
    if total == 0 {
        return Ok((Vec::new(), Vec::new()));
    }
    let off = usize::try_from(caps_offset).unwrap_or(usize::MAX);
    if off < floor || off > body.len() {
        return Err(ProtoError::BadPointer {
            pointer: caps_offset,
            floor,
            len: body.len(),
        });
    }
    let mut r = Reader::at(body, off)?;
    let common = r.vec("common caps", ncommon.into(), 4, |r| r.u32())?;
    let channel = r.vec("channel caps", nchannel.into(), 4, |r| r.u32())?;
    Ok((common, channel))
}

/// Link error codes, used in the link reply, the link result and DISCONNECTING.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkError {
    Ok,
    Error,
    InvalidMagic,
    InvalidData,
    VersionMismatch,
    NeedSecured,
    NeedUnsecured,
    PermissionDenied,
    BadConnectionId,
    ChannelNotAvailable,
    Unknown(u32),
}

impl LinkError {
    pub fn from_u32(v: u32) -> Self {
        match v {
            0 => Self::Ok,
            1 => Self::Error,
            2 => Self::InvalidMagic,
            3 => Self::InvalidData,
            4 => Self::VersionMismatch,
            5 => Self::NeedSecured,
            6 => Self::NeedUnsecured,
            7 => Self::PermissionDenied,
            8 => Self::BadConnectionId,
            9 => Self::ChannelNotAvailable,
            other => Self::Unknown(other),
        }
    }

    pub fn to_u32(self) -> u32 {
        match self {
            Self::Ok => 0,
            Self::Error => 1,
            Self::InvalidMagic => 2,
            Self::InvalidData => 3,
            Self::VersionMismatch => 4,
            Self::NeedSecured => 5,
            Self::NeedUnsecured => 6,
            Self::PermissionDenied => 7,
            Self::BadConnectionId => 8,
            Self::ChannelNotAvailable => 9,
            Self::Unknown(v) => v,
        }
    }

    pub fn is_ok(self) -> bool {
        self == Self::Ok
    }
}

impl fmt::Display for LinkError {
    /// Phrased for end users, since these texts end up in the UI.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Self::Ok => "ok",
            Self::Error => "server error",
            Self::InvalidMagic => "invalid magic (not a SPICE peer)",
            Self::InvalidData => "invalid link data",
            Self::VersionMismatch => "protocol version mismatch",
            Self::NeedSecured => "channel requires a secure (TLS) connection",
            Self::NeedUnsecured => "channel requires an unsecured connection",
            Self::PermissionDenied => "permission denied (wrong password?)",
            Self::BadConnectionId => "bad connection id (session expired?)",
            Self::ChannelNotAvailable => "channel not available",
            Self::Unknown(v) => return write!(f, "unknown link error {v}"),
        };
        f.write_str(s)
    }
}

/// SpiceLinkReply: the server's answer to a [`LinkMess`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkReply {
    pub error: LinkError,
    /// DER SubjectPublicKeyInfo of the per-link RSA key; empty when `error` is not `Ok`.
    pub pub_key_der: Vec<u8>,
    pub common_caps: Vec<u32>,
    pub channel_caps: Vec<u32>,
}

impl LinkReply {
    /// Decodes the `header.size` bytes following the [`LinkHeader`].
    ///
    /// A reply carrying an error is accepted with only its error field, because the server
    /// zeroes the rest and the caller only needs the reason.
    pub fn decode(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        let error = LinkError::from_u32(r.u32()?);
        if !error.is_ok() {
            return Ok(Self {
                error,
                pub_key_der: Vec::new(),
                common_caps: Vec::new(),
                channel_caps: Vec::new(),
            });
        }
        let pub_key_der = r.bytes(PUB_KEY_SIZE)?.to_vec();
        let ncommon = r.u32()?;
        let nchannel = r.u32()?;
        let caps_offset = r.u32()?;
        let (common_caps, channel_caps) =
            read_caps(body, LINK_REPLY_SIZE, ncommon, nchannel, caps_offset)?;
        Ok(Self {
            error,
            pub_key_der,
            common_caps,
            channel_caps,
        })
    }

    /// Header + reply, as a server would send it (for test servers). The key is padded or
    /// cut to [`PUB_KEY_SIZE`] because the wire field is fixed-size.
    pub fn encode(&self) -> Vec<u8> {
        let caps = self.common_caps.len() + self.channel_caps.len();
        let size = LINK_REPLY_SIZE + 4 * caps;
        let mut v = Vec::with_capacity(LINK_HEADER_SIZE + size);
        v.extend_from_slice(&LinkHeader::for_size(size).encode());
        v.put_u32(self.error.to_u32());
        let mut key = [0u8; PUB_KEY_SIZE];
        for (d, s) in key.iter_mut().zip(&self.pub_key_der) {
            *d = *s;
        }
        v.extend_from_slice(&key);
        v.put_u32(len_u32(self.common_caps.len()));
        v.put_u32(len_u32(self.channel_caps.len()));
        v.put_u32(LINK_REPLY_SIZE as u32);
        for &c in self.common_caps.iter().chain(&self.channel_caps) {
            v.put_u32(c);
        }
        v
    }
}

/// Authentication mechanism selector, sent before the ticket when the client advertised
/// `PROTOCOL_AUTH_SELECTION`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMechanism {
    Spice,
    Sasl,
}

impl AuthMechanism {
    pub fn to_u32(self) -> u32 {
        match self {
            Self::Spice => 1,
            Self::Sasl => 2,
        }
    }

    pub fn encode(self) -> [u8; 4] {
        self.to_u32().to_le_bytes()
    }
}

/// Decodes the bare u32 the server sends after the ticket.
pub fn decode_link_result(bytes: &[u8]) -> Result<LinkError> {
    Ok(LinkError::from_u32(Reader::new(bytes).u32()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mess() -> LinkMess {
        LinkMess {
            connection_id: 0x1234_5678,
            channel_type: ChannelType::Display,
            channel_id: 1,
            common_caps: vec![0b1001],
            channel_caps: vec![0x113, 0],
        }
    }

    #[test]
    fn link_mess_layout_and_round_trip() {
        let bytes = mess().encode();
        assert_eq!(&bytes[..4], b"REDQ");
        assert_eq!(bytes.len(), 16 + 18 + 12);
        let h = LinkHeader::decode(&bytes).unwrap();
        assert_eq!(
            h,
            LinkHeader {
                major: 2,
                minor: 2,
                size: 30
            }
        );
        assert_eq!(&bytes[16..20], &0x1234_5678u32.to_le_bytes());
        assert_eq!(bytes[20], 2);
        assert_eq!(bytes[21], 1);
        assert_eq!(&bytes[30..34], &18u32.to_le_bytes());
        assert_eq!(LinkMess::decode(&bytes[16..]).unwrap(), mess());
    }

    #[test]
    fn header_rejects_bad_magic_version_and_size() {
        let mut b = mess().encode();
        b[0] = b'X';
        assert!(matches!(
            LinkHeader::decode(&b),
            Err(ProtoError::BadMagic(_))
        ));
        let mut b = mess().encode();
        b[4] = 3;
        assert!(matches!(
            LinkHeader::decode(&b),
            Err(ProtoError::UnsupportedVersion { major: 3, minor: 2 })
        ));
        let mut b = mess().encode();
        b[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            LinkHeader::decode(&b),
            Err(ProtoError::MessageTooLarge { .. })
        ));
        for n in 0..16 {
            assert!(LinkHeader::decode(&mess().encode()[..n]).is_err());
        }
    }

    fn reply() -> LinkReply {
        LinkReply {
            error: LinkError::Ok,
            pub_key_der: (0..162).map(|i| i as u8).collect(),
            common_caps: vec![0b1011],
            channel_caps: vec![7],
        }
    }

    #[test]
    fn link_reply_round_trip_and_truncation() {
        let bytes = reply().encode();
        let h = LinkHeader::decode(&bytes).unwrap();
        assert_eq!(h.size as usize, bytes.len() - 16);
        let body = &bytes[16..];
        assert_eq!(LinkReply::decode(body).unwrap(), reply());
        for n in 0..body.len() {
            assert!(LinkReply::decode(&body[..n]).is_err(), "prefix {n}");
        }
    }

    #[test]
    fn link_reply_error_and_hostile_caps() {
        let mut body = vec![0u8; LINK_REPLY_SIZE];
        body[0] = 7;
        let r = LinkReply::decode(&body).unwrap();
        assert_eq!(r.error, LinkError::PermissionDenied);
        assert_eq!(r.error.to_string(), "permission denied (wrong password?)");

        let mut body = reply().encode()[16..].to_vec();
        body[166..170].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            LinkReply::decode(&body),
            Err(ProtoError::CountTooLarge { .. })
        ));
        let mut body = reply().encode()[16..].to_vec();
        body[174..178].copy_from_slice(&4u32.to_le_bytes());
        assert!(matches!(
            LinkReply::decode(&body),
            Err(ProtoError::BadPointer { .. })
        ));
        let mut body = reply().encode()[16..].to_vec();
        body[174..178].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
        assert!(LinkReply::decode(&body).is_err());
    }

    #[test]
    fn auth_and_result() {
        assert_eq!(AuthMechanism::Spice.encode(), [1, 0, 0, 0]);
        assert_eq!(AuthMechanism::Sasl.to_u32(), 2);
        assert_eq!(decode_link_result(&[0, 0, 0, 0]).unwrap(), LinkError::Ok);
        assert_eq!(
            decode_link_result(&[9, 0, 0, 0]).unwrap(),
            LinkError::ChannelNotAvailable
        );
        assert_eq!(
            decode_link_result(&[42, 0, 0, 0]).unwrap(),
            LinkError::Unknown(42)
        );
        assert!(decode_link_result(&[0, 0, 0]).is_err());
        for v in 0..12 {
            assert_eq!(LinkError::from_u32(v).to_u32(), v);
        }
    }
}
