//! Outlook `.msg` messages: written here property by property as [MS-OXMSG] lays them out (a
//! compound file of `__substg1.0_` streams and `__properties_version1.0` tables), checked with a
//! real reader, `extract-msg` (PyPI, in the lab's venv), and then scanned: the patient in the
//! subject, body and recipients, the attachment scanned as the CSV it is, an attached message
//! read too, whatever the file is called.

use medguard_model::PhiKind;
use medguard_phi::detect::Engine;
use medguard_phi::scan::scan_file;
use medguard_phi::{Hasher, ScanOptions};
use std::io::Write;
use std::path::Path;
use std::process::Command;

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// A `__properties_version1.0` stream: a header of `header` bytes (counts for the top level),
/// then one 16-byte entry per property (tag, flags, value or size).
fn properties(header: &[u8], entries: &[(u32, u32)]) -> Vec<u8> {
    let mut out = header.to_vec();
    for &(tag, value) in entries {
        out.extend(tag.to_le_bytes());
        out.extend(6u32.to_le_bytes()); // readable | writable
        out.extend(value.to_le_bytes());
        out.extend(0u32.to_le_bytes());
    }
    out
}

/// One object (message, recipient, attachment) under `dir`: string properties as UTF-16
/// streams, binary ones as they are, and its property table.
fn object(
    comp: &mut cfb::CompoundFile<std::fs::File>,
    dir: &str,
    header: &[u8],
    strings: &[(u16, &str)],
    binaries: &[(u16, &[u8])],
    fixed: &[(u32, u32)],
) {
    let mut entries: Vec<(u32, u32)> = fixed.to_vec();
    let mut put = |name: String, data: &[u8]| {
        comp.create_stream(format!("{dir}/{name}"))
            .expect("stream")
            .write_all(data)
            .expect("write");
    };
    for &(id, s) in strings {
        let data = utf16(s);
        put(format!("__substg1.0_{id:04X}001F"), &data);
        entries.push(((u32::from(id) << 16) | 0x001F, data.len() as u32 + 2));
    }
    for &(id, b) in binaries {
        put(format!("__substg1.0_{id:04X}0102"), b);
        entries.push(((u32::from(id) << 16) | 0x0102, b.len() as u32));
    }
    put(
        "__properties_version1.0".into(),
        &properties(header, &entries),
    );
}

/// The top-level property table header: reserved, next recipient and attachment ids, their
/// counts, reserved.
fn top_header(recipients: u32, attachments: u32) -> Vec<u8> {
    let mut h = vec![0u8; 8];
    for v in [recipients, attachments, recipients, attachments] {
        h.extend(v.to_le_bytes());
    }
    h.extend([0u8; 8]);
    h
}

const LABS: &str = "name,dob,ssn\nJohn Smith,1970-02-03,412-38-5529\n";

fn write_msg(path: &Path) {
    let mut comp = cfb::create(path).expect("create msg");
    comp.create_storage("/__nameid_version1.0").expect("nameid");
    for s in ["00020102", "00030102", "00040102"] {
        comp.create_stream(format!("/__nameid_version1.0/__substg1.0_{s}"))
            .expect("nameid stream");
    }
    object(
        &mut comp,
        "",
        &top_header(1, 2),
        &[
            (0x001A, "IPM.Note"),
            (0x0037, "Lab results for Maria Gonzalez"),
            (0x0C1A, "Dr. Alan Reyes"),
            (0x0C1F, "areyes@clinic.example"),
            (0x0E04, "Front Desk"),
            (
                0x1000,
                "Patient: Maria Gonzalez\r\nDOB: 03/14/1962\r\nSSN 536-22-8726\r\n",
            ),
        ],
        &[],
        &[],
    );
    let recip = "/__recip_version1.0_#00000000";
    comp.create_storage(recip).expect("recipient");
    object(
        &mut comp,
        recip,
        &[0u8; 8],
        &[(0x3001, "Front Desk"), (0x39FE, "frontdesk@clinic.example")],
        &[],
        &[(0x0C15_0003, 1)],
    );
    let att = "/__attach_version1.0_#00000000";
    comp.create_storage(att).expect("attachment");
    object(
        &mut comp,
        att,
        &[0u8; 8],
        &[(0x3707, "labs.csv"), (0x3704, "labs.csv")],
        &[(0x3701, LABS.as_bytes())],
        &[(0x3705_0003, 1)],
    );
    // An attached message (attach method 5): its own properties in a storage.
    let fwd = "/__attach_version1.0_#00000001";
    comp.create_storage(fwd).expect("attachment 2");
    object(
        &mut comp,
        fwd,
        &[0u8; 8],
        &[(0x3001, "Referral")],
        &[],
        &[(0x3705_0003, 5)],
    );
    let inner = format!("{fwd}/__substg1.0_3701000D");
    comp.create_storage(&inner).expect("embedded");
    object(
        &mut comp,
        &inner,
        &[0u8; 24],
        &[
            (0x001A, "IPM.Note"),
            (0x0037, "Referral"),
            (0x1000, "Please see Ana Lopez, MRN: 0098765, tomorrow."),
        ],
        &[],
        &[],
    );
    comp.flush().expect("flush");
}

#[test]
fn outlook_messages_are_read_with_their_attachments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("Lab results.msg");
    write_msg(&path);

    // A real reader agrees the file is the message we meant.
    let python = medguard_lab::python();
    let out = Command::new(python)
        .args([
            "-c",
            "import extract_msg, sys\n\
             m = extract_msg.openMsg(sys.argv[1])\n\
             print(m.subject)\n\
             print(m.body.strip().replace('\\r\\n', '|'))\n\
             for a in m.attachments:\n\
             \x20   print(type(a).__name__, a.longFilename, a.data if isinstance(a.data, bytes) else a.data.subject)\n",
        ])
        .arg(&path)
        .output()
        .expect("python runs");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "extract-msg: {}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    let engine = Engine::get().expect("engine");
    for p in [&path, &renamed] {
        let out = scan_file(
            p,
            &ScanOptions::default(),
            engine,
            &Hasher::with_key([5; 32]),
        )
        .expect("scan")
        .expect("the message holds identifiers");
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
        // The attachment, as the CSV it is.
        assert!(has(PhiKind::Ssn, Some("labs.csv")), "{:?}", out.findings);
        // The attached message.
        assert!(has(PhiKind::Mrn, None), "{:?}", out.findings);
    }
}
