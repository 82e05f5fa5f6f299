//! OpenSSH server (Debian `openssh-server`) on loopback with its own config and host key.

use crate::{Peer, free_tcp_port, require, spawn, wait_tcp, workdir};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Command;
use std::time::Duration;

/// Start `sshd -D` on 127.0.0.1 and a free port, with a fresh ed25519 host key; no PAM, no
/// logins configured (the probe never authenticates).
pub fn start_sshd() -> Peer {
    let sshd = require("sshd", "openssh-server");
    let keygen = require("ssh-keygen", "openssh-client");
    let dir = workdir("sshd");
    let root = dir.path();
    let key = root.join("host_ed25519");
    let status = Command::new(keygen)
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap_or_else(|e| panic!("failed to run ssh-keygen: {e}"));
    assert!(status.success(), "ssh-keygen failed: {status}");
    // sshd refuses to start without its privilege-separation directory (normally made by systemd).
    std::fs::create_dir_all("/run/sshd")
        .unwrap_or_else(|e| panic!("failed to create /run/sshd: {e}"));
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let port = free_tcp_port(ip);
    let conf = root.join("sshd_config");
    std::fs::write(
        &conf,
        format!(
            "ListenAddress 127.0.0.1\nPort {port}\nHostKey {key}\nPidFile {pid}\nUsePAM no\n\
             StrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n",
            key = key.display(),
            pid = root.join("sshd.pid").display(),
        ),
    )
    .unwrap_or_else(|e| panic!("failed to write sshd_config: {e}"));
    let mut cmd = Command::new(sshd);
    cmd.arg("-D").arg("-e").arg("-f").arg(&conf);
    let addr = SocketAddr::new(ip, port);
    spawn("sshd", cmd, addr, dir, |child| {
        wait_tcp("sshd", addr, Duration::from_secs(10), child)
    })
}
