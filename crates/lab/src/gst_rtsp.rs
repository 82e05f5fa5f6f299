//! GStreamer's RTSP server (Debian `gir1.2-gst-rtsp-server-1.0`, driven from Debian's Python with
//! `python3-gi`): a real RTSP camera for the RTSP probe, serving a small live test pattern at `/`,
//! optionally behind Basic authentication.

use crate::{Peer, free_tcp_port, spawn, wait_tcp, workdir};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Command;
use std::time::Duration;

/// The server script: GstRtspServer bound to the given loopback address and port.
const SERVER: &str = r#"
import sys, gi
gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import Gst, GstRtspServer, GLib
Gst.init(None)
addr, port, auth = sys.argv[1], sys.argv[2], sys.argv[3] == "auth"
server = GstRtspServer.RTSPServer()
server.set_address(addr)
server.set_service(port)
factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch("( videotestsrc is-live=true ! video/x-raw,width=64,height=48 ! rtpvrawpay name=pay0 pt=96 )")
factory.set_shared(True)
server.get_mount_points().add_factory("/", factory)
if auth:
    a = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken()
    token.set_string("media.factory.role", "user")
    a.add_basic(GstRtspServer.RTSPAuth.make_basic("user", "lab-secret"), token)
    server.set_auth(a)
    perm = GstRtspServer.RTSPPermissions()
    perm.add_role("user")
    perm.add_permission_for_role("user", "media.factory.access", True)
    perm.add_permission_for_role("user", "media.factory.construct", True)
    factory.set_permissions(perm)
server.attach(None)
GLib.MainLoop().run()
"#;

/// Debian's own Python (the one `python3-gi` installs into).
const DEBIAN_PYTHON: &str = "/usr/bin/python3";

/// Start the GStreamer RTSP server on 127.0.0.1 and a free port; `require_auth` puts the stream
/// behind Basic authentication.
pub fn start_gst_rtsp(require_auth: bool) -> Peer {
    let usable = Command::new(DEBIAN_PYTHON)
        .args([
            "-c",
            "import gi; gi.require_version('GstRtspServer', '1.0'); \
             from gi.repository import GstRtspServer",
        ])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !usable {
        panic!(
            "lab peer GStreamer RTSP server is missing: install gir1.2-gst-rtsp-server-1.0, \
             gstreamer1.0-plugins-base, gstreamer1.0-plugins-good and python3-gi \
             (run `sudo lab/install.sh`); this test needs the real server and does not skip"
        );
    }
    let dir = workdir("gst-rtsp");
    let script = dir.path().join("rtsp_server.py");
    std::fs::write(&script, SERVER)
        .unwrap_or_else(|e| panic!("failed to write the RTSP server script: {e}"));
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let port = free_tcp_port(ip);
    let mut cmd = Command::new(DEBIAN_PYTHON);
    cmd.arg(&script)
        .arg(ip.to_string())
        .arg(port.to_string())
        .arg(if require_auth { "auth" } else { "open" });
    let addr = SocketAddr::new(ip, port);
    spawn("gst-rtsp-server", cmd, addr, dir, |child| {
        wait_tcp("gst-rtsp-server", addr, Duration::from_secs(15), child);
    })
}
