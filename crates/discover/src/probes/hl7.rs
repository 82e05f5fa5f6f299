//! HL7 v2 over MLLP identification: one message built to be rejected, and the ACK/NAK read back.
//!
//! What goes on the wire (see [`PROBE`]`.sends`): one MLLP block (`0x0B` message `0x1C 0x0D`, HL7 v2.5
//! Appendix C "Minimal Lower Layer Protocol") holding a single MSH segment with processing ID `T`
//! (training, HL7 v2.5 Table 0103) and the undefined message type `ZZZ^ZZZ`, so the receiver must
//! answer with a reject (MSA-1 `AR`/`CR`, or `AE`) and has nothing to file: no patient, no order, no
//! result. No PID or any other segment is sent.
//!
//! Attributes: `ack_code` (MSA-1), `ack_text` (MSA-3), `sending_application` (MSH-3),
//! `sending_facility` (MSH-4), `hl7_version` (MSH-12), `message_type` (MSH-9 of the reply),
//! `error` (ERR segment, first fields), `framing` (`mllp` or `raw`).
//!
//! Findings: `hl7-unauthenticated` when an interface answers a message from an unknown sender over
//! plain TCP (any reply proves it reads unauthenticated messages).

use crate::io;
use crate::probe::{Intrusiveness, Observation, Probe, ProbeContext, ProbeError, ProbeFuture};
use medguard_model::Transport;

const PROTO: &str = "hl7";
/// MLLP start block character.
pub const SB: u8 = 0x0B;
/// MLLP end block character (followed by a carriage return).
pub const EB: u8 = 0x1C;
/// Largest HL7 reply read.
pub const MAX_MESSAGE: usize = 64 * 1024;
const MAX_SEGMENTS: usize = 64;
const MAX_FIELDS: usize = 64;

/// The registered HL7 probe.
pub static PROBE: Probe = Probe {
    name: PROTO,
    transport: Transport::Tcp,
    ports: &[2575, 2576],
    intrusiveness: Intrusiveness::Safe,
    fallback: true,
    sends: "one MLLP-framed HL7 v2.5 message with only an MSH segment: sending application \
            MEDGUARD, processing ID T (training), undefined message type ZZZ^ZZZ, so the receiver \
            rejects it; no patient data, nothing to file.",
    run,
};

fn run(ctx: ProbeContext) -> ProbeFuture {
    Box::pin(async move { probe(&ctx).await })
}

/// Why bytes are not an HL7 v2 message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Hl7Error {
    #[error("parse an hl7 message: {0}")]
    Invalid(&'static str),
}

/// A parsed HL7 v2 message: segments split into fields (components left as text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Field separator (MSH-1), usually `|`.
    pub separator: char,
    /// Each segment as its fields; `fields[0]` is the segment id. For MSH, `fields[n-1]` is MSH-n.
    pub segments: Vec<Vec<String>>,
}

impl Message {
    /// The first segment with this id.
    pub fn segment(&self, id: &str) -> Option<&[String]> {
        self.segments
            .iter()
            .find(|s| s.first().is_some_and(|f| f == id))
            .map(Vec::as_slice)
    }

    /// MSH-`n` (1-based, as the standard numbers them), if present and not empty.
    pub fn msh(&self, n: usize) -> Option<&str> {
        if n == 1 {
            return None;
        }
        self.field("MSH", n - 1)
    }

    /// Field `n` of the first segment `id` (for non-MSH segments `n` is the standard's number).
    pub fn field(&self, id: &str, n: usize) -> Option<&str> {
        self.segment(id)?
            .get(n)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }
}

/// If `buf` holds a whole MLLP block, its length including the trailer.
pub fn mllp_frame_len(buf: &[u8]) -> Option<usize> {
    if buf.first() != Some(&SB) {
        return None;
    }
    buf.windows(2).position(|w| w == [EB, b'\r']).map(|p| p + 2)
}

