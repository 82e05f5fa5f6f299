//! xrdp (Debian `xrdp`) on loopback with its own `xrdp.ini`, certificate and log: enough for the
//! X.224 connection negotiation (no session manager, no desktop).

use crate::{Peer, free_tcp_port, require, spawn, wait_tcp, workdir};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Start `xrdp --nodaemon` on 127.0.0.1 and a free port. `security_layer` is xrdp's setting:
/// `negotiate` (TLS or standard RDP security, as the client asks), `tls` or `rdp`.
pub fn start_xrdp(security_layer: &str) -> Peer {
    let bin = require("xrdp", "xrdp");
    let openssl = require("openssl", "openssl");
    let dir = workdir("xrdp");
    let root = dir.path();
    let (cert, key) = (root.join("cert.pem"), root.join("key.pem"));
    let status = Command::new(openssl)
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=medguard-lab-rdp", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("failed to run openssl: {e}"));
    assert!(status.success(), "openssl req failed: {status}");
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let port = free_tcp_port(ip);
    let ini = root.join("xrdp.ini");
    std::fs::write(
        &ini,
        format!(
            "[Globals]\nini_version=1\nfork=false\nport=tcp://127.0.0.1:{port}\nuse_vsock=false\n\
             security_layer={security_layer}\ncrypt_level=high\ncertificate={cert}\n\
             key_file={key}\nssl_protocols=TLSv1.2, TLSv1.3\n\n\
             [Logging]\nLogFile={log}\nLogLevel=INFO\nEnableSyslog=false\n\n\
             [Xorg]\nname=Xorg\nlib=libxup.so\nusername=ask\npassword=ask\nip=127.0.0.1\n\
             port=-1\ncode=20\n",
            cert = cert.display(),
            key = key.display(),
            log = root.join("xrdp.log").display(),
        ),
    )
    .unwrap_or_else(|e| panic!("failed to write xrdp.ini: {e}"));
    let mut cmd = Command::new(bin);
    cmd.arg("--nodaemon").arg("--config").arg(&ini);
    let addr = SocketAddr::new(ip, port);
    spawn("xrdp", cmd, addr, dir, |child| {
        wait_tcp("xrdp", addr, Duration::from_secs(15), child)
    })
}
