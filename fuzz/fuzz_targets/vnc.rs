//! VNC: RFB ProtocolVersion and security-type messages (RFC 6143 §7.1), VeNCrypt sub-type lists.
#![no_main]
use libfuzzer_sys::fuzz_target;
use medguard_discover::probes::vnc;

fuzz_target!(|data: &[u8]| {
    let _ = vnc::parse_version(data);
    if let Ok(Some((_, n))) = vnc::parse_vencrypt_subtypes(data) {
        assert!(n <= data.len());
    }
    for minor in [3, 7, 8] {
        if let Ok(Some((_, n))) = vnc::parse_security(data, minor) {
            assert!(n <= data.len());
        }
    }
});
