//! End-to-end tests of `medguard scan`, `medguard demo` and `medguard import nmap` through the real
//! binary, against the simulated practice on loopback.

use assert_cmd::Command;
use medguard_discover::sim::practice::{IPP_PORT, MODBUS_PORT, Practice, SMB_PORT};
use serde_json::Value;
use std::collections::BTreeMap;

fn medguard() -> Command {
    let mut c = Command::cargo_bin("medguard").expect("binary");
    c.env_remove("MEDGUARD_DB").env("NO_COLOR", "1");
    c
}

fn records(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

fn assets_by_ip(recs: &[Value]) -> BTreeMap<String, Value> {
    recs.iter()
        .filter(|r| r["type"] == "asset")
        .map(|r| (r["ip"].as_str().unwrap_or_default().to_string(), r.clone()))
        .collect()
}

fn finding_ids(a: &Value) -> Vec<String> {
    a["findings"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter_map(|x| x["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn protocols(a: &Value) -> Vec<String> {
    a["services"]
        .as_array()
        .map(|s| {
            s.iter()
                .filter_map(|x| x["protocol"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn demo_scans_the_virtual_practice_and_writes_the_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("demo.db");
    let report = dir.path().join("report.html");
    let out = medguard()
        .args(["--json", "--db"])
        .arg(&db)
        .args(["demo", "--net", "127.66.5", "--report"])
        .arg(&report)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let recs = records(&out.stdout);
    assert_eq!(
        recs.first().map(|r| r["type"].clone()),
        Some("begin".into())
    );
    assert_eq!(
        recs.last().map(|r| r["type"].clone()),
        Some("summary".into())
    );
    for r in &recs {
        assert_eq!(r["schema"], 1);
    }
    let assets = assets_by_ip(&recs);
    let a = |n: u8| {
        assets
            .get(&format!("127.66.5.{n}"))
            .unwrap_or_else(|| panic!("127.66.5.{n} missing"))
    };
    assert_eq!(a(10)["category"], "pacs");
    assert_eq!(a(10)["vendor"], "Orthanc");
    assert!(protocols(a(10)).contains(&"dicom".to_string()));
    assert!(finding_ids(a(10)).contains(&"dicom-any-ae-accepted".to_string()));
    assert_eq!(a(13)["category"], "environmental-monitor");
    assert_eq!(a(13)["model"], "DWE2-LAN");
    assert_eq!(a(16)["category"], "storage");
    assert!(finding_ids(a(16)).contains(&"smbv1-enabled".to_string()));
    assert_eq!(a(20)["status"], "no-response");
    assert_eq!(a(21)["category"], "building-automation");
    let summary = recs.last().expect("summary");
    assert_eq!(summary["no_response"], 1);
    assert!(summary["findings"]["critical"].as_u64().unwrap_or(0) >= 1);
    let html = std::fs::read_to_string(&report).expect("report written");
    assert!(
        html.contains("<html") || html.contains("<!DOCTYPE"),
        "not HTML"
    );
    assert!(html.contains("Orthanc"), "report shows the devices");
    // The practice's file share was scanned into the same store and report.
    assert!(dir.path().join("demo-share").is_dir());
    assert!(
        html.contains("Patient data in files"),
        "report shows the PHI section"
    );
    let show = medguard()
        .args(["--json", "--db"])
        .arg(&db)
        .args(["phi", "show"])
        .output()
        .expect("phi show");
    assert!(show.status.success());
    let files = records(&show.stdout);
    assert!(
        files.len() >= 10,
        "{} stored files with patient data",
        files.len()
    );
    assert!(files.iter().all(|f| f["type"] == "phi_file"));
    assert!(files.iter().any(|f| f["format"] == "msg"));
}

#[test]
fn scan_identifies_devices_and_tracks_changes() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let practice = rt
        .block_on(Practice::start([127, 66, 6]))
        .expect("practice");
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("m.db");
    let ports = practice.ports();
    let mut port_expr: Vec<String> = ports.tcp.iter().map(|p| p.to_string()).collect();
    port_expr.push(format!(
        "U:{}",
        ports
            .udp
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(",")
    ));
    let run = |extra: &[&str]| {
        medguard()
            .args(["--json", "--db"])
            .arg(&db)
            .args(["scan", "127.66.6.10-21", "--ports", &port_expr.join(",")])
            .args([
                "--service-port",
                &format!("smb:{SMB_PORT}"),
                "--service-port",
                &format!("ipp:{IPP_PORT}"),
                "--service-port",
                &format!("modbus:{MODBUS_PORT}"),
            ])
            .args(extra)
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .expect("run")
    };
    let out = run(&["--fail-on", "high"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "findings at/above --fail-on give exit 4: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let recs = records(&out.stdout);
    let assets = assets_by_ip(&recs);
    let expect = [
        ("127.66.6.10", "pacs", "dicom", "dicom-any-ae-accepted"),
        ("127.66.6.11", "imaging", "vnc", "vnc-no-auth"),
        ("127.66.6.12", "hl7-interface", "hl7", "hl7-unauthenticated"),
        (
            "127.66.6.13",
            "environmental-monitor",
            "modbus",
            "modbus-unauthenticated",
        ),
        ("127.66.6.14", "camera", "rtsp", "rtsp-no-auth"),
        ("127.66.6.15", "printer", "ipp", "ipp-no-auth"),
        ("127.66.6.16", "storage", "smb", "smbv1-enabled"),
        ("127.66.6.17", "workstation", "rdp", "rdp-no-nla"),
        ("127.66.6.18", "network", "telnet", "telnet-enabled"),
        ("127.66.6.19", "iot", "mqtt", "mqtt-anonymous"),
        (
            "127.66.6.21",
            "building-automation",
            "bacnet",
            "bacnet-unauthenticated",
        ),
    ];
    for (ip, category, protocol, finding) in expect {
        let a = assets.get(ip).unwrap_or_else(|| panic!("{ip} missing"));
        assert_eq!(a["category"], category, "{ip}: {}", a["classified_by"]);
        assert!(
            protocols(a).contains(&protocol.to_string()),
            "{ip}: {:?}",
            protocols(a)
        );
        assert!(
            finding_ids(a).contains(&finding.to_string()),
            "{ip}: {:?}",
            finding_ids(a)
        );
        for f in a["findings"].as_array().expect("findings") {
            assert!(f["title"].as_str().is_some_and(|t| !t.is_empty()));
            assert!(f["severity"].as_str().is_some());
        }
    }
    assert_eq!(assets["127.66.6.15"]["vendor"], "HP");
    assert_eq!(assets["127.66.6.20"]["status"], "no-response");
    let new_devices = recs
        .iter()
        .filter(|r| r["type"] == "change" && r["kind"] == "new-device")
        .count();
    assert_eq!(new_devices, 11);

    // The same network again: nothing new.
    let out = run(&[]);
    assert!(out.status.success());
    let recs = records(&out.stdout);
    assert!(
        !recs
            .iter()
            .any(|r| r["type"] == "change" && r["kind"] == "new-device"),
        "second scan reported new devices"
    );
    drop(practice);

    // The inventory has them, first/last seen.
    let out = medguard()
        .args(["--json", "--db"])
        .arg(&db)
        .arg("inventory")
        .output()
        .expect("inventory");
    let inv = records(&out.stdout);
    assert_eq!(inv.iter().filter(|r| r["type"] == "asset").count(), 11);
}

#[test]
fn scan_refuses_public_targets_and_bad_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("m.db");
    let out = medguard()
        .arg("--db")
        .arg(&db)
        .args(["scan", "8.8.8.8"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--allow-public"));
    let out = medguard()
        .arg("--db")
        .arg(&db)
        .args(["scan", "10.0.0.0/8"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--max-hosts"));
    let out = medguard()
        .args(["scan", "127.0.0.1", "--ports", "99999"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let out = medguard()
        .args(["scan", "--list-probes", "--json"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let probes = records(&out.stdout);
    assert!(probes.len() >= 15, "{} probes", probes.len());
    assert!(
        probes
            .iter()
            .all(|p| p["sends"].as_str().is_some_and(|s| s.len() > 10))
    );
}

#[test]
fn imports_the_committed_nmap_fixture() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("m.db");
    let fixture =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/nmap-practice.xml");
    let out = medguard()
        .args(["--json", "--db"])
        .arg(&db)
        .args(["import", "nmap"])
        .arg(&fixture)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let recs = records(&out.stdout);
    let assets = assets_by_ip(&recs);
    assert_eq!(assets.len(), 2);
    let ftp = &assets["192.168.10.21"];
    assert!(finding_ids(ftp).contains(&"ftp-anonymous".to_string()));
    assert_eq!(ftp["mac"], "00:11:32:AA:BB:CC");
    let mqtt = &assets["192.168.10.30"];
    assert_eq!(mqtt["category"], "iot");
    let bad = dir.path().join("bad.xml");
    std::fs::write(&bad, "<html></html>").expect("write");
    let out = medguard()
        .arg("--db")
        .arg(&db)
        .args(["import", "nmap"])
        .arg(&bad)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not nmap output"));
}
