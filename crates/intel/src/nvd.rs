//! NVD CVE JSON 2.0: the API's response pages (`/rest/json/cves/2.0`) and the yearly/modified feed
//! files (`nvdcve-2.0-YYYY.json[.gz]`) share one shape: a top-level object with `format: "NVD_CVE"`,
//! `version: "2.0"`, `totalResults` and `vulnerabilities: [{"cve": {...}}]`.
//!
//! [`stream`] walks `vulnerabilities` one CVE at a time (serde `DeserializeSeed`), so memory stays at
//! one record whatever the file size.

use crate::error::{IntelError, Result};
use medguard_model::vuln::Configuration;
use medguard_model::{CveRecord, Cvss};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::io::Read;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawItem {
    cve: RawCve,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCve {
    id: String,
    #[serde(default)]
    published: String,
    #[serde(default)]
    last_modified: String,
    #[serde(default)]
    vuln_status: String,
    #[serde(default)]
    descriptions: Vec<LangValue>,
    #[serde(default)]
    metrics: RawMetrics,
    #[serde(default)]
    weaknesses: Vec<RawWeakness>,
    #[serde(default)]
    configurations: Vec<Configuration>,
}

#[derive(Deserialize)]
struct LangValue {
    lang: String,
    value: String,
}

#[derive(Deserialize, Default)]
struct RawMetrics {
    #[serde(default, rename = "cvssMetricV40")]
    v40: Vec<RawMetric>,
    #[serde(default, rename = "cvssMetricV31")]
    v31: Vec<RawMetric>,
    #[serde(default, rename = "cvssMetricV30")]
    v30: Vec<RawMetric>,
    #[serde(default, rename = "cvssMetricV2")]
    v2: Vec<RawMetric>,
}

#[derive(Deserialize)]
struct RawMetric {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(rename = "cvssData")]
    data: RawCvssData,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCvssData {
    version: String,
    #[serde(default)]
    vector_string: String,
    base_score: f32,
}

#[derive(Deserialize)]
struct RawWeakness {
    #[serde(default)]
    description: Vec<LangValue>,
}

impl RawCve {
    fn into_record(self) -> CveRecord {
        let description = self
            .descriptions
            .iter()
            .find(|d| d.lang == "en")
            .or_else(|| self.descriptions.first())
            .map(|d| d.value.clone())
            .unwrap_or_default();
        let m = &self.metrics;
        let cvss = [&m.v40, &m.v31, &m.v30, &m.v2]
            .into_iter()
            .find_map(|list| {
                list.iter()
                    .find(|x| x.kind == "Primary")
                    .or_else(|| list.first())
            })
            .filter(|x| x.data.base_score.is_finite() && (0.0..=10.0).contains(&x.data.base_score))
            .map(|x| Cvss {
                version: x.data.version.clone(),
                score: x.data.base_score,
                vector: x.data.vector_string.clone(),
            });
        let mut cwes: Vec<String> = self
            .weaknesses
            .iter()
            .flat_map(|w| w.description.iter())
            .filter(|d| d.value.starts_with("CWE-"))
            .map(|d| d.value.clone())
            .collect();
        cwes.sort();
        cwes.dedup();
        CveRecord {
            id: self.id,
            published: self.published,
            last_modified: self.last_modified,
            status: self.vuln_status,
            description,
            cvss,
            cwes,
            configurations: self.configurations,
        }
    }
}

/// What the top level of an NVD file said, after streaming it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NvdSummary {
    pub format: String,
    pub version: String,
    pub timestamp: String,
    pub total_results: Option<u64>,
    pub results_per_page: Option<u64>,
    pub start_index: Option<u64>,
    /// CVEs handed to the callback.
    pub records: u64,
}

struct Top<'f, F> {
    on_cve: &'f mut F,
    summary: NvdSummary,
    failure: Option<IntelError>,
}

struct Vulns<'a, 'f, F>(&'a mut Top<'f, F>);

impl<'de, F> Visitor<'de> for Vulns<'_, '_, F>
where
    F: FnMut(CveRecord) -> Result<()>,
{
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of vulnerabilities")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        while let Some(item) = seq.next_element::<RawItem>()? {
            self.0.summary.records += 1;
            if let Err(e) = (self.0.on_cve)(item.cve.into_record()) {
                self.0.failure = Some(e);
                return Err(de::Error::custom("stopped by the importer"));
            }
        }
        Ok(())
    }
}

