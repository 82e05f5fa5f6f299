//! SNMP v2c/v1 identification: one GetRequest for sysDescr.0, sysObjectID.0 and sysName.0 with the
//! default community `public`.
//!
//! What goes on the wire (see [`PROBE`]`.sends`): a BER-encoded (X.690) SNMPv2c GetRequest-PDU
//! (RFC 3416 §3, message format RFC 1901) with community `public`; if nothing answers, the same
//! GetRequest as SNMPv1 (RFC 1157 §4.1.2). Only GET: never SET, never a walk. The community
//! `private` is not tried: guessing a write community is a credential attempt.
//!
//! Attributes: `snmp_version` (`v2c`/`v1`), `community`, `sys_descr`, `sys_object_id`, `sys_name`,
//! `enterprise` (vendor from the sysObjectID enterprise number, when known), `error_status`.
//!
//! Findings: `snmp-default-community` when the agent answers the community `public` (agents stay
//! silent on a wrong community, so any response proves it was accepted).

use crate::io;
use crate::probe::{Intrusiveness, Observation, Probe, ProbeContext, ProbeError, ProbeFuture};
use medguard_model::Transport;

const PROTO: &str = "snmp";
/// sysDescr.0 (RFC 3418).
pub const SYS_DESCR: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 1, 0];
/// sysObjectID.0.
pub const SYS_OBJECT_ID: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 2, 0];
/// sysName.0.
pub const SYS_NAME: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 5, 0];
/// The default read community tried.
pub const COMMUNITY: &str = "public";
/// Largest message parsed.
pub const MAX_MESSAGE: usize = 8 * 1024;
const MAX_VARBINDS: usize = 64;

/// BER tags used by SNMP (X.690, RFC 2578 §7.1, RFC 3416 §3).
pub mod tag {
    pub const INTEGER: u8 = 0x02;
    pub const OCTET_STRING: u8 = 0x04;
    pub const NULL: u8 = 0x05;
    pub const OID: u8 = 0x06;
    pub const SEQUENCE: u8 = 0x30;
    pub const IP_ADDRESS: u8 = 0x40;
    pub const COUNTER32: u8 = 0x41;
    pub const GAUGE32: u8 = 0x42;
    pub const TIMETICKS: u8 = 0x43;
    pub const COUNTER64: u8 = 0x46;
    pub const NO_SUCH_OBJECT: u8 = 0x80;
    pub const NO_SUCH_INSTANCE: u8 = 0x81;
    pub const END_OF_MIB_VIEW: u8 = 0x82;
    pub const GET_REQUEST: u8 = 0xA0;
    pub const GET_RESPONSE: u8 = 0xA2;
}

/// The registered SNMP probe.
pub static PROBE: Probe = Probe {
    name: PROTO,
    transport: Transport::Udp,
    ports: &[161],
    intrusiveness: Intrusiveness::Safe,
    fallback: false,
    sends: "one SNMPv2c GetRequest (community public) for sysDescr.0, sysObjectID.0, sysName.0; \
            if unanswered, the same GetRequest as SNMPv1. GET only, no walk, no SET, no other \
            community.",
    run,
};

fn run(ctx: ProbeContext) -> ProbeFuture {
    Box::pin(async move { probe(&ctx).await })
}

/// Why bytes are not an SNMP message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnmpError {
    #[error("parse an snmp message: {0}")]
    Invalid(&'static str),
    #[error("parse an snmp message: truncated")]
    Truncated,
}

/// One BER TLV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub value: &'a [u8],
}

