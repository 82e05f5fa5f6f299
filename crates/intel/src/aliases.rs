//! Vendor/product aliases (`data/cpe-aliases.toml`, compiled in): how fingerprint, SBOM and asset
//! names map to NVD CPE vendor and product names.

use crate::cpe::{Cpe, Value};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::OnceLock;

/// A software product alias.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductAlias {
    pub names: Vec<String>,
    #[serde(default)]
    pub purls: Vec<String>,
    pub vendor: String,
    pub product: String,
    /// Put version suffixes (`p1`, `rc1`) into the CPE update attribute.
    #[serde(default)]
    pub split_update: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct VendorAlias {
    names: Vec<String>,
    cpe: String,
}

/// An operating system recognised in an OS string.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OsAlias {
    pub contains: Vec<String>,
    pub cpe: String,
    #[serde(default)]
    pub service_pack: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    product: Vec<ProductAlias>,
    #[serde(default)]
    vendor: Vec<VendorAlias>,
    #[serde(default)]
    os: Vec<OsAlias>,
}

/// The alias tables, indexed.
#[derive(Debug)]
pub struct Aliases {
    products: Vec<ProductAlias>,
    by_name: HashMap<String, usize>,
    by_purl: HashMap<String, usize>,
    vendors: HashMap<String, String>,
    os: Vec<(OsAlias, Cpe)>,
}

/// The aliases shipped with medguard.
pub const BUILTIN: &str = include_str!("../../../data/cpe-aliases.toml");

impl Aliases {
    /// Parse an alias file.
    pub fn from_toml(text: &str) -> Result<Aliases, String> {
        let f: File = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut by_name = HashMap::new();
        let mut by_purl = HashMap::new();
        for (i, p) in f.product.iter().enumerate() {
            for n in &p.names {
                by_name.insert(n.to_lowercase(), i);
            }
            for u in &p.purls {
                by_purl.insert(u.to_lowercase(), i);
            }
        }
        let mut vendors = HashMap::new();
        for v in f.vendor {
            for n in v.names {
                vendors.insert(n.to_lowercase(), v.cpe.clone());
            }
        }
        let os =
            f.os.into_iter()
                .map(|o| {
                    let c = Cpe::parse(&o.cpe).map_err(|e| format!("{}: {e}", o.cpe))?;
                    Ok((o, c))
                })
                .collect::<Result<Vec<_>, String>>()?;
        Ok(Aliases {
            products: f.product,
            by_name,
            by_purl,
            vendors,
            os,
        })
    }

    /// The built-in tables (parsed once).
    pub fn builtin() -> &'static Aliases {
        static A: OnceLock<Aliases> = OnceLock::new();
        A.get_or_init(|| {
            // The file is compiled in and covered by a unit test, so it always parses.
            Aliases::from_toml(BUILTIN).unwrap_or_else(|_| Aliases {
                products: Vec::new(),
                by_name: HashMap::new(),
                by_purl: HashMap::new(),
                vendors: HashMap::new(),
                os: Vec::new(),
            })
        })
    }

    /// The product alias for a name as fingerprints report it.
    pub fn product_by_name(&self, name: &str) -> Option<&ProductAlias> {
        self.by_name
            .get(&name.trim().to_lowercase())
            .and_then(|i| self.products.get(*i))
    }

    /// The product alias for a purl key (`pkg:type/namespace/name`).
    pub fn product_by_purl(&self, key: &str) -> Option<&ProductAlias> {
        self.by_purl.get(key).and_then(|i| self.products.get(*i))
    }

    /// The CPE vendor for a manufacturer name: an alias, else the first word, lowercased.
    pub fn vendor(&self, name: &str) -> Option<String> {
        let n = name.trim().to_lowercase();
        if n.is_empty() {
            return None;
        }
        if let Some(v) = self.vendors.get(&n) {
            return Some(v.clone());
        }
        n.split(|c: char| c.is_whitespace() || c == ',')
            .next()
            .map(str::to_string)
    }

    /// Operating system CPEs recognised in an OS string.
    pub fn os(&self, text: &str) -> Option<Cpe> {
        let t = text.to_lowercase();
        let (alias, cpe) = self
            .os
            .iter()
            .find(|(o, _)| o.contains.iter().all(|c| t.contains(c.as_str())))?;
        let mut cpe = cpe.clone();
        if alias.service_pack {
            cpe.update = service_pack(&t).map(Value::Text).unwrap_or(Value::Na);
        }
        Some(cpe)
    }
}

/// `Service Pack 1` / `SP2` → `sp1` / `sp2`.
fn service_pack(t: &str) -> Option<String> {
    let after = t
        .find("service pack")
        .map(|i| &t[i + "service pack".len()..])
        .or_else(|| {
            t.split_whitespace()
                .find(|w| w.starts_with("sp") && w.len() > 2)
                .map(|w| &w[2..])
        })?;
    let digits: String = after
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    if digits.is_empty() {
        None
    } else {
        Some(format!("sp{digits}"))
    }
}

/// Split `8.9p1` into (`8.9`, `p1`) and `2.0-rc1` into (`2.0`, `rc1`); a plain `2.14.1` gives
/// (`2.14.1`, None).
pub fn split_update(v: &str) -> (String, Option<String>) {
    let end = v
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.'))
        .map(|(i, _)| i)
        .unwrap_or(v.len());
    let (base, rest) = v.split_at(end);
    let base = base.trim_end_matches('.');
    let rest = rest.trim_start_matches(['-', '_', '.', '+', '~']);
    if rest.is_empty() || base.is_empty() {
        (v.to_string(), None)
    } else {
        (base.to_string(), Some(rest.to_lowercase()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_parses_and_resolves() {
        let a = Aliases::from_toml(BUILTIN).expect("aliases");
        assert_eq!(
            a.product_by_name("OpenSSH").map(|p| p.vendor.as_str()),
            Some("openbsd")
        );
        assert_eq!(
            a.product_by_purl("pkg:maven/org.apache.logging.log4j/log4j-core")
                .map(|p| p.product.as_str()),
            Some("log4j")
        );
        assert_eq!(a.vendor("Siemens Healthineers").as_deref(), Some("siemens"));
        assert_eq!(a.vendor("Acme Dental Inc").as_deref(), Some("acme"));
        let os = a
            .os("Windows 7 Professional 7601 Service Pack 1")
            .expect("windows 7");
        assert_eq!(
            os.to_string(),
            "cpe:2.3:o:microsoft:windows_7:-:sp1:*:*:*:*:*:*"
        );
        let os = a
            .os("Windows Server 2008 R2 Standard 7601 Service Pack 1")
            .expect("2008 r2");
        assert_eq!(os.version, Value::Text("r2".into()));
    }

    #[test]
    fn splits_updates() {
        assert_eq!(split_update("8.9p1"), ("8.9".into(), Some("p1".into())));
        assert_eq!(split_update("2.0-rc1"), ("2.0".into(), Some("rc1".into())));
        assert_eq!(split_update("2.14.1"), ("2.14.1".into(), None));
        assert_eq!(split_update("p1"), ("p1".into(), None));
    }
}
