//! Classification from data: the fingerprint catalog (`data/fingerprints.toml`) maps the evidence
//! the probes gathered (protocols, attributes, banners, port combinations) to a device category,
//! vendor, model and firmware, with a confidence and the evidence that decided it.
//!
//! A rule holds when every one of its conditions is met by some service of the device (different
//! conditions may be met by different services, which expresses port combinations). The matching
//! rule with the highest confidence decides the category; vendor, model, firmware and OS come from
//! the most confident matching rule that provides them, else from what the probes reported.
//! Templates such as `"{version}"` take named captures of the rule's regexes.

use medguard_model::{Asset, Category, Service};
use regex::Regex;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

const FINGERPRINTS_TOML: &str = include_str!("../../../data/fingerprints.toml");

/// One condition on the services of a device.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CondDef {
    /// The service's identified protocol must be this.
    pub protocol: Option<String>,
    /// The service must be on this port.
    pub port: Option<u16>,
    /// Which field to test: `product`, `version`, `banner`, `protocol`, or an attribute name.
    pub field: Option<String>,
    /// The field must match this regex (named captures feed the templates).
    pub regex: Option<String>,
    /// The field must equal this (case-insensitive).
    pub equals: Option<String>,
}

/// One rule as written in the catalog.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    /// Stable rule id, recorded in `Asset.classified_by`.
    pub id: String,
    /// Category (kebab-case, e.g. `pacs`).
    pub category: String,
    /// 0.0 to 1.0.
    pub confidence: f32,
    /// Vendor template.
    pub vendor: Option<String>,
    /// Model template.
    pub model: Option<String>,
    /// Firmware template.
    pub firmware: Option<String>,
    /// Operating system template.
    pub os: Option<String>,
    /// Conditions; all must hold.
    #[serde(rename = "match")]
    pub conditions: Vec<CondDef>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    rule: Vec<RuleDef>,
}

#[derive(Debug)]
struct Cond {
    protocol: Option<String>,
    port: Option<u16>,
    field: Option<String>,
    regex: Option<Regex>,
    equals: Option<String>,
}

#[derive(Debug)]
struct Rule {
    def: RuleDef,
    category: Category,
    conds: Vec<Cond>,
}

/// A compiled fingerprint catalog.
#[derive(Debug)]
pub struct Fingerprints {
    rules: Vec<Rule>,
}

/// Why a fingerprint catalog could not be loaded. Reads after "failed to ...".
#[derive(Debug, thiserror::Error)]
pub enum FingerprintError {
    #[error("parse the fingerprint catalog")]
    Toml(#[from] toml::de::Error),
    #[error("load fingerprint rule {rule:?}: {reason}")]
    Rule { rule: String, reason: String },
}

/// The result of classifying one device.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Classification {
    /// The winning category.
    pub category: Category,
    /// How sure (0.0-1.0).
    pub confidence: f32,
    /// Vendor, if any rule or probe said.
    pub vendor: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Firmware.
    pub firmware: Option<String>,
    /// Operating system.
    pub os: Option<String>,
    /// `rule:<id>` and the evidence it matched, winner first.
    pub classified_by: Vec<String>,
}

fn field_value<'a>(s: &'a Service, field: &str) -> Option<std::borrow::Cow<'a, str>> {
    use std::borrow::Cow;
    match field {
        "protocol" => Some(Cow::Borrowed(s.protocol.as_str())),
        "product" => s.product.as_deref().map(Cow::Borrowed),
        "version" => s.version.as_deref().map(Cow::Borrowed),
        "banner" => s.banner.as_deref().map(Cow::Borrowed),
        "port" => Some(Cow::Owned(s.port.to_string())),
        other => s.attributes.get(other).map(|v| Cow::Borrowed(v.as_str())),
    }
}

impl Cond {
    /// Test one service; on a match, return the evidence line and add named captures.
    fn test(&self, s: &Service, caps: &mut BTreeMap<String, String>) -> Option<String> {
        if self.protocol.as_ref().is_some_and(|p| *p != s.protocol) {
            return None;
        }
        if self.port.is_some_and(|p| p != s.port) {
            return None;
        }
        let mut evidence = format!("{}/{} {}", s.port, s.transport, s.protocol);
        if let Some(field) = &self.field {
            let v = field_value(s, field)?;
            if let Some(eq) = &self.equals
                && !v.eq_ignore_ascii_case(eq)
            {
                return None;
            }
            if let Some(re) = &self.regex {
                let c = re.captures(&v)?;
                for name in re.capture_names().flatten() {
                    if let Some(m) = c.name(name) {
                        caps.entry(name.to_string())
                            .or_insert_with(|| m.as_str().trim().to_string());
                    }
                }
            }
            let shown: String = v.chars().take(80).collect();
            evidence.push_str(&format!(" {field}={shown:?}"));
        }
        Some(evidence)
    }
}

