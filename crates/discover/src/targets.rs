//! Targets and scope: what the user asked to scan, expanded into addresses, minus exclusions, and
//! checked against the scope rules (private networks only unless `--allow-public`, a host cap).
//!
//! Accepted forms, each separated by whitespace or commas:
//! - single addresses: `192.168.1.10`, `fd00::5`
//! - CIDR blocks: `192.168.1.0/24`, `fd00::/120` (IPv4 blocks up to /30 skip the network and
//!   broadcast addresses)
//! - ranges: `10.0.0.1-20` (last octet) and `10.0.0.1-10.0.0.20`, `fd00::1-fd00::20`
//! - hostnames: `xray-01.practice.lan` (resolved with the system resolver)
//! - `@file`: one or more of the above per line, `#` starts a comment

use ipnet::IpNet;
use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

/// Default cap on the number of addresses one scan may cover.
pub const DEFAULT_MAX_HOSTS: u64 = 65_536;

/// Upper bound on the size of an `@file` target list.
const MAX_TARGET_FILE: u64 = 16 * 1024 * 1024;

/// One address to scan, with the name the user gave it, if any.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// The address probes connect to.
    pub ip: IpAddr,
    /// The hostname the user gave (used for TLS SNI and HTTP Host).
    pub hostname: Option<String>,
}

/// One parsed target expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    /// A CIDR block.
    Net(IpNet),
    /// An inclusive range of addresses of the same family.
    Range(IpAddr, IpAddr),
    /// One address.
    Ip(IpAddr),
    /// A name to resolve.
    Host(String),
}

/// Scope rules applied after expansion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    /// Allow addresses outside private, loopback, link-local and unique-local space.
    pub allow_public: bool,
    /// Refuse target lists larger than this.
    pub max_hosts: u64,
}

impl Default for Scope {
    fn default() -> Self {
        Scope {
            allow_public: false,
            max_hosts: DEFAULT_MAX_HOSTS,
        }
    }
}

/// Why a target list was refused. Messages read after "failed to ...".
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("parse target {spec:?}: {reason}")]
    Parse { spec: String, reason: String },
    #[error("read the target file {path}")]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("read the target file {path}: larger than {MAX_TARGET_FILE} bytes")]
    FileTooLarge { path: PathBuf },
    #[error("resolve the hostname {host:?}")]
    Resolve {
        host: String,
        #[source]
        source: std::io::Error,
    },
    #[error("resolve the hostname {host:?}: no address")]
    NoAddress { host: String },
    #[error(
        "scan {ip} (from {spec:?}): it is a public internet address, not a practice network; \
         pass --allow-public only if you own it and are allowed to scan it"
    )]
    Public { ip: IpAddr, spec: String },
    #[error(
        "scan {count} addresses: more than the limit of {max}; narrow the targets or raise --max-hosts"
    )]
    TooMany { count: u128, max: u64 },
    #[error("scan: no targets left after exclusions")]
    Empty,
}

/// Parse one target expression (no `@file`, which [`read_specs`] expands).
pub fn parse_spec(s: &str) -> Result<Spec, TargetError> {
    let err = |reason: &str| TargetError::Parse {
        spec: s.to_string(),
        reason: reason.to_string(),
    };
    let s = s.trim();
    if s.is_empty() {
        return Err(err("empty"));
    }
    if s.contains('/') {
        let net: IpNet = s
            .parse()
            .map_err(|_| err("not a CIDR block (expected e.g. 192.168.1.0/24)"))?;
        return Ok(Spec::Net(net.trunc()));
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(Spec::Ip(ip));
    }
    if let Some((a, b)) = s.split_once('-') {
        // Only treat it as a range when the left side is an address; hostnames may contain '-'.
        if let Ok(start) = a.parse::<IpAddr>() {
            let end = match (start, b.parse::<IpAddr>()) {
                (_, Ok(end)) => end,
                (IpAddr::V4(v4), Err(_)) => {
                    let last: u8 = b
                        .parse()
                        .map_err(|_| err("range end must be an address or a last octet 0-255"))?;
                    let o = v4.octets();
                    IpAddr::V4(Ipv4Addr::new(o[0], o[1], o[2], last))
                }
                (IpAddr::V6(_), Err(_)) => return Err(err("IPv6 range end must be an address")),
            };
            if start.is_ipv4() != end.is_ipv4() {
                return Err(err("range mixes IPv4 and IPv6"));
            }
            if ip_to_u128(end) < ip_to_u128(start) {
                return Err(err("range end is before its start"));
            }
            return Ok(Spec::Range(start, end));
        }
    }
    if is_hostname(s) {
        return Ok(Spec::Host(s.to_ascii_lowercase()));
    }
    Err(err(
        "not an address, CIDR block, range or hostname (examples: 192.168.1.0/24, 10.0.0.1-20, xray-01.lan)",
    ))
}

