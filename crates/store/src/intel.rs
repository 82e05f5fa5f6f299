//! Vulnerability intelligence persistence: the CVE knowledge base, KEV, EPSS, advisories, recalls,
//! SBOMs, MDS2 answers and the latest matches.
//!
//! Imports go through an [`IntelWriter`], one SQLite transaction: nothing is visible until
//! [`IntelWriter::commit`], and dropping the writer (on any error) rolls everything back, so the
//! previous knowledge base stays usable when a feed turns out to be truncated or malformed.

use crate::{Result, SqliteStore};
use medguard_model::{
    Advisory, CveRecord, Cvss, Epss, FeedState, KevEntry, Mds2, Recall, Sbom, VulnMatch,
};
use rusqlite::{OptionalExtension, Transaction, params};
use std::collections::HashMap;

/// An open import: every write lands in one transaction that [`IntelWriter::commit`] makes visible.
pub trait IntelWriter {
    /// Insert or replace one CVE (by id) with its product index; a copy older (by `lastModified`)
    /// than the stored one is ignored.
    fn put_cve(&mut self, cve: &CveRecord) -> Result<()>;
    /// Forget the KEV catalog (it is published as a full snapshot).
    fn clear_kev(&mut self) -> Result<()>;
    fn put_kev(&mut self, kev: &KevEntry) -> Result<()>;
    /// Forget all EPSS scores (each file is a full snapshot).
    fn clear_epss(&mut self) -> Result<()>;
    fn put_epss(&mut self, cve: &str, epss: Epss) -> Result<()>;
    fn put_advisory(&mut self, adv: &Advisory) -> Result<()>;
    fn put_recall(&mut self, recall: &Recall) -> Result<()>;
    /// Record that a feed was loaded.
    fn set_feed(&mut self, feed: &FeedState) -> Result<()>;
    /// Make everything written visible at once.
    fn commit(self: Box<Self>) -> Result<()>;
}

/// Counts of what the knowledge base holds.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct IntelCounts {
    pub cves: u64,
    pub kev: u64,
    pub epss: u64,
    pub advisories: u64,
    pub recalls: u64,
    pub sboms: u64,
    pub mds2: u64,
}

/// Vulnerability intelligence persistence, implemented by every backend.
pub trait IntelStore {
    /// Start an all-or-nothing import.
    fn intel_writer(&mut self) -> Result<Box<dyn IntelWriter + '_>>;
    /// Every feed loaded, by name.
    fn feeds(&self) -> Result<Vec<FeedState>>;
    fn intel_counts(&self) -> Result<IntelCounts>;
    /// CVEs whose configurations name `product`, and `vendor` when given.
    fn cves_for_product(&self, vendor: Option<&str>, product: &str) -> Result<Vec<CveRecord>>;
    fn cve(&self, id: &str) -> Result<Option<CveRecord>>;
    /// The whole KEV catalog by CVE id (a few thousand entries).
    fn kev(&self) -> Result<HashMap<String, KevEntry>>;
    fn epss(&self, cve: &str) -> Result<Option<Epss>>;
    /// Advisories naming `vendor` (lowercase) in their product tree.
    fn advisories_for_vendor(&self, vendor: &str) -> Result<Vec<Advisory>>;
    fn recalls(&self) -> Result<Vec<Recall>>;
    /// Attach an SBOM to an asset identity; returns its id.
    fn put_sbom(&mut self, asset: &str, source: &str, sbom: &Sbom) -> Result<i64>;
    /// Every SBOM with the identity of its asset.
    fn sboms(&self) -> Result<Vec<(String, Sbom)>>;
    fn put_mds2(&mut self, asset: &str, form: &Mds2) -> Result<()>;
    fn mds2(&self) -> Result<Vec<(String, Mds2)>>;
    /// Replace the stored matches with the latest run.
    fn save_matches(&mut self, matches: &[VulnMatch]) -> Result<()>;
    /// The stored matches, most urgent first.
    fn matches(&self) -> Result<Vec<VulnMatch>>;
}

