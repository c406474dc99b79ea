//! Input: a display channel byte stream after the link (mini-header frames). Every frame
//! goes through the decoder and the renderer, so hostile coordinates, sizes and cache
//! references meet the real drawing code. The stream is rendered twice: as is, and on
//! a prepared set of surfaces (xRGB primary, A8, 16-bit, ARGB) so every draw op and
//! target format is reachable without the fuzzer first finding SURFACE_CREATE. Seeds
//! with one message per draw op: `OLIVE_FUZZ_SEEDS=fuzz/corpus/display_render cargo
//! test -p spice-client --test wire_ops`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    spice_client::replay::render_frames(data);
    spice_client::replay::render_frames_with_surfaces(data);
});
