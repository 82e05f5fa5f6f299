//! PyPI peers from the lab virtualenv (`lab/install.sh`): an HL7 v2 MLLP server (`hl7`), a Modbus/TCP
//! server with a device identity (`pymodbus`) and a BACnet/IP device (`bacpypes3`). The scripts live
//! beside this file and are written into the peer's work directory.

use crate::{Peer, free_tcp_port, free_udp_port, python, spawn, wait_tcp, workdir};
use std::net::{IpAddr, SocketAddr};
use std::process::Command;
use std::time::{Duration, Instant};

const HL7_SERVER: &str = include_str!("py/hl7_server.py");
const MODBUS_SERVER: &str = include_str!("py/modbus_server.py");
const BACNET_DEVICE: &str = include_str!("py/bacnet_device.py");

fn script(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("failed to write {name}: {e}"));
    path
}

/// Block until the peer prints `ready` on stdout (for UDP peers, where no connect can tell).
fn wait_ready(name: &str, out: &std::path::Path, child: &mut std::process::Child) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("lab peer {name} exited early with {status}");
        }
        if std::fs::read_to_string(out).is_ok_and(|s| s.contains("ready")) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("lab peer {name} did not become ready within 20 s");
}

/// An HL7 MLLP server (python `hl7.mllp`) on `ip` and a free port. It ACKs ADT/ORM/ORU with AA and
/// rejects other message types with AR; its ACKs carry MSH-3 `application` and MSH-4 `facility`.
pub fn start_hl7_server(ip: IpAddr, application: &str, facility: &str) -> Peer {
    let py = python();
    let dir = workdir("hl7");
    let path = script(&dir, "hl7_server.py", HL7_SERVER);
    let port = free_tcp_port(ip);
    let mut cmd = Command::new(py);
    cmd.arg(path)
        .arg(ip.to_string())
        .arg(port.to_string())
        .arg(application)
        .arg(facility);
    let addr = SocketAddr::new(ip, port);
    spawn("hl7", cmd, addr, dir, |child| {
        wait_tcp("hl7", addr, Duration::from_secs(20), child)
    })
}

/// The identity a pymodbus server reports through function 43 / MEI 14.
#[derive(Debug, Clone)]
pub struct ModbusIdentity {
    pub vendor_name: String,
    pub product_code: String,
    pub revision: String,
    pub vendor_url: String,
    pub product_name: String,
    pub model_name: String,
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A pymodbus Modbus/TCP server on `ip` and a free port with the given identity.
pub fn start_pymodbus(ip: IpAddr, id: &ModbusIdentity) -> Peer {
    let py = python();
    let dir = workdir("pymodbus");
    let path = script(&dir, "modbus_server.py", MODBUS_SERVER);
    let port = free_tcp_port(ip);
    let identity = format!(
        "{{\"VendorName\": {}, \"ProductCode\": {}, \"MajorMinorRevision\": {}, \"VendorUrl\": {}, \
         \"ProductName\": {}, \"ModelName\": {}}}",
        json_string(&id.vendor_name),
        json_string(&id.product_code),
        json_string(&id.revision),
        json_string(&id.vendor_url),
        json_string(&id.product_name),
        json_string(&id.model_name),
    );
    let mut cmd = Command::new(py);
    cmd.arg(path)
        .arg(ip.to_string())
        .arg(port.to_string())
        .arg(identity);
    let addr = SocketAddr::new(ip, port);
    spawn("pymodbus", cmd, addr, dir, |child| {
        wait_tcp("pymodbus", addr, Duration::from_secs(20), child)
    })
}

/// The Device object a bacpypes3 device reports.
#[derive(Debug, Clone)]
pub struct BacnetDevice {
    pub instance: u32,
    pub vendor_id: u32,
    pub object_name: String,
    pub vendor_name: String,
    pub model_name: String,
    pub firmware: String,
}

/// A bacpypes3 BACnet/IP device on `ip` (a /24 on loopback) and a free UDP port.
pub fn start_bacpypes3(ip: IpAddr, dev: &BacnetDevice) -> Peer {
    let py = python();
    let dir = workdir("bacpypes3");
    let path = script(&dir, "bacnet_device.py", BACNET_DEVICE);
    let port = free_udp_port(ip);
    let mut cmd = Command::new(py);
    cmd.arg(path)
        .args(["--name", &dev.object_name])
        .args(["--instance", &dev.instance.to_string()])
        .args(["--address", &format!("{ip}/24:{port}")])
        .args(["--vendoridentifier", &dev.vendor_id.to_string()])
        .args(["--vendor-name", &dev.vendor_name])
        .args(["--model-name", &dev.model_name])
        .args(["--firmware", &dev.firmware]);
    let addr = SocketAddr::new(ip, port);
    let out = dir.path().join("bacpypes3.out");
    spawn("bacpypes3", cmd, addr, dir, |child| {
        wait_ready("bacpypes3", &out, child)
    })
}
