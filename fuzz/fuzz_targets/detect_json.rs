#![no_main]
//! JSON Lines / JSON array reading (incl. Windows event exports) never panics.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = medguard_detect::readers::json::read(
        data,
        std::path::Path::new("fuzz.json"),
        "fuzz",
        &mut |e| {
            let _ = e.summary();
        },
    );
});
