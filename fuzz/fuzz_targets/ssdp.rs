//! SSDP search responses (HTTP over UDP headers) and SERVER header splitting.
#![no_main]
use libfuzzer_sys::fuzz_target;
use medguard_discover::probes::ssdp;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = ssdp::parse_message(data) {
        let mut obs = medguard_discover::Observation::new("ssdp");
        ssdp::describe(&mut obs, &m);
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = ssdp::split_server(s);
    }
});
