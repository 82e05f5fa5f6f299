//! MQTT broker identification: an anonymous CONNECT, the CONNACK read back, a clean DISCONNECT.
//!
//! What goes on the wire (see [`PROBE`]`.sends`): a CONNECT (MQTT 3.1.1 §3.1, protocol level 4, clean
//! session, no will, no username or password, client id `medguard-probe`); if the broker answers
//! "unacceptable protocol version" the same CONNECT at level 5 (MQTT 5.0 §3.1). When the anonymous
//! session is accepted, one SUBSCRIBE (QoS 0) to `$SYS/broker/version`, which brokers such as
//! Mosquitto answer with a retained message naming their version; nothing is ever published. Then
//! DISCONNECT. The clean session leaves no state behind on the broker.
//!
//! Attributes: `protocol_level` (4 or 5), `connack_code` (return or reason code), `auth_required`
//! (`true`/`false`), `broker_version` (payload of `$SYS/broker/version`).
//!
//! Findings: `mqtt-anonymous` when the broker accepts a connection without credentials.

use crate::io;
use crate::probe::{Intrusiveness, Observation, Probe, ProbeContext, ProbeError, ProbeFuture};
use medguard_model::Transport;
use std::time::Duration;

const PROTO: &str = "mqtt";
/// Client identifier the probe presents.
pub const CLIENT_ID: &str = "medguard-probe";
/// The broker topic that names its version.
pub const VERSION_TOPIC: &str = "$SYS/broker/version";
/// Largest packet the probe reads.
pub const MAX_PACKET: usize = 16 * 1024;

/// Control packet types (MQTT 3.1.1 §2.2.1).
pub mod packet {
    pub const CONNECT: u8 = 1;
    pub const CONNACK: u8 = 2;
    pub const PUBLISH: u8 = 3;
    pub const SUBSCRIBE: u8 = 8;
    pub const SUBACK: u8 = 9;
    pub const DISCONNECT: u8 = 14;
}

/// The registered MQTT probe.
pub static PROBE: Probe = Probe {
    name: PROTO,
    transport: Transport::Tcp,
    ports: &[1883],
    intrusiveness: Intrusiveness::Safe,
    fallback: true,
    sends: "MQTT CONNECT without username/password (level 4, then level 5 if level 4 is refused), \
            clean session, client id medguard-probe; if accepted, SUBSCRIBE QoS 0 to \
            $SYS/broker/version (read-only), then DISCONNECT. Never publishes.",
    run,
};

fn run(ctx: ProbeContext) -> ProbeFuture {
    Box::pin(async move { probe(&ctx).await })
}

/// Why bytes are not an MQTT control packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MqttError {
    #[error("parse an mqtt packet: {0}")]
    Invalid(&'static str),
    #[error("parse an mqtt packet: truncated")]
    Truncated,
}

/// One control packet: type, flags (low nibble of the first byte) and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<'a> {
    pub kind: u8,
    pub flags: u8,
    pub body: &'a [u8],
}

