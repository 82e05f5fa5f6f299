//! The vulnerabilities section: known exploited flaws first, end-of-life software, maker advisories and
//! recalls, each with what it means and what to do, then the technical reason.
//!
//! It shows the matches stored by the last `medguard vulns`, `intel update|import` or `sbom import`
//! run (the intel crate computes them; the report only reads the store).

use crate::{Section, chart, esc, severity_color};
use medguard_model::{MatchConfidence, MatchSource, Severity, VulnMatch};
use medguard_store::{IntelStore, SqliteStore, StoreError};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// Most matches shown in full; the rest are counted.
const SHOWN: usize = 40;

/// The section, or `None` when no vulnerability data was ever loaded.
pub fn section(store: &SqliteStore) -> Result<Option<Section>, StoreError> {
    let matches = store.matches()?;
    let counts = store.intel_counts()?;
    if matches.is_empty() && counts.cves == 0 && counts.kev == 0 && counts.mds2 == 0 {
        return Ok(None);
    }
    let feeds = store.feeds()?;
    let devices: BTreeSet<&str> = matches.iter().map(|m| m.asset.as_str()).collect();
    let kev: Vec<&VulnMatch> = matches.iter().filter(|m| m.kev).collect();
    let kev_devices: BTreeSet<&str> = kev.iter().map(|m| m.asset.as_str()).collect();
    let ransomware = kev.iter().filter(|m| m.ransomware).count();
    let eol: Vec<&VulnMatch> = matches
        .iter()
        .filter(|m| m.source == MatchSource::EndOfLife)
        .collect();

    let mut headline = Vec::new();
    if matches.is_empty() {
        headline.push(
            "No known vulnerabilities were found on your devices in the loaded vulnerability data."
                .to_string(),
        );
    } else if !kev.is_empty() {
        headline.push(format!(
            "{} device{} carr{} flaws that criminals are using in real attacks now ({} flaw{}{}): fix these first.",
            kev_devices.len(),
            if kev_devices.len() == 1 { "" } else { "s" },
            if kev_devices.len() == 1 { "ies" } else { "y" },
            kev.len(),
            if kev.len() == 1 { "" } else { "s" },
            if ransomware > 0 {
                format!(", {ransomware} used by ransomware gangs")
            } else {
                String::new()
            }
        ));
    } else {
        headline.push(format!(
            "{} device{} have known security flaws; none is on the list of flaws being exploited now.",
            devices.len(),
            if devices.len() == 1 { "" } else { "s" }
        ));
    }
    if let Some(e) = eol.first() {
        headline.push(e.plain.clone());
    }

    let mut h = String::new();
    let _ = write!(
        h,
        "<div class=\"cards\"><div class=\"card\"><b>{}</b>problems found</div>\
         <div class=\"card\"><b>{}</b>devices affected</div>\
         <div class=\"card\"><b>{}</b>being exploited now (CISA KEV)</div>\
         <div class=\"card\"><b>{}</b>past end of support</div></div>",
        matches.len(),
        devices.len(),
        kev.len(),
        eol.len()
    );
    let mut by_sev: BTreeMap<Severity, usize> = BTreeMap::new();
    for m in &matches {
        *by_sev.entry(m.severity).or_default() += 1;
    }
    let sev_items: Vec<(String, f64, &str)> = Severity::ALL
        .iter()
        .map(|s| {
            (
                s.plain().to_string(),
                by_sev.get(s).copied().unwrap_or(0) as f64,
                severity_color(*s),
            )
        })
        .collect();
    let mut per_device: BTreeMap<&str, usize> = BTreeMap::new();
    for m in &matches {
        *per_device.entry(m.asset_name.as_str()).or_default() += 1;
    }
    let mut top: Vec<(&str, usize)> = per_device.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let dev_items: Vec<(String, f64, &str)> = top
        .iter()
        .take(8)
        .map(|(n, c)| ((*n).to_string(), *c as f64, "#6b7a99"))
        .collect();
    if !matches.is_empty() {
        let _ = write!(
            h,
            "<div class=\"charts\">{}{}</div>",
            chart::donut("How urgent", &sev_items),
            chart::bars("Devices with the most problems", &dev_items)
        );
    }
    for m in matches.iter().take(SHOWN) {
        let tag = if m.kev {
            "Exploited now".to_string()
        } else {
            m.severity.plain().to_string()
        };
        let mut tech = format!(
            "{} · {} · {}",
            esc(&m.id),
            esc(&m.component),
            esc(&m.reason)
        );
        if let Some(c) = m.cvss {
            let _ = write!(tech, " · CVSS {c:.1}");
        }
        if let Some(e) = m.epss {
            let _ = write!(tech, " · EPSS {:.1}%", e * 100.0);
        }
        if m.confidence != MatchConfidence::Exact {
            let _ = write!(tech, " · confidence: {}", m.confidence.as_str());
        }
        let _ = write!(
            h,
            "<div class=\"finding\" style=\"border-color:{c}\"><p><span class=\"sev sev-{s}\">{tag}</span> \
             <strong>{who}</strong> — {title}</p><p>{plain}</p><p><strong>How to fix:</strong> {fix}</p>\
             <p class=\"tech\">{tech}</p></div>",
            c = severity_color(m.severity),
            s = m.severity.as_str(),
            tag = esc(&tag),
            who = esc(&format!(
                "{}{}",
                m.asset_name,
                m.ip.as_deref()
                    .filter(|ip| *ip != m.asset_name)
                    .map(|ip| format!(" ({ip})"))
                    .unwrap_or_default()
            )),
            title = esc(&m.title),
            plain = esc(&m.plain),
            fix = esc(&m.fix),
        );
    }
    if matches.len() > SHOWN {
        let _ = write!(
            h,
            "<p>{} more are listed by <code>medguard vulns --limit 0</code>.</p>",
            matches.len() - SHOWN
        );
    }
    let forms = store.mds2()?;
    if !forms.is_empty() {
        h.push_str(
            "<h3>Makers' security disclosures (MDS2)</h3><p>What each maker says its device can do; \
             a \"no\" is a gap to cover with other safeguards.</p><table><tr><th>Device</th>\
             <th>Maker and model</th><th>Answered \"no\"</th></tr>",
        );
        for (asset, f) in &forms {
            let no: Vec<&str> = f
                .answers
                .iter()
                .filter(|(_, v)| v.trim().eq_ignore_ascii_case("no"))
                .map(|(k, _)| k.as_str())
                .collect();
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{} {} {}</td><td>{}</td></tr>",
                esc(asset),
                esc(&f.manufacturer),
                esc(&f.model),
                esc(&f.version),
                esc(&no.join(", "))
            );
        }
        h.push_str("</table>");
    }
    h.push_str(
        "<p class=\"tech\">Matches as of the last <code>medguard vulns</code>, <code>intel update</code>, \
         <code>intel import</code> or <code>sbom import</code>.</p>",
    );
    h.push_str("<h3>Vulnerability data used</h3><table><tr><th>Feed</th><th>Records</th><th>Version</th><th>Loaded</th></tr>");
    for f in &feeds {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&f.name),
            f.records,
            esc(&f.version),
            esc(f.imported_at.get(..10).unwrap_or(&f.imported_at))
        );
    }
    h.push_str("</table>");
    Ok(Some(Section {
        id: "vulnerabilities",
        title: "Known vulnerabilities".into(),
        headline,
        html: h,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use medguard_model::FeedState;

    fn m(id: &str, kev: bool, source: MatchSource) -> VulnMatch {
        VulnMatch {
            asset: "ip:10.0.0.5".into(),
            ip: Some("10.0.0.5".into()),
            asset_name: "XRAY-WS".into(),
            id: id.into(),
            source,
            severity: if kev {
                Severity::Critical
            } else {
                Severity::High
            },
            confidence: MatchConfidence::Exact,
            component: "operating system Windows 7 <SP1>".into(),
            reason: "cpe".into(),
            plain: "The imaging device XRAY-WS runs Windows 7, which stopped receiving security fixes on 14 January 2020.".into(),
            fix: "Isolate it.".into(),
            title: "t".into(),
            kev,
            ransomware: false,
            epss: Some(0.9),
            cvss: Some(9.8),
            exposed: true,
            clinical: true,
            priority: if kev { 1100.0 } else { 70.0 },
            port: None,
        }
    }

    #[test]
    fn kev_first_in_the_headline_and_escaped() {
        let mut store = SqliteStore::in_memory().expect("store");
        assert!(section(&store).expect("section").is_none());
        let mut w = store.intel_writer().expect("writer");
        w.set_feed(&FeedState {
            name: "kev".into(),
            records: 2,
            ..FeedState::default()
        })
        .expect("feed");
        w.commit().expect("commit");
        store
            .save_matches(&[
                m("CVE-2019-0708", true, MatchSource::Nvd),
                m("eol:windows-7", false, MatchSource::EndOfLife),
            ])
            .expect("save");
        let s = section(&store).expect("section").expect("some");
        assert!(
            s.headline[0].starts_with("1 device carries flaws that criminals are using"),
            "{:?}",
            s.headline
        );
        assert!(s.headline[1].contains("Windows 7"));
        assert!(s.html.contains("&lt;SP1&gt;"));
        let kev_at = s.html.find("CVE-2019-0708").expect("kev");
        let eol_at = s.html.find("eol:windows-7").expect("eol");
        assert!(kev_at < eol_at);
    }
}
