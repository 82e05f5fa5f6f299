//! RTSP: cameras and video encoders, and whether their video can be pulled without a password.
//!
//! Wire format: RTSP 1.0 (RFC 2326 §6–§7; the message syntax is HTTP/1.1's, parsed by
//! [`super::http::parse_head`]), session descriptions in SDP (RFC 8866 §5: `v=`, `s=`, `i=`, `m=`,
//! `a=tool:` lines).
//!
//! ## What is sent
//! On one connection: `OPTIONS rtsp://<host>:<port>/ RTSP/1.0` (CSeq 1), then
//! `DESCRIBE rtsp://<host>:<port>/ RTSP/1.0` (CSeq 2, `Accept: application/sdp`), without
//! credentials. DESCRIBE only returns the stream's description; no stream is set up or played.
//!
//! ## Attributes
//! `rtsp_status` (OPTIONS reply code), `server`, `public` (methods from `Public`), `describe_status`,
//! `www_authenticate` and `auth_scheme` (when DESCRIBE is refused with 401), `sdp_session_name`,
//! `sdp_info`, `sdp_tool`, `sdp_media` (e.g. `video, audio`).
//!
//! ## Findings
//! `rtsp-no-auth` when DESCRIBE of the root URL succeeds (200 with a session description) without
//! credentials. A 404 for the root URL is inconclusive (the stream lives under another path) and
//! raises nothing.

use super::http::{self, ParseError};
use crate::io;
use crate::probe::{Intrusiveness, Observation, Probe, ProbeContext, ProbeError, ProbeFuture};
use medguard_model::Transport;

/// Most SDP lines read.
const MAX_SDP_LINES: usize = 200;
/// Longest value kept in an attribute.
const MAX_VALUE: usize = 300;

/// Build one RTSP request (RFC 2326 §6): request line, `CSeq`, `User-Agent`, extra headers.
pub fn build_request(method: &str, uri: &str, cseq: u32, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut out = format!(
        "{method} {uri} RTSP/1.0\r\nCSeq: {cseq}\r\nUser-Agent: {}\r\n",
        http::user_agent()
    );
    for (k, v) in extra {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// A parsed request line and `CSeq` (what the simulator reads).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub uri: String,
    pub cseq: Option<u32>,
    pub authorization: Option<String>,
    /// Length of the request head.
    pub len: usize,
}

/// Parse one request head (RFC 2326 §6.1). `Ok(None)` while incomplete.
pub fn parse_request(buf: &[u8]) -> Result<Option<Request>, ParseError> {
    let Some(end) = http::head_end(buf) else {
        return if buf.len() > http::MAX_HEAD {
            Err(ParseError::Malformed("request head too large"))
        } else {
            Ok(None)
        };
    };
    if end > http::MAX_HEAD {
        return Err(ParseError::Malformed("request head too large"));
    }
    let text = String::from_utf8_lossy(&buf[..end]);
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default();
    let mut parts = first.split(' ');
    let (Some(method), Some(uri), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(ParseError::Malformed(
            "request line needs method, URI and version",
        ));
    };
    if !version.starts_with("RTSP/") {
        return Err(ParseError::NotProtocol("RTSP"));
    }
    let mut cseq = None;
    let mut authorization = None;
    for line in lines.take(http::MAX_HEADERS) {
        if let Some((k, v)) = line.split_once(':') {
            if k.trim().eq_ignore_ascii_case("cseq") {
                cseq = v.trim().parse().ok();
            } else if k.trim().eq_ignore_ascii_case("authorization") {
                authorization = Some(v.trim().to_string());
            }
        }
    }
    Ok(Some(Request {
        method: method.to_string(),
        uri: uri.to_string(),
        cseq,
        authorization,
        len: end,
    }))
}

/// What an SDP session description says about the stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sdp {
    pub session_name: Option<String>,
    pub info: Option<String>,
    pub tool: Option<String>,
    /// Media types of the `m=` lines, in order (`video`, `audio`, ...).
    pub media: Vec<String>,
}

