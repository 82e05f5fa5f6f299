//! The risk catalogs: frameworks, controls, questions, asset groups, threats and breach rules.
//!
//! The catalogs are versioned TOML files under `data/risk/`, embedded in the binary. [`Catalog::load`]
//! parses them with unknown fields rejected and then checks their integrity: every mapping names a
//! known requirement, every control can be decided (a question or an evidence rule), every threat
//! names known groups and controls. Errors point to the line.

use crate::diag::Diagnostic;
use medguard_model::risk::ControlState;
use medguard_model::{Category, Severity};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// The schema version of the catalog files this build understands.
pub const SCHEMA: u32 = 1;

/// The embedded catalog files, by name.
pub const FILES: [(&str, &str); 5] = [
    (
        "frameworks.toml",
        include_str!("../../../data/risk/frameworks.toml"),
    ),
    (
        "controls.toml",
        include_str!("../../../data/risk/controls.toml"),
    ),
    (
        "questions.toml",
        include_str!("../../../data/risk/questions.toml"),
    ),
    (
        "threats.toml",
        include_str!("../../../data/risk/threats.toml"),
    ),
    (
        "breach.toml",
        include_str!("../../../data/risk/breach.toml"),
    ),
];

/// A catalog problem.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("read the risk catalog\n{0}")]
    Invalid(Box<Diagnostic>),
}

impl CatalogError {
    fn at(d: Diagnostic) -> Self {
        CatalogError::Invalid(Box::new(d))
    }
}

/// One requirement of a framework (a HIPAA implementation specification, an HICP sub-practice...).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    pub id: String,
    pub title: String,
    /// `required`/`addressable` (HIPAA), `essential`/`enhanced` (CPG).
    #[serde(default)]
    pub kind: Option<String>,
}

/// A framework the controls map to.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Framework {
    pub id: String,
    pub title: String,
    pub citation: String,
    pub requirements: Vec<Requirement>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrameworksFile {
    schema: u32,
    version: String,
    framework: Vec<Framework>,
}

/// How a piece of automated evidence is matched.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum RuleKind {
    Finding,
    Clean,
    ScanAge,
    Kev,
    Vuln,
    PhiExposed,
    PhiScan,
    Alert,
}

impl RuleKind {
    /// Stable identifier, as in the catalog.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Finding => "finding",
            RuleKind::Clean => "clean",
            RuleKind::ScanAge => "scan-age",
            RuleKind::Kev => "kev",
            RuleKind::Vuln => "vuln",
            RuleKind::PhiExposed => "phi-exposed",
            RuleKind::PhiScan => "phi-scan",
            RuleKind::Alert => "alert",
        }
    }
}

/// An evidence rule: when medguard's own data decides a control.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EvidenceRule {
    pub kind: RuleKind,
    #[serde(default)]
    pub ids: Vec<String>,
    #[serde(default)]
    pub ports: Vec<u16>,
    #[serde(default)]
    pub min_severity: Option<Severity>,
    /// How long the evidence stays fresh (default 183 days: the proposed rule's scan cadence).
    #[serde(default = "default_fresh")]
    pub fresh_days: i64,
    pub state: ControlState,
    /// A passing rule that answers the control fully, so its questions are not asked.
    #[serde(default)]
    pub sufficient: bool,
}

fn default_fresh() -> i64 {
    183
}

/// A canonical control.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Control {
    pub id: String,
    pub title: String,
    pub plain: String,
    pub fix: String,
    /// `quick`, `moderate` or `project`.
    pub effort: String,
    /// A scope question; the control does not apply when it was answered "no".
    #[serde(default)]
    pub applies_if: Option<String>,
    /// Framework id to requirement ids.
    pub mappings: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub evidence: Vec<EvidenceRule>,
}

impl Control {
    /// Whether the control maps to an HPH CPG essential goal.
    pub fn cpg_essential(&self) -> bool {
        self.mappings
            .get("cpg")
            .is_some_and(|ids| ids.iter().any(|i| i.starts_with('E')))
    }

    /// Effort rank for ordering: quick wins first.
    pub fn effort_rank(&self) -> u8 {
        effort_rank(&self.effort)
    }
}

/// Effort rank for ordering: quick 0, moderate 1, project 2.
pub fn effort_rank(effort: &str) -> u8 {
    match effort {
        "quick" => 0,
        "moderate" => 1,
        _ => 2,
    }
}

