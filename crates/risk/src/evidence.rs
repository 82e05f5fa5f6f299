//! Evidence: what medguard's own collectors already know, reduced to the facts the risk engine
//! needs. Each capability contributes through an [`EvidenceSource`]; the engine never reads raw
//! input. Facts carry the time they were observed so freshness can be judged.

use chrono::{DateTime, Utc};
use medguard_model::{Category, HostStatus, Severity};
use medguard_store::{AlertStore, IntelStore, InventoryStore, PhiStore, StoreError};
use serde::{Deserialize, Serialize};

/// A technical finding on a device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingFact {
    pub id: String,
    pub severity: Severity,
    pub title: String,
    pub fix: String,
}

/// A device and what discovery saw on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssetFact {
    pub identity: String,
    pub name: String,
    pub category: Category,
    pub last_seen: DateTime<Utc>,
    pub open_ports: Vec<u16>,
    pub findings: Vec<FindingFact>,
}

/// A vulnerability matched to a device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VulnFact {
    /// The device identity (as in [`AssetFact::identity`]).
    pub asset: String,
    /// CVE or advisory id.
    pub id: String,
    pub severity: Severity,
    /// Listed in CISA's Known Exploited Vulnerabilities catalog.
    pub kev: bool,
    pub observed_at: DateTime<Utc>,
}

/// Patient data found in one place (counts only: never the values).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhiFact {
    /// Where, masked as the PHI scanner stores it (share or path).
    pub location: String,
    /// The device identity, when the location is on a known device.
    #[serde(default)]
    pub asset: Option<String>,
    /// The asset group it belongs to when no device is known (e.g. `file-server`).
    #[serde(default)]
    pub group: Option<String>,
    pub records: u64,
    /// Readable by everyone or otherwise unprotected.
    pub unprotected: bool,
    pub observed_at: DateTime<Utc>,
}

/// A detection alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertFact {
    pub rule: String,
    pub title: String,
    pub severity: Severity,
    pub at: DateTime<Utc>,
}

/// Everything the engine knows, gathered from every source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    /// When the facts were gathered: the reference for freshness.
    pub now: DateTime<Utc>,
    /// The newest finished network scan.
    pub last_scan: Option<DateTime<Utc>>,
    pub scans: u32,
    pub assets: Vec<AssetFact>,
    pub vulns: Vec<VulnFact>,
    /// The newest patient-data scan.
    pub last_phi_scan: Option<DateTime<Utc>>,
    pub phi: Vec<PhiFact>,
    pub alerts: Vec<AlertFact>,
    /// Which sources contributed (for the report's data-collection section).
    pub sources: Vec<String>,
}

impl Facts {
    /// No evidence at all, as of `now`.
    pub fn empty(now: DateTime<Utc>) -> Facts {
        Facts {
            now,
            last_scan: None,
            scans: 0,
            assets: Vec::new(),
            vulns: Vec::new(),
            last_phi_scan: None,
            phi: Vec::new(),
            alerts: Vec::new(),
            sources: Vec::new(),
        }
    }
}

/// A problem gathering evidence.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("read {source_name} evidence from the store")]
    Store {
        source_name: &'static str,
        #[source]
        source: StoreError,
    },
}

/// A source of evidence (one per capability).
pub trait EvidenceSource {
    /// Short name (`inventory`, `phi`, `intel`, `alerts`).
    fn name(&self) -> &'static str;
    /// Add what this source knows to `facts`.
    fn gather(&self, facts: &mut Facts) -> Result<(), EvidenceError>;
}

/// Evidence from the network inventory: devices, open ports, findings and scan dates.
pub struct InventoryEvidence<'a, S: InventoryStore + ?Sized>(pub &'a S);

impl<S: InventoryStore + ?Sized> EvidenceSource for InventoryEvidence<'_, S> {
    fn name(&self) -> &'static str {
        "inventory"
    }

    fn gather(&self, facts: &mut Facts) -> Result<(), EvidenceError> {
        let err = |source| EvidenceError::Store {
            source_name: "inventory",
            source,
        };
        let scans = self.0.scans().map_err(err)?;
        facts.scans = u32::try_from(scans.iter().filter(|s| s.finished_at.is_some()).count())
            .unwrap_or(u32::MAX);
        facts.last_scan = scans.iter().filter_map(|s| s.finished_at).max();
        for a in self.0.assets().map_err(err)? {
            if a.status != HostStatus::Up {
                continue;
            }
            let last_seen = a.last_seen.or(facts.last_scan).unwrap_or(facts.now);
            facts.assets.push(AssetFact {
                identity: a.identity(),
                name: a.display_name(),
                category: a.category,
                last_seen,
                open_ports: a.services.iter().map(|s| s.port).collect(),
                findings: a
                    .findings
                    .iter()
                    .map(|f| FindingFact {
                        id: f.id.clone(),
                        severity: f.severity,
                        title: f.title.clone(),
                        fix: f.fix.clone(),
                    })
                    .collect(),
            });
        }
        facts.assets.sort_by(|a, b| a.identity.cmp(&b.identity));
        facts.sources.push("inventory".into());
        Ok(())
    }
}

