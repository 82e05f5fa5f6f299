//! HTML (and RTF, Word 97) as third-party tools write it: LibreOffice saves a python-docx referral
//! (a paragraph and a table of patients whose header row is plain cells) as a web page, RTF and .doc,
//! and Python's email module writes an HTML-only message with a lab's results table. The tables
//! are read by their header cells, each row a record.

mod common;

use medguard_phi::{FileOutcome, Hasher, ScanOptions, scan_bytes};

fn scan(name: &str, data: &[u8]) -> FileOutcome {
    let opts = ScanOptions {
        unmask: true,
        min_records: 0,
        ..ScanOptions::default()
    };
    scan_bytes(name, data, &opts, &Hasher::with_key([5; 32])).expect("scan")
}

/// (kind, value, field, record) of every finding.
fn found(o: &FileOutcome) -> Vec<(String, String, String, Option<u64>)> {
    o.findings
        .iter()
        .map(|f| {
            (
                f.kind.as_str().to_string(),
                f.value.clone().unwrap_or_default(),
                f.location.field.as_deref().unwrap_or_default().to_string(),
                f.location.record,
            )
        })
        .collect()
}

fn row(
    kind: &str,
    value: &str,
    field: &str,
    record: Option<u64>,
) -> (String, String, String, Option<u64>) {
    (kind.into(), value.into(), field.into(), record)
}

/// `script` (Python, python-docx) writes `dir/STEM.docx` (its path is `sys.argv[1]`); LibreOffice
/// saves it as a web page. The document's path and the page.
fn web_page(dir: &std::path::Path, stem: &str, script: &str) -> (std::path::PathBuf, Vec<u8>) {
    let docx = dir.join(format!("{stem}.docx"));
    common::python(script, &[docx.as_os_str()]);
    common::soffice(dir, "libreoffice-writer-nogui", "html", dir, &docx);
    let page = std::fs::read(dir.join(format!("{stem}.html"))).expect("LibreOffice wrote a page");
    (docx, page)
}

#[test]
fn libreoffice_web_page_of_a_referral() {
    let dir = medguard_lab::workdir("phi-html");
    let (docx, data) = web_page(
        dir.path(),
        "referral",
        "import docx, sys\n\
         d = docx.Document()\n\
         d.add_heading('Referral', 1)\n\
         d.add_paragraph('Patient: Ysogra Nixyso, DOB: 03/14/1962')\n\
         t = d.add_table(rows=3, cols=4)\n\
         rows = [['Patient', 'DOB', 'SSN', 'Chart #'], ['Maria Gonzalez', '02/14/1980', '536-22-8726', '104233'],\n\
         \x20       ['Xochitl Zorquil', '12/01/1999', '536-22-8727', '104234']]\n\
         for r, cells in enumerate(rows):\n\
         \x20   for c, v in enumerate(cells): t.cell(r, c).text = v\n\
         d.save(sys.argv[1])",
    );
    assert!(
        String::from_utf8_lossy(&data).contains("<td"),
        "a table of plain cells"
    );
    let o = scan("referral.html", &data);
    assert_eq!(o.report.format, "html");
    let expected = [
        row("name", "Ysogra Nixyso", "", None),
        row("dob", "03/14/1962", "", None),
        row("name", "Maria Gonzalez", "Patient", Some(1)),
        row("dob", "02/14/1980", "DOB", Some(1)),
        row("ssn", "536-22-8726", "SSN", Some(1)),
        row("mrn", "104233", "Chart #", Some(1)),
        row("name", "Xochitl Zorquil", "Patient", Some(2)),
        row("dob", "12/01/1999", "DOB", Some(2)),
        row("ssn", "536-22-8727", "SSN", Some(2)),
        row("mrn", "104234", "Chart #", Some(2)),
    ];
    assert_eq!(found(&o), expected);
    assert_eq!(o.report.individuals, 3);
    assert!(
        o.report.headline.contains("web page"),
        "{}",
        o.report.headline
    );
    // The same document saved as RTF: its table's cells, set apart by tabs, read the same way.
    common::soffice(
        dir.path(),
        "libreoffice-writer-nogui",
        "rtf",
        dir.path(),
        &docx,
    );
    let data = std::fs::read(dir.path().join("referral.rtf")).expect("LibreOffice wrote RTF");
    assert!(String::from_utf8_lossy(&data).contains("\\cell"), "a table");
    let o = scan("referral.rtf", &data);
    assert_eq!(o.report.format, "rtf");
    assert_eq!(found(&o), expected);
    // And as Word 97 (cell and row marks in the text): the same again.
    common::soffice(
        dir.path(),
        "libreoffice-writer-nogui",
        "doc",
        dir.path(),
        &docx,
    );
    let data = std::fs::read(dir.path().join("referral.doc")).expect("LibreOffice wrote .doc");
    let o = scan("referral.doc", &data);
    assert_eq!(o.report.format, "doc");
    assert_eq!(found(&o), expected);
}

