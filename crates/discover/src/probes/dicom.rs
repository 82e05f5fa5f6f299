//! DICOM Upper Layer (PS3.8) identification: association negotiation for the Verification SOP
//! class, one C-ECHO, a clean release.
//!
//! What goes on the wire (see [`PROBE`]`.sends`): an A-ASSOCIATE-RQ (PS3.8 §9.3.2) from calling AE
//! `MEDGUARD` to the made-up called AE [`PROBE_CALLED_AE`], proposing only the Verification SOP class
//! (1.2.840.10008.1.1) in Implicit VR Little Endian; if the peer accepts, one C-ECHO-RQ (PS3.7 §9.3.5)
//! in a P-DATA-TF and then an A-RELEASE-RQ. Verification creates nothing on the node.
//!
//! Attributes: `called_ae` (what we asked for), `association` (`accepted`, `rejected`),
//! `reject_result`/`reject_source`/`reject_reason` (A-ASSOCIATE-RJ codes), `implementation_class_uid`,
//! `implementation_version_name`, `max_pdu_length`, `echo_status` (C-ECHO-RSP status, hex).
//!
//! Findings: `dicom-unencrypted` whenever plain DICOM answered; `dicom-any-ae-accepted` when the node
//! accepted an association addressed to a called AE title it cannot know.

use crate::io;
use crate::probe::{Intrusiveness, Observation, Probe, ProbeContext, ProbeError, ProbeFuture};
use medguard_model::Transport;

const PROTO: &str = "dicom";

/// The Verification SOP class UID (PS3.4 Annex A).
pub const VERIFICATION_SOP_CLASS: &str = "1.2.840.10008.1.1";
/// Implicit VR Little Endian, the default transfer syntax (PS3.5 §10.1).
pub const IMPLICIT_VR_LE: &str = "1.2.840.10008.1.2";
/// The DICOM application context name (PS3.7 Annex A.2.1).
pub const APPLICATION_CONTEXT: &str = "1.2.840.10008.3.1.1.1";
/// The called AE title the probe addresses: no real node is configured with it.
pub const PROBE_CALLED_AE: &str = "MEDGUARD-PROBE";
/// The calling AE title the probe presents.
pub const PROBE_CALLING_AE: &str = "MEDGUARD";
/// medguard's implementation class UID (a UUID-derived 2.25 root, PS3.5 §B.2).
pub const IMPLEMENTATION_CLASS_UID: &str = "2.25.302934771820917368437526312846390183511";
/// medguard's implementation version name (at most 16 characters).
pub const IMPLEMENTATION_VERSION: &str = "MEDGUARD_01";
/// Largest PDU (header included) the probe or the simulator accepts from a peer.
pub const MAX_PDU: usize = 64 * 1024;

/// PDU types (PS3.8 §9.3.1).
pub mod pdu_type {
    pub const ASSOCIATE_RQ: u8 = 0x01;
    pub const ASSOCIATE_AC: u8 = 0x02;
    pub const ASSOCIATE_RJ: u8 = 0x03;
    pub const P_DATA_TF: u8 = 0x04;
    pub const RELEASE_RQ: u8 = 0x05;
    pub const RELEASE_RP: u8 = 0x06;
    pub const ABORT: u8 = 0x07;
}

/// The registered DICOM probe.
pub static PROBE: Probe = Probe {
    name: PROTO,
    transport: Transport::Tcp,
    ports: &[104, 11112, 4242],
    intrusiveness: Intrusiveness::Safe,
    fallback: true,
    sends: "A-ASSOCIATE-RQ (called AE MEDGUARD-PROBE, calling AE MEDGUARD, Verification SOP class \
            1.2.840.10008.1.1, Implicit VR Little Endian); if accepted one C-ECHO-RQ in a P-DATA-TF, \
            then A-RELEASE-RQ. No storage, query or retrieve.",
    run,
};

fn run(ctx: ProbeContext) -> ProbeFuture {
    Box::pin(async move { probe(&ctx).await })
}

/// Why bytes are not a valid DICOM PDU.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PduError {
    #[error("parse a pdu: {0}")]
    Invalid(&'static str),
    #[error("parse a pdu: truncated")]
    Truncated,
}

/// One presentation context of an association request or answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PresentationContext {
    pub id: u8,
    /// Result/reason in an A-ASSOCIATE-AC (0 = acceptance); 0 in a request.
    pub result: u8,
    /// Abstract syntax (requests only).
    pub abstract_syntax: Option<String>,
    pub transfer_syntaxes: Vec<String>,
}

