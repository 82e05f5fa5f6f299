//! Breach notification decision support (45 CFR 164.400-414): for a recorded incident, walk the
//! presumption of breach, the encryption safe harbor, the statutory exceptions and the four-factor
//! low-probability-of-compromise assessment, then list the notices and their deadlines.
//!
//! Decision support, not legal advice: every step names its citation so counsel can check it.
//!
//! The incident file:
//! ```toml
//! title = "Laptop stolen from a car"
//! discovered = 2026-11-20
//! entity = "covered-entity"          # or "business-associate"
//! phi_involved = true
//! secured = true                     # encrypted/destroyed per HHS guidance
//! key_compromised = false
//! exception = "none"                 # or an exception id from data/risk/breach.toml
//! [factors]                          # low | high | unknown, one per factor id
//! nature-extent = "high"
//! recipient = "high"
//! acquired-viewed = "unknown"
//! mitigation = "high"
//! [affected]                         # residents affected, by state or jurisdiction
//! TX = 320
//! CA = 14
//! ```

use crate::catalog::{BreachRules, Catalog, Cited};
use crate::diag::Diagnostic;
use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The largest incident file accepted.
pub const MAX_BYTES: usize = 256 * 1024;

/// Problems with an incident file.
#[derive(Debug, thiserror::Error)]
pub enum IncidentError {
    #[error("read the incident file\n{0}")]
    Invalid(Box<Diagnostic>),
    #[error("read the incident file {file}: it is larger than {MAX_BYTES} bytes")]
    TooLarge { file: String },
}

/// A factor rating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rating {
    Low,
    High,
    Unknown,
}

/// Who discovered the incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Entity {
    CoveredEntity,
    BusinessAssociate,
}

/// The facts of an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Incident {
    pub title: String,
    /// The first day the incident was known (or should have been known) to anyone at the practice.
    #[serde(deserialize_with = "de_date")]
    pub discovered: NaiveDate,
    #[serde(default = "default_entity")]
    pub entity: Entity,
    pub phi_involved: bool,
    #[serde(default)]
    pub secured: bool,
    #[serde(default)]
    pub key_compromised: bool,
    #[serde(default)]
    pub exception: Option<String>,
    #[serde(default)]
    pub factors: BTreeMap<String, Rating>,
    #[serde(default)]
    pub affected: BTreeMap<String, u64>,
    #[serde(default)]
    pub notes: Option<String>,
}

/// A TOML date (`2026-11-20`) or a string holding one.
fn de_date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    use serde::de::Error;
    let text = match toml::Value::deserialize(d)? {
        toml::Value::Datetime(dt) => match (dt.date, dt.time) {
            (Some(date), None) => date.to_string(),
            _ => {
                return Err(D::Error::custom(
                    "expected a date like 2026-11-20, without a time",
                ));
            }
        },
        toml::Value::String(s) => s,
        _ => return Err(D::Error::custom("expected a date like 2026-11-20")),
    };
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| D::Error::custom(format!("{text:?} is not a date like 2026-11-20")))
}

fn default_entity() -> Entity {
    Entity::CoveredEntity
}

/// The conclusion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Conclusion {
    /// No PHI involved: the Breach Notification Rule does not apply.
    NoPhi,
    /// Secured PHI (safe harbor): no notification required.
    SafeHarbor,
    /// A statutory exception applies.
    Exception,
    /// The four-factor assessment shows a low probability of compromise.
    LowProbability,
    /// A reportable breach of unsecured PHI.
    Breach,
}

impl Conclusion {
    /// Words for people.
    pub fn plain(self) -> &'static str {
        match self {
            Conclusion::NoPhi => {
                "No patient information involved: HIPAA breach notification does not apply."
            }
            Conclusion::SafeHarbor => {
                "The information was secured (encrypted or destroyed per HHS guidance) and the key was not compromised: no HIPAA notification is required. Document this decision."
            }
            Conclusion::Exception => {
                "A statutory exception applies: no HIPAA notification is required. Document this decision."
            }
            Conclusion::LowProbability => {
                "The four-factor assessment shows a low probability that the information was compromised: no HIPAA notification is required. Keep the assessment for six years."
            }
            Conclusion::Breach => {
                "This is a reportable breach of unsecured patient information: notify as listed below."
            }
        }
    }
}

