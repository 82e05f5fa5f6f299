//! JSON (RFC 8259), streaming: FHIR resources and bundles, exports, JSON Lines. Memory holds the
//! keys of the open containers and one string piece at a time, never the document, so a 5 GB
//! export is read like a 5 KB one. Key paths are the context of the values under them.
//!
//! The reader is lenient where a scanner should be: a BOM or UTF-16 is decoded, invalid UTF-8 in
//! a string is replaced, control characters and unknown escapes are kept, and a syntax error costs
//! only the rest of its line (read as text, with a warning): the values before it are scanned, and
//! reading goes on with the next line (JSON Lines with one broken record, a truncated export).

use super::text::decoded;
use super::{Cx, ExtractError, Unit};
use medguard_model::PhiProblem;
use std::io::{BufRead, Read};

/// Deepest nesting whose values are scanned; deeper containers are read past.
const MAX_NESTING: usize = 256;
/// Deepest nesting read at all: past it the line counts as broken (a file of `[[[[...` costs no
/// memory).
const MAX_DEPTH: usize = 4 * MAX_NESTING;
/// Longest key kept (the field name of the values under it); the rest is read past.
const MAX_KEY: usize = 1024;
/// Longest FHIR `system`, code or `value` kept for the object's end; longer ones are not an
/// identifier's.
const MAX_PENDING: usize = 4096;
/// Longest number kept.
const MAX_NUMBER: usize = 1024;

/// What a FHIR `identifier`/`telecom` object is, from its `system` and `type.coding[0].code`.
fn fhir_field(system: &str, code: &str) -> Option<&'static str> {
    let s = system.to_ascii_lowercase();
    Some(match (code, s.as_str()) {
        ("MR", _) => "mrn",
        ("SS", _) => "ssn",
        ("MB", _) | ("MA", _) | ("SN", _) => "memberid",
        ("MC", _) => "medicare",
        ("NPI", _) | ("PRN", _) => "npi",
        ("DEA", _) => "dea",
        (_, s) if s.contains("us-ssn") || s.ends_with("ssn") => "ssn",
        (_, s) if s.contains("us-npi") => "npi",
        (_, s) if s.contains("us-mbi") || s.contains("medicare") => "medicare",
        (_, "phone") | (_, "fax") | (_, "sms") => "phone",
        (_, "email") => "email",
        (_, s) if s.contains("mrn") || s.contains("patient") => "mrn",
        _ => return None,
    })
}

/// Scan one value's text: each line is a unit whose field is the key, or `parent.key` when the
/// key alone says nothing ("line" under "address", "given" under "name").
fn emit(
    s: &str,
    key: Option<&str>,
    parent: Option<&str>,
    record: Option<u64>,
    cx: &mut Cx<'_>,
) -> Result<(), ExtractError> {
    // The name is built in a buffer the context lends out, not allocated per value.
    let mut field = std::mem::take(&mut cx.field_buf);
    field.clear();
    match (key, parent) {
        (Some(k), Some(p)) if cx.field_class(k).is_none() => {
            field.push_str(p);
            field.push('.');
            field.push_str(k);
        }
        (Some(k), _) => field.push_str(k),
        (None, _) => {}
    }
    let named = (!field.is_empty()).then_some(field.as_str());
    let result = cx.lines(
        s,
        Unit {
            field: named,
            record,
            ..Unit::default()
        },
    );
    cx.field_buf = field;
    result
}

/// Bytes from the input, buffered here so the lexer looks at one byte without a call through
/// the reader; counts the line breaks it passes.
struct Src<'r> {
    r: &'r mut dyn Read,
    buf: Box<[u8]>,
    pos: usize,
    end: usize,
    /// 1-based line of the next byte.
    line: u64,
}

