//! Syslog, RFC 3164 and RFC 5424, parsed leniently with `syslog_loose` (real printers, NAS boxes and
//! firewalls do not follow the RFCs). `key=value` pairs in the message (firewall style) become fields.

use super::FileReport;
use super::lines::LineReader;
use crate::error::DetectError;
use crate::event::{LogEvent, SourceKind};
use serde_json::{Map, Value};
use std::io::BufRead;
use std::path::Path;
use syslog_loose::{ProcId, Variant};

/// Longest syslog message accepted (RFC 5425 asks receivers for at least 8 KiB; ATNA audit
/// messages need 32 KiB). Longer messages are cut to this size.
pub const MAX_MESSAGE: usize = 64 * 1024;
/// Most `key=value` pairs lifted out of one message.
const MAX_KV: usize = 64;

/// Parse one syslog message (without its framing) into an event.
pub fn parse_message(raw: &str, origin: String) -> LogEvent {
    let raw = raw.trim_end_matches(['\r', '\n', '\0']);
    let m = syslog_loose::parse_message(raw, Variant::Either);
    let mut map = Map::new();
    if let Some(f) = m.facility {
        map.insert("facility".into(), Value::String(f.as_str().into()));
    }
    if let Some(s) = m.severity {
        map.insert("severity".into(), Value::String(s.as_str().into()));
    }
    if let Some(h) = m.hostname {
        map.insert("hostname".into(), Value::String(h.into()));
    }
    if let Some(a) = m.appname {
        map.insert("appname".into(), Value::String(a.into()));
    }
    match m.procid {
        Some(ProcId::PID(p)) => {
            map.insert("pid".into(), Value::from(p));
        }
        Some(ProcId::Name(n)) => {
            map.insert("pid".into(), Value::String(n.into()));
        }
        None => {}
    }
    if let Some(id) = m.msgid {
        map.insert("msgid".into(), Value::String(id.into()));
    }
    for sd in &m.structured_data {
        for (k, v) in &sd.params {
            if map.len() >= MAX_KV * 2 {
                break;
            }
            map.insert(format!("{}.{}", sd.id, k), Value::String((*v).to_string()));
        }
    }
    for (k, v) in kv_pairs(m.msg).take(MAX_KV) {
        map.entry(k.to_string())
            .or_insert_with(|| Value::String(v.to_string()));
    }
    map.insert("message".into(), Value::String(m.msg.to_string()));
    let host = map
        .get("hostname")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let mut e = LogEvent::new(SourceKind::Syslog, map, origin);
    e.timestamp = m.timestamp.map(|t| t.with_timezone(&chrono::Utc));
    e.host = host;
    e
}

/// `key=value` and `key="quoted value"` pairs, keys made of `[A-Za-z0-9_.-]`.
fn kv_pairs(msg: &str) -> impl Iterator<Item = (&str, &str)> {
    let mut rest = msg;
    std::iter::from_fn(move || {
        loop {
            let eq = rest.find('=')?;
            let key_start = rest[..eq]
                .char_indices()
                .rev()
                .find(|(_, c)| !(c.is_ascii_alphanumeric() || "_.-".contains(*c)))
                .map(|(i, c)| i + c.len_utf8())
                .unwrap_or(0);
            let key = &rest[key_start..eq];
            let after = &rest[eq + 1..];
            let (val, next) = if let Some(q) = after.strip_prefix('"') {
                match q.find('"') {
                    Some(end) => (&q[..end], &q[end + 1..]),
                    None => (q, ""),
                }
            } else {
                let end = after.find(char::is_whitespace).unwrap_or(after.len());
                (&after[..end], &after[end..])
            };
            rest = next;
            if !key.is_empty() && key.len() <= 64 {
                return Some((key, val));
            }
        }
    })
}

/// Read a file of newline-separated syslog messages.
pub fn read_lines(
    reader: impl BufRead,
    path: &Path,
    display: &str,
    sink: &mut dyn FnMut(LogEvent),
) -> Result<FileReport, DetectError> {
    let mut report = FileReport::new(path, "syslog");
    let mut lines = LineReader::new(reader, MAX_MESSAGE);
    let mut n = 0u64;
    while let Some(line) = lines.next_line().map_err(|source| DetectError::Io {
        path: path.to_path_buf(),
        source,
    })? {
        n += 1;
        if line.truncated {
            report.error(format!(
                "line {n} is longer than {MAX_MESSAGE} bytes; the rest was skipped"
            ));
        }
        let text = String::from_utf8_lossy(&line.bytes);
        if text.trim().is_empty() {
            continue;
        }
        report.events += 1;
        sink(parse_message(&text, format!("{display}:{n}")));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc5424_with_structured_data() {
        let e = parse_message(
            r#"<165>1 2024-03-01T22:14:15.003Z nas01 smbd 4242 ID47 [exampleSDID@32473 iut="3" eventSource="Application"] user=bob action=delete file="/phi/a b.pdf""#,
            "t".into(),
        );
        assert_eq!(e.host.as_deref(), Some("nas01"));
        assert_eq!(e.get_str("appname").as_deref(), Some("smbd"));
        assert_eq!(e.get_str("facility").as_deref(), Some("local4"));
        assert_eq!(e.get_str("exampleSDID@32473.iut").as_deref(), Some("3"));
        assert_eq!(e.get_str("user").as_deref(), Some("bob"));
        assert_eq!(e.get_str("file").as_deref(), Some("/phi/a b.pdf"));
        assert!(e.timestamp.is_some());
    }

    #[test]
    fn multibyte_before_equals() {
        // Found by proptest: a multi-byte character right before `=` must not split a char.
        let e = parse_message("é=1 ü\u{2603}x=2", "t".into());
        assert_eq!(e.get_str("x").as_deref(), Some("2"));
    }

    #[test]
    fn rfc3164_and_garbage() {
        let e = parse_message(
            "<34>Oct 11 22:14:15 fw01 sshd[123]: Failed password for root from 10.0.0.5",
            "t".into(),
        );
        assert_eq!(e.host.as_deref(), Some("fw01"));
        assert_eq!(e.get_str("appname").as_deref(), Some("sshd"));
        assert!(
            e.get_str("message")
                .is_some_and(|m| m.contains("Failed password"))
        );
        // Not syslog at all: still an event with the text as message.
        let e = parse_message("\u{0}\u{7f} hello", "t".into());
        assert!(e.get_str("message").is_some());
    }
}
