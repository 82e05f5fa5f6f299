//! The telnet stream: IAC commands, option negotiation, sub-negotiation (RFC 854/855).
#![no_main]
use libfuzzer_sys::fuzz_target;
use medguard_discover::probes::telnet;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = telnet::parse(data) {
        assert!(p.pending <= data.len());
        let _ = telnet::refusals(&p.negotiations);
        let _ = telnet::login_prompt(&String::from_utf8_lossy(&p.text));
    }
});
