//! Risk reports, drawn from the latest immutable assessment snapshot (and earlier ones for trends):
//!
//! - `risk-analysis`: the analysis with the elements regulators expect (scope, data collection,
//!   threats and vulnerabilities, current controls, likelihood, impact, risk level, documentation,
//!   periodic review) plus the risk management plan;
//! - `executive`: a one-pager in plain words with a few charts;
//! - `insurer`: the usual cyber-insurance questions answered with dated evidence;
//! - `hicp`: HICP 2023 small-practice and HPH CPG scorecards;
//! - `nprm-readiness`: readiness for the proposed Security Rule update.
//!
//! Each kind renders to the single-file HTML page (via [`crate::render_page`]) and to PDF
//! ([`pdf`]). Snapshots hold counts and masked locations only, so reports never show patient data.

pub mod doc;
pub mod pdf;

use crate::{Section, esc};
use doc::{Block, Doc, Part};
use medguard_model::risk::{
    ActionStatus, AssessmentSnapshot, ControlResult, ControlState, Level, PlanAction,
};
use medguard_store::{RiskStore, SqliteStore, StoreError};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Which risk report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    RiskAnalysis,
    Executive,
    Insurer,
    Hicp,
    NprmReadiness,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 5] = [
        Kind::RiskAnalysis,
        Kind::Executive,
        Kind::Insurer,
        Kind::Hicp,
        Kind::NprmReadiness,
    ];

    /// Stable identifier (`--kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::RiskAnalysis => "risk-analysis",
            Kind::Executive => "executive",
            Kind::Insurer => "insurer",
            Kind::Hicp => "hicp",
            Kind::NprmReadiness => "nprm-readiness",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Kind::RiskAnalysis => "HIPAA Security Risk Analysis",
            Kind::Executive => "Security at a glance",
            Kind::Insurer => "Cyber insurance readiness",
            Kind::Hicp => "HICP and HPH CPG scorecard",
            Kind::NprmReadiness => "Readiness for the proposed HIPAA Security Rule update",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown `--kind`.
#[derive(Debug, thiserror::Error)]
#[error(
    "unknown report kind {0:?} (expected risk-analysis, executive, insurer, hicp or nprm-readiness)"
)]
pub struct UnknownKind(pub String);

impl FromStr for Kind {
    type Err = UnknownKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownKind(s.to_string()))
    }
}

/// Errors rendering a risk report.
#[derive(Debug, thiserror::Error)]
pub enum RiskReportError {
    #[error("read the risk assessment")]
    Store(#[from] StoreError),
    #[error("render the {0} report: there is no risk assessment yet (run `medguard assess` first)")]
    NoAssessment(Kind),
}

fn level_color(l: Level) -> &'static str {
    crate::severity_color(l.severity())
}

fn is_met(s: ControlState) -> bool {
    matches!(
        s,
        ControlState::Implemented | ControlState::Alternative | ControlState::NotApplicable
    )
}

/// How a framework requirement stands, from the controls mapped to it.
fn requirement_status(controls: &[&ControlResult]) -> &'static str {
    if controls.is_empty() {
        return "Not assessed";
    }
    let met = controls.iter().filter(|c| is_met(c.state)).count();
    if met == controls.len() {
        "Met"
    } else if met > 0 || controls.iter().any(|c| c.state == ControlState::Partial) {
        "Partly"
    } else if controls.iter().all(|c| c.state == ControlState::Unknown) {
        "Unknown"
    } else {
        "Not met"
    }
}

fn mapped<'a>(s: &'a AssessmentSnapshot, fw: &str, id: &str) -> Vec<&'a ControlResult> {
    s.controls
        .iter()
        .filter(|c| {
            c.mappings
                .get(fw)
                .is_some_and(|ids| ids.iter().any(|x| x == id))
        })
        .collect()
}

