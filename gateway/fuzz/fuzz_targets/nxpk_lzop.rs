//! Input: an lzop file, and (first byte as a size hint) a bare LZO1X block: bounds of every
//! literal run and match copy.
#![no_main]

use libfuzzer_sys::fuzz_target;
use olive_gateway::codec::lzop;

fuzz_target!(|data: &[u8]| {
    let _ = lzop::decompress(&mut &data[..], &mut std::io::sink());
    if let Some((&hint, rest)) = data.split_first() {
        let _ = lzop::lzo1x_decompress(rest, usize::from(hint) * 64);
    }
});
