//! mDNS / DNS-SD identification: unicast queries to UDP 5353 of the target.
//!
//! What goes on the wire (see [`PROBE`]`.sends`): two standard DNS queries (RFC 1035 §4.1) sent as
//! "legacy unicast" (RFC 6762 §6.7: from an ephemeral port, so the responder answers us directly):
//! PTR `_services._dns-sd._udp.local` (the DNS-SD service type enumeration, RFC 6763 §9) and PTR of
//! the target's reverse name (`d.c.b.a.in-addr.arpa`), which mDNS responders answer with their
//! `.local` host name. Questions only; nothing is announced or registered.
//!
//! Attributes: `services` (comma-separated service types such as `_ipp._tcp`), `mdns_hostname`,
//! `instances` (service instance names seen in the answers).

use crate::io;
use crate::probe::{Intrusiveness, Observation, Probe, ProbeContext, ProbeError, ProbeFuture};
use medguard_model::Transport;
use std::net::IpAddr;

const PROTO: &str = "mdns";
/// The DNS-SD service type enumeration name.
pub const SERVICES_NAME: &str = "_services._dns-sd._udp.local";
/// Largest message parsed.
pub const MAX_MESSAGE: usize = 9000;
const MAX_RECORDS: usize = 64;
const MAX_NAME: usize = 255;
const MAX_JUMPS: usize = 16;

/// Record types used (RFC 1035 §3.2.2, RFC 2782, RFC 3596).
pub mod rtype {
    pub const A: u16 = 1;
    pub const PTR: u16 = 12;
    pub const TXT: u16 = 16;
    pub const AAAA: u16 = 28;
    pub const SRV: u16 = 33;
}

/// The registered mDNS probe.
pub static PROBE: Probe = Probe {
    name: PROTO,
    transport: Transport::Udp,
    ports: &[5353],
    intrusiveness: Intrusiveness::Safe,
    fallback: false,
    sends: "two unicast DNS queries to UDP 5353: PTR _services._dns-sd._udp.local and PTR of the \
            target's reverse name (in-addr.arpa/ip6.arpa). Questions only.",
    run,
};

fn run(ctx: ProbeContext) -> ProbeFuture {
    Box::pin(async move { probe(&ctx).await })
}

/// Why bytes are not a DNS message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    #[error("parse a dns message: {0}")]
    Invalid(&'static str),
    #[error("parse a dns message: truncated")]
    Truncated,
}

/// Record data of the types the probe reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RData {
    A([u8; 4]),
    Aaaa([u8; 16]),
    Ptr(String),
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        target: String,
    },
    Txt(Vec<String>),
    Other(u16),
}

/// One resource record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub name: String,
    pub rtype: u16,
    pub class: u16,
    pub ttl: u32,
    pub data: RData,
}

/// A DNS message (questions as (name, type)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DnsMessage {
    pub id: u16,
    pub flags: u16,
    pub questions: Vec<(String, u16)>,
    /// Answer, authority and additional records, in order.
    pub records: Vec<Record>,
}

fn be16(b: &[u8], at: usize) -> Result<u16, DnsError> {
    let s = b.get(at..at + 2).ok_or(DnsError::Truncated)?;
    Ok(u16::from_be_bytes([s[0], s[1]]))
}

/// Read a possibly compressed name at `at` (RFC 1035 §4.1.4): the name and the offset after it.
pub fn read_name(msg: &[u8], mut at: usize) -> Result<(String, usize), DnsError> {
    let mut labels: Vec<String> = Vec::new();
    let mut total = 0;
    let mut jumps = 0;
    let mut end = None;
    loop {
        let len = *msg.get(at).ok_or(DnsError::Truncated)? as usize;
        match len {
            0 => {
                let after = end.unwrap_or(at + 1);
                return Ok((labels.join("."), after));
            }
            0xC0..=0xFF => {
                let ptr = (be16(msg, at)? & 0x3FFF) as usize;
                jumps += 1;
                if jumps > MAX_JUMPS || ptr >= msg.len() {
                    return Err(DnsError::Invalid(
                        "compression pointer loop or out of range",
                    ));
                }
                end.get_or_insert(at + 2);
                at = ptr;
            }
            1..=63 => {
                let label = msg.get(at + 1..at + 1 + len).ok_or(DnsError::Truncated)?;
                total += len + 1;
                if total > MAX_NAME {
                    return Err(DnsError::Invalid("name longer than 255 octets"));
                }
                labels.push(io::printable(label, 63).replace('.', "\\."));
                at += 1 + len;
            }
            _ => return Err(DnsError::Invalid("reserved label type")),
        }
    }
}