/// Read one TLV (definite lengths only, as SNMP requires): the TLV and the rest.
pub fn read_tlv(b: &[u8]) -> Result<(Tlv<'_>, &[u8]), SnmpError> {
    let tag = *b.first().ok_or(SnmpError::Truncated)?;
    if tag & 0x1F == 0x1F {
        return Err(SnmpError::Invalid("multi-byte tags are not used by snmp"));
    }
    let first = *b.get(1).ok_or(SnmpError::Truncated)?;
    let (len, used) = if first < 0x80 {
        (first as usize, 1)
    } else {
        let n = (first & 0x7F) as usize;
        if n == 0 || n > 4 {
            return Err(SnmpError::Invalid("indefinite or oversized length"));
        }
        let bytes = b.get(2..2 + n).ok_or(SnmpError::Truncated)?;
        (
            bytes.iter().fold(0usize, |acc, &x| (acc << 8) | x as usize),
            1 + n,
        )
    };
    if len > MAX_MESSAGE {
        return Err(SnmpError::Invalid("length larger than the cap"));
    }
    let start = 1 + used;
    let value = b.get(start..start + len).ok_or(SnmpError::Truncated)?;
    Ok((Tlv { tag, value }, &b[start + len..]))
}

fn expect(b: &[u8], want: u8) -> Result<(&[u8], &[u8]), SnmpError> {
    let (t, rest) = read_tlv(b)?;
    if t.tag != want {
        return Err(SnmpError::Invalid("unexpected tag"));
    }
    Ok((t.value, rest))
}

/// Decode a BER INTEGER (up to 64 bits, two's complement).
pub fn decode_int(v: &[u8]) -> Result<i64, SnmpError> {
    if v.is_empty() || v.len() > 8 {
        return Err(SnmpError::Invalid("integer length"));
    }
    let neg = v[0] & 0x80 != 0;
    let mut x: i64 = if neg { -1 } else { 0 };
    for &byte in v {
        x = (x << 8) | byte as i64;
    }
    Ok(x)
}

/// Decode unsigned application types (Counter/Gauge/TimeTicks/Counter64).
fn decode_uint(v: &[u8]) -> Result<u64, SnmpError> {
    if v.is_empty() || v.len() > 9 {
        return Err(SnmpError::Invalid("unsigned length"));
    }
    Ok(v.iter().fold(0u64, |acc, &x| (acc << 8) | x as u64))
}

/// Decode an OBJECT IDENTIFIER (X.690 §8.19).
pub fn decode_oid(v: &[u8]) -> Result<Vec<u32>, SnmpError> {
    if v.is_empty() || v.len() > 128 {
        return Err(SnmpError::Invalid("oid length"));
    }
    let mut out = Vec::new();
    let mut acc: u32 = 0;
    for (i, &b) in v.iter().enumerate() {
        acc = acc
            .checked_mul(128)
            .and_then(|a| a.checked_add((b & 0x7F) as u32))
            .ok_or(SnmpError::Invalid("oid arc overflow"))?;
        if b & 0x80 == 0 {
            if out.is_empty() {
                let first = (acc / 40).min(2);
                out.push(first);
                out.push(acc - first * 40);
            } else {
                out.push(acc);
            }
            acc = 0;
        } else if i == v.len() - 1 {
            return Err(SnmpError::Truncated);
        }
    }
    Ok(out)
}

/// Dotted form of an OID.
pub fn oid_string(oid: &[u32]) -> String {
    oid.iter().map(u32::to_string).collect::<Vec<_>>().join(".")
}

fn tlv(out: &mut Vec<u8>, tag: u8, value: &[u8]) {
    out.push(tag);
    let n = value.len();
    if n < 0x80 {
        out.push(n as u8);
    } else if n < 0x100 {
        out.extend_from_slice(&[0x81, n as u8]);
    } else {
        out.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]);
    }
    out.extend_from_slice(value);
}

/// Encode an INTEGER value (minimal two's complement).
pub fn encode_int(x: i64) -> Vec<u8> {
    let bytes = x.to_be_bytes();
    let mut start = 0;
    while start < 7 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0 && next & 0x80 == 0) || (b == 0xFF && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    bytes[start..].to_vec()
}

