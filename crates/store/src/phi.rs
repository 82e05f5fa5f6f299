//! PHI exposure results: one scan, its files (judged) and their masked findings.
//!
//! A scan is written through a [`PhiWriter`], one transaction: nothing is visible until
//! [`PhiWriter::commit`], and dropping the writer rolls everything back. Raw values never reach the
//! database: the writer drops `PhiFinding::value` (filled only with `--unmask`) before writing.

use crate::{Result, SqliteStore};
use chrono::{DateTime, Utc};
use medguard_model::{
    Confidence, PhiFileReport, PhiFinding, PhiKind, PhiProblem, PhiScanSummary, ValueHash,
};
use rusqlite::{OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An open scan: every write lands in one transaction.
pub trait PhiWriter {
    /// Record one file and its findings (any `value` is dropped, never stored).
    fn add_file(&mut self, report: &PhiFileReport, findings: &[PhiFinding]) -> Result<()>;
    /// Record a file (or a part of one) that could not be checked, and why.
    fn add_problem(&mut self, path: &str, problem: PhiProblem) -> Result<()>;
    /// Record the totals and make the scan visible.
    fn commit(self: Box<Self>, summary: &PhiScanSummary) -> Result<i64>;
}

/// A stored scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhiScanRecord {
    pub id: i64,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub summary: PhiScanSummary,
}

/// A stored file report with its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhiFileRecord {
    pub id: i64,
    pub scan_id: i64,
    pub report: PhiFileReport,
}

/// PHI exposure persistence, implemented by every backend.
pub trait PhiStore {
    /// Start writing a scan of `roots`.
    fn phi_writer(&mut self, roots: &[String]) -> Result<Box<dyn PhiWriter + '_>>;
    /// Scans, newest first.
    fn phi_scans(&self) -> Result<Vec<PhiScanRecord>>;
    /// Files of a scan (the latest when `None`), riskiest first.
    fn phi_files(&self, scan_id: Option<i64>) -> Result<Vec<PhiFileRecord>>;
    /// What a scan could not check: (path, why), in the order met.
    fn phi_problems(&self, scan_id: i64) -> Result<Vec<(String, PhiProblem)>>;
    /// Findings of one stored file (masked; `value` is always `None`).
    fn phi_findings(&self, file_id: i64) -> Result<Vec<PhiFinding>>;
    /// Files (of any scan) holding a value with this keyed hash. SQLite answers it with a table
    /// scan: this rare question does not justify an index update per stored finding.
    fn phi_files_with_hash(&self, hash: &ValueHash) -> Result<Vec<String>>;
}

struct SqlitePhiWriter<'a> {
    tx: Transaction<'a>,
    scan_id: i64,
}

/// Findings per INSERT statement: with one statement per row, SQLite's per-statement work cost
/// more than writing the row.
const ROWS_PER_INSERT: usize = 64;

/// `INSERT INTO phi_findings ... VALUES (?, ...)` for `rows` rows.
fn insert_findings(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO phi_findings (file_id, kind, masked, hash, confidence, reason, location) VALUES ",
    );
    for i in 0..rows {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str("(?,?,?,?,?,?,?)");
    }
    sql
}

static INSERT_CHUNK: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| insert_findings(ROWS_PER_INSERT));
static INSERT_ONE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| insert_findings(1));

/// Bind one finding's seven columns from parameter `first` on. `f.value` is deliberately not
/// written.
fn bind_finding(
    stmt: &mut rusqlite::CachedStatement<'_>,
    first: usize,
    file_id: i64,
    f: &PhiFinding,
    location: &str,
) -> Result<()> {
    stmt.raw_bind_parameter(first, file_id)?;
    stmt.raw_bind_parameter(first + 1, f.kind.as_str())?;
    stmt.raw_bind_parameter(first + 2, f.masked.as_str())?;
    stmt.raw_bind_parameter(first + 3, &f.hash.0[..])?;
    stmt.raw_bind_parameter(first + 4, f.confidence.as_str())?;
    stmt.raw_bind_parameter(first + 5, &*f.reason)?;
    stmt.raw_bind_parameter(first + 6, location)?;
    Ok(())
}

