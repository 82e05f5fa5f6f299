//! PostgreSQL backups as `pg_dump` writes them: a cluster of the test's own (Debian's
//! PostgreSQL, `initdb` into a temporary folder, a Unix socket only) holds a patients table, a
//! billing table in another schema with a quoted column name, a scanned letter kept as a large
//! object and a few thousand visits; `pg_dump` backs it up in each of its archive formats.
//! medguard finds the same identifiers, under the same `table.column`, in every format, and in
//! the plain SQL dump its SQL reader reads; damage keeps the rows before it.

mod common;

use common::at;

use medguard_model::{PhiFinding, PhiKind};
use medguard_phi::detect::Engine;
use medguard_phi::scan::scan_file;
use medguard_phi::{ExtractError, FileOutcome, Hasher, ScanOptions, scan_bytes};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

const VISITS: usize = 3000;

/// A PostgreSQL cluster of the test's own, stopped when dropped.
struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
}

impl Cluster {
    fn start() -> Cluster {
        let bin = pg_bin();
        let dir = medguard_lab::workdir("pgdump");
        let c = Cluster { dir, bin };
        if is_root() {
            // initdb refuses to run as root: the cluster belongs to the postgres user.
            common::run(
                Command::new("chown").arg("postgres:").arg(c.dir.path()),
                "chown",
            );
        }
        let data = c.dir.path().join("data");
        common::run(
            c.cmd("initdb")
                .args([
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",
                    "-D",
                ])
                .arg(&data),
            "initdb",
        );
        let opts = format!("-c listen_addresses='' -k {} -F", c.dir.path().display());
        common::run(
            c.cmd("pg_ctl")
                .args(["-w", "-o", &opts, "-l"])
                .arg(c.dir.path().join("log"))
                .arg("-D")
                .arg(&data)
                .arg("start"),
            "pg_ctl start",
        );
        c
    }

    /// A command of the cluster's programs, run as its owner.
    fn cmd(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        };
        cmd.current_dir(self.dir.path());
        cmd
    }

    fn psql(&self, db: &str, sql: &str) {
        common::run(
            self.cmd("psql").arg("-h").arg(self.dir.path()).args([
                "-U",
                "postgres",
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                db,
                "-c",
                sql,
            ]),
            "psql",
        );
    }

    /// `pg_dump` of `db` with `args` into `out` (in the cluster's folder).
    fn dump(&self, db: &str, args: &[&str], out: &str) -> PathBuf {
        let path = self.dir.path().join(out);
        common::run(
            self.cmd("pg_dump")
                .arg("-h")
                .arg(self.dir.path())
                .args(["-U", "postgres"])
                .args(args)
                .arg("-f")
                .arg(&path)
                .arg(db),
            "pg_dump",
        );
        path
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .cmd("pg_ctl")
            .args(["-m", "immediate", "-D"])
            .arg(self.dir.path().join("data"))
            .arg("stop")
            .output();
    }
}

/// The programs of Debian's newest PostgreSQL (`/usr/lib/postgresql/15/bin`).
fn pg_bin() -> PathBuf {
    std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|b| b.join("initdb").is_file())
        .max()
        .unwrap_or_else(|| {
            panic!(
                "PostgreSQL's server programs are missing: install the `postgresql` package \
                 (run `sudo lab/install.sh`); this test needs the real pg_dump and does not skip"
            )
        })
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

/// The practice's database: what each test dumps.
fn practice(c: &Cluster) {
    c.psql("postgres", "CREATE DATABASE practice");
    c.psql(
        "practice",
        &format!(
            r#"
CREATE TABLE patients (id serial PRIMARY KEY, first_name text, last_name text, dob date,
                       ssn text, phone text, notes text);
INSERT INTO patients (first_name, last_name, dob, ssn, phone, notes) VALUES
  ('Maria', 'Gonzalez', '1961-03-14', '536-22-8726', '(217) 632-0143',
   E'type 2 diabetes\tA1c 8.1\nPatient Maria Gonzalez, recall in 3 months'),
  ('John', 'Smith', '1980-02-14', '536-22-8728', '217-632-0199', NULL);
CREATE SCHEMA billing;
CREATE TABLE billing.claims (claim_id int, "Member ID" text, npi text);
INSERT INTO billing.claims VALUES (1, 'XJ4455123', '1245319599');
CREATE TABLE visits (visit_date date, diagnosis text, patient_ssn text);
INSERT INTO visits SELECT DATE '2026-10-01', 'K02.52',
  '536-22-' || lpad((1000 + g)::text, 4, '0') FROM generate_series(1, {VISITS}) g;
SELECT lo_from_bytea(0, convert_to('Referral for Ysogra Nixyso, SSN 536-22-8727.', 'UTF8'));
"#
        ),
    );
}

