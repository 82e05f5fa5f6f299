//! Hostile and broken input: each file gets a clear per-file error (or a warning for a bad archive
//! member), the scan goes on, nothing panics or hangs.

use medguard_model::{PhiFileReport, PhiFinding, PhiKind};
use medguard_phi::corpus::{dicom_bytes, pdf_bytes};
use medguard_phi::{FindingSink, Hasher, Limits, ScanOptions, SinkError, scan_bytes};
use std::io::Write;
use std::time::{Duration, Instant};

/// The file's report carries a warning that mentions `needle`.
fn assert_warned(report: &PhiFileReport, needle: &str) {
    assert!(
        report.warnings.iter().any(|w| w.contains(needle)),
        "no warning with {needle:?}: {:?}",
        report.warnings
    );
}

#[derive(Default)]
struct Collect {
    files: Vec<(PhiFileReport, Vec<PhiFinding>)>,
    errors: Vec<(String, String)>,
}

impl FindingSink for Collect {
    fn file(&mut self, r: &PhiFileReport, f: &[PhiFinding]) -> Result<(), SinkError> {
        self.files.push((r.clone(), f.to_vec()));
        Ok(())
    }
    fn error(
        &mut self,
        path: &str,
        _: medguard_model::PhiProblem,
        error: &str,
    ) -> Result<(), SinkError> {
        self.errors.push((path.to_string(), error.to_string()));
        Ok(())
    }
}

fn opts() -> ScanOptions {
    ScanOptions {
        min_records: 0,
        threads: 2,
        limits: Limits {
            time_budget: Duration::from_secs(20),
            ..Limits::default()
        },
        ..ScanOptions::default()
    }
}

fn zip_of(parts: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (n, d) in parts {
        w.start_file(*n, zip::write::SimpleFileOptions::default())
            .expect("start");
        w.write_all(d).expect("write");
    }
    w.finish().expect("finish").into_inner()
}

fn error_of(name: &str, data: &[u8]) -> String {
    match scan_bytes(name, data, &opts(), &Hasher::with_key([1; 32])) {
        Ok(o) => panic!("{name}: expected an error, got {:?}", o.report.counts),
        Err(e) => medguard_phi::scan::error_chain(&e),
    }
}

#[test]
fn corrupt_documents_give_clear_errors() {
    let e = error_of("letter.docx", b"PK\x03\x04 this is not really a zip");
    assert!(e.contains("zip"), "{e}");
    let e = error_of(
        "scan.pdf",
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage",
    );
    assert!(e.contains("pdf"), "{e}");
    let xlsx = zip_of(&[
        ("xl/workbook.xml", b"<workbook><sheets><sheet name=\"a\""),
        ("[Content_Types].xml", b"<x"),
    ]);
    let e = error_of("billing.xlsx", &xlsx);
    assert!(e.contains("xlsx"), "{e}");
    let e = error_of("notes.txt", b"\x00\x01\x02\x7fELF\x00\x00binary\x00");
    assert!(e.contains("binary"), "{e}");
}

#[test]
fn truncated_dicom_keeps_what_was_read() {
    let full = dicom_bytes(
        &[
            ((0x0010, 0x0010), "PN", "DOE^JANE".to_string()),
            ((0x0010, 0x0020), "LO", "A1234567".to_string()),
            ((0x0010, 0x0030), "DA", "19800214".to_string()),
        ],
        &[0u8; 64],
    );
    // Cut inside the birth date element.
    let cut = full.len() - 64 - 12 - 6;
    let o = scan_bytes("img.dcm", &full[..cut], &opts(), &Hasher::with_key([1; 32]))
        .expect("partial header is still scanned");
    assert_eq!(o.report.counts.get(&PhiKind::Name), Some(&1));
    assert_warned(&o.report, "truncated");
    let e = error_of("img.dcm", &full[..140]);
    assert!(e.contains("dicom"), "{e}");
}

