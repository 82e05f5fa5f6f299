//! The attacks section: alerts from log detection (`medguard detect` / `watch`), plain words first,
//! then the technical evidence (rule, ATT&CK, HIPAA section, masked events).

use crate::{Section, chart, esc, severity_color};
use medguard_model::Severity;
use medguard_store::{AlertStore, SqliteStore, StoreError};
use std::fmt::Write;

/// Alerts shown in full; the rest are counted.
const SHOWN: usize = 30;

pub fn section(store: &SqliteStore) -> Result<Option<Section>, StoreError> {
    let alerts = store.alerts()?;
    if alerts.is_empty() {
        return Ok(None);
    }
    let count = |s: Severity| alerts.iter().filter(|a| a.level == s).count();
    let urgent = count(Severity::Critical) + count(Severity::High);
    let mut headline = Vec::new();
    if urgent > 0 {
        headline.push(format!(
            "The logs show {urgent} sign{} of an attack that need attention now (critical or high).",
            if urgent == 1 { "" } else { "s" }
        ));
    } else {
        headline.push(format!(
            "The logs show {} lower-priority alert{}; nothing critical.",
            alerts.len(),
            if alerts.len() == 1 { "" } else { "s" }
        ));
    }
    if let Some(top) = alerts.first() {
        headline.push(format!(
            "Most urgent: {} on {}.",
            top.title,
            top.host.as_deref().unwrap_or("an unknown computer")
        ));
    }
    let mut h = String::new();
    let items: Vec<(String, f64, &str)> = Severity::ALL
        .iter()
        .map(|s| (s.as_str().to_string(), count(*s) as f64, severity_color(*s)))
        .collect();
    h.push_str("<div class=\"charts\">");
    h.push_str(&chart::donut("Alerts by urgency", &items));
    let mut by_host: Vec<(String, f64)> = Vec::new();
    for a in &alerts {
        let host = a.host.clone().unwrap_or_else(|| "unknown".into());
        match by_host.iter_mut().find(|(h, _)| *h == host) {
            Some(e) => e.1 += 1.0,
            None => by_host.push((host, 1.0)),
        }
    }
    by_host.sort_by(|a, b| b.1.total_cmp(&a.1));
    let host_items: Vec<(String, f64, &str)> = by_host
        .into_iter()
        .take(10)
        .map(|(h, n)| (h, n, "#123b5d"))
        .collect();
    h.push_str(&chart::bars("Computers with the most alerts", &host_items));
    h.push_str("</div>");
    for a in alerts.iter().take(SHOWN) {
        let _ = write!(
            h,
            "<div class=\"finding\" style=\"border-left-color:{c}\"><p><span class=\"sev sev-{lvl}\">{lvl}</span> <strong>{title}</strong>{times} — {host}, {when}</p><p>{expl}</p><ul>",
            c = severity_color(a.level),
            lvl = esc(a.level.as_str()),
            title = esc(&a.title),
            times = if a.count > 1 {
                format!(" ({} times)", a.count)
            } else {
                String::new()
            },
            host = esc(a.host.as_deref().unwrap_or("unknown computer")),
            when = esc(&a
                .timestamp
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_else(|| "time unknown".into())),
            expl = esc(&a.explanation),
        );
        for s in &a.first_steps {
            let _ = write!(h, "<li>{}</li>", esc(s));
        }
        let _ = write!(
            h,
            "</ul><p class=\"tech\">Rule <code>{}</code>; ATT&amp;CK {}; HIPAA {}{}</p>",
            esc(&a.rule_id),
            esc(&if a.attack.is_empty() {
                "-".to_string()
            } else {
                a.attack.join(", ")
            }),
            esc(&a.hipaa.join(", ")),
            a.correlation
                .as_deref()
                .map(|c| format!("; {}", esc(c)))
                .unwrap_or_default()
        );
        if let Some(e) = a.events.first() {
            let _ = write!(
                h,
                "<p class=\"tech\">Evidence: <code>{}</code> {}</p>",
                esc(&e.origin),
                esc(&e.summary)
            );
        }
        h.push_str("</div>");
    }
    if alerts.len() > SHOWN {
        let _ = write!(
            h,
            "<p>{} more alerts are in <code>medguard detect --json</code> output and the store.</p>",
            alerts.len() - SHOWN
        );
    }
    Ok(Some(Section {
        id: "attacks",
        title: "Signs of attack in the logs".into(),
        headline,
        html: h,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use medguard_model::{Alert, AlertEvent};

    #[test]
    fn empty_store_has_no_section_and_alerts_render_escaped() {
        let mut s = SqliteStore::in_memory().expect("store");
        assert!(section(&s).expect("section").is_none());
        let run = s.begin_detect_run("detect").expect("run");
        let a = Alert {
            rule_id: "r<1>".into(),
            title: "Shadow copies <deleted>".into(),
            level: Severity::Critical,
            tags: vec![],
            attack: vec!["T1490".into()],
            hipaa: vec!["164.308(a)(6)".into()],
            explanation: "Ransomware precursor".into(),
            first_steps: vec!["Unplug it".into()],
            host: Some("PC1".into()),
            timestamp: None,
            last_seen: None,
            count: 3,
            correlation: None,
            events: vec![AlertEvent {
                timestamp: None,
                origin: "f#1".into(),
                summary: "CommandLine=vssadmin".into(),
            }],
        };
        s.record_alerts(run, &[a]).expect("record");
        let sec = section(&s).expect("section").expect("some");
        assert!(sec.headline[0].contains("1 sign of an attack"));
        assert!(sec.html.contains("Shadow copies &lt;deleted&gt;"));
        assert!(sec.html.contains("(3 times)"));
        assert!(!sec.html.contains("<deleted>"));
    }
}