impl PhiWriter for SqlitePhiWriter<'_> {
    fn add_file(&mut self, r: &PhiFileReport, findings: &[PhiFinding]) -> Result<()> {
        self.tx.execute(
            "INSERT INTO phi_files (scan_id, path, format, size, individuals, health_info, risk,
                 severity, headline, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                self.scan_id,
                r.path,
                r.format,
                i64::try_from(r.size).unwrap_or(i64::MAX),
                i64::try_from(r.individuals).unwrap_or(i64::MAX),
                r.health_info,
                r.risk,
                r.severity.as_str(),
                r.headline,
                serde_json::to_string(r)?,
            ],
        )?;
        let file_id = self.tx.last_insert_rowid();
        // Full chunks go in one statement each; the rest one row at a time.
        let mut chunks = findings.chunks_exact(ROWS_PER_INSERT);
        let mut locations = Vec::with_capacity(ROWS_PER_INSERT);
        for chunk in chunks.by_ref() {
            let mut stmt = self.tx.prepare_cached(&INSERT_CHUNK)?;
            locations.clear();
            for f in chunk {
                locations.push(serde_json::to_string(&f.location)?);
            }
            for (i, (f, loc)) in chunk.iter().zip(&locations).enumerate() {
                bind_finding(&mut stmt, i * 7 + 1, file_id, f, loc)?;
            }
            stmt.raw_execute()?;
        }
        let mut stmt = self.tx.prepare_cached(&INSERT_ONE)?;
        for f in chunks.remainder() {
            let loc = serde_json::to_string(&f.location)?;
            bind_finding(&mut stmt, 1, file_id, f, &loc)?;
            stmt.raw_execute()?;
        }
        Ok(())
    }

    fn add_problem(&mut self, path: &str, problem: PhiProblem) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO phi_problems (scan_id, path, problem) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![self.scan_id, path, problem.as_str()])?;
        Ok(())
    }

    fn commit(self: Box<Self>, s: &PhiScanSummary) -> Result<i64> {
        self.tx.execute(
            "UPDATE phi_scans SET finished_at = ?2, files_scanned = ?3, files_with_phi = ?4,
                 bytes_scanned = ?5, errors = ?6, individuals = ?7, elapsed_ms = ?8, counts = ?9
             WHERE id = ?1",
            params![
                self.scan_id,
                Utc::now().to_rfc3339(),
                i64::try_from(s.files_scanned).unwrap_or(i64::MAX),
                i64::try_from(s.files_with_phi).unwrap_or(i64::MAX),
                i64::try_from(s.bytes_scanned).unwrap_or(i64::MAX),
                i64::try_from(s.errors).unwrap_or(i64::MAX),
                i64::try_from(s.individuals).unwrap_or(i64::MAX),
                i64::try_from(s.elapsed_ms).unwrap_or(i64::MAX),
                serde_json::to_string(&s.counts)?,
            ],
        )?;
        let id = self.scan_id;
        self.tx.commit()?;
        Ok(id)
    }
}

