//! A small PDF 1.4 writer for the risk reports: US Letter pages, the standard Helvetica fonts
//! (no embedding), headings, wrapped paragraphs, bullet lists, text tables and simple vector bars.
//! Pure Rust and deterministic: the same document always gives the same bytes.

use super::doc::{Block, Doc};
use std::fmt::Write;

const PAGE_W: f64 = 612.0;
const PAGE_H: f64 = 792.0;
const MARGIN: f64 = 54.0;
const BODY: f64 = 9.5;

/// Helvetica advance widths (1/1000 em) for ASCII 32..=126, from the Adobe core font metrics.
const HELV: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];

/// Helvetica-Bold advance widths for ASCII 32..=126.
const HELV_B: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667,
    611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 333, 278, 333, 584, 556, 333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556,
    278, 889, 611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
];

/// Map text to the WinAnsi bytes the standard fonts use; characters outside it become `?`.
fn win_ansi(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            '\u{20}'..='\u{7e}' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '\u{2013}' => 0x96,
            '\u{2014}' => 0x97,
            '\u{2018}' => 0x91,
            '\u{2019}' => 0x92,
            '\u{201c}' => 0x93,
            '\u{201d}' => 0x94,
            '\u{2022}' => 0x95,
            '\u{2026}' => 0x85,
            '\t' | '\n' | '\r' => b' ',
            _ => b'?',
        })
        .collect()
}

fn width(bytes: &[u8], bold: bool, size: f64) -> f64 {
    let table = if bold { &HELV_B } else { &HELV };
    let units: u32 = bytes
        .iter()
        .map(|b| {
            let i = usize::from(b.saturating_sub(32));
            u32::from(table.get(i).copied().unwrap_or(556))
        })
        .sum();
    f64::from(units) * size / 1000.0
}

/// Break text into lines no wider than `max` (a word wider than a line is hard-broken).
fn wrap(text: &str, bold: bool, size: f64, max: f64) -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    let mut line: Vec<u8> = Vec::new();
    for word in text.split_whitespace() {
        let w = win_ansi(word);
        if !line.is_empty() {
            let mut candidate = line.clone();
            candidate.push(b' ');
            candidate.extend_from_slice(&w);
            if width(&candidate, bold, size) <= max {
                line = candidate;
                continue;
            }
            lines.push(std::mem::take(&mut line));
        }
        if width(&w, bold, size) <= max {
            line = w;
            continue;
        }
        let mut part = Vec::new();
        for b in w {
            part.push(b);
            if part.len() > 1 && width(&part, bold, size) > max {
                part.pop();
                lines.push(std::mem::take(&mut part));
                part.push(b);
            }
        }
        line = part;
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

fn pdf_string(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() + 2);
    s.push('(');
    for &b in bytes {
        match b {
            b'(' | b')' | b'\\' => {
                s.push('\\');
                s.push(b as char);
            }
            0x20..=0x7e => s.push(b as char),
            _ => {
                let _ = write!(s, "\\{b:03o}");
            }
        }
    }
    s.push(')');
    s
}

fn hex_rgb(color: &str) -> (f64, f64, f64) {
    let h = color.trim_start_matches('#');
    let p = |i: usize| {
        h.get(i..i + 2)
            .and_then(|x| u8::from_str_radix(x, 16).ok())
            .map(|v| f64::from(v) / 255.0)
            .unwrap_or(0.5)
    };
    (p(0), p(2), p(4))
}

struct Writer {
    pages: Vec<String>,
    cur: String,
    y: f64,
    footer: String,
}

impl Writer {
    fn new(footer: String) -> Self {
        Writer {
            pages: Vec::new(),
            cur: String::new(),
            y: PAGE_H - MARGIN,
            footer,
        }
    }

    fn finish_page(&mut self) {
        let n = self.pages.len() + 1;
        let foot = win_ansi(&format!("{} - page {n}", self.footer));
        let _ = writeln!(
            self.cur,
            "BT /F1 7.5 Tf 0.45 g {:.2} 30 Td {} Tj ET 0 g",
            MARGIN,
            pdf_string(&foot)
        );
        self.pages.push(std::mem::take(&mut self.cur));
        self.y = PAGE_H - MARGIN;
    }

    fn need(&mut self, h: f64) {
        if self.y - h < MARGIN {
            self.finish_page();
        }
    }

    fn text(&mut self, x: f64, line: &[u8], bold: bool, size: f64) {
        let _ = writeln!(
            self.cur,
            "BT /{} {size} Tf {x:.2} {:.2} Td {} Tj ET",
            if bold { "F2" } else { "F1" },
            self.y,
            pdf_string(line)
        );
    }

    fn para(&mut self, text: &str, bold: bool, size: f64, indent: f64) {
        let lead = size * 1.3;
        for l in wrap(text, bold, size, PAGE_W - 2.0 * MARGIN - indent) {
            self.need(lead);
            self.y -= lead;
            self.text(MARGIN + indent, &l, bold, size);
        }
    }

    fn gap(&mut self, h: f64) {
        self.y -= h;
    }

