//! PDF text layer via lopdf, behind `catch_unwind` and the per-file time budget; one unit per line
//! with the page number. Image-only PDFs (scans) are reported: they need OCR, which is out of scope.
//!
//! Filled-in forms (intake, consent and insurance forms) keep their values outside the text layer:
//! in the interactive form's fields (`/AcroForm /Fields`, ISO 32000-1 12.7: `/T` the field's
//! name, `/V` its value, `/Kids` the fields under it) and, for XFA forms, in the `datasets` XML
//! packet. Both are read, each value with its field's name as context.

use super::markup::{XmlMode, xml_mode};
use super::{Cx, ExtractError, Unit};
use lopdf::{Document, Object, ObjectId};
use medguard_model::PhiProblem;
use std::collections::HashSet;

/// Form fields read from one PDF, and how deep their tree is followed.
const MAX_FIELDS: usize = 100_000;
const MAX_FIELD_DEPTH: usize = 32;
/// Largest XFA packet decompressed.
const MAX_XFA: usize = 64 << 20;

/// Scan a PDF.
pub fn pdf(data: &[u8], cx: &mut Cx<'_>) -> Result<(), ExtractError> {
    let doc = std::panic::catch_unwind(|| lopdf::Document::load_mem(data))
        .map_err(|_| ExtractError::corrupt("pdf", "the PDF parser crashed"))?
        .map_err(|e| ExtractError::corrupt("pdf", e))?;
    // Still encrypted after loading: it needs a password to open (one that only restricts
    // printing or editing, with an empty password to open, is decrypted by the loader). Its text
    // is out of reach: protected, not a scan without text.
    if doc.is_encrypted() {
        return super::document_text(None, "PDF", cx);
    }
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    let mut any_text = false;
    for n in pages {
        cx.check_deadline()?;
        let text =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| doc.extract_text(&[n])));
        match text {
            Ok(Ok(t)) => {
                if !t.trim().is_empty() {
                    any_text = true;
                }
                super::text::text_str(&t, Some(n), None, cx)?;
            }
            Ok(Err(e)) => cx.warn(PhiProblem::Unreadable, format!("page {n}: {e}")),
            Err(_) => cx.warn(
                PhiProblem::Unreadable,
                format!("page {n}: the PDF text extractor crashed"),
            ),
        }
    }
    let fields = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| form(&doc, cx)))
        .map_err(|_| ExtractError::corrupt("pdf", "the PDF form reader crashed"))??;
    info(&doc, cx)?;
    if !any_text && fields == 0 {
        cx.warn(
            PhiProblem::ScannedImage,
            "no text layer (a scanned image?): not checked for patient data".to_string(),
        );
    }
    Ok(())
}

/// A PDF text string as lopdf decodes it (UTF-16BE or UTF-8 behind their marks, else
/// PDFDocEncoding); one it rejects (a broken UTF-16 pair) is read with replacement characters
/// rather than dropped. `None` for an object that is no string.
fn text_string(obj: &Object) -> Option<String> {
    lopdf::decode_text_string(obj)
        .ok()
        .or_else(|| Some(String::from_utf8_lossy(obj.as_str().ok()?).into_owned()))
}

/// The document information dictionary's title, subject and keywords: a scanned referral or
/// insurance card is often titled with the patient's name even when its pages hold no text. The
/// author is the staff member who made it, not the patient, and is left alone.
fn info(doc: &Document, cx: &mut Cx<'_>) -> Result<(), ExtractError> {
    let Some(info) = doc
        .trailer
        .get_deref(b"Info", doc)
        .ok()
        .and_then(|i| i.as_dict().ok())
    else {
        return Ok(());
    };
    for (key, field) in [
        (&b"Title"[..], "Title"),
        (b"Subject", "Subject"),
        (b"Keywords", "Keywords"),
    ] {
        if let Some(text) = info.get_deref(key, doc).ok().and_then(text_string) {
            cx.lines(
                &text,
                Unit {
                    field: Some(field),
                    ..Unit::default()
                },
            )?;
        }
    }
    Ok(())
}

/// Scan the values of the document's form fields (and its XFA data); how many values were read.
fn form(doc: &Document, cx: &mut Cx<'_>) -> Result<usize, ExtractError> {
    let Some(acro) = doc
        .catalog()
        .ok()
        .and_then(|c| c.get_deref(b"AcroForm", doc).ok())
        .and_then(|a| a.as_dict().ok())
    else {
        return Ok(0);
    };
    let mut walk = FieldWalk {
        doc,
        seen: HashSet::new(),
        values: 0,
    };
    if let Ok(fields) = acro.get_deref(b"Fields", doc).and_then(Object::as_array) {
        for f in fields {
            walk.field(f, "", 0, cx)?;
        }
    }
    // XFA: one stream, or an array of (packet name, stream) pairs.
    if let Ok(xfa) = acro.get_deref(b"XFA", doc) {
        let packets: Vec<&Object> = match xfa.as_array() {
            Ok(a) => a
                .chunks_exact(2)
                .filter(|p| p[0].as_str().is_ok_and(|n| n == b"datasets"))
                .map(|p| &p[1])
                .collect(),
            Err(_) => vec![xfa],
        };
        for p in packets {
            let Ok((_, obj)) = doc.dereference(p) else {
                continue;
            };
            let Ok(stream) = obj.as_stream() else {
                continue;
            };
            match stream.decompressed_content_with_limit(MAX_XFA) {
                Ok(xml) => {
                    walk.values += 1;
                    xml_mode(&xml[..], XmlMode::Generic, None, cx)?;
                }
                Err(e) => cx.warn(PhiProblem::Unreadable, format!("XFA form data: {e}")),
            }
        }
    }
    Ok(walk.values)
}

