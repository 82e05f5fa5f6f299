//! `intel update`: download the feeds from configurable base URLs into the data directory, resuming
//! partial downloads (HTTP `Range`), checking integrity (NVD `.meta` SHA-256 and sizes, gzip and JSON
//! validity through the import), and importing each one all-or-nothing. Unchanged NVD yearly files
//! (same `.meta` SHA-256 as the last import) are skipped, so an update only loads what changed.

use crate::error::{IntelError, Result};
use crate::import::{ImportReport, import_file};
use crate::nvd;
use medguard_store::IntelStore;
use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the feeds come from. Defaults are the official endpoints.
#[derive(Debug, Clone, PartialEq)]
pub struct Sources {
    /// Directory URL of the NVD 2.0 feed files (`nvdcve-2.0-YYYY.json.gz` and `.meta`).
    pub nvd_base: String,
    /// First and last year of yearly NVD files to fetch; `modified` is always fetched last.
    pub years: (u16, u16),
    pub kev_url: String,
    pub epss_url: String,
    /// CSAF advisories to fetch (e.g. CISA ICSMA advisories).
    pub csaf_urls: Vec<String>,
    /// openFDA device recall queries or download files.
    pub recall_urls: Vec<String>,
    /// Skip the NVD (KEV/EPSS/advisories only, for a quick refresh).
    pub skip_nvd: bool,
    /// NVD CVE API 2.0 endpoint (`https://services.nvd.nist.gov/rest/json/cves/2.0`). When set, the
    /// NVD is updated incrementally through the API (records modified since the last API update,
    /// or the last 120 days) instead of the yearly files.
    pub nvd_api: Option<String>,
    /// Pause between API requests (the NVD asks for 6 s without an API key).
    pub api_delay: Duration,
}

impl Default for Sources {
    fn default() -> Self {
        use chrono::Datelike;
        let year = u16::try_from(chrono::Utc::now().year()).unwrap_or(2026);
        Sources {
            nvd_base: "https://nvd.nist.gov/feeds/json/cve/2.0".into(),
            years: (2002, year),
            kev_url: "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"
                .into(),
            epss_url: "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz".into(),
            csaf_urls: Vec::new(),
            recall_urls: Vec::new(),
            skip_nvd: false,
            nvd_api: None,
            api_delay: Duration::from_secs(6),
        }
    }
}

/// Largest download accepted.
pub const MAX_DOWNLOAD: u64 = 2 << 30;

