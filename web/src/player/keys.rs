//! Keyboard logic that needs no DOM: the key menu's sequences, the AltGr filter and the
//! wheel accumulator.

/// Combinations the browser or the host OS keeps for itself, offered from a menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyCombo {
    /// The host system takes it (Windows opens its security screen), yet DOS and Windows
    /// guests need it to reboot or log in.
    CtrlAltDel,
    /// Ctrl-Alt-F1…F12 (1..=12): switches virtual consoles on Linux guests.
    CtrlAltF(u8),
    /// The host system usually takes it for its own screenshot, so the guest never sees it.
    PrintScreen,
}

impl KeyCombo {
    /// Every combination, in menu order.
    pub(crate) fn all() -> Vec<KeyCombo> {
        let mut v = vec![KeyCombo::CtrlAltDel];
        v.extend((1..=12).map(KeyCombo::CtrlAltF));
        v.push(KeyCombo::PrintScreen);
        v
    }

    /// The menu label.
    pub(crate) fn label(self) -> String {
        match self {
            KeyCombo::CtrlAltDel => "Ctrl-Alt-Del".to_owned(),
            KeyCombo::CtrlAltF(n) => format!("Ctrl-Alt-F{n}"),
            KeyCombo::PrintScreen => "Print Screen".to_owned(),
        }
    }

    /// A stable id for the `<option value>`.
    pub(crate) fn id(self) -> String {
        match self {
            KeyCombo::CtrlAltDel => "cad".to_owned(),
            KeyCombo::CtrlAltF(n) => format!("caf{n}"),
            KeyCombo::PrintScreen => "prtsc".to_owned(),
        }
    }

    /// Parses [`KeyCombo::id`].
    pub(crate) fn from_id(id: &str) -> Option<KeyCombo> {
        match id {
            "cad" => Some(KeyCombo::CtrlAltDel),
            "prtsc" => Some(KeyCombo::PrintScreen),
            _ => {
                let n: u8 = id.strip_prefix("caf")?.parse().ok()?;
                (1..=12).contains(&n).then_some(KeyCombo::CtrlAltF(n))
            }
        }
    }

    /// `(KeyboardEvent.code, pressed)` in order: modifiers down, key down, key up,
    /// modifiers up in reverse, as a person would type it.
    pub(crate) fn sequence(self) -> Vec<(String, bool)> {
        let (mods, key): (&[&str], String) = match self {
            KeyCombo::CtrlAltDel => (&["ControlLeft", "AltLeft"], "Delete".into()),
            KeyCombo::CtrlAltF(n) => (&["ControlLeft", "AltLeft"], format!("F{n}")),
            KeyCombo::PrintScreen => (&[], "PrintScreen".into()),
        };
        let mut v: Vec<(String, bool)> = mods.iter().map(|m| (m.to_string(), true)).collect();
        v.push((key.clone(), true));
        v.push((key, false));
        v.extend(mods.iter().rev().map(|m| (m.to_string(), false)));
        v
    }
}

/// A key event after filtering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyAction {
    /// The physical key (`KeyboardEvent.code`), which maps to a scancode independent of
    /// the visitor's layout: the guest's own layout then applies.
    pub(crate) code: String,
    /// Down (true) or up: the guest needs both to know which keys are held.
    pub(crate) pressed: bool,
}

/// How close (ms, `KeyboardEvent.timeStamp`) the fake ControlLeft and the AltRight are.
pub(crate) const ALTGR_WINDOW_MS: f64 = 10.0;

/// Drops the fake `ControlLeft` that Windows sends in front of every AltGr press.
///
/// On Windows, AltGr arrives as `ControlLeft` down immediately followed by `AltRight` down
/// (same timestamp), and on release both come up. Forwarded as is, the guest would see
/// Ctrl+Alt instead of AltGr. So a `ControlLeft` down is held back; if the next key is
/// `AltRight` down within [`ALTGR_WINDOW_MS`] while `getModifierState("AltGraph")` is true,
/// the held Ctrl is dropped (and so is its matching release); otherwise it is let through
/// before that next event, or by [`AltGrFilter::flush`] from a short timer, so a real
/// Ctrl press is delayed by at most a few milliseconds. On other systems AltGr is a plain
/// `AltRight` and nothing is ever dropped.
#[derive(Debug, Default)]
pub(crate) struct AltGrFilter {
    pending_ctrl: Option<f64>,
    fake_ctrl_down: bool,
}

