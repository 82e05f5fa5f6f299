//! HTTP/1.1 and HTTPS: what web interface a device serves, and whether its admin login travels in
//! clear text.
//!
//! Wire format: RFC 9112 (HTTP/1.1 message syntax: status line, header fields, `Content-Length`,
//! `chunked` transfer coding) and RFC 9110 (semantics: `WWW-Authenticate`, `Location`). The message
//! head parser here is shared with RTSP (RFC 7826 uses the same syntax) and IPP (which rides on HTTP).
//!
//! ## What is sent
//! * `http`: one `GET / HTTP/1.1` with `Host`, `User-Agent`, `Accept` and `Connection: close`; if the
//!   reply is a redirect (HTTP 3xx `Location` or an HTML `<meta http-equiv="refresh">`) to another
//!   path on the same plain-HTTP server, one more `GET` of that path (login pages usually live
//!   behind such a redirect). Nothing is submitted, no credentials are sent.
//! * `https`: the TLS version checks of [`super::tls`] (ClientHellos only), then the same `GET /` inside
//!   a TLS session whose certificate is recorded but never trusted. Also the fallback for TLS on
//!   unidentified ports. The protocol is `https` only when an HTTP answer came back inside TLS,
//!   else `tls` (with `http_error` saying why).
//!
//! Neither probe sends anything to a raw printing port (9100–9103), where any bytes may print.
//!
//! ## Attributes
//! `http_status` (e.g. `200`), `server` (the `Server` header), `title` (the HTML `<title>`),
//! `login_form` (`true` when the page has an `<input type="password">`), `www_authenticate` (the
//! challenge of a `401`), `auth_scheme` (`basic`, `digest`, ...), `location` (a redirect target),
//! `redirects_to_https` (`true` when plain HTTP sends the browser to HTTPS), `content_type`,
//! `powered_by` (`X-Powered-By`), `path` (the path whose page was read), plus the `tls_*`/`cert_*`
//! attributes of [`super::tls`] for `https`.
//!
//! ## Findings
//! `http-default-page` when the page is a web server's out-of-the-box placeholder (by its title).
//! `http-admin-no-tls` when, over plain HTTP, the page asks for a password (a login form, or an HTTP
//! `Basic`/`Digest` challenge) and does not send the browser to HTTPS first; `https` also raises the
//! TLS findings (`tls-self-signed`, `tls-expired`, `tls-legacy-protocol`).

use crate::io;
use crate::probe::{Intrusiveness, Observation, Probe, ProbeContext, ProbeError, ProbeFuture};
use medguard_model::Transport;
use std::sync::Arc;

/// Most header fields accepted in one message head.
pub const MAX_HEADERS: usize = 100;
/// Largest message head (status line plus header fields) accepted, in bytes.
pub const MAX_HEAD: usize = 32 * 1024;
/// Longest title kept, in characters.
const MAX_TITLE: usize = 200;
/// Longest header value kept in an attribute, in bytes.
const MAX_VALUE: usize = 300;

/// Why bytes are not a usable HTTP-style message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The head is not complete yet (no empty line).
    #[error("read a complete message head: the peer stopped early")]
    Incomplete,
    /// The first line is not a status line of the expected protocol.
    #[error("find a {0} status line")]
    NotProtocol(&'static str),
    /// The expected protocol, but broken.
    #[error("parse the message: {0}")]
    Malformed(&'static str),
}

/// A parsed response head: status line and header fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Protocol and version from the status line, e.g. `HTTP/1.1`, `RTSP/1.0`.
    pub version: String,
    pub status: u16,
    pub reason: String,
    /// Header fields in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// Length of the head in bytes including the empty line.
    pub len: usize,
}

impl Head {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body length announced by `Content-Length`, if any and valid.
    pub fn content_length(&self) -> Option<usize> {
        self.header("content-length")
            .and_then(|v| v.trim().parse::<usize>().ok())
    }

    /// Whether the body uses the `chunked` transfer coding.
    pub fn is_chunked(&self) -> bool {
        self.header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    }
}

