//! BACnet/IP datagrams: BVLL, NPDU, APDU (I-Am, ReadProperty, ComplexACK, Error) and tags.
#![no_main]
use libfuzzer_sys::fuzz_target;
use medguard_discover::probes::bacnet;

fuzz_target!(|data: &[u8]| {
    let _ = bacnet::parse_datagram(data);
    let _ = bacnet::parse_apdu(data);
    let _ = bacnet::read_tag(data);
    let _ = bacnet::character_string(data);
});