    fn table(&mut self, head: &[String], rows: &[Vec<String>]) {
        let cols = head.len().max(1);
        let total = PAGE_W - 2.0 * MARGIN;
        let size = 8.0;
        // Each column gets room for its widest word, then the rest in proportion to its longest
        // text (bounded), so short headers never break mid-word.
        let cells = |c: usize| {
            std::iter::once(head.get(c))
                .chain(rows.iter().map(move |r| r.get(c)))
                .flatten()
        };
        let min_w: Vec<f64> = (0..cols)
            .map(|c| {
                cells(c)
                    .flat_map(|s| s.split_whitespace())
                    .map(|w| width(&win_ansi(w), true, size))
                    .fold(0.0_f64, f64::max)
                    .min(total / 3.0)
                    + 8.0
            })
            .collect();
        let desire: Vec<f64> = (0..cols)
            .map(|c| {
                let longest = cells(c).map(|s| s.chars().count()).max().unwrap_or(4);
                (longest as f64).clamp(6.0, 60.0)
            })
            .collect();
        let min_sum: f64 = min_w.iter().sum();
        let weights: Vec<f64> = if min_sum >= total {
            min_w.iter().map(|w| w / min_sum * total).collect()
        } else {
            let extra = total - min_sum;
            let d: f64 = desire.iter().sum();
            min_w
                .iter()
                .zip(&desire)
                .map(|(m, k)| m + extra * k / d)
                .collect()
        };
        let lead = size * 1.25;
        let draw_row = |w: &mut Writer, cells: &[String], bold: bool| {
            let wrapped: Vec<Vec<Vec<u8>>> = (0..cols)
                .map(|c| {
                    let t = cells.get(c).map(String::as_str).unwrap_or("");
                    wrap(t, bold, size, weights[c] - 6.0)
                })
                .collect();
            let lines = wrapped.iter().map(Vec::len).max().unwrap_or(1);
            let h = lines as f64 * lead + 4.0;
            w.need(h);
            let top = w.y;
            for (c, cell) in wrapped.iter().enumerate() {
                let x = MARGIN + weights[..c].iter().sum::<f64>();
                w.y = top;
                for l in cell {
                    w.y -= lead;
                    w.text(x + 2.0, l, bold, size);
                }
            }
            w.y = top - h;
            let _ = writeln!(
                w.cur,
                "0.85 G 0.5 w {:.2} {:.2} m {:.2} {:.2} l S 0 G",
                MARGIN,
                w.y + 1.5,
                PAGE_W - MARGIN,
                w.y + 1.5
            );
        };
        draw_row(self, head, true);
        for r in rows {
            draw_row(self, r, false);
        }
    }

    fn bars(&mut self, title: &str, items: &[(String, f64, &str)]) {
        let row = 14.0;
        self.need(20.0 + row * items.len() as f64);
        self.para(title, true, 9.5, 0.0);
        let max = items.iter().map(|i| i.1).fold(0.0_f64, f64::max).max(1.0);
        let label_w = 170.0;
        let bar_w = 250.0;
        for (label, value, color) in items {
            self.y -= row;
            let l = win_ansi(label);
            self.text(MARGIN, &l, false, 8.0);
            let (r, g, b) = hex_rgb(color);
            let w = (value / max * bar_w).max(if *value > 0.0 { 1.5 } else { 0.0 });
            let _ = writeln!(
                self.cur,
                "{r:.3} {g:.3} {b:.3} rg {:.2} {:.2} {w:.2} 9 re f 0 g",
                MARGIN + label_w,
                self.y - 1.5
            );
            let v = win_ansi(&format_num(*value));
            self.text(MARGIN + label_w + w + 4.0, &v, false, 8.0);
        }
        self.gap(6.0);
    }
}

