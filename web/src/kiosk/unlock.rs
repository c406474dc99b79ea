//! The staff flow, wired: chord → PIN dialog → the gateway's answer → staff menu, and the
//! menu's three actions. The idle clock stands still while staff are in it.

use gloo::events::EventListener;

use super::{Mode, State};
use crate::api::{self, Unlock};

impl State {
    pub(super) fn wire_staff(&mut self) {
        let Some(v) = self.staff.as_ref() else {
            return;
        };
        let mut ls = Vec::new();
        let weak = self.weak.clone();
        ls.push(EventListener::new_with_options(
            &v.form,
            "submit",
            gloo::events::EventListenerOptions::enable_prevent_default(),
            move |e| {
                e.prevent_default();
                State::with(&weak, |s| s.submit_pin());
            },
        ));
        macro_rules! on_click {
            ($el:expr, $f:expr) => {{
                let weak = self.weak.clone();
                ls.push(EventListener::new(&$el, "click", move |_| {
                    State::with(&weak, $f);
                }));
            }};
        }
        on_click!(v.cancel, |s: &mut State| s.hide_staff());
        on_click!(v.close, |s: &mut State| s.hide_staff());
        on_click!(v.reset, |s: &mut State| s.reset());
        on_click!(v.leave, |s: &mut State| s.leave());
        on_click!(v.play, |s: &mut State| s.pick());
        self.listeners.extend(ls);
    }

    /// The staff chord: the PIN dialog, focused.
    pub(super) fn open_pin(&mut self) {
        let Some(v) = self.staff.as_ref() else {
            return;
        };
        self.countdown = None;
        self.warning.hide();
        self.idle_timer = None;
        self.attract_timer = None;
        v.pin.set_value("");
        v.status.set_text_content(Some(""));
        v.menu.set_hidden(true);
        v.pin_dialog.set_hidden(false);
        let _ = v.pin.focus();
        self.set_mode(Mode::Staff);
    }

    /// Closes both boxes and goes back to what the visitor saw.
    pub(super) fn hide_staff(&mut self) {
        if let Some(v) = self.staff.as_ref() {
            v.pin_dialog.set_hidden(true);
            v.menu.set_hidden(true);
            v.pin.set_value("");
        }
        if self.mode != Mode::Staff {
            return;
        }
        if self.player.is_some() {
            self.set_mode(Mode::Playing);
            self.arm_idle();
            self.focus_screen();
        } else {
            self.show_attract();
        }
    }

    fn submit_pin(&mut self) {
        let Some(v) = self.staff.as_ref() else {
            return;
        };
        let pin = v.pin.value();
        v.pin.set_value("");
        v.status.set_text_content(Some("Checking…"));
        let (gateway, name, weak) = (self.gateway.clone(), self.name.clone(), self.weak.clone());
        wasm_bindgen_futures::spawn_local(async move {
            let answer = api::kiosk_unlock(&gateway, &name, &pin).await;
            State::with(&weak, |s| s.on_unlock(answer));
        });
    }

    fn on_unlock(&mut self, answer: Result<Unlock, api::ApiError>) {
        let Some(v) = self.staff.as_ref() else {
            return;
        };
        if self.mode != Mode::Staff {
            return;
        }
        match answer {
            Ok(Unlock::Open) => {
                v.pin_dialog.set_hidden(true);
                if let Some(i) = self
                    .profile
                    .as_ref()
                    .and_then(|p| p.items.get(self.current))
                {
                    v.titles.set_value(&i.id);
                }
                v.menu.set_hidden(false);
                let _ = v.reset.focus();
            }
            Ok(a) => {
                v.status
                    .set_text_content(Some(&super::staff::answer_text(&a)));
                let _ = v.pin.focus();
            }
            Err(e) => {
                crate::ui::dom::log(&format!("kiosk unlock: {e:?}"));
                v.status
                    .set_text_content(Some("The server could not check the PIN."));
            }
        }
    }

    /// "Play this title": the chosen title, pristine.
    fn pick(&mut self) {
        let Some(v) = self.staff.as_ref() else {
            return;
        };
        let id = v.titles.value();
        let Some(i) = self
            .profile
            .as_ref()
            .and_then(|p| p.items.iter().position(|it| it.id == id))
        else {
            return;
        };
        self.hide_staff_boxes();
        self.current = i;
        self.reset();
    }

    pub(super) fn hide_staff_boxes(&self) {
        if let Some(v) = self.staff.as_ref() {
            v.pin_dialog.set_hidden(true);
            v.menu.set_hidden(true);
        }
    }

    pub(super) fn focus_screen(&self) {
        if let Ok(Some(c)) = self.stage.query_selector("#olive-screen") {
            if let Ok(c) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(c) {
                let _ = c.focus();
            }
        }
    }
}