/// Strip MLLP framing if present (a bare message is accepted too: some engines skip it).
pub fn unframe(buf: &[u8]) -> &[u8] {
    let b = buf.strip_prefix(&[SB]).unwrap_or(buf);
    match b.iter().position(|&c| c == EB) {
        Some(p) => &b[..p],
        None => b,
    }
}

/// Wrap a message in an MLLP block.
pub fn frame(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 3);
    out.push(SB);
    out.extend_from_slice(message);
    out.extend_from_slice(&[EB, b'\r']);
    out
}

/// Parse an HL7 v2 message (ER7 encoding) that starts with MSH; segments end in CR (LF tolerated).
pub fn parse_message(bytes: &[u8]) -> Result<Message, Hl7Error> {
    if bytes.len() > MAX_MESSAGE {
        return Err(Hl7Error::Invalid("message larger than the cap"));
    }
    let start = bytes
        .windows(3)
        .position(|w| w == b"MSH")
        .filter(|&p| p <= 4)
        .ok_or(Hl7Error::Invalid("no MSH segment at the start"))?;
    let bytes = &bytes[start..];
    let sep = *bytes
        .get(3)
        .ok_or(Hl7Error::Invalid("MSH without a field separator"))?;
    if sep.is_ascii_alphanumeric() || sep == b'\r' || sep == b'\n' || !sep.is_ascii_graphic() {
        return Err(Hl7Error::Invalid("bad field separator"));
    }
    let sep = sep as char;
    let text = String::from_utf8_lossy(bytes);
    let mut segments = Vec::new();
    for line in text.split(['\r', '\n']).filter(|l| !l.is_empty()) {
        if segments.len() >= MAX_SEGMENTS {
            break;
        }
        let fields: Vec<String> = line
            .split(sep)
            .take(MAX_FIELDS)
            .map(|f| io::printable(f.as_bytes(), 200))
            .collect();
        segments.push(fields);
    }
    Ok(Message {
        separator: sep,
        segments,
    })
}

/// HL7 timestamp (YYYYMMDDHHMMSS, UTC) for a Unix time.
pub fn hl7_timestamp(unix_secs: u64) -> String {
    let days = (unix_secs / 86_400) as i64;
    let secs = unix_secs % 86_400;
    // Civil-from-days (proleptic Gregorian), H. Hinnant's algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}",
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60
    )
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The message the probe sends (unframed): MSH only, processing ID T, message type ZZZ^ZZZ.
pub fn probe_message(unix_secs: u64) -> String {
    format!(
        "MSH|^~\\&|MEDGUARD|MEDGUARD-PROBE|||{}||ZZZ^ZZZ|MGPROBE{}|T|2.5\r",
        hl7_timestamp(unix_secs),
        unix_secs
    )
}

/// Build an ACK for `msg` (HL7 v2.5 §2.9.2): MSH with swapped sender/receiver, MSA, and ERR text
/// when the code is not `AA`.
pub fn build_ack(
    msg: &Message,
    code: &str,
    application: &str,
    facility: &str,
    version: &str,
    text: &str,
    unix_secs: u64,
) -> String {
    let trigger = msg
        .msh(9)
        .and_then(|t| t.split('^').nth(1))
        .unwrap_or("")
        .to_string();
    let mut ack = format!(
        "MSH|^~\\&|{application}|{facility}|{}|{}|{}||ACK^{trigger}^ACK|ACK{unix_secs}|{}|{version}\r\
         MSA|{code}|{}|{text}\r",
        msg.msh(3).unwrap_or(""),
        msg.msh(4).unwrap_or(""),
        hl7_timestamp(unix_secs),
        msg.msh(11).unwrap_or("P"),
        msg.msh(10).unwrap_or(""),
    );
    if code != "AA" {
        ack.push_str(&format!(
            "ERR||||E|200^Unsupported message type^HL70357|||{text}\r"
        ));
    }
    ack
}

