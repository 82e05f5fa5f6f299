//! From rule hits to alerts a practice can act on: plain-language explanation and first steps,
//! ATT&CK techniques and HIPAA sections (`data/mappings/alert-guidance.toml`), allow-lists as data,
//! duplicates within a window folded into one alert with a count, patient identifiers masked.

use crate::engine::{Hit, RuleInfo};
use crate::error::DetectError;
use crate::event::LogEvent;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use medguard_model::{Alert, AlertEvent, Severity};
use serde::Deserialize;
use sha2::Sha256;
use std::collections::{BTreeMap, HashMap};

/// The guidance table shipped in the binary.
pub const BUILTIN_GUIDANCE: &str = include_str!("../../../data/mappings/alert-guidance.toml");
/// Sample events kept per alert (the timeline keeps all).
pub const MAX_ALERT_EVENTS: usize = 10;
/// Fields whose values identify a patient and are masked in evidence.
pub const SENSITIVE_FIELDS: &[&str] = &[
    "patient_id",
    "patient_name",
    "PatientID",
    "PatientName",
    "mrn",
    "MRN",
];

#[derive(Debug, Clone, Deserialize)]
struct TagRule {
    prefix: String,
    hipaa: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Tactic {
    tag: String,
    explanation: String,
    first_steps: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Fallback {
    explanation: String,
    first_steps: Vec<String>,
}

/// Plain words and HIPAA sections for alerts of rules that carry none of their own.
#[derive(Debug, Clone, Deserialize)]
pub struct Guidance {
    default_hipaa: Vec<String>,
    #[serde(default)]
    tag: Vec<TagRule>,
    #[serde(default)]
    tactic: Vec<Tactic>,
    fallback: Fallback,
}

impl Guidance {
    /// Parse a guidance table.
    pub fn parse(name: &str, text: &str) -> Result<Self, DetectError> {
        toml::from_str(text).map_err(|e| DetectError::Mapping {
            name: name.to_string(),
            reason: e.to_string(),
        })
    }

    /// The shipped table.
    pub fn builtin() -> Result<Self, DetectError> {
        Self::parse("alert-guidance.toml", BUILTIN_GUIDANCE)
    }

    fn hipaa(&self, info: Option<&RuleInfo>, tags: &[String]) -> Vec<String> {
        if let Some(i) = info.filter(|i| !i.hipaa.is_empty()) {
            return i.hipaa.clone();
        }
        let mut out: Vec<String> = Vec::new();
        for t in tags {
            let t = t.to_ascii_lowercase();
            for r in self.tag.iter().filter(|r| t.starts_with(&r.prefix)) {
                for h in &r.hipaa {
                    if !out.contains(h) {
                        out.push(h.clone());
                    }
                }
            }
        }
        for h in &self.default_hipaa {
            if !out.contains(h) {
                out.push(h.clone());
            }
        }
        out
    }

    fn words(&self, info: Option<&RuleInfo>, tags: &[String]) -> (String, Vec<String>) {
        let tactic = self
            .tactic
            .iter()
            .find(|t| tags.iter().any(|g| g.eq_ignore_ascii_case(&t.tag)));
        let (base, steps) = match tactic {
            Some(t) => (t.explanation.clone(), t.first_steps.clone()),
            None => (
                self.fallback.explanation.clone(),
                self.fallback.first_steps.clone(),
            ),
        };
        match info {
            Some(i) => {
                let explanation = match (&i.explanation, &i.description) {
                    (Some(e), _) => e.clone(),
                    (None, Some(d)) => format!("{base} Rule: {}", d.trim()),
                    (None, None) => base,
                };
                let steps = if i.first_steps.is_empty() {
                    steps
                } else {
                    i.first_steps.clone()
                };
                (explanation, steps)
            }
            None => (base, steps),
        }
    }
}

/// ATT&CK technique ids (`T1110`, `T1070.001`) from Sigma tags.
pub fn attack_techniques(tags: &[String]) -> Vec<String> {
    tags.iter()
        .filter_map(|t| t.strip_prefix("attack."))
        .filter(|t| {
            let b = t.as_bytes();
            b.len() >= 5 && (b[0] == b't' || b[0] == b'T') && b[1..5].iter().all(u8::is_ascii_digit)
        })
        .map(|t| t.to_ascii_uppercase())
        .collect()
}

/// Masks patient identifiers in evidence and adds a keyed hash, so the same patient can be
/// recognised across alerts without storing who it is.
#[derive(Clone)]
pub struct Masker {
    key: [u8; 32],
}

impl std::fmt::Debug for Masker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Masker { key: <redacted> }")
    }
}

