//! Input: `[chunk_size, ops, agent byte stream...]`: the guest agent's side of the main
//! channel's AGENT_DATA, cut anywhere, with the visitor's paste/resize and server tokens
//! interleaved (see `spice_client::fuzzing::agent_stream`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    spice_client::fuzzing::agent_stream(data);
});