/// A default due date rule.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DueRule {
    pub days: i64,
    pub basis: String,
}

/// Default due dates for patches (findings, vulnerabilities) and for missing safeguards.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DueRules {
    pub patch: DueBySeverity,
    pub control: DueBySeverity,
}

/// Due dates by severity.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DueBySeverity {
    pub critical: DueRule,
    pub high: DueRule,
    pub medium: DueRule,
    pub low: DueRule,
}

impl DueBySeverity {
    /// The rule for a severity (info counts as low).
    pub fn for_severity(&self, s: Severity) -> &DueRule {
        match s {
            Severity::Critical => &self.critical,
            Severity::High => &self.high,
            Severity::Medium => &self.medium,
            Severity::Low | Severity::Info => &self.low,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ControlsFile {
    schema: u32,
    version: String,
    due: DueRules,
    control: Vec<Control>,
}

/// A practice fact asked as text.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProfileQuestion {
    pub id: String,
    pub text: String,
    /// `text` or `number`.
    pub kind: String,
}

/// A scope question: does a part of the practice exist?
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScopeQuestion {
    pub id: String,
    pub text: String,
    pub why: String,
    /// Asset groups whose devices, when discovered, answer this question "yes".
    #[serde(default)]
    pub groups: Vec<String>,
}

/// A control question.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub id: String,
    pub control: String,
    pub text: String,
    pub why: String,
    #[serde(default)]
    pub applies_if: Option<String>,
    #[serde(default)]
    pub allow_na: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuestionsFile {
    schema: u32,
    version: String,
    profile: Vec<ProfileQuestion>,
    scope: Vec<ScopeQuestion>,
    question: Vec<Question>,
}

/// An asset group of the register.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub id: String,
    pub title: String,
    pub categories: Vec<Category>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub always: bool,
    pub criticality: i32,
    pub safety: i32,
    pub records_share: f64,
}

/// Evidence types that raise a threat's likelihood.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Exposure {
    Findings,
    Kev,
    Phi,
    Alerts,
}

/// A threat of the register.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Threat {
    pub id: String,
    pub title: String,
    pub plain: String,
    pub source: String,
    pub base: i32,
    /// `confidentiality`, `availability` or `integrity`: which impact dominates.
    pub kind: String,
    #[serde(default)]
    pub encryption_reduces_impact: bool,
    pub groups: Vec<String>,
    pub controls: Vec<String>,
    pub exposure: Vec<Exposure>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThreatsFile {
    schema: u32,
    version: String,
    group: Vec<Group>,
    threat: Vec<Threat>,
}

/// A cited statement.
#[derive(Debug, Clone, Deserialize, PartialEq, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Cited {
    pub text: String,
    pub citation: String,
}

/// A statutory exception to the breach definition.
#[derive(Debug, Clone, Deserialize, PartialEq, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct BreachException {
    pub id: String,
    pub text: String,
    pub citation: String,
}

/// One of the four risk-assessment factors.
#[derive(Debug, Clone, Deserialize, PartialEq, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct BreachFactor {
    pub id: String,
    pub text: String,
    pub citation: String,
    pub low: String,
    pub high: String,
}

/// A notification obligation.
#[derive(Debug, Clone, Deserialize, PartialEq, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeRule {
    pub id: String,
    pub recipient: String,
    #[serde(default)]
    pub days_after_discovery: Option<i64>,
    #[serde(default)]
    pub days_after_year_end: Option<i64>,
    /// `always`, `state-over-500`, `total-500-or-more`, `total-under-500`, `business-associate`.
    pub applies: String,
    pub text: String,
    pub citation: String,
}

/// A state breach-law rule (seed data, reviewed on the given date).
#[derive(Debug, Clone, Deserialize, PartialEq, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct StateRule {
    pub state: String,
    pub text: String,
    pub deadline_days: i64,
    pub threshold: u64,
    pub citation: String,
    pub reviewed: String,
}

/// The breach notification rules.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BreachRules {
    pub schema: u32,
    pub version: String,
    pub presumption: Cited,
    pub safe_harbor: Cited,
    pub exception: Vec<BreachException>,
    pub factor: Vec<BreachFactor>,
    pub notice: Vec<NoticeRule>,
    pub record: Vec<Cited>,
    pub state: Vec<StateRule>,
}

