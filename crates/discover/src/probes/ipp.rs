//! IPP: network printers (and print servers such as CUPS) describing themselves.
//!
//! Wire format: the IPP/1.1 message encoding of RFC 8010 §3 (version, operation-id or status-code,
//! request-id, attribute groups of `value-tag, name-length, name, value-length, value`, end tag),
//! carried in an HTTP/1.1 `POST` with `Content-Type: application/ipp` (RFC 8010 §4). Operations
//! from RFC 8011 §4.2.5 (Get-Printer-Attributes) and, for CUPS servers, CUPS-Get-Default
//! (CUPS Implementation of IPP, §3.2). Both only read.
//!
//! ## What is sent
//! `POST /ipp/print` with a Get-Printer-Attributes request for `printer-uri ipp://<host>:<port>/ipp/print`
//! asking for identity attributes only. If that queue does not exist (a CUPS server names its queues
//! itself), one `POST /` with CUPS-Get-Default, which returns the default queue's attributes.
//! Nothing is printed, no job is created.
//!
//! ## Attributes
//! `ipp_status` (status-code, hex), `ipp_version`, `server` (HTTP `Server` header), `printer_uri`,
//! and the printer's own attributes with `-` written as `_`: `printer_make_and_model`,
//! `printer_firmware_string_version`, `printer_info`, `printer_location`, `printer_name`,
//! `printer_state`, `printer_uuid`, `printer_device_id`, `printer_more_info`, `printer_uri_supported`,
//! `ipp_versions_supported`, `uri_security_supported`, `uri_authentication_supported`.
//!
//! ## Findings
//! `ipp-no-auth` when the printer itself says (`uri-authentication-supported` is `none` or
//! `requesting-user-name`, RFC 8011 §5.4.2) that its print URI takes jobs without any login.

use super::http;
use crate::io;
use crate::probe::{Intrusiveness, Observation, Probe, ProbeContext, ProbeError, ProbeFuture};
use medguard_model::Transport;

/// Operation Get-Printer-Attributes (RFC 8011 §5.4.15).
pub const OP_GET_PRINTER_ATTRIBUTES: u16 = 0x000b;
/// Operation CUPS-Get-Default.
pub const OP_CUPS_GET_DEFAULT: u16 = 0x4001;
/// Delimiter tags (RFC 8010 §3.5.1).
pub const TAG_OPERATION: u8 = 0x01;
pub const TAG_END: u8 = 0x03;
pub const TAG_PRINTER: u8 = 0x04;
/// Value tags (RFC 8010 §3.5.2).
pub const TAG_INTEGER: u8 = 0x21;
pub const TAG_BOOLEAN: u8 = 0x22;
pub const TAG_ENUM: u8 = 0x23;
pub const TAG_TEXT_WITH_LANGUAGE: u8 = 0x35;
pub const TAG_NAME_WITH_LANGUAGE: u8 = 0x36;
pub const TAG_TEXT: u8 = 0x41;
pub const TAG_NAME: u8 = 0x42;
pub const TAG_KEYWORD: u8 = 0x44;
pub const TAG_URI: u8 = 0x45;
pub const TAG_CHARSET: u8 = 0x47;
pub const TAG_NATURAL_LANGUAGE: u8 = 0x48;
/// Most attributes kept from one message.
pub const MAX_ATTRIBUTES: usize = 2000;
/// Most values kept per attribute.
const MAX_VALUES: usize = 64;
/// Longest value kept in an observation attribute.
const MAX_VALUE: usize = 300;

/// The identity attributes requested.
pub const REQUESTED: &[&str] = &[
    "printer-make-and-model",
    "printer-firmware-string-version",
    "printer-info",
    "printer-location",
    "printer-name",
    "printer-state",
    "printer-uuid",
    "printer-device-id",
    "printer-more-info",
    "printer-uri-supported",
    "ipp-versions-supported",
    "uri-security-supported",
    "uri-authentication-supported",
];