impl AltGrFilter {
    /// A key went down or up. Returns the actions to forward, in order.
    pub(crate) fn event(
        &mut self,
        code: &str,
        pressed: bool,
        time_ms: f64,
        altgraph: bool,
    ) -> Vec<KeyAction> {
        let mut out = Vec::new();
        if pressed && code == "ControlLeft" && self.pending_ctrl.is_none() && !self.fake_ctrl_down {
            self.flush_into(&mut out);
            self.pending_ctrl = Some(time_ms);
            return out;
        }
        if let Some(t) = self.pending_ctrl {
            if pressed && code == "AltRight" && altgraph && (time_ms - t).abs() <= ALTGR_WINDOW_MS {
                self.pending_ctrl = None;
                self.fake_ctrl_down = true;
            } else {
                self.flush_into(&mut out);
            }
        }
        if !pressed && code == "ControlLeft" && self.fake_ctrl_down {
            self.fake_ctrl_down = false;
            return out;
        }
        out.push(KeyAction {
            code: code.to_owned(),
            pressed,
        });
        out
    }

    /// Lets a held-back Ctrl through (timer, mouse event, blur).
    pub(crate) fn flush(&mut self) -> Vec<KeyAction> {
        let mut out = Vec::new();
        self.flush_into(&mut out);
        out
    }

    /// Whether a Ctrl is held back (the caller arms the flush timer).
    pub(crate) fn has_pending(&self) -> bool {
        self.pending_ctrl.is_some()
    }

    /// Forgets everything (focus lost: the session releases all keys anyway).
    pub(crate) fn reset(&mut self) {
        self.pending_ctrl = None;
        self.fake_ctrl_down = false;
    }

    fn flush_into(&mut self, out: &mut Vec<KeyAction>) {
        if self.pending_ctrl.take().is_some() {
            out.push(KeyAction {
                code: "ControlLeft".to_owned(),
                pressed: true,
            });
        }
    }
}

/// Pixels of `deltaY` per wheel notch for smooth (touchpad) scrolling.
pub(crate) const WHEEL_STEP_PX: f64 = 50.0;

/// Turns `WheelEvent`s into guest wheel notches.
///
/// A real wheel gives one event per notch (deltaY ≈ ±100 px, ±3 lines, or ±1 page), which
/// must be exactly one notch whatever its size, or a page would scroll by several. A
/// touchpad gives a stream of small pixel deltas, which are summed until a notch's worth.
/// At most one notch per event; a change of direction restarts the sum.
#[derive(Debug, Default)]
pub(crate) struct WheelAccumulator {
    acc: f64,
}

