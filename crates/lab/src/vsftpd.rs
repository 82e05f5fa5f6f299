//! vsftpd (Debian `vsftpd`) on loopback with its own config: read-only, no local users, no data
//! connections, anonymous login on or off.

use crate::{Peer, free_tcp_port, require, spawn, wait_tcp, workdir};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Command;
use std::time::Duration;

/// Start vsftpd on 127.0.0.1 and a free port; `anonymous` sets `anonymous_enable`. Without
/// anonymous access, local (PAM) logins are on, since vsftpd refuses to run with neither; nobody
/// has an FTP password here, so every login fails.
pub fn start_vsftpd(anonymous: bool) -> Peer {
    let bin = require("vsftpd", "vsftpd");
    let dir = workdir("vsftpd");
    let root = dir.path();
    let anon = root.join("anon");
    std::fs::create_dir_all(&anon).unwrap_or_else(|e| panic!("failed to create {anon:?}: {e}"));
    // vsftpd needs an empty directory for its unprivileged chroot (Debian ships this one).
    let empty = std::path::Path::new("/var/run/vsftpd/empty");
    std::fs::create_dir_all(empty).unwrap_or_else(|e| panic!("failed to create {empty:?}: {e}"));
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let port = free_tcp_port(ip);
    let conf = root.join("vsftpd.conf");
    std::fs::write(
        &conf,
        format!(
            "listen=YES\nlisten_ipv6=NO\nlisten_address=127.0.0.1\nlisten_port={port}\n\
             background=NO\nanonymous_enable={anon_flag}\nlocal_enable={local_flag}\nwrite_enable=NO\n\
             anon_root={anon}\nsecure_chroot_dir={empty}\nseccomp_sandbox=NO\nxferlog_enable=NO\n\
             connect_from_port_20=NO\npasv_enable=NO\nport_enable=NO\n",
            anon_flag = if anonymous { "YES" } else { "NO" },
            local_flag = if anonymous { "NO" } else { "YES" },
            anon = anon.display(),
            empty = empty.display(),
        ),
    )
    .unwrap_or_else(|e| panic!("failed to write vsftpd.conf: {e}"));
    let mut cmd = Command::new(bin);
    cmd.arg(&conf);
    let addr = SocketAddr::new(ip, port);
    spawn("vsftpd", cmd, addr, dir, |child| {
        wait_tcp("vsftpd", addr, Duration::from_secs(10), child)
    })
}
