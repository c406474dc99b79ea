//! Decoding and rendering real frames, one recording per image codec (see
//! `benches/recordings.rs`). Throughput is in pixels, so criterion reports pixels/s.
//!
//! * `codec/<name>` decodes the recording's images of that codec with spice-codecs alone.
//! * `render/<name>` replays the whole stream: protocol decode, image decode (any codec)
//!   and drawing into the surface, as a live session does.
//!
//! `cargo xtask bench` compares the same measurements natively and as wasm in headless
//! Chromium with one simpler loop shared by both (`recordings::run_all`, run by
//! `benches/codec_table.rs` and `tests/wasm_codec_bench.rs`).

#![allow(
    missing_docs,
    reason = "criterion_main! and the bench harness generate an undocumented main"
)]

mod recordings;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use recordings::CODECS;

fn benches(c: &mut Criterion) {
    let loaded: Vec<_> = CODECS
        .iter()
        .map(|codec| (codec, codec.messages()))
        .collect();
    let mut group = c.benchmark_group("codec");
    group.sample_size(20);
    for (codec, messages) in &loaded {
        let decoded = codec.decode(messages);
        assert!(
            decoded.images > 0,
            "{}: no {:?} image",
            codec.name,
            codec.kinds
        );
        group.throughput(Throughput::Elements(decoded.pixels));
        group.bench_function(codec.name, |b| b.iter(|| codec.decode(messages)));
    }
    group.finish();
    let mut group = c.benchmark_group("render");
    group.sample_size(20);
    for (codec, messages) in &loaded {
        group.throughput(Throughput::Elements(recordings::render_pixels(messages)));
        group.bench_function(codec.name, |b| {
            b.iter(|| recordings::render(codec.name, messages))
        });
    }
    group.finish();
}

criterion_group!(replay_benches, benches);
criterion_main!(replay_benches);
