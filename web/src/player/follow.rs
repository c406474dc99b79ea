//! The guest follows the player's size: with an agent that can resize, the area the screen
//! may take (in "fit" mode) becomes the guest's resolution, as a desktop viewer's window
//! does. Window resizes, full screen and panels opening all change that area, often many
//! times a second while a window is dragged, and every mode change costs the guest a
//! redraw, so the request waits until the size has held still for [`FOLLOW_DEBOUNCE_MS`].
//! In "integer" and "original" modes, and for view-only visitors, the guest keeps its size.

use gloo::timers::callback::Timeout;

use super::geometry::ScaleMode;
use super::Inner;

/// How long the player's size must hold still before the guest is asked to follow.
pub(crate) const FOLLOW_DEBOUNCE_MS: u32 = 400;

/// A size waiting for the debounce.
pub(crate) struct PendingSize {
    size: (u32, u32),
    _timer: Timeout,
}

impl Inner {
    /// The screen may take `width` x `height` CSS pixels (see `apply_scale`).
    pub(super) fn follow_size(&mut self, width: f64, height: f64) {
        if !self.agent_resize || self.view_only || self.scale_mode != ScaleMode::Fit {
            self.follow = None;
            return;
        }
        let size = (width.floor() as u32, height.floor() as u32);
        if self.follow.as_ref().is_some_and(|p| p.size == size) {
            return;
        }
        let weak = self.weak.clone();
        let timer = Timeout::new(FOLLOW_DEBOUNCE_MS, move || {
            Inner::with(&weak, |p| {
                p.follow = None;
                if let Some(s) = p.session.as_mut() {
                    s.request_display_size(size.0, size.1);
                }
                p.pump();
            })
        });
        self.follow = Some(PendingSize {
            size,
            _timer: timer,
        });
    }
}
