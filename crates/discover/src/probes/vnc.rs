//! VNC: the RFB protocol version and the security types the server offers.
//!
//! Wire format (RFC 6143, "The Remote Framebuffer Protocol"):
//! - §7.1.1 ProtocolVersion: the server sends 12 bytes `RFB xxx.yyy\n`; the client answers with
//!   the version it will use.
//! - §7.1.2 Security (3.7 and later): `U8 number-of-security-types`, then that many `U8` types; if
//!   the number is 0, a `U32` reason length and the reason string follow. Version 3.3 (§A.1): the
//!   server decides alone and sends one `U32` security type (0 = failure + reason).
//!
//! - VeNCrypt (security type 19, rfbproto "VeNCrypt"): after the client picks type 19 the server
//!   sends its VeNCrypt version (`U8 0, U8 2`), the client echoes it, the server acks (`U8 0`) and
//!   lists `U8 count` `U32` sub-types (256 Plain, 257 TLSNone, 258 TLSVnc, 259 TLSPlain, 260
//!   X509None, 261 X509Vnc, 262 X509Plain, ...).
//!
//! What the probe sends: its ProtocolVersion (`RFB 003.008\n`, or `RFB 003.007\n` /
//! `RFB 003.003\n` for older servers). It reads the security types; only when VeNCrypt is offered
//! (and None is not) it picks type 19 and echoes the VeNCrypt version 0.2 to read the sub-type list.
//! It then closes without choosing a sub-type: no TLS, no authentication, no session.
//!
//! Attributes: `rfb_version` (as the server sent it, e.g. `3.8`), `security_types` (names, e.g.
//! `None, VNC Authentication`), `security_type_ids`, `vencrypt_subtypes` (names), `failure_reason`.
//! Findings: `vnc-no-auth` when security type 1 (None) or a VeNCrypt sub-type without
//! authentication (TLSNone, X509None) is offered; `vnc-weak-auth` when classic VNC Authentication (type 2) is
//! offered and none of the stronger types ([`STRONG`]).

use crate::io;
use crate::probe::{Intrusiveness, Observation, Probe, ProbeContext, ProbeError, ProbeFuture};
use medguard_model::Transport;

/// Security type "None" (RFC 6143 §7.2.1).
pub const SEC_NONE: u8 = 1;
/// Security type "VNC Authentication" (§7.2.2).
pub const SEC_VNC_AUTH: u8 = 2;
/// Security types that protect the session better than the classic 8-character DES challenge:
/// RA2/RA2ne (RealVNC), TLS, VeNCrypt, SASL, Apple Remote Desktop (DH + AES).
pub const STRONG: &[u8] = &[5, 6, 18, 19, 20, 30];
/// Security type VeNCrypt.
pub const SEC_VENCRYPT: u8 = 19;
/// VeNCrypt sub-types that encrypt but do not authenticate.
pub const VENCRYPT_NO_AUTH: &[u32] = &[257, 260];
/// Longest failure reason kept.
pub const MAX_REASON: usize = 1024;

/// Parse a ProtocolVersion message (§7.1.1): `(major, minor)`.
pub fn parse_version(b: &[u8]) -> Result<(u16, u16), String> {
    let v = b.get(..12).ok_or("ProtocolVersion truncated")?;
    if !v.starts_with(b"RFB ") || v[7] != b'.' || v[11] != b'\n' {
        return Err(format!(
            "not an RFB ProtocolVersion: {:?}",
            io::printable(v, 12)
        ));
    }
    let num = |d: &[u8]| -> Result<u16, String> {
        if d.iter().all(u8::is_ascii_digit) {
            Ok(d.iter().fold(0u16, |a, &c| a * 10 + u16::from(c - b'0')))
        } else {
            Err("non-digit in RFB version".into())
        }
    };
    Ok((num(&v[4..7])?, num(&v[8..11])?))
}

/// Encode a ProtocolVersion message.
pub fn version_message(major: u16, minor: u16) -> Vec<u8> {
    format!("RFB {:03}.{:03}\n", major.min(999), minor.min(999)).into_bytes()
}

