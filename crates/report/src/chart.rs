//! Small deterministic SVG charts: horizontal bars and a donut.

use crate::esc;
use std::fmt::Write;

/// Horizontal bar chart: one row per `(label, value, colour)`.
pub fn bars(title: &str, items: &[(String, f64, &str)]) -> String {
    let row_h = 24.0;
    let label_w = 190.0;
    let bar_w = 300.0;
    let height = 30.0 + row_h * items.len() as f64;
    let max = items.iter().map(|i| i.1).fold(0.0_f64, f64::max).max(1.0);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{height}\" role=\"img\" aria-label=\"{t}\">\
         <text x=\"0\" y=\"16\" font-size=\"14\" font-weight=\"600\">{t}</text>",
        w = label_w + bar_w + 60.0,
        t = esc(title),
    );
    for (i, (label, value, color)) in items.iter().enumerate() {
        let y = 28.0 + i as f64 * row_h;
        let w = (value / max * bar_w).max(if *value > 0.0 { 2.0 } else { 0.0 });
        let _ = write!(
            s,
            "<text x=\"{lx}\" y=\"{ty}\" font-size=\"12\" text-anchor=\"end\">{l}</text>\
             <rect x=\"{bx}\" y=\"{y}\" width=\"{w:.1}\" height=\"{bh}\" fill=\"{c}\" rx=\"3\"/>\
             <text x=\"{vx:.1}\" y=\"{ty}\" font-size=\"12\">{v}</text>",
            lx = label_w - 8.0,
            ty = y + 14.0,
            l = esc(label),
            bx = label_w,
            bh = row_h - 6.0,
            c = esc(color),
            vx = label_w + w + 6.0,
            v = format_value(*value),
        );
    }
    s.push_str("</svg>");
    s
}

/// Donut chart with a legend: `(label, value, colour)`; zero values are left out.
pub fn donut(title: &str, items: &[(String, f64, &str)]) -> String {
    let total: f64 = items.iter().map(|i| i.1.max(0.0)).sum();
    let (cx, cy, r, stroke) = (80.0, 95.0, 55.0, 28.0);
    let legend_rows = items.iter().filter(|i| i.1 > 0.0).count();
    let height = (190.0_f64).max(40.0 + 20.0 * legend_rows as f64);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"380\" height=\"{height}\" role=\"img\" aria-label=\"{t}\">\
         <text x=\"0\" y=\"16\" font-size=\"14\" font-weight=\"600\">{t}</text>",
        t = esc(title)
    );
    let circumference = 2.0 * std::f64::consts::PI * r;
    if total <= 0.0 {
        let _ = write!(
            s,
            "<circle cx=\"{cx}\" cy=\"{cy}\" r=\"{r}\" fill=\"none\" stroke=\"#e3e6ea\" stroke-width=\"{stroke}\"/>\
             <text x=\"{cx}\" y=\"{ty}\" font-size=\"13\" text-anchor=\"middle\">none</text>",
            ty = cy + 4.0
        );
    }
    let mut offset = 0.0;
    for (row, (label, value, color)) in items.iter().filter(|i| i.1 > 0.0).enumerate() {
        let len = value / total * circumference;
        let _ = write!(
            s,
            "<circle cx=\"{cx}\" cy=\"{cy}\" r=\"{r}\" fill=\"none\" stroke=\"{c}\" stroke-width=\"{stroke}\" \
             stroke-dasharray=\"{len:.2} {rest:.2}\" stroke-dashoffset=\"{off:.2}\" transform=\"rotate(-90 {cx} {cy})\"/>",
            c = esc(color),
            rest = circumference - len,
            off = -offset,
        );
        offset += len;
        let ly = 40.0 + row as f64 * 20.0;
        let _ = write!(
            s,
            "<rect x=\"170\" y=\"{ry}\" width=\"12\" height=\"12\" fill=\"{c}\"/>\
             <text x=\"188\" y=\"{ty}\" font-size=\"12\">{l} ({v})</text>",
            ry = ly - 10.0,
            c = esc(color),
            ty = ly,
            l = esc(label),
            v = format_value(*value)
        );
    }
    if total > 0.0 {
        let _ = write!(
            s,
            "<text x=\"{cx}\" y=\"{ty}\" font-size=\"20\" font-weight=\"700\" text-anchor=\"middle\">{v}</text>",
            ty = cy + 7.0,
            v = format_value(total)
        );
    }
    s.push_str("</svg>");
    s
}

fn format_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_and_escape_labels() {
        let svg = bars(
            "Devices",
            &[
                ("<PACS>".into(), 2.0, "#111"),
                ("Printer".into(), 1.0, "#222"),
            ],
        );
        assert!(svg.contains("&lt;PACS&gt;"));
        assert!(svg.contains("width=\"300.0\""));
        assert!(svg.contains("width=\"150.0\""));
    }

    #[test]
    fn donut_segments_sum_to_the_circle() {
        let svg = donut(
            "Findings",
            &[("High".into(), 3.0, "#f00"), ("Low".into(), 1.0, "#00f")],
        );
        assert_eq!(svg.matches("<circle").count(), 2);
        assert!(svg.contains(">4</text>"));
        let empty = donut("Findings", &[]);
        assert!(empty.contains("none"));
    }
}
