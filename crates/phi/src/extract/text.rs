//! Plain text and logs: bounded line reading with UTF-8, UTF-16 (BOM) and Latin-1 fallback.

use super::{Cx, ExtractError, Unit};
use std::borrow::Cow;
use std::io::{BufRead, BufReader, Read};

/// A reader that turns UTF-16 (and BOM-marked UTF-8) into UTF-8 and passes everything else through.
/// Input without a byte-order mark is read straight from `r`: no second buffer, no copy.
pub fn decoded<'r>(r: &'r mut dyn BufRead) -> std::io::Result<Decoded<'r>> {
    const BOMS: [&[u8]; 3] = [b"\xEF\xBB\xBF", b"\xFF\xFE", b"\xFE\xFF"];
    let head = r.fill_buf()?;
    // A head shorter than a mark that could still become one goes to the decoder too.
    let bom = BOMS
        .iter()
        .any(|m| head.starts_with(m) || (head.len() < m.len() && m.starts_with(head)));
    Ok(if bom && !head.is_empty() {
        Decoded::Bom(BufReader::with_capacity(
            64 << 10,
            encoding_rs_io::DecodeReaderBytesBuilder::new()
                .bom_sniffing(true)
                .build(r),
        ))
    } else {
        Decoded::Plain(r)
    })
}

/// What [`decoded`] reads from.
pub enum Decoded<'r> {
    /// No byte-order mark: the bytes as they are.
    Plain(&'r mut dyn BufRead),
    /// A byte-order mark: transcoded to UTF-8.
    Bom(BufReader<encoding_rs_io::DecodeReaderBytes<&'r mut dyn BufRead, Vec<u8>>>),
}

impl Read for Decoded<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Decoded::Plain(r) => r.read(buf),
            Decoded::Bom(r) => r.read(buf),
        }
    }
}

impl BufRead for Decoded<'_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        match self {
            Decoded::Plain(r) => r.fill_buf(),
            Decoded::Bom(r) => r.fill_buf(),
        }
    }
    fn consume(&mut self, n: usize) {
        match self {
            Decoded::Plain(r) => r.consume(n),
            Decoded::Bom(r) => r.consume(n),
        }
    }
}

/// Decode one line: UTF-8 when valid, else Windows-1252 (a superset of Latin-1).
pub fn decode(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => {
            encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0
        }
    }
}

/// Lines of at most `max` bytes; a longer line comes out in pieces, so memory stays bounded.
pub struct Lines<'r, R: BufRead + ?Sized> {
    r: &'r mut R,
    buf: Vec<u8>,
    max: usize,
    cr_too: bool,
    /// 1-based number of the line last returned.
    pub line_no: u64,
}

impl<'r, R: BufRead + ?Sized> Lines<'r, R> {
    /// Split on `\n` (and `\r` too when `cr_too`, as HL7 needs).
    pub fn new(r: &'r mut R, max: usize, cr_too: bool) -> Self {
        Lines {
            r,
            buf: Vec::new(),
            max: max.max(64),
            cr_too,
            line_no: 0,
        }
    }

    /// The next line without its terminator, or `None` at the end.
    pub fn next_line(&mut self) -> std::io::Result<Option<(u64, &[u8])>> {
        self.buf.clear();
        let mut any = false;
        loop {
            let avail = match self.r.fill_buf() {
                Ok(a) => a,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if avail.is_empty() {
                if !any {
                    return Ok(None);
                }
                break;
            }
            any = true;
            let room = self.max - self.buf.len();
            let pos = if self.cr_too {
                memchr::memchr2(b'\n', b'\r', avail)
            } else {
                memchr::memchr(b'\n', avail)
            };
            match pos {
                Some(i) if i <= room => {
                    self.buf.extend_from_slice(&avail[..i]);
                    self.r.consume(i + 1);
                    break;
                }
                _ => {
                    let take = avail.len().min(room);
                    self.buf.extend_from_slice(&avail[..take]);
                    self.r.consume(take);
                    if self.buf.len() >= self.max {
                        break;
                    }
                }
            }
        }
        if !self.cr_too && self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        self.line_no += 1;
        Ok(Some((self.line_no, &self.buf)))
    }
}

/// Plain text: each line is a unit.
pub fn text(r: &mut dyn BufRead, cx: &mut Cx<'_>) -> Result<(), ExtractError> {
    let mut r = decoded(r)?;
    let mut lines = Lines::new(&mut r, cx.limits.max_line, false);
    while let Some((n, raw)) = lines.next_line()? {
        let line = decode(raw);
        cx.unit(Unit {
            text: &line,
            line: Some(n),
            ..Unit::default()
        })?;
    }
    Ok(())
}

/// Text already in memory (PDF pages, RTF, e-mail bodies): one unit per line.
pub fn text_str(
    s: &str,
    page: Option<u32>,
    record: Option<u64>,
    cx: &mut Cx<'_>,
) -> Result<(), ExtractError> {
    for (i, line) in s.lines().enumerate() {
        cx.unit(Unit {
            text: line,
            line: Some(i as u64 + 1),
            page,
            record,
            ..Unit::default()
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Everything a reader yields, taken the way [`Lines`] takes it (fill and consume).
    fn drain(r: &mut dyn BufRead) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let n = {
                let b = r.fill_buf().expect("read");
                out.extend_from_slice(b);
                b.len()
            };
            if n == 0 {
                return out;
            }
            r.consume(n);
        }
    }

    proptest! {
        /// The pass-through for input without a byte-order mark gives what the decoder gave
        /// (it passes unmarked bytes through untouched), whatever the buffer size.
        #[test]
        fn pass_through_equals_decoder(
            bom in prop::sample::select(vec![&b""[..], b"\xEF\xBB\xBF", b"\xFF\xFE", b"\xFE\xFF", b"\xFF", b"\xEF\xBB"]),
            body in prop::collection::vec(any::<u8>(), 0..300),
            cap in 1usize..16,
        ) {
            let bytes = [bom, &body[..]].concat();
            // The reader before the pass-through: the decoder for every input.
            let mut src = BufReader::with_capacity(cap, &bytes[..]);
            let reference = drain(&mut BufReader::with_capacity(
                64 << 10,
                encoding_rs_io::DecodeReaderBytesBuilder::new()
                    .bom_sniffing(true)
                    .build(&mut src),
            ));
            let mut src = BufReader::with_capacity(cap, &bytes[..]);
            prop_assert_eq!(drain(&mut decoded(&mut src).expect("decoded")), reference);
        }
    }

    #[test]
    fn long_lines_come_in_pieces() {
        let data = vec![b'a'; 1000];
        let mut r = &data[..];
        let mut l = Lines::new(&mut r, 300, false);
        let mut n = 0;
        while let Some((_, x)) = l.next_line().expect("read") {
            assert!(x.len() <= 300);
            n += 1;
        }
        assert_eq!(n, 4);
    }

    #[test]
    fn utf16_and_latin1_decode() {
        let mut bytes = vec![0xFF, 0xFE];
        for c in "SSN 536-22-8726\n".encode_utf16() {
            bytes.extend_from_slice(&c.to_le_bytes());
        }
        let mut src = &bytes[..];
        let mut r = decoded(&mut src).expect("decoded");
        let mut s = String::new();
        r.read_to_string(&mut s).expect("read");
        assert_eq!(s, "SSN 536-22-8726\n");
        assert_eq!(decode(b"Jos\xe9"), "José");
    }
}
