//! Alerts from log detection: one row per folded alert, grouped by detection run.

use crate::{Result, SqliteStore};
use medguard_model::{Alert, Severity};
use rusqlite::params;

/// Alert persistence, implemented by every backend.
pub trait AlertStore {
    /// Start a detection run (`detect` for files, `watch` for live syslog); returns its id.
    fn begin_detect_run(&mut self, source: &str) -> Result<i64>;
    /// Store alerts of a run, all or nothing; returns their row ids in order.
    fn record_alerts(&mut self, run_id: i64, alerts: &[Alert]) -> Result<Vec<i64>>;
    /// Replace a stored alert (live mode: its count and last-seen time grew).
    fn update_alert(&mut self, alert_id: i64, alert: &Alert) -> Result<()>;
    /// Every stored alert, most urgent first, then newest first.
    fn alerts(&self) -> Result<Vec<Alert>>;
}

fn rank(s: Severity) -> i64 {
    match s {
        Severity::Info => 0,
        Severity::Low => 1,
        Severity::Medium => 2,
        Severity::High => 3,
        Severity::Critical => 4,
    }
}

impl AlertStore for SqliteStore {
    fn begin_detect_run(&mut self, source: &str) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO detect_runs (started_at, source) VALUES (?1, ?2)",
            params![chrono::Utc::now().to_rfc3339(), source],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    fn record_alerts(&mut self, run_id: i64, alerts: &[Alert]) -> Result<Vec<i64>> {
        let tx = self.conn.transaction()?;
        let mut ids = Vec::with_capacity(alerts.len());
        {
            let mut stmt = tx.prepare(
                "INSERT INTO alerts (run_id, rule_id, title, level, level_rank, host, timestamp,
                    last_seen, count, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            for a in alerts {
                stmt.execute(params![
                    run_id,
                    a.rule_id,
                    a.title,
                    a.level.as_str(),
                    rank(a.level),
                    a.host,
                    a.timestamp.map(|t| t.to_rfc3339()),
                    a.last_seen.map(|t| t.to_rfc3339()),
                    a.count as i64,
                    serde_json::to_string(a)?,
                ])?;
                ids.push(tx.last_insert_rowid());
            }
        }
        tx.commit()?;
        Ok(ids)
    }

    fn update_alert(&mut self, alert_id: i64, alert: &Alert) -> Result<()> {
        self.conn.execute(
            "UPDATE alerts SET count = ?2, last_seen = ?3, body = ?4 WHERE id = ?1",
            params![
                alert_id,
                alert.count as i64,
                alert.last_seen.map(|t| t.to_rfc3339()),
                serde_json::to_string(alert)?,
            ],
        )?;
        Ok(())
    }

    fn alerts(&self) -> Result<Vec<Alert>> {
        let mut stmt = self
            .conn
            .prepare("SELECT body FROM alerts ORDER BY level_rank DESC, timestamp DESC, id DESC")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for body in rows {
            out.push(serde_json::from_str(&body?)?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use medguard_model::AlertEvent;

    fn alert(level: Severity, count: u64) -> Alert {
        Alert {
            rule_id: "r".into(),
            title: "t".into(),
            level,
            tags: vec!["attack.t1110".into()],
            attack: vec!["T1110".into()],
            hipaa: vec!["164.312(d)".into()],
            explanation: "e".into(),
            first_steps: vec!["s".into()],
            host: Some("PC".into()),
            timestamp: chrono::DateTime::from_timestamp(1_700_000_000, 0),
            last_seen: chrono::DateTime::from_timestamp(1_700_000_000, 0),
            count,
            correlation: None,
            events: vec![AlertEvent {
                timestamp: None,
                origin: "f#1".into(),
                summary: "EventID=4625".into(),
            }],
        }
    }

    #[test]
    fn round_trip_order_and_update() {
        let mut s = SqliteStore::in_memory().expect("store");
        let run = s.begin_detect_run("detect").expect("run");
        let ids = s
            .record_alerts(
                run,
                &[alert(Severity::Low, 1), alert(Severity::Critical, 3)],
            )
            .expect("record");
        assert_eq!(ids.len(), 2);
        let got = s.alerts().expect("alerts");
        assert_eq!(got[0].level, Severity::Critical);
        assert_eq!(got[1], alert(Severity::Low, 1));
        let mut a = alert(Severity::Low, 7);
        a.title = "changed".into();
        s.update_alert(ids[0], &a).expect("update");
        assert!(
            s.alerts()
                .expect("alerts")
                .iter()
                .any(|x| x.count == 7 && x.title == "changed")
        );
    }
}
