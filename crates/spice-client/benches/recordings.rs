//! The recorded display streams shared by the native benchmark (`benches/replay.rs`), the
//! wasm one (`tests/wasm_codec_bench.rs`), so both measure the very same frames, and the
//! tests that keep them meaningful (`tests/bench_recordings.rs`) and compare their
//! rendering with golden pictures (`tests/golden_frames.rs`).
//!
//! One recording per codec (`cargo run -p olive-tests --example record_frames`): the test
//! guest's text, gradient and flat scenes drawn while a client was connected with that
//! codec in force. They are embedded, so the wasm build needs no file access.
//!
//! [`run_all`] is the measurement `cargo xtask bench` compares: the same loop, clock
//! passed in, natively (`benches/codec_table.rs`) and in the browser.

// Each user (criterion bench, table bench, wasm test, tests) needs a different part.
#![allow(dead_code)]

use spice_client::replay::{self, Decoded};
use spice_proto::framing::RawMessage;
use spice_proto::messages::display::image::ImageType;

/// A codec benchmark: its recording and the image types it decodes. GLZ-family images
/// share a dictionary, so zlib-GLZ also decodes the plain GLZ images it refers to.
pub(crate) struct Codec {
    pub name: &'static str,
    pub kinds: &'static [ImageType],
    packed: &'static [u8],
}

macro_rules! recording {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/benches/frames/",
            $name,
            ".spice.z"
        ))
    };
}

pub(crate) const CODECS: &[Codec] = &[
    Codec {
        name: "glz",
        kinds: &[ImageType::GlzRgb],
        packed: recording!("glz"),
    },
    Codec {
        name: "zlib-glz",
        kinds: &[ImageType::ZlibGlzRgb, ImageType::GlzRgb],
        packed: recording!("zlib-glz"),
    },
    Codec {
        name: "quic",
        kinds: &[ImageType::Quic],
        packed: recording!("quic"),
    },
    Codec {
        name: "lz4",
        kinds: &[ImageType::Lz4],
        packed: recording!("lz4"),
    },
    Codec {
        name: "jpeg",
        kinds: &[ImageType::Jpeg, ImageType::JpegAlpha],
        packed: recording!("jpeg"),
    },
    Codec {
        name: "lz",
        kinds: &[ImageType::LzRgb],
        packed: recording!("lz"),
    },
    Codec {
        name: "off",
        kinds: &[ImageType::Bitmap],
        packed: recording!("off"),
    },
];

impl Codec {
    /// The recording's display messages.
    pub(crate) fn messages(&self) -> Vec<RawMessage> {
        let raw = miniz_oxide::inflate::decompress_to_vec_zlib(self.packed)
            .unwrap_or_else(|e| panic!("{}: inflate: {e:?}", self.name));
        replay::display_messages(&raw).unwrap_or_else(|e| panic!("{}: parse: {e}", self.name))
    }

    /// What `codec/<name>` times: this codec's images decoded with spice-codecs alone.
    pub(crate) fn decode(&self, messages: &[RawMessage]) -> Decoded {
        replay::decode_images(messages, self.kinds)
            .unwrap_or_else(|e| panic!("{}: decode: {e}", self.name))
    }
}

/// What `render/<name>` times: the whole stream replayed into a surface, as a live
/// session draws it.
pub(crate) fn render(name: &str, messages: &[RawMessage]) {
    let (state, _, failed) =
        replay::render(messages).unwrap_or_else(|e| panic!("{name}: replay: {e}"));
    assert_eq!(failed, 0, "{name}: draws failed during replay");
    std::hint::black_box(state);
}

/// The unit of render throughput: pixels of every image the stream draws, whatever its
/// codec, cache hits included.
pub(crate) fn render_pixels(messages: &[RawMessage]) -> u64 {
    replay::image_pixels(messages).unwrap_or_else(|e| panic!("counting pixels: {e}"))
}

/// Each measurement takes samples for at least this long (after a warm-up run)...
const MIN_MS: f64 = 3000.0;
/// ...and at least this many samples, each of enough runs to last this long: short
/// enough that many samples escape preemption on a busy machine, long enough for the
/// browser's coarse clock (0.1 ms without cross-origin isolation).
const MIN_SAMPLES: usize = 20;
const SAMPLE_MS: f64 = 5.0;

/// Milliseconds per call of `f`: the best sample (the machine's own speed, what the
/// table compares) and the median one.
pub(crate) struct Timing {
    pub best_ms: f64,
    pub median_ms: f64,
}

/// Times `f` with the caller's clock (`now_ms`, milliseconds from any origin).
pub(crate) fn measure(now_ms: &mut dyn FnMut() -> f64, f: &mut dyn FnMut()) -> Timing {
    let start = now_ms();
    f();
    let once = (now_ms() - start).max(0.01);
    let runs = (SAMPLE_MS / once).ceil().max(1.0) as u32;
    let mut samples = Vec::new();
    let begin = now_ms();
    while samples.len() < MIN_SAMPLES || now_ms() - begin < MIN_MS {
        let t = now_ms();
        for _ in 0..runs {
            f();
        }
        samples.push((now_ms() - t) / f64::from(runs));
    }
    samples.sort_by(f64::total_cmp);
    Timing {
        best_ms: samples[0],
        median_ms: samples[samples.len() / 2],
    }
}

/// Measures `codec/<name>` and `render/<name>` for every recording and hands `out` one
/// line each, `BENCH <group>/<name> pixels=<n> ms=<best> median_ms=<median> mpx_s=<best>`,
/// which `cargo xtask bench` parses.
pub(crate) fn run_all(now_ms: &mut dyn FnMut() -> f64, out: &mut dyn FnMut(String)) {
    for codec in CODECS {
        let messages = codec.messages();
        let decoded = codec.decode(&messages);
        assert!(decoded.images > 0, "{}: no image of its codec", codec.name);
        let t = measure(now_ms, &mut || {
            std::hint::black_box(codec.decode(std::hint::black_box(&messages)));
        });
        out(line("codec", codec.name, decoded.pixels, &t));
        let t = measure(now_ms, &mut || {
            render(codec.name, std::hint::black_box(&messages))
        });
        out(line("render", codec.name, render_pixels(&messages), &t));
    }
}

fn line(group: &str, name: &str, pixels: u64, t: &Timing) -> String {
    format!(
        "BENCH {group}/{name} pixels={pixels} ms={:.4} median_ms={:.4} mpx_s={:.1}",
        t.best_ms,
        t.median_ms,
        pixels as f64 / t.best_ms / 1000.0
    )
}