struct FieldWalk<'d> {
    doc: &'d Document,
    /// Fields already read (a `/Kids` loop reads nothing twice).
    seen: HashSet<ObjectId>,
    values: usize,
}

impl FieldWalk<'_> {
    /// One field and the fields under it; `parent` is the parent's full name.
    fn field(
        &mut self,
        obj: &Object,
        parent: &str,
        depth: usize,
        cx: &mut Cx<'_>,
    ) -> Result<(), ExtractError> {
        if depth > MAX_FIELD_DEPTH || self.seen.len() >= MAX_FIELDS {
            return Ok(());
        }
        let Ok((id, obj)) = self.doc.dereference(obj) else {
            return Ok(());
        };
        if let Some(id) = id
            && !self.seen.insert(id)
        {
            return Ok(());
        }
        let Ok(dict) = obj.as_dict() else {
            return Ok(());
        };
        let name = dict.get(b"T").ok().and_then(text_string);
        let full = match (&name, parent.is_empty()) {
            (Some(n), true) => n.clone(),
            (Some(n), false) => format!("{parent}.{n}"),
            (None, _) => parent.to_string(),
        };
        if let Ok(v) = dict.get_deref(b"V", self.doc) {
            // Text and choice values are strings (a list, for several choices); a check box's
            // is a name (`/Yes`, `/Off`), which says nothing about a patient.
            let values: Vec<String> = match v {
                Object::Array(items) => items.iter().filter_map(text_string).collect(),
                _ => text_string(v).into_iter().collect(),
            };
            for text in values {
                self.values += 1;
                cx.lines(
                    &text,
                    Unit {
                        field: name.as_deref().or(Some(full.as_str())),
                        label: Some(&full),
                        ..Unit::default()
                    },
                )?;
            }
        }
        if let Ok(kids) = dict.get_deref(b"Kids", self.doc).and_then(Object::as_array) {
            for k in kids {
                self.field(k, &full, depth + 1, cx)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use lopdf::{Object, Stream, dictionary};

    /// A PDF whose form has a field tree (a parent with two named kids and a loop back to itself,
    /// one name in UTF-16) and an XFA `datasets` packet, and no page text at all.
    fn form_pdf() -> Vec<u8> {
        let mut doc = lopdf::Document::with_version("1.7");
        let pages =
            doc.add_object(dictionary! { "Type" => "Pages", "Kids" => vec![], "Count" => 0 });
        let ssn_name: Vec<u8> = [
            &b"\xFE\xFF"[..],
            &"SSN"
                .encode_utf16()
                .flat_map(u16::to_be_bytes)
                .collect::<Vec<_>>(),
        ]
        .concat();
        let ssn = doc.add_object(dictionary! {
            "T" => Object::String(ssn_name, lopdf::StringFormat::Hexadecimal),
            "V" => Object::string_literal("536-22-8726"),
        });
        let dob = doc.add_object(dictionary! {
            "T" => Object::string_literal("dob"),
            "V" => Object::string_literal("1980-02-14"),
        });
        let consent = doc.add_object(dictionary! {
            "T" => Object::string_literal("consent"),
            "FT" => "Btn",
            "V" => "Yes",
        });
        let parent = doc.new_object_id();
        doc.objects.insert(
            parent,
            Object::Dictionary(dictionary! {
                "T" => Object::string_literal("patient"),
                "Kids" => vec![ssn.into(), dob.into(), consent.into(), parent.into()],
            }),
        );
        let xfa = doc.add_object(Stream::new(
            dictionary! {},
            b"<xfa:datasets xmlns:xfa=\"http://www.xfa.org/schema/xfa-data/1.0/\"><xfa:data>\
              <form1><PatientName>John Smith</PatientName><MemberID>W123456789</MemberID></form1>\
              </xfa:data></xfa:datasets>"
                .to_vec(),
        ));
        let acro = doc.add_object(dictionary! {
            "Fields" => vec![parent.into()],
            "XFA" => vec![Object::string_literal("datasets"), xfa.into()],
        });
        let catalog = doc.add_object(dictionary! {
            "Type" => "Catalog", "Pages" => pages, "AcroForm" => acro,
        });
        doc.trailer.set("Root", catalog);
        let mut out = Vec::new();
        doc.save_to(&mut out).expect("save");
        out
    }

    #[test]
    fn form_fields_and_xfa_data_are_read() {
        let out = crate::scan_bytes(
            "intake.pdf",
            &form_pdf(),
            &crate::ScanOptions::default(),
            &crate::Hasher::with_key([6; 32]),
        )
        .expect("scan");
        let found: Vec<(String, Option<&str>)> = out
            .findings
            .iter()
            .map(|f| (f.masked.to_string(), f.location.field.as_deref()))
            .collect();
        for want in [
            ("***-**-8726".to_string(), Some("patient.SSN")),
            ("**/**/1980".to_string(), Some("patient.dob")),
            ("J*** S****".to_string(), Some("PatientName")),
            ("******6789".to_string(), Some("MemberID")),
        ] {
            assert!(found.contains(&want), "{want:?} not in {found:?}");
        }
        // The loop in the field tree reads nothing twice; a check box's name is no value; with
        // form values, the missing text layer is no scanned image.
        assert_eq!(found.iter().filter(|f| f.0 == "***-**-8726").count(), 1);
        assert!(out.report.warnings.is_empty(), "{:?}", out.report.warnings);
    }
}