/// Why bytes are not a usable IPP message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IppError {
    #[error("parse the IPP message: {0}")]
    Malformed(&'static str),
}

/// One attribute value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Integer(i32),
    Boolean(bool),
    /// text, name, keyword, uri, charset, naturalLanguage, mimeMediaType, ...: UTF-8 (lossy).
    Text(String),
    /// Anything else (octetString, dateTime, resolution, collections, ...), raw.
    Other(Vec<u8>),
    /// Out-of-band values (`unsupported`, `unknown`, `no-value`): the tag.
    OutOfBand(u8),
}

impl Value {
    /// A display form: text as is, integers in decimal, others in hex.
    pub fn display(&self) -> String {
        match self {
            Value::Integer(i) => i.to_string(),
            Value::Boolean(b) => b.to_string(),
            Value::Text(t) => t.clone(),
            Value::Other(b) => String::from_utf8(b.clone())
                .ok()
                .filter(|s| s.chars().all(|c| !c.is_control()))
                .unwrap_or_else(|| b.iter().map(|x| format!("{x:02x}")).collect()),
            Value::OutOfBand(t) => format!("out-of-band-0x{t:02x}"),
        }
    }
}

/// One attribute: name, value tag of its first value, values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub group: u8,
    pub name: String,
    pub values: Vec<Value>,
}

/// A whole IPP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub version: (u8, u8),
    /// operation-id in a request, status-code in a response.
    pub code: u16,
    pub request_id: u32,
    pub attributes: Vec<Attribute>,
}

impl Message {
    /// The first attribute called `name` (in any group).
    pub fn get(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }
}

/// One attribute to encode: value tag, name, values (a `1setOf` when more than one).
pub type EncodeAttr<'a> = (u8, &'a str, Vec<String>);
/// One attribute group to encode: delimiter tag and attributes.
pub type EncodeGroup<'a> = (u8, Vec<EncodeAttr<'a>>);

/// Encode a request (RFC 8010 §3.1.1): header, one operation-attributes group, end tag.
pub fn encode(
    version: (u8, u8),
    code: u16,
    request_id: u32,
    groups: &[EncodeGroup<'_>],
) -> Vec<u8> {
    let mut out = vec![version.0, version.1];
    out.extend_from_slice(&code.to_be_bytes());
    out.extend_from_slice(&request_id.to_be_bytes());
    for (group, attrs) in groups {
        out.push(*group);
        for (tag, name, values) in attrs {
            for (i, v) in values.iter().enumerate() {
                out.push(*tag);
                // Additional values of a 1setOf have an empty name (RFC 8010 §3.1.5).
                let n = if i == 0 { *name } else { "" };
                let n = &n.as_bytes()[..n.len().min(0xffff)];
                out.extend_from_slice(&(n.len() as u16).to_be_bytes());
                out.extend_from_slice(n);
                let v = &v.as_bytes()[..v.len().min(0xffff)];
                out.extend_from_slice(&(v.len() as u16).to_be_bytes());
                out.extend_from_slice(v);
            }
        }
    }
    out.push(TAG_END);
    out
}

/// The Get-Printer-Attributes (or CUPS-Get-Default) request body.
pub fn printer_request(operation: u16, printer_uri: Option<&str>) -> Vec<u8> {
    let mut attrs: Vec<(u8, &str, Vec<String>)> = vec![
        (TAG_CHARSET, "attributes-charset", vec!["utf-8".into()]),
        (
            TAG_NATURAL_LANGUAGE,
            "attributes-natural-language",
            vec!["en".into()],
        ),
    ];
    if let Some(uri) = printer_uri {
        attrs.push((TAG_URI, "printer-uri", vec![uri.to_string()]));
    }
    attrs.push((TAG_NAME, "requesting-user-name", vec!["medguard".into()]));
    attrs.push((
        TAG_KEYWORD,
        "requested-attributes",
        REQUESTED.iter().map(|s| s.to_string()).collect(),
    ));
    encode((1, 1), operation, 1, &[(TAG_OPERATION, attrs)])
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], IppError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or(IppError::Malformed("message ends inside a field"))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, IppError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, IppError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
}