/// Decode a Variable Byte Integer (MQTT 3.1.1 §2.2.3): (value, bytes used).
pub fn read_varint(b: &[u8]) -> Result<(usize, usize), MqttError> {
    let mut value = 0usize;
    for i in 0..4 {
        let byte = *b.get(i).ok_or(MqttError::Truncated)?;
        value |= ((byte & 0x7F) as usize) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    Err(MqttError::Invalid(
        "variable byte integer longer than 4 bytes",
    ))
}

/// Encode a Variable Byte Integer.
pub fn write_varint(out: &mut Vec<u8>, mut v: usize) {
    loop {
        let mut byte = (v % 128) as u8;
        v /= 128;
        if v > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if v == 0 {
            break;
        }
    }
}

/// Parse the packet at the start of `buf`: the packet and its total length.
pub fn parse_packet(buf: &[u8]) -> Result<(Packet<'_>, usize), MqttError> {
    let first = *buf.first().ok_or(MqttError::Truncated)?;
    let (len, used) = read_varint(buf.get(1..).ok_or(MqttError::Truncated)?)?;
    if len > MAX_PACKET {
        return Err(MqttError::Invalid("packet larger than the cap"));
    }
    let end = 1 + used + len;
    let body = buf.get(1 + used..end).ok_or(MqttError::Truncated)?;
    Ok((
        Packet {
            kind: first >> 4,
            flags: first & 0x0F,
            body,
        },
        end,
    ))
}

fn packet_bytes(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    write_varint(&mut out, body.len());
    out.extend_from_slice(body);
    out
}

fn push_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// A CONNECT without credentials at protocol `level` (4 = 3.1.1, 5 = 5.0).
pub fn encode_connect(level: u8, client_id: &str) -> Vec<u8> {
    let mut body = Vec::new();
    push_str(&mut body, "MQTT");
    body.push(level);
    body.push(0x02); // clean session, no will, no username, no password
    body.extend_from_slice(&30u16.to_be_bytes()); // keep alive
    if level >= 5 {
        body.push(0); // no properties
    }
    push_str(&mut body, client_id);
    packet_bytes(packet::CONNECT << 4, &body)
}

/// A CONNACK (`level` 5 adds an empty property block).
pub fn encode_connack(level: u8, code: u8) -> Vec<u8> {
    let mut body = vec![0, code];
    if level >= 5 {
        body.push(0);
    }
    packet_bytes(packet::CONNACK << 4, &body)
}

/// A SUBSCRIBE for one topic at QoS 0.
pub fn encode_subscribe(level: u8, packet_id: u16, topic: &str) -> Vec<u8> {
    let mut body = packet_id.to_be_bytes().to_vec();
    if level >= 5 {
        body.push(0);
    }
    push_str(&mut body, topic);
    body.push(0);
    packet_bytes((packet::SUBSCRIBE << 4) | 0x02, &body)
}

/// A PUBLISH at QoS 0 (retain flag set as brokers do for `$SYS`).
pub fn encode_publish(level: u8, topic: &str, payload: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    push_str(&mut body, topic);
    if level >= 5 {
        body.push(0);
    }
    body.extend_from_slice(payload);
    packet_bytes((packet::PUBLISH << 4) | 0x01, &body)
}

/// A DISCONNECT.
pub fn encode_disconnect() -> Vec<u8> {
    vec![packet::DISCONNECT << 4, 0]
}

/// The fields of a CONNECT the simulator needs: (protocol level, has username, client id).
pub fn parse_connect(p: &Packet<'_>) -> Result<(u8, bool, String), MqttError> {
    if p.kind != packet::CONNECT {
        return Err(MqttError::Invalid("not a CONNECT"));
    }
    let b = p.body;
    let name_len = u16::from_be_bytes([
        *b.first().ok_or(MqttError::Truncated)?,
        *b.get(1).ok_or(MqttError::Truncated)?,
    ]) as usize;
    let name = b.get(2..2 + name_len).ok_or(MqttError::Truncated)?;
    if name != b"MQTT" && name != b"MQIsdp" {
        return Err(MqttError::Invalid("unknown protocol name"));
    }
    let mut at = 2 + name_len;
    let level = *b.get(at).ok_or(MqttError::Truncated)?;
    let flags = *b.get(at + 1).ok_or(MqttError::Truncated)?;
    at += 4;
    if level >= 5 {
        let (plen, used) = read_varint(b.get(at..).ok_or(MqttError::Truncated)?)?;
        at += used + plen;
    }
    let id_len = u16::from_be_bytes([
        *b.get(at).ok_or(MqttError::Truncated)?,
        *b.get(at + 1).ok_or(MqttError::Truncated)?,
    ]) as usize;
    let id = b.get(at + 2..at + 2 + id_len).ok_or(MqttError::Truncated)?;
    Ok((level, flags & 0x80 != 0, io::printable(id, 64)))
}

/// The return/reason code of a CONNACK.
pub fn connack_code(p: &Packet<'_>) -> Result<u8, MqttError> {
    if p.kind != packet::CONNACK {
        return Err(MqttError::Invalid("not a CONNACK"));
    }
    p.body.get(1).copied().ok_or(MqttError::Truncated)
}

/// Topic and payload of a PUBLISH (QoS from the flags; properties skipped at level 5).
pub fn parse_publish<'a>(p: &Packet<'a>, level: u8) -> Result<(String, &'a [u8]), MqttError> {
    if p.kind != packet::PUBLISH {
        return Err(MqttError::Invalid("not a PUBLISH"));
    }
    let b = p.body;
    let tl = u16::from_be_bytes([
        *b.first().ok_or(MqttError::Truncated)?,
        *b.get(1).ok_or(MqttError::Truncated)?,
    ]) as usize;
    let topic = b.get(2..2 + tl).ok_or(MqttError::Truncated)?;
    let mut at = 2 + tl;
    if (p.flags >> 1) & 0x03 != 0 {
        at += 2; // packet identifier
    }
    if level >= 5 {
        let (plen, used) = read_varint(b.get(at..).ok_or(MqttError::Truncated)?)?;
        at += used + plen;
    }
    let payload = b.get(at..).ok_or(MqttError::Truncated)?;
    Ok((io::printable(topic, 128), payload))
}