/// Encode an OBJECT IDENTIFIER value.
pub fn encode_oid(oid: &[u32]) -> Vec<u8> {
    let mut out = Vec::new();
    let (a, b) = (
        oid.first().copied().unwrap_or(0),
        oid.get(1).copied().unwrap_or(0),
    );
    let mut arcs = vec![a.saturating_mul(40).saturating_add(b)];
    arcs.extend(oid.iter().skip(2));
    for arc in arcs {
        let mut stack = vec![(arc & 0x7F) as u8];
        let mut v = arc >> 7;
        while v > 0 {
            stack.push(((v & 0x7F) as u8) | 0x80);
            v >>= 7;
        }
        stack.reverse();
        out.extend_from_slice(&stack);
    }
    out
}

/// A variable's value in a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Int(i64),
    Text(Vec<u8>),
    Oid(Vec<u32>),
    Ip([u8; 4]),
    Unsigned(u64),
    NoSuchObject,
    NoSuchInstance,
    EndOfMibView,
    Other(u8),
}

/// A decoded SNMP message (v1 or v2c, community-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// 0 = v1, 1 = v2c.
    pub version: i64,
    pub community: Vec<u8>,
    pub pdu_tag: u8,
    pub request_id: i64,
    pub error_status: i64,
    pub error_index: i64,
    pub varbinds: Vec<(Vec<u32>, Value)>,
}

fn decode_value(t: Tlv<'_>) -> Result<Value, SnmpError> {
    Ok(match t.tag {
        tag::NULL => Value::Null,
        tag::INTEGER => Value::Int(decode_int(t.value)?),
        tag::OCTET_STRING => Value::Text(t.value.iter().take(1024).copied().collect()),
        tag::OID => Value::Oid(decode_oid(t.value)?),
        tag::IP_ADDRESS => Value::Ip(
            t.value
                .try_into()
                .map_err(|_| SnmpError::Invalid("ip address length"))?,
        ),
        tag::COUNTER32 | tag::GAUGE32 | tag::TIMETICKS | tag::COUNTER64 => {
            Value::Unsigned(decode_uint(t.value)?)
        }
        tag::NO_SUCH_OBJECT => Value::NoSuchObject,
        tag::NO_SUCH_INSTANCE => Value::NoSuchInstance,
        tag::END_OF_MIB_VIEW => Value::EndOfMibView,
        other => Value::Other(other),
    })
}

fn encode_value(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    match v {
        Value::Null => tlv(&mut out, tag::NULL, &[]),
        Value::Int(x) => tlv(&mut out, tag::INTEGER, &encode_int(*x)),
        Value::Text(t) => tlv(&mut out, tag::OCTET_STRING, t),
        Value::Oid(o) => tlv(&mut out, tag::OID, &encode_oid(o)),
        Value::Ip(ip) => tlv(&mut out, tag::IP_ADDRESS, ip),
        Value::Unsigned(x) => {
            let mut b = encode_int(*x as i64);
            if *x > i64::MAX as u64 || b.first().is_some_and(|f| f & 0x80 != 0) {
                b = x.to_be_bytes().to_vec();
                b.insert(0, 0);
            }
            tlv(&mut out, tag::TIMETICKS, &b)
        }
        Value::NoSuchObject => tlv(&mut out, tag::NO_SUCH_OBJECT, &[]),
        Value::NoSuchInstance => tlv(&mut out, tag::NO_SUCH_INSTANCE, &[]),
        Value::EndOfMibView => tlv(&mut out, tag::END_OF_MIB_VIEW, &[]),
        Value::Other(t) => tlv(&mut out, *t, &[]),
    }
    out
}

