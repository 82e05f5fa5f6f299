//! Legacy Word documents (Word 97-2003 `.doc`, [MS-DOC]): the text is read through the piece table
//! the way Word itself finds it, not by scraping the file for printable runs.
//!
//! A `.doc` is a compound file (OLE2, read with the `cfb` crate). Its `WordDocument` stream starts
//! with the File Information Block (FIB): `wIdent` 0xA5EC, flags (`fEncrypted`, `fWhichTblStm`:
//! which of `0Table`/`1Table` holds the tables), `ccpText` and the other text lengths, and in
//! `FibRgFcLcb97` the offset and size of the `Clx` in the table stream (pair 33). The `Clx` is a
//! run of `Prc` property records (type 1) and one `Pcdt` (type 2) whose `PlcPcd` maps character
//! positions to pieces: `n + 1` positions, then `n` 8-byte piece descriptors whose `fc` says where
//! the piece's characters are in `WordDocument` and whether they are 8-bit (Windows-1252, at
//! `fc / 2`) or UTF-16LE. Paragraph, cell, line and page marks become line breaks; field codes
//! (between 0x13 and 0x14, e.g. `HYPERLINK "..."`) are skipped and their results kept.

use super::{Cx, ExtractError};

/// Characters read from one document (2^24: ~16 MB of text, far beyond any letter or report).
const MAX_CHARS: u32 = 1 << 24;
/// Pieces in one piece table (fast-saved documents have thousands, never a million).
const MAX_PIECES: usize = 1 << 20;
/// Field nesting followed.
const MAX_FIELD_DEPTH: usize = 64;

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn corrupt(reason: impl std::fmt::Display) -> ExtractError {
    ExtractError::corrupt("doc", reason)
}

/// What the FIB says about the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fib {
    pub encrypted: bool,
    /// The tables are in `1Table` (else `0Table`).
    pub table_1: bool,
    /// Offset and size of the `Clx` in the table stream.
    pub fc_clx: u32,
    pub lcb_clx: u32,
}

/// Parse the File Information Block at the start of the `WordDocument` stream.
pub fn fib(word: &[u8]) -> Result<Fib, ExtractError> {
    let ident = u16_at(word, 0).ok_or_else(|| corrupt("the WordDocument stream is too short"))?;
    if ident != 0xA5EC {
        return Err(corrupt(format!(
            "not a Word 97 or later document (wIdent {ident:#06x})"
        )));
    }
    let flags = u16_at(word, 0x0A).ok_or_else(|| corrupt("truncated FIB"))?;
    // FibBase (32 bytes), csw + fibRgW, cslw + fibRgLw, cbRgFcLcb + fibRgFcLcbBlob.
    let csw = usize::from(u16_at(word, 32).ok_or_else(|| corrupt("truncated FIB"))?);
    let at_lw = 34 + csw * 2;
    let cslw = usize::from(u16_at(word, at_lw).ok_or_else(|| corrupt("truncated FIB"))?);
    let at_fclcb = at_lw + 2 + cslw * 4;
    let cb_fclcb = usize::from(u16_at(word, at_fclcb).ok_or_else(|| corrupt("truncated FIB"))?);
    if cb_fclcb <= 33 {
        return Err(corrupt("the FIB has no piece table entry"));
    }
    let clx = at_fclcb + 2 + 33 * 8;
    Ok(Fib {
        encrypted: flags & 0x0100 != 0,
        table_1: flags & 0x0200 != 0,
        fc_clx: u32_at(word, clx).ok_or_else(|| corrupt("truncated FIB"))?,
        lcb_clx: u32_at(word, clx + 4).ok_or_else(|| corrupt("truncated FIB"))?,
    })
}

/// One piece of text: character positions `[cp, cp_end)` stored at byte `fc` of `WordDocument`,
/// 8-bit when `compressed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    pub cp: u32,
    pub cp_end: u32,
    pub fc: u32,
    pub compressed: bool,
}

