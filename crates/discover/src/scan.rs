//! The discovery engine: host discovery, port scanning and the probe scheduler.
//!
//! - Hosts are scanned concurrently in a fixed window refilled on completion; every connection
//!   takes a permit from a scan-wide window kept well below the open-file limit, and a token from
//!   the host's bucket and the scan-wide bucket (see [`crate::rate`]).
//! - Each host gets at most `conns_per_host` connections at a time (2 by default, 1 when gentle).
//! - Host discovery: a few TCP connects, and an ICMP echo when raw sockets are permitted; an
//!   accepted connection, a refusal (RST) or an echo reply means the host is there. Before the
//!   hosts are scanned, targets on a directly attached IPv4 subnet are asked by ARP when the
//!   process may open an `AF_PACKET` socket (Linux, [`crate::arp`]); an ARP reply means the host is
//!   there and gives its MAC address (skipped silently without the permission). Loopback
//!   addresses are the exception: the kernel refuses and echoes for the whole of 127/8, so only an
//!   open port proves a loopback "device". Hosts that answer nothing are reported `no-response`,
//!   not dropped.
//! - Connect timeouts follow the host's measured round-trip time (RFC 6298 smoothing, clamped).
//! - For each open port the scheduler runs the probes registered for that port, then a short
//!   passive banner read, then the probes marked `fallback`. A probe error is recorded on the
//!   service (`probe_error`) and never aborts the host; a host that overruns its deadline is
//!   reported with what was learned so far.

use crate::findings::FindingsCatalog;
use crate::fingerprint::Fingerprints;
use crate::io;
use crate::ports::PortList;
use crate::probe::{Intrusiveness, Observation, Probe, ProbeContext, ProbeError};
use crate::rate::{Pacer, TokenBucket};
use crate::targets::Target;
use futures::StreamExt;
use medguard_model::{Asset, Finding, HostStatus, Service, Transport};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::{Instant, timeout};

/// How careful to be with the devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// Tens of connections per second per host, two at a time.
    #[default]
    Default,
    /// For fragile clinical devices: a few connections per second, one at a time, longer waits, and
    /// no probe that sends a payload a device might act on (nothing is sent to raw print ports).
    Gentle,
}

impl Profile {
    /// The profile's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Default => "default",
            Profile::Gentle => "gentle",
        }
    }
}

/// Everything the engine needs to know; built from the command line by the CLI.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// The profile (also decides which probe intrusiveness levels run).
    pub profile: Profile,
    /// Ports to scan.
    pub ports: PortList,
    /// Run probes marked [`Intrusiveness::OptIn`] (e.g. default-credential checks).
    pub opt_in: bool,
    /// Connections (and datagrams) per second to one host.
    pub host_rate: f64,
    /// Tokens a host may save up.
    pub host_burst: u32,
    /// Connections per second for the whole scan.
    pub max_rate: f64,
    /// Simultaneous connections to one host.
    pub conns_per_host: usize,
    /// Hosts scanned at the same time.
    pub host_parallelism: usize,
    /// Connect timeout before any round-trip time is known, and its upper bound.
    pub connect_timeout: Duration,
    /// Lower bound of the adaptive connect timeout.
    pub min_connect_timeout: Duration,
    /// Budget for one read or connect inside a probe.
    pub probe_io_timeout: Duration,
    /// Budget for one whole probe.
    pub probe_deadline: Duration,
    /// Budget for one whole host.
    pub host_deadline: Duration,
    /// Skip host discovery and scan every address as if it answered.
    pub assume_up: bool,
    /// On ports nothing identified, also try every other TCP probe the profile allows (for devices
    /// on non-standard ports; slower).
    pub try_all_probes: bool,
    /// Extra (probe name, port) pairs: run that probe first on that port too, for services on
    /// non-standard ports (`--service-port smb:8445`).
    pub probe_ports: Vec<(String, u16)>,
    /// Also ping (ICMP echo) during host discovery when raw sockets are permitted.
    pub icmp: bool,
    /// Also ask by ARP for targets on a directly attached subnet when `AF_PACKET` is permitted.
    pub arp: bool,
}

