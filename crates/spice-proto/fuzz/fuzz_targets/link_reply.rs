//! Input: raw link-stage bytes; see `spice_proto::fuzzing::link_reply`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    spice_proto::fuzzing::link_reply(data);
});