/// The pieces of a `Clx`.
pub fn pieces(clx: &[u8]) -> Result<Vec<Piece>, ExtractError> {
    let mut at = 0usize;
    // Prc records (formatting) come first: type 1, a 16-bit size, that many bytes.
    while clx.get(at) == Some(&1) {
        let cb = usize::from(u16_at(clx, at + 1).ok_or_else(|| corrupt("truncated Prc"))?);
        at += 3 + cb;
    }
    if clx.get(at) != Some(&2) {
        return Err(corrupt("the piece table (Pcdt) is missing"));
    }
    let lcb = u32_at(clx, at + 1).ok_or_else(|| corrupt("truncated Pcdt"))?;
    let plc = clx
        .get(at + 5..)
        .and_then(|p| p.get(..usize::try_from(lcb).ok()?))
        .ok_or_else(|| corrupt("the piece table runs past its stream"))?;
    if plc.len() < 4 || !(plc.len() - 4).is_multiple_of(12) {
        return Err(corrupt(format!("a piece table of {} bytes", plc.len())));
    }
    let n = (plc.len() - 4) / 12;
    if n > MAX_PIECES {
        return Err(corrupt(format!(
            "a piece table of {n} pieces (more than {MAX_PIECES})"
        )));
    }
    let cp = |i: usize| u32_at(plc, i * 4).ok_or_else(|| corrupt("truncated piece table"));
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let (start, end) = (cp(i)?, cp(i + 1)?);
        let pcd = (n + 1) * 4 + i * 8;
        let fc = u32_at(plc, pcd + 2).ok_or_else(|| corrupt("truncated piece descriptor"))?;
        if end < start {
            return Err(corrupt("piece positions go backwards"));
        }
        out.push(Piece {
            cp: start,
            cp_end: end,
            fc: fc & 0x3FFF_FFFF,
            compressed: fc & 0x4000_0000 != 0,
        });
    }
    Ok(out)
}

/// Turns the document's characters into lines: marks become line breaks, field codes are dropped.
#[derive(Debug, Default)]
pub struct TextBuilder {
    pub text: String,
    /// For each open field: whether its code (not its result) is being read.
    fields: Vec<bool>,
    /// Open fields whose code is being read: text inside any of them is code, even a nested
    /// field's result.
    in_code: usize,
    /// Cells ended in the table row being read.
    cells: usize,
    /// Cells per row of the table being read, learnt from its first row.
    width: Option<usize>,
    /// The last character was a cell mark.
    after_cell: bool,
}

impl TextBuilder {
    pub fn push(&mut self, c: char) {
        if c != '\u{7}' && self.in_code == 0 {
            self.after_cell = false;
        }
        match c {
            // Field begin, separator (code ends, result starts), end.
            '\u{13}' => {
                if self.fields.len() < MAX_FIELD_DEPTH {
                    self.fields.push(true);
                    self.in_code += 1;
                }
            }
            '\u{14}' => {
                if let Some(code) = self.fields.last_mut().filter(|c| **c) {
                    *code = false;
                    self.in_code -= 1;
                }
            }
            '\u{15}' => {
                if self.fields.pop() == Some(true) {
                    self.in_code -= 1;
                }
            }
            _ if self.in_code > 0 => {}
            // A table: each cell's text ends with a cell mark, each row with one more (the row
            // mark). Cells become tab-separated values and rows lines, so the table is read by
            // its header row ([`super::text::Columns`]). The first row (its names, none empty)
            // tells how many cells a row has: an empty cell later is a cell, not a row's end.
            '\u{7}' => {
                let row_end = match self.width {
                    Some(w) => self.cells >= w,
                    None => self.after_cell,
                };
                if row_end {
                    if self.text.ends_with('\t') {
                        self.text.pop();
                    }
                    self.text.push('\n');
                    self.width.get_or_insert(self.cells);
                    self.cells = 0;
                } else {
                    self.text.push('\t');
                    self.cells += 1;
                }
                self.after_cell = !row_end;
            }
            // A paragraph inside a cell stays on its row; outside a table, a paragraph ends
            // the table before it.
            '\r' if self.cells > 0 => self.text.push(' '),
            '\r' => {
                self.width = None;
                self.text.push('\n');
            }
            // Line, page/section marks.
            '\u{b}' | '\u{c}' => self.text.push('\n'),
            '\t' => self.text.push('\t'),
            // Non-breaking hyphen; optional hyphen (invisible).
            '\u{1e}' => self.text.push('-'),
            '\u{1f}' => {}
            '\u{a0}' => self.text.push(' '),
            // Pictures, objects, note and comment anchors.
            c if c.is_control() => {}
            c => self.text.push(c),
        }
    }
}