/// Fill `{name}` placeholders from captures; `None` when one is missing or the result is empty.
fn render(template: &str, caps: &BTreeMap<String, String>) -> Option<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let end = after.find('}')?;
        out.push_str(caps.get(&after[..end])?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    let out = out.trim().to_string();
    (!out.is_empty()).then_some(out)
}

struct Hit<'a> {
    rule: &'a Rule,
    caps: BTreeMap<String, String>,
    evidence: Vec<String>,
}

impl Fingerprints {
    /// Parse and compile a catalog: every category must be valid, every regex must compile, every
    /// rule must have at least one condition and a confidence in 0..=1.
    pub fn parse(text: &str) -> Result<Self, FingerprintError> {
        let file: File = toml::from_str(text)?;
        let mut rules = Vec::with_capacity(file.rule.len());
        for def in file.rule {
            let err = |reason: String| FingerprintError::Rule {
                rule: def.id.clone(),
                reason,
            };
            let category: Category = def.category.parse().map_err(|e| err(format!("{e}")))?;
            if !(0.0..=1.0).contains(&def.confidence) {
                return Err(err("confidence must be between 0 and 1".into()));
            }
            if def.conditions.is_empty() {
                return Err(err("no conditions".into()));
            }
            let mut conds = Vec::new();
            for c in &def.conditions {
                if (c.regex.is_some() || c.equals.is_some()) != c.field.is_some() {
                    return Err(err("`regex`/`equals` and `field` go together".into()));
                }
                if c.protocol.is_none() && c.port.is_none() && c.field.is_none() {
                    return Err(err("empty condition".into()));
                }
                let regex = match &c.regex {
                    Some(r) => Some(
                        regex::RegexBuilder::new(r)
                            .size_limit(1 << 20)
                            .build()
                            .map_err(|e| err(format!("regex {r:?}: {e}")))?,
                    ),
                    None => None,
                };
                conds.push(Cond {
                    protocol: c.protocol.clone(),
                    port: c.port,
                    field: c.field.clone(),
                    regex,
                    equals: c.equals.clone(),
                });
            }
            rules.push(Rule {
                def,
                category,
                conds,
            });
        }
        Ok(Fingerprints { rules })
    }

