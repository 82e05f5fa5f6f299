//! SSH: the identification string and the server's key-exchange algorithm lists.
//!
//! Wire format (RFC 4253):
//! - §4.2: both sides first send an identification line `SSH-protoversion-softwareversion SP
//!   comments CR LF`, at most 255 bytes including CR LF. A server may send other lines before it
//!   (they must not start with `SSH-`).
//! - §6 and §7.1: then each side sends `SSH_MSG_KEXINIT` (message 20) in a binary packet
//!   (`uint32 packet_length, byte padding_length, payload, padding`) listing its algorithms as
//!   comma-separated name-lists (RFC 4251 §5).
//!
//! What the probe sends: after reading the server's identification line, its own identification
//! `SSH-2.0-medguard_probe\r\n`; it reads the server's KEXINIT and closes. No key exchange happens,
//! no authentication is attempted.
//!
//! Attributes: `proto_version` (`2.0`, `1.99`), `software` (the whole softwareversion field),
//! `comments`, and from KEXINIT `kex_algorithms`, `host_key_algorithms`, `ciphers` (server to
//! client), `macs` (server to client), `compression`. Finding: `ssh-legacy` (see [`legacy`]).

use crate::io;
use crate::probe::{Intrusiveness, Observation, Probe, ProbeContext, ProbeError, ProbeFuture};
use medguard_model::Transport;

/// The identification line the probe sends (RFC 4253 §4.2).
pub const CLIENT_IDENT: &[u8] = b"SSH-2.0-medguard_probe\r\n";
/// Longest identification line allowed, CR LF included (RFC 4253 §4.2).
pub const MAX_IDENT: usize = 255;
/// How much pre-identification text the probe accepts before giving up.
const MAX_PREAMBLE: usize = 4096;
/// Largest KEXINIT packet accepted (RFC 4253 §6.1 requires support for 35000-byte packets).
pub const MAX_PACKET: usize = 35_000;
/// `SSH_MSG_KEXINIT` (RFC 4253 §12).
pub const MSG_KEXINIT: u8 = 20;

/// A parsed identification line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    /// `2.0`, or `1.99` for servers that also speak SSH-1.
    pub proto_version: String,
    /// The softwareversion field, e.g. `OpenSSH_9.2p1`.
    pub software: String,
    /// The comments field, e.g. `Debian-2+deb12u3`.
    pub comments: Option<String>,
}

/// Find the server's identification line in `buf`: returns the parsed line and the number of bytes
/// consumed up to and including its LF, `Ok(None)` when more bytes are needed.
pub fn find_ident(buf: &[u8]) -> Result<Option<(Ident, usize)>, String> {
    let mut start = 0;
    loop {
        let rest = buf.get(start..).unwrap_or_default();
        let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
            if rest.starts_with(b"SSH-") && rest.len() > MAX_IDENT {
                return Err("identification line longer than 255 bytes".into());
            }
            if !looks_textual(rest) {
                return Err("binary data instead of an identification line".into());
            }
            if buf.len() > MAX_PREAMBLE {
                return Err("no identification line in the first 4 KiB".into());
            }
            return Ok(None);
        };
        let line = rest.get(..nl).unwrap_or_default();
        if line.starts_with(b"SSH-") {
            return parse_ident(line).map(|id| Some((id, start + nl + 1)));
        }
        if !looks_textual(line) {
            return Err("binary data instead of an identification line".into());
        }
        if start == 0 && other_protocol_greeting(line) {
            return Err(format!(
                "another protocol's greeting {:?}",
                String::from_utf8_lossy(line.get(..line.len().min(40)).unwrap_or_default())
            ));
        }
        start += nl + 1;
        if start > MAX_PREAMBLE {
            return Err("no identification line in the first 4 KiB".into());
        }
    }
}

/// Greetings of other line protocols (FTP/SMTP reply codes, HTTP, RFB): not an SSH preamble.
fn other_protocol_greeting(line: &[u8]) -> bool {
    let code = line.len() >= 4
        && line.iter().take(3).all(u8::is_ascii_digit)
        && matches!(line.get(3), Some(b' ' | b'-'));
    code || line.starts_with(b"HTTP/") || line.starts_with(b"RFB ")
}

