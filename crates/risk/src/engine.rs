//! The judgement: control states from evidence and answers, the risk register (NIST SP 800-30
//! Rev. 1 likelihood x impact), the remediation plan, and the snapshot that holds them.
//!
//! Everything here is a pure function of the catalog, the facts, the answers and the tracked action
//! states, so the same inputs always give the same register and plan.

use crate::catalog::{Catalog, Control, EvidenceRule, Exposure, RuleKind, Threat};
use crate::evidence::Facts;
use chrono::{DateTime, Duration, Utc};
use medguard_model::Severity;
use medguard_model::risk::{
    ActionStatus, ActionTracking, Answer, AnswerValue, AssessmentSnapshot, AssessmentTotals,
    ControlEvidence, ControlResult, ControlState, EvidenceSource, Level, PlanAction,
    RequirementInfo, RiskScenario,
};
use std::collections::{BTreeMap, BTreeSet};

/// Patients assumed when the practice did not say (a small practice).
pub const DEFAULT_PATIENTS: u64 = 1000;

/// Confidence of a control decided by fresh scan evidence.
const CONF_EVIDENCE: f32 = 0.9;
/// Confidence of a control decided by answers alone (self-attested).
const CONF_ATTESTED: f32 = 0.6;
/// Confidence when both contributed.
const CONF_MIXED: f32 = 0.75;
/// Confidence of an unknown control.
const CONF_UNKNOWN: f32 = 0.2;

/// NIST SP 800-30 Rev. 1 Table I-2: level of risk from likelihood (row) and impact (column), both
/// very low .. very high.
const RISK_MATRIX: [[Level; 5]; 5] = {
    use Level::{High as H, Low as L, Moderate as M, VeryHigh as VH, VeryLow as VL};
    [
        [VL, VL, VL, L, L],
        [VL, L, L, L, M],
        [VL, L, M, M, H],
        [VL, L, M, H, VH],
        [VL, L, M, H, VH],
    ]
};

/// Level of risk for a likelihood and an impact (Table I-2).
pub fn risk_level(likelihood: Level, impact: Level) -> Level {
    let row = usize::try_from(likelihood.score() - 1).unwrap_or(0).min(4);
    let col = usize::try_from(impact.score() - 1).unwrap_or(0).min(4);
    RISK_MATRIX[row][col]
}

/// Impact level of a number of patient records at stake.
pub fn records_level(records: u64) -> Level {
    match records {
        0 => Level::VeryLow,
        1..50 => Level::Low,
        50..500 => Level::Moderate,
        500..10_000 => Level::High,
        _ => Level::VeryHigh,
    }
}

/// The register level that matches a finding severity.
pub fn severity_level(s: Severity) -> Level {
    match s {
        Severity::Critical => Level::VeryHigh,
        Severity::High => Level::High,
        Severity::Medium => Level::Moderate,
        Severity::Low => Level::Low,
        Severity::Info => Level::VeryLow,
    }
}

/// What the assessment is computed from.
pub struct Inputs<'a> {
    pub catalog: &'a Catalog,
    pub facts: &'a Facts,
    /// Stored answers (profile, scope and control questions).
    pub answers: &'a [Answer],
    /// Tracked plan action states.
    pub tracking: &'a [ActionTracking],
    pub id: i64,
    pub assessed_at: DateTime<Utc>,
}

impl Inputs<'_> {
    fn answer(&self, id: &str) -> Option<&Answer> {
        self.answers.iter().find(|a| a.question == id)
    }

    /// A profile fact.
    pub fn profile(&self, id: &str) -> Option<String> {
        self.answer(id).and_then(|a| a.note.clone())
    }

    fn patients(&self) -> (u64, bool) {
        match self.profile("patients").and_then(|p| p.parse::<u64>().ok()) {
            Some(n) => (n, true),
            None => (DEFAULT_PATIENTS, false),
        }
    }
}

/// Scope decisions: `Some(true)` exists, `Some(false)` does not, `None` unknown (treated as
/// existing, to stay on the safe side).
pub fn scope(inputs: &Inputs) -> BTreeMap<String, Option<bool>> {
    let cat = inputs.catalog;
    let mut out = BTreeMap::new();
    for s in &cat.scope {
        let seen = inputs.facts.assets.iter().any(|a| {
            cat.group_of(a.category)
                .is_some_and(|g| s.groups.contains(&g.id))
        });
        let v = if seen {
            Some(true)
        } else {
            match inputs.answer(&s.id).map(|a| a.value) {
                Some(AnswerValue::Yes | AnswerValue::Partly) => Some(true),
                Some(AnswerValue::No | AnswerValue::NotApplicable) => Some(false),
                Some(AnswerValue::DontKnow) | None => None,
            }
        };
        out.insert(s.id.clone(), v);
    }
    out
}

