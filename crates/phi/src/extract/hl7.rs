//! HL7 v2 messages: delimiters from MSH, escapes decoded, fields addressed by position (`PID-7`).
//! Person fields are reduced to the components that carry the identifier (CX id, XPN family/given,
//! XAD street, XTN number) so structure decides what each value is.

use super::text::{Lines, decode, decoded};
use super::{Cx, ExtractError, Field, Unit};
use std::borrow::Cow;
use std::collections::HashMap;
use std::io::BufRead;
use std::rc::Rc;

/// The delimiters a message declares in MSH-1/MSH-2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delims {
    pub field: char,
    pub component: char,
    pub repetition: char,
    pub escape: char,
    pub sub: char,
}

impl Default for Delims {
    fn default() -> Self {
        Delims {
            field: '|',
            component: '^',
            repetition: '~',
            escape: '\\',
            sub: '&',
        }
    }
}

impl Delims {
    /// Read the delimiters from an MSH (or FHS/BHS) segment.
    pub fn from_header(seg: &str) -> Option<Delims> {
        let mut c = seg.chars().skip(3);
        let field = c.next()?;
        let enc: Vec<char> = c.take_while(|&ch| ch != field).take(4).collect();
        let d = Delims::default();
        Some(Delims {
            field,
            component: enc.first().copied().unwrap_or(d.component),
            repetition: enc.get(1).copied().unwrap_or(d.repetition),
            escape: enc.get(2).copied().unwrap_or(d.escape),
            sub: enc.get(3).copied().unwrap_or(d.sub),
        })
    }

    /// Decode HL7 escape sequences (`\F\`, `\S\`, `\T\`, `\R\`, `\E\`, `\.br\`, `\Xhh\`).
    pub fn unescape<'s>(&self, s: &'s str) -> Cow<'s, str> {
        if !s.contains(self.escape) {
            return Cow::Borrowed(s);
        }
        let mut out = String::with_capacity(s.len());
        let mut parts = s.split(self.escape);
        if let Some(first) = parts.next() {
            out.push_str(first);
        }
        let mut in_esc = true;
        for p in parts {
            if in_esc {
                match p {
                    "F" => out.push(self.field),
                    "S" => out.push(self.component),
                    "T" => out.push(self.sub),
                    "R" => out.push(self.repetition),
                    "E" => out.push(self.escape),
                    ".br" => out.push('\n'),
                    x if x.starts_with('X') => {
                        if let Ok(b) = hex::decode(&x[1..]) {
                            out.push_str(&String::from_utf8_lossy(&b));
                        }
                    }
                    _ => {}
                }
            } else {
                out.push_str(p);
            }
            in_esc = !in_esc;
        }
        Cow::Owned(out)
    }
}

/// Which components of a field carry the identifier.
fn components_for(seg: &str, n: usize) -> &'static [usize] {
    match (seg, n) {
        // XPN: family^given^middle
        ("PID", 5) | ("PID", 6) | ("PID", 9) | ("NK1", 2) | ("GT1", 3) | ("IN1", 16) => &[0, 1, 2],
        // XCN: id^family^given
        ("PV1", 7) | ("PV1", 8) | ("PV1", 9) => &[1, 2],
        // XAD: street^other^city
        ("PID", 11) | ("NK1", 4) | ("GT1", 5) | ("IN1", 19) => &[0],
        // CX / CE / XTN / TS: first component
        _ => &[0],
    }
}

/// What each field (segment name, field number) says, looked up once per file: a message log
/// repeats the same few dozen fields thousands of times.
type FieldMemo = HashMap<([u8; 3], usize), Rc<Field>, foldhash::fast::RandomState>;