fn scan(path: &Path) -> Result<Option<FileOutcome>, ExtractError> {
    scan_file(
        path,
        &ScanOptions {
            unmask: true,
            min_records: 0,
            ..ScanOptions::default()
        },
        Engine::get().expect("engine"),
        &Hasher::with_key([5; 32]),
    )
}

/// What was found, wherever: kind, keyed hash and column.
fn found(findings: &[PhiFinding]) -> BTreeSet<(PhiKind, String, String)> {
    findings
        .iter()
        .map(|f| {
            let field = f.location.field.as_deref().unwrap_or_default();
            // The plain SQL reader names a column without its table.
            let column = field.rsplit('.').next().unwrap_or(field).to_string();
            (f.kind, f.hash.hex_str(&mut [0; 32]).to_string(), column)
        })
        .collect()
}

/// The practice's identifiers, each under its table and column.
fn check_practice(f: &[PhiFinding]) {
    assert_eq!(at(f, PhiKind::Name, "Maria").0, "patients.first_name");
    assert_eq!(at(f, PhiKind::Name, "Gonzalez").0, "patients.last_name");
    assert_eq!(at(f, PhiKind::Dob, "1961-03-14").0, "patients.dob");
    assert_eq!(at(f, PhiKind::Ssn, "536-22-8726").0, "patients.ssn");
    assert_eq!(at(f, PhiKind::Phone, "632-0143").0, "patients.phone");
    // The second line of a note (COPY writes its line break as \n).
    assert_eq!(at(f, PhiKind::Name, "Maria Gonzalez").0, "patients.notes");
    assert_eq!(at(f, PhiKind::Icd10, "K02.52").0, "visits.diagnosis");
    assert_eq!(at(f, PhiKind::Ssn, "536-22-8728").0, "patients.ssn");
    assert_eq!(at(f, PhiKind::PlanId, "XJ4455123").0, "claims.Member ID");
    assert_eq!(at(f, PhiKind::Npi, "1245319599").0, "claims.npi");
    assert_eq!(at(f, PhiKind::Ssn, "536-22-4000").0, "visits.patient_ssn");
}

