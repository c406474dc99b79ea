//! Inputs channel: keyboard (PC XT set-1 scancodes) and mouse.

use crate::channel::ChannelType;
use crate::error::{ProtoError, Result};
use crate::messages::base::{is_base, BaseMsg};
use crate::messages::{decode_base_for, ClientMessage};
use crate::reader::Reader;
use crate::writer::PutLe;

/// Server → client message numbers.
pub mod msg {
    pub const INIT: u16 = 101;
    pub const KEY_MODIFIERS: u16 = 102;
    pub const MOUSE_MOTION_ACK: u16 = 111;
}

/// Client → server message numbers.
pub mod msgc {
    pub const KEY_DOWN: u16 = 101;
    pub const KEY_UP: u16 = 102;
    pub const KEY_MODIFIERS: u16 = 103;
    pub const KEY_SCANCODE: u16 = 104;
    pub const MOUSE_MOTION: u16 = 111;
    pub const MOUSE_POSITION: u16 = 112;
    pub const MOUSE_PRESS: u16 = 113;
    pub const MOUSE_RELEASE: u16 = 114;
}

/// Lock-key LED bits (INIT, KEY_MODIFIERS in both directions).
pub mod modifiers {
    pub const SCROLL_LOCK: u16 = 1;
    pub const NUM_LOCK: u16 = 2;
    pub const CAPS_LOCK: u16 = 4;
}

/// Button numbers for MOUSE_PRESS / MOUSE_RELEASE. Wheel steps are a PRESS+RELEASE of
/// UP or DOWN.
pub mod button {
    pub const LEFT: u8 = 1;
    pub const MIDDLE: u8 = 2;
    pub const RIGHT: u8 = 3;
    pub const UP: u8 = 4;
    pub const DOWN: u8 = 5;
    pub const SIDE: u8 = 6;
    pub const EXTRA: u8 = 7;
}

/// Button-state mask bits (`buttons` fields). Note: browsers use right=2, middle=4, the
/// opposite of SPICE, so remap.
pub mod button_mask {
    pub const LEFT: u16 = 1;
    pub const MIDDLE: u16 = 2;
    pub const RIGHT: u16 = 4;
    pub const UP: u16 = 8;
    pub const DOWN: u16 = 16;
    pub const SIDE: u16 = 32;
    pub const EXTRA: u16 = 64;
}

/// The server acks every this many MOUSE_MOTION/MOUSE_POSITION messages.
pub const MOTION_ACK_BUNCH: u32 = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputsMsg<'a> {
    Base(BaseMsg<'a>),
    Init { modifiers: u16 },
    KeyModifiers { modifiers: u16 },
    MouseMotionAck,
}

