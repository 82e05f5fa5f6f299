//! Reports printed to text with their columns aligned: util-linux's `column -t` (bsdextrautils)
//! lays out a practice's patient list, with an empty cell and a name with an apostrophe, as a
//! practice-management system prints it, to a text file and (reportlab, in Courier) to a PDF. medguard reads each value under its column's name and
//! finds what it finds in the same list as a CSV export.

mod common;

use medguard_phi::{FileOutcome, Hasher, ScanOptions, scan_bytes};
use std::io::Write;
use std::process::{Command, Stdio};

const ROWS: &[[&str; 6]] = &[
    [
        "PATIENT NAME",
        "CHART #",
        "BIRTH DATE",
        "HOME PHONE",
        "SSN",
        "BALANCE",
    ],
    [
        "Maria Gonzalez",
        "104233",
        "02/14/1980",
        "(217) 632-0143",
        "536-22-8726",
        "120.00",
    ],
    [
        "Xochitl Zorquil",
        "104234",
        "12/01/1999",
        "(217) 632-0177",
        "",
        "0.00",
    ],
    [
        "Siobhan O'Brien",
        "104235",
        "",
        "217-632-0155",
        "536-22-8728",
        "35.50",
    ],
    [
        "Ysogra Nixyso",
        "104236",
        "07/04/1971",
        "",
        "536-22-8729",
        "0.00",
    ],
];

fn scan(name: &str, data: &[u8]) -> FileOutcome {
    let opts = ScanOptions {
        min_records: 0,
        ..ScanOptions::default()
    };
    scan_bytes(name, data, &opts, &Hasher::with_key([5; 32])).expect("scan")
}

/// Kind, keyed hash, record and column name of every finding but the file name's.
fn found(o: &FileOutcome) -> Vec<(String, [u8; 32], Option<u64>, String)> {
    let mut v: Vec<_> = o
        .findings
        .iter()
        .map(|f| {
            (
                f.kind.as_str().to_string(),
                f.hash.hex(),
                f.location.record,
                f.location.field.as_deref().unwrap_or_default().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn column_aligned_list_reads_as_its_csv() {
    let bin = medguard_lab::require("column", "bsdextrautils");
    let input: String = ROWS.iter().map(|r| r.join("|") + "\n").collect();
    let mut child = Command::new(bin)
        .args(["-t", "-s", "|"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("column starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("column runs");
    assert!(out.status.success());
    let report = [
        &b"Patient Balance Report\nPrinted 11/28/2026\n\n"[..],
        &out.stdout,
    ]
    .concat();
    let csv: String = ROWS.iter().map(|r| r.join(",") + "\n").collect();

    let aligned = scan("balances.txt", &report);
    let table = scan("balances.csv", csv.as_bytes());
    assert_eq!(aligned.report.format, "text");
    assert_eq!(found(&aligned), found(&table));
    assert_eq!(found(&aligned).len(), 17, "{:#?}", aligned.findings);
    assert_eq!(aligned.report.individuals, 4);

    // The same report printed to a PDF: its text layer keeps the columns.
    let dir = medguard_lab::workdir("phi-text-report");
    let (txt, pdf) = (dir.path().join("report.txt"), dir.path().join("report.pdf"));
    std::fs::write(&txt, &report).expect("write");
    common::python(
        "import sys\n\
         from reportlab.pdfgen import canvas\n\
         c = canvas.Canvas(sys.argv[2])\n\
         c.setFont('Courier', 8)\n\
         for i, line in enumerate(open(sys.argv[1]).read().splitlines()):\n\
         \x20   c.drawString(30, 750 - 11 * i, line)\n\
         c.save()",
        &[txt.as_os_str(), pdf.as_os_str()],
    );
    let printed = scan("report.pdf", &std::fs::read(&pdf).expect("read"));
    assert_eq!(printed.report.format, "pdf");
    assert_eq!(found(&printed), found(&table));
}