impl ScanOptions {
    /// The settings of a profile, with the healthcare port list.
    pub fn for_profile(profile: Profile) -> Self {
        let base = ScanOptions {
            profile,
            ports: PortList::healthcare(),
            opt_in: false,
            host_rate: 30.0,
            host_burst: 5,
            max_rate: 1000.0,
            conns_per_host: 2,
            host_parallelism: 128,
            connect_timeout: Duration::from_millis(1000),
            min_connect_timeout: Duration::from_millis(250),
            probe_io_timeout: Duration::from_millis(1500),
            probe_deadline: Duration::from_secs(5),
            host_deadline: Duration::from_secs(60),
            assume_up: false,
            try_all_probes: false,
            probe_ports: Vec::new(),
            icmp: true,
            arp: true,
        };
        match profile {
            Profile::Default => base,
            Profile::Gentle => ScanOptions {
                host_rate: 5.0,
                host_burst: 1,
                max_rate: 200.0,
                conns_per_host: 1,
                connect_timeout: Duration::from_millis(2000),
                min_connect_timeout: Duration::from_millis(500),
                probe_io_timeout: Duration::from_secs(3),
                probe_deadline: Duration::from_secs(8),
                host_deadline: Duration::from_secs(180),
                ..base
            },
        }
    }

    /// Whether the profile lets a probe of this level run.
    pub fn allows(&self, level: Intrusiveness) -> bool {
        match level {
            Intrusiveness::Passive | Intrusiveness::Safe => true,
            Intrusiveness::Payload => self.profile != Profile::Gentle,
            Intrusiveness::OptIn => self.opt_in,
        }
    }
}

/// What the scan learned about one host.
#[derive(Debug, Clone)]
pub struct HostResult {
    /// The device, classified, with findings resolved from the catalog.
    pub asset: Asset,
    /// Problems met on this host (probe errors, deadline), one line each.
    pub errors: Vec<String>,
}

/// Counters for progress display, updated as the scan runs.
#[derive(Debug, Default)]
pub struct Progress {
    /// Hosts in the scan.
    pub hosts_total: AtomicUsize,
    /// Hosts finished.
    pub hosts_done: AtomicUsize,
    /// Hosts found up so far.
    pub hosts_up: AtomicUsize,
    /// Port checks planned (grows as hosts turn out to be up).
    pub ports_total: AtomicUsize,
    /// Port checks done.
    pub ports_done: AtomicUsize,
    /// Open ports found.
    pub open_ports: AtomicUsize,
}

/// The discovery engine.
pub struct Scanner {
    opts: ScanOptions,
    probes: Vec<&'static Probe>,
    findings: &'static FindingsCatalog,
    fingerprints: &'static Fingerprints,
    global_rate: Arc<TokenBucket>,
    window: Arc<Semaphore>,
    progress: Arc<Progress>,
    /// ICMP echo is wanted and permitted.
    icmp: bool,
    /// ARP is wanted and permitted.
    arp: bool,
    /// What ARP found in this scan.
    arp_found: Mutex<crate::arp::Sweep>,
}

impl std::fmt::Debug for Scanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scanner")
            .field("opts", &self.opts)
            .field("probes", &self.probes.len())
            .finish()
    }
}

/// The soft limit on open files (Linux `/proc/self/limits`), or a conservative guess.
fn open_file_limit() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(1024)
}

/// The scan-wide connection window: never near the open-file limit.
pub fn connection_window() -> usize {
    (open_file_limit() / 2).clamp(16, 512)
}

/// Ports tried first to tell whether a host is there at all.
const DISCOVERY_PORTS: &[u16] = &[80, 443, 445, 22, 3389, 104, 139, 8080, 23, 9100];
/// Raw (JetDirect) print ports 9100-9103: no fallback probe is ever sent there.
pub const RAW_PRINT_PORTS: &[u16] = &[9100, 9101, 9102, 9103];
/// Probes of protocols where the server greets first: skipped as fallbacks on a silent port.
const SERVER_SPEAKS_FIRST: &[&str] = &["ssh", "ftp", "telnet", "vnc", "smtp", "pop3", "imap"];
/// How many discovery connects before a silent host is given up.
const DISCOVERY_TRIES: usize = 6;