/// A blocking HTTP(S) client with timeouts (rustls with the ring provider).
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(20)))
        .timeout_recv_body(Some(Duration::from_secs(600)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .http_status_as_error(false)
        .user_agent(concat!("medguard/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

fn http_err(url: &str, detail: impl std::fmt::Display) -> IntelError {
    IntelError::Http {
        url: url.to_string(),
        detail: detail.to_string(),
    }
}

/// Fetch a small text resource (at most 1 MiB).
pub fn fetch_text(agent: &ureq::Agent, url: &str) -> Result<String> {
    let resp = agent.get(url).call().map_err(|e| http_err(url, e))?;
    let status = resp.status().as_u16();
    if status != 200 {
        return Err(http_err(url, format!("HTTP status {status}")));
    }
    let mut body = String::new();
    resp.into_body()
        .into_reader()
        .take(1 << 20)
        .read_to_string(&mut body)
        .map_err(|e| http_err(url, e))?;
    Ok(body)
}

/// Download `url` to `dest`, resuming from `dest.part` when an earlier download was cut off.
/// Returns the number of bytes fetched in this call.
pub fn download(agent: &ureq::Agent, url: &str, dest: &Path) -> Result<u64> {
    let mut part = dest.as_os_str().to_owned();
    part.push(".part");
    let part = PathBuf::from(part);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| IntelError::Io { path, source }
    };
    let have = fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    let mut req = agent.get(url);
    if have > 0 {
        req = req.header("Range", format!("bytes={have}-"));
    }
    let resp = req.call().map_err(|e| http_err(url, e))?;
    let status = resp.status().as_u16();
    let (append, expected_total) = match status {
        200 => (
            false,
            resp.headers()
                .get("content-length")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok()),
        ),
        206 => {
            // Content-Range: bytes START-END/TOTAL must continue where the partial file ends.
            let cr = resp
                .headers()
                .get("content-range")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let start = cr
                .strip_prefix("bytes ")
                .and_then(|r| r.split('-').next())
                .and_then(|s| s.parse::<u64>().ok());
            if start != Some(have) {
                return Err(http_err(
                    url,
                    format!("server resumed at {cr:?}, expected byte {have}"),
                ));
            }
            let total = cr.rsplit('/').next().and_then(|t| t.parse::<u64>().ok());
            (true, total)
        }
        416 if have > 0 => {
            // Already complete.
            fs::rename(&part, dest).map_err(io(dest))?;
            return Ok(0);
        }
        s => return Err(http_err(url, format!("HTTP status {s}"))),
    };
    if expected_total.is_some_and(|t| t > MAX_DOWNLOAD) {
        return Err(IntelError::TooLarge {
            what: "download",
            limit: MAX_DOWNLOAD,
        });
    }
    if let Some(dir) = dest.parent() {
        fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let mut file = OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(&part)
        .map_err(io(&part))?;
    let mut body = resp.into_body().into_reader().take(MAX_DOWNLOAD + 1);
    let mut buf = vec![0u8; 1 << 16];
    let mut fetched = 0u64;
    loop {
        let n = body.read(&mut buf).map_err(|e| http_err(url, e))?;
        if n == 0 {
            break;
        }
        file.write_all(buf.get(..n).unwrap_or_default())
            .map_err(io(&part))?;
        fetched += n as u64;
    }
    file.flush().map_err(io(&part))?;
    drop(file);
    let size = fs::metadata(&part).map_err(io(&part))?.len();
    if size > MAX_DOWNLOAD {
        let _ = fs::remove_file(&part);
        return Err(IntelError::TooLarge {
            what: "download",
            limit: MAX_DOWNLOAD,
        });
    }
    if let Some(want) = expected_total
        && size != want
    {
        return Err(IntelError::Integrity {
            what: url.to_string(),
            detail: format!("got {size} bytes of {want}; run the update again to resume"),
        });
    }
    fs::rename(&part, dest).map_err(io(dest))?;
    Ok(fetched)
}

/// The outcome of one feed in an update.
#[derive(Debug)]
pub enum Outcome {
    Imported(ImportReport),
    /// The feed has not changed since the last import.
    Unchanged(String),
    Failed(String, IntelError),
}

/// Download and import every feed. Per-feed failures are returned, not fatal; the previous data of a
/// failed feed stays in place.
pub fn update<S: IntelStore + ?Sized>(
    store: &mut S,
    sources: &Sources,
    dir: &Path,
    progress: &mut dyn FnMut(&str),
) -> Vec<Outcome> {
    let agent = agent();
    let mut out = Vec::new();
    let base = sources.nvd_base.trim_end_matches('/');
    if !sources.skip_nvd
        && let Some(api) = &sources.nvd_api
    {
        progress(&format!("NVD API {api}"));
        out.extend(nvd_api(store, &agent, api, sources.api_delay, progress));
    } else if !sources.skip_nvd {
        let mut names: Vec<String> = (sources.years.0..=sources.years.1)
            .map(|y| y.to_string())
            .collect();
        names.push("modified".into());
        for n in names {
            progress(&format!("NVD {n}"));
            out.push(nvd_one(store, &agent, base, &n, dir));
        }
    }
    let simple = std::iter::once(("kev", sources.kev_url.clone()))
        .chain(std::iter::once(("epss", sources.epss_url.clone())))
        .chain(sources.csaf_urls.iter().map(|u| ("csaf", u.clone())))
        .chain(sources.recall_urls.iter().map(|u| ("recalls", u.clone())));
    for (i, (what, url)) in simple.enumerate() {
        if url.is_empty() {
            continue;
        }
        progress(&format!("{what} {url}"));
        let file = url
            .rsplit('/')
            .next()
            .filter(|f| !f.is_empty() && !f.contains('?'))
            .map(str::to_string)
            .unwrap_or_else(|| format!("{what}-{i}.json"));
        let dest = dir.join(&file);
        let res = download(&agent, &url, &dest).and_then(|_| import_file(store, &dest, None));
        out.push(match res {
            Ok(r) => Outcome::Imported(r),
            Err(e) => Outcome::Failed(url, e),
        });
    }
    out
}

fn nvd_one<S: IntelStore + ?Sized>(
    store: &mut S,
    agent: &ureq::Agent,
    base: &str,
    name: &str,
    dir: &Path,
) -> Outcome {
    let meta_url = format!("{base}/nvdcve-2.0-{name}.meta");
    let gz_url = format!("{base}/nvdcve-2.0-{name}.json.gz");
    let meta = match fetch_text(agent, &meta_url).and_then(|t| nvd::parse_meta(&t)) {
        Ok(m) => m,
        Err(e) => return Outcome::Failed(meta_url, e),
    };
    let feed = format!("nvd:{name}");
    let known = store
        .feeds()
        .ok()
        .and_then(|f| f.into_iter().find(|x| x.name == feed));
    if known.is_some_and(|k| k.sha256.eq_ignore_ascii_case(&meta.sha256)) {
        return Outcome::Unchanged(feed);
    }
    let dest = dir.join(format!("nvdcve-2.0-{name}.json.gz"));
    if let Err(e) = download(agent, &gz_url, &dest) {
        return Outcome::Failed(gz_url, e);
    }
    if let (Some(want), Ok(m)) = (meta.gz_size, fs::metadata(&dest))
        && want != m.len()
    {
        let _ = fs::remove_file(&dest);
        return Outcome::Failed(
            gz_url.clone(),
            IntelError::Integrity {
                what: gz_url,
                detail: format!("{} bytes, the .meta file says {want}", m.len()),
            },
        );
    }
    match import_file(store, &dest, Some(&meta.sha256)) {
        Ok(r) => Outcome::Imported(r),
        Err(e) => {
            // A corrupt file must not be resumed next time.
            let _ = fs::remove_file(&dest);
            Outcome::Failed(gz_url, e)
        }
    }
}

/// NVD timestamps as the API wants them (`2024-07-01T00:00:00.000`).
fn api_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f").to_string()
}

/// Most days one API query may span (the NVD's limit).
const API_WINDOW_DAYS: i64 = 120;
/// Records per API page.
const API_PAGE: u64 = 2000;

/// Incremental NVD update through the CVE API 2.0: every record modified since the last API update
/// (the `nvd:api` feed's version), page by page; each page is imported all-or-nothing and the
/// feed's version only advances when every page of the run loaded.
fn nvd_api<S: IntelStore + ?Sized>(
    store: &mut S,
    agent: &ureq::Agent,
    api: &str,
    delay: Duration,
    progress: &mut dyn FnMut(&str),
) -> Vec<Outcome> {
    let mut out = Vec::new();
    let now = chrono::Utc::now();
    let since = store
        .feeds()
        .ok()
        .and_then(|f| f.into_iter().find(|x| x.name == "nvd:api"))
        .and_then(|f| {
            chrono::NaiveDateTime::parse_from_str(&f.version, "%Y-%m-%dT%H:%M:%S%.3f").ok()
        })
        .map(|t| t.and_utc())
        .unwrap_or(now - chrono::Duration::days(API_WINDOW_DAYS));
    let mut start = since;
    let mut total = 0u64;
    let mut first = true;
    while start < now {
        let end = (start + chrono::Duration::days(API_WINDOW_DAYS)).min(now);
        let mut index = 0u64;
        loop {
            if !first && !delay.is_zero() {
                std::thread::sleep(delay);
            }
            first = false;
            let url = format!(
                "{api}?lastModStartDate={}&lastModEndDate={}&startIndex={index}&resultsPerPage={API_PAGE}",
                api_time(start),
                api_time(end)
            );
            progress(&format!("NVD API page at {index}"));
            let page = agent
                .get(&url)
                .call()
                .map_err(|e| http_err(&url, e))
                .and_then(|r| {
                    let status = r.status().as_u16();
                    if status != 200 {
                        return Err(http_err(&url, format!("HTTP status {status}")));
                    }
                    let mut body = Vec::new();
                    r.into_body()
                        .into_reader()
                        .take(crate::import::MAX_DOC_BYTES)
                        .read_to_end(&mut body)
                        .map_err(|e| http_err(&url, e))?;
                    Ok(body)
                });
            let body = match page {
                Ok(b) => b,
                Err(e) => {
                    out.push(Outcome::Failed(url, e));
                    return out;
                }
            };
            let totals = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("totalResults").and_then(|t| t.as_u64()));
            match crate::import::import_reader(
                store,
                "nvd-api-page.json",
                &url,
                Box::new(body.as_slice()),
                None,
            ) {
                Ok(r) => {
                    total += r.records;
                    index += r.records.max(1);
                    if r.records == 0 || totals.is_none_or(|t| index >= t) {
                        break;
                    }
                }
                Err(e) => {
                    out.push(Outcome::Failed(url, e));
                    return out;
                }
            }
        }
        start = end;
    }
    // Every page loaded: remember where to start next time.
    let feed = medguard_model::FeedState {
        name: "nvd:api".into(),
        source: api.to_string(),
        imported_at: now.to_rfc3339(),
        records: total,
        version: api_time(now),
        sha256: String::new(),
    };
    let res = store
        .intel_writer()
        .and_then(|mut w| w.set_feed(&feed).and_then(|()| w.commit()));
    match res {
        Ok(()) => out.push(Outcome::Imported(ImportReport {
            source: api.to_string(),
            kind: "nvd",
            records: total,
            feed,
        })),
        Err(e) => out.push(Outcome::Failed(api.to_string(), e.into())),
    }
    out
}
