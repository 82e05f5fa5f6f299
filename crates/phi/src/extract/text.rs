//! Plain text and logs: bounded line reading with UTF-8, UTF-16 (BOM) and Latin-1 fallback.

use super::hl7::Embedded;
use super::{Cx, ExtractError, Unit};
use std::borrow::Cow;
use std::io::{BufRead, BufReader, Read};

/// A reader that turns UTF-16 (and BOM-marked UTF-8) into UTF-8 and passes everything else through.
/// Input without a byte-order mark is read straight from `r`: no second buffer, no copy.
pub fn decoded<'r>(r: &'r mut dyn BufRead) -> std::io::Result<Decoded<'r>> {
    const BOMS: [&[u8]; 3] = [b"\xEF\xBB\xBF", b"\xFF\xFE", b"\xFE\xFF"];
    let head = r.fill_buf()?;
    // A head shorter than a mark that could still become one goes to the decoder too.
    let bom = BOMS
        .iter()
        .any(|m| head.starts_with(m) || (head.len() < m.len() && m.starts_with(head)));
    Ok(if bom && !head.is_empty() {
        Decoded::Bom(BufReader::with_capacity(
            64 << 10,
            encoding_rs_io::DecodeReaderBytesBuilder::new()
                .bom_sniffing(true)
                .build(r),
        ))
    } else {
        Decoded::Plain(r)
    })
}

/// What [`decoded`] reads from.
pub enum Decoded<'r> {
    /// No byte-order mark: the bytes as they are.
    Plain(&'r mut dyn BufRead),
    /// A byte-order mark: transcoded to UTF-8.
    Bom(BufReader<encoding_rs_io::DecodeReaderBytes<&'r mut dyn BufRead, Vec<u8>>>),
}

impl Read for Decoded<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Decoded::Plain(r) => r.read(buf),
            Decoded::Bom(r) => r.read(buf),
        }
    }
}

impl BufRead for Decoded<'_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        match self {
            Decoded::Plain(r) => r.fill_buf(),
            Decoded::Bom(r) => r.fill_buf(),
        }
    }
    fn consume(&mut self, n: usize) {
        match self {
            Decoded::Plain(r) => r.consume(n),
            Decoded::Bom(r) => r.consume(n),
        }
    }
}

/// Decode one line: UTF-8 when valid, else Windows-1252 (a superset of Latin-1).
pub fn decode(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => {
            encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0
        }
    }
}

/// Lines of at most `max` bytes; a longer line comes out in pieces, so memory stays bounded.
pub struct Lines<'r, R: BufRead + ?Sized> {
    r: &'r mut R,
    buf: Vec<u8>,
    max: usize,
    cr_too: bool,
    /// 1-based number of the line last returned.
    pub line_no: u64,
}

impl<'r, R: BufRead + ?Sized> Lines<'r, R> {
    /// Split on `\n` (and `\r` too when `cr_too`, as HL7 needs).
    pub fn new(r: &'r mut R, max: usize, cr_too: bool) -> Self {
        Lines {
            r,
            buf: Vec::new(),
            max: max.max(64),
            cr_too,
            line_no: 0,
        }
    }

