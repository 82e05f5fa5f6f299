//! The findings catalog (`data/findings.toml`): turns a probe's [`RawFinding`] (an id and the
//! evidence) into a [`Finding`] a practice manager can act on.

use crate::probe::RawFinding;
use medguard_model::{Finding, Severity};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::OnceLock;

const FINDINGS_TOML: &str = include_str!("../../../data/findings.toml");

/// One catalog entry.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FindingDef {
    /// Stable id, e.g. `telnet-enabled`.
    pub id: String,
    /// How urgent it is.
    pub severity: Severity,
    /// One line, plain language.
    pub title: String,
    /// What it means for the practice and its patients' data.
    pub explanation: String,
    /// How to fix it.
    pub fix: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    finding: Vec<FindingDef>,
}

/// The catalog, indexed by id.
#[derive(Debug)]
pub struct FindingsCatalog {
    defs: Vec<FindingDef>,
    by_id: HashMap<String, usize>,
}

/// Why a findings catalog could not be loaded. Reads after "failed to ...".
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("parse the findings catalog")]
    Toml(#[from] toml::de::Error),
    #[error("load the findings catalog: duplicate id {0:?}")]
    Duplicate(String),
    #[error("load the findings catalog: entry {0:?} has empty text")]
    Empty(String),
}

impl FindingsCatalog {
    /// Parse a catalog text.
    pub fn parse(text: &str) -> Result<Self, CatalogError> {
        let file: File = toml::from_str(text)?;
        let mut by_id = HashMap::new();
        for (i, d) in file.finding.iter().enumerate() {
            if [&d.id, &d.title, &d.explanation, &d.fix]
                .iter()
                .any(|s| s.trim().is_empty())
            {
                return Err(CatalogError::Empty(d.id.clone()));
            }
            if by_id.insert(d.id.clone(), i).is_some() {
                return Err(CatalogError::Duplicate(d.id.clone()));
            }
        }
        Ok(FindingsCatalog {
            defs: file.finding,
            by_id,
        })
    }

    /// The built-in catalog (checked by a unit test, so loading cannot fail in a release).
    pub fn builtin() -> &'static FindingsCatalog {
        static CAT: OnceLock<FindingsCatalog> = OnceLock::new();
        CAT.get_or_init(|| {
            FindingsCatalog::parse(FINDINGS_TOML)
                .unwrap_or_else(|e| panic!("data/findings.toml is invalid: {e}"))
        })
    }

    /// Look an id up.
    pub fn get(&self, id: &str) -> Option<&FindingDef> {
        self.by_id.get(id).and_then(|&i| self.defs.get(i))
    }

    /// Every entry, in file order.
    pub fn all(&self) -> &[FindingDef] {
        &self.defs
    }

    /// Turn a probe's finding into a full finding. An id missing from the catalog (a bug the
    /// catalog test guards against) still surfaces, as a medium finding that says so.
    pub fn resolve(&self, raw: &RawFinding, port: Option<u16>) -> Finding {
        match self.get(raw.id) {
            Some(d) => Finding {
                id: d.id.clone(),
                severity: d.severity,
                title: d.title.clone(),
                explanation: d.explanation.clone(),
                fix: d.fix.clone(),
                evidence: raw.evidence.clone(),
                port,
            },
            None => Finding {
                id: raw.id.to_string(),
                severity: Severity::Medium,
                title: format!("Unclassified finding {}", raw.id),
                explanation: "A probe reported a problem medguard's catalog does not describe yet."
                    .to_string(),
                fix: "Review the evidence with your IT provider.".to_string(),
                evidence: raw.evidence.clone(),
                port,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every finding id the issue requires.
    const REQUIRED: &[&str] = &[
        "telnet-enabled",
        "ftp-anonymous",
        "smbv1-enabled",
        "smb-signing-not-required",
        "rdp-no-nla",
        "vnc-no-auth",
        "dicom-any-ae-accepted",
        "dicom-unencrypted",
        "hl7-unauthenticated",
        "mqtt-anonymous",
        "snmp-default-community",
        "bacnet-unauthenticated",
        "modbus-unauthenticated",
        "rtsp-no-auth",
        "http-admin-no-tls",
        "tls-self-signed",
        "tls-expired",
        "tls-legacy-protocol",
    ];

    #[test]
    fn builtin_catalog_has_every_required_id_with_plain_text() {
        let cat = FindingsCatalog::builtin();
        for id in REQUIRED {
            let d = cat.get(id).unwrap_or_else(|| panic!("{id} missing"));
            assert!(d.explanation.len() > 80, "{id}: explanation too thin");
            assert!(d.fix.len() > 40, "{id}: fix too thin");
        }
        for d in cat.all() {
            assert!(
                d.id.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{}: ids are kebab-case",
                d.id
            );
        }
    }

    /// Every id any probe can emit (found in the probe sources) is in the catalog.
    #[test]
    fn every_probe_finding_id_is_catalogued() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/probes");
        let re = regex::Regex::new(r#"(?:finding\(\s*|id:\s*)"([a-z0-9]+(?:-[a-z0-9]+)+)""#)
            .expect("regex");
        let cat = FindingsCatalog::builtin();
        let mut missing = Vec::new();
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).expect("probes dir") {
            let path = entry.expect("entry").path();
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("read probe");
            for cap in re.captures_iter(&text) {
                seen += 1;
                if cat.get(&cap[1]).is_none() {
                    missing.push(format!("{} in {}", &cap[1], path.display()));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "ids missing from data/findings.toml: {missing:?}"
        );
        // Until probes land the scan finds nothing; afterwards it must find their ids.
        let probe_files = std::fs::read_dir(&dir).expect("dir").count();
        assert!(
            probe_files <= 1 || seen > 0,
            "no finding ids found in {probe_files} probe files"
        );
    }

    #[test]
    fn rejects_bad_catalogs() {
        let dup = "[[finding]]\nid='a'\nseverity='low'\ntitle='t'\nexplanation='e'\nfix='f'\n\
                   [[finding]]\nid='a'\nseverity='low'\ntitle='t'\nexplanation='e'\nfix='f'\n";
        assert!(matches!(
            FindingsCatalog::parse(dup),
            Err(CatalogError::Duplicate(_))
        ));
        let unknown =
            "[[finding]]\nid='a'\nseverity='low'\ntitle='t'\nexplanation='e'\nfix='f'\nextra=1\n";
        assert!(FindingsCatalog::parse(unknown).is_err());
        let empty = "[[finding]]\nid='a'\nseverity='low'\ntitle=' '\nexplanation='e'\nfix='f'\n";
        assert!(matches!(
            FindingsCatalog::parse(empty),
            Err(CatalogError::Empty(_))
        ));
    }

    #[test]
    fn resolves_raw_findings() {
        let cat = FindingsCatalog::builtin();
        let f = cat.resolve(
            &RawFinding {
                id: "telnet-enabled",
                evidence: "banner: login:".into(),
            },
            Some(23),
        );
        assert_eq!(f.severity, Severity::High);
        assert_eq!(f.port, Some(23));
        assert_eq!(f.evidence, "banner: login:");
        let f = cat.resolve(
            &RawFinding {
                id: "no-such-finding",
                evidence: "x".into(),
            },
            None,
        );
        assert_eq!(f.severity, Severity::Medium);
    }
}
