//! Outlook messages saved as `.msg` ([MS-OXMSG]): a compound file (read with the `cfb` crate)
//! whose properties are streams named `__substg1.0_IIIITTTT` (property id, type: `001F` UTF-16,
//! `001E` 8-bit, `0102` binary). Read: subject, sender, display To/Cc/Bcc, the transport headers,
//! the plain body (else the HTML body as text), each recipient (`__recip_version1.0_#n`: name,
//! address, SMTP address) and each attachment (`__attach_version1.0_#n`: its file, scanned with
//! its own format, or an attached message, read the same way to a bounded depth).

use super::{Cx, ExtractError, Unit};
use std::io::{Read, Seek};

type Ole<'d> = cfb::CompoundFile<std::io::Cursor<&'d [u8]>>;

/// Largest property stream read.
const MAX_STREAM: u64 = 64 << 20;
/// Recipients and attachments read per message.
const MAX_PARTS: usize = 1000;

fn corrupt(reason: impl std::fmt::Display) -> ExtractError {
    ExtractError::corrupt("msg", reason)
}

/// Whether a compound file is an Outlook item (message properties at its root).
pub fn is_msg(data: &[u8]) -> bool {
    std::panic::catch_unwind(|| {
        cfb::CompoundFile::open(std::io::Cursor::new(data)).is_ok_and(|c| {
            c.is_stream("/__properties_version1.0")
                && c.read_root_storage()
                    .any(|e| e.name().starts_with("__substg1.0_"))
        })
    })
    .unwrap_or(false)
}

fn stream<F: Read + Seek>(ole: &mut cfb::CompoundFile<F>, path: &str) -> Option<Vec<u8>> {
    let mut s = ole.open_stream(path).ok()?;
    super::read_capped(&mut s, MAX_STREAM, "msg").ok()
}

/// A string property of the object at `dir`: UTF-16 (`001F`), else 8-bit (`001E`, UTF-8 when it
/// is valid, else Windows-1252).
fn string<F: Read + Seek>(ole: &mut cfb::CompoundFile<F>, dir: &str, id: u16) -> Option<String> {
    if let Some(b) = stream(ole, &format!("{dir}/__substg1.0_{id:04X}001F")) {
        let units = b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]));
        let s: String = char::decode_utf16(units)
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect();
        return Some(s.trim_end_matches('\0').to_string());
    }
    let b = stream(ole, &format!("{dir}/__substg1.0_{id:04X}001E"))?;
    let s = match String::from_utf8(b) {
        Ok(s) => s,
        Err(e) => encoding_rs::WINDOWS_1252
            .decode(e.as_bytes())
            .0
            .into_owned(),
    };
    Some(s.trim_end_matches('\0').to_string())
}

/// Properties shown as one labelled unit each.
const FIELDS: &[(u16, &str)] = &[
    (0x0037, "Subject"),
    (0x0C1A, "From"),
    (0x0C1F, "From"),
    (0x5D01, "From"),
    (0x0042, "From"),
    (0x0065, "From"),
    (0x0E04, "To"),
    (0x0E03, "Cc"),
    (0x0E02, "Bcc"),
];

/// Recipient properties: display name, address, SMTP address.
const RECIPIENT: &[u16] = &[0x3001, 0x3003, 0x39FE];

/// The children of a storage whose names start with `prefix`, in name order.
fn children<F: Read + Seek>(ole: &cfb::CompoundFile<F>, dir: &str, prefix: &str) -> Vec<String> {
    let Ok(entries) = ole.read_storage(if dir.is_empty() { "/" } else { dir }) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter(|e| e.is_storage() && e.name().starts_with(prefix))
        .map(|e| e.name().to_string())
        .take(MAX_PARTS)
        .collect();
    names.sort();
    names
}

/// Scan the message stored at `dir` (`""` for the file's own, else an attached message).
fn message(
    ole: &mut Ole<'_>,
    dir: &str,
    depth: usize,
    cx: &mut Cx<'_>,
) -> Result<(), ExtractError> {
    // The sender is often written twice (sender and "sent representing"): each text once.
    let mut seen: Vec<String> = Vec::new();
    for &(id, label) in FIELDS {
        if let Some(v) = string(ole, dir, id) {
            if seen.contains(&v) {
                continue;
            }
            for line in v.lines() {
                cx.unit(Unit {
                    text: line,
                    label: Some(label),
                    ..Unit::default()
                })?;
            }
            seen.push(v);
        }
    }
    // PR_TRANSPORT_MESSAGE_HEADERS: the message's Internet headers, as in an .eml.
    if let Some(h) = string(ole, dir, 0x007D) {
        super::mail::header_units(&h, None, cx)?;
    }
    match string(ole, dir, 0x1000) {
        Some(body) => super::text::text_str(&body, None, None, cx)?,
        None => {
            let html = string(ole, dir, 0x1013).or_else(|| {
                stream(ole, &format!("{dir}/__substg1.0_10130102"))
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
            });
            if let Some(h) = html {
                let text = mail_parser::decoders::html::html_to_text(&h);
                super::text::text_str(&text, None, None, cx)?;
            }
        }
    }
    for r in children(ole, dir, "__recip_version1.0_#") {
        let rdir = format!("{dir}/{r}");
        for &id in RECIPIENT {
            if let Some(v) = string(ole, &rdir, id) {
                cx.unit(Unit {
                    text: &v,
                    label: Some("Recipient"),
                    ..Unit::default()
                })?;
            }
        }
    }
    for (i, a) in children(ole, dir, "__attach_version1.0_#")
        .into_iter()
        .enumerate()
    {
        cx.check_deadline()?;
        let adir = format!("{dir}/{a}");
        let inner = format!("{adir}/__substg1.0_3701000D");
        if ole.is_storage(&inner) {
            if depth >= cx.limits.max_depth {
                cx.warnings.push(format!(
                    "attached message {}: not opened: nested deeper than {} levels",
                    i + 1,
                    cx.limits.max_depth
                ));
            } else {
                message(ole, &inner, depth + 1, cx)?;
            }
            continue;
        }
        let name = string(ole, &adir, 0x3707)
            .or_else(|| string(ole, &adir, 0x3704))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| format!("attachment-{}", i + 1));
        if let Some(data) = stream(ole, &format!("{adir}/__substg1.0_37010102")) {
            cx.member(&name, &data)?;
        }
    }
    Ok(())
}

/// Scan an Outlook `.msg` message with its attachments.
pub fn msg(data: &[u8], cx: &mut Cx<'_>) -> Result<(), ExtractError> {
    cx.in_email = true;
    let mut ole = std::panic::catch_unwind(|| cfb::CompoundFile::open(std::io::Cursor::new(data)))
        .map_err(|_| corrupt("the compound file reader crashed"))?
        .map_err(|e| corrupt(format!("not a compound file: {e}")))?;
    // The cfb reader checks bounds itself; a crash in it stays a per-file error.
    let mut run = || message(&mut ole, "", 0, cx);
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(&mut run))
        .map_err(|_| corrupt("the compound file reader crashed"))?
}
