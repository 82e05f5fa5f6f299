#![no_main]
//! nmap XML import: arbitrary bytes must parse or fail cleanly, never panic.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = medguard_discover::nmap::parse(data);
});
