//! CSV/TSV: a small bounded parser (quotes, doubled quotes, multi-line fields); the header row is
//! the structural context of every cell below it.

use super::text::{Lines, decode, decoded};
use super::{Cx, ExtractError, Field, Unit};
use std::borrow::Cow;
use std::io::BufRead;
use std::rc::Rc;

/// Largest record (a quoted field may span lines) before it is treated as plain text.
const MAX_RECORD: usize = 1 << 20;

/// Whether the first lines look like delimited records with a consistent field count.
pub fn looks_like_csv(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&head[..head.len().min(4096)]);
    let mut lines: Vec<&str> = text.lines().take(7).collect();
    if lines.first().is_some_and(|l| sep_directive(l).is_some()) {
        lines.remove(0);
    } else {
        lines.truncate(6);
    }
    if lines.len() < 2 {
        return false;
    }
    let lines = &lines[..lines.len() - 1]; // the last one may be cut off
    let Some(first) = lines.first() else {
        return false;
    };
    let d = delimiter(first);
    let n = split(first, d).len();
    n >= 3 && lines.iter().all(|l| split(l, d).len() == n)
}

/// The delimiter an Excel `sep=X` line names (`sep=;`, `"sep=,"`, `SEP=<tab>`).
fn sep_directive(line: &str) -> Option<u8> {
    let (p, d) = line.trim_matches('"').split_at_checked(4)?;
    match (p.eq_ignore_ascii_case("sep="), d.as_bytes()) {
        (true, &[d]) if (d.is_ascii_punctuation() && d != b'"') || matches!(d, b'\t' | b' ') => {
            Some(d)
        }
        _ => None,
    }
}

fn delimiter(line: &str) -> u8 {
    let mut best = (b',', 0usize);
    for d in [b',', b'\t', b';', b'|'] {
        let n = split(line, d).len();
        if n > best.1 {
            best = (d, n);
        }
    }
    best.0
}

/// Split one record; `None` when a quoted field is still open at the end. Cells are slices of
/// the line unless a doubled quote or text after a closing quote must be joined. `d` is one of the
/// ASCII delimiters [`delimiter`] picks.
fn split_record(line: &str, d: u8) -> Option<Vec<Cow<'_, str>>> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        if b.get(i) != Some(&b'"') {
            let end = memchr::memchr(d, &b[i..]).map_or(b.len(), |k| i + k);
            out.push(Cow::Borrowed(&line[i..end]));
            if end == b.len() {
                return Some(out);
            }
            i = end + 1;
            continue;
        }
        // A quoted cell: `""` stands for one quote; text after the closing quote is kept.
        let mut owned: Option<String> = None;
        let mut seg = i + 1;
        let mut j = i + 1;
        loop {
            let q = j + memchr::memchr(b'"', &b[j..])?;
            if b.get(q + 1) == Some(&b'"') {
                owned
                    .get_or_insert_with(String::new)
                    .push_str(&line[seg..=q]);
                seg = q + 2;
                j = q + 2;
                continue;
            }
            let rest_end = memchr::memchr(d, &b[q + 1..]).map_or(b.len(), |k| q + 1 + k);
            let (inner, rest) = (&line[seg..q], &line[q + 1..rest_end]);
            out.push(match owned {
                None if rest.is_empty() => Cow::Borrowed(inner),
                mut o => {
                    let s = o.get_or_insert_with(String::new);
                    s.push_str(inner);
                    s.push_str(rest);
                    Cow::Owned(std::mem::take(s))
                }
            });
            if rest_end == b.len() {
                return Some(out);
            }
            i = rest_end + 1;
            break;
        }
    }
}

fn split(line: &str, d: u8) -> Vec<Cow<'_, str>> {
    split_record(line, d).unwrap_or_else(|| vec![Cow::Borrowed(line)])
}

/// A header row: mostly non-empty cells that start with a letter and hold no long digit runs.
pub(crate) fn is_header<S: AsRef<str>>(cells: &[S]) -> bool {
    let named = cells
        .iter()
        .filter(|c| {
            let t = c.as_ref().trim();
            t.chars().next().is_some_and(char::is_alphabetic)
                && t.chars().filter(char::is_ascii_digit).count() <= 2
                && t.len() <= 64
        })
        .count();
    named * 10 >= cells.len() * 8
}

