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
//! whatever the database's size.

use super::{Cx, ExtractError, Field, Unit, ssn_number, text};
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
pub fn file(path: &Path, cx: &mut Cx<'_>) -> Result<(), ExtractError> {
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
            Err(e) => cx.warnings.push(format!("table {name}: failed to {e}")),
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
