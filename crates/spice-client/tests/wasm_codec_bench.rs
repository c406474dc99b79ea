//! The codec and render measurements of `benches/replay.rs`, on the same recordings,
//! compiled to wasm32 and run in headless Chromium: what the browser client really gets.
//!
//! Not part of the normal test run (it only builds for wasm32, and `cargo xtask test`
//! runs olive-web's wasm tests only). `cargo xtask bench` runs it in release mode:
//! `cargo test --release -p spice-client --target wasm32-unknown-unknown --test
//! wasm_codec_bench -- --nocapture`. It prints one `BENCH` line per measurement (see
//! `recordings::run_all`, which `benches/codec_table.rs` runs natively) and asserts nothing
//! about speed, only that every recording decodes and renders.
#![cfg(target_arch = "wasm32")]

#[path = "../benches/recordings.rs"]
mod recordings;

use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn codec_and_render_throughput() {
    let performance = web_sys::window()
        .and_then(|w| w.performance())
        .expect("window.performance");
    recordings::run_all(&mut || performance.now(), &mut |line| {
        console_log!("{line}")
    });
}
