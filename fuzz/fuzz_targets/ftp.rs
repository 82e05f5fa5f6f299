//! FTP replies, single- and multi-line (RFC 959 §4.2), and greeting product parsing.
#![no_main]
use libfuzzer_sys::fuzz_target;
use medguard_discover::probes::ftp;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((r, n))) = ftp::parse_reply(data) {
        assert!(n <= data.len());
        let _ = ftp::server(&r.text());
    }
});
