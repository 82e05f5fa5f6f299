//! Risk assessments: draft answers (resumable), immutable finished snapshots, plan action tracking
//! and recorded incidents.

use crate::{Result, SqliteStore, StoreError};
use chrono::{DateTime, Utc};
use medguard_model::risk::{
    ActionStatus, ActionTracking, Answer, AnswerValue, AssessmentSnapshot, RiskAcceptance,
};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

/// A draft assessment collecting answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DraftAssessment {
    pub id: i64,
    pub practice: String,
    pub started_at: DateTime<Utc>,
    pub catalog_version: String,
}

/// A recorded incident and the breach decision support produced for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentRecord {
    pub id: i64,
    pub recorded_at: DateTime<Utc>,
    pub title: String,
    pub input: serde_json::Value,
    pub decision: serde_json::Value,
}

/// Risk persistence, implemented by every backend.
pub trait RiskStore {
    /// The open draft, creating one for `practice` if there is none.
    fn open_draft(&mut self, practice: &str, catalog_version: &str) -> Result<DraftAssessment>;
    /// The open draft, if any.
    fn draft(&self) -> Result<Option<DraftAssessment>>;
    /// Store answers for a draft, replacing earlier answers to the same questions. All or nothing.
    fn save_answers(&mut self, assessment: i64, answers: &[Answer]) -> Result<()>;
    /// Answers stored for an assessment, by question id.
    fn answers(&self, assessment: i64) -> Result<Vec<Answer>>;
    /// Turn the draft into an immutable snapshot. Fails if the assessment is already final.
    fn finish(&mut self, assessment: i64, snapshot: &AssessmentSnapshot) -> Result<()>;
    /// Every finished snapshot, oldest first.
    fn snapshots(&self) -> Result<Vec<AssessmentSnapshot>>;
    /// The newest finished snapshot.
    fn latest_snapshot(&self) -> Result<Option<AssessmentSnapshot>>;
    /// Tracked plan actions (status, owner, acceptance).
    fn action_tracking(&self) -> Result<Vec<ActionTracking>>;
    /// Record a change to one action (kept in an append-only history too).
    fn track_action(&mut self, tracking: &ActionTracking) -> Result<()>;
    /// Store an incident and its decision; returns its id.
    fn record_incident(
        &mut self,
        title: &str,
        input: &serde_json::Value,
        decision: &serde_json::Value,
    ) -> Result<i64>;
    /// Every recorded incident, oldest first.
    fn incidents(&self) -> Result<Vec<IncidentRecord>>;
}

/// A stored value that does not decode (reported as [`StoreError::Decode`]).
fn corrupt(msg: String) -> StoreError {
    StoreError::Decode(<serde_json::Error as serde::de::Error>::custom(msg))
}

fn ts(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| corrupt(format!("bad timestamp {s:?}")))
}

impl RiskStore for SqliteStore {
    fn open_draft(&mut self, practice: &str, catalog_version: &str) -> Result<DraftAssessment> {
        if let Some(d) = self.draft()? {
            return Ok(d);
        }
        let now = Utc::now();
        self.conn.execute(
            "INSERT INTO risk_assessments (practice, status, started_at, catalog_version)
             VALUES (?1, 'draft', ?2, ?3)",
            params![practice, now.to_rfc3339(), catalog_version],
        )?;
        Ok(DraftAssessment {
            id: self.conn.last_insert_rowid(),
            practice: practice.to_string(),
            started_at: now,
            catalog_version: catalog_version.to_string(),
        })
    }