/// Position just past the empty line that ends a message head (`\r\n\r\n`, or a bare `\n\n` as some
/// embedded servers send), if present.
pub fn head_end(buf: &[u8]) -> Option<usize> {
    let crlf = find(buf, b"\r\n\r\n").map(|i| i + 4);
    let lf = find(buf, b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Parse a response head whose status line starts with `proto/` (`HTTP`, `RTSP`).
pub fn parse_head(buf: &[u8], proto: &'static str) -> Result<Head, ParseError> {
    let prefix_len = proto.len() + 1;
    let starts = buf.len() >= prefix_len
        && buf[..proto.len()].eq_ignore_ascii_case(proto.as_bytes())
        && buf[proto.len()] == b'/';
    if !starts {
        // A prefix of the protocol name might still be arriving.
        let n = buf.len().min(prefix_len);
        let expected = format!("{proto}/");
        if buf.len() < prefix_len && buf[..n].eq_ignore_ascii_case(&expected.as_bytes()[..n]) {
            return Err(ParseError::Incomplete);
        }
        return Err(ParseError::NotProtocol(proto));
    }
    let end = match head_end(buf) {
        Some(e) if e <= MAX_HEAD => e,
        Some(_) => return Err(ParseError::Malformed("message head too large")),
        None if buf.len() > MAX_HEAD => {
            return Err(ParseError::Malformed("message head too large"));
        }
        None => return Err(ParseError::Incomplete),
    };
    let text = &buf[..end];
    let mut lines = text
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, |&b| b == b' ');
    let version = parts.next().unwrap_or_default();
    let code = parts.next().unwrap_or_default();
    let reason = parts.next().unwrap_or_default();
    if code.len() != 3 || !code.iter().all(u8::is_ascii_digit) {
        return Err(ParseError::Malformed("status code is not three digits"));
    }
    let status = code
        .iter()
        .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.is_empty() {
            break;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            // Obsolete line folding (RFC 9112 §5.2): append to the previous value.
            if let Some((_, v)) = headers.last_mut() {
                v.push(' ');
                v.push_str(String::from_utf8_lossy(line).trim());
            }
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Err(ParseError::Malformed("header line without a colon"));
        };
        let name = String::from_utf8_lossy(&line[..colon]).trim().to_string();
        if name.is_empty() || name.contains(' ') {
            return Err(ParseError::Malformed("bad header name"));
        }
        let value = String::from_utf8_lossy(&line[colon + 1..])
            .trim()
            .to_string();
        if headers.len() >= MAX_HEADERS {
            return Err(ParseError::Malformed("too many header fields"));
        }
        headers.push((name, value));
    }
    Ok(Head {
        version: String::from_utf8_lossy(version).into_owned(),
        status,
        reason: String::from_utf8_lossy(reason).into_owned(),
        headers,
        len: end,
    })
}

/// For [`io::read_until`]: the length of one whole response in `buf` (head plus a `Content-Length`
/// or complete `chunked` body), or `None` while more is needed (a body without a length ends when
/// the peer closes; an RTSP reply without `Content-Length` has no body).
pub fn message_complete(buf: &[u8], proto: &'static str) -> Option<usize> {
    let head = match parse_head(buf, proto) {
        Ok(h) => h,
        Err(ParseError::Incomplete) => return None,
        // Broken or foreign: stop reading, the parser will say why.
        Err(_) => return Some(buf.len()),
    };
    let rest = &buf[head.len..];
    if head.is_chunked() {
        return match dechunk(rest) {
            Ok((_, Some(used))) => Some(head.len + used),
            Ok((_, None)) => None,
            Err(_) => Some(buf.len()),
        };
    }
    match head.content_length() {
        Some(n) => (rest.len() >= n).then_some(head.len.saturating_add(n)),
        None if no_body(proto, head.status) => Some(head.len),
        None => None,
    }
}

/// Responses that never carry a body (RFC 9112 §6.3) or, for RTSP, carry one only with a length.
fn no_body(proto: &str, status: u16) -> bool {
    proto.eq_ignore_ascii_case("RTSP") || status < 200 || status == 204 || status == 304
}

