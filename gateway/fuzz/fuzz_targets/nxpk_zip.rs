//! Input: a whole zip file held in memory; the directory parser and member lookups run on it
//! as `Package::open` would, with every offset coming from the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use olive_gateway::packages::nxpk::zip;

fn range(data: &[u8], at: u64, len: u64) -> Option<&[u8]> {
    let end = at.checked_add(len)?;
    data.get(usize::try_from(at).ok()?..usize::try_from(end).ok()?)
}

fuzz_target!(|data: &[u8]| {
    let size = data.len() as u64;
    let tail_len = size.min(zip::MAX_TAIL);
    let Some(tail) = range(data, size - tail_len, tail_len) else { return };
    let dir = match zip::parse_tail(tail, size) {
        Ok(zip::Tail::Found(d)) => d,
        Ok(zip::Tail::Zip64At(at)) => {
            let Some(rec) = range(data, at, 56) else { return };
            match zip::parse_zip64_eocd(rec, at) {
                Ok(d) => d,
                Err(_) => return,
            }
        }
        Err(_) => return,
    };
    let Some(cd) = range(data, dir.offset, dir.size) else { return };
    let Ok(entries) = zip::parse_central_directory(cd, dir.entries) else { return };
    for e in &entries {
        if let Ok(e) = zip::stored(&entries, &e.name) {
            if let Some(h) = range(data, e.header_offset, zip::LOCAL_HEADER_LEN) {
                let _ = zip::data_offset(e, h, size);
            }
        }
    }
});
