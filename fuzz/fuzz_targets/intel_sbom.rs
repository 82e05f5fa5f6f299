//! CycloneDX JSON/XML and SPDX JSON/tag-value SBOMs.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = medguard_intel::sbom::parse(data);
});
