//! Mosquitto (Debian `mosquitto`): a real MQTT broker with its own configuration, on a lab
//! loopback address and a free port, with anonymous access allowed or refused.

use crate::{Peer, free_tcp_port, require, spawn, wait_tcp, workdir};
use std::net::{IpAddr, SocketAddr};
use std::process::Command;
use std::time::Duration;

/// Start mosquitto on `ip`; `allow_anonymous` sets the option of the same name.
pub fn start_mosquitto(ip: IpAddr, allow_anonymous: bool) -> Peer {
    let bin = require("mosquitto", "mosquitto");
    let dir = workdir("mosquitto");
    let port = free_tcp_port(ip);
    let conf = dir.path().join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!(
            "per_listener_settings false\nlistener {port} {ip}\nallow_anonymous {allow_anonymous}\n\
             persistence false\nlog_dest stderr\nsys_interval 10\n"
        ),
    )
    .unwrap_or_else(|e| panic!("failed to write mosquitto.conf: {e}"));
    let mut cmd = Command::new(bin);
    cmd.arg("-c").arg(&conf);
    let addr = SocketAddr::new(ip, port);
    spawn("mosquitto", cmd, addr, dir, |child| {
        wait_tcp("mosquitto", addr, Duration::from_secs(10), child)
    })
}
