//! Risk analysis vocabulary: control states, evidence, answers, the risk register, the remediation
//! plan and the immutable assessment snapshot that reports are drawn from.
//!
//! A snapshot is self-contained (it copies the control titles and framework mappings it was judged
//! against), so a report rendered years later reads the same even after the catalog changes.

use crate::Severity;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The five-level qualitative scale of NIST SP 800-30 Rev. 1 (Appendix G, H and I).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    VeryLow,
    Low,
    Moderate,
    High,
    VeryHigh,
}

impl Level {
    /// Every level, lowest first.
    pub const ALL: [Level; 5] = [
        Level::VeryLow,
        Level::Low,
        Level::Moderate,
        Level::High,
        Level::VeryHigh,
    ];

    /// The level for a score 1..=5 (values outside are clamped).
    pub fn from_score(score: i32) -> Level {
        match score {
            i32::MIN..=1 => Level::VeryLow,
            2 => Level::Low,
            3 => Level::Moderate,
            4 => Level::High,
            _ => Level::VeryHigh,
        }
    }

    /// 1 (very low) to 5 (very high).
    pub fn score(self) -> i32 {
        match self {
            Level::VeryLow => 1,
            Level::Low => 2,
            Level::Moderate => 3,
            Level::High => 4,
            Level::VeryHigh => 5,
        }
    }

    /// Stable identifier used in JSON and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::VeryLow => "very-low",
            Level::Low => "low",
            Level::Moderate => "moderate",
            Level::High => "high",
            Level::VeryHigh => "very-high",
        }
    }

    /// Words for people.
    pub fn plain(self) -> &'static str {
        match self {
            Level::VeryLow => "Very low",
            Level::Low => "Low",
            Level::Moderate => "Moderate",
            Level::High => "High",
            Level::VeryHigh => "Very high",
        }
    }

    /// The HHS SRA Tool's familiar four-step scale: very low and low read as Low, very high as
    /// Critical.
    pub fn severity(self) -> Severity {
        match self {
            Level::VeryLow | Level::Low => Severity::Low,
            Level::Moderate => Severity::Medium,
            Level::High => Severity::High,
            Level::VeryHigh => Severity::Critical,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How far a safeguard is in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ControlState {
    /// Not in place.
    NotImplemented,
    /// Nobody could say ("don't know"): treated as a gap, with a note.
    Unknown,
    /// Partly in place.
    Partial,
    /// An equivalent alternative measure is documented (addressable specifications).
    Alternative,
    /// In place.
    Implemented,
    /// Does not apply to this practice (for example no imaging devices).
    NotApplicable,
}

impl ControlState {
    /// Stable identifier.
    pub fn as_str(self) -> &'static str {
        match self {
            ControlState::NotImplemented => "not-implemented",
            ControlState::Unknown => "unknown",
            ControlState::Partial => "partial",
            ControlState::Alternative => "alternative",
            ControlState::Implemented => "implemented",
            ControlState::NotApplicable => "not-applicable",
        }
    }

    /// Words for people.
    pub fn plain(self) -> &'static str {
        match self {
            ControlState::NotImplemented => "Not in place",
            ControlState::Unknown => "Unknown (treated as a gap)",
            ControlState::Partial => "Partly in place",
            ControlState::Alternative => "Alternative measure",
            ControlState::Implemented => "In place",
            ControlState::NotApplicable => "Does not apply",
        }
    }

    /// How much this state reduces risk, in halves: 2 in place, 1 partly, 0 otherwise.
    pub fn credit(self) -> u32 {
        match self {
            ControlState::Implemented | ControlState::Alternative => 2,
            ControlState::Partial => 1,
            ControlState::NotImplemented | ControlState::Unknown | ControlState::NotApplicable => 0,
        }
    }

    /// Whether the state leaves a gap to close.
    pub fn is_gap(self) -> bool {
        matches!(
            self,
            ControlState::NotImplemented | ControlState::Unknown | ControlState::Partial
        )
    }
}

impl fmt::Display for ControlState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a piece of evidence came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EvidenceSource {
    /// Network discovery: inventory, services, findings, scan records.
    Inventory,
    /// Patient-data scans.
    Phi,
    /// Vulnerability matches, including CISA Known Exploited Vulnerabilities.
    Intel,
    /// Detection alerts from logs.
    Alerts,
    /// A questionnaire answer (self-attested, lower confidence).
    Attestation,
}

impl EvidenceSource {
    /// Stable identifier.
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceSource::Inventory => "inventory",
            EvidenceSource::Phi => "phi",
            EvidenceSource::Intel => "intel",
            EvidenceSource::Alerts => "alerts",
            EvidenceSource::Attestation => "attestation",
        }
    }
}

