//! XML (generic, HL7 CDA, and the document XML inside DOCX/PPTX/ODT) with element names as
//! context.

use super::{Cx, ExtractError, Unit};
use medguard_model::PhiProblem;
use quick_xml::XmlVersion;
use quick_xml::events::Event;
use std::io::BufRead;

/// Deepest XML nesting followed.
const MAX_NESTING: usize = 256;

/// How to read an XML part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XmlMode {
    /// Element names are the context of their text.
    Generic,
    /// WordprocessingML: `w:p` paragraphs of `w:t` runs; `w:tbl` tables with a header row.
    Docx,
    /// PresentationML/DrawingML: `a:p` paragraphs of `a:t` runs on a slide.
    Pptx,
    /// OpenDocument text: `text:p`/`text:h` paragraphs, `table:table-row` tables.
    Odt,
}

/// Scan a generic XML document, streaming: memory holds one event, never the whole file.
pub fn xml(r: &mut dyn BufRead, cx: &mut Cx<'_>) -> Result<(), ExtractError> {
    let max = cx.limits.max_line.saturating_mul(64);
    // The parser reads UTF-8: a document in another encoding (a byte-order mark says UTF-16, the
    // declaration says `ISO-8859-1` or `windows-1252`, as older lab and CDA exports do) is
    // transcoded first, and a byte that is not valid in it becomes U+FFFD instead of ending the
    // file there.
    let encoding = declared_encoding(r.fill_buf()?);
    let mut r = std::io::BufReader::with_capacity(
        64 << 10,
        encoding_rs_io::DecodeReaderBytesBuilder::new()
            .encoding(Some(encoding))
            .bom_override(true)
            .build(r),
    );
    xml_mode(EventBound::new(&mut r, max), XmlMode::Generic, None, cx)
}

/// The encoding an XML declaration at the start of `head` names (`<?xml version="1.0"
/// encoding="ISO-8859-1"?>`), or UTF-8. A declaration readable as ASCII cannot be in UTF-16,
/// whatever it says (a byte-order mark decides that).
fn declared_encoding(head: &[u8]) -> &'static encoding_rs::Encoding {
    let utf8 = encoding_rs::UTF_8;
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let Some(decl) = head
        .strip_prefix(b"<?xml")
        .and_then(|d| d.get(..memchr::memmem::find(d, b"?>")?))
    else {
        return utf8;
    };
    let Some(at) = memchr::memmem::find(decl, b"encoding") else {
        return utf8;
    };
    let rest = &decl[at + b"encoding".len()..];
    let rest = rest
        .trim_ascii_start()
        .strip_prefix(b"=")
        .unwrap_or(rest)
        .trim_ascii_start();
    let Some((&quote, rest)) = rest
        .split_first()
        .filter(|(q, _)| matches!(q, b'"' | b'\''))
    else {
        return utf8;
    };
    let label = rest.split(|&b| b == quote).next().unwrap_or_default();
    match encoding_rs::Encoding::for_label(label) {
        Some(e) if e == encoding_rs::UTF_16LE || e == encoding_rs::UTF_16BE => utf8,
        Some(e) => e,
        None => utf8,
    }
}

/// Bounds the bytes between two markup characters (`<`, `>`), so one endless text node or tag
/// cannot make the XML reader buffer the whole file: past `max`, reading fails with a clear error.
pub struct EventBound<R> {
    inner: R,
    /// Bytes since the last markup character.
    run: usize,
    max: usize,
    /// A run longer than `max` was read.
    over: bool,
}

impl<R: BufRead> EventBound<R> {
    pub fn new(inner: R, max: usize) -> Self {
        EventBound {
            inner,
            run: 0,
            max,
            over: false,
        }
    }
}

impl<R: BufRead> std::io::Read for EventBound<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for EventBound<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.over {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "a text node or tag longer than {} bytes (not read further)",
                    self.max
                ),
            ));
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, n: usize) {
        if let Ok(avail) = self.inner.fill_buf() {
            let seen = &avail[..n.min(avail.len())];
            let mut last = 0;
            for i in memchr::memchr2_iter(b'<', b'>', seen) {
                self.over |= self.run.saturating_add(i - last) > self.max;
                self.run = 0;
                last = i + 1;
            }
            self.run = self.run.saturating_add(seen.len() - last);
            self.over |= self.run > self.max;
        }
        self.inner.consume(n);
    }
}

fn local(name: &str) -> String {
    name.rsplit(':').next().unwrap_or(name).to_string()
}

#[derive(Default)]
struct Table {
    row: u64,
    cell: usize,
    headers: Vec<String>,
    cell_text: String,
}

