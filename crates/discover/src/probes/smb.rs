//! SMB: is SMBv1 accepted, is signing required, which dialect, and who is the server.
//!
//! Wire formats:
//! - Direct TCP transport ([MS-SMB2] 2.1, RFC 1002 §4.3.1): every message is framed by a 4-byte
//!   header, a zero byte and a 24-bit big-endian length.
//! - SMB1 `SMB_COM_NEGOTIATE` ([MS-CIFS] 2.2.4.52, [MS-SMB] 2.2.4.5): a 32-byte header starting
//!   `\xffSMB`, the dialect list as `\x02`-prefixed strings; the NT LM 0.12 response carries 17
//!   parameter words (SecurityMode, Capabilities, SystemTime, ...) and, without extended security,
//!   the challenge followed by the domain and server names.
//! - SMB2 `NEGOTIATE` ([MS-SMB2] 2.2.3 / 2.2.4): a 64-byte header starting `\xfeSMB`; the response
//!   gives SecurityMode (signing enabled/required), the dialect, the server GUID and system time.
//! - SMB2 `SESSION_SETUP` ([MS-SMB2] 2.2.5 / 2.2.6) carrying an NTLMSSP `NEGOTIATE_MESSAGE`
//!   ([MS-NLMP] 2.2.1.1): the server's `CHALLENGE_MESSAGE` (2.2.1.2) names the computer and domain
//!   (AV pairs, 2.2.2.1) and the OS version (2.2.2.10). No authentication is attempted.
//!
//! What the probe sends (port 445, two connections): (1) an SMB2 NEGOTIATE offering dialects
//! 2.0.2–3.1.1 (with the mandatory pre-authentication integrity context), then an SMB2
//! SESSION_SETUP carrying only an NTLMSSP NEGOTIATE message; it reads the challenge and closes
//! without answering it. (2) An SMB1 NEGOTIATE offering only `NT LM 0.12`; it reads the reply and
//! closes. Nothing is opened, read or written on the server.
//!
//! Attributes: `smb1` (`true`/`false`), `smb1_security_mode`, `smb2_dialect` (e.g. `3.1.1`),
//! `signing` (`required`/`enabled`/`disabled`), `server_guid`, `system_time` (UTC, ISO 8601),
//! `netbios_domain`, `netbios_name`, `dns_domain`, `dns_name`, `ntlm_os_version` (from the NTLM
//! challenge; a standalone server names itself as the domain), `workgroup` (the primary domain or
//! workgroup from the SMB1 negotiate response, when SMB1 answers).
//! Findings: `smbv1-enabled`, `smb-signing-not-required`.

use crate::io;
use crate::probe::{Intrusiveness, Observation, Probe, ProbeContext, ProbeError, ProbeFuture};
use medguard_model::Transport;

/// Largest SMB message accepted (negotiate/challenge replies are a few hundred bytes).
pub const MAX_MESSAGE: usize = 16 * 1024;
/// `\xffSMB` ([MS-CIFS] 2.2.3.1).
pub const SMB1_MAGIC: [u8; 4] = [0xff, b'S', b'M', b'B'];
/// `\xfeSMB` ([MS-SMB2] 2.2.1).
pub const SMB2_MAGIC: [u8; 4] = [0xfe, b'S', b'M', b'B'];
/// `SMB_COM_NEGOTIATE`.
pub const SMB1_COM_NEGOTIATE: u8 = 0x72;
/// The one SMB1 dialect the probe offers.
pub const NT_LM_012: &str = "NT LM 0.12";
/// SMB2 commands.
pub const SMB2_NEGOTIATE: u16 = 0;
pub const SMB2_SESSION_SETUP: u16 = 1;
/// Dialects the SMB2 probe offers ([MS-SMB2] 2.2.3).
pub const DIALECTS: [u16; 5] = [0x0202, 0x0210, 0x0300, 0x0302, 0x0311];
/// `STATUS_MORE_PROCESSING_REQUIRED`.
pub const STATUS_MORE_PROCESSING: u32 = 0xC000_0016;
/// SMB1 SecurityMode bits ([MS-CIFS] 2.2.4.52.2).
pub const SMB1_SIGNATURES_ENABLED: u8 = 0x04;
pub const SMB1_SIGNATURES_REQUIRED: u8 = 0x08;
/// SMB2 SecurityMode bits ([MS-SMB2] 2.2.4).
pub const SMB2_SIGNING_ENABLED: u16 = 0x01;
pub const SMB2_SIGNING_REQUIRED: u16 = 0x02;
/// `CAP_EXTENDED_SECURITY` ([MS-CIFS] 2.2.4.52.2).
pub const CAP_EXTENDED_SECURITY: u32 = 0x8000_0000;
/// `NTLMSSP\0` ([MS-NLMP] 2.2.1).
pub const NTLMSSP: &[u8; 8] = b"NTLMSSP\0";

// ---- little helpers over untrusted bytes -------------------------------------------------------

fn get<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    b.get(at..at.checked_add(N)?)?.try_into().ok()
}
fn u16le(b: &[u8], at: usize) -> Option<u16> {
    get::<2>(b, at).map(u16::from_le_bytes)
}
fn u32le(b: &[u8], at: usize) -> Option<u32> {
    get::<4>(b, at).map(u32::from_le_bytes)
}
fn u64le(b: &[u8], at: usize) -> Option<u64> {
    get::<8>(b, at).map(u64::from_le_bytes)
}
fn short(what: &str) -> String {
    format!("{what} truncated")
}

/// Wrap an SMB message in the direct-TCP frame (RFC 1002 §4.3.1 / [MS-SMB2] 2.1).
pub fn frame(msg: &[u8]) -> Vec<u8> {
    let len = msg.len().min(0x00ff_ffff) as u32;
    let mut out = Vec::with_capacity(4 + msg.len());
    out.push(0);
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    out.extend_from_slice(msg);
    out
}

/// Length of the complete frame at the start of `buf`, for `io::read_until`. An oversized or
/// non-session frame is "complete" at once so that [`unframe`] can reject it.
pub fn frame_complete(buf: &[u8]) -> Option<usize> {
    let h = get::<4>(buf, 0)?;
    let len = u32::from_be_bytes([0, h[1], h[2], h[3]]) as usize;
    if h[0] != 0 || len > MAX_MESSAGE {
        return Some(buf.len());
    }
    (buf.len() >= 4 + len).then_some(4 + len)
}

/// The SMB message inside one direct-TCP frame.
pub fn unframe(buf: &[u8]) -> Result<&[u8], String> {
    let h = get::<4>(buf, 0).ok_or_else(|| short("frame header"))?;
    if h[0] != 0 {
        return Err(format!("frame type {:#04x} is not a session message", h[0]));
    }
    let len = u32::from_be_bytes([0, h[1], h[2], h[3]]) as usize;
    if len > MAX_MESSAGE {
        return Err(format!("frame of {len} bytes"));
    }
    buf.get(4..4 + len).ok_or_else(|| short("frame"))
}

