//! Matching the knowledge base against assets.
//!
//! 1. Every asset becomes a list of [`Component`]s, each with the CPE names its fingerprint implies:
//!    services (product/version), the operating system, the device itself (vendor/model/firmware as
//!    `o:` firmware and `h:` hardware CPEs) and the components of attached SBOMs (CPE, else purl via
//!    the alias table, else the bare name).
//! 2. Candidate CVEs come from the store's (vendor, product) index; each CVE's NVD configurations are
//!    evaluated against all of the asset's CPEs together, so `AND` configurations with a running-on
//!    platform (firmware on a given hardware, an application on a given OS) work.
//! 3. Evaluation is three-valued-plus: each criterion yields `no`, `name-only` (vendor guessed),
//!    `version-unknown` (the asset's version is not known) or `exact`; `OR` takes the best, `AND` the
//!    worst, `negate` swaps `no` and `exact`. A configuration counts only if a `vulnerable: true`
//!    criterion matched.
//! 4. Advisories (CSAF), recalls (openFDA) and end-of-life families add their own matches.
//! 5. Every match is ranked: KEV first (ransomware use on top), then EPSS, CVSS, exposure and the
//!    device's role; see [`priority`].

use crate::aliases::{Aliases, split_update};
use crate::cpe::{AttrMatch, Cpe, Value, attr_match};
use crate::eol::{self, Family};
use crate::sbom::Purl;
use crate::{csaf, version};
use medguard_model::vuln::{Configuration, Operator};
use medguard_model::{
    Advisory, Asset, CpeMatch, CveRecord, Epss, KevEntry, MatchConfidence, MatchSource, Recall,
    Sbom, Severity, VulnMatch,
};
use medguard_store::{IntelStore, Result as StoreResult};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// One thing on an asset that can be vulnerable.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    /// For people: `service 22/tcp OpenSSH 8.9p1`, `operating system Windows 7 ...`.
    pub label: String,
    pub cpes: Vec<Cpe>,
    pub port: Option<u16>,
    /// Short product name for fix text (`OpenSSH`, `log4j-core`).
    pub product: String,
    /// Whether this is the device's own OS or firmware (end-of-life and "no fix" advice apply).
    pub platform: bool,
    /// The banner shows a Linux distribution's package, whose maintainers often backport fixes
    /// without changing the upstream version number.
    pub distro_package: bool,
}

/// Banner marks of distribution packages (`OpenSSH_8.9p1 Ubuntu-3ubuntu0.10`, `9.2p1 Debian-2+deb12u3`).
fn distro_banner(banner: Option<&str>) -> bool {
    banner.is_some_and(|b| {
        let b = b.to_ascii_lowercase();
        [
            "ubuntu", "debian", "+deb", ".el7", ".el8", ".el9", "raspbian", "fedora",
        ]
        .iter()
        .any(|m| b.contains(m))
    })
}

/// Sanitise a reported version: first word, at most 64 characters, must contain a digit.
fn clean_version(v: &str) -> Option<String> {
    let w = v.split_whitespace().next()?;
    let w = w.trim_start_matches(['v', 'V']);
    if w.len() > 64 || !version::is_version(w) {
        return None;
    }
    Some(w.to_string())
}

fn versioned(version: Option<&str>, split: bool) -> (Value, Value) {
    match version.and_then(clean_version) {
        None => (Value::Any, Value::Any),
        Some(v) if split => match split_update(&v) {
            (base, Some(u)) => (Value::Text(base.to_lowercase()), Value::Text(u)),
            (base, None) => (Value::Text(base.to_lowercase()), Value::Na),
        },
        Some(v) => (Value::Text(v.to_lowercase()), Value::Any),
    }
}

/// CPE for a software product name and version (alias, else the bare name with unknown vendor).
fn product_cpe(aliases: &Aliases, name: &str, version: Option<&str>) -> Option<Cpe> {
    if let Some(a) = aliases.product_by_name(name) {
        let (v, u) = versioned(version, a.split_update);
        return Some(Cpe::new(
            'a',
            Value::Text(a.vendor.clone()),
            Value::Text(a.product.clone()),
            v,
            u,
        ));
    }
    let product = Value::from_text(name);
    if product == Value::Any {
        return None;
    }
    let (v, u) = versioned(version, false);
    Some(Cpe::new('a', Value::Any, product, v, u))
}

/// Attribute keys of services that carry OS strings (SNMP sysDescr, nmap `ostype`, ...).
fn is_os_key(k: &str) -> bool {
    let k = k.to_ascii_lowercase();
    k == "os" || k.ends_with("_os") || k.contains("sysdescr") || k.contains("sys_descr")
}

