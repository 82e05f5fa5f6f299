//! Outlook messages saved as `.msg` ([MS-OXMSG]): a compound file (read with the `cfb` crate)
//! whose properties are streams named `__substg1.0_IIIITTTT` (property id, type: `001F` UTF-16,
//! `001E` 8-bit, `0102` binary). Read: subject, sender, display To/Cc/Bcc, the transport headers,
//! the plain body (else the HTML body as text, else the compressed RTF body, [MS-OXRTFCP]), each
//! recipient (`__recip_version1.0_#n`: name,
//! address, SMTP address) and each attachment (`__attach_version1.0_#n`: its file, scanned with
//! its own format, or an attached message, read the same way to a bounded depth).

use super::{Cx, ExtractError, Unit};
use medguard_model::PhiProblem;
use std::io::{Read, Seek};

type Ole<'d> = cfb::CompoundFile<std::io::Cursor<&'d [u8]>>;

/// Largest property stream read.
const MAX_STREAM: u64 = 64 << 20;
/// Recipients and attachments read per message.
const MAX_PARTS: usize = 1000;

fn corrupt(reason: impl std::fmt::Display) -> ExtractError {
    ExtractError::corrupt("msg", reason)
}

/// Whether a compound file is an Outlook item (message properties at its root).
pub fn is_message<F>(c: &cfb::CompoundFile<F>) -> bool {
    c.is_stream("/__properties_version1.0")
        && c.read_root_storage()
            .any(|e| e.name().starts_with("__substg1.0_"))
}

fn stream<F: Read + Seek>(ole: &mut cfb::CompoundFile<F>, path: &str) -> Option<Vec<u8>> {
    let mut s = ole.open_stream(path).ok()?;
    super::read_capped(&mut s, MAX_STREAM, "msg").ok()
}

/// A string property of the object at `dir`: UTF-16 (`001F`), else 8-bit (`001E`, UTF-8 when it
/// is valid, else Windows-1252).
fn string<F: Read + Seek>(ole: &mut cfb::CompoundFile<F>, dir: &str, id: u16) -> Option<String> {
    if let Some(b) = stream(ole, &format!("{dir}/__substg1.0_{id:04X}001F")) {
        let units = b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]));
        let s: String = char::decode_utf16(units)
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect();
        return Some(s.trim_end_matches('\0').to_string());
    }
    let b = stream(ole, &format!("{dir}/__substg1.0_{id:04X}001E"))?;
    let s = match String::from_utf8(b) {
        Ok(s) => s,
        Err(e) => encoding_rs::WINDOWS_1252
            .decode(e.as_bytes())
            .0
            .into_owned(),
    };
    Some(s.trim_end_matches('\0').to_string())
}

/// Properties shown as one labelled unit each.
const FIELDS: &[(u16, &str)] = &[
    (0x0037, "Subject"),
    (0x0C1A, "From"),
    (0x0C1F, "From"),
    (0x5D01, "From"),
    (0x0042, "From"),
    (0x0065, "From"),
    (0x0E04, "To"),
    (0x0E03, "Cc"),
    (0x0E02, "Bcc"),
];

/// Recipient properties: display name, address, SMTP address.
const RECIPIENT: &[u16] = &[0x3001, 0x3003, 0x39FE];

/// The children of a storage whose names start with `prefix`, in name order.
fn children<F: Read + Seek>(ole: &cfb::CompoundFile<F>, dir: &str, prefix: &str) -> Vec<String> {
    let Ok(entries) = ole.read_storage(if dir.is_empty() { "/" } else { dir }) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter(|e| e.is_storage() && e.name().starts_with(prefix))
        .map(|e| e.name().to_string())
        .take(MAX_PARTS)
        .collect();
    names.sort();
    names
}

