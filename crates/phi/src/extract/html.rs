//! HTML: saved web pages (a patient portal's summary, a lab's results page), reports that
//! practice-management systems export "as a web page", and the bodies of HTML-only e-mails.
//!
//! Read with a WHATWG-compliant tokenizer ([html5gum], HTML Living Standard 13.2.5): character
//! references decoded, script and style skipped, a block element or `<br>` ending a line of text,
//! inline elements ("<b>DOB:</b> 02/14/1980") not. A table is read as a CSV export is: a first
//! row of header cells (`<th>`, or cells that read as column names, one of them a known one) names
//! each column and every further row is a record; a row of one header cell and one value
//! ("Date of Birth | 02/14/1980", a patient summary) names its value, and the rows of such a
//! table are one record. A filled-in form's fields (`<input name="ssn" value="...">`,
//! `<textarea>`) are values under their names. Each unit points at the line it starts on.

use super::{Cx, ExtractError, Unit};
use html5gum::{DefaultEmitter, Token, Tokenizer};

/// Whether `head` (white space trimmed) starts an HTML document.
pub fn looks_like_html(head: &[u8]) -> bool {
    let lower = |n: usize| head.get(..n).map(<[u8]>::to_ascii_lowercase);
    lower(14).is_some_and(|h| h == b"<!doctype html") || lower(5).is_some_and(|h| h == b"<html")
}

/// Elements that end a line of text (and a line inside a table cell).
fn is_block(name: &[u8]) -> bool {
    matches!(
        name,
        b"p" | b"div"
            | b"br"
            | b"li"
            | b"ul"
            | b"ol"
            | b"dl"
            | b"dt"
            | b"dd"
            | b"h1"
            | b"h2"
            | b"h3"
            | b"h4"
            | b"h5"
            | b"h6"
            | b"title"
            | b"section"
            | b"article"
            | b"header"
            | b"footer"
            | b"nav"
            | b"aside"
            | b"main"
            | b"blockquote"
            | b"pre"
            | b"hr"
            | b"form"
            | b"fieldset"
            | b"legend"
            | b"caption"
            | b"address"
            | b"figure"
            | b"figcaption"
            | b"option"
            | b"body"
            | b"html"
            | b"head"
    )
}

/// Input types whose value is never typed in by anyone.
fn is_button(kind: &[u8]) -> bool {
    matches!(
        kind,
        b"submit" | b"button" | b"reset" | b"image" | b"checkbox" | b"radio" | b"file"
    )
}

#[derive(Default)]
struct Cell {
    text: String,
    th: bool,
    start: usize,
    /// Columns it spans (`colspan`, 1 to 64).
    span: usize,
    /// Rows it spans (`rowspan`, 1 to 1024).
    rows: u32,
    /// A place taken by the cell before it (`colspan`): no value, its name in a header.
    spanned: bool,
}

#[derive(Default)]
struct Table {
    header: Option<Vec<String>>,
    row: Vec<Cell>,
    cell: Option<Cell>,
    /// Rows seen (header included).
    rows: u64,
    /// A row of values was read: a header can no longer come.
    data: bool,
    /// The record of a table of "name | value" rows.
    pairs: Option<u64>,
    /// Per column, the rows still to come that a cell above takes (`rowspan`): they hold no cell
    /// of their own there, and their cells start one column further right.
    below: Vec<u32>,
    /// The row's own cells that span rows below: (column, columns, rows below).
    new_spans: Vec<(usize, usize, u32)>,
}

/// Columns a cell spanning rows can take (`rowspan` is followed that far): a practice's report is
/// narrower, and a hostile page cannot make every row fill thousands of places.
const MAX_SPANNED_COLUMNS: usize = 256;

impl Table {
    /// Empty places for the columns a cell above still takes, from the row's next column on.
    fn fill_from_above(&mut self) {
        while self.below.get(self.row.len()).is_some_and(|&n| n > 0) {
            self.row.push(Cell {
                span: 1,
                rows: 1,
                ..Cell::default()
            });
        }
    }

    /// The row is complete: cells above take one row less, and its own spans begin.
    fn next_row(&mut self) {
        self.fill_from_above();
        for n in &mut self.below {
            *n = n.saturating_sub(1);
        }
        for (col, width, rows) in std::mem::take(&mut self.new_spans) {
            let end = (col + width).min(MAX_SPANNED_COLUMNS);
            if self.below.len() < end {
                self.below.resize(end, 0);
            }
            for n in self.below.iter_mut().take(end).skip(col) {
                *n = (*n).max(rows);
            }
        }
    }
}

