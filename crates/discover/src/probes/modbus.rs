//! Modbus/TCP identification with Read Device Identification only (function 43, MEI type 14).
//!
//! What goes on the wire (see [`PROBE`]`.sends`): MBAP-framed (Modbus Messaging on TCP/IP
//! Implementation Guide v1.0b §3.1.3, unit identifier 0xFF as §4.4.1.3 recommends) requests for
//! function code 0x2B / MEI type 0x0E (Modbus Application Protocol v1.1b3 §6.21): the basic category
//! (read device ID code 01) from object 0, continued while the device says "more follows", then the
//! regular category (code 02) if the device's conformity level offers it. Nothing else: no reads of
//! coils or registers and never a write function.
//!
//! Attributes: `conformity_level` (hex), `unit_id`, `vendor_name`, `product_code`, `revision`,
//! `vendor_url`, `product_name`, `model_name`, `user_application_name`, `exception` (code, when the
//! device answered with a Modbus exception).
//!
//! Findings: `modbus-unauthenticated` whenever a device answers a Modbus request (Modbus/TCP has no
//! authentication: whoever can read its identity can also write its registers).

use crate::io;
use crate::probe::{Intrusiveness, Observation, Probe, ProbeContext, ProbeError, ProbeFuture};
use medguard_model::Transport;

const PROTO: &str = "modbus";
/// Function code "Encapsulated Interface Transport".
pub const FC_MEI: u8 = 0x2B;
/// MEI type "Read Device Identification".
pub const MEI_READ_DEVICE_ID: u8 = 0x0E;
/// Largest Modbus/TCP ADU (MBAP header 7 + PDU 253).
pub const MAX_ADU: usize = 260;
/// Unit identifier used on TCP (Implementation Guide §4.4.1.3).
pub const UNIT_ID: u8 = 0xFF;

/// The registered Modbus probe.
pub static PROBE: Probe = Probe {
    name: PROTO,
    transport: Transport::Tcp,
    ports: &[502],
    intrusiveness: Intrusiveness::Safe,
    fallback: false,
    sends: "Modbus/TCP function 43 / MEI 14 Read Device Identification only (unit 0xFF): basic \
            category, then regular category if offered; at most 6 requests on one connection. \
            Never reads registers, never writes.",
    run,
};

fn run(ctx: ProbeContext) -> ProbeFuture {
    Box::pin(async move { probe(&ctx).await })
}

/// Why bytes are not a Modbus/TCP device-identification reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModbusError {
    #[error("parse a modbus frame: {0}")]
    Invalid(&'static str),
    #[error("parse a modbus frame: truncated")]
    Truncated,
}

/// The MBAP header (Implementation Guide §3.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mbap {
    pub transaction: u16,
    pub protocol: u16,
    pub unit: u8,
}

/// A Read Device Identification response (Application Protocol §6.21).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceId {
    pub read_code: u8,
    pub conformity_level: u8,
    pub more_follows: bool,
    pub next_object: u8,
    pub objects: Vec<(u8, String)>,
}

/// What a device answered to function 43.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    DeviceId(DeviceId),
    /// Exception response: function | 0x80 and the exception code.
    Exception {
        function: u8,
        code: u8,
    },
}

/// Names of the standard objects (Application Protocol §6.21, Table "Object Id").
pub fn object_name(id: u8) -> Option<&'static str> {
    Some(match id {
        0 => "vendor_name",
        1 => "product_code",
        2 => "revision",
        3 => "vendor_url",
        4 => "product_name",
        5 => "model_name",
        6 => "user_application_name",
        _ => return None,
    })
}

/// If `buf` starts with a whole MBAP frame, its length.
pub fn frame_len(buf: &[u8]) -> Option<usize> {
    let len = u16::from_be_bytes([*buf.get(4)?, *buf.get(5)?]) as usize;
    let total = 6 + len;
    (buf.len() >= total).then_some(total)
}

/// Wrap a PDU in an MBAP header.
pub fn encode_adu(transaction: u16, unit: u8, pdu: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(7 + pdu.len());
    out.extend_from_slice(&transaction.to_be_bytes());
    out.extend_from_slice(&0u16.to_be_bytes());
    out.extend_from_slice(&((pdu.len() + 1) as u16).to_be_bytes());
    out.push(unit);
    out.extend_from_slice(pdu);
    out
}

/// A Read Device Identification request (code 1 basic, 2 regular, 3 extended) from `object`.
pub fn encode_request(transaction: u16, read_code: u8, object: u8) -> Vec<u8> {
    encode_adu(
        transaction,
        UNIT_ID,
        &[FC_MEI, MEI_READ_DEVICE_ID, read_code, object],
    )
}

