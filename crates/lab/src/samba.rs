//! Samba's file server (Debian `samba`) on one lab loopback address and the standard SMB ports 445
//! and 139 (NetBIOS session service; root only), with all of its state in its own work directory.

use crate::{Peer, require, spawn, wait_tcp, workdir};
use std::net::{IpAddr, SocketAddr};
use std::process::Command;
use std::time::Duration;

/// How the Samba peer is configured.
#[derive(Debug, Clone)]
pub struct SambaConfig {
    /// `server min protocol = NT1` (SMBv1 on) instead of `SMB2_10`.
    pub smb1: bool,
    /// `server signing = mandatory` instead of `auto`.
    pub signing_required: bool,
    /// NetBIOS name of the server.
    pub netbios_name: String,
    /// Workgroup.
    pub workgroup: String,
    /// More shares: name and parameter lines (`guest ok = yes`); each shares the folder of its
    /// name in the work directory, made readable by Samba's guest account.
    pub shares: Vec<(String, String)>,
}

/// Start `smbd` in the foreground listening only on `ip`:445 and `ip`:139 (`ip` in 127.0.0.0/8);
/// the returned peer's address is port 445.
pub fn start_samba(ip: IpAddr, cfg: &SambaConfig) -> Peer {
    assert!(
        ip.is_loopback(),
        "lab peers listen on loopback only, not {ip}"
    );
    let bin = require("smbd", "samba");
    let dir = workdir("samba");
    let root = dir.path();
    for sub in [
        "lock", "state", "cache", "private", "ncalrpc", "pid", "share",
    ] {
        std::fs::create_dir_all(root.join(sub))
            .unwrap_or_else(|e| panic!("failed to create samba {sub} dir: {e}"));
    }
    let r = root.display();
    let mut shares = String::new();
    if !cfg.shares.is_empty() {
        // Guests are the unprivileged `nobody`: it must get through the work directory.
        use std::os::unix::fs::PermissionsExt;
        let open = |p: &std::path::Path, mode| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
                .unwrap_or_else(|e| panic!("failed to open {} to guests: {e}", p.display()))
        };
        open(root, 0o711);
        for (name, params) in &cfg.shares {
            let dir = root.join(name);
            std::fs::create_dir_all(&dir)
                .unwrap_or_else(|e| panic!("failed to create share {name}: {e}"));
            open(&dir, 0o755);
            shares.push_str(&format!("\n[{name}]\n  path = {r}/{name}\n{params}\n"));
        }
    }
    // "ip/8" makes Samba bind that exact loopback address (a bare IP must be an interface's own).
    let conf = format!(
        "[global]\n  netbios name = {name}\n  workgroup = {wg}\n  interfaces = {ip}/8\n  \
         bind interfaces only = yes\n  smb ports = 445 139\n  disable netbios = yes\n  \
         server min protocol = {min}\n  server signing = {signing}\n  \
         pid directory = {r}/pid\n  lock directory = {r}/lock\n  state directory = {r}/state\n  \
         cache directory = {r}/cache\n  private dir = {r}/private\n  ncalrpc dir = {r}/ncalrpc\n  \
         log file = {r}/log.%m\n  load printers = no\n  printcap name = /dev/null\n  \
         disable spoolss = yes\n  passdb backend = tdbsam:{r}/private/passdb.tdb\n\n\
         [scans]\n  path = {r}/share\n  read only = yes\n{shares}",
        name = cfg.netbios_name,
        wg = cfg.workgroup,
        min = if cfg.smb1 { "NT1" } else { "SMB2_10" },
        signing = if cfg.signing_required {
            "mandatory"
        } else {
            "auto"
        },
    );
    let conf_path = root.join("smb.conf");
    std::fs::write(&conf_path, conf).unwrap_or_else(|e| panic!("failed to write smb.conf: {e}"));
    let mut cmd = Command::new(bin);
    cmd.args(["--foreground", "--no-process-group", "--debug-stdout", "-s"])
        .arg(&conf_path);
    let addr = SocketAddr::new(ip, 445);
    spawn("smbd", cmd, addr, dir, |child| {
        wait_tcp("smbd", addr, Duration::from_secs(15), child);
        wait_tcp(
            "smbd (139)",
            SocketAddr::new(ip, 139),
            Duration::from_secs(5),
            child,
        );
    })
}