/// Outcome of one TCP connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PortState {
    Open,
    Closed,
    Filtered,
}

/// Smoothed round-trip time (RFC 6298) of one host's connects.
#[derive(Debug)]
struct Rtt {
    srtt: Option<f64>,
    rttvar: f64,
}

struct Host<'a> {
    scanner: &'a Scanner,
    target: Target,
    pacer: Arc<Pacer>,
    conns: Semaphore,
    rtt: Mutex<Rtt>,
    services: Mutex<Vec<(Service, Vec<Finding>)>>,
    errors: Mutex<Vec<String>>,
    up: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl Scanner {
    /// An engine with every registered probe.
    pub fn new(opts: ScanOptions) -> Self {
        Self::with_probes(opts, crate::probes::registry().to_vec())
    }

    /// An engine with a chosen probe list (tests, `--probes`).
    pub fn with_probes(opts: ScanOptions, probes: Vec<&'static Probe>) -> Self {
        Scanner {
            global_rate: Arc::new(TokenBucket::new(opts.max_rate, 50)),
            window: Arc::new(Semaphore::new(connection_window())),
            progress: Arc::new(Progress::default()),
            icmp: opts.icmp && crate::icmp::available(),
            arp: opts.arp && crate::arp::available(),
            arp_found: Mutex::new(crate::arp::Sweep::default()),
            findings: FindingsCatalog::builtin(),
            fingerprints: Fingerprints::builtin(),
            probes,
            opts,
        }
    }

    /// How hosts are found, for the scan's begin record and diagnostics: `tcp`, then `icmp` and
    /// `arp` when wanted and permitted (ARP and ICMP need root or `CAP_NET_RAW`; without it they
    /// are left out silently).
    pub fn host_discovery(&self) -> Vec<&'static str> {
        let mut m = vec!["tcp"];
        if self.icmp {
            m.push("icmp");
        }
        if self.arp {
            m.push("arp");
        }
        m
    }

    /// Ask by ARP for the IPv4 targets on a directly attached subnet (when permitted); returns what
    /// the sweep did. Hosts that answer are up and carry their MAC address. `run` calls this.
    pub async fn arp_sweep(&self, targets: &[Target]) -> crate::arp::Sweep {
        if !self.arp {
            return crate::arp::Sweep::default();
        }
        let v4: Vec<Ipv4Addr> = targets
            .iter()
            .filter_map(|t| match t.ip {
                IpAddr::V4(v4) if !v4.is_loopback() => Some(v4),
                _ => None,
            })
            .collect();
        self.sweep_v4(&v4).await
    }

    #[cfg(target_os = "linux")]
    async fn sweep_v4(&self, v4: &[Ipv4Addr]) -> crate::arp::Sweep {
        let sweep =
            crate::arp::sweep(v4, self.global_rate.clone(), self.opts.connect_timeout).await;
        let mut all = lock(&self.arp_found);
        all.found.extend(sweep.found.iter().map(|(k, v)| (*k, *v)));
        all.asked += sweep.asked;
        all.errors.extend(sweep.errors.iter().cloned());
        sweep
    }

    #[cfg(not(target_os = "linux"))]
    async fn sweep_v4(&self, _v4: &[Ipv4Addr]) -> crate::arp::Sweep {
        crate::arp::Sweep::default()
    }

    /// What ARP found so far in this scan (answers, requests sent, interfaces that failed).
    pub fn arp_result(&self) -> crate::arp::Sweep {
        lock(&self.arp_found).clone()
    }

    /// The MAC address ARP learned for `ip`.
    fn arp_mac(&self, ip: IpAddr) -> Option<[u8; 6]> {
        match ip {
            IpAddr::V4(v4) => lock(&self.arp_found).found.get(&v4).copied(),
            IpAddr::V6(_) => None,
        }
    }

    /// Live counters for a progress display.
    pub fn progress(&self) -> Arc<Progress> {
        self.progress.clone()
    }

    /// The options in force.
    pub fn options(&self) -> &ScanOptions {
        &self.opts
    }

    /// Scan every target; each host's result goes to `results` as soon as it is done (in completion
    /// order). Returns when every host is done.
    pub async fn run(&self, targets: Vec<Target>, results: mpsc::UnboundedSender<HostResult>) {
        self.progress
            .hosts_total
            .fetch_add(targets.len(), Ordering::Relaxed);
        self.arp_sweep(&targets).await;
        let parallel = self.opts.host_parallelism.max(1);
        let mut stream = futures::stream::iter(targets)
            .map(|t| self.scan_host(t))
            .buffer_unordered(parallel);
        while let Some(r) = stream.next().await {
            self.progress.hosts_done.fetch_add(1, Ordering::Relaxed);
            if r.asset.status == HostStatus::Up {
                self.progress.hosts_up.fetch_add(1, Ordering::Relaxed);
            }
            // A closed receiver means the caller stopped listening; keep going quietly.
            let _ = results.send(r);
        }
    }

    /// Scan every target and collect the results (sorted by address).
    pub async fn run_collect(&self, targets: Vec<Target>) -> Vec<HostResult> {
        let (tx, mut rx) = mpsc::unbounded_channel();
        self.run(targets, tx).await;
        let mut out = Vec::new();
        while let Some(r) = rx.recv().await {
            out.push(r);
        }
        out.sort_by_key(|r| r.asset.ip);
        out
    }

    /// Scan one host within the host deadline.
    pub async fn scan_host(&self, target: Target) -> HostResult {
        let host = Host {
            scanner: self,
            pacer: Arc::new(Pacer::new(
                Arc::new(TokenBucket::new(self.opts.host_rate, self.opts.host_burst)),
                self.global_rate.clone(),
            )),
            conns: Semaphore::new(self.opts.conns_per_host.max(1)),
            rtt: Mutex::new(Rtt {
                srtt: None,
                rttvar: 0.0,
            }),
            services: Mutex::new(Vec::new()),
            errors: Mutex::new(Vec::new()),
            up: AtomicBool::new(false),
            target,
        };
        if timeout(self.opts.host_deadline, host.scan()).await.is_err() {
            lock(&host.errors).push(format!(
                "host deadline of {:?} reached; results are partial",
                self.opts.host_deadline
            ));
        }
        host.into_result()
    }
}

