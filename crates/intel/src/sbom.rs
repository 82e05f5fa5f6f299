//! Software bills of materials: CycloneDX (JSON and XML, specVersion 1.2–1.6) and SPDX (2.2/2.3 JSON
//! and tag-value). Only what matching needs is kept: component name, version, supplier, purl, CPE.
//!
//! Hostile SBOMs are bounded: at most [`MAX_COMPONENTS`] components, nesting deeper than
//! [`MAX_DEPTH`] is an error (serde_json also stops at 128 levels), and callers cap the file size.

use crate::error::{IntelError, Result};
use medguard_model::{Sbom, SbomComponent};
use quick_xml::events::Event;
use serde::Deserialize;

/// Most components accepted in one SBOM.
pub const MAX_COMPONENTS: usize = 200_000;
/// Deepest component nesting accepted.
pub const MAX_DEPTH: usize = 64;

/// Parse an SBOM, recognising its format from the content.
pub fn parse(bytes: &[u8]) -> Result<Sbom> {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace() && *b != 0xEF && *b != 0xBB && *b != 0xBF)
        .unwrap_or(bytes.len());
    match bytes.get(start) {
        Some(b'{') => {
            let v: serde_json::Value =
                serde_json::from_slice(bytes).map_err(|source| IntelError::Json {
                    what: "SBOM",
                    source,
                })?;
            if v.get("bomFormat").and_then(|f| f.as_str()) == Some("CycloneDX") {
                cyclonedx_json(v)
            } else if v.get("spdxVersion").is_some() {
                spdx_json(v)
            } else {
                Err(IntelError::format(
                    "SBOM",
                    "JSON that is neither CycloneDX (bomFormat) nor SPDX (spdxVersion)",
                ))
            }
        }
        Some(b'<') => cyclonedx_xml(bytes),
        Some(_) => {
            let text = std::str::from_utf8(bytes)
                .map_err(|_| IntelError::format("SBOM", "tag-value file is not UTF-8"))?;
            if text
                .lines()
                .any(|l| l.trim_start().starts_with("SPDXVersion:"))
            {
                spdx_tag_value(text)
            } else {
                Err(IntelError::format("SBOM", "not CycloneDX or SPDX"))
            }
        }
        None => Err(IntelError::format("SBOM", "the file is empty")),
    }
}

#[derive(Deserialize, Default)]
struct CdxComponent {
    #[serde(default)]
    name: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    group: Option<String>,
    #[serde(default)]
    purl: Option<String>,
    #[serde(default)]
    cpe: Option<String>,
    #[serde(default)]
    supplier: Option<CdxSupplier>,
    #[serde(default)]
    publisher: Option<String>,
    #[serde(default)]
    components: Vec<CdxComponent>,
}

#[derive(Deserialize, Default)]
struct CdxSupplier {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CdxBom {
    spec_version: String,
    #[serde(default)]
    metadata: Option<CdxMetadata>,
    #[serde(default)]
    components: Vec<CdxComponent>,
}

#[derive(Deserialize)]
struct CdxMetadata {
    #[serde(default)]
    component: Option<CdxComponent>,
}

fn push(out: &mut Vec<SbomComponent>, c: SbomComponent) -> Result<()> {
    if out.len() >= MAX_COMPONENTS {
        return Err(IntelError::format(
            "SBOM",
            format!("more than {MAX_COMPONENTS} components"),
        ));
    }
    if !c.name.is_empty() || c.purl.is_some() || c.cpe.is_some() {
        out.push(c);
    }
    Ok(())
}

fn flatten(list: &[CdxComponent], depth: usize, out: &mut Vec<SbomComponent>) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(IntelError::format(
            "SBOM",
            format!("components nested deeper than {MAX_DEPTH} levels"),
        ));
    }
    for c in list {
        let name = match &c.group {
            Some(g) if !g.is_empty() && !c.name.is_empty() => format!("{g}:{}", c.name),
            _ => c.name.clone(),
        };
        push(
            out,
            SbomComponent {
                name,
                version: c.version.clone().unwrap_or_default(),
                supplier: c
                    .supplier
                    .as_ref()
                    .and_then(|s| s.name.clone())
                    .or_else(|| c.publisher.clone()),
                purl: c.purl.clone(),
                cpe: c.cpe.clone(),
            },
        )?;
        flatten(&c.components, depth + 1, out)?;
    }
    Ok(())
}

