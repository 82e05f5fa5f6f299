//! BACnet/IP identification: Who-Is → I-Am, then ReadProperty of four Device object properties.
//!
//! What goes on the wire (see [`PROBE`]`.sends`), all as BVLL Original-Unicast-NPDU datagrams
//! (ASHRAE 135 Annex J.2) to UDP 47808: one unconfirmed Who-Is (clause 16.10) without range; then
//! confirmed ReadProperty requests (clause 15.5) of the Device object for vendor-name (121),
//! model-name (70), firmware-revision (44) and object-name (77). If no unicast I-Am comes back, the
//! device instance is learned by reading object-identifier (75) of the wildcard Device instance
//! 4194303 (clause 15.5.2). Reads only: no WriteProperty, no ReinitializeDevice, nothing that
//! changes a point.
//!
//! Attributes: `device_instance`, `vendor_id`, `max_apdu`, `segmentation`, `vendor_name`,
//! `model_name`, `firmware_revision`, `object_name`, `read_error` (error class/code of a refused
//! read).
//!
//! Findings: `bacnet-unauthenticated` when the device announces itself or answers reads to anyone
//! (plain BACnet/IP has no authentication).

use crate::io;
use crate::probe::{Intrusiveness, Observation, Probe, ProbeContext, ProbeError, ProbeFuture};
use medguard_model::Transport;

const PROTO: &str = "bacnet";
/// BVLC type for BACnet/IP (Annex J.2).
pub const BVLC_TYPE: u8 = 0x81;
/// BVLC function Original-Unicast-NPDU.
pub const BVLC_UNICAST: u8 = 0x0A;
/// BVLC function Original-Broadcast-NPDU.
pub const BVLC_BROADCAST: u8 = 0x0B;
/// BVLC function Forwarded-NPDU.
pub const BVLC_FORWARDED: u8 = 0x04;
/// Object type Device (clause 21, BACnetObjectType).
pub const OBJECT_DEVICE: u32 = 8;
/// The wildcard Device instance a device treats as its own (clause 15.5.2).
pub const WILDCARD_INSTANCE: u32 = 4_194_303;
/// Largest datagram parsed.
pub const MAX_DATAGRAM: usize = 1500;

/// Property identifiers (clause 21, BACnetPropertyIdentifier).
pub mod prop {
    pub const FIRMWARE_REVISION: u32 = 44;
    pub const MODEL_NAME: u32 = 70;
    pub const OBJECT_IDENTIFIER: u32 = 75;
    pub const OBJECT_NAME: u32 = 77;
    pub const VENDOR_IDENTIFIER: u32 = 120;
    pub const VENDOR_NAME: u32 = 121;
}

/// Service choices used.
pub mod service {
    pub const I_AM: u8 = 0;
    pub const WHO_IS: u8 = 8;
    pub const READ_PROPERTY: u8 = 12;
}

/// The registered BACnet probe.
pub static PROBE: Probe = Probe {
    name: PROTO,
    transport: Transport::Udp,
    ports: &[47808],
    intrusiveness: Intrusiveness::Safe,
    fallback: false,
    sends: "BACnet/IP unicast Who-Is; then ReadProperty of the Device object for vendor-name, \
            model-name, firmware-revision, object-name (and object-identifier of the wildcard \
            instance 4194303 if no I-Am came back): at most 6 datagrams, reads only.",
    run,
};

fn run(ctx: ProbeContext) -> ProbeFuture {
    Box::pin(async move { probe(&ctx).await })
}

/// Why bytes are not a BACnet/IP message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BacnetError {
    #[error("parse a bacnet message: {0}")]
    Invalid(&'static str),
    #[error("parse a bacnet message: truncated")]
    Truncated,
}

/// One application- or context-tagged element (clause 20.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag<'a> {
    pub number: u8,
    pub context: bool,
    /// `Some(true)` opening tag, `Some(false)` closing tag.
    pub open_close: Option<bool>,
    /// Value bytes; for an application Boolean the value is in `lvt`.
    pub data: &'a [u8],
    pub lvt: u8,
}

