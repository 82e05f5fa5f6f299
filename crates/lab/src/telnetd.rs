//! inetutils telnetd (Debian `inetutils-telnetd`) behind a tiny inetd-style socket wrapper on
//! loopback: each accepted connection gets its own `telnetd` with the socket as stdin/stdout, exactly
//! as inetd's `nowait` mode runs it, without touching the system's inetd configuration or pid file.

use crate::{Peer, free_tcp_port, python, require, spawn, wait_tcp, workdir};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Command;
use std::time::Duration;

/// The wrapper: listen, fork, dup the connection onto fds 0-2, exec telnetd (inetd `nowait`).
const WRAPPER: &str = r#"
import os, signal, socket, sys
ip, port, server = sys.argv[1], int(sys.argv[2]), sys.argv[3]
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((ip, port))
s.listen(8)
while True:
    c, _ = s.accept()
    if os.fork() == 0:
        s.close()
        for fd in (0, 1, 2):
            os.dup2(c.fileno(), fd)
        os.execv(server, [os.path.basename(server)])
    c.close()
"#;

/// Start telnetd behind the wrapper on 127.0.0.1 and a free port.
pub fn start_telnetd() -> Peer {
    let telnetd = require("telnetd", "inetutils-telnetd");
    let py = python();
    let dir = workdir("telnetd");
    let script = dir.path().join("inetd_nowait.py");
    std::fs::write(&script, WRAPPER)
        .unwrap_or_else(|e| panic!("failed to write the telnetd wrapper: {e}"));
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let port = free_tcp_port(ip);
    let mut cmd = Command::new(py);
    cmd.arg(&script)
        .arg(ip.to_string())
        .arg(port.to_string())
        .arg(&telnetd);
    let addr = SocketAddr::new(ip, port);
    spawn("telnetd", cmd, addr, dir, |child| {
        wait_tcp("telnetd", addr, Duration::from_secs(10), child)
    })
}