/// The text of a `WordDocument` stream through its table stream's piece table.
pub fn text(word: &[u8], table: &[u8], fib: &Fib) -> Result<String, ExtractError> {
    let clx = usize::try_from(fib.fc_clx)
        .ok()
        .zip(usize::try_from(fib.lcb_clx).ok())
        .and_then(|(fc, lcb)| table.get(fc..fc.checked_add(lcb)?))
        .ok_or_else(|| corrupt("the piece table lies outside the table stream"))?;
    let mut out = TextBuilder::default();
    let mut budget = MAX_CHARS;
    for p in pieces(clx)? {
        let count = (p.cp_end - p.cp).min(budget);
        budget -= count;
        let n = usize::try_from(count).map_err(corrupt)?;
        if p.compressed {
            let at = usize::try_from(p.fc / 2).map_err(corrupt)?;
            let bytes = word
                .get(at..at.saturating_add(n))
                .ok_or_else(|| corrupt("a piece lies outside the document stream"))?;
            let (s, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
            s.chars().for_each(|c| out.push(c));
        } else {
            let at = usize::try_from(p.fc).map_err(corrupt)?;
            let bytes = word
                .get(at..at.saturating_add(n.saturating_mul(2)))
                .ok_or_else(|| corrupt("a piece lies outside the document stream"))?;
            let units = bytes
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]));
            char::decode_utf16(units)
                .for_each(|c| out.push(c.unwrap_or(char::REPLACEMENT_CHARACTER)));
        }
        if budget == 0 {
            break;
        }
    }
    Ok(out.text)
}

/// The text of a Word 97-2003 document; `None` when it is password-protected (encrypted).
pub fn read(data: &[u8]) -> Result<Option<String>, ExtractError> {
    let streams = super::read_compound(data, "doc", |comp| {
        let word = super::compound_stream(comp, "/WordDocument", "doc")?;
        let fib = fib(&word)?;
        if fib.encrypted {
            return Ok(None);
        }
        let table = if fib.table_1 { "/1Table" } else { "/0Table" };
        let table = super::compound_stream(comp, table, "doc")?;
        Ok(Some((word, table, fib)))
    })?;
    streams
        .map(|(word, table, fib)| text(&word, &table, &fib))
        .transpose()
}

