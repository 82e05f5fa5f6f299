-- Risk analysis: assessments (drafts collect answers; finished ones are immutable dated snapshots,
-- kept for at least six years under 45 CFR 164.316(b)(2)(i)), plan action tracking and incidents.
CREATE TABLE risk_assessments (
    id INTEGER PRIMARY KEY,
    practice TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'final')),
    started_at TEXT NOT NULL,
    finished_at TEXT,
    catalog_version TEXT NOT NULL,
    snapshot TEXT                  -- the full model::risk::AssessmentSnapshot as JSON once final
);
CREATE UNIQUE INDEX risk_one_draft ON risk_assessments(status) WHERE status = 'draft';

CREATE TRIGGER risk_assessments_final_update BEFORE UPDATE ON risk_assessments
WHEN OLD.status = 'final'
BEGIN
    SELECT RAISE(ABORT, 'finished risk assessments are immutable');
END;
CREATE TRIGGER risk_assessments_final_delete BEFORE DELETE ON risk_assessments
WHEN OLD.status = 'final'
BEGIN
    SELECT RAISE(ABORT, 'finished risk assessments are immutable');
END;

CREATE TABLE risk_answers (
    assessment_id INTEGER NOT NULL REFERENCES risk_assessments(id),
    question TEXT NOT NULL,
    value TEXT NOT NULL,
    note TEXT,
    answered_at TEXT NOT NULL,
    via TEXT NOT NULL,
    PRIMARY KEY (assessment_id, question)
);
CREATE TRIGGER risk_answers_final_insert BEFORE INSERT ON risk_answers
WHEN (SELECT status FROM risk_assessments WHERE id = NEW.assessment_id) = 'final'
BEGIN
    SELECT RAISE(ABORT, 'finished risk assessments are immutable');
END;
CREATE TRIGGER risk_answers_final_update BEFORE UPDATE ON risk_answers
WHEN (SELECT status FROM risk_assessments WHERE id = OLD.assessment_id) = 'final'
BEGIN
    SELECT RAISE(ABORT, 'finished risk assessments are immutable');
END;
CREATE TRIGGER risk_answers_final_delete BEFORE DELETE ON risk_answers
WHEN (SELECT status FROM risk_assessments WHERE id = OLD.assessment_id) = 'final'
BEGIN
    SELECT RAISE(ABORT, 'finished risk assessments are immutable');
END;

-- Where each plan action stands, across assessments (actions have stable ids).
CREATE TABLE risk_actions (
    action TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    owner TEXT,
    acceptance TEXT,               -- model::risk::RiskAcceptance as JSON
    updated_at TEXT NOT NULL
);
-- Append-only history of action changes (who accepted what, when).
CREATE TABLE risk_action_history (
    id INTEGER PRIMARY KEY,
    action TEXT NOT NULL,
    data TEXT NOT NULL,
    at TEXT NOT NULL
);

CREATE TABLE risk_incidents (
    id INTEGER PRIMARY KEY,
    recorded_at TEXT NOT NULL,
    title TEXT NOT NULL,
    input TEXT NOT NULL,           -- the incident facts as given (JSON)
    decision TEXT NOT NULL         -- the breach decision support result (JSON)
);