    /// The next line without its terminator, or `None` at the end.
    pub fn next_line(&mut self) -> std::io::Result<Option<(u64, &[u8])>> {
        self.buf.clear();
        let mut any = false;
        loop {
            let avail = match self.r.fill_buf() {
                Ok(a) => a,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if avail.is_empty() {
                if !any {
                    return Ok(None);
                }
                break;
            }
            any = true;
            let room = self.max - self.buf.len();
            let pos = if self.cr_too {
                memchr::memchr2(b'\n', b'\r', avail)
            } else {
                memchr::memchr(b'\n', avail)
            };
            match pos {
                Some(i) if i <= room => {
                    self.buf.extend_from_slice(&avail[..i]);
                    self.r.consume(i + 1);
                    break;
                }
                _ => {
                    let take = avail.len().min(room);
                    self.buf.extend_from_slice(&avail[..take]);
                    self.r.consume(take);
                    if self.buf.len() >= self.max {
                        break;
                    }
                }
            }
        }
        if !self.cr_too && self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        self.line_no += 1;
        Ok(Some((self.line_no, &self.buf)))
    }
}

/// Plain text: each line is a unit, or a row of a report's columns ([`Columns`]).
pub fn text(r: &mut dyn BufRead, cx: &mut Cx<'_>) -> Result<(), ExtractError> {
    let mut r = decoded(r)?;
    let mut lines = Lines::new(&mut r, cx.limits.max_line, false);
    let (mut columns, mut hl7) = (Columns::default(), Embedded::default());
    while let Some((n, raw)) = lines.next_line()? {
        let line = decode(raw);
        let u = Unit {
            text: &line,
            line: Some(n),
            ..Unit::default()
        };
        if !hl7.line(&line, n, cx)? && !columns.line(u, cx)? {
            cx.unit(u)?;
        }
    }
    Ok(())
}

/// Text already in memory (PDF pages, RTF, e-mail bodies): one unit per line, or a row of a
/// report's columns.
pub fn text_str(
    s: &str,
    page: Option<u32>,
    record: Option<u64>,
    cx: &mut Cx<'_>,
) -> Result<(), ExtractError> {
    let (mut columns, mut hl7) = (Columns::default(), Embedded::default());
    for (i, line) in s.lines().enumerate() {
        let n = i as u64 + 1;
        let u = Unit {
            text: line,
            line: Some(n),
            page,
            record,
            ..Unit::default()
        };
        // HL7 pasted into a message keeps the message's record.
        if record.is_none() && hl7.line(line, n, cx)? {
            continue;
        }
        if !columns.line(u, cx)? {
            cx.unit(u)?;
        }
    }
    Ok(())
}

/// Whether `text` has two gaps (two spaces or more, or a tab) between values, its indentation
/// aside: a search for each, no walk through the line.
fn two_gaps(text: &str) -> bool {
    // Built once: `memmem::find` builds its searcher on every call.
    static TWO_SPACES: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"  "));
    let gap = |t: &str| {
        let b = t.as_bytes();
        match (TWO_SPACES.find(b), memchr::memchr(b'\t', b)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    };
    let values = text.trim_start_matches([' ', '\t']);
    gap(values).is_some_and(|at| {
        let rest = values[at..].trim_start_matches([' ', '\t']);
        !rest.is_empty() && gap(rest).is_some()
    })
}

/// A report printed to a text file, as practice-management systems print them: a line of column
/// names set apart by runs of spaces ("PATIENT NAME   CHART #   BIRTH DATE   SSN"), perhaps a rule
/// of dashes under it, then a line per record with each value under its column's name. A line is
/// a header when it has three names or more, two of them naming identifiers; the columns end at a
/// line with fewer than two values (a blank line, a footer). Each value is read under the column
/// it overlaps most, the boundaries halfway between the names (or the rule's dashes), in
/// characters. A header set apart by tabs (a table of an RTF document) makes a tab-separated
/// table: each value is under the name in its place, an empty value keeping its place.
#[derive(Default)]
pub struct Columns {
    /// Each column's span in characters (its place, when set apart by tabs) and its name.
    cols: Vec<(usize, usize, String)>,
    /// Values are set apart by tabs, one per column.
    tabs: bool,
    /// Records seen.
    rows: u64,
    /// Whether the line before was the header (a rule of dashes may follow it).
    after_header: bool,
    /// Spans of the line being looked at: characters, then bytes.
    spans: Vec<(usize, usize, usize, usize)>,
}

