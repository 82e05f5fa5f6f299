//! `medguard detect`, `rules check` and `watch` driven as a user would, on crafted logs and rules.

use assert_cmd::Command;
use std::net::UdpSocket;
use std::path::Path;
use std::time::{Duration, Instant};

fn medguard(db: &Path) -> Command {
    let mut c = Command::cargo_bin("medguard").expect("binary");
    c.arg("--db").arg(db);
    c
}

fn win(eid: u32, channel: &str, host: &str, t: &str, data: &[(&str, &str)]) -> String {
    let mut s = format!(
        "<Event><System><EventID>{eid}</EventID><TimeCreated SystemTime='{t}'/><Channel>{channel}</Channel><Computer>{host}</Computer></System><EventData>"
    );
    for (k, v) in data {
        s.push_str(&format!("<Data Name='{k}'>{v}</Data>"));
    }
    s.push_str("</EventData></Event>\n");
    s
}

#[test]
fn detect_json_timeline_store_and_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).expect("mkdir");
    let xml = format!(
        "<Events>{}{}{}</Events>",
        win(
            1102,
            "Security",
            "FRONTDESK",
            "2024-05-01T03:00:00Z",
            &[("SubjectUserName", "eve")]
        ),
        win(
            4688,
            "Security",
            "FRONTDESK",
            "2024-05-01T03:01:00Z",
            &[
                ("NewProcessName", "C:\\Windows\\System32\\vssadmin.exe"),
                ("CommandLine", "vssadmin delete shadows /all /quiet")
            ]
        ),
        win(
            4688,
            "Security",
            "FRONTDESK",
            "2024-05-01T03:02:00Z",
            &[
                ("NewProcessName", "C:\\Windows\\notepad.exe"),
                ("CommandLine", "notepad")
            ]
        ),
    );
    std::fs::write(logs.join("security.xml"), xml).expect("write");
    std::fs::write(
        logs.join("audit.csv"),
        "User,Patient ID,Action,Timestamp,Workstation\nnightowl,MRN778899,view,2024-05-01 23:30:00,EXAM1\n",
    )
    .expect("write");
    std::fs::write(logs.join("broken.json"), "{\"a\": 1}\n{not json\n").expect("write");
    let db = dir.path().join("m.db");
    let timeline = dir.path().join("timeline.csv");
    let out = medguard(&db)
        .arg("--json")
        .arg("detect")
        .arg(&logs)
        .arg("--timeline")
        .arg(&timeline)
        .arg("--fail-on")
        .arg("critical")
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(4),
        "critical alert → exit 4; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("utf8");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    let alerts: Vec<&serde_json::Value> = lines.iter().filter(|l| l["type"] == "alert").collect();
    let titles: Vec<&str> = alerts.iter().filter_map(|a| a["title"].as_str()).collect();
    assert!(
        titles.iter().any(|t| t.contains("Shadow copies")),
        "{titles:?}"
    );
    assert!(titles.iter().any(|t| t.contains("event log cleared")));
    assert!(titles.iter().any(|t| t.contains("outside office hours")));
    for a in &alerts {
        for k in [
            "rule_id",
            "title",
            "level",
            "host",
            "timestamp",
            "count",
            "hipaa",
            "explanation",
        ] {
            assert!(!a[k].is_null(), "alert lacks {k}: {a}");
        }
        assert_eq!(a["schema"], 1);
    }
    assert!(!stdout.contains("MRN778899"), "patient id leaked");
    let summary = lines
        .iter()
        .find(|l| l["type"] == "summary")
        .expect("summary");
    assert_eq!(summary["events"], 5);
    assert!(
        lines
            .iter()
            .any(|l| l["type"] == "file" && l["error_count"] == 1)
    );
    let tl = std::fs::read_to_string(&timeline).expect("timeline");
    assert!(tl.starts_with("timestamp,host,level,rule_id,title,source,details"));
    assert_eq!(tl.lines().count(), 4, "{tl}");
    assert!(!tl.contains("notepad"));
    // Stored, and shown in the report.
    let html = dir.path().join("r.html");
    let r = medguard(&db)
        .arg("report")
        .arg("--html")
        .arg(&html)
        .output()
        .expect("report");
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let page = std::fs::read_to_string(&html).expect("html");
    assert!(page.contains("Signs of attack in the logs"));
    assert!(!page.contains("MRN778899"));
    // Human output: plain words first.
    let out = medguard(&db)
        .arg("detect")
        .arg(logs.join("security.xml"))
        .arg("--no-store")
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("What it means:"), "{text}");
    assert!(text.contains("[CRITICAL] Fix today"));
}

