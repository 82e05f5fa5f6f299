//! SNMP v1/v2c messages: BER TLVs, integers, OIDs, varbinds.
#![no_main]
use libfuzzer_sys::fuzz_target;
use medguard_discover::probes::snmp;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = snmp::decode_message(data) {
        let mut obs = medguard_discover::Observation::new("snmp");
        snmp::describe(&mut obs, &m);
        let _ = snmp::encode_message(&m);
    }
    let _ = snmp::decode_oid(data);
});