/// Windows from the NT version in an SMB/NTLM challenge (`6.1.7601`): Microsoft's version table,
/// with the service pack implied by the build number where it tells.
fn windows_from_nt(v: &str) -> Option<String> {
    let mut it = v.split('.');
    let (major, minor) = (it.next()?, it.next()?);
    let build: u32 = it.next().and_then(|b| b.parse().ok()).unwrap_or(0);
    // Samba answers with a fixed NT version and build 0: that is not Windows.
    if build == 0 {
        return None;
    }
    let name = match (major, minor) {
        ("5", "1") => "Windows XP",
        ("5", "2") => "Windows Server 2003",
        ("6", "0") => "Windows Vista or Windows Server 2008",
        ("6", "1") => "Windows 7 or Windows Server 2008 R2",
        ("6", "2") => "Windows 8 or Windows Server 2012",
        ("6", "3") => "Windows 8.1 or Windows Server 2012 R2",
        ("10", "0") if build >= 22000 => "Windows 11",
        ("10", "0") => "Windows 10 or Windows Server 2016 or later",
        _ => return None,
    };
    let sp = match (major, minor, build) {
        ("6", "1", 7601) | ("6", "0", 6001) => " Service Pack 1",
        ("6", "0", 6002) => " Service Pack 2",
        _ => "",
    };
    Some(format!("{name} (NT {v}){sp}"))
}

/// Windows implied by an IIS version in an HTTP `Server` header (each IIS ships with one Windows).
fn windows_from_iis(v: &str) -> Option<String> {
    let name = match v.trim() {
        "5.1" => "Windows XP",
        "6.0" => "Windows Server 2003",
        "7.0" => "Windows Vista or Windows Server 2008",
        "7.5" => "Windows 7 or Windows Server 2008 R2",
        "8.0" => "Windows Server 2012",
        "8.5" => "Windows Server 2012 R2",
        _ => return None,
    };
    Some(format!("{name} (from IIS {v})"))
}

/// The OS strings an asset reveals: its `os` field, OS-like service attributes (SNMP sysDescr,
/// nmap ostype), the NT version of SMB/NTLM replies and the IIS version of HTTP replies.
pub fn os_strings(asset: &Asset) -> Vec<String> {
    let mut out: Vec<String> = asset.os.iter().cloned().collect();
    let mut add = |v: String| {
        if !out.contains(&v) {
            out.push(v);
        }
    };
    for s in &asset.services {
        for (k, v) in &s.attributes {
            if is_os_key(k) {
                add(v.clone());
            } else if k == "ntlm_os_version"
                && let Some(w) = windows_from_nt(v)
            {
                add(w);
            }
        }
        let iis = s
            .product
            .as_deref()
            .is_some_and(|p| p.to_ascii_lowercase().contains("iis"));
        if iis && let Some(w) = s.version.as_deref().and_then(windows_from_iis) {
            add(w);
        }
    }
    out
}

/// Every component of an asset, with its CPEs.
pub fn components(asset: &Asset, sboms: &[&Sbom], aliases: &Aliases) -> Vec<Component> {
    let mut out = Vec::new();
    for s in &asset.services {
        let Some(product) = s.product.as_deref().filter(|p| !p.trim().is_empty()) else {
            continue;
        };
        if let Some(cpe) = product_cpe(aliases, product, s.version.as_deref()) {
            out.push(Component {
                label: format!(
                    "service {}/{} {product}{}",
                    s.port,
                    s.transport,
                    s.version
                        .as_deref()
                        .map(|v| format!(" {v}"))
                        .unwrap_or_default()
                ),
                cpes: vec![cpe],
                port: Some(s.port),
                product: product.to_string(),
                platform: false,
                distro_package: distro_banner(s.banner.as_deref()),
            });
        }
    }
    for os in os_strings(asset) {
        if let Some(cpe) = aliases.os(&os)
            && !out.iter().any(|c: &Component| c.cpes.contains(&cpe))
        {
            out.push(Component {
                label: format!("operating system {os}"),
                cpes: vec![cpe],
                port: None,
                product: os.clone(),
                platform: true,
                distro_package: false,
            });
        }
    }
    if let (Some(vendor), Some(model)) = (&asset.vendor, &asset.model)
        && let Some(v) = aliases.vendor(vendor)
    {
        let model_v = Value::from_text(model);
        if let Value::Text(m) = &model_v {
            let (fw, fw_update) = versioned(asset.firmware.as_deref(), false);
            let vendor_v = Value::Text(v);
            out.push(Component {
                label: format!(
                    "device {vendor} {model}{}",
                    asset
                        .firmware
                        .as_deref()
                        .map(|f| format!(" firmware {f}"))
                        .unwrap_or_default()
                ),
                cpes: vec![
                    Cpe::new(
                        'o',
                        vendor_v.clone(),
                        Value::Text(format!("{m}_firmware")),
                        fw.clone(),
                        fw_update.clone(),
                    ),
                    Cpe::new(
                        'h',
                        vendor_v.clone(),
                        model_v.clone(),
                        Value::Na,
                        Value::Any,
                    ),
                    Cpe::new('a', vendor_v, model_v.clone(), fw, fw_update),
                ],
                port: None,
                product: format!("{vendor} {model}"),
                platform: true,
                distro_package: false,
            });
        }
    }
    for sbom in sboms {
        for c in &sbom.components {
            let label = format!(
                "SBOM component {}{}",
                c.name,
                if c.version.is_empty() {
                    String::new()
                } else {
                    format!(" {}", c.version)
                }
            );
            let version = (!c.version.is_empty()).then_some(c.version.as_str());
            let cpe = c
                .cpe
                .as_deref()
                .and_then(|s| Cpe::parse(s).ok())
                .map(|mut cpe| {
                    if cpe.version == Value::Any
                        && let (v @ Value::Text(_), _) = versioned(version, false)
                    {
                        cpe.version = v;
                    }
                    cpe
                })
                .or_else(|| {
                    let purl = c.purl.as_deref().and_then(Purl::parse)?;
                    let alias = aliases.product_by_purl(&purl.key())?;
                    let ver = if purl.version.is_empty() {
                        version
                    } else {
                        Some(purl.version.as_str())
                    };
                    let (v, u) = versioned(ver, alias.split_update);
                    Some(Cpe::new(
                        'a',
                        Value::Text(alias.vendor.clone()),
                        Value::Text(alias.product.clone()),
                        v,
                        u,
                    ))
                })
                .or_else(|| {
                    let name = c.name.rsplit(':').next().unwrap_or(&c.name);
                    product_cpe(aliases, name, version)
                });
            if let Some(cpe) = cpe {
                out.push(Component {
                    label,
                    cpes: vec![cpe],
                    port: None,
                    product: c.name.rsplit(':').next().unwrap_or(&c.name).to_string(),
                    platform: false,
                    distro_package: false,
                });
            }
        }
    }
    out
}

