//! FTP: the greeting and whether anonymous login is allowed.
//!
//! Wire format (RFC 959 §4.2, "FTP Replies"): a reply is a three-digit code followed by a space and
//! text, or — multi-line — the code followed by `-`, any lines, and a last line starting with the
//! same code and a space. Lines end in CR LF (bare LF accepted).
//!
//! What the probe sends, in order and nothing else: after the `220` greeting, `USER anonymous\r\n`;
//! if the server asks for a password (`331`), `PASS medguard-probe@example.invalid\r\n` (RFC 1635
//! anonymous convention: an e-mail address as password); then `QUIT\r\n`. It lists no directory,
//! transfers no file and opens no data connection.
//!
//! Attributes: `greeting_code`, `anonymous` (`true`/`false`), `anonymous_reply` (the server's reply
//! to the login). Findings: `ftp-cleartext` for every plain FTP service that is ready (`220`),
//! `ftp-anonymous` when the anonymous login succeeds (`230`).

use crate::io;
use crate::probe::{Intrusiveness, Observation, Probe, ProbeContext, ProbeError, ProbeFuture};
use medguard_model::Transport;

/// The password sent for the anonymous login (RFC 1635: an e-mail address).
pub const PROBE_EMAIL: &str = "medguard-probe@example.invalid";
/// Longest reply accepted (a multi-line greeting can be a page of text).
pub const MAX_REPLY: usize = 8192;
/// How long to wait for the answer to `PASS` (failed logins are answered slowly on purpose).
const FAILED_LOGIN_WAIT: std::time::Duration = std::time::Duration::from_secs(5);
/// Longest line kept.
const MAX_LINE: usize = 1024;

/// One (possibly multi-line) reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    /// The text of every line, code and separator stripped.
    pub lines: Vec<String>,
}

impl Reply {
    /// Text of all lines joined by a space.
    pub fn text(&self) -> String {
        self.lines.join(" ").trim().to_string()
    }
}

fn code_of(line: &[u8]) -> Option<(u16, u8)> {
    let d = line.get(..3)?;
    if !d.iter().all(u8::is_ascii_digit) || !(b'1'..=b'5').contains(&d[0]) {
        return None;
    }
    let code = d.iter().fold(0u16, |a, &b| a * 10 + u16::from(b - b'0'));
    let sep = match line.get(3) {
        None => b' ',
        Some(&s) => s,
    };
    Some((code, sep))
}

/// Parse one reply from the start of `buf`: `Ok(Some((reply, consumed)))` when complete,
/// `Ok(None)` when more bytes are needed, `Err` when this is not an FTP reply.
pub fn parse_reply(buf: &[u8]) -> Result<Option<(Reply, usize)>, String> {
    let mut at = 0;
    let mut first: Option<u16> = None;
    let mut lines = Vec::new();
    loop {
        let rest = buf.get(at..).unwrap_or_default();
        let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
            if first.is_none() && rest.len() >= 4 && code_of(rest).is_none() {
                return Err(format!("not a reply line: {:?}", io::printable(rest, 40)));
            }
            if buf.len() > MAX_REPLY {
                return Err(format!("reply longer than {MAX_REPLY} bytes"));
            }
            return Ok(None);
        };
        let raw = rest.get(..nl).unwrap_or_default();
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        at += nl + 1;
        if at > MAX_REPLY {
            return Err(format!("reply longer than {MAX_REPLY} bytes"));
        }
        match (first, code_of(line)) {
            (None, Some((code, sep))) => {
                if sep != b' ' && sep != b'-' {
                    return Err(format!("bad separator after code {code}"));
                }
                lines.push(text_of(line.get(4..).unwrap_or_default()));
                if sep == b' ' {
                    return Ok(Some((Reply { code, lines }, at)));
                }
                first = Some(code);
            }
            (None, None) => {
                return Err(format!("not a reply line: {:?}", io::printable(line, 40)));
            }
            (Some(c), Some((code, b' '))) if code == c => {
                lines.push(text_of(line.get(4..).unwrap_or_default()));
                return Ok(Some((Reply { code, lines }, at)));
            }
            (Some(_), _) => {
                // A middle line of a multi-line reply (RFC 959: any text, may start with digits).
                let body = match code_of(line) {
                    Some((_, b'-')) => line.get(4..).unwrap_or_default(),
                    _ => line,
                };
                lines.push(text_of(body));
            }
        }
    }
}