#[test]
fn zip_bombs_and_deep_nesting_are_refused() {
    // A 200 MB member of zeros compresses ~1000:1.
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    w.start_file("zeros.txt", zip::write::SimpleFileOptions::default())
        .expect("start");
    let chunk = vec![b'0'; 1 << 20];
    for _ in 0..200 {
        w.write_all(&chunk).expect("write");
    }
    let bomb = w.finish().expect("finish").into_inner();
    assert!(bomb.len() < 2 << 20);
    let started = Instant::now();
    let e = error_of("backup.zip", &bomb);
    assert!(e.contains("zip bomb"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(10));

    // Archives nested deeper than the limit: the inner PHI is not reached, a warning says why.
    let mut inner = zip_of(&[("deep.txt", b"SSN: 536-22-8726")]);
    for i in 0..8 {
        inner = zip_of(&[(&format!("level{i}.zip"), &inner)]);
    }
    let o = scan_bytes("nested.zip", &inner, &opts(), &Hasher::with_key([1; 32])).expect("scan");
    assert!(o.findings.is_empty());
    assert_warned(&o.report, "nested deeper");
    // Within the limit it is found.
    let mut ok = zip_of(&[("deep.txt", b"SSN: 536-22-8726")]);
    for i in 0..2 {
        ok = zip_of(&[(&format!("level{i}.zip"), &ok)]);
    }
    let o = scan_bytes("nested.zip", &ok, &opts(), &Hasher::with_key([1; 32])).expect("scan");
    assert_eq!(o.report.counts.get(&PhiKind::Ssn), Some(&1));
    assert!(o.report.exposure.unencrypted_archive);
}

#[test]
fn endless_lines_and_invalid_utf8_are_bounded() {
    let mut data = vec![b'x'; 5 << 20];
    data.extend_from_slice(b" SSN: 536-22-8726 ");
    data.extend(std::iter::repeat_n(b'y', 3 << 20));
    data.extend_from_slice(b"\n\xff\xfe\xc3 Patient DOB: 02/14/1980 \x80\x81\n");
    let started = Instant::now();
    let o = scan_bytes("huge.log", &data, &opts(), &Hasher::with_key([1; 32])).expect("scan");
    assert_eq!(o.report.counts.get(&PhiKind::Ssn), Some(&1));
    assert_eq!(o.report.counts.get(&PhiKind::Dob), Some(&1));
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn a_huge_sql_string_is_scanned_to_its_end() {
    // A 3 MB note in one INSERT: values past the first megabyte were dropped before.
    let mut data = b"INSERT INTO notes (id, note) VALUES (1, '".to_vec();
    data.extend(std::iter::repeat_n(b'x', 2 << 20));
    data.extend_from_slice(b" SSN: 536-22-8726 ");
    data.extend(std::iter::repeat_n(b'y', 1 << 20));
    data.extend_from_slice(b" DOB: 02/14/1980');\n");
    let o = scan_bytes("dump.sql", &data, &opts(), &Hasher::with_key([1; 32])).expect("scan");
    assert_eq!(o.report.format, "sql");
    assert_eq!(o.report.counts.get(&PhiKind::Ssn), Some(&1));
    assert_eq!(o.report.counts.get(&PhiKind::Dob), Some(&1));
}

#[test]
fn time_budget_stops_a_slow_file() {
    let mut o = opts();
    o.limits.time_budget = Duration::from_millis(1);
    let mut data = Vec::new();
    for i in 0..200_000 {
        data.extend_from_slice(format!("line {i} Patient: John Smith\n").as_bytes());
    }
    let e = match scan_bytes("slow.txt", &data, &o, &Hasher::with_key([1; 32])) {
        Ok(_) => panic!("expected the time budget to stop the file"),
        Err(e) => medguard_phi::scan::error_chain(&e),
    };
    assert!(e.contains("time budget"), "{e}");
}

#[test]
fn the_scan_goes_on_past_bad_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::write(root.join("broken.docx"), b"PK\x03\x04garbage").expect("w");
    std::fs::write(root.join("binary.txt"), b"\x00\x00\x00\x01\x02").expect("w");
    std::fs::write(root.join("empty.pdf"), b"").expect("w");
    std::fs::write(
        root.join("ok.pdf"),
        pdf_bytes(&["Patient SSN 536-22-8726".into()]),
    )
    .expect("w");
    std::fs::create_dir(root.join(".hidden")).expect("mkdir");
    std::fs::write(
        root.join(".hidden/.pat.csv"),
        b"name,ssn\nJohn Smith,536-22-8726\n",
    )
    .expect("w");
    std::fs::write(root.join(".gitignore"), b"*.csv\nignored.txt\n").expect("w");
    std::fs::write(root.join("ignored.txt"), b"SSN: 536-22-8726\n").expect("w");
    std::fs::write(root.join("skip.iso"), b"SSN: 536-22-8726\n").expect("w");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(root.join("locked.txt"), b"SSN: 536-22-8726\n").expect("w");
        std::fs::set_permissions(
            root.join("locked.txt"),
            std::fs::Permissions::from_mode(0o0),
        )
        .expect("chmod");
        // A link out of the root must not be followed.
        let outside = tempfile::tempdir().expect("outside");
        std::fs::write(outside.path().join("secret.txt"), b"SSN: 536-22-8726\n").expect("w");
        std::os::unix::fs::symlink(outside.path(), root.join("link")).expect("symlink");
        std::os::unix::fs::symlink(outside.path().join("secret.txt"), root.join("file-link"))
            .expect("symlink");
        let mut o = opts();
        o.excludes = vec!["*.iso".into()];
        let mut sink = Collect::default();
        let sum = medguard_phi::scan(
            &[root.to_path_buf()],
            &o,
            &Hasher::with_key([1; 32]),
            &mut sink,
        )
        .expect("scan");
        let paths: Vec<&str> = sink.files.iter().map(|(r, _)| r.path.as_str()).collect();
        assert!(paths.iter().any(|p| p.ends_with("ok.pdf")), "{paths:?}");
        assert!(
            paths.iter().any(|p| p.ends_with(".hidden/.pat.csv")),
            "hidden file skipped: {paths:?}"
        );
        assert!(
            paths.iter().any(|p| p.ends_with("ignored.txt")),
            "gitignored file skipped: {paths:?}"
        );
        assert!(
            !paths.iter().any(|p| p.ends_with("skip.iso")),
            "exclude ignored: {paths:?}"
        );
        assert!(
            !paths
                .iter()
                .any(|p| p.contains("secret") || p.contains("link")),
            "followed a link: {paths:?}"
        );
        let errs: Vec<String> = sink
            .errors
            .iter()
            .map(|(p, e)| format!("{p}: {e}"))
            .collect();
        assert!(
            errs.iter()
                .any(|e| e.contains("broken.docx") && e.contains("zip")),
            "{errs:?}"
        );
        assert!(errs.iter().any(|e| e.contains("binary.txt")), "{errs:?}");
        // Root can read anything; only check the permission error when not root.
        let is_root = std::fs::read(root.join("locked.txt")).is_ok();
        if !is_root {
            assert!(errs.iter().any(|e| e.contains("locked.txt")), "{errs:?}");
        }
        assert!(sum.errors >= 2);
        assert!(sum.files_scanned >= 6);
    }
}