/// Match strength: 0 no, 1 name only, 2 version unknown, 3 exact.
type Level = u8;
const NO: Level = 0;
const NAME_ONLY: Level = 1;
const VERSION_UNKNOWN: Level = 2;
const EXACT: Level = 3;

fn level_confidence(l: Level) -> MatchConfidence {
    match l {
        EXACT => MatchConfidence::Exact,
        VERSION_UNKNOWN => MatchConfidence::VersionUnknown,
        _ => MatchConfidence::NameOnly,
    }
}

/// A CVE with its criteria parsed once.
#[derive(Debug)]
pub struct Compiled {
    pub record: CveRecord,
    /// Per configuration, per node, per criterion: the parsed CPE (None when unparseable).
    criteria: Vec<Vec<Vec<Option<Cpe>>>>,
}

impl Compiled {
    /// Parse the record's criteria once.
    pub fn new(record: CveRecord) -> Compiled {
        let criteria = record
            .configurations
            .iter()
            .map(|c| {
                c.nodes
                    .iter()
                    .map(|n| {
                        n.cpe_match
                            .iter()
                            .map(|m| Cpe::parse(&m.criteria).ok())
                            .collect()
                    })
                    .collect()
            })
            .collect();
        Compiled { record, criteria }
    }
}

fn version_bounds(m: &CpeMatch, v: &str) -> bool {
    let ok = |bound: &Option<String>, want: &[Ordering]| {
        bound
            .as_deref()
            .is_none_or(|b| want.contains(&version::compare(v, b)))
    };
    ok(
        &m.version_start_including,
        &[Ordering::Greater, Ordering::Equal],
    ) && ok(&m.version_start_excluding, &[Ordering::Greater])
        && ok(&m.version_end_including, &[Ordering::Less, Ordering::Equal])
        && ok(&m.version_end_excluding, &[Ordering::Less])
}

/// How well one criterion matches one target CPE.
pub fn criterion_level(m: &CpeMatch, c: &Cpe, t: &Cpe) -> Level {
    if attr_match(&c.part, &t.part) != AttrMatch::Yes
        || attr_match(&c.product, &t.product) != AttrMatch::Yes
    {
        return NO;
    }
    let mut level = match attr_match(&c.vendor, &t.vendor) {
        AttrMatch::Yes => EXACT,
        AttrMatch::Unknown => NAME_ONLY,
        AttrMatch::No => return NO,
    };
    if m.has_range() {
        match &t.version {
            Value::Text(v) => {
                let full = match &t.update {
                    Value::Text(u) => format!("{v}{u}"),
                    _ => v.clone(),
                };
                if !version_bounds(m, &full) {
                    return NO;
                }
            }
            Value::Any => level = level.min(VERSION_UNKNOWN),
            _ => return NO,
        }
    } else {
        match (&c.version, &t.version) {
            (Value::Text(a), Value::Text(b)) => {
                if !version::equal(a, b) {
                    return NO;
                }
            }
            (cv, tv) => match attr_match(cv, tv) {
                AttrMatch::Yes => {}
                AttrMatch::Unknown => level = level.min(VERSION_UNKNOWN),
                AttrMatch::No => return NO,
            },
        }
        match attr_match(&c.update, &t.update) {
            AttrMatch::Yes => {}
            AttrMatch::Unknown => level = level.min(VERSION_UNKNOWN),
            AttrMatch::No => return NO,
        }
    }
    for (a, b) in c.rest.iter().zip(t.rest.iter()) {
        if attr_match(a, b) == AttrMatch::No {
            return NO;
        }
    }
    level
}

/// Why a CVE matched: the vulnerable criterion, and which component's CPE hit it.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub level: Level,
    pub criteria: String,
    pub range: String,
    pub component: usize,
    pub target: String,
    pub end_excluding: Option<String>,
    pub end_including: Option<String>,
}

fn combine(op: Operator, vals: impl Iterator<Item = Level>) -> Level {
    match op {
        Operator::Or => vals.max().unwrap_or(NO),
        Operator::And => vals.min().unwrap_or(NO),
    }
}

