//! Mouse-motion flow control.
//!
//! The server acknowledges every fourth motion or position message; a client that keeps
//! sending without acks floods the guest. Instead of dropping motion while throttled (which
//! makes the pointer drift in relative mode), we coalesce it: relative deltas add up and the
//! latest absolute position wins, and the result is sent when an ack frees the window.

/// Messages the server acknowledges at once (SPICE_INPUT_MOTION_ACK_BUNCH).
pub const ACK_BUNCH: u32 = 4;
/// Unacknowledged motion messages allowed in flight.
pub const MAX_IN_FLIGHT: u32 = 2 * ACK_BUNCH;

/// A motion message ready to be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Motion {
    Relative { dx: i32, dy: i32, buttons: u16 },
    Absolute { x: u32, y: u32, buttons: u16 },
}

#[derive(Debug, Default)]
pub struct MotionThrottle {
    in_flight: u32,
    pending: Option<Motion>,
}

impl MotionThrottle {
    /// Offers a motion; returns what to send now, if the window allows.
    pub fn offer(&mut self, motion: Motion) -> Option<Motion> {
        let merged = match (self.pending.take(), motion) {
            (
                Some(Motion::Relative { dx, dy, .. }),
                Motion::Relative {
                    dx: ndx,
                    dy: ndy,
                    buttons,
                },
            ) => Motion::Relative {
                dx: dx.saturating_add(ndx),
                dy: dy.saturating_add(ndy),
                buttons,
            },
            (_, m) => m,
        };
        if self.in_flight < MAX_IN_FLIGHT {
            self.in_flight += 1;
            Some(merged)
        } else {
            self.pending = Some(merged);
            None
        }
    }

    /// The server acknowledged a bunch; returns coalesced motion that may now go out.
    pub fn ack(&mut self) -> Option<Motion> {
        self.in_flight = self.in_flight.saturating_sub(ACK_BUNCH);
        match self.pending.take() {
            Some(m) => {
                self.in_flight += 1;
                Some(m)
            }
            None => None,
        }
    }

    /// Motion withheld so far, e.g. to fold into a button event's position.
    pub fn pending(&self) -> Option<Motion> {
        self.pending
    }

    /// A button press or release carries no position, so pending absolute motion must go
    /// out first or the click lands where the pointer was a moment ago.
    pub fn take_pending(&mut self) -> Option<Motion> {
        let m = self.pending.take();
        if m.is_some() {
            self.in_flight += 1;
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_motion_is_coalesced_not_dropped() {
        let mut t = MotionThrottle::default();
        let mut sent = 0i32;
        for _ in 0..MAX_IN_FLIGHT {
            let m = t.offer(Motion::Relative {
                dx: 1,
                dy: -1,
                buttons: 0,
            });
            assert!(m.is_some());
            sent += 1;
        }
        for _ in 0..10 {
            assert_eq!(
                t.offer(Motion::Relative {
                    dx: 1,
                    dy: -1,
                    buttons: 0
                }),
                None
            );
        }
        match t.ack() {
            Some(Motion::Relative { dx, dy, .. }) => {
                sent += dx;
                assert_eq!(dy, -10);
            }
            other => panic!("expected coalesced motion, got {other:?}"),
        }
        assert_eq!(sent, MAX_IN_FLIGHT as i32 + 10, "no motion lost");
        assert_eq!(t.ack(), None);
    }

    #[test]
    fn absolute_keeps_latest_position() {
        let mut t = MotionThrottle::default();
        for i in 0..MAX_IN_FLIGHT {
            t.offer(Motion::Absolute {
                x: i,
                y: i,
                buttons: 0,
            });
        }
        t.offer(Motion::Absolute {
            x: 100,
            y: 100,
            buttons: 0,
        });
        t.offer(Motion::Absolute {
            x: 200,
            y: 300,
            buttons: 1,
        });
        assert_eq!(
            t.take_pending(),
            Some(Motion::Absolute {
                x: 200,
                y: 300,
                buttons: 1
            })
        );
    }
}