fn describe(obs: &mut Observation, reply: &Message, framed: bool) {
    let first = |s: &str| s.split('^').next().unwrap_or("").to_string();
    obs.attr("framing", if framed { "mllp" } else { "raw" });
    if let Some(app) = reply.msh(3) {
        obs.attr("sending_application", app);
        obs.product = Some(first(app)).filter(|s| !s.is_empty());
    }
    if let Some(fac) = reply.msh(4) {
        obs.attr("sending_facility", fac);
    }
    if let Some(v) = reply.msh(12) {
        obs.attr("hl7_version", v);
    }
    if let Some(t) = reply.msh(9) {
        obs.attr("message_type", t);
    }
    if let Some(code) = reply.field("MSA", 1) {
        obs.attr("ack_code", code);
    }
    if let Some(text) = reply.field("MSA", 3) {
        obs.attr("ack_text", text);
    }
    if let Some(err) = reply.segment("ERR") {
        obs.attr("error", err[1..].join("|").trim_matches('|').to_string());
    }
    obs.banner = Some(format!(
        "MSH-3 {} MSH-4 {} MSA-1 {}",
        reply.msh(3).unwrap_or("-"),
        reply.msh(4).unwrap_or("-"),
        reply.field("MSA", 1).unwrap_or("-")
    ));
}