/// The fields of an A-ASSOCIATE-RQ or -AC (PS3.8 §9.3.2, §9.3.3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Associate {
    pub called_ae: String,
    pub calling_ae: String,
    pub application_context: Option<String>,
    pub contexts: Vec<PresentationContext>,
    pub max_pdu_length: Option<u32>,
    pub implementation_class_uid: Option<String>,
    pub implementation_version_name: Option<String>,
}

/// An A-ASSOCIATE-RJ (PS3.8 §9.3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reject {
    pub result: u8,
    pub source: u8,
    pub reason: u8,
}

impl Reject {
    /// Plain description of the reject reason (PS3.8 Table 9-21).
    pub fn describe(&self) -> &'static str {
        match (self.source, self.reason) {
            (1, 1) => "no reason given",
            (1, 2) => "application context name not supported",
            (1, 3) => "calling AE title not recognized",
            (1, 7) => "called AE title not recognized",
            (2, 1) => "no reason given (ACSE)",
            (2, 2) => "protocol version not supported",
            (3, 1) => "temporary congestion",
            (3, 2) => "local limit exceeded",
            _ => "unknown reason",
        }
    }
}

/// A parsed PDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pdu {
    AssociateRq(Associate),
    AssociateAc(Associate),
    AssociateRj(Reject),
    /// Presentation data values: (context id, message control header, bytes).
    PData(Vec<(u8, u8, Vec<u8>)>),
    ReleaseRq,
    ReleaseRp,
    Abort {
        source: u8,
        reason: u8,
    },
}

/// If `buf` starts with a whole PDU, its total length (header included). Used to frame reads.
pub fn pdu_len(buf: &[u8]) -> Option<usize> {
    let len = u32::from_be_bytes(buf.get(2..6)?.try_into().ok()?) as usize;
    let total = len.checked_add(6)?;
    (buf.len() >= total).then_some(total)
}

/// The declared total length of the PDU starting `buf`, for size checks before reading it all.
pub fn declared_len(header: &[u8]) -> Option<usize> {
    let len = u32::from_be_bytes(header.get(2..6)?.try_into().ok()?) as usize;
    len.checked_add(6)
}

fn be16(b: &[u8], at: usize) -> Result<u16, PduError> {
    let s = b.get(at..at + 2).ok_or(PduError::Truncated)?;
    Ok(u16::from_be_bytes([s[0], s[1]]))
}