fn format_num(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Render a document as PDF bytes. `date` is written as the document's creation date
/// (`YYYYMMDDHHMMSS`), so output depends only on the input.
pub fn render(doc: &Doc, date: &str) -> Vec<u8> {
    let mut w = Writer::new(format!("{} - {}", doc.title, doc.subtitle));
    w.para(&doc.title, true, 18.0, 0.0);
    w.para(&doc.subtitle, false, 10.0, 0.0);
    w.gap(8.0);
    if !doc.headline.is_empty() {
        w.para("In short", true, 13.0, 0.0);
        for l in &doc.headline {
            w.para(&format!("\u{2022} {l}"), false, 10.5, 6.0);
        }
        w.gap(6.0);
    }
    for part in &doc.parts {
        w.need(60.0);
        w.gap(6.0);
        w.para(&part.title, true, 13.0, 0.0);
        w.gap(2.0);
        for b in &part.blocks {
            match b {
                Block::Para(t) => {
                    w.para(t, false, BODY, 0.0);
                    w.gap(3.0);
                }
                Block::Sub(t) => {
                    w.gap(4.0);
                    w.para(t, true, 10.5, 0.0);
                }
                Block::Bullets(items) => {
                    for i in items {
                        w.para(&format!("\u{2022} {i}"), false, BODY, 8.0);
                    }
                    w.gap(3.0);
                }
                Block::Table { head, rows } => {
                    w.table(head, rows);
                    w.gap(6.0);
                }
                Block::Bars { title, items } => w.bars(title, items),
                Block::Cards(cards) => {
                    let line: Vec<String> = cards.iter().map(|(v, l)| format!("{v} {l}")).collect();
                    w.para(&line.join("   |   "), true, 10.0, 0.0);
                    w.gap(4.0);
                }
            }
        }
    }
    w.finish_page();

    // Objects: 1 catalog, 2 pages, 3 F1, 4 F2, 5 info, then per page: page, content.
    let mut objs: Vec<Vec<u8>> = Vec::new();
    let n_pages = w.pages.len();
    let kids: Vec<String> = (0..n_pages).map(|i| format!("{} 0 R", 6 + 2 * i)).collect();
    objs.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    objs.push(
        format!(
            "<< /Type /Pages /Kids [{}] /Count {n_pages} >>",
            kids.join(" ")
        )
        .into_bytes(),
    );
    objs.push(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_vec(),
    );
    objs.push(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"
            .to_vec(),
    );
    let mut info = b"<< /Title ".to_vec();
    info.extend_from_slice(pdf_string(&win_ansi(&doc.title)).as_bytes());
    info.extend_from_slice(b" /Producer (medguard) /CreationDate ");
    info.extend_from_slice(pdf_string(format!("D:{date}Z").as_bytes()).as_bytes());
    info.extend_from_slice(b" >>");
    objs.push(info);
    for (i, content) in w.pages.iter().enumerate() {
        objs.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_W} {PAGE_H}] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
                7 + 2 * i
            )
            .into_bytes(),
        );
        let mut stream = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
        stream.extend_from_slice(content.as_bytes());
        stream.extend_from_slice(b"\nendstream");
        objs.push(stream);
    }
    let mut out: Vec<u8> = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objs.len());
    for (i, o) in objs.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(o);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objs.len() + 1).as_bytes());
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R /Info 5 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objs.len() + 1
        )
        .as_bytes(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::risk::doc::Part;

    fn doc(n: usize) -> Doc {
        Doc {
            title: "Risk (analysis) \\ test".into(),
            subtitle: "Smile Dental — 2026-11-28".into(),
            headline: vec!["One line".into()],
            parts: vec![Part {
                id: "p",
                title: "Part".into(),
                blocks: vec![
                    Block::Para("word ".repeat(n)),
                    Block::Table {
                        head: vec!["A".into(), "B".into()],
                        rows: vec![vec!["x".into(), "y ".repeat(n)]; 3],
                    },
                    Block::Bars {
                        title: "Bars".into(),
                        items: vec![("a".into(), 3.0, "#b00020"), ("b".into(), 0.0, "#1565c0")],
                    },
                ],
            }],
        }
    }

    /// Check the cross-reference table points at every object; returns the object count.
    fn check_xref(pdf: &[u8]) -> usize {
        let marker = b"startxref\n";
        let at = pdf
            .windows(marker.len())
            .rposition(|w| w == marker)
            .expect("startxref");
        let tail = String::from_utf8_lossy(&pdf[at + marker.len()..]).into_owned();
        let start: usize = tail
            .lines()
            .next()
            .and_then(|l| l.trim().parse().ok())
            .expect("offset");
        let table = String::from_utf8_lossy(&pdf[start..]).into_owned();
        assert!(table.starts_with("xref\n"));
        let mut n = 0;
        for (i, line) in table.lines().skip(3).enumerate() {
            if line.starts_with("trailer") {
                break;
            }
            let off: usize = line[..10].parse().expect("offset");
            let want = format!("{} 0 obj", i + 1);
            assert!(
                pdf[off..].starts_with(want.as_bytes()),
                "object {} not at {off}",
                i + 1
            );
            n += 1;
        }
        n
    }

    #[test]
    fn well_formed_and_paginates() {
        let small = render(&doc(10), "20261128120000");
        assert!(small.starts_with(b"%PDF-1.4"));
        assert!(small.ends_with(b"%%EOF\n"));
        assert_eq!(check_xref(&small), 7);
        let big = render(&doc(3000), "20261128120000");
        assert!(check_xref(&big) > 7, "long text must spill onto more pages");
        // Deterministic.
        assert_eq!(render(&doc(10), "20261128120000"), small);
        // Parentheses and backslashes are escaped; the em dash maps to WinAnsi 0x97 (octal 227).
        let text = String::from_utf8_lossy(&small);
        assert!(text.contains("Risk \\(analysis\\) \\\\ test"));
        assert!(text.contains("\\227"));
    }

    #[test]
    fn wrap_respects_width_and_never_loses_words() {
        let t = "alpha beta gamma delta epsilon zeta eta theta iota kappa supercalifragilisticexpialidocious";
        let lines = wrap(t, false, 10.0, 80.0);
        for l in &lines {
            assert!(width(l, false, 10.0) <= 80.0 + 0.01);
        }
        let joined: String = lines
            .iter()
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect::<Vec<_>>()
            .join("");
        assert_eq!(joined.replace(' ', ""), t.replace(' ', ""));
    }
}
