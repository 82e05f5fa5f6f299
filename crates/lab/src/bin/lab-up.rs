//! `lab-up`: start the lab's real third-party peers on loopback for benchmarks and manual tries.
//!
//! Prints one line per running peer on stdout — `<name> <ip> <port>/<tcp|udp> <probe> <what>` — then
//! `ready`, and keeps the peers running until its standard input closes (then stops them all).
//! A peer that fails to start is reported on stderr and skipped.

use medguard_lab::lab_ip;
use std::any::Any;
use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};

struct Up {
    keep: Vec<Box<dyn Any>>,
    lines: Vec<String>,
}

impl Up {
    fn start<P: Any>(
        &mut self,
        name: &str,
        probe: &str,
        transport: &str,
        what: &str,
        start: impl FnOnce() -> P,
        addr: impl FnOnce(&P) -> SocketAddr,
    ) {
        match catch_unwind(AssertUnwindSafe(start)) {
            Ok(peer) => {
                let a = addr(&peer);
                self.lines.push(format!(
                    "{name} {} {}/{transport} {probe} {what}",
                    a.ip(),
                    a.port()
                ));
                self.keep.push(Box::new(peer));
            }
            Err(_) => eprintln!("lab-up: {name} did not start (see the message above); skipped"),
        }
    }
}

fn main() {
    let mut up = Up {
        keep: Vec::new(),
        lines: Vec::new(),
    };
    up.start(
        "storescp",
        "dicom",
        "tcp",
        "dcmtk DICOM storage node",
        || medguard_lab::dicom::start_storescp(lab_ip(201)),
        |p| p.addr,
    );
    up.start(
        "dcmqrscp",
        "dicom",
        "tcp",
        "dcmtk DICOM archive (checks AE title)",
        || medguard_lab::dicom::start_dcmqrscp(lab_ip(202), "PACS"),
        |p| p.addr,
    );
    up.start(
        "orthanc",
        "dicom",
        "tcp",
        "Orthanc PACS",
        || medguard_lab::dicom::start_orthanc(lab_ip(203), "ORTHANC", false),
        |p| p.addr,
    );
    up.start(
        "pymodbus",
        "modbus",
        "tcp",
        "pymodbus fridge monitor",
        || {
            medguard_lab::pypeers::start_pymodbus(
                lab_ip(204),
                &medguard_lab::pypeers::ModbusIdentity {
                    vendor_name: "Dickson".into(),
                    product_code: "DWE2".into(),
                    revision: "3.1".into(),
                    vendor_url: "https://www.dicksondata.com".into(),
                    product_name: "Vaccine fridge monitor".into(),
                    model_name: "DWE2-LAN".into(),
                },
            )
        },
        |p| p.addr,
    );
    up.start(
        "mosquitto",
        "mqtt",
        "tcp",
        "Mosquitto MQTT broker",
        || medguard_lab::mosquitto::start_mosquitto(lab_ip(205), true),
        |p| p.addr,
    );
    up.start(
        "hl7",
        "hl7",
        "tcp",
        "python-hl7 MLLP server",
        || medguard_lab::pypeers::start_hl7_server(lab_ip(206), "LABIF", "SMILE-DENTAL"),
        |p| p.addr,
    );
    up.start(
        "bacpypes3",
        "bacnet",
        "udp",
        "bacpypes3 BACnet device",
        || {
            medguard_lab::pypeers::start_bacpypes3(
                lab_ip(207),
                &medguard_lab::pypeers::BacnetDevice {
                    instance: 260_001,
                    vendor_id: 999,
                    object_name: "HVAC-Operatory-2".into(),
                    vendor_name: "Johnson Controls".into(),
                    model_name: "FX-PCG2611".into(),
                    firmware: "14.1.0".into(),
                },
            )
        },
        |p| p.addr,
    );
    up.start(
        "snmpd",
        "snmp",
        "udp",
        "net-snmp agent (community public)",
        || {
            medguard_lab::snmpd::start_snmpd(
                lab_ip(208),
                &medguard_lab::snmpd::SnmpdConfig {
                    community: "public".into(),
                    sys_descr: "Cisco IOS Software, C2960 Software (C2960-LANBASEK9-M), Version 15.0(2)SE11".into(),
                    sys_name: "closet-switch".into(),
                    sys_object_id: ".1.3.6.1.4.1.9.1.1208".into(),
                },
            )
        },
        |p| p.addr,
    );
    up.start(
        "samba",
        "smb",
        "tcp",
        "Samba with SMBv1",
        || {
            medguard_lab::samba::start_samba(
                lab_ip(209),
                &medguard_lab::samba::SambaConfig {
                    smb1: true,
                    signing_required: false,
                    netbios_name: "XRAY-NAS".into(),
                    workgroup: "PRACTICE".into(),
                    shares: Vec::new(),
                },
            )
        },
        |p| p.addr,
    );
    up.start(
        "vsftpd",
        "ftp",
        "tcp",
        "vsftpd (anonymous)",
        || medguard_lab::vsftpd::start_vsftpd(true),
        |p| p.addr,
    );
    up.start(
        "sshd",
        "ssh",
        "tcp",
        "OpenSSH",
        medguard_lab::sshd::start_sshd,
        |p| p.addr,
    );
    up.start(
        "telnetd",
        "telnet",
        "tcp",
        "inetutils telnetd",
        medguard_lab::telnetd::start_telnetd,
        |p| p.addr,
    );
    up.start(
        "xrdp",
        "rdp",
        "tcp",
        "xrdp (standard RDP security allowed)",
        || medguard_lab::xrdp::start_xrdp("negotiate"),
        |p| p.addr,
    );
    up.start(
        "tigervnc",
        "vnc",
        "tcp",
        "TigerVNC without a password",
        || medguard_lab::tigervnc::start_tigervnc(None),
        |p| p.peer.addr,
    );
    up.start(
        "cupsd",
        "ipp",
        "tcp",
        "CUPS print server",
        || {
            medguard_lab::cups::start_cupsd(&medguard_lab::cups::CupsPrinter {
                name: "frontdesk".into(),
                make_and_model: "HP LaserJet Pro M404dn".into(),
                info: "Front desk printer".into(),
                location: "Reception".into(),
            })
        },
        |p| p.addr,
    );
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for l in &up.lines {
        let _ = writeln!(out, "{l}");
    }
    let _ = writeln!(out, "ready");
    let _ = out.flush();
    drop(out);
    // Run until stdin closes, then stop every peer (their Drop kills them).
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        if line.is_err() {
            break;
        }
    }
    drop(up.keep);
}
