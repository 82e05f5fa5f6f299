//! The one event shape every reader produces and the engine evaluates.
//!
//! Whatever the input (EVTX record, Windows XML/JSON export, syslog line, JSON line, EHR audit row),
//! a reader turns it into a flat [`LogEvent`]: field names as Sigma rules use them (`EventID`,
//! `Channel`, `Image`, `CommandLine`, `user`, `patient_id`, ...) mapped to JSON scalars, plus where it
//! came from, the host it is about and when it happened.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::fmt;

/// The kind of input an event came from. Rules are routed by it (see `data/mappings/logsources.yml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    /// A Windows event (binary EVTX, XML or JSON export).
    Windows,
    /// A syslog message (RFC 3164 or RFC 5424, leniently).
    Syslog,
    /// An EHR / practice-management audit row, already mapped to our columns.
    EhrAudit,
    /// Any other JSON object (JSON Lines input).
    Json,
}

impl SourceKind {
    /// Every kind, in [`SourceKind::index`] order.
    pub const ALL: [SourceKind; 4] = [
        SourceKind::Windows,
        SourceKind::Syslog,
        SourceKind::EhrAudit,
        SourceKind::Json,
    ];

    /// Position in [`SourceKind::ALL`].
    pub fn index(self) -> usize {
        match self {
            SourceKind::Windows => 0,
            SourceKind::Syslog => 1,
            SourceKind::EhrAudit => 2,
            SourceKind::Json => 3,
        }
    }

    /// The value of the synthetic `medguard_source` field rules are routed on.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Windows => "windows",
            SourceKind::Syslog => "syslog",
            SourceKind::EhrAudit => "ehr",
            SourceKind::Json => "json",
        }
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The synthetic field carrying [`SourceKind`], used by the logsource routing pipeline.
pub const SOURCE_FIELD: &str = "medguard_source";

/// One normalised log event.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEvent {
    /// Flat object of field name to JSON scalar (or array of scalars).
    pub fields: Value,
    /// When it happened, if the input said so.
    pub timestamp: Option<DateTime<Utc>>,
    /// The computer the event is about (`Computer`, syslog hostname, EHR workstation).
    pub host: Option<String>,
    /// Where it was read: `path#record` or `udp://peer`.
    pub origin: String,
    pub kind: SourceKind,
}

impl LogEvent {
    /// A new event of `kind` from a flat field map; sets the routing field.
    pub fn new(kind: SourceKind, mut fields: Map<String, Value>, origin: String) -> Self {
        fields.insert(SOURCE_FIELD.into(), Value::String(kind.as_str().into()));
        LogEvent {
            fields: Value::Object(fields),
            timestamp: None,
            host: None,
            origin,
            kind,
        }
    }

    /// A field's value as text (numbers rendered), if present.
    pub fn get_str(&self, name: &str) -> Option<String> {
        match self.fields.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    /// The event's fields as a map.
    pub fn map(&self) -> Option<&Map<String, Value>> {
        self.fields.as_object()
    }

    /// Seconds since the epoch for correlation windows (0 when the event has no time).
    pub fn epoch_secs(&self) -> i64 {
        self.timestamp.map(|t| t.timestamp()).unwrap_or(0)
    }

    /// A short one-line summary of the interesting fields for timelines and alerts.
    pub fn summary(&self) -> String {
        const KEYS: &[&str] = &[
            "EventID",
            "Channel",
            "CommandLine",
            "Image",
            "TargetUserName",
            "SubjectUserName",
            "ServiceName",
            "ImagePath",
            "ObjectName",
            "ShareName",
            "IpAddress",
            "user",
            "action",
            "patient_id",
            "workstation",
            "appname",
            "message",
        ];
        let mut out = String::new();
        for k in KEYS {
            if let Some(v) = self.get_str(k) {
                if !out.is_empty() {
                    out.push(' ');
                }
                let v: String = v.chars().take(200).collect();
                out.push_str(k);
                out.push('=');
                out.push_str(&v);
            }
        }
        out
    }
}

/// Insert a scalar field, converting numeric-looking strings in `EventID`-style fields to numbers.
pub(crate) fn put(map: &mut Map<String, Value>, key: &str, value: Value) {
    if key.is_empty() {
        return;
    }
    let value = match value {
        Value::String(s) if key == "EventID" => match s.trim().parse::<i64>() {
            Ok(n) => Value::from(n),
            Err(_) => Value::String(s),
        },
        v => v,
    };
    // Windows renders some EventData names with spaces ("Source Name"); Sigma rules use them
    // without ("SourceName"), as Hayabusa and Chainsaw do. Keep both.
    if key.contains(' ') {
        let compact: String = key.chars().filter(|c| *c != ' ').collect();
        map.entry(compact).or_insert_with(|| value.clone());
    }
    map.insert(key.to_string(), value);
}

/// Parse the timestamp forms found in logs: RFC 3339 and a few common variants.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
        "%m/%d/%Y %H:%M:%S",
        "%m/%d/%Y %I:%M:%S %p",
        "%m/%d/%Y %H:%M",
        "%d.%m.%Y %H:%M:%S",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
    }
    // PowerShell ConvertTo-Json dates: "/Date(1700000000000)/"
    if let Some(ms) = s
        .strip_prefix("/Date(")
        .and_then(|r| r.strip_suffix(")/"))
        .and_then(|r| r.split(['+', '-']).next())
        .and_then(|r| r.parse::<i64>().ok())
    {
        return DateTime::from_timestamp_millis(ms);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse() {
        assert!(parse_time("2024-01-02T03:04:05.123Z").is_some());
        assert!(parse_time("2024-01-02 03:04:05").is_some());
        assert!(parse_time("01/02/2024 03:04:05").is_some());
        assert_eq!(
            parse_time("/Date(1700000000000)/").map(|t| t.timestamp()),
            Some(1_700_000_000)
        );
        assert!(parse_time("yesterday").is_none());
    }

    #[test]
    fn event_id_becomes_number() {
        let mut m = Map::new();
        put(&mut m, "EventID", Value::String("4625".into()));
        assert_eq!(m.get("EventID"), Some(&Value::from(4625)));
        let e = LogEvent::new(SourceKind::Windows, m, "x".into());
        assert_eq!(e.get_str(SOURCE_FIELD).as_deref(), Some("windows"));
        assert!(e.summary().contains("EventID=4625"));
    }
}
