//! RDP: TPKT + X.224 Connection Confirm/Request with RDP_NEG_* structures ([MS-RDPBCGR] 2.2.1).
#![no_main]
use libfuzzer_sys::fuzz_target;
use medguard_discover::probes::rdp;

fuzz_target!(|data: &[u8]| {
    if let Some(n) = rdp::tpkt_complete(data) {
        assert!(n <= data.len());
    }
    let _ = rdp::parse_confirm(data);
    let _ = rdp::parse_request(data);
});