/// Decode a community-based SNMP message (RFC 1157 §4, RFC 1901 §3).
pub fn decode_message(b: &[u8]) -> Result<Message, SnmpError> {
    if b.len() > MAX_MESSAGE {
        return Err(SnmpError::Invalid("message larger than the cap"));
    }
    let (msg, _) = expect(b, tag::SEQUENCE)?;
    let (v, rest) = expect(msg, tag::INTEGER)?;
    let version = decode_int(v)?;
    if !(0..=1).contains(&version) {
        return Err(SnmpError::Invalid("not a v1/v2c message"));
    }
    let (community, rest) = expect(rest, tag::OCTET_STRING)?;
    let (pdu, _) = read_tlv(rest)?;
    if pdu.tag & 0xE0 != 0xA0 {
        return Err(SnmpError::Invalid("not a pdu"));
    }
    let (rid, r) = expect(pdu.value, tag::INTEGER)?;
    let (es, r) = expect(r, tag::INTEGER)?;
    let (ei, r) = expect(r, tag::INTEGER)?;
    let (mut list, _) = expect(r, tag::SEQUENCE)?;
    let mut varbinds = Vec::new();
    while !list.is_empty() {
        if varbinds.len() >= MAX_VARBINDS {
            return Err(SnmpError::Invalid("too many varbinds"));
        }
        let (vb, rest) = expect(list, tag::SEQUENCE)?;
        let (oid, vrest) = expect(vb, tag::OID)?;
        let (value, _) = read_tlv(vrest)?;
        varbinds.push((decode_oid(oid)?, decode_value(value)?));
        list = rest;
    }
    Ok(Message {
        version,
        community: community.to_vec(),
        pdu_tag: pdu.tag,
        request_id: decode_int(rid)?,
        error_status: decode_int(es)?,
        error_index: decode_int(ei)?,
        varbinds,
    })
}

/// Encode a community-based SNMP message.
pub fn encode_message(m: &Message) -> Vec<u8> {
    let mut vbs = Vec::new();
    for (oid, v) in &m.varbinds {
        let mut vb = Vec::new();
        tlv(&mut vb, tag::OID, &encode_oid(oid));
        vb.extend_from_slice(&encode_value(v));
        tlv(&mut vbs, tag::SEQUENCE, &vb);
    }
    let mut pdu = Vec::new();
    tlv(&mut pdu, tag::INTEGER, &encode_int(m.request_id));
    tlv(&mut pdu, tag::INTEGER, &encode_int(m.error_status));
    tlv(&mut pdu, tag::INTEGER, &encode_int(m.error_index));
    tlv(&mut pdu, tag::SEQUENCE, &vbs);
    let mut body = Vec::new();
    tlv(&mut body, tag::INTEGER, &encode_int(m.version));
    tlv(&mut body, tag::OCTET_STRING, &m.community);
    tlv(&mut body, m.pdu_tag, &pdu);
    let mut out = Vec::new();
    tlv(&mut out, tag::SEQUENCE, &body);
    out
}

/// The GetRequest the probe sends.
pub fn get_request(version: i64, community: &str, request_id: i64) -> Vec<u8> {
    encode_message(&Message {
        version,
        community: community.as_bytes().to_vec(),
        pdu_tag: tag::GET_REQUEST,
        request_id,
        error_status: 0,
        error_index: 0,
        varbinds: [SYS_DESCR, SYS_OBJECT_ID, SYS_NAME]
            .iter()
            .map(|o| (o.to_vec(), Value::Null))
            .collect(),
    })
}

/// Vendor of a private enterprise number (IANA registry), for the common practice devices.
pub fn enterprise_vendor(oid: &[u32]) -> Option<&'static str> {
    if oid.get(..6) != Some(&[1, 3, 6, 1, 4, 1]) {
        return None;
    }
    Some(match oid.get(6)? {
        9 => "Cisco",
        11 => "HP",
        43 => "3Com",
        171 => "D-Link",
        253 => "Xerox",
        311 => "Microsoft",
        367 => "Ricoh",
        641 => "Lexmark",
        674 => "Dell",
        1347 => "Kyocera",
        1602 => "Canon",
        2435 => "Brother",
        2636 => "Juniper",
        4526 => "Netgear",
        6574 => "Synology",
        8072 => "Net-SNMP",
        11863 => "TP-Link",
        12356 => "Fortinet",
        14988 => "MikroTik",
        24681 => "QNAP",
        25461 => "Palo Alto Networks",
        41112 => "Ubiquiti",
        _ => return None,
    })
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::Text(t) => Some(io::printable(t, 256)).filter(|s| !s.is_empty()),
        Value::Oid(o) => Some(oid_string(o)),
        _ => None,
    }
}

