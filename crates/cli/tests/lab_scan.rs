//! `medguard scan` against real third-party servers started by the lab harness on loopback (dcmtk,
//! pymodbus, mosquitto, python-hl7, bacpypes3, vsftpd, net-snmp), and `medguard import nmap` of a
//! real `nmap -oX` run. Each peer gets its own lab address; a missing peer fails loudly.

use assert_cmd::Command;
use medguard_lab::{lab_ip, require};
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::IpAddr;

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

fn ids(a: &Value, key: &str, field: &str) -> Vec<String> {
    a[key]
        .as_array()
        .map(|v| {
            v.iter()
                .filter_map(|x| x[field].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn scan_identifies_real_lab_peers() {
    let storescp = medguard_lab::dicom::start_storescp(lab_ip(161));
    let dcmqrscp = medguard_lab::dicom::start_dcmqrscp(lab_ip(162), "PACS");
    let modbus = medguard_lab::pypeers::start_pymodbus(
        lab_ip(163),
        &medguard_lab::pypeers::ModbusIdentity {
            vendor_name: "Dickson".into(),
            product_code: "DWE2".into(),
            revision: "3.1".into(),
            vendor_url: "https://www.dicksondata.com".into(),
            product_name: "Vaccine fridge monitor".into(),
            model_name: "DWE2-LAN".into(),
        },
    );
    let mqtt = medguard_lab::mosquitto::start_mosquitto(lab_ip(164), true);
    let hl7 = medguard_lab::pypeers::start_hl7_server(lab_ip(165), "LABIF", "SMILE-DENTAL");
    let bacnet = medguard_lab::pypeers::start_bacpypes3(
        lab_ip(166),
        &medguard_lab::pypeers::BacnetDevice {
            instance: 260_001,
            vendor_id: 999,
            object_name: "HVAC-Operatory-2".into(),
            vendor_name: "Johnson Controls".into(),
            model_name: "FX-PCG2611".into(),
            firmware: "14.1.0".into(),
        },
    );
    let snmp = medguard_lab::snmpd::start_snmpd(
        lab_ip(167),
        &medguard_lab::snmpd::SnmpdConfig {
            community: "public".into(),
            sys_descr:
                "Cisco IOS Software, C2960 Software (C2960-LANBASEK9-M), Version 15.0(2)SE11".into(),
            sys_name: "closet-switch".into(),
            sys_object_id: ".1.3.6.1.4.1.9.1.1208".into(),
        },
    );
    let ftp = medguard_lab::vsftpd::start_vsftpd(true);

    let tcp = [
        storescp.port(),
        dcmqrscp.port(),
        modbus.port(),
        mqtt.port(),
        hl7.port(),
        ftp.port(),
    ];
    let udp = [bacnet.port(), snmp.port()];
    let ports = format!(
        "{},U:{}",
        tcp.map(|p| p.to_string()).join(","),
        udp.map(|p| p.to_string()).join(",")
    );
    let hints = [
        format!("dicom:{}", storescp.port()),
        format!("dicom:{}", dcmqrscp.port()),
        format!("modbus:{}", modbus.port()),
        format!("mqtt:{}", mqtt.port()),
        format!("hl7:{}", hl7.port()),
        format!("ftp:{}", ftp.port()),
        format!("bacnet:{}", bacnet.port()),
        format!("snmp:{}", snmp.port()),
    ];
    let hosts: Vec<IpAddr> = vec![
        storescp.ip(),
        dcmqrscp.ip(),
        modbus.ip(),
        mqtt.ip(),
        hl7.ip(),
        bacnet.ip(),
        snmp.ip(),
        ftp.ip(),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = medguard();
    cmd.args(["--json", "--db"])
        .arg(dir.path().join("lab.db"))
        .arg("scan")
        .args(hosts.iter().map(|h| h.to_string()))
        .args(["--ports", &ports]);
    for h in &hints {
        cmd.args(["--service-port", h]);
    }
    let out = cmd
        .timeout(std::time::Duration::from_secs(90))
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let recs = records(&out.stdout);
    let assets: BTreeMap<IpAddr, Value> = recs
        .iter()
        .filter(|r| r["type"] == "asset")
        .filter_map(|r| Some((r["ip"].as_str()?.parse().ok()?, r.clone())))
        .collect();
    let check = |ip: IpAddr, category: &str, protocol: &str, finding: Option<&str>| {
        let a = assets.get(&ip).unwrap_or_else(|| panic!("{ip} missing"));
        assert_eq!(a["status"], "up", "{ip}");
        assert_eq!(a["category"], category, "{ip}: {}", a["classified_by"]);
        assert!(
            ids(a, "services", "protocol").contains(&protocol.to_string()),
            "{ip}: {:?}",
            a["services"]
        );
        if let Some(f) = finding {
            assert!(
                ids(a, "findings", "id").contains(&f.to_string()),
                "{ip}: {f} missing from {:?}",
                ids(a, "findings", "id")
            );
        }
        a.clone()
    };
    let s = check(
        storescp.ip(),
        "pacs",
        "dicom",
        Some("dicom-any-ae-accepted"),
    );
    assert_eq!(s["vendor"], "OFFIS");
    // A node that rejects our called AE title reveals no implementation details: a DICOM device.
    let q = check(dcmqrscp.ip(), "imaging", "dicom", Some("dicom-unencrypted"));
    assert!(
        !ids(&q, "findings", "id").contains(&"dicom-any-ae-accepted".to_string()),
        "dcmqrscp checks the called AE title"
    );
    let m = check(
        modbus.ip(),
        "environmental-monitor",
        "modbus",
        Some("modbus-unauthenticated"),
    );
    assert_eq!(m["vendor"], "Dickson");
    assert_eq!(m["model"], "DWE2-LAN");
    check(mqtt.ip(), "iot", "mqtt", Some("mqtt-anonymous"));
    check(
        hl7.ip(),
        "hl7-interface",
        "hl7",
        Some("hl7-unauthenticated"),
    );
    let b = check(
        bacnet.ip(),
        "building-automation",
        "bacnet",
        Some("bacnet-unauthenticated"),
    );
    assert_eq!(b["vendor"], "Johnson Controls");
    let n = check(snmp.ip(), "network", "snmp", Some("snmp-default-community"));
    assert_eq!(n["vendor"], "Cisco");
    check(ftp.ip(), "server", "ftp", Some("ftp-anonymous"));
}

#[test]
fn imports_a_real_nmap_xml_of_a_lab_peer() {
    let nmap = require("nmap", "nmap");
    let ftp = medguard_lab::vsftpd::start_vsftpd(true);
    let dir = tempfile::tempdir().expect("tempdir");
    let xml = dir.path().join("scan.xml");
    let status = std::process::Command::new(nmap)
        .args(["-sT", "-sV", "-Pn", "--script", "ftp-anon", "-p"])
        .arg(ftp.port().to_string())
        .arg("-oX")
        .arg(&xml)
        .arg(ftp.ip().to_string())
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run nmap");
    assert!(status.success(), "nmap failed");
    let out = medguard()
        .args(["--json", "--db"])
        .arg(dir.path().join("m.db"))
        .args(["import", "nmap"])
        .arg(&xml)
        .output()
        .expect("import");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let recs = records(&out.stdout);
    let asset = recs
        .iter()
        .find(|r| r["type"] == "asset")
        .expect("one asset");
    assert_eq!(asset["ip"], ftp.ip().to_string());
    let svc = &asset["services"][0];
    assert_eq!(svc["port"], ftp.port());
    assert_eq!(svc["protocol"], "ftp");
    assert_eq!(svc["product"], "vsftpd");
    assert!(ids(asset, "findings", "id").contains(&"ftp-anonymous".to_string()));
    let summary = recs.last().expect("summary");
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["up"], 1);
}
