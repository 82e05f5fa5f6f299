//! Peers that can only listen on every interface (dcmtk's `storescp`/`dcmqrscp` and Orthanc's DICOM
//! port have no bind-address option) run inside their own network namespace, which has nothing but
//! its own loopback. `socat` relays: inside the namespace from a Unix socket in the peer's work
//! directory to the server, outside from a loopback TCP address to that Unix socket. The server is
//! thus reachable only through 127.x.x.x, never from the network.

use crate::{Peer, free_tcp_port, require, workdir};
use std::io::Read;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A peer running in its own network namespace; the whole process group is killed on drop.
pub struct Isolated {
    pub peer: Peer,
    pgid: u32,
}

impl std::ops::Deref for Isolated {
    type Target = Peer;
    fn deref(&self) -> &Peer {
        &self.peer
    }
}

impl Drop for Isolated {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{}", self.pgid)])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Start `argv` (run with the work directory as its current directory) inside a fresh network
/// namespace, listening there on `inner_port`; expose it on `ip` at a free port. `prepare` writes the
/// peer's configuration into the work directory first. Ready once a relayed connection stays open
/// (the server accepted it and waits for the client to speak).
pub fn start_isolated(
    name: &'static str,
    ip: IpAddr,
    inner_port: u16,
    argv: &[String],
    prepare: impl FnOnce(&std::path::Path),
) -> Isolated {
    require("unshare", "util-linux");
    require("socat", "socat");
    require("ip", "iproute2");
    let dir = workdir(name);
    prepare(dir.path());
    let sock = dir.path().join("relay.sock");
    let port = free_tcp_port(ip);
    let server = argv.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ");
    let inner = format!(
        "ip link set lo up\n{server} > {out} 2> {err} &\n\
         exec socat UNIX-LISTEN:{sock},fork TCP:127.0.0.1:{inner_port}\n",
        out = quote(&dir.path().join(format!("{name}.out")).display().to_string()),
        err = quote(&dir.path().join(format!("{name}.err")).display().to_string()),
        sock = sock.display(),
    );
    let inner_path = dir.path().join("inner.sh");
    std::fs::write(&inner_path, inner)
        .unwrap_or_else(|e| panic!("failed to write the {name} namespace script: {e}"));
    // A watchdog ends the whole group when the test process is gone, even if it died without
    // dropping the peer (a killed test must not leave servers behind).
    let outer = format!(
        "unshare -n sh {inner} &\nsocat TCP-LISTEN:{port},bind={ip},fork,reuseaddr UNIX-CONNECT:{sock} &\n\
         while kill -0 {owner} 2>/dev/null; do sleep 1; done\nkill -KILL 0\n",
        inner = quote(&inner_path.display().to_string()),
        sock = sock.display(),
        owner = std::process::id(),
    );
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(outer).current_dir(dir.path());
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("failed to start lab peer {name}: {e}"));
    let pgid = child.id();
    let addr = SocketAddr::new(ip, port);
    let started = Instant::now();
    let ready = loop {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("lab peer {name} exited early with {status}");
        }
        if started.elapsed() > Duration::from_secs(20) {
            break false;
        }
        if let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            let _ = s.set_read_timeout(Some(Duration::from_millis(300)));
            let mut b = [0u8; 1];
            if let Err(e) = s.read(&mut b)
                && matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                )
            {
                break true;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let log = std::fs::read_to_string(dir.path().join(format!("{name}.err"))).unwrap_or_default();
    let peer = Peer {
        name,
        addr,
        child: Some(child),
        dir,
    };
    let isolated = Isolated { peer, pgid };
    if !ready {
        panic!("lab peer {name} did not accept connections on {addr} within 20 s: {log}");
    }
    isolated
}