#[test]
fn pg_dump_archives_are_read_with_their_column_names() {
    let c = Cluster::start();
    practice(&c);

    // Custom format (the manual's choice for backups), compressed as by default.
    let custom = c.dump("practice", &["-Fc"], "practice.dump");
    let o = scan(&custom).expect("scan").expect("found");
    assert_eq!(o.report.format, "pgdump");
    assert!(
        o.report.headline.contains("database backup"),
        "{}",
        o.report.headline
    );
    check_practice(&o.findings);
    // Each visit's SSN, in the rows of a table of several compressed chunks.
    let visit_ssns = o
        .findings
        .iter()
        .filter(|f| f.location.field.as_deref() == Some("visits.patient_ssn"))
        .count();
    assert_eq!(visit_ssns, VISITS);
    // Every row is a record of its own (2 patients, 1 claim, the visits), and the letter's
    // patient is one more.
    assert_eq!(o.report.individuals, 4 + VISITS as u64, "{:?}", o.report);
    // The large object, scanned as an embedded file.
    let (field, member) = at(&o.findings, PhiKind::Ssn, "536-22-8727");
    assert_eq!(field, "");
    assert!(member.starts_with("large object "), "{member}");
    assert!(o.report.warnings.is_empty(), "{:?}", o.report.warnings);

    // Uncompressed (-Z0): the same findings.
    let plain = c.dump("practice", &["-Fc", "-Z0"], "practice-z0.dump");
    let p = scan(&plain).expect("scan").expect("found");
    assert_eq!(found(&p.findings), found(&o.findings));

    // Tar format: toc.dat first, then a member per table.
    let tar = c.dump("practice", &["-Ft"], "practice.tar");
    let t = scan(&tar).expect("scan").expect("found");
    check_practice(&t.findings);
    let member = at(&t.findings, PhiKind::Ssn, "536-22-8726").1;
    assert!(member.ends_with(".dat"), "{member}");
    let mut tar_found = found(&t.findings);
    let mut custom_found = found(&o.findings);
    // pg_dump's tar format keeps large objects as blob_OID.dat members: found there too.
    assert!(
        tar_found
            .iter()
            .any(|x| x.0 == PhiKind::Ssn && x.2.is_empty())
    );
    tar_found.retain(|x| !x.2.is_empty());
    custom_found.retain(|x| !x.2.is_empty());
    assert_eq!(tar_found, custom_found);

    // Directory format: each table's file scanned on its own, with the columns toc.dat names.
    let dir = c.dump("practice", &["-Fd"], "practice.d");
    let mut all = Vec::new();
    let mut gz = 0;
    for e in std::fs::read_dir(&dir).expect("dir").flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        gz += usize::from(name.ends_with(".dat.gz"));
        if let Some(o) = scan(&e.path()).expect("scan") {
            if name.ends_with(".dat.gz") && !name.starts_with("blob_") {
                assert_eq!(o.report.format, "pgdump", "{name}");
            }
            all.extend(o.findings);
        }
    }
    assert!(gz >= 3, "compressed table files");
    check_practice(&all);
    let mut dir_found = found(&all);
    dir_found.retain(|x| !x.2.is_empty());
    assert_eq!(dir_found, custom_found);
    // The same directory packed for the NAS (tar -czf): its table files read with their columns,
    // whether toc.dat comes first or (in name order) after them.
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("dir")
        .flatten()
        .map(|e| format!("practice.d/{}", e.file_name().to_string_lossy()))
        .collect();
    names.sort_by_key(|n| (!n.ends_with("/toc.dat"), n.clone()));
    assert!(names[0].ends_with("toc.dat"));
    for (packed, order) in [
        ("toc-first.tar.gz", &names[..]),
        ("by-name.tar.gz", &[][..]),
    ] {
        let out = c.dir.path().join(packed);
        let mut tar = Command::new(medguard_lab::require("tar", "tar"));
        tar.arg("-C").arg(c.dir.path()).arg("-czf").arg(&out);
        if order.is_empty() {
            tar.args(["--sort=name", "practice.d"]);
        } else {
            tar.args(order);
        }
        common::run(&mut tar, "tar");
        let p = scan(&out).expect("scan").expect("found");
        check_practice(&p.findings);
        let member = at(&p.findings, PhiKind::Ssn, "536-22-8726").1;
        assert!(member.ends_with(".dat.gz"), "{packed}: {member}");
        let mut packed_found = found(&p.findings);
        packed_found.retain(|x| !x.2.is_empty());
        assert_eq!(packed_found, custom_found, "{packed}");
    }
    // ... and zipped (Info-ZIP, as "Send to compressed folder" would).
    let zipped = c.dir.path().join("practice-d.zip");
    common::run(
        Command::new(medguard_lab::require("zip", "zip"))
            .current_dir(c.dir.path())
            .arg("-qr")
            .arg(&zipped)
            .arg("practice.d"),
        "zip",
    );
    let z = scan(&zipped).expect("scan").expect("found");
    check_practice(&z.findings);
    let mut zip_found = found(&z.findings);
    zip_found.retain(|x| !x.2.is_empty());
    assert_eq!(zip_found, custom_found);

    // The plain SQL dump, read by the SQL reader: the same values under the same columns.
    let sql = c.dump("practice", &["-Fp"], "practice.sql");
    let s = scan(&sql).expect("scan").expect("found");
    let mut sql_found = found(&s.findings);
    sql_found.retain(|x| !x.2.is_empty());
    assert_eq!(sql_found, custom_found);
}

