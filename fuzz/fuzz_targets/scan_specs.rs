#![no_main]
//! Target lists (`@file` contents, command-line specs) and `--ports` expressions: never panic.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(specs) = medguard_discover::targets::parse_list(&text) {
        for (_, spec) in &specs {
            let _ = medguard_discover::targets::count(spec);
        }
    }
    let _ = medguard_discover::ports::PortList::parse(&text);
});