fn negated(l: Level, negate: bool) -> Level {
    if !negate {
        return l;
    }
    match l {
        NO => EXACT,
        EXACT => NO,
        other => other,
    }
}

/// Evaluate a CVE's configurations against an asset's components.
pub fn evaluate(cve: &Compiled, comps: &[Component]) -> Option<Hit> {
    let targets: Vec<(usize, &Cpe)> = comps
        .iter()
        .enumerate()
        .flat_map(|(i, c)| c.cpes.iter().map(move |cpe| (i, cpe)))
        .collect();
    // (level, configuration, node, criterion, target) of the best vulnerable criterion; the
    // evidence strings are only built for the winner.
    let mut best: Option<(Level, usize, usize, usize, usize)> = None;
    for (ci_, (config, crit)) in cve
        .record
        .configurations
        .iter()
        .zip(&cve.criteria)
        .enumerate()
    {
        let mut hit: Option<(Level, usize, usize, usize)> = None;
        let node_levels: Vec<Level> = config
            .nodes
            .iter()
            .zip(crit)
            .enumerate()
            .map(|(ni, (node, cpes))| {
                let levels = node
                    .cpe_match
                    .iter()
                    .zip(cpes)
                    .enumerate()
                    .map(|(mi, (m, c))| {
                        let Some(c) = c else { return NO };
                        let mut best_t = NO;
                        for (ti, (_, t)) in targets.iter().enumerate() {
                            // Cheap pre-check: the product must be the same string.
                            if let (Value::Text(a), Value::Text(b)) = (&c.product, &t.product)
                                && a != b
                            {
                                continue;
                            }
                            let l = criterion_level(m, c, t);
                            if l > NO && m.vulnerable && !node.negate && hit.is_none_or(|h| l > h.0)
                            {
                                hit = Some((l, ni, mi, ti));
                            }
                            best_t = best_t.max(l);
                        }
                        best_t
                    });
                negated(combine(node.operator, levels), node.negate)
            })
            .collect();
        let value = negated(
            combine(config_operator(config), node_levels.into_iter()),
            config.negate,
        );
        if value == NO {
            continue;
        }
        if let Some((l, ni, mi, ti)) = hit {
            let l = l.min(value);
            if best.is_none_or(|b| l > b.0) {
                best = Some((l, ci_, ni, mi, ti));
            }
        }
    }
    let (level, ci_, ni, mi, ti) = best?;
    let m = cve
        .record
        .configurations
        .get(ci_)?
        .nodes
        .get(ni)?
        .cpe_match
        .get(mi)?;
    let (component, t) = targets.get(ti)?;
    Some(Hit {
        level,
        criteria: m.criteria.clone(),
        range: m.range_text(),
        component: *component,
        target: t.to_string(),
        end_excluding: m.version_end_excluding.clone(),
        end_including: m.version_end_including.clone(),
    })
}

fn config_operator(c: &Configuration) -> Operator {
    c.operator.unwrap_or(Operator::Or)
}

/// Options of a matching run.
#[derive(Debug, Clone)]
pub struct MatchOptions {
    /// Also report CVEs whose range could not be checked because the version is unknown (by
    /// default only KEV-listed ones are, as they deserve a manual check).
    pub include_version_unknown: bool,
    /// "Today" for end-of-life decisions.
    pub today: chrono::NaiveDate,
}

impl Default for MatchOptions {
    fn default() -> Self {
        MatchOptions {
            include_version_unknown: false,
            today: chrono::Utc::now().date_naive(),
        }
    }
}

/// Ranking: KEV 1000 (+100 with known ransomware use), EPSS × 100, CVSS × 4, reachable on the LAN
/// +10, clinical device +10, less 20 when the version was unknown and 30 when only the name matched.
pub fn priority(m: &VulnMatch) -> f64 {
    let mut p = 0.0;
    if m.kev {
        p += 1000.0;
    }
    if m.ransomware {
        p += 100.0;
    }
    p += m.epss.unwrap_or(0.0) * 100.0;
    p += f64::from(m.cvss.unwrap_or(0.0)) * 4.0;
    if m.exposed {
        p += 10.0;
    }
    if m.clinical {
        p += 10.0;
    }
    p -= match m.confidence {
        MatchConfidence::Exact => 0.0,
        MatchConfidence::VersionUnknown => 20.0,
        MatchConfidence::NameOnly => 30.0,
    };
    if m.source == MatchSource::EndOfLife {
        p += 50.0;
    }
    p
}

const SEGMENT: &str = "If no update is available for this device, isolate it on its own network \
segment so that only the systems that need it can reach it, and block its internet access.";

/// Matching engine with per-product caches, for many assets against one store.
pub struct Matcher<'s, S: IntelStore + ?Sized> {
    store: &'s S,
    aliases: &'static Aliases,
    families: &'static [Family],
    kev: HashMap<String, KevEntry>,
    cves: HashMap<(Option<String>, String), Vec<Arc<Compiled>>>,
    epss: HashMap<String, Option<Epss>>,
    advisories: HashMap<String, Arc<Vec<Advisory>>>,
    recalls: Vec<Recall>,
    opts: MatchOptions,
}

