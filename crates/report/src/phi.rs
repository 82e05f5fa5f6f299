//! The patient-data exposure section: where PHI sits outside the EHR, how many people, who can reach
//! it, the riskiest files first (masked evidence only), and what to do.

use crate::{Section, chart, esc, severity_color};
use medguard_model::{PhiKind, PhiProblem, Severity};
use medguard_store::{PhiStore, SqliteStore, StoreError};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Files shown in the table; the rest are counted.
const SHOWN: usize = 25;

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

pub fn section(store: &SqliteStore) -> Result<Option<Section>, StoreError> {
    let Some(scan) = store.phi_scans()?.into_iter().next() else {
        return Ok(None);
    };
    let files = store.phi_files(Some(scan.id))?;
    let s = &scan.summary;
    let exposed: Vec<_> = files
        .iter()
        .filter(|f| {
            let e = &f.report.exposure;
            e.shared_folder
                || e.guest_share
                || e.synced_folder
                || e.world_readable
                || e.acl_readers > 0
                || e.desktop
                || e.in_email
        })
        .collect();
    let critical = files
        .iter()
        .filter(|f| f.report.severity >= Severity::High)
        .count() as u64;
    let mut headline = Vec::new();
    if files.is_empty() {
        headline.push(format!(
            "No patient data was found in the {} files checked on {}.",
            s.files_scanned,
            s.roots.join(", ")
        ));
    } else {
        headline.push(format!(
            "Patient data sits in {} outside the records system, covering about {} people; {} where other people can reach {}.",
            plural(files.len() as u64, "file", "files"),
            s.individuals,
            plural(exposed.len() as u64, "file lies", "files lie"),
            if exposed.len() == 1 { "it" } else { "them" }
        ));
        if let Some(top) = files.first() {
            headline.push(format!("Worst: {}.", top.report.headline));
        }
        if critical > 0 {
            headline.push(format!(
                "Move or delete the {} marked high or critical first.",
                plural(critical, "file", "files")
            ));
        }
    }
    let mut html = String::new();
    let _ = write!(
        html,
        "<p>Checked {} files ({:.1} MB) in {}. Every value below is masked; full values are never stored.</p>\
         <div class=\"cards\"><div class=\"card\"><b>{}</b>files with patient data</div>\
         <div class=\"card\"><b>{}</b>people in them</div><div class=\"card\"><b>{}</b>exposed files</div>\
         <div class=\"card\"><b>{}</b>high or critical</div><div class=\"card\"><b>{}</b>files not readable</div></div>",
        s.files_scanned,
        s.bytes_scanned as f64 / 1_048_576.0,
        esc(&s.roots.join(", ")),
        files.len(),
        s.individuals,
        exposed.len(),
        critical,
        s.errors
    );
    if !files.is_empty() {
        let mut by_kind: Vec<(PhiKind, u64)> = s.counts.iter().map(|(k, n)| (*k, *n)).collect();
        by_kind.sort_by_key(|(k, n)| (std::cmp::Reverse(k.weight()), std::cmp::Reverse(*n)));
        let bars: Vec<(String, f64, &str)> = by_kind
            .iter()
            .take(12)
            .map(|(k, n)| {
                let color = match k.weight() {
                    8.. => "#b00020",
                    5..=7 => "#e65100",
                    _ => "#1565c0",
                };
                (k.plain().to_string(), *n as f64, color)
            })
            .collect();
        let mut by_sev: BTreeMap<Severity, u64> = BTreeMap::new();
        for f in &files {
            *by_sev.entry(f.report.severity).or_default() += 1;
        }
        let donut: Vec<(String, f64, &str)> = by_sev
            .iter()
            .rev()
            .map(|(sev, n)| (sev.plain().to_string(), *n as f64, severity_color(*sev)))
            .collect();
        let _ = write!(
            html,
            "<div class=\"charts\">{}{}</div>",
            chart::bars("What was found (values)", &bars),
            chart::donut("Files by risk", &donut)
        );
        html.push_str(
            "<h3>Riskiest files</h3><table><tr><th>Risk</th><th>What it is</th><th>Where</th><th>What to do</th></tr>",
        );
        for f in files.iter().take(SHOWN) {
            let r = &f.report;
            let kinds: Vec<String> = r
                .counts
                .iter()
                .map(|(k, n)| format!("{} {n}", k.as_str()))
                .collect();
            let _ = write!(
                html,
                "<tr><td><span class=\"sev sev-{sev}\">{label}</span> {risk}</td><td>{head}<div class=\"tech\">{kinds}</div></td>\
                 <td><code>{path}</code><div class=\"tech\">{fmt}, {reasons}</div></td><td>{fix}</td></tr>",
                sev = r.severity.as_str(),
                label = esc(r.severity.plain()),
                risk = r.risk,
                head = esc(&r.headline),
                kinds = esc(&kinds.join(", ")),
                path = esc(&r.path),
                fmt = esc(&r.format),
                reasons = esc(&r.exposure.reasons().join(", ")),
                fix = esc(&r.advice()),
            );
        }
        html.push_str("</table>");
        if files.len() > SHOWN {
            let _ = write!(
                html,
                "<p>{} more files are listed by <code>medguard phi show</code>.</p>",
                files.len() - SHOWN
            );
        }
        if let Some(top) = files.first() {
            let ev = store.phi_findings(top.id)?;
            if !ev.is_empty() {
                html.push_str("<h3>Evidence from the riskiest file (masked)</h3><table><tr><th>Type</th><th>Masked value</th><th>Where</th><th>Why</th></tr>");
                for x in ev.iter().take(12) {
                    let _ = write!(
                        html,
                        "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td class=\"tech\">{}</td></tr>",
                        esc(x.kind.plain()),
                        esc(&x.masked),
                        esc(&x.location.describe()),
                        esc(&x.reason)
                    );
                }
                html.push_str("</table>");
            }
        }
    }
    problems(&mut html, &mut headline, &store.phi_problems(scan.id)?);
    Ok(Some(Section {
        id: "patient-data",
        title: "Patient data in files".to_string(),
        headline,
        html,
    }))
}