/// Encode a name without compression.
pub fn write_name(out: &mut Vec<u8>, name: &str) {
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        let l = &label.as_bytes()[..label.len().min(63)];
        out.push(l.len() as u8);
        out.extend_from_slice(l);
    }
    out.push(0);
}

/// Parse a DNS message.
pub fn parse_message(msg: &[u8]) -> Result<DnsMessage, DnsError> {
    if msg.len() > MAX_MESSAGE {
        return Err(DnsError::Invalid("message larger than the cap"));
    }
    let h = msg.get(..12).ok_or(DnsError::Truncated)?;
    let count = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]) as usize;
    let (qd, an, ns, ar) = (count(4), count(6), count(8), count(10));
    if qd + an + ns + ar > MAX_RECORDS * 2 {
        return Err(DnsError::Invalid("too many records"));
    }
    let mut m = DnsMessage {
        id: count(0) as u16,
        flags: count(2) as u16,
        ..DnsMessage::default()
    };
    let mut at = 12;
    for _ in 0..qd {
        let (name, next) = read_name(msg, at)?;
        m.questions.push((name, be16(msg, next)?));
        at = next + 4;
    }
    for _ in 0..an + ns + ar {
        let (name, next) = read_name(msg, at)?;
        let fixed = msg.get(next..next + 10).ok_or(DnsError::Truncated)?;
        let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
        let class = u16::from_be_bytes([fixed[2], fixed[3]]);
        let ttl = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
        let rdlen = u16::from_be_bytes([fixed[8], fixed[9]]) as usize;
        let start = next + 10;
        let rd = msg.get(start..start + rdlen).ok_or(DnsError::Truncated)?;
        let data = match rtype {
            rtype::A => RData::A(rd.try_into().map_err(|_| DnsError::Invalid("a length"))?),
            rtype::AAAA => RData::Aaaa(
                rd.try_into()
                    .map_err(|_| DnsError::Invalid("aaaa length"))?,
            ),
            rtype::PTR => RData::Ptr(read_name(msg, start)?.0),
            rtype::SRV => {
                if rdlen < 7 {
                    return Err(DnsError::Truncated);
                }
                RData::Srv {
                    priority: be16(msg, start)?,
                    weight: be16(msg, start + 2)?,
                    port: be16(msg, start + 4)?,
                    target: read_name(msg, start + 6)?.0,
                }
            }
            rtype::TXT => {
                let mut strings = Vec::new();
                let mut r = rd;
                while let Some((&l, rest)) = r.split_first() {
                    let s = rest.get(..l as usize).ok_or(DnsError::Truncated)?;
                    if strings.len() < 32 {
                        strings.push(io::printable(s, 255));
                    }
                    r = &rest[l as usize..];
                }
                RData::Txt(strings)
            }
            other => RData::Other(other),
        };
        m.records.push(Record {
            name,
            rtype,
            class: class & 0x7FFF, // top bit is the mDNS cache-flush bit
            ttl,
            data,
        });
        at = start + rdlen;
    }
    Ok(m)
}

/// A query with one question (class IN).
pub fn encode_query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    write_name(&mut out, name);
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out
}

