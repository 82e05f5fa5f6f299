//! Telnet: the option negotiation and the banner/login prompt.
//!
//! Wire format (RFC 854, "Telnet Protocol Specification"; RFC 855, option negotiation): data bytes,
//! with commands introduced by IAC (255). `IAC WILL/WONT/DO/DONT <option>` negotiate options,
//! `IAC SB <option> ... IAC SE` carries sub-negotiation, `IAC IAC` is a literal 255, and the other
//! two-byte commands (NOP, GA, ...) carry no data.
//!
//! What the probe sends: to every `DO x` it answers `IAC WONT x`, to every `WILL x` it answers
//! `IAC DONT x` (refusing every option, once per option), nothing else. It never types a user name
//! or password; it reads until a login prompt (or silence) and closes.
//!
//! Attributes: `negotiation` (the options the server asked for, e.g. `DO terminal-type, WILL echo`),
//! `login_prompt` (`true`/`false`). Finding: `telnet-enabled` whenever the service is identified.

use crate::io;
use crate::probe::{Intrusiveness, Observation, Probe, ProbeContext, ProbeError, ProbeFuture};
use medguard_model::Transport;

/// Interpret As Command (RFC 854).
pub const IAC: u8 = 255;
pub const DONT: u8 = 254;
pub const DO: u8 = 253;
pub const WONT: u8 = 252;
pub const WILL: u8 = 251;
pub const SB: u8 = 250;
pub const SE: u8 = 240;
/// Option codes used by the simulator (RFC 857 echo, RFC 858 suppress-go-ahead, RFC 1091
/// terminal-type).
pub const OPT_ECHO: u8 = 1;
pub const OPT_SGA: u8 = 3;
pub const OPT_TTYPE: u8 = 24;

/// Text kept from the server (banner and prompt).
const MAX_TEXT: usize = 4096;
/// Sub-negotiation bytes skipped per block before the stream is judged broken.
const MAX_SB: usize = 1024;
/// Rounds of read-and-answer before giving up on a prompt.
const MAX_ROUNDS: usize = 6;

/// A negotiation request from the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiation {
    /// WILL, WONT, DO or DONT.
    pub command: u8,
    pub option: u8,
}

/// The telnet stream split into text and commands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// Data bytes (IAC IAC unescaped), capped at 4 KiB.
    pub text: Vec<u8>,
    pub negotiations: Vec<Negotiation>,
    /// Options of `IAC SB` blocks seen.
    pub subnegotiations: Vec<u8>,
    /// Number of bytes of any IAC command seen (any at all means the peer speaks telnet).
    pub commands: usize,
    /// Bytes at the end that start an incomplete command; feed them again with more data.
    pub pending: usize,
}

/// Split a chunk of the telnet stream (RFC 854 "The Network Virtual Terminal" and "Telnet Command
/// Structure"). Never fails: malformed commands are treated as data, an oversized sub-negotiation
/// is an error.
pub fn parse(buf: &[u8]) -> Result<Parsed, String> {
    let mut p = Parsed::default();
    let mut i = 0;
    let push = |p: &mut Parsed, b: u8| {
        if p.text.len() < MAX_TEXT {
            p.text.push(b);
        }
    };
    while let Some(&b) = buf.get(i) {
        if b != IAC {
            push(&mut p, b);
            i += 1;
            continue;
        }
        let Some(&cmd) = buf.get(i + 1) else {
            p.pending = buf.len() - i;
            break;
        };
        match cmd {
            IAC => {
                push(&mut p, IAC);
                i += 2;
            }
            WILL | WONT | DO | DONT => {
                let Some(&option) = buf.get(i + 2) else {
                    p.pending = buf.len() - i;
                    break;
                };
                p.negotiations.push(Negotiation {
                    command: cmd,
                    option,
                });
                p.commands += 3;
                i += 3;
            }
            SB => {
                let Some(&option) = buf.get(i + 2) else {
                    p.pending = buf.len() - i;
                    break;
                };
                // Find IAC SE, skipping IAC IAC inside the block.
                let mut j = i + 3;
                let end = loop {
                    match (buf.get(j), buf.get(j + 1)) {
                        (Some(&IAC), Some(&SE)) => break Some(j + 2),
                        (Some(&IAC), Some(&IAC)) => j += 2,
                        (Some(_), _) => j += 1,
                        (None, _) => break None,
                    }
                    if j - i > MAX_SB {
                        return Err(format!("sub-negotiation longer than {MAX_SB} bytes"));
                    }
                };
                match end {
                    Some(e) => {
                        p.subnegotiations.push(option);
                        p.commands += e - i;
                        i = e;
                    }
                    None => {
                        p.pending = buf.len() - i;
                        break;
                    }
                }
            }
            _ => {
                // NOP, DM, BRK, IP, AO, AYT, EC, EL, GA, SE: two-byte commands without data.
                p.commands += 2;
                i += 2;
            }
        }
    }
    Ok(p)
}

