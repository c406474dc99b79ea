//! Golden pictures of the replay recordings: every recording in `benches/frames` goes
//! through the real decoder and renderer (`replay::Replay`, what a live session runs),
//! and the primary surface halfway through the stream and at its end must equal the
//! PNGs committed beside it, `benches/frames/<codec>.half.png` and `<codec>.end.png`.
//!
//! Halfway, each recording is in the middle of the text and gradient scenes (so the
//! codec's own images are on screen); at the end it shows the flat scene. More points
//! would cost repository space (the gradient is noise that PNG barely shrinks) for
//! little more coverage.
//!
//! A mismatch names the golden file and writes `actual.png` and `diff.png` under
//! `$TMPDIR/olive-golden/`. After an intended rendering change, regenerate with
//! `OLIVE_BLESS=1 cargo test -p spice-client --test golden_frames` and look at the
//! pictures before committing them (docs/testing.md).

#[path = "../benches/recordings.rs"]
mod recordings;

use std::path::PathBuf;

use olive_test_support::golden::check_golden;
use olive_test_support::Image;
use spice_client::replay::Replay;

/// The golden file of `codec` at `point`.
fn golden(codec: &str, point: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("benches/frames")
        .join(format!("{codec}.{point}.png"))
}

/// The primary surface as a picture.
fn primary(replay: &Replay, codec: &str) -> Image {
    let s = replay
        .display()
        .primary()
        .unwrap_or_else(|| panic!("{codec}: no primary surface"));
    Image::new(s.width(), s.height(), s.pixels().to_vec())
}

#[test]
fn replays_draw_their_golden_pictures() {
    let mut failures = Vec::new();
    for codec in recordings::CODECS {
        let messages = codec.messages();
        let half = messages.len() / 2;
        let mut replay = Replay::default();
        for (i, m) in messages.iter().enumerate() {
            replay
                .push(m)
                .unwrap_or_else(|e| panic!("{}: message {i}: {e}", codec.name));
            let point = match i + 1 {
                n if n == half => "half",
                n if n == messages.len() => "end",
                _ => continue,
            };
            let actual = primary(&replay, codec.name);
            // Lossless and JPEG alike: the decoders are deterministic, so any change in a
            // pixel is a change in the renderer.
            if let Err(e) = check_golden(&golden(codec.name, point), &actual, 0) {
                failures.push(format!("{} at {point}: {e}", codec.name));
            }
        }
        assert_eq!(replay.failed_draws(), 0, "{}: failed draws", codec.name);
    }
    assert!(
        failures.is_empty(),
        "{} golden picture(s) differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