/// The evidence that explains the control's state: for a gap, the most damning item; otherwise
/// the freshest.
fn evidence_line(c: &ControlResult) -> String {
    let pick = if c.state.is_gap() {
        c.evidence
            .iter()
            .filter(|e| e.fresh)
            .min_by_key(|e| e.state)
    } else {
        c.evidence.first()
    };
    match pick {
        Some(e) => format!(
            "{} ({}, {})",
            e.summary,
            e.source.as_str(),
            e.observed_at.format("%Y-%m-%d")
        ),
        None => "no evidence and no answer yet".into(),
    }
}

fn counts(s: &AssessmentSnapshot, l: Level) -> u32 {
    s.totals.residual.get(l.as_str()).copied().unwrap_or(0)
}

fn headline(s: &AssessmentSnapshot, plan: &[PlanAction]) -> Vec<String> {
    let severe = counts(s, Level::VeryHigh) + counts(s, Level::High);
    let mut out = vec![if severe == 0 {
        format!(
            "No high risks remain in the {} risk scenarios assessed on {}.",
            s.register.len(),
            s.assessed_at.format("%Y-%m-%d")
        )
    } else {
        format!(
            "{severe} of {} risk scenarios are high or very high and need action (assessed {}).",
            s.register.len(),
            s.assessed_at.format("%Y-%m-%d")
        )
    }];
    out.push(format!(
        "{} of {} safeguards are fully in place.",
        s.totals.controls_in_place, s.totals.controls_total
    ));
    if let Some(a) = plan
        .iter()
        .find(|a| matches!(a.status, ActionStatus::Open | ActionStatus::InProgress))
    {
        out.push(format!("Most urgent: {} (by {}).", a.title, a.due));
    }
    out
}

fn plan_table(plan: &[PlanAction], limit: usize) -> Block {
    Block::Table {
        head: vec![
            "#".into(),
            "Action".into(),
            "Risk".into(),
            "Due".into(),
            "Owner".into(),
            "Status".into(),
        ],
        rows: plan
            .iter()
            .take(limit)
            .map(|a| {
                vec![
                    a.rank.to_string(),
                    a.title.clone(),
                    a.risk.plain().to_string(),
                    a.due.to_string(),
                    a.owner.clone(),
                    match &a.acceptance {
                        Some(acc) => format!(
                            "accepted by {} until {}: {}",
                            acc.owner, acc.review_by, acc.reason
                        ),
                        None => a.status.as_str().to_string(),
                    },
                ]
            })
            .collect(),
    }
}

fn trend(history: &[AssessmentSnapshot]) -> Option<Block> {
    if history.len() < 2 {
        return None;
    }
    Some(Block::Table {
        head: vec![
            "Assessed".into(),
            "Safeguards in place".into(),
            "Very high".into(),
            "High".into(),
            "Moderate".into(),
            "Low or very low".into(),
            "Open actions".into(),
        ],
        rows: history
            .iter()
            .map(|s| {
                vec![
                    s.assessed_at.format("%Y-%m-%d").to_string(),
                    format!(
                        "{} of {}",
                        s.totals.controls_in_place, s.totals.controls_total
                    ),
                    counts(s, Level::VeryHigh).to_string(),
                    counts(s, Level::High).to_string(),
                    counts(s, Level::Moderate).to_string(),
                    (counts(s, Level::Low) + counts(s, Level::VeryLow)).to_string(),
                    s.totals.open_actions.to_string(),
                ]
            })
            .collect(),
    })
}

fn risk_bars(s: &AssessmentSnapshot) -> Block {
    Block::Bars {
        title: "Risk scenarios by residual risk".into(),
        items: Level::ALL
            .iter()
            .rev()
            .map(|l| {
                (
                    l.plain().to_string(),
                    f64::from(counts(s, *l)),
                    level_color(*l),
                )
            })
            .collect(),
    }
}

fn control_bars(s: &AssessmentSnapshot) -> Block {
    let mut by: BTreeMap<ControlState, u32> = BTreeMap::new();
    for c in &s.controls {
        *by.entry(c.state).or_default() += 1;
    }
    let order = [
        (ControlState::Implemented, "#2e7d32"),
        (ControlState::Alternative, "#558b2f"),
        (ControlState::Partial, "#f9a825"),
        (ControlState::Unknown, "#607d8b"),
        (ControlState::NotImplemented, "#b00020"),
        (ControlState::NotApplicable, "#9e9e9e"),
    ];
    Block::Bars {
        title: "Safeguards".into(),
        items: order
            .iter()
            .map(|(st, c)| {
                (
                    st.plain().to_string(),
                    f64::from(by.get(st).copied().unwrap_or(0)),
                    *c,
                )
            })
            .collect(),
    }
}

