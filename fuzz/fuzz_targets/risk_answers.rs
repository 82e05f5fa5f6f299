//! The answers file parser (`medguard assess --answers`) and the incident file parser
//! (`medguard incident assess`) on arbitrary bytes: never panic; accepted answers name known
//! questions; accepted incidents can always be decided.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medguard_risk::{Catalog, answers, breach};
use std::sync::OnceLock;

static CATALOG: OnceLock<Option<Catalog>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Some(cat) = CATALOG.get_or_init(|| Catalog::embedded().ok()).as_ref() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(parsed) = answers::parse("fuzz.toml", text, cat) {
        for a in &parsed.answers {
            assert!(cat.knows_question(&a.question));
        }
    }
    if let Ok(inc) = breach::parse("fuzz.toml", text, cat) {
        let d = breach::decide(&inc, cat);
        assert!(!d.steps.is_empty());
    }
});