/// Scope questions answered by the inventory (the devices were seen), as synthetic answers.
pub fn scope_from_evidence(inputs: &Inputs) -> Vec<Answer> {
    let cat = inputs.catalog;
    cat.scope
        .iter()
        .filter(|s| {
            inputs.facts.assets.iter().any(|a| {
                cat.group_of(a.category)
                    .is_some_and(|g| s.groups.contains(&g.id))
            })
        })
        .map(|s| Answer {
            question: s.id.clone(),
            value: AnswerValue::Yes,
            note: Some("devices of this kind were found by the network scan".into()),
            answered_at: inputs.facts.last_scan.unwrap_or(inputs.facts.now),
            via: "evidence".into(),
        })
        .collect()
}

fn applies(scope: &BTreeMap<String, Option<bool>>, cond: Option<&String>) -> bool {
    match cond {
        None => true,
        Some(s) => scope.get(s).copied().flatten() != Some(false),
    }
}

/// Evaluate one evidence rule against the facts.
fn apply_rule(rule: &EvidenceRule, facts: &Facts, ctrl: &Control) -> Option<ControlEvidence> {
    let fresh_for = Duration::days(rule.fresh_days);
    let mk = |source, summary: String, observed_at: DateTime<Utc>, confidence| {
        let valid_until = observed_at + fresh_for;
        ControlEvidence {
            source,
            summary,
            observed_at,
            valid_until,
            confidence,
            state: rule.state,
            rule: format!("{}:{}", ctrl.id, rule.kind.as_str()),
            fresh: valid_until >= facts.now,
        }
    };
    let matches_asset = |a: &crate::evidence::AssetFact| {
        a.findings.iter().any(|f| rule.ids.contains(&f.id))
            || a.open_ports.iter().any(|p| rule.ports.contains(p))
    };
    match rule.kind {
        RuleKind::Finding => {
            let hits: Vec<_> = facts.assets.iter().filter(|a| matches_asset(a)).collect();
            let newest = hits.iter().map(|a| a.last_seen).max()?;
            let mut what: BTreeSet<String> = BTreeSet::new();
            for a in &hits {
                for f in &a.findings {
                    if rule.ids.contains(&f.id) {
                        what.insert(f.title.clone());
                    }
                }
                for p in &a.open_ports {
                    if rule.ports.contains(p) {
                        what.insert(format!("port {p} open"));
                    }
                }
            }
            let names: Vec<&str> = hits.iter().map(|a| a.name.as_str()).take(5).collect();
            Some(mk(
                EvidenceSource::Inventory,
                format!(
                    "network scan found {} on {} device(s): {}",
                    what.into_iter().collect::<Vec<_>>().join("; "),
                    hits.len(),
                    names.join(", ")
                ),
                newest,
                0.9,
            ))
        }
        RuleKind::Clean => {
            let at = facts.last_scan?;
            if facts.assets.iter().any(matches_asset) {
                return None;
            }
            Some(mk(
                EvidenceSource::Inventory,
                format!(
                    "network scan of {} device(s) found none of the weaknesses this safeguard prevents",
                    facts.assets.len()
                ),
                at,
                0.8,
            ))
        }
        RuleKind::ScanAge => {
            let at = facts.last_scan?;
            Some(mk(
                EvidenceSource::Inventory,
                format!(
                    "network scan on {} listed {} device(s)",
                    at.format("%Y-%m-%d"),
                    facts.assets.len()
                ),
                at,
                0.9,
            ))
        }
        RuleKind::Kev => {
            let hits: Vec<_> = facts.vulns.iter().filter(|v| v.kev).collect();
            let newest = hits.iter().map(|v| v.observed_at).max()?;
            let ids: BTreeSet<&str> = hits.iter().map(|v| v.id.as_str()).collect();
            Some(mk(
                EvidenceSource::Intel,
                format!(
                    "{} known-exploited vulnerabilit{} on practice devices: {}",
                    ids.len(),
                    if ids.len() == 1 { "y" } else { "ies" },
                    ids.into_iter().take(5).collect::<Vec<_>>().join(", ")
                ),
                newest,
                0.9,
            ))
        }
        RuleKind::Vuln => {
            let min = rule.min_severity.unwrap_or(Severity::High);
            let hits: Vec<_> = facts.vulns.iter().filter(|v| v.severity >= min).collect();
            let newest = hits.iter().map(|v| v.observed_at).max()?;
            Some(mk(
                EvidenceSource::Intel,
                format!(
                    "{} vulnerability match(es) at {} severity or above",
                    hits.len(),
                    min.as_str()
                ),
                newest,
                0.8,
            ))
        }
        RuleKind::PhiExposed => {
            let hits: Vec<_> = facts.phi.iter().filter(|p| p.unprotected).collect();
            let newest = hits.iter().map(|p| p.observed_at).max()?;
            let records: u64 = hits.iter().map(|p| p.records).sum();
            Some(mk(
                EvidenceSource::Phi,
                format!(
                    "patient data found in {} unprotected location(s), about {records} record(s)",
                    hits.len()
                ),
                newest,
                0.85,
            ))
        }
        RuleKind::PhiScan => {
            let at = facts.last_phi_scan?;
            Some(mk(
                EvidenceSource::Phi,
                format!(
                    "patient-data scan on {} found {} location(s) holding patient data",
                    at.format("%Y-%m-%d"),
                    facts.phi.len()
                ),
                at,
                0.8,
            ))
        }
        RuleKind::Alert => {
            let min = rule.min_severity.unwrap_or(Severity::High);
            let hits: Vec<_> = facts.alerts.iter().filter(|a| a.severity >= min).collect();
            let newest = hits.iter().map(|a| a.at).max()?;
            let titles: BTreeSet<&str> = hits.iter().map(|a| a.title.as_str()).collect();
            Some(mk(
                EvidenceSource::Alerts,
                format!(
                    "{} detection alert(s) at {} or above: {}",
                    hits.len(),
                    min.as_str(),
                    titles.into_iter().take(3).collect::<Vec<_>>().join("; ")
                ),
                newest,
                0.7,
            ))
        }
    }
}

