//! The questionnaire: what still needs asking, and a plain line-based prompt loop that works on a
//! terminal and with piped input alike. Each answer is saved as soon as it is given, so an
//! interrupted session resumes where it stopped.

use crate::catalog::Catalog;
use crate::engine::{Inputs, control_evidence, decided_by_evidence, scope};
use chrono::{DateTime, Utc};
use medguard_model::risk::{Answer, AnswerValue};
use std::io::{self, BufRead, Write};

/// What kind of item a prompt is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemKind {
    /// A practice fact answered with text (`number` when digits are expected).
    Profile { number: bool },
    /// Does a part of the practice exist? yes / no / don't know.
    Scope,
    /// A control question: yes / partly / no / don't know (and n/a where allowed).
    Control { control: String, allow_na: bool },
}

/// One thing to ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub id: String,
    pub text: String,
    pub why: Option<String>,
    pub kind: ItemKind,
}

/// Questions still to be answered, in order: practice facts, scope, then control questions (in
/// catalog order). Skips scope questions the inventory answered, questions that do not apply,
/// and controls that fresh evidence already decided.
pub fn pending(inputs: &Inputs) -> Vec<Item> {
    let cat: &Catalog = inputs.catalog;
    let answered = |id: &str| inputs.answers.iter().any(|a| a.question == id);
    let mut out = Vec::new();
    for p in &cat.profile {
        if !answered(&p.id) {
            out.push(Item {
                id: p.id.clone(),
                text: p.text.clone(),
                why: None,
                kind: ItemKind::Profile {
                    number: p.kind == "number",
                },
            });
        }
    }
    let scope = scope(inputs);
    for s in &cat.scope {
        if !answered(&s.id) && scope.get(&s.id).copied().flatten().is_none() {
            out.push(Item {
                id: s.id.clone(),
                text: s.text.clone(),
                why: Some(s.why.clone()),
                kind: ItemKind::Scope,
            });
        }
    }
    let applies = |cond: Option<&String>| match cond {
        None => true,
        Some(s) => scope.get(s).copied().flatten() != Some(false),
    };
    for c in &cat.controls {
        if !applies(c.applies_if.as_ref()) {
            continue;
        }
        let ev = control_evidence(c, inputs.facts);
        if decided_by_evidence(c, &ev) {
            continue;
        }
        for q in cat.questions.iter().filter(|q| q.control == c.id) {
            if answered(&q.id) || !applies(q.applies_if.as_ref()) {
                continue;
            }
            out.push(Item {
                id: q.id.clone(),
                text: q.text.clone(),
                why: Some(q.why.clone()),
                kind: ItemKind::Control {
                    control: c.id.clone(),
                    allow_na: q.allow_na,
                },
            });
        }
    }
    out
}

/// How a prompt session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every item was answered.
    Complete,
    /// The user typed `q` or input ended: answers so far are saved.
    Stopped { answered: usize },
}

/// Longest line read from the user.
const MAX_LINE: usize = 4096;

fn read_line(input: &mut dyn BufRead) -> io::Result<Option<String>> {
    let mut buf = Vec::new();
    let n = io::Read::take(&mut *input, MAX_LINE as u64).read_until(b'\n', &mut buf)?;
    if n == 0 {
        return Ok(None);
    }
    if !buf.ends_with(b"\n") && n == MAX_LINE {
        // Discard the rest of an overlong line.
        let mut rest = Vec::new();
        input.read_until(b'\n', &mut rest)?;
    }
    Ok(Some(String::from_utf8_lossy(&buf).trim().to_string()))
}

