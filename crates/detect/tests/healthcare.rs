//! The built-in healthcare rules on events we craft: each must fire on the attack and stay quiet
//! on the look-alike. Events go through the real readers (Windows XML export, EHR audit CSV) and
//! the whole offline pipeline (detection, correlation, folding).

use medguard_detect::SigmaEngine;
use medguard_detect::alerts::{AllowList, Folder, Guidance, Masker};
use medguard_detect::engine::{self, BUILTIN_LOGSOURCES};
use medguard_detect::readers::ReadOptions;
use medguard_detect::readers::audit::AuditMap;
use medguard_detect::run::{self, RunOutput};
use medguard_model::{Alert, Severity};
use std::fmt::Write;

fn engine() -> SigmaEngine {
    let pipeline = engine::parse_mapping("logsources.yml", BUILTIN_LOGSOURCES).expect("mapping");
    let (e, report) = SigmaEngine::load(&engine::builtin_rules(), vec![pipeline]);
    assert!(
        report.issues.is_empty(),
        "built-in rules must load cleanly: {:?}",
        report.issues
    );
    e
}

fn run_files(files: &[(&str, String)]) -> RunOutput {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut paths = Vec::new();
    for (name, text) in files {
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("write");
        paths.push(p);
    }
    let opts = ReadOptions {
        audit_maps: AuditMap::builtins().expect("maps"),
        evtx_threads: 1,
    };
    let mut e = engine();
    let masker = Masker::new([9; 32]);
    let folder = Folder::new(
        Guidance::builtin().expect("guidance"),
        AllowList::default(),
        masker.clone(),
        3600,
    );
    let out = run::run(&paths, &opts, &mut e, folder, &masker);
    assert!(out.failed_files.is_empty(), "{:?}", out.failed_files);
    out
}

fn titles(out: &RunOutput) -> Vec<String> {
    out.alerts.iter().map(|a| a.title.clone()).collect()
}

fn find<'a>(out: &'a RunOutput, title_part: &str) -> Option<&'a Alert> {
    out.alerts.iter().find(|a| a.title.contains(title_part))
}

/// One Windows event in `wevtutil qe /f:xml` form.
fn win(eid: u32, channel: &str, computer: &str, secs: i64, data: &[(&str, &str)]) -> String {
    let t = chrono::DateTime::from_timestamp(1_714_000_000 + secs, 0)
        .expect("time")
        .to_rfc3339();
    let mut s = format!(
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Test'/><EventID>{eid}</EventID><TimeCreated SystemTime='{t}'/><Channel>{channel}</Channel><Computer>{computer}</Computer></System><EventData>"
    );
    for (k, v) in data {
        let _ = write!(s, "<Data Name='{k}'>{v}</Data>");
    }
    s.push_str("</EventData></Event>\n");
    s
}

fn xml(events: &[String]) -> String {
    format!("<Events>\n{}</Events>\n", events.concat())
}

fn audit_csv(rows: &[(&str, String, &str, &str)]) -> String {
    let mut s = String::from("User,Patient ID,Action,Timestamp,Workstation\n");
    for (user, patient, ts, ws) in rows {
        let _ = writeln!(s, "{user},{patient},view chart,{ts},{ws}");
    }
    s
}

#[test]
fn mass_patient_access_by_one_user() {
    // alice opens 60 different charts between 10:00 and 10:59 on a Tuesday.
    let rows: Vec<_> = (0..60)
        .map(|i| ("alice", format!("MRN{:05}", 1000 + i), "", "FRONTDESK1"))
        .enumerate()
        .map(|(i, (u, p, _, w))| (u, p, format!("2024-04-23 10:{:02}:00", i % 60), w))
        .collect();
    let rows: Vec<(&str, String, &str, &str)> = rows
        .iter()
        .map(|(u, p, t, w)| (*u, p.clone(), t.as_str(), *w))
        .collect();
    let out = run_files(&[("audit.csv", audit_csv(&rows))]);
    let a = find(&out, "One user opened an unusual number").expect("user alert");
    assert_eq!(a.level, Severity::High);
    assert!(a.hipaa.iter().any(|h| h == "164.308(a)(1)(ii)(D)"));
    assert!(
        a.correlation
            .as_deref()
            .is_some_and(|c| c.contains("user=alice"))
    );
    // The evidence is the events that added up to the alert, not only the one that crossed the
    // threshold: the last MAX_ALERT_EVENTS of them, each a different row.
    assert_eq!(a.events.len(), medguard_detect::alerts::MAX_ALERT_EVENTS);
    let origins: std::collections::HashSet<&str> =
        a.events.iter().map(|e| e.origin.as_str()).collect();
    assert_eq!(origins.len(), a.events.len(), "{:?}", a.events);
    assert!(a.events.iter().all(|e| e.timestamp.is_some()));
    assert!(
        find(&out, "One workstation opened").is_some(),
        "{:?}",
        titles(&out)
    );
    // Evidence never carries a patient identifier in clear.
    let json = serde_json::to_string(&out.alerts).expect("json");
    assert!(!json.contains("MRN0"), "patient ids leaked: {json}");
    assert!(
        !out.alerts
            .iter()
            .any(|a| a.title.contains("outside office hours"))
    );
}

