//! Windows events: flattening the EVTX/XML/JSON event structure into the field names Sigma rules use,
//! plus the field aliases in `data/mappings/windows-fields.toml` (e.g. Security 4688's
//! `NewProcessName` also answers to Sysmon's `Image`).

use crate::event::{LogEvent, SourceKind, parse_time, put};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The built-in field alias table.
pub const BUILTIN_FIELD_MAP: &str = include_str!("../../../data/mappings/windows-fields.toml");

/// Deepest nesting flattened; anything deeper is dropped (hostile input).
const MAX_DEPTH: usize = 8;
/// Most fields taken from one event.
const MAX_FIELDS: usize = 512;

#[derive(Debug, Deserialize)]
struct AliasFile {
    #[serde(default)]
    alias: Vec<Alias>,
}

/// One alias rule: for events of `channel` with one of `event_ids`, copy `from` to `to`.
#[derive(Debug, Deserialize)]
struct Alias {
    channel: String,
    #[serde(default)]
    event_ids: Vec<i64>,
    fields: BTreeMap<String, String>,
}

fn aliases() -> &'static [Alias] {
    static TABLE: OnceLock<Vec<Alias>> = OnceLock::new();
    TABLE.get_or_init(|| {
        // The table is our own data, checked by a test; a broken edit disables aliases, not the run.
        toml::from_str::<AliasFile>(BUILTIN_FIELD_MAP)
            .map(|f| f.alias)
            .unwrap_or_default()
    })
}

/// Text of a scalar or `{"#text": ...}` node.
fn text(v: &Value) -> Option<Value> {
    match v {
        Value::Object(o) => o.get("#text").and_then(text),
        Value::Array(_) => Some(v.clone()),
        other => Some(other.clone()),
    }
}

/// Flatten nested data under `v` into leaf names (the innermost key wins), skipping XML attributes.
fn flatten_leaves(map: &mut Map<String, Value>, name: &str, v: &Value, depth: usize) {
    if depth > MAX_DEPTH || map.len() >= MAX_FIELDS {
        return;
    }
    match v {
        Value::Object(o) => {
            if let Some(t) = o.get("#text") {
                if let Some(t) = text(t) {
                    put(map, name, t);
                }
                return;
            }
            for (k, child) in o {
                if k == "#attributes" {
                    continue;
                }
                flatten_leaves(map, k, child, depth + 1);
            }
        }
        Value::Array(items) => {
            let scalars: Vec<Value> = items
                .iter()
                .filter_map(|i| match i {
                    Value::Object(_) => None,
                    other => Some(other.clone()),
                })
                .collect();
            if !scalars.is_empty() {
                put(map, name, Value::Array(scalars));
            }
            for i in items.iter().filter(|i| i.is_object()) {
                flatten_leaves(map, name, i, depth + 1);
            }
        }
        other => put(map, name, other.clone()),
    }
}

/// Normalise an `{"Event": {"System": ..., "EventData": ...}}` document (EVTX JSON rendering, or
/// our XML reader's output) into a [`LogEvent`].
pub fn from_event_json(doc: &Value, origin: String) -> Option<LogEvent> {
    let ev = doc.get("Event").unwrap_or(doc);
    let system = ev.get("System")?.as_object()?;
    let mut map = Map::new();
    for (k, v) in system {
        match v {
            Value::Object(o) => {
                if let Some(t) = o.get("#text").and_then(text) {
                    put(&mut map, k, t);
                }
                if let Some(Value::Object(attrs)) = o.get("#attributes") {
                    for (a, av) in attrs {
                        put(&mut map, &format!("{k}_{a}"), av.clone());
                    }
                }
            }
            other => put(&mut map, k, other.clone()),
        }
    }
    for section in ["EventData", "UserData"] {
        if let Some(d) = ev.get(section) {
            match d {
                Value::Object(_) | Value::Array(_) => flatten_leaves(&mut map, section, d, 0),
                Value::Null => {}
                other => put(&mut map, section, other.clone()),
            }
        }
    }
    // Bare `Data` fields without names come through as `Data`; keep them searchable by keywords.
    Some(finish(map, origin))
}

