//! Streaming log readers. Each reads one file and hands events to a sink one at a time, so memory
//! stays bounded whatever the size of the input; per-record problems are counted in the file's
//! [`FileReport`] and reading goes on.

pub mod audit;
pub mod evtx;
pub mod json;
pub mod lines;
pub mod syslog;
pub mod xml;

use crate::error::DetectError;
use crate::event::LogEvent;
use audit::AuditMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

/// Longest text line read (syslog, JSON line, CSV row); longer lines are cut and reported.
pub const MAX_LINE: usize = 1024 * 1024;
/// Most per-record error messages kept per file (all are counted).
const MAX_ERROR_MESSAGES: usize = 20;

/// What a file turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    Evtx,
    WindowsXml,
    Json,
    Syslog,
    /// An EHR audit export matching the named column map.
    Audit(String),
}

/// The outcome of reading one file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileReport {
    pub path: PathBuf,
    pub format: String,
    pub events: u64,
    /// Records, chunks or lines that could not be read.
    pub error_count: u64,
    /// The first few of those problems, for the user.
    pub errors: Vec<String>,
}

impl FileReport {
    pub(crate) fn new(path: &Path, format: &str) -> Self {
        FileReport {
            path: path.to_path_buf(),
            format: format.to_string(),
            events: 0,
            error_count: 0,
            errors: Vec::new(),
        }
    }

    pub(crate) fn error(&mut self, msg: String) {
        self.error_count += 1;
        if self.errors.len() < MAX_ERROR_MESSAGES {
            self.errors.push(msg);
        }
    }
}

/// Settings shared by the readers.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// EHR audit column maps to recognise CSV/JSON exports by (built-ins plus `--audit-map`).
    pub audit_maps: Vec<AuditMap>,
    /// Threads the EVTX parser may use inside one file (0: all).
    pub evtx_threads: usize,
}

/// Decide a file's format from its first bytes (and, for CSV, its header row).
pub fn sniff(path: &Path, opts: &ReadOptions) -> Result<Format, DetectError> {
    let io = |source| DetectError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut head = Vec::with_capacity(8192);
    File::open(path)
        .map_err(io)?
        .take(8192)
        .read_to_end(&mut head)
        .map_err(io)?;
    if head.starts_with(b"ElfFile\0") {
        return Ok(Format::Evtx);
    }
    let text = String::from_utf8_lossy(&head);
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    // Syslog lines also start with `<` (the PRI field), so only real XML starts count.
    if trimmed.starts_with("<?xml") || trimmed.starts_with("<Event") {
        return Ok(Format::WindowsXml);
    }
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        if let Some(m) = audit::match_json_head(trimmed, &opts.audit_maps) {
            return Ok(Format::Audit(m.vendor.clone()));
        }
        return Ok(Format::Json);
    }
    let first_line = trimmed.lines().next().unwrap_or("");
    if let Some(m) = audit::match_csv_header(first_line, &opts.audit_maps) {
        return Ok(Format::Audit(m.vendor.clone()));
    }
    Ok(Format::Syslog)
}

/// Read one file of any supported format into `sink`.
pub fn read_file(
    path: &Path,
    opts: &ReadOptions,
    sink: &mut dyn FnMut(LogEvent),
) -> Result<FileReport, DetectError> {
    let format = sniff(path, opts)?;
    let open = || {
        File::open(path)
            .map(|f| BufReader::with_capacity(64 * 1024, f))
            .map_err(|source| DetectError::Io {
                path: path.to_path_buf(),
                source,
            })
    };
    let display = path.display().to_string();
    match format {
        Format::Evtx => evtx::read(path, opts.evtx_threads, sink),
        Format::WindowsXml => xml::read(open()?, path, &display, sink),
        Format::Json => json::read(open()?, path, &display, sink),
        Format::Syslog => syslog::read_lines(open()?, path, &display, sink),
        Format::Audit(vendor) => {
            let map = opts
                .audit_maps
                .iter()
                .find(|m| m.vendor == vendor)
                .ok_or_else(|| DetectError::AuditMap {
                    name: vendor.clone(),
                    reason: "no such column map".into(),
                })?;
            audit::read(open()?, path, &display, map, sink)
        }
    }
}

/// Every regular file under `root` (or `root` itself), sorted, skipping hidden names.
pub fn collect_files(root: &Path) -> Result<Vec<PathBuf>, DetectError> {
    let mut out = Vec::new();
    let meta = std::fs::metadata(root).map_err(|source| DetectError::Io {
        path: root.to_path_buf(),
        source,
    })?;
    if meta.is_file() {
        out.push(root.to_path_buf());
        return Ok(out);
    }
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let rd = std::fs::read_dir(&dir).map_err(|source| DetectError::Io {
            path: dir.clone(),
            source,
        })?;
        for entry in rd.flatten() {
            let p = entry.path();
            if p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'))
            {
                continue;
            }
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(p),
                Ok(t) if t.is_file() => out.push(p),
                _ => {}
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_syslog_pri_as_syslog_not_xml() {
        let dir = tempfile::tempdir().expect("tempdir");
        let opts = ReadOptions::default();
        let cases = [
            (
                "a.log",
                "<34>Oct 11 22:14:15 fw01 sshd[1]: hi\n",
                Format::Syslog,
            ),
            (
                "b.xml",
                "<?xml version='1.0'?><Events></Events>",
                Format::WindowsXml,
            ),
            (
                "c.xml",
                "<Events><Event></Event></Events>",
                Format::WindowsXml,
            ),
            ("d.json", "{\"a\":1}\n", Format::Json),
        ];
        for (name, text, want) in cases {
            let p = dir.path().join(name);
            std::fs::write(&p, text).expect("write");
            assert_eq!(sniff(&p, &opts).expect("sniff"), want, "{name}");
        }
    }
}