/// What the scan could not check, by why, then the files: a clean result means nothing for them.
fn problems(html: &mut String, headline: &mut Vec<String>, problems: &[(String, PhiProblem)]) {
    if problems.is_empty() {
        return;
    }
    let mut by: BTreeMap<PhiProblem, u64> = BTreeMap::new();
    for (_, p) in problems {
        *by.entry(*p).or_default() += 1;
    }
    headline.push(format!(
        "{} could not be checked (password-protected, scanned images, damaged or too large): \
         any patient data in them is not counted here.",
        plural(
            problems.len() as u64,
            "file or part of one",
            "files or parts of files"
        )
    ));
    html.push_str(
        "<h3>What the scan could not check</h3><table><tr><th>Files</th><th>Why, and what to do</th></tr>",
    );
    for (p, n) in &by {
        let _ = write!(
            html,
            "<tr><td>{n}</td><td>{}<div class=\"tech\">{}</div></td></tr>",
            esc(p.plain()),
            p.as_str()
        );
    }
    html.push_str("</table><table><tr><th>File</th><th>Why</th></tr>");
    for (path, p) in problems.iter().take(SHOWN) {
        let _ = write!(
            html,
            "<tr><td><code>{}</code></td><td>{}</td></tr>",
            esc(path),
            p.as_str()
        );
    }
    html.push_str("</table>");
    if problems.len() > SHOWN {
        let _ = write!(
            html,
            "<p>{} more are listed by <code>medguard phi show</code>.</p>",
            problems.len() - SHOWN
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use medguard_model::{
        Confidence, PhiExposure, PhiFileReport, PhiFinding, PhiLocation, PhiScanSummary, ValueHash,
    };

    #[test]
    fn section_is_masked_and_ranked() {
        let mut store = SqliteStore::in_memory().expect("store");
        let report = |path: &str, risk: u32, sev: Severity| PhiFileReport {
            path: path.into(),
            format: "csv".into(),
            size: 100,
            counts: BTreeMap::from([(PhiKind::Ssn, 3), (PhiKind::Name, 3)]),
            individuals: 3,
            health_info: false,
            exposure: PhiExposure {
                shared_folder: true,
                ..PhiExposure::default()
            },
            risk,
            severity: sev,
            headline: format!("3 patients with SSN in {path}"),
            warnings: Vec::new(),
        };
        let finding = PhiFinding {
            path: "/srv/share/a.csv".into(),
            kind: PhiKind::Ssn,
            masked: "***-**-8726".into(),
            hash: ValueHash::default(),
            value: Some("536-22-8726".into()),
            location: PhiLocation {
                line: Some(2),
                field: Some("ssn".into()),
                ..PhiLocation::default()
            },
            confidence: Confidence::High,
            reason: "field:ssn".into(),
        };
        let mut w = store.phi_writer(&["/srv/share".into()]).expect("writer");
        w.add_file(&report("/srv/share/low.csv", 20, Severity::Low), &[])
            .expect("add");
        w.add_file(
            &report("/srv/share/a.csv", 80, Severity::Critical),
            std::slice::from_ref(&finding),
        )
        .expect("add");
        w.add_problem("/srv/share/scan-0412.pdf", PhiProblem::ScannedImage)
            .expect("problem");
        w.commit(&PhiScanSummary {
            roots: vec!["/srv/share".into()],
            files_scanned: 5,
            files_with_phi: 2,
            individuals: 6,
            counts: BTreeMap::from([(PhiKind::Ssn, 6)]),
            ..PhiScanSummary::default()
        })
        .expect("commit");
        let s = section(&store).expect("section").expect("some");
        assert!(s.headline[0].contains("2 files"), "{:?}", s.headline);
        assert!(
            s.headline[1].contains("/srv/share/a.csv"),
            "{:?}",
            s.headline
        );
        assert!(s.html.contains("***-**-8726"));
        assert!(!s.html.contains("536-22-8726"));
        let a = s.html.find("/srv/share/a.csv").expect("a");
        let low = s.html.find("/srv/share/low.csv").expect("low");
        assert!(a < low, "riskiest first");
        // What it could not check is said, in plain words, with the file.
        assert!(
            s.headline
                .last()
                .is_some_and(|h| h.contains("1 file or part of one could not be checked")),
            "{:?}",
            s.headline
        );
        assert!(s.html.contains("What the scan could not check"));
        assert!(
            s.html
                .contains(esc(PhiProblem::ScannedImage.plain()).as_str())
        );
        assert!(s.html.contains("/srv/share/scan-0412.pdf"));
    }
}
