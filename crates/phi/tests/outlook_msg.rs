//! Outlook `.msg` messages: written by the corpus generator property by property as [MS-OXMSG]
//! lays them out (a compound file of `__substg1.0_` streams and `__properties_version1.0`
//! tables), checked with a real reader, `extract-msg` (PyPI, in the lab's venv), and then scanned:
//! the patient in the subject, body and recipients, the attachment scanned as the CSV it is, an
//! attached message read too, whatever the file is called.

mod common;

use common::python;
use medguard_model::PhiKind;
use medguard_phi::corpus::{OutlookMessage, msg_bytes};
use std::ffi::OsStr;

const LABS: &str = "name,dob,ssn\nJohn Smith,1970-02-03,412-38-5529\n";

fn message() -> OutlookMessage {
    OutlookMessage {
        subject: "Lab results for Maria Gonzalez".into(),
        sender_name: "Dr. Alan Reyes".into(),
        sender_email: "areyes@clinic.example".into(),
        display_to: "Front Desk".into(),
        body: "Patient: Maria Gonzalez\r\nDOB: 03/14/1962\r\nSSN 536-22-8726\r\n".into(),
        rtf_compressed: None,
        html: None,
        recipients: vec![("Front Desk".into(), "frontdesk@clinic.example".into())],
        attachments: vec![("labs.csv".into(), LABS.as_bytes().to_vec())],
        attached_message: Some(Box::new(OutlookMessage {
            subject: "Referral".into(),
            body: "Please see Ana Lopez, MRN: 0098765, tomorrow.".into(),
            ..OutlookMessage::default()
        })),
    }
}

#[test]
fn outlook_messages_are_read_with_their_attachments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("Lab results.msg");
    std::fs::write(&path, msg_bytes(&message()).expect("msg")).expect("write msg");

    // A real reader agrees the file is the message we meant.
    let said = python(
        "import extract_msg, sys\n\
         m = extract_msg.openMsg(sys.argv[1])\n\
         print(m.subject)\n\
         print(m.body.strip().replace('\\r\\n', '|'))\n\
         for a in m.attachments:\n\
         \x20   print(type(a).__name__, a.longFilename, a.data if isinstance(a.data, bytes) else a.data.subject)\n",
        &[path.as_os_str()],
    );
    let said = String::from_utf8_lossy(&said);
    let lines: Vec<&str> = said.lines().collect();
    assert_eq!(lines.first(), Some(&"Lab results for Maria Gonzalez"));
    assert_eq!(
        lines.get(1),
        Some(&"Patient: Maria Gonzalez|DOB: 03/14/1962|SSN 536-22-8726")
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("labs.csv") && l.contains("412-38-5529")),
        "{said}"
    );
    assert!(lines.iter().any(|l| l.ends_with("Referral")), "{said}");

    let renamed = dir.path().join("item0042.bin");
    std::fs::copy(&path, &renamed).expect("copy");
    for p in [&path, &renamed] {
        let out = common::scan(p);
        assert_eq!(out.report.format, "msg");
        assert!(out.report.exposure.in_email);
        let has = |kind: PhiKind, member: Option<&str>| {
            out.findings
                .iter()
                .any(|f| f.kind == kind && f.location.member.as_deref() == member)
        };
        assert!(has(PhiKind::Ssn, None), "{:?}", out.findings);
        assert!(has(PhiKind::Dob, None));
        assert!(has(PhiKind::Name, None));
        assert!(has(PhiKind::Email, None));
        // The sender, written twice in the file (sender, sent representing), is reported once.
        let from = out
            .findings
            .iter()
            .filter(|f| f.kind == PhiKind::Email && f.location.field.as_deref() == Some("From"))
            .count();
        assert_eq!(from, 1, "{:?}", out.findings);
        // The attachment, as the CSV it is.
        assert!(has(PhiKind::Ssn, Some("labs.csv")), "{:?}", out.findings);
        // The attached message.
        assert!(has(PhiKind::Mrn, None), "{:?}", out.findings);
    }
}

/// A message whose only body is compressed RTF (older Outlook): compressed by Python's
/// `compressed_rtf` (what `extract-msg` uses), read back by `extract-msg`, and scanned.
#[test]
fn an_rtf_only_body_is_decompressed_and_scanned() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rtf = r"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0 Calibri;}}\pard Patient: Maria Gonzalez\par DOB: 03/14/1962\par SSN 536-22-8726\par}";
    let compressed = python(
        "import compressed_rtf, sys\n\
         sys.stdout.buffer.write(compressed_rtf.compress(sys.argv[1].encode(), compressed=True))",
        &[OsStr::new(rtf)],
    );
    // medguard's own decompressor gives back the RTF the peer compressed.
    assert_eq!(
        medguard_phi::extract::msg::decompress_rtf(&compressed, 1 << 20).expect("lzfu"),
        rtf.as_bytes()
    );
    let path = dir.path().join("old.msg");
    let m = OutlookMessage {
        subject: "Old referral".into(),
        rtf_compressed: Some(compressed),
        ..OutlookMessage::default()
    };
    std::fs::write(&path, msg_bytes(&m).expect("msg")).expect("write");
    let read_back = python(
        "import extract_msg, sys\n\
         sys.stdout.buffer.write(extract_msg.openMsg(sys.argv[1]).rtfBody)",
        &[path.as_os_str()],
    );
    assert_eq!(read_back.trim_ascii_end(), rtf.as_bytes());
    let scanned = common::scan(&path);
    let kinds: Vec<PhiKind> = scanned.findings.iter().map(|f| f.kind).collect();
    for k in [PhiKind::Ssn, PhiKind::Dob, PhiKind::Name] {
        assert!(kinds.contains(&k), "{k:?} not in {kinds:?}");
    }
}

#[test]
fn an_html_only_message_is_read_as_a_page() {
    let dir = medguard_lab::workdir("phi-msg-html");
    let html = "<html><body><p>Results below.</p><table>\
                <tr><th>Patient</th><th>Birth Date</th><th>Chart #</th></tr>\
                <tr><td>Ysogra Nixyso</td><td>03/14/1962</td><td>104233</td></tr>\
                </table></body></html>";
    let path = dir.path().join("results.msg");
    let m = OutlookMessage {
        subject: "Lab results".into(),
        html: Some(html.as_bytes().to_vec()),
        ..OutlookMessage::default()
    };
    std::fs::write(&path, msg_bytes(&m).expect("msg")).expect("write");
    // The peer reads the HTML body back: a message as Outlook keeps one.
    let read_back = python(
        "import extract_msg, sys\n\
         sys.stdout.buffer.write(extract_msg.openMsg(sys.argv[1]).htmlBody)",
        &[path.as_os_str()],
    );
    assert_eq!(read_back.trim_ascii_end(), html.as_bytes());
    let scanned = common::scan(&path);
    // The value under each header cell, in the table's first record.
    let at = |field: &str| {
        scanned
            .findings
            .iter()
            .find(|f| f.location.field.as_deref() == Some(field))
            .map(|f| (f.kind, f.location.record))
    };
    assert_eq!(at("Birth Date"), Some((PhiKind::Dob, Some(1))));
    assert_eq!(at("Chart #"), Some((PhiKind::Mrn, Some(1))));
    assert_eq!(at("Patient"), Some((PhiKind::Name, Some(1))));
}
