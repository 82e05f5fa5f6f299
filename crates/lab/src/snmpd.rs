//! Net-SNMP `snmpd` (Debian `snmpd`): a real SNMP agent with its own configuration (`-C -c`), on a
//! lab loopback address and a free UDP port, answering one read-only community.

use crate::{Peer, free_udp_port, require, spawn, workdir};
use std::net::{IpAddr, SocketAddr};
use std::process::Command;
use std::time::{Duration, Instant};

/// What the agent reports in its system group.
#[derive(Debug, Clone)]
pub struct SnmpdConfig {
    /// The read-only community it accepts (from 127.0.0.0/8 only).
    pub community: String,
    pub sys_descr: String,
    pub sys_name: String,
    pub sys_object_id: String,
}

/// Start snmpd in the foreground (`-f -Lo -C -c <conf> udp:<ip>:<port>`).
pub fn start_snmpd(ip: IpAddr, cfg: &SnmpdConfig) -> Peer {
    let bin = require("snmpd", "snmpd");
    let dir = workdir("snmpd");
    let port = free_udp_port(ip);
    let conf = dir.path().join("snmpd.conf");
    let clean = |s: &str| s.replace(['\n', '\r', '"'], " ");
    std::fs::write(
        &conf,
        format!(
            "rocommunity {} 127.0.0.0/8\nsysdescr {}\nsysname {}\nsysobjectid {}\n\
             syslocation lab\nsyscontact lab\ndontLogTCPWrappersConnects yes\n",
            clean(&cfg.community),
            clean(&cfg.sys_descr),
            clean(&cfg.sys_name),
            clean(&cfg.sys_object_id),
        ),
    )
    .unwrap_or_else(|e| panic!("failed to write snmpd.conf: {e}"));
    let mut cmd = Command::new(bin);
    cmd.args(["-f", "-Lo", "-C", "-c"])
        .arg(&conf)
        .arg(format!("udp:{ip}:{port}"))
        .env("SNMP_PERSISTENT_DIR", dir.path())
        .env("MIBS", "");
    let addr = SocketAddr::new(ip, port);
    let out = dir.path().join("snmpd.out");
    spawn("snmpd", cmd, addr, dir, |child| {
        // snmpd prints its version banner once the agent is listening.
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("lab peer snmpd exited early with {status}");
            }
            if std::fs::read_to_string(&out).is_ok_and(|s| s.contains("NET-SNMP version")) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("lab peer snmpd did not start on {addr} within 10 s");
    })
}