#[test]
fn xml_streams_past_the_whole_file_limit_and_bounds_one_event() {
    // Larger than `max_whole`: streamed, not refused, and every record is read.
    let mut xml = String::from("<?xml version=\"1.0\"?><patients>");
    for _ in 0..2000 {
        xml.push_str("<patient><ssn>536-22-8726</ssn><note>seen today</note></patient>");
    }
    xml.push_str("</patients>");
    let mut o = opts();
    o.limits.max_whole = 4096;
    let out =
        scan_bytes("export.xml", xml.as_bytes(), &o, &Hasher::with_key([1; 32])).expect("streamed");
    assert_eq!(out.report.counts.get(&PhiKind::Ssn), Some(&2000));

    // One endless text node: what came before is kept, the rest is refused with a clear warning.
    let mut xml = b"<r><ssn>536-22-8726</ssn><note>".to_vec();
    xml.extend(std::iter::repeat_n(b'x', 1 << 20));
    xml.extend_from_slice(b"</note></r>");
    let mut o = opts();
    o.limits.max_line = 256;
    let out = scan_bytes("endless.xml", &xml, &o, &Hasher::with_key([1; 32])).expect("scan");
    assert_eq!(out.report.counts.get(&PhiKind::Ssn), Some(&1));
    assert_warned(&out.report, "longer than");
}

#[test]
fn xml_in_other_encodings_is_read_whole() {
    // Each of these stopped at its first non-UTF-8 byte, or was not read at all, when XML was
    // parsed as UTF-8 only: a Latin-1 export (declared), UTF-16 with its mark, UTF-8 behind a mark,
    // and a "UTF-8" file with one stray Windows-1252 byte.
    let doc = |decl: &str| {
        format!(
            "<?xml version=\"1.0\" encoding=\"{decl}\"?>\n<patients>\
             <patient><name>José García</name><ssn>536-22-8726</ssn></patient>\
             <patient><name>John Smith</name><ssn>536-22-8727</ssn></patient></patients>\n"
        )
    };
    let latin1: Vec<u8> = doc("ISO-8859-1").chars().map(|c| c as u8).collect();
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(doc("UTF-16").encode_utf16().flat_map(u16::to_le_bytes));
    let bom = [&b"\xEF\xBB\xBF"[..], doc("UTF-8").as_bytes()].concat();
    let stray: Vec<u8> = doc("UTF-8").replace("José", "Jos\u{1}").into_bytes();
    let stray: Vec<u8> = stray
        .iter()
        .map(|&b| if b == 1 { 0xE9 } else { b })
        .collect();
    let key = Hasher::with_key([1; 32]);
    let want = key.hash(PhiKind::Name, "José García");
    for (name, data) in [
        ("latin1.xml", &latin1),
        ("utf16.xml", &utf16),
        ("bom.xml", &bom),
        ("stray.xml", &stray),
    ] {
        let out = scan_bytes(name, data, &opts(), &key).expect("scan");
        assert_eq!(out.report.counts.get(&PhiKind::Ssn), Some(&2), "{name}");
        if name == "stray.xml" {
            // The stray byte becomes U+FFFD ("Jos� García" is no name); John Smith after it is read.
            assert_eq!(out.report.counts.get(&PhiKind::Name), Some(&1), "{name}");
        } else {
            // The name is read as written, not as mojibake.
            assert_eq!(out.report.counts.get(&PhiKind::Name), Some(&2), "{name}");
            assert!(out.findings.iter().any(|f| f.hash == want), "{name}");
        }
    }
}