pub fn decode_inputs(ty: u16, body: &[u8]) -> Result<InputsMsg<'_>> {
    if is_base(ty) {
        return Ok(InputsMsg::Base(decode_base_for(
            ChannelType::Inputs,
            ty,
            body,
        )?));
    }
    let mut r = Reader::new(body);
    Ok(match ty {
        msg::INIT => InputsMsg::Init {
            modifiers: r.u16()?,
        },
        msg::KEY_MODIFIERS => InputsMsg::KeyModifiers {
            modifiers: r.u16()?,
        },
        msg::MOUSE_MOTION_ACK => InputsMsg::MouseMotionAck,
        _ => {
            return Err(ProtoError::UnknownMessage {
                channel: ChannelType::Inputs,
                ty,
            })
        }
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputsClientMsg {
    /// `code` is a set-1 scancode sequence packed low byte first, e.g. Up = 0x48E0.
    KeyDown {
        code: u32,
    },
    /// Release codes have bit 7 set on the scancode byte, e.g. Up release = 0xC8E0.
    KeyUp {
        code: u32,
    },
    KeyModifiers {
        modifiers: u16,
    },
    /// Raw scancode bytes, for sequences longer than 4 bytes.
    KeyScancode(Vec<u8>),
    /// Server mouse mode: relative motion.
    MouseMotion {
        dx: i32,
        dy: i32,
        buttons: u16,
    },
    /// Client mouse mode: absolute position in primary-surface pixels.
    MousePosition {
        x: u32,
        y: u32,
        buttons: u16,
        display_id: u8,
    },
    MousePress {
        button: u8,
        buttons: u16,
    },
    MouseRelease {
        button: u8,
        buttons: u16,
    },
}

impl InputsClientMsg {
    pub fn decode(ty: u16, body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        Ok(match ty {
            msgc::KEY_DOWN => Self::KeyDown { code: r.u32()? },
            msgc::KEY_UP => Self::KeyUp { code: r.u32()? },
            msgc::KEY_MODIFIERS => Self::KeyModifiers {
                modifiers: r.u16()?,
            },
            msgc::KEY_SCANCODE => Self::KeyScancode(r.rest().to_vec()),
            msgc::MOUSE_MOTION => Self::MouseMotion {
                dx: r.i32()?,
                dy: r.i32()?,
                buttons: r.u16()?,
            },
            msgc::MOUSE_POSITION => Self::MousePosition {
                x: r.u32()?,
                y: r.u32()?,
                buttons: r.u16()?,
                display_id: r.u8()?,
            },
            msgc::MOUSE_PRESS => Self::MousePress {
                button: r.u8()?,
                buttons: r.u16()?,
            },
            msgc::MOUSE_RELEASE => Self::MouseRelease {
                button: r.u8()?,
                buttons: r.u16()?,
            },
            _ => {
                return Err(ProtoError::UnknownMessage {
                    channel: ChannelType::Inputs,
                    ty,
                })
            }
        })
    }
}

impl ClientMessage for InputsClientMsg {
    fn msg_type(&self) -> u16 {
        match self {
            Self::KeyDown { .. } => msgc::KEY_DOWN,
            Self::KeyUp { .. } => msgc::KEY_UP,
            Self::KeyModifiers { .. } => msgc::KEY_MODIFIERS,
            Self::KeyScancode(_) => msgc::KEY_SCANCODE,
            Self::MouseMotion { .. } => msgc::MOUSE_MOTION,
            Self::MousePosition { .. } => msgc::MOUSE_POSITION,
            Self::MousePress { .. } => msgc::MOUSE_PRESS,
            Self::MouseRelease { .. } => msgc::MOUSE_RELEASE,
        }
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        match self {
            Self::KeyDown { code } | Self::KeyUp { code } => out.put_u32(*code),
            Self::KeyModifiers { modifiers } => out.put_u16(*modifiers),
            Self::KeyScancode(b) => out.extend_from_slice(b),
            Self::MouseMotion { dx, dy, buttons } => {
                out.put_i32(*dx);
                out.put_i32(*dy);
                out.put_u16(*buttons);
            }
            Self::MousePosition {
                x,
                y,
                buttons,
                display_id,
            } => {
                out.put_u32(*x);
                out.put_u32(*y);
                out.put_u16(*buttons);
                out.put_u8(*display_id);
            }
            Self::MousePress { button, buttons } | Self::MouseRelease { button, buttons } => {
                out.put_u8(*button);
                out.put_u16(*buttons);
            }
        }
    }
}

pub(crate) fn message_name(ty: u16) -> Option<&'static str> {
    Some(match ty {
        msg::INIT => "INIT",
        msg::KEY_MODIFIERS => "KEY_MODIFIERS",
        msg::MOUSE_MOTION_ACK => "MOUSE_MOTION_ACK",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::test_util::assert_prefixes_fail;

    #[test]
    fn client_round_trips_and_sizes() {
        let msgs = [
            (InputsClientMsg::KeyDown { code: 0x48E0 }, 4),
            (InputsClientMsg::KeyUp { code: 0xC8E0 }, 4),
            (
                InputsClientMsg::KeyModifiers {
                    modifiers: modifiers::CAPS_LOCK,
                },
                2,
            ),
            (InputsClientMsg::KeyScancode(vec![0xe1, 0x1d, 0x45]), 3),
            (
                InputsClientMsg::MouseMotion {
                    dx: -5,
                    dy: 7,
                    buttons: button_mask::LEFT,
                },
                10,
            ),
            (
                InputsClientMsg::MousePosition {
                    x: 100,
                    y: 200,
                    buttons: 0,
                    display_id: 0,
                },
                11,
            ),
            (
                InputsClientMsg::MousePress {
                    button: button::RIGHT,
                    buttons: button_mask::RIGHT,
                },
                3,
            ),
            (
                InputsClientMsg::MouseRelease {
                    button: button::UP,
                    buttons: 0,
                },
                3,
            ),
        ];
        for (m, len) in msgs {
            let (ty, body) = m.encode();
            assert_eq!(body.len(), len, "{m:?}");
            assert_eq!(InputsClientMsg::decode(ty, &body).unwrap(), m);
        }
    }

    #[test]
    fn server_messages() {
        assert_eq!(
            decode_inputs(msg::INIT, &[2, 0]).unwrap(),
            InputsMsg::Init { modifiers: 2 }
        );
        assert_prefixes_fail(&[2, 0], |p| {
            decode_inputs(msg::INIT, p).map(|m| format!("{m:?}"))
        });
        assert_prefixes_fail(&[4, 0], |p| {
            decode_inputs(msg::KEY_MODIFIERS, p).map(|m| format!("{m:?}"))
        });
        assert_eq!(
            decode_inputs(msg::MOUSE_MOTION_ACK, &[]).unwrap(),
            InputsMsg::MouseMotionAck
        );
        assert!(decode_inputs(120, &[]).unwrap_err().is_unknown_message());
    }
}
