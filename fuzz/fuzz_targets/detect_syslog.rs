#![no_main]
//! Syslog parsing (RFC 3164/5424, key=value extraction) never panics on arbitrary text.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let e = medguard_detect::readers::syslog::parse_message(&text, "fuzz".into());
    let _ = e.summary();
    let mut n = 0;
    let _ = medguard_detect::readers::syslog::read_lines(
        data,
        std::path::Path::new("fuzz.log"),
        "fuzz",
        &mut |_| n += 1,
    );
});