/// Scan the message stored at `dir` (`""` for the file's own, else an attached message).
fn message(
    ole: &mut Ole<'_>,
    dir: &str,
    depth: usize,
    cx: &mut Cx<'_>,
) -> Result<(), ExtractError> {
    // The sender is often written twice (sender and "sent representing"): each text once.
    let mut seen: Vec<String> = Vec::new();
    for &(id, label) in FIELDS {
        if let Some(v) = string(ole, dir, id) {
            if seen.contains(&v) {
                continue;
            }
            cx.lines(
                &v,
                Unit {
                    label: Some(label),
                    ..Unit::default()
                },
            )?;
            seen.push(v);
        }
    }
    // PR_TRANSPORT_MESSAGE_HEADERS: the message's Internet headers, as in an .eml.
    if let Some(h) = string(ole, dir, 0x007D) {
        super::mail::header_units(&h, None, cx)?;
    }
    // The body: plain text, else HTML, else the compressed RTF older Outlook versions keep alone.
    if let Some(body) = string(ole, dir, 0x1000).filter(|b| !b.is_empty()) {
        super::text::text_str(&body, None, None, cx)?;
    } else if let Some(h) = string(ole, dir, 0x1013).or_else(|| {
        stream(ole, &format!("{dir}/__substg1.0_10130102"))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }) {
        // Read as a page: its tables keep their header cells.
        super::html::html(h.as_bytes(), None, cx)?;
    } else if let Some(c) = stream(ole, &format!("{dir}/__substg1.0_10090102")) {
        match decompress_rtf(&c, MAX_STREAM as usize) {
            Ok(rtf) => super::rtf::rtf(&rtf, cx)?,
            Err(e) => cx.warn(
                PhiProblem::Unreadable,
                format!("message body (compressed RTF): {e}"),
            ),
        }
    }
    for r in children(ole, dir, "__recip_version1.0_#") {
        let rdir = format!("{dir}/{r}");
        for &id in RECIPIENT {
            if let Some(v) = string(ole, &rdir, id) {
                cx.unit(Unit {
                    text: &v,
                    label: Some("Recipient"),
                    ..Unit::default()
                })?;
            }
        }
    }
    for (i, a) in children(ole, dir, "__attach_version1.0_#")
        .into_iter()
        .enumerate()
    {
        cx.check_deadline()?;
        let adir = format!("{dir}/{a}");
        let inner = format!("{adir}/__substg1.0_3701000D");
        if ole.is_storage(&inner) {
            if depth >= cx.limits.max_depth {
                cx.warn(
                    PhiProblem::TooLarge,
                    format!(
                        "attached message {}: not opened: nested deeper than {} levels",
                        i + 1,
                        cx.limits.max_depth
                    ),
                );
            } else {
                message(ole, &inner, depth + 1, cx)?;
            }
            continue;
        }
        let name = string(ole, &adir, 0x3707)
            .or_else(|| string(ole, &adir, 0x3704))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| format!("attachment-{}", i + 1));
        if let Some(data) = stream(ole, &format!("{adir}/__substg1.0_37010102")) {
            cx.member(&name, &data)?;
        }
    }
    Ok(())
}

/// Scan an Outlook `.msg` message with its attachments.
pub fn msg(data: &[u8], cx: &mut Cx<'_>) -> Result<(), ExtractError> {
    cx.in_email = true;
    let mut ole = std::panic::catch_unwind(|| cfb::CompoundFile::open(std::io::Cursor::new(data)))
        .map_err(|_| corrupt("the compound file reader crashed"))?
        .map_err(|e| corrupt(format!("not a compound file: {e}")))?;
    // The cfb reader checks bounds itself; a crash in it stays a per-file error.
    let mut run = || message(&mut ole, "", 0, cx);
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(&mut run))
        .map_err(|_| corrupt("the compound file reader crashed"))?
}

/// The dictionary every compressed RTF stream starts from ([MS-OXRTFCP] 2.1.2.1).
const RTF_PREBUF: &[u8] = b"{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss \\fmodern \\fscript \\fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\\colortbl\\red0\\green0\\blue0\r\n\\par \\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx";

