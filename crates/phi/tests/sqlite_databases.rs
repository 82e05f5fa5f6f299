//! SQLite databases as practice tools and apps leave them: Python's sqlite3 module (Debian's
//! SQLite) writes a patients table with an INTEGER SSN column, a multi-line note, a zip kept in a
//! BLOB, a second table, a view, a trigger and a full-text index, in WAL mode. medguard reads every
//! table's rows with the column names as context, never writes beside the file, keeps the rows
//! before damage, stops at the time budget, and finds the same identifiers in a table as in the
//! same table exported as CSV.

mod common;

use common::at;

use medguard_model::PhiKind;
use medguard_phi::detect::Engine;
use medguard_phi::scan::scan_file;
use medguard_phi::{ExtractError, FileOutcome, Hasher, Limits, ScanOptions, scan_bytes};
use proptest::prelude::*;
use std::path::Path;
use std::time::Duration;

const WRITE_DB: &str = r#"
import io, sqlite3, sys, zipfile
z = io.BytesIO()
with zipfile.ZipFile(z, "w") as f:
    f.writestr("referral.txt", "Referral for Ysogra Nixyso, SSN 536-22-8727.\n")
db = sqlite3.connect(sys.argv[1])
db.execute("PRAGMA journal_mode=WAL")
db.executescript("""
CREATE TABLE patients (id INTEGER PRIMARY KEY, first_name TEXT, last_name TEXT, dob TEXT,
                       ssn INTEGER, phone TEXT, notes TEXT, attachment BLOB);
CREATE TABLE visits (visit_date TEXT, diagnosis TEXT, provider TEXT);
CREATE INDEX patients_by_name ON patients (last_name, first_name);
CREATE VIEW adults AS SELECT upper(first_name) FROM patients;
CREATE TRIGGER stamp AFTER INSERT ON visits BEGIN SELECT 1; END;
CREATE VIRTUAL TABLE note_index USING fts5(body);
""")
db.execute("INSERT INTO patients VALUES (1, 'Maria', 'Gonzalez', '1962-03-14', 536228726, "
           "'(217) 632-0143', 'Seen for type 2 diabetes.\nPatient Maria Gonzalez, recall in 3 months.', ?)",
           (z.getvalue(),))
db.execute("INSERT INTO patients VALUES (2, 'John', 'Smith', '02/14/1980', 536228728, "
           "'217-632-0199', NULL, NULL)")
db.execute("INSERT INTO patients (id, first_name, ssn) VALUES (3, 'Ann', 12345678)")
db.execute("INSERT INTO visits VALUES ('2026-11-02', 'E11.9', 'Dr. House')")
db.execute("INSERT INTO note_index VALUES ('Call back Xochitl Zorquil, SSN 536-22-8729')")
for i in range(int(sys.argv[2])):
    db.execute("INSERT INTO visits VALUES ('2026-10-01', 'K02.52', 'Dr. House')")
db.commit()
db.close()
"#;

fn db(dir: &Path, extra_rows: u32) -> std::path::PathBuf {
    let path = dir.join("practice.db");
    common::python(
        WRITE_DB,
        &[path.as_os_str(), extra_rows.to_string().as_ref()],
    );
    path
}

fn scan(path: &Path, opts: &ScanOptions) -> Result<Option<FileOutcome>, ExtractError> {
    scan_file(
        path,
        opts,
        Engine::get().expect("engine"),
        &Hasher::with_key([5; 32]),
    )
}

fn unmasked() -> ScanOptions {
    ScanOptions {
        unmask: true,
        min_records: 0,
        ..ScanOptions::default()
    }
}

fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    a.len() == b.len() && a.modified().ok() == b.modified().ok()
}