impl Src<'_> {
    fn peek(&mut self) -> std::io::Result<Option<u8>> {
        if self.pos == self.end {
            self.refill()?;
        }
        Ok(self
            .buf
            .get(self.pos)
            .copied()
            .filter(|_| self.pos < self.end))
    }

    fn refill(&mut self) -> std::io::Result<()> {
        self.pos = 0;
        self.end = 0;
        loop {
            match self.r.read(&mut self.buf) {
                Ok(n) => {
                    self.end = n;
                    return Ok(());
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// The next byte that is not white space.
    fn skip_ws(&mut self) -> std::io::Result<Option<u8>> {
        loop {
            if self.pos == self.end {
                self.refill()?;
                if self.end == 0 {
                    return Ok(None);
                }
            }
            let rest = &self.buf[self.pos..self.end];
            match rest
                .iter()
                .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
            {
                Some(i) => {
                    self.line += memchr::memchr_iter(b'\n', &rest[..i]).count() as u64;
                    self.pos += i;
                    return Ok(Some(rest[i]));
                }
                None => {
                    self.line += memchr::memchr_iter(b'\n', rest).count() as u64;
                    self.pos = self.end;
                }
            }
        }
    }

    /// Read a string's bytes after its opening quote into `out`, unescaped, until the closing
    /// quote or until `out` holds `cap` bytes. True when the string is complete.
    fn string(&mut self, out: &mut Vec<u8>, cap: usize) -> Result<bool, Broken> {
        loop {
            if out.len() >= cap {
                return Ok(false);
            }
            if self.pos == self.end {
                self.refill()?;
                if self.end == 0 {
                    return Err(Broken::Eof);
                }
            }
            let room = cap - out.len();
            let rest = &self.buf[self.pos..self.end.min(self.pos + room)];
            match memchr::memchr2(b'"', b'\\', rest) {
                None => {
                    out.extend_from_slice(rest);
                    self.line += memchr::memchr_iter(b'\n', rest).count() as u64;
                    self.pos += rest.len();
                }
                Some(i) => {
                    out.extend_from_slice(&rest[..i]);
                    self.line += memchr::memchr_iter(b'\n', &rest[..i]).count() as u64;
                    let quote = rest[i] == b'"';
                    self.pos += i + 1;
                    if quote {
                        return Ok(true);
                    }
                    self.escape(out)?;
                }
            }
        }
    }

    /// One escape after its backslash (RFC 8259, 7); an unknown one is kept as written.
    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), Broken> {
        let c = self.next()?;
        let b = match c {
            b'"' | b'\\' | b'/' => c,
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let mut u = u32::from(self.hex4()?);
                // A high surrogate takes the low one after it; a lone one becomes U+FFFD.
                if (0xD800..0xDC00).contains(&u) && self.peek()? == Some(b'\\') {
                    self.pos += 1;
                    if self.next()? != b'u' {
                        return Err(Broken::Syntax("a \\u escape expected"));
                    }
                    let lo = u32::from(self.hex4()?);
                    u = if (0xDC00..0xE000).contains(&lo) {
                        0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00)
                    } else {
                        0xFFFD
                    };
                }
                let ch = char::from_u32(u).unwrap_or('\u{FFFD}');
                let mut tmp = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
                return Ok(());
            }
            other => {
                out.push(b'\\');
                other
            }
        };
        out.push(b);
        Ok(())
    }

    fn next(&mut self) -> Result<u8, Broken> {
        let b = self.peek()?.ok_or(Broken::Eof)?;
        self.pos += 1;
        Ok(b)
    }

    fn hex4(&mut self) -> Result<u16, Broken> {
        let mut v = 0u16;
        for _ in 0..4 {
            let d = char::from(self.next()?)
                .to_digit(16)
                .ok_or(Broken::Syntax("four hex digits expected after \\u"))?;
            v = (v << 4) | d as u16;
        }
        Ok(v)
    }

    /// The bytes of a number or a literal (`true`, `false`, `null`), at most `cap` kept.
    fn word(&mut self, out: &mut Vec<u8>, cap: usize) -> std::io::Result<()> {
        out.clear();
        while let Some(b) = self.peek()? {
            if !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.')) {
                break;
            }
            if out.len() < cap {
                out.push(b);
            }
            self.pos += 1;
        }
        Ok(())
    }

    /// The rest of the current line (at most `cap` bytes kept), consuming its line break.
    fn rest_of_line(&mut self, out: &mut Vec<u8>, cap: usize) -> std::io::Result<()> {
        out.clear();
        loop {
            if self.pos == self.end {
                self.refill()?;
                if self.end == 0 {
                    return Ok(());
                }
            }
            let rest = &self.buf[self.pos..self.end];
            let (take, done) = match memchr::memchr(b'\n', rest) {
                Some(i) => (i, true),
                None => (rest.len(), false),
            };
            let keep = take.min(cap.saturating_sub(out.len()));
            out.extend_from_slice(&rest[..keep]);
            self.pos += take;
            if done {
                self.pos += 1;
                self.line += 1;
                return Ok(());
            }
        }
    }
}

/// Why reading stopped inside a value.
#[derive(Debug)]
enum Broken {
    Io(std::io::Error),
    Eof,
    Syntax(&'static str),
}

impl From<std::io::Error> for Broken {
    fn from(e: std::io::Error) -> Self {
        Broken::Io(e)
    }
}

/// An open object or array.
#[derive(Default)]
struct Frame {
    array: bool,
    /// Nothing under it is scanned (`resourceType`, `system`, too deep).
    skip: bool,
    /// The key it sits under as its values see it (when `has_key`), and the key above that.
    key: String,
    has_key: bool,
    parent: String,
    has_parent: bool,
    record: Option<u64>,
    /// Arrays: each element is a record (`entry`, a top-level array); the element being read.
    records_here: bool,
    index: u64,
    /// Objects: the member being read.
    member: String,
    /// Objects: FHIR `system` and `type.coding[0].code` seen so far, and the `value` members
    /// waiting for them (they decide what a value is, and may come after it).
    system: String,
    code: String,
    pending: Vec<String>,
}

impl Frame {
    fn key(&self) -> Option<&str> {
        self.has_key.then_some(self.key.as_str())
    }