impl<'s, S: IntelStore + ?Sized> Matcher<'s, S> {
    /// Load the KEV catalog and recalls; CVEs are loaded per product on demand.
    pub fn new(store: &'s S, opts: MatchOptions) -> StoreResult<Self> {
        Ok(Matcher {
            store,
            aliases: Aliases::builtin(),
            families: eol::builtin(),
            kev: store.kev()?,
            cves: HashMap::new(),
            epss: HashMap::new(),
            advisories: HashMap::new(),
            recalls: store
                .recalls()?
                .into_iter()
                .filter(|r| {
                    let s = r.status.to_lowercase();
                    !(s.contains("terminated") || s.contains("completed"))
                })
                .collect(),
            opts,
        })
    }

    fn candidates(&mut self, cpe: &Cpe) -> StoreResult<Vec<Arc<Compiled>>> {
        let Some(product) = cpe.product.text() else {
            return Ok(Vec::new());
        };
        let vendor = cpe.vendor.text().map(str::to_string);
        let key = (vendor, product.to_string());
        if let Some(v) = self.cves.get(&key) {
            return Ok(v.clone());
        }
        // The index keeps CPE escapes as written (`logo\!_soft_comfort`); escape likewise.
        let esc = |s: &str| {
            let mut o = String::with_capacity(s.len());
            for ch in s.chars() {
                if !(ch.is_ascii_alphanumeric() || matches!(ch, '_' | '.' | '-')) {
                    o.push('\\');
                }
                o.push(ch);
            }
            o
        };
        let list: Vec<Arc<Compiled>> = self
            .store
            .cves_for_product(key.0.as_deref().map(esc).as_deref(), &esc(&key.1))?
            .into_iter()
            .filter(|c| c.status != "Rejected")
            .map(|c| Arc::new(Compiled::new(c)))
            .collect();
        self.cves.insert(key, list.clone());
        Ok(list)
    }

    fn epss_of(&mut self, cve: &str) -> StoreResult<Option<Epss>> {
        if let Some(e) = self.epss.get(cve) {
            return Ok(*e);
        }
        let e = self.store.epss(cve)?;
        self.epss.insert(cve.to_string(), e);
        Ok(e)
    }

