//! Cursor channel: pointer shape and server-side position.

use crate::channel::ChannelType;
use crate::error::{ProtoError, Result};
use crate::messages::base::{is_base, BaseMsg};
use crate::messages::decode_base_for;
use crate::messages::display::Point16;
use crate::reader::Reader;

/// Server → client message numbers.
pub mod msg {
    pub const INIT: u16 = 101;
    pub const RESET: u16 = 102;
    pub const SET: u16 = 103;
    pub const MOVE: u16 = 104;
    pub const HIDE: u16 = 105;
    pub const TRAIL: u16 = 106;
    pub const INVAL_ONE: u16 = 107;
    pub const INVAL_ALL: u16 = 108;
}

/// `Cursor::flags` bits.
pub mod cursor_flags {
    /// No cursor shape (and no header) follows.
    pub const NONE: u16 = 1;
    /// Store the decoded shape under `header.unique`.
    pub const CACHE_ME: u16 = 2;
    /// Header present but no pixel data: look the shape up by `header.unique`.
    pub const FROM_CACHE: u16 = 4;
}

/// Cursor pixel formats (`CursorHeader::kind`).
pub mod cursor_type {
    pub const ALPHA: u8 = 0;
    pub const MONO: u8 = 1;
    pub const COLOR4: u8 = 2;
    pub const COLOR8: u8 = 3;
    pub const COLOR16: u8 = 4;
    pub const COLOR24: u8 = 5;
    pub const COLOR32: u8 = 6;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CursorHeader {
    pub unique: u64,
    pub kind: u8,
    pub width: u16,
    pub height: u16,
    pub hot_x: u16,
    pub hot_y: u16,
}

/// A cursor shape. `data` is everything after the header; its layout depends on
/// `header.kind` and is interpreted by the renderer, which must bounds-check it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor<'a> {
    pub flags: u16,
    pub header: Option<CursorHeader>,
    pub data: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn read(r: &mut Reader<'a>) -> Result<Self> {
        let flags = r.u16()?;
        let header = if flags & cursor_flags::NONE != 0 {
            None
        } else {
            Some(CursorHeader {
                unique: r.u64()?,
                kind: r.u8()?,
                width: r.u16()?,
                height: r.u16()?,
                hot_x: r.u16()?,
                hot_y: r.u16()?,
            })
        };
        Ok(Self {
            flags,
            header,
            data: r.rest(),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CursorMsg<'a> {
    Base(BaseMsg<'a>),
    /// Also clears the cursor cache.
    Init {
        position: Point16,
        trail_length: u16,
        trail_frequency: u16,
        visible: bool,
        cursor: Cursor<'a>,
    },
    /// Clears the cursor cache.
    Reset,
    Set {
        position: Point16,
        visible: bool,
        cursor: Cursor<'a>,
    },
    Move {
        position: Point16,
    },
    Hide,
    Trail {
        length: u16,
        frequency: u16,
    },
    InvalOne {
        id: u64,
    },
    InvalAll,
}

pub fn decode_cursor(ty: u16, body: &[u8]) -> Result<CursorMsg<'_>> {
    if is_base(ty) {
        return Ok(CursorMsg::Base(decode_base_for(
            ChannelType::Cursor,
            ty,
            body,
        )?));
    }
    let mut r = Reader::new(body);
    Ok(match ty {
        msg::INIT => CursorMsg::Init {
            position: Point16::read(&mut r)?,
            trail_length: r.u16()?,
            trail_frequency: r.u16()?,
            visible: r.u8()? != 0,
            cursor: Cursor::read(&mut r)?,
        },
        msg::RESET => CursorMsg::Reset,
        msg::SET => CursorMsg::Set {
            position: Point16::read(&mut r)?,
            visible: r.u8()? != 0,
            cursor: Cursor::read(&mut r)?,
        },
        msg::MOVE => CursorMsg::Move {
            position: Point16::read(&mut r)?,
        },
        msg::HIDE => CursorMsg::Hide,
        msg::TRAIL => CursorMsg::Trail {
            length: r.u16()?,
            frequency: r.u16()?,
        },
        msg::INVAL_ONE => CursorMsg::InvalOne { id: r.u64()? },
        msg::INVAL_ALL => CursorMsg::InvalAll,
        _ => {
            return Err(ProtoError::UnknownMessage {
                channel: ChannelType::Cursor,
                ty,
            })
        }
    })
}

pub(crate) fn message_name(ty: u16) -> Option<&'static str> {
    Some(match ty {
        msg::INIT => "INIT",
        msg::RESET => "RESET",
        msg::SET => "SET",
        msg::MOVE => "MOVE",
        msg::HIDE => "HIDE",
        msg::TRAIL => "TRAIL",
        msg::INVAL_ONE => "INVAL_ONE",
        msg::INVAL_ALL => "INVAL_ALL",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::test_util::{assert_prefixes_fail, assert_prefixes_fail_until};
    use crate::writer::PutLe;

    fn set_with_header() -> Vec<u8> {
        let mut b = Vec::new();
        b.put_u16(10);
        b.put_u16((-3i16) as u16);
        b.put_u8(1);
        b.put_u16(cursor_flags::CACHE_ME);
        b.put_u64(0xabcdef);
        b.put_u8(cursor_type::ALPHA);
        b.put_u16(2);
        b.put_u16(2);
        b.put_u16(1);
        b.put_u16(0);
        b.extend([0x11u8; 16]);
        b
    }

    #[test]
    fn set_with_header_decodes() {
        let b = set_with_header();
        let m = decode_cursor(msg::SET, &b).unwrap();
        let CursorMsg::Set {
            position,
            visible,
            cursor,
        } = m
        else {
            panic!("{m:?}")
        };
        assert_eq!(position, Point16 { x: 10, y: -3 });
        assert!(visible);
        assert_eq!(cursor.flags, cursor_flags::CACHE_ME);
        let h = cursor.header.unwrap();
        assert_eq!(
            (h.unique, h.kind, h.width, h.height, h.hot_x, h.hot_y),
            (0xabcdef, 0, 2, 2, 1, 0)
        );
        assert_eq!(cursor.data, &[0x11; 16]);
        // Position, visible, flags and the 17-byte header are mandatory.
        assert_prefixes_fail_until(&b, 5 + 2 + 17, |p| {
            decode_cursor(msg::SET, p).map(|m| format!("{m:?}"))
        });
    }

    #[test]
    fn init_none_and_simple_messages() {
        let mut b = Vec::new();
        b.put_u16(1);
        b.put_u16(2);
        b.put_u16(0);
        b.put_u16(0);
        b.put_u8(0);
        b.put_u16(cursor_flags::NONE);
        let m = decode_cursor(msg::INIT, &b).unwrap();
        assert!(matches!(
            m,
            CursorMsg::Init {
                visible: false,
                cursor: Cursor { header: None, .. },
                ..
            }
        ));
        assert_prefixes_fail(&b, |p| {
            decode_cursor(msg::INIT, p).map(|m| format!("{m:?}"))
        });
        assert_prefixes_fail(&[1, 0, 2, 0], |p| {
            decode_cursor(msg::MOVE, p).map(|m| format!("{m:?}"))
        });
        assert_prefixes_fail(&[1, 0, 0, 0, 0, 0, 0, 0], |p| {
            decode_cursor(msg::INVAL_ONE, p).map(|m| format!("{m:?}"))
        });
        assert_eq!(
            decode_cursor(msg::INVAL_ALL, &[]).unwrap(),
            CursorMsg::InvalAll
        );
        assert_eq!(decode_cursor(msg::HIDE, &[]).unwrap(), CursorMsg::Hide);
        assert!(decode_cursor(99, &[]).unwrap_err().is_unknown_message());
    }
}