fn be32(b: &[u8], at: usize) -> Result<u32, PduError> {
    let s = b.get(at..at + 4).ok_or(PduError::Truncated)?;
    Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// A UID or AE title: printable, trailing NUL/space padding removed, capped at 64 characters.
fn text(b: &[u8]) -> String {
    let trimmed: &[u8] = {
        let end = b
            .iter()
            .rposition(|&c| c != 0 && c != b' ')
            .map_or(0, |p| p + 1);
        let start = b.iter().position(|&c| c != b' ').unwrap_or(end).min(end);
        &b[start..end]
    };
    io::printable(trimmed, 64)
}

/// Parse one whole PDU (header included) from the wire.
pub fn parse_pdu(buf: &[u8]) -> Result<Pdu, PduError> {
    if buf.len() > MAX_PDU {
        return Err(PduError::Invalid("pdu larger than the cap"));
    }
    let ty = *buf.first().ok_or(PduError::Truncated)?;
    let len = be32(buf, 2)? as usize;
    let body = buf.get(6..6 + len).ok_or(PduError::Truncated)?;
    match ty {
        pdu_type::ASSOCIATE_RQ => parse_associate(body, false).map(Pdu::AssociateRq),
        pdu_type::ASSOCIATE_AC => parse_associate(body, true).map(Pdu::AssociateAc),
        pdu_type::ASSOCIATE_RJ => {
            // reserved, result, source, reason/diag (PS3.8 §9.3.4)
            let b = body.get(..4).ok_or(PduError::Truncated)?;
            Ok(Pdu::AssociateRj(Reject {
                result: b[1],
                source: b[2],
                reason: b[3],
            }))
        }
        pdu_type::P_DATA_TF => {
            let mut pdvs = Vec::new();
            let mut at = 0;
            while at < body.len() {
                let l = be32(body, at)? as usize;
                if l < 2 {
                    return Err(PduError::Invalid("pdv item shorter than its header"));
                }
                let item = body.get(at + 4..at + 4 + l).ok_or(PduError::Truncated)?;
                pdvs.push((item[0], item[1], item[2..].to_vec()));
                at += 4 + l;
                if pdvs.len() > 64 {
                    return Err(PduError::Invalid("too many pdv items"));
                }
            }
            Ok(Pdu::PData(pdvs))
        }
        pdu_type::RELEASE_RQ => Ok(Pdu::ReleaseRq),
        pdu_type::RELEASE_RP => Ok(Pdu::ReleaseRp),
        pdu_type::ABORT => {
            let b = body.get(..4).ok_or(PduError::Truncated)?;
            Ok(Pdu::Abort {
                source: b[2],
                reason: b[3],
            })
        }
        _ => Err(PduError::Invalid("unknown pdu type")),
    }
}

/// Parse the body of an A-ASSOCIATE-RQ/AC: fixed fields then variable items (PS3.8 §9.3.2-3).
fn parse_associate(body: &[u8], ac: bool) -> Result<Associate, PduError> {
    if body.len() < 68 {
        return Err(PduError::Truncated);
    }
    if be16(body, 0)? & 1 == 0 {
        return Err(PduError::Invalid("protocol version 1 not offered"));
    }
    let mut a = Associate {
        called_ae: text(&body[4..20]),
        calling_ae: text(&body[20..36]),
        ..Associate::default()
    };
    let mut at = 68;
    while at < body.len() {
        let ty = body[at];
        let l = be16(body, at + 2)? as usize;
        let item = body.get(at + 4..at + 4 + l).ok_or(PduError::Truncated)?;
        match ty {
            0x10 => a.application_context = Some(text(item)),
            0x20 | 0x21 if (ty == 0x21) == ac => {
                if item.len() < 4 {
                    return Err(PduError::Truncated);
                }
                let mut pc = PresentationContext {
                    id: item[0],
                    result: if ac { item[2] } else { 0 },
                    ..PresentationContext::default()
                };
                for (sty, sub) in sub_items(&item[4..])? {
                    match sty {
                        0x30 => pc.abstract_syntax = Some(text(sub)),
                        0x40 if pc.transfer_syntaxes.len() < 32 => {
                            pc.transfer_syntaxes.push(text(sub))
                        }
                        _ => {}
                    }
                }
                if a.contexts.len() < 128 {
                    a.contexts.push(pc);
                }
            }
            0x50 => {
                for (sty, sub) in sub_items(item)? {
                    match sty {
                        0x51 => a.max_pdu_length = Some(be32(sub, 0)?),
                        0x52 => a.implementation_class_uid = Some(text(sub)),
                        0x55 => a.implementation_version_name = Some(text(sub)),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        at += 4 + l;
    }
    Ok(a)
}

/// Split sub-items (type, reserved, u16 length, value).
fn sub_items(mut b: &[u8]) -> Result<Vec<(u8, &[u8])>, PduError> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let ty = b[0];
        let l = be16(b, 2)? as usize;
        let v = b.get(4..4 + l).ok_or(PduError::Truncated)?;
        out.push((ty, v));
        b = &b[4 + l..];
        if out.len() > 64 {
            return Err(PduError::Invalid("too many sub-items"));
        }
    }
    Ok(out)
}

fn push_item(out: &mut Vec<u8>, ty: u8, value: &[u8]) {
    out.push(ty);
    out.push(0);
    out.extend_from_slice(&(value.len().min(u16::MAX as usize) as u16).to_be_bytes());
    out.extend_from_slice(value);
}

fn ae_field(ae: &str) -> [u8; 16] {
    let mut f = [b' '; 16];
    for (d, s) in f.iter_mut().zip(ae.bytes()) {
        *d = s;
    }
    f
}

fn frame(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 6);
    out.push(ty);
    out.push(0);
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// Encode an A-ASSOCIATE-RQ or -AC (PS3.8 §9.3.2/9.3.3).
pub fn encode_associate(a: &Associate, ac: bool) -> Vec<u8> {
    let mut body = Vec::with_capacity(256);
    body.extend_from_slice(&1u16.to_be_bytes());
    body.extend_from_slice(&[0, 0]);
    body.extend_from_slice(&ae_field(&a.called_ae));
    body.extend_from_slice(&ae_field(&a.calling_ae));
    body.extend_from_slice(&[0u8; 32]);
    push_item(
        &mut body,
        0x10,
        a.application_context
            .as_deref()
            .unwrap_or(APPLICATION_CONTEXT)
            .as_bytes(),
    );
    for pc in &a.contexts {
        let mut v = vec![pc.id, 0, if ac { pc.result } else { 0 }, 0];
        if let Some(s) = &pc.abstract_syntax {
            push_item(&mut v, 0x30, s.as_bytes());
        }
        for ts in &pc.transfer_syntaxes {
            push_item(&mut v, 0x40, ts.as_bytes());
        }
        push_item(&mut body, if ac { 0x21 } else { 0x20 }, &v);
    }
    let mut user = Vec::new();
    push_item(
        &mut user,
        0x51,
        &a.max_pdu_length.unwrap_or(16384).to_be_bytes(),
    );
    if let Some(uid) = &a.implementation_class_uid {
        push_item(&mut user, 0x52, uid.as_bytes());
    }
    if let Some(name) = &a.implementation_version_name {
        push_item(&mut user, 0x55, name.as_bytes());
    }
    push_item(&mut body, 0x50, &user);
    frame(
        if ac {
            pdu_type::ASSOCIATE_AC
        } else {
            pdu_type::ASSOCIATE_RQ
        },
        &body,
    )
}

/// Encode an A-ASSOCIATE-RJ.
pub fn encode_reject(r: Reject) -> Vec<u8> {
    frame(pdu_type::ASSOCIATE_RJ, &[0, r.result, r.source, r.reason])
}

/// Encode an A-RELEASE-RQ or -RP.
pub fn encode_release(reply: bool) -> Vec<u8> {
    frame(
        if reply {
            pdu_type::RELEASE_RP
        } else {
            pdu_type::RELEASE_RQ
        },
        &[0; 4],
    )
}

/// Encode a P-DATA-TF with one PDV carrying a whole command (control header 0x03).
pub fn encode_command_pdata(context_id: u8, command: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(command.len() + 6);
    body.extend_from_slice(&((command.len() + 2) as u32).to_be_bytes());
    body.push(context_id);
    body.push(0x03);
    body.extend_from_slice(command);
    frame(pdu_type::P_DATA_TF, &body)
}

/// The A-ASSOCIATE-RQ the probe sends.
pub fn probe_request() -> Vec<u8> {
    encode_associate(
        &Associate {
            called_ae: PROBE_CALLED_AE.into(),
            calling_ae: PROBE_CALLING_AE.into(),
            application_context: Some(APPLICATION_CONTEXT.into()),
            contexts: vec![PresentationContext {
                id: 1,
                result: 0,
                abstract_syntax: Some(VERIFICATION_SOP_CLASS.into()),
                transfer_syntaxes: vec![IMPLICIT_VR_LE.into()],
            }],
            max_pdu_length: Some(16384),
            implementation_class_uid: Some(IMPLEMENTATION_CLASS_UID.into()),
            implementation_version_name: Some(IMPLEMENTATION_VERSION.into()),
        },
        false,
    )
}

/// Command-set elements (implicit VR little endian, group 0000) used by C-ECHO.
pub mod tag {
    pub const GROUP_LENGTH: u16 = 0x0000;
    pub const AFFECTED_SOP_CLASS: u16 = 0x0002;
    pub const COMMAND_FIELD: u16 = 0x0100;
    pub const MESSAGE_ID: u16 = 0x0110;
    pub const MESSAGE_ID_RESPONDED: u16 = 0x0120;
    pub const DATA_SET_TYPE: u16 = 0x0800;
    pub const STATUS: u16 = 0x0900;
}

/// A command-set element value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmdValue {
    Us(u16),
    Ul(u32),
    Ui(String),
}

fn push_element(out: &mut Vec<u8>, element: u16, v: &CmdValue) {
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&element.to_le_bytes());
    match v {
        CmdValue::Us(x) => {
            out.extend_from_slice(&2u32.to_le_bytes());
            out.extend_from_slice(&x.to_le_bytes());
        }
        CmdValue::Ul(x) => {
            out.extend_from_slice(&4u32.to_le_bytes());
            out.extend_from_slice(&x.to_le_bytes());
        }
        CmdValue::Ui(s) => {
            let mut b = s.as_bytes().to_vec();
            if b.len() % 2 == 1 {
                b.push(0); // UIDs pad with NUL to even length (PS3.5 §9.1)
            }
            out.extend_from_slice(&(b.len() as u32).to_le_bytes());
            out.extend_from_slice(&b);
        }
    }
}

/// Encode a command set: group length first, then the given elements in tag order.
pub fn encode_command(elements: &[(u16, CmdValue)]) -> Vec<u8> {
    let mut rest = Vec::new();
    for (e, v) in elements {
        push_element(&mut rest, *e, v);
    }
    let mut out = Vec::with_capacity(rest.len() + 12);
    push_element(
        &mut out,
        tag::GROUP_LENGTH,
        &CmdValue::Ul(rest.len() as u32),
    );
    out.extend_from_slice(&rest);
    out
}

/// The C-ECHO-RQ command set (PS3.7 §9.3.5.1).
pub fn c_echo_rq(message_id: u16) -> Vec<u8> {
    encode_command(&[
        (
            tag::AFFECTED_SOP_CLASS,
            CmdValue::Ui(VERIFICATION_SOP_CLASS.into()),
        ),
        (tag::COMMAND_FIELD, CmdValue::Us(0x0030)),
        (tag::MESSAGE_ID, CmdValue::Us(message_id)),
        (tag::DATA_SET_TYPE, CmdValue::Us(0x0101)),
    ])
}

/// The C-ECHO-RSP command set (PS3.7 §9.3.5.2).
pub fn c_echo_rsp(message_id: u16, status: u16) -> Vec<u8> {
    encode_command(&[
        (
            tag::AFFECTED_SOP_CLASS,
            CmdValue::Ui(VERIFICATION_SOP_CLASS.into()),
        ),
        (tag::COMMAND_FIELD, CmdValue::Us(0x8030)),
        (tag::MESSAGE_ID_RESPONDED, CmdValue::Us(message_id)),
        (tag::DATA_SET_TYPE, CmdValue::Us(0x0101)),
        (tag::STATUS, CmdValue::Us(status)),
    ])
}

/// Read the US/UL/UI elements of a group-0000 command set (implicit VR LE); other elements skipped.
pub fn parse_command(b: &[u8]) -> Result<Vec<(u16, CmdValue)>, PduError> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < b.len() {
        let h = b.get(at..at + 8).ok_or(PduError::Truncated)?;
        let group = u16::from_le_bytes([h[0], h[1]]);
        let element = u16::from_le_bytes([h[2], h[3]]);
        let len = u32::from_le_bytes([h[4], h[5], h[6], h[7]]) as usize;
        if group != 0 {
            return Err(PduError::Invalid("command element outside group 0000"));
        }
        let v = b.get(at + 8..at + 8 + len).ok_or(PduError::Truncated)?;
        let value = match (element, len) {
            (tag::AFFECTED_SOP_CLASS, _) => Some(CmdValue::Ui(text(v))),
            (_, 2) => Some(CmdValue::Us(u16::from_le_bytes([v[0], v[1]]))),
            (_, 4) => Some(CmdValue::Ul(u32::from_le_bytes([v[0], v[1], v[2], v[3]]))),
            _ => None,
        };
        if let Some(value) = value {
            if out.len() >= 64 {
                return Err(PduError::Invalid("too many command elements"));
            }
            out.push((element, value));
        }
        at += 8 + len;
    }
    Ok(out)
}

