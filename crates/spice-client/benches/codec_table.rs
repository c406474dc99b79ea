//! The native side of `cargo xtask bench`: the very loop the wasm bench runs in Chromium
//! (`recordings::run_all`), timed with the monotonic clock, printing the same `BENCH`
//! lines. `benches/replay.rs` is the criterion view of the same measurements.

mod recordings;

use std::time::Instant;

fn main() {
    // cargo bench passes `--bench`; this runner has no options.
    let origin = Instant::now();
    recordings::run_all(
        &mut || origin.elapsed().as_secs_f64() * 1000.0,
        &mut |line| println!("{line}"),
    );
}
