//! Embedded, ordered SQL migrations.

use crate::{Result, StoreError};
use rusqlite::Connection;

pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration, in version order. Each capability owns its own range (see the crate docs).
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "inventory",
        sql: include_str!("../migrations/sqlite/0001_inventory.sql"),
    },
    Migration {
        version: 20,
        name: "phi",
        sql: include_str!("../migrations/sqlite/0020_phi.sql"),
    },
    Migration {
        version: 21,
        name: "phi hash blob",
        sql: include_str!("../migrations/sqlite/0021_phi_hash_blob.sql"),
    },
    Migration {
        version: 22,
        name: "phi problems",
        sql: include_str!("../migrations/sqlite/0022_phi_problems.sql"),
    },
    Migration {
        version: 30,
        name: "alerts",
        sql: include_str!("../migrations/sqlite/0030_alerts.sql"),
    },
    Migration {
        version: 40,
        name: "intel",
        sql: include_str!("../migrations/sqlite/0040_intel.sql"),
    },
    Migration {
        version: 50,
        name: "risk",
        sql: include_str!("../migrations/sqlite/0050_risk.sql"),
    },
];

pub(crate) fn apply(conn: &mut Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            applied_at TEXT NOT NULL
        );",
    )?;
    // Each capability has its own version range, so a newer build can add a migration below
    // this build's highest one (21 after 50): any applied version this build does not know
    // means a newer schema.
    let applied: Vec<i64> = conn
        .prepare("SELECT version FROM schema_migrations ORDER BY version")?
        .query_map([], |r| r.get(0))?
        .collect::<std::result::Result<_, _>>()?;
    let known = MIGRATIONS.last().map(|m| m.version).unwrap_or(0);
    if let Some(&found) = applied
        .iter()
        .find(|&&v| !MIGRATIONS.iter().any(|m| m.version == v))
    {
        return Err(StoreError::TooNew { found, known });
    }
    for m in MIGRATIONS {
        let done: bool = conn.query_row(
            "SELECT EXISTS(SELECT 1 FROM schema_migrations WHERE version = ?1)",
            [m.version],
            |r| r.get(0),
        )?;
        if done {
            continue;
        }
        let err = |source| StoreError::Migration {
            version: m.version,
            name: m.name,
            source,
        };
        let tx = conn.transaction().map_err(err)?;
        tx.execute_batch(m.sql).map_err(err)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            rusqlite::params![m.version, m.name, chrono::Utc::now().to_rfc3339()],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store written by a version that kept hashes as hex text reads back the same bytes.
    #[test]
    fn phi_hashes_move_from_hex_to_bytes() {
        let mut conn = Connection::open_in_memory().expect("open");
        conn.execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,
                 applied_at TEXT NOT NULL);",
        )
        .expect("table");
        for m in MIGRATIONS.iter().filter(|m| m.version <= 20) {
            conn.execute_batch(m.sql).expect("old schema");
            conn.execute(
                "INSERT INTO schema_migrations VALUES (?1, ?2, 'then')",
                rusqlite::params![m.version, m.name],
            )
            .expect("record");
        }
        conn.execute_batch(
            "INSERT INTO phi_scans (id, started_at, roots) VALUES (1, 'then', '[]');
             INSERT INTO phi_files (id, scan_id, path, format, size, individuals, health_info,
                 risk, severity, headline, data) VALUES (1, 1, 'a.csv', 'csv', 1, 1, 0, 1, 'low', '', '{}');
             INSERT INTO phi_findings (file_id, kind, masked, hash, confidence, reason, location)
                 VALUES (1, 'ssn', '***-**-1234', '00017f80ff02030405060708090aABCD', 'high', 'x', '{}'),
                        (1, 'ssn', '***-**-9999', 'not hex', 'high', 'x', '{}');",
        )
        .expect("old rows");
        apply(&mut conn).expect("migrate");
        let hashes: Vec<Vec<u8>> = conn
            .prepare("SELECT hash FROM phi_findings")
            .expect("prepare")
            .query_map([], |r| r.get(0))
            .expect("query")
            .collect::<std::result::Result<_, _>>()
            .expect("rows");
        assert_eq!(
            hashes,
            vec![vec![
                0, 1, 0x7f, 0x80, 0xff, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0xab, 0xcd
            ]]
        );
    }

    /// A store migrated by a newer build (a version this build lacks, even inside a range below
    /// its highest) is refused, not misread.
    #[test]
    fn unknown_applied_version_is_too_new() {
        let mut conn = Connection::open_in_memory().expect("open");
        apply(&mut conn).expect("migrate");
        conn.execute(
            "INSERT INTO schema_migrations VALUES (23, 'from a newer build', 'later')",
            [],
        )
        .expect("record");
        match apply(&mut conn) {
            Err(StoreError::TooNew { found: 23, .. }) => {}
            other => panic!("expected TooNew for version 23, got {other:?}"),
        }
    }

    #[test]
    fn versions_strictly_increase() {
        for pair in MIGRATIONS.windows(2) {
            assert!(
                pair[0].version < pair[1].version,
                "{} then {}",
                pair[0].name,
                pair[1].name
            );
        }
    }
}
