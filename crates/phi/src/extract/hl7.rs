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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_and_escapes() {
        let d = Delims::from_header("MSH|^~\\&|APP").expect("delims");
        assert_eq!(d, Delims::default());
        assert_eq!(d.unescape("A\\F\\B\\S\\C"), "A|B^C");
        assert_eq!(d.unescape("x\\X41\\y"), "xAy");
    }
}
