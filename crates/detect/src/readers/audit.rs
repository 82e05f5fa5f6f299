//! EHR / practice-management audit exports (CSV or JSON Lines), read through a small column map per
//! vendor (`data/mappings/ehr/*.toml`, or `--audit-map FILE`). Every row becomes an event with our
//! taxonomy fields `user`, `patient_id`, `action`, `timestamp`, `workstation` (rules use
//! `logsource: product: ehr`), plus the row's other columns under their own names.

use super::lines::LineReader;
use super::{FileReport, MAX_LINE};
use crate::error::DetectError;
use crate::event::{LogEvent, SourceKind, parse_time};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;

/// The column maps shipped with medguard: (file name, contents).
pub const BUILTIN_MAPS: &[(&str, &str)] = &[(
    "generic.toml",
    include_str!("../../../../data/mappings/ehr/generic.toml"),
)];

/// Our audit taxonomy: the fields every mapped row carries.
pub const TAXONOMY: [&str; 5] = ["user", "patient_id", "action", "timestamp", "workstation"];

/// How one vendor's export names our fields.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AuditMap {
    /// Short name, e.g. `generic`.
    pub vendor: String,
    #[serde(default)]
    pub description: String,
    /// Our field name (one of [`TAXONOMY`]) to the vendor's column name.
    pub columns: BTreeMap<String, String>,
    /// A chrono format for the timestamp column when it is not RFC 3339 or a common form.
    #[serde(default)]
    pub timestamp_format: Option<String>,
    /// CSV delimiter (default `,`).
    #[serde(default)]
    pub delimiter: Option<char>,
}

impl AuditMap {
    /// Parse and check a column map.
    pub fn parse(name: &str, text: &str) -> Result<Self, DetectError> {
        let m: AuditMap = toml::from_str(text).map_err(|e| DetectError::AuditMap {
            name: name.to_string(),
            reason: e.to_string(),
        })?;
        for k in m.columns.keys() {
            if !TAXONOMY.contains(&k.as_str()) {
                return Err(DetectError::AuditMap {
                    name: name.to_string(),
                    reason: format!(
                        "unknown field {k:?} (expected one of {})",
                        TAXONOMY.join(", ")
                    ),
                });
            }
        }
        for required in ["user", "timestamp"] {
            if !m.columns.contains_key(required) {
                return Err(DetectError::AuditMap {
                    name: name.to_string(),
                    reason: format!("the {required:?} column is required"),
                });
            }
        }
        Ok(m)
    }

    /// The shipped maps.
    pub fn builtins() -> Result<Vec<AuditMap>, DetectError> {
        BUILTIN_MAPS
            .iter()
            .map(|(n, t)| AuditMap::parse(n, t))
            .collect()
    }

    fn matches(&self, names: &[String]) -> bool {
        self.columns
            .values()
            .all(|c| names.iter().any(|n| n.trim().eq_ignore_ascii_case(c)))
    }

    /// Turn one row (column name to value) into an event.
    pub fn row_to_event(&self, row: Vec<(String, Value)>, origin: String) -> LogEvent {
        let mut map = Map::new();
        for (col, v) in row {
            let col = col.trim().to_string();
            if let Some((ours, _)) = self
                .columns
                .iter()
                .find(|(_, theirs)| theirs.eq_ignore_ascii_case(&col))
            {
                map.insert(ours.clone(), v.clone());
            }
            map.entry(col).or_insert(v);
        }
        let ts_text = map
            .get("timestamp")
            .and_then(|v| v.as_str())
            .map(str::to_string);
        let timestamp = ts_text.and_then(|t| match &self.timestamp_format {
            Some(f) => chrono::NaiveDateTime::parse_from_str(t.trim(), f)
                .ok()
                .map(|d| d.and_utc())
                .or_else(|| parse_time(&t)),
            None => parse_time(&t),
        });
        if let Some(t) = timestamp {
            use chrono::{Datelike, Timelike};
            map.insert("hour".into(), Value::from(t.hour()));
            map.insert("weekday".into(), Value::String(t.weekday().to_string()));
        }
        let host = map
            .get("workstation")
            .and_then(|v| v.as_str())
            .map(str::to_string);
        let mut e = LogEvent::new(SourceKind::EhrAudit, map, origin);
        e.timestamp = timestamp;
        e.host = host;
        e
    }
}

/// The map whose columns all appear in a CSV header line.
pub fn match_csv_header<'a>(line: &str, maps: &'a [AuditMap]) -> Option<&'a AuditMap> {
    maps.iter().find(|m| {
        let delim = m.delimiter.unwrap_or(',') as u8;
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .delimiter(delim)
            .from_reader(line.as_bytes());
        r.records().next().and_then(|r| r.ok()).is_some_and(|rec| {
            let names: Vec<String> = rec.iter().map(str::to_string).collect();
            names.len() >= 2 && m.matches(&names)
        })
    })
}