/// Automated evidence for a control (fresh and stale), freshest first.
pub fn control_evidence(ctrl: &Control, facts: &Facts) -> Vec<ControlEvidence> {
    let mut ev: Vec<ControlEvidence> = ctrl
        .evidence
        .iter()
        .filter_map(|r| apply_rule(r, facts, ctrl))
        .collect();
    ev.sort_by(|a, b| b.observed_at.cmp(&a.observed_at).then(a.rule.cmp(&b.rule)));
    ev
}

/// Whether fresh automated evidence settles the control, so its questions need not be asked: a
/// failing rule (the safeguard is shown to be missing) or a passing rule marked sufficient. Partial
/// evidence does not settle a control; it is combined with the answers, so that more evidence of
/// exposure can never make a control look better than the answers alone.
pub fn decided_by_evidence(ctrl: &Control, evidence: &[ControlEvidence]) -> bool {
    evidence.iter().any(|e| {
        e.fresh
            && (e.state == ControlState::NotImplemented
                || ctrl
                    .evidence
                    .iter()
                    .any(|r| r.sufficient && e.rule == format!("{}:{}", ctrl.id, r.kind.as_str())))
    })
}

/// Judge every control.
pub fn controls(inputs: &Inputs, scope: &BTreeMap<String, Option<bool>>) -> Vec<ControlResult> {
    let cat = inputs.catalog;
    cat.controls
        .iter()
        .map(|c| {
            let mut result = ControlResult {
                id: c.id.clone(),
                title: c.title.clone(),
                plain: c.plain.clone(),
                fix: c.fix.clone(),
                state: ControlState::NotApplicable,
                confidence: CONF_ATTESTED,
                note: None,
                evidence: Vec::new(),
                mappings: c.mappings.clone(),
                cpg_essential: c.cpg_essential(),
            };
            if !applies(scope, c.applies_if.as_ref()) {
                result.note = Some("does not apply: the practice said it has none".into());
                return result;
            }
            let mut evidence = control_evidence(c, inputs.facts);
            let decided = decided_by_evidence(c, &evidence);
            let auto: Vec<ControlState> = evidence
                .iter()
                .filter(|e| e.fresh)
                .map(|e| e.state)
                .collect();
            let mut notes = Vec::new();
            let mut answered: Vec<ControlState> = Vec::new();
            if !decided {
                for q in cat.questions.iter().filter(|q| q.control == c.id) {
                    if !applies(scope, q.applies_if.as_ref()) {
                        continue;
                    }
                    match inputs.answer(&q.id) {
                        // "n/a" where the question always applies (a hand-edited store) counts
                        // as not known.
                        Some(a) if a.value == AnswerValue::NotApplicable && !q.allow_na => {
                            answered.push(ControlState::Unknown);
                        }
                        Some(a) => {
                            answered.push(a.value.state());
                            if let Some(n) = &a.note {
                                notes.push(format!("{}: {n}", q.id));
                            }
                            evidence.push(ControlEvidence {
                                source: EvidenceSource::Attestation,
                                summary: format!("{} Answer: {}", q.text, a.value.as_str()),
                                observed_at: a.answered_at,
                                valid_until: a.answered_at + Duration::days(365),
                                confidence: CONF_ATTESTED,
                                state: a.value.state(),
                                rule: q.id.clone(),
                                fresh: true,
                            });
                        }
                        None => answered.push(ControlState::Unknown),
                    }
                }
            }
            let relevant_answers: Vec<ControlState> = answered
                .iter()
                .copied()
                .filter(|s| *s != ControlState::NotApplicable)
                .collect();
            result.state = if decided {
                result.confidence = CONF_EVIDENCE;
                auto.iter()
                    .copied()
                    .min()
                    .unwrap_or(ControlState::Implemented)
            } else if !answered.is_empty() && relevant_answers.is_empty() && auto.is_empty() {
                ControlState::NotApplicable
            } else {
                let all: Vec<ControlState> = auto
                    .iter()
                    .copied()
                    .chain(relevant_answers.iter().copied())
                    .collect();
                let state = all.iter().copied().min().unwrap_or(ControlState::Unknown);
                result.confidence = match (auto.is_empty(), relevant_answers.is_empty()) {
                    _ if state == ControlState::Unknown => CONF_UNKNOWN,
                    (false, true) => CONF_EVIDENCE,
                    (true, _) => CONF_ATTESTED,
                    (false, false) => CONF_MIXED,
                };
                state
            };
            if result.state.is_gap()
                && let Some(alt) = inputs.answer(&crate::answers::alternative_id(&c.id))
            {
                // A documented equivalent measure for an addressable specification.
                result.state = ControlState::Alternative;
                result.confidence = CONF_ATTESTED;
                if let Some(n) = &alt.note {
                    notes.push(n.clone());
                }
                evidence.push(ControlEvidence {
                    source: EvidenceSource::Attestation,
                    summary: alt.note.clone().unwrap_or_default(),
                    observed_at: alt.answered_at,
                    valid_until: alt.answered_at + Duration::days(365),
                    confidence: CONF_ATTESTED,
                    state: ControlState::Alternative,
                    rule: alt.question.clone(),
                    fresh: true,
                });
            }
            if evidence.iter().any(|e| !e.fresh) {
                notes.push(
                    "older scan evidence was too stale to decide; the questionnaire was used"
                        .into(),
                );
            }
            if !notes.is_empty() {
                result.note = Some(notes.join("; "));
            }
            result.evidence = evidence;
            result
        })
        .collect()
}