async fn probe(ctx: &ProbeContext) -> Result<Observation, ProbeError> {
    if crate::probes::http::RAW_PRINT_PORTS.contains(&ctx.addr.port()) {
        // Anything sent to a raw print port may print: never guess protocols there.
        return Err(ProbeError::NotThisProtocol {
            protocol: PROTO,
            reason: "raw print port: nothing is sent there".into(),
        });
    }
    let mut s = io::connect(ctx).await?;
    let t = now();
    io::send(&mut s, &frame(probe_message(t).as_bytes()), ctx).await?;
    let reply = io::read_until(&mut s, ctx, MAX_MESSAGE, |b| {
        mllp_frame_len(b)
            .or_else(|| (b.first().is_some_and(|&c| c != SB && c != b'M')).then_some(b.len()))
    })
    .await;
    io::close(s).await;
    let reply = reply?;
    if reply.is_empty() {
        return Err(ProbeError::NotThisProtocol {
            protocol: PROTO,
            reason: "closed without answering the HL7 message".into(),
        });
    }
    let framed = reply.first() == Some(&SB);
    let msg = parse_message(unframe(&reply)).map_err(|e| ProbeError::NotThisProtocol {
        protocol: PROTO,
        reason: format!("{e}: {}", io::printable(&reply, 40)),
    })?;
    if msg.segment("MSA").is_none() {
        return Err(ProbeError::Malformed {
            protocol: PROTO,
            reason: "reply without an MSA segment".into(),
        });
    }
    let mut obs = Observation::new(PROTO);
    obs.tls = Some(false);
    describe(&mut obs, &msg, framed);
    obs.finding(
        "hl7-unauthenticated",
        format!(
            "the interface answered an HL7 message from an unknown sender over plain TCP (MSA-1 {}, MSH-3 {})",
            msg.field("MSA", 1).unwrap_or("-"),
            msg.msh(3).unwrap_or("-")
        ),
    );
    Ok(obs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A reject as Mirth Connect sends it (HL7 v2.5 §2.9.2: MSA-1 AR, ERR with HL70357 code 200).
    const MIRTH_NAK: &[u8] = b"\x0bMSH|^~\\&|MIRTH^1.0|LABCORP|MEDGUARD|MEDGUARD-PROBE|20261128120000||ACK^ZZZ^ACK|A1|T|2.5.1\r\
MSA|AR|MGPROBE1|Message type not supported\r\
ERR||||E|200^Unsupported message type^HL70357\r\x1c\r";

    #[test]
    fn parses_a_reject() {
        assert_eq!(mllp_frame_len(MIRTH_NAK), Some(MIRTH_NAK.len()));
        let m = parse_message(unframe(MIRTH_NAK)).expect("parse");
        assert_eq!(m.separator, '|');
        assert_eq!(m.msh(3), Some("MIRTH^1.0"));
        assert_eq!(m.msh(4), Some("LABCORP"));
        assert_eq!(m.msh(9), Some("ACK^ZZZ^ACK"));
        assert_eq!(m.msh(12), Some("2.5.1"));
        assert_eq!(m.field("MSA", 1), Some("AR"));
        assert_eq!(m.field("MSA", 2), Some("MGPROBE1"));
        let mut obs = Observation::new("hl7");
        describe(&mut obs, &m, true);
        assert_eq!(obs.product.as_deref(), Some("MIRTH"));
        assert_eq!(obs.attributes["ack_code"], "AR");
    }

    #[test]
    fn probe_message_is_training_and_undefined() {
        let text = probe_message(1_764_331_200);
        let m = parse_message(text.as_bytes()).expect("parse");
        assert_eq!(m.msh(11), Some("T"));
        assert_eq!(m.msh(9), Some("ZZZ^ZZZ"));
        assert_eq!(m.msh(7), Some("20251128120000"));
        assert_eq!(m.segments.len(), 1, "only MSH is sent");
        let framed = frame(text.as_bytes());
        assert_eq!(framed[0], SB);
        assert!(framed.ends_with(&[EB, b'\r']));
        assert_eq!(unframe(&framed), text.as_bytes());
    }

    #[test]
    fn timestamp_known_dates() {
        assert_eq!(hl7_timestamp(0), "19700101000000");
        assert_eq!(hl7_timestamp(951_782_400), "20000229000000");
        assert_eq!(hl7_timestamp(4_107_542_399), "21000228235959");
    }

    #[test]
    fn ack_round_trip() {
        let rq = parse_message(probe_message(10).as_bytes()).expect("rq");
        let ack = build_ack(&rq, "AR", "LIS", "CLINIC", "2.5", "unsupported", 10);
        let m = parse_message(ack.as_bytes()).expect("ack");
        assert_eq!(m.msh(5), Some("MEDGUARD"));
        assert_eq!(m.msh(11), Some("T"));
        assert_eq!(m.field("MSA", 2), Some("MGPROBE10"));
        assert!(m.segment("ERR").is_some());
    }

    #[test]
    fn rejects_garbage_and_truncation() {
        assert!(parse_message(b"").is_err());
        assert!(parse_message(b"MSH").is_err());
        assert!(parse_message(b"HTTP/1.1 200 OK\r\n").is_err());
        assert!(parse_message(b"MSHA|b").is_err());
        assert_eq!(mllp_frame_len(b"\x0bMSH|^~\\&|A\x1c"), None);
        assert!(parse_message(&vec![b'M'; MAX_MESSAGE + 1]).is_err());
        // Segment and field caps hold on a hostile message.
        let many = format!("MSH|^~\\&{}\r{}", "|x".repeat(500), "ZZZ|a\r".repeat(500));
        let m = parse_message(many.as_bytes()).expect("parse");
        assert!(m.segments.len() <= MAX_SEGMENTS);
        assert!(m.segments.iter().all(|s| s.len() <= MAX_FIELDS));
    }

    proptest! {
        #[test]
        fn parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = mllp_frame_len(&bytes);
            if let Ok(m) = parse_message(unframe(&bytes)) {
                let mut obs = Observation::new("hl7");
                describe(&mut obs, &m, false);
            }
        }

        #[test]
        fn ack_fields_round_trip(app in "[A-Z][A-Z0-9]{0,15}", fac in "[A-Z0-9]{1,12}", code in "A[AER]") {
            let rq = parse_message(probe_message(99).as_bytes()).expect("rq");
            let ack = build_ack(&rq, &code, &app, &fac, "2.5", "x", 99);
            let m = parse_message(unframe(&frame(ack.as_bytes()))).expect("ack");
            prop_assert_eq!(m.msh(3), Some(app.as_str()));
            prop_assert_eq!(m.msh(4), Some(fac.as_str()));
            prop_assert_eq!(m.field("MSA", 1), Some(code.as_str()));
        }
    }
}
