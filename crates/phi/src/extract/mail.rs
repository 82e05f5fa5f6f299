//! E-mail: `.eml` messages (headers, text and HTML bodies, attachments scanned with their own
//! formats) and `.mbox` mailboxes (split on `From ` lines, one record per message, each capped).

use super::text::{Lines, decode, decoded};
use super::{Cx, ExtractError, Unit};
use mail_parser::{MessageParser, MimeHeaders, PartType};
use medguard_model::PhiProblem;
use std::io::BufRead;

/// Header names that start a message file.
const HEADERS: &[&[u8]] = &[
    b"received:",
    b"return-path:",
    b"from:",
    b"to:",
    b"subject:",
    b"date:",
    b"message-id:",
    b"mime-version:",
    b"delivered-to:",
    b"x-",
];

/// Whether the head of a file is an RFC 5322 message.
pub fn looks_like_message(head: &[u8]) -> bool {
    let first_lines: Vec<&[u8]> = head.split(|&b| b == b'\n').take(4).collect();
    let hits = first_lines
        .iter()
        .filter(|l| {
            let lower = l.to_ascii_lowercase();
            HEADERS.iter().any(|h| lower.starts_with(h))
        })
        .count();
    hits >= 2
}

/// Scan one message.
pub fn eml(data: &[u8], record: Option<u64>, cx: &mut Cx<'_>) -> Result<(), ExtractError> {
    cx.in_email = true;
    let msg = std::panic::catch_unwind(|| MessageParser::default().parse(data))
        .map_err(|_| ExtractError::corrupt("e-mail", "the message parser crashed"))?
        .ok_or_else(|| ExtractError::corrupt("e-mail", "not a message"))?;
    // Headers: raw text up to the first blank line, so nothing the parser drops is missed.
    let end = memchr::memmem::find(data, b"\r\n\r\n")
        .or_else(|| memchr::memmem::find(data, b"\n\n"))
        .unwrap_or(data.len());
    header_units(&decode(&data[..end]), record, cx)?;
    // The text bodies, or the HTML ones when there is no text: an HTML part is read as a page,
    // its tables by their header cells (a lab's results, a list pasted from a report).
    let bodies = if msg.text_body.is_empty() {
        &msg.html_body
    } else {
        &msg.text_body
    };
    for &id in bodies.iter().take(64) {
        match msg.parts.get(id as usize).map(|p| &p.body) {
            Some(PartType::Html(h)) => super::html::html(h.as_bytes(), record, cx)?,
            Some(PartType::Text(t)) => super::text::text_str(t, None, record, cx)?,
            _ => {}
        }
    }
    for (i, part) in msg.attachments().enumerate().take(1000) {
        let name = part
            .attachment_name()
            .map(str::to_string)
            .unwrap_or_else(|| format!("attachment-{}", i + 1));
        cx.member(&name, part.contents())?;
    }
    Ok(())
}

/// Header lines (`Name: value`) as units labelled with their name, without the headers that only
/// route or sign the message.
pub(crate) fn header_units(
    head: &str,
    record: Option<u64>,
    cx: &mut Cx<'_>,
) -> Result<(), ExtractError> {
    for line in head.lines() {
        let (name, value) = line.split_once(':').unwrap_or(("", line));
        let lower = name.to_ascii_lowercase();
        if matches!(
            lower.as_str(),
            "received"
                | "dkim-signature"
                | "message-id"
                | "content-type"
                | "mime-version"
                | "content-transfer-encoding"
                | "arc-seal"
                | "arc-message-signature"
                | "arc-authentication-results"
                | "authentication-results"
                | "references"
                | "in-reply-to"
        ) {
            continue;
        }
        cx.unit(Unit {
            text: value,
            label: Some(name.trim()),
            record,
            ..Unit::default()
        })?;
    }
    Ok(())
}

/// Scan a mailbox: each message is a record.
pub fn mbox(r: &mut dyn BufRead, cx: &mut Cx<'_>) -> Result<(), ExtractError> {
    let mut r = decoded(r)?;
    let max_line = cx.limits.max_line;
    let cap = cx.limits.max_whole as usize;
    let mut lines = Lines::new(&mut r, max_line, false);
    let mut msg: Vec<u8> = Vec::new();
    let mut record = 0u64;
    let mut prev_blank = true;
    let mut truncated = false;
    while let Some((_, line)) = lines.next_line()? {
        if line.starts_with(b"From ") && prev_blank {
            if record > 0 {
                eml_or_warn(&msg, record, cx)?;
            }
            msg.clear();
            truncated = false;
            record += 1;
            prev_blank = false;
            continue;
        }
        prev_blank = line.is_empty();
        let line = if line.starts_with(b">")
            && line
                .iter()
                .skip_while(|&&b| b == b'>')
                .take(5)
                .eq(b"From ".iter())
        {
            &line[1..]
        } else {
            line
        };
        if msg.len() + line.len() < cap {
            msg.extend_from_slice(line);
            msg.push(b'\n');
        } else if !truncated {
            truncated = true;
            cx.warn(
                PhiProblem::TooLarge,
                format!("message {record}: longer than {cap} bytes, rest not scanned"),
            );
        }
    }
    if record > 0 && !msg.is_empty() {
        eml_or_warn(&msg, record, cx)?;
    }
    Ok(())
}

fn eml_or_warn(msg: &[u8], record: u64, cx: &mut Cx<'_>) -> Result<(), ExtractError> {
    match eml(msg, Some(record), cx) {
        Err(ExtractError::Corrupt { reason, .. }) => {
            cx.warn(
                PhiProblem::Unreadable,
                format!("message {record}: {reason}"),
            );
            Ok(())
        }
        other => other,
    }
}