/// Whether a CONNACK code means "credentials required" (3.1.1: 4, 5; 5.0: 0x86, 0x87).
pub fn is_auth_refusal(code: u8) -> bool {
    matches!(code, 4 | 5 | 0x86 | 0x87)
}

/// Frame completion for one whole packet.
fn one_packet(b: &[u8]) -> Option<usize> {
    match parse_packet(b) {
        Ok((_, n)) => Some(n),
        Err(MqttError::Truncated) => None,
        Err(_) => Some(b.len()),
    }
}

async fn connect_at(
    ctx: &ProbeContext,
    level: u8,
) -> Result<(tokio::net::TcpStream, u8), ProbeError> {
    let mut s = io::connect(ctx).await?;
    io::send(&mut s, &encode_connect(level, CLIENT_ID), ctx).await?;
    let buf = io::read_until(&mut s, ctx, MAX_PACKET, one_packet).await?;
    let not_mqtt = |reason: String| ProbeError::NotThisProtocol {
        protocol: PROTO,
        reason,
    };
    if buf.is_empty() {
        io::close(s).await;
        return Err(not_mqtt("closed without a CONNACK".into()));
    }
    let code = parse_packet(&buf)
        .map_err(|e| e.to_string())
        .and_then(|(p, _)| connack_code(&p).map_err(|e| e.to_string()));
    match code {
        Ok(c) => Ok((s, c)),
        Err(e) => {
            io::close(s).await;
            Err(not_mqtt(format!("{e}: {}", io::printable(&buf, 40))))
        }
    }
}

async fn probe(ctx: &ProbeContext) -> Result<Observation, ProbeError> {
    if crate::probes::http::RAW_PRINT_PORTS.contains(&ctx.addr.port()) {
        // Anything sent to a raw print port may print: never guess protocols there.
        return Err(ProbeError::NotThisProtocol {
            protocol: PROTO,
            reason: "raw print port: nothing is sent there".into(),
        });
    }
    let (mut s, mut code) = connect_at(ctx, 4).await?;
    let mut level = 4;
    if code == 1 {
        // Unacceptable protocol version: a 5.0-only broker.
        io::close(s).await;
        (s, code) = connect_at(ctx, 5).await?;
        level = 5;
    }
    let mut obs = Observation::new(PROTO);
    obs.tls = Some(false);
    obs.attr("protocol_level", level.to_string());
    obs.attr("connack_code", code.to_string());
    obs.attr("auth_required", is_auth_refusal(code).to_string());
    if code == 0 {
        obs.finding(
            "mqtt-anonymous",
            format!(
                "the broker accepted an MQTT {} connection without a username or password",
                if level == 5 { "5.0" } else { "3.1.1" }
            ),
        );
        if let Some(v) = broker_version(&mut s, ctx, level).await {
            let mut words = v.split_whitespace();
            if let (Some(product), Some(_), Some(version)) =
                (words.next(), words.next(), words.next())
            {
                obs.product = Some(product.to_string());
                obs.version = Some(version.to_string());
            }
            obs.banner = Some(v.clone());
            obs.attr("broker_version", v);
        }
        let _ = io::send(&mut s, &encode_disconnect(), ctx).await;
    } else if obs.banner.is_none() {
        obs.banner = Some(format!("CONNACK code {code}"));
    }
    io::close(s).await;
    Ok(obs)
}