/// Scan an XML part in a mode.
pub fn xml_mode(
    data: impl BufRead,
    mode: XmlMode,
    page: Option<u32>,
    cx: &mut Cx<'_>,
) -> Result<(), ExtractError> {
    let mut reader = quick_xml::Reader::from_reader(data);
    reader.config_mut().trim_text(false);
    let mut buf = Vec::new();
    let mut stack: Vec<String> = Vec::new();
    let mut para = String::new();
    let mut tables: Vec<Table> = Vec::new();
    let mut record = 0u64;
    let (p_tag, t_tag, row_tag, cell_tag, tbl_tag) = match mode {
        XmlMode::Docx => ("p", "t", "tr", "tc", "tbl"),
        XmlMode::Pptx => ("p", "t", "tr", "tc", "tbl"),
        XmlMode::Odt => ("p", "", "table-row", "table-cell", "table"),
        XmlMode::Generic => ("", "", "", "", ""),
    };
    let mut events = 0u64;
    loop {
        events += 1;
        if events.is_multiple_of(65536) {
            cx.check_deadline()?;
        }
        let ev = match reader.read_event_into(&mut buf) {
            Ok(e) => e,
            Err(e) => {
                if events > 1 {
                    cx.warn(PhiProblem::Unreadable, format!("xml ends early: {e}"));
                    break;
                }
                return Err(ExtractError::corrupt("xml", e));
            }
        };
        match ev {
            Event::Eof => break,
            Event::Start(e) if mode == XmlMode::Generic => {
                generic_attrs(&e, stack.len(), &mut record, cx)?;
                if stack.len() < MAX_NESTING {
                    stack.push(local(e.name().as_ref()));
                }
            }
            Event::Empty(e) if mode == XmlMode::Generic => {
                generic_attrs(&e, stack.len(), &mut record, cx)?;
            }
            Event::Start(e) => {
                let name = local(e.name().as_ref());
                if name == tbl_tag {
                    tables.push(Table::default());
                } else if name == row_tag {
                    if let Some(t) = tables.last_mut() {
                        t.row += 1;
                        t.cell = 0;
                    }
                } else if name == cell_tag
                    && let Some(t) = tables.last_mut()
                {
                    t.cell_text.clear();
                }
                if stack.len() < MAX_NESTING {
                    stack.push(name);
                }
            }
            Event::Empty(e) => {
                let name = local(e.name().as_ref());
                if matches!(name.as_str(), "tab" | "s") {
                    para.push(' ');
                } else if matches!(name.as_str(), "br" | "line-break" | "cr") {
                    para.push('\n');
                }
            }
            Event::End(e) => {
                let name = local(e.name().as_ref());
                stack.pop();
                if mode == XmlMode::Generic {
                    continue;
                }
                if name == p_tag || (mode == XmlMode::Odt && name == "h") {
                    if let Some(t) = tables.last_mut().filter(|t| t.row > 0) {
                        if !t.cell_text.is_empty() {
                            t.cell_text.push(' ');
                        }
                        t.cell_text.push_str(&para);
                    } else {
                        cx.unit(Unit {
                            text: &para,
                            page,
                            ..Unit::default()
                        })?;
                    }
                    para.clear();
                } else if name == cell_tag {
                    if let Some(t) = tables.last_mut() {
                        let text = std::mem::take(&mut t.cell_text);
                        if t.row == 1 {
                            t.headers.push(text.trim().to_string());
                        } else {
                            let field = t.headers.get(t.cell).cloned();
                            let looks_header = field.as_deref().is_some_and(|f| !f.is_empty());
                            cx.unit(Unit {
                                text: &text,
                                field: field.as_deref().filter(|_| looks_header),
                                page,
                                record: Some(t.row - 1),
                                ..Unit::default()
                            })?;
                        }
                        t.cell += 1;
                    }
                } else if name == tbl_tag
                    && let Some(t) = tables.pop()
                {
                    // A one-row table: its "headers" were content.
                    if t.row == 1 {
                        let joined = t.headers.join(" ");
                        cx.unit(Unit {
                            text: &joined,
                            page,
                            ..Unit::default()
                        })?;
                    }
                }
            }
            Event::Text(t) => {
                let text = t.xml_content(XmlVersion::Implicit1_0).into_owned();
                match mode {
                    XmlMode::Generic => {
                        let field = stack.last().cloned();
                        let parent = stack.len().checked_sub(2).and_then(|i| stack.get(i));
                        let field = match (&field, parent) {
                            (Some(f), Some(p)) if cx.field_class(f).is_none() => {
                                Some(format!("{p}.{f}"))
                            }
                            _ => field,
                        };
                        cx.lines(
                            &text,
                            Unit {
                                field: field.as_deref(),
                                record: (record > 0).then_some(record),
                                ..Unit::default()
                            },
                        )?;
                    }
                    XmlMode::Odt => para.push_str(&text),
                    _ => {
                        // Word keeps deleted text of tracked changes (`w:delText`) in the
                        // file until the change is accepted: still there to be read.
                        let last = stack.last().map(String::as_str);
                        if last == Some(t_tag) || (mode == XmlMode::Docx && last == Some("delText"))
                        {
                            para.push_str(&text);
                        }
                    }
                }
            }
            Event::CData(t) => {
                let text = t.xml_content(XmlVersion::Implicit1_0).into_owned();
                cx.lines(
                    &text,
                    Unit {
                        field: stack.last().map(String::as_str),
                        page,
                        ..Unit::default()
                    },
                )?;
            }
            Event::GeneralRef(r) => {
                let s: String = r.as_ref().to_string();
                let ch = match s.as_str() {
                    "amp" => Some('&'),
                    "lt" => Some('<'),
                    "gt" => Some('>'),
                    "quot" => Some('"'),
                    "apos" => Some('\''),
                    _ => s
                        .strip_prefix("#x")
                        .and_then(|h| u32::from_str_radix(h, 16).ok())
                        .or_else(|| s.strip_prefix('#').and_then(|d| d.parse().ok()))
                        .and_then(char::from_u32),
                };
                if let Some(c) = ch
                    && mode != XmlMode::Generic
                {
                    para.push(c);
                }
            }
            _ => {}
        }
        buf.clear();
    }
    if !para.trim().is_empty() {
        cx.unit(Unit {
            text: &para,
            page,
            ..Unit::default()
        })?;
    }
    Ok(())
}