fn is_hostname(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        // all-numeric dotted strings are malformed addresses, not names
        && !s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

/// Split command-line arguments into target expressions, reading `@file` arguments.
pub fn read_specs<S: AsRef<str>>(args: &[S]) -> Result<Vec<(String, Spec)>, TargetError> {
    let mut out = Vec::new();
    for arg in args {
        let arg = arg.as_ref();
        if let Some(path) = arg.strip_prefix('@') {
            out.extend(read_file(Path::new(path))?);
        } else {
            for word in split_words(arg) {
                out.push((word.to_string(), parse_spec(word)?));
            }
        }
    }
    Ok(out)
}

/// Read target expressions from a file: one or more per line, `#` comments.
pub fn read_file(path: &Path) -> Result<Vec<(String, Spec)>, TargetError> {
    let file_err = |source| TargetError::File {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(file_err)?;
    if meta.len() > MAX_TARGET_FILE {
        return Err(TargetError::FileTooLarge {
            path: path.to_path_buf(),
        });
    }
    let text = std::fs::read_to_string(path).map_err(file_err)?;
    parse_list(&text)
}

/// Parse a target list text: one or more expressions per line, `#` comments.
pub fn parse_list(text: &str) -> Result<Vec<(String, Spec)>, TargetError> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        for word in split_words(line) {
            out.push((word.to_string(), parse_spec(word)?));
        }
    }
    Ok(out)
}

fn split_words(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
}

fn ip_to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

fn u128_to_ip(v: u128, v4: bool) -> IpAddr {
    if v4 {
        IpAddr::V4(Ipv4Addr::from(u32::try_from(v).unwrap_or(u32::MAX)))
    } else {
        IpAddr::V6(Ipv6Addr::from(v))
    }
}

/// The inclusive numeric bounds of an address expression (hostnames have none).
fn bounds(spec: &Spec) -> Option<(u128, u128, bool)> {
    match spec {
        Spec::Ip(ip) => Some((ip_to_u128(*ip), ip_to_u128(*ip), ip.is_ipv4())),
        Spec::Range(a, b) => Some((ip_to_u128(*a), ip_to_u128(*b), a.is_ipv4())),
        Spec::Net(net) => {
            let (first, last) = (ip_to_u128(net.network()), ip_to_u128(net.broadcast()));
            match net {
                // Network and broadcast addresses are not hosts (RFC 919/922), except /31 and /32.
                IpNet::V4(n) if n.prefix_len() <= 30 => Some((first + 1, last - 1, true)),
                IpNet::V4(_) => Some((first, last, true)),
                IpNet::V6(_) => Some((first, last, false)),
            }
        }
        Spec::Host(_) => None,
    }
}

/// How many addresses a spec covers (a hostname counts one).
pub fn count(spec: &Spec) -> u128 {
    match bounds(spec) {
        Some((a, b, _)) => b - a + 1,
        None => 1,
    }
}

/// Whether `ip` is in private, loopback, link-local or unique-local space (what a practice network
/// uses). IPv4-mapped IPv6 addresses are judged by their IPv4 part.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_private() || v4.is_loopback() || v4.is_link_local(),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            let seg0 = v6.segments()[0];
            v6.is_loopback() || (seg0 & 0xfe00) == 0xfc00 || (seg0 & 0xffc0) == 0xfe80
        }
    }
}

/// Addresses that are never hosts: unspecified, multicast, limited broadcast.
fn is_unscannable(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_unspecified() || v4.is_multicast() || v4.is_broadcast(),
        IpAddr::V6(v6) => v6.is_unspecified() || v6.is_multicast(),
    }
}

/// Resolved exclusions: numeric ranges.
#[derive(Debug, Default, Clone)]
pub struct Exclusions {
    ranges: Vec<(u128, u128, bool)>,
}

impl Exclusions {
    /// Whether `ip` is excluded.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let v = ip_to_u128(ip);
        self.ranges
            .iter()
            .any(|&(a, b, v4)| v4 == ip.is_ipv4() && a <= v && v <= b)
    }
}

async fn resolve_host(host: &str) -> Result<Vec<IpAddr>, TargetError> {
    let addrs =
        tokio::net::lookup_host((host, 0))
            .await
            .map_err(|source| TargetError::Resolve {
                host: host.to_string(),
                source,
            })?;
    let mut ips: Vec<IpAddr> = addrs.map(|a| a.ip()).collect();
    // Prefer IPv4, as a practice LAN usually is; keep the resolver's order otherwise.
    ips.sort_by_key(|ip| !ip.is_ipv4());
    ips.dedup();
    if ips.is_empty() {
        return Err(TargetError::NoAddress {
            host: host.to_string(),
        });
    }
    Ok(ips)
}