#[test]
fn rules_check_names_every_bad_rule() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).expect("mkdir");
    std::fs::write(
        rules.join("good.yml"),
        "title: Good\nid: 11111111-1111-1111-1111-111111111111\nlogsource:\n  product: windows\n  service: security\ndetection:\n  sel:\n    EventID: 4625\n  condition: sel\nlevel: low\n",
    )
    .expect("write");
    std::fs::write(rules.join("broken.yml"), "title: [unclosed\ndetection: {\n").expect("write");
    std::fs::write(
        rules.join("badcond.yml"),
        "title: Bad condition\nlogsource:\n  product: windows\ndetection:\n  sel:\n    EventID: 1\n  condition: sel and nothere\n",
    )
    .expect("write");
    let long = "a".repeat(5000);
    std::fs::write(
        rules.join("slowre.yml"),
        format!("title: Huge regex\nlogsource:\n  product: windows\ndetection:\n  sel:\n    CommandLine|re: '{long}'\n  condition: sel\n"),
    )
    .expect("write");
    let out = medguard(&dir.path().join("m.db"))
        .arg("rules")
        .arg("check")
        .arg(&rules)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("broken.yml"), "{text}");
    assert!(text.contains("badcond.yml"), "{text}");
    assert!(
        text.contains("slowre.yml") && text.contains("limit 4096"),
        "{text}"
    );
    assert!(
        !text.contains("NOT LOADED") || !text.contains("good.yml"),
        "{text}"
    );
    assert!(
        text.contains("1 rules and 0 correlations loaded, 3 not loaded"),
        "{text}"
    );
}

#[test]
fn watch_receives_udp_detects_and_stores() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).expect("mkdir");
    std::fs::write(
        rules.join("ssh.yml"),
        "title: Root SSH password failure\nid: 22222222-2222-2222-2222-222222222222\nlogsource:\n  product: linux\n  service: auth\ndetection:\n  keywords:\n    - 'Failed password for root'\n  condition: keywords\nlevel: high\ntags:\n  - attack.credential_access\n  - attack.t1110\n",
    )
    .expect("write");
    let port = {
        let s = UdpSocket::bind("127.0.0.1:0").expect("probe port");
        s.local_addr().expect("addr").port()
    };
    let db = dir.path().join("m.db");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("medguard"))
        .arg("--db")
        .arg(&db)
        .arg("--json")
        .arg("watch")
        .arg("--syslog")
        .arg(format!("udp://127.0.0.1:{port}"))
        .arg("--rules")
        .arg(&rules)
        .arg("--max-events")
        .arg("4")
        .arg("--duration")
        .arg("30")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let sender = UdpSocket::bind("127.0.0.1:0").expect("sender");
    let msgs: [&[u8]; 4] = [
        b"<38>Oct 11 22:14:15 fw01 sshd[1]: Failed password for root from 192.0.2.7 port 22 ssh2",
        b"\xff\xfe garbage that is not syslog",
        b"<38>Oct 11 22:14:16 fw01 sshd[1]: Failed password for root from 192.0.2.7 port 22 ssh2",
        b"<38>Oct 11 22:14:17 fw01 sshd[1]: Accepted publickey for alice",
    ];
    let deadline = Instant::now() + Duration::from_secs(20);
    // Resend until watch is up and has counted all four (UDP: the first ones may precede the bind).
    let output = loop {
        for m in msgs {
            sender.send_to(m, ("127.0.0.1", port)).expect("send");
        }
        std::thread::sleep(Duration::from_millis(300));
        if let Some(_status) = child.try_wait().expect("wait") {
            break child.wait_with_output().expect("output");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("watch did not stop after 4 messages");
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let alert = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["type"] == "alert")
        .unwrap_or_else(|| {
            panic!(
                "no alert: {stdout} {}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    assert_eq!(alert["title"], "Root SSH password failure");
    assert_eq!(alert["host"], "fw01");
    assert!(
        alert["hipaa"]
            .as_array()
            .is_some_and(|h| h.iter().any(|x| x == "164.312(d)"))
    );
    let summary = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["type"] == "watch_summary")
        .expect("summary");
    assert_eq!(summary["processed"], 4);
    assert_eq!(summary["dropped"], 0);
}
