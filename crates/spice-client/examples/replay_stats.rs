//! Prints what a recorded display stream contains: `replay_stats FILE [FILE...]`
//! (raw recordings, or zlib-compressed `.z` files as stored in `benches/frames`).

fn main() {
    for path in std::env::args().skip(1) {
        let bytes = std::fs::read(&path).expect("read recording");
        let raw = if path.ends_with(".z") {
            miniz_oxide::inflate::decompress_to_vec_zlib(&bytes).expect("inflate")
        } else {
            bytes
        };
        let messages = spice_client::replay::display_messages(&raw).expect("parse");
        let (state, stats, failed) = spice_client::replay::render(&messages).expect("render");
        let size = state.primary().map(|s| (s.width(), s.height()));
        println!(
            "{path}: {} messages, surface {size:?}, {failed} failed draws",
            messages.len()
        );
        println!("  images: {:?}", stats.images);
    }
}