/// Decode a `chunked` body (RFC 9112 §7.1). Returns the data and, when the last chunk and trailer
/// were seen, how many input bytes the encoding used; a truncated encoding yields what arrived.
pub fn dechunk(buf: &[u8]) -> Result<(Vec<u8>, Option<usize>), ParseError> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    loop {
        let Some(nl) = buf[pos..].iter().position(|&b| b == b'\n') else {
            return Ok((out, None));
        };
        let line = &buf[pos..pos + nl];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let size_text = line.split(|&b| b == b';').next().unwrap_or_default();
        let size_text = std::str::from_utf8(size_text)
            .map_err(|_| ParseError::Malformed("chunk size is not text"))?
            .trim();
        if size_text.is_empty() || size_text.len() > 8 {
            return Err(ParseError::Malformed("bad chunk size"));
        }
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| ParseError::Malformed("bad chunk size"))?;
        pos += nl + 1;
        if size == 0 {
            // Trailer section: lines until an empty one.
            loop {
                let Some(nl) = buf[pos..].iter().position(|&b| b == b'\n') else {
                    return Ok((out, None));
                };
                let line = &buf[pos..pos + nl];
                pos += nl + 1;
                if line.is_empty() || line == b"\r" {
                    return Ok((out, Some(pos)));
                }
            }
        }
        let avail = buf.len() - pos;
        if avail < size {
            out.extend_from_slice(&buf[pos..]);
            return Ok((out, None));
        }
        out.extend_from_slice(&buf[pos..pos + size]);
        pos += size;
        // CRLF after the chunk data.
        let after = &buf[pos..];
        if after.starts_with(b"\r\n") {
            pos += 2;
        } else if after.starts_with(b"\n") {
            pos += 1;
        } else if after.is_empty() || after == b"\r" {
            return Ok((out, None));
        } else {
            return Err(ParseError::Malformed(
                "chunk data not followed by a line end",
            ));
        }
    }
}

/// A whole response: head and decoded body (possibly truncated at the read cap).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub head: Head,
    pub body: Vec<u8>,
}

/// Parse a response to one request: head, then the body by `chunked`, `Content-Length` or to the end.
pub fn parse_response(buf: &[u8], proto: &'static str) -> Result<Response, ParseError> {
    let head = parse_head(buf, proto)?;
    let rest = buf.get(head.len..).unwrap_or_default();
    let body = if head.is_chunked() {
        dechunk(rest)?.0
    } else {
        match head.content_length() {
            Some(n) => rest[..n.min(rest.len())].to_vec(),
            None => rest.to_vec(),
        }
    };
    Ok(Response { head, body })
}

/// The `Host` header value for a target: the name if known, else the address (IPv6 in brackets),
/// with the port unless it is the scheme's default.
pub fn host_header(ctx: &ProbeContext, default_port: u16) -> String {
    let host = match (&ctx.hostname, ctx.addr.ip()) {
        (Some(h), _) => h.clone(),
        (None, std::net::IpAddr::V6(v6)) => format!("[{v6}]"),
        (None, ip) => ip.to_string(),
    };
    if ctx.addr.port() == default_port {
        host
    } else {
        format!("{host}:{}", ctx.addr.port())
    }
}