#[test]
fn normal_patient_access_is_quiet() {
    // 60 charts but spread over a working day (6 per hour): below the hourly threshold.
    let rows: Vec<(String, String)> = (0..60)
        .map(|i| {
            (
                format!("MRN{:05}", i),
                format!("2024-04-23 {:02}:{:02}:00", 8 + i / 6, (i % 6) * 10),
            )
        })
        .collect();
    let rows: Vec<(&str, String, &str, &str)> = rows
        .iter()
        .map(|(p, t)| ("bob", p.clone(), t.as_str(), "EXAM2"))
        .collect();
    let out = run_files(&[("audit.csv", audit_csv(&rows))]);
    assert!(out.alerts.is_empty(), "{:?}", titles(&out));
    assert_eq!(out.events, 60);
}

#[test]
fn after_hours_access() {
    let rows = vec![
        ("carol", "MRN1".to_string(), "2024-04-23 23:10:00", "EXAM1"),
        ("dave", "MRN2".to_string(), "2024-04-23 11:00:00", "EXAM1"),
        ("erin", "MRN3".to_string(), "2024-04-27 11:00:00", "EXAM3"), // Saturday
    ];
    let out = run_files(&[("audit.csv", audit_csv(&rows))]);
    let hits: Vec<&Alert> = out
        .alerts
        .iter()
        .filter(|a| a.title.contains("outside office hours"))
        .collect();
    assert_eq!(hits.len(), 2, "{:?}", titles(&out));
    let hosts: Vec<_> = hits.iter().filter_map(|a| a.host.as_deref()).collect();
    assert!(hosts.contains(&"EXAM1") && hosts.contains(&"EXAM3"));
    assert!(
        out.timeline
            .iter()
            .all(|r| !r.summary.contains("user=dave"))
    );
}

#[test]
fn ransomware_on_the_phi_share() {
    let mut events: Vec<String> = (0..1200)
        .map(|i| {
            win(
                5145,
                "Security",
                "FILESRV",
                i / 3,
                &[
                    ("SubjectUserName", "frontdesk"),
                    ("ShareName", "\\\\*\\PHI"),
                    ("RelativeTargetName", &format!("charts\\p{i}.pdf")),
                ],
            )
        })
        .collect();
    // A slower user: 500 files in 10 minutes is below the threshold.
    events.extend((0..500).map(|i| {
        win(
            5145,
            "Security",
            "FILESRV",
            i,
            &[("SubjectUserName", "billing"), ("ShareName", "\\\\*\\PHI")],
        )
    }));
    let out = run_files(&[("sec.xml", xml(&events))]);
    let a = find(&out, "thousands of files").expect("mass access alert");
    assert_eq!(a.level, Severity::Critical);
    assert!(
        a.correlation
            .as_deref()
            .is_some_and(|c| c.contains("SubjectUserName=frontdesk"))
    );
    assert_eq!(
        out.alerts
            .iter()
            .filter(|a| a.title.contains("thousands of files"))
            .count(),
        1,
        "{:?}",
        out.alerts
    );
}

#[test]
fn brute_force_then_success() {
    let mut ev: Vec<String> = (0..12)
        .map(|i| {
            win(
                4625,
                "Security",
                "RECEPTION",
                i * 5,
                &[
                    ("TargetUserName", "drsmith"),
                    ("IpAddress", "203.0.113.9"),
                    ("LogonType", "10"),
                ],
            )
        })
        .collect();
    ev.push(win(
        4624,
        "Security",
        "RECEPTION",
        120,
        &[
            ("TargetUserName", "drsmith"),
            ("IpAddress", "203.0.113.9"),
            ("LogonType", "10"),
        ],
    ));
    // Someone who mistyped twice then got in: no alert.
    for i in 0..2 {
        ev.push(win(
            4625,
            "Security",
            "RECEPTION",
            i,
            &[("TargetUserName", "nurse1"), ("LogonType", "2")],
        ));
    }
    ev.push(win(
        4624,
        "Security",
        "RECEPTION",
        10,
        &[("TargetUserName", "nurse1"), ("LogonType", "10")],
    ));
    let out = run_files(&[("sec.xml", xml(&ev))]);
    let a = find(&out, "Password guessing followed by a successful logon")
        .unwrap_or_else(|| panic!("no brute-force alert: {:?}", titles(&out)));
    assert_eq!(a.level, Severity::Critical);
    assert!(a.attack.iter().any(|t| t == "T1110"));
    assert!(a.hipaa.iter().any(|h| h == "164.312(d)"));
    assert!(find(&out, "Many failed logons").is_some());
    assert!(
        !out.alerts.iter().any(|a| a
            .correlation
            .as_deref()
            .is_some_and(|c| c.contains("nurse1"))),
        "{:?}",
        out.alerts
    );
}

