//! ICMP echo (ping) host discovery, used only when the process may open raw sockets (root or
//! `CAP_NET_RAW`); otherwise discovery relies on TCP connects alone. IPv4 only.
//!
//! Wire format (RFC 792): type 8 (echo request) / 0 (echo reply), code 0, 16-bit one's-complement
//! checksum, identifier, sequence number, payload. A raw socket receives every ICMP packet with its
//! IPv4 header, so replies are matched by source address, identifier and sequence.

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

const PAYLOAD: &[u8] = b"medguard-ping";

/// RFC 1071 Internet checksum.
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for pair in data.chunks(2) {
        let word = match pair {
            [a, b] => u16::from_be_bytes([*a, *b]),
            [a] => u16::from_be_bytes([*a, 0]),
            _ => 0,
        };
        sum = sum.wrapping_add(u32::from(word));
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An echo request with `id` and `seq`.
pub fn echo_request(id: u16, seq: u16) -> Vec<u8> {
    let mut p = vec![8, 0, 0, 0];
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(PAYLOAD);
    let c = checksum(&p);
    p[2..4].copy_from_slice(&c.to_be_bytes());
    p
}

/// Whether `packet` (an IPv4 datagram as a raw socket delivers it) is the echo reply from `from`
/// to our request `id`/`seq`.
pub fn is_reply(packet: &[u8], from: Ipv4Addr, id: u16, seq: u16) -> bool {
    let Some(&vihl) = packet.first() else {
        return false;
    };
    if vihl >> 4 != 4 {
        return false;
    }
    let ihl = usize::from(vihl & 0x0f) * 4;
    let Some(src) = packet.get(12..16) else {
        return false;
    };
    if src != from.octets() || ihl < 20 {
        return false;
    }
    let Some(icmp) = packet.get(ihl..) else {
        return false;
    };
    match icmp.get(..8) {
        Some([0, 0, _, _, i0, i1, s0, s1]) => {
            u16::from_be_bytes([*i0, *i1]) == id
                && u16::from_be_bytes([*s0, *s1]) == seq
                && checksum(icmp) == 0
        }
        _ => false,
    }
}

fn raw_socket() -> std::io::Result<Socket> {
    Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4))
}

/// Whether this process may send ICMP echo (can open a raw ICMP socket).
pub fn available() -> bool {
    raw_socket().is_ok()
}

/// Send one echo request to `ip` and wait up to `wait` for its reply; the round-trip time, or
/// `None` (no reply, or no permission). Blocking: call from `spawn_blocking`.
pub fn ping_blocking(ip: Ipv4Addr, id: u16, seq: u16, wait: Duration) -> Option<Duration> {
    let sock = raw_socket().ok()?;
    let started = Instant::now();
    sock.send_to(
        &echo_request(id, seq),
        &SockAddr::from(SocketAddr::new(ip.into(), 0)),
    )
    .ok()?;
    let mut buf = [0u8; 1500];
    loop {
        let left = wait.checked_sub(started.elapsed())?;
        if left.is_zero() {
            return None;
        }
        sock.set_read_timeout(Some(left)).ok()?;
        let n = (&sock).read(&mut buf).ok()?;
        if is_reply(buf.get(..n)?, ip, id, seq) {
            return Some(started.elapsed());
        }
    }
}

/// Ping `ip` once without blocking the runtime.
pub async fn ping(ip: Ipv4Addr, wait: Duration) -> Option<Duration> {
    static SEQ: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(1);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let id = (std::process::id() & 0xffff) as u16;
    tokio::task::spawn_blocking(move || ping_blocking(ip, id, seq, wait))
        .await
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reply_from(src: Ipv4Addr, id: u16, seq: u16) -> Vec<u8> {
        let mut icmp = echo_request(id, seq);
        icmp[0] = 0;
        icmp[2] = 0;
        icmp[3] = 0;
        let c = checksum(&icmp);
        icmp[2..4].copy_from_slice(&c.to_be_bytes());
        let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, 1, 0, 0];
        ip.extend_from_slice(&src.octets());
        ip.extend_from_slice(&[127, 0, 0, 1]);
        ip.extend_from_slice(&icmp);
        ip
    }

    #[test]
    fn request_checksums_and_reply_matching() {
        let req = echo_request(0x1234, 7);
        assert_eq!(checksum(&req), 0, "a packet with its checksum sums to zero");
        let src = Ipv4Addr::new(10, 1, 2, 3);
        let r = reply_from(src, 0x1234, 7);
        assert!(is_reply(&r, src, 0x1234, 7));
        assert!(!is_reply(&r, Ipv4Addr::new(10, 1, 2, 4), 0x1234, 7));
        assert!(!is_reply(&r, src, 0x1234, 8));
        let mut bad = r.clone();
        if let Some(b) = bad.last_mut() {
            *b ^= 0xff;
        }
        assert!(!is_reply(&bad, src, 0x1234, 7), "bad checksum");
    }

    /// Needs raw sockets (root or CAP_NET_RAW), as CI has; fails loudly otherwise.
    #[tokio::test]
    async fn pings_loopback() {
        assert!(
            available(),
            "raw ICMP sockets are not permitted: run the tests as root or with CAP_NET_RAW"
        );
        let rtt = ping(Ipv4Addr::LOCALHOST, Duration::from_secs(2)).await;
        assert!(rtt.is_some(), "no echo reply from 127.0.0.1");
    }

    proptest! {
        #[test]
        fn reply_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = is_reply(&bytes, Ipv4Addr::LOCALHOST, 1, 1);
        }
    }
}
