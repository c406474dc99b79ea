//! Input: a whole memory image (libvirt save header, XML, compressed stream). Header checks
//! and every decompressor see hostile lengths and ids.
#![no_main]

use libfuzzer_sys::fuzz_target;
use olive_gateway::codec::libvirt as memory;

fuzz_target!(|data: &[u8]| {
    let _ = memory::unwrap(data, &mut std::io::sink());
});