// ---- NetBIOS session service (port 139) -------------------------------------------------------

/// The NetBIOS session service port (RFC 1002 §4.3): SMB there needs a SESSION REQUEST first.
pub const NETBIOS_SESSION_PORT: u16 = 139;
/// Session packet types (RFC 1002 §4.3.1).
pub const SESSION_REQUEST: u8 = 0x81;
pub const POSITIVE_SESSION_RESPONSE: u8 = 0x82;
pub const NEGATIVE_SESSION_RESPONSE: u8 = 0x83;

/// A NetBIOS name in first-level encoding (RFC 1001 §14.1): padded to 15 characters with spaces,
/// the suffix byte, each half-byte as `'A' + nibble`, length-prefixed (32), empty scope.
pub fn netbios_name(name: &str, suffix: u8) -> [u8; 34] {
    let mut raw = [b' '; 16];
    for (r, c) in raw.iter_mut().zip(name.bytes().take(15)) {
        *r = c.to_ascii_uppercase();
    }
    raw[15] = suffix;
    let mut out = [0u8; 34];
    out[0] = 32;
    for (i, b) in raw.iter().enumerate() {
        out[1 + 2 * i] = b'A' + (b >> 4);
        out[2 + 2 * i] = b'A' + (b & 0x0f);
    }
    out
}

