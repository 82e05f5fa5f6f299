//! Legacy PowerPoint presentations (97-2003 `.ppt`, [MS-PPT]): case presentations, referral
//! slides and training decks from before 2007 still sit on practice shares.
//!
//! A `.ppt` is a compound file (OLE2, read with the `cfb` crate) whose `PowerPoint Document`
//! stream is a tree of records. Each starts with an 8-byte `RecordHeader` (2.3.1): `recVer` (4
//! bits; `0xF` marks a container, whose children follow its header), `recInstance` (12 bits),
//! `recType` (16 bits), `recLen` (32 bits, the body's size). The text of slides, placeholders,
//! text boxes and speaker notes is in `TextCharsAtom` (UTF-16LE) and `TextBytesAtom` (the low
//! bytes of UTF-16 characters, i.e. Latin-1) records; comments, headers and footers in `CString`
//! records. Containers are entered and every other record stepped over by its length, so the
//! walk is flat: no recursion, and text left behind by incremental saves is read too (it is still
//! in the file). Paragraph (`\r`) and line (`\v`) breaks become lines.
//!
//! A password-protected presentation says so in the `Current User` stream (`headerToken`
//! `0xF3D1C4DF`, 2.3.2): its records are encrypted and nothing is read.

use super::{Cx, ExtractError};

/// Characters read from one presentation (~16 MB of text).
const MAX_CHARS: usize = 1 << 24;

const RT_TEXT_CHARS: u16 = 0x0FA0;
const RT_TEXT_BYTES: u16 = 0x0FA8;
const RT_CSTRING: u16 = 0x0FBA;
/// `CurrentUserAtom.headerToken` of an encrypted presentation.
const ENCRYPTED_TOKEN: u32 = 0xF3D1_C4DF;

/// The text of a `PowerPoint Document` stream's records, one line per paragraph.
pub fn text(stream: &[u8]) -> String {
    let mut out = String::new();
    let mut pos = 0usize;
    while let Some(h) = stream.get(pos..pos.saturating_add(8)) {
        let ver_instance = u16::from_le_bytes([h[0], h[1]]);
        let rec_type = u16::from_le_bytes([h[2], h[3]]);
        let len = u32::from_le_bytes([h[4], h[5], h[6], h[7]]) as usize;
        pos += 8;
        if ver_instance & 0xF == 0xF {
            // A container: its children come next.
            continue;
        }
        // A record cut short by the end of the stream gives what it holds.
        let end = pos.saturating_add(len).min(stream.len());
        let body = &stream[pos..end];
        pos = end;
        // Paragraph and vertical-tab line breaks end lines, as does the end of the record.
        let line_break = |c: char| if matches!(c, '\r' | '\u{b}') { '\n' } else { c };
        match rec_type {
            RT_TEXT_CHARS | RT_CSTRING => out.extend(
                char::decode_utf16(
                    body.chunks_exact(2)
                        .map(|c| u16::from_le_bytes([c[0], c[1]])),
                )
                .map(|c| line_break(c.unwrap_or(char::REPLACEMENT_CHARACTER))),
            ),
            RT_TEXT_BYTES => out.extend(body.iter().map(|&b| line_break(char::from(b)))),
            _ => continue,
        }
        out.push('\n');
        if out.len() >= MAX_CHARS {
            break;
        }
    }
    out
}

/// The text of a PowerPoint 97-2003 presentation; `None` when it is password-protected.
pub fn read(data: &[u8]) -> Result<Option<String>, ExtractError> {
    let doc = super::read_compound(data, "ppt", |comp| {
        // CurrentUserAtom: a RecordHeader, then size, then headerToken.
        let user = super::compound_stream(comp, "/Current User", "ppt").unwrap_or_default();
        let token = user
            .get(12..16)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        if token == Some(ENCRYPTED_TOKEN) {
            return Ok(None);
        }
        super::compound_stream(comp, "/PowerPoint Document", "ppt").map(Some)
    })?;
    Ok(doc.map(|d| text(&d)))
}

