//! Touch as a mouse: the gesture recognizer, free of the DOM (times in ms, positions in
//! CSS pixels), so it is unit-tested natively.
//!
//! | gesture | absolute (client) mouse mode | relative (server) mouse mode |
//! |---|---|---|
//! | tap | left click where tapped | left click where the pointer is |
//! | long press ([`LONG_PRESS_MS`], no movement) | right click there | right click |
//! | one finger drag | left button held, pointer follows the finger | pointer moves like on a touchpad (no button) |
//! | two-finger tap | right click | right click |
//! | two-finger drag up/down | wheel notches ([`SCROLL_STEP_PX`] each) | wheel notches |
//!
//! In absolute mode the pointer jumps to the finger at once (a tap must click where it
//! lands); a finger that moves less than [`SLOP_PX`] is still a tap, so jitter never turns
//! a tap into a drag.

/// How far (CSS px) a finger may wander and still tap.
pub(crate) const SLOP_PX: f64 = 10.0;
/// A finger held this long without moving is a right click.
pub(crate) const LONG_PRESS_MS: f64 = 500.0;
/// Two-finger travel (CSS px) per wheel notch.
pub(crate) const SCROLL_STEP_PX: f64 = 30.0;
/// At most this many touches are tracked (the rest are ignored).
pub(crate) const MAX_TOUCHES: usize = 5;

/// A mouse button a gesture presses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TouchButton {
    /// Taps (in both modes) and one-finger drags in absolute mode.
    Left,
    /// Long press and two-finger tap: a touch screen has no second button.
    Right,
}

/// What the guest's mouse should do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum TouchOut {
    /// Absolute mode: the pointer to this client (viewport) position.
    MoveTo { x: f64, y: f64 },
    /// Relative mode: move by this much (CSS px).
    MoveBy { dx: f64, dy: f64 },
    /// Press or release a button at the pointer's current position (a click is a down
    /// and an up in a row).
    Button { button: TouchButton, down: bool },
    /// One wheel notch; `up` scrolls the content towards its top (fingers moving down).
    Wheel { up: bool },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Idle,
    /// One finger down, not moved past the slop yet.
    Pending {
        x0: f64,
        y0: f64,
        t0: f64,
    },
    /// One finger moving: left held (absolute) or touchpad motion (relative).
    Dragging,
    /// The long press fired; the rest of this touch does nothing.
    Done,
    /// Two fingers: the midpoint's y when the last notch was sent; `moved` once a notch
    /// (or the slop) was passed, so lifting is not a two-finger tap.
    TwoFinger {
        y: f64,
        y0: f64,
        moved: bool,
    },
}

/// The recognizer for one canvas.
#[derive(Debug)]
pub(crate) struct Gestures {
    relative: bool,
    touches: Vec<(i32, f64, f64)>,
    state: State,
}

impl Default for Gestures {
    fn default() -> Self {
        Gestures {
            relative: false,
            touches: Vec::new(),
            state: State::Idle,
        }
    }
}

impl Gestures {
    /// Switches between absolute (client) and relative (server) mouse mode.
    pub(crate) fn set_relative(&mut self, relative: bool) {
        self.relative = relative;
    }

    /// A finger touched at (x, y) at time `t`.
    pub(crate) fn start(&mut self, id: i32, x: f64, y: f64, t: f64) -> Vec<TouchOut> {
        if self.touches.len() >= MAX_TOUCHES || self.touches.iter().any(|(i, ..)| *i == id) {
            return Vec::new();
        }
        self.touches.push((id, x, y));
        let mut out = Vec::new();
        match (self.touches.len(), self.state) {
            (1, _) => {
                self.state = State::Pending {
                    x0: x,
                    y0: y,
                    t0: t,
                };
                if !self.relative {
                    out.push(TouchOut::MoveTo { x, y });
                }
            }
            (2, State::Pending { .. }) => {
                let y = self.mid_y();
                self.state = State::TwoFinger {
                    y,
                    y0: y,
                    moved: false,
                };
            }
            (2, State::Dragging) => {
                // A second finger during a drag ends the drag and starts a scroll.
                if !self.relative {
                    out.push(TouchOut::Button {
                        button: TouchButton::Left,
                        down: false,
                    });
                }
                let y = self.mid_y();
                self.state = State::TwoFinger {
                    y,
                    y0: y,
                    moved: true,
                };
            }
            _ => {}
        }
        out
    }

