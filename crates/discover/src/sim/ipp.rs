//! A network printer's IPP service (RFC 8011 server side over HTTP, RFC 8010 encoding): answers
//! Get-Printer-Attributes for `/ipp/print` with the persona's identity, and refuses everything else.

use crate::probes::http::head_end;
use crate::probes::ipp::{
    OP_GET_PRINTER_ATTRIBUTES, REQUESTED, TAG_CHARSET, TAG_KEYWORD, TAG_NAME, TAG_NATURAL_LANGUAGE,
    TAG_OPERATION, TAG_PRINTER, TAG_TEXT, TAG_URI, Value, encode, parse,
};
use crate::sim::http::encode_response;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Identity of a simulated printer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IppPersona {
    /// HTTP `Server` header.
    pub server: String,
    pub make_and_model: String,
    pub firmware: String,
    pub info: String,
    pub location: String,
    pub name: String,
    /// `uri-authentication-supported`: `none` (anyone may print) or e.g. `requesting-user-name`,
    /// `basic`.
    pub authentication: String,
}

impl IppPersona {
    /// The front-desk laser printer.
    pub fn front_desk() -> Self {
        IppPersona {
            server: "HP HTTP Server; HP LaserJet M404".into(),
            make_and_model: "HP LaserJet Pro M404dn".into(),
            firmware: "002.2049A".into(),
            info: "Front desk printer".into(),
            location: "Reception".into(),
            name: "frontdesk".into(),
            authentication: "none".into(),
        }
    }
}

/// Status codes (RFC 8011 §B.1).
const STATUS_OK: u16 = 0x0000;
const STATUS_BAD_REQUEST: u16 = 0x0400;
const STATUS_NOT_FOUND: u16 = 0x0406;
const STATUS_OPERATION_NOT_SUPPORTED: u16 = 0x0501;

/// The IPP response body for a request body posted to `path`.
pub fn respond(persona: &IppPersona, path: &str, request: &[u8], authority: &str) -> Vec<u8> {
    let operation_group = |_: ()| {
        (
            TAG_OPERATION,
            vec![
                (TAG_CHARSET, "attributes-charset", vec!["utf-8".to_string()]),
                (
                    TAG_NATURAL_LANGUAGE,
                    "attributes-natural-language",
                    vec!["en".to_string()],
                ),
            ],
        )
    };
    let Ok(req) = parse(request) else {
        return encode((1, 1), STATUS_BAD_REQUEST, 0, &[operation_group(())]);
    };
    if req.code != OP_GET_PRINTER_ATTRIBUTES {
        return encode(
            req.version,
            STATUS_OPERATION_NOT_SUPPORTED,
            req.request_id,
            &[operation_group(())],
        );
    }
    if path != "/ipp/print" {
        return encode(
            req.version,
            STATUS_NOT_FOUND,
            req.request_id,
            &[operation_group(())],
        );
    }
    let wanted: Vec<String> = req
        .get("requested-attributes")
        .map(|a| a.values.iter().map(Value::display).collect())
        .unwrap_or_else(|| REQUESTED.iter().map(|s| s.to_string()).collect());
    let all = wanted.iter().any(|w| w == "all");
    let uri = format!("ipp://{authority}/ipp/print");
    let candidates: Vec<(u8, &str, String)> = vec![
        (
            TAG_TEXT,
            "printer-make-and-model",
            persona.make_and_model.clone(),
        ),
        (
            TAG_TEXT,
            "printer-firmware-string-version",
            persona.firmware.clone(),
        ),
        (TAG_TEXT, "printer-info", persona.info.clone()),
        (TAG_TEXT, "printer-location", persona.location.clone()),
        (TAG_NAME, "printer-name", persona.name.clone()),
        (TAG_URI, "printer-uri-supported", uri),
        (TAG_KEYWORD, "ipp-versions-supported", "1.1".to_string()),
        (TAG_KEYWORD, "uri-security-supported", "none".to_string()),
        (
            TAG_KEYWORD,
            "uri-authentication-supported",
            persona.authentication.clone(),
        ),
    ];
    let printer: Vec<(u8, &str, Vec<String>)> = candidates
        .into_iter()
        .filter(|(_, n, _)| all || wanted.iter().any(|w| w == n))
        .map(|(t, n, v)| (t, n, vec![v]))
        .collect();
    encode(
        req.version,
        STATUS_OK,
        req.request_id,
        &[operation_group(()), (TAG_PRINTER, printer)],
    )
}

/// The `Content-Length` of a request head (0 if absent or invalid).
fn content_length(head: &[u8]) -> usize {
    String::from_utf8_lossy(head)
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Serve the persona on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, persona: IppPersona) {
    while let Ok((mut stream, _)) = listener.accept().await {
        let persona = persona.clone();
        let authority = stream
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let complete = |b: &[u8]| -> Option<(usize, usize)> {
                let end = head_end(b)?;
                let len = content_length(b.get(..end)?);
                (b.len() >= end.checked_add(len)?).then_some((end, len))
            };
            let (end, len) = loop {
                if let Some(done) = complete(&buf) {
                    break done;
                }
                let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk));
                match read.await {
                    Ok(Ok(n)) if n > 0 && buf.len() + n <= 64 * 1024 => {
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    _ => return,
                }
            };
            let line = buf.split(|&b| b == b'\n').next().unwrap_or_default();
            let mut parts = line.split(|&b| b == b' ');
            let method = parts.next().unwrap_or_default();
            let path = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
            let reply = if method == b"POST" {
                let body = respond(&persona, &path, &buf[end..end + len], &authority);
                encode_response(
                    200,
                    "OK",
                    &[
                        ("Server", &persona.server),
                        ("Content-Type", "application/ipp"),
                        ("Connection", "close"),
                    ],
                    &body,
                    false,
                )
            } else {
                encode_response(
                    405,
                    "Method Not Allowed",
                    &[("Server", &persona.server), ("Connection", "close")],
                    b"",
                    false,
                )
            };
            let _ = stream.write_all(&reply).await;
            let _ = stream.shutdown().await;
        });
    }
}