/// Attributes of a generic XML element: `<birthTime value="19800214"/>` is the element's value.
fn generic_attrs(
    e: &quick_xml::events::BytesStart<'_>,
    depth: usize,
    record: &mut u64,
    cx: &mut Cx<'_>,
) -> Result<(), ExtractError> {
    let name = local(e.name().as_ref());
    if depth == 1 {
        *record += 1;
    }
    let attrs: Vec<(String, String)> = e
        .attributes()
        .flatten()
        .filter(|a| !a.key.as_ref().starts_with("xmlns"))
        .map(|a| {
            let v = a
                .normalized_value(XmlVersion::Implicit1_0)
                .map(|c| c.into_owned())
                .unwrap_or_default();
            (local(a.key.as_ref()), v)
        })
        .collect();
    // `<id extension="100234" assigningAuthorityName="MRN"/>`: a short attribute value that names
    // an identifier type is the context of the element's value.
    let named = attrs
        .iter()
        .filter(|(k, v)| k != "extension" && k != "value" && v.len() <= 40)
        .find_map(|(_, v)| match crate::detect::classify_field(v) {
            Some(crate::detect::FieldClass::Kind(_)) => Some(v.clone()),
            _ => None,
        });
    let has_extension = attrs.iter().any(|(k, _)| k == "extension");
    // Whether the element is a person, asked only of an element with a name attribute (most
    // elements of a large export have no attributes at all).
    let person = || {
        matches!(
            crate::detect::classify_field(&name),
            Some(crate::detect::FieldClass::Kind(
                medguard_model::PhiKind::Name
            ))
        )
    };
    for (an, val) in &attrs {
        // The OID of the assigning authority is not about the person.
        if an == "root" && has_extension {
            continue;
        }
        let field = if matches!(an.as_str(), "value" | "extension" | "root") {
            named.clone().unwrap_or_else(|| name.clone())
        } else {
            an.clone()
        };
        // `<font name="Times New Roman">`, `style:display-name="Filled Blue"`: a name attribute
        // names its element, which is a person only when the element says so
        // (`<patient name=...>`). Elsewhere the value is read as free text, where a person's
        // name is still found by the name lists.
        let field = (!names_the_element(an) || person()).then_some(field.as_str());
        cx.unit(Unit {
            text: val,
            field,
            record: (*record > 0).then_some(*record),
            ..Unit::default()
        })?;
    }
    Ok(())
}

