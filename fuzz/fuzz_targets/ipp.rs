//! IPP messages (RFC 8010 encoding) and what the probe records from them.
#![no_main]
use libfuzzer_sys::fuzz_target;
use medguard_discover::probes::{http, ipp};

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = ipp::parse(data)
        && let Ok(head) = http::parse_head(b"HTTP/1.1 200 OK\r\n\r\n", "HTTP")
    {
        let mut obs = medguard_discover::Observation::new("ipp");
        ipp::describe(&mut obs, &head, &msg, "ipp://fuzz/ipp/print");
    }
});