#[test]
fn python_sqlite_tables_are_read_with_their_column_names() {
    let dir = medguard_lab::workdir("phi-sqlite");
    let path = db(dir.path(), 0);
    let before = std::fs::read(&path).expect("read");
    let meta = std::fs::metadata(&path).expect("stat");
    assert_eq!(
        before.get(18..20),
        Some(&[2u8, 2][..]),
        "a WAL-mode database"
    );

    let o = scan(&path, &unmasked()).expect("scan").expect("found");
    let f = &o.findings;
    assert_eq!(o.report.format, "sqlite");
    assert_eq!(
        at(f, PhiKind::Name, "Maria"),
        ("patients.first_name".into(), String::new())
    );
    assert_eq!(at(f, PhiKind::Name, "Gonzalez").0, "patients.last_name");
    assert_eq!(at(f, PhiKind::Dob, "1962-03-14").0, "patients.dob");
    assert_eq!(at(f, PhiKind::Dob, "02/14/1980").0, "patients.dob");
    // Kept as an INTEGER: the column's name says what it is.
    assert_eq!(at(f, PhiKind::Ssn, "536228726").0, "patients.ssn");
    assert_eq!(at(f, PhiKind::Ssn, "536228728").0, "patients.ssn");
    // 012-34-5678 kept as a number: its leading zero is put back.
    assert_eq!(at(f, PhiKind::Ssn, "012345678").0, "patients.ssn");
    assert_eq!(at(f, PhiKind::Phone, "632-0143").0, "patients.phone");
    // The second line of a multi-line note.
    assert_eq!(at(f, PhiKind::Name, "Maria Gonzalez").0, "patients.notes");
    // A zip in a BLOB, opened as an embedded file.
    assert_eq!(
        at(f, PhiKind::Ssn, "536-22-8727"),
        (
            String::new(),
            "patients.attachment (record 1)!referral.txt".into()
        )
    );
    // A full-text index keeps its text in a plain shadow table.
    assert_eq!(
        at(f, PhiKind::Ssn, "536-22-8729").0,
        "note_index_content.c0"
    );
    assert_eq!(at(f, PhiKind::Icd10, "E11.9").0, "visits.diagnosis");
    let rec = |v: &str| {
        f.iter()
            .find(|x| x.value.as_deref() == Some(v))
            .and_then(|x| x.location.record)
    };
    assert_eq!(rec("536228726"), Some(1));
    assert_eq!(rec("536228728"), Some(2));
    assert!(o.report.health_info, "diabetes and E11.9");
    assert!(o.report.individuals >= 2, "{}", o.report.individuals);
    assert!(
        o.report.headline.contains("database file"),
        "{}",
        o.report.headline
    );
    assert!(o.report.warnings.is_empty(), "{:?}", o.report.warnings);

    // Nothing written: the file as it was, and no journal, WAL or shared-memory file beside it.
    assert_eq!(std::fs::read(&path).expect("read"), before);
    assert!(same_file(&meta, &std::fs::metadata(&path).expect("stat")));
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["practice.db"]);
}

#[test]
fn the_latest_rows_of_a_running_app_are_read_from_its_write_ahead_log() {
    let dir = medguard_lab::workdir("phi-sqlite-wal");
    let path = dir.path().join("reminders.db");
    // The app keeps its connection open (it stops here without closing it, as a running app
    // would look to a scan): its last rows are in reminders.db-wal alone.
    common::python(
        r#"
import os, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA wal_autocheckpoint=0")
db.execute("CREATE TABLE contacts (full_name TEXT, birthday TEXT, ssn TEXT)")
db.execute("INSERT INTO contacts VALUES ('Maria Gonzalez', '1962-03-14', '536-22-8726')")
db.commit()
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
for i, (name, ssn) in enumerate([("Ysogra Nixyso", "536-22-8727"), ("Xochitl Zorquil", "536-22-8728")]):
    db.execute("INSERT INTO contacts VALUES (?, ?, ?)", (name, "1980-02-1%d" % i, ssn))
    db.commit()
# An open transaction, never committed: not in the database.
db.execute("INSERT INTO contacts VALUES ('Ann Lee', '1990-01-01', '536-22-8729')")
sys.stdout.flush()
os._exit(0)
"#,
        &[path.as_os_str()],
    );
    let wal = dir.path().join("reminders.db-wal");
    assert!(std::fs::metadata(&wal).expect("the WAL is there").len() > 32);
    let listing = || {
        let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.path())
            .expect("ls")
            .map(|e| {
                let p = e.expect("entry").path();
                let data = std::fs::read(&p).expect("read");
                (
                    p.file_name().expect("name").to_string_lossy().into_owned(),
                    data,
                )
            })
            .collect();
        v.sort();
        v
    };
    let before = listing();
    let o = scan(&path, &unmasked()).expect("scan").expect("found");
    let ssns: Vec<&str> = o
        .findings
        .iter()
        .filter(|f| f.kind == PhiKind::Ssn)
        .filter_map(|f| f.value.as_deref())
        .collect();
    // The checkpointed row, and the two committed in the log alone; not the uncommitted one.
    assert_eq!(ssns, ["536-22-8726", "536-22-8727", "536-22-8728"]);
    assert_eq!(
        at(&o.findings, PhiKind::Name, "Xochitl Zorquil").0,
        "contacts.full_name"
    );
    // Nothing written: the database, its log and its shared-memory file as they were.
    assert!(listing() == before, "a file beside the database changed");
}