impl Masker {
    pub fn new(key: [u8; 32]) -> Self {
        Masker { key }
    }

    /// A masker with a fresh random key (hashes then only match within one run).
    pub fn random() -> Self {
        Masker {
            key: rand::random(),
        }
    }

    /// Load the key at `path` (64 hex digits), creating it (random, mode 0600) on first use.
    pub fn load_or_create(path: &std::path::Path) -> Result<Self, DetectError> {
        let err = |reason: String| DetectError::Mapping {
            name: path.display().to_string(),
            reason,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let bytes = hex::decode(text.trim()).map_err(|e| err(e.to_string()))?;
                let key: [u8; 32] = bytes
                    .try_into()
                    .map_err(|_| err("the key must be 64 hex digits".into()))?;
                Ok(Masker { key })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                use std::io::Write;
                let key: [u8; 32] = rand::random();
                let mut o = std::fs::OpenOptions::new();
                o.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    o.mode(0o600);
                }
                let mut f = o.open(path).map_err(|e| err(e.to_string()))?;
                writeln!(f, "{}", hex::encode(key)).map_err(|e| err(e.to_string()))?;
                Ok(Masker { key })
            }
            Err(e) => Err(err(e.to_string())),
        }
    }

    /// `***89#1a2b3c4d`: the last two characters and 8 hex digits of HMAC-SHA256(key, value).
    pub fn mask(&self, value: &str) -> String {
        let tail: String = {
            let chars: Vec<char> = value.trim().chars().collect();
            let n = chars.len();
            if n > 4 {
                chars[n - 2..].iter().collect()
            } else {
                String::new()
            }
        };
        let hash = match Hmac::<Sha256>::new_from_slice(&self.key) {
            Ok(mut mac) => {
                mac.update(value.trim().as_bytes());
                hex::encode(&mac.finalize().into_bytes()[..4])
            }
            Err(_) => String::new(),
        };
        format!("***{tail}#{hash}")
    }

    /// The event's summary with sensitive values masked.
    pub fn summary(&self, event: &LogEvent) -> String {
        let mut s = event.summary();
        for f in SENSITIVE_FIELDS {
            if let Some(v) = event.get_str(f).filter(|v| !v.is_empty()) {
                let needle = format!("{f}={v}");
                s = s.replace(&needle, &format!("{f}={}", self.mask(&v)));
            }
        }
        s
    }

    /// A group key with sensitive values masked.
    fn group(&self, group: &[(String, String)]) -> String {
        group
            .iter()
            .map(|(k, v)| {
                if SENSITIVE_FIELDS.contains(&k.as_str()) {
                    format!("{k}={}", self.mask(v))
                } else {
                    format!("{k}={v}")
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// One allow-list entry: alerts of `rule` (id or title, `*` for any) on `host` (any when absent)
/// whose event has all of `fields` (case-insensitive equality) are not raised.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Allow {
    pub rule: String,
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// Why this is allowed (shown by `rules check`).
    #[serde(default)]
    pub reason: Option<String>,
}

/// Allow-lists as data (TOML, `[[allow]]` entries).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AllowList {
    #[serde(default)]
    pub allow: Vec<Allow>,
}

impl AllowList {
    pub fn parse(name: &str, text: &str) -> Result<Self, DetectError> {
        toml::from_str(text).map_err(|e| DetectError::AllowList {
            name: name.to_string(),
            reason: e.to_string(),
        })
    }

    /// Whether `hit` on `event` is allowed (not to be raised).
    pub fn allows(&self, hit: &Hit, event: &LogEvent) -> bool {
        self.allow.iter().any(|a| {
            (a.rule == "*" || a.rule == hit.rule_key || a.rule.eq_ignore_ascii_case(&hit.title))
                && a.host.as_ref().is_none_or(|h| {
                    event
                        .host
                        .as_ref()
                        .is_some_and(|eh| eh.eq_ignore_ascii_case(h))
                })
                && a.fields.iter().all(|(k, v)| {
                    event
                        .get_str(k)
                        .is_some_and(|ev| ev.eq_ignore_ascii_case(v))
                })
        })
    }
}

fn severity(level: Option<&str>) -> Severity {
    level.and_then(|l| l.parse().ok()).unwrap_or(Severity::Info)
}

/// What [`Folder::add`] did with a hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fold {
    /// A new alert (index into [`Folder::alerts`]).
    New(usize),
    /// Folded into an existing alert.
    Folded(usize),
    /// Allow-listed; not raised.
    Allowed,
}

/// Builds alerts from hits, folding duplicates (same rule, host and group) within `window`.
#[derive(Debug)]
pub struct Folder {
    guidance: Guidance,
    allow: AllowList,
    masker: Masker,
    window_secs: i64,
    open: HashMap<(String, String, String), usize>,
    alerts: Vec<Alert>,
    /// Hits suppressed by the allow-list.
    pub allowed: u64,
}

impl Folder {
    pub fn new(guidance: Guidance, allow: AllowList, masker: Masker, window_secs: i64) -> Self {
        Folder {
            guidance,
            allow,
            masker,
            window_secs,
            open: HashMap::new(),
            alerts: Vec::new(),
            allowed: 0,
        }
    }

    /// Add one hit caused by `event`.
    pub fn add(&mut self, hit: &Hit, info: Option<&RuleInfo>, event: &LogEvent) -> Fold {
        if self.allow.allows(hit, event) {
            self.allowed += 1;
            return Fold::Allowed;
        }
        let group = hit
            .correlation
            .as_ref()
            .map(|c| self.masker.group(&c.group))
            .unwrap_or_default();
        let key = (
            hit.rule_key.clone(),
            event.host.clone().unwrap_or_default(),
            group.clone(),
        );
        let sample = |e: &LogEvent| AlertEvent {
            timestamp: e.timestamp,
            origin: e.origin.clone(),
            summary: self.masker.summary(e),
        };
        // A correlation's evidence is the events that added up to it, not only the last one.
        let samples: Vec<AlertEvent> = match hit.correlation.as_ref() {
            Some(c) if !c.events.is_empty() => c.events.iter().map(sample).collect(),
            _ => vec![sample(event)],
        };
        if let Some(&idx) = self.open.get(&key)
            && let Some(a) = self.alerts.get_mut(idx)
        {
            let last = a.last_seen.map(|t| t.timestamp()).unwrap_or(0);
            if (event.epoch_secs() - last).abs() <= self.window_secs {
                a.count += 1;
                if event.timestamp > a.last_seen {
                    a.last_seen = event.timestamp;
                }
                let room = MAX_ALERT_EVENTS.saturating_sub(a.events.len());
                a.events.extend(samples.into_iter().take(room));
                return Fold::Folded(idx);
            }
        }
        let (explanation, first_steps) = self.guidance.words(info, &hit.tags);
        let correlation = hit.correlation.as_ref().map(|c| {
            format!(
                "{} {} reached {} within {} s",
                c.kind,
                if group.is_empty() {
                    "(all events)"
                } else {
                    group.as_str()
                },
                c.value,
                c.timespan_secs
            )
        });
        let alert = Alert {
            rule_id: hit.rule_key.clone(),
            title: hit.title.clone(),
            level: severity(hit.level.as_deref()),
            tags: hit.tags.clone(),
            attack: attack_techniques(&hit.tags),
            hipaa: self.guidance.hipaa(info, &hit.tags),
            explanation,
            first_steps,
            host: event.host.clone(),
            timestamp: event.timestamp,
            last_seen: event.timestamp,
            count: 1,
            correlation,
            events: samples.into_iter().take(MAX_ALERT_EVENTS).collect(),
        };
        self.alerts.push(alert);
        let idx = self.alerts.len() - 1;
        self.open.insert(key, idx);
        Fold::New(idx)
    }

    pub fn alerts(&self) -> &[Alert] {
        &self.alerts
    }

    /// The alerts, most urgent first, then by time.
    pub fn into_alerts(self) -> Vec<Alert> {
        let mut a = self.alerts;
        a.sort_by(|x, y| y.level.cmp(&x.level).then(x.timestamp.cmp(&y.timestamp)));
        a
    }
}

/// A matched event for the timeline.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TimelineRow {
    pub timestamp: Option<DateTime<Utc>>,
    pub host: Option<String>,
    pub rule_id: String,
    pub title: String,
    pub level: Severity,
    pub origin: String,
    pub summary: String,
}

