//! CISA Known Exploited Vulnerabilities catalog (JSON, schema
//! `known_exploited_vulnerabilities_schema.json`): `{title, catalogVersion, dateReleased, count,
//! vulnerabilities: [{cveID, vendorProject, product, vulnerabilityName, dateAdded, shortDescription,
//! requiredAction, dueDate, knownRansomwareCampaignUse, notes, cwes}]}`.

use crate::error::{IntelError, Result};
use medguard_model::KevEntry;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Catalog {
    #[serde(default)]
    title: String,
    catalog_version: String,
    #[serde(default)]
    date_released: String,
    #[serde(default)]
    count: Option<u64>,
    vulnerabilities: Vec<Raw>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    #[serde(rename = "cveID")]
    cve_id: String,
    #[serde(default)]
    vendor_project: String,
    #[serde(default)]
    product: String,
    #[serde(default)]
    vulnerability_name: String,
    #[serde(default)]
    date_added: String,
    #[serde(default)]
    short_description: String,
    #[serde(default)]
    required_action: String,
    #[serde(default)]
    due_date: String,
    #[serde(default)]
    known_ransomware_campaign_use: String,
}

/// A parsed catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct Kev {
    pub title: String,
    pub version: String,
    pub released: String,
    pub entries: Vec<KevEntry>,
}

/// Parse the KEV JSON catalog.
pub fn parse(bytes: &[u8]) -> Result<Kev> {
    let c: Catalog = serde_json::from_slice(bytes).map_err(|source| IntelError::Json {
        what: "CISA KEV",
        source,
    })?;
    if let Some(n) = c.count
        && n != c.vulnerabilities.len() as u64
    {
        return Err(IntelError::format(
            "CISA KEV",
            format!(
                "count says {n} but the catalog lists {}",
                c.vulnerabilities.len()
            ),
        ));
    }
    let mut entries = Vec::with_capacity(c.vulnerabilities.len());
    for v in c.vulnerabilities {
        if !crate::is_cve_id(&v.cve_id) {
            return Err(IntelError::format(
                "CISA KEV",
                format!("{:?} is not a CVE id", v.cve_id),
            ));
        }
        entries.push(KevEntry {
            cve_id: v.cve_id,
            vendor_project: v.vendor_project,
            product: v.product,
            name: v.vulnerability_name,
            date_added: v.date_added,
            due_date: v.due_date,
            required_action: v.required_action,
            ransomware: v
                .known_ransomware_campaign_use
                .eq_ignore_ascii_case("known"),
            description: v.short_description,
        });
    }
    Ok(Kev {
        title: c.title,
        version: c.catalog_version,
        released: c.date_released,
        entries,
    })
}