    /// What the object's `value` members are, from its FHIR `system` and `type`.
    fn value_key(&self) -> &str {
        let special = if self.system.is_empty() && self.code.is_empty() {
            None
        } else {
            fhir_field(&self.system, &self.code)
        };
        special.or(self.key()).unwrap_or("value")
    }

    /// The key and parent key of a value read now inside this container: an array passes its
    /// own on, an object names the member (`value` by its FHIR system and type).
    fn names(&self) -> (Option<&str>, Option<&str>) {
        if self.array {
            return (self.key(), self.has_parent.then_some(self.parent.as_str()));
        }
        let key = match self.member.as_str() {
            "value" => self.value_key(),
            m => m,
        };
        (Some(key), self.key())
    }
}

/// The object member a value is read for, where its name matters.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Member {
    None,
    Other,
    /// FHIR: what the object's `value` is (not scanned).
    System,
    /// FHIR: what the object is; not scanned.
    ResourceType,
    Value,
    /// `type.coding[0].code` names an identifier's type.
    Code,
    /// A FHIR bundle's entries: one record each.
    Entry,
}

/// Where a value sits: its record, whether it is scanned, the member it is read for.
#[derive(Clone, Copy, Debug)]
struct Place {
    record: Option<u64>,
    skip: bool,
    member: Member,
}

/// What the parser expects next.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    /// A top-level value (or the end).
    Top,
    /// A value inside a container.
    Value,
    /// After `{`: a key or `}`.
    FirstKey,
    /// After `,` in an object.
    Key,
    Colon,
    /// After a value.
    CommaOrClose,
    /// After `[`: a value or `]`.
    FirstElement,
}

/// The streaming walker: a stack of open containers, reused from value to value.
struct Walker {
    frames: Vec<Frame>,
    depth: usize,
    /// Top-level values read so far.
    tops: u64,
    sbuf: Vec<u8>,
    /// Tokens read, for the deadline.
    tokens: u64,
    /// Syntax errors met, and the first one.
    broken: u64,
    first_error: Option<String>,
}