struct GroupView<'a> {
    id: &'a str,
    title: &'a str,
    g: &'a crate::catalog::Group,
    assets: Vec<&'a crate::evidence::AssetFact>,
}

fn present_groups<'a>(
    inputs: &'a Inputs,
    scope: &BTreeMap<String, Option<bool>>,
) -> Vec<GroupView<'a>> {
    let cat = inputs.catalog;
    cat.groups
        .iter()
        .filter_map(|g| {
            let assets: Vec<_> = inputs
                .facts
                .assets
                .iter()
                .filter(|a| g.categories.contains(&a.category))
                .collect();
            let by_scope = g
                .scope
                .as_ref()
                .is_some_and(|s| scope.get(s).copied().flatten() != Some(false));
            (g.always || !assets.is_empty() || by_scope).then_some(GroupView {
                id: &g.id,
                title: &g.title,
                g,
                assets,
            })
        })
        .collect()
}

fn clamp(v: i32) -> i32 {
    v.clamp(1, 5)
}

/// One register entry.
fn scenario(
    inputs: &Inputs,
    threat: &Threat,
    group: &GroupView,
    states: &BTreeMap<&str, (ControlState, f32)>,
) -> RiskScenario {
    let facts = inputs.facts;
    let g = group.g;
    let identities: BTreeSet<&str> = group.assets.iter().map(|a| a.identity.as_str()).collect();
    let mut vulns: BTreeSet<String> = BTreeSet::new();
    let mut reasons: Vec<String> = Vec::new();
    let mut exposure = 0;
    if threat.exposure.contains(&Exposure::Findings) {
        let mut worst: Option<Severity> = None;
        for a in &group.assets {
            for f in &a.findings {
                vulns.insert(format!("{} ({})", f.title, a.name));
                worst = worst.max(Some(f.severity));
            }
        }
        if worst >= Some(Severity::High) {
            exposure += 1;
            reasons.push("the scan found high-severity weaknesses on these devices".into());
        }
    }
    if threat.exposure.contains(&Exposure::Kev) {
        let kev: BTreeSet<&str> = facts
            .vulns
            .iter()
            .filter(|v| v.kev && identities.contains(v.asset.as_str()))
            .map(|v| v.id.as_str())
            .collect();
        if !kev.is_empty() {
            exposure += 1;
            reasons.push(format!(
                "{} known-exploited vulnerabilit{} present",
                kev.len(),
                if kev.len() == 1 { "y is" } else { "ies are" }
            ));
            for k in kev {
                vulns.insert(format!("{k} (known exploited)"));
            }
        }
    }
    let group_phi: Vec<&crate::evidence::PhiFact> = facts
        .phi
        .iter()
        .filter(|p| {
            p.asset.as_deref().is_some_and(|a| identities.contains(a))
                || p.group.as_deref() == Some(group.id)
        })
        .collect();
    if threat.exposure.contains(&Exposure::Phi) && group_phi.iter().any(|p| p.unprotected) {
        exposure += 1;
        reasons.push("patient data sits in unprotected locations".into());
        vulns.insert("patient data in unprotected locations".into());
    }
    if threat.exposure.contains(&Exposure::Alerts) {
        let recent = facts
            .alerts
            .iter()
            .filter(|a| a.severity >= Severity::High && facts.now - a.at <= Duration::days(30))
            .count();
        if recent > 0 {
            exposure += 1;
            reasons.push(format!(
                "{recent} serious detection alert(s) in the last 30 days"
            ));
        }
    }
    let exposure = exposure.min(2);
    let inherent_l = clamp(threat.base + exposure);
    let relevant: Vec<(String, ControlState)> = threat
        .controls
        .iter()
        .filter_map(|c| states.get(c.as_str()).map(|(s, _)| (c.clone(), *s)))
        .filter(|(_, s)| *s != ControlState::NotApplicable)
        .collect();
    let n = i32::try_from(relevant.len()).unwrap_or(i32::MAX).max(1);
    let credit: i32 = relevant
        .iter()
        .map(|(_, s)| i32::try_from(s.credit()).unwrap_or(0))
        .sum();
    // Up to three levels of reduction when every relevant safeguard is fully in place, rounded.
    let reduction = (3 * credit * 2 + 2 * n) / (4 * n);
    let residual_l = clamp(inherent_l - reduction);

    let (patients, stated) = inputs.patients();
    let estimate = (patients as f64 * g.records_share).round() as u64;
    let found: u64 = group_phi.iter().map(|p| p.records).sum();
    let records = found.max(estimate);
    let conf = records_level(records).score();
    let avail = g.criticality;
    let safety = g.safety;
    let impact = clamp(match threat.kind.as_str() {
        "confidentiality" => conf.max(avail - 1).max(safety - 1),
        "availability" => avail.max(conf - 1).max(safety),
        _ => safety.max(avail - 1).max(conf - 1),
    });
    let encrypted = states
        .get("C11")
        .is_some_and(|(s, _)| matches!(s, ControlState::Implemented | ControlState::Alternative));
    let residual_impact = if threat.encryption_reduces_impact && encrypted {
        clamp(impact - 1)
    } else {
        impact
    };
    let inherent_risk = risk_level(Level::from_score(inherent_l), Level::from_score(impact));
    let residual_risk = risk_level(
        Level::from_score(residual_l),
        Level::from_score(residual_impact),
    );

    let gaps: Vec<&str> = relevant
        .iter()
        .filter(|(_, s)| s.is_gap())
        .map(|(c, _)| c.as_str())
        .collect();
    let mut rationale = format!(
        "{} is a {} threat for a small practice (base likelihood {}/5)",
        threat.title,
        Level::from_score(threat.base).plain().to_lowercase(),
        threat.base
    );
    if !reasons.is_empty() {
        rationale.push_str(&format!(
            "; likelihood raised because {}",
            reasons.join(" and ")
        ));
    }
    rationale.push_str(&format!(
        ". {} of {} relevant safeguard(s) are fully in place",
        relevant.iter().filter(|(_, s)| s.credit() == 2).count(),
        relevant.len()
    ));
    if !gaps.is_empty() {
        rationale.push_str(&format!(" (gaps: {})", gaps.join(", ")));
    }
    rationale.push_str(&format!(
        ". Impact reflects about {records} patient record(s) at stake{}, availability criticality {avail}/5 and patient-safety {safety}/5",
        if found > 0 && found >= estimate {
            " (from the patient-data scan)".to_string()
        } else if found > 0 {
            format!(" (estimated from the practice's patient count; the patient-data scan found {found} here)")
        } else if stated {
            " (estimated from the practice's patient count)".to_string()
        } else {
            " (estimated: patient count not given)".to_string()
        }
    ));
    if threat.encryption_reduces_impact && encrypted {
        rationale.push_str("; encryption lowers the impact of a lost device (breach safe harbor)");
    }
    rationale.push('.');

    let conf_sum: f32 = relevant
        .iter()
        .filter_map(|(c, _)| states.get(c.as_str()).map(|(_, k)| *k))
        .sum();
    let mut confidence = if relevant.is_empty() {
        CONF_UNKNOWN
    } else {
        conf_sum / relevant.len() as f32
    };
    if group.assets.is_empty() && facts.last_scan.is_some() && !g.categories.is_empty() {
        confidence *= 0.9;
    }
    RiskScenario {
        id: format!("{}/{}", group.id, threat.id),
        group: group.id.to_string(),
        group_title: group.title.to_string(),
        threat: threat.id.clone(),
        threat_title: threat.title.clone(),
        assets: group.assets.iter().map(|a| a.name.clone()).collect(),
        vulnerabilities: vulns.into_iter().collect(),
        controls: relevant,
        inherent_likelihood: Level::from_score(inherent_l),
        residual_likelihood: Level::from_score(residual_l),
        impact: Level::from_score(impact),
        inherent_risk,
        residual_risk,
        rationale,
        confidence: (confidence * 100.0).round() / 100.0,
    }
}

