//! SSDP (UPnP discovery) identification: one unicast M-SEARCH to UDP 1900 of the target.
//!
//! What goes on the wire (see [`PROBE`]`.sends`): an `M-SEARCH * HTTP/1.1` request with
//! `MAN: "ssdp:discover"` and `ST: ssdp:all`, addressed to the target itself as UPnP Device
//! Architecture 2.0 §1.3.2 describes for unicast searches (`HOST` is the target's address, no `MX`).
//! The device description at `LOCATION` is not fetched.
//!
//! Attributes: `server` (`SERVER` header: OS, UPnP version, product), `location`, `st`, `usn`.

use crate::io;
use crate::probe::{Intrusiveness, Observation, Probe, ProbeContext, ProbeError, ProbeFuture};
use medguard_model::Transport;

const PROTO: &str = "ssdp";
/// Largest response parsed.
pub const MAX_RESPONSE: usize = 4096;
const MAX_HEADERS: usize = 32;

/// The registered SSDP probe.
pub static PROBE: Probe = Probe {
    name: PROTO,
    transport: Transport::Udp,
    ports: &[1900],
    intrusiveness: Intrusiveness::Safe,
    fallback: false,
    sends: "one unicast SSDP M-SEARCH (MAN \"ssdp:discover\", ST ssdp:all) to UDP 1900; the \
            LOCATION description is not fetched.",
    run,
};

fn run(ctx: ProbeContext) -> ProbeFuture {
    Box::pin(async move { probe(&ctx).await })
}

/// Why bytes are not an SSDP message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SsdpError {
    #[error("parse an ssdp message: {0}")]
    Invalid(&'static str),
}

/// An SSDP message: start line and headers (names lower-cased, values trimmed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsdpMessage {
    pub start_line: String,
    pub headers: Vec<(String, String)>,
}

impl SsdpMessage {
    /// The first header of this (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether this is a `200 OK` search response.
    pub fn is_response(&self) -> bool {
        let mut parts = self.start_line.split_whitespace();
        parts.next().is_some_and(|v| v.starts_with("HTTP/1.")) && parts.next() == Some("200")
    }
}

/// Parse an SSDP message (HTTP-over-UDP: start line, headers, empty line).
pub fn parse_message(b: &[u8]) -> Result<SsdpMessage, SsdpError> {
    if b.len() > MAX_RESPONSE {
        return Err(SsdpError::Invalid("message larger than the cap"));
    }
    let text = std::str::from_utf8(b).map_err(|_| SsdpError::Invalid("not text"))?;
    let mut lines = text.split("\r\n").flat_map(|l| l.split('\n'));
    let start = lines.next().unwrap_or("").trim();
    if !(start.starts_with("HTTP/1.")
        || start.starts_with("M-SEARCH ")
        || start.starts_with("NOTIFY "))
    {
        return Err(SsdpError::Invalid("not an ssdp start line"));
    }
    let mut headers = Vec::new();
    for line in lines {
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(SsdpError::Invalid("header line without a colon"));
        };
        if headers.len() < MAX_HEADERS {
            headers.push((
                name.trim().to_ascii_lowercase(),
                io::printable(value.trim().as_bytes(), 256),
            ));
        }
    }
    Ok(SsdpMessage {
        start_line: io::printable(start.as_bytes(), 128),
        headers,
    })
}

/// The unicast M-SEARCH for `host` (the target's `address:port`).
pub fn m_search(host: &str) -> String {
    format!(
        "M-SEARCH * HTTP/1.1\r\nHOST: {host}\r\nMAN: \"ssdp:discover\"\r\nST: ssdp:all\r\n\
         USER-AGENT: medguard/1 UPnP/2.0 medguard/1\r\n\r\n"
    )
}

/// A search response as devices send it (UDA 2.0 §1.3.3).
pub fn search_response(server: &str, location: &str, st: &str, usn: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nEXT:\r\nLOCATION: {location}\r\n\
         SERVER: {server}\r\nST: {st}\r\nUSN: {usn}\r\n\r\n"
    )
}

/// Split a SERVER header ("OS/version UPnP/x.y product/version") into (os, product, version).
pub fn split_server(server: &str) -> (Option<String>, Option<(String, Option<String>)>) {
    let tokens: Vec<&str> = server.split([' ', ',']).filter(|t| !t.is_empty()).collect();
    let upnp = tokens
        .iter()
        .position(|t| t.to_ascii_uppercase().starts_with("UPNP/"));
    let Some(u) = upnp else {
        return (None, None);
    };
    let os = (u > 0).then(|| tokens[..u].join(" "));
    let product = tokens.get(u + 1..).filter(|r| !r.is_empty()).map(|rest| {
        let joined = rest.join(" ");
        match joined.split_once('/') {
            Some((p, v)) => (p.to_string(), Some(v.to_string())),
            None => (joined, None),
        }
    });
    (os, product)
}