/// The page being read.
struct Page<'c, 'e> {
    cx: &'c mut Cx<'e>,
    /// Byte offsets of the line breaks of the text, for line numbers.
    breaks: Vec<usize>,
    /// A line of free text and where it starts.
    line: String,
    line_start: usize,
    /// Inside `<script>` or `<style>`.
    skip: u32,
    /// Inside `<textarea name=...>`: its name.
    textarea: Option<String>,
    tables: Vec<Table>,
    record: u64,
    /// The record every unit belongs to (a message of a mailbox), if any.
    outer: Option<u64>,
}

/// Scan an HTML document. `record` is the record everything belongs to (a mailbox's message),
/// or `None` to number the rows of its tables.
pub fn html(data: &[u8], record: Option<u64>, cx: &mut Cx<'_>) -> Result<(), ExtractError> {
    let text = super::text::decode(data);
    let mut emitter = DefaultEmitter::<usize>::new_with_span();
    emitter.naively_switch_states(true);
    let mut page = Page {
        cx,
        breaks: memchr::memchr_iter(b'\n', text.as_bytes()).collect(),
        line: String::new(),
        line_start: 0,
        skip: 0,
        textarea: None,
        tables: Vec::new(),
        record: 0,
        outer: record,
    };
    for (n, token) in Tokenizer::new_with_emitter(text.as_ref(), emitter).enumerate() {
        if n % 65_536 == 0 {
            page.cx.check_deadline()?;
        }
        let Ok(token) = token;
        page.token(token)?;
    }
    page.flush()?;
    while !page.tables.is_empty() {
        page.end_table()?;
    }
    Ok(())
}

fn lossy(s: &[u8]) -> String {
    String::from_utf8_lossy(s).into_owned()
}

