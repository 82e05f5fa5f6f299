//! `medguard sbom import|mds2|list`: attach a maker's SBOM or MDS2 form to a device.

use crate::{GlobalArgs, exit, output};
use anyhow::Context;
use medguard_model::Mds2;
use medguard_store::{IntelStore, InventoryStore, SqliteStore};
use std::io::{Read, Write};
use std::path::PathBuf;

/// Largest SBOM or MDS2 file read.
const MAX_FILE: u64 = 64 << 20;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

#[derive(Debug, clap::Subcommand)]
pub enum Sub {
    /// Attach a CycloneDX (JSON or XML) or SPDX (JSON or tag-value) SBOM to a device.
    Import(AttachArgs),
    /// Attach the maker's MDS2 form answers (TOML or JSON: manufacturer, model, version and
    /// `[answers]` keyed by MDS2 question id such as `AUTH-1`) to a device.
    Mds2(AttachArgs),
    /// List the SBOMs and MDS2 forms attached to devices.
    List,
}

#[derive(Debug, clap::Args)]
pub struct AttachArgs {
    /// The file.
    pub file: PathBuf,
    /// The device: its IP address, or an identity such as `mac:00:11:22:33:44:55`.
    #[arg(long, value_name = "IP|IDENTITY")]
    pub asset: String,
}

pub fn run(g: &GlobalArgs, args: Args) -> anyhow::Result<i32> {
    match args.command {
        Sub::Import(a) => import(g, a),
        Sub::Mds2(a) => mds2(g, a),
        Sub::List => list(g),
    }
}

fn read(path: &PathBuf) -> anyhow::Result<Vec<u8>> {
    let f =
        std::fs::File::open(path).with_context(|| format!("failed to read {}", path.display()))?;
    let mut buf = Vec::new();
    f.take(MAX_FILE + 1)
        .read_to_end(&mut buf)
        .with_context(|| format!("failed to read {}", path.display()))?;
    anyhow::ensure!(
        buf.len() as u64 <= MAX_FILE,
        "failed to read {}: larger than {MAX_FILE} bytes",
        path.display()
    );
    Ok(buf)
}

/// The stored identity of the asset named by an IP address or identity.
fn resolve(store: &SqliteStore, asset: &str) -> anyhow::Result<String> {
    if asset.contains(':') && asset.parse::<std::net::IpAddr>().is_err() {
        return Ok(asset.to_string());
    }
    let ip: std::net::IpAddr = asset.parse().with_context(|| {
        format!("failed to read --asset {asset:?}: expected an IP address or identity")
    })?;
    Ok(store
        .assets()?
        .into_iter()
        .find(|a| a.ip == Some(ip))
        .map(|a| a.identity())
        .unwrap_or_else(|| format!("ip:{ip}")))
}

fn import(g: &GlobalArgs, a: AttachArgs) -> anyhow::Result<i32> {
    let mut store = g.open_store()?;
    let bytes = read(&a.file)?;
    let sbom = medguard_intel::sbom::parse(&bytes)
        .with_context(|| format!("failed to read the SBOM {}", a.file.display()))?;
    let identity = resolve(&store, &a.asset)?;
    let id = store.put_sbom(&identity, &a.file.display().to_string(), &sbom)?;
    let n = crate::cmd::intel::rematch(&mut store)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if g.json {
        output::json_line(
            &mut out,
            "sbom",
            &serde_json::json!({
                "id": id, "asset": identity, "format": sbom.format,
                "subject": sbom.subject, "components": sbom.components.len(),
            }),
        )?;
    } else {
        writeln!(
            out,
            "Attached {} SBOM{} with {} components to {identity}. {n} vulnerability matches now; see `medguard vulns --asset {}`.",
            sbom.format,
            if sbom.subject.is_empty() {
                String::new()
            } else {
                format!(" of {}", sbom.subject)
            },
            sbom.components.len(),
            a.asset
        )?;
    }
    Ok(exit::OK)
}

fn mds2(g: &GlobalArgs, a: AttachArgs) -> anyhow::Result<i32> {
    let mut store = g.open_store()?;
    let bytes = read(&a.file)?;
    let text = String::from_utf8(bytes).context("failed to read the MDS2 form: not UTF-8")?;
    let form: Mds2 = if text.trim_start().starts_with('{') {
        serde_json::from_str(&text).context("failed to read the MDS2 form (JSON)")?
    } else {
        toml::from_str(&text).context("failed to read the MDS2 form (TOML)")?
    };
    anyhow::ensure!(
        !form.manufacturer.trim().is_empty() && !form.model.trim().is_empty(),
        "failed to read the MDS2 form: manufacturer and model are required"
    );
    anyhow::ensure!(
        form.answers.len() <= 1000,
        "failed to read the MDS2 form: more than 1000 answers"
    );
    let identity = resolve(&store, &a.asset)?;
    store.put_mds2(&identity, &form)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if g.json {
        output::json_line(
            &mut out,
            "mds2",
            &serde_json::json!({ "asset": identity, "form": form }),
        )?;
    } else {
        writeln!(
            out,
            "Recorded the MDS2 form of {} {} ({} answers) for {identity}.",
            form.manufacturer,
            form.model,
            form.answers.len()
        )?;
    }
    Ok(exit::OK)
}

fn list(g: &GlobalArgs) -> anyhow::Result<i32> {
    let store = g.open_store()?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let sboms = store.sboms()?;
    let forms = store.mds2()?;
    if g.json {
        for (asset, s) in &sboms {
            output::json_line(
                &mut out,
                "sbom",
                &serde_json::json!({ "asset": asset, "sbom": s }),
            )?;
        }
        for (asset, f) in &forms {
            output::json_line(
                &mut out,
                "mds2",
                &serde_json::json!({ "asset": asset, "form": f }),
            )?;
        }
        return Ok(exit::OK);
    }
    if sboms.is_empty() && forms.is_empty() {
        writeln!(out, "No SBOMs or MDS2 forms attached yet.")?;
    }
    for (asset, s) in &sboms {
        writeln!(
            out,
            "{asset:<28} SBOM {:<15} {:>5} components  {}",
            s.format,
            s.components.len(),
            s.subject
        )?;
    }
    for (asset, f) in &forms {
        writeln!(
            out,
            "{asset:<28} MDS2 {} {} {} ({} answers)",
            f.manufacturer,
            f.model,
            f.version,
            f.answers.len()
        )?;
    }
    Ok(exit::OK)
}
