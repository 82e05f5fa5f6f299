//! The network map: devices grouped by kind around the practice network, coloured by their most urgent
//! problem. Deterministic layout (no physics), so the same inventory always draws the same map.

use crate::{esc, severity_color};
use medguard_model::{Asset, Category, HostStatus};
use std::collections::BTreeMap;
use std::f64::consts::PI;
use std::fmt::Write;

const W: f64 = 1000.0;
const H: f64 = 640.0;

/// Draw the assets as an SVG network map.
pub fn network_map(assets: &[Asset]) -> String {
    let mut groups: BTreeMap<Category, Vec<&Asset>> = BTreeMap::new();
    for a in assets {
        groups.entry(a.category).or_default().push(a);
    }
    let (cx, cy) = (W / 2.0, H / 2.0);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {H}\" width=\"100%\" role=\"img\" \
         aria-label=\"Network map\" style=\"max-width:{W}px;background:#fbfcfd;border:1px solid #e3e6ea;border-radius:8px\">"
    );
    let n = groups.len().max(1) as f64;
    let group_r = (H / 2.0 - 110.0).max(120.0);
    let mut nodes = String::new();
    for (gi, (cat, members)) in groups.iter().enumerate() {
        let angle = -PI / 2.0 + 2.0 * PI * gi as f64 / n;
        let (gx, gy) = (
            cx + group_r * 1.35 * angle.cos(),
            cy + group_r * angle.sin(),
        );
        let _ = write!(
            s,
            "<line x1=\"{cx}\" y1=\"{cy}\" x2=\"{gx:.1}\" y2=\"{gy:.1}\" stroke=\"#b8c4d0\" stroke-width=\"2\"/>"
        );
        let _ = write!(
            nodes,
            "<text x=\"{gx:.1}\" y=\"{ly:.1}\" font-size=\"12\" font-weight=\"600\" fill=\"#123b5d\" text-anchor=\"middle\">{l}</text>",
            ly = gy - 30.0 - if gy < cy { 10.0 } else { 0.0 },
            l = esc(cat.plain())
        );
        let m = members.len();
        for (i, a) in members.iter().enumerate() {
            // Fan the members of a group on a small circle around the group point.
            let (x, y) = if m == 1 {
                (gx, gy)
            } else {
                let ring = 14.0 + 6.0 * (m as f64).sqrt();
                let t = 2.0 * PI * i as f64 / m as f64;
                (gx + ring * t.cos(), gy + ring * t.sin())
            };
            let fill = a.worst().map(severity_color).unwrap_or("#43a047");
            let dash = if a.status == HostStatus::NoResponse {
                " stroke-dasharray=\"3 2\" fill-opacity=\"0.35\""
            } else {
                ""
            };
            let ip = a.ip.map(|i| i.to_string()).unwrap_or_default();
            let _ = write!(
                s,
                "<line x1=\"{gx:.1}\" y1=\"{gy:.1}\" x2=\"{x:.1}\" y2=\"{y:.1}\" stroke=\"#d5dde5\"/>"
            );
            let _ = write!(
                nodes,
                "<g><title>{name} ({ip}) {cat}: {nf} finding(s)</title>\
                 <circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"9\" fill=\"{fill}\" stroke=\"#fff\" stroke-width=\"2\"{dash}/>",
                name = esc(&a.display_name()),
                ip = esc(&ip),
                cat = esc(cat.as_str()),
                nf = a.findings.len(),
            );
            if m <= 6 {
                let _ = write!(
                    nodes,
                    "<text x=\"{x:.1}\" y=\"{ty:.1}\" font-size=\"10\" text-anchor=\"middle\" fill=\"#333\">{ip}</text>",
                    ty = y + 21.0,
                    ip = esc(&ip)
                );
            }
            nodes.push_str("</g>");
        }
    }
    let _ = write!(
        s,
        "{nodes}<circle cx=\"{cx}\" cy=\"{cy}\" r=\"30\" fill=\"#123b5d\"/>\
         <text x=\"{cx}\" y=\"{ty}\" font-size=\"11\" fill=\"#fff\" text-anchor=\"middle\">Practice</text>\
         <text x=\"{cx}\" y=\"{ty2}\" font-size=\"11\" fill=\"#fff\" text-anchor=\"middle\">network</text>",
        ty = cy - 2.0,
        ty2 = cy + 12.0
    );
    legend(&mut s);
    s.push_str("</svg>");
    s
}

fn legend(s: &mut String) {
    let items = [
        (
            "Fix today",
            severity_color(medguard_model::Severity::Critical),
        ),
        (
            "Fix this week",
            severity_color(medguard_model::Severity::High),
        ),
        (
            "Fix this month",
            severity_color(medguard_model::Severity::Medium),
        ),
        ("Minor", severity_color(medguard_model::Severity::Low)),
        ("No problems found", "#43a047"),
    ];
    for (i, (label, color)) in items.iter().enumerate() {
        let y = 20.0 + 18.0 * i as f64;
        let _ = write!(
            s,
            "<circle cx=\"18\" cy=\"{y}\" r=\"6\" fill=\"{color}\"/><text x=\"30\" y=\"{ty}\" font-size=\"11\">{label}</text>",
            ty = y + 4.0
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_node_per_asset_and_deterministic() {
        let assets: Vec<Asset> = (1..=5)
            .map(|i| Asset {
                ip: Some(format!("10.0.0.{i}").parse().expect("ip")),
                category: if i % 2 == 0 {
                    Category::Pacs
                } else {
                    Category::Printer
                },
                ..Asset::default()
            })
            .collect();
        let a = network_map(&assets);
        let b = network_map(&assets);
        assert_eq!(a, b);
        // 5 device nodes + 5 legend dots + the hub.
        assert_eq!(a.matches("<circle").count(), 11);
        assert!(a.contains("10.0.0.4"));
        assert!(a.contains("Image archive (PACS)"));
    }
}
