//! Input: `[channel_type, chunk_size, type_lo, type_hi, body...]`; see
//! `spice_proto::fuzzing::decode_messages`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    spice_proto::fuzzing::decode_messages(data);
});