fn scorecard(s: &AssessmentSnapshot, fw: &str, filter: Option<&str>) -> (Block, usize, usize) {
    let reqs = s.requirements.get(fw).cloned().unwrap_or_default();
    let mut met = 0;
    let mut total = 0;
    let rows: Vec<Vec<String>> = reqs
        .iter()
        .filter(|r| filter.is_none_or(|f| r.kind.as_deref() == Some(f)))
        .map(|r| {
            let cs = mapped(s, fw, &r.id);
            let status = requirement_status(&cs);
            total += 1;
            if status == "Met" {
                met += 1;
            }
            let gaps: Vec<String> = cs
                .iter()
                .filter(|c| !is_met(c.state))
                .map(|c| format!("{} {}", c.id, c.title))
                .collect();
            vec![
                r.id.clone(),
                r.title.clone(),
                status.to_string(),
                if gaps.is_empty() {
                    cs.iter()
                        .map(|c| c.id.clone())
                        .collect::<Vec<_>>()
                        .join(", ")
                } else {
                    format!("to do: {}", gaps.join("; "))
                },
            ]
        })
        .collect();
    (
        Block::Table {
            head: vec![
                "Id".into(),
                "Requirement".into(),
                "Status".into(),
                "Safeguards".into(),
            ],
            rows,
        },
        met,
        total,
    )
}

