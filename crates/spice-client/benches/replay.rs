//! Decoding and rendering real frames: display streams recorded from the test guest
//! (`cargo run -p olive-tests --example record_frames`), stored zlib-compressed in
//! `benches/frames`. Throughput is in image pixels, so criterion reports pixels/s.
//!
//! * `codec/*` decodes each image of the recording with spice-codecs alone (BITMAP or LZ).
//! * `render/*` replays the whole stream: protocol decode, image decode and drawing into
//!   the surface, as a live session does.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use spice_client::replay;
use spice_codecs::{decode_bitmap, decode_lz, BitmapFormat};
use spice_proto::framing::RawMessage;
use spice_proto::messages::display::image::bitmap_flags;
use spice_proto::messages::display::ImageData;
use spice_proto::messages::{decode_display, DisplayMsg};

const RECORDINGS: &[&str] = &[
    "text-lz",
    "gradient-lz",
    "flat-lz",
    "text-off",
    "gradient-off",
];

fn load(name: &str) -> Vec<RawMessage> {
    let path = format!(
        "{}/benches/frames/{name}.spice.z",
        env!("CARGO_MANIFEST_DIR")
    );
    let packed = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let raw = miniz_oxide::inflate::decompress_to_vec_zlib(&packed).expect("inflate recording");
    replay::display_messages(&raw).expect("parse recording")
}

/// Decodes every DRAW_COPY image with the codec alone; returns decoded pixels.
fn decode_images(messages: &[RawMessage]) -> u64 {
    let mut pixels = 0u64;
    for m in messages {
        let Ok(DisplayMsg::DrawCopy(d)) = decode_display(m.ty, &m.body) else {
            continue;
        };
        let img = match &d.src.data {
            ImageData::LzRgb { data } => decode_lz(data, None),
            ImageData::Bitmap(b) => decode_bitmap(
                BitmapFormat::try_from(b.format.to_u8()).expect("format"),
                b.width,
                b.height,
                b.stride,
                b.flags & bitmap_flags::TOP_DOWN != 0,
                b.data,
                None,
            ),
            _ => continue,
        };
        let img = img.expect("decode");
        pixels += u64::from(img.width) * u64::from(img.height);
    }
    pixels
}

fn benches(c: &mut Criterion) {
    for name in RECORDINGS {
        let messages = load(name);
        let pixels = decode_images(&messages);
        let mut group = c.benchmark_group(*name);
        group.throughput(Throughput::Elements(pixels));
        group.sample_size(20);
        group.bench_function("codec", |b| b.iter(|| decode_images(&messages)));
        group.bench_function("render", |b| {
            b.iter(|| {
                let (_, _, failed) = replay::render(&messages).expect("replay");
                assert_eq!(failed, 0);
            })
        });
        group.finish();
    }
}

criterion_group!(replay_benches, benches);
criterion_main!(replay_benches);
