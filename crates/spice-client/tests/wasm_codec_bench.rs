//! The codec and render measurements of `benches/replay.rs`, on the same recordings,
//! compiled to wasm32 and run in headless Chromium: what the browser client really gets.
//!
//! Not part of the normal test run (it only builds for wasm32, and `cargo xtask test`
//! runs olive-web's wasm tests only). `cargo xtask bench` runs it in release mode:
//! `cargo test --release -p spice-client --target wasm32-unknown-unknown --test
//! wasm_codec_bench -- --nocapture`. It prints one `BENCH` line per measurement and
//! asserts nothing about speed, only that every recording decodes and renders.
#![cfg(target_arch = "wasm32")]

#[path = "../benches/recordings.rs"]
mod recordings;

use recordings::CODECS;
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// Each measurement takes samples for at least this long (after a warm-up run)...
const MIN_MS: f64 = 2000.0;
/// ...and at least this many samples, each of enough runs to last this long (the
/// browser's clock is coarse, 0.1 ms without cross-origin isolation).
const MIN_SAMPLES: usize = 10;
const SAMPLE_MS: f64 = 20.0;

/// Median milliseconds per call of `f`, over samples of several calls: the median, as
/// criterion's, shrugs off the pauses a busy machine inflicts on a few samples.
fn measure(performance: &web_sys::Performance, mut f: impl FnMut()) -> f64 {
    let start = performance.now();
    f();
    let once = (performance.now() - start).max(0.01);
    let runs = (SAMPLE_MS / once).ceil().max(1.0) as u32;
    let mut samples = Vec::new();
    let begin = performance.now();
    while samples.len() < MIN_SAMPLES || performance.now() - begin < MIN_MS {
        let t = performance.now();
        for _ in 0..runs {
            f();
        }
        samples.push((performance.now() - t) / f64::from(runs));
    }
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn report(group: &str, name: &str, pixels: u64, ms: f64) {
    // Parsed by `cargo xtask bench`: BENCH <group>/<name> pixels=<n> ms=<median per run>.
    console_log!(
        "BENCH {group}/{name} pixels={pixels} ms={ms:.4} mpx_s={:.1}",
        pixels as f64 / ms / 1000.0
    );
}

#[wasm_bindgen_test]
fn codec_and_render_throughput() {
    let performance = web_sys::window()
        .and_then(|w| w.performance())
        .expect("window.performance");
    for codec in CODECS {
        let messages = codec.messages();
        let decoded = codec.decode(&messages);
        assert!(decoded.images > 0, "{}: no image of its codec", codec.name);
        let ms = measure(&performance, || {
            std::hint::black_box(codec.decode(&messages));
        });
        report("codec", codec.name, decoded.pixels, ms);
        let pixels = recordings::render_pixels(&messages);
        let ms = measure(&performance, || recordings::render(codec.name, &messages));
        report("render", codec.name, pixels, ms);
    }
}