impl<'de, F> DeserializeSeed<'de> for Vulns<'_, '_, F>
where
    F: FnMut(CveRecord) -> Result<()>,
{
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, F> Visitor<'de> for &mut Top<'_, F>
where
    F: FnMut(CveRecord) -> Result<()>,
{
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an NVD CVE 2.0 object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "format" => self.summary.format = map.next_value()?,
                "version" => self.summary.version = map.next_value()?,
                "timestamp" => self.summary.timestamp = map.next_value()?,
                "totalResults" => self.summary.total_results = Some(map.next_value()?),
                "resultsPerPage" => self.summary.results_per_page = Some(map.next_value()?),
                "startIndex" => self.summary.start_index = Some(map.next_value()?),
                "vulnerabilities" => map.next_value_seed(Vulns(&mut *self))?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// Stream every CVE of an NVD CVE 2.0 document to `on_cve`. Fails on malformed JSON, on a document
/// that is not `NVD_CVE` 2.0, or when `on_cve` fails; records already handed over must then be
/// discarded by the caller (imports run in one transaction).
pub fn stream<R: Read, F>(reader: R, mut on_cve: F) -> Result<NvdSummary>
where
    F: FnMut(CveRecord) -> Result<()>,
{
    let mut top = Top {
        on_cve: &mut on_cve,
        summary: NvdSummary::default(),
        failure: None,
    };
    let mut de =
        serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(1 << 16, reader));
    let res = de::Deserializer::deserialize_map(&mut de, &mut top).and_then(|()| de.end());
    if let Some(f) = top.failure.take() {
        return Err(f);
    }
    res.map_err(|source| IntelError::Json {
        what: "NVD CVE",
        source,
    })?;
    let s = top.summary;
    if s.format != "NVD_CVE" || !s.version.starts_with("2.") {
        return Err(IntelError::format(
            "NVD CVE",
            format!(
                "format {:?} version {:?} (expected NVD_CVE 2.0)",
                s.format, s.version
            ),
        ));
    }
    // A yearly file lists all its results; an API page lists resultsPerPage of them.
    let expected = match (s.results_per_page, s.total_results) {
        (Some(per_page), Some(total)) => {
            Some(per_page.min(total.saturating_sub(s.start_index.unwrap_or(0))))
        }
        (None, Some(total)) => Some(total),
        _ => None,
    };
    if let Some(expected) = expected
        && expected != s.records
    {
        return Err(IntelError::format(
            "NVD CVE",
            format!("it announces {expected} records but holds {}", s.records),
        ));
    }
    Ok(s)
}

/// Parse a whole NVD document into memory (small files and tests).
pub fn parse(bytes: &[u8]) -> Result<(NvdSummary, Vec<CveRecord>)> {
    let mut out = Vec::new();
    let s = stream(bytes, |c| {
        out.push(c);
        Ok(())
    })?;
    Ok((s, out))
}

/// The `.meta` file published beside each NVD feed file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Meta {
    pub last_modified: String,
    pub size: Option<u64>,
    pub gz_size: Option<u64>,
    /// SHA-256 of the uncompressed JSON, uppercase hex as published.
    pub sha256: String,
}

/// Parse a feed `.meta` file (`lastModifiedDate:...`, `size:...`, `gzSize:...`, `sha256:...`).
pub fn parse_meta(text: &str) -> Result<Meta> {
    let mut m = Meta::default();
    for line in text.lines().take(64) {
        let Some((k, v)) = line.trim().split_once(':') else {
            continue;
        };
        match k {
            "lastModifiedDate" => m.last_modified = v.to_string(),
            "size" => m.size = v.trim().parse().ok(),
            "gzSize" => m.gz_size = v.trim().parse().ok(),
            "sha256" => m.sha256 = v.trim().to_ascii_uppercase(),
            _ => {}
        }
    }
    if m.sha256.len() != 64 || !m.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(IntelError::format("NVD META", "no valid sha256 line"));
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_wrong_format_and_truncation() {
        let kev = br#"{"title":"CISA Catalog","vulnerabilities":[]}"#;
        assert!(matches!(parse(kev), Err(IntelError::Format { .. })));
        let truncated = br#"{"format":"NVD_CVE","version":"2.0","totalResults":1,"vulnerabilities":[{"cve":{"id":"CVE-2021-44228""#;
        assert!(matches!(parse(truncated), Err(IntelError::Json { .. })));
        let short = br#"{"format":"NVD_CVE","version":"2.0","totalResults":2,"vulnerabilities":[{"cve":{"id":"CVE-2021-44228"}}]}"#;
        assert!(matches!(parse(short), Err(IntelError::Format { .. })));
    }

    #[test]
    fn meta_file() {
        let m = parse_meta("lastModifiedDate:2024-07-01T03:00:01-04:00\r\nsize:71735512\r\nzipSize:4189178\r\ngzSize:4189042\r\nsha256:1B2A3C4D5E6F708192A3B4C5D6E7F8091A2B3C4D5E6F708192A3B4C5D6E7F809\r\n").expect("meta");
        assert_eq!(m.size, Some(71735512));
        assert_eq!(m.last_modified, "2024-07-01T03:00:01-04:00");
        assert!(parse_meta("size:1").is_err());
    }
}
