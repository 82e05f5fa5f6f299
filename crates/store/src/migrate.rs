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
    let current: i64 = conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?;
    let known = MIGRATIONS.last().map(|m| m.version).unwrap_or(0);
    if current > known {
        return Err(StoreError::TooNew {
            found: current,
            known,
        });
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
