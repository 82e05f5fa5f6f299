//! SQLite databases: practice tools, phone and browser data, app caches and "export to database"
//! files keep whole patient tables in them. Every table's rows are read, each column's name the
//! context of its values (as a CSV header is), each row a record; a BLOB holding a document (a
//! PDF, a zip, text) is scanned as an embedded file.
//!
//! The file is untrusted input read by SQLite itself, set up as its authors advise for untrusted
//! database files (<https://sqlite.org/security.html>): defensive mode, an untrusted schema (no
//! function of a view or trigger runs; views and triggers are off), cell size checks, no memory
//! mapping, a cap on the size of one value, and a progress handler that stops at the per-file time
//! budget. Only `SELECT *` of plain tables runs. A file on disk is opened read-only and
//! `immutable`: SQLite takes no lock and creates no journal, WAL or shared-memory file beside it
//! (nothing is written to the share), and reads pages as it needs them, so memory stays bounded
//! whatever the database's size. A database with a write-ahead log beside it (an app that is
//! running, or stopped without closing it) is read into memory with the log's committed
//! transactions applied, up to the whole-file limit.

use super::{Cx, ExtractError, Field, Unit, ssn_number, text};
use medguard_model::PhiProblem;
use rusqlite::config::DbConfig;
use rusqlite::limits::Limit;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, MAIN_DB, OpenFlags};
use std::io::Read;
use std::path::Path;
use std::rc::Rc;
use std::time::Instant;

/// The first 16 bytes of every SQLite 3 database file (its file format, section 1.3.1).
const MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Whether `head` starts an SQLite 3 database.
pub fn looks_like_sqlite(head: &[u8]) -> bool {
    head.starts_with(MAGIC)
}

