//! ARP host discovery for targets on a directly attached IPv4 subnet (Linux only).
//!
//! Used by the scan's host discovery when the process may open an `AF_PACKET` socket (root or
//! `CAP_NET_RAW`); otherwise it is silently skipped and discovery relies on TCP connects (and ICMP).
//! A device that answers ARP is there even when every port is filtered, and its reply carries its
//! Ethernet address, which becomes the device's stable identity in the inventory.
//!
//! Wire format (RFC 826 over Ethernet II): destination MAC, source MAC, EtherType 0x0806, then
//! hardware type 1, protocol type 0x0800, hardware length 6, protocol length 4, operation
//! (1 request, 2 reply), sender MAC, sender IPv4, target MAC, target IPv4. One who-has request is
//! broadcast per target, paced by the scan-wide rate; replies are collected for a bounded time and
//! kept only from addresses that were asked about.

use std::net::Ipv4Addr;

/// Length of an ARP-over-Ethernet frame without padding.
pub const FRAME_LEN: usize = 42;
const ETHERTYPE_ARP: [u8; 2] = [0x08, 0x06];
const ARP_HEADER: [u8; 6] = [0x00, 0x01, 0x08, 0x00, 6, 4];

/// A who-has request for `target`, broadcast from `src_mac`/`src_ip`.
pub fn who_has(src_mac: [u8; 6], src_ip: Ipv4Addr, target: Ipv4Addr) -> [u8; FRAME_LEN] {
    let mut f = [0u8; FRAME_LEN];
    let parts: [&[u8]; 9] = [
        &[0xff; 6],
        &src_mac,
        &ETHERTYPE_ARP,
        &ARP_HEADER,
        &[0x00, 0x01],
        &src_mac,
        &src_ip.octets(),
        &[0u8; 6],
        &target.octets(),
    ];
    let mut at = 0;
    for p in parts {
        if let Some(dst) = f.get_mut(at..at + p.len()) {
            dst.copy_from_slice(p);
        }
        at += p.len();
    }
    f
}

/// The sender of an ARP reply in an Ethernet frame (`(sender IPv4, sender MAC)`), or `None` when
/// the frame is not a well-formed IPv4-over-Ethernet ARP reply from a unicast address.
pub fn parse_arp_reply(frame: &[u8]) -> Option<(Ipv4Addr, [u8; 6])> {
    if frame.get(12..14)? != ETHERTYPE_ARP {
        return None;
    }
    let arp = frame.get(14..14 + 28)?;
    if arp.get(..6)? != ARP_HEADER || arp.get(6..8)? != [0x00, 0x02] {
        return None;
    }
    let mac: [u8; 6] = arp.get(8..14)?.try_into().ok()?;
    let ip: [u8; 4] = arp.get(14..18)?.try_into().ok()?;
    // A multicast/broadcast or all-zero sender address is not a device.
    if mac[0] & 1 == 1 || mac == [0; 6] {
        return None;
    }
    Some((Ipv4Addr::from(ip), mac))
}

/// A MAC address as `aa:bb:cc:dd:ee:ff`.
pub fn format_mac(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(target_os = "linux")]
pub use linux::{available, sweep};

#[cfg(not(target_os = "linux"))]
/// ARP discovery is implemented for Linux only.
pub fn available() -> bool {
    false
}

/// What an ARP sweep found.
#[derive(Debug, Default, Clone)]
pub struct Sweep {
    /// Targets that answered, with their Ethernet address.
    pub found: std::collections::HashMap<Ipv4Addr, [u8; 6]>,
    /// Requests sent (targets on a directly attached subnet).
    pub asked: usize,
    /// Interfaces that could not be used (one line each, e.g. "failed to open eth0: ...").
    pub errors: Vec<String>,
}

#[cfg(target_os = "linux")]
mod linux {
    use super::{Sweep, parse_arp_reply, who_has};
    use crate::rate::TokenBucket;
    use pnet_datalink::{Channel, Config, MacAddr, NetworkInterface};
    use std::collections::{HashMap, HashSet};
    use std::net::{IpAddr, Ipv4Addr};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    /// Frames read per sweep at most, whatever else is on the wire.
    const MAX_FRAMES: usize = 1_000_000;

