//! Input: MJPEG frames of one stream, separated by the bytes "FRAME". Each goes through the
//! table carry-over (a marker parser of its own) and then the JPEG decoder, as stream
//! frames do; abbreviated frames thus meet tables learnt from earlier hostile ones.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spice_client::display::stream::tables::JpegTables;

fuzz_target!(|data: &[u8]| {
    let mut tables = JpegTables::default();
    let mut rest = data;
    while !rest.is_empty() {
        let end = rest
            .windows(5)
            .position(|w| w == b"FRAME")
            .unwrap_or(rest.len());
        if let Ok(frame) = tables.complete(&rest[..end]) {
            let _ = spice_codecs::jpeg::decode_jpeg(&frame);
        }
        rest = rest.get(end + 5..).unwrap_or(&[]);
    }
});