/// Encode a response (authoritative answer, no compression) echoing the questions.
pub fn encode_response(m: &DnsMessage, answers: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(&m.id.to_be_bytes());
    out.extend_from_slice(&m.flags.to_be_bytes());
    let answers = answers.min(m.records.len());
    for n in [m.questions.len(), answers, 0, m.records.len() - answers] {
        out.extend_from_slice(&(n as u16).to_be_bytes());
    }
    for (name, qtype) in &m.questions {
        write_name(&mut out, name);
        out.extend_from_slice(&qtype.to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes());
    }
    for r in &m.records {
        write_name(&mut out, &r.name);
        out.extend_from_slice(&r.rtype.to_be_bytes());
        out.extend_from_slice(&r.class.to_be_bytes());
        out.extend_from_slice(&r.ttl.to_be_bytes());
        let mut rd = Vec::new();
        match &r.data {
            RData::A(a) => rd.extend_from_slice(a),
            RData::Aaaa(a) => rd.extend_from_slice(a),
            RData::Ptr(n) => write_name(&mut rd, n),
            RData::Srv {
                priority,
                weight,
                port,
                target,
            } => {
                for v in [priority, weight, port] {
                    rd.extend_from_slice(&v.to_be_bytes());
                }
                write_name(&mut rd, target);
            }
            RData::Txt(strings) => {
                for s in strings {
                    let b = &s.as_bytes()[..s.len().min(255)];
                    rd.push(b.len() as u8);
                    rd.extend_from_slice(b);
                }
            }
            RData::Other(_) => {}
        }
        out.extend_from_slice(&(rd.len() as u16).to_be_bytes());
        out.extend_from_slice(&rd);
    }
    out
}

/// The reverse-lookup name of an address (RFC 1035 §3.5, RFC 3596 §2.5).
pub fn reverse_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(v6) => {
            let mut s = String::new();
            for b in v6.octets().iter().rev() {
                s.push_str(&format!("{:x}.{:x}.", b & 0x0F, b >> 4));
            }
            s.push_str("ip6.arpa");
            s
        }
    }
}

/// Service type from an enumeration answer: `_ipp._tcp.local` → `_ipp._tcp`.
fn service_type(name: &str) -> String {
    name.strip_suffix(".local").unwrap_or(name).to_string()
}

/// Fill an observation from the answers to our queries.
pub fn describe(obs: &mut Observation, messages: &[DnsMessage]) {
    let mut services: Vec<String> = Vec::new();
    let mut instances: Vec<String> = Vec::new();
    let mut host: Option<String> = None;
    for m in messages {
        for r in &m.records {
            match &r.data {
                RData::Ptr(target) if r.name.eq_ignore_ascii_case(SERVICES_NAME) => {
                    let t = service_type(target);
                    if !services.contains(&t) && services.len() < 32 {
                        services.push(t);
                    }
                }
                RData::Ptr(target)
                    if r.name.ends_with(".in-addr.arpa") || r.name.ends_with(".ip6.arpa") =>
                {
                    host.get_or_insert_with(|| target.clone());
                }
                RData::Ptr(target)
                    if r.name.starts_with('_')
                        && !instances.contains(target)
                        && instances.len() < 32 =>
                {
                    instances.push(target.clone());
                }
                RData::Srv { target, .. } => {
                    host.get_or_insert_with(|| target.clone());
                }
                RData::A(_) | RData::Aaaa(_) if r.name.ends_with(".local") => {
                    host.get_or_insert_with(|| r.name.clone());
                }
                _ => {}
            }
        }
    }
    if !services.is_empty() {
        obs.attr("services", services.join(","));
    }
    if !instances.is_empty() {
        obs.attr("instances", instances.join(","));
    }
    if let Some(h) = host {
        obs.attr("mdns_hostname", h.clone());
        obs.hostname = Some(h);
    }
    obs.banner = Some(format!(
        "{} {}",
        obs.hostname.as_deref().unwrap_or("-"),
        obs.attributes.get("services").map_or("", String::as_str)
    ));
}

