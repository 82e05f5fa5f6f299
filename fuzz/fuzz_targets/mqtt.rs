//! MQTT control packets: CONNECT, CONNACK, PUBLISH (levels 4 and 5).
#![no_main]
use libfuzzer_sys::fuzz_target;
use medguard_discover::probes::mqtt;

fuzz_target!(|data: &[u8]| {
    if let Ok((p, _)) = mqtt::parse_packet(data) {
        let _ = mqtt::parse_connect(&p);
        let _ = mqtt::connack_code(&p);
        let _ = mqtt::parse_publish(&p, 4);
        let _ = mqtt::parse_publish(&p, 5);
    }
});