    /// The built-in catalog (checked by a unit test).
    pub fn builtin() -> &'static Fingerprints {
        static FP: OnceLock<Fingerprints> = OnceLock::new();
        FP.get_or_init(|| {
            Fingerprints::parse(FINGERPRINTS_TOML)
                .unwrap_or_else(|e| panic!("data/fingerprints.toml is invalid: {e}"))
        })
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether the catalog has no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    fn hits<'a>(&'a self, services: &[Service]) -> Vec<Hit<'a>> {
        let mut hits = Vec::new();
        'rules: for rule in &self.rules {
            let mut caps = BTreeMap::new();
            let mut evidence = Vec::new();
            for cond in &rule.conds {
                match services.iter().find_map(|s| cond.test(s, &mut caps)) {
                    Some(e) => evidence.push(e),
                    None => continue 'rules,
                }
            }
            hits.push(Hit {
                rule,
                caps,
                evidence,
            });
        }
        // Stable: equal confidence keeps catalog order.
        hits.sort_by(|a, b| b.rule.def.confidence.total_cmp(&a.rule.def.confidence));
        hits
    }

    /// Classify a device from its services.
    pub fn classify(&self, services: &[Service]) -> Classification {
        let hits = self.hits(services);
        let mut c = Classification::default();
        if let Some(win) = hits.first() {
            c.category = win.rule.category;
            c.confidence = win.rule.def.confidence;
        }
        let pick = |get: fn(&RuleDef) -> Option<&String>| {
            hits.iter()
                .find_map(|h| get(&h.rule.def).and_then(|t| render(t, &h.caps)))
        };
        c.vendor = pick(|d| d.vendor.as_ref());
        c.model = pick(|d| d.model.as_ref());
        c.firmware = pick(|d| d.firmware.as_ref());
        c.os = pick(|d| d.os.as_ref());
        for h in hits.iter().take(3) {
            c.classified_by.push(format!(
                "rule:{} ({:.2}) {} matched {}",
                h.rule.def.id,
                h.rule.def.confidence,
                h.rule.category,
                h.evidence.join("; ")
            ));
        }
        // What the probes reported directly fills what no rule said.
        let reported = |key: &str| {
            services
                .iter()
                .find_map(|s| s.attributes.get(key).filter(|v| !v.is_empty()).cloned())
        };
        c.vendor = c.vendor.or_else(|| reported("vendor"));
        c.model = c.model.or_else(|| reported("model"));
        c.firmware = c.firmware.or_else(|| reported("firmware"));
        c.os = c.os.or_else(|| reported("os"));
        c
    }

    /// Classify an asset in place from its services.
    pub fn apply(&self, asset: &mut Asset) {
        let c = self.classify(&asset.services);
        asset.category = c.category;
        asset.confidence = c.confidence;
        asset.vendor = c.vendor.or(asset.vendor.take());
        asset.model = c.model.or(asset.model.take());
        asset.firmware = c.firmware.or(asset.firmware.take());
        asset.os = c.os.or(asset.os.take());
        asset.classified_by = c.classified_by;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use medguard_model::Transport;

    fn svc(port: u16, protocol: &str, attrs: &[(&str, &str)]) -> Service {
        Service {
            port,
            transport: Transport::Tcp,
            protocol: protocol.into(),
            product: None,
            version: None,
            banner: None,
            tls: None,
            attributes: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn builtin_catalog_compiles() {
        let fp = Fingerprints::builtin();
        assert!(fp.len() >= 30, "only {} rules", fp.len());
        let mut ids = std::collections::HashSet::new();
        for r in &fp.rules {
            assert!(
                ids.insert(r.def.id.clone()),
                "duplicate rule id {}",
                r.def.id
            );
        }
    }

    #[test]
    fn rejects_bad_rules() {
        let bad_cat = "[[rule]]\nid='x'\ncategory='toaster'\nconfidence=0.5\n[[rule.match]]\nprotocol='ssh'\n";
        assert!(Fingerprints::parse(bad_cat).is_err());
        let bad_re = "[[rule]]\nid='x'\ncategory='iot'\nconfidence=0.5\n[[rule.match]]\nfield='banner'\nregex='('\n";
        assert!(Fingerprints::parse(bad_re).is_err());
        let unknown = "[[rule]]\nid='x'\ncategory='iot'\nconfidence=0.5\ncolour='red'\n[[rule.match]]\nprotocol='ssh'\n";
        assert!(Fingerprints::parse(unknown).is_err());
        let no_cond = "[[rule]]\nid='x'\ncategory='iot'\nconfidence=0.5\nmatch=[]\n";
        assert!(Fingerprints::parse(no_cond).is_err());
    }

    #[test]
    fn templates_captures_and_port_combinations() {
        let fp = Fingerprints::parse(
            r#"
[[rule]]
id = "generic-dicom"
category = "imaging"
confidence = 0.5
[[rule.match]]
protocol = "dicom"

[[rule]]
id = "dcmtk"
category = "pacs"
confidence = 0.9
vendor = "OFFIS"
model = "DCMTK"
firmware = "{ver}"
[[rule.match]]
protocol = "dicom"
field = "implementation_version_name"
regex = "^OFFIS_DCMTK_(?P<ver>\\d+)"

[[rule]]
id = "win"
category = "workstation"
confidence = 0.6
os = "Windows"
[[rule.match]]
port = 3389
[[rule.match]]
port = 445
"#,
        )
        .expect("parse");
        let c = fp.classify(&[svc(
            104,
            "dicom",
            &[("implementation_version_name", "OFFIS_DCMTK_369")],
        )]);
        assert_eq!(c.category, Category::Pacs);
        assert_eq!(c.vendor.as_deref(), Some("OFFIS"));
        assert_eq!(c.firmware.as_deref(), Some("369"));
        assert!(
            c.classified_by[0].starts_with("rule:dcmtk"),
            "{:?}",
            c.classified_by
        );
        assert!(c.classified_by[0].contains("OFFIS_DCMTK_369"));

        let c = fp.classify(&[svc(104, "dicom", &[("vendor", "Acme")])]);
        assert_eq!(c.category, Category::Imaging);
        assert_eq!(
            c.vendor.as_deref(),
            Some("Acme"),
            "probe-reported vendor fills in"
        );
        assert_eq!(c.firmware, None);

        let c = fp.classify(&[svc(3389, "rdp", &[])]);
        assert_eq!(
            c.category,
            Category::Unknown,
            "one port of the combination is not enough"
        );
        let c = fp.classify(&[svc(3389, "rdp", &[]), svc(445, "smb", &[])]);
        assert_eq!(c.category, Category::Workstation);
        assert_eq!(c.os.as_deref(), Some("Windows"));
    }
}