/// Scan a PowerPoint 97-2003 presentation: one unit per line of its text.
pub fn ppt(data: &[u8], cx: &mut Cx<'_>) -> Result<(), ExtractError> {
    super::document_text(read(data)?, "PowerPoint presentation", cx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn record(ver: u16, instance: u16, rec_type: u16, body: &[u8]) -> Vec<u8> {
        let mut r = ((instance << 4) | ver).to_le_bytes().to_vec();
        r.extend_from_slice(&rec_type.to_le_bytes());
        r.extend_from_slice(&(body.len() as u32).to_le_bytes());
        r.extend_from_slice(body);
        r
    }

    fn utf16(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    #[test]
    fn text_atoms_in_containers_and_between_other_records() {
        let slide_text = record(
            0,
            0,
            RT_TEXT_CHARS,
            &utf16("Case: José García\rSSN 536-22-8726\u{b}DOB 02/14/1980"),
        );
        let bytes_text = record(0, 0, RT_TEXT_BYTES, b"MRN 0012345");
        let comment = record(0, 1, RT_CSTRING, &utf16("call (415) 555-0134"));
        // A picture-like atom whose body looks like a text record: stepped over by its length.
        let opaque = record(0, 0, 0x1234, &record(0, 0, RT_TEXT_BYTES, b"hidden"));
        let mut inner = slide_text.clone();
        inner.extend(&opaque);
        inner.extend(&bytes_text);
        let mut stream = record(0xF, 0, 0x03EE, &inner);
        stream.extend(record(0xF, 0, 0x2EE4, &comment));
        assert_eq!(
            text(&stream),
            "Case: José García\nSSN 536-22-8726\nDOB 02/14/1980\nMRN 0012345\ncall (415) 555-0134\n"
        );
    }

    #[test]
    fn cut_records_give_what_they_hold() {
        let mut stream = record(0, 0, RT_TEXT_BYTES, b"John Smith");
        stream.truncate(stream.len() - 6);
        assert_eq!(text(&stream), "John\n");
        // A header cut short, a length past the end, an odd UTF-16 length.
        assert_eq!(text(&[0x0F, 0x00, 0xE8]), "");
        let mut big = record(0, 0, RT_TEXT_CHARS, &utf16("Mary"));
        big[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        big.push(b'x');
        assert_eq!(text(&big), "Mary\n");
    }

    /// A compound file with a `Current User` stream holding `token` and a `PowerPoint Document`
    /// stream holding one text record.
    fn compound(token: u32) -> Vec<u8> {
        use std::io::Write;
        let mut comp = cfb::CompoundFile::create(std::io::Cursor::new(Vec::new())).expect("cfb");
        let mut user = record(0, 0, 0x0FF6, &[0u8; 20]);
        user[12..16].copy_from_slice(&token.to_le_bytes());
        let doc = record(0, 0, RT_TEXT_BYTES, b"SSN 536-22-8726");
        for (name, data) in [("/Current User", user), ("/PowerPoint Document", doc)] {
            let mut s = comp.create_stream(name).expect("stream");
            s.write_all(&data).expect("write");
        }
        comp.flush().expect("flush");
        comp.into_inner().into_inner()
    }

    #[test]
    fn encrypted_presentations_are_not_read() {
        assert_eq!(
            read(&compound(0xE391_C05F)).expect("read").as_deref(),
            Some("SSN 536-22-8726\n")
        );
        assert_eq!(read(&compound(ENCRYPTED_TOKEN)).expect("read"), None);
        // The scan says so, and counts it as protected.
        let out = crate::scan_bytes(
            "deck.ppt",
            &compound(ENCRYPTED_TOKEN),
            &crate::ScanOptions {
                min_records: 0,
                ..crate::ScanOptions::default()
            },
            &crate::Hasher::with_key([8; 32]),
        )
        .expect("scan");
        assert!(out.findings.is_empty());
        assert!(
            out.report.warnings.iter().any(
                |w| w == "password-protected PowerPoint presentation: its text was not scanned"
            ),
            "{:?}",
            out.report.warnings
        );
    }

    proptest! {
        /// Any stream: no panic, and every text record's text comes out whole.
        #[test]
        fn any_stream(noise in prop::collection::vec(any::<u8>(), 0..300), words in "[A-Za-z0-9 ]{1,20}") {
            let _ = text(&noise);
            let mut stream = record(0, 0, 0x0FF5, &noise);
            stream.extend(record(0, 0, RT_TEXT_CHARS, &utf16(&words)));
            prop_assert_eq!(text(&stream), format!("{words}\n"));
        }
    }
}