fn ts(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl PhiStore for SqliteStore {
    fn phi_writer(&mut self, roots: &[String]) -> Result<Box<dyn PhiWriter + '_>> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO phi_scans (started_at, roots) VALUES (?1, ?2)",
            params![Utc::now().to_rfc3339(), serde_json::to_string(roots)?],
        )?;
        let scan_id = tx.last_insert_rowid();
        Ok(Box::new(SqlitePhiWriter { tx, scan_id }))
    }

    fn phi_scans(&self) -> Result<Vec<PhiScanRecord>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, started_at, finished_at, roots, files_scanned, files_with_phi,
                    bytes_scanned, errors, individuals, elapsed_ms, counts
             FROM phi_scans WHERE finished_at IS NOT NULL ORDER BY id DESC",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, String>(3)?,
                [
                    r.get::<_, i64>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, i64>(6)?,
                    r.get::<_, i64>(7)?,
                    r.get::<_, i64>(8)?,
                    r.get::<_, i64>(9)?,
                ],
                r.get::<_, String>(10)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, started, finished, roots, n, counts) = row?;
            let counts: BTreeMap<PhiKind, u64> = serde_json::from_str(&counts)?;
            out.push(PhiScanRecord {
                id,
                started_at: ts(&started).unwrap_or_default(),
                finished_at: finished.as_deref().and_then(ts),
                summary: PhiScanSummary {
                    roots: serde_json::from_str(&roots)?,
                    files_scanned: u(n[0]),
                    files_with_phi: u(n[1]),
                    bytes_scanned: u(n[2]),
                    errors: u(n[3]),
                    individuals: u(n[4]),
                    counts,
                    elapsed_ms: u(n[5]),
                },
            });
        }
        Ok(out)
    }

    fn phi_files(&self, scan_id: Option<i64>) -> Result<Vec<PhiFileRecord>> {
        let scan_id = match scan_id {
            Some(id) => id,
            None => {
                let latest: Option<i64> = self
                    .conn
                    .query_row(
                        "SELECT MAX(id) FROM phi_scans WHERE finished_at IS NOT NULL",
                        [],
                        |r| r.get(0),
                    )
                    .optional()?
                    .flatten();
                match latest {
                    Some(id) => id,
                    None => return Ok(Vec::new()),
                }
            }
        };
        let mut stmt = self.conn.prepare(
            "SELECT id, data FROM phi_files WHERE scan_id = ?1 ORDER BY risk DESC, individuals DESC, path",
        )?;
        let rows = stmt.query_map([scan_id], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, data) = row?;
            out.push(PhiFileRecord {
                id,
                scan_id,
                report: serde_json::from_str(&data)?,
            });
        }
        Ok(out)
    }

    fn phi_problems(&self, scan_id: i64) -> Result<Vec<(String, PhiProblem)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT path, problem FROM phi_problems WHERE scan_id = ?1 ORDER BY id")?;
        let rows = stmt.query_map([scan_id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (path, problem) = row?;
            // A problem a newer build knows is shown as the one that says least.
            out.push((
                path,
                PhiProblem::parse(&problem).unwrap_or(PhiProblem::Unreadable),
            ));
        }
        Ok(out)
    }

    fn phi_findings(&self, file_id: i64) -> Result<Vec<PhiFinding>> {
        let mut stmt = self.conn.prepare(
            "SELECT f.kind, f.masked, f.hash, f.confidence, f.reason, f.location, p.path
             FROM phi_findings f JOIN phi_files p ON p.id = f.file_id
             WHERE f.file_id = ?1 ORDER BY f.id",
        )?;
        let rows = stmt.query_map([file_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Vec<u8>>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (kind, masked, hash, conf, reason, loc, path) = row?;
            // Rows this version cannot read (unknown kind or confidence, malformed hash) are
            // skipped.
            let (Some(kind), Ok(hash), Some(confidence)) = (
                PhiKind::parse(&kind),
                <[u8; 16]>::try_from(hash.as_slice()),
                Confidence::parse(&conf),
            ) else {
                continue;
            };
            out.push(PhiFinding {
                path: path.into(),
                kind,
                masked: masked.into(),
                hash: ValueHash(hash),
                value: None,
                location: serde_json::from_str(&loc)?,
                confidence,
                reason: reason.into(),
            });
        }
        Ok(out)
    }

    fn phi_files_with_hash(&self, hash: &ValueHash) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare(
            "SELECT DISTINCT p.path FROM phi_findings f JOIN phi_files p ON p.id = f.file_id
             WHERE f.hash = ?1 ORDER BY p.path",
        )?;
        let rows = stmt.query_map([&hash.0[..]], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use medguard_model::{PhiExposure, PhiLocation, Severity};

    fn report(path: &str, risk: u32) -> PhiFileReport {
        PhiFileReport {
            path: path.into(),
            format: "csv".into(),
            size: 10,
            counts: BTreeMap::from([(PhiKind::Ssn, 1)]),
            individuals: 1,
            health_info: false,
            exposure: PhiExposure::default(),
            risk,
            severity: Severity::High,
            headline: "1 patient with SSN in a spreadsheet".into(),
            warnings: Vec::new(),
        }
    }

    fn finding(path: &str) -> PhiFinding {
        PhiFinding {
            path: path.into(),
            kind: PhiKind::Ssn,
            masked: "***-**-8726".into(),
            hash: ValueHash([0xab; 16]),
            value: Some("536-22-8726".into()),
            location: PhiLocation {
                line: Some(2),
                field: Some("ssn".into()),
                ..PhiLocation::default()
            },
            confidence: Confidence::High,
            reason: "field:ssn".into(),
        }
    }

    #[test]
    fn problems_belong_to_their_scan() {
        let mut s = SqliteStore::in_memory().expect("store");
        let mut w = s.phi_writer(&["/srv/share".into()]).expect("writer");
        w.add_problem("/srv/share/scan.pdf", PhiProblem::ScannedImage)
            .expect("add");
        w.add_problem("/srv/share/old.7z", PhiProblem::Protected)
            .expect("add");
        let first = w.commit(&PhiScanSummary::default()).expect("commit");
        // A scan that never commits leaves nothing behind.
        let mut w = s.phi_writer(&["/srv/share".into()]).expect("writer");
        w.add_problem("/srv/share/big.zip", PhiProblem::TooLarge)
            .expect("add");
        drop(w);
        let w = s.phi_writer(&["/srv/share".into()]).expect("writer");
        let second = w.commit(&PhiScanSummary::default()).expect("commit");
        assert_eq!(
            s.phi_problems(first).expect("problems"),
            [
                ("/srv/share/scan.pdf".to_string(), PhiProblem::ScannedImage),
                ("/srv/share/old.7z".to_string(), PhiProblem::Protected),
            ]
        );
        assert!(s.phi_problems(second).expect("problems").is_empty());
    }

    #[test]
    fn scan_round_trip_never_stores_values() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("m.db");
        let mut s = SqliteStore::open(&path).expect("open");
        let mut w = s.phi_writer(&["/srv/share".into()]).expect("writer");
        w.add_file(
            &report("/srv/share/a.csv", 40),
            &[finding("/srv/share/a.csv")],
        )
        .expect("add");
        w.add_file(
            &report("/srv/share/b.csv", 80),
            &[finding("/srv/share/b.csv")],
        )
        .expect("add");
        let sum = PhiScanSummary {
            roots: vec!["/srv/share".into()],
            files_scanned: 3,
            files_with_phi: 2,
            ..PhiScanSummary::default()
        };
        let id = w.commit(&sum).expect("commit");
        let files = s.phi_files(None).expect("files");
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].report.path, "/srv/share/b.csv", "riskiest first");
        assert_eq!(files[0].scan_id, id);
        let f = s.phi_findings(files[0].id).expect("findings");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].value, None);
        assert_eq!(f[0].masked, "***-**-8726");
        assert_eq!(
            s.phi_files_with_hash(&ValueHash([0xab; 16]))
                .expect("hash")
                .len(),
            2
        );
        assert_eq!(s.phi_scans().expect("scans")[0].summary.files_scanned, 3);
        drop(s);
        let raw = std::fs::read(&path).expect("read db");
        let wal = std::fs::read(dir.path().join("m.db-wal")).unwrap_or_default();
        for bytes in [raw, wal] {
            assert!(
                !bytes.windows(11).any(|w| w == b"536-22-8726"),
                "raw SSN found in the store file"
            );
        }
    }

    /// Findings written in full chunks and a remainder read back whole and in order.
    #[test]
    fn many_findings_round_trip_in_order() {
        let mut s = SqliteStore::in_memory().expect("mem");
        let n = ROWS_PER_INSERT * 2 + 5;
        let findings: Vec<PhiFinding> = (0..n)
            .map(|i| {
                let mut f = finding("a.csv");
                f.value = None;
                f.hash = ValueHash([u8::try_from(i % 256).expect("byte"); 16]);
                f.location.record = Some(i as u64);
                f
            })
            .collect();
        let mut w = s.phi_writer(&["x".into()]).expect("writer");
        w.add_file(&report("a.csv", 10), &findings).expect("add");
        w.commit(&PhiScanSummary::default()).expect("commit");
        let files = s.phi_files(None).expect("files");
        let back = s.phi_findings(files[0].id).expect("findings");
        assert_eq!(back, findings);
    }

    #[test]
    fn dropped_writer_rolls_back() {
        let mut s = SqliteStore::in_memory().expect("mem");
        {
            let mut w = s.phi_writer(&["x".into()]).expect("writer");
            w.add_file(&report("x/a.csv", 10), &[]).expect("add");
        }
        assert!(s.phi_files(None).expect("files").is_empty());
        assert!(s.phi_scans().expect("scans").is_empty());
    }
}