/// Evidence from vulnerability matching: matched CVEs/advisories per device, with the CISA KEV flag.
pub struct IntelEvidence<'a, S: IntelStore + ?Sized>(pub &'a S);

impl<S: IntelStore + ?Sized> EvidenceSource for IntelEvidence<'_, S> {
    fn name(&self) -> &'static str {
        "intel"
    }

    fn gather(&self, facts: &mut Facts) -> Result<(), EvidenceError> {
        let err = |source| EvidenceError::Store {
            source_name: "intel",
            source,
        };
        let matches = self.0.matches().map_err(err)?;
        if matches.is_empty() {
            return Ok(());
        }
        // Matches carry no time of their own: they are as fresh as the newest feed they were matched
        // against (or the newest scan).
        let fed = self
            .0
            .feeds()
            .map_err(err)?
            .iter()
            .filter_map(|f| DateTime::parse_from_rfc3339(&f.imported_at).ok())
            .map(|d| d.with_timezone(&Utc))
            .max();
        let observed_at = fed.or(facts.last_scan).unwrap_or(facts.now);
        for m in matches {
            facts.vulns.push(VulnFact {
                asset: m.asset,
                id: m.id,
                severity: m.severity,
                kev: m.kev,
                observed_at,
            });
        }
        facts
            .vulns
            .sort_by(|a, b| (&a.asset, &a.id).cmp(&(&b.asset, &b.id)));
        facts.sources.push("intel".into());
        Ok(())
    }
}

/// Evidence from patient-data scans: how many people's records sit where, and whether the place
/// is exposed (shared, synced, world-readable, on a desktop, in e-mail, in an open archive). Only
/// counts and the exposure judgement are used; paths stay out of the assessment.
pub struct PhiEvidence<'a, S: PhiStore + ?Sized>(pub &'a S);

impl<S: PhiStore + ?Sized> EvidenceSource for PhiEvidence<'_, S> {
    fn name(&self) -> &'static str {
        "phi"
    }

    fn gather(&self, facts: &mut Facts) -> Result<(), EvidenceError> {
        let err = |source| EvidenceError::Store {
            source_name: "phi",
            source,
        };
        let scans = self.0.phi_scans().map_err(err)?;
        let Some(latest) = scans
            .iter()
            .filter(|s| s.finished_at.is_some())
            .max_by_key(|s| (s.finished_at, s.id))
        else {
            return Ok(());
        };
        let at = latest.finished_at.unwrap_or(facts.now);
        facts.last_phi_scan = Some(at);
        for f in self.0.phi_files(Some(latest.id)).map_err(err)? {
            let r = &f.report;
            let records = if r.individuals > 0 {
                r.individuals
            } else {
                r.total()
            };
            if records == 0 {
                continue;
            }
            let e = &r.exposure;
            let group = if e.in_email || e.synced_folder {
                "email-cloud"
            } else if e.shared_folder {
                "file-server"
            } else {
                "workstations"
            };
            facts.phi.push(PhiFact {
                location: format!("file {}", f.id),
                asset: None,
                group: Some(group.to_string()),
                records,
                unprotected: !e.reasons().is_empty(),
                observed_at: at,
            });
        }
        facts.sources.push("phi".into());
        Ok(())
    }
}

/// Evidence from log detection: alerts with their severity and time.
pub struct AlertEvidence<'a, S: AlertStore + ?Sized>(pub &'a S);

impl<S: AlertStore + ?Sized> EvidenceSource for AlertEvidence<'_, S> {
    fn name(&self) -> &'static str {
        "alerts"
    }

    fn gather(&self, facts: &mut Facts) -> Result<(), EvidenceError> {
        let alerts = self.0.alerts().map_err(|source| EvidenceError::Store {
            source_name: "alerts",
            source,
        })?;
        for a in alerts {
            facts.alerts.push(AlertFact {
                rule: a.rule_id.clone(),
                title: a.title.clone(),
                severity: a.level,
                at: a.last_seen.or(a.timestamp).unwrap_or(facts.now),
            });
        }
        facts.sources.push("alerts".into());
        Ok(())
    }
}

