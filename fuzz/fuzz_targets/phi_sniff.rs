//! Format sniffing and dispatch on arbitrary bytes: whatever the content claims to be.
#![no_main]

#[path = "phi_common.rs"]
mod phi_common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    phi_common::scan(None, "fuzz.bin", data);
});
