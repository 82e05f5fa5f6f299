//! CISA KEV JSON, FIRST EPSS CSV and openFDA recall JSON.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = medguard_intel::kev::parse(data);
    let _ = medguard_intel::epss::stream(data, |_, _| Ok(()));
    let _ = medguard_intel::openfda::parse(data);
});
