//! Modbus/TCP MBAP frames and function 43/14 device-identification replies.
#![no_main]
use libfuzzer_sys::fuzz_target;
use medguard_discover::probes::modbus;

fuzz_target!(|data: &[u8]| {
    let _ = modbus::frame_len(data);
    if let Ok((_, pdu)) = modbus::parse_adu(data) {
        let _ = modbus::parse_reply(pdu);
    }
    let _ = modbus::parse_reply(data);
});