    /// Match one asset (with its SBOMs) against everything loaded.
    pub fn match_asset(&mut self, asset: &Asset, sboms: &[&Sbom]) -> StoreResult<Vec<VulnMatch>> {
        let comps = components(asset, sboms, self.aliases);
        let mut found: BTreeMap<String, VulnMatch> = BTreeMap::new();
        let clinical = asset.category.is_clinical();
        let exposed_any = !asset.services.is_empty();
        let name = asset.display_name();
        let identity = asset.identity();
        let ip = asset.ip.map(|i| i.to_string());
        let base = |id: &str, source, severity, confidence, component: &Component| VulnMatch {
            asset: identity.clone(),
            ip: ip.clone(),
            asset_name: name.clone(),
            id: id.to_string(),
            source,
            severity,
            confidence,
            component: component.label.clone(),
            reason: String::new(),
            plain: String::new(),
            fix: String::new(),
            title: String::new(),
            kev: false,
            ransomware: false,
            epss: None,
            cvss: None,
            exposed: component.port.is_some() || exposed_any,
            clinical,
            priority: 0.0,
            port: component.port,
        };
        // NVD
        let mut seen = std::collections::HashSet::new();
        let mut cands: Vec<Arc<Compiled>> = Vec::new();
        for c in &comps {
            for cpe in &c.cpes {
                for cve in self.candidates(cpe)? {
                    // Each CVE is compiled once and shared: its address identifies it.
                    if seen.insert(Arc::as_ptr(&cve) as usize) {
                        cands.push(cve);
                    }
                }
            }
        }
        for cve in cands {
            let Some(hit) = evaluate(&cve, &comps) else {
                continue;
            };
            let kev = self.kev.get(&cve.record.id).cloned();
            if hit.level == VERSION_UNKNOWN && !self.opts.include_version_unknown && kev.is_none() {
                continue;
            }
            let Some(comp) = comps.get(hit.component) else {
                continue;
            };
            let cvss = cve.record.cvss.as_ref();
            let mut severity = cvss.map(|c| c.severity()).unwrap_or(Severity::Medium);
            if kev.is_some() {
                severity = Severity::Critical;
            }
            let mut m = base(
                &cve.record.id,
                MatchSource::Nvd,
                severity,
                level_confidence(hit.level),
                comp,
            );
            m.cvss = cvss.map(|c| c.score);
            m.epss = self.epss_of(&cve.record.id)?.map(|e| e.score);
            m.kev = kev.is_some();
            m.ransomware = kev.as_ref().is_some_and(|k| k.ransomware);
            m.title = kev
                .as_ref()
                .map(|k| k.name.clone())
                .unwrap_or_else(|| first_sentence(&cve.record.description));
            m.reason = format!(
                "{} matched NVD criteria {}{}{}",
                hit.target,
                hit.criteria,
                if hit.range.is_empty() {
                    String::new()
                } else {
                    format!(" {}", hit.range)
                },
                match hit.level {
                    VERSION_UNKNOWN => " (version unknown: could not check the range)",
                    NAME_ONLY => " (vendor not known: matched on product name only)",
                    _ => "",
                }
            );
            if comp.distro_package {
                m.reason.push_str(
                    " (distribution package: its maintainers may have back-ported the fix without \
                     changing the version number)",
                );
            }
            m.plain = plain_cve(&m, comp, asset);
            if comp.distro_package {
                m.plain.push_str(
                    " This software comes from a Linux distribution, which sometimes fixes flaws \
                     without changing the version number: check the distribution's security notice.",
                );
            }
            m.fix = fix_cve(&m, kev.as_ref(), &hit, comp);
            m.priority = priority(&m);
            found.insert(m.id.clone(), m);
        }
        // End of life
        let platform_kev: usize = found.values().filter(|m| m.kev).count();
        let platform_ransom: usize = found.values().filter(|m| m.ransomware).count();
        let mut eol_seen = std::collections::HashSet::new();
        let mut eol_texts = os_strings(asset);
        if let Some(fw) = &asset.firmware {
            eol_texts.push(fw.clone());
        }
        for text in eol_texts {
            let Some(f) = eol::family_of(self.families, &text) else {
                continue;
            };
            if f.eol >= self.opts.today || !eol_seen.insert(f.id.clone()) {
                continue;
            }
            let comp = comps
                .iter()
                .find(|c| c.platform && c.label.contains(&text))
                .cloned()
                .unwrap_or(Component {
                    label: format!("operating system {text}"),
                    cpes: Vec::new(),
                    port: None,
                    product: text.clone(),
                    platform: true,
                    distro_package: false,
                });
            let severity = if clinical || platform_kev > 0 {
                Severity::Critical
            } else {
                Severity::High
            };
            let mut m = base(
                &format!("eol:{}", f.id),
                MatchSource::EndOfLife,
                severity,
                MatchConfidence::Exact,
                &comp,
            );
            m.title = format!("{} no longer receives security fixes", f.name);
            m.reason = format!(
                "OS string {text:?} is {}; vendor support ended {} ({})",
                f.name, f.eol, f.source
            );
            let mut plain = format!(
                "{} runs {}, which stopped receiving security fixes on {}",
                describe(asset),
                f.name,
                f.eol.format("%-d %B %Y")
            );
            if platform_kev > 0 {
                plain.push_str(&format!(
                    "; {} of its known flaws {} being used in real attacks now",
                    count_words(platform_kev),
                    if platform_kev == 1 { "is" } else { "are" }
                ));
                if platform_ransom > 0 {
                    plain.push_str(&format!(
                        " ({} by ransomware gangs)",
                        count_words(platform_ransom)
                    ));
                }
            }
            plain.push('.');
            m.plain = plain;
            m.fix = format!(
                "Move this device to a supported version of its software. If its maker does not allow \
                 that (common for imaging and lab workstations), ask the maker for their supported \
                 upgrade path and meanwhile isolate it on its own network segment, block its internet \
                 access and allow only the connections it needs. Source for the date: {}",
                f.source
            );
            m.priority = priority(&m);
            found.insert(m.id.clone(), m);
        }
        // Advisories (CSAF) naming the device's maker and model.
        if let (Some(vendor), Some(model)) = (&asset.vendor, &asset.model) {
            let mut names = vec![vendor.to_lowercase()];
            if let Some(v) = self.aliases.vendor(vendor)
                && !names.contains(&v)
            {
                names.push(v);
            }
            let dev = comps
                .iter()
                .find(|c| c.platform && c.label.starts_with("device "))
                .cloned();
            for vname in names {
                let advisories = match self.advisories.get(&vname) {
                    Some(a) => a.clone(),
                    None => {
                        let a = Arc::new(self.store.advisories_for_vendor(&vname)?);
                        self.advisories.insert(vname.clone(), a.clone());
                        a
                    }
                };
                for adv in advisories.iter() {
                    for p in &adv.products {
                        if p.status != "known_affected" || !names_overlap(&p.product, model) {
                            continue;
                        }
                        let all_versions = matches!(p.versions.trim(), "*" | "vers:all/*");
                        let level = match asset.firmware.as_deref() {
                            _ if all_versions => EXACT,
                            Some(fw) => match csaf::in_range(&p.versions, fw) {
                                Some(true) => EXACT,
                                Some(false) => continue,
                                None => VERSION_UNKNOWN,
                            },
                            None => VERSION_UNKNOWN,
                        };
                        let comp = dev.clone().unwrap_or(Component {
                            label: format!("device {vendor} {model}"),
                            cpes: Vec::new(),
                            port: None,
                            product: model.clone(),
                            platform: true,
                            distro_package: false,
                        });
                        let kev = p.cves.iter().find_map(|c| self.kev.get(c)).cloned();
                        let severity = match (kev.is_some(), p.cvss) {
                            (true, _) => Severity::Critical,
                            (false, Some(s)) if s >= 9.0 => Severity::Critical,
                            (false, Some(s)) if s >= 7.0 => Severity::High,
                            (false, Some(s)) if s >= 4.0 => Severity::Medium,
                            (false, Some(_)) => Severity::Low,
                            (false, None) => Severity::High,
                        };
                        let mut m = base(
                            &adv.id,
                            MatchSource::Advisory,
                            severity,
                            level_confidence(level),
                            &comp,
                        );
                        m.kev = kev.is_some();
                        m.ransomware = kev.as_ref().is_some_and(|k| k.ransomware);
                        m.cvss = p.cvss;
                        m.title = adv.title.clone();
                        m.reason = format!(
                            "{} advisory {} lists {} {} versions {} as {} ({}){}",
                            adv.publisher,
                            adv.id,
                            p.vendor,
                            p.product,
                            p.versions,
                            p.status,
                            p.cves.join(", "),
                            if level == VERSION_UNKNOWN {
                                "; firmware version unknown"
                            } else {
                                ""
                            }
                        );
                        m.plain = format!(
                            "The maker of {} ({}) has published a security warning ({}) for this model: {}.",
                            describe(asset),
                            p.vendor,
                            adv.id,
                            adv.title.trim_end_matches('.')
                        );
                        m.fix = if p.remediation.is_empty() {
                            format!("Contact {} about advisory {}. {SEGMENT}", p.vendor, adv.id)
                        } else {
                            format!("{} {SEGMENT}", p.remediation.replace('\n', " "))
                        };
                        m.priority = priority(&m);
                        found.entry(m.id.clone()).or_insert(m);
                    }
                }
            }
        }
        // Recalls (openFDA) naming the maker and model.
        if let (Some(vendor), Some(model)) = (&asset.vendor, &asset.model) {
            let v = self
                .aliases
                .vendor(vendor)
                .unwrap_or_else(|| vendor.to_lowercase());
            for r in &self.recalls {
                if !r.firm.to_lowercase().contains(&v)
                    || !names_overlap(&r.product_description, model)
                {
                    continue;
                }
                let comp = Component {
                    label: format!("device {vendor} {model}"),
                    cpes: Vec::new(),
                    port: None,
                    product: model.clone(),
                    platform: true,
                    distro_package: false,
                };
                let mut m = base(
                    &format!("recall:{}", r.id),
                    MatchSource::Recall,
                    Severity::High,
                    MatchConfidence::VersionUnknown,
                    &comp,
                );
                m.title = format!("FDA recall {} ({})", r.id, r.status);
                m.reason = format!(
                    "openFDA recall {} by {} for {:?} mentions model {model}",
                    r.id, r.firm, r.product_description
                );
                m.plain = format!(
                    "The FDA lists a recall by {} that names this model ({}): {}",
                    r.firm,
                    describe(asset),
                    r.reason.trim()
                );
                m.fix = format!(
                    "Check the serial/lot numbers in the recall against this device and follow the maker's \
                     instructions. {}",
                    r.action.trim()
                );
                m.priority = priority(&m);
                found.entry(m.id.clone()).or_insert(m);
            }
        }
        let mut out: Vec<VulnMatch> = found.into_values().collect();
        sort(&mut out);
        Ok(out)
    }
}

