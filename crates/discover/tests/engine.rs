//! Engine tests against local listeners and the simulators: open/closed/silent hosts, hostile peers,
//! the rate limit and per-host connection cap as seen by the peer, profiles, probe errors, and
//! classification of the virtual practice.

use medguard_discover::probe::{
    Intrusiveness, Observation, Probe, ProbeContext, ProbeError, ProbeFuture,
};
use medguard_discover::scan::{HostResult, Profile, ScanOptions, Scanner};
use medguard_discover::sim::practice::Practice;
use medguard_discover::targets::Target;
use medguard_model::{Category, HostStatus, Transport};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

fn ip(a: u8, b: u8, c: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, a, b, c))
}

fn target(ip: IpAddr) -> Target {
    Target { ip, hostname: None }
}

fn opts(tcp: Vec<u16>) -> ScanOptions {
    let mut o = ScanOptions::for_profile(Profile::Default);
    o.ports.tcp = tcp;
    o.ports.udp.clear();
    o
}

async fn free_port(ip: IpAddr) -> u16 {
    TcpListener::bind((ip, 0))
        .await
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Accepts and closes at once.
async fn closing_listener(ip: IpAddr) -> u16 {
    let l = TcpListener::bind((ip, 0)).await.expect("bind");
    let port = l.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            drop(s);
        }
    });
    port
}

