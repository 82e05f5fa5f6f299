//! medguard-intel: vulnerability and advisory intelligence.
//!
//! * Feeds in their published formats: NVD CVE JSON 2.0 ([`nvd`]), CISA KEV ([`kev`]), FIRST EPSS
//!   ([`epss`]), CSAF 2.0 advisories ([`csaf`]), openFDA device recalls ([`openfda`]), plus the
//!   end-of-life table ([`eol`]). [`import`] recognises a file's format from its content and loads it
//!   in one all-or-nothing store transaction; [`fetch`] downloads them (resume, integrity checks).
//! * SBOMs: CycloneDX JSON/XML and SPDX JSON/tag-value ([`sbom`]).
//! * Matching ([`matcher`]): CPE 2.3 names ([`cpe`]) built from fingerprints and SBOMs with the
//!   alias table ([`aliases`]), NVD configurations evaluated with version ranges ([`version`]),
//!   advisories, recalls and end-of-life, ranked KEV → EPSS → CVSS → exposure → role.

pub mod aliases;
pub mod cpe;
pub mod csaf;
pub mod eol;
pub mod epss;
pub mod error;
pub mod fetch;
pub mod import;
pub mod kev;
pub mod matcher;
pub mod nvd;
pub mod openfda;
pub mod sbom;
pub mod version;

pub use error::{IntelError, Result};
pub use import::{ImportReport, import_file};
pub use matcher::{MatchOptions, Matcher};

use medguard_model::{Asset, Sbom, VulnMatch};
use medguard_store::{IntelStore, InventoryStore};
use std::collections::HashMap;

/// Whether `s` looks like `CVE-YYYY-NNNN...`.
pub fn is_cve_id(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("CVE-") else {
        return false;
    };
    let Some((year, num)) = rest.split_once('-') else {
        return false;
    };
    year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && (4..=12).contains(&num.len())
        && num.bytes().all(|b| b.is_ascii_digit())
}

/// Match every asset of the inventory (and every asset that only has an SBOM attached) against the
/// knowledge base, most urgent first.
pub fn match_store<S: IntelStore + InventoryStore + ?Sized>(
    store: &S,
    opts: MatchOptions,
) -> Result<Vec<VulnMatch>> {
    let mut assets = store.assets()?;
    let sboms = store.sboms()?;
    let mut by_asset: HashMap<String, Vec<Sbom>> = HashMap::new();
    for (identity, sbom) in sboms {
        by_asset.entry(identity).or_default().push(sbom);
    }
    // SBOMs attached to an address no scan has seen yet still get matched.
    for identity in by_asset.keys() {
        if !assets.iter().any(|a| &a.identity() == identity) {
            let ip = identity.strip_prefix("ip:").and_then(|s| s.parse().ok());
            assets.push(Asset {
                ip,
                hostname: ip.is_none().then(|| identity.clone()),
                ..Asset::default()
            });
        }
    }
    let mut m = Matcher::new(store, opts)?;
    let mut out = Vec::new();
    for a in &assets {
        let id = a.identity();
        let list: Vec<&Sbom> = by_asset
            .get(&id)
            .map(|v| v.iter().collect())
            .unwrap_or_default();
        out.extend(m.match_asset(a, &list)?);
    }
    matcher::sort(&mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn cve_ids() {
        assert!(super::is_cve_id("CVE-2021-44228"));
        assert!(super::is_cve_id("CVE-2024-6387"));
        assert!(!super::is_cve_id("CVE-21-1"));
        assert!(!super::is_cve_id("GHSA-xxxx"));
    }
}
