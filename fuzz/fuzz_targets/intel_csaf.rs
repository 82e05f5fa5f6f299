//! CSAF 2.0 advisories and their version expressions.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = medguard_intel::csaf::parse(data);
    if let Ok(s) = std::str::from_utf8(data) {
        let (a, b) = s.split_at(s.floor_char_boundary(s.len() / 2));
        let _ = medguard_intel::csaf::in_range(a, b);
    }
});
