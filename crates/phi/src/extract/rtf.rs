//! RTF: control words stripped, `\'hh` and `\uN` decoded, non-text destinations (font tables,
//! pictures, objects) skipped, paragraphs become lines.

use super::{Cx, ExtractError};

/// Destinations whose content is not document text.
const SKIP: &[&str] = &[
    "fonttbl",
    "colortbl",
    "stylesheet",
    "info",
    "pict",
    "object",
    "themedata",
    "colorschememapping",
    "latentstyles",
    "datastore",
    "xmlnstbl",
    "listtable",
    "listoverridetable",
    "rsidtbl",
    "generator",
    "filetbl",
    "revtbl",
    "bkmkstart",
    "bkmkend",
    "fldinst",
];

/// The text of an RTF document.
pub fn to_text(data: &[u8]) -> String {
    let mut out = String::new();
    // Per group: whether its content is skipped.
    let mut skip_stack: Vec<bool> = vec![false];
    let mut i = 0usize;
    let mut uc_skip = 0usize;
    while i < data.len() {
        let skipping = skip_stack.last().copied().unwrap_or(false);
        match data[i] {
            b'{' => {
                if skip_stack.len() < 4096 {
                    skip_stack.push(skipping);
                }
                i += 1;
            }
            b'}' => {
                if skip_stack.len() > 1 {
                    skip_stack.pop();
                }
                i += 1;
            }
            b'\\' => {
                i += 1;
                let Some(&c) = data.get(i) else { break };
                if c == b'\'' {
                    let hex = data.get(i + 1..i + 3);
                    if let Some(b) = hex
                        .and_then(|h| std::str::from_utf8(h).ok())
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                    {
                        if !skipping && uc_skip == 0 {
                            let one = [b];
                            let (s, _, _) = encoding_rs::WINDOWS_1252.decode(&one);
                            out.push_str(&s);
                        }
                        uc_skip = uc_skip.saturating_sub(1);
                    }
                    i += 3;
                } else if c == b'*' {
                    if let Some(last) = skip_stack.last_mut() {
                        *last = true;
                    }
                    i += 1;
                } else if c.is_ascii_alphabetic() {
                    let start = i;
                    while i < data.len() && data[i].is_ascii_alphabetic() && i - start < 32 {
                        i += 1;
                    }
                    let word = String::from_utf8_lossy(&data[start..i]).into_owned();
                    let nstart = i;
                    if data.get(i) == Some(&b'-') {
                        i += 1;
                    }
                    while i < data.len() && data[i].is_ascii_digit() && i - nstart < 12 {
                        i += 1;
                    }
                    let num: Option<i64> = std::str::from_utf8(&data[nstart..i])
                        .ok()
                        .and_then(|n| n.parse().ok());
                    if data.get(i) == Some(&b' ') {
                        i += 1;
                    }
                    if SKIP.contains(&word.as_str()) {
                        if let Some(last) = skip_stack.last_mut() {
                            *last = true;
                        }
                        continue;
                    }
                    if skipping {
                        continue;
                    }
                    match word.as_str() {
                        "par" | "line" | "row" | "sect" | "page" => out.push('\n'),
                        // A table's cells set apart by tabs: read as a table by its header row.
                        "tab" | "cell" => out.push('\t'),
                        "u" => {
                            if let Some(n) = num {
                                let n = if n < 0 { n + 65536 } else { n };
                                if let Some(ch) = u32::try_from(n).ok().and_then(char::from_u32) {
                                    out.push(ch);
                                }
                                uc_skip = 1;
                            }
                        }
                        _ => {}
                    }
                } else {
                    // Escaped literal (\\, \{, \}) or control symbol.
                    if !skipping && matches!(c, b'\\' | b'{' | b'}') {
                        out.push(char::from(c));
                    } else if !skipping && c == b'~' {
                        out.push(' ');
                    }
                    i += 1;
                }
            }
            b'\r' | b'\n' => i += 1,
            b => {
                if !skipping {
                    if uc_skip > 0 {
                        uc_skip -= 1;
                    } else if b.is_ascii() {
                        out.push(char::from(b));
                    } else {
                        let one = [b];
                        let (s, _, _) = encoding_rs::WINDOWS_1252.decode(&one);
                        out.push_str(&s);
                    }
                }
                i += 1;
            }
        }
    }
    out
}

/// Scan an RTF document.
pub fn rtf(data: &[u8], cx: &mut Cx<'_>) -> Result<(), ExtractError> {
    if !data.starts_with(b"{\\rtf") && !data.trim_ascii_start().starts_with(b"{\\rtf") {
        return Err(ExtractError::corrupt("rtf", "no {\\rtf header"));
    }
    super::text::text_str(&to_text(data), None, None, cx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_controls() {
        let t = to_text(b"{\\rtf1\\ansi{\\fonttbl{\\f0 Arial;}}\\f0 Patient: Jos\\'e9 Smith\\par SSN 536-22-8726}");
        assert_eq!(t, "Patient: Jos\u{e9} Smith\nSSN 536-22-8726");
    }
}