fn find(results: &[HostResult], ip: IpAddr) -> &HostResult {
    results
        .iter()
        .find(|r| r.asset.ip == Some(ip))
        .unwrap_or_else(|| panic!("{ip} missing from results"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_closed_ports_and_silent_hosts() {
    let (host, silent) = (ip(66, 0, 1), ip(66, 0, 2));
    let open = closing_listener(host).await;
    let closed = free_port(host).await;
    let scanner = Scanner::with_probes(opts(vec![open, closed]), Vec::new());
    let results = scanner
        .run_collect(vec![target(host), target(silent)])
        .await;
    assert_eq!(results.len(), 2, "silent hosts are reported, not dropped");
    let up = find(&results, host);
    assert_eq!(up.asset.status, HostStatus::Up);
    let ports: Vec<u16> = up.asset.services.iter().map(|s| s.port).collect();
    assert_eq!(ports, vec![open]);
    assert_eq!(up.asset.services[0].protocol, "unknown");
    let down = find(&results, silent);
    assert_eq!(down.asset.status, HostStatus::NoResponse);
    assert!(down.asset.services.is_empty());
    let p = scanner.progress();
    assert_eq!(p.hosts_done.load(Ordering::Relaxed), 2);
    assert_eq!(p.hosts_up.load(Ordering::Relaxed), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_peers_do_not_hang_the_scan() {
    let host = ip(66, 0, 3);
    // Garbage then close.
    let garbage = TcpListener::bind((host, 0)).await.expect("bind");
    let garbage_port = garbage.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = garbage.accept().await {
            tokio::spawn(async move {
                let junk: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect();
                let _ = s.write_all(&junk).await;
            });
        }
    });
    // Slow drip forever.
    let drip = TcpListener::bind((host, 0)).await.expect("bind");
    let drip_port = drip.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = drip.accept().await {
            tokio::spawn(async move {
                while s.write_all(b"2").await.is_ok() {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            });
        }
    });
    // Accepts and says nothing, never closes.
    let mute = TcpListener::bind((host, 0)).await.expect("bind");
    let mute_port = mute.local_addr().expect("addr").port();
    let held = Arc::new(Mutex::new(Vec::new()));
    let held2 = held.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = mute.accept().await {
            if let Ok(mut h) = held2.lock() {
                h.push(s);
            }
        }
    });
    let mut o = opts(vec![garbage_port, drip_port, mute_port]);
    // Short budgets keep the test fast; the I/O timeout stays generous for a loaded CI machine.
    o.probe_io_timeout = Duration::from_millis(800);
    o.probe_deadline = Duration::from_secs(1);
    o.host_deadline = Duration::from_secs(12);
    let scanner = Scanner::new(o);
    let started = Instant::now();
    let results = scanner.run_collect(vec![target(host)]).await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(14), "scan took {took:?}");
    let r = find(&results, host);
    assert_eq!(r.asset.status, HostStatus::Up);
    let ports: Vec<u16> = r.asset.services.iter().map(|s| s.port).collect();
    for p in [garbage_port, drip_port, mute_port] {
        assert!(
            ports.contains(&p) || r.errors.iter().any(|e| e.contains("deadline")),
            "{p} neither reported nor explained: {ports:?} {:?}",
            r.errors
        );
    }
    let g = r
        .asset
        .services
        .iter()
        .find(|s| s.port == garbage_port)
        .expect("garbage port reported");
    assert_eq!(
        g.protocol, "unknown",
        "garbage is not identified as anything"
    );
    assert!(
        g.banner.is_some(),
        "the garbage is kept as an escaped banner: {g:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_and_connection_cap_hold_at_the_peer() {
    let host = ip(66, 0, 4);
    let stamps: Arc<Mutex<Vec<Instant>>> = Arc::new(Mutex::new(Vec::new()));
    let live = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let mut ports = Vec::new();
    for _ in 0..15 {
        let l = TcpListener::bind((host, 0)).await.expect("bind");
        ports.push(l.local_addr().expect("addr").port());
        let (stamps, live, peak) = (stamps.clone(), live.clone(), peak.clone());
        tokio::spawn(async move {
            while let Ok((s, _)) = l.accept().await {
                if let Ok(mut v) = stamps.lock() {
                    v.push(Instant::now());
                }
                let now = live.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                let live = live.clone();
                tokio::spawn(async move {
                    // Hold the connection open briefly so overlapping connections show up.
                    tokio::time::sleep(Duration::from_millis(60)).await;
                    drop(s);
                    live.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
    }
    let mut o = opts(ports);
    o.host_rate = 20.0;
    o.host_burst = 1;
    let scanner = Scanner::with_probes(o, Vec::new());
    scanner.run_collect(vec![target(host)]).await;
    let stamps = stamps.lock().expect("stamps").clone();
    // 15 port checks + 15 banner reads.
    assert_eq!(stamps.len(), 30, "every connection reached the peer");
    for (i, t) in stamps.iter().enumerate() {
        let in_window = stamps[i..]
            .iter()
            .take_while(|u| u.duration_since(*t) < Duration::from_secs(1))
            .count();
        assert!(in_window <= 22, "{in_window} connections within one second");
    }
    let span = stamps
        .last()
        .expect("last")
        .duration_since(*stamps.first().expect("first"));
    assert!(
        span >= Duration::from_millis(1300),
        "30 connections at 20/s took {span:?}"
    );
    // The scanner closes a port check at once, but the peer holds each one 60 ms; the scanner
    // itself never has more than 2 connections to the host at a time.
    assert!(
        peak.load(Ordering::SeqCst) <= 4,
        "peak {}",
        peak.load(Ordering::SeqCst)
    );
}

static PAYLOAD_RAN: AtomicBool = AtomicBool::new(false);
static PAYLOAD_PROBE: Probe = Probe {
    name: "test-payload",
    transport: Transport::Tcp,
    ports: &[47001],
    intrusiveness: Intrusiveness::Payload,
    fallback: false,
    sends: "test only",
    run: payload_run,
};
fn payload_run(_ctx: ProbeContext) -> ProbeFuture {
    Box::pin(async {
        PAYLOAD_RAN.store(true, Ordering::SeqCst);
        Ok(Observation::new("test-payload"))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gentle_profile_skips_payload_probes() {
    let host = ip(66, 0, 5);
    let l = TcpListener::bind((host, 47001)).await.expect("bind 47001");
    tokio::spawn(async move { while l.accept().await.is_ok() {} });
    let mut gentle = ScanOptions::for_profile(Profile::Gentle);
    gentle.ports.tcp = vec![47001];
    gentle.ports.udp.clear();
    let r = Scanner::with_probes(gentle, vec![&PAYLOAD_PROBE])
        .run_collect(vec![target(host)])
        .await;
    assert!(
        !PAYLOAD_RAN.load(Ordering::SeqCst),
        "gentle ran a payload probe"
    );
    assert_eq!(find(&r, host).asset.services[0].protocol, "unknown");
    let r = Scanner::with_probes(opts(vec![47001]), vec![&PAYLOAD_PROBE])
        .run_collect(vec![target(host)])
        .await;
    assert!(
        PAYLOAD_RAN.load(Ordering::SeqCst),
        "default profile runs payload probes"
    );
    assert_eq!(find(&r, host).asset.services[0].protocol, "test-payload");
}

static BROKEN_PROBE: Probe = Probe {
    name: "test-broken",
    transport: Transport::Tcp,
    ports: &[47002],
    intrusiveness: Intrusiveness::Safe,
    fallback: false,
    sends: "test only",
    run: broken_run,
};
fn broken_run(_ctx: ProbeContext) -> ProbeFuture {
    Box::pin(async {
        Err(ProbeError::Malformed {
            protocol: "test-broken",
            reason: "length field says 4 GiB".into(),
        })
    })
}
static GOOD_PROBE: Probe = Probe {
    name: "test-good",
    transport: Transport::Tcp,
    ports: &[47003],
    intrusiveness: Intrusiveness::Safe,
    fallback: false,
    sends: "test only",
    run: good_run,
};
fn good_run(ctx: ProbeContext) -> ProbeFuture {
    Box::pin(async move {
        let s = medguard_discover::io::connect(&ctx).await?;
        medguard_discover::io::close(s).await;
        let mut o = Observation::new("test-good");
        o.finding("telnet-enabled", "test evidence");
        Ok(o)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_error_is_recorded_and_the_host_goes_on() {
    let host = ip(66, 0, 6);
    for port in [47002, 47003] {
        let l = TcpListener::bind((host, port)).await.expect("bind");
        tokio::spawn(async move { while l.accept().await.is_ok() {} });
    }
    let r = Scanner::with_probes(opts(vec![47002, 47003]), vec![&BROKEN_PROBE, &GOOD_PROBE])
        .run_collect(vec![target(host)])
        .await;
    let r = find(&r, host);
    let broken = r
        .asset
        .services
        .iter()
        .find(|s| s.port == 47002)
        .expect("broken port still reported");
    assert!(
        broken
            .attributes
            .get("probe_error")
            .is_some_and(|e| e.contains("4 GiB")),
        "{:?}",
        broken.attributes
    );
    assert!(r.errors.iter().any(|e| e.contains("47002/tcp test-broken")));
    let good = r
        .asset
        .services
        .iter()
        .find(|s| s.port == 47003)
        .expect("good port");
    assert_eq!(good.protocol, "test-good");
    let f = r.asset.findings.first().expect("finding resolved");
    assert_eq!(f.id, "telnet-enabled");
    assert_eq!(f.port, Some(47003));
    assert!(!f.explanation.is_empty(), "catalog text attached");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classifies_the_virtual_practice() {
    let practice = Practice::start([127, 66, 1]).await.expect("practice");
    let mut o = opts(practice.ports().tcp);
    o.ports.udp = practice.ports().udp;
    o.probe_ports = practice.probe_ports();
    let targets: Vec<Target> = practice.addresses().into_iter().map(target).collect();
    let results = Scanner::new(o).run_collect(targets).await;
    let expect: &[(&str, Category, &[&str])] = &[
        (
            "pacs",
            Category::Pacs,
            &["dicom-any-ae-accepted", "http-admin-no-tls"],
        ),
        (
            "xray",
            Category::Imaging,
            &[
                "telnet-enabled",
                "tls-legacy-protocol",
                "tls-expired",
                "vnc-no-auth",
            ],
        ),
        ("hl7", Category::Hl7Interface, &["hl7-unauthenticated"]),
        (
            "fridge",
            Category::EnvironmentalMonitor,
            &["modbus-unauthenticated"],
        ),
        ("camera", Category::Camera, &["rtsp-no-auth"]),
        ("printer", Category::Printer, &[]),
        (
            "nas",
            Category::Storage,
            &["smbv1-enabled", "ftp-anonymous"],
        ),
        (
            "frontdesk",
            Category::Workstation,
            &["smbv1-enabled", "rdp-no-nla"],
        ),
        ("router", Category::Network, &["telnet-enabled"]),
        ("hub", Category::Iot, &["mqtt-anonymous"]),
        (
            "hvac",
            Category::BuildingAutomation,
            &["bacnet-unauthenticated"],
        ),
    ];
    for (name, category, findings) in expect {
        let dev = practice
            .devices
            .iter()
            .find(|d| d.name == *name)
            .unwrap_or_else(|| panic!("no device {name}"));
        let r = find(&results, dev.ip);
        assert_eq!(
            r.asset.category, *category,
            "{name}: {:?}",
            r.asset.classified_by
        );
        assert!(
            !r.asset.classified_by.is_empty(),
            "{name}: no evidence recorded"
        );
        let ids: Vec<&str> = r.asset.findings.iter().map(|f| f.id.as_str()).collect();
        for f in *findings {
            assert!(ids.contains(f), "{name}: {f} missing from {ids:?}");
        }
        assert_eq!(
            r.asset.services.len(),
            dev.ports.len(),
            "{name}: every port identified"
        );
        assert!(
            r.asset.services.iter().all(|s| s.protocol != "unknown"),
            "{name}: {:?}",
            r.asset.services
        );
    }
    let pacs = find(&results, practice.devices[0].ip);
    assert_eq!(pacs.asset.vendor.as_deref(), Some("Orthanc"));
    let fridge = practice
        .devices
        .iter()
        .find(|d| d.name == "fridge")
        .expect("fridge");
    let fridge = find(&results, fridge.ip);
    assert_eq!(fridge.asset.vendor.as_deref(), Some("Dickson"));
    assert_eq!(fridge.asset.model.as_deref(), Some("DWE2-LAN"));
}

static SPY_RAN: AtomicUsize = AtomicUsize::new(0);
static SPY_PROBE: Probe = Probe {
    name: "test-spy",
    transport: Transport::Tcp,
    ports: &[],
    intrusiveness: Intrusiveness::Safe,
    fallback: true,
    sends: "test only",
    run: spy_run,
};
fn spy_run(_ctx: ProbeContext) -> ProbeFuture {
    Box::pin(async {
        SPY_RAN.fetch_add(1, Ordering::SeqCst);
        Err(ProbeError::NotThisProtocol {
            protocol: "test-spy",
            reason: "test".into(),
        })
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_sent_to_raw_print_ports() {
    let host = ip(66, 0, 7);
    let printer = TcpListener::bind((host, 9100)).await.expect("bind 9100");
    let received = Arc::new(AtomicUsize::new(0));
    let r2 = received.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = printer.accept().await {
            let r2 = r2.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 256];
                while let Ok(n) = tokio::io::AsyncReadExt::read(&mut s, &mut buf).await {
                    if n == 0 {
                        break;
                    }
                    r2.fetch_add(n, Ordering::SeqCst);
                }
            });
        }
    });
    let other = closing_listener(host).await;
    let mut probes: Vec<&'static Probe> = medguard_discover::probes::registry().to_vec();
    probes.push(&SPY_PROBE);
    let results = Scanner::with_probes(opts(vec![9100, other]), probes)
        .run_collect(vec![target(host)])
        .await;
    let r = find(&results, host);
    assert!(
        r.asset.services.iter().any(|s| s.port == 9100),
        "9100 reported"
    );
    assert_eq!(
        received.load(Ordering::SeqCst),
        0,
        "bytes were sent to the raw print port"
    );
    assert_eq!(
        SPY_RAN.load(Ordering::SeqCst),
        1,
        "the fallback ran on the other port only"
    );
}