/// Build the document for a kind.
pub fn build(
    kind: Kind,
    s: &AssessmentSnapshot,
    plan: &[PlanAction],
    history: &[AssessmentSnapshot],
) -> Doc {
    let subtitle = format!(
        "{}, assessment {} of {} (catalog {})",
        s.practice,
        s.id,
        s.assessed_at.format("%Y-%m-%d"),
        s.catalog_version
    );
    let mut parts = Vec::new();
    match kind {
        Kind::RiskAnalysis => {
            parts.push(Part {
                id: "ra-scope",
                title: "1. Scope".into(),
                blocks: vec![
                    Block::Para(s.scope.first().cloned().unwrap_or_default()),
                    Block::Bullets(s.scope.iter().skip(1).cloned().collect()),
                ],
            });
            parts.push(Part {
                id: "ra-data",
                title: "2. Data collection".into(),
                blocks: vec![Block::Bullets(s.data_collection.clone())],
            });
            let mut threats = Vec::new();
            for r in &s.register {
                if !r.vulnerabilities.is_empty() {
                    threats.push(format!(
                        "{} / {}: {}",
                        r.group_title,
                        r.threat_title,
                        r.vulnerabilities.join("; ")
                    ));
                }
            }
            parts.push(Part {
                id: "ra-threats",
                title: "3. Threats and vulnerabilities".into(),
                blocks: vec![
                    Block::Para(format!(
                        "{} scenarios pair each part of the practice with the threats that apply to it (HICP 2023's five threats and NIST SP 800-30 threat events). Weaknesses found by medguard's scans:",
                        s.register.len()
                    )),
                    if threats.is_empty() {
                        Block::Para("No technical weaknesses were found by the scans.".into())
                    } else {
                        Block::Bullets(threats)
                    },
                ],
            });
            parts.push(Part {
                id: "ra-controls",
                title: "4. Current security measures".into(),
                blocks: vec![
                    control_bars(s),
                    Block::Table {
                        head: vec![
                            "Id".into(),
                            "Safeguard".into(),
                            "State".into(),
                            "Confidence".into(),
                            "Evidence".into(),
                        ],
                        rows: s
                            .controls
                            .iter()
                            .map(|c| {
                                vec![
                                    c.id.clone(),
                                    c.title.clone(),
                                    c.state.plain().to_string(),
                                    format!("{:.0}%", c.confidence * 100.0),
                                    match &c.note {
                                        Some(n) => format!("{}. Note: {n}", evidence_line(c)),
                                        None => evidence_line(c),
                                    },
                                ]
                            })
                            .collect(),
                    },
                ],
            });
            parts.push(Part {
                id: "ra-likelihood",
                title: "5. Likelihood, 6. Impact and 7. Level of risk".into(),
                blocks: vec![
                    Block::Para("Likelihood and impact use the five-level scale of NIST SP 800-30 Rev. 1; the level of risk comes from its Table I-2. Inherent risk assumes no safeguards; residual risk counts the safeguards in place. Likelihood rises with evidence of exposure (weaknesses, known-exploited vulnerabilities, unprotected patient data, alerts); impact reflects patient records at stake, how critical the systems are, and patient safety.".into()),
                    risk_bars(s),
                    Block::Table {
                        head: vec![
                            "Scenario".into(),
                            "Likelihood".into(),
                            "Impact".into(),
                            "Inherent".into(),
                            "Residual".into(),
                            "Why".into(),
                        ],
                        rows: s
                            .register
                            .iter()
                            .map(|r| {
                                vec![
                                    format!("{}: {}", r.group_title, r.threat_title),
                                    r.residual_likelihood.plain().to_string(),
                                    r.impact.plain().to_string(),
                                    r.inherent_risk.plain().to_string(),
                                    r.residual_risk.plain().to_string(),
                                    format!("{} (confidence {:.0}%)", r.rationale, r.confidence * 100.0),
                                ]
                            })
                            .collect(),
                    },
                ],
            });
            parts.push(Part {
                id: "ra-plan",
                title: "Risk management plan".into(),
                blocks: vec![
                    Block::Para("Actions in order of residual risk, essential goals, known-exploited exposure and effort (quick wins first). Due dates follow the proposed rule's patch windows where they apply.".into()),
                    plan_table(plan, plan.len()),
                ],
            });
            let mut doc_blocks = vec![Block::Bullets(vec![
                format!(
                    "Assessment {} finished {} and stored as an immutable record; keep it for at least six years (45 CFR 164.316(b)(2)(i)).",
                    s.id,
                    s.assessed_at.format("%Y-%m-%d %H:%M UTC")
                ),
                format!(
                    "Catalog version {}; {} answers recorded (questionnaire answers are self-attested).",
                    s.catalog_version,
                    s.answers.len()
                ),
            ])];
            let dk: Vec<String> = s
                .answers
                .iter()
                .filter(|a| a.value == medguard_model::risk::AnswerValue::DontKnow)
                .map(|a| match &a.note {
                    Some(n) => format!("{}: {n}", a.question),
                    None => a.question.clone(),
                })
                .collect();
            if !dk.is_empty() {
                doc_blocks.push(Block::Sub(
                    "Answered \"don't know\" (treated as gaps)".into(),
                ));
                doc_blocks.push(Block::Bullets(dk));
            }
            parts.push(Part {
                id: "ra-doc",
                title: "8. Documentation".into(),
                blocks: doc_blocks,
            });
            let next = s.assessed_at + chrono::Duration::days(365);
            let mut review = vec![Block::Para(format!(
                "Review this analysis by {} or sooner when systems, vendors or the office change (proposed 45 CFR 164.308(a)(2) asks for at least every 12 months).",
                next.format("%Y-%m-%d")
            ))];
            if let Some(t) = trend(history) {
                review.push(Block::Sub("Trend".into()));
                review.push(t);
            }
            parts.push(Part {
                id: "ra-review",
                title: "9. Periodic review and update".into(),
                blocks: review,
            });
        }
        Kind::Executive => {
            let severe = counts(s, Level::VeryHigh) + counts(s, Level::High);
            parts.push(Part {
                id: "ex-figures",
                title: "Where the practice stands".into(),
                blocks: vec![
                    Block::Cards(vec![
                        (severe.to_string(), "high or very high risks".into()),
                        (
                            format!("{}/{}", s.totals.controls_in_place, s.totals.controls_total),
                            "safeguards in place".into(),
                        ),
                        (s.totals.open_actions.to_string(), "open actions".into()),
                    ]),
                    risk_bars(s),
                    control_bars(s),
                ],
            });
            parts.push(Part {
                id: "ex-top",
                title: "The five things to do next".into(),
                blocks: vec![Block::Bullets(
                    plan.iter()
                        .filter(|a| {
                            matches!(a.status, ActionStatus::Open | ActionStatus::InProgress)
                        })
                        .take(5)
                        .map(|a| format!("{} — by {} ({}). {}", a.title, a.due, a.owner, a.why))
                        .collect(),
                )],
            });
            let worst: Vec<String> = s
                .register
                .iter()
                .take(3)
                .map(|r| {
                    format!(
                        "{}: {} ({} risk). {}",
                        r.group_title,
                        r.threat_title,
                        r.residual_risk.plain().to_lowercase(),
                        r.rationale
                    )
                })
                .collect();
            parts.push(Part {
                id: "ex-risks",
                title: "The biggest risks".into(),
                blocks: vec![Block::Bullets(worst)],
            });
            if let Some(t) = trend(history) {
                parts.push(Part {
                    id: "ex-trend",
                    title: "Progress since earlier assessments".into(),
                    blocks: vec![t],
                });
            }
        }
        Kind::Insurer => {
            let reqs = s.requirements.get("insurance").cloned().unwrap_or_default();
            let rows = reqs
                .iter()
                .map(|r| {
                    let cs = mapped(s, "insurance", &r.id);
                    let answer = match requirement_status(&cs) {
                        "Met" => "Yes",
                        "Partly" => "Partly",
                        "Unknown" | "Not assessed" => "Unknown",
                        _ => "No",
                    };
                    let ev: Vec<String> = cs
                        .iter()
                        .map(|c| format!("{}: {}", c.id, evidence_line(c)))
                        .collect();
                    vec![r.title.clone(), answer.to_string(), ev.join(" | ")]
                })
                .collect();
            parts.push(Part {
                id: "ins-answers",
                title: "Typical application questions, answered with evidence".into(),
                blocks: vec![
                    Block::Para("Answers come from the latest assessment: network scans and vulnerability matching where medguard can see, the practice's own answers elsewhere (marked as attestation). Carrier forms differ; use these as a prepared, dated source.".into()),
                    Block::Table {
                        head: vec!["Question".into(), "Answer".into(), "Evidence (source, date)".into()],
                        rows,
                    },
                ],
            });
        }
        Kind::Hicp => {
            let (hicp, hm, ht) = scorecard(s, "hicp", None);
            let (ess, em, et) = scorecard(s, "cpg", Some("essential"));
            let (enh, nm, nt) = scorecard(s, "cpg", Some("enhanced"));
            parts.push(Part {
                id: "hicp-summary",
                title: "Summary".into(),
                blocks: vec![
                    Block::Cards(vec![
                        (format!("{hm}/{ht}"), "HICP small-practice sub-practices met".into()),
                        (format!("{em}/{et}"), "CPG essential goals met".into()),
                        (format!("{nm}/{nt}"), "CPG enhanced goals met".into()),
                    ]),
                    Block::Para("HICP is a recognized security practice: under Pub. L. 116-321, HHS considers practices in place for the prior 12 months when deciding fines and audits. This dated assessment is evidence of adoption.".into()),
                ],
            });
            parts.push(Part {
                id: "hicp-table",
                title: "HICP 2023, Technical Volume 1 (small practices)".into(),
                blocks: vec![hicp],
            });
            parts.push(Part {
                id: "cpg-essential",
                title: "HPH Cybersecurity Performance Goals: essential".into(),
                blocks: vec![ess],
            });
            parts.push(Part {
                id: "cpg-enhanced",
                title: "HPH Cybersecurity Performance Goals: enhanced".into(),
                blocks: vec![enh],
            });
        }
        Kind::NprmReadiness => {
            let (table, met, total) = scorecard(s, "nprm", None);
            parts.push(Part {
                id: "nprm-summary",
                title: "Summary".into(),
                blocks: vec![
                    Block::Cards(vec![(format!("{met}/{total}"), "proposed requirements met".into())]),
                    Block::Para("The HIPAA Security Rule update proposed on 6 January 2025 (90 FR 898) is not final. If finalized, practices would have 180 days to comply. It would make every safeguard required, require everything in writing, and set cadences: inventory and network map yearly, vulnerability scans every 6 months, penetration tests yearly, critical patches within 15 days, access removed within 1 hour, backups no older than 48 hours, restore within 72 hours.".into()),
                ],
            });
            parts.push(Part {
                id: "nprm-table",
                title: "Proposed requirements".into(),
                blocks: vec![table],
            });
        }
    }
    Doc {
        title: format!("{}: {}", kind.title(), s.practice),
        subtitle,
        headline: headline(s, plan),
        parts,
    }
}