    /// A finger moved.
    pub(crate) fn moved(&mut self, id: i32, x: f64, y: f64, _t: f64) -> Vec<TouchOut> {
        let Some(i) = self.touches.iter().position(|(i, ..)| *i == id) else {
            return Vec::new();
        };
        let (_, px, py) = self.touches[i];
        self.touches[i] = (id, x, y);
        let mut out = Vec::new();
        match self.state {
            State::Pending { x0, y0, .. }
                if self.touches.len() == 1 && (x - x0).hypot(y - y0) > SLOP_PX =>
            {
                self.state = State::Dragging;
                if self.relative {
                    out.push(TouchOut::MoveBy {
                        dx: x - x0,
                        dy: y - y0,
                    });
                } else {
                    out.push(TouchOut::Button {
                        button: TouchButton::Left,
                        down: true,
                    });
                    out.push(TouchOut::MoveTo { x, y });
                }
            }
            State::Dragging if self.touches.len() == 1 => {
                if self.relative {
                    out.push(TouchOut::MoveBy {
                        dx: x - px,
                        dy: y - py,
                    });
                } else {
                    out.push(TouchOut::MoveTo { x, y });
                }
            }
            State::TwoFinger { y: last, y0, moved } => {
                let mid = self.mid_y();
                let mut last = last;
                let mut moved = moved || (mid - y0).abs() > SLOP_PX;
                while (mid - last).abs() >= SCROLL_STEP_PX {
                    let down = mid > last;
                    out.push(TouchOut::Wheel { up: down });
                    last += if down {
                        SCROLL_STEP_PX
                    } else {
                        -SCROLL_STEP_PX
                    };
                    moved = true;
                }
                self.state = State::TwoFinger { y: last, y0, moved };
            }
            _ => {}
        }
        out
    }

    /// A finger lifted (or the touch was cancelled).
    pub(crate) fn end(&mut self, id: i32, _t: f64) -> Vec<TouchOut> {
        let Some(i) = self.touches.iter().position(|(i, ..)| *i == id) else {
            return Vec::new();
        };
        self.touches.remove(i);
        let mut out = Vec::new();
        let left = self.touches.len();
        match self.state {
            State::Pending { .. } if left == 0 => out.extend(click(TouchButton::Left)),
            State::Dragging if left == 0 && !self.relative => {
                out.push(TouchOut::Button {
                    button: TouchButton::Left,
                    down: false,
                });
            }
            State::TwoFinger { moved: false, .. } => {
                out.extend(click(TouchButton::Right));
                self.state = State::Done;
            }
            State::TwoFinger { .. } => self.state = State::Done,
            _ => {}
        }
        if left == 0 {
            self.state = State::Idle;
        }
        out
    }

    /// Time passed: a finger held still long enough is a right click.
    pub(crate) fn tick(&mut self, t: f64) -> Vec<TouchOut> {
        match self.state {
            State::Pending { t0, .. } if self.touches.len() == 1 && t - t0 >= LONG_PRESS_MS => {
                self.state = State::Done;
                click(TouchButton::Right).to_vec()
            }
            _ => Vec::new(),
        }
    }

    /// When [`Gestures::tick`] should be called next, if ever.
    pub(crate) fn next_deadline(&self) -> Option<f64> {
        match self.state {
            State::Pending { t0, .. } if self.touches.len() == 1 => Some(t0 + LONG_PRESS_MS),
            _ => None,
        }
    }

    /// Forgets every touch (focus lost; the session releases its buttons itself).
    pub(crate) fn reset(&mut self) {
        self.touches.clear();
        self.state = State::Idle;
    }

    fn mid_y(&self) -> f64 {
        let n = self.touches.len().max(1) as f64;
        self.touches.iter().map(|(_, _, y)| y).sum::<f64>() / n
    }
}

