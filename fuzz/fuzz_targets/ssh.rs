//! SSH identification lines and KEXINIT packets (RFC 4253 §4.2, §6, §7.1).
#![no_main]
use libfuzzer_sys::fuzz_target;
use medguard_discover::probes::ssh;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((id, n))) = ssh::find_ident(data) {
        assert!(n <= data.len());
        let _ = ssh::software(&id);
        let _ = ssh::legacy(&id);
    }
    let _ = ssh::parse_ident(data);
    if let Some(n) = ssh::packet_complete(data) {
        assert!(n <= data.len());
    }
    let _ = ssh::parse_kexinit_packet(data);
    let _ = ssh::parse_kexinit(data);
});
