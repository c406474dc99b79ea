//! What this browser can do, found by feature detection (never by user agent), and the
//! prefixed APIs some engines still need.
//!
//! Each optional API the player may use is probed once at launch; the choice is published
//! on `#olive-player` so tests (and a curious visitor's developer tools) can see which
//! path each engine takes:
//!
//! | attribute | values |
//! |---|---|
//! | `data-audio-path` | `audio-worklet`, `buffer-source` (no AudioWorklet, or it failed) |
//! | `data-audio-codec` | `opus` (WebCodecs `AudioDecoder` decodes it), `pcm` |
//! | `data-pointer-lock` | `yes`, `no` (server mouse mode then follows absolute moves) |
//! | `data-keyboard-lock` | `yes` (Keyboard Lock in full screen keeps Esc, Alt-Tab… for the guest), `no` |
//! | `data-fullscreen-api` | `standard`, `webkit` (prefixed), `none` |
//! | `data-image-path` | `put-image-data`: codecs decode in wasm, so `ImageDecoder`, `OffscreenCanvas` and `createImageBitmap` are never required |
//! | `data-touch` | `yes` when the device has a touch screen |
//!
//! `js_sys::Reflect` is used instead of web-sys methods wherever a method may be missing:
//! calling a web-sys binding of an absent method throws.

use js_sys::{Function, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::Element;

use crate::ui::dom::{self, attr};

/// The full-screen API this engine offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FullscreenApi {
    /// Unprefixed `requestFullscreen` and friends.
    Standard,
    /// `webkitRequestFullscreen` / `webkitExitFullscreen` / `webkitFullscreenElement`.
    Webkit,
    /// No full-screen API: the button then explains that in a notice instead of throwing.
    None,
}

/// The optional APIs found at launch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Features {
    /// `AudioWorkletNode` exists; otherwise sound goes through scheduled buffer sources.
    pub(crate) audio_worklet: bool,
    /// WebCodecs `AudioDecoder` and `EncodedAudioChunk` exist, so Opus may be asked for
    /// (whether Opus itself is supported is checked separately, asynchronously).
    pub(crate) audio_decoder: bool,
    /// Pointer Lock exists; without it server mouse mode takes the relative motion of the
    /// unlocked pointer over the canvas.
    pub(crate) pointer_lock: bool,
    /// Keyboard Lock exists: in full screen it keeps Esc, Alt+Tab and the like for the guest.
    pub(crate) keyboard_lock: bool,
    /// Which full-screen API to call (WebKit still needs the prefixed one).
    pub(crate) fullscreen: FullscreenApi,
    /// Only published (`data-image-apis`): the codecs decode in wasm, so nothing depends on
    /// it, but tests can see what each engine offers.
    pub(crate) offscreen_canvas: bool,
    /// Only published, like [`Features::offscreen_canvas`].
    pub(crate) image_decoder: bool,
    /// Only published, like [`Features::offscreen_canvas`].
    pub(crate) create_image_bitmap: bool,
    /// The device has a touch screen; only published (`data-touch`): the touch listeners
    /// are installed regardless and simply never fire without one.
    pub(crate) touch: bool,
}

fn has(target: &JsValue, name: &str) -> bool {
    Reflect::get(target, &JsValue::from_str(name))
        .map(|v| !v.is_undefined() && !v.is_null())
        .unwrap_or(false)
}

fn is_function(target: &JsValue, name: &str) -> bool {
    Reflect::get(target, &JsValue::from_str(name))
        .map(|v| v.is_function())
        .unwrap_or(false)
}

