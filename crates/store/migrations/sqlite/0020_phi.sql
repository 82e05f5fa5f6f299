-- PHI exposure: scans of file shares, the files that hold patient data, and masked findings.
-- No raw identifier value is ever stored: `masked` evidence and a keyed `hash` only.
CREATE TABLE phi_scans (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    roots TEXT NOT NULL,            -- JSON array of scanned paths
    files_scanned INTEGER NOT NULL DEFAULT 0,
    files_with_phi INTEGER NOT NULL DEFAULT 0,
    bytes_scanned INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0,
    individuals INTEGER NOT NULL DEFAULT 0,
    elapsed_ms INTEGER NOT NULL DEFAULT 0,
    counts TEXT NOT NULL DEFAULT '{}' -- JSON: kind -> findings
);

CREATE TABLE phi_files (
    id INTEGER PRIMARY KEY,
    scan_id INTEGER NOT NULL REFERENCES phi_scans(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    format TEXT NOT NULL,
    size INTEGER NOT NULL,
    individuals INTEGER NOT NULL,
    health_info INTEGER NOT NULL,
    risk INTEGER NOT NULL,
    severity TEXT NOT NULL,
    headline TEXT NOT NULL,
    data TEXT NOT NULL              -- the full model::PhiFileReport as JSON
);
CREATE INDEX phi_files_scan ON phi_files(scan_id, risk DESC);

CREATE TABLE phi_findings (
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL REFERENCES phi_files(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    masked TEXT NOT NULL,
    hash TEXT NOT NULL,
    confidence TEXT NOT NULL,
    reason TEXT NOT NULL,
    location TEXT NOT NULL          -- JSON model::PhiLocation
);
CREATE INDEX phi_findings_file ON phi_findings(file_id);
CREATE INDEX phi_findings_hash ON phi_findings(hash);