/// The refusal for every request (RFC 854 "General Considerations": a party may always refuse):
/// `DO x` → `WONT x`, `WILL x` → `DONT x`; WONT/DONT need no answer.
pub fn refusals(negs: &[Negotiation]) -> Vec<u8> {
    let mut out = Vec::new();
    for n in negs {
        let answer = match n.command {
            DO => WONT,
            WILL => DONT,
            _ => continue,
        };
        out.extend_from_slice(&[IAC, answer, n.option]);
    }
    out
}

/// Encode a negotiation request (used by the simulator).
pub fn negotiation(command: u8, option: u8) -> [u8; 3] {
    [IAC, command, option]
}

/// The usual name of an option code (IANA "Telnet Options" registry).
pub fn option_name(o: u8) -> String {
    let name = match o {
        0 => "binary",
        1 => "echo",
        3 => "suppress-go-ahead",
        5 => "status",
        6 => "timing-mark",
        24 => "terminal-type",
        31 => "window-size",
        32 => "terminal-speed",
        33 => "remote-flow-control",
        34 => "linemode",
        35 => "x-display-location",
        36 => "environment",
        37 => "authentication",
        38 => "encryption",
        39 => "new-environment",
        _ => return format!("option-{o}"),
    };
    name.to_string()
}

fn command_name(c: u8) -> &'static str {
    match c {
        WILL => "WILL",
        WONT => "WONT",
        DO => "DO",
        _ => "DONT",
    }
}

/// Whether the text ends in something a person types a login into.
pub fn login_prompt(text: &str) -> bool {
    let t = text.trim_end().to_ascii_lowercase();
    ["login:", "username:", "user name:", "user:", "password:"]
        .iter()
        .any(|p| t.ends_with(p))
}

/// OS or device hints in the banner.
const OS_HINTS: &[&str] = &[
    "Debian", "Ubuntu", "Raspbian", "CentOS", "Red Hat", "FreeBSD", "BusyBox", "Cisco", "Windows",
    "VxWorks", "Linux",
];

/// The registry entry.
pub static PROBE: Probe = Probe {
    name: "telnet",
    transport: Transport::Tcp,
    ports: &[23, 2323],
    intrusiveness: Intrusiveness::Safe,
    fallback: true,
    sends: "answers each option request with a refusal (DO x -> IAC WONT x, WILL x -> IAC DONT x, \
            RFC 854); sends no user name or password; reads the banner up to the login prompt, \
            closes",
    run,
};

fn run(ctx: ProbeContext) -> ProbeFuture {
    Box::pin(async move { probe(ctx).await })
}