/// SESSION REQUEST to `*SMBSERVER` (the name every SMB server answers to) from `MEDGUARD`.
pub fn session_request() -> Vec<u8> {
    let mut body = netbios_name("*SMBSERVER", 0x20).to_vec();
    body.extend_from_slice(&netbios_name("MEDGUARD", 0x00));
    let mut out = vec![SESSION_REQUEST, 0];
    out.extend_from_slice(&(body.len() as u16).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

/// Length of the complete session packet of any type at the start of `buf` (17-bit length).
pub fn session_complete(buf: &[u8]) -> Option<usize> {
    let h = get::<4>(buf, 0)?;
    let len = (usize::from(h[1] & 1) << 16) | usize::from(u16::from_be_bytes([h[2], h[3]]));
    let total = 4 + len.min(MAX_MESSAGE);
    (buf.len() >= total).then_some(total)
}

/// Judge the answer to a SESSION REQUEST: `Ok` for a positive response, else why not.
pub fn parse_session_response(b: &[u8]) -> Result<(), String> {
    match b.first() {
        Some(&POSITIVE_SESSION_RESPONSE) => Ok(()),
        Some(&NEGATIVE_SESSION_RESPONSE) => Err(format!(
            "NetBIOS session refused (error {:#04x})",
            b.get(4).copied().unwrap_or(0)
        )),
        Some(other) => Err(format!(
            "session packet type {other:#04x} instead of a response"
        )),
        None => Err("no session response".into()),
    }
}

// ---- SMB1 --------------------------------------------------------------------------------------

/// An SMB1 header for `command` ([MS-CIFS] 2.2.3.1). Flags2: long names, NT status, Unicode
/// (no extended security, so an NT LM 0.12 reply carries the domain name in clear).
fn smb1_header(command: u8, flags: u8, flags2: u16, status: u32) -> Vec<u8> {
    let mut h = Vec::with_capacity(32);
    h.extend_from_slice(&SMB1_MAGIC);
    h.push(command);
    h.extend_from_slice(&status.to_le_bytes());
    h.push(flags);
    h.extend_from_slice(&flags2.to_le_bytes());
    h.extend_from_slice(&[0; 2]); // PIDHigh
    h.extend_from_slice(&[0; 8]); // SecurityFeatures
    h.extend_from_slice(&[0; 2]); // Reserved
    h.extend_from_slice(&[0; 2]); // TID
    h.extend_from_slice(&0xfeffu16.to_le_bytes()); // PIDLow
    h.extend_from_slice(&[0; 2]); // UID
    h.extend_from_slice(&[0; 2]); // MID
    h
}

/// `SMB_COM_NEGOTIATE` offering the given dialects, framed.
pub fn smb1_negotiate_request(dialects: &[&str]) -> Vec<u8> {
    let mut m = smb1_header(SMB1_COM_NEGOTIATE, 0x18, 0xc001, 0);
    m.push(0); // WordCount
    let mut bytes = Vec::new();
    for d in dialects {
        bytes.push(0x02); // buffer format: dialect string
        bytes.extend_from_slice(d.as_bytes());
        bytes.push(0);
    }
    m.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
    m.extend_from_slice(&bytes);
    frame(&m)
}

/// The dialect strings of an SMB1 negotiate request (used by the simulator).
pub fn smb1_request_dialects(msg: &[u8]) -> Result<Vec<String>, String> {
    if get::<4>(msg, 0) != Some(SMB1_MAGIC) || msg.get(4) != Some(&SMB1_COM_NEGOTIATE) {
        return Err("not an SMB1 negotiate request".into());
    }
    let wc = *msg.get(32).ok_or_else(|| short("word count"))? as usize;
    let bc_at = 33 + 2 * wc;
    let bc = u16le(msg, bc_at).ok_or_else(|| short("byte count"))? as usize;
    let bytes = msg
        .get(bc_at + 2..bc_at + 2 + bc)
        .ok_or_else(|| short("dialects"))?;
    Ok(bytes
        .split(|&b| b == 0)
        .filter_map(|d| d.strip_prefix(&[0x02]))
        .map(|d| String::from_utf8_lossy(d).to_string())
        .collect())
}

/// What an SMB1 NT LM 0.12 negotiate response says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Smb1Negotiate {
    /// Index of the chosen dialect in the request, `0xffff` if none was acceptable.
    pub dialect_index: u16,
    pub security_mode: u8,
    pub capabilities: u32,
    /// FILETIME (100 ns since 1601-01-01 UTC).
    pub system_time: u64,
    pub server_guid: Option<[u8; 16]>,
    pub domain: Option<String>,
    pub server_name: Option<String>,
}

/// Parse an SMB1 negotiate response (the SMB message, without the frame).
pub fn parse_smb1_negotiate(msg: &[u8]) -> Result<Smb1Negotiate, String> {
    if get::<4>(msg, 0) != Some(SMB1_MAGIC) {
        return Err("not an SMB1 message".into());
    }
    if msg.get(4) != Some(&SMB1_COM_NEGOTIATE) {
        return Err("not a negotiate response".into());
    }
    let status = u32le(msg, 5).ok_or_else(|| short("header"))?;
    if status != 0 {
        return Err(format!("negotiate refused with status {status:#010x}"));
    }
    let flags2 = u16le(msg, 10).ok_or_else(|| short("header"))?;
    let wc = *msg.get(32).ok_or_else(|| short("word count"))?;
    let w = 33;
    let dialect_index = u16le(msg, w).ok_or_else(|| short("dialect index"))?;
    let mut n = Smb1Negotiate {
        dialect_index,
        ..Smb1Negotiate::default()
    };
    if wc == 1 || dialect_index == 0xffff {
        return Ok(n);
    }
    if wc != 17 {
        return Err(format!(
            "{wc} parameter words, not the NT LM 0.12 response's 17"
        ));
    }
    n.security_mode = *msg.get(w + 2).ok_or_else(|| short("security mode"))?;
    n.capabilities = u32le(msg, w + 19).ok_or_else(|| short("capabilities"))?;
    n.system_time = u64le(msg, w + 23).ok_or_else(|| short("system time"))?;
    let challenge_len = *msg.get(w + 33).ok_or_else(|| short("challenge length"))? as usize;
    let bc_at = w + 34;
    let bc = u16le(msg, bc_at).ok_or_else(|| short("byte count"))? as usize;
    let bytes = msg
        .get(bc_at + 2..bc_at + 2 + bc)
        .ok_or_else(|| short("data"))?;
    if n.capabilities & CAP_EXTENDED_SECURITY != 0 {
        n.server_guid = get::<16>(bytes, 0);
    } else {
        let names = bytes.get(challenge_len..).unwrap_or_default();
        let unicode = flags2 & 0x8000 != 0;
        let (domain, used) = c_string(names, unicode);
        let (server, _) = c_string(names.get(used..).unwrap_or_default(), unicode);
        n.domain = Some(domain).filter(|s| !s.is_empty());
        n.server_name = Some(server).filter(|s| !s.is_empty());
    }
    Ok(n)
}

/// A NUL-terminated string (UTF-16LE or OEM) capped at 256 characters, and the bytes it used.
fn c_string(b: &[u8], unicode: bool) -> (String, usize) {
    if unicode {
        let mut units = Vec::new();
        let mut i = 0;
        while let Some(u) = u16le(b, i) {
            i += 2;
            if u == 0 {
                break;
            }
            if units.len() < 256 {
                units.push(u);
            }
        }
        (String::from_utf16_lossy(&units), i)
    } else {
        let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
        let s = b.get(..end.min(256)).unwrap_or_default();
        (
            String::from_utf8_lossy(s).to_string(),
            (end + 1).min(b.len()),
        )
    }
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// An SMB1 NT LM 0.12 negotiate response without extended security (used by the simulator).
pub fn smb1_negotiate_response(
    security_mode: u8,
    system_time: u64,
    domain: &str,
    server: &str,
) -> Vec<u8> {
    let mut m = smb1_header(SMB1_COM_NEGOTIATE, 0x98, 0xc001, 0);
    m.push(17);
    m.extend_from_slice(&0u16.to_le_bytes()); // DialectIndex
    m.push(security_mode);
    m.extend_from_slice(&50u16.to_le_bytes()); // MaxMpxCount
    m.extend_from_slice(&1u16.to_le_bytes()); // MaxNumberVcs
    m.extend_from_slice(&16644u32.to_le_bytes()); // MaxBufferSize
    m.extend_from_slice(&65536u32.to_le_bytes()); // MaxRawSize
    m.extend_from_slice(&0u32.to_le_bytes()); // SessionKey
    m.extend_from_slice(&0x0000_f3fdu32.to_le_bytes()); // Capabilities (no extended security)
    m.extend_from_slice(&system_time.to_le_bytes());
    m.extend_from_slice(&0i16.to_le_bytes()); // ServerTimeZone
    m.push(8); // ChallengeLength
    let mut bytes = vec![0x11; 8];
    for s in [domain, server] {
        bytes.extend_from_slice(&utf16(s));
        bytes.extend_from_slice(&[0, 0]);
    }
    m.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
    m.extend_from_slice(&bytes);
    frame(&m)
}

// ---- SMB2 --------------------------------------------------------------------------------------

/// An SMB2 header ([MS-SMB2] 2.2.1.2, sync form).
fn smb2_header(command: u16, status: u32, message_id: u64, response: bool) -> Vec<u8> {
    let mut h = Vec::with_capacity(64);
    h.extend_from_slice(&SMB2_MAGIC);
    h.extend_from_slice(&64u16.to_le_bytes()); // StructureSize
    h.extend_from_slice(&0u16.to_le_bytes()); // CreditCharge
    h.extend_from_slice(&status.to_le_bytes());
    h.extend_from_slice(&command.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes()); // CreditRequest / CreditResponse
    h.extend_from_slice(&u32::from(response).to_le_bytes()); // Flags: SERVER_TO_REDIR
    h.extend_from_slice(&0u32.to_le_bytes()); // NextCommand
    h.extend_from_slice(&message_id.to_le_bytes());
    h.extend_from_slice(&0u32.to_le_bytes()); // Reserved (ProcessId)
    h.extend_from_slice(&0u32.to_le_bytes()); // TreeId
    h.extend_from_slice(&0u64.to_le_bytes()); // SessionId
    h.extend_from_slice(&[0; 16]); // Signature
    h
}

fn pad8(m: &mut Vec<u8>) {
    while !m.len().is_multiple_of(8) {
        m.push(0);
    }
}

/// A pre-authentication integrity capabilities context ([MS-SMB2] 2.2.3.1.1), SHA-512.
fn preauth_context(salt: [u8; 32]) -> Vec<u8> {
    let mut c = Vec::new();
    c.extend_from_slice(&1u16.to_le_bytes()); // SMB2_PREAUTH_INTEGRITY_CAPABILITIES
    c.extend_from_slice(&38u16.to_le_bytes()); // DataLength
    c.extend_from_slice(&0u32.to_le_bytes()); // Reserved
    c.extend_from_slice(&1u16.to_le_bytes()); // HashAlgorithmCount
    c.extend_from_slice(&32u16.to_le_bytes()); // SaltLength
    c.extend_from_slice(&1u16.to_le_bytes()); // SHA-512
    c.extend_from_slice(&salt);
    c
}

/// SMB2 NEGOTIATE offering [`DIALECTS`], framed ([MS-SMB2] 2.2.3).
pub fn smb2_negotiate_request() -> Vec<u8> {
    let mut m = smb2_header(SMB2_NEGOTIATE, 0, 0, false);
    m.extend_from_slice(&36u16.to_le_bytes()); // StructureSize
    m.extend_from_slice(&(DIALECTS.len() as u16).to_le_bytes());
    m.extend_from_slice(&SMB2_SIGNING_ENABLED.to_le_bytes()); // SecurityMode
    m.extend_from_slice(&0u16.to_le_bytes()); // Reserved
    m.extend_from_slice(&0u32.to_le_bytes()); // Capabilities
    m.extend_from_slice(b"medguard-probe\0\0"); // ClientGuid
    let ctx_offset_at = m.len();
    m.extend_from_slice(&0u32.to_le_bytes()); // NegotiateContextOffset (patched)
    m.extend_from_slice(&1u16.to_le_bytes()); // NegotiateContextCount
    m.extend_from_slice(&0u16.to_le_bytes()); // Reserved2
    for d in DIALECTS {
        m.extend_from_slice(&d.to_le_bytes());
    }
    pad8(&mut m);
    let off = (m.len() as u32).to_le_bytes();
    m[ctx_offset_at..ctx_offset_at + 4].copy_from_slice(&off);
    m.extend_from_slice(&preauth_context([0x4d; 32]));
    frame(&m)
}

/// A parsed SMB2 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Smb2Header {
    pub status: u32,
    pub command: u16,
    pub message_id: u64,
}

/// Parse the SMB2 header at the start of `msg`.
pub fn parse_smb2_header(msg: &[u8]) -> Result<Smb2Header, String> {
    if get::<4>(msg, 0) != Some(SMB2_MAGIC) {
        return Err("not an SMB2 message".into());
    }
    if u16le(msg, 4) != Some(64) {
        return Err("SMB2 header size is not 64".into());
    }
    Ok(Smb2Header {
        status: u32le(msg, 8).ok_or_else(|| short("header"))?,
        command: u16le(msg, 12).ok_or_else(|| short("header"))?,
        message_id: u64le(msg, 24).ok_or_else(|| short("header"))?,
    })
}

/// The dialects of an SMB2 NEGOTIATE request (used by the simulator).
pub fn smb2_request_dialects(msg: &[u8]) -> Result<Vec<u16>, String> {
    let h = parse_smb2_header(msg)?;
    if h.command != SMB2_NEGOTIATE {
        return Err("not a negotiate request".into());
    }
    let count = u16le(msg, 66).ok_or_else(|| short("dialect count"))? as usize;
    (0..count.min(64))
        .map(|i| u16le(msg, 100 + 2 * i).ok_or_else(|| short("dialects")))
        .collect()
}

/// What an SMB2 NEGOTIATE response says ([MS-SMB2] 2.2.4).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Smb2Negotiate {
    pub security_mode: u16,
    pub dialect: u16,
    pub server_guid: [u8; 16],
    pub capabilities: u32,
    /// FILETIME.
    pub system_time: u64,
}