/// Parse the lines of an SDP description that identify a stream (RFC 8866 §5). Returns `None` if
/// the text does not start with a `v=` line.
pub fn parse_sdp(body: &[u8]) -> Option<Sdp> {
    let text = String::from_utf8_lossy(body);
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    if !lines.next()?.starts_with("v=") {
        return None;
    }
    let mut sdp = Sdp::default();
    let clip = |s: &str| io::printable(s.as_bytes(), MAX_VALUE);
    for line in lines.take(MAX_SDP_LINES) {
        if let Some(v) = line.strip_prefix("s=") {
            sdp.session_name.get_or_insert_with(|| clip(v));
        } else if let Some(v) = line.strip_prefix("i=") {
            sdp.info.get_or_insert_with(|| clip(v));
        } else if let Some(v) = line.strip_prefix("a=tool:") {
            sdp.tool.get_or_insert_with(|| clip(v));
        } else if let Some(v) = line.strip_prefix("m=")
            && let Some(kind) = v.split_whitespace().next()
            && sdp.media.len() < 16
        {
            sdp.media.push(clip(kind));
        }
    }
    Some(sdp)
}

fn to_probe_error(e: ParseError, buf: &[u8]) -> ProbeError {
    match e {
        ParseError::NotProtocol(_) => ProbeError::NotThisProtocol {
            protocol: "rtsp",
            reason: format!("reply starts {:?}", io::printable(buf, 24)),
        },
        other => ProbeError::Malformed {
            protocol: "rtsp",
            reason: other.to_string(),
        },
    }
}

async fn exchange(
    stream: &mut tokio::net::TcpStream,
    ctx: &ProbeContext,
    request: &[u8],
) -> Result<http::Response, ProbeError> {
    io::send(stream, request, ctx).await?;
    let buf = http::read_message(stream, ctx, "RTSP").await?;
    http::parse_response(&buf, "RTSP").map_err(|e| to_probe_error(e, &buf))
}

fn run(ctx: ProbeContext) -> ProbeFuture {
    Box::pin(async move {
        let uri = format!("rtsp://{}/", http::host_header(&ctx, 0));
        let mut stream = io::connect(&ctx).await?;
        let options = exchange(&mut stream, &ctx, &build_request("OPTIONS", &uri, 1, &[])).await;
        let options = match options {
            Ok(r) => r,
            Err(e) => {
                io::close(stream).await;
                return Err(e);
            }
        };
        let mut obs = Observation::new("rtsp");
        obs.tls = Some(false);
        let head = &options.head;
        obs.attr("rtsp_status", head.status.to_string());
        let clip = |s: &str| io::printable(s.as_bytes(), MAX_VALUE);
        let mut banner = format!("{} {} {}", head.version, head.status, head.reason);
        if let Some(server) = head.header("server") {
            obs.attr("server", clip(server));
            let (product, version) = http::product_version(server);
            obs.product = product.map(|p| clip(&p));
            obs.version = version.map(|v| clip(&v));
            banner.push_str(&format!(" | Server: {server}"));
        }
        obs.banner = Some(clip(&banner));
        if let Some(public) = head.header("public") {
            obs.attr("public", clip(public));
        }
        let describe = build_request("DESCRIBE", &uri, 2, &[("Accept", "application/sdp")]);
        let described = exchange(&mut stream, &ctx, &describe).await;
        io::close(stream).await;
        let described = match described {
            Ok(r) => r,
            Err(ProbeError::NotThisProtocol { reason, .. }) => {
                return Err(ProbeError::Malformed {
                    protocol: "rtsp",
                    reason: format!("DESCRIBE reply is not RTSP: {reason}"),
                });
            }
            Err(e) => {
                // OPTIONS proved RTSP; a server that hangs up on DESCRIBE is still identified.
                obs.attr("describe_error", clip(&e.to_string()));
                return Ok(obs);
            }
        };
        let status = described.head.status;
        obs.attr("describe_status", status.to_string());
        if obs.product.is_none()
            && let Some(server) = described.head.header("server")
        {
            obs.attr("server", clip(server));
            let (product, version) = http::product_version(server);
            obs.product = product.map(|p| clip(&p));
            obs.version = version.map(|v| clip(&v));
        }
        if status == 401
            && let Some(challenge) = described.head.header("www-authenticate")
        {
            obs.attr("www_authenticate", clip(challenge));
            if let Some(s) = http::auth_scheme(challenge) {
                obs.attr("auth_scheme", clip(&s));
            }
        }
        if status == 200 {
            let sdp = parse_sdp(&described.body);
            if let Some(sdp) = &sdp {
                if let Some(v) = &sdp.session_name {
                    obs.attr("sdp_session_name", v.clone());
                }
                if let Some(v) = &sdp.info {
                    obs.attr("sdp_info", v.clone());
                }
                if let Some(v) = &sdp.tool {
                    obs.attr("sdp_tool", v.clone());
                }
                if !sdp.media.is_empty() {
                    obs.attr("sdp_media", sdp.media.join(", "));
                }
            }
            let streams = sdp.as_ref().map_or(0, |s| s.media.len());
            obs.finding(
                "rtsp-no-auth",
                format!(
                    "DESCRIBE {uri} answered 200 without credentials ({streams} media stream(s) described)"
                ),
            );
        }
        Ok(obs)
    })
}