fn looks_textual(b: &[u8]) -> bool {
    b.iter()
        .all(|&c| c == b'\r' || c == b'\t' || (0x20..0x7f).contains(&c) || c >= 0x80)
}

/// Parse one identification line (without or with its CR LF).
pub fn parse_ident(line: &[u8]) -> Result<Ident, String> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() + 2 > MAX_IDENT {
        return Err("identification line longer than 255 bytes".into());
    }
    let rest = line
        .strip_prefix(b"SSH-")
        .ok_or_else(|| "identification does not start with SSH-".to_string())?;
    let text = String::from_utf8_lossy(rest);
    let (proto, after) = text
        .split_once('-')
        .ok_or_else(|| "identification has no software version".to_string())?;
    if proto.is_empty() || !proto.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(format!("bad protocol version {proto:?}"));
    }
    let (software, comments) = match after.split_once(' ') {
        Some((s, c)) => (s, Some(c.trim().to_string()).filter(|c| !c.is_empty())),
        None => (after, None),
    };
    Ok(Ident {
        proto_version: proto.to_string(),
        software: software.to_string(),
        comments,
    })
}

/// The product, version and vendor hints an identification reveals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Software {
    pub product: Option<String>,
    pub version: Option<String>,
    pub vendor: Option<String>,
    pub os: Option<String>,
}

/// Known SSH implementations: softwareversion prefix, product, vendor.
const KNOWN: &[(&str, &str, &str)] = &[
    ("OpenSSH", "OpenSSH", "OpenBSD"),
    ("dropbear", "Dropbear SSH", "Matt Johnston"),
    ("libssh", "libssh", "libssh"),
    ("Cisco", "Cisco SSH", "Cisco"),
    ("ROSSSH", "RouterOS SSH", "MikroTik"),
    ("RomSShell", "RomSShell", "Allegro Software"),
    ("WeOnlyDo", "wodSSHServer", "WeOnlyDo"),
    ("mpSSH", "mpSSH", "HP"),
    ("lancom", "LANCOM SSH", "LANCOM"),
    ("Serv-U", "Serv-U", "SolarWinds"),
    ("SSHD-CORE", "Apache MINA SSHD", "Apache"),
    ("AsyncSSH", "AsyncSSH", "AsyncSSH"),
    ("Go", "Go x/crypto/ssh", "Go"),
    ("paramiko", "Paramiko", "Paramiko"),
];

/// OS hints in the comments field (`OpenSSH_9.2p1 Debian-2+deb12u3`).
const OS_HINTS: &[(&str, &str)] = &[
    ("Debian", "Debian"),
    ("Ubuntu", "Ubuntu"),
    ("Raspbian", "Raspbian"),
    ("FreeBSD", "FreeBSD"),
    ("NetBSD", "NetBSD"),
    ("Windows", "Windows"),
];

/// Split `softwareversion` into product and version, and read OS hints from the comments.
pub fn software(id: &Ident) -> Software {
    let mut out = Software::default();
    let (name, version) = match id.software.split_once('_') {
        Some((n, v)) => (n, Some(v)),
        None => match id.software.split_once('-') {
            Some((n, v)) => (n, Some(v)),
            None => (id.software.as_str(), None),
        },
    };
    if let Some((_, product, vendor)) = KNOWN
        .iter()
        .find(|(p, _, _)| name.eq_ignore_ascii_case(p) || id.software.starts_with(p))
    {
        out.product = Some((*product).to_string());
        out.vendor = Some((*vendor).to_string());
    } else if !name.is_empty() {
        out.product = Some(name.to_string());
    }
    out.version = version.filter(|v| !v.is_empty()).map(str::to_string);
    if id.software.contains("for_Windows") {
        out.os = Some("Windows".into());
    }
    if let Some(c) = &id.comments
        && let Some((_, os)) = OS_HINTS.iter().find(|(h, _)| c.contains(h))
    {
        out.os = Some((*os).to_string());
    }
    out
}