#[test]
fn failures_without_success_do_not_claim_a_breach() {
    let ev: Vec<String> = (0..15)
        .map(|i| {
            win(
                4625,
                "Security",
                "RECEPTION",
                i,
                &[("TargetUserName", "admin"), ("LogonType", "3")],
            )
        })
        .collect();
    let out = run_files(&[("sec.xml", xml(&ev))]);
    assert!(
        find(&out, "Many failed logons").is_some(),
        "{:?}",
        titles(&out)
    );
    assert!(find(&out, "followed by a successful").is_none());
}

#[test]
fn windows_single_event_rules() {
    let ev = vec![
        win(
            4732,
            "Security",
            "PC1",
            1,
            &[("TargetSid", "S-1-5-32-544"), ("MemberName", "CN=eve")],
        ),
        win(
            4732,
            "Security",
            "PC1",
            2,
            &[
                ("TargetSid", "S-1-5-32-555"),
                ("TargetUserName", "Remote Desktop Users"),
            ],
        ),
        win(1102, "Security", "PC1", 3, &[("SubjectUserName", "eve")]),
        win(104, "System", "PC1", 4, &[("Channel", "System")]),
        win(1100, "Security", "PC1", 5, &[]),
        win(
            4688,
            "Security",
            "PC1",
            6,
            &[
                ("NewProcessName", "C:\\Windows\\System32\\vssadmin.exe"),
                ("CommandLine", "vssadmin.exe Delete Shadows /All /Quiet"),
            ],
        ),
        win(
            4688,
            "Security",
            "PC2",
            7,
            &[
                ("NewProcessName", "C:\\Windows\\System32\\vssadmin.exe"),
                ("CommandLine", "vssadmin list shadows"),
            ],
        ),
        win(
            1,
            "Microsoft-Windows-Sysmon/Operational",
            "PC3",
            8,
            &[
                ("Image", "C:\\Windows\\System32\\wbadmin.exe"),
                ("CommandLine", "wbadmin delete catalog -quiet"),
            ],
        ),
        win(
            7045,
            "System",
            "PC1",
            9,
            &[
                ("ServiceName", "AnyDesk Service"),
                (
                    "ImagePath",
                    "\"C:\\Program Files (x86)\\AnyDesk\\AnyDesk.exe\" --service",
                ),
            ],
        ),
        win(
            7045,
            "System",
            "PC2",
            10,
            &[
                ("ServiceName", "Printer helper"),
                ("ImagePath", "C:\\Program Files\\HP\\helper.exe"),
            ],
        ),
        win(
            5001,
            "Microsoft-Windows-Windows Defender/Operational",
            "PC4",
            11,
            &[],
        ),
        win(
            5000,
            "Microsoft-Windows-Windows Defender/Operational",
            "PC5",
            12,
            &[],
        ),
        win(
            13,
            "Microsoft-Windows-Sysmon/Operational",
            "PC6",
            13,
            &[
                (
                    "TargetObject",
                    "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows Defender\\DisableAntiSpyware",
                ),
                ("Details", "DWORD (0x00000001)"),
            ],
        ),
    ];
    let out = run_files(&[("mixed.xml", xml(&ev))]);
    let by = |part: &str| -> Vec<String> {
        out.alerts
            .iter()
            .filter(|a| a.title.contains(part))
            .filter_map(|a| a.host.clone())
            .collect()
    };
    assert_eq!(
        by("administrators group"),
        vec!["PC1"],
        "{:?}",
        titles(&out)
    );
    let cleared = out
        .alerts
        .iter()
        .find(|a| a.title.contains("event log cleared"))
        .expect("cleared");
    assert_eq!(cleared.count, 2, "1102 and 104 fold into one alert for PC1");
    let mut shadow = by("Shadow copies");
    shadow.sort();
    assert_eq!(shadow, vec!["PC1", "PC3"]);
    assert_eq!(by("Remote-access tool"), vec!["PC1"]);
    let mut defender = by("Defender protection");
    defender.sort();
    assert_eq!(defender, vec!["PC4", "PC6"]);
    let shadow_alert = find(&out, "Shadow copies").expect("shadow");
    assert_eq!(shadow_alert.level, Severity::Critical);
    assert!(
        shadow_alert.explanation.contains("ransomware")
            || shadow_alert.explanation.contains("Ransomware")
    );
    assert!(!shadow_alert.first_steps.is_empty());
    // Timeline is in time order and holds every matched event.
    let times: Vec<_> = out.timeline.iter().map(|r| r.timestamp).collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);
}
