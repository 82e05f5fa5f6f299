//! Loading feed files into the store: format recognition from content, gzip transparently, size
//! caps, one transaction per file (all-or-nothing), SHA-256 of the content recorded and checked.

use crate::error::{IntelError, Result};
use crate::{csaf, epss, kev, nvd, openfda};
use medguard_model::FeedState;
use medguard_store::IntelStore;
use sha2::{Digest, Sha256};
use std::io::{Cursor, Read};
use std::path::Path;

/// Largest uncompressed NVD file accepted (the biggest yearly file is well under 1 GiB).
pub const MAX_NVD_BYTES: u64 = 4 << 30;
/// Largest uncompressed KEV, CSAF or openFDA file accepted.
pub const MAX_DOC_BYTES: u64 = 256 << 20;
/// Largest uncompressed EPSS CSV accepted.
pub const MAX_EPSS_BYTES: u64 = 1 << 30;

/// The feed formats [`import_file`] recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Nvd,
    Kev,
    Epss,
    Csaf,
    OpenFda,
}

impl Kind {
    /// The short name used in feed records (`nvd`, `kev`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Nvd => "nvd",
            Kind::Kev => "kev",
            Kind::Epss => "epss",
            Kind::Csaf => "csaf",
            Kind::OpenFda => "openfda",
        }
    }
}

/// What an import loaded.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ImportReport {
    pub source: String,
    pub kind: &'static str,
    pub records: u64,
    pub feed: FeedState,
}

/// Recognise a feed from the first bytes of its (uncompressed) content.
pub fn sniff(prefix: &[u8]) -> Option<Kind> {
    let text = String::from_utf8_lossy(prefix);
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if t.starts_with("#model_version") || t.starts_with("cve,epss") {
        return Some(Kind::Epss);
    }
    if !t.starts_with('{') {
        return None;
    }
    let compact: String = t.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.contains("\"format\":\"NVD_CVE\"")
        || (compact.contains("\"vulnerabilities\":[{\"cve\":") && !compact.contains("csaf"))
    {
        Some(Kind::Nvd)
    } else if compact.contains("\"catalogVersion\"") {
        Some(Kind::Kev)
    } else if compact.contains("\"csaf_version\"") {
        Some(Kind::Csaf)
    } else if compact.contains("\"results\"")
        && (compact.contains("product_res_number")
            || compact.contains("recalling_firm")
            || compact.contains("res_event_number"))
    {
        Some(Kind::OpenFda)
    } else {
        None
    }
}

/// Hashes and counts what passes through, and refuses to read past a limit.
struct Counting<R> {
    inner: R,
    hash: Sha256,
    read: u64,
    limit: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.limit {
            return Err(std::io::Error::other(format!(
                "content exceeds the {}-byte limit",
                self.limit
            )));
        }
        self.hash.update(buf.get(..n).unwrap_or_default());
        Ok(n)
    }
}

/// Open a file, transparently gunzipping `.gz` content (recognised by its magic bytes).
pub fn open(path: &Path) -> Result<Box<dyn Read>> {
    let io = |source| IntelError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut magic = [0u8; 2];
    let n = f.read(&mut magic).map_err(io)?;
    let head = Cursor::new(magic[..n].to_vec()).chain(f);
    if n == 2 && magic == [0x1f, 0x8b] {
        Ok(Box::new(flate2::read::MultiGzDecoder::new(head)))
    } else {
        Ok(Box::new(head))
    }
}

/// Import one feed file (format recognised from content). Nothing is stored unless the whole file
/// parses; `expected_sha256` (hex) is checked against the uncompressed content before committing.
pub fn import_file<S: IntelStore + ?Sized>(
    store: &mut S,
    path: &Path,
    expected_sha256: Option<&str>,
) -> Result<ImportReport> {
    let reader = open(path)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    import_reader(
        store,
        &name,
        &path.display().to_string(),
        reader,
        expected_sha256,
    )
    .map_err(|e| match e {
        IntelError::UnknownFormat { .. } => IntelError::UnknownFormat {
            path: path.to_path_buf(),
        },
        other => other,
    })
}