/// How a rule or an answer judged a control.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlEvidence {
    /// Where it came from.
    pub source: EvidenceSource,
    /// What was seen, in plain words (never unmasked patient data).
    pub summary: String,
    /// When it was observed.
    pub observed_at: DateTime<Utc>,
    /// Until when it may decide the control without asking.
    pub valid_until: DateTime<Utc>,
    /// 0.0 to 1.0.
    pub confidence: f32,
    /// The state this evidence points to.
    pub state: ControlState,
    /// The rule (for automated evidence) or question id (for attestations) that produced it.
    pub rule: String,
    /// Whether it was still fresh at assessment time.
    pub fresh: bool,
}

/// One control as judged in an assessment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlResult {
    /// Catalog id such as `C07`.
    pub id: String,
    pub title: String,
    /// What the safeguard is, in plain words.
    pub plain: String,
    /// How to put it in place.
    pub fix: String,
    pub state: ControlState,
    /// 0.0 to 1.0: high when fresh scan evidence decided, lower for attestations, zero for unknown.
    pub confidence: f32,
    /// A note the practice gave ("don't know" reasons, alternatives, justification).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Everything considered, freshest first.
    pub evidence: Vec<ControlEvidence>,
    /// Framework id (`hipaa`, `nprm`, `hicp`, `cpg`, `csf`, `insurance`) to requirement ids.
    pub mappings: BTreeMap<String, Vec<String>>,
    /// Whether this control is one of the HPH CPG essential goals.
    pub cpg_essential: bool,
}

/// A questionnaire answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnswerValue {
    Yes,
    Partly,
    No,
    DontKnow,
    NotApplicable,
}

impl AnswerValue {
    /// Every answer, in prompt order.
    pub const ALL: [AnswerValue; 5] = [
        AnswerValue::Yes,
        AnswerValue::Partly,
        AnswerValue::No,
        AnswerValue::DontKnow,
        AnswerValue::NotApplicable,
    ];

    /// Stable identifier used in answers files.
    pub fn as_str(self) -> &'static str {
        match self {
            AnswerValue::Yes => "yes",
            AnswerValue::Partly => "partly",
            AnswerValue::No => "no",
            AnswerValue::DontKnow => "dont-know",
            AnswerValue::NotApplicable => "n/a",
        }
    }

    /// Parse the spellings people type: `y`, `yes`, `partly`, `p`, `no`, `n`, `?`, `dont-know`,
    /// `don't know`, `n/a`, `na`.
    pub fn parse(s: &str) -> Option<AnswerValue> {
        match s.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" | "true" => Some(AnswerValue::Yes),
            "p" | "partly" | "partial" | "partially" => Some(AnswerValue::Partly),
            "n" | "no" | "false" => Some(AnswerValue::No),
            "?" | "d" | "dk" | "dont-know" | "don't know" | "dont know" | "unknown" => {
                Some(AnswerValue::DontKnow)
            }
            "n/a" | "na" | "not-applicable" | "not applicable" => Some(AnswerValue::NotApplicable),
            _ => None,
        }
    }

    /// The control state this answer supports.
    pub fn state(self) -> ControlState {
        match self {
            AnswerValue::Yes => ControlState::Implemented,
            AnswerValue::Partly => ControlState::Partial,
            AnswerValue::No => ControlState::NotImplemented,
            AnswerValue::DontKnow => ControlState::Unknown,
            AnswerValue::NotApplicable => ControlState::NotApplicable,
        }
    }
}

/// A stored answer to one question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub question: String,
    pub value: AnswerValue,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub answered_at: DateTime<Utc>,
    /// `terminal`, `file:<name>` or `evidence`.
    pub via: String,
}

/// One scenario of the risk register: an asset group facing a threat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskScenario {
    /// `<group>/<threat>`, stable across assessments so trends line up.
    pub id: String,
    pub group: String,
    pub group_title: String,
    pub threat: String,
    pub threat_title: String,
    /// Devices in the group (display names), if discovery saw any.
    pub assets: Vec<String>,
    /// Technical weaknesses found on those devices (finding titles, KEV ids).
    pub vulnerabilities: Vec<String>,
    /// Control ids that would reduce this risk, with their states.
    pub controls: Vec<(String, ControlState)>,
    pub inherent_likelihood: Level,
    pub residual_likelihood: Level,
    pub impact: Level,
    pub inherent_risk: Level,
    pub residual_risk: Level,
    /// Why, in words.
    pub rationale: String,
    /// 0.0 to 1.0.
    pub confidence: f32,
}

