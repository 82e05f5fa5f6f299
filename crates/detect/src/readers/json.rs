//! JSON input: JSON Lines (one object per line) or one top-level array of objects, read element by
//! element so a multi-gigabyte export never sits in memory. Windows event exports (EVTX-style
//! `Event.System`, PowerShell `Get-WinEvent | ConvertTo-Json`, Winlogbeat `winlog`) become Windows
//! events; any other object is flattened with dotted names.

use super::lines::LineReader;
use super::{FileReport, MAX_LINE};
use crate::error::DetectError;
use crate::event::{LogEvent, SourceKind, parse_time, put};
use crate::windows;
use serde_json::{Map, Value};
use std::io::BufRead;
use std::path::Path;

const MAX_DEPTH: usize = 16;
const MAX_FIELDS: usize = 1024;

/// Turn one JSON object into an event of the right kind.
pub fn object_to_event(v: &Value, origin: String) -> Option<LogEvent> {
    let obj = v.as_object()?;
    if obj.get("Event").is_some_and(|e| e.get("System").is_some()) || obj.contains_key("System") {
        return windows::from_event_json(v, origin);
    }
    if obj.contains_key("Id") && obj.contains_key("LogName") {
        return windows::from_powershell_json(obj, origin);
    }
    if let Some(w) = obj.get("winlog").and_then(|w| w.as_object()) {
        return Some(from_winlogbeat(obj, w, origin));
    }
    let mut map = Map::new();
    flatten(&mut map, "", v, 0);
    let mut e = LogEvent::new(SourceKind::Json, map, origin);
    e.timestamp = [
        "@timestamp",
        "timestamp",
        "time",
        "TimeCreated",
        "eventTime",
    ]
    .iter()
    .find_map(|k| e.get_str(k).and_then(|t| parse_time(&t)));
    e.host = ["host.name", "hostname", "host", "Computer"]
        .iter()
        .find_map(|k| e.get_str(k));
    Some(e)
}

fn from_winlogbeat(root: &Map<String, Value>, w: &Map<String, Value>, origin: String) -> LogEvent {
    let mut map = Map::new();
    if let Some(Value::Object(d)) = w.get("event_data") {
        for (k, v) in d {
            put(&mut map, k, v.clone());
        }
    }
    for (from, to) in [
        ("event_id", "EventID"),
        ("channel", "Channel"),
        ("computer_name", "Computer"),
        ("record_id", "EventRecordID"),
    ] {
        if let Some(v) = w.get(from) {
            put(&mut map, to, v.clone());
        }
    }
    if let Some(p) = w.get("provider_name") {
        put(&mut map, "Provider_Name", p.clone());
    }
    if let Some(t) = root.get("@timestamp") {
        put(&mut map, "TimeCreated", t.clone());
    }
    windows::finish(map, origin)
}

fn flatten(map: &mut Map<String, Value>, prefix: &str, v: &Value, depth: usize) {
    if depth > MAX_DEPTH || map.len() >= MAX_FIELDS {
        return;
    }
    match v {
        Value::Object(o) => {
            for (k, child) in o {
                let name = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(map, &name, child, depth + 1);
            }
        }
        other => {
            if !prefix.is_empty() {
                map.insert(prefix.to_string(), other.clone());
            }
        }
    }
}

/// Read JSON Lines or a top-level JSON array.
pub fn read(
    mut reader: impl BufRead,
    path: &Path,
    display: &str,
    sink: &mut dyn FnMut(LogEvent),
) -> Result<FileReport, DetectError> {
    let io = |source| DetectError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut report = FileReport::new(path, "json");
    // Peek the first significant byte to choose array or lines.
    let first = loop {
        let buf = reader.fill_buf().map_err(io)?;
        if buf.is_empty() {
            return Ok(report);
        }
        let skip = buf
            .iter()
            .take_while(|b| b.is_ascii_whitespace() || **b == 0xEF || **b == 0xBB || **b == 0xBF)
            .count();
        if skip < buf.len() {
            let b = buf[skip];
            reader.consume(skip);
            break b;
        }
        let n = buf.len();
        reader.consume(n);
    };
    let mut n = 0u64;
    let mut handle = |bytes: &[u8], report: &mut FileReport| {
        n += 1;
        match serde_json::from_slice::<Value>(bytes) {
            Ok(v) => match object_to_event(&v, format!("{display}#{n}")) {
                Some(e) => {
                    report.events += 1;
                    sink(e);
                }
                None => report.error(format!("element {n} is not a JSON object or Windows event")),
            },
            Err(e) => report.error(format!("element {n} is not valid JSON: {e}")),
        }
    };
    if first == b'[' {
        reader.consume(1);
        split_array(reader, &mut report, &mut handle).map_err(io)?;
    } else {
        let mut lines = LineReader::new(reader, MAX_LINE);
        while let Some(line) = lines.next_line().map_err(io)? {
            if line.truncated {
                report.error(format!("a line is longer than {MAX_LINE} bytes; skipped"));
                continue;
            }
            if line.bytes.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            handle(&line.bytes, &mut report);
        }
    }
    Ok(report)
}