/// Import one feed from a reader of its uncompressed content. `name` is the file name (used for the
/// NVD feed name, e.g. `nvdcve-2.0-2024.json` → `nvd:2024`).
pub fn import_reader<S: IntelStore + ?Sized>(
    store: &mut S,
    name: &str,
    source: &str,
    reader: Box<dyn Read + '_>,
    expected_sha256: Option<&str>,
) -> Result<ImportReport> {
    let mut r = Counting {
        inner: reader,
        hash: Sha256::new(),
        read: 0,
        limit: MAX_NVD_BYTES,
    };
    let mut prefix = vec![0u8; 4096];
    let mut got = 0;
    while got < prefix.len() {
        let n = r
            .read(&mut prefix[got..])
            .map_err(|e| IntelError::format("feed", e.to_string()))?;
        if n == 0 {
            break;
        }
        got += n;
    }
    prefix.truncate(got);
    let kind = sniff(&prefix).ok_or_else(|| IntelError::UnknownFormat {
        path: source.into(),
    })?;
    r.limit = match kind {
        Kind::Nvd => MAX_NVD_BYTES,
        Kind::Epss => MAX_EPSS_BYTES,
        _ => MAX_DOC_BYTES,
    };
    let what = kind.as_str();
    let mut w = store.intel_writer()?;
    let now = chrono::Utc::now().to_rfc3339();
    let mut feed = FeedState {
        name: String::new(),
        source: source.to_string(),
        imported_at: now,
        ..FeedState::default()
    };
    let read_all = |r: &mut Counting<Box<dyn Read + '_>>, prefix: Vec<u8>| -> Result<Vec<u8>> {
        let mut buf = prefix;
        r.read_to_end(&mut buf).map_err(|e| {
            if r.read > r.limit {
                IntelError::TooLarge {
                    what: "feed",
                    limit: r.limit,
                }
            } else {
                IntelError::format("feed", e.to_string())
            }
        })?;
        Ok(buf)
    };
    match kind {
        Kind::Nvd => {
            let mut err = None;
            let summary = {
                let chained = Cursor::new(prefix).chain(&mut r);
                nvd::stream(chained, |cve| {
                    w.put_cve(&cve).map_err(|e| {
                        let msg = e.to_string();
                        err = Some(e);
                        IntelError::format("NVD CVE", msg)
                    })
                })
            };
            if let Some(e) = err {
                return Err(e.into());
            }
            let summary = summary.map_err(|e| {
                if r.read > r.limit {
                    IntelError::TooLarge {
                        what: "NVD CVE",
                        limit: r.limit,
                    }
                } else {
                    e
                }
            })?;
            feed.name = nvd_feed_name(name, summary.start_index.is_some());
            feed.records = summary.records;
            feed.version = summary.timestamp;
        }
        Kind::Kev => {
            let buf = read_all(&mut r, prefix)?;
            let k = kev::parse(&buf)?;
            w.clear_kev()?;
            for e in &k.entries {
                w.put_kev(e)?;
            }
            feed.name = "kev".into();
            feed.records = k.entries.len() as u64;
            feed.version = k.version;
        }
        Kind::Epss => {
            w.clear_epss()?;
            let chained = Cursor::new(prefix).chain(&mut r);
            let (h, n) = epss::stream(chained, |cve, e| Ok(w.put_epss(cve, e)?))?;
            feed.name = "epss".into();
            feed.records = n;
            feed.version = format!("{} {}", h.model_version, h.score_date)
                .trim()
                .to_string();
        }
        Kind::Csaf => {
            let buf = read_all(&mut r, prefix)?;
            let a = csaf::parse(&buf)?;
            w.put_advisory(&a)?;
            feed.name = format!("csaf:{}", a.id);
            feed.records = a.products.len() as u64;
            feed.version = a.released.clone();
        }
        Kind::OpenFda => {
            let buf = read_all(&mut r, prefix)?;
            let (recalls, updated) = openfda::parse(&buf)?;
            for rc in &recalls {
                w.put_recall(rc)?;
            }
            feed.name = "openfda".into();
            feed.records = recalls.len() as u64;
            feed.version = updated;
        }
    }
    feed.sha256 = hex::encode_upper(r.hash.finalize());
    if let Some(want) = expected_sha256
        && !want.eq_ignore_ascii_case(&feed.sha256)
    {
        return Err(IntelError::Integrity {
            what: source.to_string(),
            detail: format!("sha256 is {} but {want} was expected", feed.sha256),
        });
    }
    w.set_feed(&feed)?;
    w.commit()?;
    Ok(ImportReport {
        source: source.to_string(),
        kind: what,
        records: feed.records,
        feed,
    })
}

/// `nvdcve-2.0-2024.json(.gz)` → `nvd:2024`; `...-modified` → `nvd:modified`; API pages `nvd:api`.
fn nvd_feed_name(file: &str, api_page: bool) -> String {
    let stem = file
        .trim_end_matches(".gz")
        .trim_end_matches(".json")
        .to_string();
    if let Some(rest) = stem.strip_prefix("nvdcve-2.0-") {
        return format!("nvd:{rest}");
    }
    if api_page {
        return "nvd:api".into();
    }
    format!("nvd:{stem}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_formats() {
        assert_eq!(
            sniff(br#"{"resultsPerPage":1,"startIndex":0,"totalResults":1,"format":"NVD_CVE""#),
            Some(Kind::Nvd)
        );
        assert_eq!(
            sniff(br#"{ "title": "CISA Catalog of Known Exploited Vulnerabilities", "catalogVersion": "2024.07.01""#),
            Some(Kind::Kev)
        );
        assert_eq!(
            sniff(b"#model_version:v2025.03.14,score_date:2025-03-20T00:00:00+0000\ncve,epss"),
            Some(Kind::Epss)
        );
        assert_eq!(
            sniff(br#"{"document":{"category":"csaf_security_advisory","csaf_version":"2.0""#),
            Some(Kind::Csaf)
        );
        assert_eq!(sniff(b"<html>"), None);
        assert_eq!(nvd_feed_name("nvdcve-2.0-2024.json.gz", false), "nvd:2024");
        assert_eq!(nvd_feed_name("page.json", true), "nvd:api");
    }
}