/// Scan a JSON document or JSON Lines, streaming.
pub fn json(r: &mut dyn BufRead, cx: &mut Cx<'_>) -> Result<(), ExtractError> {
    let mut input = decoded(r)?;
    let mut src = Src {
        r: &mut input,
        buf: vec![0u8; 64 << 10].into_boxed_slice(),
        pos: 0,
        end: 0,
        line: 1,
    };
    let mut w = Walker {
        frames: Vec::new(),
        depth: 0,
        tops: 0,
        sbuf: Vec::new(),
        tokens: 0,
        broken: 0,
        first_error: None,
    };
    loop {
        match w.run(&mut src, cx) {
            Ok(()) => break,
            Err(Walk::Extract(e)) => return Err(e),
            Err(Walk::Broken(Broken::Io(e))) => return Err(e.into()),
            Err(Walk::Broken(Broken::Eof)) => {
                w.note_error(src.line, "the document ends inside a value");
                break;
            }
            Err(Walk::Broken(Broken::Syntax(why))) => {
                // The rest of the line is read as text; the next line starts afresh.
                w.note_error(src.line, why);
                w.close_all(cx)?;
                let line = src.line;
                let mut rest = std::mem::take(&mut w.sbuf);
                src.rest_of_line(&mut rest, cx.limits.max_line)?;
                let r = cx.unit(Unit {
                    text: String::from_utf8_lossy(&rest).trim(),
                    line: Some(line),
                    ..Unit::default()
                });
                w.sbuf = rest;
                r?;
            }
        }
    }
    w.close_all(cx)?;
    if let Some(first) = w.first_error {
        let more = match w.broken {
            0 | 1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        let text = format!(
            "json: {first}{more}; what came before was scanned, and the rest of a broken line as \
             text"
        );
        cx.warn(PhiProblem::Unreadable, text);
    }
    Ok(())
}

/// Why a walk stopped.
enum Walk {
    Extract(ExtractError),
    Broken(Broken),
}

impl From<ExtractError> for Walk {
    fn from(e: ExtractError) -> Self {
        Walk::Extract(e)
    }
}

impl From<Broken> for Walk {
    fn from(e: Broken) -> Self {
        Walk::Broken(e)
    }
}

impl From<std::io::Error> for Walk {
    fn from(e: std::io::Error) -> Self {
        Walk::Broken(Broken::Io(e))
    }
}

impl Walker {
    fn note_error(&mut self, line: u64, why: &str) {
        self.broken += 1;
        if self.first_error.is_none() {
            self.first_error = Some(format!("line {line}: {why}"));
        }
    }

    fn top(&self) -> Option<&Frame> {
        self.depth.checked_sub(1).and_then(|i| self.frames.get(i))
    }

    fn top_mut(&mut self) -> Option<&mut Frame> {
        self.depth
            .checked_sub(1)
            .and_then(|i| self.frames.get_mut(i))
    }

    /// The key and parent key of a value read now.
    fn names(&self) -> (Option<&str>, Option<&str>) {
        self.top().map_or((None, None), Frame::names)
    }

    /// Close every open container (their waiting values are scanned).
    fn close_all(&mut self, cx: &mut Cx<'_>) -> Result<(), ExtractError> {
        while self.depth > 0 {
            self.close(cx)?;
        }
        Ok(())
    }

    /// Where the next value in the current container sits.
    fn place(&self) -> Place {
        let Some(f) = self.top() else {
            return Place {
                record: Some(1),
                skip: false,
                member: Member::None,
            };
        };
        let too_deep = self.depth > MAX_NESTING;
        if f.array {
            return Place {
                record: if f.records_here {
                    Some(f.index + 1)
                } else {
                    f.record
                },
                skip: f.skip || too_deep,
                member: Member::None,
            };
        }
        let member = match f.member.as_str() {
            "system" => Member::System,
            "resourceType" => Member::ResourceType,
            "value" => Member::Value,
            "code" => Member::Code,
            "entry" => Member::Entry,
            _ => Member::Other,
        };
        Place {
            record: f.record,
            skip: f.skip || too_deep || matches!(member, Member::System | Member::ResourceType),
            member,
        }
    }

    fn push(&mut self, array: bool, place: Place, records_here: bool) -> Result<(), Broken> {
        if self.depth >= MAX_DEPTH {
            return Err(Broken::Syntax("nested too deep"));
        }
        if self.frames.len() == self.depth {
            self.frames.push(Frame::default());
        }
        let (below, above) = self.frames.split_at_mut(self.depth);
        let Some(f) = above.first_mut() else {
            return Err(Broken::Syntax("nested too deep"));
        };
        let (key, parent) = below.last().map_or((None, None), Frame::names);
        f.has_key = key.is_some();
        f.key.clear();
        f.key.push_str(key.unwrap_or(""));
        f.has_parent = parent.is_some();
        f.parent.clear();
        f.parent.push_str(parent.unwrap_or(""));
        f.array = array;
        f.skip = place.skip;
        f.record = place.record;
        f.records_here = records_here;
        f.index = 0;
        f.member.clear();
        f.system.clear();
        f.code.clear();
        f.pending.clear();
        self.depth += 1;
        Ok(())
    }

    /// Close the innermost container: its `value` members are scanned now that its `system`
    /// and `type` are known.
    fn close(&mut self, cx: &mut Cx<'_>) -> Result<(), ExtractError> {
        let Some(i) = self.depth.checked_sub(1) else {
            return Ok(());
        };
        self.depth = i;
        let Some(f) = self.frames.get_mut(i) else {
            return Ok(());
        };
        if f.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut f.pending);
        let (key, parent) = (f.value_key(), f.key());
        let r = pending
            .iter()
            .try_for_each(|v| emit(v, Some(key), parent, f.record, cx));
        f.pending = pending;
        r
    }

    /// The `type.coding[0].code` pattern: `code` in the first element of `coding` in the
    /// object under `type`; the object holding `type` is the one it describes.
    fn code_owner(&self) -> Option<usize> {
        let d = self.depth;
        let at = |back: usize| d.checked_sub(back).and_then(|i| self.frames.get(i));
        let (c, a, t, f) = (at(1)?, at(2)?, at(3)?, at(4)?);
        (!c.array
            && c.member == "code"
            && a.array
            && a.index == 0
            && !t.array
            && t.member == "coding"
            && !f.array
            && f.member == "type")
            .then_some(d - 4)
    }

    /// Read until the input ends.
    fn run(&mut self, src: &mut Src<'_>, cx: &mut Cx<'_>) -> Result<(), Walk> {
        let mut expect = Expect::Top;
        loop {
            self.tokens += 1;
            if self.tokens.is_multiple_of(65536) {
                cx.check_deadline()?;
            }
            let Some(b) = src.skip_ws()? else {
                return if self.depth == 0 {
                    Ok(())
                } else {
                    Err(Broken::Eof.into())
                };
            };
            if expect == Expect::CommaOrClose && self.depth == 0 {
                // After a top-level value: the next one (JSON Lines).
                expect = Expect::Top;
            }
            match expect {
                Expect::Top | Expect::Value | Expect::FirstElement => {
                    if expect == Expect::FirstElement && b == b']' {
                        src.pos += 1;
                        self.close(cx)?;
                        expect = Expect::CommaOrClose;
                        continue;
                    }
                    let mut place = self.place();
                    let mut records_here = place.member == Member::Entry;
                    if expect == Expect::Top {
                        // A top-level array holds records; later values (JSON Lines) are one
                        // record each, numbered by line.
                        self.tops += 1;
                        if self.tops == 1 && b == b'[' {
                            place.record = None;
                            records_here = true;
                        } else {
                            place.record = Some(src.line);
                        }
                    }
                    expect = self.value(b, place, records_here, src, cx)?;
                }
                Expect::FirstKey | Expect::Key => {
                    src.pos += 1;
                    match b {
                        b'}' if expect == Expect::FirstKey => {
                            self.close(cx)?;
                            expect = Expect::CommaOrClose;
                        }
                        b'"' => {
                            let mut key = std::mem::take(&mut self.sbuf);
                            key.clear();
                            let r = src.string(&mut key, MAX_KEY);
                            let r = match r {
                                Ok(false) => skip_string(src),
                                Ok(true) => Ok(()),
                                Err(e) => Err(e),
                            };
                            if let Some(f) = self.top_mut() {
                                f.member.clear();
                                f.member.push_str(&String::from_utf8_lossy(&key));
                            }
                            self.sbuf = key;
                            r?;
                            expect = Expect::Colon;
                        }
                        _ => return Err(Broken::Syntax("a key expected").into()),
                    }
                }
                Expect::Colon => {
                    src.pos += 1;
                    if b != b':' {
                        return Err(Broken::Syntax("':' expected after a key").into());
                    }
                    expect = Expect::Value;
                }
                Expect::CommaOrClose => {
                    src.pos += 1;
                    let array = self.top().is_some_and(|f| f.array);
                    match b {
                        b',' if array => {
                            if let Some(f) = self.top_mut() {
                                f.index += 1;
                            }
                            expect = Expect::Value;
                        }
                        b',' => expect = Expect::Key,
                        b']' if array => self.close(cx)?,
                        b'}' if !array => self.close(cx)?,
                        _ if array => return Err(Broken::Syntax("',' or ']' expected").into()),
                        _ => return Err(Broken::Syntax("',' or '}' expected").into()),
                    }
                }
            }
        }
    }

    /// Read one value starting with `b` (containers are opened, scalars scanned); what comes
    /// after it.
    fn value(
        &mut self,
        b: u8,
        place: Place,
        records_here: bool,
        src: &mut Src<'_>,
        cx: &mut Cx<'_>,
    ) -> Result<Expect, Walk> {
        match b {
            b'{' => {
                src.pos += 1;
                self.push(false, place, false)?;
                Ok(Expect::FirstKey)
            }
            b'[' => {
                src.pos += 1;
                self.push(true, place, records_here)?;
                Ok(Expect::FirstElement)
            }
            b'"' => {
                src.pos += 1;
                let mut buf = std::mem::take(&mut self.sbuf);
                let r = self.string_value(&mut buf, place, src, cx);
                self.sbuf = buf;
                r?;
                Ok(Expect::CommaOrClose)
            }
            b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => {
                let mut word = std::mem::take(&mut self.sbuf);
                let r = self.word_value(b, &mut word, place, src, cx);
                self.sbuf = word;
                r?;
                Ok(Expect::CommaOrClose)
            }
            _ => {
                src.pos += 1;
                Err(Broken::Syntax("a value expected").into())
            }
        }
    }

    fn word_value(
        &mut self,
        first: u8,
        word: &mut Vec<u8>,
        place: Place,
        src: &mut Src<'_>,
        cx: &mut Cx<'_>,
    ) -> Result<(), Walk> {
        src.word(word, MAX_NUMBER)?;
        if first.is_ascii_alphabetic() {
            return match word.as_slice() {
                b"true" | b"false" | b"null" => Ok(()),
                _ => Err(Broken::Syntax("a value expected").into()),
            };
        }
        if !word.iter().any(u8::is_ascii_digit) {
            return Err(Broken::Syntax("a number expected").into());
        }
        // A number as written (digits, sign, point, exponent): an account number of 20 digits
        // stays 20 digits.
        self.scalar(&String::from_utf8_lossy(word), place, false, cx)?;
        Ok(())
    }

    /// A complete scalar's text where it sits: scanned, kept for its object's end (`value`), or
    /// taken as the object's FHIR `system` or `type` code (strings only: a number there says
    /// nothing).
    fn scalar(
        &mut self,
        text: &str,
        place: Place,
        string: bool,
        cx: &mut Cx<'_>,
    ) -> Result<(), ExtractError> {
        match place.member {
            Member::System if string => {
                if let Some(f) = self.top_mut() {
                    f.system.clear();
                    f.system.push_str(text);
                }
                return Ok(());
            }
            Member::Value if !place.skip && text.len() <= MAX_PENDING => {
                if let Some(f) = self.top_mut() {
                    f.pending.push(text.to_string());
                }
                return Ok(());
            }
            Member::Code if string && text.len() <= MAX_PENDING => {
                if let Some(i) = self.code_owner()
                    && let Some(f) = self.frames.get_mut(i)
                {
                    f.code.clear();
                    f.code.push_str(text);
                }
            }
            _ => {}
        }
        if place.skip {
            return Ok(());
        }
        let (key, parent) = self.names();
        emit(text, key, parent, place.record, cx)
    }

    /// A string value after its opening quote. A long one is scanned in pieces of at most a line's
    /// length (cut at a character boundary), so memory holds one piece.
    fn string_value(
        &mut self,
        buf: &mut Vec<u8>,
        place: Place,
        src: &mut Src<'_>,
        cx: &mut Cx<'_>,
    ) -> Result<(), Walk> {
        let cap = cx.limits.max_line.max(MAX_PENDING);
        buf.clear();
        let mut whole = true;
        loop {
            let done = src.string(buf, cap)?;
            if done && whole {
                return Ok(self.scalar(&String::from_utf8_lossy(buf), place, true, cx)?);
            }
            whole = false;
            // A piece of a long string: no FHIR system, code or value is this long.
            let cut = if done { buf.len() } else { char_cut(buf) };
            if !place.skip {
                let (key, parent) = self.names();
                emit(
                    &String::from_utf8_lossy(&buf[..cut]),
                    key,
                    parent,
                    place.record,
                    cx,
                )?;
            }
            buf.drain(..cut);
            if done {
                return Ok(());
            }
        }
    }
}