/// The version a client should answer with (RFC 6143 §7.1.1: 3.3, 3.7 or 3.8; other minor numbers
/// of 3.x behave like 3.3; Apple's 3.889 and RealVNC 4.x/5.x accept 3.8).
pub fn reply_version(major: u16, minor: u16) -> (u16, u16) {
    match (major, minor) {
        (3, m) if m >= 8 => (3, 8),
        (3, 7) => (3, 7),
        (3, _) => (3, 3),
        (0..=2, _) => (3, 3),
        _ => (3, 8),
    }
}

/// The server's security offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Security {
    /// The types offered (3.7+), or the single type chosen by a 3.3 server.
    Types(Vec<u8>),
    /// The server refused the connection (count 0 / type 0) with this reason.
    Failure(String),
}

/// Parse the security message for the client version used: `Ok(None)` when more bytes are needed,
/// or the offer and the number of bytes it took.
pub fn parse_security(b: &[u8], minor: u16) -> Result<Option<(Security, usize)>, String> {
    let reason = |at: usize| -> Result<Option<(Security, usize)>, String> {
        let Some(len) = b.get(at..at + 4) else {
            return Ok(None);
        };
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        if len > MAX_REASON {
            return Err(format!("failure reason of {len} bytes"));
        }
        match b.get(at + 4..at + 4 + len) {
            Some(r) => Ok(Some((
                Security::Failure(String::from_utf8_lossy(r).to_string()),
                at + 4 + len,
            ))),
            None => Ok(None),
        }
    };
    if minor < 7 {
        let Some(t) = b.get(..4) else {
            return Ok(None);
        };
        let t = u32::from_be_bytes([t[0], t[1], t[2], t[3]]);
        return match t {
            0 => reason(4),
            1 | 2 => Ok(Some((Security::Types(vec![t as u8]), 4))),
            other => Err(format!("RFB 3.3 security type {other} is not defined")),
        };
    }
    let Some(&n) = b.first() else {
        return Ok(None);
    };
    if n == 0 {
        return reason(1);
    }
    match b.get(1..1 + n as usize) {
        Some(t) => Ok(Some((Security::Types(t.to_vec()), 1 + n as usize))),
        None => Ok(None),
    }
}

/// Encode the security message (used by the simulator).
pub fn security_message(s: &Security, minor: u16) -> Vec<u8> {
    let mut out = Vec::new();
    match s {
        Security::Types(t) if minor < 7 => {
            out.extend_from_slice(&u32::from(t.first().copied().unwrap_or(0)).to_be_bytes());
        }
        Security::Types(t) => {
            out.push(t.len().min(255) as u8);
            out.extend(t.iter().take(255));
        }
        Security::Failure(r) => {
            if minor < 7 {
                out.extend_from_slice(&0u32.to_be_bytes());
            } else {
                out.push(0);
            }
            out.extend_from_slice(&(r.len() as u32).to_be_bytes());
            out.extend_from_slice(r.as_bytes());
        }
    }
    out
}

/// Parse the VeNCrypt exchange the server sends after the client picked type 19: its version (2
/// bytes), then — after the client echoed 0.2 — the ack and the sub-type list. `buf` holds the bytes
/// after the version. `Ok(None)` when more bytes are needed.
pub fn parse_vencrypt_subtypes(b: &[u8]) -> Result<Option<(Vec<u32>, usize)>, String> {
    let Some(&ack) = b.first() else {
        return Ok(None);
    };
    if ack != 0 {
        return Err(format!("VeNCrypt version refused (ack {ack})"));
    }
    let Some(&n) = b.get(1) else {
        return Ok(None);
    };
    let end = 2 + 4 * n as usize;
    let Some(list) = b.get(2..end) else {
        return Ok(None);
    };
    let subs = list
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok(Some((subs, end)))
}

/// Encode the server's VeNCrypt ack and sub-type list (used by the simulator).
pub fn vencrypt_subtypes_message(subs: &[u32]) -> Vec<u8> {
    let mut out = vec![0, subs.len().min(255) as u8];
    for s in subs.iter().take(255) {
        out.extend_from_slice(&s.to_be_bytes());
    }
    out
}

