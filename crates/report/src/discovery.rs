//! The devices section: what is on the network, what is wrong with it, and a map.

use crate::{Section, chart, esc, map, severity_color};
use medguard_model::{Asset, Category, Finding, HostStatus, Severity};
use medguard_store::{InventoryStore, SqliteStore, StoreError};
use std::collections::BTreeMap;
use std::fmt::Write;

pub fn section(store: &SqliteStore) -> Result<Option<Section>, StoreError> {
    let assets = store.assets()?;
    if assets.is_empty() {
        return Ok(None);
    }
    let scans = store.scans()?;
    let last_scan = scans.last();
    let changes = match last_scan {
        Some(s) => store.changes(Some(s.id))?,
        None => Vec::new(),
    };
    let up: Vec<&Asset> = assets
        .iter()
        .filter(|a| a.status == HostStatus::Up)
        .collect();
    let clinical = up.iter().filter(|a| a.category.is_clinical()).count();
    let mut by_sev: BTreeMap<Severity, Vec<(&Asset, &Finding)>> = BTreeMap::new();
    for a in &up {
        for f in &a.findings {
            by_sev.entry(f.severity).or_default().push((a, f));
        }
    }
    let urgent = up
        .iter()
        .filter(|a| a.worst().is_some_and(|s| s >= Severity::High))
        .count();

    let mut headline = vec![format!(
        "We found {} device{} on your network ({} handle patient care or patient data); {} need{} fixing this week or sooner.",
        up.len(),
        plural(up.len()),
        clinical,
        urgent,
        if urgent == 1 { "s" } else { "" },
    )];
    if let Some((a, f)) = by_sev.iter().next_back().and_then(|(_, v)| v.first()) {
        headline.push(format!(
            "Most urgent: {} — on the {} ({}).",
            f.title,
            a.category.plain().to_lowercase(),
            a.ip.map(|i| i.to_string()).unwrap_or_default()
        ));
    }
    let new_devices = changes
        .iter()
        .filter(|c| c.kind == medguard_store::ChangeKind::NewDevice)
        .count();
    if new_devices > 0 && scans.len() > 1 {
        headline.push(format!(
            "{new_devices} device{} appeared since the previous scan: make sure you know what {}.",
            plural(new_devices),
            if new_devices == 1 {
                "it is"
            } else {
                "they are"
            }
        ));
    }

    let mut h = String::new();
    let silent = assets.len() - up.len();
    let _ = write!(
        h,
        "<div class=\"cards\"><div class=\"card\"><b>{}</b>devices found</div>\
         <div class=\"card\"><b>{clinical}</b>clinical or patient-data devices</div>\
         <div class=\"card\"><b>{urgent}</b>need fixing this week</div>\
         <div class=\"card\"><b>{silent}</b>known but not answering</div></div>",
        up.len()
    );
    if let Some(s) = last_scan {
        let _ = write!(
            h,
            "<p class=\"tech\">Last scan: {} of <code>{}</code> (profile {}).</p>",
            s.started_at.format("%Y-%m-%d %H:%M UTC"),
            esc(&s.targets),
            esc(&s.profile)
        );
    }

    // Charts.
    let mut cats: BTreeMap<Category, usize> = BTreeMap::new();
    for a in &up {
        *cats.entry(a.category).or_default() += 1;
    }
    const PALETTE: [&str; 8] = [
        "#123b5d", "#2e7d32", "#6a1b9a", "#00838f", "#ef6c00", "#5d4037", "#c2185b", "#546e7a",
    ];
    let cat_items: Vec<(String, f64, &str)> = cats
        .iter()
        .enumerate()
        .map(|(i, (c, n))| (c.plain().to_string(), *n as f64, PALETTE[i % PALETTE.len()]))
        .collect();
    let sev_items: Vec<(String, f64, &str)> = Severity::ALL
        .iter()
        .map(|s| {
            (
                s.plain().to_string(),
                by_sev.get(s).map_or(0, Vec::len) as f64,
                severity_color(*s),
            )
        })
        .collect();
    let _ = write!(
        h,
        "<div class=\"charts\">{}{}</div>",
        chart::donut("Devices by kind", &cat_items),
        chart::bars("Problems by urgency", &sev_items)
    );

    h.push_str("<h3>Network map</h3>");
    h.push_str(&map::network_map(&assets));

    h.push_str("<h3>What to fix</h3>");
    if by_sev.is_empty() {
        h.push_str("<p>No problems were found on the devices scanned.</p>");
    }
    for (sev, items) in by_sev.iter().rev() {
        // Group identical findings across devices so the manager sees one action per problem.
        let mut grouped: BTreeMap<&str, Vec<(&Asset, &Finding)>> = BTreeMap::new();
        for (a, f) in items {
            grouped.entry(f.id.as_str()).or_default().push((a, f));
        }
        for (_, group) in grouped {
            let Some((_, f)) = group.first() else {
                continue;
            };
            let devices: Vec<String> = group
                .iter()
                .map(|(a, _)| {
                    format!(
                        "{} ({})",
                        a.display_name(),
                        a.ip.map(|i| i.to_string()).unwrap_or_default()
                    )
                })
                .collect();
            let _ = write!(
                h,
                "<div class=\"finding\" style=\"border-color:{c}\"><p><span class=\"sev sev-{s}\">{sp}</span> \
                 <strong>{t}</strong></p><p>{e}</p><p><strong>How to fix:</strong> {fix}</p>\
                 <p class=\"tech\">Affected: {d}. Finding <code>{id}</code>. Evidence: {ev}</p></div>",
                c = severity_color(*sev),
                s = sev.as_str(),
                sp = esc(sev.plain()),
                t = esc(&f.title),
                e = esc(&f.explanation),
                fix = esc(&f.fix),
                d = esc(&devices.join(", ")),
                id = esc(&f.id),
                ev = esc(&group
                    .iter()
                    .map(|(_, f)| f.evidence.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")),
            );
        }
    }

    h.push_str("<h3>All devices</h3><table><tr><th>Kind</th><th>Device</th><th>Address</th><th>Services</th><th>Most urgent</th><th>First / last seen</th></tr>");
    for a in &assets {
        let services: Vec<String> = a
            .services
            .iter()
            .map(|s| format!("{}/{} {}", s.port, s.transport, s.protocol))
            .collect();
        let worst = match a.worst() {
            Some(s) => format!(
                "<span class=\"sev sev-{}\">{}</span>",
                s.as_str(),
                esc(s.plain())
            ),
            None if a.status == HostStatus::NoResponse => "not answering".to_string(),
            None => "none".to_string(),
        };
        let mut device = a.display_name();
        if let Some(fw) = &a.firmware {
            device.push_str(&format!(" (firmware {fw})"));
        }
        let _ = write!(
            h,
            "<tr><td>{k}</td><td>{d}</td><td>{ip}</td><td>{svc}</td><td>{worst}</td><td>{f} / {l}</td></tr>",
            k = esc(a.category.plain()),
            d = esc(&device),
            ip = esc(&a.ip.map(|i| i.to_string()).unwrap_or_default()),
            svc = esc(&services.join(", ")),
            f = a
                .first_seen
                .map(|t| t.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            l = a
                .last_seen
                .map(|t| t.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
        );
    }
    h.push_str("</table>");

    if !changes.is_empty() {
        h.push_str("<h3>What changed in the last scan</h3><ul>");
        for c in &changes {
            let _ = write!(
                h,
                "<li><code>{}</code> {}: {}</li>",
                esc(c.kind.as_str()),
                esc(&c.identity),
                esc(&c.detail)
            );
        }
        h.push_str("</ul>");
    }

    Ok(Some(Section {
        id: "devices",
        title: "Devices and what is wrong with them".to_string(),
        headline,
        html: h,
    }))
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use medguard_model::{Service, Transport};

    fn finding(id: &str, sev: Severity) -> Finding {
        Finding {
            id: id.into(),
            severity: sev,
            title: format!("{id} title"),
            explanation: "what it means".into(),
            fix: "how to fix".into(),
            evidence: "<raw & evidence>".into(),
            port: Some(23),
        }
    }

    #[test]
    fn section_summarises_and_escapes() {
        let mut store = SqliteStore::in_memory().expect("store");
        let scan = store
            .begin_scan("scan", "10.0.0.0/24", "default")
            .expect("scan");
        let pacs = Asset {
            ip: Some("10.0.0.5".parse().expect("ip")),
            category: Category::Pacs,
            vendor: Some("Orthanc".into()),
            services: vec![Service {
                port: 104,
                transport: Transport::Tcp,
                protocol: "dicom".into(),
                product: None,
                version: None,
                banner: None,
                tls: Some(false),
                attributes: Default::default(),
            }],
            findings: vec![
                finding("dicom-any-ae-accepted", Severity::High),
                finding("dicom-unencrypted", Severity::Medium),
            ],
            ..Asset::default()
        };
        let printer = Asset {
            ip: Some("10.0.0.9".parse().expect("ip")),
            category: Category::Printer,
            findings: vec![finding("telnet-enabled", Severity::High)],
            ..Asset::default()
        };
        store.record_asset(scan, &pacs).expect("record");
        store.record_asset(scan, &printer).expect("record");
        store.finish_scan(scan, &|_| true).expect("finish");
        let s = section(&store).expect("section").expect("some");
        assert!(s.headline[0].contains("2 devices"), "{:?}", s.headline);
        assert!(
            s.headline[0].contains("1 handle patient care"),
            "{:?}",
            s.headline
        );
        assert!(s.headline[0].contains("2 need fixing"), "{:?}", s.headline);
        assert!(s.html.contains("&lt;raw &amp; evidence&gt;"));
        assert!(!s.html.contains("<raw"));
        assert!(s.html.contains("dicom-any-ae-accepted"));
        let page = crate::render_html(&store).expect("page");
        assert!(page.contains("Network map"));
    }
}