fn decode_value(tag: u8, raw: &[u8]) -> Value {
    match tag {
        0x10..=0x1f => Value::OutOfBand(tag),
        TAG_INTEGER | TAG_ENUM if raw.len() == 4 => {
            Value::Integer(i32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]))
        }
        TAG_BOOLEAN if raw.len() == 1 => Value::Boolean(raw[0] != 0),
        TAG_TEXT_WITH_LANGUAGE | TAG_NAME_WITH_LANGUAGE => {
            // natural-language length + value, text length + value (RFC 8010 §3.9).
            let mut c = Cursor { buf: raw, pos: 0 };
            let text = c
                .u16()
                .and_then(|n| c.take(usize::from(n)))
                .and_then(|_| c.u16())
                .and_then(|n| c.take(usize::from(n)));
            match text {
                Ok(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                Err(_) => Value::Other(raw.to_vec()),
            }
        }
        0x40..=0x4f => Value::Text(String::from_utf8_lossy(raw).into_owned()),
        _ => Value::Other(raw.to_vec()),
    }
}

/// Parse an IPP message (RFC 8010 §3.1). Caps attributes and values; an extension value tag
/// (0x7f, §3.5.2) is kept as an opaque value.
pub fn parse(buf: &[u8]) -> Result<Message, IppError> {
    let mut c = Cursor { buf, pos: 0 };
    let version = (c.u8()?, c.u8()?);
    if version.0 == 0 || version.0 > 2 {
        return Err(IppError::Malformed("unknown IPP major version"));
    }
    let code = c.u16()?;
    let id = c.take(4)?;
    let request_id = u32::from_be_bytes([id[0], id[1], id[2], id[3]]);
    let mut attributes: Vec<Attribute> = Vec::new();
    let mut group: Option<u8> = None;
    loop {
        let tag = c.u8()?;
        if tag == TAG_END {
            break;
        }
        if tag <= 0x0f {
            group = Some(tag);
            continue;
        }
        let Some(g) = group else {
            return Err(IppError::Malformed("value before any attribute group"));
        };
        let name_len = usize::from(c.u16()?);
        let name = c.take(name_len)?;
        let value_len = usize::from(c.u16()?);
        let raw = c.take(value_len)?;
        let value = decode_value(tag, raw);
        if name.is_empty() {
            // An additional value of the previous attribute (or a collection member).
            match attributes.last_mut() {
                Some(a) if a.values.len() < MAX_VALUES => a.values.push(value),
                Some(_) => {}
                None => return Err(IppError::Malformed("additional value without an attribute")),
            }
        } else {
            if attributes.len() >= MAX_ATTRIBUTES {
                return Err(IppError::Malformed("too many attributes"));
            }
            attributes.push(Attribute {
                group: g,
                name: String::from_utf8_lossy(name).into_owned(),
                values: vec![value],
            });
        }
    }
    Ok(Message {
        version,
        code,
        request_id,
        attributes,
    })
}