/// A visits list whose patient cell spans two visit rows (merged in Word, `rowspan="2"` in
/// LibreOffice's page): the second visit's cells keep their columns.
#[test]
fn libreoffice_web_page_with_a_cell_spanning_rows() {
    let dir = medguard_lab::workdir("phi-html-rowspan");
    let (_, data) = web_page(
        dir.path(),
        "visits",
        "import docx, sys\n\
         d = docx.Document()\n\
         t = d.add_table(rows=4, cols=4)\n\
         rows = [['Patient', 'Visit date', 'Procedure', 'DOB'],\n\
         \x20       ['Maria Gonzalez', '11/02/2026', 'D1110', '03/14/1961'],\n\
         \x20       ['', '11/09/2026', 'D0274', '03/14/1961'],\n\
         \x20       ['John Smith', '11/03/2026', 'D1110', '02/14/1980']]\n\
         for r, cells in enumerate(rows):\n\
         \x20   for c, v in enumerate(cells): t.cell(r, c).text = v\n\
         t.cell(1, 0).merge(t.cell(2, 0))\n\
         d.save(sys.argv[1])",
    );
    assert!(
        String::from_utf8_lossy(&data).contains("rowspan=\"2\""),
        "a cell spanning two rows"
    );
    let o = scan("visits.html", &data);
    assert_eq!(
        found(&o),
        [
            row("name", "Maria Gonzalez", "Patient", Some(1)),
            row("procedure", "D1110", "Procedure", Some(1)),
            row("dob", "03/14/1961", "DOB", Some(1)),
            row("procedure", "D0274", "Procedure", Some(2)),
            row("dob", "03/14/1961", "DOB", Some(2)),
            row("name", "John Smith", "Patient", Some(3)),
            row("procedure", "D1110", "Procedure", Some(3)),
            row("dob", "02/14/1980", "DOB", Some(3)),
        ]
    );
}

#[test]
fn python_email_html_only_message_with_a_results_table() {
    let out = common::python(
        "from email.message import EmailMessage\n\
         import sys\n\
         m = EmailMessage()\n\
         m['From'] = 'lab@example.org'; m['To'] = 'frontdesk@example.org'; m['Subject'] = 'Results'\n\
         m.set_content('<html><body><p>Results attached below.</p><table>'\n\
         \x20 '<tr><th>Patient</th><th>Birth Date</th><th>Test</th><th>Result</th></tr>'\n\
         \x20 '<tr><td>Ysogra Nixyso</td><td>03/14/1962</td><td>HbA1c</td><td>7.9 %</td></tr>'\n\
         \x20 '<tr><td>Xochitl Zorquil</td><td>12/01/1999</td><td>Lipid panel</td><td>LDL 162</td></tr>'\n\
         \x20 '</table></body></html>', subtype='html')\n\
         sys.stdout.write(m.as_string())",
        &[],
    );
    let o = scan("results.eml", &out);
    assert_eq!(o.report.format, "eml");
    let f = found(&o);
    for r in [
        row("name", "Ysogra Nixyso", "Patient", Some(1)),
        row("dob", "03/14/1962", "Birth Date", Some(1)),
        row("name", "Xochitl Zorquil", "Patient", Some(2)),
        row("dob", "12/01/1999", "Birth Date", Some(2)),
    ] {
        assert!(f.contains(&r), "{r:?} in {f:?}");
    }
    // The two rows, and the message's own addresses as one more, as for any message.
    assert_eq!(o.report.individuals, 3);
}