/// Everything the engine judges against.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub version: String,
    pub frameworks: Vec<Framework>,
    pub due: DueRules,
    pub controls: Vec<Control>,
    pub profile: Vec<ProfileQuestion>,
    pub scope: Vec<ScopeQuestion>,
    pub questions: Vec<Question>,
    pub groups: Vec<Group>,
    pub threats: Vec<Threat>,
    pub breach: BreachRules,
}

const NOTICE_APPLIES: [&str; 5] = [
    "always",
    "state-over-500",
    "total-500-or-more",
    "total-under-500",
    "business-associate",
];

fn parse<T: serde::de::DeserializeOwned>(file: &str, text: &str) -> Result<T, CatalogError> {
    toml::from_str(text).map_err(|e| CatalogError::at(Diagnostic::from_toml(file, text, &e)))
}

fn check_schema(file: &str, text: &str, schema: u32) -> Result<(), CatalogError> {
    if schema != SCHEMA {
        return Err(CatalogError::at(Diagnostic::find(
            file,
            text,
            "schema",
            &format!("catalog schema {schema} is not supported (this build reads {SCHEMA})"),
        )));
    }
    Ok(())
}

impl Catalog {
    /// The catalog embedded in this build.
    pub fn embedded() -> Result<Catalog, CatalogError> {
        let texts: BTreeMap<&str, &str> = FILES.into_iter().collect();
        Catalog::load(&|name| texts.get(name).map(|s| s.to_string()))
    }

    /// Load and check catalog files supplied by `read(name)` (names as in [`FILES`]).
    pub fn load(read: &dyn Fn(&str) -> Option<String>) -> Result<Catalog, CatalogError> {
        let get = |name: &str| {
            read(name).ok_or_else(|| {
                CatalogError::at(Diagnostic::at(name, "", None, "catalog file is missing"))
            })
        };
        let ft = get("frameworks.toml")?;
        let ct = get("controls.toml")?;
        let qt = get("questions.toml")?;
        let tt = get("threats.toml")?;
        let bt = get("breach.toml")?;
        let f: FrameworksFile = parse("frameworks.toml", &ft)?;
        check_schema("frameworks.toml", &ft, f.schema)?;
        let c: ControlsFile = parse("controls.toml", &ct)?;
        check_schema("controls.toml", &ct, c.schema)?;
        let q: QuestionsFile = parse("questions.toml", &qt)?;
        check_schema("questions.toml", &qt, q.schema)?;
        let t: ThreatsFile = parse("threats.toml", &tt)?;
        check_schema("threats.toml", &tt, t.schema)?;
        let b: BreachRules = parse("breach.toml", &bt)?;
        check_schema("breach.toml", &bt, b.schema)?;
        for (file, text, v) in [
            ("controls.toml", &ct, &c.version),
            ("questions.toml", &qt, &q.version),
            ("threats.toml", &tt, &t.version),
            ("breach.toml", &bt, &b.version),
        ] {
            if *v != f.version {
                return Err(CatalogError::at(Diagnostic::find(
                    file,
                    text,
                    "version",
                    &format!(
                        "catalog version {v} differs from frameworks.toml version {}",
                        f.version
                    ),
                )));
            }
        }
        let cat = Catalog {
            version: f.version,
            frameworks: f.framework,
            due: c.due,
            controls: c.control,
            profile: q.profile,
            scope: q.scope,
            questions: q.question,
            groups: t.group,
            threats: t.threat,
            breach: b,
        };
        cat.check(&ct, &qt, &tt, &bt)?;
        Ok(cat)
    }

