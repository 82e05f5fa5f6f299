-- Alerts from log detection (medguard detect / watch). Evidence inside `body` is already masked.
CREATE TABLE detect_runs (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    source TEXT NOT NULL          -- 'detect' (files) or 'watch' (live syslog)
);

CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES detect_runs(id) ON DELETE CASCADE,
    rule_id TEXT NOT NULL,
    title TEXT NOT NULL,
    level TEXT NOT NULL,
    level_rank INTEGER NOT NULL,  -- 0 info .. 4 critical, for ordering
    host TEXT,
    timestamp TEXT,
    last_seen TEXT,
    count INTEGER NOT NULL,
    body TEXT NOT NULL            -- the whole alert as JSON (medguard_model::Alert)
);

CREATE INDEX alerts_by_time ON alerts(timestamp);
CREATE INDEX alerts_by_rule_host ON alerts(rule_id, host);