impl WheelAccumulator {
    /// `delta_mode`: 0 pixels, 1 lines, 2 pages. Returns Some(up) for a notch.
    pub(crate) fn event(&mut self, delta_y: f64, delta_mode: u32) -> Option<bool> {
        if !delta_y.is_finite() || delta_y == 0.0 {
            return None;
        }
        if delta_mode != 0 {
            self.acc = 0.0;
            return Some(delta_y < 0.0);
        }
        if self.acc != 0.0 && self.acc.signum() != delta_y.signum() {
            self.acc = 0.0;
        }
        self.acc += delta_y;
        if self.acc.abs() >= WHEEL_STEP_PX {
            let up = self.acc < 0.0;
            self.acc = 0.0;
            Some(up)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn act(code: &str, pressed: bool) -> KeyAction {
        KeyAction {
            code: code.into(),
            pressed,
        }
    }

    #[test]
    fn menu_sequences() {
        let s = KeyCombo::CtrlAltDel.sequence();
        let want: Vec<(String, bool)> = [
            ("ControlLeft", true),
            ("AltLeft", true),
            ("Delete", true),
            ("Delete", false),
            ("AltLeft", false),
            ("ControlLeft", false),
        ]
        .iter()
        .map(|(c, p)| (c.to_string(), *p))
        .collect();
        assert_eq!(s, want);
        assert_eq!(
            KeyCombo::CtrlAltF(7).sequence()[2],
            ("F7".to_string(), true)
        );
        assert_eq!(
            KeyCombo::PrintScreen.sequence(),
            vec![
                ("PrintScreen".to_string(), true),
                ("PrintScreen".to_string(), false)
            ]
        );
        assert_eq!(KeyCombo::all().len(), 14);
        for c in KeyCombo::all() {
            assert_eq!(KeyCombo::from_id(&c.id()), Some(c));
            for (code, _) in c.sequence() {
                assert!(
                    spice_client::inputs::keymap::scancode_for_code(&code).is_some(),
                    "{code}"
                );
            }
        }
        assert_eq!(KeyCombo::from_id("caf13"), None);
        assert_eq!(KeyCombo::from_id("x"), None);
    }

    #[test]
    fn windows_altgr_drops_fake_ctrl() {
        let mut f = AltGrFilter::default();
        assert_eq!(f.event("ControlLeft", true, 100.0, false), vec![]);
        assert!(f.has_pending());
        assert_eq!(
            f.event("AltRight", true, 100.0, true),
            vec![act("AltRight", true)]
        );
        assert_eq!(f.event("KeyQ", true, 200.0, true), vec![act("KeyQ", true)]);
        assert_eq!(
            f.event("KeyQ", false, 250.0, true),
            vec![act("KeyQ", false)]
        );
        assert_eq!(f.event("ControlLeft", false, 300.0, false), vec![]);
        assert_eq!(
            f.event("AltRight", false, 300.0, false),
            vec![act("AltRight", false)]
        );
        // A real Ctrl afterwards is forwarded.
        assert_eq!(f.event("ControlLeft", true, 400.0, false), vec![]);
        assert_eq!(
            f.event("KeyC", true, 500.0, false),
            vec![act("ControlLeft", true), act("KeyC", true)]
        );
    }

    #[test]
    fn real_ctrl_alt_passes() {
        let mut f = AltGrFilter::default();
        f.event("ControlLeft", true, 100.0, false);
        // Ctrl then AltRight much later (or without AltGraph): both forwarded.
        assert_eq!(
            f.event("AltRight", true, 300.0, false),
            vec![act("ControlLeft", true), act("AltRight", true)]
        );
        let mut g = AltGrFilter::default();
        g.event("ControlLeft", true, 100.0, false);
        assert_eq!(g.flush(), vec![act("ControlLeft", true)]);
        assert_eq!(g.flush(), vec![]);
        assert_eq!(
            g.event("ControlLeft", false, 200.0, false),
            vec![act("ControlLeft", false)]
        );
    }

    #[test]
    fn wheel_notches() {
        let mut w = WheelAccumulator::default();
        assert_eq!(w.event(100.0, 0), Some(false));
        assert_eq!(w.event(-120.0, 0), Some(true));
        assert_eq!(w.event(1000.0, 0), Some(false)); // one notch per event
        assert_eq!(w.event(3.0, 1), Some(false));
        assert_eq!(w.event(-1.0, 2), Some(true));
        // Smooth: 10 px at a time.
        let got: Vec<_> = (0..10).map(|_| w.event(10.0, 0)).collect();
        assert_eq!(got.iter().flatten().count(), 2);
        assert_eq!(got[4], Some(false));
        // Direction change restarts.
        assert_eq!(w.event(40.0, 0), None);
        assert_eq!(w.event(-40.0, 0), None);
        assert_eq!(w.event(-10.0, 0), Some(true));
        assert_eq!(w.event(0.0, 0), None);
        assert_eq!(w.event(f64::NAN, 0), None);
    }
}
