//! The inputs channel: keyboard scancodes, lock keys and mouse.

#![allow(
    missing_docs,
    reason = "docs still to be written; session.rs, the entry point, is documented"
)]

pub mod keymap;
pub mod motion;
pub mod text;

use std::collections::BTreeSet;

use spice_proto::messages::InputsClientMsg;

use self::keymap::Scancode;
use self::motion::{Motion, MotionThrottle};

/// SPICE mouse buttons (the wire's button numbers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Button {
    Left,
    Middle,
    Right,
    WheelUp,
    WheelDown,
    Side,
    Extra,
}

impl Button {
    fn wire(self) -> u8 {
        match self {
            Button::Left => 1,
            Button::Middle => 2,
            Button::Right => 3,
            Button::WheelUp => 4,
            Button::WheelDown => 5,
            Button::Side => 6,
            Button::Extra => 7,
        }
    }

    fn mask(self) -> u16 {
        1 << (self.wire() - 1)
    }

    /// Maps `MouseEvent.button` (0 main, 1 auxiliary, 2 secondary, 3 back, 4 forward).
    pub fn from_dom(button: i16) -> Option<Button> {
        Some(match button {
            0 => Button::Left,
            1 => Button::Middle,
            2 => Button::Right,
            3 => Button::Side,
            4 => Button::Extra,
            _ => return None,
        })
    }
}

/// Keyboard and mouse state that outlives single events: held keys (to release them when
/// focus goes), held buttons (every mouse message carries the mask) and motion flow.
#[derive(Debug, Default)]
pub struct InputsState {
    held_keys: BTreeSet<(u8, bool)>,
    buttons: u16,
    throttle: MotionThrottle,
    /// Lock-key LEDs as the guest reports them.
    pub guest_leds: u16,
}

impl InputsState {
    pub fn key_down(&mut self, sc: Scancode) -> InputsClientMsg {
        self.held_keys.insert((sc.code, sc.extended));
        InputsClientMsg::KeyDown { code: sc.press() }
    }

    pub fn key_up(&mut self, sc: Scancode) -> InputsClientMsg {
        self.held_keys.remove(&(sc.code, sc.extended));
        InputsClientMsg::KeyUp { code: sc.release() }
    }

    /// Releases every held key and button, e.g. when the page loses focus, so the guest
    /// does not see a key stuck down forever.
    pub fn release_all(&mut self) -> Vec<InputsClientMsg> {
        let mut out: Vec<InputsClientMsg> = std::mem::take(&mut self.held_keys)
            .into_iter()
            .map(|(code, extended)| InputsClientMsg::KeyUp {
                code: Scancode { code, extended }.release(),
            })
            .collect();
        for b in [
            Button::Left,
            Button::Middle,
            Button::Right,
            Button::Side,
            Button::Extra,
        ] {
            if self.buttons & b.mask() != 0 {
                self.buttons &= !b.mask();
                out.push(InputsClientMsg::MouseRelease {
                    button: b.wire(),
                    buttons: self.buttons,
                });
            }
        }
        out
    }

    pub fn position(&mut self, x: u32, y: u32) -> Option<InputsClientMsg> {
        let m = self.throttle.offer(Motion::Absolute {
            x,
            y,
            buttons: self.buttons,
        })?;
        Some(motion_msg(m))
    }

    pub fn motion(&mut self, dx: i32, dy: i32) -> Option<InputsClientMsg> {
        let m = self.throttle.offer(Motion::Relative {
            dx,
            dy,
            buttons: self.buttons,
        })?;
        Some(motion_msg(m))
    }

    pub fn motion_ack(&mut self) -> Option<InputsClientMsg> {
        self.throttle.ack().map(motion_msg)
    }

    /// A button change; withheld motion goes first so the click lands where the pointer
    /// is now.
    pub fn button(&mut self, button: Button, pressed: bool) -> Vec<InputsClientMsg> {
        let mut out: Vec<InputsClientMsg> = self
            .throttle
            .take_pending()
            .map(motion_msg)
            .into_iter()
            .collect();
        if pressed {
            self.buttons |= button.mask();
            out.push(InputsClientMsg::MousePress {
                button: button.wire(),
                buttons: self.buttons,
            });
        } else {
            self.buttons &= !button.mask();
            out.push(InputsClientMsg::MouseRelease {
                button: button.wire(),
                buttons: self.buttons,
            });
        }
        out
    }

    /// One wheel notch: SPICE models it as a press and release of a wheel button.
    pub fn wheel(&mut self, up: bool) -> Vec<InputsClientMsg> {
        let b = if up {
            Button::WheelUp
        } else {
            Button::WheelDown
        };
        let mut out = self.button(b, true);
        out.extend(self.button(b, false));
        out
    }
}

fn motion_msg(m: Motion) -> InputsClientMsg {
    match m {
        Motion::Relative { dx, dy, buttons } => InputsClientMsg::MouseMotion { dx, dy, buttons },
        Motion::Absolute { x, y, buttons } => InputsClientMsg::MousePosition {
            x,
            y,
            buttons,
            display_id: 0,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_all_lets_go_of_keys_and_buttons() {
        let mut s = InputsState::default();
        s.key_down(Scancode {
            code: 0x1e,
            extended: false,
        });
        s.key_down(Scancode {
            code: 0x48,
            extended: true,
        });
        s.button(Button::Left, true);
        let out = s.release_all();
        assert!(out.contains(&InputsClientMsg::KeyUp { code: 0x9e }));
        assert!(out.contains(&InputsClientMsg::KeyUp { code: 0xc8e0 }));
        assert!(out.contains(&InputsClientMsg::MouseRelease {
            button: 1,
            buttons: 0
        }));
        assert!(s.release_all().is_empty());
    }

    #[test]
    fn buttons_mask_follows_presses() {
        let mut s = InputsState::default();
        s.button(Button::Left, true);
        let out = s.button(Button::Right, true);
        assert_eq!(
            out,
            vec![InputsClientMsg::MousePress {
                button: 3,
                buttons: 5
            }]
        );
        assert_eq!(
            s.wheel(true),
            vec![
                InputsClientMsg::MousePress {
                    button: 4,
                    buttons: 13
                },
                InputsClientMsg::MouseRelease {
                    button: 4,
                    buttons: 5
                },
            ]
        );
    }
}