/// Where a plan action stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionStatus {
    Open,
    InProgress,
    Done,
    /// The risk was accepted (owner, reason and review date recorded).
    Accepted,
}

impl ActionStatus {
    /// Stable identifier.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionStatus::Open => "open",
            ActionStatus::InProgress => "in-progress",
            ActionStatus::Done => "done",
            ActionStatus::Accepted => "accepted",
        }
    }

    /// Parse a stable identifier.
    pub fn parse(s: &str) -> Option<ActionStatus> {
        [
            ActionStatus::Open,
            ActionStatus::InProgress,
            ActionStatus::Done,
            ActionStatus::Accepted,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
    }
}

/// A documented decision to live with a risk instead of fixing it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskAcceptance {
    pub owner: String,
    pub reason: String,
    pub review_by: NaiveDate,
    pub accepted_at: DateTime<Utc>,
}

/// The tracked state of a plan action, kept across assessments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionTracking {
    pub action: String,
    pub status: ActionStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acceptance: Option<RiskAcceptance>,
    pub updated_at: DateTime<Utc>,
}

/// One step of the remediation plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanAction {
    /// `control:C07` or `finding:<finding-id>`: stable across assessments.
    pub id: String,
    /// 1-based position in the plan.
    pub rank: u32,
    pub title: String,
    /// Why it matters, in plain words.
    pub why: String,
    /// Controls this action closes.
    pub controls: Vec<String>,
    /// Devices it concerns, if any.
    pub assets: Vec<String>,
    /// The highest residual risk among the scenarios it reduces.
    pub risk: Level,
    pub cpg_essential: bool,
    /// A known-exploited vulnerability or internet-facing exposure is involved.
    pub known_exploited: bool,
    /// `quick` (hours), `moderate` (days), `project` (weeks).
    pub effort: String,
    pub due: NaiveDate,
    /// Where the due date comes from, e.g. "proposed 45 CFR 164.308(a)(4): critical within 15 days".
    pub due_basis: String,
    pub owner: String,
    pub status: ActionStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acceptance: Option<RiskAcceptance>,
}

/// Counts used for trends between snapshots.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AssessmentTotals {
    /// Scenarios per residual level (`very-low` .. `very-high`).
    pub residual: BTreeMap<String, u32>,
    pub controls_in_place: u32,
    pub controls_total: u32,
    pub open_actions: u32,
}

/// An immutable, dated assessment: everything the reports need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssessmentSnapshot {
    pub id: i64,
    pub practice: String,
    pub assessed_at: DateTime<Utc>,
    /// Catalog version the assessment was judged against.
    pub catalog_version: String,
    /// What was in scope and how the evidence was gathered, in words.
    pub scope: Vec<String>,
    pub data_collection: Vec<String>,
    pub controls: Vec<ControlResult>,
    pub answers: Vec<Answer>,
    pub register: Vec<RiskScenario>,
    pub plan: Vec<PlanAction>,
    pub totals: AssessmentTotals,
    /// Framework id to its human title (for scorecards).
    pub frameworks: BTreeMap<String, String>,
    /// Framework id to its requirements (for scorecards), as judged at the time.
    #[serde(default)]
    pub requirements: BTreeMap<String, Vec<RequirementInfo>>,
}

/// A framework requirement as copied into a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequirementInfo {
    pub id: String,
    pub title: String,
    /// `required`/`addressable` (HIPAA), `essential`/`enhanced` (CPG).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_scores_round_trip_and_clamp() {
        for l in Level::ALL {
            assert_eq!(Level::from_score(l.score()), l);
        }
        assert_eq!(Level::from_score(-3), Level::VeryLow);
        assert_eq!(Level::from_score(9), Level::VeryHigh);
        assert_eq!(Level::VeryHigh.severity(), Severity::Critical);
    }

    #[test]
    fn answers_parse_common_spellings() {
        for a in AnswerValue::ALL {
            assert_eq!(AnswerValue::parse(a.as_str()), Some(a));
        }
        assert_eq!(AnswerValue::parse(" Y "), Some(AnswerValue::Yes));
        assert_eq!(
            AnswerValue::parse("don't know"),
            Some(AnswerValue::DontKnow)
        );
        assert_eq!(AnswerValue::parse("maybe"), None);
    }

    #[test]
    fn status_parse_round_trip() {
        for s in ["open", "in-progress", "done", "accepted"] {
            assert_eq!(ActionStatus::parse(s).map(ActionStatus::as_str), Some(s));
        }
    }
}