/// Resolve exclusion expressions (hostnames exclude every address they resolve to).
pub async fn exclusions(specs: &[(String, Spec)]) -> Result<Exclusions, TargetError> {
    let mut ex = Exclusions::default();
    for (_, spec) in specs {
        match spec {
            Spec::Host(h) => {
                for ip in resolve_host(h).await? {
                    let v = ip_to_u128(ip);
                    ex.ranges.push((v, v, ip.is_ipv4()));
                }
            }
            other => {
                if let Some(b) = bounds(other) {
                    ex.ranges.push(b);
                }
            }
        }
    }
    Ok(ex)
}

/// Expand target expressions into addresses: resolve names, drop exclusions and duplicates, enforce
/// the host cap before expanding and the public-address rule on every address.
pub async fn expand(
    specs: &[(String, Spec)],
    exclude: &Exclusions,
    scope: Scope,
) -> Result<Vec<Target>, TargetError> {
    let total: u128 = specs
        .iter()
        .map(|(_, s)| count(s))
        .fold(0u128, u128::saturating_add);
    if total > u128::from(scope.max_hosts) {
        return Err(TargetError::TooMany {
            count: total,
            max: scope.max_hosts,
        });
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (text, spec) in specs {
        let mut push = |ip: IpAddr, hostname: Option<String>| -> Result<(), TargetError> {
            if exclude.contains(ip) || is_unscannable(ip) {
                return Ok(());
            }
            if !scope.allow_public && !is_internal(ip) {
                return Err(TargetError::Public {
                    ip,
                    spec: text.clone(),
                });
            }
            if seen.insert(ip) {
                out.push(Target { ip, hostname });
            }
            Ok(())
        };
        match spec {
            Spec::Host(h) => {
                let ips = resolve_host(h).await?;
                if let Some(ip) = ips.first() {
                    push(*ip, Some(h.clone()))?;
                }
            }
            other => {
                if let Some((a, b, v4)) = bounds(other) {
                    let mut v = a;
                    loop {
                        push(u128_to_ip(v, v4), None)?;
                        if v >= b {
                            break;
                        }
                        v += 1;
                    }
                }
            }
        }
    }
    if out.is_empty() {
        return Err(TargetError::Empty);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    fn ips(list: &[&str], excl: &[&str], scope: Scope) -> Result<Vec<String>, TargetError> {
        let specs = read_specs(list)?;
        let ex_specs = read_specs(excl)?;
        rt().block_on(async {
            let ex = exclusions(&ex_specs).await?;
            Ok(expand(&specs, &ex, scope)
                .await?
                .into_iter()
                .map(|t| t.ip.to_string())
                .collect())
        })
    }

    #[test]
    fn parses_every_form() {
        assert_eq!(
            parse_spec("10.0.0.1-20").expect("range"),
            Spec::Range(
                "10.0.0.1".parse().expect("ip"),
                "10.0.0.20".parse().expect("ip")
            )
        );
        assert!(matches!(
            parse_spec("10.0.0.1-10.0.1.5"),
            Ok(Spec::Range(..))
        ));
        assert!(
            matches!(parse_spec("192.168.1.7/24"), Ok(Spec::Net(n)) if n.to_string() == "192.168.1.0/24")
        );
        assert!(matches!(parse_spec("fd00::/126"), Ok(Spec::Net(_))));
        assert!(matches!(parse_spec("xray-01.lan"), Ok(Spec::Host(h)) if h == "xray-01.lan"));
        assert!(matches!(parse_spec("::1"), Ok(Spec::Ip(_))));
        for bad in [
            "10.0.0.300",
            "10.0.0.5-3",
            "10.0.0.1-fd00::1",
            "-x",
            "10.0.0.0/33",
            "a b",
            "",
        ] {
            assert!(parse_spec(bad).is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn expands_cidr_ranges_and_excludes() {
        let got = ips(&["192.168.1.0/29"], &[], Scope::default()).expect("expand");
        assert_eq!(got.len(), 6, "{got:?}");
        assert_eq!(got[0], "192.168.1.1");
        assert_eq!(got[5], "192.168.1.6");
        let got = ips(
            &["10.0.0.1-10", "10.0.0.5"],
            &["10.0.0.2-4,10.0.0.9"],
            Scope::default(),
        )
        .expect("expand");
        assert_eq!(
            got,
            [
                "10.0.0.1",
                "10.0.0.5",
                "10.0.0.6",
                "10.0.0.7",
                "10.0.0.8",
                "10.0.0.10"
            ]
        );
        assert_eq!(
            ips(&["10.0.0.7/32"], &[], Scope::default()).expect("single"),
            ["10.0.0.7"]
        );
        assert!(matches!(
            ips(&["10.0.0.1"], &["10.0.0.0/24"], Scope::default()),
            Err(TargetError::Empty)
        ));
    }

    #[test]
    fn refuses_public_unless_allowed_and_caps_count() {
        assert!(matches!(
            ips(&["8.8.8.8"], &[], Scope::default()),
            Err(TargetError::Public { .. })
        ));
        assert!(matches!(
            ips(&["2001:db8::1"], &[], Scope::default()),
            Err(TargetError::Public { .. })
        ));
        let allowed = Scope {
            allow_public: true,
            ..Scope::default()
        };
        assert_eq!(
            ips(&["8.8.8.8"], &[], allowed).expect("allowed"),
            ["8.8.8.8"]
        );
        assert!(matches!(
            ips(&["10.0.0.0/8"], &[], Scope::default()),
            Err(TargetError::TooMany { .. })
        ));
        let big = Scope {
            max_hosts: 1 << 24,
            ..Scope::default()
        };
        assert_eq!(
            count(&parse_spec("10.0.0.0/8").expect("net")),
            (1 << 24) - 2
        );
        assert!(u128::from(big.max_hosts) >= count(&parse_spec("10.0.0.0/8").expect("net")));
        assert!(matches!(
            ips(&["fd00::/64"], &[], Scope::default()),
            Err(TargetError::TooMany { .. })
        ));
        for ok in [
            "127.0.0.1",
            "169.254.1.1",
            "172.16.5.5",
            "fe80::1",
            "fd12::1",
            "::ffff:10.1.1.1",
        ] {
            assert!(is_internal(ok.parse().expect("ip")), "{ok}");
        }
        for public in ["1.1.1.1", "172.32.0.1", "2001:4860::8888", "::ffff:8.8.8.8"] {
            assert!(!is_internal(public.parse().expect("ip")), "{public}");
        }
    }

    #[test]
    fn reads_target_files_with_comments() {
        let dir = tempfile_dir();
        let path = dir.join("targets.txt");
        std::fs::write(
            &path,
            "# practice LAN\n10.1.0.5  # x-ray\n\n10.1.0.6, 10.1.0.7\n",
        )
        .expect("write");
        let arg = format!("@{}", path.display());
        let got = ips(&[arg.as_str()], &[], Scope::default()).expect("file");
        assert_eq!(got, ["10.1.0.5", "10.1.0.6", "10.1.0.7"]);
        assert!(matches!(
            read_specs(&["@/nonexistent/medguard-targets"]),
            Err(TargetError::File { .. })
        ));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn resolves_hostnames() {
        let specs = read_specs(&["localhost"]).expect("parse");
        let got = rt()
            .block_on(expand(&specs, &Exclusions::default(), Scope::default()))
            .expect("resolve");
        assert_eq!(got.len(), 1);
        assert!(got[0].ip.is_loopback());
        assert_eq!(got[0].hostname.as_deref(), Some("localhost"));
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "medguard-targets-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).expect("mkdir");
        dir
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in ".{0,64}") {
            let _ = parse_spec(&s);
            let _ = parse_list(&s);
        }

        #[test]
        fn cidr_count_matches_expansion(a in any::<u8>(), b in any::<u8>(), prefix in 22u8..=32) {
            let spec = format!("10.{a}.{b}.0/{prefix}");
            let parsed = parse_spec(&spec).expect("cidr");
            let n = count(&parsed);
            let got = rt().block_on(expand(&[(spec.clone(), parsed)], &Exclusions::default(), Scope::default()))
                .expect("expand");
            prop_assert_eq!(got.len() as u128, n);
        }

        #[test]
        fn exclusion_removes_exactly_the_excluded(lo in 1u8..=254, hi in 1u8..=254, x in 1u8..=254) {
            let (lo, hi) = (lo.min(hi), lo.max(hi));
            let specs = read_specs(&[format!("192.168.7.{lo}-{hi}")]).expect("range");
            let ex = rt().block_on(exclusions(&read_specs(&[format!("192.168.7.{x}")]).expect("x"))).expect("ex");
            match rt().block_on(expand(&specs, &ex, Scope::default())) {
                Ok(got) => {
                    let expected = usize::from(hi - lo) + 1 - usize::from((lo..=hi).contains(&x));
                    prop_assert_eq!(got.len(), expected);
                    let excluded = format!("192.168.7.{x}");
                    prop_assert!(got.iter().all(|t| t.ip.to_string() != excluded));
                }
                Err(TargetError::Empty) => prop_assert!(lo == hi && lo == x),
                Err(e) => prop_assert!(false, "{e}"),
            }
        }
    }
}
