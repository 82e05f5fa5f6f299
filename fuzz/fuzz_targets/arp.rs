#![no_main]
//! ARP replies as an AF_PACKET socket delivers them (Ethernet frames): never panic, and whatever
//! parses re-encodes to a frame that parses to the same sender.

use libfuzzer_sys::fuzz_target;
use medguard_discover::arp::{parse_arp_reply, who_has};

fuzz_target!(|data: &[u8]| {
    if let Some((ip, mac)) = parse_arp_reply(data) {
        assert!(
            mac[0] & 1 == 0 && mac != [0; 6],
            "multicast or zero sender accepted"
        );
        let mut frame = who_has(mac, ip, ip);
        frame[21] = 2;
        assert_eq!(parse_arp_reply(&frame), Some((ip, mac)));
    }
});