/// RTSP on the camera ports.
pub static PROBE: Probe = Probe {
    name: "rtsp",
    transport: Transport::Tcp,
    ports: &[554, 8554, 10554, 7070],
    intrusiveness: Intrusiveness::Safe,
    fallback: false,
    sends: "OPTIONS rtsp://<host>:<port>/ RTSP/1.0 (CSeq 1), then DESCRIBE of the same URL with \
            Accept: application/sdp (CSeq 2), without credentials; no SETUP or PLAY.",
    run,
};

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn options_reply_rfc2326_10_1() {
        // RFC 2326 §10.1 example reply.
        let msg =
            b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: DESCRIBE, SETUP, TEARDOWN, PLAY, PAUSE\r\n\r\n";
        assert_eq!(http::message_complete(msg, "RTSP"), Some(msg.len()));
        let r = http::parse_response(msg, "RTSP").expect("parse");
        assert_eq!(r.head.status, 200);
        assert_eq!(
            r.head.header("public"),
            Some("DESCRIBE, SETUP, TEARDOWN, PLAY, PAUSE")
        );
        assert!(r.body.is_empty());
        assert!(matches!(
            http::parse_head(b"HTTP/1.1 200 OK\r\n\r\n", "RTSP"),
            Err(ParseError::NotProtocol("RTSP"))
        ));
    }

    #[test]
    fn describe_reply_with_sdp_rfc2326_10_2() {
        // RFC 2326 §10.2 example (shortened), SDP per RFC 8866 §5.
        let sdp = "v=0\r\no=- 2890844526 2890842807 IN IP4 192.16.24.202\r\ns=RTSP Session\r\n\
                   i=Front door camera\r\na=tool:LIVE555 Streaming Media v2020.08.19\r\n\
                   m=video 0 RTP/AVP 96\r\nm=audio 0 RTP/AVP 0\r\n";
        let msg = format!(
            "RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
            sdp.len()
        );
        let r = http::parse_response(msg.as_bytes(), "RTSP").expect("parse");
        let parsed = parse_sdp(&r.body).expect("sdp");
        assert_eq!(parsed.session_name.as_deref(), Some("RTSP Session"));
        assert_eq!(parsed.info.as_deref(), Some("Front door camera"));
        assert_eq!(
            parsed.tool.as_deref(),
            Some("LIVE555 Streaming Media v2020.08.19")
        );
        assert_eq!(parsed.media, vec!["video", "audio"]);
        assert_eq!(parse_sdp(b"<html>"), None);
        // Truncated body: not complete yet.
        assert_eq!(
            http::message_complete(&msg.as_bytes()[..msg.len() - 3], "RTSP"),
            None
        );
    }

    #[test]
    fn requests_round_trip() {
        let req = build_request(
            "DESCRIBE",
            "rtsp://127.0.0.1:554/",
            2,
            &[("Accept", "application/sdp")],
        );
        let parsed = parse_request(&req).expect("parse").expect("complete");
        assert_eq!(parsed.method, "DESCRIBE");
        assert_eq!(parsed.uri, "rtsp://127.0.0.1:554/");
        assert_eq!(parsed.cseq, Some(2));
        assert_eq!(parsed.len, req.len());
        assert_eq!(parse_request(&req[..req.len() - 2]).expect("partial"), None);
        assert!(parse_request(b"GET / HTTP/1.1\r\n\r\n").is_err());
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = http::parse_response(&bytes, "RTSP");
            let _ = http::message_complete(&bytes, "RTSP");
            let _ = parse_request(&bytes);
            let _ = parse_sdp(&bytes);
        }

        #[test]
        fn built_requests_parse_back(method in "[A-Z]{3,12}", path in "/[a-z0-9/]{0,30}", cseq in any::<u32>()) {
            let uri = format!("rtsp://10.0.0.9{path}");
            let parsed = parse_request(&build_request(&method, &uri, cseq, &[])).expect("parse").expect("complete");
            prop_assert_eq!(parsed.method, method);
            prop_assert_eq!(parsed.uri, uri);
            prop_assert_eq!(parsed.cseq, Some(cseq));
        }
    }
}