impl Columns {
    /// Take `u`'s line if it belongs to a report's columns (a header, a rule or a row); `false`
    /// leaves it to be read as text.
    pub fn line(&mut self, u: Unit<'_>, cx: &mut Cx<'_>) -> Result<bool, ExtractError> {
        let text = u.text;
        // A header has three values, two gaps between them at least; most lines of most files
        // (indented ones too) have none.
        if self.cols.is_empty() && !two_gaps(text) {
            return Ok(false);
        }
        let tabs = if self.cols.is_empty() {
            text.trim_matches([' ', '\t']).contains('\t')
        } else {
            self.tabs
        };
        if tabs {
            self.split_tabs(text);
        } else {
            self.split(text);
        }
        if self.cols.is_empty() {
            if self.is_header(text) {
                self.cols = self
                    .spans
                    .iter()
                    .map(|&(s, e, bs, be)| (s, e, text[bs..be].to_string()))
                    .collect();
                self.tabs = tabs;
                self.after_header = true;
                return Ok(true);
            }
            return Ok(false);
        }
        if std::mem::take(&mut self.after_header) && !self.tabs && self.is_rule(text) {
            for (c, &(s, e, _, _)) in self.cols.iter_mut().zip(&self.spans) {
                (c.0, c.1) = (s, e);
            }
            return Ok(true);
        }
        if self.spans.len() < 2 {
            self.cols.clear();
            return Ok(false);
        }
        self.rows += 1;
        let record = u.record.or(Some(self.rows));
        let spans = std::mem::take(&mut self.spans);
        for &(s, e, bs, be) in &spans {
            let (field, column) = if self.tabs {
                let name = self.cols.iter().find(|c| c.0 == s).map(|c| c.2.as_str());
                (name, text.get(..bs).map_or(0, |t| t.chars().count()))
            } else {
                (self.column(s, e), s)
            };
            cx.unit(Unit {
                text: &text[bs..be],
                field,
                column: column as u64,
                record,
                ..u
            })?;
        }
        self.spans = spans;
        Ok(true)
    }

    /// The values of a line: runs of text set apart by two spaces or more, or a tab. Bytes first
    /// (no character of UTF-8 but these two is a space or a tab), characters for lines that are
    /// not ASCII.
    fn split(&mut self, text: &str) {
        self.spans.clear();
        let (mut start, mut end, mut gap) = (None, 0usize, 0usize);
        for (i, &c) in text.as_bytes().iter().enumerate() {
            if c == b' ' || c == b'\t' {
                gap += if c == b'\t' { 2 } else { 1 };
                if gap >= 2
                    && let Some(s) = start.take()
                {
                    self.spans.push((s, end, s, end));
                }
                continue;
            }
            gap = 0;
            start.get_or_insert(i);
            end = i + 1;
        }
        if let Some(s) = start {
            self.spans.push((s, end, s, end));
        }
        if !text.is_ascii() {
            for span in &mut self.spans {
                let before = text.get(..span.2).map_or(0, |t| t.chars().count());
                let inside = text.get(span.2..span.3).map_or(0, |t| t.chars().count());
                (span.0, span.1) = (before, before + inside);
            }
        }
    }

    /// The values of a line set apart by tabs: each with its place (the tab-separated field it
    /// is), white space trimmed; empty ones keep their place and are left out.
    fn split_tabs(&mut self, text: &str) {
        self.spans.clear();
        let mut at = 0;
        for (i, field) in text.split('\t').enumerate() {
            let lead = field.len() - field.trim_start().len();
            let value = field.trim();
            if !value.is_empty() {
                let bs = at + lead;
                self.spans.push((i, i + 1, bs, bs + value.len()));
            }
            at += field.len() + 1;
        }
    }

    /// Three names or more, as [`super::table::is_header`] has them, two of them naming
    /// identifiers. Shapes first: most lines with runs of spaces are prose.
    fn is_header(&self, text: &str) -> bool {
        let names: Vec<&str> = self
            .spans
            .iter()
            .filter_map(|&(_, _, bs, be)| text.get(bs..be))
            .collect();
        names.len() >= 3
            && names.iter().all(|n| n.len() <= 40)
            && super::table::is_header(&names)
            && names
                .iter()
                .filter(|n| {
                    matches!(
                        crate::detect::classify_field(n),
                        Some(crate::detect::FieldClass::Kind(_))
                    )
                })
                .count()
                >= 2
    }

    /// A rule of dashes or equals signs, one run per column.
    fn is_rule(&self, text: &str) -> bool {
        self.spans.len() == self.cols.len()
            && text
                .bytes()
                .all(|b| matches!(b, b'-' | b'=' | b' ' | b'\t'))
    }