fn text_of(b: &[u8]) -> String {
    String::from_utf8_lossy(b.get(..b.len().min(MAX_LINE)).unwrap_or_default())
        .trim()
        .to_string()
}

/// Server product and version read from a greeting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Server {
    pub product: Option<String>,
    pub version: Option<String>,
    pub vendor: Option<String>,
    pub os: Option<String>,
}

/// Known greeting forms: marker, product, vendor, os.
const KNOWN: &[(&str, &str, &str, Option<&str>)] = &[
    ("vsFTPd", "vsftpd", "vsftpd", None),
    ("ProFTPD", "ProFTPD", "ProFTPD Project", None),
    ("Pure-FTPd", "Pure-FTPd", "PureFTPd", None),
    (
        "FileZilla Server",
        "FileZilla Server",
        "FileZilla",
        Some("Windows"),
    ),
    (
        "Microsoft FTP Service",
        "Microsoft IIS FTP",
        "Microsoft",
        Some("Windows"),
    ),
    ("Serv-U", "Serv-U", "SolarWinds", Some("Windows")),
    ("wu-", "WU-FTPD", "WU-FTPD", None),
    ("Synology", "Synology FTP", "Synology", None),
    ("QNAP", "QNAP FTP", "QNAP", None),
    ("xerox", "Xerox FTP", "Xerox", None),
    ("RICOH", "Ricoh FTP", "Ricoh", None),
];

/// Read product and version from the greeting text (`(vsFTPd 3.0.3)`, `ProFTPD 1.3.8 Server`, ...).
pub fn server(greeting: &str) -> Server {
    let mut s = Server::default();
    let lower = greeting.to_ascii_lowercase();
    let Some((marker, product, vendor, os)) = KNOWN
        .iter()
        .find(|(m, ..)| lower.contains(&m.to_ascii_lowercase()))
    else {
        return s;
    };
    s.product = Some((*product).to_string());
    s.vendor = Some((*vendor).to_string());
    s.os = os.map(str::to_string);
    // The version is the first token after the marker that starts with a digit.
    if let Some(pos) = lower.find(&marker.to_ascii_lowercase()) {
        let after = greeting.get(pos + marker.len()..).unwrap_or_default();
        s.version = after
            .split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == '[' || c == ']')
            .find(|t| t.chars().next().is_some_and(|c| c.is_ascii_digit()))
            .map(|t| t.trim_end_matches([',', ';']).to_string());
    }
    s
}

/// The registry entry.
pub static PROBE: Probe = Probe {
    name: "ftp",
    transport: Transport::Tcp,
    ports: &[21, 2121],
    intrusiveness: Intrusiveness::Safe,
    fallback: true,
    sends: "reads the 220 greeting, sends `USER anonymous`, then (on 331) \
            `PASS medguard-probe@example.invalid`, then `QUIT` (RFC 959); no listing, no transfer, \
            no data connection",
    run,
};

fn run(ctx: ProbeContext) -> ProbeFuture {
    Box::pin(async move { probe(ctx).await })
}