    /// Whether this process may open an `AF_PACKET` socket (root or `CAP_NET_RAW`).
    pub fn available() -> bool {
        socket2::Socket::new(socket2::Domain::PACKET, socket2::Type::RAW, None).is_ok()
    }

    /// The interface whose IPv4 network contains `ip` (up, not loopback, with an Ethernet address),
    /// with our address on it. `ip` must not be our own address nor the network/broadcast address.
    fn attached(
        ifaces: &[NetworkInterface],
        ip: Ipv4Addr,
    ) -> Option<(NetworkInterface, Ipv4Addr, [u8; 6])> {
        ifaces
            .iter()
            .filter(|i| i.is_up() && !i.is_loopback())
            .find_map(|i| {
                let MacAddr(a, b, c, d, e, f) = i.mac?;
                let mac = [a, b, c, d, e, f];
                if mac == [0; 6] {
                    return None;
                }
                i.ips.iter().find_map(|n| match n.ip() {
                    IpAddr::V4(own)
                        if n.prefix() < 31
                            && n.contains(IpAddr::V4(ip))
                            && own != ip
                            && IpAddr::V4(ip) != n.network()
                            && IpAddr::V4(ip) != n.broadcast() =>
                    {
                        Some((i.clone(), own, mac))
                    }
                    _ => None,
                })
            })
    }

