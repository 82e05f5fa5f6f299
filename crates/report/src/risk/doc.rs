//! A tiny document model shared by the HTML and PDF renderings of the risk reports, so both say
//! exactly the same thing.

use crate::{chart, esc};
use std::fmt::Write;

/// One block of a report.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A paragraph of plain text.
    Para(String),
    /// A small heading inside a section.
    Sub(String),
    /// A bulleted list.
    Bullets(Vec<String>),
    /// A table: header and rows of cells (plain text).
    Table {
        head: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    /// A bar chart: title and (label, value, colour).
    Bars {
        title: String,
        items: Vec<(String, f64, &'static str)>,
    },
    /// Key figures shown as cards: (value, label).
    Cards(Vec<(String, String)>),
}

/// A titled part of a report.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub id: &'static str,
    pub title: String,
    pub blocks: Vec<Block>,
}

/// A whole report.
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    pub title: String,
    /// Subtitle: practice and date.
    pub subtitle: String,
    /// Plain-language summary lines for the top.
    pub headline: Vec<String>,
    pub parts: Vec<Part>,
}

/// HTML body of a part's blocks (values escaped).
pub fn blocks_html(blocks: &[Block]) -> String {
    let mut h = String::new();
    for b in blocks {
        match b {
            Block::Para(t) => {
                let _ = write!(h, "<p>{}</p>", esc(t));
            }
            Block::Sub(t) => {
                let _ = write!(h, "<h3>{}</h3>", esc(t));
            }
            Block::Bullets(items) => {
                h.push_str("<ul>");
                for i in items {
                    let _ = write!(h, "<li>{}</li>", esc(i));
                }
                h.push_str("</ul>");
            }
            Block::Table { head, rows } => {
                h.push_str("<table><thead><tr>");
                for c in head {
                    let _ = write!(h, "<th>{}</th>", esc(c));
                }
                h.push_str("</tr></thead><tbody>");
                for r in rows {
                    h.push_str("<tr>");
                    for c in r {
                        let _ = write!(h, "<td>{}</td>", level_badge(c));
                    }
                    h.push_str("</tr>");
                }
                h.push_str("</tbody></table>");
            }
            Block::Bars { title, items } => {
                let items: Vec<(String, f64, &str)> =
                    items.iter().map(|(l, v, c)| (l.clone(), *v, *c)).collect();
                let _ = write!(
                    h,
                    "<div class=\"charts\">{}</div>",
                    chart::bars(title, &items)
                );
            }
            Block::Cards(cards) => {
                h.push_str("<div class=\"cards\">");
                for (v, l) in cards {
                    let _ = write!(h, "<div class=\"card\"><b>{}</b>{}</div>", esc(v), esc(l));
                }
                h.push_str("</div>");
            }
        }
    }
    h
}

/// Risk levels and states in table cells get a coloured badge; everything else is escaped text.
fn level_badge(cell: &str) -> String {
    let class = match cell {
        "Very high" | "Not met" | "Not in place" | "No" => "sev-critical",
        "High" => "sev-high",
        "Moderate" | "Partly" | "Partly in place" => "sev-medium",
        "Low" | "Very low" => "sev-low",
        "Met" | "In place" | "Yes" => "sev-ok",
        "Unknown" | "Unknown (treated as a gap)" => "sev-info",
        _ => return esc(cell),
    };
    format!("<span class=\"sev {class}\">{}</span>", esc(cell))
}