/// One step of the reasoning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub question: String,
    pub answer: String,
    pub citation: String,
}

/// A notice to send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Obligation {
    pub id: String,
    pub recipient: String,
    pub deadline: NaiveDate,
    pub text: String,
    pub citation: String,
}

/// A state-law note (seed data with its review date).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateObligation {
    pub state: String,
    pub affected: u64,
    pub deadline: NaiveDate,
    pub text: String,
    pub citation: String,
    pub reviewed: String,
}

/// The decision support result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub title: String,
    pub discovered: NaiveDate,
    pub conclusion: Conclusion,
    pub summary: String,
    pub steps: Vec<Step>,
    pub total_affected: u64,
    pub notices: Vec<Obligation>,
    pub state_notes: Vec<StateObligation>,
    pub records: Vec<Cited>,
    pub disclaimer: String,
    pub catalog_version: String,
}

/// Parse and validate an incident file.
pub fn parse(file: &str, text: &str, catalog: &Catalog) -> Result<Incident, IncidentError> {
    if text.len() > MAX_BYTES {
        return Err(IncidentError::TooLarge {
            file: file.to_string(),
        });
    }
    let inc: Incident = toml::from_str(text)
        .map_err(|e| IncidentError::Invalid(Box::new(Diagnostic::from_toml(file, text, &e))))?;
    let rules = &catalog.breach;
    let bad = |needle: &str, msg: String| {
        IncidentError::Invalid(Box::new(Diagnostic::find(file, text, needle, &msg)))
    };
    if inc.title.trim().is_empty() || inc.title.len() > 500 {
        return Err(bad("title", "title must be 1 to 500 characters".into()));
    }
    if let Some(e) = &inc.exception
        && e != "none"
        && !rules.exception.iter().any(|x| &x.id == e)
    {
        let known: Vec<&str> = rules.exception.iter().map(|x| x.id.as_str()).collect();
        return Err(bad(
            "exception",
            format!(
                "unknown exception {e:?} (known: none, {})",
                known.join(", ")
            ),
        ));
    }
    for k in inc.factors.keys() {
        if !rules.factor.iter().any(|f| &f.id == k) {
            let known: Vec<&str> = rules.factor.iter().map(|f| f.id.as_str()).collect();
            return Err(bad(
                k,
                format!("unknown factor {k:?} (known: {})", known.join(", ")),
            ));
        }
    }
    for s in inc.affected.keys() {
        let ok = (2..=3).contains(&s.len()) && s.chars().all(|c| c.is_ascii_uppercase());
        if !ok {
            return Err(bad(
                s,
                format!(
                    "{s:?} is not a state or jurisdiction code (use two capital letters, e.g. TX)"
                ),
            ));
        }
    }
    Ok(inc)
}

fn add_days(d: NaiveDate, days: i64) -> NaiveDate {
    d.checked_add_signed(Duration::days(days))
        .unwrap_or(NaiveDate::MAX)
}

