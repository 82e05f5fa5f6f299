//! DNS messages as mDNS responders send them: compression, PTR/SRV/TXT/A/AAAA records.
#![no_main]
use libfuzzer_sys::fuzz_target;
use medguard_discover::probes::mdns;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = mdns::parse_message(data) {
        let mut obs = medguard_discover::Observation::new("mdns");
        mdns::describe(&mut obs, &[m]);
    }
});
