//! Vulnerability intelligence: CVE records as the NVD publishes them, exploitation evidence (CISA KEV,
//! FIRST EPSS), vendor advisories (CSAF), device recalls (openFDA), software bills of materials, MDS2
//! answers, and the matches between all of these and the practice's assets.
//!
//! The NVD configuration types ([`Configuration`], [`Node`], [`CpeMatch`]) keep the field names of the
//! NVD CVE API 2.0 schema so feeds deserialize straight into them and the store can keep them as JSON.

use crate::Severity;
use serde::{Deserialize, Serialize};

/// One CVE with what matching and prioritising need (English description, best CVSS, configurations).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct CveRecord {
    /// `CVE-YYYY-NNNN`.
    pub id: String,
    /// RFC 3339-like timestamp as the NVD writes it (`2021-12-10T10:15:09.143`).
    #[serde(default)]
    pub published: String,
    #[serde(default)]
    pub last_modified: String,
    /// `Analyzed`, `Modified`, `Rejected`, ...
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss: Option<Cvss>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cwes: Vec<String>,
    #[serde(default)]
    pub configurations: Vec<Configuration>,
}

/// The CVSS score used for ranking: the newest CVSS version present, primary source preferred.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cvss {
    pub version: String,
    pub score: f32,
    pub vector: String,
}

impl Cvss {
    /// The qualitative rating of the score (CVSS v3 bands; v2 scores use the same cut-offs).
    pub fn severity(&self) -> Severity {
        match self.score {
            s if s >= 9.0 => Severity::Critical,
            s if s >= 7.0 => Severity::High,
            s if s >= 4.0 => Severity::Medium,
            s if s > 0.0 => Severity::Low,
            _ => Severity::Info,
        }
    }
}

/// One NVD configuration: its nodes combined with `operator` (default OR).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Configuration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<Operator>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub negate: bool,
    #[serde(default)]
    pub nodes: Vec<Node>,
}

/// `AND` / `OR` as in the NVD schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Operator {
    #[serde(rename = "AND")]
    And,
    #[serde(rename = "OR")]
    Or,
}

/// A node: its CPE matches combined with `operator`, optionally negated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub operator: Operator,
    #[serde(default, skip_serializing_if = "is_false")]
    pub negate: bool,
    #[serde(default, rename = "cpeMatch")]
    pub cpe_match: Vec<CpeMatch>,
}

/// One CPE match criterion with its optional version range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CpeMatch {
    /// `true` for the vulnerable component, `false` for a platform it must run on.
    pub vulnerable: bool,
    /// A CPE 2.3 formatted string, possibly with `*` in the version.
    pub criteria: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_start_including: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_start_excluding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_end_including: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_end_excluding: Option<String>,
}

impl CpeMatch {
    /// Whether the criterion carries a version range.
    pub fn has_range(&self) -> bool {
        self.version_start_including.is_some()
            || self.version_start_excluding.is_some()
            || self.version_end_including.is_some()
            || self.version_end_excluding.is_some()
    }

    /// The range in words for evidence, e.g. `from 2.0.1 (including) up to 2.3.1 (excluding)`.
    pub fn range_text(&self) -> String {
        let mut parts = Vec::new();
        if let Some(v) = &self.version_start_including {
            parts.push(format!("from {v} (including)"));
        }
        if let Some(v) = &self.version_start_excluding {
            parts.push(format!("after {v}"));
        }
        if let Some(v) = &self.version_end_including {
            parts.push(format!("up to {v} (including)"));
        }
        if let Some(v) = &self.version_end_excluding {
            parts.push(format!("up to {v} (excluding)"));
        }
        parts.join(" ")
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One entry of CISA's Known Exploited Vulnerabilities catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct KevEntry {
    pub cve_id: String,
    pub vendor_project: String,
    pub product: String,
    pub name: String,
    pub date_added: String,
    pub due_date: String,
    pub required_action: String,
    /// `Known` when CISA knows of ransomware campaigns using it.
    pub ransomware: bool,
    #[serde(default)]
    pub description: String,
}

/// A FIRST EPSS probability of exploitation in the next 30 days.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Epss {
    pub score: f64,
    pub percentile: f64,
}

/// What a CSAF advisory says about one product for one vulnerability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AdvisoryProduct {
    pub vendor: String,
    pub product: String,
    /// Version constraint in `vers` style (`vers:generic/>=1.0|<2.3`), an exact version, or `*`.
    pub versions: String,
    /// CSAF product status: `known_affected`, `fixed`, `known_not_affected`, ...
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpe: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// CVE ids (or the advisory's own vulnerability title when it has no CVE).
    pub cves: Vec<String>,
    /// Vendor fix, mitigation or workaround text for this product.
    #[serde(default)]
    pub remediation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss: Option<f32>,
}

/// A vendor security advisory (CSAF 2.0), reduced to what matching needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Advisory {
    /// `document.tracking.id`, e.g. `ICSMA-24-030-01`.
    pub id: String,
    pub title: String,
    pub publisher: String,
    pub released: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub products: Vec<AdvisoryProduct>,
}

