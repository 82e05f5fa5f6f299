//! `medguard import`: bring results of other tools into the inventory.

use crate::cmd::scan::print_table;
use crate::{GlobalArgs, exit, output};
use anyhow::Context;
use medguard_model::Asset;
use medguard_store::ScanImportStore;
use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::IpAddr;
use std::path::PathBuf;

/// Largest file accepted.
const MAX_FILE: u64 = 256 * 1024 * 1024;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub what: What,
}

#[derive(Debug, clap::Subcommand)]
pub enum What {
    /// An nmap XML result (`nmap -oX scan.xml ...`): hosts, open ports, services, NSE findings.
    Nmap {
        /// The XML file.
        file: PathBuf,
    },
}

pub fn run(g: &GlobalArgs, args: Args) -> anyhow::Result<i32> {
    match args.what {
        What::Nmap { file } => nmap(g, &file),
    }
}

fn nmap(g: &GlobalArgs, file: &PathBuf) -> anyhow::Result<i32> {
    let f =
        std::fs::File::open(file).with_context(|| format!("failed to open {}", file.display()))?;
    let mut xml = Vec::new();
    f.take(MAX_FILE + 1)
        .read_to_end(&mut xml)
        .with_context(|| format!("failed to read {}", file.display()))?;
    anyhow::ensure!(
        xml.len() as u64 <= MAX_FILE,
        "failed to read {}: larger than {MAX_FILE} bytes",
        file.display()
    );
    let run = medguard_discover::nmap::parse(&xml)
        .with_context(|| format!("failed to import {}", file.display()))?;
    let scope: HashSet<IpAddr> = run
        .assets
        .iter()
        .filter_map(|a| a.ip)
        .chain(run.hosts_down.iter().copied())
        .collect();
    let mut store = g.open_store()?;
    let (scan_id, changes) = store
        .import_scan(
            "import:nmap",
            &file.display().to_string(),
            "nmap",
            &run.assets,
            &|a: &Asset| a.ip.is_some_and(|ip| scope.contains(&ip)),
        )
        .context("failed to store the imported devices (nothing was imported)")?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if g.json {
        for a in &run.assets {
            let mut v = serde_json::to_value(a)?;
            if let serde_json::Value::Object(m) = &mut v {
                m.insert("identity".into(), a.identity().into());
            }
            output::json_line(&mut out, "asset", &v)?;
        }
        for c in &changes {
            output::json_line(&mut out, "change", c)?;
        }
        output::json_line(
            &mut out,
            "summary",
            &serde_json::json!({
                "scan_id": scan_id,
                "source": "import:nmap",
                "nmap_args": run.args,
                "up": run.assets.len(),
                "no_response": run.hosts_down.len(),
                "services": run.assets.iter().map(|a| a.services.len()).sum::<usize>(),
                "changes": changes.len(),
            }),
        )?;
    } else {
        let assets: Vec<&Asset> = run.assets.iter().collect();
        print_table(&mut out, &assets, g.color())?;
        if !changes.is_empty() {
            writeln!(out, "\nChanges since the last scan:")?;
            for c in &changes {
                writeln!(
                    out,
                    "  {:<17} {:<28} {}",
                    c.kind.as_str(),
                    c.identity,
                    c.detail
                )?;
            }
        }
        writeln!(
            out,
            "\nImported {} device(s) from {} ({} reported down).",
            run.assets.len(),
            file.display(),
            run.hosts_down.len()
        )?;
    }
    Ok(exit::OK)
}
