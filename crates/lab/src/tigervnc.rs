//! TigerVNC's standalone X server (Debian `tigervnc-standalone-server`) on loopback: a VNC server
//! with no password (`-SecurityTypes None`), a classic VNC password (`VncAuth`) or any other
//! TigerVNC security type list (e.g. VeNCrypt `TLSNone`).

use crate::{Peer, free_tcp_port, require, spawn, wait_tcp, workdir};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

/// A running Xtigervnc; its X display lock and socket are removed on drop.
pub struct TigerVnc {
    pub peer: Peer,
    pub display: u16,
}

impl std::ops::Deref for TigerVnc {
    type Target = Peer;
    fn deref(&self) -> &Peer {
        &self.peer
    }
}

fn lock_files(display: u16) -> [PathBuf; 2] {
    [
        PathBuf::from(format!("/tmp/.X{display}-lock")),
        PathBuf::from(format!("/tmp/.X11-unix/X{display}")),
    ]
}

impl Drop for TigerVnc {
    fn drop(&mut self) {
        // The server is killed right after (Peer's drop); it cannot clean up after a SIGKILL.
        for f in lock_files(self.display) {
            let _ = std::fs::remove_file(f);
        }
    }
}

/// A display number with no X server (no lock file, no socket), from :140-:339. Tests running in
/// parallel (threads of one binary, several binaries) start their search at different places.
fn free_display() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let offset = (std::process::id() % 20) as u16 * 10 + NEXT.fetch_add(1, Ordering::Relaxed);
    (0..200)
        .map(|i| 140 + (offset + i) % 200)
        .find(|&d| lock_files(d).iter().all(|f| !f.exists()))
        .unwrap_or_else(|| panic!("no free X display in :140-:339"))
}

/// Start Xtigervnc on 127.0.0.1 and a free port. `password`: `None` offers security type None,
/// `Some(p)` offers VncAuth with password `p` (written with `vncpasswd -f`).
pub fn start_tigervnc(password: Option<&str>) -> TigerVnc {
    match password {
        None => start_tigervnc_with("None", None),
        Some(p) => start_tigervnc_with("VncAuth", Some(p)),
    }
}

/// Start Xtigervnc with TigerVNC's `-SecurityTypes` list (e.g. `TLSNone`, `VeNCrypt,TLSVnc`) and,
/// for the password-based types, a VNC password file.
pub fn start_tigervnc_with(security_types: &str, password: Option<&str>) -> TigerVnc {
    let bin = require("Xtigervnc", "tigervnc-standalone-server");
    let dir = workdir("tigervnc");
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let port = free_tcp_port(ip);
    let display = free_display();
    let mut cmd = Command::new(bin);
    cmd.arg(format!(":{display}"))
        .args(["-rfbport", &port.to_string(), "-interface", "127.0.0.1"])
        .args(["-nolisten", "tcp", "-geometry", "640x480"]);
    cmd.args(["-SecurityTypes", security_types]);
    match password {
        None => {}
        Some(p) => {
            let vncpasswd = require("vncpasswd", "tigervnc-tools");
            let file = dir.path().join("passwd");
            let out = Command::new(vncpasswd)
                .arg("-f")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .and_then(|mut c| {
                    use std::io::Write;
                    if let Some(mut stdin) = c.stdin.take() {
                        stdin.write_all(format!("{p}\n").as_bytes())?;
                    }
                    c.wait_with_output()
                })
                .unwrap_or_else(|e| panic!("failed to run vncpasswd: {e}"));
            assert!(out.status.success(), "vncpasswd failed: {}", out.status);
            std::fs::write(&file, out.stdout)
                .unwrap_or_else(|e| panic!("failed to write the VNC password file: {e}"));
            cmd.arg("-PasswordFile").arg(&file);
        }
    }
    let addr = SocketAddr::new(ip, port);
    let peer = spawn("Xtigervnc", cmd, addr, dir, |child| {
        wait_tcp("Xtigervnc", addr, Duration::from_secs(15), child)
    });
    TigerVnc { peer, display }
}