/// One segment of a message: emit its fields as units.
fn segment(
    seg: &str,
    d: &Delims,
    (record, line): (u64, u64),
    memo: &mut FieldMemo,
    cx: &mut Cx<'_>,
) -> Result<(), ExtractError> {
    let mut fields = seg.split(d.field);
    let Some(name) = fields.next() else {
        return Ok(());
    };
    let key: Option<[u8; 3]> = name.as_bytes().try_into().ok();
    let Some(key) = key.filter(|k| {
        k.iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    }) else {
        // Not a segment: free text (a note continued on a new line).
        return cx.unit(Unit {
            text: seg,
            line: Some(line),
            record: Some(record),
            ..Unit::default()
        });
    };
    // MSH-1 is the field separator itself, so MSH fields are numbered one higher.
    let offset = if name == "MSH" || name == "FHS" || name == "BHS" {
        2
    } else {
        1
    };
    // One value buffer for the whole segment.
    let mut value = String::new();
    for (i, raw) in fields.enumerate() {
        if raw.is_empty() || (offset == 2 && i == 0) {
            continue;
        }
        let n = i + offset;
        let field = match memo.get(&(key, n)) {
            Some(f) => Rc::clone(f),
            None => {
                let mut label = String::with_capacity(8);
                label.push_str(name);
                label.push('-');
                push_number(&mut label, n);
                let f = cx.field(&label);
                memo.insert((key, n), Rc::clone(&f));
                f
            }
        };
        let known = field.class().is_some();
        let picks = components_for(name, n);
        for rep in raw.split(d.repetition) {
            let plain = !rep.contains([d.component, d.sub, d.escape]);
            let text: &str = if plain && (!known || picks.contains(&0)) {
                // Nothing to split or unescape: the repetition is the text (no copy).
                rep
            } else if plain {
                // A lone component the field does not carry its identifier in (XCN id).
                ""
            } else if known {
                value.clear();
                for (c, comp) in rep.split(d.component).enumerate() {
                    if !picks.contains(&c) {
                        continue;
                    }
                    let comp: Cow<'_, str> = if comp.contains(d.sub) {
                        Cow::Owned(d.unescape(&comp.replace(d.sub, " ")).into_owned())
                    } else {
                        d.unescape(comp)
                    };
                    if comp.is_empty() {
                        continue;
                    }
                    if !value.is_empty() {
                        value.push(' ');
                    }
                    value.push_str(&comp);
                }
                &value
            } else {
                value.clear();
                value.push_str(&d.unescape(&rep.replace([d.component, d.sub], " ")));
                &value
            };
            cx.unit_in(
                Some(&field),
                Unit {
                    text,
                    line: Some(line),
                    record: Some(record),
                    ..Unit::default()
                },
            )?;
        }
    }
    Ok(())
}

/// Decimal digits of `n` (field numbers), without the `fmt` machinery.
fn push_number(s: &mut String, n: usize) {
    if n >= 10 {
        push_number(s, n / 10);
    }
    s.push(char::from(b'0' + (n % 10) as u8));
}

/// A stream of HL7 v2 messages (segments separated by CR, LF or CRLF; MLLP framing tolerated).
pub fn hl7(r: &mut dyn BufRead, cx: &mut Cx<'_>) -> Result<(), ExtractError> {
    let mut r = decoded(r)?;
    let mut lines = Lines::new(&mut r, cx.limits.max_line, true);
    let mut delims = Delims::default();
    let mut record = 0u64;
    let mut memo = FieldMemo::default();
    while let Some((n, raw)) = lines.next_line()? {
        let text = decode(raw);
        let seg = text.trim_matches(|c| c == '\x0b' || c == '\x1c' || c == '\u{feff}');
        if seg.is_empty() {
            continue;
        }
        if seg.starts_with("MSH") {
            record += 1;
            if let Some(d) = Delims::from_header(seg) {
                delims = d;
            }
        }
        segment(seg, &delims, (record.max(1), n), &mut memo, cx)?;
    }
    Ok(())
}

/// Segments that carry a person or a clinical fact: where one starts in a line of text (after a
/// log's time stamp and level), the line holds HL7.
const EMBEDDED: [&[u8; 3]; 15] = [
    b"MSH", b"PID", b"PD1", b"NK1", b"GT1", b"IN1", b"IN2", b"PV1", b"PV2", b"OBR", b"OBX", b"DG1",
    b"AL1", b"MRG", b"EVN",
];

/// Where an HL7 segment starts in `text`: a segment name of [`EMBEDDED`] and its field separator
/// `|`, at the start or after a character that cannot be part of a word.
fn segment_start(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    memchr::memchr_iter(b'|', b).find_map(|i| {
        let at = i.checked_sub(3)?;
        let name = b.get(at..i)?;
        let alone = at == 0 || !b[at - 1].is_ascii_alphanumeric();
        (alone && EMBEDDED.iter().any(|e| e[..] == *name)).then_some(at)
    })
}