/// The risk register: one scenario per present asset group and relevant threat, worst first.
pub fn register(
    inputs: &Inputs,
    scope: &BTreeMap<String, Option<bool>>,
    controls: &[ControlResult],
) -> Vec<RiskScenario> {
    let states: BTreeMap<&str, (ControlState, f32)> = controls
        .iter()
        .map(|c| (c.id.as_str(), (c.state, c.confidence)))
        .collect();
    let groups = present_groups(inputs, scope);
    let mut out = Vec::new();
    for t in &inputs.catalog.threats {
        for g in groups.iter().filter(|g| t.groups.iter().any(|x| x == g.id)) {
            out.push(scenario(inputs, t, g, &states));
        }
    }
    out.sort_by(|a, b| {
        b.residual_risk
            .cmp(&a.residual_risk)
            .then(b.inherent_risk.cmp(&a.inherent_risk))
            .then(a.id.cmp(&b.id))
    });
    out
}

fn due_for(inputs: &Inputs, risk: Level) -> (chrono::NaiveDate, String) {
    let rule = inputs.catalog.due.control.for_severity(risk.severity());
    (
        (inputs.assessed_at + Duration::days(rule.days)).date_naive(),
        rule.basis.clone(),
    )
}

/// The remediation plan.
pub fn plan(
    inputs: &Inputs,
    controls: &[ControlResult],
    register: &[RiskScenario],
) -> Vec<PlanAction> {
    let cat = inputs.catalog;
    let facts = inputs.facts;
    let owner_default = inputs
        .profile("security-official")
        .unwrap_or_else(|| "Security official".to_string());
    let mut actions: Vec<PlanAction> = Vec::new();
    let group_risk = |group: &str| {
        register
            .iter()
            .filter(|s| s.group == group)
            .map(|s| s.residual_risk)
            .max()
    };

    // Technical findings, one action per finding id.
    let mut by_finding: BTreeMap<&str, (Severity, &str, &str, Vec<&crate::evidence::AssetFact>)> =
        BTreeMap::new();
    for a in &facts.assets {
        for f in &a.findings {
            if f.severity < Severity::Medium {
                continue;
            }
            let e = by_finding.entry(f.id.as_str()).or_insert((
                f.severity,
                f.title.as_str(),
                f.fix.as_str(),
                Vec::new(),
            ));
            e.0 = e.0.max(f.severity);
            e.3.push(a);
        }
    }
    for (id, (sev, title, fix, assets)) in by_finding {
        let closes: Vec<String> = cat
            .controls
            .iter()
            .filter(|c| c.evidence.iter().any(|r| r.ids.iter().any(|x| x == id)))
            .map(|c| c.id.clone())
            .collect();
        // The finding's own severity sets its urgency, capped by the worst residual risk of the
        // groups it sits in (a weakness cannot be more urgent than the risks it feeds).
        let group_max = assets
            .iter()
            .filter_map(|a| cat.group_of(a.category).and_then(|g| group_risk(&g.id)))
            .max()
            .unwrap_or(Level::Low);
        let risk = severity_level(sev).min(group_max.max(Level::Moderate));
        let rule = cat.due.patch.for_severity(sev);
        let cpg = closes
            .iter()
            .any(|c| cat.control(c).is_some_and(Control::cpg_essential));
        actions.push(PlanAction {
            id: format!("finding:{id}"),
            rank: 0,
            title: title.to_string(),
            why: if fix.is_empty() {
                format!("Found by the network scan ({} severity).", sev.as_str())
            } else {
                format!(
                    "{fix} (found by the network scan, {} severity)",
                    sev.as_str()
                )
            },
            controls: closes,
            assets: assets.iter().map(|a| a.name.clone()).collect(),
            risk,
            cpg_essential: cpg,
            known_exploited: false,
            effort: "quick".into(),
            due: (inputs.assessed_at + Duration::days(rule.days)).date_naive(),
            due_basis: rule.basis.clone(),
            owner: owner_default.clone(),
            status: ActionStatus::Open,
            acceptance: None,
        });
    }

    // Known-exploited vulnerabilities, one action per CVE.
    let mut kev: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for v in facts.vulns.iter().filter(|v| v.kev) {
        kev.entry(v.id.as_str()).or_default().push(v.asset.as_str());
    }
    for (cve, assets) in kev {
        let names: Vec<String> = assets
            .iter()
            .map(|id| {
                facts
                    .assets
                    .iter()
                    .find(|a| a.identity == *id)
                    .map(|a| a.name.clone())
                    .unwrap_or_else(|| (*id).to_string())
            })
            .collect();
        let rule = &cat.due.patch.critical;
        actions.push(PlanAction {
            id: format!("kev:{cve}"),
            rank: 0,
            title: format!("Patch {cve}, which attackers are known to exploit"),
            why: "CISA lists this vulnerability as exploited in real attacks: apply the vendor's update or isolate the device.".into(),
            controls: vec!["C05".into()],
            assets: names,
            risk: Level::VeryHigh,
            cpg_essential: true,
            known_exploited: true,
            effort: "quick".into(),
            due: (inputs.assessed_at + Duration::days(rule.days)).date_naive(),
            due_basis: rule.basis.clone(),
            owner: owner_default.clone(),
            status: ActionStatus::Open,
            acceptance: None,
        });
    }

    // Control gaps.
    for c in controls.iter().filter(|c| c.state.is_gap()) {
        let Some(ctrl) = cat.control(&c.id) else {
            continue;
        };
        let risk = register
            .iter()
            .filter(|s| s.controls.iter().any(|(id, _)| *id == c.id))
            .map(|s| s.residual_risk)
            .max()
            .unwrap_or(Level::Low);
        let (due, basis) = due_for(inputs, risk);
        let verb = match c.state {
            ControlState::Unknown => "Find out and, if missing, put in place",
            ControlState::Partial => "Complete",
            _ => "Put in place",
        };
        actions.push(PlanAction {
            id: format!("control:{}", c.id),
            rank: 0,
            title: format!("{verb}: {}", c.title),
            why: format!("{} {}", c.plain, c.fix),
            controls: vec![c.id.clone()],
            assets: Vec::new(),
            risk,
            cpg_essential: c.cpg_essential,
            known_exploited: false,
            effort: ctrl.effort.clone(),
            due,
            due_basis: basis,
            owner: owner_default.clone(),
            status: ActionStatus::Open,
            acceptance: None,
        });
    }

    for a in &mut actions {
        if let Some(t) = inputs.tracking.iter().find(|t| t.action == a.id) {
            if let Some(o) = &t.owner {
                a.owner = o.clone();
            }
            let today = inputs.assessed_at.date_naive();
            match (t.status, &t.acceptance) {
                // Still detected as a gap, so a "done" mark from before does not hold: reopened.
                (ActionStatus::Done, _) => a.status = ActionStatus::Open,
                // An acceptance holds until its review date.
                (ActionStatus::Accepted, Some(acc)) if acc.review_by > today => {
                    a.status = ActionStatus::Accepted;
                    a.acceptance = Some(acc.clone());
                }
                (ActionStatus::Accepted, _) => a.status = ActionStatus::Open,
                (s, _) => a.status = s,
            }
        }
    }
    actions.sort_by(|a, b| {
        b.risk
            .cmp(&a.risk)
            .then(b.cpg_essential.cmp(&a.cpg_essential))
            .then(b.known_exploited.cmp(&a.known_exploited))
            .then(
                crate::catalog::effort_rank(&a.effort).cmp(&crate::catalog::effort_rank(&b.effort)),
            )
            .then(a.due.cmp(&b.due))
            .then(a.id.cmp(&b.id))
    });
    for (i, a) in actions.iter_mut().enumerate() {
        a.rank = u32::try_from(i + 1).unwrap_or(u32::MAX);
    }
    actions
}

