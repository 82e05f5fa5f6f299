//! lighttpd (Debian `lighttpd`): a real web server for the HTTP, HTTPS and TLS probes.
//!
//! Serves one page over plain HTTP and, if a certificate is given, over HTTPS on a second port with
//! `MinProtocol TLSv1` and `@SECLEVEL=0`, so TLS 1.0 and 1.1 are accepted like on an old device.

use crate::{Peer, free_tcp_port, require, spawn, wait_tcp, workdir};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Command;
use std::time::Duration;

/// What the lighttpd peer serves.
#[derive(Debug, Clone, Default)]
pub struct LighttpdConfig {
    /// The page at `/` (`index.html`).
    pub index_html: String,
    /// More pages: file name (e.g. `login.html`) and content.
    pub pages: Vec<(String, String)>,
    /// PEM certificate and PEM private key: also serve HTTPS.
    pub tls: Option<(String, String)>,
    /// Accept TLS 1.0 and 1.1 on the HTTPS port (else TLS 1.2+ only, lighttpd's default).
    pub legacy_tls: bool,
}

/// A running lighttpd: plain HTTP at `peer.addr`, HTTPS at `https` when configured.
pub struct Lighttpd {
    pub peer: Peer,
    pub https: Option<SocketAddr>,
}

/// Start lighttpd on 127.0.0.1 with free ports and a config in its own work directory.
pub fn start_lighttpd(cfg: &LighttpdConfig) -> Lighttpd {
    let bin = require("lighttpd", "lighttpd");
    let dir = workdir("lighttpd");
    let root = dir.path();
    let www = root.join("www");
    std::fs::create_dir_all(&www).unwrap_or_else(|e| panic!("failed to create {www:?}: {e}"));
    std::fs::write(www.join("index.html"), &cfg.index_html)
        .unwrap_or_else(|e| panic!("failed to write index.html: {e}"));
    for (name, content) in &cfg.pages {
        let name = std::path::Path::new(name)
            .file_name()
            .unwrap_or_else(|| panic!("page name {name:?} is not a file name"));
        std::fs::write(www.join(name), content)
            .unwrap_or_else(|e| panic!("failed to write page {name:?}: {e}"));
    }
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let http_port = free_tcp_port(ip);
    let mut conf = format!(
        "server.document-root = \"{www}\"\nserver.bind = \"127.0.0.1\"\nserver.port = {http_port}\n\
         server.errorlog = \"{root}/error.log\"\nindex-file.names = (\"index.html\")\n\
         mimetype.assign = (\".html\" => \"text/html\")\n",
        www = www.display(),
        root = root.display(),
    );
    let mut https = None;
    if let Some((cert, key)) = &cfg.tls {
        std::fs::write(root.join("cert.pem"), cert)
            .unwrap_or_else(|e| panic!("failed to write cert.pem: {e}"));
        std::fs::write(root.join("key.pem"), key)
            .unwrap_or_else(|e| panic!("failed to write key.pem: {e}"));
        let port = free_tcp_port(ip);
        let legacy = if cfg.legacy_tls {
            "\n  ssl.openssl.ssl-conf-cmd = (\"MinProtocol\" => \"TLSv1\", \"CipherString\" => \"DEFAULT:@SECLEVEL=0\")"
        } else {
            ""
        };
        conf.push_str(&format!(
            "server.modules += (\"mod_openssl\")\n$SERVER[\"socket\"] == \"127.0.0.1:{port}\" {{\n  \
             ssl.engine = \"enable\"\n  ssl.pemfile = \"{root}/cert.pem\"\n  ssl.privkey = \"{root}/key.pem\"{legacy}\n}}\n",
            root = root.display(),
        ));
        https = Some(SocketAddr::new(ip, port));
    }
    let conf_path = root.join("lighttpd.conf");
    std::fs::write(&conf_path, conf)
        .unwrap_or_else(|e| panic!("failed to write lighttpd.conf: {e}"));
    let mut cmd = Command::new(bin);
    cmd.arg("-D").arg("-f").arg(&conf_path);
    let addr = SocketAddr::new(ip, http_port);
    let peer = spawn("lighttpd", cmd, addr, dir, |child| {
        wait_tcp("lighttpd", addr, Duration::from_secs(10), child);
        if let Some(a) = https {
            wait_tcp("lighttpd (https)", a, Duration::from_secs(10), child);
        }
    });
    Lighttpd { peer, https }
}