#[test]
fn a_damaged_backup_keeps_the_rows_before_the_damage() {
    let c = Cluster::start();
    practice(&c);
    let custom = c.dump("practice", &["-Fc", "-Z0"], "practice.dump");
    let bytes = std::fs::read(&custom).expect("read");
    let opts = ScanOptions {
        unmask: true,
        min_records: 0,
        ..ScanOptions::default()
    };
    let hasher = Hasher::with_key([5; 32]);

    // Cut in the visits' rows (the last table's data, before the large object).
    let at_visit = bytes
        .windows(11)
        .rposition(|w| w == b"536-22-3500")
        .expect("visit rows");
    let cut = scan_bytes("practice.dump", &bytes[..at_visit], &opts, &hasher).expect("scan");
    let ssns = |o: &FileOutcome, field: &str| {
        o.findings
            .iter()
            .filter(|f| f.kind == PhiKind::Ssn && f.location.field.as_deref() == Some(field))
            .count()
    };
    assert!(
        ssns(&cut, "visits.patient_ssn") > 1000,
        "rows before the cut"
    );
    assert!(ssns(&cut, "visits.patient_ssn") < VISITS);
    assert!(
        cut.report
            .warnings
            .iter()
            .any(|w| w.contains("cut short or damaged")),
        "{:?}",
        cut.report.warnings
    );

    // A damaged table of contents: an error for the file, no panic.
    let toc_cut = scan_bytes("practice.dump", &bytes[..200], &opts, &hasher);
    assert!(
        matches!(
            toc_cut,
            Err(ExtractError::Corrupt {
                format: "pg_dump",
                ..
            })
        ),
        "{:?}",
        toc_cut.as_ref().err()
    );
    // A chunk length past the end of the file.
    let mut long = bytes.clone();
    let chunk = long
        .windows(5)
        .position(|w| w == b"Maria")
        .expect("patients' rows");
    long.truncate(chunk + 40);
    let o = scan_bytes("practice.dump", &long, &opts, &hasher).expect("scan");
    assert!(!o.report.warnings.is_empty());
}

/// The accuracy corpus's backup (written by the corpus generator, not by pg_dump) is one that
/// `pg_restore` reads, and medguard finds in it the SSNs `pg_restore` prints.
#[test]
fn the_corpus_backup_is_a_real_pg_dump_archive() {
    let dir = medguard_lab::workdir("pgdump-corpus");
    let truth = medguard_phi::corpus::generate(dir.path(), 3, 1).expect("corpus");
    let file = truth
        .files
        .iter()
        .find(|f| f.format == "pgdump")
        .expect("a pg_dump archive in the corpus");
    let path = dir.path().join(&file.path);
    let sql = common::run(
        Command::new(pg_bin().join("pg_restore"))
            .args(["-f", "-"])
            .arg(&path),
        "pg_restore",
    );
    let sql = String::from_utf8(sql).expect("UTF-8");
    // The patients' rows as pg_restore prints them: the SSN is the sixth column.
    let rows: Vec<&str> = sql
        .split("COPY public.patient ")
        .nth(1)
        .expect("the patients' data")
        .lines()
        .skip(1)
        .take_while(|l| *l != "\\.")
        .collect();
    let restored: BTreeSet<String> = rows
        .iter()
        .map(|r| r.split('\t').nth(5).expect("six columns").to_string())
        .collect();
    let planted: BTreeSet<String> = file
        .values
        .iter()
        .filter(|(k, _)| *k == PhiKind::Ssn)
        .map(|(_, v)| v.clone())
        .collect();
    assert_eq!(restored, planted);
    let o = scan(&path).expect("scan").expect("found");
    let found: BTreeSet<String> = o
        .findings
        .iter()
        .filter(|f| f.kind == PhiKind::Ssn)
        .filter_map(|f| f.value.clone())
        .collect();
    assert_eq!(found, planted);
    assert_eq!(o.report.individuals, rows.len() as u64);
}
