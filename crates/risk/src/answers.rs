//! The answers file (`medguard assess --answers answers.toml`): the questionnaire filled once per
//! practice, typically by an MSP.
//!
//! ```toml
//! [practice]
//! practice-name = "Smile Dental"
//! security-official = "Dana Lee, office manager"
//! patients = 4200
//! staff = 9
//!
//! [answers]
//! scope-imaging = "yes"
//! mfa-email = "no"
//! backup-offline = { answer = "dont-know", note = "ask the IT provider" }
//! ```
//!
//! Every key must be a question of the catalog; errors point to the line and column.

use crate::catalog::Catalog;
use crate::diag::Diagnostic;
use medguard_model::risk::AnswerValue;
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// The largest answers file accepted.
pub const MAX_BYTES: usize = 1024 * 1024;

/// Problems with an answers file.
#[derive(Debug, thiserror::Error)]
pub enum AnswersError {
    #[error("read the answers file\n{0}")]
    Invalid(Box<Diagnostic>),
    #[error("read the answers file {file}: it is larger than {MAX_BYTES} bytes")]
    TooLarge { file: String },
}

/// One answer from the file.
#[derive(Debug, Clone, PartialEq)]
pub struct FileAnswer {
    pub question: String,
    pub value: AnswerValue,
    pub note: Option<String>,
}

/// A parsed, validated answers file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AnswersFile {
    /// Practice facts (profile questions) as text.
    pub profile: BTreeMap<String, String>,
    pub answers: Vec<FileAnswer>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    practice: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
    #[serde(default)]
    answers: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
    #[serde(default)]
    alternatives: BTreeMap<Spanned<String>, Spanned<Alternative>>,
}

/// An equivalent alternative measure for an addressable specification (45 CFR 164.306(d)(3)).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Alternative {
    measure: String,
    justification: String,
}

/// The answer id under which an alternative measure for a control is stored.
pub fn alternative_id(control: &str) -> String {
    format!("alternative:{control}")
}

const MAX_TEXT: usize = 2000;

