//! Input: text tried as both a package manifest and a domain XML (whitelist + mapping).
#![no_main]

use libfuzzer_sys::fuzz_target;
use olive_gateway::packages::nxpk::{domain, manifest};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = manifest::parse(text);
        let _ = domain::parse(text);
    }
});