/// Lines of one cell or none (a report's title, "Printed: 11/28/2026", a blank line) read before
/// the first row of a table, at most.
pub(crate) const MAX_PREAMBLE: usize = 10;

/// Rows of a table without a header that are looked at to tell what its columns hold.
pub(crate) const PROFILE_ROWS: usize = 32;

/// The table being read: its header and what each column's name says.
#[derive(Default)]
struct Table {
    header: Option<Vec<String>>,
    /// What each column's name says, looked up once per file.
    columns: Vec<Option<Rc<Field>>>,
    row: u64,
    /// A table without a header: its first rows (cells, text, line, record), held until they say
    /// what its columns hold.
    held: Vec<(Vec<String>, String, u64, u64)>,
    profiled: bool,
}

/// What a column of a table without a header holds, told from its values: dates of many
/// different years (ten or more apart) are dates of birth, not of visits; single words most of
/// which are common given names or surnames are names. The name given says so and what it was
/// told from: `column 3 (birth date)`.
pub(crate) fn profile(values: &[&str], column: &str) -> Option<String> {
    use chrono::Datelike;
    if values.len() < 3 {
        return None;
    }
    let most = |n: usize, share: usize| n * 100 >= values.len() * share;
    let this_year = chrono::Local::now().year();
    let years: Vec<i32> = values
        .iter()
        .filter_map(|v| crate::validate::parse_date(v))
        .map(|d| d.year())
        .filter(|y| (1900..=this_year).contains(y))
        .collect();
    if most(years.len(), 80) {
        let (lo, hi) = (years.iter().min()?, years.iter().max()?);
        return (hi - lo >= 10).then(|| format!("column {column} (birth date)"));
    }
    let words = values.iter().filter(|v| {
        v.chars().next().is_some_and(char::is_uppercase)
            && v.chars()
                .all(|c| c.is_alphabetic() || c == '\'' || c == '-')
    });
    if !most(words.clone().count(), 80) {
        return None;
    }
    let first = words.clone().filter(|w| crate::names::is_first(w)).count();
    let last = words.filter(|w| crate::names::is_last(w)).count();
    if most(first, 60) && first >= last {
        Some(format!("column {column} (first name)"))
    } else if most(last, 60) {
        Some(format!("column {column} (last name)"))
    } else {
        None
    }
}

impl Table {
    /// One complete record given as text: split, then [`Table::record`].
    fn record_text(
        &mut self,
        text: &str,
        line: u64,
        d: u8,
        cx: &mut Cx<'_>,
    ) -> Result<(), ExtractError> {
        let cells = split_record(text, d).unwrap_or_else(|| vec![Cow::Borrowed(text)]);
        self.record(cells, text, line, cx)
    }

    /// One complete record, split into `cells` (the header, if it is the first and looks like
    /// one).
    fn record(
        &mut self,
        cells: Vec<Cow<'_, str>>,
        text: &str,
        line: u64,
        cx: &mut Cx<'_>,
    ) -> Result<(), ExtractError> {
        if self.header.is_none() && self.row == 0 {
            self.row += 1;
            let names: Vec<String> = cells.iter().map(|c| c.to_string()).collect();
            if is_header(&names) {
                self.columns = names
                    .iter()
                    .map(|h| {
                        Some(h.trim())
                            .filter(|h| !h.is_empty())
                            .map(|h| cx.field(h))
                    })
                    .collect();
                self.header = Some(names);
                return Ok(());
            }
            self.header = Some(Vec::new());
        } else {
            self.row += 1;
        }
        let hdr = self.header.as_deref().unwrap_or(&[]);
        let record = if hdr.is_empty() {
            self.row
        } else {
            self.row - 1
        };
        if hdr.is_empty() && !self.profiled {
            let cells = cells.iter().map(|c| c.to_string()).collect();
            self.held.push((cells, text.to_string(), line, record));
            if self.held.len() >= PROFILE_ROWS {
                self.finish(cx)?;
            }
            return Ok(());
        }
        self.emit(&cells, text, line, record, cx)
    }

