//! CSAF 2.0 security advisories (OASIS CSAF v2.0, as CISA publishes its ICS and ICS-medical "ICSMA"
//! advisories): the product tree (nested `branches` of vendor → product → version or version range,
//! plus `full_product_names`), each vulnerability's `product_status` and `remediations`.
//!
//! Version ranges (`product_version_range`) are read in the `vers` syntax the standard recommends
//! (`vers:generic/>=1.0|<2.3`, `vers:all/*`) and in the plain forms advisories also use (`<=4.4.1`,
//! `<V2.3`); see [`in_range`].

use crate::error::{IntelError, Result};
use crate::version;
use medguard_model::{Advisory, AdvisoryProduct};
use serde::Deserialize;
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// Deepest `branches` nesting followed.
const MAX_DEPTH: usize = 32;

#[derive(Deserialize)]
struct Doc {
    document: Document,
    #[serde(default)]
    product_tree: Option<ProductTree>,
    #[serde(default)]
    vulnerabilities: Vec<Vuln>,
}

#[derive(Deserialize)]
struct Document {
    category: String,
    csaf_version: String,
    title: String,
    publisher: Publisher,
    tracking: Tracking,
    #[serde(default)]
    references: Vec<Reference>,
}

#[derive(Deserialize)]
struct Publisher {
    name: String,
}

#[derive(Deserialize)]
struct Tracking {
    id: String,
    #[serde(default)]
    current_release_date: String,
}

#[derive(Deserialize)]
struct Reference {
    #[serde(default)]
    category: String,
    url: String,
}

#[derive(Deserialize, Default)]
struct ProductTree {
    #[serde(default)]
    branches: Vec<Branch>,
    #[serde(default)]
    full_product_names: Vec<FullProductName>,
}

#[derive(Deserialize)]
struct Branch {
    category: String,
    name: String,
    #[serde(default)]
    branches: Vec<Branch>,
    #[serde(default)]
    product: Option<FullProductName>,
}

#[derive(Deserialize)]
struct FullProductName {
    product_id: String,
    name: String,
    #[serde(default)]
    product_identification_helper: Option<Helper>,
}

#[derive(Deserialize)]
struct Helper {
    #[serde(default)]
    cpe: Option<String>,
    #[serde(default)]
    purl: Option<String>,
}

#[derive(Deserialize)]
struct Vuln {
    #[serde(default)]
    cve: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    product_status: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    remediations: Vec<Remediation>,
    #[serde(default)]
    scores: Vec<Score>,
}

#[derive(Deserialize)]
struct Remediation {
    category: String,
    details: String,
    #[serde(default)]
    product_ids: Vec<String>,
}