/// Parse an SMB2 NEGOTIATE response (without the frame).
pub fn parse_smb2_negotiate(msg: &[u8]) -> Result<Smb2Negotiate, String> {
    let h = parse_smb2_header(msg)?;
    if h.command != SMB2_NEGOTIATE {
        return Err(format!("command {} instead of NEGOTIATE", h.command));
    }
    if h.status != 0 {
        return Err(format!("negotiate refused with status {:#010x}", h.status));
    }
    let b = msg.get(64..).ok_or_else(|| short("body"))?;
    if u16le(b, 0) != Some(65) {
        return Err("negotiate response structure size is not 65".into());
    }
    Ok(Smb2Negotiate {
        security_mode: u16le(b, 2).ok_or_else(|| short("security mode"))?,
        dialect: u16le(b, 4).ok_or_else(|| short("dialect"))?,
        server_guid: get::<16>(b, 8).ok_or_else(|| short("server guid"))?,
        capabilities: u32le(b, 24).ok_or_else(|| short("capabilities"))?,
        system_time: u64le(b, 40).ok_or_else(|| short("system time"))?,
    })
}

/// An SMB2 NEGOTIATE response (used by the simulator); 3.1.1 carries its pre-auth context.
pub fn smb2_negotiate_response(n: &Smb2Negotiate) -> Vec<u8> {
    let mut m = smb2_header(SMB2_NEGOTIATE, 0, 0, true);
    let contexts = u16::from(n.dialect == 0x0311);
    m.extend_from_slice(&65u16.to_le_bytes());
    m.extend_from_slice(&n.security_mode.to_le_bytes());
    m.extend_from_slice(&n.dialect.to_le_bytes());
    m.extend_from_slice(&contexts.to_le_bytes());
    m.extend_from_slice(&n.server_guid);
    m.extend_from_slice(&n.capabilities.to_le_bytes());
    for _ in 0..3 {
        m.extend_from_slice(&65536u32.to_le_bytes()); // MaxTransact/Read/WriteSize
    }
    m.extend_from_slice(&n.system_time.to_le_bytes());
    m.extend_from_slice(&0u64.to_le_bytes()); // ServerStartTime
    m.extend_from_slice(&128u16.to_le_bytes()); // SecurityBufferOffset
    m.extend_from_slice(&0u16.to_le_bytes()); // SecurityBufferLength
    let ctx_offset_at = m.len();
    m.extend_from_slice(&0u32.to_le_bytes());
    if contexts > 0 {
        pad8(&mut m);
        let off = (m.len() as u32).to_le_bytes();
        m[ctx_offset_at..ctx_offset_at + 4].copy_from_slice(&off);
        m.extend_from_slice(&preauth_context([0x53; 32]));
    }
    frame(&m)
}

/// Dotted name of an SMB2 dialect revision.
pub fn dialect_name(d: u16) -> String {
    match d {
        0x0202 => "2.0.2".into(),
        0x0210 => "2.1".into(),
        0x0300 => "3.0".into(),
        0x0302 => "3.0.2".into(),
        0x0311 => "3.1.1".into(),
        0x02ff => "2.???".into(),
        other => format!("{other:#06x}"),
    }
}

// ---- NTLMSSP -----------------------------------------------------------------------------------

/// NTLMSSP NEGOTIATE flags: Unicode, request target, NTLM, always sign, extended session
/// security, target info, version, 128-bit, 56-bit ([MS-NLMP] 2.2.2.5).
const NTLM_NEGOTIATE_FLAGS: u32 = 0xa288_8205;

/// An NTLMSSP `NEGOTIATE_MESSAGE` with no domain or workstation ([MS-NLMP] 2.2.1.1).
pub fn ntlm_negotiate() -> Vec<u8> {
    let mut m = NTLMSSP.to_vec();
    m.extend_from_slice(&1u32.to_le_bytes());
    m.extend_from_slice(&NTLM_NEGOTIATE_FLAGS.to_le_bytes());
    m.extend_from_slice(&[0; 16]); // DomainNameFields, WorkstationFields
    m.extend_from_slice(&[0; 8]); // Version
    m
}

