//! RDP: which security protocols the server accepts in the X.224 connection negotiation, and so
//! whether Network Level Authentication (NLA, CredSSP) is required.
//!
//! Wire format:
//! - TPKT (RFC 1006 §6, T.123 §8): version 3, reserved 0, a big-endian 16-bit length of the whole
//!   packet.
//! - X.224 Connection Request / Connection Confirm TPDUs (ITU-T X.224 §13.3 / §13.4): length
//!   indicator, code `0xE0` / `0xD0`, DST-REF, SRC-REF, class option.
//! - [MS-RDPBCGR] 2.2.1.1.1 `RDP_NEG_REQ` (type 1, `requestedProtocols`), 2.2.1.2.1 `RDP_NEG_RSP`
//!   (type 2, `selectedProtocol`) and 2.2.1.2.2 `RDP_NEG_FAILURE` (type 3, `failureCode`).
//!   Protocol bits: `PROTOCOL_RDP` 0 (standard RDP security), `PROTOCOL_SSL` 1 (TLS),
//!   `PROTOCOL_HYBRID` 2 (CredSSP = NLA), `PROTOCOL_RDSTLS` 4, `PROTOCOL_HYBRID_EX` 8.
//!
//! What the probe sends (two connections, one TPKT each, then close): an X.224 Connection Request
//! with `RDP_NEG_REQ` asking for `PROTOCOL_SSL | PROTOCOL_HYBRID`, then one asking for
//! `PROTOCOL_RDP` only. No TLS handshake, no credentials, no MCS connect.
//!
//! Attributes: `selected_protocol` (answer to SSL|HYBRID: `rdp`, `ssl`, `hybrid`, `hybrid_ex`,
//! `rdstls`), `nla` (`required`, `supported`, `not-supported`), `standard_rdp_security`
//! (`accepted`/`refused`), `failure` (the failure code name if any), `negotiation_flags`.
//! Findings: `rdp-exposed` for every RDP service; `rdp-no-nla` when the server selects TLS or
//! standard RDP security for a client offering NLA, or accepts a client that offers standard RDP
//! security only.

use crate::io;
use crate::probe::{Intrusiveness, Observation, Probe, ProbeContext, ProbeError, ProbeFuture};
use medguard_model::Transport;

pub const PROTOCOL_RDP: u32 = 0;
pub const PROTOCOL_SSL: u32 = 1;
pub const PROTOCOL_HYBRID: u32 = 2;
pub const PROTOCOL_RDSTLS: u32 = 4;
pub const PROTOCOL_HYBRID_EX: u32 = 8;
/// X.224 TPDU codes.
pub const X224_CR: u8 = 0xe0;
pub const X224_CC: u8 = 0xd0;
/// `RDP_NEG_*` types.
pub const TYPE_RDP_NEG_REQ: u8 = 1;
pub const TYPE_RDP_NEG_RSP: u8 = 2;
pub const TYPE_RDP_NEG_FAILURE: u8 = 3;
/// `RDP_NEG_FAILURE` codes ([MS-RDPBCGR] 2.2.1.2.2).
pub const SSL_REQUIRED_BY_SERVER: u32 = 1;
pub const SSL_NOT_ALLOWED_BY_SERVER: u32 = 2;
pub const HYBRID_REQUIRED_BY_SERVER: u32 = 5;
/// Largest Connection Confirm accepted (it is 19 bytes; a few KiB leaves room for odd servers).
pub const MAX_TPKT: usize = 4096;

/// The server's answer to one Connection Request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Negotiation {
    /// A Connection Confirm without negotiation data: a pre-RDP 5.2 server, standard RDP security.
    Legacy,
    /// `RDP_NEG_RSP`.
    Selected { protocol: u32, flags: u8 },
    /// `RDP_NEG_FAILURE`.
    Failure { code: u32 },
}

/// An X.224 Connection Request with `RDP_NEG_REQ` asking for `protocols`, in a TPKT.
pub fn connection_request(protocols: u32) -> Vec<u8> {
    let mut x = vec![
        0, // length indicator (patched)
        X224_CR, 0, 0, // DST-REF
        0x12, 0x34, // SRC-REF
        0,    // class 0
    ];
    x.extend_from_slice(&[TYPE_RDP_NEG_REQ, 0]);
    x.extend_from_slice(&8u16.to_le_bytes());
    x.extend_from_slice(&protocols.to_le_bytes());
    x[0] = (x.len() - 1) as u8;
    tpkt(&x)
}