struct SqliteIntelWriter<'a> {
    tx: Transaction<'a>,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339()
}

/// `(vendor, product)` pairs named by a CVE's configurations, parsed from the CPE criteria.
fn products(cve: &CveRecord) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = cve
        .configurations
        .iter()
        .flat_map(|c| c.nodes.iter())
        .flat_map(|n| n.cpe_match.iter())
        .filter_map(|m| vendor_product(&m.criteria))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Vendor and product fields of a CPE 2.3 formatted string (escapes kept as written).
fn vendor_product(cpe: &str) -> Option<(String, String)> {
    let rest = cpe.strip_prefix("cpe:2.3:")?;
    let mut fields = Vec::with_capacity(4);
    let mut cur = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            ':' => {
                fields.push(std::mem::take(&mut cur));
                if fields.len() == 3 {
                    break;
                }
            }
            _ => cur.push(c),
        }
    }
    match fields.as_slice() {
        [_, vendor, product] => Some((vendor.to_lowercase(), product.to_lowercase())),
        _ => None,
    }
}

impl IntelWriter for SqliteIntelWriter<'_> {
    fn put_cve(&mut self, cve: &CveRecord) -> Result<()> {
        let configs = serde_json::to_string(&cve.configurations)?;
        let cwes = serde_json::to_string(&cve.cwes)?;
        let existing: Option<(i64, String)> = self
            .tx
            .prepare_cached("SELECT id, last_modified FROM intel_cves WHERE cve = ?1")?
            .query_row([&cve.id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        // Incremental updates: an older copy of a record (a yearly file imported after the
        // `modified` feed) never replaces a newer one. NVD timestamps sort as text.
        if let Some((_, stored)) = &existing
            && !cve.last_modified.is_empty()
            && stored.as_str() > cve.last_modified.as_str()
        {
            return Ok(());
        }
        let (ver, score, vector) = match &cve.cvss {
            Some(c) => (
                Some(c.version.as_str()),
                Some(c.score),
                Some(c.vector.as_str()),
            ),
            None => (None, None, None),
        };
        let id = match existing.map(|(id, _)| id) {
            Some(id) => {
                self.tx
                    .prepare_cached("DELETE FROM intel_cve_products WHERE cve_id = ?1")?
                    .execute([id])?;
                self.tx
                    .prepare_cached(
                        "UPDATE intel_cves SET published=?2, last_modified=?3, status=?4, description=?5,
                         cvss_version=?6, cvss_score=?7, cvss_vector=?8, cwes=?9, configurations=?10
                         WHERE id=?1",
                    )?
                    .execute(params![
                        id,
                        cve.published,
                        cve.last_modified,
                        cve.status,
                        cve.description,
                        ver,
                        score,
                        vector,
                        cwes,
                        configs
                    ])?;
                id
            }
            None => {
                self.tx
                    .prepare_cached(
                        "INSERT INTO intel_cves (cve, published, last_modified, status, description,
                         cvss_version, cvss_score, cvss_vector, cwes, configurations)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                    )?
                    .execute(params![
                        cve.id,
                        cve.published,
                        cve.last_modified,
                        cve.status,
                        cve.description,
                        ver,
                        score,
                        vector,
                        cwes,
                        configs
                    ])?;
                self.tx.last_insert_rowid()
            }
        };
        let mut ins = self.tx.prepare_cached(
            "INSERT OR IGNORE INTO intel_cve_products (product, vendor, cve_id) VALUES (?1, ?2, ?3)",
        )?;
        for (vendor, product) in products(cve) {
            ins.execute(params![product, vendor, id])?;
        }
        Ok(())
    }

    fn clear_kev(&mut self) -> Result<()> {
        self.tx.execute("DELETE FROM intel_kev", [])?;
        Ok(())
    }

    fn put_kev(&mut self, k: &KevEntry) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT OR REPLACE INTO intel_kev (cve, vendor_project, product, name, date_added,
                 due_date, required_action, ransomware, description)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                k.cve_id,
                k.vendor_project,
                k.product,
                k.name,
                k.date_added,
                k.due_date,
                k.required_action,
                k.ransomware,
                k.description
            ])?;
        Ok(())
    }

    fn clear_epss(&mut self) -> Result<()> {
        self.tx.execute("DELETE FROM intel_epss", [])?;
        Ok(())
    }

    fn put_epss(&mut self, cve: &str, e: Epss) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT OR REPLACE INTO intel_epss (cve, score, percentile) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![cve, e.score, e.percentile])?;
        Ok(())
    }

    fn put_advisory(&mut self, adv: &Advisory) -> Result<()> {
        self.tx
            .execute("DELETE FROM intel_advisories WHERE id = ?1", [&adv.id])?;
        self.tx.execute(
            "INSERT INTO intel_advisories (id, data) VALUES (?1, ?2)",
            params![adv.id, serde_json::to_string(adv)?],
        )?;
        let mut vendors: Vec<String> = adv
            .products
            .iter()
            .map(|p| p.vendor.to_lowercase())
            .collect();
        vendors.sort();
        vendors.dedup();
        for v in vendors {
            self.tx.execute(
                "INSERT OR IGNORE INTO intel_advisory_vendors (vendor, advisory_id) VALUES (?1, ?2)",
                params![v, adv.id],
            )?;
        }
        Ok(())
    }

    fn put_recall(&mut self, r: &Recall) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT OR REPLACE INTO intel_recalls (id, firm, data) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![
                r.id,
                r.firm.to_lowercase(),
                serde_json::to_string(r)?
            ])?;
        Ok(())
    }

    fn set_feed(&mut self, f: &FeedState) -> Result<()> {
        self.tx.execute(
            "INSERT OR REPLACE INTO intel_feeds (name, source, imported_at, records, version, sha256)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                f.name,
                f.source,
                f.imported_at,
                f.records as i64,
                f.version,
                f.sha256
            ],
        )?;
        Ok(())
    }

    fn commit(self: Box<Self>) -> Result<()> {
        self.tx.commit()?;
        Ok(())
    }
}