/// Gather facts from every source. A failing source is reported and skipped, so one broken
/// capability does not stop the assessment; its facts are simply absent (and questions are asked).
pub fn gather(sources: &[&dyn EvidenceSource], now: DateTime<Utc>) -> (Facts, Vec<EvidenceError>) {
    let mut facts = Facts::empty(now);
    let mut errors = Vec::new();
    for s in sources {
        let mut attempt = facts.clone();
        match s.gather(&mut attempt) {
            Ok(()) => facts = attempt,
            Err(e) => errors.push(e),
        }
    }
    (facts, errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use medguard_model::{Asset, Finding, Service, Transport};
    use medguard_store::SqliteStore;

    #[test]
    fn phi_and_alert_facts_from_the_store() {
        use medguard_model::{Alert, PhiExposure, PhiFileReport, PhiKind, PhiScanSummary};
        use medguard_store::{AlertStore, PhiStore};
        let mut s = SqliteStore::in_memory().expect("store");
        let report = |path: &str, individuals: u64, shared: bool| PhiFileReport {
            path: path.into(),
            format: "csv".into(),
            size: 10,
            counts: [(PhiKind::Ssn, individuals)].into_iter().collect(),
            individuals,
            health_info: true,
            exposure: PhiExposure {
                shared_folder: shared,
                ..PhiExposure::default()
            },
            risk: 50,
            severity: Severity::High,
            headline: "patients".into(),
            warnings: Vec::new(),
        };
        let mut w = s.phi_writer(&["/srv".into()]).expect("writer");
        w.add_file(&report("/srv/share/list.csv", 700, true), &[])
            .expect("add");
        w.add_file(&report("/home/a/notes.txt", 3, false), &[])
            .expect("add");
        w.commit(&PhiScanSummary::default()).expect("commit");
        let run = s.begin_detect_run("test").expect("run");
        s.record_alerts(
            run,
            &[Alert {
                rule_id: "brute-force".into(),
                title: "Password guessing".into(),
                level: Severity::High,
                tags: vec![],
                attack: vec![],
                hipaa: vec![],
                explanation: String::new(),
                first_steps: vec![],
                host: None,
                timestamp: Some(Utc::now()),
                last_seen: None,
                count: 1,
                correlation: None,
                events: vec![],
            }],
        )
        .expect("alerts");
        let (facts, errors) = gather(&[&PhiEvidence(&s), &AlertEvidence(&s)], Utc::now());
        assert!(errors.is_empty());
        assert!(facts.last_phi_scan.is_some());
        assert_eq!(facts.phi.len(), 2);
        let shared = facts
            .phi
            .iter()
            .find(|p| p.records == 700)
            .expect("shared file");
        assert!(shared.unprotected);
        assert_eq!(shared.group.as_deref(), Some("file-server"));
        // Paths never reach the facts (they can name patients).
        assert!(facts.phi.iter().all(|p| !p.location.contains("list.csv")));
        assert_eq!(facts.alerts.len(), 1);
        assert_eq!(facts.alerts[0].severity, Severity::High);
    }

    #[test]
    fn inventory_facts_from_the_store() {
        let mut s = SqliteStore::in_memory().expect("store");
        let scan = s.begin_scan("scan", "127.0.0.1", "safe").expect("scan");
        let asset = Asset {
            ip: Some("127.0.0.1".parse().expect("ip")),
            hostname: Some("xray".into()),
            category: Category::Imaging,
            services: vec![Service {
                port: 104,
                transport: Transport::Tcp,
                protocol: "dicom".into(),
                product: None,
                version: None,
                banner: None,
                tls: Some(false),
                attributes: Default::default(),
            }],
            findings: vec![Finding {
                id: "dicom-unencrypted".into(),
                severity: Severity::Medium,
                title: "Images travel unencrypted".into(),
                explanation: String::new(),
                fix: "Enable DICOM TLS".into(),
                evidence: String::new(),
                port: Some(104),
            }],
            ..Asset::default()
        };
        s.record_asset(scan, &asset).expect("record");
        s.finish_scan(scan, &|_| true).expect("finish");
        let (facts, errors) = gather(&[&InventoryEvidence(&s)], Utc::now());
        assert!(errors.is_empty());
        assert_eq!(facts.scans, 1);
        assert!(facts.last_scan.is_some());
        assert_eq!(facts.assets.len(), 1);
        assert_eq!(facts.assets[0].open_ports, vec![104]);
        assert_eq!(facts.assets[0].findings[0].id, "dicom-unencrypted");
    }
}
