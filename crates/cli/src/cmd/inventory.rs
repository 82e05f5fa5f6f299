//! `medguard inventory`: everything known, first/last seen, what changed.

use crate::{GlobalArgs, exit, output};
use medguard_store::InventoryStore;
use std::io::Write;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// CSV on stdout instead of a table.
    #[arg(long, conflicts_with = "json")]
    pub csv: bool,
    /// Also list what changed in every scan.
    #[arg(long)]
    pub changes: bool,
}

pub fn run(g: &GlobalArgs, args: Args) -> anyhow::Result<i32> {
    let store = g.open_store()?;
    let assets = store.assets()?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if g.json {
        for a in &assets {
            output::json_line(&mut out, "asset", a)?;
        }
        if args.changes {
            for c in store.changes(None)? {
                output::json_line(&mut out, "change", &c)?;
            }
        }
        return Ok(exit::OK);
    }
    if args.csv {
        let mut w = csv::Writer::from_writer(out);
        w.write_record([
            "ip",
            "mac",
            "hostname",
            "category",
            "vendor",
            "model",
            "firmware",
            "status",
            "open_ports",
            "findings",
            "worst_severity",
            "first_seen",
            "last_seen",
        ])?;
        for a in &assets {
            let ports: Vec<String> = a
                .services
                .iter()
                .map(|s| format!("{}/{}", s.port, s.transport))
                .collect();
            let findings: Vec<&str> = a.findings.iter().map(|f| f.id.as_str()).collect();
            w.write_record([
                a.ip.map(|i| i.to_string()).unwrap_or_default(),
                a.mac.clone().unwrap_or_default(),
                a.hostname.clone().unwrap_or_default(),
                a.category.to_string(),
                a.vendor.clone().unwrap_or_default(),
                a.model.clone().unwrap_or_default(),
                a.firmware.clone().unwrap_or_default(),
                format!("{:?}", a.status),
                ports.join(" "),
                findings.join(" "),
                a.worst().map(|s| s.to_string()).unwrap_or_default(),
                a.first_seen.map(|t| t.to_rfc3339()).unwrap_or_default(),
                a.last_seen.map(|t| t.to_rfc3339()).unwrap_or_default(),
            ])?;
        }
        w.flush()?;
        return Ok(exit::OK);
    }
    if assets.is_empty() {
        writeln!(
            out,
            "No devices known yet. Run `medguard scan <network>` or `medguard demo`."
        )?;
        return Ok(exit::OK);
    }
    writeln!(
        out,
        "{:<16} {:<22} {:<28} {:<9} {:>5} {:>8}  {:<20}",
        "ADDRESS", "KIND", "DEVICE", "WORST", "PORTS", "FINDINGS", "LAST SEEN"
    )?;
    for a in &assets {
        writeln!(
            out,
            "{:<16} {:<22} {:<28} {:<9} {:>5} {:>8}  {:<20}",
            a.ip.map(|i| i.to_string()).unwrap_or_default(),
            a.category.to_string(),
            truncate(&a.display_name(), 28),
            a.worst()
                .map(|s| s.to_string())
                .unwrap_or_else(|| "-".into()),
            a.services.len(),
            a.findings.len(),
            a.last_seen
                .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_else(|| "never".into()),
        )?;
    }
    if args.changes {
        writeln!(out, "\nCHANGES")?;
        for c in store.changes(None)? {
            writeln!(
                out,
                "{}  {:<17} {:<28} {}",
                c.at.format("%Y-%m-%d %H:%M"),
                c.kind.as_str(),
                c.identity,
                c.detail
            )?;
        }
    }
    Ok(exit::OK)
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}