/// Split an ADU into its MBAP header and PDU.
pub fn parse_adu(buf: &[u8]) -> Result<(Mbap, &[u8]), ModbusError> {
    if buf.len() > MAX_ADU {
        return Err(ModbusError::Invalid("frame larger than 260 bytes"));
    }
    let h = buf.get(..7).ok_or(ModbusError::Truncated)?;
    let mbap = Mbap {
        transaction: u16::from_be_bytes([h[0], h[1]]),
        protocol: u16::from_be_bytes([h[2], h[3]]),
        unit: h[6],
    };
    if mbap.protocol != 0 {
        return Err(ModbusError::Invalid("protocol identifier is not 0"));
    }
    let len = u16::from_be_bytes([h[4], h[5]]) as usize;
    if len < 2 {
        return Err(ModbusError::Invalid(
            "length shorter than unit id and function",
        ));
    }
    let pdu = buf.get(7..6 + len).ok_or(ModbusError::Truncated)?;
    Ok((mbap, pdu))
}

/// Parse a function-43/14 response PDU (or an exception).
pub fn parse_reply(pdu: &[u8]) -> Result<Reply, ModbusError> {
    let function = *pdu.first().ok_or(ModbusError::Truncated)?;
    if function & 0x80 != 0 {
        let code = *pdu.get(1).ok_or(ModbusError::Truncated)?;
        return Ok(Reply::Exception {
            function: function & 0x7F,
            code,
        });
    }
    if function != FC_MEI {
        return Err(ModbusError::Invalid("not a function 43 response"));
    }
    let h = pdu.get(1..7).ok_or(ModbusError::Truncated)?;
    if h[0] != MEI_READ_DEVICE_ID {
        return Err(ModbusError::Invalid(
            "not a read device identification response",
        ));
    }
    let mut id = DeviceId {
        read_code: h[1],
        conformity_level: h[2],
        more_follows: h[3] == 0xFF,
        next_object: h[4],
        objects: Vec::new(),
    };
    let count = h[5] as usize;
    let mut at = 7;
    for _ in 0..count {
        let oid = *pdu.get(at).ok_or(ModbusError::Truncated)?;
        let len = *pdu.get(at + 1).ok_or(ModbusError::Truncated)? as usize;
        let value = pdu
            .get(at + 2..at + 2 + len)
            .ok_or(ModbusError::Truncated)?;
        id.objects.push((oid, io::printable(value, 244)));
        at += 2 + len;
    }
    Ok(Reply::DeviceId(id))
}

/// Encode a function-43/14 response PDU.
pub fn encode_reply(id: &DeviceId) -> Vec<u8> {
    let mut pdu = vec![
        FC_MEI,
        MEI_READ_DEVICE_ID,
        id.read_code,
        id.conformity_level,
        if id.more_follows { 0xFF } else { 0 },
        id.next_object,
        id.objects.len() as u8,
    ];
    for (oid, value) in &id.objects {
        let v = &value.as_bytes()[..value.len().min(240)];
        pdu.push(*oid);
        pdu.push(v.len() as u8);
        pdu.extend_from_slice(v);
    }
    pdu
}

async fn exchange(
    s: &mut tokio::net::TcpStream,
    ctx: &ProbeContext,
    transaction: u16,
    read_code: u8,
    object: u8,
) -> Result<Reply, ProbeError> {
    io::send(s, &encode_request(transaction, read_code, object), ctx).await?;
    let buf = io::read_until(s, ctx, MAX_ADU, |b| {
        // A non-zero protocol id or an absurd length is not Modbus: stop reading at once.
        let bad = b.len() >= 6
            && (b[2..4] != [0, 0] || u16::from_be_bytes([b[4], b[5]]) as usize > MAX_ADU - 6);
        if bad { Some(b.len()) } else { frame_len(b) }
    })
    .await?;
    let not_modbus = |reason: String| ProbeError::NotThisProtocol {
        protocol: PROTO,
        reason,
    };
    if buf.is_empty() {
        return Err(not_modbus("closed without answering".into()));
    }
    let (mbap, pdu) =
        parse_adu(&buf).map_err(|e| not_modbus(format!("{e}: {}", io::printable(&buf, 40))))?;
    if mbap.transaction != transaction {
        return Err(not_modbus("transaction identifier not echoed".into()));
    }
    let function = pdu.first().copied().unwrap_or(0);
    if function & 0x7F != FC_MEI {
        return Err(not_modbus(format!("answered function {function:#04x}")));
    }
    parse_reply(pdu).map_err(|e| ProbeError::Malformed {
        protocol: PROTO,
        reason: e.to_string(),
    })
}

async fn probe(ctx: &ProbeContext) -> Result<Observation, ProbeError> {
    if crate::probes::http::RAW_PRINT_PORTS.contains(&ctx.addr.port()) {
        // Anything sent to a raw print port may print: never guess protocols there.
        return Err(ProbeError::NotThisProtocol {
            protocol: PROTO,
            reason: "raw print port: nothing is sent there".into(),
        });
    }
    let mut s = io::connect(ctx).await?;
    let result = identify(&mut s, ctx).await;
    io::close(s).await;
    result
}

