//! Secured PDFs as practice systems export them: reportlab writes a lab result, qpdf (Debian's)
//! encrypts it. One that restricts editing and printing only (an owner password, and an empty
//! password to open: what "secured" exports are) is read like any PDF, with RC4 and AES alike; one
//! that needs a password to open is reported as protected, not as a scan without text.

mod common;

use medguard_model::{PhiKind, PhiProblem};
use medguard_phi::{FileOutcome, Hasher, ScanOptions, scan_bytes};
use std::process::Command;

fn scan(name: &str, data: &[u8]) -> FileOutcome {
    let opts = ScanOptions {
        min_records: 0,
        ..ScanOptions::default()
    };
    scan_bytes(name, data, &opts, &Hasher::with_key([5; 32])).expect("scan")
}

#[test]
fn secured_pdfs_are_read_and_password_protected_ones_said_so() {
    let dir = medguard_lab::workdir("phi-pdf-passwords");
    let plain = dir.path().join("lab.pdf");
    common::python(
        "import sys\n\
         from reportlab.pdfgen import canvas\n\
         c = canvas.Canvas(sys.argv[1])\n\
         c.drawString(72, 720, 'Patient: Maria Gonzalez  DOB: 03/14/1961  SSN: 536-22-8726')\n\
         c.save()",
        &[plain.as_os_str()],
    );
    let qpdf = medguard_lab::require("qpdf", "qpdf");
    let encrypt = |out: &str, args: &[&str]| {
        let path = dir.path().join(out);
        common::run(
            Command::new(&qpdf)
                .args(args)
                .arg("--")
                .arg(&plain)
                .arg(&path),
            "qpdf --encrypt",
        );
        std::fs::read(&path).expect("qpdf wrote it")
    };
    let want = scan("lab.pdf", &std::fs::read(&plain).expect("read")).findings;
    assert_eq!(want.len(), 3, "name, DOB and SSN");
    for (out, args) in [
        ("aes256.pdf", &["--encrypt", "", "owner", "256"][..]),
        (
            "aes128.pdf",
            &["--encrypt", "", "owner", "128", "--use-aes=y"][..],
        ),
        (
            "rc4.pdf",
            &[
                "--allow-weak-crypto",
                "--encrypt",
                "",
                "owner",
                "128",
                "--use-aes=n",
            ][..],
        ),
    ] {
        let o = scan(out, &encrypt(out, args));
        let kinds: Vec<PhiKind> = o.findings.iter().map(|f| f.kind).collect();
        assert_eq!(
            kinds,
            want.iter().map(|f| f.kind).collect::<Vec<_>>(),
            "{out}"
        );
        assert!(o.problems.is_empty(), "{out}: {:?}", o.problems);
    }
    let locked = scan(
        "locked.pdf",
        &encrypt("locked.pdf", &["--encrypt", "user", "owner", "256"]),
    );
    assert!(locked.findings.is_empty());
    assert_eq!(
        locked.problems.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
        [PhiProblem::Protected],
        "{:?}",
        locked.problems
    );
}