impl Host<'_> {
    fn opts(&self) -> &ScanOptions {
        &self.scanner.opts
    }

    fn connect_timeout(&self) -> Duration {
        let o = self.opts();
        let r = lock(&self.rtt);
        match r.srtt {
            None => o.connect_timeout,
            Some(srtt) => Duration::from_secs_f64(srtt + 4.0 * r.rttvar)
                .clamp(o.min_connect_timeout, o.connect_timeout),
        }
    }

    fn observe_rtt(&self, sample: Duration) {
        let s = sample.as_secs_f64();
        let mut r = lock(&self.rtt);
        match r.srtt {
            None => {
                r.srtt = Some(s);
                r.rttvar = s / 2.0;
            }
            Some(srtt) => {
                r.rttvar = 0.75 * r.rttvar + 0.25 * (srtt - s).abs();
                r.srtt = Some(0.875 * srtt + 0.125 * s);
            }
        }
    }

    /// One TCP connect, paced and windowed; an accepted connection is closed cleanly at once.
    async fn check_port(&self, port: u16) -> PortState {
        let _host_slot = self.conns.acquire().await;
        let _window = self.scanner.window.acquire().await;
        self.pacer.wait().await;
        let addr = SocketAddr::new(self.target.ip, port);
        let wait = self.connect_timeout();
        let started = Instant::now();
        let state = match timeout(wait, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                self.observe_rtt(started.elapsed());
                io::close(stream).await;
                PortState::Open
            }
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                self.observe_rtt(started.elapsed());
                PortState::Closed
            }
            // Unreachable, timeout and the like: nothing answered.
            Ok(Err(_)) | Err(_) => PortState::Filtered,
        };
        let p = &self.scanner.progress;
        p.ports_done.fetch_add(1, Ordering::Relaxed);
        if state == PortState::Open {
            p.open_ports.fetch_add(1, Ordering::Relaxed);
        }
        state
    }

    /// Scan a list of ports with the host's connection budget; returns the open ones and whether
    /// anything answered.
    async fn check_ports(&self, ports: &[u16]) -> (Vec<u16>, bool) {
        let conns = self.opts().conns_per_host.max(1);
        let results: Vec<(u16, PortState)> = futures::stream::iter(ports.iter().copied())
            .map(|p| async move { (p, self.check_port(p).await) })
            .buffer_unordered(conns)
            .collect()
            .await;
        let answered = results.iter().any(|(_, s)| match s {
            PortState::Open => true,
            PortState::Closed => !self.target.ip.is_loopback(),
            PortState::Filtered => false,
        });
        let open = results
            .into_iter()
            .filter(|(_, s)| *s == PortState::Open)
            .map(|(p, _)| p)
            .collect();
        (open, answered)
    }

    async fn scan(&self) {
        let opts = self.opts();
        let tcp = &opts.ports.tcp;
        self.scanner
            .progress
            .ports_total
            .fetch_add(tcp.len(), Ordering::Relaxed);
        let arp_up = self.scanner.arp_mac(self.target.ip).is_some();
        if arp_up {
            self.up.store(true, Ordering::Relaxed);
        }
        // Host discovery: a few likely ports first (not needed on loopback, see the module docs).
        let (first, rest): (Vec<u16>, Vec<u16>) = if opts.assume_up || self.target.ip.is_loopback()
        {
            (Vec::new(), tcp.clone())
        } else {
            let mut first: Vec<u16> = DISCOVERY_PORTS
                .iter()
                .copied()
                .filter(|p| tcp.contains(p))
                .take(DISCOVERY_TRIES)
                .collect();
            for p in tcp {
                if first.len() >= DISCOVERY_TRIES.min(tcp.len()) {
                    break;
                }
                if !first.contains(p) {
                    first.push(*p);
                }
            }
            let rest = tcp.iter().copied().filter(|p| !first.contains(p)).collect();
            (first, rest)
        };
        let mut open = Vec::new();
        if !first.is_empty() {
            let ping = async {
                match self.target.ip {
                    IpAddr::V4(v4) if self.scanner.icmp => {
                        self.pacer.wait().await;
                        crate::icmp::ping(v4, self.opts().connect_timeout).await
                    }
                    _ => None,
                }
            };
            let ((o, tcp_answered), rtt) = tokio::join!(self.check_ports(&first), ping);
            if let Some(rtt) = rtt {
                self.observe_rtt(rtt);
            }
            let answered = tcp_answered || rtt.is_some() || arp_up;
            if answered {
                self.up.store(true, Ordering::Relaxed);
            }
            open.extend(o);
            if !answered && !opts.assume_up {
                // Nothing there: don't spend the rest of the list on it.
                self.scanner
                    .progress
                    .ports_done
                    .fetch_add(rest.len(), Ordering::Relaxed);
                return;
            }
        }
        let (o, _) = self.check_ports(&rest).await;
        open.extend(o);
        if !open.is_empty() {
            self.up.store(true, Ordering::Relaxed);
        }
        // Identify what answers on each open port, and ask UDP services that have a probe.
        let conns = opts.conns_per_host.max(1);
        let udp: Vec<u16> = opts
            .ports
            .udp
            .iter()
            .copied()
            .filter(|p| self.port_probes(Transport::Udp, *p).next().is_some())
            .collect();
        let jobs = open
            .into_iter()
            .map(|p| (Transport::Tcp, p))
            .chain(udp.into_iter().map(|p| (Transport::Udp, p)));
        futures::stream::iter(jobs)
            .map(|(t, p)| self.identify(t, p))
            .buffer_unordered(conns)
            .collect::<Vec<()>>()
            .await;
    }

    fn port_probes(&self, t: Transport, port: u16) -> impl Iterator<Item = &'static Probe> + '_ {
        self.scanner.probes.iter().copied().filter(move |p| {
            p.transport == t
                && self.opts().allows(p.intrusiveness)
                && (p.ports.contains(&port)
                    || self
                        .opts()
                        .probe_ports
                        .iter()
                        .any(|(name, hint)| *hint == port && name == p.name))
        })
    }

    fn context(&self, port: u16) -> ProbeContext {
        let o = self.opts();
        let mut ctx = ProbeContext::new(SocketAddr::new(self.target.ip, port));
        ctx.hostname = self.target.hostname.clone();
        ctx.io_timeout = o.probe_io_timeout;
        ctx.deadline = o.probe_deadline;
        ctx.pacer = Some(self.pacer.clone());
        ctx
    }

    /// Run one probe with the host's connection budget and a hard deadline.
    async fn run_probe(&self, probe: &Probe, port: u16) -> Result<Observation, ProbeError> {
        let _host_slot = self.conns.acquire().await;
        let _window = self.scanner.window.acquire().await;
        let ctx = self.context(port);
        let hard = ctx.deadline + ctx.io_timeout;
        match timeout(hard, (probe.run)(ctx)).await {
            Ok(r) => r,
            Err(_) => Err(ProbeError::Timeout(hard)),
        }
    }

    /// Connect and read what the service volunteers, briefly.
    async fn banner(&self, port: u16) -> Option<String> {
        let _host_slot = self.conns.acquire().await;
        let _window = self.scanner.window.acquire().await;
        let mut ctx = self.context(port);
        ctx.io_timeout = ctx.io_timeout.min(Duration::from_millis(800));
        ctx.deadline = ctx.io_timeout * 2;
        let mut stream = io::connect(&ctx).await.ok()?;
        // One line, or the first 512 bytes of whatever the service volunteers.
        let got = io::read_until(&mut stream, &ctx, 8192, |b| {
            b.iter()
                .position(|&c| c == b'\n')
                .map(|n| n + 1)
                .or((b.len() >= 512).then_some(512))
        })
        .await;
        io::close(stream).await;
        match got {
            Ok(b) if !b.is_empty() => Some(io::printable(&b, 200)),
            _ => None,
        }
    }

    /// Try one probe; `None` when it did not identify the service (errors are collected).
    async fn attempt(
        &self,
        probe: &'static Probe,
        t: Transport,
        port: u16,
        tried: &mut Vec<&'static str>,
        errors: &mut Vec<String>,
    ) -> Option<Observation> {
        tried.push(probe.name);
        match self.run_probe(probe, port).await {
            Ok(obs) => Some(obs),
            Err(ProbeError::NotThisProtocol { .. }) => None,
            // A UDP port that stays silent (or is refused by ICMP) is simply not that service.
            Err(ProbeError::Timeout(_)) if t == Transport::Udp => None,
            Err(ProbeError::Io(e) | ProbeError::Connect { source: e, .. })
                if t == Transport::Udp && e.kind() == std::io::ErrorKind::ConnectionRefused =>
            {
                None
            }
            Err(e) => {
                errors.push(format!("{}: {}", probe.name, error_chain(&e)));
                None
            }
        }
    }

    async fn identify(&self, t: Transport, port: u16) {
        let mut tried: Vec<&'static str> = Vec::new();
        let mut errors: Vec<String> = Vec::new();
        let mut guess_errors: Vec<String> = Vec::new();
        let mut found: Option<Observation> = None;
        let mut banner = None;
        for probe in self.port_probes(t, port) {
            if let Some(obs) = self.attempt(probe, t, port, &mut tried, &mut errors).await {
                found = Some(obs);
                break;
            }
        }
        // Anything sent to a raw print port may come out of the printer: only the passive banner
        // read (and probes registered for the port) ever touch it.
        let raw_print = RAW_PRINT_PORTS.contains(&port);
        if found.is_none() && t == Transport::Tcp {
            banner = self.banner(port).await;
            let silent = banner.is_none();
            let fallbacks: Vec<&'static Probe> = self
                .scanner
                .probes
                .iter()
                .copied()
                .filter(|p| {
                    p.transport == Transport::Tcp
                        && !raw_print
                        && !tried.contains(&p.name)
                        && self.opts().allows(p.intrusiveness)
                        // A service that said nothing is not one that greets first.
                        && !(silent && SERVER_SPEAKS_FIRST.contains(&p.name))
                        && (p.fallback
                            || (self.opts().try_all_probes
                                && p.intrusiveness <= Intrusiveness::Safe))
                })
                .collect();
            // Fallback guesses that fail are not the port's fault: they stay on the service only.
            for probe in fallbacks {
                if let Some(obs) = self
                    .attempt(probe, t, port, &mut tried, &mut guess_errors)
                    .await
                {
                    found = Some(obs);
                    break;
                }
            }
        }
        if t == Transport::Udp && found.is_none() {
            // No UDP answer: nothing to report for this port.
            if !errors.is_empty() {
                lock(&self.errors).extend(errors.iter().map(|e| format!("{port}/udp {e}")));
            }
            return;
        }
        let identified = found.is_some();
        let (mut service, raw) = match found {
            Some(obs) => to_service(port, t, obs),
            None => (
                Service {
                    port,
                    transport: t,
                    protocol: "unknown".to_string(),
                    product: None,
                    version: None,
                    banner,
                    tls: None,
                    attributes: Default::default(),
                },
                Vec::new(),
            ),
        };
        let mut shown = errors.clone();
        if !identified {
            shown.extend(guess_errors);
        }
        if !shown.is_empty() {
            service
                .attributes
                .insert("probe_error".into(), shown.join("; "));
        }
        if !errors.is_empty() {
            lock(&self.errors).extend(errors.iter().map(|e| format!("{port}/{t} {e}")));
        }
        let findings = raw
            .iter()
            .map(|r| self.scanner.findings.resolve(r, Some(port)))
            .collect();
        self.up.store(true, Ordering::Relaxed);
        lock(&self.services).push((service, findings));
    }

    fn into_result(self) -> HostResult {
        let services = std::mem::take(&mut *lock(&self.services));
        let errors = std::mem::take(&mut *lock(&self.errors));
        let up = self.up.load(Ordering::Relaxed);
        let mut asset = build_asset(
            self.target.ip,
            self.target.hostname.clone(),
            up,
            services,
            self.scanner.fingerprints,
        );
        asset.mac = self
            .scanner
            .arp_mac(self.target.ip)
            .map(crate::arp::format_mac);
        HostResult { asset, errors }
    }
}

