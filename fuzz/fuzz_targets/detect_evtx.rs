#![no_main]
//! EVTX parsing of arbitrary bytes: errors are reported, never a crash. Inputs that do not start
//! with the file magic get it prepended so the fuzzer reaches the chunk parser.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut buf = Vec::with_capacity(data.len() + 8);
    if !data.starts_with(b"ElfFile\0") {
        buf.extend_from_slice(b"ElfFile\0");
    }
    buf.extend_from_slice(data);
    let _ = medguard_detect::readers::evtx::read_bytes(
        buf,
        std::path::Path::new("fuzz.evtx"),
        &mut |e| {
            let _ = e.summary();
        },
    );
});
