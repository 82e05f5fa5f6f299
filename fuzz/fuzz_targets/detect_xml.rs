#![no_main]
//! Windows XML event export reading never panics.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = medguard_detect::readers::xml::read(
        data,
        std::path::Path::new("fuzz.xml"),
        "fuzz",
        &mut |e| {
            let _ = e.summary();
        },
    );
});