/// Decompress `PR_RTF_COMPRESSED` ([MS-OXRTFCP]): a 16-byte header (compressed size, raw size,
/// `LZFu` or `MELA` for uncompressed, CRC), then runs of a control byte and eight tokens: a literal
/// byte (bit 0) or a big-endian 12-bit offset into a 4096-byte circular dictionary and a 4-bit
/// length - 2 (bit 1); a reference to the write position itself ends the stream. At most `max`
/// bytes come out.
pub fn decompress_rtf(data: &[u8], max: usize) -> Result<Vec<u8>, String> {
    let word = |at: usize| {
        data.get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
            .ok_or("truncated header")
    };
    let raw = usize::try_from(word(4)?).map_err(|e| e.to_string())?;
    let body = data.get(16..).unwrap_or_default();
    match word(8)? {
        // "MELA": stored as is.
        0x414C_454D => return Ok(body.iter().take(raw.min(max)).copied().collect()),
        // "LZFu"
        0x7546_5A4C => {}
        t => return Err(format!("unknown compression type {t:#010x}")),
    }
    let mut dict = [0u8; 4096];
    dict[..RTF_PREBUF.len()].copy_from_slice(RTF_PREBUF);
    let mut wpos = RTF_PREBUF.len();
    let mut out = Vec::with_capacity(raw.min(max).min(1 << 20));
    let mut input = body.iter().copied();
    'runs: while let Some(control) = input.next() {
        for bit in 0..8 {
            if out.len() >= max {
                break 'runs;
            }
            if control & (1 << bit) == 0 {
                let Some(b) = input.next() else {
                    break 'runs;
                };
                out.push(b);
                dict[wpos] = b;
                wpos = (wpos + 1) % dict.len();
                continue;
            }
            let (Some(hi), Some(lo)) = (input.next(), input.next()) else {
                break 'runs;
            };
            let token = u16::from_be_bytes([hi, lo]);
            let offset = usize::from(token >> 4);
            if offset == wpos {
                break 'runs;
            }
            for i in 0..usize::from(token & 0xF) + 2 {
                let b = dict[(offset + i) % dict.len()];
                out.push(b);
                dict[wpos] = b;
                wpos = (wpos + 1) % dict.len();
            }
        }
    }
    out.truncate(max);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of [MS-OXRTFCP] 3.1.1 (also what Python's `compressed_rtf` writes).
    #[test]
    fn compressed_rtf_example_of_the_spec() {
        let c = [
            0x2d, 0x00, 0x00, 0x00, 0x2b, 0x00, 0x00, 0x00, 0x4c, 0x5a, 0x46, 0x75, 0xf1, 0xc5,
            0xc7, 0xa7, 0x03, 0x00, 0x0a, 0x00, 0x72, 0x63, 0x70, 0x67, 0x31, 0x32, 0x35, 0x42,
            0x32, 0x0a, 0xf3, 0x20, 0x68, 0x65, 0x6c, 0x09, 0x00, 0x20, 0x62, 0x77, 0x05, 0xb0,
            0x6c, 0x64, 0x7d, 0x0a, 0x80, 0x0f, 0xa0,
        ];
        let want = b"{\\rtf1\\ansi\\ansicpg1252\\pard hello world}\r\n";
        assert_eq!(decompress_rtf(&c, 1 << 20).expect("lzfu"), want);
        // Capped output, truncated input, an unknown type: no panic, no overrun.
        assert_eq!(decompress_rtf(&c, 5).expect("capped"), &want[..5]);
        for n in 0..c.len() {
            let _ = decompress_rtf(&c[..n], 1 << 20);
        }
        let mut bad = c;
        bad[8] = b'X';
        assert!(decompress_rtf(&bad, 1 << 20).is_err());
        assert_eq!(RTF_PREBUF.len(), 207);
        let mut mela = c[..16].to_vec();
        mela[8..12].copy_from_slice(b"MELA");
        mela[4..8].copy_from_slice(&3u32.to_le_bytes());
        mela.extend(b"abcdef");
        assert_eq!(decompress_rtf(&mela, 1 << 20).expect("mela"), b"abc");
    }
}