    /// Tell what the held rows' columns hold, then scan them.
    fn finish(&mut self, cx: &mut Cx<'_>) -> Result<(), ExtractError> {
        if std::mem::replace(&mut self.profiled, true) || self.held.is_empty() {
            return Ok(());
        }
        let held = std::mem::take(&mut self.held);
        let width = held.iter().map(|(c, ..)| c.len()).max().unwrap_or(0);
        self.columns = (0..width)
            .map(|i| {
                let values: Vec<&str> = held
                    .iter()
                    .filter_map(|(c, ..)| c.get(i).map(|v| v.trim()))
                    .filter(|v| !v.is_empty())
                    .collect();
                profile(&values, &(i + 1).to_string()).map(|name| cx.field(&name))
            })
            .collect();
        for (cells, text, line, record) in &held {
            let cells: Vec<Cow<'_, str>> =
                cells.iter().map(|c| Cow::Borrowed(c.as_str())).collect();
            self.emit(&cells, text, *line, *record, cx)?;
        }
        Ok(())
    }

    /// Scan one record's cells under their columns.
    fn emit(
        &self,
        cells: &[Cow<'_, str>],
        text: &str,
        line: u64,
        record: u64,
        cx: &mut Cx<'_>,
    ) -> Result<(), ExtractError> {
        let hdr = self.header.as_deref().unwrap_or(&[]);
        if cells.len() == 1 && hdr.len() > 1 {
            return cx.unit(Unit {
                text,
                line: Some(line),
                record: Some(record),
                ..Unit::default()
            });
        }
        for (i, cell) in cells.iter().enumerate() {
            let field = self.columns.get(i).and_then(Option::as_deref);
            cx.unit_in(
                field,
                Unit {
                    text: cell,
                    line: Some(line),
                    record: Some(record),
                    ..Unit::default()
                },
            )?;
        }
        Ok(())
    }
}

/// Scan a CSV/TSV stream. Cells are slices of the record wherever no quote needs undoing.
///
/// Reports exported from practice-management systems put a title, a "printed on" line and a blank
/// line above the table: up to [`MAX_PREAMBLE`] lines of at most one cell before the first row of
/// two or more are read as text, and that row is the header candidate. A file with no such row (a
/// one-column list) is read as a table from its first line after all.
pub fn csv(r: &mut dyn BufRead, name: &str, cx: &mut Cx<'_>) -> Result<(), ExtractError> {
    let mut r = decoded(r)?;
    let mut lines = Lines::new(&mut r, cx.limits.max_line, false);
    let mut table = Table::default();
    let mut delim = if name.to_ascii_lowercase().ends_with(".tsv") {
        Some(b'\t')
    } else {
        None
    };
    // Lines above the table, kept until a row of two or more cells says they were a preamble.
    let mut preamble: Vec<(u64, String)> = Vec::new();
    let mut in_preamble = true;
    // The record being assembled (a quoted field may span lines); reused from row to row.
    let mut pending = String::new();
    let mut pending_line = 0u64;
    while let Some((n, raw)) = lines.next_line()? {
        let line = decode(raw);
        // Excel's `sep=;` first line names the delimiter; it is neither header nor data.
        if n == 1
            && let Some(d) = sep_directive(&line)
        {
            delim = Some(d);
            continue;
        }
        if pending.is_empty() {
            pending_line = n;
        } else {
            pending.push('\n');
        }
        pending.push_str(&line);
        let d = delim.unwrap_or_else(|| delimiter(&pending));
        let cells = match split_record(&pending, d) {
            Some(c) => c,
            None if pending.len() < MAX_RECORD => continue,
            // An unterminated quote: give up on structure for this record.
            None => vec![Cow::Borrowed(pending.as_str())],
        };
        if in_preamble {
            let filled = cells.iter().filter(|c| !c.trim().is_empty()).count();
            if filled <= 1 && preamble.len() < MAX_PREAMBLE {
                drop(cells);
                preamble.push((pending_line, std::mem::take(&mut pending)));
                continue;
            }
            in_preamble = false;
            if filled >= 2 {
                // A table starts here: what came above it was a title.
                for (line, text) in preamble.drain(..) {
                    cx.unit(Unit {
                        text: &text,
                        line: Some(line),
                        ..Unit::default()
                    })?;
                }
            } else {
                // Ten lines of one cell: a one-column table after all.
                for (line, text) in std::mem::take(&mut preamble) {
                    table.record_text(&text, line, d, cx)?;
                }
            }
            delim.get_or_insert(d);
        }
        table.record(cells, &pending, pending_line, cx)?;
        pending.clear();
    }
    let d = delim.unwrap_or(b',');
    for (line, text) in preamble {
        table.record_text(&text, line, d, cx)?;
    }
    table.finish(cx)?;
    if !pending.is_empty() {
        cx.unit(Unit {
            text: &pending,
            line: Some(pending_line),
            ..Unit::default()
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The character-by-character splitter this module used before, as the reference.
    fn reference(line: &str, d: char) -> Option<Vec<String>> {
        let mut out = Vec::new();
        let mut cur = String::new();
        let mut quoted = false;
        let mut chars = line.chars().peekable();
        let mut at_start = true;
        while let Some(c) = chars.next() {
            if quoted {
                if c == '"' {
                    if chars.peek() == Some(&'"') {
                        cur.push('"');
                        chars.next();
                    } else {
                        quoted = false;
                    }
                } else {
                    cur.push(c);
                }
            } else if c == '"' && at_start {
                quoted = true;
                at_start = false;
            } else if c == d {
                out.push(std::mem::take(&mut cur));
                at_start = true;
            } else {
                cur.push(c);
                at_start = false;
            }
        }
        if quoted {
            return None;
        }
        out.push(cur);
        Some(out)
    }

    proptest::proptest! {
        #[test]
        fn splits_like_the_reference(line in "[a,\"\t;|é ]{0,40}", d in proptest::sample::select(vec![b',', b'\t', b';', b'|'])) {
            let ours = split_record(&line, d).map(|v| v.into_iter().map(Cow::into_owned).collect::<Vec<_>>());
            proptest::prop_assert_eq!(ours, reference(&line, char::from(d)));
        }
    }

    #[test]
    fn excel_sep_line_names_the_delimiter() {
        assert_eq!(sep_directive("sep=;"), Some(b';'));
        assert_eq!(sep_directive("\"SEP=,\""), Some(b','));
        assert_eq!(sep_directive("sep=\t"), Some(b'\t'));
        for no in [
            "sep=",
            "sep=;;",
            "sep=a",
            "sep=\"",
            "separator=;",
            "name;dob;ssn",
            "",
        ] {
            assert_eq!(sep_directive(no), None, "{no:?}");
        }
        // The line is neither header nor data: the header below it names the columns.
        let data = "sep=;\r\nLast Name;First Name;DOB;SSN\r\nGarcia;Jose;02/14/1980;536-22-8726\r\n\
                    Smith;John;03/04/1975;536-22-8727\r\n";
        let out = crate::scan_bytes(
            "export.csv",
            data.as_bytes(),
            &crate::ScanOptions::default(),
            &crate::Hasher::with_key([3; 32]),
        )
        .expect("scan");
        let count = |k| out.report.counts.get(&k).copied();
        assert_eq!(count(medguard_model::PhiKind::Name), Some(4));
        assert_eq!(count(medguard_model::PhiKind::Dob), Some(2));
        assert_eq!(out.report.individuals, 2);
        assert!(looks_like_csv(data.as_bytes()));
    }

    /// The findings of a CSV: (kind, value, field, record), sorted.
    fn found(data: &str) -> Vec<(String, String, Option<String>, Option<u64>)> {
        let out = crate::scan_bytes(
            "export.csv",
            data.as_bytes(),
            &crate::ScanOptions {
                unmask: true,
                min_records: 0,
                ..crate::ScanOptions::default()
            },
            &crate::Hasher::with_key([3; 32]),
        )
        .expect("scan");
        let mut v: Vec<_> = out
            .findings
            .iter()
            .map(|f| {
                (
                    f.kind.as_str().to_string(),
                    f.value.clone().unwrap_or_default(),
                    f.location.field.as_deref().map(str::to_string),
                    f.location.record,
                )
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_report_title_above_the_table_is_not_its_header() {
        let table = "Last Name,First Name,DOB,SSN\r\nZorquil,Xochitl,03/14/1962,536-22-8726\r\n\
                     Braumbdre,Ignacio,01/15/1964,536-22-8727\r\n";
        let report =
            format!("Patient Birthday List\r\nPrinted: 11/28/2026 by frontdesk\r\n\r\n{table}");
        let got = found(&report);
        // The same findings, fields and records as the bare table (lines differ).
        assert_eq!(got, found(table));
        assert!(got.contains(&(
            "name".into(),
            "Xochitl".into(),
            Some("First Name".into()),
            Some(1)
        )));
        assert_eq!(got.iter().filter(|f| f.0 == "dob").count(), 2);
        // The title is still read: a name in it is found.
        let titled = format!("Recall list for Maria Gonzalez\r\n\r\n{table}");
        assert!(found(&titled).iter().any(|f| f.1 == "Maria Gonzalez"));
        // A one-column list is a table from its first line, short or long.
        for n in [2, 15] {
            let list = format!("Name\n{}", "Xochitl Zorquil\n".repeat(n));
            let names = found(&list);
            assert_eq!(names.len(), n, "{names:?}");
            assert!(names.iter().all(|f| f.2.as_deref() == Some("Name")));
        }
    }

    #[test]
    fn a_table_without_header_is_told_by_its_values() {
        let people = [
            ("Smith", "John", "02/14/1980"),
            ("Johnson", "Mary", "03/04/1962"),
            ("Williams", "Robert", "12/01/1999"),
            ("Brown", "Patricia", "07/04/1971"),
            ("Garcia", "Xochitl", "11/30/2015"),
        ];
        let rows = |n: usize| -> String {
            (0..n)
                .map(|i| {
                    let (last, first, dob) = people[i % people.len()];
                    format!("{last},{first},{dob},11/{:02}/2026,10{i:04}\n", i % 28 + 1)
                })
                .collect()
        };
        // Forty rows: the first 32 tell the columns, the rest are read under them too.
        let got = found(&rows(40));
        let under = |field: &str| got.iter().filter(|f| f.2.as_deref() == Some(field)).count();
        assert_eq!(under("column 3 (birth date)"), 40, "{got:?}");
        assert_eq!(under("column 1 (last name)"), 40);
        assert_eq!(under("column 2 (first name)"), 40);
        assert!(got.contains(&(
            "dob".into(),
            "11/30/2015".into(),
            Some("column 3 (birth date)".into()),
            Some(40)
        )));
        // The visit dates, all of this year, are no birth dates.
        assert!(!got.iter().any(|f| f.1.ends_with("/2026")), "{got:?}");
        // Two rows say nothing about their columns.
        assert!(found(&rows(2)).iter().all(|f| f.2.is_none()));
    }

    #[test]
    fn the_provider_of_a_visit_is_no_patient() {
        let visits = "visit_date,diagnosis,provider\n2026-11-02,E11.9,Gregory House\n\
                      2026-11-03,K02.52,Gregory House\n2026-11-04,I10,Lisa Cuddy\n";
        let out = crate::scan_bytes(
            "visits.csv",
            visits.as_bytes(),
            &crate::ScanOptions::default(),
            &crate::Hasher::with_key([3; 32]),
        )
        .expect("scan");
        // The names are reported; they count no patient.
        assert_eq!(
            out.report.counts.get(&medguard_model::PhiKind::Name),
            Some(&3)
        );
        assert_eq!(out.report.individuals, 0);
        let patients = format!("patient,{visits}").replace("\n2026", "\nMaria Gonzalez,2026");
        let out = crate::scan_bytes(
            "visits.csv",
            patients.as_bytes(),
            &crate::ScanOptions::default(),
            &crate::Hasher::with_key([3; 32]),
        )
        .expect("scan");
        assert_eq!(out.report.individuals, 3);
    }

    #[test]
    fn quoted_fields() {
        let owned = |line| {
            split_record(line, b',').map(|v| v.into_iter().map(Cow::into_owned).collect::<Vec<_>>())
        };
        assert_eq!(
            owned(r#"a,"b,c","d""e""#),
            Some(vec!["a".to_string(), "b,c".into(), "d\"e".into()])
        );
        assert_eq!(owned("a,\"open"), None);
        assert!(looks_like_csv(b"a,b,c\n1,2,3\n4,5,6\n"));
        assert!(!looks_like_csv(b"Dear Mr. Smith, thanks.\nSee you soon.\n"));
    }
}