/// Read one tag: the tag and the rest.
pub fn read_tag(b: &[u8]) -> Result<(Tag<'_>, &[u8]), BacnetError> {
    let first = *b.first().ok_or(BacnetError::Truncated)?;
    let mut at = 1;
    let mut number = first >> 4;
    if number == 15 {
        number = *b.get(at).ok_or(BacnetError::Truncated)?;
        at += 1;
    }
    let context = first & 0x08 != 0;
    let lvt = first & 0x07;
    if context && (lvt == 6 || lvt == 7) {
        return Ok((
            Tag {
                number,
                context,
                open_close: Some(lvt == 6),
                data: &[],
                lvt,
            },
            &b[at..],
        ));
    }
    if !context && number == 1 {
        // Application Boolean: the value is in L/V/T, no content octets.
        return Ok((
            Tag {
                number,
                context,
                open_close: None,
                data: &[],
                lvt,
            },
            &b[at..],
        ));
    }
    let len = match lvt {
        0..=4 => lvt as usize,
        _ => {
            let l = *b.get(at).ok_or(BacnetError::Truncated)?;
            at += 1;
            match l {
                254 => {
                    let s = b.get(at..at + 2).ok_or(BacnetError::Truncated)?;
                    at += 2;
                    u16::from_be_bytes([s[0], s[1]]) as usize
                }
                255 => {
                    let s = b.get(at..at + 4).ok_or(BacnetError::Truncated)?;
                    at += 4;
                    u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize
                }
                n => n as usize,
            }
        }
    };
    if len > MAX_DATAGRAM {
        return Err(BacnetError::Invalid("tag length larger than a datagram"));
    }
    let data = b.get(at..at + len).ok_or(BacnetError::Truncated)?;
    Ok((
        Tag {
            number,
            context,
            open_close: None,
            data,
            lvt,
        },
        &b[at + len..],
    ))
}

/// Big-endian unsigned of 1-4 octets.
pub fn unsigned(data: &[u8]) -> Result<u32, BacnetError> {
    if data.is_empty() || data.len() > 4 {
        return Err(BacnetError::Invalid("unsigned length"));
    }
    Ok(data.iter().fold(0u32, |a, &x| (a << 8) | x as u32))
}

/// (object type, instance) of a 4-octet object identifier.
pub fn object_id(data: &[u8]) -> Result<(u32, u32), BacnetError> {
    let v: [u8; 4] = data
        .try_into()
        .map_err(|_| BacnetError::Invalid("object identifier length"))?;
    let v = u32::from_be_bytes(v);
    Ok((v >> 22, v & 0x3F_FFFF))
}

