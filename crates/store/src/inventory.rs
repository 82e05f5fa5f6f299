//! The inventory: assets by stable identity, with first/last seen and what changed between scans.

use crate::{Result, SqliteStore};
use chrono::{DateTime, Utc};
use medguard_model::{Asset, HostStatus, Transport};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// What kind of change a scan revealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    NewDevice,
    DeviceGone,
    NewPort,
    PortClosed,
    FirmwareChanged,
    CategoryChanged,
    AddressChanged,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::NewDevice => "new-device",
            ChangeKind::DeviceGone => "device-gone",
            ChangeKind::NewPort => "new-port",
            ChangeKind::PortClosed => "port-closed",
            ChangeKind::FirmwareChanged => "firmware-changed",
            ChangeKind::CategoryChanged => "category-changed",
            ChangeKind::AddressChanged => "address-changed",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [
            ChangeKind::NewDevice,
            ChangeKind::DeviceGone,
            ChangeKind::NewPort,
            ChangeKind::PortClosed,
            ChangeKind::FirmwareChanged,
            ChangeKind::CategoryChanged,
            ChangeKind::AddressChanged,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub identity: String,
    pub kind: ChangeKind,
    pub detail: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanSummary {
    pub id: i64,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub source: String,
    pub targets: String,
    pub profile: String,
    pub hosts_up: i64,
    pub hosts_silent: i64,
}

/// Inventory persistence, implemented by every backend.
pub trait InventoryStore {
    /// Start a scan record; `source` is `scan`, `import:nmap` or `demo`.
    fn begin_scan(&mut self, source: &str, targets: &str, profile: &str) -> Result<i64>;
    /// Record what a scan saw of one device and return what changed since it was last seen.
    fn record_asset(&mut self, scan_id: i64, asset: &Asset) -> Result<Vec<Change>>;
    /// Close the scan. Devices previously seen that `in_scope` covers but this scan did not see are
    /// reported gone.
    fn finish_scan(
        &mut self,
        scan_id: i64,
        in_scope: &dyn Fn(&Asset) -> bool,
    ) -> Result<Vec<Change>>;
    /// Every known asset, with first/last seen, most urgent first.
    fn assets(&self) -> Result<Vec<Asset>>;
    fn scans(&self) -> Result<Vec<ScanSummary>>;
    /// Changes recorded by one scan, or by all scans when `scan_id` is `None`.
    fn changes(&self, scan_id: Option<i64>) -> Result<Vec<Change>>;
}

fn ts(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

fn port_set(a: &Asset) -> BTreeSet<(u16, Transport)> {
    a.services.iter().map(|s| (s.port, s.transport)).collect()
}

/// Compare the stored view of a device with a new observation.
fn diff(old: &Asset, new: &Asset, at: DateTime<Utc>) -> Vec<Change> {
    let identity = new.identity();
    let mut out = Vec::new();
    let mut push = |kind, detail: String| {
        out.push(Change {
            identity: identity.clone(),
            kind,
            detail,
            at,
        })
    };
    if old.status == HostStatus::NoResponse && new.status == HostStatus::Up {
        push(ChangeKind::NewDevice, "device answered again".to_string());
    }
    if new.status == HostStatus::Up {
        let (before, after) = (port_set(old), port_set(new));
        for (port, t) in after.difference(&before) {
            push(ChangeKind::NewPort, format!("{port}/{t} now open"));
        }
        for (port, t) in before.difference(&after) {
            push(ChangeKind::PortClosed, format!("{port}/{t} no longer open"));
        }
    }
    if let (Some(a), Some(b)) = (&old.firmware, &new.firmware)
        && a != b
    {
        push(ChangeKind::FirmwareChanged, format!("firmware {a} -> {b}"));
    }
    if old.category != new.category && new.status == HostStatus::Up {
        push(
            ChangeKind::CategoryChanged,
            format!("{} -> {}", old.category, new.category),
        );
    }
    if old.ip != new.ip && new.ip.is_some() && old.ip.is_some() {
        push(
            ChangeKind::AddressChanged,
            format!(
                "{} -> {}",
                old.ip.map(|i| i.to_string()).unwrap_or_default(),
                new.ip.map(|i| i.to_string()).unwrap_or_default()
            ),
        );
    }
    out
}

impl SqliteStore {
    /// Find the stored asset for an observation: by identity, or by IP where the stored row only
    /// knew the IP (a later scan learned its MAC or hostname).
    fn find_asset(&self, asset: &Asset) -> Result<Option<(i64, String, Asset)>> {
        let identity = asset.identity();
        let row = self
            .conn
            .query_row(
                "SELECT id, identity, data FROM assets WHERE identity = ?1",
                [&identity],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                },
            )
            .optional()?;
        let row = match (row, asset.ip) {
            (Some(row), _) => Some(row),
            (None, Some(ip)) => self
                .conn
                .query_row(
                    "SELECT id, identity, data FROM assets WHERE identity = ?1",
                    [format!("ip:{ip}")],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?,
            (None, None) => None,
        };
        match row {
            Some((id, ident, data)) => Ok(Some((id, ident, serde_json::from_str(&data)?))),
            None => Ok(None),
        }
    }

    fn insert_change(&self, scan_id: i64, asset_id: i64, c: &Change) -> Result<()> {
        self.conn.execute(
            "INSERT INTO changes (scan_id, asset_id, kind, detail, at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                scan_id,
                asset_id,
                c.kind.as_str(),
                c.detail,
                c.at.to_rfc3339()
            ],
        )?;
        Ok(())
    }
}

impl InventoryStore for SqliteStore {
    fn begin_scan(&mut self, source: &str, targets: &str, profile: &str) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO scans (started_at, source, targets, profile) VALUES (?1, ?2, ?3, ?4)",
            params![Utc::now().to_rfc3339(), source, targets, profile],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    fn record_asset(&mut self, scan_id: i64, asset: &Asset) -> Result<Vec<Change>> {
        let now = Utc::now();
        let existing = self.find_asset(asset)?;
        let mut stored = asset.clone();
        let mut changes = Vec::new();
        let asset_id = match existing {
            Some((id, old_identity, old)) => {
                // A device that answered nothing this time keeps what we knew of it.
                if asset.status == HostStatus::NoResponse {
                    stored = Asset {
                        status: HostStatus::NoResponse,
                        ..old.clone()
                    };
                } else {
                    changes = diff(&old, asset, now);
                }
                stored.first_seen = old.first_seen.or(Some(now));
                stored.last_seen = if asset.status == HostStatus::Up {
                    Some(now)
                } else {
                    old.last_seen
                };
                let identity = if old_identity.starts_with("ip:") {
                    stored.identity()
                } else {
                    old_identity
                };
                self.conn.execute(
                    "UPDATE assets SET identity=?2, ip=?3, mac=?4, hostname=?5, category=?6, vendor=?7,
                       model=?8, firmware=?9, status=?10, worst_severity=?11, last_seen=COALESCE(?12, last_seen),
                       last_scan_id=?13, data=?14 WHERE id=?1",
                    params![
                        id,
                        identity,
                        stored.ip.map(|i| i.to_string()),
                        stored.mac,
                        stored.hostname,
                        stored.category.as_str(),
                        stored.vendor,
                        stored.model,
                        stored.firmware,
                        serde_json::to_string(&stored.status)?.trim_matches('"'),
                        stored.worst().map(|s| s.as_str()),
                        stored.last_seen.map(|t| t.to_rfc3339()),
                        scan_id,
                        serde_json::to_string(&stored)?,
                    ],
                )?;
                id
            }
            None => {
                stored.first_seen = Some(now);
                stored.last_seen = (asset.status == HostStatus::Up).then_some(now);
                self.conn.execute(
                    "INSERT INTO assets (identity, ip, mac, hostname, category, vendor, model, firmware,
                       status, worst_severity, first_seen, last_seen, last_scan_id, data)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                    params![
                        stored.identity(),
                        stored.ip.map(|i| i.to_string()),
                        stored.mac,
                        stored.hostname,
                        stored.category.as_str(),
                        stored.vendor,
                        stored.model,
                        stored.firmware,
                        serde_json::to_string(&stored.status)?.trim_matches('"'),
                        stored.worst().map(|s| s.as_str()),
                        now.to_rfc3339(),
                        now.to_rfc3339(),
                        scan_id,
                        serde_json::to_string(&stored)?,
                    ],
                )?;
                let id = self.conn.last_insert_rowid();
                if asset.status == HostStatus::Up {
                    changes.push(Change {
                        identity: stored.identity(),
                        kind: ChangeKind::NewDevice,
                        detail: format!("first seen as {}", stored.category.plain()),
                        at: now,
                    });
                }
                id
            }
        };
        self.conn.execute(
            "INSERT OR REPLACE INTO observations (scan_id, asset_id, data) VALUES (?1, ?2, ?3)",
            params![scan_id, asset_id, serde_json::to_string(asset)?],
        )?;
        for c in &changes {
            self.insert_change(scan_id, asset_id, c)?;
        }
        Ok(changes)
    }

    fn finish_scan(
        &mut self,
        scan_id: i64,
        in_scope: &dyn Fn(&Asset) -> bool,
    ) -> Result<Vec<Change>> {
        let now = Utc::now();
        let mut stmt = self.conn.prepare(
            "SELECT a.id, a.data FROM assets a
             WHERE a.status = 'up' AND NOT EXISTS
               (SELECT 1 FROM observations o WHERE o.asset_id = a.id AND o.scan_id = ?1)",
        )?;
        let unseen: Vec<(i64, String)> = stmt
            .query_map([scan_id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<std::result::Result<_, _>>()?;
        drop(stmt);
        let mut changes = Vec::new();
        for (id, data) in unseen {
            let mut asset: Asset = serde_json::from_str(&data)?;
            if !in_scope(&asset) {
                continue;
            }
            asset.status = HostStatus::NoResponse;
            let c = Change {
                identity: asset.identity(),
                kind: ChangeKind::DeviceGone,
                detail: "no longer answers".to_string(),
                at: now,
            };
            self.conn.execute(
                "UPDATE assets SET status = 'no-response', data = ?2 WHERE id = ?1",
                params![id, serde_json::to_string(&asset)?],
            )?;
            self.insert_change(scan_id, id, &c)?;
            changes.push(c);
        }
        let (up, silent): (i64, i64) = self.conn.query_row(
            "SELECT COALESCE(SUM(a.status = 'up'), 0), COALESCE(SUM(a.status != 'up'), 0)
             FROM observations o JOIN assets a ON a.id = o.asset_id WHERE o.scan_id = ?1",
            [scan_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        self.conn.execute(
            "UPDATE scans SET finished_at = ?2, hosts_up = ?3, hosts_silent = ?4 WHERE id = ?1",
            params![scan_id, now.to_rfc3339(), up, silent],
        )?;
        Ok(changes)
    }

    fn assets(&self) -> Result<Vec<Asset>> {
        let mut assets: Vec<Asset> = self.json_rows("SELECT data FROM assets", [])?;
        assets.sort_by(|a, b| b.worst().cmp(&a.worst()).then(a.ip.cmp(&b.ip)));
        Ok(assets)
    }

    fn scans(&self) -> Result<Vec<ScanSummary>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, started_at, finished_at, source, targets, profile, hosts_up, hosts_silent
             FROM scans ORDER BY id",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, i64>(6)?,
                    r.get::<_, i64>(7)?,
                ))
            })?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(rows
            .into_iter()
            .map(
                |(id, s, f, source, targets, profile, up, silent)| ScanSummary {
                    id,
                    started_at: ts(&s).unwrap_or_default(),
                    finished_at: f.as_deref().and_then(ts),
                    source,
                    targets,
                    profile,
                    hosts_up: up,
                    hosts_silent: silent,
                },
            )
            .collect())
    }

    fn changes(&self, scan_id: Option<i64>) -> Result<Vec<Change>> {
        let mut stmt = self.conn.prepare(
            "SELECT a.identity, c.kind, c.detail, c.at FROM changes c JOIN assets a ON a.id = c.asset_id
             WHERE ?1 IS NULL OR c.scan_id = ?1 ORDER BY c.id",
        )?;
        let rows = stmt
            .query_map([scan_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(rows
            .into_iter()
            .filter_map(|(identity, kind, detail, at)| {
                Some(Change {
                    identity,
                    kind: ChangeKind::parse(&kind)?,
                    detail,
                    at: ts(&at)?,
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use medguard_model::{Category, Service};

    fn svc(port: u16, protocol: &str) -> Service {
        Service {
            port,
            transport: Transport::Tcp,
            protocol: protocol.into(),
            product: None,
            version: None,
            banner: None,
            tls: None,
            attributes: Default::default(),
        }
    }

    fn asset(ip: &str, ports: &[(u16, &str)]) -> Asset {
        Asset {
            ip: Some(ip.parse().expect("ip")),
            category: Category::Pacs,
            services: ports.iter().map(|(p, n)| svc(*p, n)).collect(),
            ..Asset::default()
        }
    }

    #[test]
    fn tracks_new_ports_gone_devices_and_firmware() {
        let mut store = SqliteStore::in_memory().expect("store");
        let s1 = store
            .begin_scan("scan", "10.0.0.0/24", "default")
            .expect("scan");
        let c = store
            .record_asset(s1, &asset("10.0.0.5", &[(104, "dicom")]))
            .expect("record");
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].kind, ChangeKind::NewDevice);
        store
            .record_asset(s1, &asset("10.0.0.6", &[(80, "http")]))
            .expect("record");
        store.finish_scan(s1, &|_| true).expect("finish");

        let s2 = store
            .begin_scan("scan", "10.0.0.0/24", "default")
            .expect("scan");
        let mut a = asset("10.0.0.5", &[(104, "dicom"), (4242, "dicom")]);
        a.firmware = Some("2.0".into());
        let c = store.record_asset(s2, &a).expect("record");
        assert_eq!(
            c.iter().map(|c| c.kind).collect::<Vec<_>>(),
            vec![ChangeKind::NewPort]
        );
        let mut a = asset("10.0.0.5", &[(104, "dicom"), (4242, "dicom")]);
        a.firmware = Some("2.1".into());
        let s3 = store
            .begin_scan("scan", "10.0.0.0/24", "default")
            .expect("scan");
        let c = store.record_asset(s3, &a).expect("record");
        assert_eq!(c[0].kind, ChangeKind::FirmwareChanged);
        let gone = store.finish_scan(s3, &|_| true).expect("finish");
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].identity, "ip:10.0.0.6");

        let assets = store.assets().expect("assets");
        assert_eq!(assets.len(), 2);
        assert!(assets.iter().all(|a| a.first_seen.is_some()));
        assert_eq!(store.scans().expect("scans").len(), 3);
        assert!(store.changes(None).expect("changes").len() >= 4);
    }

    #[test]
    fn a_silent_device_keeps_what_was_known() {
        let mut store = SqliteStore::in_memory().expect("store");
        let s1 = store.begin_scan("scan", "x", "default").expect("scan");
        let silent = Asset {
            ip: Some("10.0.0.7".parse().expect("ip")),
            status: HostStatus::NoResponse,
            ..Asset::default()
        };
        // Known only as silent, then silent again: no last-seen time exists yet.
        store.record_asset(s1, &silent).expect("record");
        let s2 = store.begin_scan("scan", "x", "default").expect("scan");
        store.record_asset(s2, &silent).expect("record again");
        let s3 = store.begin_scan("scan", "x", "default").expect("scan");
        let c = store
            .record_asset(s3, &asset("10.0.0.7", &[(22, "ssh")]))
            .expect("record up");
        assert!(c.iter().any(|c| c.kind == ChangeKind::NewDevice), "{c:?}");
        let s4 = store.begin_scan("scan", "x", "default").expect("scan");
        store.record_asset(s4, &silent).expect("record silent");
        let a = &store.assets().expect("assets")[0];
        assert_eq!(a.status, HostStatus::NoResponse);
        assert_eq!(a.services.len(), 1, "what was known stays known");
        assert!(a.last_seen.is_some());
    }

    #[test]
    fn learning_a_mac_keeps_the_same_asset() {
        let mut store = SqliteStore::in_memory().expect("store");
        let s1 = store.begin_scan("scan", "x", "default").expect("scan");
        store
            .record_asset(s1, &asset("10.0.0.9", &[]))
            .expect("record");
        let mut a = asset("10.0.0.9", &[]);
        a.mac = Some("00:11:22:33:44:55".into());
        let s2 = store.begin_scan("scan", "x", "default").expect("scan");
        let c = store.record_asset(s2, &a).expect("record");
        assert!(c.is_empty(), "{c:?}");
        let assets = store.assets().expect("assets");
        assert_eq!(assets.len(), 1);
        assert_eq!(assets[0].identity(), "mac:00:11:22:33:44:55");
    }
}