/// Look up a US element of a parsed command set.
pub fn command_us(cmd: &[(u16, CmdValue)], element: u16) -> Option<u16> {
    cmd.iter().find_map(|(e, v)| match v {
        CmdValue::Us(x) if *e == element => Some(*x),
        _ => None,
    })
}

/// (vendor, product, version) inferred from the implementation class UID and version name.
pub fn infer_product(
    class_uid: Option<&str>,
    version_name: Option<&str>,
) -> Option<(&'static str, &'static str, Option<String>)> {
    let name = version_name.unwrap_or("");
    let uid = class_uid.unwrap_or("");
    let upper = name.to_ascii_uppercase();
    let tail = |prefix: &str| {
        let rest = name
            .get(prefix.len()..)
            .unwrap_or("")
            .trim_matches(['_', ' ', '-']);
        (!rest.is_empty()).then(|| rest.to_string())
    };
    if upper.starts_with("ORTHANC") {
        return Some(("Orthanc", "Orthanc", tail("ORTHANC")));
    }
    if upper.starts_with("OFFIS_DCMTK") {
        // "OFFIS_DCMTK_369" → "3.6.9"
        let v = tail("OFFIS_DCMTK").map(|d| {
            if d.len() >= 3 && d.bytes().all(|c| c.is_ascii_digit()) {
                let (a, rest) = d.split_at(1);
                let (b, c) = rest.split_at(1);
                format!("{a}.{b}.{c}")
            } else {
                d
            }
        });
        return Some(("OFFIS", "DCMTK", v));
    }
    if upper.starts_with("PYNETDICOM") {
        return Some(("pydicom", "pynetdicom", tail("PYNETDICOM")));
    }
    if upper.starts_with("DCM4CHE") || uid.starts_with("1.2.40.0.13.1") {
        return Some(("dcm4che", "dcm4che", None));
    }
    if upper.starts_with("FO-DICOM") || upper.starts_with("FODICOM") {
        return Some(("fo-dicom", "fo-dicom", None));
    }
    if uid.starts_with("1.2.276.0.7230010.3") {
        return Some(("OFFIS", "DCMTK", None));
    }
    None
}

