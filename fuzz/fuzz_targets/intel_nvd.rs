//! NVD CVE JSON 2.0 (streaming parser) and feed `.meta` files.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = medguard_intel::nvd::parse(data);
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = medguard_intel::nvd::parse_meta(s);
    }
    let _ = medguard_intel::import::sniff(data);
});
