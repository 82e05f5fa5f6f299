-- Findings keep their keyed hash as its 16 bytes (was 32 hex digits), and the hash index goes:
-- keeping it up to date was half the cost of storing a scan (a random-order B-tree insert per
-- finding), for one rare query (files holding a value) that a table scan answers in well under a
-- second. Rows whose hash is not 32 hex digits are dropped, as the reader skipped them already.
CREATE TABLE phi_findings_v21 (
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL REFERENCES phi_files(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    masked TEXT NOT NULL,
    hash BLOB NOT NULL,             -- first 16 bytes of HMAC-SHA256 under the install's key
    confidence TEXT NOT NULL,
    reason TEXT NOT NULL,
    location TEXT NOT NULL          -- JSON model::PhiLocation
);
INSERT INTO phi_findings_v21 (id, file_id, kind, masked, hash, confidence, reason, location)
    SELECT id, file_id, kind, masked, unhex(hash), confidence, reason, location
    FROM phi_findings
    WHERE length(hash) = 32 AND unhex(hash) IS NOT NULL;
DROP TABLE phi_findings;
ALTER TABLE phi_findings_v21 RENAME TO phi_findings;
CREATE INDEX phi_findings_file ON phi_findings(file_id);
