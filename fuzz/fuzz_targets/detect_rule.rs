#![no_main]
//! Loading an arbitrary (malformed) Sigma rule: a load issue, never a crash.
use libfuzzer_sys::fuzz_target;
use medguard_detect::engine::{RuleSource, SigmaEngine};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let src = RuleSource {
        name: "fuzz.yml".into(),
        text: text.to_string(),
    };
    let (_engine, report) = SigmaEngine::load(&[src], Vec::new());
    let _ = report.loaded_percent();
});