/// The map whose columns all appear as keys of the first JSON object of a file.
pub fn match_json_head<'a>(head: &str, maps: &'a [AuditMap]) -> Option<&'a AuditMap> {
    let first = head.trim_start().trim_start_matches('[').lines().next()?;
    let first = first.trim().trim_end_matches(',');
    let v: Value = serde_json::from_str(first).ok()?;
    let names: Vec<String> = v.as_object()?.keys().cloned().collect();
    maps.iter().find(|m| m.matches(&names))
}

/// Read an audit export (CSV with a header row, or JSON Lines) with `map`.
pub fn read(
    mut reader: impl BufRead,
    path: &Path,
    display: &str,
    map: &AuditMap,
    sink: &mut dyn FnMut(LogEvent),
) -> Result<FileReport, DetectError> {
    let io = |source| DetectError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut report = FileReport::new(path, &format!("ehr-audit:{}", map.vendor));
    let first = reader.fill_buf().map_err(io)?;
    let is_json = first
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{' || *b == b'[');
    if is_json {
        let mut lines = LineReader::new(reader, MAX_LINE);
        let mut n = 0u64;
        while let Some(line) = lines.next_line().map_err(io)? {
            n += 1;
            let text = String::from_utf8_lossy(&line.bytes);
            let text = text
                .trim()
                .trim_start_matches('[')
                .trim_end_matches([',', ']']);
            if text.is_empty() {
                continue;
            }
            match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(o)) => {
                    report.events += 1;
                    sink(map.row_to_event(o.into_iter().collect(), format!("{display}:{n}")));
                }
                _ => report.error(format!("line {n} is not a JSON object")),
            }
        }
        return Ok(report);
    }
    let mut csv = csv::ReaderBuilder::new()
        .delimiter(map.delimiter.unwrap_or(',') as u8)
        .flexible(true)
        .from_reader(reader);
    let headers: Vec<String> = csv
        .byte_headers()
        .map_err(|e| DetectError::Csv {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?
        .iter()
        .map(|h| {
            String::from_utf8_lossy(h)
                .trim_start_matches('\u{feff}')
                .to_string()
        })
        .collect();
    let mut rec = csv::ByteRecord::new();
    let mut n = 1u64;
    loop {
        n += 1;
        match csv.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {
                if rec.as_slice().len() > MAX_LINE {
                    report.error(format!("row {n} is longer than {MAX_LINE} bytes; skipped"));
                    continue;
                }
                let row: Vec<(String, Value)> = headers
                    .iter()
                    .zip(rec.iter())
                    .map(|(h, v)| {
                        (
                            h.clone(),
                            Value::String(String::from_utf8_lossy(v).into_owned()),
                        )
                    })
                    .collect();
                report.events += 1;
                sink(map.row_to_event(row, format!("{display}:{n}")));
            }
            Err(e) => {
                report.error(format!("row {n}: {e}"));
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_parse_and_csv_reads() {
        let maps = AuditMap::builtins().expect("builtin maps");
        let m = &maps[0];
        let header = m.columns.values().cloned().collect::<Vec<_>>().join(",");
        assert!(match_csv_header(&header, &maps).is_some());
        assert!(match_csv_header("a,b,c", &maps).is_none());
        let mut csv = format!("{header},Extra\n");
        let vals: Vec<String> = m
            .columns
            .keys()
            .map(|k| match k.as_str() {
                "timestamp" => "2024-02-03 23:10:00".to_string(),
                other => format!("{other}-1"),
            })
            .collect();
        csv.push_str(&format!("{},x\n\"broken\n", vals.join(",")));
        let mut out = Vec::new();
        let r = read(csv.as_bytes(), Path::new("a.csv"), "a", m, &mut |e| {
            out.push(e)
        })
        .expect("read");
        assert_eq!(r.events, out.len() as u64);
        assert_eq!(out[0].get_str("user").as_deref(), Some("user-1"));
        assert_eq!(out[0].get_str("Extra").as_deref(), Some("x"));
        assert_eq!(out[0].kind, SourceKind::EhrAudit);
        assert!(out[0].timestamp.is_some());
    }

    #[test]
    fn rejects_bad_maps() {
        assert!(AuditMap::parse("x", "vendor='x'\n[columns]\nuser='U'\n").is_err());
        assert!(
            AuditMap::parse(
                "x",
                "vendor='x'\n[columns]\nuser='U'\ntimestamp='T'\nshoe='S'\n"
            )
            .is_err()
        );
    }
}