/// Fill an observation from a GetResponse.
pub fn describe(obs: &mut Observation, m: &Message) {
    obs.attr("snmp_version", if m.version == 1 { "v2c" } else { "v1" });
    obs.attr(
        "community",
        String::from_utf8_lossy(&m.community).into_owned(),
    );
    if m.error_status != 0 {
        obs.attr("error_status", m.error_status.to_string());
    }
    for (oid, v) in &m.varbinds {
        let Some(t) = text(v) else { continue };
        if oid == SYS_DESCR {
            obs.banner = Some(t.clone());
            let lower = t.to_ascii_lowercase();
            for os in [
                "linux",
                "windows",
                "freebsd",
                "vxworks",
                "cisco ios",
                "junos",
            ] {
                if lower.contains(os) {
                    obs.os = Some(t.split_whitespace().next().unwrap_or(os).to_string());
                    break;
                }
            }
            obs.attr("sys_descr", t);
        } else if oid == SYS_OBJECT_ID {
            if let Value::Oid(o) = v
                && let Some(vendor) = enterprise_vendor(o)
            {
                obs.vendor = Some(vendor.to_string());
                obs.attr("enterprise", vendor);
            }
            obs.attr("sys_object_id", t);
        } else if oid == SYS_NAME {
            obs.hostname = Some(t.clone());
            obs.attr("sys_name", t);
        }
    }
}