/// The database file at `path`, read in place.
///
/// A running app keeps its latest changes in the `-wal` file beside the database until it copies
/// them back: when there is one, both are read (not written: SQLite is not asked to open the WAL,
/// which would make a shared-memory file beside them) and the WAL's committed transactions are
/// applied to the database's pages in memory ([`apply_wal`]), up to the whole-file limit for the
/// two together.
pub fn file(path: &Path, cx: &mut Cx<'_>) -> Result<(), ExtractError> {
    let mut wal_path = path.as_os_str().to_owned();
    wal_path.push("-wal");
    if let Ok(wal_len) = std::fs::metadata(&wal_path).map(|m| m.len())
        && wal_len > WAL_HEADER as u64
    {
        let db_len = std::fs::metadata(path)?.len();
        if db_len.saturating_add(wal_len) <= cx.limits.max_whole {
            let mut db = std::fs::read(path)?;
            let wal = std::fs::read(&wal_path)?;
            if apply_wal(&mut db, &wal).is_some() {
                return bytes(&db, cx);
            }
        } else {
            let text = format!(
                "its write-ahead log ({wal_len} bytes of recent changes) was not read: with the \
                 database it is larger than the {}-byte limit",
                cx.limits.max_whole
            );
            cx.warn(PhiProblem::TooLarge, text);
        }
    }
    let uri = format!("file:{}?immutable=1", uri_path(path));
    let conn = Connection::open_with_flags(
        uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(corrupt)?;
    tables(&conn, cx)
}

/// A database held in memory (an archive member, an attachment).
pub fn bytes(data: &[u8], cx: &mut Cx<'_>) -> Result<(), ExtractError> {
    // SQLite opens no WAL-mode database from memory (file format versions 2 and 2 in bytes 18
    // and 19). A copy in an archive has no WAL file beside it anyway: read without one, it is
    // the same database as a legacy one, which versions 1 and 1 say.
    let mut head = [0u8; 20];
    let n = data.len().min(head.len());
    head[..n].copy_from_slice(&data[..n]);
    if head[18..] == [2, 2] {
        head[18..].copy_from_slice(&[1, 1]);
    }
    let mut conn = Connection::open_in_memory().map_err(corrupt)?;
    conn.deserialize_read_exact(MAIN_DB, head[..n].chain(&data[n..]), data.len(), true)
        .map_err(corrupt)?;
    tables(&conn, cx)
}

/// The size of a WAL file's header, and of a frame's (SQLite's file format, section 4.1).
const WAL_HEADER: usize = 32;
const FRAME_HEADER: usize = 24;

/// Apply the committed transactions of a write-ahead log to the database image `db`, as a
/// checkpoint would (SQLite's file format, section 4): frames whose salts match the log's header
/// and whose cumulative checksums hold, up to the last commit frame among them; each writes its
/// page, and the last commit gives the database's size. The number of frames applied, or `None`
/// when the log does not belong to this database (bad magic, another page size) or commits
/// nothing.
pub fn apply_wal(db: &mut Vec<u8>, wal: &[u8]) -> Option<usize> {
    let word = |b: &[u8], at: usize| -> Option<u32> {
        Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
    };
    let magic = word(wal, 0)?;
    if magic & !1 != 0x377F_0682 {
        return None;
    }
    // The checksum reads the log's words big-endian when the magic's low bit is set.
    let big = magic & 1 == 1;
    let page = usize::try_from(word(wal, 8)?).ok()?;
    let db_page = match u16::from_be_bytes([*db.get(16)?, *db.get(17)?]) {
        1 => 65_536,
        n => usize::from(n),
    };
    if page != db_page || !page.is_power_of_two() || page < 512 {
        return None;
    }
    let checksum = |mut s: (u32, u32), data: &[u8]| -> (u32, u32) {
        for pair in data.chunks_exact(8) {
            let w = |b: &[u8]| {
                let b: [u8; 4] = [b[0], b[1], b[2], b[3]];
                if big {
                    u32::from_be_bytes(b)
                } else {
                    u32::from_le_bytes(b)
                }
            };
            s.0 = s.0.wrapping_add(w(&pair[..4])).wrapping_add(s.1);
            s.1 = s.1.wrapping_add(w(&pair[4..])).wrapping_add(s.0);
        }
        s
    };
    let header = wal.get(..WAL_HEADER)?;
    let mut sum = checksum((0, 0), &header[..24]);
    if sum != (word(header, 24)?, word(header, 28)?) {
        return None;
    }
    let salts = (word(header, 16)?, word(header, 20)?);
    // Frames of the transactions committed so far, and of the one being read: (page number,
    // offset of its data).
    let mut committed: Vec<(usize, usize)> = Vec::new();
    let mut pending: Vec<(usize, usize)> = Vec::new();
    let mut size = 0usize;
    let mut at = WAL_HEADER;
    while let Some(frame) = wal.get(at..at + FRAME_HEADER + page) {
        if (word(frame, 8)?, word(frame, 12)?) != salts {
            break;
        }
        sum = checksum(checksum(sum, &frame[..8]), &frame[FRAME_HEADER..]);
        if sum != (word(frame, 16)?, word(frame, 20)?) {
            break;
        }
        let number = usize::try_from(word(frame, 0)?).ok()?;
        if number == 0 {
            break;
        }
        pending.push((number, at + FRAME_HEADER));
        let commit = usize::try_from(word(frame, 4)?).ok()?;
        if commit > 0 {
            committed.append(&mut pending);
            size = commit;
        }
        at += FRAME_HEADER + page;
    }
    // The database grows only by pages the log holds: a size beyond them is damage.
    if committed.is_empty() || size > db.len() / page + committed.len() {
        return None;
    }
    db.resize(size.checked_mul(page)?, 0);
    for &(number, data) in &committed {
        let to = (number - 1).checked_mul(page)?;
        if let (Some(dst), Some(src)) = (db.get_mut(to..to + page), wal.get(data..data + page)) {
            dst.copy_from_slice(src);
        }
    }
    Some(committed.len())
}

/// `path` for a `file:` URI: every byte outside the unreserved set percent-encoded (RFC 3986),
/// so `?`, `#` and `%` in a folder's name stay part of the path.
fn uri_path(path: &Path) -> String {
    #[cfg(unix)]
    let raw = std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()).to_vec();
    #[cfg(not(unix))]
    let raw = path.to_string_lossy().into_owned().into_bytes();
    let mut out = String::with_capacity(raw.len());
    for b in raw {
        if b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn corrupt(e: rusqlite::Error) -> ExtractError {
    ExtractError::corrupt("sqlite", e)
}

/// Settings for a database nobody vouches for (see the module's documentation).
fn harden(conn: &Connection, cx: &Cx<'_>) -> rusqlite::Result<()> {
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER, false)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_VIEW, false)?;
    let longest = i32::try_from(cx.limits.max_whole.min(1 << 30)).unwrap_or(1 << 30);
    conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, longest)?;
    conn.pragma_update(None, "cell_size_check", "ON")?;
    conn.pragma_update(None, "mmap_size", 0)?;
    conn.pragma_update(None, "cache_size", -2048)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(None, "query_only", "ON")?;
    let deadline = cx.started + cx.limits.time_budget;
    conn.progress_handler(10_000, Some(move || Instant::now() > deadline))?;
    Ok(())
}

/// An error while reading: the time budget (the progress handler interrupted) or damage.
fn read_error(e: rusqlite::Error, cx: &Cx<'_>) -> ExtractError {
    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::OperationInterrupted) {
        ExtractError::Timeout {
            secs: cx.limits.time_budget.as_secs(),
        }
    } else {
        corrupt(e)
    }
}

/// The plain tables, in the order they were created: not SQLite's own (`sqlite_sequence`,
/// `sqlite_stat1`) nor virtual ones (their module may be missing; a full-text index keeps its
/// text in plain shadow tables, read as the others).
fn table_names(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut st =
        conn.prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'table' ORDER BY rowid")?;
    let rows = st.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
    })?;
    let mut names = Vec::new();
    for row in rows {
        let (name, sql) = row?;
        let virt = sql.is_some_and(|s| {
            s.get(..20)
                .is_some_and(|p| p.eq_ignore_ascii_case("CREATE VIRTUAL TABLE"))
        });
        if !virt && !name.starts_with("sqlite_") {
            names.push(name);
        }
    }
    Ok(names)
}