impl TimelineRow {
    pub fn new(hit: &Hit, event: &LogEvent, masker: &Masker) -> Self {
        TimelineRow {
            timestamp: event.timestamp,
            host: event.host.clone(),
            rule_id: hit.rule_key.clone(),
            title: hit.title.clone(),
            level: severity(hit.level.as_deref()),
            origin: event.origin.clone(),
            summary: masker.summary(event),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::SourceKind;
    use serde_json::{Map, Value};

    fn ev(host: &str, secs: i64, fields: &[(&str, &str)]) -> LogEvent {
        let mut m = Map::new();
        for (k, v) in fields {
            m.insert((*k).into(), Value::String((*v).into()));
        }
        let mut e = LogEvent::new(SourceKind::Windows, m, format!("t#{secs}"));
        e.host = Some(host.into());
        e.timestamp = DateTime::from_timestamp(secs, 0);
        e
    }

    fn hit(tags: &[&str]) -> Hit {
        Hit {
            rule_key: "r1".into(),
            title: "Rule one".into(),
            level: Some("high".into()),
            tags: tags.iter().map(|s| s.to_string()).collect(),
            correlation: None,
        }
    }

    #[test]
    fn guidance_parses_and_maps_tags() {
        let g = Guidance::builtin().expect("guidance");
        let h = g.hipaa(None, &["attack.credential_access".into()]);
        assert!(h.contains(&"164.312(d)".to_string()));
        assert!(h.contains(&"164.308(a)(1)(ii)(D)".to_string()));
        let (e, steps) = g.words(None, &["attack.impact".into()]);
        assert!(e.contains("ransomware"));
        assert!(!steps.is_empty());
        assert_eq!(
            attack_techniques(&["attack.t1070.001".into(), "attack.impact".into()]),
            vec!["T1070.001"]
        );
    }

    #[test]
    fn folds_within_window_and_allows() {
        let allow = AllowList::parse(
            "a",
            "[[allow]]\nrule = \"r1\"\nhost = \"ITPC\"\nfields = { ServiceName = \"TeamViewer\" }\n",
        )
        .expect("allow");
        let mut f = Folder::new(
            Guidance::builtin().expect("g"),
            allow,
            Masker::new([7; 32]),
            3600,
        );
        let h = hit(&["attack.t1219"]);
        assert_eq!(f.add(&h, None, &ev("PC1", 1000, &[])), Fold::New(0));
        assert_eq!(f.add(&h, None, &ev("PC1", 2000, &[])), Fold::Folded(0));
        assert_eq!(f.add(&h, None, &ev("PC2", 2000, &[])), Fold::New(1));
        assert_eq!(f.add(&h, None, &ev("PC1", 9000, &[])), Fold::New(2));
        assert_eq!(
            f.add(
                &h,
                None,
                &ev("ITPC", 9000, &[("ServiceName", "teamviewer")])
            ),
            Fold::Allowed
        );
        assert_eq!(
            f.add(&h, None, &ev("ITPC", 9000, &[("ServiceName", "AnyDesk")])),
            Fold::New(3)
        );
        assert_eq!(f.alerts()[0].count, 2);
        assert_eq!(f.allowed, 1);
    }

    #[test]
    fn masks_patient_ids() {
        let m = Masker::new([1; 32]);
        let e = ev("PC", 1, &[("patient_id", "MRN-0012345"), ("user", "bob")]);
        let s = m.summary(&e);
        assert!(!s.contains("0012345"), "{s}");
        assert!(s.contains("patient_id=***45#"));
        assert_eq!(m.mask("x1"), m.mask("x1"));
        assert_ne!(m.mask("x1"), Masker::new([2; 32]).mask("x1"));
    }
}