/// Where to cut a full piece so that no UTF-8 character is split: before a character the piece
/// holds only the start of.
fn char_cut(b: &[u8]) -> usize {
    for i in (b.len().saturating_sub(3)..b.len()).rev() {
        match b[i] {
            0..0x80 | 0xF8.. => return b.len(),
            0x80..0xC0 => {}
            lead => {
                let need = if lead >= 0xF0 {
                    4
                } else if lead >= 0xE0 {
                    3
                } else {
                    2
                };
                return if b.len() - i < need { i } else { b.len() };
            }
        }
    }
    b.len()
}

/// Read past the rest of a string.
fn skip_string(src: &mut Src<'_>) -> Result<(), Broken> {
    let mut sink = Vec::new();
    loop {
        sink.clear();
        if src.string(&mut sink, 64 << 10)? {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Format;
    use crate::detect::Engine;
    use crate::extract::{Limits, extract_bytes};
    use crate::mask::Hasher;
    use proptest::prelude::*;
    use serde_json::{Map, Value};

    /// The findings of scanning `data` as JSON: (kind, masked, field, record), sorted; and the
    /// warnings.
    fn scan_with(data: &[u8], limits: Limits) -> (Vec<String>, Vec<String>) {
        let engine = Engine::get().expect("engine");
        let hasher = Hasher::with_key([9; 32]);
        let mut cx = Cx::new(engine, &hasher, false, limits, "t.json".into());
        extract_bytes(Format::Json, "t.json", data, &mut cx).expect("scan");
        (
            findings(&cx),
            cx.warnings.iter().map(|(_, w)| w.clone()).collect(),
        )
    }

    fn scan(data: &[u8]) -> (Vec<String>, Vec<String>) {
        scan_with(data, Limits::default())
    }

    fn findings(cx: &Cx<'_>) -> Vec<String> {
        let mut out: Vec<String> = cx
            .findings
            .iter()
            .map(|f| {
                format!(
                    "{} {} {:?} {:?} {:?}",
                    f.kind.as_str(),
                    f.masked,
                    f.location.field.as_deref(),
                    f.location.record,
                    f.hash.hex()
                )
            })
            .collect();
        out.sort();
        out
    }

    /// The walker this module replaced: the whole document parsed into a tree first (serde_json),
    /// the FHIR `system`/`type` of an object looked up before its members. The reference for the
    /// streaming walker on documents it can parse.
    fn reference(data: &[u8]) -> Vec<String> {
        fn fhir(map: &Map<String, Value>) -> Option<&'static str> {
            let system = map.get("system").and_then(Value::as_str).unwrap_or("");
            let code = map
                .get("type")
                .and_then(|t| t.get("coding"))
                .and_then(Value::as_array)
                .and_then(|c| c.first())
                .and_then(|c| c.get("code"))
                .and_then(Value::as_str)
                .unwrap_or("");
            fhir_field(system, code)
        }
        fn walk(
            v: &Value,
            key: Option<&str>,
            parent: Option<&str>,
            record: Option<u64>,
            records_here: bool,
            cx: &mut Cx<'_>,
        ) {
            match v {
                Value::Object(map) => {
                    let special = fhir(map);
                    for (k, child) in map {
                        if k == "system" || k == "resourceType" {
                            continue;
                        }
                        let key_here = if k == "value" {
                            special.or(key).unwrap_or(k)
                        } else {
                            k.as_str()
                        };
                        let child_records = k == "entry" && child.is_array();
                        walk(child, Some(key_here), key, record, child_records, cx);
                    }
                }
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        let rec = if records_here {
                            Some(i as u64 + 1)
                        } else {
                            record
                        };
                        walk(item, key, parent, rec, false, cx);
                    }
                }
                Value::String(s) => emit(s, key, parent, record, cx).expect("emit"),
                Value::Number(n) => emit(&n.to_string(), key, parent, record, cx).expect("emit"),
                _ => {}
            }
        }
        let engine = Engine::get().expect("engine");
        let hasher = Hasher::with_key([9; 32]);
        let mut cx = Cx::new(engine, &hasher, false, Limits::default(), "t.json".into());
        let v: Value = serde_json::from_slice(data).expect("the reference parses");
        let top = matches!(v, Value::Array(_));
        walk(
            &v,
            None,
            None,
            if top { None } else { Some(1) },
            top,
            &mut cx,
        );
        findings(&cx)
    }

    const KEYS: &[&str] = &[
        "value",
        "system",
        "type",
        "coding",
        "code",
        "entry",
        "resourceType",
        "name",
        "given",
        "family",
        "ssn",
        "dob",
        "birthDate",
        "telecom",
        "identifier",
        "address",
        "line",
        "note",
        "x",
    ];
    const TEXTS: &[&str] = &[
        "536-22-8726",
        "John Smith",
        "1980-02-14",
        "(415) 555-0134",
        "jsmith@example.com",
        "MR",
        "SS",
        "http://hl7.org/fhir/sid/us-ssn",
        "urn:oid:patient-mrn",
        "phone",
        "email",
        "12 Oak Street",
        "MRN 0012345 seen today",
        "Patient: Mary Jones\nDOB 03/04/1975",
    ];

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            6 => prop::sample::select(TEXTS).prop_map(|s| Value::String(s.to_string())),
            1 => "\\PC{0,12}".prop_map(Value::String),
            1 => "[\\x00-\\x1f\"\\\\/a-z😀é]{0,8}".prop_map(Value::String),
            1 => any::<i64>().prop_map(Value::from),
            1 => (100_000_000u64..999_999_999).prop_map(Value::from),
            1 => Just(Value::Bool(true)),
            1 => Just(Value::Null),
            // FHIR identifiers: what `value` is comes from `system` and the first coding.
            2 => (
                prop::sample::select(&["MR", "SS", "MB", "XX"][..]),
                prop::sample::select(&["MR", "SS", "NPI"][..]),
                any::<bool>(),
                prop::option::of(prop::sample::select(TEXTS)),
                prop::sample::select(TEXTS),
            )
                .prop_map(|(first, second, two, system, value)| {
                    let coding = if two {
                        serde_json::json!([{"code": first}, {"code": second}])
                    } else {
                        serde_json::json!([{"code": first}])
                    };
                    serde_json::json!({"type": {"coding": coding}, "system": system, "value": value})
                }),
        ];
        leaf.prop_recursive(6, 64, 6, |inner| {
            prop_oneof![
                1 => prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                2 => prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(
                    |members| {
                        let mut m = Map::new();
                        for (k, v) in members {
                            // A `value` holding a container is named by what its object says
                            // so far (streaming cannot wait for the object's end there).
                            let k = if k == "value" && (v.is_object() || v.is_array()) {
                                "values"
                            } else {
                                k
                            };
                            m.insert(k.to_string(), v);
                        }
                        Value::Object(m)
                    }
                ),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// On any document the tree walker could parse, the streaming walker finds the same
        /// values with the same fields and records, compact or pretty-printed.
        #[test]
        fn streams_like_the_tree_walker(v in prop_oneof![
            value(),
            prop::collection::vec(value(), 1..6).prop_map(Value::Array),
            prop::collection::vec(value(), 1..6).prop_map(|entry| serde_json::json!({
                "resourceType": "Bundle", "type": "collection", "entry": entry
            })),
        ]) {
            let compact = serde_json::to_vec(&v).expect("serialize");
            let pretty = serde_json::to_vec_pretty(&v).expect("serialize");
            let want = reference(&compact);
            let (got, warnings) = scan(&compact);
            prop_assert_eq!(&got, &want);
            prop_assert!(warnings.is_empty(), "{:?}", warnings);
            let (got, _) = scan(&pretty);
            prop_assert_eq!(&got, &want);
        }

        /// Arbitrary bytes: no panic, and a scan of whatever they hold.
        #[test]
        fn any_bytes_scan(data in prop::collection::vec(any::<u8>(), 0..400)) {
            let _ = scan(&data);
        }
    }

    #[test]
    fn fhir_value_before_its_system_and_type() {
        let doc = br#"{"identifier": [
            {"value": "536228726", "system": "http://hl7.org/fhir/sid/us-ssn"},
            {"value": "A1234567", "type": {"coding": [{"code": "MR"}]}}
        ]}"#;
        let (got, _) = scan(doc);
        assert!(
            got.iter()
                .any(|f| f.starts_with("ssn ") && f.contains("Some(\"ssn\")")),
            "{got:?}"
        );
        assert!(
            got.iter()
                .any(|f| f.starts_with("mrn ") && f.contains("Some(\"mrn\")")),
            "{got:?}"
        );
    }

    #[test]
    fn escapes_and_marks_decode() {
        // \u escapes (a surrogate pair, a lone surrogate), a UTF-8 BOM, UTF-16 with its BOM.
        let doc = r#"{"name": "Jos\u00e9 Smith", "note": "\ud83d\ude00 \ud800 x", "ssn": "536\u002d22\u002d8726"}"#;
        let (plain, _) = scan(doc.as_bytes());
        assert!(
            plain.iter().any(|f| f.starts_with("ssn ***-**-8726")),
            "{plain:?}"
        );
        assert!(plain.iter().any(|f| f.starts_with("name ")), "{plain:?}");
        let bom = [&b"\xEF\xBB\xBF"[..], doc.as_bytes()].concat();
        assert_eq!(scan(&bom).0, plain);
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend(doc.encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(scan(&utf16).0, plain);
        // A broken escape is a syntax error: a warning, not a failed file.
        let (_, warnings) = scan(br#"{"a": "\u00zz"}"#);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
    }

    #[test]
    fn larger_than_whole_file_limit_is_read_in_full() {
        // The tree walker read at most 64 MiB (here: `max_whole`) and gave the rest to the text
        // reader, losing both the first part and the structure. Streaming reads all of it.
        let mut doc = String::from("[");
        for i in 0..2000u32 {
            if i > 0 {
                doc.push(',');
            }
            doc.push_str(&format!(
                r#"{{"name": "Pat{} Smith", "ssn": "536-22-{:04}"}}"#,
                i % 10,
                1000 + i
            ));
        }
        doc.push(']');
        let limits = Limits {
            max_whole: 4096,
            ..Limits::default()
        };
        let (got, warnings) = scan_with(doc.as_bytes(), limits);
        assert!(warnings.is_empty(), "{warnings:?}");
        let ssns: Vec<_> = got.iter().filter(|f| f.starts_with("ssn ")).collect();
        assert_eq!(ssns.len(), 2000);
        assert!(ssns.iter().all(|f| f.contains("Some(\"ssn\")")));
        // One record per element.
        assert!(got.iter().any(|f| f.contains(" Some(2000) ")));
    }

    #[test]
    fn json_lines_with_a_broken_line() {
        let doc = b"{\"ssn\": \"536-22-8726\"}\n{\"ssn\": \"536-22-8799\", broken SSN 078-05-1121 x\n{\"dob\": \"1980-02-14\", \"name\": \"Mary Jones\"}\n";
        let (got, warnings) = scan(doc);
        assert!(
            got.iter()
                .any(|f| f.starts_with("ssn ***-**-8726") && f.contains("Some(1)")),
            "{got:?}"
        );
        // The broken line: the value before the error with its field, the rest as text.
        assert!(
            got.iter()
                .any(|f| f.starts_with("ssn ***-**-8799") && f.contains("Some(\"ssn\")")),
            "{got:?}"
        );
        assert!(
            got.iter()
                .any(|f| f.starts_with("dob ") && f.contains("Some(3)")),
            "{got:?}"
        );
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("line 2"), "{warnings:?}");
    }

    #[test]
    fn truncated_document_keeps_what_came_before() {
        let doc = b"{\"patients\": [{\"name\": \"John Smith\", \"ssn\": \"536-22-8726\"}, {\"name\": \"Mary Jo";
        let (got, warnings) = scan(doc);
        assert!(
            got.iter().any(|f| f.starts_with("ssn ***-**-8726")),
            "{got:?}"
        );
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("ends inside"), "{warnings:?}");
    }

    #[test]
    fn long_strings_and_deep_nesting_stay_bounded() {
        // A 3 MB string (a base64 attachment, a note) is read in pieces: the SSN at its end is
        // found, and no piece is longer than a line.
        let mut doc = String::from("{\"note\": \"");
        doc.push_str(&"x ".repeat(1_500_000));
        doc.push_str("SSN 536-22-8726\"}");
        let (got, _) = scan(doc.as_bytes());
        assert!(
            got.iter().any(|f| f.starts_with("ssn ***-**-8726")),
            "{got:?}"
        );
        // Nesting a million deep: a warning, no stack or memory growth; the value after it is
        // still read on its own line.
        let mut deep = "[".repeat(1_000_000);
        deep.push_str("\n{\"ssn\": \"536-22-8726\"}\n");
        let (got, warnings) = scan(deep.as_bytes());
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            got.iter().any(|f| f.starts_with("ssn ***-**-8726")),
            "{got:?}"
        );
    }

    #[test]
    fn pieces_never_split_a_character() {
        assert_eq!(char_cut("abé".as_bytes()), 4);
        assert_eq!(char_cut(&"abé".as_bytes()[..3]), 2);
        assert_eq!(char_cut(&"a😀".as_bytes()[..3]), 1);
        assert_eq!(char_cut(b"ab\xff"), 3);
    }
}