/// Fill an observation from a search response.
pub fn describe(obs: &mut Observation, m: &SsdpMessage) {
    for (key, header) in [
        ("server", "server"),
        ("location", "location"),
        ("st", "st"),
        ("usn", "usn"),
    ] {
        if let Some(v) = m.header(header) {
            obs.attr(key, v);
        }
    }
    if let Some(server) = m.header("server") {
        obs.banner = Some(server.to_string());
        let (os, product) = split_server(server);
        obs.os = os;
        if let Some((p, v)) = product {
            obs.product = Some(p);
            obs.version = v;
        }
    }
}

async fn probe(ctx: &ProbeContext) -> Result<Observation, ProbeError> {
    let reply = io::udp_exchange(ctx, m_search(&ctx.addr.to_string()).as_bytes()).await?;
    let m = parse_message(&reply).map_err(|e| ProbeError::NotThisProtocol {
        protocol: PROTO,
        reason: format!("{e}: {}", io::printable(&reply, 40)),
    })?;
    if !m.is_response() {
        return Err(ProbeError::NotThisProtocol {
            protocol: PROTO,
            reason: format!("not a search response: {}", m.start_line),
        });
    }
    let mut obs = Observation::new(PROTO);
    describe(&mut obs, &m);
    Ok(obs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A response as a Synology NAS sends it (UDA 1.1 §1.3.3 headers).
    const SYNOLOGY: &[u8] = b"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nDATE: Sat, 28 Nov 2026 10:00:00 GMT\r\nEXT:\r\nLOCATION: http://192.168.10.5:5000/ssdp/desc-DSM-eth0.xml\r\nSERVER: Synology/DSM/192.168.10.5 UPnP/1.0 Synology/7.2\r\nST: upnp:rootdevice\r\nUSN: uuid:73796E6F-6473-6D00-0000-0011327e0101::upnp:rootdevice\r\n\r\n";

    #[test]
    fn parses_a_nas_response() {
        let m = parse_message(SYNOLOGY).expect("parse");
        assert!(m.is_response());
        assert_eq!(m.header("st"), Some("upnp:rootdevice"));
        let mut obs = Observation::new("ssdp");
        describe(&mut obs, &m);
        assert_eq!(obs.product.as_deref(), Some("Synology"));
        assert_eq!(obs.version.as_deref(), Some("7.2"));
        assert_eq!(obs.os.as_deref(), Some("Synology/DSM/192.168.10.5"));
        assert_eq!(
            obs.attributes["location"],
            "http://192.168.10.5:5000/ssdp/desc-DSM-eth0.xml"
        );
    }

    #[test]
    fn request_and_response_round_trip() {
        let rq = parse_message(m_search("10.0.0.9:1900").as_bytes()).expect("rq");
        assert!(!rq.is_response());
        assert_eq!(rq.header("man"), Some("\"ssdp:discover\""));
        assert_eq!(rq.header("host"), Some("10.0.0.9:1900"));
        let r = search_response(
            "Linux/5.10 UPnP/1.0 Camera/2.1",
            "http://x/d.xml",
            "ssdp:all",
            "uuid:1",
        );
        let m = parse_message(r.as_bytes()).expect("resp");
        assert_eq!(
            split_server(m.header("server").expect("server")),
            (
                Some("Linux/5.10".into()),
                Some(("Camera".into(), Some("2.1".into())))
            )
        );
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_message(b"").is_err());
        assert!(parse_message(b"\x81\x0a\x00\x08").is_err());
        assert!(parse_message(b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n").is_err());
        assert!(parse_message(&[b'a'; MAX_RESPONSE + 1]).is_err());
        assert_eq!(split_server("lighttpd"), (None, None));
    }

    proptest! {
        #[test]
        fn parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            if let Ok(m) = parse_message(&bytes) {
                let mut obs = Observation::new("ssdp");
                describe(&mut obs, &m);
            }
        }

        #[test]
        fn server_header_never_panics(s in "\\PC{0,80}") {
            let _ = split_server(&s);
        }

        #[test]
        fn response_round_trip(loc in "http://[a-z0-9.]{1,20}/[a-z]{0,10}", usn in "uuid:[0-9a-f-]{1,36}") {
            let r = search_response("OS/1 UPnP/1.0 P/2", &loc, "ssdp:all", &usn);
            let m = parse_message(r.as_bytes()).expect("parse");
            prop_assert_eq!(m.header("location"), Some(loc.as_str()));
            prop_assert_eq!(m.header("usn"), Some(usn.as_str()));
        }
    }
}