/// SMB2 SESSION_SETUP carrying `blob` ([MS-SMB2] 2.2.5), framed.
pub fn smb2_session_setup_request(blob: &[u8]) -> Vec<u8> {
    let mut m = smb2_header(SMB2_SESSION_SETUP, 0, 1, false);
    m.extend_from_slice(&25u16.to_le_bytes()); // StructureSize
    m.push(0); // Flags
    m.push(SMB2_SIGNING_ENABLED as u8); // SecurityMode
    m.extend_from_slice(&0u32.to_le_bytes()); // Capabilities
    m.extend_from_slice(&0u32.to_le_bytes()); // Channel
    m.extend_from_slice(&88u16.to_le_bytes()); // SecurityBufferOffset
    m.extend_from_slice(&(blob.len() as u16).to_le_bytes());
    m.extend_from_slice(&0u64.to_le_bytes()); // PreviousSessionId
    m.extend_from_slice(blob);
    frame(&m)
}

/// The security buffer of an SMB2 SESSION_SETUP request or response.
pub fn smb2_security_buffer(msg: &[u8]) -> Result<&[u8], String> {
    let h = parse_smb2_header(msg)?;
    if h.command != SMB2_SESSION_SETUP {
        return Err(format!("command {} instead of SESSION_SETUP", h.command));
    }
    // Request: offset at body+12; response: StructureSize 9, offset at body+4 ([MS-SMB2] 2.2.6).
    let (off_at, len_at) = match u16le(msg, 64) {
        Some(25) => (76, 78),
        Some(9) => (68, 70),
        _ => return Err("unexpected SESSION_SETUP structure size".into()),
    };
    let off = u16le(msg, off_at).ok_or_else(|| short("security buffer offset"))? as usize;
    let len = u16le(msg, len_at).ok_or_else(|| short("security buffer length"))? as usize;
    msg.get(off..off + len)
        .ok_or_else(|| "security buffer outside the message".into())
}

/// What an NTLMSSP `CHALLENGE_MESSAGE` reveals ([MS-NLMP] 2.2.1.2, 2.2.2.1, 2.2.2.10).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NtlmInfo {
    pub target_name: Option<String>,
    pub netbios_name: Option<String>,
    pub netbios_domain: Option<String>,
    pub dns_name: Option<String>,
    pub dns_domain: Option<String>,
    pub dns_forest: Option<String>,
    /// Product major, minor, build.
    pub version: Option<(u8, u8, u16)>,
}

fn utf16_field(b: &[u8]) -> String {
    let units: Vec<u16> = b
        .chunks_exact(2)
        .take(256)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}

/// Find and parse the `CHALLENGE_MESSAGE` anywhere in `blob` (raw or inside SPNEGO).
pub fn parse_ntlm_challenge(blob: &[u8]) -> Result<NtlmInfo, String> {
    let start = blob
        .windows(8)
        .position(|w| w == NTLMSSP)
        .ok_or("no NTLMSSP message")?;
    let m = blob.get(start..).unwrap_or_default();
    if u32le(m, 8) != Some(2) {
        return Err("NTLMSSP message is not a CHALLENGE".into());
    }
    let field = |at: usize| -> Option<&[u8]> {
        let len = u16le(m, at)? as usize;
        let off = u32le(m, at + 4)? as usize;
        m.get(off..off.checked_add(len)?)
    };
    let flags = u32le(m, 20).ok_or_else(|| short("challenge"))?;
    let mut info = NtlmInfo {
        target_name: field(12).map(utf16_field).filter(|s| !s.is_empty()),
        ..NtlmInfo::default()
    };
    if flags & 0x0200_0000 != 0
        && let Some(v) = get::<8>(m, 48)
    {
        info.version = Some((v[0], v[1], u16::from_le_bytes([v[2], v[3]])));
    }
    let av = field(40).unwrap_or_default();
    let mut i = 0;
    for _ in 0..64 {
        let (Some(id), Some(len)) = (u16le(av, i), u16le(av, i + 2)) else {
            break;
        };
        let Some(value) = av.get(i + 4..i + 4 + len as usize) else {
            break;
        };
        let s = || Some(utf16_field(value)).filter(|s| !s.is_empty());
        match id {
            0 => break, // MsvAvEOL
            1 => info.netbios_name = s(),
            2 => info.netbios_domain = s(),
            3 => info.dns_name = s(),
            4 => info.dns_domain = s(),
            5 => info.dns_forest = s(),
            _ => {}
        }
        i += 4 + len as usize;
    }
    Ok(info)
}

/// An NTLMSSP `CHALLENGE_MESSAGE` with target info (used by the simulator).
pub fn ntlm_challenge(info: &NtlmInfo) -> Vec<u8> {
    let target = utf16(info.target_name.as_deref().unwrap_or_default());
    let mut av = Vec::new();
    for (id, v) in [
        (2u16, &info.netbios_domain),
        (1, &info.netbios_name),
        (4, &info.dns_domain),
        (3, &info.dns_name),
        (5, &info.dns_forest),
    ] {
        if let Some(v) = v {
            let u = utf16(v);
            av.extend_from_slice(&id.to_le_bytes());
            av.extend_from_slice(&(u.len() as u16).to_le_bytes());
            av.extend_from_slice(&u);
        }
    }
    av.extend_from_slice(&[0; 4]); // MsvAvEOL
    let (major, minor, build) = info.version.unwrap_or_default();
    let mut m = NTLMSSP.to_vec();
    m.extend_from_slice(&2u32.to_le_bytes());
    let target_off = 56u32;
    m.extend_from_slice(&(target.len() as u16).to_le_bytes());
    m.extend_from_slice(&(target.len() as u16).to_le_bytes());
    m.extend_from_slice(&target_off.to_le_bytes());
    m.extend_from_slice(&(NTLM_NEGOTIATE_FLAGS | 0x0001_0000).to_le_bytes());
    m.extend_from_slice(&[0x22; 8]); // ServerChallenge
    m.extend_from_slice(&[0; 8]); // Reserved
    let av_off = target_off + target.len() as u32;
    m.extend_from_slice(&(av.len() as u16).to_le_bytes());
    m.extend_from_slice(&(av.len() as u16).to_le_bytes());
    m.extend_from_slice(&av_off.to_le_bytes());
    m.extend_from_slice(&[major, minor]);
    m.extend_from_slice(&build.to_le_bytes());
    m.extend_from_slice(&[0, 0, 0, 15]); // Reserved, NTLMRevisionCurrent
    m.extend_from_slice(&target);
    m.extend_from_slice(&av);
    m
}

/// An SMB2 SESSION_SETUP response with `STATUS_MORE_PROCESSING_REQUIRED` (used by the simulator).
pub fn smb2_session_setup_response(blob: &[u8]) -> Vec<u8> {
    let mut m = smb2_header(SMB2_SESSION_SETUP, STATUS_MORE_PROCESSING, 1, true);
    m.extend_from_slice(&9u16.to_le_bytes());
    m.extend_from_slice(&0u16.to_le_bytes()); // SessionFlags
    m.extend_from_slice(&72u16.to_le_bytes()); // SecurityBufferOffset
    m.extend_from_slice(&(blob.len() as u16).to_le_bytes());
    m.extend_from_slice(blob);
    frame(&m)
}