fn load(
    store: &SqliteStore,
    kind: Kind,
) -> Result<(AssessmentSnapshot, Vec<PlanAction>, Vec<AssessmentSnapshot>), RiskReportError> {
    let history = store.snapshots()?;
    let Some(snap) = history.last().cloned() else {
        return Err(RiskReportError::NoAssessment(kind));
    };
    let tracking = store.action_tracking()?;
    let mut plan = snap.plan.clone();
    for a in &mut plan {
        if let Some(t) = tracking
            .iter()
            .find(|t| t.action == a.id && t.updated_at >= snap.assessed_at)
        {
            a.status = t.status;
            if let Some(o) = &t.owner {
                a.owner = o.clone();
            }
            a.acceptance = t.acceptance.clone();
        }
    }
    Ok((snap, plan, history))
}

const EXTRA_CSS: &str = "<style>.sev-ok{background:#2e7d32}</style>";

/// Render a risk report kind as a single-file HTML page.
pub fn render(kind: Kind, store: &SqliteStore) -> Result<String, RiskReportError> {
    let (snap, plan, history) = load(store, kind)?;
    let doc = build(kind, &snap, &plan, &history);
    Ok(html(&doc))
}

/// The HTML page for a document.
pub fn html(doc: &Doc) -> String {
    let mut sections: Vec<Section> = Vec::new();
    for (i, p) in doc.parts.iter().enumerate() {
        let mut body = String::new();
        if i == 0 {
            body.push_str(EXTRA_CSS);
            body.push_str(&format!("<p class=\"meta\">{}</p>", esc(&doc.subtitle)));
        }
        body.push_str(&doc::blocks_html(&p.blocks));
        sections.push(Section {
            id: p.id,
            title: p.title.clone(),
            headline: if i == 0 {
                doc.headline.clone()
            } else {
                Vec::new()
            },
            html: body,
        });
    }
    crate::render_page(&doc.title, &sections)
}