    fn draft(&self) -> Result<Option<DraftAssessment>> {
        let row = self
            .conn
            .query_row(
                "SELECT id, practice, started_at, catalog_version FROM risk_assessments
                 WHERE status = 'draft'",
                [],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                },
            )
            .optional()?;
        row.map(|(id, practice, started, catalog_version)| {
            Ok(DraftAssessment {
                id,
                practice,
                started_at: ts(&started)?,
                catalog_version,
            })
        })
        .transpose()
    }

    fn save_answers(&mut self, assessment: i64, answers: &[Answer]) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare(
                "INSERT INTO risk_answers (assessment_id, question, value, note, answered_at, via)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (assessment_id, question) DO UPDATE SET
                   value = excluded.value, note = excluded.note,
                   answered_at = excluded.answered_at, via = excluded.via",
            )?;
            for a in answers {
                stmt.execute(params![
                    assessment,
                    a.question,
                    a.value.as_str(),
                    a.note,
                    a.answered_at.to_rfc3339(),
                    a.via
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn answers(&self, assessment: i64) -> Result<Vec<Answer>> {
        let mut stmt = self.conn.prepare(
            "SELECT question, value, note, answered_at, via FROM risk_answers
             WHERE assessment_id = ?1 ORDER BY question",
        )?;
        let rows = stmt.query_map([assessment], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (question, value, note, at, via) = row?;
            let value = AnswerValue::parse(&value)
                .ok_or_else(|| corrupt(format!("bad answer value {value:?}")))?;
            out.push(Answer {
                question,
                value,
                note,
                answered_at: ts(&at)?,
                via,
            });
        }
        Ok(out)
    }

    fn finish(&mut self, assessment: i64, snapshot: &AssessmentSnapshot) -> Result<()> {
        let json = serde_json::to_string(snapshot)?;
        let changed = self.conn.execute(
            "UPDATE risk_assessments SET status = 'final', finished_at = ?2, snapshot = ?3
             WHERE id = ?1 AND status = 'draft'",
            params![assessment, snapshot.assessed_at.to_rfc3339(), json],
        )?;
        if changed == 0 {
            return Err(corrupt(format!(
                "assessment {assessment} is not an open draft"
            )));
        }
        Ok(())
    }

    fn snapshots(&self) -> Result<Vec<AssessmentSnapshot>> {
        let mut stmt = self.conn.prepare(
            "SELECT snapshot FROM risk_assessments WHERE status = 'final' ORDER BY finished_at, id",
        )?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(serde_json::from_str(&row?)?);
        }
        Ok(out)
    }

    fn latest_snapshot(&self) -> Result<Option<AssessmentSnapshot>> {
        let row: Option<String> = self
            .conn
            .query_row(
                "SELECT snapshot FROM risk_assessments WHERE status = 'final'
                 ORDER BY finished_at DESC, id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        Ok(row.map(|s| serde_json::from_str(&s)).transpose()?)
    }

    fn action_tracking(&self) -> Result<Vec<ActionTracking>> {
        let mut stmt = self.conn.prepare(
            "SELECT action, status, owner, acceptance, updated_at FROM risk_actions ORDER BY action",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (action, status, owner, acceptance, at) = row?;
            let status = ActionStatus::parse(&status)
                .ok_or_else(|| corrupt(format!("bad action status {status:?}")))?;
            let acceptance: Option<RiskAcceptance> =
                acceptance.map(|a| serde_json::from_str(&a)).transpose()?;
            out.push(ActionTracking {
                action,
                status,
                owner,
                acceptance,
                updated_at: ts(&at)?,
            });
        }
        Ok(out)
    }

    fn track_action(&mut self, t: &ActionTracking) -> Result<()> {
        let acceptance = t
            .acceptance
            .as_ref()
            .map(serde_json::to_string)
            .transpose()?;
        let history = serde_json::to_string(t)?;
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO risk_actions (action, status, owner, acceptance, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (action) DO UPDATE SET status = excluded.status, owner = excluded.owner,
               acceptance = excluded.acceptance, updated_at = excluded.updated_at",
            params![
                t.action,
                t.status.as_str(),
                t.owner,
                acceptance,
                t.updated_at.to_rfc3339()
            ],
        )?;
        tx.execute(
            "INSERT INTO risk_action_history (action, data, at) VALUES (?1, ?2, ?3)",
            params![t.action, history, t.updated_at.to_rfc3339()],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn record_incident(
        &mut self,
        title: &str,
        input: &serde_json::Value,
        decision: &serde_json::Value,
    ) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO risk_incidents (recorded_at, title, input, decision) VALUES (?1, ?2, ?3, ?4)",
            params![
                Utc::now().to_rfc3339(),
                title,
                serde_json::to_string(input)?,
                serde_json::to_string(decision)?
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    fn incidents(&self) -> Result<Vec<IncidentRecord>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, recorded_at, title, input, decision FROM risk_incidents ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, at, title, input, decision) = row?;
            out.push(IncidentRecord {
                id,
                recorded_at: ts(&at)?,
                title,
                input: serde_json::from_str(&input)?,
                decision: serde_json::from_str(&decision)?,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use medguard_model::risk::AssessmentTotals;
    use std::collections::BTreeMap;

    fn answer(q: &str, v: AnswerValue) -> Answer {
        Answer {
            question: q.into(),
            value: v,
            note: None,
            answered_at: Utc::now(),
            via: "test".into(),
        }
    }

    fn snapshot(id: i64) -> AssessmentSnapshot {
        AssessmentSnapshot {
            id,
            practice: "Test Dental".into(),
            assessed_at: Utc::now(),
            catalog_version: "test".into(),
            scope: vec![],
            data_collection: vec![],
            controls: vec![],
            answers: vec![],
            register: vec![],
            plan: vec![],
            totals: AssessmentTotals::default(),
            frameworks: BTreeMap::new(),
            requirements: BTreeMap::new(),
        }
    }

    #[test]
    fn draft_is_resumable_and_final_is_immutable() {
        let mut s = SqliteStore::in_memory().expect("store");
        let d = s.open_draft("Test Dental", "v1").expect("draft");
        assert_eq!(s.open_draft("other", "v1").expect("again").id, d.id);
        s.save_answers(d.id, &[answer("q1", AnswerValue::Yes)])
            .expect("save");
        s.save_answers(
            d.id,
            &[
                answer("q1", AnswerValue::No),
                answer("q2", AnswerValue::DontKnow),
            ],
        )
        .expect("save again");
        let got = s.answers(d.id).expect("answers");
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].value, AnswerValue::No);
        s.finish(d.id, &snapshot(d.id)).expect("finish");
        assert!(s.draft().expect("draft").is_none());
        // The finished assessment cannot be changed in any way.
        assert!(
            s.save_answers(d.id, &[answer("q3", AnswerValue::Yes)])
                .is_err()
        );
        assert!(s.finish(d.id, &snapshot(d.id)).is_err());
        assert!(
            s.conn
                .execute("DELETE FROM risk_assessments WHERE id = ?1", [d.id])
                .is_err()
        );
        assert!(
            s.conn
                .execute("UPDATE risk_answers SET value = 'yes'", [])
                .is_err()
        );
        assert_eq!(s.snapshots().expect("snapshots").len(), 1);
        assert_eq!(
            s.latest_snapshot().expect("latest").map(|x| x.id),
            Some(d.id)
        );
        // A new draft can start after.
        let d2 = s.open_draft("Test Dental", "v1").expect("draft 2");
        assert_ne!(d2.id, d.id);
    }

    #[test]
    fn answers_are_all_or_nothing() {
        let mut s = SqliteStore::in_memory().expect("store");
        let d = s.open_draft("Test", "v1").expect("draft");
        // Second answer refers to a missing assessment through a bad id: the whole batch fails.
        let mut bad = answer("q2", AnswerValue::Yes);
        bad.question = String::new();
        s.conn
            .execute_batch(
                "CREATE TRIGGER t BEFORE INSERT ON risk_answers WHEN NEW.question = ''
                 BEGIN SELECT RAISE(ABORT, 'empty'); END;",
            )
            .expect("trigger");
        assert!(
            s.save_answers(d.id, &[answer("q1", AnswerValue::Yes), bad])
                .is_err()
        );
        assert!(s.answers(d.id).expect("answers").is_empty());
    }

    #[test]
    fn action_tracking_and_incidents() {
        let mut s = SqliteStore::in_memory().expect("store");
        let t = ActionTracking {
            action: "control:C07".into(),
            status: ActionStatus::Accepted,
            owner: Some("Dana".into()),
            acceptance: Some(RiskAcceptance {
                owner: "Dana".into(),
                reason: "vendor cannot support it".into(),
                review_by: chrono::NaiveDate::from_ymd_opt(2027, 6, 1).expect("date"),
                accepted_at: Utc::now(),
            }),
            updated_at: Utc::now(),
        };
        s.track_action(&t).expect("track");
        s.track_action(&t).expect("track twice");
        assert_eq!(s.action_tracking().expect("list"), vec![t]);
        let id = s
            .record_incident(
                "lost laptop",
                &serde_json::json!({"a": 1}),
                &serde_json::json!({"b": 2}),
            )
            .expect("incident");
        let inc = s.incidents().expect("incidents");
        assert_eq!(inc.len(), 1);
        assert_eq!(inc[0].id, id);
        assert_eq!(inc[0].decision["b"], 2);
    }
}