/// Decode a CharacterString value (clause 20.2.9): UTF-8, UCS-2 and ISO 8859-1.
pub fn character_string(data: &[u8]) -> Result<String, BacnetError> {
    let (&charset, s) = data.split_first().ok_or(BacnetError::Truncated)?;
    let text = match charset {
        0 => String::from_utf8_lossy(s).into_owned(),
        4 => {
            let units: Vec<u16> = s
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        5 => s.iter().map(|&c| c as char).collect(),
        _ => return Err(BacnetError::Invalid("unsupported character set")),
    };
    Ok(io::printable(text.as_bytes(), 128))
}

/// Strip BVLL and NPDU headers: the APDU, or `None` for a network-layer message.
pub fn parse_bvll(b: &[u8]) -> Result<Option<&[u8]>, BacnetError> {
    if b.len() > MAX_DATAGRAM {
        return Err(BacnetError::Invalid("datagram larger than the cap"));
    }
    let h = b.get(..4).ok_or(BacnetError::Truncated)?;
    if h[0] != BVLC_TYPE {
        return Err(BacnetError::Invalid("not a BACnet/IP BVLL"));
    }
    let len = u16::from_be_bytes([h[2], h[3]]) as usize;
    let msg = b.get(..len).ok_or(BacnetError::Truncated)?;
    let npdu = match h[1] {
        BVLC_UNICAST | BVLC_BROADCAST => msg.get(4..),
        BVLC_FORWARDED => msg.get(10..),
        _ => return Ok(None),
    }
    .ok_or(BacnetError::Truncated)?;
    let version = *npdu.first().ok_or(BacnetError::Truncated)?;
    if version != 1 {
        return Err(BacnetError::Invalid("npdu version is not 1"));
    }
    let control = *npdu.get(1).ok_or(BacnetError::Truncated)?;
    let mut at = 2;
    if control & 0x20 != 0 {
        let dlen = *npdu.get(at + 2).ok_or(BacnetError::Truncated)? as usize;
        at += 3 + dlen;
    }
    if control & 0x08 != 0 {
        let slen = *npdu.get(at + 2).ok_or(BacnetError::Truncated)? as usize;
        at += 3 + slen;
    }
    if control & 0x20 != 0 {
        at += 1; // hop count
    }
    if control & 0x80 != 0 {
        return Ok(None);
    }
    npdu.get(at..).map(Some).ok_or(BacnetError::Truncated)
}

/// Wrap an APDU in NPDU and BVLL (unicast). `expect_reply` sets the NPDU data-expecting-reply bit.
pub fn encode_bvll(apdu: &[u8], expect_reply: bool) -> Vec<u8> {
    let len = 4 + 2 + apdu.len();
    let mut out = vec![BVLC_TYPE, BVLC_UNICAST, (len >> 8) as u8, len as u8];
    out.push(1);
    out.push(if expect_reply { 0x04 } else { 0x00 });
    out.extend_from_slice(apdu);
    out
}

fn push_unsigned_app(out: &mut Vec<u8>, tag_number: u8, v: u32) {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take(3).take_while(|&&b| b == 0).count();
    out.push((tag_number << 4) | (4 - skip) as u8);
    out.extend_from_slice(&bytes[skip..]);
}

fn push_context_unsigned(out: &mut Vec<u8>, tag_number: u8, v: u32) {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take(3).take_while(|&&b| b == 0).count();
    out.push((tag_number << 4) | 0x08 | (4 - skip) as u8);
    out.extend_from_slice(&bytes[skip..]);
}

/// The unconfirmed Who-Is APDU (no range).
pub fn who_is() -> Vec<u8> {
    encode_bvll(&[0x10, service::WHO_IS], false)
}

/// An I-Am APDU (clause 16.10.3).
pub fn i_am(instance: u32, max_apdu: u32, segmentation: u8, vendor_id: u32) -> Vec<u8> {
    let mut apdu = vec![0x10, service::I_AM, 0xC4];
    apdu.extend_from_slice(&((OBJECT_DEVICE << 22) | (instance & 0x3F_FFFF)).to_be_bytes());
    push_unsigned_app(&mut apdu, 2, max_apdu);
    apdu.extend_from_slice(&[0x91, segmentation]);
    push_unsigned_app(&mut apdu, 2, vendor_id);
    encode_bvll(&apdu, false)
}

/// A confirmed ReadProperty request of a Device object property.
pub fn read_property(invoke_id: u8, instance: u32, property: u32) -> Vec<u8> {
    let mut apdu = vec![0x00, 0x05, invoke_id, service::READ_PROPERTY, 0x0C];
    apdu.extend_from_slice(&((OBJECT_DEVICE << 22) | (instance & 0x3F_FFFF)).to_be_bytes());
    push_context_unsigned(&mut apdu, 1, property);
    encode_bvll(&apdu, true)
}

/// A ReadProperty ComplexACK carrying an already encoded application-tagged value.
pub fn read_property_ack(invoke_id: u8, instance: u32, property: u32, value: &[u8]) -> Vec<u8> {
    let mut apdu = vec![0x30, invoke_id, service::READ_PROPERTY, 0x0C];
    apdu.extend_from_slice(&((OBJECT_DEVICE << 22) | (instance & 0x3F_FFFF)).to_be_bytes());
    push_context_unsigned(&mut apdu, 1, property);
    apdu.push(0x3E);
    apdu.extend_from_slice(value);
    apdu.push(0x3F);
    encode_bvll(&apdu, false)
}

/// An Error PDU (class and code as enumerated values).
pub fn error_pdu(invoke_id: u8, service_choice: u8, class: u8, code: u8) -> Vec<u8> {
    encode_bvll(
        &[0x50, invoke_id, service_choice, 0x91, class, 0x91, code],
        false,
    )
}

/// An application-tagged CharacterString (UTF-8).
pub fn encode_character_string(s: &str) -> Vec<u8> {
    let len = s.len() + 1;
    let mut out = Vec::with_capacity(len + 4);
    if len <= 4 {
        out.push(0x70 | len as u8);
    } else if len < 254 {
        out.extend_from_slice(&[0x75, len as u8]);
    } else {
        out.extend_from_slice(&[0x75, 254, (len >> 8) as u8, len as u8]);
    }
    out.push(0);
    out.extend_from_slice(s.as_bytes());
    out
}

/// A decoded APDU of the kinds the probe and the simulator handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Apdu {
    WhoIs,
    IAm {
        instance: u32,
        max_apdu: u32,
        segmentation: u32,
        vendor_id: u32,
    },
    ReadProperty {
        invoke_id: u8,
        object: (u32, u32),
        property: u32,
    },
    /// ReadProperty ComplexACK: the property and its first value, decoded to text.
    ReadPropertyAck {
        invoke_id: u8,
        object: (u32, u32),
        property: u32,
        value: String,
    },
    Error {
        invoke_id: u8,
        class: u32,
        code: u32,
    },
    /// Reject or Abort with its reason.
    Refused {
        invoke_id: u8,
        reason: u8,
    },
    Other(u8),
}