async fn probe(ctx: ProbeContext) -> Result<Observation, ProbeError> {
    let mut s = io::connect(&ctx).await?;
    let r = converse(&mut s, &ctx).await;
    io::close(s).await;
    let (text, negs, commands) = r?;
    let text = String::from_utf8_lossy(&text).to_string();
    let prompt = login_prompt(&text);
    if commands == 0 && !prompt {
        return Err(ProbeError::NotThisProtocol {
            protocol: "telnet",
            reason: format!(
                "no option negotiation and no login prompt in {:?}",
                io::printable(text.as_bytes(), 60)
            ),
        });
    }
    let mut obs = Observation::new("telnet");
    let banner = io::printable(text.trim().as_bytes(), 512);
    if !banner.is_empty() {
        obs.banner = Some(banner.clone());
    }
    obs.os = OS_HINTS
        .iter()
        .find(|h| text.contains(**h))
        .map(|h| (*h).to_string());
    let listed: Vec<String> = negs
        .iter()
        .map(|n| format!("{} {}", command_name(n.command), option_name(n.option)))
        .collect();
    if !listed.is_empty() {
        obs.attr("negotiation", listed.join(", "));
    }
    obs.attr("login_prompt", prompt.to_string());
    let evidence = if banner.is_empty() {
        format!("telnet service negotiated options: {}", listed.join(", "))
    } else {
        format!(
            "telnet service answered: {}",
            io::printable(text.trim().as_bytes(), 120)
        )
    };
    obs.finding("telnet-enabled", evidence);
    Ok(obs)
}

/// Read, refuse options, repeat until a login prompt, silence or the round limit.
async fn converse(
    s: &mut tokio::net::TcpStream,
    ctx: &ProbeContext,
) -> Result<(Vec<u8>, Vec<Negotiation>, usize), ProbeError> {
    let mut text = Vec::new();
    let mut all: Vec<Negotiation> = Vec::new();
    let mut commands = 0;
    let mut carry: Vec<u8> = Vec::new();
    for round in 0..MAX_ROUNDS {
        let chunk = match io::read_until(s, ctx, 8192, |b| (!b.is_empty()).then_some(b.len())).await
        {
            Ok(c) if c.is_empty() => break, // peer closed
            Ok(c) => c,
            // Silence after the first exchange: the server has said what it will say.
            Err(ProbeError::Timeout(_)) if round > 0 => break,
            Err(e) => return Err(e),
        };
        carry.extend_from_slice(&chunk);
        let p = parse(&carry).map_err(|reason| ProbeError::Malformed {
            protocol: "telnet",
            reason,
        })?;
        let keep = carry.split_off(carry.len() - p.pending);
        carry = keep;
        commands += p.commands;
        if text.len() < MAX_TEXT {
            text.extend_from_slice(&p.text);
        }
        // Answer each option once: repeating a refusal could start a negotiation loop (RFC 854).
        let fresh: Vec<Negotiation> = p
            .negotiations
            .iter()
            .filter(|n| !all.contains(n))
            .copied()
            .collect();
        all.extend_from_slice(&fresh);
        let answer = refusals(&fresh);
        if !answer.is_empty() {
            io::send(s, &answer, ctx).await?;
        }
        if commands == 0 && round == 0 && (!looks_textual(&text) || other_greeting(&text)) {
            break; // binary or another protocol's greeting: the caller says "not telnet"
        }
        if login_prompt(&String::from_utf8_lossy(&text)) {
            break;
        }
    }
    Ok((text, all, commands))
}

/// Greetings of other line protocols (FTP/SMTP reply codes, SSH, HTTP, RFB).
fn other_greeting(t: &[u8]) -> bool {
    let code = t.len() >= 4
        && t.iter().take(3).all(u8::is_ascii_digit)
        && matches!(t.get(3), Some(b' ' | b'-'));
    code || t.starts_with(b"SSH-") || t.starts_with(b"HTTP/") || t.starts_with(b"RFB ")
}

