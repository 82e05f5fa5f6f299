//! A line reader with a hard cap on line length: an endless line costs at most `max` bytes of
//! memory; the excess is skipped and reported.

use std::io::{self, BufRead};

/// One line (without its terminator) and whether it was cut at the cap.
#[derive(Debug, PartialEq, Eq)]
pub struct Line {
    pub bytes: Vec<u8>,
    pub truncated: bool,
}

/// Reads `\n`-terminated lines of at most `max` bytes from `inner`.
pub struct LineReader<R> {
    inner: R,
    max: usize,
    buf: Vec<u8>,
}

impl<R: BufRead> LineReader<R> {
    pub fn new(inner: R, max: usize) -> Self {
        LineReader {
            inner,
            max: max.max(1),
            buf: Vec::new(),
        }
    }

    /// The next line, or `None` at end of input.
    pub fn next_line(&mut self) -> io::Result<Option<Line>> {
        self.buf.clear();
        let mut truncated = false;
        let mut any = false;
        loop {
            let avail = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if avail.is_empty() {
                if !any {
                    return Ok(None);
                }
                break;
            }
            any = true;
            let (chunk, done) = match memchr::memchr(b'\n', avail) {
                Some(i) => (&avail[..i], Some(i + 1)),
                None => (avail, None),
            };
            let room = self.max.saturating_sub(self.buf.len());
            if chunk.len() > room {
                truncated = true;
            }
            self.buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
            let consumed = done.unwrap_or(avail.len());
            self.inner.consume(consumed);
            if done.is_some() {
                break;
            }
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        Ok(Some(Line {
            bytes: std::mem::take(&mut self.buf),
            truncated,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_endless_lines() {
        let mut data = vec![b'a'; 10_000];
        data.extend_from_slice(b"\nshort\r\nlast");
        let mut r = LineReader::new(io::BufReader::with_capacity(64, &data[..]), 100);
        let l = r.next_line().expect("io").expect("line");
        assert_eq!(l.bytes.len(), 100);
        assert!(l.truncated);
        let l = r.next_line().expect("io").expect("line");
        assert_eq!(l.bytes, b"short");
        assert!(!l.truncated);
        assert_eq!(r.next_line().expect("io").expect("line").bytes, b"last");
        assert!(r.next_line().expect("io").is_none());
    }
}