impl Features {
    /// Probes the current page.
    pub(crate) fn detect() -> Features {
        let global: JsValue = js_sys::global().into();
        let doc: JsValue = dom::document().into();
        let proto = Reflect::get(&global, &"Element".into())
            .and_then(|e| Reflect::get(&e, &"prototype".into()))
            .unwrap_or(JsValue::UNDEFINED);
        let nav = Reflect::get(&global, &"navigator".into()).unwrap_or(JsValue::UNDEFINED);
        let keyboard = Reflect::get(&nav, &"keyboard".into()).unwrap_or(JsValue::UNDEFINED);
        let fullscreen = if is_function(&proto, "requestFullscreen") {
            FullscreenApi::Standard
        } else if is_function(&proto, "webkitRequestFullscreen") {
            FullscreenApi::Webkit
        } else {
            FullscreenApi::None
        };
        let touch_points = Reflect::get(&nav, &"maxTouchPoints".into())
            .ok()
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0);
        Features {
            audio_worklet: is_function(&global, "AudioWorkletNode"),
            audio_decoder: is_function(&global, "AudioDecoder")
                && is_function(&global, "EncodedAudioChunk"),
            pointer_lock: is_function(&proto, "requestPointerLock") && has(&doc, "exitPointerLock"),
            keyboard_lock: is_function(&keyboard, "lock"),
            fullscreen,
            offscreen_canvas: is_function(&global, "OffscreenCanvas"),
            image_decoder: is_function(&global, "ImageDecoder"),
            create_image_bitmap: is_function(&global, "createImageBitmap"),
            touch: touch_points > 0.0 || has(&global, "ontouchstart"),
        }
    }

    /// Publishes the choices on the player element (see the module docs).
    pub(crate) fn publish(&self, el: &Element) {
        let yes = |b: bool| if b { "yes" } else { "no" };
        attr(el, "data-pointer-lock", yes(self.pointer_lock));
        attr(el, "data-keyboard-lock", yes(self.keyboard_lock));
        attr(
            el,
            "data-fullscreen-api",
            match self.fullscreen {
                FullscreenApi::Standard => "standard",
                FullscreenApi::Webkit => "webkit",
                FullscreenApi::None => "none",
            },
        );
        attr(el, "data-image-path", "put-image-data");
        attr(el, "data-touch", yes(self.touch));
        let optional = [
            ("OffscreenCanvas", self.offscreen_canvas),
            ("ImageDecoder", self.image_decoder),
            ("createImageBitmap", self.create_image_bitmap),
        ];
        let found: Vec<&str> = optional
            .iter()
            .filter(|(_, b)| *b)
            .map(|(n, _)| *n)
            .collect();
        attr(el, "data-image-apis", &found.join(" "));
    }
}

fn call0(target: &JsValue, name: &str) -> Result<JsValue, JsValue> {
    let f: Function = Reflect::get(target, &JsValue::from_str(name))?.dyn_into()?;
    f.call0(target)
}

/// The element shown full screen, through whichever API the engine has.
pub(crate) fn fullscreen_element() -> Option<Element> {
    let doc: JsValue = dom::document().into();
    ["fullscreenElement", "webkitFullscreenElement"]
        .iter()
        .find_map(|n| Reflect::get(&doc, &JsValue::from_str(n)).ok())
        .filter(|v| !v.is_null() && !v.is_undefined())
        .and_then(|v| v.dyn_into().ok())
}

/// Asks for full screen on `el`; a refusal (no user gesture, an iframe without
/// `allowfullscreen`) is reported, never thrown.
pub(crate) fn request_fullscreen(api: FullscreenApi, el: &Element) -> Result<(), String> {
    let name = match api {
        FullscreenApi::Standard => "requestFullscreen",
        FullscreenApi::Webkit => "webkitRequestFullscreen",
        FullscreenApi::None => return Err("this browser has no full-screen mode".into()),
    };
    match call0(el, name) {
        Ok(v) => {
            if let Ok(p) = v.dyn_into::<js_sys::Promise>() {
                // The promise rejects when refused: log it instead of an unhandled rejection.
                let on_err = wasm_bindgen::closure::Closure::once(|e: JsValue| {
                    dom::log(&format!("full screen refused: {e:?}"));
                });
                let _ = p.catch(&on_err);
                on_err.forget();
            }
            Ok(())
        }
        Err(e) => Err(format!("{e:?}")),
    }
}

/// Leaves full screen.
pub(crate) fn exit_fullscreen(api: FullscreenApi) {
    let doc: JsValue = dom::document().into();
    let name = match api {
        FullscreenApi::Standard => "exitFullscreen",
        FullscreenApi::Webkit => "webkitExitFullscreen",
        FullscreenApi::None => return,
    };
    if let Ok(v) = call0(&doc, name) {
        if let Ok(p) = v.dyn_into::<js_sys::Promise>() {
            let ignore = wasm_bindgen::closure::Closure::once(|_: JsValue| {});
            let _ = p.catch(&ignore);
            ignore.forget();
        }
    }
}

/// Keyboard Lock (`navigator.keyboard.lock()`): in full screen, keys the browser would
/// take (Esc, Alt-Tab, Ctrl-W…) go to the guest. Unlocked by leaving full screen.
pub(crate) fn lock_keyboard() {
    let global: JsValue = js_sys::global().into();
    let Ok(nav) = Reflect::get(&global, &"navigator".into()) else {
        return;
    };
    let Ok(keyboard) = Reflect::get(&nav, &"keyboard".into()) else {
        return;
    };
    if let Ok(v) = call0(&keyboard, "lock") {
        if let Ok(p) = v.dyn_into::<js_sys::Promise>() {
            let ignore = wasm_bindgen::closure::Closure::once(|e: JsValue| {
                dom::log(&format!("keyboard lock refused: {e:?}"));
            });
            let _ = p.catch(&ignore);
            ignore.forget();
        }
    }
}