    /// The name of the column that the span `s..e` overlaps most (boundaries halfway between
    /// columns).
    fn column(&self, s: usize, e: usize) -> Option<&str> {
        let n = self.cols.len();
        let bound = |i: usize| -> usize {
            // The left boundary of column i.
            if i == 0 {
                0
            } else {
                (self.cols[i - 1].1 + self.cols[i].0) / 2
            }
        };
        (0..n)
            .map(|i| {
                let (lo, hi) = (bound(i), if i + 1 < n { bound(i + 1) } else { usize::MAX });
                (s.max(lo)..e.min(hi)).len()
            })
            .enumerate()
            .filter(|&(_, overlap)| overlap > 0)
            .max_by_key(|&(i, overlap)| (overlap, std::cmp::Reverse(i)))
            .map(|(i, _)| self.cols[i].2.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Everything a reader yields, taken the way [`Lines`] takes it (fill and consume).
    fn drain(r: &mut dyn BufRead) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let n = {
                let b = r.fill_buf().expect("read");
                out.extend_from_slice(b);
                b.len()
            };
            if n == 0 {
                return out;
            }
            r.consume(n);
        }
    }

    proptest! {
        /// The pass-through for input without a byte-order mark gives what the decoder gave
        /// (it passes unmarked bytes through untouched), whatever the buffer size.
        #[test]
        fn pass_through_equals_decoder(
            bom in prop::sample::select(vec![&b""[..], b"\xEF\xBB\xBF", b"\xFF\xFE", b"\xFE\xFF", b"\xFF", b"\xEF\xBB"]),
            body in prop::collection::vec(any::<u8>(), 0..300),
            cap in 1usize..16,
        ) {
            let bytes = [bom, &body[..]].concat();
            // The reader before the pass-through: the decoder for every input.
            let mut src = BufReader::with_capacity(cap, &bytes[..]);
            let reference = drain(&mut BufReader::with_capacity(
                64 << 10,
                encoding_rs_io::DecodeReaderBytesBuilder::new()
                    .bom_sniffing(true)
                    .build(&mut src),
            ));
            let mut src = BufReader::with_capacity(cap, &bytes[..]);
            prop_assert_eq!(drain(&mut decoded(&mut src).expect("decoded")), reference);
        }
    }

    #[test]
    fn long_lines_come_in_pieces() {
        let data = vec![b'a'; 1000];
        let mut r = &data[..];
        let mut l = Lines::new(&mut r, 300, false);
        let mut n = 0;
        while let Some((_, x)) = l.next_line().expect("read") {
            assert!(x.len() <= 300);
            n += 1;
        }
        assert_eq!(n, 4);
    }

    #[test]
    fn utf16_and_latin1_decode() {
        let mut bytes = vec![0xFF, 0xFE];
        for c in "SSN 536-22-8726\n".encode_utf16() {
            bytes.extend_from_slice(&c.to_le_bytes());
        }
        let mut src = &bytes[..];
        let mut r = decoded(&mut src).expect("decoded");
        let mut s = String::new();
        r.read_to_string(&mut s).expect("read");
        assert_eq!(s, "SSN 536-22-8726\n");
        assert_eq!(decode(b"Jos\xe9"), "José");
    }
}

#[cfg(test)]
mod column_tests {
    use crate::{Hasher, ScanOptions, scan_bytes};

    /// (kind, value, field, record, line, column) of every finding.
    type Found = (
        String,
        String,
        String,
        Option<u64>,
        Option<u64>,
        Option<u64>,
    );

    fn scan(text: &str) -> Vec<Found> {
        let opts = ScanOptions {
            unmask: true,
            min_records: 0,
            ..ScanOptions::default()
        };
        let o = scan_bytes(
            "report.txt",
            text.as_bytes(),
            &opts,
            &Hasher::with_key([1; 32]),
        )
        .expect("scan");
        o.findings
            .into_iter()
            .map(|f| {
                (
                    f.kind.as_str().to_string(),
                    f.value.unwrap_or_default(),
                    f.location.field.as_deref().unwrap_or_default().to_string(),
                    f.location.record,
                    f.location.line,
                    f.location.column,
                )
            })
            .collect()
    }