/// Split the elements of a JSON array (the `[` already consumed) without parsing them, each capped
/// at [`MAX_LINE`] bytes.
fn split_array(
    mut reader: impl BufRead,
    report: &mut FileReport,
    handle: &mut dyn FnMut(&[u8], &mut FileReport),
) -> std::io::Result<()> {
    let mut elem: Vec<u8> = Vec::new();
    let mut depth = 0usize;
    let mut in_str = false;
    let mut esc = false;
    let mut oversized = false;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        let len = buf.len();
        for &b in buf {
            if in_str {
                if esc {
                    esc = false;
                } else if b == b'\\' {
                    esc = true;
                } else if b == b'"' {
                    in_str = false;
                }
            } else {
                match b {
                    b'"' => in_str = true,
                    b'{' | b'[' => depth += 1,
                    b'}' => depth = depth.saturating_sub(1),
                    b']' if depth == 0 => {
                        flush(&mut elem, &mut oversized, report, handle);
                        return Ok(());
                    }
                    b']' => depth -= 1,
                    b',' if depth == 0 => {
                        flush(&mut elem, &mut oversized, report, handle);
                        continue;
                    }
                    _ => {}
                }
            }
            if elem.len() < MAX_LINE {
                elem.push(b);
            } else {
                oversized = true;
            }
        }
        reader.consume(len);
    }
    if !elem.iter().all(|b| b.is_ascii_whitespace()) {
        report.error("the JSON array is not closed (truncated file?)".to_string());
        flush(&mut elem, &mut oversized, report, handle);
    }
    Ok(())
}

fn flush(
    elem: &mut Vec<u8>,
    oversized: &mut bool,
    report: &mut FileReport,
    handle: &mut dyn FnMut(&[u8], &mut FileReport),
) {
    if *oversized {
        report.error(format!(
            "an array element is longer than {MAX_LINE} bytes; skipped"
        ));
    } else if !elem.iter().all(|b| b.is_ascii_whitespace()) {
        handle(elem, report);
    }
    elem.clear();
    *oversized = false;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_str(s: &str) -> (Vec<LogEvent>, FileReport) {
        let mut out = Vec::new();
        let r = read(s.as_bytes(), Path::new("t.json"), "t", &mut |e| out.push(e)).expect("read");
        (out, r)
    }

    #[test]
    fn lines_and_arrays() {
        let (ev, r) = read_str("{\"a\":{\"b\":1}}\nnot json\n\n{\"user\":\"x\"}\n");
        assert_eq!(ev.len(), 2);
        assert_eq!(r.error_count, 1);
        assert_eq!(ev[0].get_str("a.b").as_deref(), Some("1"));
        let (ev, r) = read_str(
            " [ {\"x\": \"a,]}\"}, {\"y\": [1,2]} ,\n{\"Id\": 4625, \"LogName\": \"Security\"} ]",
        );
        assert_eq!(ev.len(), 3, "{r:?}");
        assert_eq!(ev[0].get_str("x").as_deref(), Some("a,]}"));
        assert_eq!(ev[2].kind, SourceKind::Windows);
        let (ev, r) = read_str("[{\"x\":1}, {\"y\"");
        assert_eq!(ev.len(), 1);
        assert!(r.error_count >= 1);
    }

    #[test]
    fn winlogbeat() {
        let (ev, _) = read_str(
            r#"{"@timestamp":"2024-01-01T00:00:00Z","winlog":{"event_id":4625,"channel":"Security","computer_name":"PC","event_data":{"TargetUserName":"bob"}}}"#,
        );
        assert_eq!(ev[0].get_str("EventID").as_deref(), Some("4625"));
        assert_eq!(ev[0].host.as_deref(), Some("PC"));
        assert!(ev[0].timestamp.is_some());
    }
}