fn click(button: TouchButton) -> [TouchOut; 2] {
    [
        TouchOut::Button { button, down: true },
        TouchOut::Button {
            button,
            down: false,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use TouchButton::{Left, Right};

    fn b(button: TouchButton, down: bool) -> TouchOut {
        TouchOut::Button { button, down }
    }

    #[test]
    fn tap_clicks_where_it_lands() {
        let mut g = Gestures::default();
        assert_eq!(
            g.start(1, 100.0, 50.0, 0.0),
            vec![TouchOut::MoveTo { x: 100.0, y: 50.0 }]
        );
        // Jitter within the slop is still a tap.
        assert_eq!(g.moved(1, 104.0, 53.0, 40.0), vec![]);
        assert_eq!(g.end(1, 80.0), vec![b(Left, true), b(Left, false)]);
        assert_eq!(g.next_deadline(), None);
    }

    #[test]
    fn long_press_is_a_right_click() {
        let mut g = Gestures::default();
        g.start(1, 10.0, 10.0, 1000.0);
        assert_eq!(g.next_deadline(), Some(1000.0 + LONG_PRESS_MS));
        assert_eq!(g.tick(1400.0), vec![]);
        assert_eq!(g.tick(1500.0), vec![b(Right, true), b(Right, false)]);
        assert_eq!(g.tick(1600.0), vec![]);
        assert_eq!(g.end(1, 1700.0), vec![]);
    }

    #[test]
    fn drag_holds_the_left_button() {
        let mut g = Gestures::default();
        g.start(1, 10.0, 10.0, 0.0);
        assert_eq!(
            g.moved(1, 40.0, 10.0, 50.0),
            vec![b(Left, true), TouchOut::MoveTo { x: 40.0, y: 10.0 }]
        );
        assert_eq!(
            g.moved(1, 60.0, 20.0, 60.0),
            vec![TouchOut::MoveTo { x: 60.0, y: 20.0 }]
        );
        // No long press once moving.
        assert_eq!(g.tick(5000.0), vec![]);
        assert_eq!(g.end(1, 70.0), vec![b(Left, false)]);
    }

    #[test]
    fn two_fingers_tap_right_and_scroll() {
        let mut g = Gestures::default();
        g.start(1, 10.0, 100.0, 0.0);
        assert_eq!(g.start(2, 50.0, 100.0, 20.0), vec![]);
        assert_eq!(g.end(2, 100.0), vec![b(Right, true), b(Right, false)]);
        assert_eq!(g.end(1, 110.0), vec![]);
        // Scroll: both fingers up by 65 px = two notches with the content moving down.
        g.start(1, 10.0, 200.0, 0.0);
        g.start(2, 50.0, 200.0, 10.0);
        let mut notches = Vec::new();
        for step in 1..=13 {
            let y = 200.0 - 5.0 * f64::from(step);
            notches.extend(g.moved(1, 10.0, y, 20.0 + f64::from(step)));
            notches.extend(g.moved(2, 50.0, y, 20.0 + f64::from(step)));
        }
        assert_eq!(
            notches,
            vec![TouchOut::Wheel { up: false }, TouchOut::Wheel { up: false }]
        );
        assert_eq!(g.end(1, 100.0), vec![]);
        assert_eq!(g.end(2, 100.0), vec![]);
        assert_eq!(g.tick(10_000.0), vec![]);
    }

    #[test]
    fn relative_mode_is_a_touchpad() {
        let mut g = Gestures::default();
        g.set_relative(true);
        assert_eq!(g.start(7, 100.0, 100.0, 0.0), vec![]);
        assert_eq!(
            g.moved(7, 120.0, 100.0, 10.0),
            vec![TouchOut::MoveBy { dx: 20.0, dy: 0.0 }]
        );
        assert_eq!(
            g.moved(7, 125.0, 90.0, 20.0),
            vec![TouchOut::MoveBy { dx: 5.0, dy: -10.0 }]
        );
        assert_eq!(g.end(7, 30.0), vec![]);
        g.start(8, 0.0, 0.0, 100.0);
        assert_eq!(g.end(8, 150.0), vec![b(Left, true), b(Left, false)]);
    }

    #[test]
    fn hostile_sequences_are_harmless() {
        let mut g = Gestures::default();
        assert_eq!(g.end(3, 0.0), vec![]);
        assert_eq!(g.moved(3, 1.0, 1.0, 0.0), vec![]);
        for id in 0..20 {
            g.start(id, 0.0, 0.0, 0.0);
        }
        assert_eq!(g.touches.len(), MAX_TOUCHES);
        assert_eq!(g.start(0, 5.0, 5.0, 1.0), vec![]);
        g.reset();
        assert_eq!(g.next_deadline(), None);
        assert_eq!(g.moved(1, f64::NAN, f64::NAN, 0.0), vec![]);
    }
}
