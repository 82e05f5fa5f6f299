-- What a PHI scan could not check, and why (model::PhiProblem): password-protected files, scanned
-- images without text, files too large, damaged or too slow to read. The path only: the message
-- of the error can name an archive member, and stays in the terminal or JSON stream.
CREATE TABLE phi_problems (
    id INTEGER PRIMARY KEY,
    scan_id INTEGER NOT NULL REFERENCES phi_scans(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    problem TEXT NOT NULL           -- model::PhiProblem::as_str
);
CREATE INDEX phi_problems_scan ON phi_problems(scan_id);