    fn at<'a>(v: &'a [Found], value: &str) -> &'a Found {
        v.iter()
            .find(|f| f.1 == value)
            .unwrap_or_else(|| panic!("{value} in {v:#?}"))
    }

    #[test]
    fn a_report_printed_to_text_is_read_by_its_columns() {
        let v = scan(
            "SPRINGFIELD FAMILY DENTAL                                   Page 1\n\
             Patient Birthday Report                              Printed 11/28/2026\n\
             \n\
             PATIENT NAME              CHART #   BIRTH DATE   HOME PHONE       SSN\n\
             ------------------------  --------  -----------  ---------------  -----------\n\
             SMITH, JOHN               104233    02/14/1980   (217) 632-0143   536-22-8726\n\
             ZORQUIL, XOCHITL          104235    12/01/1999   (217) 632-0177   536-22-8728\n\
             O'BRIEN, SIOBHAN            4236    07/04/1971                    536-22-8729\n\
             End of report\n\
             Printed by frontdesk                 11/28/2026\n\
             \n\
             Seen 03/04/2025.  Total  3 patients\n\
             \n\
             PATIENT NAME            MRN  BIRTH DATE\n\
             Maria Gonzalez     00104233  02/14/1980\n",
        );
        let f = |value: &str| {
            let f = at(&v, value);
            (f.0.as_str(), f.2.as_str(), f.3, f.4, f.5)
        };
        assert_eq!(
            f("ZORQUIL, XOCHITL"),
            ("name", "PATIENT NAME", Some(2), Some(7), Some(1))
        );
        assert_eq!(f("104235"), ("mrn", "CHART #", Some(2), Some(7), Some(27)));
        assert_eq!(
            f("12/01/1999"),
            ("dob", "BIRTH DATE", Some(2), Some(7), Some(37))
        );
        assert_eq!(
            f("(217) 632-0177"),
            ("phone", "HOME PHONE", Some(2), Some(7), Some(50))
        );
        // A value set right under its name, and an empty column: each under its own name.
        assert_eq!(f("4236"), ("mrn", "CHART #", Some(3), Some(8), Some(29)));
        assert_eq!(f("536-22-8729"), ("ssn", "SSN", Some(3), Some(8), Some(67)));
        assert_eq!(f("O'BRIEN, SIOBHAN").1, "PATIENT NAME");
        // A value set right under a short name, most of it left of the name.
        assert_eq!(f("00104233"), ("mrn", "MRN", Some(4), Some(15), Some(20)));
        // A line of one value ends the columns: the date printed after is no birth date.
        assert!(!v.iter().any(|f| f.1 == "11/28/2026"), "{v:#?}");
        // The title's date, and the text after the table, are no birth dates.
        assert!(!v.iter().any(|f| f.0 == "dob" && f.2.is_empty()), "{v:#?}");
        assert_eq!(v.len(), 17, "{v:#?}");
    }

    #[test]
    fn a_table_set_apart_by_tabs_keeps_empty_places() {
        // Text first (a table pasted into a note: no CSV file).
        let note = "Recall list, please call each patient this week about their cleaning.\n\
                    \n\
                    Patient\tBirth Date\tSSN\tChart #\t\n\
                    Ysogra Nixyso\t\t536-22-8726\t104233\t\n\
                    Xochitl Zorquil\t12/01/1999\t\t104234\t\n";
        assert_eq!(
            crate::extract::sniff("note.txt", note.as_bytes()),
            crate::Format::Text
        );
        let v = scan(note);
        let f = |value: &str| {
            let f = at(&v, value);
            (f.0.as_str(), f.2.as_str(), f.3)
        };
        assert_eq!(f("536-22-8726"), ("ssn", "SSN", Some(1)));
        assert_eq!(f("104233"), ("mrn", "Chart #", Some(1)));
        assert_eq!(f("12/01/1999"), ("dob", "Birth Date", Some(2)));
        assert_eq!(f("104234"), ("mrn", "Chart #", Some(2)));
        assert_eq!(f("Xochitl Zorquil"), ("name", "Patient", Some(2)));
    }

    #[test]
    fn text_with_runs_of_spaces_is_no_report() {
        let v = scan(
            "Seen today.  Patient John Smith,  DOB 02/14/1980.  Follow up in 3 months.\n\
             Name  Date  Notes\n\
             Recall  03/04/2025  ok\n",
        );
        assert!(v.iter().all(|f| f.2.is_empty() && f.3.is_none()), "{v:#?}");
        assert!(
            v.iter().any(|f| f.0 == "dob" && f.1 == "02/14/1980"),
            "{v:#?}"
        );
        assert!(!v.iter().any(|f| f.1 == "03/04/2025"), "{v:#?}");
    }
}