/// Why an identification counts as legacy: SSH protocol 1 still offered (`1.x`, or `1.99` =
/// both), OpenSSH before 7.4 (2016; many fixed flaws) or Dropbear before 2020.
pub fn legacy(id: &Ident) -> Option<String> {
    if id.proto_version != "2.0" {
        return Some(format!(
            "SSH protocol version {} announced (SSH-1 still offered)",
            id.proto_version
        ));
    }
    let sw = software(id);
    let version = sw.version.as_deref()?;
    let mut nums = version
        .split(|c: char| !c.is_ascii_digit())
        .filter(|n| !n.is_empty())
        .map(|n| n.parse::<u32>().unwrap_or(u32::MAX));
    let (major, minor) = (nums.next()?, nums.next().unwrap_or(0));
    let old = match sw.product.as_deref() {
        Some("OpenSSH") => (major, minor) < (7, 4),
        Some("Dropbear SSH") => major < 2020,
        _ => false,
    };
    old.then(|| format!("{} {version} is an old release", id.software))
}

/// The algorithm lists of an `SSH_MSG_KEXINIT` (RFC 4253 §7.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KexInit {
    pub cookie: [u8; 16],
    pub kex: Vec<String>,
    pub host_key: Vec<String>,
    pub ciphers_c2s: Vec<String>,
    pub ciphers_s2c: Vec<String>,
    pub macs_c2s: Vec<String>,
    pub macs_s2c: Vec<String>,
    pub compression_c2s: Vec<String>,
    pub compression_s2c: Vec<String>,
    pub first_kex_follows: bool,
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).ok_or("length overflow")?;
        let s = self
            .b
            .get(self.at..end)
            .ok_or_else(|| format!("truncated at byte {}", self.at))?;
        self.at = end;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32, String> {
        let s = self.take(4)?;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn name_list(&mut self) -> Result<Vec<String>, String> {
        let n = self.u32()? as usize;
        if n > MAX_PACKET {
            return Err(format!("name-list of {n} bytes"));
        }
        let s = self.take(n)?;
        if s.is_empty() {
            return Ok(Vec::new());
        }
        Ok(String::from_utf8_lossy(s)
            .split(',')
            .map(str::to_string)
            .collect())
    }
}

/// Length of the binary packet at the start of `buf` once it is complete (RFC 4253 §6).
pub fn packet_complete(buf: &[u8]) -> Option<usize> {
    let len = u32::from_be_bytes(buf.get(..4)?.try_into().ok()?) as usize;
    let total = len.checked_add(4)?;
    // An oversized length is "complete" right away so the parser can reject it.
    if total > MAX_PACKET || buf.len() >= total {
        Some(total.min(buf.len()))
    } else {
        None
    }
}

/// Parse an unencrypted binary packet carrying `SSH_MSG_KEXINIT`.
pub fn parse_kexinit_packet(buf: &[u8]) -> Result<KexInit, String> {
    let mut r = Reader { b: buf, at: 0 };
    let len = r.u32()? as usize;
    if !(5..=MAX_PACKET).contains(&len) {
        return Err(format!("packet length {len} out of range"));
    }
    let pad = r.u8()? as usize;
    let payload_len = len
        .checked_sub(pad + 1)
        .ok_or_else(|| format!("padding {pad} longer than packet {len}"))?;
    let payload = r.take(payload_len)?;
    parse_kexinit(payload)
}

/// Parse a KEXINIT payload (message byte included).
pub fn parse_kexinit(payload: &[u8]) -> Result<KexInit, String> {
    let mut r = Reader { b: payload, at: 0 };
    let msg = r.u8()?;
    if msg != MSG_KEXINIT {
        return Err(format!("message {msg} instead of KEXINIT"));
    }
    let mut k = KexInit::default();
    k.cookie.copy_from_slice(r.take(16)?);
    k.kex = r.name_list()?;
    k.host_key = r.name_list()?;
    k.ciphers_c2s = r.name_list()?;
    k.ciphers_s2c = r.name_list()?;
    k.macs_c2s = r.name_list()?;
    k.macs_s2c = r.name_list()?;
    k.compression_c2s = r.name_list()?;
    k.compression_s2c = r.name_list()?;
    let _lang_c2s = r.name_list()?;
    let _lang_s2c = r.name_list()?;
    k.first_kex_follows = r.u8()? != 0;
    let _reserved = r.u32()?;
    Ok(k)
}