/// Read one PDU with the probe's bounded helpers.
async fn read_pdu(
    stream: &mut tokio::net::TcpStream,
    ctx: &ProbeContext,
) -> Result<Vec<u8>, ProbeError> {
    let known = |t: u8| (pdu_type::ASSOCIATE_RQ..=pdu_type::ABORT).contains(&t);
    let buf = io::read_until(stream, ctx, MAX_PDU, |b| {
        match (b.first(), declared_len(b)) {
            (Some(&t), _) if !known(t) => Some(b.len()),
            (_, Some(n)) if n > MAX_PDU => Some(b.len()),
            _ => pdu_len(b),
        }
    })
    .await?;
    if buf.first().is_some_and(|&t| !known(t)) {
        return Err(ProbeError::NotThisProtocol {
            protocol: PROTO,
            reason: format!("not a dicom pdu: {}", io::printable(&buf, 40)),
        });
    }
    match declared_len(&buf) {
        Some(n) if n > MAX_PDU => Err(ProbeError::TooLarge(MAX_PDU)),
        Some(n) if n <= buf.len() => Ok(buf),
        _ if buf.is_empty() => Err(ProbeError::NotThisProtocol {
            protocol: PROTO,
            reason: "closed without answering the association request".into(),
        }),
        _ => Err(ProbeError::NotThisProtocol {
            protocol: PROTO,
            reason: format!("not a dicom pdu: {}", io::printable(&buf, 40)),
        }),
    }
}

