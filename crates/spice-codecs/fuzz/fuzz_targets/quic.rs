//! QUIC streams: the input is the stream itself (header included). Any decoded image must
//! have a consistent size; everything else only has to fail without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spice_codecs::quic::decode_quic;

fuzz_target!(|data: &[u8]| {
    if let Ok(img) = decode_quic(data) {
        assert_eq!(
            img.pixels.len(),
            4 * img.width as usize * img.height as usize
        );
    }
});
