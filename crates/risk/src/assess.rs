//! The assessment workflow over a store: gather evidence, keep answers on a resumable draft, turn
//! the draft into an immutable dated snapshot, and keep plan action states across snapshots.

use crate::answers::AnswersFile;
use crate::catalog::Catalog;
use crate::engine::{self, Inputs};
use crate::evidence::{
    self, AlertEvidence, EvidenceError, EvidenceSource, Facts, IntelEvidence, InventoryEvidence,
    PhiEvidence,
};
use chrono::{DateTime, NaiveDate, Utc};
use medguard_model::risk::{
    ActionStatus, ActionTracking, Answer, AnswerValue, AssessmentSnapshot, PlanAction,
    RiskAcceptance,
};
use medguard_store::{DraftAssessment, RiskStore, SqliteStore, StoreError};

/// Errors of the assessment workflow.
#[derive(Debug, thiserror::Error)]
pub enum AssessError {
    #[error("use the store")]
    Store(#[from] StoreError),
    #[error("update plan action {0:?}: no such action in the latest assessment")]
    UnknownAction(String),
    #[error("accept the risk of {action}: {reason}")]
    Acceptance { action: String, reason: String },
    #[error("finish the assessment: there is no risk assessment yet (run `medguard assess` first)")]
    NoAssessment,
}

/// Every evidence source medguard has, over the one store.
pub fn sources(store: &SqliteStore) -> Vec<Box<dyn EvidenceSource + '_>> {
    vec![
        Box::new(InventoryEvidence(store)),
        Box::new(IntelEvidence(store)),
        Box::new(PhiEvidence(store)),
        Box::new(AlertEvidence(store)),
    ]
}

/// Gather facts from every source; failing sources are returned as errors and skipped.
pub fn gather(store: &SqliteStore, now: DateTime<Utc>) -> (Facts, Vec<EvidenceError>) {
    let srcs = sources(store);
    let refs: Vec<&dyn EvidenceSource> = srcs.iter().map(|b| b.as_ref()).collect();
    evidence::gather(&refs, now)
}

/// The open draft, created if needed.
pub fn draft(
    store: &mut impl RiskStore,
    catalog: &Catalog,
) -> Result<DraftAssessment, AssessError> {
    Ok(store.open_draft("", &catalog.version)?)
}

/// Store an answers file on the draft, all or nothing.
pub fn import(
    store: &mut impl RiskStore,
    draft: &DraftAssessment,
    file: &AnswersFile,
    via: &str,
    now: DateTime<Utc>,
) -> Result<usize, AssessError> {
    let mut answers: Vec<Answer> = file
        .profile
        .iter()
        .map(|(k, v)| Answer {
            question: k.clone(),
            value: AnswerValue::Yes,
            note: Some(v.clone()),
            answered_at: now,
            via: via.to_string(),
        })
        .collect();
    answers.extend(file.answers.iter().map(|a| Answer {
        question: a.question.clone(),
        value: a.value,
        note: a.note.clone(),
        answered_at: now,
        via: via.to_string(),
    }));
    store.save_answers(draft.id, &answers)?;
    Ok(answers.len())
}

/// Compute the snapshot for a draft without storing it (a preview).
pub fn preview(
    store: &SqliteStore,
    catalog: &Catalog,
    draft_id: i64,
    facts: &Facts,
    now: DateTime<Utc>,
) -> Result<AssessmentSnapshot, AssessError> {
    let answers = store.answers(draft_id)?;
    let tracking = store.action_tracking()?;
    let inputs = Inputs {
        catalog,
        facts,
        answers: &answers,
        tracking: &tracking,
        id: draft_id,
        assessed_at: now,
    };
    Ok(engine::assess(&inputs))
}

/// Finish the draft: compute and store the immutable snapshot.
pub fn finish(
    store: &mut SqliteStore,
    catalog: &Catalog,
    draft_id: i64,
    facts: &Facts,
    now: DateTime<Utc>,
) -> Result<AssessmentSnapshot, AssessError> {
    let snap = preview(store, catalog, draft_id, facts, now)?;
    store.finish(draft_id, &snap)?;
    Ok(snap)
}

/// The latest snapshot's plan with the current tracked states applied.
pub fn current_plan(
    store: &SqliteStore,
) -> Result<(AssessmentSnapshot, Vec<PlanAction>), AssessError> {
    let snap = store.latest_snapshot()?.ok_or(AssessError::NoAssessment)?;
    let tracking = store.action_tracking()?;
    let mut plan = snap.plan.clone();
    for a in &mut plan {
        if let Some(t) = tracking.iter().find(|t| t.action == a.id)
            && t.updated_at >= snap.assessed_at
        {
            a.status = t.status;
            if let Some(o) = &t.owner {
                a.owner = o.clone();
            }
            a.acceptance = t.acceptance.clone();
        }
    }
    Ok((snap, plan))
}

/// A change to one plan action.
#[derive(Debug, Clone, Default)]
pub struct ActionUpdate {
    pub status: Option<ActionStatus>,
    pub owner: Option<String>,
    /// For `accepted`: the reason and review date (the owner is required too).
    pub reason: Option<String>,
    pub review_by: Option<NaiveDate>,
}

/// Update a plan action of the latest snapshot. Accepting a risk needs an owner, a reason and a
/// review date in the future.
pub fn update_action(
    store: &mut SqliteStore,
    action: &str,
    update: ActionUpdate,
    now: DateTime<Utc>,
) -> Result<ActionTracking, AssessError> {
    let (_, plan) = current_plan(store)?;
    let Some(current) = plan.iter().find(|a| a.id == action) else {
        return Err(AssessError::UnknownAction(action.to_string()));
    };
    let status = update.status.unwrap_or(current.status);
    let owner = update.owner.clone().or_else(|| Some(current.owner.clone()));
    let acceptance = if status == ActionStatus::Accepted {
        let bad = |reason: &str| AssessError::Acceptance {
            action: action.to_string(),
            reason: reason.to_string(),
        };
        let who = update
            .owner
            .clone()
            .filter(|o| !o.trim().is_empty())
            .ok_or_else(|| bad("an owner is required (--owner)"))?;
        let reason = update
            .reason
            .clone()
            .filter(|r| !r.trim().is_empty())
            .ok_or_else(|| bad("a reason is required (--reason)"))?;
        let review_by = update
            .review_by
            .ok_or_else(|| bad("a review date is required (--review-by YYYY-MM-DD)"))?;
        if review_by <= now.date_naive() {
            return Err(bad("the review date must be in the future"));
        }
        Some(RiskAcceptance {
            owner: who,
            reason,
            review_by,
            accepted_at: now,
        })
    } else {
        None
    };
    let t = ActionTracking {
        action: action.to_string(),
        status,
        owner,
        acceptance,
        updated_at: now,
    };
    store.track_action(&t)?;
    Ok(t)
}