async fn read_reply(
    s: &mut tokio::net::TcpStream,
    ctx: &ProbeContext,
) -> Result<Reply, ProbeError> {
    let buf = io::read_until(s, ctx, MAX_REPLY + 1, |b| match parse_reply(b) {
        Ok(Some((_, n))) => Some(n),
        Ok(None) => None,
        Err(_) => Some(b.len()),
    })
    .await?;
    match parse_reply(&buf) {
        Ok(Some((r, _))) => Ok(r),
        Ok(None) => Err(ProbeError::Malformed {
            protocol: "ftp",
            reason: format!("incomplete reply {:?}", io::printable(&buf, 60)),
        }),
        Err(reason) => Err(ProbeError::NotThisProtocol {
            protocol: "ftp",
            reason,
        }),
    }
}

async fn probe(ctx: ProbeContext) -> Result<Observation, ProbeError> {
    let mut s = io::connect(&ctx).await?;
    let greeting = match read_reply(&mut s, &ctx).await {
        Ok(r) => r,
        Err(e) => {
            io::close(s).await;
            return Err(e);
        }
    };
    // RFC 959 §5.4: a connection greeting is 120 (wait), 220 (ready) or 421 (closing); some
    // servers refuse with a 5xx that names them (`500 OOPS: vsftpd: ...`). SMTP greets with 220 too.
    let text = greeting.text();
    let lower = text.to_ascii_lowercase();
    let refusal_naming_ftp = greeting.code >= 500 && lower.contains("ftp");
    if lower.contains("smtp") {
        io::close(s).await;
        return Err(ProbeError::NotThisProtocol {
            protocol: "ftp",
            reason: format!("an SMTP greeting: {}", io::printable(text.as_bytes(), 60)),
        });
    }
    if !matches!(greeting.code, 120 | 220 | 421) && !refusal_naming_ftp {
        io::close(s).await;
        return Err(ProbeError::NotThisProtocol {
            protocol: "ftp",
            reason: format!("greeting code {} is not an FTP greeting", greeting.code),
        });
    }
    let mut obs = Observation::new("ftp");
    let sv = server(&text);
    obs.product = sv.product;
    obs.version = sv.version;
    obs.vendor = sv.vendor;
    obs.os = sv.os;
    obs.banner = Some(io::printable(
        format!("{} {}", greeting.code, text).as_bytes(),
        512,
    ));
    obs.attr("greeting_code", greeting.code.to_string());
    if greeting.code == 220 {
        obs.finding(
            "ftp-cleartext",
            format!(
                "plain FTP service ready: {}",
                io::printable(text.as_bytes(), 100)
            ),
        );
        let login = anonymous_login(&mut s, &ctx).await;
        let _ = io::send(&mut s, b"QUIT\r\n", &ctx).await;
        let _ = read_reply(&mut s, &ctx).await;
        match login {
            Ok((allowed, reply)) => {
                obs.attr("anonymous", allowed.to_string());
                obs.attr(
                    "anonymous_reply",
                    io::printable(format!("{} {}", reply.code, reply.text()).as_bytes(), 200),
                );
                if allowed {
                    obs.finding(
                        "ftp-anonymous",
                        format!(
                            "USER anonymous / PASS <e-mail> answered {} {}",
                            reply.code,
                            io::printable(reply.text().as_bytes(), 100)
                        ),
                    );
                }
            }
            Err(e) => {
                obs.attr("anonymous_error", e.to_string());
            }
        }
    }
    io::close(s).await;
    Ok(obs)
}