/// SUBSCRIBE to `$SYS/broker/version` and wait briefly for the retained message.
async fn broker_version(
    s: &mut tokio::net::TcpStream,
    ctx: &ProbeContext,
    level: u8,
) -> Option<String> {
    io::send(s, &encode_subscribe(level, 1, VERSION_TOPIC), ctx)
        .await
        .ok()?;
    let mut short = ctx.clone();
    short.io_timeout = ctx.io_timeout.min(Duration::from_millis(800));
    let found = |b: &[u8]| -> Option<(usize, String)> {
        let mut at = 0;
        while let Ok((p, n)) = parse_packet(b.get(at..)?) {
            if let Ok((topic, payload)) = parse_publish(&p, level)
                && topic == VERSION_TOPIC
            {
                return Some((at + n, io::printable(payload, 120)));
            }
            at += n;
        }
        None
    };
    let buf = io::read_until(s, &short, MAX_PACKET, |b| found(b).map(|(n, _)| n))
        .await
        .ok()?;
    found(&buf).map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn connect_matches_spec_layout() {
        // MQTT 3.1.1 §3.1.2: protocol name "MQTT", level 4, flags 0x02, keep alive, client id.
        let c = encode_connect(4, "a");
        assert_eq!(
            c,
            [
                0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 4, 2, 0, 30, 0, 1, b'a'
            ]
        );
        let (p, n) = parse_packet(&c).expect("packet");
        assert_eq!(n, c.len());
        assert_eq!(parse_connect(&p), Ok((4, false, "a".into())));
        let c5 = encode_connect(5, CLIENT_ID);
        let (p5, _) = parse_packet(&c5).expect("packet");
        assert_eq!(parse_connect(&p5), Ok((5, false, CLIENT_ID.into())));
    }

    #[test]
    fn connack_codes() {
        // §3.2: 0x20 0x02 flags code
        let (p, _) = parse_packet(&[0x20, 0x02, 0x00, 0x05]).expect("packet");
        assert_eq!(connack_code(&p), Ok(5));
        assert!(is_auth_refusal(5));
        // MQTT 5 CONNACK with a property block (reason string 0x1F "no").
        let (p, _) =
            parse_packet(&[0x20, 0x08, 0x00, 0x87, 0x05, 0x1F, 0, 2, b'n', b'o']).expect("packet");
        assert_eq!(connack_code(&p), Ok(0x87));
    }

    #[test]
    fn varint_edges() {
        for v in [0, 127, 128, 16_383, 16_384, 268_435_455] {
            let mut b = Vec::new();
            write_varint(&mut b, v);
            assert_eq!(read_varint(&b), Ok((v, b.len())));
        }
        assert!(read_varint(&[0xFF, 0xFF, 0xFF, 0xFF, 0x01]).is_err());
        // Absurd remaining length is refused before reading it.
        assert!(parse_packet(&[0x30, 0xFF, 0xFF, 0xFF, 0x7F]).is_err());
        assert_eq!(parse_packet(&[0x20, 0x02, 0x00]), Err(MqttError::Truncated));
    }

    #[test]
    fn publish_round_trip() {
        for level in [4, 5] {
            let b = encode_publish(level, VERSION_TOPIC, b"mosquitto version 2.0.18");
            let (p, _) = parse_packet(&b).expect("packet");
            let (t, payload) = parse_publish(&p, level).expect("publish");
            assert_eq!(t, VERSION_TOPIC);
            assert_eq!(payload, b"mosquitto version 2.0.18");
        }
    }

    proptest! {
        #[test]
        fn parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300), level in 4u8..6) {
            if let Ok((p, _)) = parse_packet(&bytes) {
                let _ = parse_connect(&p);
                let _ = connack_code(&p);
                let _ = parse_publish(&p, level);
            }
            let _ = one_packet(&bytes);
        }

        #[test]
        fn connect_round_trip(id in "[a-zA-Z0-9-]{0,23}", level in 4u8..6) {
            let b = encode_connect(level, &id);
            let (p, n) = parse_packet(&b).expect("packet");
            prop_assert_eq!(n, b.len());
            prop_assert_eq!(parse_connect(&p), Ok((level, false, id)));
        }
    }
}
