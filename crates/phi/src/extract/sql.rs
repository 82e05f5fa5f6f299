//! SQL dumps (mysqldump, pg_dump, sqlite3 .dump): `INSERT INTO t (cols) VALUES (...)` rows and
//! PostgreSQL `COPY t (cols) FROM stdin` blocks, with column names (from the statement or an earlier
//! `CREATE TABLE`) as the context of every value. Streaming: a statement of any size is lexed
//! token by token and values are scanned as they arrive.

use super::text::{Lines, decode, decoded};
use super::{Cx, ExtractError, Field, Unit};
use std::borrow::Cow;
use std::collections::HashMap;
use std::io::BufRead;
use std::rc::Rc;

/// Longest piece of a string literal scanned at once: a longer literal is scanned in pieces of
/// this size, as long lines are (a quoted identifier is cut at this length).
const MAX_LITERAL: usize = 1 << 20;

/// Whether the head of a file looks like a SQL dump.
pub fn looks_like_sql(head: &[u8]) -> bool {
    let h = String::from_utf8_lossy(&head[..head.len().min(8192)]).to_ascii_uppercase();
    h.contains("INSERT INTO ") || h.contains("CREATE TABLE ") || h.contains("\nCOPY ")
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Num(String),
    Punct(char),
}

#[derive(Debug, Default, PartialEq)]
enum Stmt {
    #[default]
    Start,
    Insert,
    Create,
    Copy,
    Other,
}

#[derive(Default)]
struct Parser {
    stmt: Stmt,
    table: String,
    cols: Vec<String>,
    in_cols: bool,
    values: bool,
    depth: i32,
    col: usize,
    create_expect: bool,
    last_word: String,
    after_dot: bool,
    tables: HashMap<String, Vec<String>>,
    row: u64,
    copy_pending: Option<(String, Vec<String>)>,
    /// What the statement's columns say, looked up on first use (a dump's INSERT carries
    /// thousands of rows under one column list).
    fields: Vec<Option<Rc<Field>>>,
}

impl Parser {
    fn reset(&mut self) {
        if self.stmt == Stmt::Create && !self.table.is_empty() {
            self.tables
                .insert(self.table.clone(), std::mem::take(&mut self.cols));
        }
        if self.stmt == Stmt::Copy {
            let cols = if self.cols.is_empty() {
                self.tables.get(&self.table).cloned().unwrap_or_default()
            } else {
                std::mem::take(&mut self.cols)
            };
            self.copy_pending = Some((self.table.clone(), cols));
        }
        let tables = std::mem::take(&mut self.tables);
        let row = self.row;
        let copy = self.copy_pending.take();
        *self = Parser {
            tables,
            row,
            copy_pending: copy,
            ..Parser::default()
        };
    }

    /// The name of column `col` of the statement: from its column list, else its table's.
    fn column_at(&self, col: usize) -> Option<&str> {
        self.cols
            .get(col)
            .or_else(|| self.tables.get(&self.table).and_then(|c| c.get(col)))
            .map(String::as_str)
    }

    fn tok(&mut self, t: Tok, line: u64, cx: &mut Cx<'_>) -> Result<(), ExtractError> {
        if t == Tok::Punct(';') && self.depth <= 0 {
            self.reset();
            return Ok(());
        }
        match self.stmt {
            Stmt::Start => {
                if let Tok::Word(w) = &t {
                    self.stmt = match w.to_ascii_uppercase().as_str() {
                        "INSERT" | "REPLACE" => Stmt::Insert,
                        "CREATE" => Stmt::Create,
                        "COPY" => Stmt::Copy,
                        _ => Stmt::Other,
                    };
                }
            }
            Stmt::Insert | Stmt::Copy => self.insert_tok(t, line, cx)?,
            Stmt::Create => self.create_tok(t),
            Stmt::Other => match t {
                Tok::Word(w) => self.last_word = w,
                Tok::Str(s) => {
                    let field = (!self.last_word.is_empty()).then_some(self.last_word.as_str());
                    cx.unit(Unit {
                        text: &s,
                        field,
                        line: Some(line),
                        ..Unit::default()
                    })?;
                }
                _ => {}
            },
        }
        Ok(())
    }

