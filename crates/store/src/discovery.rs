//! Atomic recording of a whole scan (imports): either every device and change lands, or nothing.

use crate::{Change, InventoryStore, Result, SqliteStore};
use medguard_model::Asset;

/// Recording a finished scan in one transaction.
pub trait ScanImportStore: InventoryStore {
    /// Begin a scan, record every asset, finish it (devices `in_scope` not seen are marked gone),
    /// all in one transaction. Returns the scan id and every change.
    fn import_scan(
        &mut self,
        source: &str,
        targets: &str,
        profile: &str,
        assets: &[Asset],
        in_scope: &dyn Fn(&Asset) -> bool,
    ) -> Result<(i64, Vec<Change>)>;
}

impl ScanImportStore for SqliteStore {
    fn import_scan(
        &mut self,
        source: &str,
        targets: &str,
        profile: &str,
        assets: &[Asset],
        in_scope: &dyn Fn(&Asset) -> bool,
    ) -> Result<(i64, Vec<Change>)> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let result = (|| {
            let id = self.begin_scan(source, targets, profile)?;
            let mut changes = Vec::new();
            for a in assets {
                changes.extend(self.record_asset(id, a)?);
            }
            changes.extend(self.finish_scan(id, in_scope)?);
            Ok((id, changes))
        })();
        match result {
            Ok(v) => {
                self.conn.execute_batch("COMMIT")?;
                Ok(v)
            }
            Err(e) => {
                // Best effort: the original error is the one worth reporting.
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use medguard_model::{Asset, Category};

    #[test]
    fn imports_atomically() {
        let mut store = SqliteStore::in_memory().expect("store");
        let a = Asset {
            ip: Some("10.0.0.5".parse().expect("ip")),
            category: Category::Pacs,
            ..Asset::default()
        };
        let (id, changes) = store
            .import_scan(
                "import:nmap",
                "x.xml",
                "nmap",
                std::slice::from_ref(&a),
                &|_| true,
            )
            .expect("import");
        assert!(id > 0);
        assert_eq!(changes.len(), 1);
        assert_eq!(store.assets().expect("assets").len(), 1);

        // A failure part-way (a trigger refuses the second device) leaves nothing behind.
        store
            .conn
            .execute_batch("CREATE TRIGGER fail_b BEFORE INSERT ON assets WHEN NEW.ip = '10.0.0.7' BEGIN SELECT RAISE(ABORT, 'boom'); END;")
            .expect("trigger");
        let b = Asset {
            ip: Some("10.0.0.6".parse().expect("ip")),
            ..Asset::default()
        };
        let c = Asset {
            ip: Some("10.0.0.7".parse().expect("ip")),
            ..Asset::default()
        };
        assert!(
            store
                .import_scan("import:nmap", "y.xml", "nmap", &[b, c], &|_| true)
                .is_err()
        );
        assert_eq!(
            store.assets().expect("assets").len(),
            1,
            "nothing of the failed import"
        );
        assert_eq!(store.scans().expect("scans").len(), 1);
    }
}