/// The error and its sources on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

/// Turn a probe's observation into a service; identity facts become attributes so the fingerprint
/// catalog can match them.
pub fn to_service(
    port: u16,
    transport: Transport,
    obs: Observation,
) -> (Service, Vec<crate::RawFinding>) {
    let mut attributes = obs.attributes;
    for (k, v) in [
        ("vendor", &obs.vendor),
        ("model", &obs.model),
        ("firmware", &obs.firmware),
        ("os", &obs.os),
        ("hostname", &obs.hostname),
        ("serial", &obs.serial),
    ] {
        if let Some(v) = v.as_ref().filter(|v| !v.trim().is_empty()) {
            attributes.entry(k.to_string()).or_insert_with(|| v.clone());
        }
    }
    (
        Service {
            port,
            transport,
            protocol: obs.protocol,
            product: obs.product,
            version: obs.version,
            banner: obs.banner,
            tls: obs.tls,
            attributes,
        },
        obs.findings,
    )
}

/// Assemble and classify an asset from its services and findings.
pub fn build_asset(
    ip: IpAddr,
    hostname: Option<String>,
    up: bool,
    services: Vec<(Service, Vec<Finding>)>,
    fingerprints: &Fingerprints,
) -> Asset {
    let mut svcs = Vec::new();
    let mut findings = Vec::new();
    for (s, f) in services {
        svcs.push(s);
        findings.extend(f);
    }
    svcs.sort_by_key(|s| (s.port, s.transport));
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.port.cmp(&b.port))
            .then(a.id.cmp(&b.id))
    });
    findings.dedup_by(|a, b| a.id == b.id && a.port == b.port);
    let reported = |key: &str| {
        svcs.iter()
            .find_map(|s| s.attributes.get(key).filter(|v| !v.is_empty()).cloned())
    };
    let mut asset = Asset {
        ip: Some(ip),
        hostname: hostname.or_else(|| reported("hostname")),
        serial: reported("serial"),
        status: if up {
            HostStatus::Up
        } else {
            HostStatus::NoResponse
        },
        services: svcs,
        findings,
        ..Asset::default()
    };
    if up {
        fingerprints.apply(&mut asset);
    }
    asset
}