    /// Cross-file integrity checks.
    fn check(&self, ct: &str, qt: &str, tt: &str, bt: &str) -> Result<(), CatalogError> {
        let err = |file: &str, text: &str, needle: &str, msg: String| {
            Err(CatalogError::at(Diagnostic::find(file, text, needle, &msg)))
        };
        let mut reqs: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for fw in &self.frameworks {
            let set = reqs.entry(fw.id.as_str()).or_default();
            for r in &fw.requirements {
                set.insert(r.id.as_str());
            }
        }
        let mut control_ids = BTreeSet::new();
        let scope_ids: BTreeSet<&str> = self.scope.iter().map(|s| s.id.as_str()).collect();
        let group_ids: BTreeSet<&str> = self.groups.iter().map(|g| g.id.as_str()).collect();
        for c in &self.controls {
            let anchor = format!("id = \"{}\"", c.id);
            if !control_ids.insert(c.id.as_str()) {
                return err(
                    "controls.toml",
                    ct,
                    &anchor,
                    format!("duplicate control {}", c.id),
                );
            }
            if c.mappings.is_empty() {
                return err(
                    "controls.toml",
                    ct,
                    &anchor,
                    format!("control {} maps to nothing", c.id),
                );
            }
            for (fw, ids) in &c.mappings {
                let Some(known) = reqs.get(fw.as_str()) else {
                    return err(
                        "controls.toml",
                        ct,
                        &anchor,
                        format!("control {} maps to unknown framework {fw:?}", c.id),
                    );
                };
                for id in ids {
                    if !known.contains(id.as_str()) {
                        return err(
                            "controls.toml",
                            ct,
                            &format!("\"{id}\""),
                            format!(
                                "control {} maps to {fw} requirement {id:?}, which frameworks.toml does not list",
                                c.id
                            ),
                        );
                    }
                }
            }
            if !["quick", "moderate", "project"].contains(&c.effort.as_str()) {
                return err(
                    "controls.toml",
                    ct,
                    &anchor,
                    format!("control {} has unknown effort {:?}", c.id, c.effort),
                );
            }
            if let Some(s) = &c.applies_if
                && !scope_ids.contains(s.as_str())
            {
                return err(
                    "controls.toml",
                    ct,
                    &anchor,
                    format!("control {} applies_if unknown scope question {s:?}", c.id),
                );
            }
            let has_question = self.questions.iter().any(|q| q.control == c.id);
            if !has_question && c.evidence.is_empty() {
                return err(
                    "controls.toml",
                    ct,
                    &anchor,
                    format!(
                        "control {} has neither a question nor an evidence rule",
                        c.id
                    ),
                );
            }
            for r in &c.evidence {
                let needs_ids = matches!(r.kind, RuleKind::Finding | RuleKind::Clean);
                if needs_ids && r.ids.is_empty() && r.ports.is_empty() {
                    return err(
                        "controls.toml",
                        ct,
                        &anchor,
                        format!(
                            "control {}: a {} rule needs ids or ports",
                            c.id,
                            r.kind.as_str()
                        ),
                    );
                }
                if r.fresh_days <= 0 {
                    return err(
                        "controls.toml",
                        ct,
                        &anchor,
                        format!("control {}: fresh_days must be positive", c.id),
                    );
                }
                if r.sufficient && r.state != ControlState::Implemented {
                    return err(
                        "controls.toml",
                        ct,
                        &anchor,
                        format!(
                            "control {}: only an implemented rule can be sufficient",
                            c.id
                        ),
                    );
                }
            }
        }
        let mut question_ids = BTreeSet::new();
        for p in &self.profile {
            if !question_ids.insert(p.id.as_str()) {
                return err(
                    "questions.toml",
                    qt,
                    &format!("id = \"{}\"", p.id),
                    format!("duplicate question {}", p.id),
                );
            }
            if !["text", "number"].contains(&p.kind.as_str()) {
                return err(
                    "questions.toml",
                    qt,
                    &format!("id = \"{}\"", p.id),
                    format!("profile question {} has unknown kind {:?}", p.id, p.kind),
                );
            }
        }
        for s in &self.scope {
            let anchor = format!("id = \"{}\"", s.id);
            if !question_ids.insert(s.id.as_str()) {
                return err(
                    "questions.toml",
                    qt,
                    &anchor,
                    format!("duplicate question {}", s.id),
                );
            }
            for g in &s.groups {
                if !group_ids.contains(g.as_str()) {
                    return err(
                        "questions.toml",
                        qt,
                        &anchor,
                        format!("scope question {} names unknown group {g:?}", s.id),
                    );
                }
            }
        }
        for q in &self.questions {
            let anchor = format!("id = \"{}\"", q.id);
            if !question_ids.insert(q.id.as_str()) {
                return err(
                    "questions.toml",
                    qt,
                    &anchor,
                    format!("duplicate question {}", q.id),
                );
            }
            if !control_ids.contains(q.control.as_str()) {
                return err(
                    "questions.toml",
                    qt,
                    &anchor,
                    format!("question {} names unknown control {:?}", q.id, q.control),
                );
            }
            if let Some(s) = &q.applies_if
                && !scope_ids.contains(s.as_str())
            {
                return err(
                    "questions.toml",
                    qt,
                    &anchor,
                    format!("question {} applies_if unknown scope question {s:?}", q.id),
                );
            }
        }
        for g in &self.groups {
            let anchor = format!("id = \"{}\"", g.id);
            if let Some(s) = &g.scope
                && !scope_ids.contains(s.as_str())
            {
                return err(
                    "threats.toml",
                    tt,
                    &anchor,
                    format!("group {} names unknown scope question {s:?}", g.id),
                );
            }
            for v in [g.criticality, g.safety] {
                if !(1..=5).contains(&v) {
                    return err(
                        "threats.toml",
                        tt,
                        &anchor,
                        format!("group {}: criticality and safety must be 1-5", g.id),
                    );
                }
            }
            if !(0.0..=1.0).contains(&g.records_share) {
                return err(
                    "threats.toml",
                    tt,
                    &anchor,
                    format!("group {}: records_share must be 0-1", g.id),
                );
            }
        }
        let mut threat_ids = BTreeSet::new();
        for t in &self.threats {
            let anchor = format!("id = \"{}\"", t.id);
            if !threat_ids.insert(t.id.as_str()) {
                return err(
                    "threats.toml",
                    tt,
                    &anchor,
                    format!("duplicate threat {}", t.id),
                );
            }
            if !(1..=5).contains(&t.base) {
                return err(
                    "threats.toml",
                    tt,
                    &anchor,
                    format!("threat {}: base must be 1-5", t.id),
                );
            }
            if !["confidentiality", "availability", "integrity"].contains(&t.kind.as_str()) {
                return err(
                    "threats.toml",
                    tt,
                    &anchor,
                    format!("threat {} has unknown kind {:?}", t.id, t.kind),
                );
            }
            for g in &t.groups {
                if !group_ids.contains(g.as_str()) {
                    return err(
                        "threats.toml",
                        tt,
                        &anchor,
                        format!("threat {} names unknown group {g:?}", t.id),
                    );
                }
            }
            for c in &t.controls {
                if !control_ids.contains(c.as_str()) {
                    return err(
                        "threats.toml",
                        tt,
                        &anchor,
                        format!("threat {} names unknown control {c:?}", t.id),
                    );
                }
            }
        }
        for n in &self.breach.notice {
            if !NOTICE_APPLIES.contains(&n.applies.as_str()) {
                return err(
                    "breach.toml",
                    bt,
                    &format!("id = \"{}\"", n.id),
                    format!("notice {} has unknown applies {:?}", n.id, n.applies),
                );
            }
            if n.days_after_discovery.is_none() == n.days_after_year_end.is_none() {
                return err(
                    "breach.toml",
                    bt,
                    &format!("id = \"{}\"", n.id),
                    format!("notice {} needs exactly one deadline", n.id),
                );
            }
        }
        if self.breach.factor.len() < 4 {
            return err(
                "breach.toml",
                bt,
                "[[factor]]",
                "the four-factor assessment needs at least four factors".into(),
            );
        }
        Ok(())
    }

