//! ARP discovery against a real Linux network stack: the test creates its own network namespace
//! and a veth pair (one end in the root namespace, the other in the new namespace), assigns
//! addresses in an unused 10.250.X.0/24 on both ends, and asks only for the peer address it
//! assigned. Needs root (as CI runs); fails loudly otherwise. Everything is removed on drop.
#![cfg(target_os = "linux")]

use medguard_discover::arp;
use medguard_discover::ports::PortList;
use medguard_discover::rate::TokenBucket;
use medguard_discover::scan::{Profile, ScanOptions, Scanner};
use medguard_discover::targets::Target;
use medguard_model::HostStatus;
use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

fn ip(args: &[&str]) -> String {
    let out = Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("failed to run ip {args:?}: {e} (install iproute2)"));
    assert!(
        out.status.success(),
        "ip {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A namespace with a veth peer at `peer`, reachable from the root namespace through `local_if`
/// (addressed `local`), both in a /24 nothing else on this machine uses.
struct Lab {
    ns: String,
    local_if: String,
    local: Ipv4Addr,
    peer: Ipv4Addr,
    peer_mac: String,
}

impl Lab {
    fn new(tag: u32) -> Lab {
        let uid = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        assert_eq!(
            uid, "0",
            "the ARP test creates a network namespace and a veth pair: run it as root (CI does)"
        );
        assert!(
            arp::available(),
            "AF_PACKET sockets are not permitted: run the tests as root or with CAP_NET_RAW"
        );
        let pid = std::process::id();
        // A /24 under 10.250/16 not present anywhere on this machine.
        let in_use =
            ip(&["-4", "-o", "addr", "show"]) + &ip(&["-4", "route", "show", "table", "all"]);
        let x = (0..200u32)
            .map(|i| (pid + tag * 7 + i) % 200 + 20)
            .find(|x| !in_use.contains(&format!("10.250.{x}.")))
            .unwrap_or_else(|| panic!("no free 10.250.X.0/24 for the test"));
        let ns = format!("medguard-arp-{pid}-{tag}");
        let local_if = format!("mga{pid}{tag}");
        let peer_if = format!("mgb{pid}{tag}");
        let local = Ipv4Addr::new(10, 250, x as u8, 1);
        let peer = Ipv4Addr::new(10, 250, x as u8, 2);
        ip(&["netns", "add", &ns]);
        let mut lab = Lab {
            ns: ns.clone(),
            local_if: String::new(),
            local,
            peer,
            peer_mac: String::new(),
        };
        ip(&[
            "link", "add", &local_if, "type", "veth", "peer", "name", &peer_if, "netns", &ns,
        ]);
        lab.local_if = local_if.clone();
        ip(&["addr", "add", &format!("{local}/24"), "dev", &local_if]);
        ip(&["link", "set", &local_if, "up"]);
        ip(&[
            "-n",
            &ns,
            "addr",
            "add",
            &format!("{peer}/24"),
            "dev",
            &peer_if,
        ]);
        ip(&["-n", &ns, "link", "set", &peer_if, "up"]);
        ip(&["-n", &ns, "link", "set", "lo", "up"]);
        let links: serde_json::Value =
            serde_json::from_str(&ip(&["-n", &ns, "-j", "link", "show", &peer_if]))
                .unwrap_or_else(|e| panic!("failed to read ip -j link: {e}"));
        lab.peer_mac = links
            .get(0)
            .and_then(|l| l.get("address"))
            .and_then(|a| a.as_str())
            .unwrap_or_else(|| panic!("no address in ip -j link: {links}"))
            .to_ascii_lowercase();
        // Wait for both ends to leave carrier-down/DAD so the peer answers.
        for _ in 0..50 {
            let state = ip(&["-j", "link", "show", &local_if]);
            if state.contains("\"operstate\":\"UP\"") {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        lab
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if !self.local_if.is_empty() {
            // Deleting one end of a veth pair deletes both.
            let _ = Command::new("ip")
                .args(["link", "del", &self.local_if])
                .status();
        }
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_finds_the_peer_with_its_mac() {
    let lab = Lab::new(1);
    // Loopback is on no Ethernet subnet: it must not be asked.
    let targets = [lab.peer, Ipv4Addr::LOCALHOST];
    let rate = Arc::new(TokenBucket::new(100.0, 5));
    let sweep = arp::sweep(&targets, rate, Duration::from_secs(1)).await;
    assert!(sweep.errors.is_empty(), "sweep errors: {:?}", sweep.errors);
    assert_eq!(sweep.asked, 1, "only the attached target is asked");
    let mac = sweep
        .found
        .get(&lab.peer)
        .unwrap_or_else(|| panic!("{} did not answer ARP: {sweep:?}", lab.peer));
    assert_eq!(arp::format_mac(*mac), lab.peer_mac);
    assert_eq!(sweep.found.len(), 1, "only the asked peer is reported");
    assert!(!sweep.found.contains_key(&lab.local));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_marks_the_peer_up_and_records_its_mac() {
    let lab = Lab::new(2);
    let mut opts = ScanOptions::for_profile(Profile::Default);
    opts.ports = PortList {
        tcp: vec![9],
        udp: Vec::new(),
    };
    opts.icmp = false;
    opts.connect_timeout = Duration::from_millis(500);
    let scanner = Scanner::with_probes(opts, Vec::new());
    assert!(scanner.host_discovery().contains(&"arp"));
    let results = scanner
        .run_collect(vec![Target {
            ip: IpAddr::V4(lab.peer),
            hostname: None,
        }])
        .await;
    let [host] = results.as_slice() else {
        panic!("expected one host, got {results:?}");
    };
    assert_eq!(host.asset.status, HostStatus::Up);
    assert_eq!(host.asset.mac.as_deref(), Some(lab.peer_mac.as_str()));
    assert_eq!(host.asset.identity(), format!("mac:{}", lab.peer_mac));
    let sweep = scanner.arp_result();
    assert_eq!(sweep.asked, 1);
}