/// Apply aliases, pick host and time, build the event.
pub(crate) fn finish(mut map: Map<String, Value>, origin: String) -> LogEvent {
    let channel = map
        .get("Channel")
        .and_then(|c| c.as_str())
        .map(str::to_string);
    let event_id = map.get("EventID").and_then(|v| v.as_i64());
    if let (Some(channel), Some(id)) = (channel, event_id) {
        for a in aliases() {
            if a.channel.eq_ignore_ascii_case(&channel)
                && (a.event_ids.is_empty() || a.event_ids.contains(&id))
            {
                for (from, to) in &a.fields {
                    if !map.contains_key(to)
                        && let Some(v) = map.get(from).cloned()
                    {
                        map.insert(to.clone(), v);
                    }
                }
            }
        }
    }
    let timestamp = map
        .get("TimeCreated_SystemTime")
        .or_else(|| map.get("TimeCreated"))
        .and_then(|v| v.as_str())
        .and_then(parse_time);
    let host = map
        .get("Computer")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let mut e = LogEvent::new(SourceKind::Windows, map, origin);
    e.timestamp = timestamp;
    e.host = host;
    e
}

/// Normalise a PowerShell `Get-WinEvent | ConvertTo-Json` object (Id, LogName, ProviderName,
/// MachineName, TimeCreated, Properties) into a [`LogEvent`].
pub fn from_powershell_json(obj: &Map<String, Value>, origin: String) -> Option<LogEvent> {
    let id = obj.get("Id")?.as_i64()?;
    let mut map = Map::new();
    put(&mut map, "EventID", Value::from(id));
    for (from, to) in [
        ("LogName", "Channel"),
        ("ProviderName", "Provider_Name"),
        ("MachineName", "Computer"),
        ("RecordId", "EventRecordID"),
        ("Message", "Message"),
    ] {
        if let Some(v) = obj.get(from).and_then(text) {
            put(&mut map, to, v);
        }
    }
    if let Some(t) = obj.get("TimeCreated").and_then(|v| v.as_str()) {
        put(&mut map, "TimeCreated", Value::String(t.to_string()));
    }
    if let Some(Value::Array(props)) = obj.get("Properties") {
        let vals: Vec<Value> = props
            .iter()
            .filter_map(|p| p.get("Value").cloned().or_else(|| Some(p.clone())))
            .filter(|v| !v.is_object())
            .take(MAX_FIELDS)
            .collect();
        put(&mut map, "Data", Value::Array(vals));
    }
    Some(finish(map, origin))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn alias_table_parses() {
        let f: AliasFile = toml::from_str(BUILTIN_FIELD_MAP).expect("alias table");
        assert!(!f.alias.is_empty());
    }

    #[test]
    fn flattens_system_eventdata_userdata() {
        let doc = json!({"Event": {
            "System": {
                "Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing"}},
                "EventID": {"#attributes": {"Qualifiers": 0}, "#text": 4688},
                "TimeCreated": {"#attributes": {"SystemTime": "2024-03-01T02:03:04Z"}},
                "Channel": "Security",
                "Computer": "FRONTDESK1"
            },
            "EventData": {"NewProcessName": "C:\\Windows\\System32\\vssadmin.exe", "CommandLine": "vssadmin delete shadows /all"},
            "UserData": {"LogFileCleared": {"#attributes": {"xmlns": "x"}, "SubjectUserName": "bob"}}
        }});
        let e = from_event_json(&doc, "t".into()).expect("event");
        assert_eq!(e.get_str("EventID").as_deref(), Some("4688"));
        assert_eq!(
            e.get_str("Provider_Name").as_deref(),
            Some("Microsoft-Windows-Security-Auditing")
        );
        assert_eq!(e.get_str("SubjectUserName").as_deref(), Some("bob"));
        // alias from data/mappings/windows-fields.toml
        assert_eq!(
            e.get_str("Image").as_deref(),
            Some("C:\\Windows\\System32\\vssadmin.exe")
        );
        assert_eq!(e.host.as_deref(), Some("FRONTDESK1"));
        assert!(e.timestamp.is_some());
    }

    #[test]
    fn powershell_export() {
        let o = json!({"Id": 1102, "LogName": "Security", "MachineName": "PC1",
            "TimeCreated": "/Date(1700000000000)/", "Properties": [{"Value": "bob"}]});
        let e = from_powershell_json(o.as_object().expect("obj"), "t".into()).expect("event");
        assert_eq!(e.get_str("Channel").as_deref(), Some("Security"));
        assert_eq!(e.epoch_secs(), 1_700_000_000);
    }
}