fn value_text(t: &Tag<'_>) -> Result<String, BacnetError> {
    Ok(match (t.context, t.number) {
        (false, 7) => character_string(t.data)?,
        (false, 2) | (false, 9) => unsigned(t.data)?.to_string(),
        (false, 12) => {
            let (ty, inst) = object_id(t.data)?;
            format!("{ty}:{inst}")
        }
        _ => io::printable(t.data, 64),
    })
}

/// Decode an APDU.
pub fn parse_apdu(a: &[u8]) -> Result<Apdu, BacnetError> {
    let first = *a.first().ok_or(BacnetError::Truncated)?;
    match first >> 4 {
        0x0 => {
            if first & 0x08 != 0 {
                return Ok(Apdu::Other(first)); // segmented request: not used here
            }
            let h = a.get(..4).ok_or(BacnetError::Truncated)?;
            if h[3] != service::READ_PROPERTY {
                return Ok(Apdu::Other(h[3]));
            }
            let (obj, rest) = read_tag(&a[4..])?;
            let (p, _) = read_tag(rest)?;
            if !(obj.context && obj.number == 0 && p.context && p.number == 1) {
                return Err(BacnetError::Invalid("readproperty arguments"));
            }
            Ok(Apdu::ReadProperty {
                invoke_id: h[2],
                object: object_id(obj.data)?,
                property: unsigned(p.data)?,
            })
        }
        0x1 => {
            let svc = *a.get(1).ok_or(BacnetError::Truncated)?;
            match svc {
                service::WHO_IS => Ok(Apdu::WhoIs),
                service::I_AM => {
                    let (obj, r) = read_tag(&a[2..])?;
                    let (max, r) = read_tag(r)?;
                    let (seg, r) = read_tag(r)?;
                    let (vendor, _) = read_tag(r)?;
                    if obj.context || obj.number != 12 {
                        return Err(BacnetError::Invalid("i-am without an object identifier"));
                    }
                    Ok(Apdu::IAm {
                        instance: object_id(obj.data)?.1,
                        max_apdu: unsigned(max.data)?,
                        segmentation: unsigned(seg.data)?,
                        vendor_id: unsigned(vendor.data)?,
                    })
                }
                other => Ok(Apdu::Other(other)),
            }
        }
        0x3 => {
            if first & 0x08 != 0 {
                return Err(BacnetError::Invalid("segmented answer"));
            }
            let h = a.get(..3).ok_or(BacnetError::Truncated)?;
            if h[2] != service::READ_PROPERTY {
                return Ok(Apdu::Other(h[2]));
            }
            let (obj, r) = read_tag(&a[3..])?;
            let (p, mut r) = read_tag(r)?;
            let (mut t, mut rest) = read_tag(r)?;
            if t.context && t.number == 2 {
                // optional property array index
                r = rest;
                (t, rest) = read_tag(r)?;
            }
            if t.open_close != Some(true) || t.number != 3 {
                return Err(BacnetError::Invalid("property value without opening tag 3"));
            }
            let (v, _) = read_tag(rest)?;
            if v.open_close.is_some() {
                return Err(BacnetError::Invalid("constructed property value"));
            }
            Ok(Apdu::ReadPropertyAck {
                invoke_id: h[1],
                object: object_id(obj.data)?,
                property: unsigned(p.data)?,
                value: value_text(&v)?,
            })
        }
        0x5 => {
            let h = a.get(..3).ok_or(BacnetError::Truncated)?;
            let (c, r) = read_tag(&a[3..])?;
            let (code, _) = read_tag(r)?;
            Ok(Apdu::Error {
                invoke_id: h[1],
                class: unsigned(c.data)?,
                code: unsigned(code.data)?,
            })
        }
        0x6 | 0x7 => {
            let h = a.get(..3).ok_or(BacnetError::Truncated)?;
            Ok(Apdu::Refused {
                invoke_id: h[1],
                reason: h[2],
            })
        }
        _ => Ok(Apdu::Other(first)),
    }
}

