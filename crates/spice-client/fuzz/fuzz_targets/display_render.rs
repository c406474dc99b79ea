//! Input: a display channel byte stream after the link (mini-header frames). Every frame
//! goes through the decoder and the renderer, so hostile coordinates, sizes and cache
//! references meet the real drawing code.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    spice_client::replay::render_frames(data);
});