/// Encode a KEXINIT in an unencrypted binary packet (used by the simulator; padding per §6).
pub fn build_kexinit_packet(k: &KexInit) -> Vec<u8> {
    let mut p = vec![MSG_KEXINIT];
    p.extend_from_slice(&k.cookie);
    for list in [
        &k.kex,
        &k.host_key,
        &k.ciphers_c2s,
        &k.ciphers_s2c,
        &k.macs_c2s,
        &k.macs_s2c,
        &k.compression_c2s,
        &k.compression_s2c,
        &Vec::new(),
        &Vec::new(),
    ] {
        let joined = list.join(",");
        p.extend_from_slice(&(joined.len() as u32).to_be_bytes());
        p.extend_from_slice(joined.as_bytes());
    }
    p.push(u8::from(k.first_kex_follows));
    p.extend_from_slice(&0u32.to_be_bytes());
    // Total (4 + 1 + payload + padding) must be a multiple of 8, padding at least 4 bytes.
    let mut pad = 8 - (5 + p.len()) % 8;
    if pad < 4 {
        pad += 8;
    }
    let mut out = Vec::with_capacity(5 + p.len() + pad);
    out.extend_from_slice(&((1 + p.len() + pad) as u32).to_be_bytes());
    out.push(pad as u8);
    out.extend_from_slice(&p);
    out.extend(std::iter::repeat_n(0u8, pad));
    out
}

/// The registry entry.
pub static PROBE: Probe = Probe {
    name: "ssh",
    transport: Transport::Tcp,
    ports: &[22, 2222],
    intrusiveness: Intrusiveness::Safe,
    fallback: true,
    sends: "reads the server's identification line, sends `SSH-2.0-medguard_probe\\r\\n` \
            (RFC 4253 §4.2), reads the server's KEXINIT algorithm lists, closes; no key exchange, \
            no login",
    run,
};

fn run(ctx: ProbeContext) -> ProbeFuture {
    Box::pin(async move { probe(ctx).await })
}

fn not_ssh(reason: impl Into<String>) -> ProbeError {
    ProbeError::NotThisProtocol {
        protocol: "ssh",
        reason: reason.into(),
    }
}