#[test]
fn a_database_inside_a_zip_is_read_from_memory() {
    let dir = medguard_lab::workdir("phi-sqlite-zip");
    let path = db(dir.path(), 0);
    let zip = dir.path().join("backup.zip");
    common::python(
        "import sys, zipfile\nwith zipfile.ZipFile(sys.argv[2], 'w', zipfile.ZIP_DEFLATED) as z: z.write(sys.argv[1], 'Exports/practice.db')",
        &[path.as_os_str(), zip.as_os_str()],
    );
    let data = std::fs::read(&zip).expect("read");
    let o = scan_bytes("backup.zip", &data, &unmasked(), &Hasher::with_key([5; 32])).expect("scan");
    assert_eq!(
        at(&o.findings, PhiKind::Ssn, "536228726"),
        ("patients.ssn".into(), "Exports/practice.db".into())
    );
    assert_eq!(
        at(&o.findings, PhiKind::Ssn, "536-22-8727").1,
        "Exports/practice.db!patients.attachment (record 1)!referral.txt"
    );
}

#[test]
fn a_damaged_database_keeps_what_comes_before_the_damage() {
    let dir = medguard_lab::workdir("phi-sqlite-bad");
    let path = db(dir.path(), 3000);
    let mut data = std::fs::read(&path).expect("read");
    let page = usize::from(u16::from_be_bytes([data[16], data[17]]));
    assert!(data.len() > 16 * page, "{}", data.len());
    // Scribble over a page of the large visits table, the second half of the file.
    let at_page = data.len() / page * 3 / 4 * page;
    data[at_page..at_page + page].fill(0xA5);
    std::fs::write(&path, &data).expect("write");
    let o = scan(&path, &unmasked())
        .expect("no file-level error")
        .expect("found");
    // The patients table (the first pages) is whole; the damaged table is named in a warning.
    assert_eq!(at(&o.findings, PhiKind::Ssn, "536228726").0, "patients.ssn");
    assert!(
        o.report
            .warnings
            .iter()
            .any(|w| w.starts_with("table visits: failed to parse sqlite")),
        "{:?}",
        o.report.warnings
    );
    // Cut short (a copy that stopped half-way): SQLite refuses a file shorter than its header
    // says; a clear error for the file.
    std::fs::write(&path, &data[..data.len() / 2]).expect("write");
    match scan(&path, &unmasked()) {
        Err(ExtractError::Corrupt {
            format: "sqlite",
            reason,
        }) => {
            assert!(reason.contains("malformed"), "{reason}");
        }
        other => panic!("{:?}", other.map(|o| o.map(|o| o.report))),
    }
    // Damage everywhere but the magic: an error for the file or a warning, never a panic.
    for (i, b) in data.iter_mut().enumerate().skip(16) {
        *b ^= (i % 251) as u8;
    }
    std::fs::write(&path, &data).expect("write");
    match scan(&path, &unmasked()) {
        Err(ExtractError::Corrupt {
            format: "sqlite", ..
        }) => {}
        Ok(o) => assert!(
            o.is_none_or(|o| !o.report.warnings.is_empty()),
            "garbage read without a word"
        ),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn a_large_database_stops_at_the_time_budget() {
    let dir = medguard_lab::workdir("phi-sqlite-slow");
    let path = dir.path().join("readings.db");
    // Numbers SQLite must step through, none of them text to scan: only SQLite's own progress
    // handler can stop it.
    common::python(
        "import sqlite3, sys\ndb = sqlite3.connect(sys.argv[1])\n\
         db.execute('CREATE TABLE readings (celsius REAL)')\n\
         db.executemany('INSERT INTO readings VALUES (?)', ((i / 7,) for i in range(300000)))\n\
         db.commit()",
        &[path.as_os_str()],
    );
    let budget = |time_budget| ScanOptions {
        limits: Limits {
            time_budget,
            ..Limits::default()
        },
        ..unmasked()
    };
    let o = scan(&path, &budget(Duration::from_secs(60)))
        .expect("scan")
        .expect("a database");
    assert!(o.findings.is_empty() && o.report.warnings.is_empty());
    match scan(&path, &budget(Duration::ZERO)) {
        Err(ExtractError::Timeout { .. }) => {}
        other => panic!("{:?}", other.map(|o| o.map(|o| o.report))),
    }
}

/// Rows of (first name, last name, dob, ssn, phone, note).
fn rows() -> impl Strategy<Value = Vec<[String; 6]>> {
    let first = prop::sample::select(vec!["Maria", "John", "Elena", "Ysogra", "Li", "Ann-Marie"]);
    let last = prop::sample::select(vec!["Gonzalez", "Smith", "Morales", "O'Brien", "Nixyso"]);
    let dob = prop::sample::select(vec!["1962-03-14", "02/14/1980", "12/31/1999", "not known"]);
    let ssn = prop::sample::select(vec![
        "536-22-8726",
        "536228728",
        "078-05-1120",
        "123-45-6789",
    ]);
    let phone = prop::sample::select(vec!["(217) 632-0143", "217-632-0199", "n/a"]);
    let note = "[A-Za-z0-9 .:/-]{0,40}";
    prop::collection::vec(
        (first, last, dob, ssn, phone, note)
            .prop_map(|(a, b, c, d, e, f)| {
                [a, b, c, d, e]
                    .map(String::from)
                    .into_iter()
                    .chain([f])
                    .collect::<Vec<_>>()
            })
            .prop_map(|v| <[String; 6]>::try_from(v).expect("six")),
        1..12,
    )
}

/// What a scan found, comparable across formats: kind, keyed hash, record and column.
fn found(o: &FileOutcome) -> Vec<(PhiKind, [u8; 32], Option<u64>, String)> {
    let mut v: Vec<_> = o
        .findings
        .iter()
        .filter(|f| f.location.field.as_deref() != Some("file name"))
        .map(|f| {
            let field = f.location.field.as_deref().unwrap_or_default();
            let column = field.strip_prefix("patients.").unwrap_or(field);
            (f.kind, f.hash.hex(), f.location.record, column.to_string())
        })
        .collect();
    v.sort();
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    /// A table gives the same findings (kind, value's hash, record, column) and individuals as
    /// the same table exported as CSV.
    #[test]
    fn a_table_reads_as_its_csv_export(rows in rows()) {
        let cols = ["first_name", "last_name", "dob", "ssn", "phone", "notes"];
        let mut csv = csv::Writer::from_writer(Vec::new());
        csv.write_record(cols).expect("header");
        let db = rusqlite::Connection::open_in_memory().expect("db");
        db.execute_batch(&format!("CREATE TABLE patients ({})", cols.join(" TEXT, ") + " TEXT"))
            .expect("create");
        for r in &rows {
            csv.write_record(r).expect("row");
            db.execute("INSERT INTO patients VALUES (?1, ?2, ?3, ?4, ?5, ?6)", rusqlite::params_from_iter(r))
                .expect("insert");
        }
        let csv = csv.into_inner().expect("csv");
        let sqlite = db.serialize(rusqlite::MAIN_DB).expect("serialize").to_vec();
        let (opts, key) = (ScanOptions { min_records: 0, ..ScanOptions::default() }, Hasher::with_key([5; 32]));
        let a = scan_bytes("patients.csv", &csv, &opts, &key).expect("csv");
        let b = scan_bytes("patients.db", &sqlite, &opts, &key).expect("sqlite");
        prop_assert_eq!(b.report.format.as_str(), "sqlite");
        prop_assert_eq!(found(&b), found(&a));
        prop_assert_eq!(b.report.individuals, a.report.individuals);
    }
}