/// HL7 v2 messages inside text: an interface engine's log ("2026-11-28 10:00:01 INFO Received:
/// MSH|^~\&|..." with the message's segments after carriage returns or on the lines after it, a
/// failed send quoting one segment). The text before the first segment stays text; each message
/// is a record, a segment quoted alone in a line its own.
#[derive(Default)]
pub struct Embedded {
    delims: Delims,
    record: u64,
    memo: FieldMemo,
    /// The line before held a message, which a line starting with a segment continues.
    open: bool,
}

impl Embedded {
    /// Read the HL7 in `text` (line `n`); `false` when it holds none (the line is text).
    pub fn line(&mut self, text: &str, n: u64, cx: &mut Cx<'_>) -> Result<bool, ExtractError> {
        let Some(at) = segment_start(text) else {
            self.open = false;
            return Ok(false);
        };
        let (before, rest) = text.split_at(at);
        if !before.trim().is_empty() {
            cx.unit(Unit {
                text: before,
                line: Some(n),
                ..Unit::default()
            })?;
        }
        if !(self.open && at == 0) || rest.starts_with("MSH") {
            self.record += 1;
            self.delims = Delims::default();
        }
        for seg in rest.split(['\r', '\n']) {
            let seg = seg.trim_matches(|c| c == '\x0b' || c == '\x1c');
            if seg.is_empty() {
                continue;
            }
            if seg.starts_with("MSH")
                && let Some(d) = Delims::from_header(seg)
            {
                self.delims = d;
            }
            segment(seg, &self.delims, (self.record, n), &mut self.memo, cx)?;
        }
        self.open = true;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_start_only_where_a_segment_can() {
        assert_eq!(segment_start("INFO Received: MSH|^~\\&|A"), Some(15));
        assert_eq!(segment_start("PID|1||x"), Some(0));
        // Inside a word, or a name no segment has: text.
        assert_eq!(segment_start("RAPID|fast"), None);
        assert_eq!(segment_start("| a | table | XYZ| row |"), None);
        assert_eq!(segment_start("no pipes at all"), None);
    }

    #[test]
    fn a_message_continued_on_the_next_lines_is_one_record() {
        let data = "10:00:01 INFO Received for Patient Maria Gonzalez: MSH|^~\\&|A|B|C|D|202611281000||ADT^A04|1|P|2.5\n\
                    PID|1||0601648^^^SFD^MR||ZORQUIL^XOCHITL||19800214\n\
                    NK1|1|ZORQUIL^MARIA|MTH\n\
                    10:00:02 INFO done\n\
                    PID|1||0601649^^^SFD^MR||NIXYSO^YSOGRA||19620314\n";
        let opts = crate::ScanOptions {
            unmask: true,
            min_records: 0,
            ..crate::ScanOptions::default()
        };
        let o = crate::scan_bytes(
            "a.log",
            data.as_bytes(),
            &opts,
            &crate::Hasher::with_key([1; 32]),
        )
        .expect("scan");
        let at = |v: &str| {
            o.findings
                .iter()
                .find(|f| f.value.as_deref() == Some(v))
                .map(|f| {
                    (
                        f.location.field.as_deref().unwrap_or_default().to_string(),
                        f.location.record,
                    )
                })
        };
        // The log's own text before the message stays text.
        assert_eq!(at("Maria Gonzalez"), Some((String::new(), None)));
        assert_eq!(at("ZORQUIL XOCHITL"), Some(("PID-5".into(), Some(1))));
        assert_eq!(at("ZORQUIL MARIA"), Some(("NK1-2".into(), Some(1))));
        // After a line of text, a segment starts a message of its own.
        assert_eq!(at("NIXYSO YSOGRA"), Some(("PID-5".into(), Some(2))));
        // Two messages, and the name the log's text gives.
        assert_eq!(o.report.individuals, 3);
    }

    #[test]
    fn delimiters_and_escapes() {
        let d = Delims::from_header("MSH|^~\\&|APP").expect("delims");
        assert_eq!(d, Delims::default());
        assert_eq!(d.unescape("A\\F\\B\\S\\C"), "A|B^C");
        assert_eq!(d.unescape("x\\X41\\y"), "xAy");
    }
}