/// Parse and validate an answers file against the catalog.
pub fn parse(file: &str, text: &str, catalog: &Catalog) -> Result<AnswersFile, AnswersError> {
    if text.len() > MAX_BYTES {
        return Err(AnswersError::TooLarge {
            file: file.to_string(),
        });
    }
    let bad = |span: std::ops::Range<usize>, msg: String| {
        AnswersError::Invalid(Box::new(Diagnostic::at(file, text, Some(span), &msg)))
    };
    let raw: Raw = toml::from_str(text)
        .map_err(|e| AnswersError::Invalid(Box::new(Diagnostic::from_toml(file, text, &e))))?;
    let mut out = AnswersFile::default();
    for (key, value) in &raw.practice {
        let id = key.get_ref();
        let Some(q) = catalog.profile.iter().find(|p| &p.id == id) else {
            let known: Vec<&str> = catalog.profile.iter().map(|p| p.id.as_str()).collect();
            return Err(bad(
                key.span(),
                format!("unknown practice fact {id:?} (known: {})", known.join(", ")),
            ));
        };
        let v = match (q.kind.as_str(), value.get_ref()) {
            ("number", toml::Value::Integer(n)) if *n >= 0 => n.to_string(),
            ("number", toml::Value::String(s)) if s.trim().parse::<u64>().is_ok() => {
                s.trim().to_string()
            }
            ("number", _) => {
                return Err(bad(
                    value.span(),
                    format!("{id} must be a whole number of zero or more"),
                ));
            }
            (_, toml::Value::String(s)) => s.trim().to_string(),
            _ => return Err(bad(value.span(), format!("{id} must be text in quotes"))),
        };
        if v.is_empty() || v.len() > MAX_TEXT {
            return Err(bad(
                value.span(),
                format!("{id} must be 1 to {MAX_TEXT} characters"),
            ));
        }
        out.profile.insert(id.clone(), v);
    }
    for (key, value) in &raw.answers {
        let id = key.get_ref();
        let allow_na = if catalog.scope.iter().any(|s| &s.id == id) {
            false
        } else if let Some(q) = catalog.questions.iter().find(|q| &q.id == id) {
            q.allow_na
        } else if catalog.profile.iter().any(|p| &p.id == id) {
            return Err(bad(
                key.span(),
                format!("{id:?} is a practice fact: put it under [practice]"),
            ));
        } else {
            return Err(bad(
                key.span(),
                format!("unknown question {id:?} (see `medguard assess --list` for the ids)"),
            ));
        };
        let (answer, note, answer_span) = match value.get_ref() {
            toml::Value::String(s) => (s.clone(), None, value.span()),
            toml::Value::Table(t) => {
                for k in t.keys() {
                    if k != "answer" && k != "note" {
                        return Err(bad(
                            value.span(),
                            format!(
                                "unknown field {k:?} in the answer to {id} (expected answer, note)"
                            ),
                        ));
                    }
                }
                let Some(toml::Value::String(a)) = t.get("answer") else {
                    return Err(bad(
                        value.span(),
                        format!("the answer to {id} needs `answer = \"yes|partly|no|dont-know\"`"),
                    ));
                };
                let note = match t.get("note") {
                    None => None,
                    Some(toml::Value::String(n)) if n.len() <= MAX_TEXT => {
                        Some(n.trim().to_string())
                    }
                    Some(_) => {
                        return Err(bad(
                            value.span(),
                            format!(
                                "the note for {id} must be text of at most {MAX_TEXT} characters"
                            ),
                        ));
                    }
                };
                (a.clone(), note, value.span())
            }
            _ => {
                return Err(bad(
                    value.span(),
                    format!(
                        "the answer to {id} must be \"yes\", \"partly\", \"no\" or \"dont-know\""
                    ),
                ));
            }
        };
        let Some(v) = AnswerValue::parse(&answer) else {
            return Err(bad(
                answer_span,
                format!(
                    "{answer:?} is not an answer to {id} (use yes, partly, no, dont-know{})",
                    if allow_na { " or n/a" } else { "" }
                ),
            ));
        };
        if v == AnswerValue::NotApplicable && !allow_na {
            return Err(bad(
                answer_span,
                format!("{id} cannot be answered n/a (answer no or dont-know, with a note)"),
            ));
        }
        out.answers.push(FileAnswer {
            question: id.clone(),
            value: v,
            note: note.filter(|n| !n.is_empty()),
        });
    }
    for (key, value) in &raw.alternatives {
        let id = key.get_ref();
        let Some(ctrl) = catalog.control(id) else {
            return Err(bad(
                key.span(),
                format!("unknown control {id:?} in [alternatives]"),
            ));
        };
        if !catalog.addressable(ctrl) {
            return Err(bad(
                key.span(),
                format!(
                    "{id} maps only to required HIPAA specifications: an alternative measure is allowed for addressable ones only (45 CFR 164.306(d)(3))"
                ),
            ));
        }
        let alt = value.get_ref();
        let (m, j) = (alt.measure.trim(), alt.justification.trim());
        if m.is_empty() || j.is_empty() || m.len() > MAX_TEXT || j.len() > MAX_TEXT {
            return Err(bad(
                value.span(),
                format!(
                    "the alternative for {id} needs a measure and a justification (1 to {MAX_TEXT} characters each)"
                ),
            ));
        }
        out.answers.push(FileAnswer {
            question: alternative_id(id),
            value: AnswerValue::Yes,
            note: Some(format!(
                "alternative measure: {m}; why it is reasonable and appropriate: {j}"
            )),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat() -> Catalog {
        Catalog::embedded().expect("catalog")
    }

    #[test]
    fn parses_short_and_full_answers() {
        let text = r#"
[practice]
practice-name = "Smile Dental"
patients = 4200

[answers]
mfa-email = "no"
backup-offline = { answer = "dont-know", note = "ask IT" }
usb-encryption = "n/a"
"#;
        let a = parse("a.toml", text, &cat()).expect("parse");
        assert_eq!(a.profile["patients"], "4200");
        assert_eq!(a.answers.len(), 3);
        let b = a
            .answers
            .iter()
            .find(|x| x.question == "backup-offline")
            .expect("backup");
        assert_eq!(b.value, AnswerValue::DontKnow);
        assert_eq!(b.note.as_deref(), Some("ask IT"));
    }

    #[test]
    fn unknown_question_points_to_its_line() {
        let text = "[answers]\nmfa-email = \"yes\"\nmfa-emial = \"no\"\n";
        let Err(AnswersError::Invalid(d)) = parse("a.toml", text, &cat()) else {
            panic!("must fail");
        };
        assert_eq!((d.line, d.column), (3, 1));
        assert!(d.message.contains("mfa-emial"), "{}", d.message);
    }

    #[test]
    fn bad_values_point_to_the_value() {
        let text = "[answers]\nmfa-email = \"perhaps\"\n";
        let Err(AnswersError::Invalid(d)) = parse("a.toml", text, &cat()) else {
            panic!("must fail");
        };
        assert_eq!((d.line, d.column), (2, 13));
        let text = "[answers]\nmfa-email = \"n/a\"\n";
        assert!(parse("a.toml", text, &cat()).is_err());
        let text = "[practice]\npatients = -3\n";
        let Err(AnswersError::Invalid(d)) = parse("a.toml", text, &cat()) else {
            panic!("must fail");
        };
        assert_eq!(d.line, 2);
        let text = "[answerz]\n";
        assert!(parse("a.toml", text, &cat()).is_err());
        let text = "[answers]\nmfa-email = { answer = \"yes\", nite = \"x\" }\n";
        assert!(parse("a.toml", text, &cat()).is_err());
    }

    #[test]
    fn alternatives_only_for_addressable_controls() {
        let text = "[alternatives]\nC19 = { measure = \"badge tap-out\", justification = \"shared clinical stations\" }\n";
        let a = parse("a.toml", text, &cat()).expect("parse");
        assert_eq!(a.answers[0].question, "alternative:C19");
        let text = "[alternatives]\nC08 = { measure = \"x\", justification = \"y\" }\n";
        let Err(AnswersError::Invalid(d)) = parse("a.toml", text, &cat()) else {
            panic!("C08 (unique user identification) is required, not addressable");
        };
        assert!(d.message.contains("required"), "{}", d.message);
        let text = "[alternatives]\nC19 = { measure = \"x\" }\n";
        assert!(parse("a.toml", text, &cat()).is_err());
    }

    #[test]
    fn syntax_errors_point_to_the_line() {
        let text = "[answers]\nmfa-email = \"yes\"\nbackup-daily = \n";
        let Err(AnswersError::Invalid(d)) = parse("a.toml", text, &cat()) else {
            panic!("must fail");
        };
        assert_eq!(d.line, 3);
    }
}