async fn probe(ctx: ProbeContext) -> Result<Observation, ProbeError> {
    let mut s = io::connect(&ctx).await?;
    let buf = io::read_until(
        &mut s,
        &ctx,
        MAX_PREAMBLE + MAX_IDENT,
        |b| match find_ident(b) {
            Ok(Some((_, n))) => Some(n.max(1)),
            Ok(None) => None,
            Err(_) => Some(b.len()),
        },
    )
    .await;
    let buf = match buf {
        Ok(b) => b,
        Err(e) => {
            io::close(s).await;
            return Err(e);
        }
    };
    let (id, _) = match find_ident(&buf) {
        Ok(Some(found)) => found,
        Ok(None) => {
            io::close(s).await;
            return Err(not_ssh(format!(
                "no identification line in {:?}",
                io::printable(&buf, 60)
            )));
        }
        Err(e) => {
            io::close(s).await;
            return Err(not_ssh(e));
        }
    };
    let mut obs = Observation::new("ssh");
    let sw = software(&id);
    obs.product = sw.product;
    obs.version = sw.version;
    obs.vendor = sw.vendor;
    obs.os = sw.os;
    let line = match &id.comments {
        Some(c) => format!("SSH-{}-{} {c}", id.proto_version, id.software),
        None => format!("SSH-{}-{}", id.proto_version, id.software),
    };
    obs.banner = Some(io::printable(line.as_bytes(), MAX_IDENT));
    obs.attr("proto_version", id.proto_version.clone());
    obs.attr("software", io::printable(id.software.as_bytes(), MAX_IDENT));
    if let Some(c) = &id.comments {
        obs.attr("comments", io::printable(c.as_bytes(), MAX_IDENT));
    }
    if let Some(why) = legacy(&id) {
        obs.finding("ssh-legacy", why);
    }
    // KEXINIT is optional: an identified server that stops here is still SSH.
    if io::send(&mut s, CLIENT_IDENT, &ctx).await.is_ok()
        && let Ok(pkt) = io::read_until(&mut s, &ctx, MAX_PACKET, packet_complete).await
        && let Ok(k) = parse_kexinit_packet(&pkt)
    {
        let list = |l: &[String]| io::printable(l.join(",").as_bytes(), 2048);
        obs.attr("kex_algorithms", list(&k.kex));
        obs.attr("host_key_algorithms", list(&k.host_key));
        obs.attr("ciphers", list(&k.ciphers_s2c));
        obs.attr("macs", list(&k.macs_s2c));
        obs.attr("compression", list(&k.compression_s2c));
    }
    io::close(s).await;
    Ok(obs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_openssh_debian_identification() {
        // RFC 4253 §4.2 example form, as sent by Debian 12's openssh-server.
        let id = parse_ident(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n").expect("ident");
        assert_eq!(id.proto_version, "2.0");
        assert_eq!(id.software, "OpenSSH_9.2p1");
        assert_eq!(id.comments.as_deref(), Some("Debian-2+deb12u3"));
        let sw = software(&id);
        assert_eq!(sw.product.as_deref(), Some("OpenSSH"));
        assert_eq!(sw.version.as_deref(), Some("9.2p1"));
        assert_eq!(sw.os.as_deref(), Some("Debian"));
    }

    #[test]
    fn parses_dropbear_and_ssh1_compat() {
        let id = parse_ident(b"SSH-1.99-dropbear_2020.81\n").expect("ident");
        assert_eq!(id.proto_version, "1.99");
        let sw = software(&id);
        assert_eq!(sw.product.as_deref(), Some("Dropbear SSH"));
        assert_eq!(sw.version.as_deref(), Some("2020.81"));
        assert_eq!(sw.os, None);
    }

    #[test]
    fn legacy_versions() {
        let l = |line: &[u8]| legacy(&parse_ident(line).expect("ident"));
        assert!(l(b"SSH-1.99-OpenSSH_9.2p1").is_some());
        assert!(l(b"SSH-2.0-OpenSSH_5.3").is_some());
        assert!(l(b"SSH-2.0-OpenSSH_7.3p1").is_some());
        assert!(l(b"SSH-2.0-OpenSSH_7.4").is_none());
        assert!(l(b"SSH-2.0-OpenSSH_10.0").is_none());
        assert!(l(b"SSH-2.0-dropbear_2015.67").is_some());
        assert!(l(b"SSH-2.0-dropbear_2022.83").is_none());
        assert!(l(b"SSH-2.0-Cisco-1.25").is_none());
    }

    #[test]
    fn skips_preamble_lines_before_identification() {
        // §4.2: "The server MAY send other lines of data before sending the version string."
        let buf = b"Welcome to the PACS gateway\r\nSSH-2.0-Cisco-1.25\r\nrest";
        let (id, n) = find_ident(buf).expect("ok").expect("found");
        assert_eq!(id.software, "Cisco-1.25");
        assert_eq!(&buf[n..], b"rest");
        assert_eq!(software(&id).vendor.as_deref(), Some("Cisco"));
    }

    #[test]
    fn rejects_other_protocols_and_oversized_lines() {
        assert!(find_ident(b"220 (vsFTPd 3.0.3)\r\n").is_err());
        assert!(find_ident(b"RFB 003.008\n").is_err());
        assert!(find_ident(b"\x16\x03\x01\x02\x00\x01").is_err());
        assert!(find_ident(b"HTTP/1.1 400 Bad Request\r\n\r\n").is_err());
        assert!(
            find_ident(b"Hello\r\n").expect("ok").is_none(),
            "preamble, needs more"
        );
        let mut long = b"SSH-2.0-".to_vec();
        long.extend(std::iter::repeat_n(b'a', 300));
        assert!(find_ident(&long).is_err());
        long.extend_from_slice(b"\r\n");
        assert!(find_ident(&long).is_err());
        assert!(parse_ident(b"SSH-2.0\r\n").is_err());
        assert!(parse_ident(b"SSH-x.y-foo\r\n").is_err());
        assert!(
            find_ident(b"SSH-2.0-Open").expect("ok").is_none(),
            "needs more bytes"
        );
    }

    fn sample_kexinit() -> KexInit {
        KexInit {
            cookie: [7; 16],
            kex: vec![
                "curve25519-sha256".into(),
                "diffie-hellman-group14-sha256".into(),
            ],
            host_key: vec!["ssh-ed25519".into()],
            ciphers_c2s: vec!["aes128-ctr".into()],
            ciphers_s2c: vec!["aes128-ctr".into(), "3des-cbc".into()],
            macs_c2s: vec!["hmac-sha2-256".into()],
            macs_s2c: vec!["hmac-sha1".into()],
            compression_c2s: vec!["none".into()],
            compression_s2c: vec!["none".into()],
            first_kex_follows: false,
        }
    }

    #[test]
    fn kexinit_round_trip_and_padding_rules() {
        let k = sample_kexinit();
        let pkt = build_kexinit_packet(&k);
        // §6: total length a multiple of 8 (cipher block size 8 before keys), padding >= 4.
        assert_eq!(pkt.len() % 8, 0);
        assert!(pkt[4] >= 4);
        assert_eq!(packet_complete(&pkt), Some(pkt.len()));
        assert_eq!(packet_complete(&pkt[..pkt.len() - 1]), None);
        assert_eq!(parse_kexinit_packet(&pkt).expect("parse"), k);
    }

    #[test]
    fn kexinit_rejects_truncation_and_absurd_lengths() {
        let pkt = build_kexinit_packet(&sample_kexinit());
        for cut in [0, 3, 5, 20, pkt.len() / 2, pkt.len() - 9] {
            assert!(parse_kexinit_packet(&pkt[..cut]).is_err(), "cut at {cut}");
        }
        // packet_length far beyond the 35000-byte limit.
        let mut big = pkt.clone();
        big[..4].copy_from_slice(&0x7fff_ffffu32.to_be_bytes());
        assert!(parse_kexinit_packet(&big).is_err());
        assert!(
            packet_complete(&big).is_some(),
            "oversized is handed to the parser"
        );
        // A name-list claiming 4 GiB.
        let mut bad = pkt.clone();
        bad[5 + 17..5 + 21].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(parse_kexinit_packet(&bad).is_err());
        // Wrong message number.
        let mut other = pkt;
        other[5] = 21;
        assert!(parse_kexinit_packet(&other).is_err());
    }

    proptest! {
        #[test]
        fn parsers_never_panic(b in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = find_ident(&b);
            let _ = parse_ident(&b);
            let _ = packet_complete(&b);
            let _ = parse_kexinit_packet(&b);
            let _ = parse_kexinit(&b);
        }

        #[test]
        fn ident_round_trip(sw in "[A-Za-z][A-Za-z0-9_.]{0,40}", c in proptest::option::of("[A-Za-z0-9+.-]{1,40}")) {
            let line = match &c {
                Some(c) => format!("SSH-2.0-{sw} {c}\r\n"),
                None => format!("SSH-2.0-{sw}\r\n"),
            };
            let id = parse_ident(line.as_bytes()).expect("parse");
            prop_assert_eq!(id.software, sw);
            prop_assert_eq!(id.comments, c);
        }

        #[test]
        fn kexinit_lists_round_trip(kex in proptest::collection::vec("[a-z0-9@.-]{1,30}", 1..8)) {
            let k = KexInit { kex, ..sample_kexinit() };
            prop_assert_eq!(parse_kexinit_packet(&build_kexinit_packet(&k)).expect("parse"), k);
        }
    }
}
