//! What keeps a kiosk a kiosk: full screen, Keyboard Lock (keys such as Esc and Alt-Tab go
//! to the page instead of the browser) and the Screen Wake Lock (the display does not sleep
//! between visitors). Each is found by feature detection and may be refused (no user
//! gesture yet, an iframe without the permission): a refusal is logged, never fatal, and
//! asked again at the next visitor's gesture.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::Element;

use crate::player::features::{
    exit_fullscreen, fullscreen_element, lock_keyboard, request_fullscreen, Features,
};
use crate::ui::dom;

/// The locks one kiosk holds.
#[derive(Default)]
pub(crate) struct Locks {
    /// The wake lock's sentinel once granted (released on leaving).
    wake: Rc<RefCell<Option<JsValue>>>,
}

impl Locks {
    /// Full screen on `el` (when not already), Keyboard Lock and the Wake Lock. Call from
    /// a user gesture: browsers refuse full screen otherwise.
    pub(crate) fn engage(&self, el: &Element) {
        let features = Features::detect();
        if fullscreen_element().is_none() {
            if let Err(e) = request_fullscreen(features.fullscreen, el) {
                dom::log(&format!("kiosk: full screen: {e}"));
            }
        }
        if features.keyboard_lock {
            lock_keyboard();
        }
        if self.wake.borrow().is_none() {
            self.request_wake_lock(el);
        }
    }

    /// Asks for the screen wake lock; `data-kiosk-wake-lock` on `el` says what came of it
    /// (`granted`, `refused`, `unsupported`).
    fn request_wake_lock(&self, el: &Element) {
        let global: JsValue = js_sys::global().into();
        let Some(wake) = Reflect::get(&global, &"navigator".into())
            .ok()
            .and_then(|n| Reflect::get(&n, &"wakeLock".into()).ok())
            .filter(|w| w.is_object())
        else {
            dom::attr(el, "data-kiosk-wake-lock", "unsupported");
            return;
        };
        let Ok(request) =
            Reflect::get(&wake, &"request".into()).and_then(|f| f.dyn_into::<Function>())
        else {
            return;
        };
        let Ok(p) = request
            .call1(&wake, &"screen".into())
            .and_then(|p| p.dyn_into::<js_sys::Promise>())
        else {
            return;
        };
        let slot = self.wake.clone();
        let (granted_on, refused_on) = (el.clone(), el.clone());
        let got = Closure::once(move |sentinel: JsValue| {
            *slot.borrow_mut() = Some(sentinel);
            dom::attr(&granted_on, "data-kiosk-wake-lock", "granted");
        });
        let refused = Closure::once(move |e: JsValue| {
            dom::log(&format!("kiosk: wake lock: {e:?}"));
            dom::attr(&refused_on, "data-kiosk-wake-lock", "refused");
        });
        let _ = p.then2(&got, &refused);
        got.forget();
        refused.forget();
    }

    /// Leaves full screen and lets the display sleep again.
    pub(crate) fn release(&self) {
        if fullscreen_element().is_some() {
            exit_fullscreen(Features::detect().fullscreen);
        }
        if let Some(sentinel) = self.wake.borrow_mut().take() {
            if let Ok(f) =
                Reflect::get(&sentinel, &"release".into()).and_then(|f| f.dyn_into::<Function>())
            {
                let _ = f.call0(&sentinel);
            }
        }
    }
}