/// Build the whole snapshot.
pub fn assess(inputs: &Inputs) -> AssessmentSnapshot {
    let cat = inputs.catalog;
    let facts = inputs.facts;
    let scope = scope(inputs);
    let controls = controls(inputs, &scope);
    let register = register(inputs, &scope, &controls);
    let plan = plan(inputs, &controls, &register);

    let mut totals = AssessmentTotals::default();
    for l in Level::ALL {
        totals.residual.insert(l.as_str().to_string(), 0);
    }
    for s in &register {
        *totals
            .residual
            .entry(s.residual_risk.as_str().to_string())
            .or_default() += 1;
    }
    let applicable: Vec<&ControlResult> = controls
        .iter()
        .filter(|c| c.state != ControlState::NotApplicable)
        .collect();
    totals.controls_total = u32::try_from(applicable.len()).unwrap_or(u32::MAX);
    totals.controls_in_place = u32::try_from(
        applicable
            .iter()
            .filter(|c| {
                matches!(
                    c.state,
                    ControlState::Implemented | ControlState::Alternative
                )
            })
            .count(),
    )
    .unwrap_or(u32::MAX);
    totals.open_actions = u32::try_from(
        plan.iter()
            .filter(|a| matches!(a.status, ActionStatus::Open | ActionStatus::InProgress))
            .count(),
    )
    .unwrap_or(u32::MAX);

    let practice = inputs
        .profile("practice-name")
        .unwrap_or_else(|| "The practice".to_string());
    let mut scope_text = vec![format!(
        "All electronic protected health information (ePHI) that {practice} creates, receives, maintains or transmits, and the systems, devices, vendors and people that handle it."
    )];
    for (id, v) in &scope {
        if let Some(s) = cat.scope.iter().find(|s| &s.id == id) {
            let word = match v {
                Some(true) => "yes",
                Some(false) => "no",
                None => "not known (treated as yes)",
            };
            scope_text.push(format!("{} {word}", s.text));
        }
    }
    let mut collection = Vec::new();
    match facts.last_scan {
        Some(at) => collection.push(format!(
            "Network discovery: {} scan(s), the newest on {}, listing {} device(s) with {} finding(s).",
            facts.scans,
            at.format("%Y-%m-%d"),
            facts.assets.len(),
            facts.assets.iter().map(|a| a.findings.len()).sum::<usize>()
        )),
        None => collection.push("Network discovery: no scan recorded; device questions were answered by the practice.".into()),
    }
    match facts.last_phi_scan {
        Some(at) => collection.push(format!(
            "Patient-data scan on {}: {} location(s) with patient data, {} unprotected (counts only; no patient values are stored or shown).",
            at.format("%Y-%m-%d"),
            facts.phi.len(),
            facts.phi.iter().filter(|p| p.unprotected).count()
        )),
        None => collection.push("Patient-data scan: none recorded; record counts are estimated from the practice's patient count.".into()),
    }
    if facts.sources.iter().any(|s| s == "intel") {
        collection.push(format!(
            "Vulnerability matching: {} match(es), {} on CISA's Known Exploited Vulnerabilities list.",
            facts.vulns.len(),
            facts.vulns.iter().filter(|v| v.kev).count()
        ));
    }
    if facts.sources.iter().any(|s| s == "alerts") {
        collection.push(format!(
            "Log detection: {} alert(s) considered.",
            facts.alerts.len()
        ));
    }
    let attested = inputs
        .answers
        .iter()
        .filter(|a| a.via != "evidence")
        .count();
    collection.push(format!(
        "Questionnaire: {attested} answer(s) given by the practice (self-attested, lower confidence than scan evidence)."
    ));

    let mut answers: Vec<Answer> = inputs.answers.to_vec();
    for a in scope_from_evidence(inputs) {
        if !answers.iter().any(|x| x.question == a.question) {
            answers.push(a);
        }
    }
    answers.sort_by(|a, b| a.question.cmp(&b.question));

    AssessmentSnapshot {
        id: inputs.id,
        practice,
        assessed_at: inputs.assessed_at,
        catalog_version: cat.version.clone(),
        scope: scope_text,
        data_collection: collection,
        controls,
        answers,
        register,
        plan,
        totals,
        frameworks: cat.framework_titles(),
        requirements: cat
            .frameworks
            .iter()
            .map(|f| {
                (
                    f.id.clone(),
                    f.requirements
                        .iter()
                        .map(|r| RequirementInfo {
                            id: r.id.clone(),
                            title: r.title.clone(),
                            kind: r.kind.clone(),
                        })
                        .collect(),
                )
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_is_monotonic() {
        for l in Level::ALL {
            for i in Level::ALL {
                for l2 in Level::ALL.iter().filter(|x| **x >= l) {
                    for i2 in Level::ALL.iter().filter(|x| **x >= i) {
                        assert!(risk_level(*l2, *i2) >= risk_level(l, i));
                    }
                }
            }
        }
        assert_eq!(
            risk_level(Level::VeryHigh, Level::VeryHigh),
            Level::VeryHigh
        );
        assert_eq!(risk_level(Level::Moderate, Level::High), Level::Moderate);
        assert_eq!(risk_level(Level::VeryLow, Level::VeryHigh), Level::Low);
    }

    #[test]
    fn records_levels() {
        assert_eq!(records_level(0), Level::VeryLow);
        assert_eq!(records_level(49), Level::Low);
        assert_eq!(records_level(499), Level::Moderate);
        assert_eq!(records_level(500), Level::High);
        assert_eq!(records_level(10_000), Level::VeryHigh);
    }
}
