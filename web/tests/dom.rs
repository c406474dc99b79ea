//! DOM tests in headless Chromium (wasm-bindgen-test): the presenter, the cursor, the
//! audio probe and the player's data-state contract.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use olive_web::player::audio::{install_probe, Audio, AudioStats};
use olive_web::player::cursor::{CursorMode, CursorView};
use olive_web::player::presenter::Presenter;
use olive_web::player::Player;
use olive_web::ui::dom;
use spice_client::cursor::CursorShape;
use spice_client::display::Rect;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::HtmlCanvasElement;

wasm_bindgen_test_configure!(run_in_browser);

fn canvas() -> HtmlCanvasElement {
    let c: HtmlCanvasElement = dom::el("canvas", "").unchecked_into();
    dom::document().body().unwrap().append_child(&c).unwrap();
    c
}

fn surface(w: u32, h: u32, f: impl Fn(u32, u32) -> [u8; 4]) -> Vec<u8> {
    let mut v = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            v.extend_from_slice(&f(x, y));
        }
    }
    v
}

#[wasm_bindgen_test]
fn presenter_copies_only_dirty_regions() {
    let mut p = Presenter::new(canvas()).unwrap();
    p.resize(8, 6);
    let red = surface(8, 6, |_, _| [255, 0, 0, 255]);
    p.invalidate(Rect::new(0, 0, 8, 6));
    assert!(p.needs_draw());
    assert_eq!(p.draw(&red, 8, 6).unwrap(), 1);
    assert_eq!(p.pixel(7, 5).unwrap(), [255, 0, 0, 255]);
    // Change everything, but only mark a 2×2 region dirty: only it reaches the canvas.
    let pattern = surface(8, 6, |x, y| [x as u8 * 10, y as u8 * 20, 7, 255]);
    p.invalidate(Rect::new(2, 3, 4, 5));
    assert_eq!(p.draw(&pattern, 8, 6).unwrap(), 1);
    assert_eq!(p.pixel(2, 3).unwrap(), [20, 60, 7, 255]);
    assert_eq!(p.pixel(3, 4).unwrap(), [30, 80, 7, 255]);
    assert_eq!(p.pixel(4, 4).unwrap(), [255, 0, 0, 255]);
    assert_eq!(p.pixel(1, 3).unwrap(), [255, 0, 0, 255]);
    assert!(!p.needs_draw());
    // A size mismatch (surface replaced) draws nothing.
    p.invalidate(Rect::new(0, 0, 1, 1));
    assert_eq!(p.draw(&pattern, 4, 4).unwrap(), 0);
    assert_eq!(p.frames(), 2);
}

fn shape(w: u32, h: u32, invert: bool) -> CursorShape {
    CursorShape {
        image: Arc::new(spice_codecs::CursorImage {
            rgba: spice_codecs::Rgba {
                width: w,
                height: h,
                pixels: vec![200; (w * h * 4) as usize],
            },
            has_invert: invert,
        }),
        hot_x: 1,
        hot_y: 2,
    }
}

#[wasm_bindgen_test]
fn cursor_css_overlay_hidden() {
    let screen = canvas();
    let mut v = CursorView::new(screen.clone(), canvas());
    v.set_shape(Some(shape(16, 16, false)), true);
    assert_eq!(v.mode(), CursorMode::Css);
    let css = screen.style().get_property_value("cursor").unwrap();
    assert!(css.starts_with("url(\"data:image/png"), "{css}");
    assert!(css.contains(" 1 2"), "{css}");
    v.set_shape(Some(shape(16, 16, true)), true);
    assert_eq!(v.mode(), CursorMode::Overlay);
    v.set_shape(Some(shape(200, 20, false)), true);
    assert_eq!(v.mode(), CursorMode::Overlay);
    v.set_visible(false);
    assert_eq!(v.mode(), CursorMode::Hidden);
    assert_eq!(screen.style().get_property_value("cursor").unwrap(), "none");
}

#[wasm_bindgen_test]
fn audio_probe_sees_received_samples() {
    let stats = Rc::new(RefCell::new(AudioStats::default()));
    let mut a = Audio::new(stats.clone(), true).unwrap();
    a.start(2, 48000.0);
    let samples: Vec<i16> = (0..960).flat_map(|i| [i as i16 * 10, -1]).collect();
    a.pcm(&samples);
    assert_eq!(stats.borrow().frames, 960);
    let el = dom::el("div", "");
    let _keep = install_probe(&el, stats.clone());
    let f: js_sys::Function = js_sys::Reflect::get(&el, &"oliveAudioProbe".into())
        .unwrap()
        .unchecked_into();
    let arr: js_sys::Float32Array = f.call0(&el).unwrap().unchecked_into();
    assert_eq!(arr.length(), 960);
    assert_eq!(arr.get_index(1), 10.0 / 32768.0);
    a.close();
}

#[wasm_bindgen_test]
async fn player_states_loading_then_error_without_gateway() {
    // The test server has no /api: the launch fails with a plain-words error state.
    let player = Player::launch(olive_web::player::Launch::new("nothing-here", "Nothing"));
    let el = player.element();
    dom::document().body().unwrap().append_child(&el).unwrap();
    assert_eq!(el.get_attribute("data-state").as_deref(), Some("loading"));
    assert_eq!(el.id(), "olive-player");
    let screen = el.query_selector("#olive-screen").unwrap().unwrap();
    assert_eq!(screen.get_attribute("tabindex").as_deref(), Some("0"));
    assert!(js_sys::Reflect::get(&el, &"oliveAudioProbe".into())
        .unwrap()
        .is_function());
    for _ in 0..100 {
        if el.get_attribute("data-state").as_deref() != Some("loading") {
            break;
        }
        gloo_timers::future::TimeoutFuture::new(20).await;
    }
    assert_eq!(el.get_attribute("data-state").as_deref(), Some("error"));
    let status = el
        .query_selector(".player-status")
        .unwrap()
        .unwrap()
        .text_content()
        .unwrap();
    assert!(!status.is_empty());
    assert!(!player.retry_button().hidden());
}
