//! The lab harness: real third-party servers for tests and benchmarks.
//!
//! Each `start_*` function launches one peer from a Debian or PyPI package (installed by
//! `lab/install.sh`, which `.ci/run` calls) on a loopback address, waits until it listens, and returns a
//! [`Peer`] that kills it on drop. A missing peer is a loud test failure, never a silent skip: the
//! panic message says which package to install.
//!
//! Peers listen only on loopback (127.0.0.0/8). Tests give each peer its own loopback address where a
//! protocol needs its standard port, so several "devices" can coexist like on a practice LAN.

pub mod cups;
pub mod dicom;
pub mod gst_rtsp;
pub mod lighttpd;
pub mod mosquitto;
pub mod netns;
pub mod pypeers;
pub mod samba;
pub mod snmpd;
pub mod sshd;
pub mod telnetd;
pub mod tigervnc;
pub mod vsftpd;
pub mod xrdp;

use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running third-party server; killed (process group) when dropped.
pub struct Peer {
    pub name: &'static str,
    pub addr: SocketAddr,
    child: Option<Child>,
    /// Working directory with the peer's config and data; removed on drop.
    pub dir: tempfile::TempDir,
}

impl Peer {
    pub fn ip(&self) -> IpAddr {
        self.addr.ip()
    }
    pub fn port(&self) -> u16 {
        self.addr.port()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Find a peer's executable or fail loudly with the package that provides it.
pub fn require(bin: &str, package: &str) -> PathBuf {
    let candidates = [
        PathBuf::from(bin),
        Path::new("/usr/sbin").join(bin),
        Path::new("/usr/bin").join(bin),
        Path::new("/usr/local/bin").join(bin),
        Path::new(VENV_BIN).join(bin),
    ];
    if let Some(p) = candidates.iter().find(|p| p.is_absolute() && p.is_file()) {
        return p.clone();
    }
    if let Ok(path) = std::env::var("PATH") {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(bin);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!(
        "lab peer `{bin}` is missing: install the `{package}` package (run `sudo lab/install.sh`); \
         this test needs the real server and does not skip"
    );
}

/// The Python virtualenv that `lab/install.sh` fills with PyPI peers (pymodbus, bacpypes3, hl7).
pub const VENV_BIN: &str = "/var/cache/medguard/venv/bin";

/// The lab's Python interpreter (with the PyPI peers installed), or a loud failure.
pub fn python() -> PathBuf {
    let p = Path::new(VENV_BIN).join("python3");
    if p.is_file() {
        return p;
    }
    panic!("lab Python venv missing at {VENV_BIN}: run `sudo lab/install.sh`");
}

/// An unused TCP port on `ip`.
pub fn free_tcp_port(ip: IpAddr) -> u16 {
    TcpListener::bind((ip, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free TCP port on {ip}: {e}"))
}

/// An unused UDP port on `ip`.
pub fn free_udp_port(ip: IpAddr) -> u16 {
    UdpSocket::bind((ip, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free UDP port on {ip}: {e}"))
}

/// Block until something accepts TCP connections on `addr`, or panic after `within`.
pub fn wait_tcp(name: &str, addr: SocketAddr, within: Duration, child: &mut Child) {
    let start = Instant::now();
    while start.elapsed() < within {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("lab peer {name} exited early with {status}");
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("lab peer {name} did not listen on {addr} within {within:?}");
}

/// Spawn `cmd` in its own process group with output to files in `dir`, and wrap it as a [`Peer`]
/// once `ready` says it is listening.
pub fn spawn(
    name: &'static str,
    mut cmd: Command,
    addr: SocketAddr,
    dir: tempfile::TempDir,
    ready: impl FnOnce(&mut Child),
) -> Peer {
    let log = |suffix: &str| {
        std::fs::File::create(dir.path().join(format!("{name}.{suffix}")))
            .map(Stdio::from)
            .unwrap_or_else(|_| Stdio::null())
    };
    cmd.stdin(Stdio::null())
        .stdout(log("out"))
        .stderr(log("err"));
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("failed to start lab peer {name}: {e}"));
    ready(&mut child);
    Peer {
        name,
        addr,
        child: Some(child),
        dir,
    }
}

/// A fresh working directory for a peer.
pub fn workdir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("medguard-lab-{name}-"))
        .tempdir()
        .unwrap_or_else(|e| panic!("failed to create a lab directory: {e}"))
}

/// A loopback address of the lab's own: 127.77.0.`n`. Linux answers the whole 127/8 on `lo`.
pub fn lab_ip(n: u8) -> IpAddr {
    IpAddr::from([127, 77, 0, n])
}
