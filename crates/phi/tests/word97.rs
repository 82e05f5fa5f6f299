//! Legacy Word documents written by a real office suite: LibreOffice (`soffice --headless`, Debian
//! `libreoffice-writer-nogui`; CI installs it) saves a letter as Word 97 `.doc`, then reads that
//! `.doc` back as plain text. medguard's own reading of the file must give the same words, and the
//! scan must find the patient's identifiers in it, whatever the file is called. An Excel 97 workbook
//! under another name is told by its streams too.

mod common;

use medguard_model::PhiKind;
use medguard_phi::extract::doc;
use std::path::Path;

/// `soffice` ([`common::soffice`]) with the filters of `libreoffice-writer-nogui`.
fn soffice(home: &Path, to: &str, out: &Path, file: &Path) {
    common::soffice(home, "libreoffice-writer-nogui", to, out, file);
}

const LETTER: &str = r#"<html><head><meta charset="utf-8"></head><body>
<p>Dear Dr. Alvarez,</p>
<p>Referral for patient <b>Maria Gonzalez</b>, DOB 03/14/1962, SSN 536-22-8726, phone (617) 432-1187.</p>
<table border="1"><tr><th>Name</th><th>MRN</th></tr>
<tr><td>John Smith</td><td>MRN 0012345</td></tr>
<tr><td>Ana Müller</td><td>MRN 0067890</td></tr></table>
<p>See <a href="https://portal.example.org/p/1">the portal</a> for the “X-ray” results — café, naïve, 50 €.</p>
<p>Member ID W123456789, policy through Blue Shield.</p>
</body></html>
"#;

#[test]
fn libreoffice_word97_letters_read_as_libreoffice_reads_them() {
    let (dir, [src, docs, back]) = common::folders(["src", "docs", "back"]);
    let html = src.join("referral.html");
    std::fs::write(&html, LETTER).expect("write letter");
    soffice(dir.path(), "doc:MS Word 97", &docs, &html);
    let path = docs.join("referral.doc");
    let data = std::fs::read(&path).expect("LibreOffice wrote the .doc");
    soffice(dir.path(), "txt:Text (encoded):UTF8", &back, &path);
    let theirs = std::fs::read_to_string(back.join("referral.txt")).expect("text export");
    let theirs = theirs.trim_start_matches('\u{feff}');

    let ours = doc::read(&data)
        .expect("medguard reads the .doc")
        .expect("not encrypted");
    let words = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    assert_eq!(
        words(&ours),
        words(theirs),
        "ours:\n{ours}\ntheirs:\n{theirs}"
    );
    // The hyperlink's field code is not text; its result is.
    assert!(!ours.contains("HYPERLINK") && ours.contains("the portal"));

    // The scan finds the identifiers, also in a copy whose name hides what it is.
    for out in common::scan_letter_and_copy(&path, "scan0042.dat", "doc") {
        let ssn = out.findings.iter().find(|f| f.kind == PhiKind::Ssn);
        assert_eq!(ssn.and_then(|f| f.location.line), Some(2));
    }
}

/// An Excel 97 workbook (written by Python's `xlwt`, lab venv) is read as one whatever it is
/// called: a compound file is told by its streams.
#[test]
fn an_excel_97_workbook_under_another_name_is_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let renamed = dir.path().join("ledger.dat");
    common::python(
        "import sys, xlwt\n\
         wb = xlwt.Workbook(); ws = wb.add_sheet('Billing')\n\
         rows = [['Patient', 'DOB', 'SSN'], ['Maria Gonzalez', '03/14/1962', '536-22-8726']]\n\
         for r, row in enumerate(rows):\n\
         \x20   for c, v in enumerate(row): ws.write(r, c, v)\n\
         wb.save(sys.argv[1])",
        &[renamed.as_os_str()],
    );
    let scanned = common::scan(&renamed);
    assert_eq!(scanned.report.format, "xls");
    let ssn = scanned
        .findings
        .iter()
        .find(|f| f.kind == PhiKind::Ssn)
        .expect("the SSN cell");
    assert_eq!(ssn.masked, "***-**-8726");
    assert!(scanned.findings.iter().any(|f| f.kind == PhiKind::Dob));
}