/// The one request the probe sends: a read-only `GET`.
pub fn build_get(host: &str, path: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {}\r\nAccept: text/html,*/*;q=0.8\r\nConnection: close\r\n\r\n",
        user_agent()
    )
    .into_bytes()
}

/// How medguard names itself to servers, so a practice's logs say who knocked.
pub fn user_agent() -> String {
    format!(
        "medguard/{} (read-only inventory probe)",
        env!("CARGO_PKG_VERSION")
    )
}

/// The text of the first `<title>` element, entity-decoded, whitespace-collapsed and capped.
pub fn title(body: &[u8]) -> Option<String> {
    let lower = body.to_ascii_lowercase();
    let open = find(&lower, b"<title")?;
    let gt = lower[open..].iter().position(|&b| b == b'>')? + open + 1;
    let close = find(&lower[gt..], b"</title").map_or(lower.len(), |i| i + gt);
    let raw = String::from_utf8_lossy(&body[gt..close]);
    let decoded = decode_entities(&raw);
    let t: String = decoded
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_TITLE)
        .collect();
    (!t.is_empty()).then_some(t)
}

fn decode_entities(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

/// Whether the page has a password field (`<input ... type="password" ...>`), the mark of a login form.
pub fn has_password_input(body: &[u8]) -> bool {
    let lower = body.to_ascii_lowercase();
    let mut pos = 0;
    while let Some(i) = find(&lower[pos..], b"<input") {
        let start = pos + i + 6;
        let end = lower[start..]
            .iter()
            .position(|&b| b == b'>')
            .map_or(lower.len(), |e| start + e);
        let tag: Vec<u8> = lower[start..end]
            .iter()
            .copied()
            .filter(|b| !matches!(b, b'"' | b'\'' | b' ' | b'\t' | b'\r' | b'\n'))
            .collect();
        if find(&tag, b"type=password").is_some() {
            return true;
        }
        pos = end;
    }
    false
}

/// Titles of web servers' out-of-the-box placeholder pages (lowercase substrings).
const DEFAULT_PAGE_TITLES: &[&str] = &[
    "apache2 debian default page",
    "apache2 ubuntu default page",
    "apache http server test page",
    "test page for the apache http server",
    "welcome to nginx",
    "iis windows server",
    "iis7",
    "iis8",
    "welcome to centos",
    "lighttpd default page",
    "placeholder page",
    "it works!",
];

/// Whether a page title is a web server's default placeholder page.
pub fn is_default_page(title: &str) -> bool {
    let t = title.to_ascii_lowercase();
    DEFAULT_PAGE_TITLES.iter().any(|d| t.contains(d))
}

/// Split a `Server`-style product token `name/version (comment)` into name and version.
pub fn product_version(server: &str) -> (Option<String>, Option<String>) {
    let first = server.split_whitespace().next().unwrap_or_default();
    // `Jetty(9.4.51)` style.
    if !first.contains('/')
        && let Some((name, rest)) = first.split_once('(')
        && let Some(version) = rest.strip_suffix(')')
        && !name.is_empty()
    {
        return (Some(name.to_string()), Some(version.to_string()));
    }
    let mut it = first.splitn(2, '/');
    let name = it.next().filter(|s| !s.is_empty()).map(str::to_string);
    let version = it.next().filter(|s| !s.is_empty()).map(str::to_string);
    (name, version)
}

/// The auth scheme of a `WWW-Authenticate` challenge, lowercased (`basic`, `digest`, `ntlm`, ...).
pub fn auth_scheme(challenge: &str) -> Option<String> {
    challenge
        .split_whitespace()
        .next()
        .map(|s| s.trim_end_matches(',').to_ascii_lowercase())
        .filter(|s| !s.is_empty())
}

/// The target of a `<meta http-equiv="refresh" content="0; url=...">` tag, if the page has one.
pub fn meta_refresh(body: &[u8]) -> Option<String> {
    let lower = body.to_ascii_lowercase();
    let mut pos = 0;
    while let Some(i) = find(&lower[pos..], b"<meta") {
        let start = pos + i + 5;
        let end = lower[start..]
            .iter()
            .position(|&b| b == b'>')
            .map_or(lower.len(), |e| start + e);
        let tag = &lower[start..end];
        let squeezed: Vec<u8> = tag
            .iter()
            .copied()
            .filter(|b| !matches!(b, b'"' | b'\'' | b' '))
            .collect();
        if find(&squeezed, b"http-equiv=refresh").is_some()
            && let Some(u) = find(tag, b"url=")
        {
            // Take the original bytes (paths are case-sensitive) up to a quote or the tag end.
            let raw = &body[start + u + 4..end];
            let url: String = String::from_utf8_lossy(raw)
                .trim_start_matches(['\'', '"', ' '])
                .chars()
                .take_while(|c| !matches!(c, '"' | '\'' | ' ' | '>'))
                .take(300)
                .collect();
            return (!url.is_empty()).then_some(url);
        }
        pos = end;
    }
    None
}

/// A redirect target this probe may follow: a path on the same plain-HTTP server (relative, or an
/// absolute `http://` URL naming the same host header). Returns the path.
fn same_server_path(location: &str, host: &str) -> Option<String> {
    if location.starts_with('/') && !location.starts_with("//") {
        return Some(location.to_string());
    }
    if !location.contains(':') && !location.starts_with("//") && !location.is_empty() {
        // Relative to `/`, the only page read so far.
        return Some(format!("/{location}"));
    }
    let rest = location.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    authority
        .eq_ignore_ascii_case(host)
        .then(|| path.to_string())
}

fn clip(s: &str) -> String {
    io::printable(s.as_bytes(), MAX_VALUE)
}

/// Record what a response says about the server into `obs`. Returns whether the page asks for a
/// password (login form or HTTP authentication challenge).
pub fn describe(obs: &mut Observation, resp: &Response) -> bool {
    let head = &resp.head;
    obs.attr("http_status", head.status.to_string());
    let mut banner = format!("{} {} {}", head.version, head.status, head.reason);
    if let Some(server) = head.header("server") {
        obs.attr("server", clip(server));
        let (product, version) = product_version(server);
        obs.product = product.map(|p| clip(&p));
        obs.version = version.map(|v| clip(&v));
        banner.push_str(&format!(" | Server: {server}"));
    }
    obs.banner = Some(clip(&banner));
    if let Some(v) = head.header("x-powered-by") {
        obs.attr("powered_by", clip(v));
    }
    if let Some(v) = head.header("content-type") {
        obs.attr("content_type", clip(v));
    }
    if let Some(v) = head.header("location") {
        obs.attr("location", clip(v));
    }
    if let Some(t) = title(&resp.body) {
        if head.status == 200 && is_default_page(&t) {
            obs.finding("http-default-page", format!("default page titled {t:?}"));
        }
        obs.attr("title", t);
    }
    let login = has_password_input(&resp.body);
    obs.attr("login_form", login.to_string());
    let mut challenge = false;
    if head.status == 401
        && let Some(v) = head.header("www-authenticate")
    {
        obs.attr("www_authenticate", clip(v));
        if let Some(s) = auth_scheme(v) {
            obs.attr("auth_scheme", clip(&s));
        }
        challenge = true;
    }
    login || challenge
}

/// An error with its causes, one line (`i/o with the peer: connection reset by peer`).
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cur = c.source();
    }
    text
}

/// Plain `GET /` over one connection; returns the parsed response.
async fn get<S>(stream: &mut S, ctx: &ProbeContext, request: &[u8]) -> Result<Response, ProbeError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    io::send(stream, request, ctx).await?;
    let buf = read_message(stream, ctx, "HTTP").await?;
    parse_response(&buf, "HTTP").map_err(|e| match e {
        ParseError::NotProtocol(_) => ProbeError::NotThisProtocol {
            protocol: "http",
            reason: format!("reply starts {:?}", io::printable(&buf, 24)),
        },
        other => ProbeError::Malformed {
            protocol: "http",
            reason: other.to_string(),
        },
    })
}

/// Read one HTTP-style message; a body longer than the context's cap is cut there (the head and
/// the start of the page are what identify a device).
pub async fn read_message<S>(
    stream: &mut S,
    ctx: &ProbeContext,
    proto: &'static str,
) -> Result<Vec<u8>, ProbeError>
where
    S: tokio::io::AsyncRead + Unpin,
{
    // `read_until` refuses to grow past its `max`; stop one read chunk earlier and keep what we have.
    let keep = ctx.max_reply.saturating_sub(4096).max(1024);
    io::read_until(stream, ctx, keep + 4096, |b| {
        message_complete(b, proto).or_else(|| (b.len() >= keep).then_some(b.len()))
    })
    .await
}

/// Raw printing ports (HP JetDirect / AppSocket): whatever arrives there is printed, so no fallback
/// guess may send anything to them.
pub const RAW_PRINT_PORTS: &[u16] = &[9100, 9101, 9102, 9103];

/// Refuse to send a guess to a raw printing port (before connecting).
pub fn refuse_raw_print_port(ctx: &ProbeContext, protocol: &'static str) -> Result<(), ProbeError> {
    if RAW_PRINT_PORTS.contains(&ctx.addr.port()) {
        return Err(ProbeError::NotThisProtocol {
            protocol,
            reason: "raw print port: anything sent there may be printed, so nothing is sent".into(),
        });
    }
    Ok(())
}

fn run_http(ctx: ProbeContext) -> ProbeFuture {
    Box::pin(async move {
        refuse_raw_print_port(&ctx, "http")?;
        let host = host_header(&ctx, 80);
        let mut stream = io::connect(&ctx).await?;
        let first = get(&mut stream, &ctx, &build_get(&host, "/")).await;
        io::close(stream).await;
        let first = first?;
        let mut obs = Observation::new("http");
        obs.tls = Some(false);
        let mut path = "/".to_string();
        let mut resp = first;
        let mut to_https = false;
        let redirect = if (300..400).contains(&resp.head.status) {
            resp.head.header("location").map(str::to_string)
        } else if resp.head.status == 200 && !has_password_input(&resp.body) {
            // Embedded web servers often answer `/` with a page that only refreshes to the login.
            meta_refresh(&resp.body)
        } else {
            None
        };
        if let Some(loc) = redirect {
            to_https = loc.to_ascii_lowercase().starts_with("https://");
            obs.attr("location", clip(&loc));
            if let Some(next) = same_server_path(&loc, &host).filter(|p| p != "/") {
                // One hop only, same server, still a plain GET.
                let mut stream = io::connect(&ctx).await?;
                let second = get(&mut stream, &ctx, &build_get(&host, &next)).await;
                io::close(stream).await;
                if let Ok(r) = second {
                    resp = r;
                    path = next;
                }
            }
        }
        obs.attr("redirects_to_https", to_https.to_string());
        let asks_password = describe(&mut obs, &resp);
        obs.attr("path", clip(&path));
        if asks_password && !to_https {
            let what = if resp.head.status == 401 {
                format!(
                    "HTTP {} challenge ({}) over plain HTTP at {path}",
                    resp.head.status,
                    obs.attributes
                        .get("auth_scheme")
                        .cloned()
                        .unwrap_or_default()
                )
            } else {
                format!("login form with a password field served over plain HTTP at {path}")
            };
            obs.finding("http-admin-no-tls", what);
        }
        Ok(obs)
    })
}

/// Plain HTTP on the usual web ports (and as a fallback on unidentified ports).
pub static PROBE: Probe = Probe {
    name: "http",
    transport: Transport::Tcp,
    ports: &[
        80, 8080, 8000, 8008, 8081, 8088, 8888, 591, 2375, 5000, 7080, 9080,
    ],
    intrusiveness: Intrusiveness::Safe,
    fallback: true,
    sends: "GET / HTTP/1.1 with Host, User-Agent, Accept and Connection: close; at most one more GET \
            of a same-server redirect target. Nothing is submitted; no credentials.",
    run: run_http,
};

/// A certificate verifier that accepts every certificate: the probe records certificates, it never
/// relies on them (nothing secret is sent).
#[derive(Debug)]
struct RecordOnly(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for RecordOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A rustls client configuration (ring provider, TLS 1.2 and 1.3) that records any certificate.
pub fn record_only_client_config() -> Result<Arc<rustls::ClientConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(RecordOnly(provider)))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Open a TLS session to the target (recording, never trusting, its certificate).
pub async fn tls_connect(
    ctx: &ProbeContext,
) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, ProbeError> {
    let config = record_only_client_config().map_err(|e| ProbeError::Malformed {
        protocol: "tls",
        reason: format!("build a TLS client configuration: {e}"),
    })?;
    let name = match &ctx.hostname {
        Some(h) => rustls::pki_types::ServerName::try_from(h.clone())
            .unwrap_or_else(|_| rustls::pki_types::ServerName::IpAddress(ctx.addr.ip().into())),
        None => rustls::pki_types::ServerName::IpAddress(ctx.addr.ip().into()),
    };
    let tcp = io::connect(ctx).await?;
    let connector = tokio_rustls::TlsConnector::from(config);
    match tokio::time::timeout(ctx.io_timeout, connector.connect(name, tcp)).await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err(ProbeError::Io(e)),
        Err(_) => Err(ProbeError::Timeout(ctx.io_timeout)),
    }
}

fn run_https(ctx: ProbeContext) -> ProbeFuture {
    Box::pin(async move {
        refuse_raw_print_port(&ctx, "https")?;
        // First the hand-built ClientHellos (versions and certificate), then HTTP inside TLS.
        let started = tokio::time::Instant::now();
        let report = super::tls::scan(&ctx).await?;
        let mut obs = Observation::new("https");
        obs.tls = Some(true);
        report.describe(&mut obs);
        if started.elapsed() + 2 * ctx.io_timeout > ctx.deadline {
            // Better the TLS facts now than nothing when the scheduler's deadline strikes.
            obs.attr(
                "http_error",
                "not tried: the TLS checks used the probe's time",
            );
            obs.protocol = "tls".to_string();
            return Ok(obs);
        }
        let host = host_header(&ctx, 443);
        let mut saw_http = false;
        match tls_connect(&ctx).await {
            Ok(mut stream) => {
                let peer_cert = stream
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .map(|c| c.as_ref().to_vec());
                if report.certificate.is_none()
                    && let Some(der) = peer_cert
                {
                    super::tls::describe_certificate(&mut obs, &der);
                }
                let resp = get(&mut stream, &ctx, &build_get(&host, "/")).await;
                let _ = tokio::time::timeout(
                    std::time::Duration::from_millis(500),
                    tokio::io::AsyncWriteExt::shutdown(&mut stream),
                )
                .await;
                match resp {
                    Ok(resp) => {
                        describe(&mut obs, &resp);
                        saw_http = true;
                    }
                    Err(e) => {
                        obs.attr("http_error", clip(&chain(&e)));
                    }
                }
            }
            Err(e) => {
                obs.attr("http_error", clip(&format!("tls session: {}", chain(&e))));
            }
        }
        if !saw_http {
            // TLS around something not (demonstrably) HTTP: a TLS 1.0-only device rustls cannot
            // talk to, or another protocol inside TLS found as a fallback guess.
            obs.protocol = "tls".to_string();
        }
        Ok(obs)
    })
}

/// HTTPS: the TLS checks of [`super::tls`] plus `GET /` inside TLS.
pub static HTTPS_PROBE: Probe = Probe {
    name: "https",
    transport: Transport::Tcp,
    ports: &[443, 8443, 4443, 9443, 10443],
    intrusiveness: Intrusiveness::Safe,
    // On an unidentified port this also finds plain TLS: the protocol is then `tls`.
    fallback: true,
    sends: "The TLS ClientHellos of the tls probe (one connection per version, closed after the \
            server's first flight), then one TLS 1.2/1.3 session carrying GET / HTTP/1.1 with Host, \
            User-Agent, Accept and Connection: close. No credentials.",
    run: run_https,
};

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // RFC 9112 §2.1 example response shape.
    const OK: &[u8] = b"HTTP/1.1 200 OK\r\nServer: lighttpd/1.4.69\r\nContent-Type: text/html\r\nContent-Length: 77\r\n\r\n<html><head><title>Dental &amp; X-ray</title></head><body>hello</body></html>";

    #[test]
    fn parses_status_headers_and_body() {
        let r = parse_response(OK, "HTTP").expect("parse");
        assert_eq!(r.head.status, 200);
        assert_eq!(r.head.version, "HTTP/1.1");
        assert_eq!(r.head.header("SERVER"), Some("lighttpd/1.4.69"));
        assert_eq!(r.body.len(), 77);
        assert_eq!(title(&r.body).as_deref(), Some("Dental & X-ray"));
        assert_eq!(message_complete(OK, "HTTP"), Some(OK.len()));
        assert_eq!(message_complete(&OK[..OK.len() - 1], "HTTP"), None);
    }

    #[test]
    fn chunked_body_rfc9112_section_7_1() {
        let msg = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: a\r\n\r\n";
        assert_eq!(message_complete(msg, "HTTP"), Some(msg.len()));
        let r = parse_response(msg, "HTTP").expect("parse");
        assert_eq!(r.body, b"hello world");
        // Truncated: what arrived, not complete.
        let cut = &msg[..msg.len() - 10];
        assert_eq!(message_complete(cut, "HTTP"), None);
        assert_eq!(
            parse_response(cut, "HTTP").expect("parse").body,
            b"hello world"
        );
        // Absurd chunk size is refused, not allocated.
        let bad = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffff\r\nx";
        assert!(parse_response(bad, "HTTP").is_err());
    }

    #[test]
    fn rejects_foreign_and_broken_heads() {
        assert_eq!(
            parse_head(b"SSH-2.0-OpenSSH_9.2\r\n", "HTTP"),
            Err(ParseError::NotProtocol("HTTP"))
        );
        assert_eq!(parse_head(b"HTT", "HTTP"), Err(ParseError::Incomplete));
        assert_eq!(
            parse_head(b"HTTP/1.1 200 OK\r\nServer: x\r\n", "HTTP"),
            Err(ParseError::Incomplete)
        );
        assert!(matches!(
            parse_head(b"HTTP/1.1 2x0 OK\r\n\r\n", "HTTP"),
            Err(ParseError::Malformed(_))
        ));
        assert!(matches!(
            parse_head(b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "HTTP"),
            Err(ParseError::Malformed(_))
        ));
        let mut many = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..=MAX_HEADERS {
            many.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert!(matches!(
            parse_head(&many, "HTTP"),
            Err(ParseError::Malformed(_))
        ));
        let mut huge = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        huge.resize(MAX_HEAD + 10, b'a');
        assert!(matches!(
            parse_head(&huge, "HTTP"),
            Err(ParseError::Malformed(_))
        ));
    }

    #[test]
    fn bare_lf_heads_and_folding() {
        let r = parse_head(
            b"HTTP/1.0 401 Unauthorized\nWWW-Authenticate: Basic\n realm=\"cam\"\n\n",
            "HTTP",
        )
        .expect("parse");
        assert_eq!(r.status, 401);
        assert_eq!(r.header("www-authenticate"), Some("Basic realm=\"cam\""));
        assert_eq!(auth_scheme("Basic realm=\"cam\"").as_deref(), Some("basic"));
        assert_eq!(
            auth_scheme("Digest realm=x, nonce=y").as_deref(),
            Some("digest")
        );
    }

    #[test]
    fn finds_password_fields() {
        assert!(has_password_input(
            b"<form><INPUT name=p TYPE = \"Password\"></form>"
        ));
        assert!(has_password_input(b"<input type='password'/>"));
        assert!(!has_password_input(
            b"<input type=\"text\" name=\"password\">"
        ));
        assert!(!has_password_input(b"<p>type=password</p>"));
        assert!(has_password_input(b"<input type=password"));
    }

    #[test]
    fn titles_and_products() {
        assert_eq!(
            title(b"<TITLE lang=en>\n  Printer\n  Status </TITLE>").as_deref(),
            Some("Printer Status")
        );
        assert_eq!(title(b"<title></title>"), None);
        assert_eq!(title(b"no title"), None);
        let long = format!("<title>{}</title>", "a".repeat(1000));
        assert_eq!(title(long.as_bytes()).map(|t| t.len()), Some(MAX_TITLE));
        assert_eq!(
            product_version("Apache/2.4.57 (Debian)"),
            (Some("Apache".into()), Some("2.4.57".into()))
        );
        assert_eq!(
            product_version("GoAhead-Webs"),
            (Some("GoAhead-Webs".into()), None)
        );
        assert_eq!(
            product_version("Jetty(9.4.z-SNAPSHOT)"),
            (Some("Jetty".into()), Some("9.4.z-SNAPSHOT".into()))
        );
    }

    #[test]
    fn default_pages() {
        assert!(is_default_page("Apache2 Debian Default Page: It works"));
        assert!(is_default_page("Welcome to nginx!"));
        assert!(!is_default_page("Dentrix Portal"));
        let mut obs = Observation::new("http");
        let r = parse_response(
            b"HTTP/1.1 200 OK\r\nContent-Length: 37\r\n\r\n<title>Welcome to nginx!</title></ht>",
            "HTTP",
        )
        .expect("parse");
        describe(&mut obs, &r);
        assert_eq!(
            obs.findings.iter().map(|f| f.id).collect::<Vec<_>>(),
            vec!["http-default-page"]
        );
    }

    #[test]
    fn meta_refresh_targets() {
        let page = b"<html><head><META HTTP-EQUIV=\"Refresh\" CONTENT=\"0; URL=/Login.htm\"></head></html>";
        assert_eq!(meta_refresh(page).as_deref(), Some("/Login.htm"));
        assert_eq!(
            meta_refresh(b"<meta http-equiv='refresh' content='1;url=https://10.0.0.5/'>")
                .as_deref(),
            Some("https://10.0.0.5/")
        );
        assert_eq!(meta_refresh(b"<meta charset=utf-8><p>hi</p>"), None);
        assert_eq!(meta_refresh(b"<meta http-equiv=refresh content=5>"), None);
        assert_eq!(
            same_server_path("login.htm", "10.0.0.5").as_deref(),
            Some("/login.htm")
        );
    }

    #[test]
    fn redirect_targets() {
        assert_eq!(
            same_server_path("/login.html", "10.0.0.5").as_deref(),
            Some("/login.html")
        );
        assert_eq!(
            same_server_path("http://10.0.0.5:8080/a", "10.0.0.5:8080").as_deref(),
            Some("/a")
        );
        assert_eq!(same_server_path("http://evil.example/a", "10.0.0.5"), None);
        assert_eq!(same_server_path("//evil.example/a", "10.0.0.5"), None);
        assert_eq!(same_server_path("https://10.0.0.5/", "10.0.0.5"), None);
    }

    #[test]
    fn request_is_a_plain_get() {
        let req = build_get("10.0.0.5:8080", "/");
        let text = String::from_utf8(req).expect("ascii");
        assert!(text.starts_with("GET / HTTP/1.1\r\nHost: 10.0.0.5:8080\r\n"));
        assert!(text.ends_with("Connection: close\r\n\r\n"));
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = parse_response(&bytes, "HTTP");
            let _ = message_complete(&bytes, "HTTP");
            let _ = dechunk(&bytes);
            let _ = title(&bytes);
            let _ = has_password_input(&bytes);
            let _ = meta_refresh(&bytes);
        }

        #[test]
        fn never_panics_after_a_valid_status_line(tail in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let mut msg = b"HTTP/1.1 200 OK\r\n".to_vec();
            msg.extend_from_slice(&tail);
            let _ = parse_response(&msg, "HTTP");
            let _ = message_complete(&msg, "HTTP");
        }

        #[test]
        fn built_responses_parse_back(
            status in 100u16..600,
            server in "[A-Za-z][A-Za-z0-9._-]{0,20}/[0-9.]{1,8}",
            body in proptest::collection::vec(any::<u8>(), 0..512),
            chunked in any::<bool>(),
        ) {
            let msg = crate::sim::http::encode_response(status, "Reason", &[("Server", &server)], &body, chunked);
            prop_assert_eq!(message_complete(&msg, "HTTP"), Some(msg.len()));
            let r = parse_response(&msg, "HTTP").expect("parse");
            prop_assert_eq!(r.head.status, status);
            prop_assert_eq!(r.head.header("server"), Some(server.as_str()));
            prop_assert_eq!(r.body, body);
        }
    }
}