/// Render a risk report kind as PDF.
pub fn render_pdf(kind: Kind, store: &SqliteStore) -> Result<Vec<u8>, RiskReportError> {
    let (snap, plan, history) = load(store, kind)?;
    let doc = build(kind, &snap, &plan, &history);
    Ok(pdf::render(
        &doc,
        &snap.assessed_at.format("%Y%m%d%H%M%S").to_string(),
    ))
}

/// The risk section of the main report: headline and the top of the register and plan.
pub fn section(store: &SqliteStore) -> Result<Option<Section>, StoreError> {
    let Some(snap) = store.latest_snapshot()? else {
        return Ok(None);
    };
    let plan = snap.plan.clone();
    let blocks = vec![
        risk_bars(&snap),
        Block::Sub("Top actions".into()),
        plan_table(&plan, 8),
        Block::Para("Full reports: medguard report --html FILE --kind risk-analysis | executive | insurer | hicp | nprm-readiness.".into()),
    ];
    Ok(Some(Section {
        id: "risk",
        title: "HIPAA risk analysis".into(),
        headline: headline(&snap, &plan).into_iter().take(2).collect(),
        html: format!("{EXTRA_CSS}{}", doc::blocks_html(&blocks)),
    }))
}

#[cfg(test)]
mod tests;