/// Scan a Word 97-2003 document: one unit per line of its text.
pub fn doc(data: &[u8], cx: &mut Cx<'_>) -> Result<(), ExtractError> {
    super::document_text(read(data)?, "Word document", cx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> String {
        let mut b = TextBuilder::default();
        s.chars().for_each(|c| b.push(c));
        b.text
    }

    #[test]
    fn marks_become_lines_and_field_codes_go() {
        // A table: cells set apart by tabs, rows by lines; an empty cell keeps its place, a
        // paragraph inside a cell stays on its row; a paragraph after the table ends it.
        assert_eq!(
            chars("Dear Jo\rSSN\u{7}536\u{7}\u{7}"),
            "Dear Jo\nSSN\t536\n"
        );
        assert_eq!(
            chars(
                "Name\u{7}DOB\u{7}Chart\u{7}\u{7}Ann\u{7}\u{7}104233\u{7}\u{7}Jo\u{7}a\rb\u{7}7\u{7}\u{7}\rEnd\u{7}x\u{7}\u{7}"
            ),
            "Name\tDOB\tChart\nAnn\t\t104233\nJo\ta b\t7\n\nEnd\tx\n"
        );
        assert_eq!(
            chars("See \u{13} HYPERLINK \"https://x\" \u{14}the portal\u{15}."),
            "See the portal."
        );
        // Nested: the inner field's result shows inside the outer one's result.
        assert_eq!(
            chars("\u{13}IF \u{13}PAGE\u{14}2\u{15}\u{14}A\u{13}X\u{14}B\u{15}C\u{15}!"),
            "ABC!"
        );
        assert_eq!(
            chars("non\u{1e}breaking\u{1f} a\u{a0}b\u{1}"),
            "non-breaking a b"
        );
    }

    #[test]
    fn pieces_are_read_from_the_plc() {
        // One Prc record, then a Pcdt with two pieces: 8-bit at byte 0x400 (fc 0x800 | 1 << 30),
        // UTF-16 at 0x600.
        let mut clx = vec![1u8, 2, 0, 0xAA, 0xBB, 2];
        let plc: Vec<u8> = [0u32, 5, 9]
            .iter()
            .flat_map(|c| c.to_le_bytes())
            .chain([0u8, 0])
            .chain((0x800u32 | 0x4000_0000).to_le_bytes())
            .chain([0u8, 0, 0, 0])
            .chain(0x600u32.to_le_bytes())
            .chain([0u8, 0])
            .collect();
        clx.extend((plc.len() as u32).to_le_bytes());
        clx.extend(&plc);
        let p = pieces(&clx).expect("pieces");
        assert_eq!(
            p,
            [
                Piece {
                    cp: 0,
                    cp_end: 5,
                    fc: 0x800,
                    compressed: true
                },
                Piece {
                    cp: 5,
                    cp_end: 9,
                    fc: 0x600,
                    compressed: false
                }
            ]
        );
        assert!(pieces(&clx[..clx.len() - 1]).is_err());
        assert!(pieces(&[2, 0xff, 0xff, 0xff, 0xff]).is_err());
        // A table of more pieces than any document has is refused before anything is allocated.
        let lcb = 4 + 12 * (MAX_PIECES + 1);
        let mut big = vec![0u8; 5 + lcb];
        big[0] = 2;
        big[1..5].copy_from_slice(&(lcb as u32).to_le_bytes());
        assert!(pieces(&big).is_err_and(|e| e.to_string().contains("pieces")));

        // The document stream: "Dear\r" in Windows-1252 at 0x400 ("é" as 0xE9 inside), and
        // "Zoë\r" in UTF-16 at 0x600; the Clx is the whole table stream.
        let mut word = vec![0u8; 0x700];
        word[0x400..0x405].copy_from_slice(b"D\xe9ar\r");
        for (i, u) in "Zoë\r".encode_utf16().enumerate() {
            word[0x600 + 2 * i..0x602 + 2 * i].copy_from_slice(&u.to_le_bytes());
        }
        let fib = Fib {
            encrypted: false,
            table_1: true,
            fc_clx: 0,
            lcb_clx: clx.len() as u32,
        };
        assert_eq!(text(&word, &clx, &fib).expect("text"), "Déar\nZoë\n");
        // A piece past the end of the document stream is an error, not a panic or a guess.
        assert!(text(&word[..0x601], &clx, &fib).is_err());
    }

    #[test]
    fn fib_says_where_the_piece_table_is() {
        // FibBase with fEncrypted and fWhichTblStm, csw 14, cslw 22, cbRgFcLcb 0x5D; fcClx and
        // lcbClx in pair 33 of FibRgFcLcb97.
        let mut w = vec![0u8; 1024];
        w[0..2].copy_from_slice(&0xA5ECu16.to_le_bytes());
        w[0x0A..0x0C].copy_from_slice(&0x0300u16.to_le_bytes());
        w[32..34].copy_from_slice(&14u16.to_le_bytes());
        let lw = 34 + 28;
        w[lw..lw + 2].copy_from_slice(&22u16.to_le_bytes());
        let fclcb = lw + 2 + 88;
        w[fclcb..fclcb + 2].copy_from_slice(&0x5Du16.to_le_bytes());
        let clx = fclcb + 2 + 33 * 8;
        w[clx..clx + 4].copy_from_slice(&0x1234u32.to_le_bytes());
        w[clx + 4..clx + 8].copy_from_slice(&0x56u32.to_le_bytes());
        assert_eq!(
            fib(&w).expect("fib"),
            Fib {
                encrypted: true,
                table_1: true,
                fc_clx: 0x1234,
                lcb_clx: 0x56
            }
        );
        w[0] = 0;
        assert!(fib(&w).is_err());
        assert!(fib(&w[..40]).is_err());
    }
}