// ---- time and names ----------------------------------------------------------------------------

/// FILETIME to `YYYY-MM-DDTHH:MM:SSZ`, `None` for zero or out-of-range values.
pub fn filetime_iso(ft: u64) -> Option<String> {
    let secs = (ft / 10_000_000).checked_sub(11_644_473_600)?;
    let days = i64::try_from(secs / 86_400).ok()?;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    if y > 9999 {
        return None;
    }
    Some(format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    ))
}

/// GUID in the registry form `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (first three fields LE).
pub fn guid_string(g: &[u8; 16]) -> String {
    format!(
        "{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{}",
        u32::from_le_bytes([g[0], g[1], g[2], g[3]]),
        u16::from_le_bytes([g[4], g[5]]),
        u16::from_le_bytes([g[6], g[7]]),
        g[8],
        g[9],
        g[10..]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

/// A Windows name for an NTLM product version; `None` when the build is 0 (Samba and other
/// non-Windows servers fill the field with a fixed version and build 0).
pub fn windows_name(major: u8, minor: u8, build: u16) -> Option<String> {
    if build == 0 {
        return None;
    }
    let name = match (major, minor) {
        (5, 0) => "Windows 2000",
        (5, 1) => "Windows XP",
        (5, 2) => "Windows XP x64 / Server 2003",
        (6, 0) => "Windows Vista / Server 2008",
        (6, 1) => "Windows 7 / Server 2008 R2",
        (6, 2) => "Windows 8 / Server 2012",
        (6, 3) => "Windows 8.1 / Server 2012 R2",
        (10, 0) if build >= 22000 => "Windows 11 / Server 2022+",
        (10, 0) => "Windows 10 / Server 2016-2019",
        _ => "Windows",
    };
    Some(format!("{name} (build {build})"))
}

// ---- the probe ---------------------------------------------------------------------------------

/// The registry entry.
pub static PROBE: Probe = Probe {
    name: "smb",
    transport: Transport::Tcp,
    ports: &[445, 139],
    intrusiveness: Intrusiveness::Safe,
    fallback: false,
    sends: "(on port 139 each connection first sends a NetBIOS SESSION REQUEST to *SMBSERVER) \
            connection 1: SMB2 NEGOTIATE (dialects 2.0.2-3.1.1), then SMB2 SESSION_SETUP with an \
            NTLMSSP NEGOTIATE message only (reads the challenge, never answers it); connection 2: \
            SMB1 NEGOTIATE offering only `NT LM 0.12`; no login, no share access",
    run,
};

fn run(ctx: ProbeContext) -> ProbeFuture {
    Box::pin(async move { probe(ctx).await })
}

async fn exchange(
    s: &mut tokio::net::TcpStream,
    ctx: &ProbeContext,
    req: &[u8],
) -> Result<Vec<u8>, ProbeError> {
    io::send(s, req, ctx).await?;
    let buf = io::read_until(s, ctx, MAX_MESSAGE + 4, frame_complete).await?;
    if buf.is_empty() {
        return Err(ProbeError::Io(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "peer closed the connection",
        )));
    }
    Ok(buf)
}

fn not_smb(reason: impl Into<String>) -> ProbeError {
    ProbeError::NotThisProtocol {
        protocol: "smb",
        reason: reason.into(),
    }
}

/// Connect; on the NetBIOS session port, open the session first (RFC 1002 §4.3.2).
async fn open(ctx: &ProbeContext) -> Result<tokio::net::TcpStream, ProbeError> {
    let mut s = io::connect(ctx).await?;
    if ctx.addr.port() != NETBIOS_SESSION_PORT {
        return Ok(s);
    }
    let r = async {
        io::send(&mut s, &session_request(), ctx).await?;
        let b = io::read_until(&mut s, ctx, MAX_MESSAGE + 4, session_complete).await?;
        match b.first() {
            Some(&(POSITIVE_SESSION_RESPONSE | NEGATIVE_SESSION_RESPONSE)) => {
                parse_session_response(&b).map_err(|reason| ProbeError::Malformed {
                    protocol: "smb",
                    reason,
                })
            }
            _ => Err(not_smb(format!(
                "no NetBIOS session response: {:?}",
                io::printable(&b, 40)
            ))),
        }
    }
    .await;
    match r {
        Ok(()) => Ok(s),
        Err(e) => {
            io::close(s).await;
            Err(e)
        }
    }
}

/// Connection 1: SMB2 negotiate and the NTLM challenge.
async fn smb2(ctx: &ProbeContext) -> Result<(Smb2Negotiate, Option<NtlmInfo>), ProbeError> {
    let mut s = open(ctx).await?;
    let r = async {
        let buf = exchange(&mut s, ctx, &smb2_negotiate_request()).await?;
        let msg = unframe(&buf).map_err(not_smb)?;
        if get::<4>(msg, 0) == Some(SMB1_MAGIC) {
            return Err(not_smb("answered SMB2 with SMB1"));
        }
        if get::<4>(msg, 0) != Some(SMB2_MAGIC) {
            return Err(not_smb("reply is not SMB2"));
        }
        let neg = parse_smb2_negotiate(msg).map_err(|reason| ProbeError::Malformed {
            protocol: "smb",
            reason,
        })?;
        let ntlm = match exchange(&mut s, ctx, &smb2_session_setup_request(&ntlm_negotiate())).await
        {
            Ok(buf) => unframe(&buf)
                .and_then(smb2_security_buffer)
                .and_then(parse_ntlm_challenge)
                .ok(),
            Err(_) => None,
        };
        Ok((neg, ntlm))
    }
    .await;
    io::close(s).await;
    r
}

/// Connection 2: does the server accept SMB1 (NT LM 0.12)?
async fn smb1(ctx: &ProbeContext) -> Result<Option<Smb1Negotiate>, ProbeError> {
    let mut s = open(ctx).await?;
    let r = exchange(&mut s, ctx, &smb1_negotiate_request(&[NT_LM_012])).await;
    io::close(s).await;
    let buf = match r {
        Ok(b) => b,
        // Servers with SMB1 disabled close or reset the connection (Windows, Samba).
        Err(ProbeError::Io(_) | ProbeError::Timeout(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let msg = unframe(&buf).map_err(not_smb)?;
    if get::<4>(msg, 0) == Some(SMB2_MAGIC) {
        return Ok(None);
    }
    match parse_smb1_negotiate(msg) {
        Ok(n) if n.dialect_index == 0 => Ok(Some(n)),
        Ok(_) => Ok(None),
        Err(e) if e.starts_with("negotiate refused") => Ok(None),
        Err(reason) => Err(ProbeError::Malformed {
            protocol: "smb",
            reason,
        }),
    }
}

async fn probe(ctx: ProbeContext) -> Result<Observation, ProbeError> {
    // A peer that is clearly not SMB gets no second connection.
    let two = match smb2(&ctx).await {
        Err(e @ ProbeError::NotThisProtocol { .. }) => return Err(e),
        other => other,
    };
    let one = smb1(&ctx).await;
    let (two, one) = match (two, one) {
        (Err(e), Err(_)) | (Err(e), Ok(None)) => return Err(e),
        (two, one) => (two.ok(), one.ok().flatten()),
    };
    let mut obs = Observation::new("smb");
    obs.attr("smb1", one.is_some().to_string());
    let mut signing_required = None;
    let mut system_time = None;
    if let Some((neg, ntlm)) = &two {
        obs.attr("smb2_dialect", dialect_name(neg.dialect));
        obs.attr("server_guid", guid_string(&neg.server_guid));
        signing_required = Some((
            neg.security_mode & SMB2_SIGNING_REQUIRED != 0,
            neg.security_mode & SMB2_SIGNING_ENABLED != 0,
            format!("SMB2 NEGOTIATE SecurityMode={:#06x}", neg.security_mode),
        ));
        system_time = filetime_iso(neg.system_time);
        if let Some(n) = ntlm {
            let put = |obs: &mut Observation, k: &str, v: &Option<String>| {
                if let Some(v) = v {
                    obs.attr(k, io::printable(v.as_bytes(), 256));
                }
            };
            put(&mut obs, "netbios_domain", &n.netbios_domain);
            put(&mut obs, "netbios_name", &n.netbios_name);
            put(&mut obs, "dns_domain", &n.dns_domain);
            put(&mut obs, "dns_name", &n.dns_name);
            obs.hostname = n
                .dns_name
                .clone()
                .or_else(|| n.netbios_name.clone())
                .map(|h| io::printable(h.as_bytes(), 256));
            if let Some((major, minor, build)) = n.version {
                obs.attr("ntlm_os_version", format!("{major}.{minor}.{build}"));
                obs.os = windows_name(major, minor, build);
            }
        }
    }
    if let Some(n) = &one {
        obs.attr("smb1_security_mode", format!("{:#04x}", n.security_mode));
        if signing_required.is_none() {
            signing_required = Some((
                n.security_mode & SMB1_SIGNATURES_REQUIRED != 0,
                n.security_mode & SMB1_SIGNATURES_ENABLED != 0,
                format!("SMB1 NEGOTIATE SecurityMode={:#04x}", n.security_mode),
            ));
        }
        if system_time.is_none() {
            system_time = filetime_iso(n.system_time);
        }
        if let Some(d) = &n.domain {
            obs.attr("workgroup", io::printable(d.as_bytes(), 256));
            obs.attributes
                .entry("netbios_domain".into())
                .or_insert_with(|| io::printable(d.as_bytes(), 256));
        }
        if let Some(s) = &n.server_name {
            obs.attributes
                .entry("netbios_name".into())
                .or_insert_with(|| io::printable(s.as_bytes(), 256));
            if obs.hostname.is_none() {
                obs.hostname = Some(io::printable(s.as_bytes(), 256));
            }
        }
        obs.finding(
            "smbv1-enabled",
            format!("server accepted SMB1 dialect {NT_LM_012:?}"),
        );
    }
    if let Some(t) = system_time {
        obs.attr("system_time", t);
    }
    if let Some((required, enabled, evidence)) = signing_required {
        obs.attr(
            "signing",
            if required {
                "required"
            } else if enabled {
                "enabled"
            } else {
                "disabled"
            },
        );
        if !required {
            obs.finding("smb-signing-not-required", evidence);
        }
    }
    let dialect = obs.attributes.get("smb2_dialect").cloned();
    obs.banner = Some(match (&dialect, one.is_some()) {
        (Some(d), true) => format!("SMB {d} (SMB1 also accepted)"),
        (Some(d), false) => format!("SMB {d}"),
        (None, _) => "SMB1 (NT LM 0.12) only".to_string(),
    });
    Ok(obs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn smb1_request_is_a_framed_nt_lm_negotiate() {
        let req = smb1_negotiate_request(&[NT_LM_012]);
        // [MS-CIFS] 2.2.4.52.1: 32-byte header, WordCount 0, ByteCount 12, "\x02NT LM 0.12\0".
        assert_eq!(frame_complete(&req), Some(req.len()));
        let msg = unframe(&req).expect("frame");
        assert_eq!(msg.len(), 32 + 1 + 2 + 12);
        assert_eq!(&msg[..5], b"\xffSMBr");
        assert_eq!(&msg[35..], b"\x02NT LM 0.12\0");
        assert_eq!(
            smb1_request_dialects(msg).expect("dialects"),
            vec![NT_LM_012]
        );
    }

    #[test]
    fn smb1_response_round_trip_with_names() {
        let ft = 133_000_000_000_000_000u64;
        let resp = smb1_negotiate_response(0x03, ft, "CLINIC", "XRAY-NAS");
        let n = parse_smb1_negotiate(unframe(&resp).expect("frame")).expect("parse");
        assert_eq!(n.dialect_index, 0);
        assert_eq!(n.security_mode, 0x03);
        assert_eq!(n.system_time, ft);
        assert_eq!(n.domain.as_deref(), Some("CLINIC"));
        assert_eq!(n.server_name.as_deref(), Some("XRAY-NAS"));
        assert_eq!(n.server_guid, None);
    }

    #[test]
    fn smb1_refusals_and_garbage() {
        // A server that accepts none of the dialects answers WordCount 1, DialectIndex 0xffff.
        let mut m = smb1_header(SMB1_COM_NEGOTIATE, 0x98, 0xc001, 0);
        m.extend_from_slice(&[1, 0xff, 0xff, 0, 0]);
        assert_eq!(
            parse_smb1_negotiate(&m).expect("parse").dialect_index,
            0xffff
        );
        // Non-zero status.
        let m = smb1_header(SMB1_COM_NEGOTIATE, 0x98, 0xc001, 0xC000_0002);
        assert!(
            parse_smb1_negotiate(&m)
                .expect_err("refused")
                .contains("status")
        );
        // Truncation at every point never panics and is an error.
        let resp = smb1_negotiate_response(0x0f, 1, "D", "S");
        let msg = unframe(&resp).expect("frame");
        for cut in 0..70 {
            assert!(parse_smb1_negotiate(&msg[..cut]).is_err(), "cut {cut}");
        }
        assert!(
            unframe(b"\x85\x00\x00\x00").is_err(),
            "NetBIOS keepalive is not a message"
        );
        assert!(unframe(b"\x00\xff\xff\xff").is_err(), "oversized frame");
        assert_eq!(frame_complete(b"\x00\xff\xff\xff"), Some(4));
    }

    #[test]
    fn smb2_request_follows_the_spec_layout() {
        let req = smb2_negotiate_request();
        let msg = unframe(&req).expect("frame");
        let h = parse_smb2_header(msg).expect("header");
        assert_eq!((h.command, h.status), (SMB2_NEGOTIATE, 0));
        assert_eq!(
            smb2_request_dialects(msg).expect("dialects"),
            DIALECTS.to_vec()
        );
        // [MS-SMB2] 2.2.3: NegotiateContextOffset is 8-byte aligned and points at a
        // PREAUTH_INTEGRITY_CAPABILITIES context.
        let off = u32le(msg, 64 + 28).expect("offset") as usize;
        assert_eq!(off % 8, 0);
        assert_eq!(u16le(msg, off), Some(1));
        assert_eq!(msg.len(), off + 8 + 38);
    }

    #[test]
    fn smb2_response_round_trip() {
        let n = Smb2Negotiate {
            security_mode: SMB2_SIGNING_ENABLED,
            dialect: 0x0311,
            server_guid: *b"0123456789abcdef",
            capabilities: 0x2f,
            system_time: 133_444_444_444_444_444,
        };
        let resp = smb2_negotiate_response(&n);
        assert_eq!(
            parse_smb2_negotiate(unframe(&resp).expect("frame")).expect("parse"),
            n
        );
        let msg = unframe(&resp).expect("frame");
        // Everything up to the end of SystemTime (body offset 48) is needed.
        for cut in 0..112 {
            assert!(parse_smb2_negotiate(&msg[..cut]).is_err(), "cut {cut}");
        }
    }

    #[test]
    fn ntlm_challenge_round_trip_inside_session_setup() {
        let info = NtlmInfo {
            target_name: Some("CLINIC".into()),
            netbios_name: Some("FRONTDESK".into()),
            netbios_domain: Some("CLINIC".into()),
            dns_name: Some("frontdesk.clinic.local".into()),
            dns_domain: Some("clinic.local".into()),
            dns_forest: Some("clinic.local".into()),
            version: Some((10, 0, 19041)),
        };
        let resp = smb2_session_setup_response(&ntlm_challenge(&info));
        let msg = unframe(&resp).expect("frame");
        assert_eq!(
            parse_smb2_header(msg).expect("h").status,
            STATUS_MORE_PROCESSING
        );
        let blob = smb2_security_buffer(msg).expect("buffer");
        assert_eq!(parse_ntlm_challenge(blob).expect("parse"), info);
        // The request side carries the NEGOTIATE message.
        let req = smb2_session_setup_request(&ntlm_negotiate());
        let blob = smb2_security_buffer(unframe(&req).expect("frame")).expect("buffer");
        assert_eq!(&blob[..8], NTLMSSP);
        assert_eq!(u32le(blob, 8), Some(1));
        assert!(
            parse_ntlm_challenge(blob).is_err(),
            "NEGOTIATE is not a CHALLENGE"
        );
    }

    #[test]
    fn ntlm_challenge_with_absurd_offsets() {
        let mut m = ntlm_challenge(&NtlmInfo::default());
        // TargetInfoFields offset far outside the message.
        m[44..48].copy_from_slice(&u32::MAX.to_le_bytes());
        let info = parse_ntlm_challenge(&m).expect("parse");
        assert_eq!(info.netbios_name, None);
    }

    #[test]
    fn netbios_session_request_and_responses() {
        // RFC 1001 §14.1: "FRED" (padded with spaces, suffix 0x20) encodes as
        // "EGFCEFEECACACACACACACACACACACACA".
        let n = netbios_name("Fred", 0x20);
        assert_eq!(n[0], 32);
        assert_eq!(&n[1..33], b"EGFCEFEECACACACACACACACACACACACA");
        assert_eq!(n[33], 0);
        let r = session_request();
        assert_eq!(r.len(), 4 + 68);
        assert_eq!(
            (r[0], u16::from_be_bytes([r[2], r[3]])),
            (SESSION_REQUEST, 68)
        );
        assert_eq!(session_complete(&r), Some(r.len()));
        assert_eq!(session_complete(&r[..10]), None);
        assert_eq!(parse_session_response(&[0x82, 0, 0, 0]), Ok(()));
        assert!(
            parse_session_response(&[0x83, 0, 0, 1, 0x82])
                .expect_err("no")
                .contains("0x82")
        );
        assert!(parse_session_response(&[0x00, 0, 0, 0]).is_err());
        assert!(parse_session_response(&[]).is_err());
    }

    #[test]
    fn names_and_times() {
        // 2024-01-01T00:00:00Z = 1704067200 s after the Unix epoch.
        let ft = (1_704_067_200u64 + 11_644_473_600) * 10_000_000;
        assert_eq!(filetime_iso(ft).as_deref(), Some("2024-01-01T00:00:00Z"));
        assert_eq!(filetime_iso(0), None);
        assert_eq!(filetime_iso(u64::MAX), None);
        let g = [
            0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
            0xee, 0xff,
        ];
        assert_eq!(guid_string(&g), "00112233-4455-6677-8899-aabbccddeeff");
        assert_eq!(dialect_name(0x0311), "3.1.1");
        assert_eq!(windows_name(6, 1, 0), None);
        assert_eq!(
            windows_name(6, 1, 7601).as_deref(),
            Some("Windows 7 / Server 2008 R2 (build 7601)")
        );
    }

    proptest! {
        #[test]
        fn parsers_never_panic(b in proptest::collection::vec(any::<u8>(), 0..800)) {
            let _ = frame_complete(&b);
            let _ = session_complete(&b);
            let _ = parse_session_response(&b);
            let _ = unframe(&b);
            let _ = parse_smb1_negotiate(&b);
            let _ = smb1_request_dialects(&b);
            let _ = parse_smb2_negotiate(&b);
            let _ = smb2_request_dialects(&b);
            let _ = smb2_security_buffer(&b);
            let _ = parse_ntlm_challenge(&b);
            let mut with_magic = NTLMSSP.to_vec();
            with_magic.extend_from_slice(&2u32.to_le_bytes());
            with_magic.extend_from_slice(&b);
            let _ = parse_ntlm_challenge(&with_magic);
        }

        #[test]
        fn filetime_never_panics(ft in any::<u64>()) {
            let _ = filetime_iso(ft);
        }

        #[test]
        fn smb1_names_round_trip(d in "[A-Z0-9-]{1,15}", s in "[A-Z0-9-]{1,15}", mode in any::<u8>()) {
            let r = smb1_negotiate_response(mode, 5, &d, &s);
            let n = parse_smb1_negotiate(unframe(&r).expect("frame")).expect("parse");
            prop_assert_eq!(n.domain, Some(d));
            prop_assert_eq!(n.server_name, Some(s));
            prop_assert_eq!(n.security_mode, mode);
        }
    }
}