/// Name of a VeNCrypt sub-type.
pub fn vencrypt_name(t: u32) -> String {
    match t {
        1 => "None".into(),
        2 => "VncAuth".into(),
        256 => "Plain".into(),
        257 => "TLSNone".into(),
        258 => "TLSVnc".into(),
        259 => "TLSPlain".into(),
        260 => "X509None".into(),
        261 => "X509Vnc".into(),
        262 => "X509Plain".into(),
        263 => "TLSSASL".into(),
        264 => "X509SASL".into(),
        other => format!("subtype-{other}"),
    }
}

/// Name of a security type (IANA "RFB Security Types" registry).
pub fn security_name(t: u8) -> String {
    match t {
        0 => "Invalid".into(),
        1 => "None".into(),
        2 => "VNC Authentication".into(),
        5 => "RA2".into(),
        6 => "RA2ne".into(),
        16 => "Tight".into(),
        17 => "Ultra".into(),
        18 => "TLS".into(),
        19 => "VeNCrypt".into(),
        20 => "GTK-VNC SASL".into(),
        21 => "MD5 hash".into(),
        22 => "Colin Dean xvp".into(),
        30 => "Apple Remote Desktop".into(),
        113 => "UltraVNC MS Logon II".into(),
        other => format!("type-{other}"),
    }
}

/// Product hints from the version and security types.
fn product(major: u16, minor: u16, types: &[u8]) -> (Option<&'static str>, Option<&'static str>) {
    if (major, minor) == (3, 889) || types.contains(&30) {
        (Some("Apple Remote Desktop"), Some("Apple"))
    } else if major >= 4 || types.contains(&5) || types.contains(&6) {
        (Some("RealVNC"), Some("RealVNC"))
    } else if types.contains(&17) || types.contains(&113) {
        (Some("UltraVNC"), Some("UltraVNC"))
    } else if types.contains(&16) {
        (Some("TightVNC"), Some("TightVNC"))
    } else {
        (None, None)
    }
}

/// The registry entry.
pub static PROBE: Probe = Probe {
    name: "vnc",
    transport: Transport::Tcp,
    ports: &[5900, 5901, 5902, 5800],
    intrusiveness: Intrusiveness::Safe,
    fallback: true,
    sends: "reads the server's RFB ProtocolVersion, answers with `RFB 003.008\\n` (or 3.7/3.3 for \
            older servers, RFC 6143 §7.1.1), reads the offered security types; if VeNCrypt (19) \
            is offered without None, picks 19 and echoes VeNCrypt version 0.2 to read its sub-type \
            list; closes without choosing a sub-type (no TLS, no login)",
    run,
};

fn run(ctx: ProbeContext) -> ProbeFuture {
    Box::pin(async move { probe(ctx).await })
}