/// Most urgent first; ties by asset then id so output is stable.
pub fn sort(v: &mut [VulnMatch]) {
    v.sort_by(|a, b| {
        b.priority
            .partial_cmp(&a.priority)
            .unwrap_or(Ordering::Equal)
            .then_with(|| a.asset.cmp(&b.asset))
            .then_with(|| a.id.cmp(&b.id))
    });
}

fn count_words(n: usize) -> String {
    const W: [&str; 11] = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    ];
    W.get(n)
        .map(|s| s.to_string())
        .unwrap_or_else(|| n.to_string())
}

/// Whether a product description names a model (token overlap on the model's significant words).
fn names_overlap(description: &str, model: &str) -> bool {
    let norm = |s: &str| -> String {
        s.to_lowercase()
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { ' ' })
            .collect()
    };
    let d = norm(description);
    let m = norm(model);
    let m = m.split_whitespace().collect::<Vec<_>>().join(" ");
    if m.len() < 3 {
        return false;
    }
    let d = d.split_whitespace().collect::<Vec<_>>().join(" ");
    d.contains(&m) || (d.len() >= 3 && m.contains(&d))
}

fn first_sentence(s: &str) -> String {
    let s = s.trim();
    let end = s.find(". ").map(|i| i + 1).unwrap_or(s.len()).min(200);
    let mut end = end;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

fn describe(asset: &Asset) -> String {
    let role = asset.category.plain().to_lowercase();
    let name = asset.display_name();
    if asset.category == medguard_model::Category::Unknown {
        format!("The device {name}")
    } else {
        format!("The {role} {name}")
    }
}

fn plain_cve(m: &VulnMatch, comp: &Component, asset: &Asset) -> String {
    let mut s = format!(
        "{} runs {}, which has a known security flaw ({})",
        describe(asset),
        comp.product,
        m.id
    );
    if m.kev {
        s.push_str(" that criminals are using in real attacks now");
        if m.ransomware {
            s.push_str(", including ransomware gangs");
        }
    }
    s.push('.');
    if let Some(e) = m.epss
        && e >= 0.01
    {
        s.push_str(&format!(
            " Chance it is attacked in the next 30 days: {:.0}%.",
            e * 100.0
        ));
    }
    if m.confidence != MatchConfidence::Exact {
        s.push_str(" The version could not be confirmed: have it checked.");
    }
    s
}

fn fix_cve(m: &VulnMatch, kev: Option<&KevEntry>, hit: &Hit, comp: &Component) -> String {
    let mut fix = match (&hit.end_excluding, &hit.end_including) {
        (Some(v), _) => format!("Update {} to version {v} or later.", comp.product),
        (None, Some(v)) => format!("Update {} to a version newer than {v}.", comp.product),
        _ => format!(
            "Apply the maker's security update for {} ({}).",
            comp.product, m.id
        ),
    };
    if let Some(k) = kev
        && !k.required_action.is_empty()
    {
        fix.push_str(&format!(" CISA: {}", k.required_action.trim()));
    }
    if comp.platform || m.clinical {
        fix.push(' ');
        fix.push_str(SEGMENT);
    }
    fix
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(criteria: &str) -> CpeMatch {
        CpeMatch {
            vulnerable: true,
            criteria: criteria.into(),
            version_start_including: None,
            version_start_excluding: None,
            version_end_including: None,
            version_end_excluding: None,
        }
    }

    fn level(cm: &CpeMatch, target: &str) -> Level {
        let c = Cpe::parse(&cm.criteria).expect("criteria");
        let t = Cpe::parse(target).expect("target");
        criterion_level(cm, &c, &t)
    }

    #[test]
    fn range_rules() {
        let mut r = m("cpe:2.3:a:apache:log4j:*:*:*:*:*:*:*:*");
        r.version_start_including = Some("2.0.1".into());
        r.version_end_excluding = Some("2.3.1".into());
        let t = |v: &str| format!("cpe:2.3:a:apache:log4j:{v}:*:*:*:*:*:*:*");
        assert_eq!(level(&r, &t("2.0.1")), EXACT, "start including");
        assert_eq!(level(&r, &t("2.3.0")), EXACT);
        assert_eq!(level(&r, &t("2.3.1")), NO, "end excluding");
        assert_eq!(level(&r, &t("2.0")), NO);
        assert_eq!(level(&r, &t("*")), VERSION_UNKNOWN);
        let mut r2 = m("cpe:2.3:a:x:y:*:*:*:*:*:*:*:*");
        r2.version_start_excluding = Some("1.0".into());
        r2.version_end_including = Some("2.0".into());
        let t = |v: &str| format!("cpe:2.3:a:x:y:{v}:*:*:*:*:*:*:*");
        assert_eq!(level(&r2, &t("1.0")), NO, "start excluding");
        assert_eq!(level(&r2, &t("1.0.1")), EXACT);
        assert_eq!(level(&r2, &t("2.0")), EXACT, "end including");
        assert_eq!(level(&r2, &t("2.0.1")), NO);
        // Vendor unknown: name only.
        assert_eq!(level(&r2, "cpe:2.3:a:*:y:1.5:*:*:*:*:*:*:*"), NAME_ONLY);
        // Different part never matches.
        assert_eq!(level(&r2, "cpe:2.3:o:x:y:1.5:*:*:*:*:*:*:*"), NO);
    }

    #[test]
    fn negation_and_operators() {
        assert_eq!(negated(NO, true), EXACT);
        assert_eq!(negated(VERSION_UNKNOWN, true), VERSION_UNKNOWN);
        assert_eq!(
            combine(Operator::And, [EXACT, VERSION_UNKNOWN].into_iter()),
            VERSION_UNKNOWN
        );
        assert_eq!(
            combine(Operator::Or, [NO, NAME_ONLY].into_iter()),
            NAME_ONLY
        );
    }

    #[test]
    fn windows_from_smb_and_iis() {
        let mut a = Asset::default();
        let mut smb = medguard_model::Service {
            port: 445,
            transport: medguard_model::Transport::Tcp,
            protocol: "smb".into(),
            product: None,
            version: None,
            banner: None,
            tls: None,
            attributes: Default::default(),
        };
        smb.attributes
            .insert("ntlm_os_version".into(), "6.1.7601".into());
        let mut http = smb.clone();
        http.attributes.clear();
        http.product = Some("Microsoft-IIS".into());
        http.version = Some("6.0".into());
        a.services = vec![smb, http];
        let os = os_strings(&a);
        assert_eq!(
            os,
            [
                "Windows 7 or Windows Server 2008 R2 (NT 6.1.7601) Service Pack 1",
                "Windows Server 2003 (from IIS 6.0)"
            ]
        );
        let cpe = Aliases::builtin().os(&os[0]).expect("cpe");
        assert_eq!(
            cpe.to_string(),
            "cpe:2.3:o:microsoft:windows_7:-:sp1:*:*:*:*:*:*"
        );
        assert_eq!(
            eol::family_of(eol::builtin(), &os[1]).map(|f| f.id.as_str()),
            Some("windows-server-2003")
        );
        assert_eq!(windows_from_nt("6.1.0"), None, "Samba");
    }

    #[test]
    fn model_names() {
        assert!(names_overlap(
            "Sigma Spectrum Infusion Pump, Model 35700BAX",
            "Spectrum"
        ));
        assert!(!names_overlap("Infusion pump", "X1"));
    }
}
