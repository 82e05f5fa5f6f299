//! Port lists: the healthcare default list (data in `data/ports.toml`), `--top-ports N`, and
//! `--ports` expressions in nmap's syntax (`1-1024,2575,U:161,T:80`, `all`).

use medguard_model::Transport;
use serde::Deserialize;
use std::collections::HashSet;
use std::sync::OnceLock;

const PORTS_TOML: &str = include_str!("../../../data/ports.toml");

/// One entry of the port catalog.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PortEntry {
    /// Port number.
    pub port: u16,
    /// `tcp` or `udp`.
    pub transport: Transport,
    /// Why the port is on the list, for `--list-probes` and the docs.
    pub why: String,
}

/// The whole port catalog.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortCatalog {
    /// The healthcare default list, most important first.
    pub default: Vec<PortEntry>,
    /// General-purpose ports used to fill `--top-ports` beyond the default list.
    pub common: Vec<PortEntry>,
}

/// The built-in port catalog (parsed once; the catalog test proves it parses).
pub fn catalog() -> &'static PortCatalog {
    static CATALOG: OnceLock<PortCatalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        toml::from_str(PORTS_TOML).unwrap_or_else(|e| {
            // The file is compiled in and checked by a unit test; this cannot happen in a release.
            panic!("data/ports.toml is invalid: {e}")
        })
    })
}

/// Ports to scan, per transport, in scan order without duplicates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortList {
    /// TCP ports.
    pub tcp: Vec<u16>,
    /// UDP ports (only those a probe can speak to are scanned).
    pub udp: Vec<u16>,
}

impl PortList {
    fn push(&mut self, t: Transport, port: u16, seen: &mut HashSet<(Transport, u16)>) {
        if seen.insert((t, port)) {
            match t {
                Transport::Tcp => self.tcp.push(port),
                Transport::Udp => self.udp.push(port),
            }
        }
    }

    /// Total number of ports.
    pub fn len(&self) -> usize {
        self.tcp.len() + self.udp.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The healthcare default list.
    pub fn healthcare() -> PortList {
        let mut out = PortList::default();
        let mut seen = HashSet::new();
        for e in &catalog().default {
            out.push(e.transport, e.port, &mut seen);
        }
        out
    }

    /// The first `n` ports by priority: the healthcare list, the common list, then every other TCP
    /// port in numeric order.
    pub fn top(n: usize) -> PortList {
        let mut out = PortList::default();
        let mut seen = HashSet::new();
        let cat = catalog();
        let ranked = cat
            .default
            .iter()
            .chain(&cat.common)
            .map(|e| (e.transport, e.port))
            .chain((1..=u16::MAX).map(|p| (Transport::Tcp, p)));
        for (t, p) in ranked {
            if out.len() >= n {
                break;
            }
            out.push(t, p, &mut seen);
        }
        out
    }

    /// Parse a `--ports` expression: comma-separated ports and ranges, `T:`/`U:` prefixes switch the
    /// transport for the items that follow (as in nmap), `all` or `-` means TCP 1-65535.
    pub fn parse(expr: &str) -> Result<PortList, PortError> {
        let err = |reason: String| PortError {
            expr: expr.to_string(),
            reason,
        };
        let mut out = PortList::default();
        let mut seen = HashSet::new();
        let mut transport = Transport::Tcp;
        for item in expr.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let mut item = item;
            if let Some((prefix, rest)) = item.split_once(':') {
                transport = match prefix.to_ascii_uppercase().as_str() {
                    "T" => Transport::Tcp,
                    "U" => Transport::Udp,
                    other => return Err(err(format!("unknown transport prefix {other:?}"))),
                };
                item = rest;
            }
            if item.eq_ignore_ascii_case("all") || item == "-" {
                for p in 1..=u16::MAX {
                    out.push(transport, p, &mut seen);
                }
                continue;
            }
            let (a, b) = match item.split_once('-') {
                Some((a, b)) => (parse_port(a, 1, &err)?, parse_port(b, u16::MAX, &err)?),
                None => {
                    let p = parse_port(item, 0, &err)?;
                    (p, p)
                }
            };
            if a == 0 || b < a {
                return Err(err(format!("bad port range {item:?}")));
            }
            for p in a..=b {
                out.push(transport, p, &mut seen);
            }
        }
        if out.is_empty() {
            return Err(err("no ports".to_string()));
        }
        Ok(out)
    }
}

fn parse_port(s: &str, empty: u16, err: &impl Fn(String) -> PortError) -> Result<u16, PortError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(empty);
    }
    s.parse::<u16>()
        .map_err(|_| err(format!("{s:?} is not a port number (1-65535)")))
}

/// A `--ports` expression that could not be parsed. Reads after "failed to ...".
#[derive(Debug, thiserror::Error)]
#[error("parse the port list {expr:?}: {reason}")]
pub struct PortError {
    /// The expression as given.
    pub expr: String,
    /// What is wrong with it.
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn catalog_parses_and_covers_the_healthcare_ports() {
        let list = PortList::healthcare();
        for p in [
            21, 22, 23, 80, 104, 139, 443, 445, 502, 515, 554, 631, 1883, 2575, 3389, 4242, 5900,
            8042, 8080, 8443, 8883, 9100, 11112,
        ] {
            assert!(list.tcp.contains(&p), "tcp {p} missing");
        }
        for p in [161, 47808, 5353, 1900] {
            assert!(list.udp.contains(&p), "udp {p} missing");
        }
        assert!(catalog().default.iter().all(|e| !e.why.trim().is_empty()));
    }

    #[test]
    fn parses_nmap_style_expressions() {
        let l = PortList::parse("1-3,2575,U:161,47808,T:80").expect("parse");
        assert_eq!(l.tcp, vec![1, 2, 3, 2575, 80]);
        assert_eq!(l.udp, vec![161, 47808]);
        assert_eq!(PortList::parse("all").expect("all").tcp.len(), 65535);
        assert_eq!(PortList::parse("-").expect("dash").tcp.len(), 65535);
        assert_eq!(PortList::parse("65530-").expect("open end").tcp.len(), 6);
        for bad in ["0", "70000", "5-1", "X:5", "", "abc"] {
            assert!(PortList::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn top_ports_start_with_the_healthcare_list() {
        let hc = PortList::healthcare();
        let top = PortList::top(hc.len() + 10);
        assert_eq!(top.len(), hc.len() + 10);
        assert_eq!(&top.tcp[..hc.tcp.len()], &hc.tcp[..]);
        assert_eq!(PortList::top(5).len(), 5);
        assert_eq!(PortList::top(200_000).tcp.len(), 65535);
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "[-0-9TtUu:,a-z]{0,40}") {
            let _ = PortList::parse(&s);
        }

        #[test]
        fn parsed_ports_round_trip(ports in proptest::collection::vec(1u16..=65535, 1..30)) {
            let expr = ports.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(",");
            let l = PortList::parse(&expr).expect("parse");
            let mut uniq = Vec::new();
            for p in ports { if !uniq.contains(&p) { uniq.push(p); } }
            prop_assert_eq!(l.tcp, uniq);
        }
    }
}