fn malformed(e: PduError) -> ProbeError {
    ProbeError::Malformed {
        protocol: PROTO,
        reason: e.to_string(),
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
    let mut s = io::connect(ctx).await?;
    io::send(&mut s, &probe_request(), ctx).await?;
    let reply = read_pdu(&mut s, ctx).await?;
    let first = reply.first().copied().unwrap_or(0);
    if !(pdu_type::ASSOCIATE_AC..=pdu_type::ABORT).contains(&first) || reply.get(1) != Some(&0) {
        io::close(s).await;
        return Err(ProbeError::NotThisProtocol {
            protocol: PROTO,
            reason: format!("unexpected pdu type {first:#04x}"),
        });
    }
    let pdu = match parse_pdu(&reply) {
        Ok(p) => p,
        Err(e) => {
            io::close(s).await;
            return Err(malformed(e));
        }
    };
    let mut obs = Observation::new(PROTO);
    obs.tls = Some(false);
    obs.attr("called_ae", PROBE_CALLED_AE);
    match pdu {
        Pdu::AssociateAc(ac) => {
            obs.attr("association", "accepted");
            describe_ac(&mut obs, &ac);
            obs.finding(
                "dicom-any-ae-accepted",
                format!(
                    "association to the made-up called AE title \"{PROBE_CALLED_AE}\" was accepted"
                ),
            );
            let accepted = ac.contexts.iter().any(|pc| pc.id == 1 && pc.result == 0);
            if accepted {
                echo(&mut s, ctx, &mut obs).await;
            }
            // Release politely; a node that does not answer the release is simply closed.
            if io::send(&mut s, &encode_release(false), ctx).await.is_ok() {
                let _ = read_pdu(&mut s, ctx).await;
            }
        }
        Pdu::AssociateRj(rj) => {
            obs.attr("association", "rejected");
            obs.attr("reject_result", rj.result.to_string());
            obs.attr("reject_source", rj.source.to_string());
            obs.attr("reject_reason", rj.reason.to_string());
            obs.banner = Some(format!("A-ASSOCIATE-RJ: {}", rj.describe()));
        }
        Pdu::Abort { source, reason } => {
            obs.attr("association", "aborted");
            obs.banner = Some(format!("A-ABORT source {source} reason {reason}"));
        }
        other => {
            io::close(s).await;
            return Err(ProbeError::Malformed {
                protocol: PROTO,
                reason: format!("unexpected answer to A-ASSOCIATE-RQ: {other:?}"),
            });
        }
    }
    io::close(s).await;
    obs.finding(
        "dicom-unencrypted",
        "the node answered DICOM association negotiation in plain text (no TLS)",
    );
    Ok(obs)
}

fn describe_ac(obs: &mut Observation, ac: &Associate) {
    if let Some(uid) = &ac.implementation_class_uid {
        obs.attr("implementation_class_uid", uid.clone());
    }
    if let Some(v) = &ac.implementation_version_name {
        obs.attr("implementation_version_name", v.clone());
    }
    if let Some(m) = ac.max_pdu_length {
        obs.attr("max_pdu_length", m.to_string());
    }
    if let Some((vendor, product, version)) = infer_product(
        ac.implementation_class_uid.as_deref(),
        ac.implementation_version_name.as_deref(),
    ) {
        obs.vendor = Some(vendor.into());
        obs.product = Some(product.into());
        obs.version = version;
    }
    obs.banner = Some(format!(
        "A-ASSOCIATE-AC implementation {} {}",
        ac.implementation_class_uid.as_deref().unwrap_or("-"),
        ac.implementation_version_name.as_deref().unwrap_or("-")
    ));
}

async fn echo(s: &mut tokio::net::TcpStream, ctx: &ProbeContext, obs: &mut Observation) {
    if io::send(s, &encode_command_pdata(1, &c_echo_rq(1)), ctx)
        .await
        .is_err()
    {
        return;
    }
    let Ok(reply) = read_pdu(s, ctx).await else {
        return;
    };
    if let Ok(Pdu::PData(pdvs)) = parse_pdu(&reply) {
        let cmd: Vec<u8> = pdvs
            .iter()
            .filter(|(_, h, _)| h & 1 == 1)
            .flat_map(|(_, _, d)| d.iter().copied())
            .collect();
        if let Ok(cmd) = parse_command(&cmd)
            && command_us(&cmd, tag::COMMAND_FIELD) == Some(0x8030)
            && let Some(status) = command_us(&cmd, tag::STATUS)
        {
            obs.attr("echo_status", format!("{status:#06x}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A-ASSOCIATE-AC as DCMTK sends it, built byte by byte from PS3.8 §9.3.3.
    fn dcmtk_ac() -> Vec<u8> {
        let mut body = vec![0x00, 0x01, 0x00, 0x00];
        body.extend_from_slice(b"MEDGUARD-PROBE  "); // called AE echoed back
        body.extend_from_slice(b"MEDGUARD        ");
        body.extend_from_slice(&[0; 32]);
        // Application context item 0x10
        let ctxname = b"1.2.840.10008.3.1.1.1";
        body.extend_from_slice(&[0x10, 0, 0, ctxname.len() as u8]);
        body.extend_from_slice(ctxname);
        // Presentation context item 0x21: id 1, result 0, TS sub-item 0x40
        let ts = b"1.2.840.10008.1.2\0";
        body.extend_from_slice(&[0x21, 0, 0, (4 + 4 + ts.len()) as u8, 1, 0, 0, 0]);
        body.extend_from_slice(&[0x40, 0, 0, ts.len() as u8]);
        body.extend_from_slice(ts);
        // User information 0x50: max length 0x51, class UID 0x52, version name 0x55
        let uid = b"1.2.276.0.7230010.3.0.3.6.7";
        let ver = b"OFFIS_DCMTK_367";
        let ui_len = 8 + 4 + uid.len() + 4 + ver.len();
        body.extend_from_slice(&[0x50, 0, 0, ui_len as u8]);
        body.extend_from_slice(&[0x51, 0, 0, 4, 0, 0, 0x40, 0]);
        body.extend_from_slice(&[0x52, 0, 0, uid.len() as u8]);
        body.extend_from_slice(uid);
        body.extend_from_slice(&[0x55, 0, 0, ver.len() as u8]);
        body.extend_from_slice(ver);
        let mut pdu = vec![0x02, 0];
        pdu.extend_from_slice(&(body.len() as u32).to_be_bytes());
        pdu.extend_from_slice(&body);
        pdu
    }

    #[test]
    fn parses_dcmtk_associate_ac() {
        let pdu = dcmtk_ac();
        assert_eq!(pdu_len(&pdu), Some(pdu.len()));
        let Ok(Pdu::AssociateAc(ac)) = parse_pdu(&pdu) else {
            panic!("not an AC");
        };
        assert_eq!(ac.called_ae, "MEDGUARD-PROBE");
        assert_eq!(ac.max_pdu_length, Some(16384));
        assert_eq!(
            ac.implementation_class_uid.as_deref(),
            Some("1.2.276.0.7230010.3.0.3.6.7")
        );
        assert_eq!(ac.contexts.len(), 1);
        assert_eq!(ac.contexts[0].transfer_syntaxes, vec![IMPLICIT_VR_LE]);
        let p = infer_product(
            ac.implementation_class_uid.as_deref(),
            ac.implementation_version_name.as_deref(),
        );
        assert_eq!(p, Some(("OFFIS", "DCMTK", Some("3.6.7".into()))));
    }

    #[test]
    fn parses_reject_and_abort() {
        // A-ASSOCIATE-RJ: permanent (1), service-user (1), called AE not recognized (7)
        let rj = [0x03, 0, 0, 0, 0, 4, 0, 1, 1, 7];
        let Ok(Pdu::AssociateRj(r)) = parse_pdu(&rj) else {
            panic!("not an RJ")
        };
        assert_eq!(r.describe(), "called AE title not recognized");
        let ab = [0x07, 0, 0, 0, 0, 4, 0, 0, 2, 6];
        assert_eq!(
            parse_pdu(&ab),
            Ok(Pdu::Abort {
                source: 2,
                reason: 6
            })
        );
    }

    #[test]
    fn rejects_truncated_oversized_and_garbage() {
        let ac = dcmtk_ac();
        for cut in [1, 5, 10, 70, ac.len() - 1] {
            assert!(parse_pdu(&ac[..cut]).is_err(), "cut at {cut}");
        }
        // Absurd declared length: framing refuses to wait for 4 GiB.
        let huge = [0x02, 0, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(pdu_len(&huge), None);
        assert!(declared_len(&huge).is_some_and(|n| n > MAX_PDU));
        assert!(parse_pdu(b"HTTP/1.1 400 Bad Request\r\n\r\n").is_err());
        // Sub-item length running past its item.
        let mut bad = ac.clone();
        let pos = bad.len() - 16; // low byte of the version-name sub-item length
        bad[pos] = 0xff;
        assert!(parse_pdu(&bad).is_err());
    }

    #[test]
    fn echo_command_round_trip() {
        let rq = c_echo_rq(7);
        let cmd = parse_command(&rq).expect("parse");
        assert_eq!(command_us(&cmd, tag::COMMAND_FIELD), Some(0x0030));
        assert_eq!(command_us(&cmd, tag::MESSAGE_ID), Some(7));
        // Group length counts the bytes after the group-length element (PS3.7 §E.1).
        assert_eq!(
            cmd[0],
            (tag::GROUP_LENGTH, CmdValue::Ul((rq.len() - 12) as u32))
        );
        let pd = encode_command_pdata(1, &c_echo_rsp(7, 0));
        let Ok(Pdu::PData(pdvs)) = parse_pdu(&pd) else {
            panic!("not pdata")
        };
        assert_eq!(pdvs[0].1, 0x03);
        let rsp = parse_command(&pdvs[0].2).expect("rsp");
        assert_eq!(command_us(&rsp, tag::STATUS), Some(0));
    }

    #[test]
    fn request_round_trips() {
        let Ok(Pdu::AssociateRq(rq)) = parse_pdu(&probe_request()) else {
            panic!("not an RQ")
        };
        assert_eq!(rq.called_ae, PROBE_CALLED_AE);
        assert_eq!(rq.calling_ae, PROBE_CALLING_AE);
        assert_eq!(
            rq.contexts[0].abstract_syntax.as_deref(),
            Some(VERIFICATION_SOP_CLASS)
        );
        assert_eq!(
            rq.implementation_version_name.as_deref(),
            Some(IMPLEMENTATION_VERSION)
        );
    }

    proptest! {
        #[test]
        fn parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = parse_pdu(&bytes);
            let _ = parse_command(&bytes);
            let _ = pdu_len(&bytes);
        }

        #[test]
        fn mutated_ac_never_panics(pos in 0usize..200, val in any::<u8>()) {
            let mut ac = dcmtk_ac();
            let len = ac.len();
            ac[pos % len] = val;
            let _ = parse_pdu(&ac);
        }

        #[test]
        fn associate_round_trip(called in "[A-Z0-9_-]{1,16}", calling in "[A-Z0-9_-]{1,16}",
                                uid in "[0-9]{1,8}(\\.[0-9]{1,8}){1,6}", max in any::<u32>(), ac in any::<bool>()) {
            let a = Associate {
                called_ae: called,
                calling_ae: calling,
                application_context: Some(APPLICATION_CONTEXT.into()),
                contexts: vec![PresentationContext {
                    id: 3,
                    result: 0,
                    abstract_syntax: (!ac).then(|| VERIFICATION_SOP_CLASS.to_string()),
                    transfer_syntaxes: vec![IMPLICIT_VR_LE.into()],
                }],
                max_pdu_length: Some(max),
                implementation_class_uid: Some(uid),
                implementation_version_name: Some("X_1".into()),
            };
            let back = parse_pdu(&encode_associate(&a, ac)).expect("parse");
            let back = match back { Pdu::AssociateAc(b) | Pdu::AssociateRq(b) => b, other => panic!("{other:?}") };
            prop_assert_eq!(back, a);
        }
    }
}