/// `USER anonymous`, then `PASS <e-mail>` if asked: whether the server logged us in, and its reply.
async fn anonymous_login(
    s: &mut tokio::net::TcpStream,
    ctx: &ProbeContext,
) -> Result<(bool, Reply), ProbeError> {
    io::send(s, b"USER anonymous\r\n", ctx).await?;
    let user = read_reply(s, ctx).await?;
    match user.code {
        230 => Ok((true, user)),
        331 | 332 => {
            io::send(s, format!("PASS {PROBE_EMAIL}\r\n").as_bytes(), ctx).await?;
            // Servers delay a failed login by design (vsftpd + PAM: about 3 s), while a successful
            // anonymous login answers at once; so allow longer here and read silence as "refused".
            let mut slow = ctx.clone();
            slow.io_timeout = FAILED_LOGIN_WAIT.min(ctx.deadline);
            match read_reply(s, &slow).await {
                Ok(pass) => Ok((pass.code == 230 || pass.code == 202, pass)),
                Err(ProbeError::Timeout(t)) => Ok((
                    false,
                    Reply {
                        code: 0,
                        lines: vec![format!("no answer to PASS within {t:?}")],
                    },
                )),
                Err(e) => Err(e),
            }
        }
        _ => Ok((false, user)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_single_and_multi_line_replies() {
        // RFC 959 §4.2: "123-First line / Second line / 234 A line beginning with numbers /
        // 123 The last line".
        let buf = b"123-First line\r\nSecond line\r\n  234 A line beginning with numbers\r\n123 The last line\r\nNEXT";
        let (r, n) = parse_reply(buf).expect("ok").expect("complete");
        assert_eq!(r.code, 123);
        assert_eq!(r.lines.len(), 4);
        assert_eq!(r.lines[3], "The last line");
        assert_eq!(&buf[n..], b"NEXT");
        let (r, _) = parse_reply(b"220 (vsFTPd 3.0.3)\r\n")
            .expect("ok")
            .expect("complete");
        assert_eq!((r.code, r.text().as_str()), (220, "(vsFTPd 3.0.3)"));
    }

    #[test]
    fn incomplete_and_garbage() {
        assert_eq!(
            parse_reply(b"220-Welcome\r\n220-more\r\n").expect("ok"),
            None
        );
        assert_eq!(parse_reply(b"22").expect("ok"), None);
        assert!(parse_reply(b"SSH-2.0-OpenSSH\r\n").is_err());
        assert!(parse_reply(b"HTTP/1.0 200 OK\r\n").is_err());
        assert!(parse_reply(b"\x16\x03\x01\x00").is_err());
        assert!(parse_reply(b"220x\r\n").is_err());
        let mut long = b"220-".to_vec();
        long.extend(std::iter::repeat_n(b'a', MAX_REPLY + 10));
        assert!(parse_reply(&long).is_err());
    }

    #[test]
    fn reads_products_from_greetings() {
        let v = server("(vsFTPd 3.0.3)");
        assert_eq!(v.product.as_deref(), Some("vsftpd"));
        assert_eq!(v.version.as_deref(), Some("3.0.3"));
        let p = server("ProFTPD 1.3.8 Server (Debian) [::ffff:10.0.0.5]");
        assert_eq!(p.product.as_deref(), Some("ProFTPD"));
        assert_eq!(p.version.as_deref(), Some("1.3.8"));
        let m = server("Microsoft FTP Service");
        assert_eq!(m.os.as_deref(), Some("Windows"));
        assert_eq!(m.version, None);
        assert_eq!(server("Welcome"), Server::default());
    }

    proptest! {
        #[test]
        fn parser_never_panics(b in proptest::collection::vec(any::<u8>(), 0..2000)) {
            if let Ok(Some((_, n))) = parse_reply(&b) {
                prop_assert!(n <= b.len());
            }
            let _ = server(&String::from_utf8_lossy(&b));
        }

        #[test]
        fn reply_round_trip(code in 100u16..600, lines in proptest::collection::vec("[ -~]{0,60}", 1..5)) {
            let mut wire = String::new();
            for (i, l) in lines.iter().enumerate() {
                let sep = if i + 1 == lines.len() { ' ' } else { '-' };
                wire.push_str(&format!("{code}{sep}{l}\r\n"));
            }
            let (r, n) = parse_reply(wire.as_bytes()).expect("ok").expect("complete");
            prop_assert_eq!(n, wire.len());
            prop_assert_eq!(r.code, code);
            let want: Vec<String> = lines.iter().map(|l| l.trim().to_string()).collect();
            prop_assert_eq!(r.lines, want);
        }
    }
}
