//! Files written by real third-party tools, scanned by medguard: DCMTK's dump2dcm (DICOM in four
//! transfer syntaxes), python-hl7, openpyxl (XLSX), python-docx (DOCX), fpdf2 (PDF with compressed
//! streams), reportlab and pypdf (a filled-in PDF form), msoffcrypto-tool (a password-protected
//! DOCX), Python's email/mailbox modules (EML with a DOCX attachment, MBOX), and Info-ZIP's `zip`
//! (including an encrypted member). Each test starts its tool or fails loudly.

use medguard_model::PhiKind;
use medguard_phi::{Hasher, ScanOptions, scan_bytes};
use std::path::Path;
use std::process::Command;

fn opts() -> ScanOptions {
    ScanOptions {
        unmask: true,
        min_records: 0,
        ..ScanOptions::default()
    }
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("the tool starts");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn python(dir: &Path, script: &str) {
    let py = medguard_lab::python();
    run(Command::new(py).arg("-c").arg(script).current_dir(dir));
}

fn values(name: &str, data: &[u8]) -> Vec<(PhiKind, String)> {
    let o = scan_bytes(name, data, &opts(), &Hasher::with_key([3; 32]))
        .unwrap_or_else(|e| panic!("{name}: {}", medguard_phi::scan::error_chain(&e)));
    o.findings
        .into_iter()
        .map(|f| (f.kind, f.value.unwrap_or_default()))
        .collect()
}

fn has(v: &[(PhiKind, String)], k: PhiKind, s: &str) -> bool {
    v.iter().any(|(kk, vv)| *kk == k && vv.contains(s))
}

#[test]
fn dcmtk_dicom_in_every_transfer_syntax() {
    let dump2dcm = medguard_lab::require("dump2dcm", "dcmtk");
    let dir = medguard_lab::workdir("phi-dicom");
    let dump = dir.path().join("in.dump");
    std::fs::write(
        &dump,
        "(0008,0016) UI =SecondaryCaptureImageStorage\n\
         (0008,0018) UI [1.2.826.0.1.3680043.2.1125.1.1]\n\
         (0008,0020) DA [20250301]\n\
         (0008,0080) LO [Springfield Family Dental]\n\
         (0008,0090) PN [HOUSE^GREGORY]\n\
         (0010,0010) PN [MORALES^ELENA^M]\n\
         (0010,0020) LO [MRN0601648]\n\
         (0010,0030) DA [19620704]\n\
         (0010,1000) LO [X7730021]\n\
         (0028,0010) US 2\n(0028,0011) US 2\n(0028,0100) US 8\n\
         (7fe0,0010) OB 35\\33\\36\\2d\\32\\32\\2d\\38\n",
    )
    .expect("dump");
    for (flag, label) in [
        ("+te", "explicit LE"),
        ("+ti", "implicit LE"),
        ("+tb", "explicit BE"),
        ("+td", "deflated"),
    ] {
        let out = dir.path().join(format!("img{flag}.dcm"));
        run(Command::new(&dump2dcm).arg(flag).arg(&dump).arg(&out));
        let data = std::fs::read(&out).expect("read");
        let v = values("IM0001", &data);
        assert!(has(&v, PhiKind::Name, "MORALES ELENA"), "{label}: {v:?}");
        assert!(has(&v, PhiKind::Name, "HOUSE GREGORY"), "{label}: {v:?}");
        assert!(has(&v, PhiKind::Mrn, "MRN0601648"), "{label}: {v:?}");
        assert!(has(&v, PhiKind::Mrn, "X7730021"), "{label}: {v:?}");
        assert!(has(&v, PhiKind::Dob, "19620704"), "{label}: {v:?}");
        assert!(
            !has(&v, PhiKind::Dob, "20250301"),
            "{label}: study date is not a DOB"
        );
        assert!(
            !v.iter().any(|(_, s)| s.contains("Springfield")),
            "{label}: institution is not a person"
        );
    }
}

#[test]
fn python_hl7_message() {
    let dir = medguard_lab::workdir("phi-hl7");
    python(
        dir.path(),
        r#"
import hl7
m = hl7.parse("MSH|^~\\&|EHR|CLINIC|LAB|LABCO|202503010930||ADT^A04|MSG00001|P|2.5.1\rPID|1||x^^^CLINIC^MR||x^x||x|F|||x^^x^IL^62704||x||||||x\rIN1|1|BCBS01\r")
m.assign_field("0601648", "PID", 1, 3, 1, 1)
m.assign_field("GARCIA", "PID", 1, 5, 1, 1)
m.assign_field("ANA", "PID", 1, 5, 1, 2)
m.assign_field("19800214", "PID", 1, 7)
m.assign_field("742 Evergreen Ter", "PID", 1, 11, 1, 1)
m.assign_field("Springfield", "PID", 1, 11, 1, 3)
m.assign_field("(217) 555-2671", "PID", 1, 13)
m.assign_field("536228726", "PID", 1, 19)
assert "GARCIA^ANA" in str(m), str(m)
open("adt.hl7", "w", newline="").write(str(m))
"#,
    );
    let data = std::fs::read(dir.path().join("adt.hl7")).expect("read");
    let v = values("adt.hl7", &data);
    assert!(has(&v, PhiKind::Mrn, "0601648"), "{v:?}");
    assert!(has(&v, PhiKind::Name, "GARCIA ANA"), "{v:?}");
    assert!(has(&v, PhiKind::Dob, "19800214"), "{v:?}");
    assert!(has(&v, PhiKind::Address, "742 Evergreen Ter"), "{v:?}");
    assert!(has(&v, PhiKind::Ssn, "536228726"), "{v:?}");
    assert!(
        !has(&v, PhiKind::Dob, "202503010930"),
        "message time is not a DOB: {v:?}"
    );
}

#[test]
fn openpyxl_workbook() {
    let dir = medguard_lab::workdir("phi-xlsx");
    python(
        dir.path(),
        r#"
import datetime, openpyxl
wb = openpyxl.Workbook()
ws = wb.active
ws.title = "Patients"
ws.append(["Last Name", "First Name", "DOB", "SSN", "Invoice No", "Visit Date"])
ws.append(["Nguyen", "Linh", datetime.date(1975, 3, 9), 536228726, "536-22-8726", datetime.date(2025, 1, 2)])
ws.append(["Okafor", "Chidi", datetime.date(1988, 11, 30), "401-33-9012", "401-33-9012", datetime.date(2025, 1, 3)])
ws.append(["Adeyemi", "Tola", datetime.date(1990, 6, 1), 12345678, 12345678, datetime.date(2025, 1, 4)])
# A report's sheet: a title and a "Printed" line above its column names.
ws = wb.create_sheet("Recall")
ws.append(["Springfield Family Dental - Recall List"])
ws.append(["Printed", datetime.date(2026, 11, 28)])
ws.append([])
ws.append(["Patient", "Chart #", "Birth Date", "Phone"])
ws.append(["Ysogra Nixyso", "104233", datetime.date(1962, 3, 14), "(217) 632-0143"])
# Mailing labels: no column names at all.
ws = wb.create_sheet("Labels")
for last, first, dob in [("Smith", "John", datetime.date(1980, 2, 14)), ("Johnson", "Mary", datetime.date(1962, 3, 4)),
                         ("Williams", "Robert", datetime.date(1999, 12, 1)), ("Brown", "Patricia", datetime.date(1971, 7, 4))]:
    ws.append([last, first, dob, datetime.date(2026, 11, 2)])
wb.save("patients.xlsx")
"#,
    );
    let data = std::fs::read(dir.path().join("patients.xlsx")).expect("read");
    let v = values("patients.xlsx", &data);
    assert!(
        has(&v, PhiKind::Name, "Nguyen") && has(&v, PhiKind::Name, "Chidi"),
        "{v:?}"
    );
    assert!(has(&v, PhiKind::Dob, "1975-03-09"), "{v:?}");
    assert!(has(&v, PhiKind::Ssn, "536228726"), "{v:?}");
    assert!(has(&v, PhiKind::Ssn, "401-33-9012"), "{v:?}");
    // 012-34-5678 typed as a number: Excel keeps 12345678; its leading zero is put back.
    assert!(has(&v, PhiKind::Ssn, "012345678"), "{v:?}");
    let ssns = v.iter().filter(|(k, _)| *k == PhiKind::Ssn).count();
    assert_eq!(ssns, 3, "invoice numbers are not SSNs: {v:?}");
    assert!(
        !has(&v, PhiKind::Dob, "2025-01-02"),
        "visit dates are not DOBs: {v:?}"
    );
    // Below the report's title, by its column names; the printed date is no DOB.
    let o = scan_bytes("patients.xlsx", &data, &opts(), &Hasher::with_key([3; 32])).expect("scan");
    let at = |value: &str| {
        o.findings
            .iter()
            .find(|f| f.value.as_deref() == Some(value))
            .map(|f| {
                (
                    f.kind,
                    f.location.field.as_deref().unwrap_or_default().to_string(),
                )
            })
    };
    assert_eq!(
        at("Ysogra Nixyso"),
        Some((PhiKind::Name, "Recall!A5 [Patient]".into()))
    );
    assert_eq!(
        at("104233"),
        Some((PhiKind::Mrn, "Recall!B5 [Chart #]".into()))
    );
    assert_eq!(
        at("1962-03-14"),
        Some((PhiKind::Dob, "Recall!C5 [Birth Date]".into()))
    );
    assert!(!has(&v, PhiKind::Dob, "2026-11-28"), "{v:?}");
    // Without column names, by what the values are; the visit date is no DOB.
    let labels = |value: &str| {
        o.findings
            .iter()
            .find(|f| {
                f.value.as_deref() == Some(value)
                    && f.location
                        .field
                        .as_deref()
                        .is_some_and(|l| l.starts_with("Labels!"))
            })
            .map(|f| {
                (
                    f.kind,
                    f.location.field.as_deref().unwrap_or_default().to_string(),
                    f.location.record,
                )
            })
    };
    assert_eq!(
        labels("1999-12-01"),
        Some((
            PhiKind::Dob,
            "Labels!C3 [column C (birth date)]".into(),
            Some(12)
        ))
    );
    assert_eq!(
        labels("Robert"),
        Some((
            PhiKind::Name,
            "Labels!B3 [column B (first name)]".into(),
            Some(12)
        ))
    );
    // Records are numbered through the workbook (after the 4 rows of Patients and the 5 of
    // Recall): 3 + 1 + 4 people, none counted twice over.
    assert_eq!(o.report.individuals, 8);
    assert!(!has(&v, PhiKind::Dob, "2026-11-02"), "{v:?}");
}

#[test]
fn python_docx_and_email_with_attachment() {
    let dir = medguard_lab::workdir("phi-docx");
    python(
        dir.path(),
        r#"
import docx, mailbox
from email.message import EmailMessage
d = docx.Document()
d.add_paragraph("Referral for patient Maria Lopez, DOB 04/12/1969.")
p = d.add_paragraph("Member ID: ")
p.add_run("W123456789").bold = True
t = d.add_table(rows=2, cols=2)
t.cell(0, 0).text = "Name"; t.cell(0, 1).text = "Phone"
t.cell(1, 0).text = "Ana Silva"; t.cell(1, 1).text = "(312) 555-7788"
d.save("referral.docx")
m = EmailMessage()
m["From"] = "frontdesk@clinic.example"
m["To"] = "maria.lopez@example.com"
m["Subject"] = "Referral"
m.set_content("Hi Maria, attached. Your SSN on file ends 8726.")
m.add_attachment(open("referral.docx", "rb").read(), maintype="application",
    subtype="vnd.openxmlformats-officedocument.wordprocessingml.document", filename="referral.docx")
open("referral.eml", "wb").write(bytes(m))
box = mailbox.mbox("inbox.mbox")
box.add(m)
m2 = EmailMessage(); m2["From"] = "x@clinic.example"; m2["To"] = "y@example.org"; m2["Subject"] = "SSN"
m2.set_content("Patient: Omar Haddad\nSSN: 219-45-6789\n")
box.add(m2)
box.flush()
"#,
    );
    let docx = std::fs::read(dir.path().join("referral.docx")).expect("read");
    let v = values("referral.docx", &docx);
    assert!(has(&v, PhiKind::Name, "Maria Lopez"), "{v:?}");
    assert!(has(&v, PhiKind::Dob, "04/12/1969"), "{v:?}");
    assert!(has(&v, PhiKind::PlanId, "W123456789"), "runs joined: {v:?}");
    assert!(has(&v, PhiKind::Name, "Ana Silva"), "{v:?}");
    assert!(has(&v, PhiKind::Phone, "(312) 555-7788"), "{v:?}");
    let eml = std::fs::read(dir.path().join("referral.eml")).expect("read");
    let o = scan_bytes("referral.eml", &eml, &opts(), &Hasher::with_key([3; 32])).expect("eml");
    assert!(o.report.exposure.in_email);
    assert!(
        o.findings
            .iter()
            .any(|f| f.kind == PhiKind::PlanId
                && f.location.member.as_deref() == Some("referral.docx")),
        "attachment not scanned: {:?}",
        o.findings
    );
    let mbox = std::fs::read(dir.path().join("inbox.mbox")).expect("read");
    let v = values("inbox.mbox", &mbox);
    assert!(has(&v, PhiKind::Ssn, "219-45-6789"), "{v:?}");
    assert!(has(&v, PhiKind::Name, "Omar Haddad"), "{v:?}");
    assert!(
        has(&v, PhiKind::Dob, "04/12/1969"),
        "attachment in mbox: {v:?}"
    );
}

#[test]
fn fpdf2_pdf_with_compressed_streams() {
    let dir = medguard_lab::workdir("phi-pdf");
    python(
        dir.path(),
        r#"
from fpdf import FPDF
pdf = FPDF()
pdf.add_page()
pdf.set_font("Helvetica", size=11)
pdf.cell(0, 8, "Lab report", new_x="LMARGIN", new_y="NEXT")
pdf.cell(0, 8, "Patient: Grace Kim    DOB: 07/21/1958", new_x="LMARGIN", new_y="NEXT")
pdf.add_page()
pdf.cell(0, 8, "SSN: 536-22-8726   MRN: 4471203", new_x="LMARGIN", new_y="NEXT")
pdf.output("lab.pdf")
"#,
    );
    let data = std::fs::read(dir.path().join("lab.pdf")).expect("read");
    assert!(
        data.windows(11).any(|w| w == b"FlateDecode"),
        "fpdf2 compresses page streams"
    );
    let o = scan_bytes("lab.pdf", &data, &opts(), &Hasher::with_key([3; 32])).expect("pdf");
    let get = |k: PhiKind| -> Vec<(Option<u32>, String)> {
        o.findings
            .iter()
            .filter(|f| f.kind == k)
            .map(|f| (f.location.page, f.value.clone().unwrap_or_default()))
            .collect()
    };
    assert!(
        get(PhiKind::Name)
            .iter()
            .any(|(p, v)| *p == Some(1) && v == "Grace Kim"),
        "{:?}",
        o.findings
    );
    assert!(
        get(PhiKind::Dob).iter().any(|(p, _)| *p == Some(1)),
        "{:?}",
        o.findings
    );
    assert!(
        get(PhiKind::Ssn)
            .iter()
            .any(|(p, v)| *p == Some(2) && v == "536-22-8726"),
        "{:?}",
        o.findings
    );
    assert!(
        get(PhiKind::Mrn).iter().any(|(_, v)| v == "4471203"),
        "{:?}",
        o.findings
    );
}

/// A filled-in intake form: reportlab writes its values into AcroForm text fields (outside the
/// page's text), pypdf lists the fields as a form reader sees them. Every identifier pypdf reads
/// is found, under its field's name.
#[test]
fn reportlab_filled_form_read_as_pypdf_reads_it() {
    let dir = medguard_lab::workdir("phi-pdf-form");
    python(
        dir.path(),
        r#"
import json
from reportlab.pdfgen import canvas
from pypdf import PdfReader
c = canvas.Canvas("intake.pdf")
c.drawString(72, 780, "New patient intake form")
y = 740
for name, value in [("PatientName", "Maria Gonzalez"), ("DOB", "03/14/1962"),
                    ("SSN", "536-22-8726"), ("HomePhone", "(617) 432-1187"),
                    ("InsuranceMemberID", "W123456789"), ("Allergies", "penicillin")]:
    c.drawString(72, y + 5, name)
    c.acroForm.textfield(name=name, value=value, x=200, y=y, width=250, height=20)
    y -= 40
c.save()
json.dump(PdfReader("intake.pdf").get_form_text_fields(), open("fields.json", "w"))
"#,
    );
    let data = std::fs::read(dir.path().join("intake.pdf")).expect("read");
    let fields: std::collections::BTreeMap<String, String> = serde_json::from_slice(
        &std::fs::read(dir.path().join("fields.json")).expect("pypdf's fields"),
    )
    .expect("json");
    assert_eq!(fields.len(), 6, "{fields:?}");
    let o = scan_bytes("intake.pdf", &data, &opts(), &Hasher::with_key([3; 32])).expect("pdf");
    for (field, kind) in [
        ("PatientName", PhiKind::Name),
        ("DOB", PhiKind::Dob),
        ("SSN", PhiKind::Ssn),
        ("HomePhone", PhiKind::Phone),
        ("InsuranceMemberID", PhiKind::PlanId),
    ] {
        let want = fields.get(field).expect("pypdf read the field");
        assert!(
            o.findings.iter().any(|f| f.kind == kind
                && f.location.field.as_deref() == Some(field)
                && f.value.as_deref() == Some(want.as_str())),
            "{field} = {want:?} not found: {:?}",
            o.findings
        );
    }
}

/// A Word letter saved with a password (python-docx writes it, msoffcrypto-tool encrypts it the
/// way Office does, ECMA-376 agile encryption): reported as protected, nothing read from it; the
/// same file decrypted again by msoffcrypto-tool is read, so the protection is what hid it.
#[test]
fn msoffcrypto_password_protected_letter() {
    let dir = medguard_lab::workdir("phi-protected");
    python(
        dir.path(),
        r#"
import docx
from msoffcrypto.format.ooxml import OOXMLFile
d = docx.Document()
d.add_paragraph("Referral for Maria Gonzalez, SSN 536-22-8726.")
d.save("letter.docx")
with open("letter.docx", "rb") as f, open("locked.docx", "wb") as out:
    OOXMLFile(f).encrypt("secret", out)
with open("locked.docx", "rb") as f, open("unlocked.docx", "wb") as out:
    locked = OOXMLFile(f)
    locked.load_key(password="secret")
    locked.decrypt(out)
"#,
    );
    let key = Hasher::with_key([3; 32]);
    let locked = std::fs::read(dir.path().join("locked.docx")).expect("read");
    let o = scan_bytes("locked.docx", &locked, &opts(), &key).expect("scan");
    assert!(o.findings.is_empty(), "{:?}", o.findings);
    assert!(
        o.report
            .warnings
            .iter()
            .any(|w| w.contains("password-protected Office file")),
        "{:?}",
        o.report.warnings
    );
    let unlocked = std::fs::read(dir.path().join("unlocked.docx")).expect("read");
    let v = values("unlocked.docx", &unlocked);
    assert!(has(&v, PhiKind::Ssn, "536-22-8726"), "{v:?}");
}

/// Document properties: python-docx saves a letter whose title and subject name the patient,
/// reportlab a scanned-looking PDF (no text on its page) titled with the patient's name. Both are
/// found under their property; the author (staff) is not read.
#[test]
fn document_properties_name_the_patient() {
    let dir = medguard_lab::workdir("phi-properties");
    python(
        dir.path(),
        r#"
import docx
from reportlab.pdfgen import canvas
d = docx.Document()
d.add_paragraph("Please see the attached.")
d.core_properties.title = "Referral - Maria Gonzalez"
d.core_properties.subject = "DOB 03/14/1962"
d.core_properties.author = "Grace Kim"
d.save("letter.docx")
c = canvas.Canvas("card.pdf")
c.setTitle("Insurance card - John Smith")
c.setAuthor("Grace Kim")
c.rect(72, 600, 300, 180)
c.save()
"#,
    );
    let key = Hasher::with_key([3; 32]);
    for (file, field, kind, value) in [
        ("letter.docx", "title", PhiKind::Name, "Maria Gonzalez"),
        ("letter.docx", "subject", PhiKind::Dob, "03/14/1962"),
        ("card.pdf", "Title", PhiKind::Name, "John Smith"),
    ] {
        let data = std::fs::read(dir.path().join(file)).expect("read");
        let o = scan_bytes(file, &data, &opts(), &key).expect("scan");
        assert!(
            o.findings.iter().any(|f| f.kind == kind
                && f.location.field.as_deref() == Some(field)
                && f.value.as_deref() == Some(value)),
            "{file}: {value} under {field}: {:?}",
            o.findings
        );
        assert!(
            !o.findings
                .iter()
                .any(|f| f.value.as_deref() == Some("Grace Kim")),
            "{file}: the author is staff"
        );
        if file == "card.pdf" {
            // The page itself is still an image to the scanner: said so, as a scanned image.
            assert!(o.problems.iter().any(|(p, w)| {
                *p == medguard_model::PhiProblem::ScannedImage && w.contains("no text layer")
            }));
        }
    }
}

/// A workbook's cell notes and properties: openpyxl writes a note on a cell ("Patient John
/// Smith, DOB 02/14/1980", by a staff author) and a title naming a patient. calamine reads only the
/// cells; the note is found pointing at its cell, the title under its property, the author not.
#[test]
fn openpyxl_cell_notes_and_title() {
    let dir = medguard_lab::workdir("phi-xlsx-notes");
    python(
        dir.path(),
        r#"
import openpyxl
from openpyxl.comments import Comment
wb = openpyxl.Workbook()
ws = wb.active
ws["A1"] = "Balance"
ws["B2"] = 125.50
ws["B2"].comment = Comment("Patient John Smith, DOB 02/14/1980, disputes this", "Grace Kim")
wb.properties.title = "Billing - Maria Gonzalez"
wb.save("billing.xlsx")
"#,
    );
    let data = std::fs::read(dir.path().join("billing.xlsx")).expect("read");
    let o = scan_bytes("billing.xlsx", &data, &opts(), &Hasher::with_key([3; 32])).expect("xlsx");
    let at = |kind: PhiKind, value: &str, field: &str| {
        o.findings.iter().any(|f| {
            f.kind == kind
                && f.value.as_deref() == Some(value)
                && f.location.field.as_deref() == Some(field)
        })
    };
    assert!(
        at(PhiKind::Name, "John Smith", "comment B2"),
        "{:?}",
        o.findings
    );
    assert!(
        at(PhiKind::Dob, "02/14/1980", "comment B2"),
        "{:?}",
        o.findings
    );
    assert!(
        at(PhiKind::Name, "Maria Gonzalez", "title"),
        "{:?}",
        o.findings
    );
    assert!(
        !o.findings
            .iter()
            .any(|f| f.value.as_deref() == Some("Grace Kim")),
        "the note's author is staff: {:?}",
        o.findings
    );
}

/// Contacts exported as vCards: vobject (the Python vCard library) writes two cards. Each is a
/// record; a name no list holds is found under `FN`/`N`, the birthday as a date of birth, and the
/// phone, e-mail, address and the SSN in a note.
#[test]
fn vobject_contacts() {
    let dir = medguard_lab::workdir("phi-vcard");
    python(
        dir.path(),
        r#"
import vobject
cards = []
for family, given, bday, tel in [("Zorquil", "Xochitl", "1962-03-14", "(617) 432-1187"),
                                 ("Braumbdre", "Ignacio", "1964-01-15", "(617) 432-1188")]:
    c = vobject.vCard()
    c.add("n").value = vobject.vcard.Name(family=family, given=given)
    c.add("fn").value = given + " " + family
    c.add("bday").value = bday
    t = c.add("tel"); t.value = tel; t.type_param = "HOME"
    c.add("email").value = given.lower() + "@example.com"
    c.add("adr").value = vobject.vcard.Address(street="5871 Highland Street", city="Springfield",
                                                region="IL", code="62704", country="USA")
    c.add("note").value = "Patient since 2015, SSN 536-22-8726"
    cards.append(c.serialize())
open("contacts.vcf", "w").write("".join(cards))
"#,
    );
    let data = std::fs::read(dir.path().join("contacts.vcf")).expect("read");
    let o = scan_bytes("contacts.vcf", &data, &opts(), &Hasher::with_key([3; 32])).expect("vcf");
    assert_eq!(o.report.format, "vcard");
    let at = |kind: PhiKind, value: &str| {
        o.findings
            .iter()
            .any(|f| f.kind == kind && f.value.as_deref() == Some(value))
    };
    assert!(at(PhiKind::Name, "Xochitl Zorquil"), "{:?}", o.findings);
    assert!(at(PhiKind::Dob, "1962-03-14"), "{:?}", o.findings);
    for (kind, value) in [
        (PhiKind::Phone, "(617) 432-1188"),
        (PhiKind::Email, "ignacio@example.com"),
        (PhiKind::Ssn, "536-22-8726"),
    ] {
        assert!(at(kind, value), "{kind:?} {value}: {:?}", o.findings);
    }
    assert!(o.findings.iter().any(|f| f.kind == PhiKind::Address));
    assert_eq!(o.report.individuals, 2);
}

#[test]
fn info_zip_archive_with_an_encrypted_member() {
    let zip = medguard_lab::require("zip", "zip");
    let dir = medguard_lab::workdir("phi-zip");
    std::fs::write(
        dir.path().join("open.csv"),
        "name,ssn\nJohn Smith,536-22-8726\n",
    )
    .expect("w");
    std::fs::write(
        dir.path().join("locked.csv"),
        "name,ssn\nJane Roe,401-33-9012\n",
    )
    .expect("w");
    run(Command::new(&zip)
        .current_dir(dir.path())
        .args(["-q", "plain.zip", "open.csv"]));
    run(Command::new(&zip).current_dir(dir.path()).args([
        "-q",
        "-P",
        "secret",
        "locked.zip",
        "locked.csv",
    ]));
    let plain = std::fs::read(dir.path().join("plain.zip")).expect("read");
    let o = scan_bytes("plain.zip", &plain, &opts(), &Hasher::with_key([3; 32])).expect("zip");
    assert_eq!(o.report.counts.get(&PhiKind::Ssn), Some(&1));
    assert!(o.report.exposure.unencrypted_archive);
    assert_eq!(o.findings[0].location.member.as_deref(), Some("open.csv"));
    let locked = std::fs::read(dir.path().join("locked.zip")).expect("read");
    let o = scan_bytes("locked.zip", &locked, &opts(), &Hasher::with_key([3; 32])).expect("zip");
    assert!(
        o.findings.is_empty(),
        "encrypted member must not be readable"
    );
    assert!(!o.report.exposure.unencrypted_archive);
}