    fn insert_tok(&mut self, t: Tok, line: u64, cx: &mut Cx<'_>) -> Result<(), ExtractError> {
        if !self.values {
            match t {
                Tok::Word(w) => {
                    let up = w.to_ascii_uppercase();
                    if self.in_cols {
                        self.cols.push(w);
                    } else if up == "VALUES" || up == "VALUE" {
                        self.values = true;
                    } else if matches!(up.as_str(), "INTO" | "IGNORE" | "FROM" | "STDIN" | "WITH") {
                    } else if self.table.is_empty() || self.after_dot {
                        self.table = w;
                        self.after_dot = false;
                    }
                }
                Tok::Punct('.') => self.after_dot = true,
                Tok::Punct('(') if !self.table.is_empty() => self.in_cols = true,
                Tok::Punct(')') => self.in_cols = false,
                _ => {}
            }
            return Ok(());
        }
        match t {
            Tok::Punct('(') => {
                self.depth += 1;
                if self.depth == 1 {
                    self.row += 1;
                    self.col = 0;
                }
            }
            Tok::Punct(')') => self.depth -= 1,
            Tok::Punct(',') if self.depth == 1 => self.col += 1,
            Tok::Str(s) | Tok::Num(s) if self.depth == 1 => {
                while self.fields.len() <= self.col {
                    let f = self.column_at(self.fields.len()).map(|c| cx.field(c));
                    self.fields.push(f);
                }
                let field = self.fields.get(self.col).and_then(Option::as_deref);
                cx.unit_in(
                    field,
                    Unit {
                        text: &s,
                        line: Some(line),
                        record: Some(self.row),
                        ..Unit::default()
                    },
                )?;
            }
            _ => {}
        }
        Ok(())
    }

    fn create_tok(&mut self, t: Tok) {
        match t {
            Tok::Punct('(') => {
                self.depth += 1;
                if self.depth == 1 {
                    self.create_expect = true;
                }
            }
            Tok::Punct(')') => self.depth -= 1,
            Tok::Punct(',') if self.depth == 1 => self.create_expect = true,
            Tok::Punct('.') => self.after_dot = true,
            Tok::Word(w) => {
                let up = w.to_ascii_uppercase();
                if self.depth == 0 {
                    if !matches!(
                        up.as_str(),
                        "TABLE" | "IF" | "NOT" | "EXISTS" | "TEMPORARY" | "TEMP" | "UNLOGGED"
                    ) && (self.table.is_empty() || self.after_dot)
                    {
                        self.table = w;
                        self.after_dot = false;
                    }
                } else if self.depth == 1 && self.create_expect {
                    self.create_expect = false;
                    if !matches!(
                        up.as_str(),
                        "PRIMARY"
                            | "KEY"
                            | "CONSTRAINT"
                            | "UNIQUE"
                            | "INDEX"
                            | "FOREIGN"
                            | "CHECK"
                            | "FULLTEXT"
                    ) {
                        self.cols.push(w);
                    }
                }
            }
            _ => {}
        }
    }
}

#[derive(Default)]
struct Lexer {
    quote: Option<char>,
    cur: String,
    word: String,
    block_comment: bool,
    kind_str: bool,
}

impl Lexer {
    fn flush_word(&mut self, out: &mut Vec<Tok>) {
        if !self.word.is_empty() {
            let w = std::mem::take(&mut self.word);
            if w.bytes()
                .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
            {
                out.push(Tok::Num(w));
            } else {
                out.push(Tok::Word(w));
            }
        }
    }

    fn line(&mut self, line: &str, out: &mut Vec<Tok>) {
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            if self.block_comment {
                if c == '*' && chars.peek() == Some(&'/') {
                    chars.next();
                    self.block_comment = false;
                }
                continue;
            }
            if let Some(q) = self.quote {
                if c == q {
                    if chars.peek() == Some(&q) {
                        chars.next();
                        self.push_lit(q, out);
                    } else {
                        self.quote = None;
                        let s = std::mem::take(&mut self.cur);
                        out.push(if self.kind_str {
                            Tok::Str(s)
                        } else {
                            Tok::Word(s)
                        });
                    }
                } else if c == '\\' && q == '\'' {
                    match chars.next() {
                        Some('n') => self.push_lit('\n', out),
                        Some('t') => self.push_lit('\t', out),
                        Some('r') | Some('0') => {}
                        Some(x) => self.push_lit(x, out),
                        None => self.push_lit('\\', out),
                    }
                } else {
                    self.push_lit(c, out);
                }
                continue;
            }
            match c {
                '\'' | '"' | '`' => {
                    self.flush_word(out);
                    self.quote = Some(c);
                    self.kind_str = c == '\'';
                }
                '-' if chars.peek() == Some(&'-') => {
                    self.flush_word(out);
                    return;
                }
                '#' if self.word.is_empty() => return,
                '/' if chars.peek() == Some(&'*') => {
                    self.flush_word(out);
                    chars.next();
                    self.block_comment = true;
                }
                c if c.is_alphanumeric() || c == '_' || c == '$' => self.word.push(c),
                '.' if !self.word.is_empty() && self.word.bytes().all(|b| b.is_ascii_digit()) => {
                    self.word.push(c)
                }
                '-' if self.word.is_empty() && chars.peek().is_some_and(char::is_ascii_digit) => {
                    self.word.push(c)
                }
                c if c.is_whitespace() => self.flush_word(out),
                c => {
                    self.flush_word(out);
                    out.push(Tok::Punct(c));
                }
            }
        }
        self.flush_word(out);
        if self.quote.is_some() {
            self.push_lit('\n', out);
        }
    }

    fn push_lit(&mut self, c: char, out: &mut Vec<Tok>) {
        if self.cur.len() >= MAX_LITERAL {
            if !self.kind_str {
                return;
            }
            // A full piece of a string value goes out now; the value goes on in the next.
            out.push(Tok::Str(std::mem::take(&mut self.cur)));
        }
        self.cur.push(c);
    }
}