/// Ask every item on `out`, reading replies from `input`; `save` stores each answer at once.
///
/// Replies: `y`/`yes`, `p`/`partly`, `n`/`no`, `?`/`dont-know`, `n/a` (where allowed), `q` to stop
/// and resume later. A "don't know" asks for an optional note.
pub fn run(
    items: &[Item],
    input: &mut dyn BufRead,
    out: &mut dyn Write,
    now: &dyn Fn() -> DateTime<Utc>,
    save: &mut dyn FnMut(Answer) -> io::Result<()>,
) -> io::Result<Outcome> {
    let total = items.len();
    for (i, item) in items.iter().enumerate() {
        writeln!(out)?;
        writeln!(out, "[{}/{}] {}", i + 1, total, item.text)?;
        if let Some(why) = &item.why {
            writeln!(out, "      Why it matters: {why}")?;
        }
        let (value, note) = loop {
            match &item.kind {
                ItemKind::Profile { number } => {
                    write!(
                        out,
                        "      Answer{}: ",
                        if *number { " (a number)" } else { "" }
                    )?;
                }
                ItemKind::Scope => write!(out, "      [y]es / [n]o / [?] don't know / [q]uit: ")?,
                ItemKind::Control { allow_na, .. } => write!(
                    out,
                    "      [y]es / [p]artly / [n]o / [?] don't know{} / [q]uit: ",
                    if *allow_na { " / n/a" } else { "" }
                )?,
            }
            out.flush()?;
            let Some(line) = read_line(input)? else {
                writeln!(out)?;
                return Ok(Outcome::Stopped { answered: i });
            };
            if line.eq_ignore_ascii_case("q") || line.eq_ignore_ascii_case("quit") {
                writeln!(out)?;
                return Ok(Outcome::Stopped { answered: i });
            }
            match &item.kind {
                ItemKind::Profile { number } => {
                    let ok = !line.is_empty()
                        && line.chars().count() <= 2000
                        && (!number || line.replace(',', "").parse::<u64>().is_ok());
                    if ok {
                        let text = if *number { line.replace(',', "") } else { line };
                        break (AnswerValue::Yes, Some(text));
                    }
                    writeln!(
                        out,
                        "      Please type {}.",
                        if *number {
                            "a whole number"
                        } else {
                            "an answer"
                        }
                    )?;
                }
                ItemKind::Scope | ItemKind::Control { .. } => {
                    let allow_na = matches!(item.kind, ItemKind::Control { allow_na: true, .. });
                    match AnswerValue::parse(&line) {
                        Some(AnswerValue::Partly) if item.kind == ItemKind::Scope => {
                            writeln!(out, "      Please answer y, n or ?.")?;
                        }
                        Some(AnswerValue::NotApplicable) if !allow_na => {
                            writeln!(
                                out,
                                "      This one always applies: answer no or ? if unsure."
                            )?;
                        }
                        Some(v) => {
                            let note = if v == AnswerValue::DontKnow {
                                write!(out, "      Note for the plan (optional, Enter to skip): ")?;
                                out.flush()?;
                                read_line(input)?.filter(|n| !n.is_empty())
                            } else {
                                None
                            };
                            break (v, note);
                        }
                        None if item.kind == ItemKind::Scope => writeln!(
                            out,
                            "      Please answer y, n or ? (or q to stop and resume later)."
                        )?,
                        None => writeln!(
                            out,
                            "      Please answer y, p, n, ? (or q to stop and resume later)."
                        )?,
                    }
                }
            }
        };
        save(Answer {
            question: item.id.clone(),
            value,
            note,
            answered_at: now(),
            via: "terminal".into(),
        })?;
    }
    Ok(Outcome::Complete)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::Facts;

    fn items() -> Vec<Item> {
        vec![
            Item {
                id: "patients".into(),
                text: "How many?".into(),
                why: None,
                kind: ItemKind::Profile { number: true },
            },
            Item {
                id: "scope-laptops".into(),
                text: "Laptops?".into(),
                why: Some("lost".into()),
                kind: ItemKind::Scope,
            },
            Item {
                id: "mfa-email".into(),
                text: "MFA?".into(),
                why: None,
                kind: ItemKind::Control {
                    control: "C07".into(),
                    allow_na: false,
                },
            },
        ]
    }

    fn drive(input: &str) -> (Outcome, Vec<Answer>, String) {
        let mut saved = Vec::new();
        let mut out = Vec::new();
        let outcome = run(
            &items(),
            &mut input.as_bytes(),
            &mut out,
            &Utc::now,
            &mut |a| {
                saved.push(a);
                Ok(())
            },
        )
        .expect("run");
        (outcome, saved, String::from_utf8_lossy(&out).into_owned())
    }

    #[test]
    fn reprompts_on_bad_input_and_saves_each_answer() {
        let (o, saved, out) = drive("lots\n1,200\npartly\nn\nmaybe\n?\nask IT\n");
        assert_eq!(o, Outcome::Complete);
        assert_eq!(saved.len(), 3);
        assert_eq!(saved[0].note.as_deref(), Some("1200"));
        assert_eq!(saved[1].value, AnswerValue::No);
        assert_eq!(saved[2].value, AnswerValue::DontKnow);
        assert_eq!(saved[2].note.as_deref(), Some("ask IT"));
        assert!(out.contains("Please type a whole number"));
        assert!(out.contains("Please answer y, n or ?"));
        assert!(out.contains("Why it matters: lost"));
    }

    #[test]
    fn stops_on_quit_or_end_of_input() {
        let (o, saved, _) = drive("12\nq\n");
        assert_eq!(o, Outcome::Stopped { answered: 1 });
        assert_eq!(saved.len(), 1);
        let (o, saved, _) = drive("12\ny\n");
        assert_eq!(o, Outcome::Stopped { answered: 2 });
        assert_eq!(saved.len(), 2);
    }

    #[test]
    fn pending_skips_what_evidence_and_scope_settle() {
        let cat = Catalog::embedded().expect("catalog");
        let facts = Facts::empty(Utc::now());
        let no_imaging = Answer {
            question: "scope-imaging".into(),
            value: AnswerValue::No,
            note: None,
            answered_at: Utc::now(),
            via: "test".into(),
        };
        let answers = vec![no_imaging];
        let inputs = Inputs {
            catalog: &cat,
            facts: &facts,
            answers: &answers,
            tracking: &[],
            id: 1,
            assessed_at: Utc::now(),
        };
        let p = pending(&inputs);
        assert!(p.iter().all(|i| i.id != "scope-imaging"));
        // Imaging questions are skipped when the practice has no imaging.
        assert!(p.iter().all(|i| i.id != "device-inventory-clinical"));
        assert!(p.iter().any(|i| i.id == "mfa-email"));
        // Without a scan, the inventory question is asked.
        assert!(p.iter().any(|i| i.id == "inventory-list"));
        let mut facts = Facts::empty(Utc::now());
        facts.last_scan = Some(Utc::now());
        let inputs = Inputs {
            facts: &facts,
            ..inputs
        };
        // A fresh scan answers the inventory control, so its question is not asked.
        assert!(pending(&inputs).iter().all(|i| i.id != "inventory-list"));
        // A stale scan (older than the rule's freshness) falls back to asking.
        let mut stale = Facts::empty(Utc::now());
        stale.last_scan = Some(Utc::now() - chrono::Duration::days(400));
        let inputs = Inputs {
            facts: &stale,
            ..inputs
        };
        assert!(pending(&inputs).iter().any(|i| i.id == "inventory-list"));
        let snap = crate::engine::assess(&inputs);
        let c01 = snap.controls.iter().find(|c| c.id == "C01").expect("C01");
        assert_eq!(c01.state, medguard_model::risk::ControlState::Unknown);
        assert!(c01.evidence.iter().any(|e| !e.fresh));
        assert!(c01.note.as_deref().is_some_and(|n| n.contains("stale")));
    }
}