fn cyclonedx_json(v: serde_json::Value) -> Result<Sbom> {
    let bom: CdxBom = serde_json::from_value(v).map_err(|source| IntelError::Json {
        what: "CycloneDX",
        source,
    })?;
    if !bom.spec_version.starts_with("1.") {
        return Err(IntelError::format(
            "CycloneDX",
            format!("specVersion {:?}", bom.spec_version),
        ));
    }
    let mut components = Vec::new();
    flatten(&bom.components, 0, &mut components)?;
    let subject = bom
        .metadata
        .and_then(|m| m.component)
        .map(|c| match c.version {
            Some(v) => format!("{} {v}", c.name),
            None => c.name,
        })
        .unwrap_or_default();
    Ok(Sbom {
        format: "cyclonedx-json".into(),
        subject,
        components,
    })
}

fn cyclonedx_xml(bytes: &[u8]) -> Result<Sbom> {
    let xml_err = |e: &dyn std::fmt::Display| IntelError::format("CycloneDX XML", e.to_string());
    let mut reader = quick_xml::Reader::from_reader(bytes);
    reader.config_mut().trim_text(true);
    let mut path: Vec<String> = Vec::new();
    // Open components, innermost last: (component, its slot in `out` or None for the metadata
    // subject, group).
    let mut open: Vec<(SbomComponent, Option<usize>, Option<String>)> = Vec::new();
    let mut out = Vec::new();
    let mut subject = String::new();
    let mut saw_bom = false;
    let mut text = String::new();
    let mut buf = Vec::new();
    loop {
        let ev = reader.read_event_into(&mut buf).map_err(|e| xml_err(&e))?;
        match ev {
            Event::Start(e) => {
                let name = e.local_name().as_ref().to_string();
                if path.is_empty() {
                    if name != "bom" {
                        return Err(IntelError::format(
                            "CycloneDX XML",
                            format!("root element <{name}> is not <bom>"),
                        ));
                    }
                    saw_bom = true;
                }
                if path.len() > MAX_DEPTH * 2 + 8 {
                    return Err(IntelError::format(
                        "CycloneDX XML",
                        format!("elements nested deeper than {} levels", MAX_DEPTH * 2 + 8),
                    ));
                }
                if name == "component" {
                    let is_subject = path.last().map(String::as_str) == Some("metadata");
                    // Reserve the slot now so nested components follow their parent, as in JSON.
                    let slot = if is_subject {
                        None
                    } else {
                        if out.len() >= MAX_COMPONENTS {
                            return Err(IntelError::format(
                                "SBOM",
                                format!("more than {MAX_COMPONENTS} components"),
                            ));
                        }
                        out.push(SbomComponent::default());
                        Some(out.len() - 1)
                    };
                    open.push((SbomComponent::default(), slot, None));
                }
                path.push(name);
                text.clear();
            }
            Event::End(_) => {
                let n = path.len();
                let parent = n.checked_sub(2).and_then(|i| path.get(i)).cloned();
                let grand = n.checked_sub(3).and_then(|i| path.get(i)).cloned();
                let Some(name) = path.pop() else {
                    continue;
                };
                let value = std::mem::take(&mut text);
                if name == "component" {
                    if let Some((mut c, slot, group)) = open.pop() {
                        if let Some(g) = group.filter(|g| !g.is_empty()) {
                            c.name = format!("{g}:{}", c.name);
                        }
                        match slot.and_then(|i| out.get_mut(i)) {
                            Some(place) => *place = c,
                            None => {
                                subject = if c.version.is_empty() {
                                    c.name
                                } else {
                                    format!("{} {}", c.name, c.version)
                                };
                            }
                        }
                    }
                    continue;
                }
                let Some((c, _, group)) = open.last_mut() else {
                    continue;
                };
                if parent.as_deref() == Some("component") {
                    match name.as_str() {
                        "name" => c.name = value,
                        "version" => c.version = value,
                        "purl" => c.purl = Some(value),
                        "cpe" => c.cpe = Some(value),
                        "group" => *group = Some(value),
                        "publisher" if c.supplier.is_none() => c.supplier = Some(value),
                        _ => {}
                    }
                } else if parent.as_deref() == Some("supplier")
                    && grand.as_deref() == Some("component")
                    && name == "name"
                {
                    c.supplier = Some(value);
                }
            }
            Event::Text(t) if text.len() < 4096 => text.push_str(&t.xml10_content()),
            Event::CData(t) if text.len() < 4096 => text.push_str(t.as_ref()),
            Event::GeneralRef(r) => {
                let name: &str = r.as_ref();
                let ch = match name {
                    "amp" => Some('&'),
                    "lt" => Some('<'),
                    "gt" => Some('>'),
                    "quot" => Some('"'),
                    "apos" => Some('\''),
                    n => n
                        .strip_prefix("#x")
                        .and_then(|h| u32::from_str_radix(h, 16).ok())
                        .or_else(|| n.strip_prefix('#').and_then(|d| d.parse().ok()))
                        .and_then(char::from_u32),
                };
                if let Some(ch) = ch {
                    text.push(ch);
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !saw_bom || !path.is_empty() {
        return Err(IntelError::format(
            "CycloneDX XML",
            "the document is incomplete",
        ));
    }
    out.retain(|c| !c.name.is_empty() || c.purl.is_some() || c.cpe.is_some());
    Ok(Sbom {
        format: "cyclonedx-xml".into(),
        subject,
        components: out,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpdxDoc {
    spdx_version: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    packages: Vec<SpdxPackage>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpdxPackage {
    name: String,
    #[serde(default)]
    version_info: Option<String>,
    #[serde(default)]
    supplier: Option<String>,
    #[serde(default)]
    external_refs: Vec<SpdxRef>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpdxRef {
    reference_type: String,
    reference_locator: String,
}

fn supplier(s: &str) -> Option<String> {
    let s = s.trim();
    if s.is_empty() || s == "NOASSERTION" {
        return None;
    }
    Some(
        s.strip_prefix("Organization:")
            .or_else(|| s.strip_prefix("Person:"))
            .unwrap_or(s)
            .trim()
            .to_string(),
    )
}

fn apply_ref(c: &mut SbomComponent, kind: &str, locator: &str) {
    match kind {
        "cpe23Type" | "cpe23" => c.cpe = Some(locator.to_string()),
        "purl" => c.purl = Some(locator.to_string()),
        _ => {}
    }
}

fn spdx_json(v: serde_json::Value) -> Result<Sbom> {
    let doc: SpdxDoc = serde_json::from_value(v).map_err(|source| IntelError::Json {
        what: "SPDX",
        source,
    })?;
    if !doc.spdx_version.starts_with("SPDX-2.") {
        return Err(IntelError::format(
            "SPDX",
            format!("spdxVersion {:?}", doc.spdx_version),
        ));
    }
    let mut out = Vec::new();
    for p in doc.packages {
        let mut c = SbomComponent {
            name: p.name,
            version: p.version_info.unwrap_or_default(),
            supplier: p.supplier.as_deref().and_then(supplier),
            ..SbomComponent::default()
        };
        for r in &p.external_refs {
            apply_ref(&mut c, &r.reference_type, &r.reference_locator);
        }
        push(&mut out, c)?;
    }
    Ok(Sbom {
        format: "spdx-json".into(),
        subject: doc.name,
        components: out,
    })
}

fn spdx_tag_value(text: &str) -> Result<Sbom> {
    let mut out = Vec::new();
    let mut cur: Option<SbomComponent> = None;
    let mut subject = String::new();
    let mut in_text = false;
    let mut version_ok = false;
    for line in text.lines() {
        if in_text {
            if line.contains("</text>") {
                in_text = false;
            }
            continue;
        }
        let Some((tag, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if value.starts_with("<text>") && !value.contains("</text>") {
            in_text = true;
        }
        match tag.trim() {
            "SPDXVersion" => version_ok = value.starts_with("SPDX-2."),
            "DocumentName" => subject = value.to_string(),
            "PackageName" => {
                if let Some(c) = cur.take() {
                    push(&mut out, c)?;
                }
                cur = Some(SbomComponent {
                    name: value.to_string(),
                    ..SbomComponent::default()
                });
            }
            "PackageVersion" => {
                if let Some(c) = &mut cur {
                    c.version = value.to_string();
                }
            }
            "PackageSupplier" => {
                if let Some(c) = &mut cur {
                    c.supplier = supplier(value);
                }
            }
            "ExternalRef" => {
                let mut f = value.split_whitespace();
                if let (Some(_category), Some(kind), Some(locator), Some(c)) =
                    (f.next(), f.next(), f.next(), cur.as_mut())
                {
                    apply_ref(c, kind, locator);
                }
            }
            _ => {}
        }
    }
    if let Some(c) = cur.take() {
        push(&mut out, c)?;
    }
    if !version_ok {
        return Err(IntelError::format(
            "SPDX tag-value",
            "no SPDX-2.x SPDXVersion",
        ));
    }
    Ok(Sbom {
        format: "spdx-tag-value".into(),
        subject,
        components: out,
    })
}

/// A package URL split into its parts (`pkg:type/namespace/name@version?qualifiers#subpath`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purl {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub version: String,
}

impl Purl {
    /// Parse a purl; `None` when it is not one.
    pub fn parse(s: &str) -> Option<Purl> {
        let rest = s.strip_prefix("pkg:")?;
        let rest = rest.split('#').next()?;
        let rest = rest.split('?').next()?;
        let (path, version) = match rest.rsplit_once('@') {
            Some((p, v)) => (p, pct_decode(v)),
            None => (rest, String::new()),
        };
        let mut parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        if parts.len() < 2 {
            return None;
        }
        let kind = parts.remove(0).to_lowercase();
        let name = pct_decode(parts.pop()?);
        let namespace = parts
            .iter()
            .map(|p| pct_decode(p))
            .collect::<Vec<_>>()
            .join("/");
        if kind.is_empty() || name.is_empty() {
            return None;
        }
        Some(Purl {
            kind,
            namespace,
            name,
            version,
        })
    }

    /// `type/namespace/name` (or `type/name`) in lowercase, the key aliases use.
    pub fn key(&self) -> String {
        if self.namespace.is_empty() {
            format!("pkg:{}/{}", self.kind, self.name).to_lowercase()
        } else {
            format!("pkg:{}/{}/{}", self.kind, self.namespace, self.name).to_lowercase()
        }
    }
}

fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(h) = s.get(i + 1..i + 3)
            && let Ok(v) = u8::from_str_radix(h, 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls() {
        let p = Purl::parse("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1?type=jar")
            .expect("purl");
        assert_eq!(p.key(), "pkg:maven/org.apache.logging.log4j/log4j-core");
        assert_eq!(p.version, "2.14.1");
        let p = Purl::parse("pkg:npm/%40angular/core@16.0.0").expect("purl");
        assert_eq!(p.namespace, "@angular");
        assert!(Purl::parse("pkg:").is_none());
        assert!(Purl::parse("log4j").is_none());
    }

    #[test]
    fn hostile_nesting_is_an_error() {
        let mut s = String::from(r#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":"#);
        for _ in 0..100 {
            s.push_str(r#"[{"type":"library","name":"x","components":"#);
        }
        s.push_str("[]");
        for _ in 0..100 {
            s.push_str("}]");
        }
        s.push('}');
        assert!(parse(s.as_bytes()).is_err());
        let mut x =
            String::from(r#"<bom xmlns="http://cyclonedx.org/schema/bom/1.5"><components>"#);
        for _ in 0..200 {
            x.push_str("<component><name>x</name><components>");
        }
        assert!(parse(x.as_bytes()).is_err());
    }
}