    /// A control by id.
    pub fn control(&self, id: &str) -> Option<&Control> {
        self.controls.iter().find(|c| c.id == id)
    }

    /// A group by id.
    pub fn group(&self, id: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.id == id)
    }

    /// The group a discovered device belongs to.
    pub fn group_of(&self, category: Category) -> Option<&Group> {
        self.groups
            .iter()
            .find(|g| g.categories.contains(&category))
    }

    /// Whether a control maps to at least one addressable HIPAA implementation specification, so
    /// an equivalent alternative measure may be documented instead (45 CFR 164.306(d)(3)).
    pub fn addressable(&self, control: &Control) -> bool {
        let Some(hipaa) = self.frameworks.iter().find(|f| f.id == "hipaa") else {
            return false;
        };
        control.mappings.get("hipaa").is_some_and(|ids| {
            ids.iter().any(|id| {
                hipaa
                    .requirements
                    .iter()
                    .any(|r| &r.id == id && r.kind.as_deref() == Some("addressable"))
            })
        })
    }

    /// Whether `id` names any question (profile, scope or control), or an alternative measure
    /// (`alternative:<control>`) for an addressable control.
    pub fn knows_question(&self, id: &str) -> bool {
        if let Some(c) = id.strip_prefix("alternative:") {
            return self.control(c).is_some_and(|c| self.addressable(c));
        }
        self.profile.iter().any(|p| p.id == id)
            || self.scope.iter().any(|s| s.id == id)
            || self.questions.iter().any(|q| q.id == id)
    }

    /// Framework id to title.
    pub fn framework_titles(&self) -> BTreeMap<String, String> {
        self.frameworks
            .iter()
            .map(|f| (f.id.clone(), f.title.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalog_loads_and_is_consistent() {
        let c = Catalog::embedded().expect("catalog");
        assert!(
            (30..=90).contains(&c.controls.len()),
            "{}",
            c.controls.len()
        );
        assert_eq!(c.frameworks.len(), 6);
        // Every HICP small-practice sub-practice and every CPG goal is covered by some control.
        for fw in ["hicp", "cpg"] {
            let f = c.frameworks.iter().find(|f| f.id == fw).expect("framework");
            for r in &f.requirements {
                assert!(
                    c.controls
                        .iter()
                        .any(|k| k.mappings.get(fw).is_some_and(|ids| ids.contains(&r.id))),
                    "{fw} {} not covered",
                    r.id
                );
            }
        }
        // Every category falls into exactly one group.
        for cat in Category::ALL {
            let n = c
                .groups
                .iter()
                .filter(|g| g.categories.contains(&cat))
                .count();
            assert_eq!(n, 1, "{cat}");
        }
    }

    /// Every finding id an evidence rule names is one discovery can report (data/findings.toml).
    #[test]
    fn evidence_rules_name_real_finding_ids() {
        #[derive(serde::Deserialize)]
        struct Findings {
            finding: Vec<F>,
        }
        #[derive(serde::Deserialize)]
        struct F {
            id: String,
        }
        let text = include_str!("../../../data/findings.toml");
        let known: Findings = toml::from_str(text).expect("findings catalog");
        let known: BTreeSet<String> = known.finding.into_iter().map(|f| f.id).collect();
        let c = Catalog::embedded().expect("catalog");
        for ctrl in &c.controls {
            for r in &ctrl.evidence {
                for id in &r.ids {
                    assert!(known.contains(id), "{}: unknown finding id {id}", ctrl.id);
                }
            }
        }
    }

    fn with_override(name: &str, text: String) -> Result<Catalog, CatalogError> {
        let texts: BTreeMap<&str, String> = FILES
            .into_iter()
            .map(|(n, t)| {
                (
                    n,
                    if n == name {
                        text.clone()
                    } else {
                        t.to_string()
                    },
                )
            })
            .collect();
        Catalog::load(&|n| texts.get(n).cloned())
    }

    fn original(name: &str) -> String {
        FILES
            .into_iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| t.to_string())
            .expect("file")
    }

    #[test]
    fn unresolved_mapping_points_to_its_line() {
        let text = original("controls.toml").replacen(
            "\"1.S.A\", \"3.S.A\"]",
            "\"1.S.A\", \"99.S.Z\"]",
            1,
        );
        let err = with_override("controls.toml", text.clone()).expect_err("must fail");
        let CatalogError::Invalid(d) = err;
        assert!(d.message.contains("99.S.Z"), "{}", d.message);
        let line = text.lines().nth(d.line - 1).expect("line");
        assert!(line.contains("99.S.Z"), "{line}");
    }

    #[test]
    fn unknown_field_and_syntax_errors_point_to_the_line() {
        let text = original("threats.toml").replacen("base = 5", "base = 5\nbasse = 4", 1);
        let CatalogError::Invalid(d) =
            with_override("threats.toml", text).expect_err("unknown field");
        assert!(d.message.contains("basse"), "{}", d.message);
        assert!(d.line > 0);
        let CatalogError::Invalid(d) =
            with_override("breach.toml", "schema = 1\nversion = [".into()).expect_err("syntax");
        assert_eq!(d.line, 2);
    }

    #[test]
    fn a_control_without_question_or_rule_is_rejected() {
        let text = original("questions.toml").replace("control = \"C29\"", "control = \"C28\"");
        let CatalogError::Invalid(d) =
            with_override("questions.toml", text).expect_err("must fail");
        assert!(d.message.contains("C29"), "{}", d.message);
    }
}