/// Scan a SQL dump.
pub fn sql(r: &mut dyn BufRead, cx: &mut Cx<'_>) -> Result<(), ExtractError> {
    let mut r = decoded(r)?;
    let mut lines = Lines::new(&mut r, cx.limits.max_line, false);
    let mut lexer = Lexer::default();
    let mut parser = Parser::default();
    let mut toks = Vec::new();
    // The columns of a COPY block, looked up once.
    let mut copy: Option<Vec<Rc<Field>>> = None;
    while let Some((n, raw)) = lines.next_line()? {
        let line = decode(raw).into_owned();
        if let Some(cols) = &copy {
            if line == "\\." {
                copy = None;
                continue;
            }
            parser.row += 1;
            for (i, v) in copy_values(&line) {
                cx.unit_in(
                    cols.get(i).map(Rc::as_ref),
                    Unit {
                        text: &v,
                        line: Some(n),
                        record: Some(parser.row),
                        ..Unit::default()
                    },
                )?;
            }
            continue;
        }
        toks.clear();
        lexer.line(&line, &mut toks);
        for t in toks.drain(..) {
            parser.tok(t, n, cx)?;
            if let Some((_, cols)) = parser.copy_pending.take() {
                copy = Some(cols.iter().map(|c| cx.field(c)).collect());
            }
        }
    }
    Ok(())
}

/// The values of one row of a `COPY` block in PostgreSQL's text format, each with its column's
/// index: tab-separated, `\N` for NULL (skipped), backslash escapes undone.
pub(crate) fn copy_values(line: &str) -> impl Iterator<Item = (usize, Cow<'_, str>)> {
    line.split('\t')
        .enumerate()
        .filter(|(_, v)| *v != "\\N")
        .map(|(i, v)| (i, copy_unescape(v)))
}

/// A value of COPY's text format with its escapes undone (PostgreSQL's documentation of `COPY`,
/// "Text Format"): `\b \f \n \r \t \v`, one to three octal digits or `\x` and one or two hex
/// digits for a byte, and a backslash before any other character for that character. Borrowed when
/// there is nothing to undo.
fn copy_unescape(v: &str) -> Cow<'_, str> {
    if !v.contains('\\') {
        return Cow::Borrowed(v);
    }
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    // Up to `max` digits of base `radix` from `i` on, as one byte.
    let digits = |i: &mut usize, radix: u32, max: usize| -> u8 {
        let mut n = 0u32;
        for _ in 0..max {
            match b.get(*i).and_then(|&d| char::from(d).to_digit(radix)) {
                Some(d) => n = n * radix + d,
                None => break,
            }
            *i += 1;
        }
        (n & 0xff) as u8
    };
    while let Some(&c) = b.get(i) {
        i += 1;
        if c != b'\\' {
            out.push(c);
            continue;
        }
        let Some(&e) = b.get(i) else {
            out.push(c);
            break;
        };
        i += 1;
        match e {
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                i -= 1;
                out.push(digits(&mut i, 8, 3));
            }
            b'x' if b.get(i).is_some_and(u8::is_ascii_hexdigit) => out.push(digits(&mut i, 16, 2)),
            other => out.push(other),
        }
    }
    Cow::Owned(decode(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_values_undo_copy_escapes_and_skip_nulls() {
        let row = "1\tMaria\\tGonzalez\t\\N\tline one\\nline two\tC:\\\\scans\t\\101\\x42\\q";
        let got: Vec<(usize, String)> = copy_values(row).map(|(i, v)| (i, v.into())).collect();
        assert_eq!(
            got,
            [
                (0, "1".to_string()),
                (1, "Maria\tGonzalez".into()),
                (3, "line one\nline two".into()),
                (4, "C:\\scans".into()),
                (5, "ABq".into()),
            ]
        );
    }

    proptest::proptest! {
        /// Any line gives values without panicking; a value without backslashes is itself.
        #[test]
        fn copy_unescape_total(v in "[a-z\\\\0-9xntN\t]{0,30}", plain in "[a-z 0-9]{0,30}") {
            let _ = copy_values(&v).count();
            proptest::prop_assert_eq!(copy_unescape(&plain), plain.as_str());
        }
    }
}