fn tables(conn: &Connection, cx: &mut Cx<'_>) -> Result<(), ExtractError> {
    harden(conn, cx).map_err(corrupt)?;
    let names = table_names(conn).map_err(|e| read_error(e, cx))?;
    // Records are numbered through the whole database, so rows of two tables stay apart.
    let mut record = 0u64;
    for name in names {
        match table(conn, &name, &mut record, cx) {
            Ok(()) => {}
            Err(e @ (ExtractError::Timeout { .. } | ExtractError::Bomb { .. })) => return Err(e),
            Err(e) => cx.warn(e.problem(), format!("table {name}: failed to {e}")),
        }
    }
    Ok(())
}

fn table(
    conn: &Connection,
    name: &str,
    record: &mut u64,
    cx: &mut Cx<'_>,
) -> Result<(), ExtractError> {
    let sql = format!("SELECT * FROM \"{}\"", name.replace('"', "\"\""));
    let mut st = conn.prepare(&sql).map_err(|e| read_error(e, cx))?;
    let columns: Vec<(Rc<Field>, String)> = st
        .column_names()
        .iter()
        .map(|c| (cx.field(c), format!("{name}.{c}")))
        .collect();
    let mut rows = st.query([]).map_err(|e| read_error(e, cx))?;
    while let Some(row) = rows.next().map_err(|e| read_error(e, cx))? {
        *record += 1;
        for (i, (field, label)) in columns.iter().enumerate() {
            let unit = Unit {
                label: Some(label),
                record: Some(*record),
                ..Unit::default()
            };
            match row.get_ref(i).map_err(|e| read_error(e, cx))? {
                ValueRef::Text(t) => {
                    for line in text::decode(t).lines() {
                        cx.unit_in(Some(field), Unit { text: line, ..unit })?;
                    }
                }
                // Numbers kept as integers: an SSN or phone column typed INTEGER. An SSN kept as
                // a number lost its leading zeros (012-34-5678 is stored as 12345678).
                ValueRef::Integer(n) => {
                    let n = ssn_number(n, field.class()).unwrap_or_else(|| n.to_string());
                    cx.unit_in(Some(field), Unit { text: &n, ..unit })?;
                }
                ValueRef::Blob(b) if !b.is_empty() => {
                    cx.member(&format!("{label} (record {record})"), b)?;
                }
                _ => {}
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database in WAL mode whose connection is still open: its file, and the log holding
    /// `rows` transactions of one row each.
    fn live(dir: &Path, rows: usize) -> (Vec<u8>, Vec<u8>, Connection) {
        let path = dir.join("live.db");
        let conn = Connection::open(&path).expect("open");
        conn.pragma_update(None, "journal_mode", "WAL")
            .expect("wal");
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .expect("no checkpoint");
        conn.execute_batch("CREATE TABLE t (v TEXT); PRAGMA wal_checkpoint(TRUNCATE);")
            .expect("create");
        for i in 0..rows {
            conn.execute(
                "INSERT INTO t VALUES (?1)",
                [format!("row {i} {}", "x".repeat(900))],
            )
            .expect("insert");
        }
        let db = std::fs::read(&path).expect("db");
        let wal = std::fs::read(dir.join("live.db-wal")).expect("wal");
        (db, wal, conn)
    }

    fn rows(image: &[u8]) -> i64 {
        let mut head = image.to_vec();
        head[18..20].copy_from_slice(&[1, 1]);
        let mut conn = Connection::open_in_memory().expect("memory");
        conn.deserialize_read_exact(MAIN_DB, &head[..], head.len(), true)
            .expect("deserialize");
        conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .expect("count")
    }

    #[test]
    fn a_log_cut_anywhere_gives_the_transactions_committed_before_the_cut() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (db, wal, _open) = live(dir.path(), 6);
        assert_eq!(rows(&db), 0, "the rows are in the log alone");
        let mut seen = 0;
        for cut in (0..=wal.len()).step_by(97).chain([wal.len()]) {
            let mut image = db.clone();
            let n = match apply_wal(&mut image, &wal[..cut]) {
                Some(_) => rows(&image),
                None => 0,
            };
            assert!(n >= seen, "cut at {cut}: {n} rows after {seen}");
            seen = n;
        }
        assert_eq!(seen, 6);
        // A flipped byte in the last frame loses its transaction, not the ones before.
        let mut bad = wal.clone();
        let last = bad.len() - 10;
        bad[last] ^= 0xFF;
        let mut image = db.clone();
        apply_wal(&mut image, &bad).expect("earlier commits");
        assert_eq!(rows(&image), 5);
        // Another database's page size, or no log at all: nothing applied.
        assert_eq!(apply_wal(&mut db.clone(), b"not a log"), None);
        let mut other = db.clone();
        other[16..18].copy_from_slice(&1024u16.to_be_bytes());
        assert_eq!(apply_wal(&mut other, &wal), None);
    }
}