/// An FDA medical device recall (openFDA `device/recall`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Recall {
    /// `product_res_number`, e.g. `Z-1234-2023`.
    pub id: String,
    pub firm: String,
    pub product_description: String,
    #[serde(default)]
    pub product_code: String,
    pub reason: String,
    #[serde(default)]
    pub action: String,
    pub status: String,
    pub date: String,
    #[serde(default)]
    pub k_numbers: Vec<String>,
}

/// A software bill of materials attached to an asset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Sbom {
    /// `cyclonedx-json`, `cyclonedx-xml`, `spdx-json`, `spdx-tag-value`.
    pub format: String,
    /// Name of the product the SBOM describes, when it says.
    pub subject: String,
    pub components: Vec<SbomComponent>,
}

/// One component of an SBOM.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct SbomComponent {
    pub name: String,
    #[serde(default)]
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpe: Option<String>,
}

/// Answers from a manufacturer's MDS2 form (Manufacturer Disclosure Statement for Medical Device
/// Security), keyed by question id (`AUTH-1`, `PAUT-3`, ...) with the manufacturer's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Mds2 {
    pub manufacturer: String,
    pub model: String,
    #[serde(default)]
    pub version: String,
    pub answers: std::collections::BTreeMap<String, String>,
}

/// The state of one loaded feed, for `intel status` and incremental updates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct FeedState {
    /// `nvd:2024`, `nvd:modified`, `nvd:api`, `kev`, `epss`, `csaf`, `openfda`.
    pub name: String,
    /// File or URL it came from.
    pub source: String,
    pub imported_at: String,
    pub records: u64,
    /// The feed's own version or timestamp (KEV catalogVersion, EPSS model/score date, NVD META
    /// lastModifiedDate).
    #[serde(default)]
    pub version: String,
    /// SHA-256 of the imported content where the feed publishes one.
    #[serde(default)]
    pub sha256: String,
}

/// Where a match came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MatchSource {
    /// NVD configurations matched a CPE built from the fingerprint or SBOM.
    Nvd,
    /// A vendor CSAF advisory lists the product as affected.
    Advisory,
    /// An FDA recall names the device.
    Recall,
    /// The operating system or firmware is past its vendor's end of support.
    EndOfLife,
}

/// How sure a match is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MatchConfidence {
    /// Only the product name agreed (vendor guessed from a name): check by hand.
    NameOnly,
    /// The product is right but its version is unknown, so the range could not be checked.
    VersionUnknown,
    /// Vendor, product and version all matched the criteria and range.
    Exact,
}

impl MatchConfidence {
    /// The stable name used in JSON (`exact`, `version-unknown`, `name-only`).
    pub fn as_str(self) -> &'static str {
        match self {
            MatchConfidence::NameOnly => "name-only",
            MatchConfidence::VersionUnknown => "version-unknown",
            MatchConfidence::Exact => "exact",
        }
    }
}

/// One vulnerability (or advisory, recall, end-of-life) on one asset, with why and how urgent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VulnMatch {
    /// The asset's stable identity (see `Asset::identity`).
    pub asset: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    pub asset_name: String,
    /// CVE id, advisory id, recall number or `eol:<family>`.
    pub id: String,
    pub source: MatchSource,
    pub severity: Severity,
    pub confidence: MatchConfidence,
    /// What on the asset matched: `service 22/tcp OpenSSH 8.9p1`, `SBOM component log4j-core 2.14.1`.
    pub component: String,
    /// Why: the CPE (or product) built from the fingerprint and the criteria/range it fell into.
    pub reason: String,
    /// One sentence for the practice.
    pub plain: String,
    /// The fix, or the compensating control when no fix exists.
    pub fix: String,
    pub title: String,
    pub kev: bool,
    pub ransomware: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epss: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss: Option<f32>,
    /// Reachable from the office network on a port.
    pub exposed: bool,
    /// The device is clinical or holds patient data.
    pub clinical: bool,
    /// Ordering key, larger is more urgent (KEV, then EPSS, CVSS, exposure, role).
    pub priority: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nvd_match_round_trips_with_schema_names() {
        let json = r#"{"vulnerable":true,"criteria":"cpe:2.3:a:apache:log4j:*:*:*:*:*:*:*:*","versionStartIncluding":"2.0.1","versionEndExcluding":"2.3.1","matchCriteriaId":"03FA5E81-F9C0-403E-8A4B-E4284E4E7B72"}"#;
        let m: CpeMatch = serde_json::from_str(json).expect("parse");
        assert_eq!(m.version_start_including.as_deref(), Some("2.0.1"));
        assert!(m.has_range());
        assert_eq!(
            m.range_text(),
            "from 2.0.1 (including) up to 2.3.1 (excluding)"
        );
        let back: CpeMatch =
            serde_json::from_str(&serde_json::to_string(&m).expect("ser")).expect("re-parse");
        assert_eq!(back, m);
    }

    #[test]
    fn cvss_bands() {
        let c = |score| Cvss {
            version: "3.1".into(),
            score,
            vector: String::new(),
        };
        assert_eq!(c(10.0).severity(), Severity::Critical);
        assert_eq!(c(8.1).severity(), Severity::High);
        assert_eq!(c(5.0).severity(), Severity::Medium);
        assert_eq!(c(0.1).severity(), Severity::Low);
    }
}
