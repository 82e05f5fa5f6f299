//! Diagnostics that point into a file: line, column, the offending line and a caret.

use std::fmt;

/// A problem at a place in a text file (answers file, catalog, incident file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// File name as the user gave it.
    pub file: String,
    /// 1-based line, 0 when unknown.
    pub line: usize,
    /// 1-based column, 0 when unknown.
    pub column: usize,
    /// The source line, for context.
    pub snippet: String,
    /// What is wrong.
    pub message: String,
}

impl Diagnostic {
    /// Locate byte `span` of `input` (clamped, char-boundary safe) and describe `message` there.
    pub fn at(
        file: &str,
        input: &str,
        span: Option<std::ops::Range<usize>>,
        message: &str,
    ) -> Self {
        let (line, column, snippet) = match span {
            Some(span) => {
                let start = floor_char_boundary(input, span.start.min(input.len()));
                let before = &input[..start];
                let line = before.matches('\n').count() + 1;
                let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
                let column = input[line_start..start].chars().count() + 1;
                let snippet = input[line_start..]
                    .split('\n')
                    .next()
                    .unwrap_or("")
                    .trim_end_matches('\r')
                    .to_string();
                (line, column, snippet)
            }
            None => (0, 0, String::new()),
        };
        Diagnostic {
            file: file.to_string(),
            line,
            column,
            snippet,
            message: message.trim().to_string(),
        }
    }

    /// A diagnostic for the first line of `input` that contains `needle` (used by catalog checks,
    /// which see parsed values rather than spans).
    pub fn find(file: &str, input: &str, needle: &str, message: &str) -> Self {
        let span = input.find(needle).map(|i| i..i + needle.len());
        Diagnostic::at(file, input, span, message)
    }

    /// From a TOML parse or type error.
    pub fn from_toml(file: &str, input: &str, err: &toml::de::Error) -> Self {
        Diagnostic::at(file, input, err.span(), err.message())
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            return write!(f, "{}: {}", self.file, self.message);
        }
        writeln!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )?;
        let gutter = self.line.to_string().len();
        writeln!(f, "{:gutter$} |", "")?;
        writeln!(f, "{} | {}", self.line, self.snippet)?;
        write!(
            f,
            "{:gutter$} | {:>col$}",
            "",
            "^",
            col = self.column.max(1)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_to_line_and_column() {
        let input = "a = 1\nbad = oops\n";
        let d = Diagnostic::at("x.toml", input, Some(12..16), "unexpected");
        assert_eq!((d.line, d.column), (2, 7));
        assert_eq!(d.snippet, "bad = oops");
        let shown = d.to_string();
        assert!(shown.starts_with("x.toml:2:7: unexpected"), "{shown}");
        assert!(shown.ends_with("      ^"), "{shown:?}");
    }

    #[test]
    fn never_panics_on_odd_spans() {
        let input = "é\né";
        for s in 0..10 {
            let d = Diagnostic::at("f", input, Some(s..s + 3), "m");
            assert!(d.line >= 1);
        }
        assert_eq!(Diagnostic::find("f", input, "zz", "m").line, 0);
    }
}