fn looks_textual(b: &[u8]) -> bool {
    b.iter()
        .all(|&c| matches!(c, b'\r' | b'\n' | b'\t' | 0 | 0x20..=0x7e) || c >= 0x80)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn splits_negotiation_from_text() {
        // RFC 854: IAC DO TERMINAL-TYPE, IAC WILL ECHO, then text with an escaped 255 (IAC IAC).
        let buf = [
            &[IAC, DO, OPT_TTYPE, IAC, WILL, OPT_ECHO][..],
            b"Debian GNU/Linux 12\r\n",
            &[IAC, IAC],
            b"host login: ",
        ]
        .concat();
        let p = parse(&buf).expect("parse");
        assert_eq!(
            p.negotiations,
            vec![
                Negotiation {
                    command: DO,
                    option: OPT_TTYPE
                },
                Negotiation {
                    command: WILL,
                    option: OPT_ECHO
                }
            ]
        );
        assert_eq!(p.commands, 6);
        assert_eq!(p.pending, 0);
        assert_eq!(p.text, b"Debian GNU/Linux 12\r\n\xffhost login: ");
        assert!(login_prompt(&String::from_utf8_lossy(&p.text)));
        assert_eq!(
            refusals(&p.negotiations),
            vec![IAC, WONT, OPT_TTYPE, IAC, DONT, OPT_ECHO]
        );
    }

    #[test]
    fn skips_subnegotiation_and_keeps_incomplete_tail() {
        // RFC 1091: IAC SB TERMINAL-TYPE SEND IAC SE.
        let buf = [IAC, SB, OPT_TTYPE, 1, IAC, SE, b'x', IAC, DO];
        let p = parse(&buf).expect("parse");
        assert_eq!(p.subnegotiations, vec![OPT_TTYPE]);
        assert_eq!(p.text, b"x");
        assert_eq!(p.pending, 2, "IAC DO without its option waits for more");
        let p = parse(&[IAC, SB, OPT_TTYPE, 1, 2]).expect("parse");
        assert_eq!(p.pending, 5);
        assert!(p.subnegotiations.is_empty());
    }

    #[test]
    fn refuses_oversized_subnegotiation_and_caps_text() {
        let mut buf = vec![IAC, SB, OPT_TTYPE];
        buf.extend(std::iter::repeat_n(b'a', 5000));
        assert!(parse(&buf).is_err());
        let p = parse(&vec![b'a'; 10_000]).expect("parse");
        assert_eq!(p.text.len(), MAX_TEXT);
    }

    #[test]
    fn answers_nothing_to_wont_and_dont() {
        let p = parse(&[IAC, WONT, 1, IAC, DONT, 3, IAC, 241]).expect("parse");
        assert_eq!(p.negotiations.len(), 2);
        assert!(refusals(&p.negotiations).is_empty());
        assert_eq!(p.commands, 8);
    }

    #[test]
    fn prompts() {
        assert!(login_prompt("Welcome\r\nUser Name: "));
        assert!(login_prompt("Password:"));
        assert!(!login_prompt("220 FTP ready"));
        assert_eq!(option_name(24), "terminal-type");
        assert_eq!(option_name(200), "option-200");
    }

    proptest! {
        #[test]
        fn parser_never_panics(b in proptest::collection::vec(any::<u8>(), 0..3000)) {
            if let Ok(p) = parse(&b) {
                prop_assert!(p.pending <= b.len());
                prop_assert!(p.text.len() <= MAX_TEXT);
            }
        }

        #[test]
        fn negotiation_round_trip(cmds in proptest::collection::vec((251u8..=254, any::<u8>()), 0..20)) {
            let buf: Vec<u8> = cmds.iter().flat_map(|&(c, o)| negotiation(c, o)).collect();
            let p = parse(&buf).expect("parse");
            let back: Vec<(u8, u8)> = p.negotiations.iter().map(|n| (n.command, n.option)).collect();
            prop_assert_eq!(back, cmds);
            prop_assert!(p.text.is_empty());
        }
    }
}
