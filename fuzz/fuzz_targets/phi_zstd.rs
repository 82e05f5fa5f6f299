//! The PHI Zstandard extractor (and the detectors behind it) on arbitrary bytes.
#![no_main]

#[path = "phi_common.rs"]
mod phi_common;

use libfuzzer_sys::fuzz_target;
use medguard_phi::Format;

fuzz_target!(|data: &[u8]| {
    phi_common::scan(Some(Format::Zstd), "fuzz", data);
});