/// Parse a whole datagram down to its APDU (`None` for network-layer messages).
pub fn parse_datagram(b: &[u8]) -> Result<Option<Apdu>, BacnetError> {
    match parse_bvll(b)? {
        Some(apdu) => parse_apdu(apdu).map(Some),
        None => Ok(None),
    }
}

fn not_bacnet(e: BacnetError, reply: &[u8]) -> ProbeError {
    ProbeError::NotThisProtocol {
        protocol: PROTO,
        reason: format!("{e}: {}", io::printable(reply, 40)),
    }
}

async fn probe(ctx: &ProbeContext) -> Result<Observation, ProbeError> {
    let mut obs = Observation::new(PROTO);
    let mut instance = None;
    let mut exposed = None;
    match io::udp_exchange(ctx, &who_is()).await {
        Ok(reply) => {
            if let Some(Apdu::IAm {
                instance: i,
                max_apdu,
                segmentation,
                vendor_id,
            }) = parse_datagram(&reply).map_err(|e| not_bacnet(e, &reply))?
            {
                instance = Some(i);
                obs.attr("vendor_id", vendor_id.to_string());
                obs.attr("max_apdu", max_apdu.to_string());
                obs.attr("segmentation", segmentation.to_string());
                exposed = Some("the device answered Who-Is with I-Am".to_string());
            }
        }
        Err(ProbeError::Timeout(_)) => {}
        Err(e) => return Err(e),
    }
    let mut invoke = 0u8;
    let mut read = |property: u32, inst: u32| {
        invoke = invoke.wrapping_add(1);
        let id = invoke;
        async move {
            let reply = io::udp_exchange(ctx, &read_property(id, inst, property)).await?;
            match parse_datagram(&reply).map_err(|e| not_bacnet(e, &reply))? {
                Some(Apdu::ReadPropertyAck {
                    invoke_id,
                    property: p,
                    object,
                    value,
                }) if invoke_id == id && p == property => Ok(Ok((object, value))),
                Some(Apdu::Error { class, code, .. }) => Ok(Err(format!("{class}/{code}"))),
                Some(Apdu::Refused { reason, .. }) => Ok(Err(format!("refused {reason}"))),
                other => Err(ProbeError::Malformed {
                    protocol: PROTO,
                    reason: format!("unexpected answer to ReadProperty: {other:?}"),
                }),
            }
        }
    };
    let inst = match instance {
        Some(i) => i,
        None => match read(prop::OBJECT_IDENTIFIER, WILDCARD_INSTANCE).await? {
            Ok(((_, i), _)) => i,
            Err(e) => {
                // A BACnet device that refuses even its identity: protocol proven, nothing exposed.
                obs.attr("read_error", e);
                return Ok(obs);
            }
        },
    };
    obs.attr("device_instance", inst.to_string());
    for (property, key) in [
        (prop::VENDOR_NAME, "vendor_name"),
        (prop::MODEL_NAME, "model_name"),
        (prop::FIRMWARE_REVISION, "firmware_revision"),
        (prop::OBJECT_NAME, "object_name"),
    ] {
        match read(property, inst).await {
            Ok(Ok((_, value))) => {
                if exposed.is_none() {
                    exposed = Some(format!("the device answered ReadProperty of {key}"));
                }
                obs.attr(key, value);
            }
            Ok(Err(e)) => {
                obs.attr("read_error", e);
            }
            Err(ProbeError::Timeout(_)) => break,
            Err(e) => return Err(e),
        }
    }
    let get = |k: &str| obs.attributes.get(k).cloned();
    obs.vendor = get("vendor_name");
    obs.model = get("model_name");
    obs.product = get("model_name");
    obs.firmware = get("firmware_revision");
    obs.banner = Some(format!(
        "device {inst} {} {} {}",
        get("vendor_name").unwrap_or_default(),
        get("model_name").unwrap_or_default(),
        get("object_name").unwrap_or_default()
    ))
    .map(|b| b.trim().to_string());
    if let Some(evidence) = exposed {
        obs.finding(
            "bacnet-unauthenticated",
            format!("{evidence} over plain BACnet/IP, without authentication"),
        );
    }
    Ok(obs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_i_am_from_clause_16_10_example() {
        // 135-2020 Annex F.1.x style I-Am: device 1234, max APDU 1476, segmented-both (0), vendor 260.
        let bytes = [
            0x81, 0x0B, 0x00, 0x14, 0x01, 0x00, 0x10, 0x00, 0xC4, 0x02, 0x00, 0x04, 0xD2, 0x22,
            0x05, 0xC4, 0x91, 0x00, 0x22, 0x01, 0x04,
        ];
        let mut bytes = bytes.to_vec();
        bytes[3] = bytes.len() as u8;
        assert_eq!(
            parse_datagram(&bytes),
            Ok(Some(Apdu::IAm {
                instance: 1234,
                max_apdu: 1476,
                segmentation: 0,
                vendor_id: 260
            }))
        );
        assert_eq!(
            parse_datagram(&i_am(1234, 1476, 0, 260)),
            Ok(Some(Apdu::IAm {
                instance: 1234,
                max_apdu: 1476,
                segmentation: 0,
                vendor_id: 260
            }))
        );
    }

    #[test]
    fn read_property_round_trip() {
        let rq = read_property(7, WILDCARD_INSTANCE, super::prop::VENDOR_NAME);
        // BVLL 81 0A len, NPDU 01 04 (expecting reply), confirmed request 00 05 07 0C.
        assert_eq!(
            &rq[..10],
            &[0x81, 0x0A, 0, 17, 0x01, 0x04, 0x00, 0x05, 0x07, 0x0C]
        );
        assert_eq!(
            parse_datagram(&rq),
            Ok(Some(Apdu::ReadProperty {
                invoke_id: 7,
                object: (8, WILDCARD_INSTANCE),
                property: 121
            }))
        );
        let ack = read_property_ack(7, 99, 121, &encode_character_string("Acme Controls"));
        assert_eq!(
            parse_datagram(&ack),
            Ok(Some(Apdu::ReadPropertyAck {
                invoke_id: 7,
                object: (8, 99),
                property: 121,
                value: "Acme Controls".into()
            }))
        );
        let err = error_pdu(7, 12, 4, 26);
        assert_eq!(
            parse_datagram(&err),
            Ok(Some(Apdu::Error {
                invoke_id: 7,
                class: 4,
                code: 26
            }))
        );
    }

    #[test]
    fn npdu_with_source_address() {
        // A routed reply: NPDU control 0x08 with SNET 5, SLEN 1, SADR 0x22 before the APDU.
        let mut b = vec![
            0x81, 0x0A, 0, 0, 0x01, 0x08, 0x00, 0x05, 0x01, 0x22, 0x10, 0x08,
        ];
        b[3] = b.len() as u8;
        assert_eq!(parse_datagram(&b), Ok(Some(Apdu::WhoIs)));
        // Network-layer message (control bit 7): no APDU.
        let mut n = vec![0x81, 0x0A, 0, 0, 0x01, 0x80, 0x00];
        n[3] = n.len() as u8;
        assert_eq!(parse_datagram(&n), Ok(None));
    }

    #[test]
    fn rejects_truncated_and_garbage() {
        let ack = read_property_ack(1, 5, 70, &encode_character_string("Model X"));
        for cut in [0, 3, 6, 9, 15, ack.len() - 2] {
            let mut b = ack[..cut].to_vec();
            if b.len() >= 4 {
                b[3] = b.len() as u8;
            }
            assert!(parse_datagram(&b).is_err(), "cut at {cut}");
        }
        assert!(parse_datagram(b"\x30\x26\x02\x01\x01\x04\x06public").is_err());
        // A character string claiming a 4-byte length of 4 GiB.
        assert!(read_tag(&[0x75, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]).is_err());
        assert!(character_string(&[9, b'a']).is_err());
        assert_eq!(character_string(&[4, 0, b'h', 0, b'i']), Ok("hi".into()));
    }

    proptest! {
        #[test]
        fn parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_datagram(&bytes);
            let _ = parse_apdu(&bytes);
        }

        #[test]
        fn string_property_round_trip(s in "[ -~]{0,300}", prop_id in 0u32..5000, inst in 0u32..4_194_304) {
            let ack = read_property_ack(3, inst, prop_id, &encode_character_string(&s));
            prop_assume!(ack.len() <= MAX_DATAGRAM);
            let want = Apdu::ReadPropertyAck { invoke_id: 3, object: (8, inst), property: prop_id, value: io::printable(s.as_bytes(), 128) };
            prop_assert_eq!(parse_datagram(&ack), Ok(Some(want)));
        }
    }
}