#[derive(Deserialize)]
struct Score {
    #[serde(default)]
    cvss_v3: Option<CvssV3>,
    #[serde(default)]
    products: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CvssV3 {
    base_score: f32,
}

#[derive(Default, Clone)]
struct ProductInfo {
    vendor: String,
    product: String,
    versions: String,
    cpe: Option<String>,
    purl: Option<String>,
}

fn walk(b: &Branch, ctx: ProductInfo, depth: usize, out: &mut BTreeMap<String, ProductInfo>) {
    if depth > MAX_DEPTH {
        return;
    }
    let mut ctx = ctx;
    match b.category.as_str() {
        "vendor" => ctx.vendor = b.name.clone(),
        "product_name" => ctx.product = b.name.clone(),
        "product_family" if ctx.product.is_empty() => ctx.product = b.name.clone(),
        "product_version" => ctx.versions = b.name.clone(),
        "product_version_range" => ctx.versions = b.name.clone(),
        _ => {}
    }
    if let Some(p) = &b.product {
        let mut info = ctx.clone();
        if info.product.is_empty() {
            info.product = p.name.clone();
        }
        if let Some(h) = &p.product_identification_helper {
            info.cpe = h.cpe.clone();
            info.purl = h.purl.clone();
        }
        out.insert(p.product_id.clone(), info);
    }
    for child in &b.branches {
        walk(child, ctx.clone(), depth + 1, out);
    }
}

/// Statuses under which a product is affected.
const AFFECTED: &[&str] = &["known_affected", "first_affected", "last_affected"];

/// Parse a CSAF 2.0 document into an [`Advisory`] with one entry per product and status.
pub fn parse(bytes: &[u8]) -> Result<Advisory> {
    let d: Doc = serde_json::from_slice(bytes).map_err(|source| IntelError::Json {
        what: "CSAF",
        source,
    })?;
    if !d.document.csaf_version.starts_with("2.") {
        return Err(IntelError::format(
            "CSAF",
            format!("csaf_version {:?} (expected 2.0)", d.document.csaf_version),
        ));
    }
    let tree = d.product_tree.unwrap_or_default();
    let mut products = BTreeMap::new();
    for b in &tree.branches {
        walk(b, ProductInfo::default(), 0, &mut products);
    }
    for f in &tree.full_product_names {
        products
            .entry(f.product_id.clone())
            .or_insert_with(|| ProductInfo {
                product: f.name.clone(),
                cpe: f
                    .product_identification_helper
                    .as_ref()
                    .and_then(|h| h.cpe.clone()),
                purl: f
                    .product_identification_helper
                    .as_ref()
                    .and_then(|h| h.purl.clone()),
                ..ProductInfo::default()
            });
    }
    // (product id, status) → entry
    let mut entries: BTreeMap<(String, String), AdvisoryProduct> = BTreeMap::new();
    for v in &d.vulnerabilities {
        let name = v
            .cve
            .clone()
            .or_else(|| v.title.clone())
            .unwrap_or_else(|| d.document.tracking.id.clone());
        for (status, ids) in &v.product_status {
            let status = if AFFECTED.contains(&status.as_str()) {
                "known_affected"
            } else {
                status.as_str()
            };
            for id in ids {
                let Some(info) = products.get(id) else {
                    continue;
                };
                let e = entries
                    .entry((id.clone(), status.to_string()))
                    .or_insert_with(|| AdvisoryProduct {
                        vendor: info.vendor.clone(),
                        product: info.product.clone(),
                        versions: if info.versions.is_empty() {
                            "*".into()
                        } else {
                            info.versions.clone()
                        },
                        status: status.to_string(),
                        cpe: info.cpe.clone(),
                        purl: info.purl.clone(),
                        ..AdvisoryProduct::default()
                    });
                if !e.cves.contains(&name) {
                    e.cves.push(name.clone());
                }
                for r in v.remediations.iter().filter(|r| r.product_ids.contains(id)) {
                    let line = format!("{}: {}", r.category.replace('_', " "), r.details.trim());
                    if !e.remediation.contains(&line) {
                        if !e.remediation.is_empty() {
                            e.remediation.push('\n');
                        }
                        e.remediation.push_str(&line);
                    }
                }
                for s in v.scores.iter().filter(|s| s.products.contains(id)) {
                    if let Some(c) = &s.cvss_v3
                        && e.cvss.is_none_or(|x| c.base_score > x)
                    {
                        e.cvss = Some(c.base_score);
                    }
                }
            }
        }
    }
    let url = d
        .document
        .references
        .iter()
        .find(|r| r.category == "self")
        .map(|r| r.url.clone());
    if d.document.category.is_empty() {
        return Err(IntelError::format("CSAF", "document.category is empty"));
    }
    Ok(Advisory {
        id: d.document.tracking.id,
        title: d.document.title,
        publisher: d.document.publisher.name,
        released: d.document.tracking.current_release_date,
        url,
        products: entries.into_values().collect(),
    })
}

/// Whether `v` satisfies a CSAF version expression: `*`, an exact version, a `vers:` range
/// (`vers:generic/>=1.0|<2.3`: bounds are ANDed, bare versions ORed) or a plain `<=4.4.1`.
/// Returns `None` when the expression cannot be read.
pub fn in_range(expr: &str, v: &str) -> Option<bool> {
    let e = expr.trim();
    let body = match e.strip_prefix("vers:") {
        Some(rest) => rest.split_once('/').map(|(_, c)| c)?,
        None => e,
    };
    let body = body.trim();
    if body == "*" || body.is_empty() {
        return Some(true);
    }
    let mut exact = Vec::new();
    let mut bounds_ok = true;
    let mut has_bounds = false;
    for c in body.split('|').map(str::trim).filter(|c| !c.is_empty()) {
        let (op, ver) = if let Some(x) = c.strip_prefix(">=") {
            (">=", x)
        } else if let Some(x) = c.strip_prefix("<=") {
            ("<=", x)
        } else if let Some(x) = c.strip_prefix("!=") {
            ("!=", x)
        } else if let Some(x) = c.strip_prefix('>') {
            (">", x)
        } else if let Some(x) = c.strip_prefix('<') {
            ("<", x)
        } else if let Some(x) = c.strip_prefix('=') {
            ("=", x)
        } else {
            ("=", c)
        };
        let ver = ver.trim();
        if !version::is_version(ver) {
            return None;
        }
        let o = version::compare(v, ver);
        match op {
            "=" => exact.push(o == Ordering::Equal),
            "!=" => bounds_ok &= o != Ordering::Equal,
            ">=" => {
                has_bounds = true;
                bounds_ok &= o != Ordering::Less;
            }
            ">" => {
                has_bounds = true;
                bounds_ok &= o == Ordering::Greater;
            }
            "<=" => {
                has_bounds = true;
                bounds_ok &= o != Ordering::Greater;
            }
            _ => {
                has_bounds = true;
                bounds_ok &= o == Ordering::Less;
            }
        }
    }
    if exact.iter().any(|x| *x) {
        return Some(bounds_ok || !has_bounds);
    }
    Some(has_bounds && bounds_ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_expressions() {
        assert_eq!(in_range("vers:all/*", "1.0"), Some(true));
        assert_eq!(in_range("vers:generic/>=1.0|<2.3", "2.2.9"), Some(true));
        assert_eq!(in_range("vers:generic/>=1.0|<2.3", "2.3"), Some(false));
        assert_eq!(in_range("<=4.4.1", "4.4.1"), Some(true));
        assert_eq!(in_range("<=4.4.1", "4.5"), Some(false));
        assert_eq!(in_range("<V2.3", "v2.2"), Some(true));
        assert_eq!(in_range("3.1|3.2", "3.2"), Some(true));
        assert_eq!(in_range("3.1|3.2", "3.3"), Some(false));
        assert_eq!(in_range("all versions before the fix", "1"), None);
    }
}