/// The HTTP request carrying an IPP body.
pub fn build_post(host: &str, path: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {}\r\nContent-Type: application/ipp\r\n\
         Accept: application/ipp\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        http::user_agent(),
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// One IPP exchange over its own HTTP connection.
async fn exchange(
    ctx: &ProbeContext,
    path: &str,
    body: &[u8],
) -> Result<(http::Head, Message), ProbeError> {
    let host = http::host_header(ctx, 631);
    let mut stream = io::connect(ctx).await?;
    let sent = io::send(&mut stream, &build_post(&host, path, body), ctx).await;
    let reply = match sent {
        Ok(()) => http::read_message(&mut stream, ctx, "HTTP").await,
        Err(e) => Err(e),
    };
    io::close(stream).await;
    let reply = reply?;
    let resp = http::parse_response(&reply, "HTTP").map_err(|e| ProbeError::NotThisProtocol {
        protocol: "ipp",
        reason: format!("no HTTP reply to an IPP request: {e}"),
    })?;
    let is_ipp = resp
        .head
        .header("content-type")
        .is_some_and(|t| t.to_ascii_lowercase().starts_with("application/ipp"));
    if !is_ipp {
        return Err(ProbeError::NotThisProtocol {
            protocol: "ipp",
            reason: format!("HTTP {} without an application/ipp body", resp.head.status),
        });
    }
    let msg = parse(&resp.body).map_err(|e| ProbeError::Malformed {
        protocol: "ipp",
        reason: e.to_string(),
    })?;
    Ok((resp.head, msg))
}

/// Whether an IPP status code is successful (RFC 8011 §B.1: 0x0000–0x00ff).
pub fn is_success(code: u16) -> bool {
    code <= 0x00ff
}

fn first_text(msg: &Message, name: &str) -> Option<String> {
    msg.get(name)
        .and_then(|a| a.values.first())
        .filter(|v| !matches!(v, Value::OutOfBand(_)))
        .map(|v| io::printable(v.display().as_bytes(), MAX_VALUE))
        .filter(|s| !s.is_empty())
}

/// Record the printer's description into `obs`.
pub fn describe(obs: &mut Observation, head: &http::Head, msg: &Message, printer_uri: &str) {
    obs.attr("ipp_status", format!("0x{:04x}", msg.code));
    obs.attr(
        "ipp_version",
        format!("{}.{}", msg.version.0, msg.version.1),
    );
    if let Some(server) = head.header("server") {
        obs.attr("server", io::printable(server.as_bytes(), MAX_VALUE));
        let (product, version) = http::product_version(server);
        obs.product = product.map(|p| io::printable(p.as_bytes(), MAX_VALUE));
        obs.version = version.map(|v| io::printable(v.as_bytes(), MAX_VALUE));
        obs.banner = Some(io::printable(server.as_bytes(), MAX_VALUE));
    }
    obs.attr(
        "printer_uri",
        io::printable(printer_uri.as_bytes(), MAX_VALUE),
    );
    for name in REQUESTED {
        let Some(attr) = msg.get(name) else { continue };
        let values: Vec<String> = attr
            .values
            .iter()
            .filter(|v| !matches!(v, Value::OutOfBand(_)))
            .map(Value::display)
            .collect();
        if values.is_empty() {
            continue;
        }
        obs.attr(
            &name.replace('-', "_"),
            io::printable(values.join(", ").as_bytes(), MAX_VALUE),
        );
    }
    if let Some(mm) = first_text(msg, "printer-make-and-model") {
        obs.model = Some(mm.clone());
        if obs.banner.is_none() {
            obs.banner = Some(mm);
        }
    }
    obs.firmware = first_text(msg, "printer-firmware-string-version");
    if let Some(name) = first_text(msg, "printer-name") {
        obs.hostname.get_or_insert(name);
    }
    // RFC 8011 §5.4.2: `none` and `requesting-user-name` (a name the client simply asserts) both
    // mean nobody has to prove who they are.
    let open = msg.get("uri-authentication-supported").and_then(|a| {
        a.values.iter().find_map(|v| match v {
            Value::Text(t)
                if t.eq_ignore_ascii_case("none")
                    || t.eq_ignore_ascii_case("requesting-user-name") =>
            {
                Some(t.clone())
            }
            _ => None,
        })
    });
    if is_success(msg.code)
        && let Some(scheme) = open
    {
        obs.finding(
            "ipp-no-auth",
            format!(
                "{printer_uri} reports uri-authentication-supported = {}",
                io::printable(scheme.as_bytes(), 40)
            ),
        );
    }
}

fn run(ctx: ProbeContext) -> ProbeFuture {
    Box::pin(async move {
        let authority = http::host_header(&ctx, 0);
        let uri = format!("ipp://{authority}/ipp/print");
        let first = exchange(
            &ctx,
            "/ipp/print",
            &printer_request(OP_GET_PRINTER_ATTRIBUTES, Some(&uri)),
        )
        .await;
        let mut obs = Observation::new("ipp");
        obs.tls = Some(false);
        match first {
            Ok((head, msg)) if is_success(msg.code) => {
                describe(&mut obs, &head, &msg, &uri);
                return Ok(obs);
            }
            // Nobody listening, or too slow: no second request.
            Err(e @ (ProbeError::Connect { .. } | ProbeError::Timeout(_))) => return Err(e),
            _ => {}
        }
        // No `/ipp/print` queue: a CUPS server names its queues; ask for its default one.
        let cups = exchange(&ctx, "/", &printer_request(OP_CUPS_GET_DEFAULT, None)).await;
        match (first, cups) {
            (_, Ok((h, m))) if is_success(m.code) => {
                let queue = first_text(&m, "printer-uri-supported")
                    .or_else(|| {
                        first_text(&m, "printer-name")
                            .map(|n| format!("ipp://{authority}/printers/{n}"))
                    })
                    .unwrap_or_else(|| format!("ipp://{authority}/"));
                describe(&mut obs, &h, &m, &queue);
            }
            (Ok((h, m)), _) => describe(&mut obs, &h, &m, &uri),
            (Err(_), Ok((h, m))) => describe(&mut obs, &h, &m, &format!("ipp://{authority}/")),
            (Err(e), Err(_)) => return Err(e),
        }
        Ok(obs)
    })
}

/// IPP on the printer port.
pub static PROBE: Probe = Probe {
    name: "ipp",
    transport: Transport::Tcp,
    ports: &[631],
    intrusiveness: Intrusiveness::Safe,
    fallback: false,
    sends: "POST /ipp/print (HTTP/1.1, application/ipp) with one IPP Get-Printer-Attributes request \
            for identity attributes; if that queue does not exist, POST / with CUPS-Get-Default. \
            Read-only: nothing is printed and no job is created.",
    run,
};

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn request_layout_rfc8010_3_1() {
        let req = printer_request(
            OP_GET_PRINTER_ATTRIBUTES,
            Some("ipp://10.0.0.7:631/ipp/print"),
        );
        // version 1.1, operation 0x000B, request-id 1, operation-attributes-tag.
        assert_eq!(&req[..9], &[1, 1, 0, 0x0b, 0, 0, 0, 1, TAG_OPERATION]);
        // First attribute: charset "attributes-charset" = "utf-8".
        assert_eq!(req[9], TAG_CHARSET);
        assert_eq!(&req[10..12], &[0, 18]);
        assert_eq!(&req[12..30], b"attributes-charset");
        assert_eq!(req.last(), Some(&TAG_END));
        let m = parse(&req).expect("parse");
        assert_eq!(m.code, OP_GET_PRINTER_ATTRIBUTES);
        let requested = m.get("requested-attributes").expect("requested");
        assert_eq!(requested.values.len(), REQUESTED.len());
        assert_eq!(
            m.get("printer-uri").map(|a| a.values[0].display()),
            Some("ipp://10.0.0.7:631/ipp/print".to_string())
        );
    }

    #[test]
    fn response_values_rfc8010_3_9() {
        fn put(body: &mut Vec<u8>, tag: u8, name: &str, value: &[u8]) {
            body.push(tag);
            body.extend_from_slice(&(name.len() as u16).to_be_bytes());
            body.extend_from_slice(name.as_bytes());
            body.extend_from_slice(&(value.len() as u16).to_be_bytes());
            body.extend_from_slice(value);
        }
        let mut body = vec![2, 0, 0, 0, 0, 0, 0, 1, TAG_OPERATION];
        put(&mut body, TAG_CHARSET, "attributes-charset", b"utf-8");
        body.push(TAG_PRINTER);
        put(
            &mut body,
            TAG_TEXT,
            "printer-make-and-model",
            b"HP LaserJet M404",
        );
        put(&mut body, TAG_ENUM, "printer-state", &3i32.to_be_bytes());
        // textWithLanguage: "en" + "Front desk".
        put(
            &mut body,
            TAG_TEXT_WITH_LANGUAGE,
            "printer-location",
            b"\x00\x02en\x00\x0aFront desk",
        );
        put(&mut body, 0x13, "printer-firmware-string-version", b""); // no-value
        put(
            &mut body,
            TAG_KEYWORD,
            "uri-authentication-supported",
            b"none",
        );
        body.push(TAG_END);
        let m = parse(&body).expect("parse");
        assert_eq!(m.version, (2, 0));
        assert_eq!(m.code, 0);
        assert_eq!(
            m.get("printer-state").map(|a| a.values[0].clone()),
            Some(Value::Integer(3))
        );
        assert_eq!(
            m.get("printer-location").map(|a| a.values[0].display()),
            Some("Front desk".to_string())
        );
        assert_eq!(
            m.get("printer-make-and-model").map(|a| a.group),
            Some(TAG_PRINTER)
        );
        let head = http::parse_head(
            b"HTTP/1.1 200 OK\r\nServer: CUPS/2.4 IPP/2.1\r\n\r\n",
            "HTTP",
        )
        .expect("head");
        let mut obs = Observation::new("ipp");
        describe(&mut obs, &head, &m, "ipp://x/ipp/print");
        assert_eq!(obs.model.as_deref(), Some("HP LaserJet M404"));
        assert_eq!(obs.firmware, None);
        assert_eq!(obs.product.as_deref(), Some("CUPS"));
        assert_eq!(
            obs.attributes.get("printer_state").map(String::as_str),
            Some("3")
        );
        assert_eq!(
            obs.findings.iter().map(|f| f.id).collect::<Vec<_>>(),
            vec!["ipp-no-auth"]
        );

        // Truncated anywhere: an error, never a panic.
        for cut in 0..body.len() - 1 {
            assert!(parse(&body[..cut]).is_err(), "cut at {cut}");
        }
        // Absurd value length: error.
        assert!(parse(&[1, 1, 0, 0, 0, 0, 0, 1, 1, 0x41, 0, 1, b'a', 0xff, 0xff, 0]).is_err());
        // Value before any group: error.
        assert!(parse(&[1, 1, 0, 0, 0, 0, 0, 1, 0x41, 0, 0, 0, 0, 3]).is_err());
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn encode_parse_round_trip(
            code in any::<u16>(),
            id in any::<u32>(),
            attrs in proptest::collection::vec(
                ("[a-z][a-z-]{0,30}", proptest::collection::vec("[ -~]{0,40}", 1..4)),
                0..10,
            ),
        ) {
            let list: Vec<(u8, &str, Vec<String>)> =
                attrs.iter().map(|(n, v)| (TAG_TEXT, n.as_str(), v.clone())).collect();
            let wire = encode((2, 0), code, id, &[(TAG_PRINTER, list)]);
            let m = parse(&wire).expect("parse");
            prop_assert_eq!(m.code, code);
            prop_assert_eq!(m.request_id, id);
            prop_assert_eq!(m.attributes.len(), attrs.len());
            for (a, (n, v)) in m.attributes.iter().zip(&attrs) {
                prop_assert_eq!(&a.name, n);
                let got: Vec<String> = a.values.iter().map(Value::display).collect();
                prop_assert_eq!(&got, v);
            }
        }
    }
}