async fn identify(
    s: &mut tokio::net::TcpStream,
    ctx: &ProbeContext,
) -> Result<Observation, ProbeError> {
    let mut obs = Observation::new(PROTO);
    obs.attr("unit_id", UNIT_ID.to_string());
    let mut objects: Vec<(u8, String)> = Vec::new();
    let mut transaction = 0x4D47u16; // "MG"
    let mut conformity = 0u8;
    // Basic category first, following "more follows"; then regular if offered. At most 6 requests.
    let mut plan: Vec<(u8, u8)> = vec![(1, 0)];
    let mut requests = 0;
    while let Some((code, object)) = plan.pop() {
        requests += 1;
        if requests > 6 {
            break;
        }
        transaction = transaction.wrapping_add(1);
        match exchange(s, ctx, transaction, code, object).await? {
            Reply::Exception { code: ex, .. } => {
                if objects.is_empty() {
                    obs.attr("exception", ex.to_string());
                }
                break;
            }
            Reply::DeviceId(id) => {
                conformity = id.conformity_level;
                for (oid, v) in id.objects {
                    if !objects.iter().any(|(o, _)| *o == oid) {
                        objects.push((oid, v));
                    }
                }
                if id.more_follows && id.next_object > object {
                    plan.push((code, id.next_object));
                } else if code == 1 && conformity & 0x7F >= 2 {
                    plan.push((2, 3));
                }
            }
        }
    }
    if conformity != 0 {
        obs.attr("conformity_level", format!("{conformity:#04x}"));
    }
    for (oid, v) in &objects {
        if let Some(name) = object_name(*oid)
            && !v.is_empty()
        {
            obs.attr(name, v.clone());
        }
    }
    let get = |k: &str| obs.attributes.get(k).cloned();
    obs.vendor = get("vendor_name");
    obs.product = get("product_name").or_else(|| get("product_code"));
    obs.model = get("model_name").or_else(|| get("product_code"));
    obs.version = get("revision");
    obs.banner = Some(
        [get("vendor_name"), get("product_code"), get("revision")]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" "),
    )
    .filter(|b| !b.is_empty());
    let evidence = match obs.attributes.get("exception") {
        Some(ex) => {
            format!("the device answered a Modbus request without authentication (exception {ex})")
        }
        None => {
            "the device answered Modbus Read Device Identification without authentication".into()
        }
    };
    obs.finding("modbus-unauthenticated", evidence);
    Ok(obs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The response example of Application Protocol §6.21 (basic category, three objects), in an
    /// MBAP frame.
    fn spec_example() -> Vec<u8> {
        let mut pdu = vec![0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, 0x03];
        for (id, v) in [
            (0u8, &b"Company identification"[..]),
            (1, b"Product code XX"),
            (2, b"V2.11"),
        ] {
            pdu.push(id);
            pdu.push(v.len() as u8);
            pdu.extend_from_slice(v);
        }
        encode_adu(7, 0xFF, &pdu)
    }

    #[test]
    fn parses_spec_example() {
        let adu = spec_example();
        assert_eq!(frame_len(&adu), Some(adu.len()));
        let (mbap, pdu) = parse_adu(&adu).expect("adu");
        assert_eq!(mbap.transaction, 7);
        let Ok(Reply::DeviceId(id)) = parse_reply(pdu) else {
            panic!("not a device id")
        };
        assert_eq!(id.conformity_level, 1);
        assert!(!id.more_follows);
        assert_eq!(id.objects[2], (2, "V2.11".into()));
    }

    #[test]
    fn parses_exception_and_rejects_garbage() {
        let ex = encode_adu(1, 0xFF, &[0xAB, 0x01]);
        let (_, pdu) = parse_adu(&ex).expect("adu");
        assert_eq!(
            parse_reply(pdu),
            Ok(Reply::Exception {
                function: 0x2B,
                code: 1
            })
        );
        let adu = spec_example();
        for cut in [0, 3, 7, 10, adu.len() - 1] {
            let r = parse_adu(&adu[..cut]).and_then(|(_, p)| parse_reply(p));
            assert!(r.is_err(), "cut at {cut}");
        }
        // Object count larger than the objects present.
        let mut bad = adu.clone();
        bad[13] = 9;
        assert!(parse_reply(parse_adu(&bad).expect("adu").1).is_err());
        assert!(parse_adu(b"HTTP/1.1 200 OK\r\n").is_err());
    }

    #[test]
    fn request_is_function_43_only() {
        let rq = encode_request(5, 1, 0);
        assert_eq!(rq, [0, 5, 0, 0, 0, 5, 0xFF, 0x2B, 0x0E, 0x01, 0x00]);
    }

    proptest! {
        #[test]
        fn parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok((_, pdu)) = parse_adu(&bytes) {
                let _ = parse_reply(pdu);
            }
            let _ = parse_reply(&bytes);
            let _ = frame_len(&bytes);
        }

        #[test]
        fn reply_round_trip(objs in proptest::collection::vec((0u8..7, "[ -~]{0,30}"), 0..6), more in any::<bool>()) {
            let id = DeviceId { read_code: 2, conformity_level: 0x82, more_follows: more, next_object: 4, objects: objs };
            let adu = encode_adu(9, 1, &encode_reply(&id));
            let (_, pdu) = parse_adu(&adu).expect("adu");
            let back = parse_reply(pdu).expect("reply");
            prop_assert_eq!(back, Reply::DeviceId(id));
        }
    }
}