/// Whether an attribute is the generic name of its element (`name`, `display-name`,
/// `font-name`) rather than a part of a person's name (`firstName`, `patientName`).
fn names_the_element(attr: &str) -> bool {
    const PERSON: &[&str] = &[
        "first",
        "last",
        "given",
        "family",
        "middle",
        "maiden",
        "sur",
        "full",
        "nick",
        "patient",
        "guarantor",
        "insured",
        "subscriber",
        "member",
        "physician",
        "provider",
        "doctor",
        "contact",
        "parent",
        "mother",
        "father",
        "spouse",
        "person",
        "employee",
        "author",
    ];
    // Letters and digits only, lower case, on the stack (every attribute passes here).
    let mut buf = [0u8; 64];
    let mut n = 0;
    for b in attr.bytes().filter(u8::is_ascii_alphanumeric) {
        let Some(slot) = buf.get_mut(n) else {
            return false;
        };
        *slot = b.to_ascii_lowercase();
        n += 1;
    }
    buf[..n]
        .strip_suffix(b"name")
        .is_some_and(|prefix| !PERSON.iter().any(|p| prefix.ends_with(p.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_attributes_name_their_element() {
        assert!(names_the_element("name") && names_the_element("style:display-name"));
        assert!(names_the_element("font-name") && names_the_element("parent-style-name"));
        assert!(!names_the_element("firstName") && !names_the_element("patient_name"));
        assert!(!names_the_element("value") && !names_the_element("surname"));
        let xml = br#"<?xml version="1.0"?><config><font name="Times New Roman"/>
            <printer name="Front Desk Printer"/><style display-name="Filled Blue"/>
            <user name="John Smith"/><patient name="Xochitl Oyelaran" firstName="Ana"/>
            </config>"#;
        let out = crate::scan_bytes(
            "settings.xml",
            xml,
            &crate::ScanOptions {
                unmask: true,
                ..crate::ScanOptions::default()
            },
            &crate::Hasher::with_key([4; 32]),
        )
        .expect("scan");
        let mut names: Vec<&str> = out
            .findings
            .iter()
            .filter(|f| f.kind == medguard_model::PhiKind::Name)
            .filter_map(|f| f.value.as_deref())
            .collect();
        names.sort_unstable();
        // A person under a generic name attribute is found by the name lists; a name the lists
        // do not hold is found where the element is a patient.
        assert_eq!(names, ["Ana", "John Smith", "Xochitl Oyelaran"]);
    }

    #[test]
    fn tracked_deletions_in_word_documents_are_read() {
        use std::io::Write;
        let body = r#"<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>
            <w:p><w:r><w:t>Referral for the patient.</w:t></w:r>
            <w:del w:id="1" w:author="Front Desk"><w:r><w:delText>SSN 536-22-8726</w:delText></w:r></w:del></w:p>
            <w:p><w:r><w:instrText> HYPERLINK "https://x/536-22-8727" </w:instrText></w:r></w:p>
            </w:body></w:document>"#;
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, data) in [
            ("[Content_Types].xml", "<Types/>"),
            ("word/document.xml", body),
        ] {
            w.start_file(name, zip::write::SimpleFileOptions::default())
                .expect("start");
            w.write_all(data.as_bytes()).expect("write");
        }
        let data = w.finish().expect("zip").into_inner();
        let out = crate::scan_bytes(
            "letter.docx",
            &data,
            &crate::ScanOptions::default(),
            &crate::Hasher::with_key([4; 32]),
        )
        .expect("scan");
        let ssns: Vec<&str> = out
            .findings
            .iter()
            .filter(|f| f.kind == medguard_model::PhiKind::Ssn)
            .map(|f| f.masked.as_str())
            .collect();
        // The deleted SSN is found; a field code's instruction is not text.
        assert_eq!(ssns, ["***-**-8726"]);
    }

    #[test]
    fn the_declaration_names_the_encoding() {
        let enc = |h: &[u8]| declared_encoding(h).name();
        assert_eq!(
            enc(b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>"),
            "windows-1252"
        );
        assert_eq!(
            enc(b"<?xml version='1.0' encoding = 'windows-1250' ?>"),
            "windows-1250"
        );
        assert_eq!(
            enc(b"\xEF\xBB\xBF<?xml encoding=\"latin1\"?>"),
            "windows-1252"
        );
        // No declaration, no encoding in it, an unknown label, a UTF-16 claim in ASCII bytes, a
        // declaration that never ends: UTF-8.
        for h in [
            &b"<a>text</a>"[..],
            b"<?xml version=\"1.0\"?>",
            b"<?xml encoding=\"klingon\"?>",
            b"<?xml encoding=\"UTF-16\"?>",
            b"<?xml encoding=\"ISO-8859-1\"",
            b"",
        ] {
            assert_eq!(enc(h), "UTF-8", "{h:?}");
        }
    }
}