/// Decide.
pub fn decide(inc: &Incident, catalog: &Catalog) -> Decision {
    let rules: &BreachRules = &catalog.breach;
    let mut steps = Vec::new();
    let total: u64 = inc
        .affected
        .values()
        .fold(0u64, |a, b| a.saturating_add(*b));
    let finish = |conclusion: Conclusion, steps: Vec<Step>| {
        let mut notices = Vec::new();
        let mut state_notes = Vec::new();
        if conclusion == Conclusion::Breach {
            for n in &rules.notice {
                let applies = match n.applies.as_str() {
                    "always" => inc.entity == Entity::CoveredEntity,
                    "state-over-500" => {
                        inc.entity == Entity::CoveredEntity
                            && inc.affected.values().any(|v| *v > 500)
                    }
                    "total-500-or-more" => inc.entity == Entity::CoveredEntity && total >= 500,
                    "total-under-500" => inc.entity == Entity::CoveredEntity && total < 500,
                    "business-associate" => inc.entity == Entity::BusinessAssociate,
                    _ => false,
                };
                if !applies {
                    continue;
                }
                let deadline = match (n.days_after_discovery, n.days_after_year_end) {
                    (Some(d), _) => add_days(inc.discovered, d),
                    (None, Some(d)) => {
                        let year_end = NaiveDate::from_ymd_opt(inc.discovered.year(), 12, 31)
                            .unwrap_or(inc.discovered);
                        add_days(year_end, d)
                    }
                    (None, None) => inc.discovered,
                };
                let mut recipient = n.recipient.clone();
                if n.id == "media" {
                    let states: Vec<&str> = inc
                        .affected
                        .iter()
                        .filter(|(_, v)| **v > 500)
                        .map(|(k, _)| k.as_str())
                        .collect();
                    recipient = format!("{recipient}: {}", states.join(", "));
                }
                notices.push(Obligation {
                    id: n.id.clone(),
                    recipient,
                    deadline,
                    text: n.text.clone(),
                    citation: n.citation.clone(),
                });
            }
            for (state, count) in &inc.affected {
                if let Some(r) = rules.state.iter().find(|r| &r.state == state)
                    && *count >= r.threshold
                {
                    state_notes.push(StateObligation {
                        state: state.clone(),
                        affected: *count,
                        deadline: add_days(inc.discovered, r.deadline_days),
                        text: r.text.clone(),
                        citation: r.citation.clone(),
                        reviewed: r.reviewed.clone(),
                    });
                }
            }
            notices.sort_by(|a, b| a.deadline.cmp(&b.deadline).then(a.id.cmp(&b.id)));
        }
        let mut summary = conclusion.plain().to_string();
        if conclusion == Conclusion::Breach {
            if let Some(first) = notices.iter().map(|n| n.deadline).min() {
                summary.push_str(&format!(" The first deadline is {first}."));
            }
            let uncovered: Vec<&str> = inc
                .affected
                .keys()
                .filter(|s| !rules.state.iter().any(|r| &r.state == *s))
                .map(String::as_str)
                .collect();
            if !uncovered.is_empty() {
                summary.push_str(&format!(
                    " Check state law for {} (not in medguard's state table).",
                    uncovered.join(", ")
                ));
            }
        }
        Decision {
            title: inc.title.clone(),
            discovered: inc.discovered,
            conclusion,
            summary,
            steps,
            total_affected: total,
            notices,
            state_notes,
            records: rules.record.clone(),
            disclaimer: "Decision support only, not legal advice. Confirm the conclusion with counsel; state laws may require notice even when HIPAA does not.".into(),
            catalog_version: catalog.version.clone(),
        }
    };

    steps.push(Step {
        question: "Was protected health information involved?".into(),
        answer: if inc.phi_involved { "yes" } else { "no" }.into(),
        citation: "45 CFR 164.402 (definition of breach)".into(),
    });
    if !inc.phi_involved {
        return finish(Conclusion::NoPhi, steps);
    }
    let secured = inc.secured && !inc.key_compromised;
    steps.push(Step {
        question: "Was the information secured (encrypted or destroyed per HHS guidance) with the key not compromised?".into(),
        answer: match (inc.secured, inc.key_compromised) {
            (true, false) => "yes".into(),
            (true, true) => "no: encrypted, but the key was compromised too".into(),
            _ => "no".into(),
        },
        citation: rules.safe_harbor.citation.clone(),
    });
    if secured {
        return finish(Conclusion::SafeHarbor, steps);
    }
    if let Some(e) = inc
        .exception
        .as_ref()
        .and_then(|id| rules.exception.iter().find(|x| &x.id == id))
    {
        steps.push(Step {
            question: "Does a statutory exception apply?".into(),
            answer: format!("yes: {}", e.text),
            citation: e.citation.clone(),
        });
        return finish(Conclusion::Exception, steps);
    }
    steps.push(Step {
        question: "Does a statutory exception apply?".into(),
        answer: "no".into(),
        citation: "45 CFR 164.402 (definition of breach, paragraph (1))".into(),
    });
    let mut all_low = true;
    for f in &rules.factor {
        let r = inc.factors.get(&f.id).copied().unwrap_or(Rating::Unknown);
        if r != Rating::Low {
            all_low = false;
        }
        steps.push(Step {
            question: f.text.clone(),
            answer: match r {
                Rating::Low => format!("low: {}", f.low),
                Rating::High => format!("high: {}", f.high),
                Rating::Unknown => {
                    "not established: treated as high (the burden of proof is on the practice)"
                        .into()
                }
            },
            citation: f.citation.clone(),
        });
    }
    steps.push(Step {
        question: "Does the assessment show a low probability of compromise?".into(),
        answer: if all_low {
            "yes: every factor is low".into()
        } else {
            "no: at least one factor is high or not established, so the breach presumption stands"
                .into()
        },
        citation: rules.presumption.citation.clone(),
    });
    if all_low {
        finish(Conclusion::LowProbability, steps)
    } else {
        finish(Conclusion::Breach, steps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat() -> Catalog {
        Catalog::embedded().expect("catalog")
    }

    fn incident(extra: &str) -> Incident {
        let text = format!(
            "title = \"Laptop stolen\"\ndiscovered = 2026-03-02\nphi_involved = true\n{extra}"
        );
        parse("i.toml", &text, &cat()).expect("parse")
    }

    #[test]
    fn encrypted_with_safe_key_is_safe_harbor() {
        let d = decide(&incident("secured = true\n"), &cat());
        assert_eq!(d.conclusion, Conclusion::SafeHarbor);
        assert!(d.notices.is_empty());
        let d = decide(
            &incident("secured = true\nkey_compromised = true\n"),
            &cat(),
        );
        assert_eq!(d.conclusion, Conclusion::Breach);
    }

    #[test]
    fn unknown_factors_keep_the_presumption() {
        let d = decide(
            &incident(
                "[factors]\nnature-extent = \"low\"\nrecipient = \"low\"\nmitigation = \"low\"\n",
            ),
            &cat(),
        );
        assert_eq!(d.conclusion, Conclusion::Breach);
        let d = decide(
            &incident(
                "[factors]\nnature-extent = \"low\"\nrecipient = \"low\"\nacquired-viewed = \"low\"\nmitigation = \"low\"\n",
            ),
            &cat(),
        );
        assert_eq!(d.conclusion, Conclusion::LowProbability);
    }

    #[test]
    fn deadlines_follow_the_counts() {
        let d = decide(&incident("[affected]\nTX = 320\nCA = 14\n"), &cat());
        assert_eq!(d.total_affected, 334);
        let ids: Vec<&str> = d.notices.iter().map(|n| n.id.as_str()).collect();
        assert_eq!(ids, vec!["individuals", "hhs-annual-log"]);
        let ind = &d.notices[0];
        assert_eq!(
            ind.deadline,
            NaiveDate::from_ymd_opt(2026, 5, 1).expect("date")
        );
        // Annual log: 60 days after 31 December of the discovery year.
        assert_eq!(
            d.notices[1].deadline,
            NaiveDate::from_ymd_opt(2027, 3, 1).expect("date")
        );
        // Texas AG notice at 250+, California clinic reporting for any count.
        let states: Vec<&str> = d.state_notes.iter().map(|s| s.state.as_str()).collect();
        assert_eq!(states, vec!["CA", "TX"]);

        let d = decide(&incident("[affected]\nFL = 700\nGA = 10\n"), &cat());
        let ids: Vec<&str> = d.notices.iter().map(|n| n.id.as_str()).collect();
        assert_eq!(ids, vec!["hhs-immediate", "individuals", "media"]);
        assert!(d.notices.iter().any(|n| n.recipient.ends_with("FL")));
        assert!(d.summary.contains("GA"));
    }

    #[test]
    fn business_associate_notifies_the_covered_entity() {
        let d = decide(
            &incident("entity = \"business-associate\"\n[affected]\nTX = 600\n"),
            &cat(),
        );
        let ids: Vec<&str> = d.notices.iter().map(|n| n.id.as_str()).collect();
        assert_eq!(ids, vec!["business-associate"]);
    }

    #[test]
    fn bad_files_point_to_the_line() {
        let c = cat();
        let Err(IncidentError::Invalid(d)) = parse(
            "i.toml",
            "title = \"x\"\ndiscovered = 2026-03-02\nphi_involved = true\n[factors]\nnature = \"low\"\n",
            &c,
        ) else {
            panic!("must fail");
        };
        assert_eq!(d.line, 5);
        let Err(IncidentError::Invalid(d)) = parse(
            "i.toml",
            "title = \"x\"\ndiscovered = \"soon\"\nphi_involved = true\n",
            &c,
        ) else {
            panic!("must fail");
        };
        assert_eq!(d.line, 2);
        assert!(parse("i.toml", "title = \"x\"\n", &c).is_err());
    }
}