/// Runs of white space as one space, as a browser shows them.
fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Page<'_, '_> {
    fn line_of(&self, offset: usize) -> u64 {
        self.breaks.partition_point(|&b| b < offset) as u64 + 1
    }

    fn record_or(&self, r: Option<u64>) -> Option<u64> {
        self.outer.or(r)
    }

    fn token(&mut self, token: Token<usize>) -> Result<(), ExtractError> {
        match token {
            Token::StartTag(tag) => {
                let name = tag.name.as_slice();
                match name {
                    b"script" | b"style" if !tag.self_closing => self.skip += 1,
                    b"table" => {
                        self.flush()?;
                        self.tables.push(Table::default());
                    }
                    b"tr" => self.end_row()?,
                    b"td" | b"th" => {
                        self.end_cell();
                        if let Some(t) = self.tables.last_mut() {
                            let number = |k: &[u8]| {
                                tag.attributes
                                    .get(k)
                                    .and_then(|v| lossy(&v.value).trim().parse::<u32>().ok())
                            };
                            let span = number(b"colspan").unwrap_or(1).clamp(1, 64) as usize;
                            let rows = number(b"rowspan").unwrap_or(1).clamp(1, 1024);
                            t.cell = Some(Cell {
                                th: name == b"th",
                                start: tag.span.start,
                                span,
                                rows,
                                ..Cell::default()
                            });
                        }
                    }
                    b"input" => {
                        let attr = |k: &[u8]| tag.attributes.get(k).map(|v| lossy(&v.value));
                        let kind = attr(b"type").unwrap_or_default().to_ascii_lowercase();
                        if !is_button(kind.as_bytes())
                            && let Some(value) = attr(b"value")
                        {
                            let field = attr(b"name").or_else(|| attr(b"id"));
                            self.value(field.as_deref(), &value, tag.span.start, None)?;
                        }
                    }
                    b"textarea" => {
                        self.flush()?;
                        let field = [&b"name"[..], b"id"]
                            .iter()
                            .find_map(|k| tag.attributes.get(*k).map(|v| lossy(&v.value)));
                        self.textarea = Some(field.unwrap_or_default());
                        self.line_start = tag.span.end;
                    }
                    _ if is_block(name) => self.newline()?,
                    _ => {}
                }
            }
            Token::EndTag(tag) => match tag.name.as_slice() {
                b"script" | b"style" => self.skip = self.skip.saturating_sub(1),
                b"table" => self.end_table()?,
                b"tr" => self.end_row()?,
                b"td" | b"th" => self.end_cell(),
                b"textarea" => {
                    let field = self.textarea.take().filter(|f| !f.is_empty());
                    let text = std::mem::take(&mut self.line);
                    self.value(field.as_deref(), &text, self.line_start, None)?;
                }
                name if is_block(name) => self.newline()?,
                _ => {}
            },
            Token::String(s) if self.skip == 0 => {
                let start = s.span.start;
                let s = String::from_utf8_lossy(&s.value);
                match self.tables.last_mut().and_then(|t| t.cell.as_mut()) {
                    Some(cell) => cell.text.push_str(&s),
                    None => {
                        if self.line.trim().is_empty() {
                            self.line.clear();
                            self.line_start = start;
                        }
                        self.line.push_str(&s);
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// A block element or `<br>`: a new line in a cell, else the end of a line of text.
    fn newline(&mut self) -> Result<(), ExtractError> {
        match self.tables.last_mut().and_then(|t| t.cell.as_mut()) {
            Some(cell) => {
                cell.text.push('\n');
                Ok(())
            }
            None if self.textarea.is_some() => {
                self.line.push('\n');
                Ok(())
            }
            None => self.flush(),
        }
    }

    /// The line of free text, as a unit.
    fn flush(&mut self) -> Result<(), ExtractError> {
        if self.textarea.is_some() {
            return Ok(());
        }
        let text = collapse(&std::mem::take(&mut self.line));
        if text.is_empty() {
            return Ok(());
        }
        let line = self.line_of(self.line_start);
        let record = self.record_or(None);
        self.cx.unit(Unit {
            text: &text,
            line: Some(line),
            record,
            ..Unit::default()
        })
    }

    /// A value under its name (a form field's, a table cell's), line by line, white space as a
    /// browser shows it; `record` is its row's, if any.
    fn value(
        &mut self,
        field: Option<&str>,
        value: &str,
        at: usize,
        record: Option<u64>,
    ) -> Result<(), ExtractError> {
        let line = self.line_of(at);
        let record = self.record_or(record);
        for part in value.lines() {
            let part = collapse(part);
            self.cx.unit(Unit {
                text: &part,
                field,
                line: Some(line),
                record,
                ..Unit::default()
            })?;
        }
        Ok(())
    }

    fn end_cell(&mut self) {
        if let Some(t) = self.tables.last_mut()
            && let Some(cell) = t.cell.take()
        {
            let (span, th, start) = (cell.span, cell.th, cell.start);
            t.fill_from_above();
            if cell.rows > 1 {
                t.new_spans.push((t.row.len(), span, cell.rows - 1));
            }
            t.row.push(cell);
            for _ in 1..span {
                t.row.push(Cell {
                    th,
                    start,
                    span: 1,
                    spanned: true,
                    ..Cell::default()
                });
            }
        }
    }

    fn end_row(&mut self) -> Result<(), ExtractError> {
        self.end_cell();
        let Some(t) = self.tables.last_mut() else {
            return Ok(());
        };
        // A row ends at its </tr> and again at the next <tr>: only a row with cells counts.
        if !t.row.is_empty() {
            t.next_row();
        }
        let cells = std::mem::take(&mut t.row);
        if cells.iter().all(|c| c.text.trim().is_empty()) {
            return Ok(());
        }
        t.rows += 1;
        // A title above the header (one cell, perhaps spanning the table) is a line of text.
        let filled = cells.iter().filter(|c| !c.text.trim().is_empty()).count();
        if filled == 1 && t.header.is_none() && !t.data {
            let Some(cell) = cells.iter().find(|c| !c.text.trim().is_empty()) else {
                return Ok(());
            };
            return self.value(None, &cell.text, cell.start, None);
        }
        // A header cell that spans columns names each of them.
        let names = || {
            let mut names: Vec<String> = Vec::with_capacity(cells.len());
            for c in &cells {
                let name = match (c.spanned, names.last()) {
                    (true, Some(last)) => last.clone(),
                    _ => collapse(&c.text),
                };
                names.push(name);
            }
            names
        };
        if t.header.is_none() && !t.data && cells.len() >= 2 {
            let all_th = cells.iter().all(|c| c.th);
            if all_th || {
                let n = names();
                super::table::is_header(&n) && n.iter().any(|f| self.cx.field_class(f).is_some())
            } {
                if let Some(t) = self.tables.last_mut() {
                    t.header = Some(names());
                }
                return Ok(());
            }
        }
        // "Date of Birth | 02/14/1980": the header cell names the value.
        if let [key, value] = &cells[..]
            && key.th
            && !value.th
        {
            let record = match self.tables.last().and_then(|t| t.pairs) {
                Some(r) => r,
                None => {
                    self.record += 1;
                    let r = self.record;
                    if let Some(t) = self.tables.last_mut() {
                        t.pairs = Some(r);
                    }
                    r
                }
            };
            return self.value(
                Some(&collapse(&key.text)),
                &value.text,
                value.start,
                Some(record),
            );
        }
        self.record += 1;
        let record = self.record;
        if let Some(t) = self.tables.last_mut() {
            t.data = true;
        }
        let header = self.tables.last().and_then(|t| t.header.clone());
        for (i, cell) in cells.iter().enumerate() {
            let field = header.as_ref().and_then(|h| h.get(i)).map(String::as_str);
            self.value(
                field.filter(|f| !f.is_empty()),
                &cell.text,
                cell.start,
                Some(record),
            )?;
        }
        Ok(())
    }

    fn end_table(&mut self) -> Result<(), ExtractError> {
        self.end_row()?;
        self.tables.pop();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::{Hasher, ScanOptions, scan_bytes};
    use medguard_model::PhiKind;

    /// Kind, value, field, record and line of a finding.
    type Found = (PhiKind, String, String, Option<u64>, Option<u64>);

    fn scan(page: &str) -> Vec<Found> {
        let opts = ScanOptions {
            unmask: true,
            min_records: 0,
            ..ScanOptions::default()
        };
        let o = scan_bytes(
            "page.html",
            page.as_bytes(),
            &opts,
            &Hasher::with_key([1; 32]),
        )
        .expect("scan");
        assert_eq!(o.report.format, "html");
        o.findings
            .into_iter()
            .map(|f| {
                (
                    f.kind,
                    f.value.unwrap_or_default(),
                    f.location.field.as_deref().unwrap_or_default().to_string(),
                    f.location.record,
                    f.location.line,
                )
            })
            .collect()
    }

    fn has(v: &[Found], k: PhiKind, s: &str) -> bool {
        v.iter().any(|f| f.0 == k && f.1 == s)
    }

    #[test]
    fn a_summary_page_its_form_and_what_is_not_text() {
        let v = scan(
            "<!DOCTYPE html>\n<html><head><title>Chart summary</title>\n\
             <style>td { color: red } /* 536-22-8726 */</style>\n\
             <script>var ssn = '536-22-8726';</script></head>\n<body>\n\
             <p>Patient:&nbsp;<b>Ysogra&#32;Nixyso</b>, seen 11/02/2026 for caries.</p>\n\
             <table>\n<tr><th>Date of Birth</th><td>04/12/1969</td></tr>\n\
             <tr><th>Home Phone</th><td>(217) 632-0143</td></tr>\n</table>\n\
             <form><input type=hidden name=patient_id value=\"MRN0601648\">\n\
             <input name=\"ssn\" value=\"536-22-8727\"><input type=submit value=\"536-22-8728\">\n\
             <textarea name=\"notes\">Patient Xochitl Zorquil\nSSN 536-22-8729</textarea></form>\n\
             </body></html>\n",
        );
        // Script and style are not text; a button's caption is no value.
        assert!(!has(&v, PhiKind::Ssn, "536-22-8726"), "{v:?}");
        assert!(!has(&v, PhiKind::Ssn, "536-22-8728"), "{v:?}");
        // Character references decoded, inline elements inside the line.
        let name = v.iter().find(|f| f.1 == "Ysogra Nixyso").expect("name");
        assert_eq!(name.4, Some(6), "{v:?}");
        // The visit date is no birth date; the header cell names the one that is.
        assert!(!has(&v, PhiKind::Dob, "11/02/2026"), "{v:?}");
        let dob = v.iter().find(|f| f.1 == "04/12/1969").expect("dob");
        assert_eq!(
            (dob.0, dob.2.as_str(), dob.4),
            (PhiKind::Dob, "Date of Birth", Some(8))
        );
        let phone = v.iter().find(|f| f.0 == PhiKind::Phone).expect("phone");
        assert_eq!(
            (phone.2.as_str(), phone.3),
            ("Home Phone", dob.3),
            "one record"
        );
        // Form fields under their names, the text area's lines too.
        assert!(
            v.iter().any(|f| f.0 == PhiKind::Mrn && f.2 == "patient_id"),
            "{v:?}"
        );
        assert!(
            v.iter().any(|f| f.1 == "536-22-8727" && f.2 == "ssn"),
            "{v:?}"
        );
        assert!(has(&v, PhiKind::Name, "Xochitl Zorquil"), "{v:?}");
        assert!(has(&v, PhiKind::Ssn, "536-22-8729"), "{v:?}");
    }

    #[test]
    fn a_table_of_patients_by_its_header() {
        // pandas' to_html: an index column of header cells, the names in a <thead>.
        let v = scan(
            "<table border=\"1\" class=\"dataframe\">\n  <thead>\n    <tr style=\"text-align: right;\">\n\
             \x20     <th></th>\n      <th>patient</th>\n      <th>dob</th>\n      <th>ssn</th>\n    </tr>\n\
             \x20 </thead>\n  <tbody>\n    <tr>\n      <th>0</th>\n      <td>Ysogra Nixyso</td>\n\
             \x20     <td>1962-03-14</td>\n      <td>536228726</td>\n    </tr>\n    <tr>\n      <th>1</th>\n\
             \x20     <td>John Smith</td>\n      <td>1980-02-14</td>\n      <td>536228728</td>\n    </tr>\n\
             \x20 </tbody>\n</table>\n",
        );
        let rows: Vec<_> = v.iter().map(|f| (f.0, f.2.as_str(), f.3)).collect();
        assert_eq!(
            rows,
            [
                (PhiKind::Name, "patient", Some(1)),
                (PhiKind::Dob, "dob", Some(1)),
                (PhiKind::Ssn, "ssn", Some(1)),
                (PhiKind::Name, "patient", Some(2)),
                (PhiKind::Dob, "dob", Some(2)),
                (PhiKind::Ssn, "ssn", Some(2)),
            ]
        );
        // A first row of plain cells is the header when it names known columns; a first row of
        // names is not.
        let v = scan(
            "<html><table><tr><td>Name</td><td>Birth Date</td></tr>\
             <tr><td>Ysogra Nixyso</td><td>02/14/1980</td></tr></table>",
        );
        assert!(
            v.iter().any(|f| f.0 == PhiKind::Dob && f.2 == "Birth Date"),
            "{v:?}"
        );
        let v = scan(
            "<html><table><tr><td>Maria Gonzalez</td><td>John Smith</td></tr>\
             <tr><td>Ann Lee</td><td>02/14/1980</td></tr></table>",
        );
        assert!(has(&v, PhiKind::Name, "Maria Gonzalez"), "{v:?}");
    }

    #[test]
    fn titles_above_the_header_and_cells_that_span_columns() {
        let v = scan(
            "<html><body><table>\n\
             <tr><td colspan=\"4\"><b>Patient Birthday List</b></td></tr>\n\
             <tr><td colspan=\"4\">Printed 11/28/2026</td></tr>\n\
             <tr><th colspan=\"2\">Patient</th><th>Birth Date</th><th>Chart #</th></tr>\n\
             <tr><td>Nixyso</td><td>Ysogra</td><td>03/14/1962</td><td>104233</td></tr>\n\
             <tr><td colspan=\"2\">Xochitl Zorquil</td><td>12/01/1999</td><td>104234</td></tr>\n\
             </table></body></html>",
        );
        let rows: Vec<_> = v
            .iter()
            .map(|f| (f.1.as_str(), f.2.as_str(), f.3))
            .collect();
        assert_eq!(
            rows,
            [
                ("Nixyso", "Patient", Some(1)),
                ("Ysogra", "Patient", Some(1)),
                ("03/14/1962", "Birth Date", Some(1)),
                ("104233", "Chart #", Some(1)),
                ("Xochitl Zorquil", "Patient", Some(2)),
                ("12/01/1999", "Birth Date", Some(2)),
                ("104234", "Chart #", Some(2)),
            ]
        );
    }
}