fn cve_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(CveRecord, String, String)> {
    let ver: Option<String> = r.get(5)?;
    let score: Option<f64> = r.get(6)?;
    let vector: Option<String> = r.get(7)?;
    let cvss = match (ver, score) {
        (Some(version), Some(score)) => Some(Cvss {
            version,
            score: score as f32,
            vector: vector.unwrap_or_default(),
        }),
        _ => None,
    };
    Ok((
        CveRecord {
            id: r.get(0)?,
            published: r.get(1)?,
            last_modified: r.get(2)?,
            status: r.get(3)?,
            description: r.get(4)?,
            cvss,
            cwes: Vec::new(),
            configurations: Vec::new(),
        },
        r.get(8)?,
        r.get(9)?,
    ))
}

const CVE_COLS: &str =
    "c.cve, c.published, c.last_modified, c.status, c.description, c.cvss_version,
     c.cvss_score, c.cvss_vector, c.cwes, c.configurations";

fn finish_cve((mut cve, cwes, configs): (CveRecord, String, String)) -> Result<CveRecord> {
    cve.cwes = serde_json::from_str(&cwes)?;
    cve.configurations = serde_json::from_str(&configs)?;
    Ok(cve)
}

impl IntelStore for SqliteStore {
    fn intel_writer(&mut self) -> Result<Box<dyn IntelWriter + '_>> {
        let tx = self.conn.transaction()?;
        Ok(Box::new(SqliteIntelWriter { tx }))
    }

    fn feeds(&self) -> Result<Vec<FeedState>> {
        let mut stmt = self.conn.prepare(
            "SELECT name, source, imported_at, records, version, sha256 FROM intel_feeds ORDER BY name",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(FeedState {
                    name: r.get(0)?,
                    source: r.get(1)?,
                    imported_at: r.get(2)?,
                    records: r.get::<_, i64>(3)?.max(0) as u64,
                    version: r.get(4)?,
                    sha256: r.get(5)?,
                })
            })?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn intel_counts(&self) -> Result<IntelCounts> {
        let count = |table: &str| -> Result<u64> {
            let n: i64 =
                self.conn
                    .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?;
            Ok(n.max(0) as u64)
        };
        Ok(IntelCounts {
            cves: count("intel_cves")?,
            kev: count("intel_kev")?,
            epss: count("intel_epss")?,
            advisories: count("intel_advisories")?,
            recalls: count("intel_recalls")?,
            sboms: count("intel_sboms")?,
            mds2: count("intel_mds2")?,
        })
    }

    fn cves_for_product(&self, vendor: Option<&str>, product: &str) -> Result<Vec<CveRecord>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {CVE_COLS} FROM intel_cve_products p JOIN intel_cves c ON c.id = p.cve_id
             WHERE p.product = ?1 AND (?2 IS NULL OR p.vendor = ?2) ORDER BY c.cve"
        ))?;
        let rows = stmt
            .query_map(params![product, vendor], cve_from_row)?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let mut out: Vec<CveRecord> = rows.into_iter().map(finish_cve).collect::<Result<_>>()?;
        // Several vendors can share a product name: keep each CVE once.
        out.dedup_by(|a, b| a.id == b.id);
        Ok(out)
    }

    fn cve(&self, id: &str) -> Result<Option<CveRecord>> {
        let row = self
            .conn
            .prepare_cached(&format!(
                "SELECT {CVE_COLS} FROM intel_cves c WHERE c.cve = ?1"
            ))?
            .query_row([id], cve_from_row)
            .optional()?;
        row.map(finish_cve).transpose()
    }

    fn kev(&self) -> Result<HashMap<String, KevEntry>> {
        let mut stmt = self.conn.prepare(
            "SELECT cve, vendor_project, product, name, date_added, due_date, required_action,
             ransomware, description FROM intel_kev",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(KevEntry {
                    cve_id: r.get(0)?,
                    vendor_project: r.get(1)?,
                    product: r.get(2)?,
                    name: r.get(3)?,
                    date_added: r.get(4)?,
                    due_date: r.get(5)?,
                    required_action: r.get(6)?,
                    ransomware: r.get(7)?,
                    description: r.get(8)?,
                })
            })?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(rows.into_iter().map(|k| (k.cve_id.clone(), k)).collect())
    }

    fn epss(&self, cve: &str) -> Result<Option<Epss>> {
        Ok(self
            .conn
            .prepare_cached("SELECT score, percentile FROM intel_epss WHERE cve = ?1")?
            .query_row([cve], |r| {
                Ok(Epss {
                    score: r.get(0)?,
                    percentile: r.get(1)?,
                })
            })
            .optional()?)
    }

    fn advisories_for_vendor(&self, vendor: &str) -> Result<Vec<Advisory>> {
        self.json_rows(
            "SELECT a.data FROM intel_advisory_vendors v JOIN intel_advisories a ON a.id = v.advisory_id
             WHERE v.vendor = ?1 ORDER BY a.id",
            [vendor.to_lowercase()],
        )
    }

    fn recalls(&self) -> Result<Vec<Recall>> {
        self.json_rows("SELECT data FROM intel_recalls ORDER BY id", [])
    }

    fn put_sbom(&mut self, asset: &str, source: &str, sbom: &Sbom) -> Result<i64> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO intel_sboms (asset, source, imported_at, data) VALUES (?1, ?2, ?3, ?4)",
            params![asset, source, now(), serde_json::to_string(sbom)?],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(id)
    }

    fn sboms(&self) -> Result<Vec<(String, Sbom)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT asset, data FROM intel_sboms ORDER BY id")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(a, d)| Ok((a, serde_json::from_str(&d)?)))
            .collect()
    }

    fn put_mds2(&mut self, asset: &str, form: &Mds2) -> Result<()> {
        self.conn.execute(
            "INSERT OR REPLACE INTO intel_mds2 (asset, imported_at, data) VALUES (?1, ?2, ?3)",
            params![asset, now(), serde_json::to_string(form)?],
        )?;
        Ok(())
    }

    fn mds2(&self) -> Result<Vec<(String, Mds2)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT asset, data FROM intel_mds2 ORDER BY asset")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(a, d)| Ok((a, serde_json::from_str(&d)?)))
            .collect()
    }

    fn save_matches(&mut self, matches: &[VulnMatch]) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM intel_matches", [])?;
        {
            let mut ins = tx.prepare(
                "INSERT OR REPLACE INTO intel_matches (asset, id, priority, data) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for m in matches {
                ins.execute(params![
                    m.asset,
                    m.id,
                    m.priority,
                    serde_json::to_string(m)?
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn matches(&self) -> Result<Vec<VulnMatch>> {
        self.json_rows(
            "SELECT data FROM intel_matches ORDER BY priority DESC, asset, id",
            [],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use medguard_model::CpeMatch;
    use medguard_model::vuln::{Configuration, Node, Operator};

    fn cve(id: &str, criteria: &str) -> CveRecord {
        CveRecord {
            id: id.into(),
            published: "2021-12-10T10:15:09.143".into(),
            last_modified: "2021-12-10T10:15:09.143".into(),
            status: "Analyzed".into(),
            description: "test".into(),
            cvss: Some(Cvss {
                version: "3.1".into(),
                score: 10.0,
                vector: "CVSS:3.1/AV:N".into(),
            }),
            cwes: vec!["CWE-502".into()],
            configurations: vec![Configuration {
                operator: None,
                negate: false,
                nodes: vec![Node {
                    operator: Operator::Or,
                    negate: false,
                    cpe_match: vec![CpeMatch {
                        vulnerable: true,
                        criteria: criteria.into(),
                        version_start_including: None,
                        version_start_excluding: None,
                        version_end_including: None,
                        version_end_excluding: None,
                    }],
                }],
            }],
        }
    }

    #[test]
    fn vendor_product_keeps_escapes() {
        assert_eq!(
            vendor_product("cpe:2.3:a:siemens:logo\\!_soft_comfort:*:*:*:*:*:*:*:*"),
            Some(("siemens".into(), "logo\\!_soft_comfort".into()))
        );
        assert_eq!(vendor_product("cpe:2.3:a"), None);
        assert_eq!(vendor_product("nonsense"), None);
    }

    #[test]
    fn import_is_all_or_nothing_and_replaces_by_id() {
        let mut store = SqliteStore::in_memory().expect("store");
        {
            let mut w = store.intel_writer().expect("writer");
            w.put_cve(&cve(
                "CVE-2021-44228",
                "cpe:2.3:a:apache:log4j:2.0:-:*:*:*:*:*:*",
            ))
            .expect("put");
            // Dropped without commit: rolled back.
        }
        assert_eq!(store.intel_counts().expect("counts").cves, 0);
        let mut w = store.intel_writer().expect("writer");
        w.put_cve(&cve(
            "CVE-2021-44228",
            "cpe:2.3:a:apache:log4j:2.0:-:*:*:*:*:*:*",
        ))
        .expect("put");
        w.put_cve(&cve(
            "CVE-2021-44228",
            "cpe:2.3:a:apache:log4j:2.1:*:*:*:*:*:*:*",
        ))
        .expect("replace");
        w.commit().expect("commit");
        let found = store
            .cves_for_product(Some("apache"), "log4j")
            .expect("query");
        assert_eq!(found.len(), 1);
        assert!(
            found[0].configurations[0].nodes[0].cpe_match[0]
                .criteria
                .contains(":2.1:")
        );
        assert!(
            store
                .cves_for_product(Some("other"), "log4j")
                .expect("query")
                .is_empty()
        );
        assert_eq!(store.cves_for_product(None, "log4j").expect("q").len(), 1);
    }
}