async fn probe(ctx: &ProbeContext) -> Result<Observation, ProbeError> {
    let mut last = None;
    for (version, rid) in [(1i64, 0x4D47_0001i64), (0, 0x4D47_0002)] {
        let reply = match io::udp_exchange(ctx, &get_request(version, COMMUNITY, rid)).await {
            Ok(r) => r,
            Err(e @ ProbeError::Timeout(_)) => {
                last = Some(e);
                continue;
            }
            Err(e) => return Err(e),
        };
        let m = decode_message(&reply).map_err(|e| ProbeError::NotThisProtocol {
            protocol: PROTO,
            reason: format!("{e}: {}", io::printable(&reply, 40)),
        })?;
        if m.pdu_tag != tag::GET_RESPONSE || m.request_id != rid {
            return Err(ProbeError::Malformed {
                protocol: PROTO,
                reason: "reply is not the GetResponse to our request".into(),
            });
        }
        let mut obs = Observation::new(PROTO);
        describe(&mut obs, &m);
        obs.finding(
            "snmp-default-community",
            format!(
                "the agent answered an SNMP{} GetRequest with the default community \"{COMMUNITY}\"",
                if version == 1 { "v2c" } else { "v1" }
            ),
        );
        return Ok(obs);
    }
    Err(last.unwrap_or(ProbeError::Timeout(ctx.io_timeout)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A GetResponse from net-snmp for sysDescr.0, built from RFC 1157 §4.1 / X.690 by hand.
    fn netsnmp_response() -> Vec<u8> {
        let descr = b"Linux nas 6.1.0";
        let mut vb1 = vec![
            0x06,
            0x08,
            0x2B,
            6,
            1,
            2,
            1,
            1,
            1,
            0,
            0x04,
            descr.len() as u8,
        ];
        vb1.extend_from_slice(descr);
        let vb2 = vec![
            0x06, 0x08, 0x2B, 6, 1, 2, 1, 1, 2, 0, // sysObjectID.0
            0x06, 0x0A, 0x2B, 6, 1, 4, 1, 0xBF, 0x08, 3, 2, 10, // 1.3.6.1.4.1.8072.3.2.10
        ];
        let mut list = Vec::new();
        for vb in [vb1, vb2] {
            list.push(0x30);
            list.push(vb.len() as u8);
            list.extend_from_slice(&vb);
        }
        let mut pdu = vec![
            0x02,
            0x01,
            0x2A,
            0x02,
            0x01,
            0x00,
            0x02,
            0x01,
            0x00,
            0x30,
            list.len() as u8,
        ];
        pdu.extend_from_slice(&list);
        let mut body = vec![0x02, 0x01, 0x01, 0x04, 0x06];
        body.extend_from_slice(b"public");
        body.push(0xA2);
        body.push(pdu.len() as u8);
        body.extend_from_slice(&pdu);
        let mut msg = vec![0x30, body.len() as u8];
        msg.extend_from_slice(&body);
        msg
    }

    #[test]
    fn decodes_a_get_response() {
        let m = decode_message(&netsnmp_response()).expect("decode");
        assert_eq!(m.version, 1);
        assert_eq!(m.request_id, 42);
        assert_eq!(m.varbinds[0].0, SYS_DESCR);
        assert_eq!(
            m.varbinds[1].1,
            Value::Oid(vec![1, 3, 6, 1, 4, 1, 8072, 3, 2, 10])
        );
        let mut obs = Observation::new("snmp");
        describe(&mut obs, &m);
        assert_eq!(obs.vendor.as_deref(), Some("Net-SNMP"));
        assert_eq!(obs.os.as_deref(), Some("Linux"));
    }

    #[test]
    fn request_bytes_match_rfc_layout() {
        let rq = get_request(1, "public", 1);
        // SEQUENCE { INTEGER 1, OCTET STRING "public", GetRequest-PDU ... }
        assert_eq!(
            &rq[2..13],
            &[
                0x02, 0x01, 0x01, 0x04, 0x06, b'p', b'u', b'b', b'l', b'i', b'c'
            ]
        );
        assert_eq!(rq[13], 0xA0);
        let m = decode_message(&rq).expect("decode");
        assert_eq!(m.varbinds.len(), 3);
        assert!(m.varbinds.iter().all(|(_, v)| *v == Value::Null));
    }

    #[test]
    fn ber_edges() {
        assert_eq!(encode_int(0), [0]);
        assert_eq!(encode_int(128), [0, 128]);
        assert_eq!(encode_int(-1), [0xFF]);
        assert_eq!(decode_int(&[0xFF, 0x7F]), Ok(-129));
        assert_eq!(
            encode_oid(&[1, 3, 6, 1, 4, 1, 8072]),
            [0x2B, 6, 1, 4, 1, 0xBF, 0x08]
        );
        assert!(decode_oid(&[0x2B, 0x86]).is_err(), "dangling continuation");
        assert!(decode_oid(&[0xFF; 10]).is_err(), "arc overflow");
        // Indefinite and absurd lengths.
        assert!(read_tlv(&[0x30, 0x80]).is_err());
        assert!(read_tlv(&[0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF]).is_err());
        let full = netsnmp_response();
        for cut in [0, 1, 2, 10, full.len() - 1] {
            assert!(decode_message(&full[..cut]).is_err(), "cut at {cut}");
        }
        assert!(decode_message(b"\x16\x03\x01\x00\x05hello").is_err());
    }

    proptest! {
        #[test]
        fn parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            if let Ok(m) = decode_message(&bytes) {
                let mut obs = Observation::new("snmp");
                describe(&mut obs, &m);
            }
        }

        #[test]
        fn message_round_trip(rid in any::<i32>(), community in "[a-z]{1,12}", text in proptest::collection::vec(any::<u8>(), 0..200),
                              arcs in proptest::collection::vec(any::<u32>(), 0..8), x in any::<i64>()) {
            let mut oid = vec![1, 3, 6, 1, 4, 1];
            oid.extend(arcs);
            let m = Message {
                version: 1,
                community: community.into_bytes(),
                pdu_tag: tag::GET_RESPONSE,
                request_id: rid as i64,
                error_status: 0,
                error_index: 0,
                varbinds: vec![
                    (SYS_DESCR.to_vec(), Value::Text(text)),
                    (SYS_OBJECT_ID.to_vec(), Value::Oid(oid)),
                    (SYS_NAME.to_vec(), Value::Int(x)),
                ],
            };
            prop_assert_eq!(decode_message(&encode_message(&m)), Ok(m));
        }
    }
}
