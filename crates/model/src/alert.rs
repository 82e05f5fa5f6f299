//! Alerts: a detection rule fired on the practice's logs.

use crate::Severity;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One event that made a rule fire (evidence; patient identifiers masked).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertEvent {
    pub timestamp: Option<DateTime<Utc>>,
    /// Where it was read: `file#record`, `file:line` or `udp://peer`.
    pub origin: String,
    /// A one-line summary of the interesting fields.
    pub summary: String,
}

/// A rule hit, with what it means and what to do, folded with its duplicates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// The Sigma rule id (or title when the rule has none).
    pub rule_id: String,
    pub title: String,
    pub level: Severity,
    pub tags: Vec<String>,
    /// MITRE ATT&CK technique ids from the rule's tags (`T1110`, `T1490`, ...).
    pub attack: Vec<String>,
    /// HIPAA Security Rule sections the detection supports (`164.312(b)`, ...).
    pub hipaa: Vec<String>,
    /// What this means for the practice, in plain language.
    pub explanation: String,
    /// What to do first.
    pub first_steps: Vec<String>,
    /// The computer concerned, when known.
    pub host: Option<String>,
    /// First matching event's time (the alert's time).
    pub timestamp: Option<DateTime<Utc>>,
    /// Last folded event's time.
    pub last_seen: Option<DateTime<Utc>>,
    /// How many hits were folded into this alert.
    pub count: u64,
    /// For correlation rules: the group (e.g. `user=bob`) and the aggregate that crossed the threshold.
    pub correlation: Option<String>,
    /// A sample of the matched events (the timeline has all).
    pub events: Vec<AlertEvent>,
}
