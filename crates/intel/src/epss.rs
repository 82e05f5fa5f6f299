//! FIRST EPSS daily scores: gzipped CSV whose first line is a comment
//! `#model_version:v2025.03.14,score_date:2025-03-20T00:00:00+0000`, then the header
//! `cve,epss,percentile`, then one row per CVE.

use crate::error::{IntelError, Result};
use medguard_model::Epss;
use std::io::{BufRead, BufReader, Read};

/// The comment line's facts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EpssHeader {
    pub model_version: String,
    pub score_date: String,
}

/// Longest line accepted.
const MAX_LINE: usize = 4096;

/// Stream every score to `on_score`. The reader gives the uncompressed CSV (see [`crate::open`]).
pub fn stream<R: Read>(
    reader: R,
    mut on_score: impl FnMut(&str, Epss) -> Result<()>,
) -> Result<(EpssHeader, u64)> {
    let mut r = BufReader::new(reader);
    let mut header = EpssHeader::default();
    let mut line = String::new();
    let mut seen_header = false;
    let mut n = 0u64;
    let mut lineno = 0u64;
    loop {
        line.clear();
        let read = (&mut r)
            .take(MAX_LINE as u64 + 1)
            .read_line(&mut line)
            .map_err(|e| IntelError::format("EPSS CSV", e.to_string()))?;
        if read == 0 {
            break;
        }
        lineno += 1;
        if line.len() > MAX_LINE {
            return Err(IntelError::format(
                "EPSS CSV",
                format!("line {lineno} is too long"),
            ));
        }
        let l = line.trim_end_matches(['\r', '\n']);
        if l.is_empty() {
            continue;
        }
        if let Some(comment) = l.strip_prefix('#') {
            for part in comment.split(',') {
                match part.split_once(':') {
                    Some(("model_version", v)) => header.model_version = v.to_string(),
                    Some(("score_date", v)) => header.score_date = v.to_string(),
                    _ => {}
                }
            }
            continue;
        }
        if !seen_header {
            if l.replace(' ', "") != "cve,epss,percentile" {
                return Err(IntelError::format(
                    "EPSS CSV",
                    format!("line {lineno}: expected the header cve,epss,percentile"),
                ));
            }
            seen_header = true;
            continue;
        }
        let mut f = l.split(',');
        let (Some(cve), Some(score), Some(pct), None) = (f.next(), f.next(), f.next(), f.next())
        else {
            return Err(IntelError::format(
                "EPSS CSV",
                format!("line {lineno}: expected 3 fields"),
            ));
        };
        let parse = |s: &str| {
            s.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| (0.0..=1.0).contains(v))
        };
        let (Some(score), Some(percentile)) = (parse(score), parse(pct)) else {
            return Err(IntelError::format(
                "EPSS CSV",
                format!("line {lineno}: scores must be numbers from 0 to 1"),
            ));
        };
        if !crate::is_cve_id(cve) {
            return Err(IntelError::format(
                "EPSS CSV",
                format!("line {lineno}: {cve:?} is not a CVE id"),
            ));
        }
        on_score(cve, Epss { score, percentile })?;
        n += 1;
    }
    if !seen_header {
        return Err(IntelError::format(
            "EPSS CSV",
            "no cve,epss,percentile header",
        ));
    }
    Ok((header, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        let csv = "#model_version:v2025.03.14,score_date:2025-03-20T00:00:00+0000\ncve,epss,percentile\nCVE-2021-44228,0.94358,0.99957\n";
        let mut got = Vec::new();
        let (h, n) = stream(csv.as_bytes(), |c, e| {
            got.push((c.to_string(), e));
            Ok(())
        })
        .expect("parse");
        assert_eq!(n, 1);
        assert_eq!(h.model_version, "v2025.03.14");
        assert_eq!(got[0].0, "CVE-2021-44228");
        assert!(
            stream(
                "cve,epss,percentile\nCVE-1,2.0,0.1\n".as_bytes(),
                |_, _| Ok(())
            )
            .is_err()
        );
        assert!(stream("cve,score\n".as_bytes(), |_, _| Ok(())).is_err());
        assert!(stream("".as_bytes(), |_, _| Ok(())).is_err());
    }
}