/// A Connection Confirm carrying `neg` (used by the simulator).
pub fn connection_confirm(neg: Negotiation) -> Vec<u8> {
    let mut x = vec![0, X224_CC, 0x12, 0x34, 0, 0, 0];
    match neg {
        Negotiation::Legacy => {}
        Negotiation::Selected { protocol, flags } => {
            x.extend_from_slice(&[TYPE_RDP_NEG_RSP, flags]);
            x.extend_from_slice(&8u16.to_le_bytes());
            x.extend_from_slice(&protocol.to_le_bytes());
        }
        Negotiation::Failure { code } => {
            x.extend_from_slice(&[TYPE_RDP_NEG_FAILURE, 0]);
            x.extend_from_slice(&8u16.to_le_bytes());
            x.extend_from_slice(&code.to_le_bytes());
        }
    }
    x[0] = (x.len() - 1) as u8;
    tpkt(&x)
}

fn tpkt(payload: &[u8]) -> Vec<u8> {
    let mut out = vec![3, 0];
    out.extend_from_slice(&((payload.len() + 4) as u16).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// Length of the complete TPKT at the start of `buf`; a header that is not TPKT is "complete" at
/// once so the parser rejects it.
pub fn tpkt_complete(buf: &[u8]) -> Option<usize> {
    let h = buf.get(..4)?;
    let len = u16::from_be_bytes([h[2], h[3]]) as usize;
    if h[0] != 3 || !(4..=MAX_TPKT).contains(&len) {
        return Some(buf.len());
    }
    (buf.len() >= len).then_some(len)
}

/// The X.224 TPDU inside one TPKT.
fn x224(buf: &[u8]) -> Result<&[u8], String> {
    let h = buf.get(..4).ok_or("TPKT header truncated")?;
    if h[0] != 3 || h[1] != 0 {
        return Err(format!("not TPKT (version byte {:#04x})", h[0]));
    }
    let len = u16::from_be_bytes([h[2], h[3]]) as usize;
    if !(7..=MAX_TPKT).contains(&len) {
        return Err(format!("TPKT length {len} out of range"));
    }
    let x = buf.get(4..len).ok_or("TPKT truncated")?;
    let li = *x.first().ok_or("X.224 header truncated")? as usize;
    x.get(..=li)
        .filter(|t| t.len() >= 7)
        .ok_or_else(|| format!("X.224 length indicator {li} outside the packet"))
}

/// Parse the `RDP_NEG_*` structure at the end of an X.224 TPDU (after the 7 fixed bytes).
fn negotiation(t: &[u8]) -> Result<Option<(u8, u8, u32)>, String> {
    let Some(rest) = t.get(7..).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    // A routing token or cookie may precede the structure; it is the last 8 bytes.
    let n = rest
        .len()
        .checked_sub(8)
        .and_then(|at| rest.get(at..))
        .ok_or("negotiation structure truncated")?;
    if u16::from_le_bytes([n[2], n[3]]) != 8 {
        return Err("negotiation structure length is not 8".into());
    }
    Ok(Some((
        n[0],
        n[1],
        u32::from_le_bytes([n[4], n[5], n[6], n[7]]),
    )))
}

/// Parse a Connection Confirm (the server side of [MS-RDPBCGR] 2.2.1.2).
pub fn parse_confirm(buf: &[u8]) -> Result<Negotiation, String> {
    let t = x224(buf)?;
    if t.get(1).map(|c| c & 0xf0) != Some(X224_CC) {
        return Err(format!(
            "X.224 code {:#04x} is not a Connection Confirm",
            t[1]
        ));
    }
    match negotiation(t)? {
        None => Ok(Negotiation::Legacy),
        Some((TYPE_RDP_NEG_RSP, flags, protocol)) => Ok(Negotiation::Selected { protocol, flags }),
        Some((TYPE_RDP_NEG_FAILURE, _, code)) => Ok(Negotiation::Failure { code }),
        Some((other, ..)) => Err(format!("negotiation type {other} in a Connection Confirm")),
    }
}

/// Parse a Connection Request: the requested protocols (used by the simulator).
pub fn parse_request(buf: &[u8]) -> Result<u32, String> {
    let t = x224(buf)?;
    if t.get(1).map(|c| c & 0xf0) != Some(X224_CR) {
        return Err("not a Connection Request".into());
    }
    match negotiation(t)? {
        None => Ok(PROTOCOL_RDP),
        Some((TYPE_RDP_NEG_REQ, _, p)) => Ok(p),
        Some((other, ..)) => Err(format!("negotiation type {other} in a Connection Request")),
    }
}

/// Name of a single selected protocol.
pub fn protocol_name(p: u32) -> String {
    match p {
        PROTOCOL_RDP => "rdp".into(),
        PROTOCOL_SSL => "ssl".into(),
        PROTOCOL_HYBRID => "hybrid".into(),
        PROTOCOL_RDSTLS => "rdstls".into(),
        PROTOCOL_HYBRID_EX => "hybrid_ex".into(),
        other => format!("{other:#x}"),
    }
}

/// Name of a failure code.
pub fn failure_name(code: u32) -> String {
    match code {
        1 => "ssl-required-by-server".into(),
        2 => "ssl-not-allowed-by-server".into(),
        3 => "ssl-cert-not-on-server".into(),
        4 => "inconsistent-flags".into(),
        5 => "hybrid-required-by-server".into(),
        6 => "ssl-with-user-auth-required-by-server".into(),
        other => format!("failure-{other}"),
    }
}

/// The registry entry.
pub static PROBE: Probe = Probe {
    name: "rdp",
    transport: Transport::Tcp,
    ports: &[3389],
    intrusiveness: Intrusiveness::Safe,
    fallback: false,
    sends: "two X.224 Connection Requests in TPKT ([MS-RDPBCGR] 2.2.1.1), one per connection: \
            RDP_NEG_REQ asking PROTOCOL_SSL|PROTOCOL_HYBRID, then PROTOCOL_RDP only; reads each \
            Connection Confirm and closes (no TLS, no credentials)",
    run,
};

fn run(ctx: ProbeContext) -> ProbeFuture {
    Box::pin(async move { probe(ctx).await })
}

async fn ask(ctx: &ProbeContext, protocols: u32) -> Result<Negotiation, ProbeError> {
    let mut s = io::connect(ctx).await?;
    let r = async {
        io::send(&mut s, &connection_request(protocols), ctx).await?;
        io::read_until(&mut s, ctx, MAX_TPKT, tpkt_complete).await
    }
    .await;
    io::close(s).await;
    let buf = r?;
    if buf.is_empty() {
        return Err(ProbeError::Io(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "peer closed without a Connection Confirm",
        )));
    }
    if buf.first() != Some(&3) {
        return Err(ProbeError::NotThisProtocol {
            protocol: "rdp",
            reason: format!("reply is not TPKT: {:?}", io::printable(&buf, 40)),
        });
    }
    parse_confirm(&buf).map_err(|reason| ProbeError::Malformed {
        protocol: "rdp",
        reason,
    })
}

async fn probe(ctx: ProbeContext) -> Result<Observation, ProbeError> {
    let first = ask(&ctx, PROTOCOL_SSL | PROTOCOL_HYBRID).await?;
    // Some servers drop a client that offers standard RDP security only: that is a refusal.
    let rdp_only = match ask(&ctx, PROTOCOL_RDP).await {
        Ok(n) => Some(n),
        Err(ProbeError::Io(_) | ProbeError::Timeout(_)) => None,
        Err(e) => return Err(e),
    };
    let mut obs = Observation::new("rdp");
    let mut evidence = Vec::new();
    let nla_offered = match first {
        Negotiation::Selected { protocol, flags } => {
            obs.attr("selected_protocol", protocol_name(protocol));
            obs.attr("negotiation_flags", format!("{flags:#04x}"));
            if protocol == PROTOCOL_HYBRID || protocol == PROTOCOL_HYBRID_EX {
                true
            } else {
                evidence.push(format!(
                    "offered SSL|HYBRID, server selected {}",
                    protocol_name(protocol)
                ));
                false
            }
        }
        Negotiation::Legacy => {
            obs.attr("selected_protocol", "rdp");
            evidence.push("server does not negotiate: standard RDP security only".to_string());
            false
        }
        Negotiation::Failure { code } => {
            obs.attr("failure", failure_name(code));
            evidence.push(format!(
                "offered SSL|HYBRID, server refused with {}",
                failure_name(code)
            ));
            false
        }
    };
    let rdp_accepted = match rdp_only {
        Some(Negotiation::Selected {
            protocol: PROTOCOL_RDP,
            ..
        })
        | Some(Negotiation::Legacy) => true,
        Some(Negotiation::Failure { code }) => {
            obs.attributes
                .entry("failure".into())
                .or_insert_with(|| failure_name(code));
            false
        }
        _ => false,
    };
    obs.attr(
        "standard_rdp_security",
        if rdp_accepted { "accepted" } else { "refused" },
    );
    if rdp_accepted {
        evidence.push("server accepted a client offering standard RDP security only".into());
    }
    let nla = if nla_offered && !rdp_accepted {
        "required"
    } else if nla_offered {
        "supported"
    } else {
        "not-supported"
    };
    obs.attr("nla", nla);
    obs.banner = Some(format!(
        "RDP, selected {}, NLA {nla}",
        obs.attributes
            .get("selected_protocol")
            .map(String::as_str)
            .unwrap_or("none")
    ));
    obs.finding(
        "rdp-exposed",
        format!("X.224 Connection Confirm on port {}", ctx.addr.port()),
    );
    if nla != "required" {
        obs.finding("rdp-no-nla", evidence.join("; "));
    }
    Ok(obs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn request_bytes_match_the_spec_example() {
        // [MS-RDPBCGR] 4.1.1 without the cookie: TPKT 03 00 00 13, X.224 0e e0 00 00 <src> 00,
        // RDP_NEG_REQ 01 00 08 00 03 00 00 00.
        let r = connection_request(PROTOCOL_SSL | PROTOCOL_HYBRID);
        assert_eq!(r.len(), 19);
        assert_eq!(&r[..6], &[3, 0, 0, 19, 14, X224_CR]);
        assert_eq!(&r[11..], &[1, 0, 8, 0, 3, 0, 0, 0]);
        assert_eq!(parse_request(&r), Ok(3));
    }

    #[test]
    fn parses_confirms() {
        // [MS-RDPBCGR] 4.1.2: 03 00 00 13 0e d0 00 00 12 34 00 02 00 08 00 01 00 00 00.
        let cc = [
            3, 0, 0, 0x13, 0x0e, 0xd0, 0, 0, 0x12, 0x34, 0, 2, 0, 8, 0, 1, 0, 0, 0,
        ];
        assert_eq!(
            parse_confirm(&cc),
            Ok(Negotiation::Selected {
                protocol: PROTOCOL_SSL,
                flags: 0
            })
        );
        assert_eq!(tpkt_complete(&cc), Some(19));
        assert_eq!(tpkt_complete(&cc[..10]), None);
        let legacy = connection_confirm(Negotiation::Legacy);
        assert_eq!(legacy.len(), 11);
        assert_eq!(parse_confirm(&legacy), Ok(Negotiation::Legacy));
        let fail = connection_confirm(Negotiation::Failure {
            code: HYBRID_REQUIRED_BY_SERVER,
        });
        assert_eq!(
            parse_confirm(&fail),
            Ok(Negotiation::Failure {
                code: HYBRID_REQUIRED_BY_SERVER
            })
        );
    }

    #[test]
    fn rejects_garbage_truncation_and_bad_lengths() {
        assert!(parse_confirm(b"HTTP/1.1 400 Bad").is_err());
        assert!(parse_confirm(b"SSH-2.0-OpenSSH\r\n").is_err());
        let cc = connection_confirm(Negotiation::Selected {
            protocol: 2,
            flags: 0x1f,
        });
        for cut in 0..cc.len() {
            assert!(parse_confirm(&cc[..cut]).is_err(), "cut {cut}");
        }
        // Length indicator pointing past the packet.
        let mut bad = cc.clone();
        bad[4] = 200;
        assert!(parse_confirm(&bad).is_err());
        // TPKT length beyond the cap.
        let mut big = cc.clone();
        big[2..4].copy_from_slice(&0xffffu16.to_be_bytes());
        assert!(parse_confirm(&big).is_err());
        assert_eq!(tpkt_complete(&big), Some(big.len()));
        // A Connection Request is not a confirm.
        assert!(parse_confirm(&connection_request(0)).is_err());
        // Negotiation structure claiming a length other than 8.
        let mut odd = cc;
        odd[13] = 9;
        assert!(parse_confirm(&odd).is_err());
    }

    proptest! {
        #[test]
        fn parsers_never_panic(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = tpkt_complete(&b);
            let _ = parse_confirm(&b);
            let _ = parse_request(&b);
        }

        #[test]
        fn confirm_round_trip(p in any::<u32>(), flags in any::<u8>(), code in any::<u32>()) {
            let sel = Negotiation::Selected { protocol: p, flags };
            prop_assert_eq!(parse_confirm(&connection_confirm(sel)), Ok(sel));
            let f = Negotiation::Failure { code };
            prop_assert_eq!(parse_confirm(&connection_confirm(f)), Ok(f));
            prop_assert_eq!(parse_request(&connection_request(p)), Ok(p));
        }
    }
}