    /// Broadcast one who-has per target on a directly attached subnet (paced by `rate`), collect
    /// replies until `wait` after the last request, and return who answered. Targets on no attached
    /// subnet are not asked.
    pub async fn sweep(targets: &[Ipv4Addr], rate: Arc<TokenBucket>, wait: Duration) -> Sweep {
        let ifaces = pnet_datalink::interfaces();
        let mut by_iface: HashMap<String, (NetworkInterface, Ipv4Addr, [u8; 6], Vec<Ipv4Addr>)> =
            HashMap::new();
        for &ip in targets {
            if let Some((iface, own, mac)) = attached(&ifaces, ip) {
                by_iface
                    .entry(iface.name.clone())
                    .or_insert_with(|| (iface, own, mac, Vec::new()))
                    .3
                    .push(ip);
            }
        }
        let mut out = Sweep::default();
        for (name, (iface, own, mac, ips)) in by_iface {
            let config = Config {
                read_timeout: Some(Duration::from_millis(50)),
                promiscuous: false,
                ..Config::default()
            };
            let (mut tx, mut rx) = match pnet_datalink::channel(&iface, config) {
                Ok(Channel::Ethernet(tx, rx)) => (tx, rx),
                Ok(_) => {
                    out.errors
                        .push(format!("failed to open {name}: not an Ethernet channel"));
                    continue;
                }
                Err(e) => {
                    out.errors.push(format!("failed to open {name}: {e}"));
                    continue;
                }
            };
            let asked: HashSet<Ipv4Addr> = ips.iter().copied().collect();
            let stop = Arc::new(AtomicBool::new(false));
            let stop_rx = stop.clone();
            let collector = tokio::task::spawn_blocking(move || {
                let mut found = HashMap::new();
                let mut frames = 0usize;
                while !stop_rx.load(Ordering::Relaxed) && frames < MAX_FRAMES {
                    match rx.next() {
                        Ok(frame) => {
                            frames += 1;
                            // Only replies addressed to us, from an address we asked about.
                            let to_us = frame.get(38..42) == Some(&own.octets()[..]);
                            if let Some((ip, mac)) = parse_arp_reply(frame)
                                && to_us
                                && asked.contains(&ip)
                            {
                                found.entry(ip).or_insert(mac);
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                        Err(_) => break,
                    }
                }
                found
            });
            for &ip in &ips {
                rate.acquire().await;
                match tx.send_to(&who_has(mac, own, ip), None) {
                    Some(Ok(())) => out.asked += 1,
                    Some(Err(e)) => out.errors.push(format!("failed to send on {name}: {e}")),
                    None => out
                        .errors
                        .push(format!("failed to send on {name}: no buffer")),
                }
            }
            tokio::time::sleep(wait).await;
            stop.store(true, Ordering::Relaxed);
            match collector.await {
                Ok(found) => out.found.extend(found),
                Err(e) => out
                    .errors
                    .push(format!("failed to read replies on {name}: {e}")),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reply(sender_mac: [u8; 6], sender_ip: Ipv4Addr, to_ip: Ipv4Addr) -> Vec<u8> {
        let mut f = who_has(sender_mac, sender_ip, to_ip).to_vec();
        // Operation 2 (reply), unicast to a requester.
        f[20] = 0x00;
        f[21] = 0x02;
        f[..6].copy_from_slice(&[0x02, 0, 0, 0, 0, 1]);
        f[32..38].copy_from_slice(&[0x02, 0, 0, 0, 0, 1]);
        f
    }

    #[test]
    fn who_has_layout() {
        let src = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];
        let f = who_has(
            src,
            Ipv4Addr::new(10, 250, 1, 1),
            Ipv4Addr::new(10, 250, 1, 2),
        );
        assert_eq!(&f[..6], &[0xff; 6]);
        assert_eq!(&f[6..12], &src);
        assert_eq!(&f[12..14], &[0x08, 0x06]);
        assert_eq!(&f[14..22], &[0, 1, 8, 0, 6, 4, 0, 1]);
        assert_eq!(&f[22..28], &src);
        assert_eq!(&f[28..32], &[10, 250, 1, 1]);
        assert_eq!(&f[32..38], &[0; 6]);
        assert_eq!(&f[38..42], &[10, 250, 1, 2]);
        assert_eq!(parse_arp_reply(&f), None, "a request is not a reply");
    }

    #[test]
    fn parses_replies_and_rejects_the_rest() {
        let mac = [0x52, 0x54, 0x00, 0xab, 0xcd, 0xef];
        let ip = Ipv4Addr::new(192, 168, 1, 20);
        let r = reply(mac, ip, Ipv4Addr::new(192, 168, 1, 1));
        assert_eq!(parse_arp_reply(&r), Some((ip, mac)));
        // Padded to the Ethernet minimum as on the wire.
        let mut padded = r.clone();
        padded.resize(60, 0);
        assert_eq!(parse_arp_reply(&padded), Some((ip, mac)));
        assert_eq!(parse_arp_reply(&r[..41]), None, "truncated");
        for (at, v) in [(12, 0x86), (15, 6), (17, 0x06), (18, 8), (19, 16), (21, 3)] {
            let mut bad = r.clone();
            bad[at] = v;
            assert_eq!(parse_arp_reply(&bad), None, "byte {at} = {v}");
        }
        let mut multicast = r.clone();
        multicast[22] = 0x01;
        assert_eq!(parse_arp_reply(&multicast), None, "multicast sender");
        let mut zero = r.clone();
        zero[22..28].copy_from_slice(&[0; 6]);
        assert_eq!(parse_arp_reply(&zero), None, "zero sender");
        assert_eq!(format_mac(mac), "52:54:00:ab:cd:ef");
    }

    proptest! {
        #[test]
        fn parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
            let _ = parse_arp_reply(&bytes);
        }

        #[test]
        fn reply_round_trip(mac in any::<[u8; 6]>(), ip in any::<u32>(), to in any::<u32>(),
                            pad in 0usize..32) {
            let mut mac = mac;
            mac[0] &= 0xfe;
            prop_assume!(mac != [0; 6]);
            let ip = Ipv4Addr::from(ip);
            let mut f = reply(mac, ip, Ipv4Addr::from(to));
            f.resize(f.len() + pad, 0);
            prop_assert_eq!(parse_arp_reply(&f), Some((ip, mac)));
        }
    }
}
