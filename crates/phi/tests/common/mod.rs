//! Helpers shared by the PHI integration tests.

use medguard_phi::detect::Engine;
use medguard_phi::scan::scan_file;
use medguard_phi::{FileOutcome, Hasher, ScanOptions};
use std::path::Path;

/// Scan one file on disk with the default options and a fixed key; it must hold identifiers.
pub fn scan(path: &Path) -> FileOutcome {
    let engine = Engine::get().expect("engine");
    scan_file(
        path,
        &ScanOptions::default(),
        engine,
        &Hasher::with_key([5; 32]),
    )
    .expect("scan")
    .unwrap_or_else(|| panic!("{} holds identifiers", path.display()))
}

/// Run a peer tool; it must start and succeed (`what` names it in the failure). Its standard output.
pub fn run(cmd: &mut std::process::Command, what: &str) -> Vec<u8> {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what} must run: {e}"));
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Run `script` with the lab venv's Python and `args` ([`run`]).
#[allow(dead_code)] // not every test file talks to Python
pub fn python(script: &str, args: &[&std::ffi::OsStr]) -> Vec<u8> {
    run(
        std::process::Command::new(medguard_lab::python())
            .args(["-c", script])
            .args(args),
        "python",
    )
}

/// `soffice --headless --convert-to TO --outdir OUT FILE` with its profile in `home`; `package`
/// is the Debian package that brings the filter (`libreoffice-writer-nogui`, ...).
#[allow(dead_code)] // only the office-suite tests convert
pub fn soffice(home: &Path, package: &str, to: &str, out: &Path, file: &Path) {
    let bin = medguard_lab::require("soffice", package);
    run(
        std::process::Command::new(bin)
            .env("HOME", home)
            .args(["--headless", "--norestore", "--convert-to", to, "--outdir"])
            .arg(out)
            .arg(file),
        &format!("soffice --convert-to {to}"),
    );
}

/// The identifiers a patient letter carries (name, DOB, SSN, phone, MRN, member ID) are all
/// among a scan's findings.
#[allow(dead_code)] // only the letter and deck tests plant all six
pub fn assert_letter_kinds(out: &FileOutcome) {
    use medguard_model::PhiKind;
    let kinds: Vec<PhiKind> = out.findings.iter().map(|f| f.kind).collect();
    for k in [
        PhiKind::Name,
        PhiKind::Dob,
        PhiKind::Ssn,
        PhiKind::Phone,
        PhiKind::Mrn,
        PhiKind::PlanId,
    ] {
        assert!(kinds.contains(&k), "{k:?} not in {kinds:?}");
    }
}

/// A temporary folder with the named folders made inside it (source, converted, read back).
#[allow(dead_code)] // only the office-suite tests convert
pub fn folders<const N: usize>(names: [&str; N]) -> (tempfile::TempDir, [std::path::PathBuf; N]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = names.map(|n| dir.path().join(n));
    for p in &paths {
        std::fs::create_dir_all(p).expect("mkdir");
    }
    (dir, paths)
}

/// Scan a patient letter at `path` and a copy of it named `hidden` (a name that hides what it
/// is): both must be read as `format`, with the letter's six kinds and its SSN, 536-22-8726,
/// masked. The two outcomes.
#[allow(dead_code)] // only the letter and deck tests plant all six
pub fn scan_letter_and_copy(path: &Path, hidden: &str, format: &str) -> [FileOutcome; 2] {
    let copy = path.with_file_name(hidden);
    std::fs::copy(path, &copy).expect("copy");
    [path, &copy].map(|p| {
        let out = scan(p);
        assert_eq!(out.report.format, format, "{}", p.display());
        assert_letter_kinds(&out);
        let ssn = out
            .findings
            .iter()
            .find(|f| f.kind == medguard_model::PhiKind::Ssn)
            .expect("ssn");
        assert_eq!(ssn.masked, "***-**-8726");
        out
    })
}

/// The finding of `kind` whose value (scanned with `unmask`) contains `value`: its field
/// (`table.column`) and member.
#[allow(dead_code)] // only the database tests look findings up by value
pub fn at(
    findings: &[medguard_model::PhiFinding],
    kind: medguard_model::PhiKind,
    value: &str,
) -> (String, String) {
    let f = findings
        .iter()
        .find(|f| f.kind == kind && f.value.as_deref().is_some_and(|v| v.contains(value)))
        .unwrap_or_else(|| panic!("no {kind:?} {value:?} in {findings:#?}"));
    (
        f.location.field.as_deref().unwrap_or_default().to_string(),
        f.location.member.as_deref().unwrap_or_default().to_string(),
    )
}