async fn probe(ctx: ProbeContext) -> Result<Observation, ProbeError> {
    let mut s = io::connect(&ctx).await?;
    let r = converse(&mut s, &ctx).await;
    io::close(s).await;
    let ((major, minor), security, vencrypt) = r?;
    let mut obs = Observation::new("vnc");
    obs.attr("rfb_version", format!("{major}.{minor}"));
    obs.banner = Some(format!("RFB {major:03}.{minor:03}"));
    match security {
        Security::Types(types) => {
            let names: Vec<String> = types.iter().map(|&t| security_name(t)).collect();
            obs.attr("security_types", names.join(", "));
            obs.attr(
                "security_type_ids",
                types
                    .iter()
                    .map(u8::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            );
            let (p, v) = product(major, minor, &types);
            obs.product = p.map(str::to_string);
            obs.vendor = v.map(str::to_string);
            if types.contains(&SEC_VNC_AUTH) && !types.iter().any(|t| STRONG.contains(t)) {
                obs.finding(
                    "vnc-weak-auth",
                    format!(
                        "RFB {major}.{minor} offers only the classic DES challenge password among: {}",
                        names.join(", ")
                    ),
                );
            }
            if let Some(subs) = &vencrypt {
                let names: Vec<String> = subs.iter().map(|&t| vencrypt_name(t)).collect();
                obs.attr("vencrypt_subtypes", names.join(", "));
                if let Some(&t) = subs
                    .iter()
                    .find(|t| VENCRYPT_NO_AUTH.contains(t) || **t == 1)
                {
                    obs.finding(
                        "vnc-no-auth",
                        format!(
                            "VeNCrypt offers sub-type {} (no password) among: {}",
                            vencrypt_name(t),
                            names.join(", ")
                        ),
                    );
                }
            }
            if types.contains(&SEC_NONE) {
                obs.finding(
                    "vnc-no-auth",
                    format!(
                        "RFB {major}.{minor} offers security type 1 (None) among: {}",
                        names.join(", ")
                    ),
                );
            }
        }
        Security::Failure(reason) => {
            obs.attr("failure_reason", io::printable(reason.as_bytes(), 256));
        }
    }
    Ok(obs)
}

type Conversation = ((u16, u16), Security, Option<Vec<u32>>);

async fn converse(
    s: &mut tokio::net::TcpStream,
    ctx: &ProbeContext,
) -> Result<Conversation, ProbeError> {
    let hello = io::read_until(s, ctx, 12, |b| (b.len() >= 12).then_some(12)).await?;
    let (major, minor) = parse_version(&hello).map_err(|reason| ProbeError::NotThisProtocol {
        protocol: "vnc",
        reason,
    })?;
    let (rmaj, rmin) = reply_version(major, minor);
    io::send(s, &version_message(rmaj, rmin), ctx).await?;
    let buf = io::read_until(s, ctx, 4 + 4 + MAX_REASON + 256, |b| {
        match parse_security(b, rmin) {
            Ok(Some((_, n))) => Some(n),
            Ok(None) => None,
            Err(_) => Some(b.len()),
        }
    })
    .await?;
    let malformed = |reason: String| ProbeError::Malformed {
        protocol: "vnc",
        reason,
    };
    let sec = match parse_security(&buf, rmin).map_err(malformed)? {
        Some((sec, _)) => sec,
        None => {
            return Err(malformed(format!(
                "security message truncated after {} bytes",
                buf.len()
            )));
        }
    };
    let vencrypt = match &sec {
        Security::Types(t) if rmin >= 7 && t.contains(&SEC_VENCRYPT) && !t.contains(&SEC_NONE) => {
            // Optional detail: a server that stops here is still identified.
            vencrypt(s, ctx).await.ok()
        }
        _ => None,
    };
    Ok(((major, minor), sec, vencrypt))
}

/// Pick VeNCrypt, agree on version 0.2, read the sub-type list.
async fn vencrypt(
    s: &mut tokio::net::TcpStream,
    ctx: &ProbeContext,
) -> Result<Vec<u32>, ProbeError> {
    let malformed = |reason: String| ProbeError::Malformed {
        protocol: "vnc",
        reason,
    };
    io::send(s, &[SEC_VENCRYPT], ctx).await?;
    let v = io::read_until(s, ctx, 2, |b| (b.len() >= 2).then_some(2)).await?;
    if v.as_slice() != [0, 2] {
        return Err(malformed(format!("VeNCrypt version {v:?}, not 0.2")));
    }
    io::send(s, &[0, 2], ctx).await?;
    let buf = io::read_until(s, ctx, 2 + 4 * 255, |b| match parse_vencrypt_subtypes(b) {
        Ok(Some((_, n))) => Some(n),
        Ok(None) => None,
        Err(_) => Some(b.len()),
    })
    .await?;
    match parse_vencrypt_subtypes(&buf).map_err(malformed)? {
        Some((subs, _)) => Ok(subs),
        None => Err(malformed("VeNCrypt sub-type list truncated".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn versions() {
        // RFC 6143 §7.1.1: "RFB 003.008\n" (hex 52 46 42 20 30 30 33 2e 30 30 38 0a).
        assert_eq!(parse_version(b"RFB 003.008\n"), Ok((3, 8)));
        assert_eq!(parse_version(b"RFB 003.889\n"), Ok((3, 889)));
        assert!(parse_version(b"RFB 003.00").is_err());
        assert!(parse_version(b"SSH-2.0-OpenSSH_9\r\n").is_err());
        assert!(parse_version(b"RFB 0x3.008\n").is_err());
        assert_eq!(reply_version(3, 889), (3, 8));
        assert_eq!(reply_version(3, 7), (3, 7));
        assert_eq!(reply_version(3, 5), (3, 3));
        assert_eq!(reply_version(4, 1), (3, 8));
        assert_eq!(version_message(3, 8), b"RFB 003.008\n");
    }

    #[test]
    fn security_messages() {
        // §7.1.2: number-of-security-types = 2, types 1 (None) and 2 (VNC Authentication).
        assert_eq!(
            parse_security(&[2, 1, 2], 8),
            Ok(Some((Security::Types(vec![1, 2]), 3)))
        );
        assert_eq!(parse_security(&[2, 1], 8), Ok(None));
        // Failure: 0 types, reason length 4, "busy".
        assert_eq!(
            parse_security(b"\x00\x00\x00\x00\x04busy", 8),
            Ok(Some((Security::Failure("busy".into()), 9)))
        );
        // RFB 3.3 (§A.1): a U32 type chosen by the server.
        assert_eq!(
            parse_security(&[0, 0, 0, 2], 3),
            Ok(Some((Security::Types(vec![2]), 4)))
        );
        assert!(parse_security(&[0, 0, 0, 9], 3).is_err());
        // A reason length of 4 GiB is rejected, not allocated.
        assert!(parse_security(&[0, 0xff, 0xff, 0xff, 0xff], 8).is_err());
    }

    #[test]
    fn vencrypt_subtype_lists() {
        // ack 0, 2 sub-types: 257 TLSNone, 262 X509Plain.
        let m = [0, 2, 0, 0, 1, 1, 0, 0, 1, 6];
        assert_eq!(parse_vencrypt_subtypes(&m), Ok(Some((vec![257, 262], 10))));
        assert_eq!(parse_vencrypt_subtypes(&m[..7]), Ok(None));
        assert!(parse_vencrypt_subtypes(&[1]).is_err(), "version refused");
        assert_eq!(vencrypt_subtypes_message(&[257, 262]), m.to_vec());
        assert_eq!(vencrypt_name(257), "TLSNone");
    }

    #[test]
    fn product_hints() {
        assert_eq!(product(3, 889, &[30]).0, Some("Apple Remote Desktop"));
        assert_eq!(product(3, 8, &[16, 2]).0, Some("TightVNC"));
        assert_eq!(product(3, 8, &[1]).0, None);
    }

    proptest! {
        #[test]
        fn parsers_never_panic(b in proptest::collection::vec(any::<u8>(), 0..600), minor in 0u16..10) {
            let _ = parse_version(&b);
            if let Ok(Some((_, n))) = parse_vencrypt_subtypes(&b) {
                prop_assert!(n <= b.len());
            }
            if let Ok(Some((_, n))) = parse_security(&b, minor) {
                prop_assert!(n <= b.len());
            }
        }

        #[test]
        fn security_round_trip(types in proptest::collection::vec(1u8.., 1..20), reason in "[ -~]{0,80}") {
            let t = Security::Types(types.clone());
            let m = security_message(&t, 8);
            prop_assert_eq!(parse_security(&m, 8), Ok(Some((t, m.len()))));
            let f = Security::Failure(reason);
            for minor in [3, 8] {
                let m = security_message(&f, minor);
                prop_assert_eq!(parse_security(&m, minor), Ok(Some((f.clone(), m.len()))));
            }
        }

        #[test]
        fn version_round_trip(major in 0u16..1000, minor in 0u16..1000) {
            prop_assert_eq!(parse_version(&version_message(major, minor)), Ok((major, minor)));
        }
    }
}