async fn probe(ctx: &ProbeContext) -> Result<Observation, ProbeError> {
    let mut answers = Vec::new();
    let mut last = None;
    for (id, name) in [
        (0x4D47u16, SERVICES_NAME.to_string()),
        (0x4D48, reverse_name(ctx.addr.ip())),
    ] {
        match io::udp_exchange(ctx, &encode_query(id, &name, rtype::PTR)).await {
            Ok(reply) => {
                let m = parse_message(&reply).map_err(|e| ProbeError::NotThisProtocol {
                    protocol: PROTO,
                    reason: format!("{e}: {}", io::printable(&reply, 40)),
                })?;
                if m.id != id || m.flags & 0x8000 == 0 {
                    return Err(ProbeError::NotThisProtocol {
                        protocol: PROTO,
                        reason: "reply is not a DNS response to our query".into(),
                    });
                }
                answers.push(m);
            }
            Err(e @ ProbeError::Timeout(_)) => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    if answers.is_empty() {
        return Err(last.unwrap_or(ProbeError::Timeout(ctx.io_timeout)));
    }
    let mut obs = Observation::new(PROTO);
    describe(&mut obs, &answers);
    Ok(obs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An Avahi-style answer to the service enumeration, with name compression (RFC 1035 §4.1.4).
    fn avahi_reply() -> Vec<u8> {
        let mut b = vec![0x4D, 0x47, 0x84, 0x00, 0, 1, 0, 2, 0, 0, 0, 0];
        // question at offset 12
        write_name(&mut b, SERVICES_NAME);
        b.extend_from_slice(&[0, 12, 0, 1]);
        for svc in [&b"_ipp"[..], b"_http"] {
            b.extend_from_slice(&[0xC0, 12]); // name: pointer to the question
            b.extend_from_slice(&[0, 12, 0, 1, 0, 0, 0x11, 0x94]);
            let rdata_len = 1 + svc.len() + 1 + 4 + 2; // label, "_tcp" label, pointer to "local"
            b.extend_from_slice(&[0, rdata_len as u8]);
            b.push(svc.len() as u8);
            b.extend_from_slice(svc);
            b.extend_from_slice(&[4, b'_', b't', b'c', b'p']);
            // the "local" label of the question is at 12 + (1+9) + (1+7) + (1+4) = 35
            b.extend_from_slice(&[0xC0, 35]);
        }
        b
    }

    #[test]
    fn parses_compressed_service_enumeration() {
        let m = parse_message(&avahi_reply()).expect("parse");
        assert_eq!(m.questions, vec![(SERVICES_NAME.to_string(), rtype::PTR)]);
        assert_eq!(m.records.len(), 2);
        assert_eq!(m.records[0].data, RData::Ptr("_ipp._tcp.local".into()));
        let mut obs = Observation::new("mdns");
        describe(&mut obs, &[m]);
        assert_eq!(obs.attributes["services"], "_ipp._tcp,_http._tcp");
    }

    #[test]
    fn rejects_loops_truncation_and_garbage() {
        // A pointer to itself.
        let mut b = vec![0, 1, 0x84, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 12, 0, 1];
        assert!(parse_message(&b).is_err());
        b[13] = 200; // out of range
        assert!(parse_message(&b).is_err());
        let full = avahi_reply();
        for cut in [0, 11, 13, 40, full.len() - 1] {
            assert!(parse_message(&full[..cut]).is_err(), "cut at {cut}");
        }
        // Absurd counts.
        assert!(parse_message(&[0, 0, 0x84, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn reverse_names() {
        assert_eq!(
            reverse_name("192.168.1.20".parse().expect("ip")),
            "20.1.168.192.in-addr.arpa"
        );
        let v6 = reverse_name("2001:db8::1".parse().expect("ip"));
        assert!(
            v6.starts_with("1.0.0.0.") && v6.ends_with(".8.b.d.0.1.0.0.2.ip6.arpa"),
            "{v6}"
        );
    }

    proptest! {
        #[test]
        fn parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            if let Ok(m) = parse_message(&bytes) {
                let mut obs = Observation::new("mdns");
                describe(&mut obs, &[m]);
            }
        }

        #[test]
        fn response_round_trip(labels in proptest::collection::vec("[a-z0-9-]{1,20}", 1..4), port in any::<u16>(), ip in any::<[u8; 4]>()) {
            let host = format!("{}.local", labels.join("."));
            let m = DnsMessage {
                id: 9,
                flags: 0x8400,
                questions: vec![(SERVICES_NAME.into(), rtype::PTR)],
                records: vec![
                    Record { name: SERVICES_NAME.into(), rtype: rtype::PTR, class: 1, ttl: 120, data: RData::Ptr("_ipp._tcp.local".into()) },
                    Record { name: "x._ipp._tcp.local".into(), rtype: rtype::SRV, class: 1, ttl: 120, data: RData::Srv { priority: 0, weight: 0, port, target: host.clone() } },
                    Record { name: host, rtype: rtype::A, class: 1, ttl: 120, data: RData::A(ip) },
                ],
            };
            prop_assert_eq!(parse_message(&encode_response(&m, 1)), Ok(m));
        }
    }
}
